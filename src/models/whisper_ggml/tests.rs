//! The conversion, each format's reader and the f16 encoding, on small models built in memory.

use std::collections::BTreeMap;
use std::io::Cursor;

use base64::Engine as _;

use super::{assets::*, ct2::*, plan::*, *};

/// Serialises CTranslate2 variables (name, dims, dtype id, data) the way CTranslate2 does.
fn ct2_file(vars: &[(String, Vec<usize>, u8, Vec<u8>)], aliases: &[(&str, &str)]) -> Vec<u8> {
    fn name(out: &mut Vec<u8>, s: &str) {
        out.extend(((s.len() + 1) as u16).to_le_bytes());
        out.extend(s.as_bytes());
        out.push(0);
    }
    let mut out = Vec::new();
    out.extend(6u32.to_le_bytes());
    name(&mut out, "WhisperSpec");
    out.extend(3u32.to_le_bytes());
    out.extend((vars.len() as u32).to_le_bytes());
    for (n, dims, dtype, data) in vars {
        name(&mut out, n);
        out.push(dims.len() as u8);
        for d in dims {
            out.extend((*d as u32).to_le_bytes());
        }
        out.push(*dtype);
        out.extend((data.len() as u32).to_le_bytes());
        out.extend(data);
    }
    out.extend((aliases.len() as u32).to_le_bytes());
    for (a, b) in aliases {
        name(&mut out, a);
        name(&mut out, b);
    }
    out
}

/// f16 data whose value at flat index `i` is `base + i` (exact in f16 for small values).
fn f16_data(base: f32, n: usize) -> Vec<u8> {
    (0..n)
        .flat_map(|i| f32_to_f16(base + i as f32).to_le_bytes())
        .collect()
}

const D: usize = 4;
const N_VOCAB: usize = 51864;

/// A complete, tiny Whisper (width 4, 2 mels, one layer each) in f16, every variable
/// holding consecutive values so splits can be checked.
fn tiny_model() -> Vec<u8> {
    let mut vars: Vec<(String, Vec<usize>, u8, Vec<u8>)> = Vec::new();
    let mut add = |name: &str, dims: Vec<usize>| {
        let n: usize = dims.iter().product();
        // Integers up to 2048 are exact in f16; the large embedding table is left zero.
        let base = (vars.len() % 16 * 100) as f32;
        let data = if name == EMBEDDINGS {
            vec![0; n * 2]
        } else {
            f16_data(base, n)
        };
        vars.push((name.into(), dims, 4, data));
    };
    add("encoder/conv1/weight", vec![D, 2, 3]);
    add("encoder/conv1/bias", vec![D]);
    add("encoder/conv2/weight", vec![D, D, 3]);
    add("encoder/conv2/bias", vec![D]);
    add("encoder/position_encodings/encodings", vec![6, D]);
    for p in ["encoder/layer_0", "decoder/layer_0"] {
        add(
            &format!("{p}/self_attention/linear_0/weight"),
            vec![3 * D, D],
        );
        add(&format!("{p}/self_attention/linear_0/bias"), vec![3 * D]);
        add(&format!("{p}/self_attention/linear_1/weight"), vec![D, D]);
        add(&format!("{p}/self_attention/linear_1/bias"), vec![D]);
        add(&format!("{p}/self_attention/layer_norm/gamma"), vec![D]);
        add(&format!("{p}/self_attention/layer_norm/beta"), vec![D]);
        add(&format!("{p}/ffn/linear_0/weight"), vec![4 * D, D]);
        add(&format!("{p}/ffn/linear_0/bias"), vec![4 * D]);
        add(&format!("{p}/ffn/linear_1/weight"), vec![D, 4 * D]);
        add(&format!("{p}/ffn/linear_1/bias"), vec![D]);
        add(&format!("{p}/ffn/layer_norm/gamma"), vec![D]);
        add(&format!("{p}/ffn/layer_norm/beta"), vec![D]);
    }
    add("decoder/layer_0/attention/linear_0/weight", vec![D, D]);
    add("decoder/layer_0/attention/linear_0/bias", vec![D]);
    add("decoder/layer_0/attention/linear_1/weight", vec![2 * D, D]);
    add("decoder/layer_0/attention/linear_1/bias", vec![2 * D]);
    add("decoder/layer_0/attention/linear_2/weight", vec![D, D]);
    add("decoder/layer_0/attention/linear_2/bias", vec![D]);
    add("decoder/layer_0/attention/layer_norm/gamma", vec![D]);
    add("decoder/layer_0/attention/layer_norm/beta", vec![D]);
    add("encoder/layer_norm/gamma", vec![D]);
    add("encoder/layer_norm/beta", vec![D]);
    add("decoder/layer_norm/gamma", vec![D]);
    add("decoder/layer_norm/beta", vec![D]);
    add("decoder/position_encodings/encodings", vec![5, D]);
    add(EMBEDDINGS, vec![N_VOCAB, D]);
    vars.push((
        "encoder/num_heads".into(),
        vec![],
        2,
        2i16.to_le_bytes().to_vec(),
    ));
    vars.push((
        "decoder/num_heads".into(),
        vec![],
        2,
        2i16.to_le_bytes().to_vec(),
    ));
    vars.push(("decoder/activation".into(), vec![], 1, vec![3]));
    ct2_file(&vars, &[("decoder/projection/weight", EMBEDDINGS)])
}

fn npy(shape: &[usize], values: &[f32]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let mut header = format!(
        "{{'descr': '<f4', 'fortran_order': False, 'shape': ({},), }}",
        dims.join(", ")
    );
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((header.len() as u16).to_le_bytes());
    out.extend(header.as_bytes());
    out.extend(values.iter().flat_map(|v| v.to_le_bytes()));
    out
}

fn npz(members: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, data) in members {
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        zip.start_file(*name, opts).unwrap();
        zip.write_all(data).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

fn tiktoken(n: usize) -> String {
    let b64 = base64::engine::general_purpose::STANDARD;
    (0..n)
        .map(|i| format!("{} {i}\n", b64.encode(format!("t{i}"))))
        .collect()
}

/// A parsed ggml tensor: type, dims as written (innermost first), data.
type Tensors = BTreeMap<String, (i32, Vec<i32>, Vec<u8>)>;

/// Reads back a ggml file: header ints, filter bank, tokens and tensors.
fn read_ggml(b: &[u8]) -> ([i32; 12], Vec<f32>, Vec<Vec<u8>>, Tensors) {
    let mut r = Cursor::new(b);
    let i32s = |r: &mut Cursor<&[u8]>| read_u32(r).unwrap() as i32;
    let header: [i32; 12] = std::array::from_fn(|_| i32s(&mut r));
    let (rows, cols) = (i32s(&mut r), i32s(&mut r));
    let filters = (0..rows * cols)
        .map(|_| f32::from_bits(i32s(&mut r) as u32))
        .collect();
    let n_tokens = i32s(&mut r);
    let tokens = (0..n_tokens)
        .map(|_| {
            let mut t = vec![0; i32s(&mut r) as usize];
            r.read_exact(&mut t).unwrap();
            t
        })
        .collect();
    let mut tensors = BTreeMap::new();
    while (r.position() as usize) < b.len() {
        let (n_dims, len, ty) = (i32s(&mut r), i32s(&mut r), i32s(&mut r));
        let dims: Vec<i32> = (0..n_dims).map(|_| i32s(&mut r)).collect();
        let mut name = vec![0; len as usize];
        r.read_exact(&mut name).unwrap();
        let n: i32 = dims.iter().product();
        let mut data = vec![0; n as usize * if ty == 0 { 4 } else { 2 }];
        r.read_exact(&mut data).unwrap();
        assert!(
            tensors
                .insert(String::from_utf8(name).unwrap(), (ty, dims, data))
                .is_none()
        );
    }
    (header, filters, tokens, tensors)
}

fn f16_values(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(2)
        .map(|c| f16_to_f32(u16::from_le_bytes([c[0], c[1]])))
        .collect()
}

fn f32_values(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

fn convert_tiny(tiktoken_text: &str) -> Result<Vec<u8>> {
    let filters: Vec<f32> = (0..2 * N_FFT_BINS).map(|i| i as f32 / 7.0).collect();
    let npz = npz(&[("mel_2.npy", npy(&[2, N_FFT_BINS], &filters))]);
    let assets = Assets {
        mel_filters_npz: &npz,
        tiktoken: tiktoken_text.as_bytes(),
    };
    let mut out = Vec::new();
    convert_from(Cursor::new(tiny_model()), &assets, &mut out)?;
    Ok(out)
}

/// Every name and shape whisper.cpp's loader creates, written out independently of `plan`.
fn whisper_cpp_expects(hp: &HParams) -> BTreeMap<String, (i32, Vec<usize>)> {
    let (d, f32_, f16_) = (hp.n_audio_state, 0, 1);
    let mut m = BTreeMap::new();
    let mut put =
        |n: String, ty: i32, ne: &[usize]| assert!(m.insert(n, (ty, ne.to_vec())).is_none());
    put(
        "encoder.positional_embedding".into(),
        f32_,
        &[d, hp.n_audio_ctx],
    );
    put("encoder.conv1.weight".into(), f16_, &[3, hp.n_mels, d]);
    put("encoder.conv1.bias".into(), f32_, &[1, d]);
    put("encoder.conv2.weight".into(), f16_, &[3, d, d]);
    put("encoder.conv2.bias".into(), f32_, &[1, d]);
    put("encoder.ln_post.weight".into(), f32_, &[d]);
    put("encoder.ln_post.bias".into(), f32_, &[d]);
    put(
        "decoder.positional_embedding".into(),
        f32_,
        &[d, hp.n_text_ctx],
    );
    put(
        "decoder.token_embedding.weight".into(),
        f16_,
        &[d, hp.n_vocab],
    );
    put("decoder.ln.weight".into(), f32_, &[d]);
    put("decoder.ln.bias".into(), f32_, &[d]);
    let mut block = |prefix: String, attns: &[&str]| {
        put(format!("{prefix}.mlp_ln.weight"), f32_, &[d]);
        put(format!("{prefix}.mlp_ln.bias"), f32_, &[d]);
        put(format!("{prefix}.mlp.0.weight"), f16_, &[d, 4 * d]);
        put(format!("{prefix}.mlp.0.bias"), f32_, &[4 * d]);
        put(format!("{prefix}.mlp.2.weight"), f16_, &[4 * d, d]);
        put(format!("{prefix}.mlp.2.bias"), f32_, &[d]);
        for a in attns {
            put(format!("{prefix}.{a}_ln.weight"), f32_, &[d]);
            put(format!("{prefix}.{a}_ln.bias"), f32_, &[d]);
            for w in ["query", "key", "value", "out"] {
                put(format!("{prefix}.{a}.{w}.weight"), f16_, &[d, d]);
                if w != "key" {
                    put(format!("{prefix}.{a}.{w}.bias"), f32_, &[d]);
                }
            }
        }
    };
    for i in 0..hp.n_audio_layer {
        block(format!("encoder.blocks.{i}"), &["attn"]);
    }
    for i in 0..hp.n_text_layer {
        block(format!("decoder.blocks.{i}"), &["attn", "cross_attn"]);
    }
    m
}

#[test]
fn converts_a_tiny_model_to_what_whisper_cpp_loads() {
    let out = convert_tiny(&tiktoken(50256)).unwrap();
    let (header, filters, tokens, tensors) = read_ggml(&out);
    assert_eq!(
        header,
        [
            GGML_MAGIC as i32,
            N_VOCAB as i32,
            6,
            4,
            2,
            1,
            5,
            4,
            2,
            1,
            2,
            1
        ]
    );
    assert_eq!(filters.len(), 2 * N_FFT_BINS);
    assert_eq!(filters[7], 1.0);
    assert_eq!(tokens.len(), 50256);
    assert_eq!(tokens[12], b"t12");

    let hp = HParams {
        n_vocab: N_VOCAB,
        n_audio_ctx: 6,
        n_audio_state: D,
        n_audio_head: 2,
        n_audio_layer: 1,
        n_text_ctx: 5,
        n_text_state: D,
        n_text_head: 2,
        n_text_layer: 1,
        n_mels: 2,
    };
    let got: BTreeMap<String, (i32, Vec<usize>)> = tensors
        .iter()
        .map(|(n, (ty, dims, _))| (n.clone(), (*ty, dims.iter().map(|&d| d as usize).collect())))
        .collect();
    assert_eq!(got, whisper_cpp_expects(&hp));
    assert_eq!(plan(&hp).len(), got.len());
}

#[test]
fn splits_fused_projections_by_rows() {
    let out = convert_tiny(&tiktoken(50256)).unwrap();
    let (_, _, _, t) = read_ggml(&out);
    let model = Ct2Model::read_index(&mut Cursor::new(tiny_model())).unwrap();
    // The value at flat index i of a variable is base + i, so row r of a split starts at
    // base + r * D: the query is rows 0..D, the key D..2D, the value 2D..3D.
    let base = |name: &str| {
        let v = model.var(name).unwrap();
        let mut b = [0u8; 2];
        let raw = tiny_model();
        b.copy_from_slice(&raw[v.offset as usize..v.offset as usize + 2]);
        f16_to_f32(u16::from_le_bytes(b))
    };
    let qkv = base("encoder/layer_0/self_attention/linear_0/weight");
    let q = f16_values(&t["encoder.blocks.0.attn.query.weight"].2);
    let k = f16_values(&t["encoder.blocks.0.attn.key.weight"].2);
    let v = f16_values(&t["encoder.blocks.0.attn.value.weight"].2);
    assert_eq!(
        (q[0], k[0], v[0], v[15]),
        (qkv, qkv + 16.0, qkv + 32.0, qkv + 47.0)
    );
    let b = base("encoder/layer_0/self_attention/linear_0/bias");
    assert_eq!(
        f32_values(&t["encoder.blocks.0.attn.query.bias"].2),
        [b, b + 1.0, b + 2.0, b + 3.0]
    );
    assert_eq!(
        f32_values(&t["encoder.blocks.0.attn.value.bias"].2)[0],
        b + 8.0
    );
    assert!(!t.contains_key("encoder.blocks.0.attn.key.bias"));

    let kv = base("decoder/layer_0/attention/linear_1/weight");
    assert_eq!(
        f16_values(&t["decoder.blocks.0.cross_attn.key.weight"].2)[0],
        kv
    );
    assert_eq!(
        f16_values(&t["decoder.blocks.0.cross_attn.value.weight"].2)[0],
        kv + 16.0
    );
    let kvb = base("decoder/layer_0/attention/linear_1/bias");
    assert_eq!(
        f32_values(&t["decoder.blocks.0.cross_attn.value.bias"].2)[0],
        kvb + 4.0
    );
    let ffn = base("decoder/layer_0/ffn/linear_1/weight");
    assert_eq!(
        f16_values(&t["decoder.blocks.0.mlp.2.weight"].2)[5],
        ffn + 5.0
    );
    // f32 tensors are widened exactly.
    let conv_b = base("encoder/conv1/bias");
    assert_eq!(
        f32_values(&t["encoder.conv1.bias"].2),
        [conv_b, conv_b + 1.0, conv_b + 2.0, conv_b + 3.0]
    );
}

#[test]
fn conversion_is_deterministic() {
    assert_eq!(
        convert_tiny(&tiktoken(50256)).unwrap(),
        convert_tiny(&tiktoken(50256)).unwrap()
    );
}

#[test]
fn wrong_tiktoken_is_named() {
    let err = convert_tiny(&tiktoken(50257)).unwrap_err();
    assert!(format!("{err:#}").contains("gpt2.tiktoken"), "{err:#}");
}

#[test]
fn reads_ct2_headers_and_scalars() {
    let m = Ct2Model::read_index(&mut Cursor::new(tiny_model())).unwrap();
    assert_eq!(m.scalar("encoder/num_heads").unwrap(), 2);
    assert_eq!(m.scalar("decoder/activation").unwrap(), 3);
    assert_eq!(m.var("encoder/conv1/weight").unwrap().dims, [D, 2, 3]);
    assert_eq!(m.layer_count("encoder"), 1);
    assert_eq!(m.layer_count("decoder"), 1);
    assert!(
        m.var("decoder/projection/weight").is_err(),
        "aliases are not variables"
    );
}

#[test]
fn rejects_truncated_and_foreign_models() {
    let full = tiny_model();
    for len in [0, 3, 20, full.len() / 2, full.len() - 1] {
        let err = Ct2Model::read_index(&mut Cursor::new(&full[..len])).unwrap_err();
        assert!(format!("{err:#}").contains("truncated"), "{len}: {err:#}");
    }
    let mut other = full.clone();
    other[6..17].copy_from_slice(b"BertSpec\0\0\0");
    let err = Ct2Model::read_index(&mut Cursor::new(other)).unwrap_err();
    assert!(
        format!("{err:#}").contains("not a Whisper model"),
        "{err:#}"
    );
    let mut v9 = full;
    v9[0] = 9;
    assert!(Ct2Model::read_index(&mut Cursor::new(v9)).is_err());
}

#[test]
fn rejects_int8_weights_by_name() {
    let vars = vec![(
        "encoder/conv1/weight".to_string(),
        vec![2, 2, 3],
        1u8,
        vec![0u8; 12],
    )];
    let m = Ct2Model::read_index(&mut Cursor::new(ct2_file(&vars, &[]))).unwrap();
    let t = linear_part(
        "encoder.conv1.weight",
        "encoder/conv1/weight",
        &[2, 2, 3],
        None,
    );
    let err = write_tensor(
        &mut Cursor::new(ct2_file(&vars, &[])),
        &m,
        &t,
        &mut Vec::new(),
    )
    .unwrap_err();
    assert!(format!("{err:#}").contains("int8"), "{err:#}");
}

#[test]
fn encodes_to_f16_and_f32() {
    let f32_raw: Vec<u8> = [1.0f32, -2.5, 65504.0, 1e-8]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    assert_eq!(
        f16_values(&encode(&f32_raw, DType::F32, GgmlType::F16)),
        [1.0, -2.5, 65504.0, 0.0]
    );
    let bf = 0x4040u16.to_le_bytes(); // bfloat16 3.0
    assert_eq!(f32_values(&encode(&bf, DType::Bf16, GgmlType::F32)), [3.0]);
    let h = f16_data(1.0, 3);
    assert_eq!(encode(&h, DType::F16, GgmlType::F16), h);
}

#[test]
fn half_precision_conversions() {
    // Every f16 survives f16 -> f32 -> f16 (NaNs aside).
    for h in 0..=u16::MAX {
        let f = f16_to_f32(h);
        if !f.is_nan() {
            assert_eq!(f32_to_f16(f), h, "{h:#06x} ({f})");
        }
    }
    let cases = [
        (1.0, 0x3c00),
        (-2.5, 0xc100),
        (0.1, 0x2e66),
        (65504.0, 0x7bff),
        (65519.0, 0x7bff),
        (65520.0, 0x7c00), // halfway to 65536: ties to even overflows
        (1e9, 0x7c00),
        (1.0 + 1.0 / 2048.0, 0x3c00), // tie: to even
        (1.0 + 3.0 / 2048.0, 0x3c02), // tie: to even
        (6.103_515_6e-5, 0x0400),     // smallest normal
        (5.960_464_5e-8, 0x0001),     // smallest subnormal
        (2.980_232_2e-8, 0x0000),     // half of it: tie to even (zero)
        (2.980_233e-8, 0x0001),       // just above half
        (1e-9, 0x0000),
        (-0.0, 0x8000),
        (f32::INFINITY, 0x7c00),
    ];
    for (f, h) in cases {
        assert_eq!(f32_to_f16(f), h, "{f}");
    }
    assert!(f16_to_f32(f32_to_f16(f32::NAN)).is_nan());
    assert_eq!(f16_to_f32(0x0001), 5.960_464_5e-8);
    assert_eq!(f16_to_f32(0x8001), -5.960_464_5e-8);
}

#[test]
fn parses_npy() {
    let (dims, v) = parse_npy_f32(&npy(&[2, 3], &[0.0, 1.0, 2.0, 3.0, 4.0, 5.5])).unwrap();
    assert_eq!((dims, v), (vec![2, 3], vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.5]));
    let mut short = npy(&[2, 3], &[0.0; 6]);
    short.pop();
    assert!(parse_npy_f32(&short).is_err());
    assert!(parse_npy_f32(b"PK\x03\x04 not npy").is_err());
    let npz = npz(&[(
        "mel_80.npy",
        npy(&[80, N_FFT_BINS], &vec![0.5; 80 * N_FFT_BINS]),
    )]);
    assert_eq!(mel_filters(&npz, 80).unwrap().len(), 80 * N_FFT_BINS);
    assert!(format!("{:#}", mel_filters(&npz, 128).unwrap_err()).contains("mel_128.npy"));
}

#[test]
fn parses_tiktoken() {
    // Out-of-order lines, a blank line, and the bare `=` (empty token) of multilingual.tiktoken.
    let t = parse_tiktoken(b"IQ== 1\nIg== 0\n\n= 3\nSGVsbG8= 2\n").unwrap();
    assert_eq!(
        t,
        [b"\"".to_vec(), b"!".to_vec(), b"Hello".to_vec(), vec![]]
    );
    assert!(
        format!("{:#}", parse_tiktoken(b"IQ== 0\nIg== 2\n").unwrap_err())
            .contains("rank 1 is missing")
    );
    assert!(format!("{:#}", parse_tiktoken(b"IQ== 0\nIg== 0\n").unwrap_err()).contains("twice"));
    assert!(parse_tiktoken(b"!!! 0\n").is_err());
    assert!(parse_tiktoken(b"IQ==\n").is_err());
}
