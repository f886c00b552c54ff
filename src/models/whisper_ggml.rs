//! Converts a Whisper model from CTranslate2's `model.bin` to the ggml file whisper.cpp loads.
//!
//! The only Whisper weights we can fetch come as CTranslate2 conversions (a `WhisperSpec`
//! `model.bin`, float16). whisper.cpp wants its own single-file ggml format, which
//! `convert-pt-to-ggml.py` produces from OpenAI's PyTorch checkpoint. This module produces the
//! same file from the CTranslate2 one, without Python:
//!
//! * **CTranslate2 `model.bin`** (little-endian): `u32` format version (6), the spec name
//!   (`WhisperSpec`) and a `u32` spec revision, a `u32` variable count, then per variable its
//!   name, `u8` rank, `rank` × `u32` dims (row-major, PyTorch order), `u8` dtype, `u32` byte
//!   count and the data; finally a `u32` alias count and `(alias, target)` name pairs. Strings
//!   are a `u16` length followed by that many bytes, which include a trailing NUL.
//! * **ggml** (little-endian): magic `ggml`, ten `i32` hyper-parameters and the `i32` ftype
//!   (1 = f16), the mel filter bank (`i32` rows, `i32` cols, `f32` data), the byte-level BPE
//!   vocabulary (`i32` count, then `i32` length + bytes per token), then tensors until end of
//!   file: `i32` n_dims, `i32` name length, `i32` type (0 f32, 1 f16), the dims innermost
//!   first (i.e. reversed PyTorch order), the name and the data.
//!
//! The mapping is mostly renaming (`encoder/layer_3/ffn/linear_0` → `encoder.blocks.3.mlp.0`);
//! the exceptions are CTranslate2's fused projections: self-attention `linear_0` holds query,
//! key and value stacked along the output dimension, cross-attention `linear_1` holds key and
//! value. They are split by rows. whisper.cpp has no key bias; the fused key bias is zero in
//! converted models, and any key bias would cancel in the softmax anyway (it adds the same
//! `q·b` to every score of a query), so it is dropped. Data is never transposed: both formats
//! store a `[out, in]` matrix row-major.
//!
//! Tensor types follow `convert-pt-to-ggml.py`: 1-D tensors, the conv biases (reshaped to
//! `[n, 1]`) and both positional embeddings are f32, everything else (conv kernels included:
//! whisper.cpp allocates them as f16 in an f16 model) is f16. The mel filters and the
//! vocabulary come from the openai-whisper sdist (`whisper/assets/`), see [`Assets`] and
//! [`tiktoken_name`]. The output is a pure function of the inputs, so it is deterministic.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Cursor, Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail, ensure};
use base64::Engine as _;

/// Assets from the openai-whisper sdist needed by the conversion.
pub struct Assets<'a> {
    /// `whisper/assets/mel_filters.npz` (holds `mel_80` and `mel_128`).
    pub mel_filters_npz: &'a [u8],
    /// `whisper/assets/gpt2.tiktoken` for English-only models, `multilingual.tiktoken`
    /// otherwise; [`tiktoken_name`] says which.
    pub tiktoken: &'a [u8],
}

/// Reads a CTranslate2 whisper `model.bin` and writes a ggml file whisper.cpp loads. Errors name what is wrong (anyhow).
pub fn convert(model_bin: &Path, assets: &Assets, out: &mut dyn Write) -> Result<()> {
    let file = File::open(model_bin)
        .with_context(|| format!("cannot open CTranslate2 model {}", model_bin.display()))?;
    convert_from(BufReader::new(file), assets, out)
        .with_context(|| format!("cannot convert {} to ggml", model_bin.display()))
}

/// Names the openai-whisper asset holding this model's vocabulary: `"gpt2.tiktoken"` for
/// English-only models (vocabulary of 51864), `"multilingual.tiktoken"` otherwise. Reads only
/// the variable headers of `model_bin`.
pub fn tiktoken_name(model_bin: &Path) -> Result<&'static str> {
    let file = File::open(model_bin)
        .with_context(|| format!("cannot open CTranslate2 model {}", model_bin.display()))?;
    let mut reader = BufReader::new(file);
    let model = Ct2Model::read_index(&mut reader)
        .with_context(|| format!("cannot read CTranslate2 model {}", model_bin.display()))?;
    let n_vocab = model.var(EMBEDDINGS)?.dims.first().copied().unwrap_or(0);
    Ok(if is_multilingual(n_vocab) {
        "multilingual.tiktoken"
    } else {
        "gpt2.tiktoken"
    })
}

/// The ggml file magic, `"ggml"` as a little-endian u32.
const GGML_MAGIC: u32 = 0x6767_6d6c;
/// whisper.cpp treats vocabularies this large as multilingual (`is_multilingual()`).
const MULTILINGUAL_VOCAB: usize = 51865;
/// Bins of whisper's 400-point FFT; the mel filter bank's column count.
const N_FFT_BINS: usize = 201;
const EMBEDDINGS: &str = "decoder/embeddings/weight";

fn is_multilingual(n_vocab: usize) -> bool {
    n_vocab >= MULTILINGUAL_VOCAB
}

/// The conversion over any seekable source (the unit tests feed it an in-memory model).
fn convert_from<R: Read + Seek>(mut reader: R, assets: &Assets, out: &mut dyn Write) -> Result<()> {
    let model = Ct2Model::read_index(&mut reader)?;
    let hp = HParams::from_model(&model)?;
    let filters = mel_filters(assets.mel_filters_npz, hp.n_mels)?;
    let tokens = parse_tiktoken(assets.tiktoken).context("cannot read the tiktoken vocabulary")?;
    // whisper.cpp numbers the special tokens (<|endoftext|> onwards) itself, right after the
    // BPE ranks: 50256 ranks in gpt2.tiktoken, 50257 in multilingual.tiktoken.
    let (want_tokens, want_file) = if is_multilingual(hp.n_vocab) {
        (50257, "multilingual.tiktoken")
    } else {
        (50256, "gpt2.tiktoken")
    };
    ensure!(
        tokens.len() == want_tokens,
        "the model's vocabulary of {} needs {want_file} ({want_tokens} tokens), but the given \
         tiktoken file has {} tokens",
        hp.n_vocab,
        tokens.len()
    );

    let mut w = BufWriter::with_capacity(1 << 20, out);
    for v in hp.header()? {
        w.write_all(&v.to_le_bytes())?;
    }
    w.write_all(&i32_of(hp.n_mels)?.to_le_bytes())?;
    w.write_all(&i32_of(N_FFT_BINS)?.to_le_bytes())?;
    for f in &filters {
        w.write_all(&f.to_le_bytes())?;
    }
    w.write_all(&i32_of(tokens.len())?.to_le_bytes())?;
    for t in &tokens {
        w.write_all(&i32_of(t.len())?.to_le_bytes())?;
        w.write_all(t)?;
    }
    for t in plan(&hp) {
        write_tensor(&mut reader, &model, &t, &mut w)?;
    }
    w.flush()?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// CTranslate2 model.bin

/// CTranslate2's `DataType` ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DType {
    F32,
    I8,
    I16,
    I32,
    F16,
    Bf16,
}

impl DType {
    fn from_id(id: u8) -> Result<Self> {
        Ok(match id {
            0 => Self::F32,
            1 => Self::I8,
            2 => Self::I16,
            3 => Self::I32,
            4 => Self::F16,
            5 => Self::Bf16,
            _ => bail!("unknown data type id {id}"),
        })
    }

    fn size(self) -> usize {
        match self {
            Self::I8 => 1,
            Self::I16 | Self::F16 | Self::Bf16 => 2,
            Self::F32 | Self::I32 => 4,
        }
    }
}

/// One variable's header; the data stays in the file at `offset`.
#[derive(Debug)]
struct Var {
    dims: Vec<usize>,
    dtype: DType,
    offset: u64,
}

impl Var {
    fn elements(&self) -> usize {
        self.dims.iter().product()
    }
}

/// The variable index of a `model.bin`, built by reading headers and seeking over the data.
#[derive(Debug)]
struct Ct2Model {
    vars: BTreeMap<String, Var>,
    /// Scalars (rank 0) as integers, read during indexing (e.g. `encoder/num_heads`).
    scalars: BTreeMap<String, i64>,
}

impl Ct2Model {
    fn read_index<R: Read + Seek>(r: &mut R) -> Result<Self> {
        let file_len = r.seek(SeekFrom::End(0))?;
        r.seek(SeekFrom::Start(0))?;
        let eof = |e: std::io::Error| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                anyhow!("CTranslate2 model is truncated ({file_len} bytes)")
            } else {
                anyhow!(e)
            }
        };
        let version = read_u32(r).map_err(eof)?;
        // Version 4 introduced the dtype byte this reader relies on; 6 is current.
        ensure!(
            (4..=6).contains(&version),
            "not a supported CTranslate2 model: format version {version} (expected 4 to 6)"
        );
        let spec = read_name(r).map_err(eof)?;
        ensure!(
            spec == "WhisperSpec",
            "not a Whisper model: CTranslate2 spec is {spec:?}"
        );
        let _revision = read_u32(r).map_err(eof)?;
        let count = read_u32(r).map_err(eof)?;

        let mut vars = BTreeMap::new();
        let mut scalars = BTreeMap::new();
        for _ in 0..count {
            let name = read_name(r).map_err(eof)?;
            let rank = read_u8(r).map_err(eof)?;
            let mut dims = Vec::with_capacity(rank.into());
            for _ in 0..rank {
                dims.push(read_u32(r).map_err(eof)? as usize);
            }
            let dtype = DType::from_id(read_u8(r).map_err(eof)?)
                .with_context(|| format!("variable {name}"))?;
            let n_bytes = read_u32(r).map_err(eof)? as u64;
            let offset = r.stream_position()?;
            let var = Var {
                dims,
                dtype,
                offset,
            };
            ensure!(
                var.elements() as u64 * dtype.size() as u64 == n_bytes,
                "variable {name}: {n_bytes} bytes do not hold {:?} of {dtype:?}",
                var.dims
            );
            ensure!(
                offset + n_bytes <= file_len,
                "CTranslate2 model is truncated ({file_len} bytes): variable {name} ends at byte {}",
                offset + n_bytes
            );
            if rank == 0 {
                let mut b = vec![0; n_bytes as usize];
                r.read_exact(&mut b).map_err(eof)?;
                if let Some(v) = scalar_int(dtype, &b) {
                    scalars.insert(name.clone(), v);
                }
            } else {
                r.seek(SeekFrom::Current(n_bytes as i64))?;
            }
            ensure!(
                vars.insert(name.clone(), var).is_none(),
                "variable {name} appears twice"
            );
        }
        // Aliases (the output projection aliases the token embedding) need nothing from us: the
        // ggml format ties them implicitly. Read them only to check the file is whole.
        let aliases = read_u32(r).map_err(eof)?;
        for _ in 0..aliases {
            read_name(r).map_err(eof)?;
            read_name(r).map_err(eof)?;
        }
        Ok(Self { vars, scalars })
    }

    fn var(&self, name: &str) -> Result<&Var> {
        self.vars
            .get(name)
            .ok_or_else(|| anyhow!("CTranslate2 model has no variable {name}"))
    }

    fn scalar(&self, name: &str) -> Result<i64> {
        self.scalars
            .get(name)
            .copied()
            .ok_or_else(|| anyhow!("CTranslate2 model has no integer scalar {name}"))
    }

    /// The number of `{prefix}/layer_N` blocks, N counting from 0 without gaps.
    fn layer_count(&self, prefix: &str) -> usize {
        (0..)
            .take_while(|i| {
                let p = format!("{prefix}/layer_{i}/");
                self.vars
                    .range(p.clone()..)
                    .next()
                    .is_some_and(|(k, _)| k.starts_with(&p))
            })
            .count()
    }
}

fn scalar_int(dtype: DType, b: &[u8]) -> Option<i64> {
    Some(match dtype {
        DType::I8 => i8::from_le_bytes(b.try_into().ok()?).into(),
        DType::I16 => i16::from_le_bytes(b.try_into().ok()?).into(),
        DType::I32 => i32::from_le_bytes(b.try_into().ok()?).into(),
        _ => return None,
    })
}

fn read_u8(r: &mut impl Read) -> std::io::Result<u8> {
    let mut b = [0; 1];
    r.read_exact(&mut b)?;
    Ok(b[0])
}

fn read_u32(r: &mut impl Read) -> std::io::Result<u32> {
    let mut b = [0; 4];
    r.read_exact(&mut b)?;
    Ok(u32::from_le_bytes(b))
}

/// A `u16`-length-prefixed string; CTranslate2 counts (and writes) a trailing NUL.
fn read_name(r: &mut impl Read) -> std::io::Result<String> {
    let mut len = [0; 2];
    r.read_exact(&mut len)?;
    let mut b = vec![0; u16::from_le_bytes(len).into()];
    r.read_exact(&mut b)?;
    if b.last() == Some(&0) {
        b.pop();
    }
    String::from_utf8(b).map_err(|_| std::io::Error::other("a variable name is not UTF-8"))
}

// ---------------------------------------------------------------------------------------------
// Hyper-parameters and the tensor plan

/// whisper.cpp's hyper-parameters, derived from the variables' shapes.
#[derive(Debug, Clone, PartialEq, Eq)]
struct HParams {
    n_vocab: usize,
    n_audio_ctx: usize,
    n_audio_state: usize,
    n_audio_head: usize,
    n_audio_layer: usize,
    n_text_ctx: usize,
    n_text_state: usize,
    n_text_head: usize,
    n_text_layer: usize,
    n_mels: usize,
}

impl HParams {
    fn from_model(m: &Ct2Model) -> Result<Self> {
        let enc_pe = &m.var("encoder/position_encodings/encodings")?.dims;
        let dec_pe = &m.var("decoder/position_encodings/encodings")?.dims;
        let emb = &m.var(EMBEDDINGS)?.dims;
        let conv1 = &m.var("encoder/conv1/weight")?.dims;
        ensure!(
            enc_pe.len() == 2,
            "encoder position encodings have shape {enc_pe:?}"
        );
        ensure!(
            dec_pe.len() == 2,
            "decoder position encodings have shape {dec_pe:?}"
        );
        ensure!(emb.len() == 2, "token embeddings have shape {emb:?}");
        ensure!(conv1.len() == 3, "encoder conv1 weight has shape {conv1:?}");
        let head = |name: &str| -> Result<usize> {
            let v = m.scalar(name)?;
            usize::try_from(v)
                .ok()
                .filter(|&h| h > 0)
                .ok_or_else(|| anyhow!("{name} is {v}"))
        };
        let hp = Self {
            n_vocab: emb[0],
            n_audio_ctx: enc_pe[0],
            n_audio_state: enc_pe[1],
            n_audio_head: head("encoder/num_heads")?,
            n_audio_layer: m.layer_count("encoder"),
            n_text_ctx: dec_pe[0],
            n_text_state: dec_pe[1],
            n_text_head: head("decoder/num_heads")?,
            n_text_layer: m.layer_count("decoder"),
            n_mels: conv1[1],
        };
        ensure!(
            hp.n_audio_layer > 0 && hp.n_text_layer > 0,
            "model has no layers: {hp:?}"
        );
        ensure!(
            hp.n_audio_state == hp.n_text_state && hp.n_text_state == emb[1],
            "encoder and decoder widths differ ({hp:?}); whisper.cpp needs them equal"
        );
        ensure!(
            hp.n_audio_state.is_multiple_of(hp.n_audio_head)
                && hp.n_text_state.is_multiple_of(hp.n_text_head),
            "model width is not a multiple of the head count: {hp:?}"
        );
        ensure!(
            hp.n_vocab >= 51864,
            "vocabulary of {} is not Whisper's",
            hp.n_vocab
        );
        Ok(hp)
    }

    /// The magic, the ten hyper-parameters and the ftype (1: f16), in file order.
    fn header(&self) -> Result<[i32; 12]> {
        Ok([
            GGML_MAGIC as i32,
            i32_of(self.n_vocab)?,
            i32_of(self.n_audio_ctx)?,
            i32_of(self.n_audio_state)?,
            i32_of(self.n_audio_head)?,
            i32_of(self.n_audio_layer)?,
            i32_of(self.n_text_ctx)?,
            i32_of(self.n_text_state)?,
            i32_of(self.n_text_head)?,
            i32_of(self.n_text_layer)?,
            i32_of(self.n_mels)?,
            1,
        ])
    }
}

/// ggml's tensor type ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum GgmlType {
    F32 = 0,
    F16 = 1,
}

/// One output tensor: where its data comes from and what it must look like.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Planned {
    /// whisper.cpp's name.
    name: String,
    /// The CTranslate2 variable.
    src: String,
    /// The source's expected full shape (PyTorch order).
    src_dims: Vec<usize>,
    /// Rows (first dimension) of the source to take, for split fused projections.
    rows: Option<Range<usize>>,
    /// The tensor's shape in PyTorch order, as written (reversed) to the file.
    dims: Vec<usize>,
    ty: GgmlType,
}

/// Every tensor whisper.cpp's `whisper_model_load` expects, in the order of OpenAI's
/// `state_dict` (the order `convert-pt-to-ggml.py` writes; whisper.cpp accepts any order).
fn plan(hp: &HParams) -> Vec<Planned> {
    let mut p = Vec::new();
    let (d, n_mels) = (hp.n_audio_state, hp.n_mels);
    let mut pe = linear_part(
        "encoder.positional_embedding",
        "encoder/position_encodings/encodings",
        &[hp.n_audio_ctx, d],
        None,
    );
    pe.ty = GgmlType::F32;
    p.push(pe);
    for (conv, in_channels) in [("conv1", n_mels), ("conv2", d)] {
        let (dst, src) = (format!("encoder.{conv}"), format!("encoder/{conv}"));
        p.push(linear_part(
            &format!("{dst}.weight"),
            &format!("{src}/weight"),
            &[d, in_channels, 3],
            None,
        ));
        let mut bias = linear_part(&format!("{dst}.bias"), &format!("{src}/bias"), &[d], None);
        bias.dims = vec![d, 1]; // whisper.cpp wants an f32 [n, 1] column
        p.push(bias);
    }
    for i in 0..hp.n_audio_layer {
        let (dst, src) = (format!("encoder.blocks.{i}"), format!("encoder/layer_{i}"));
        self_attention(&mut p, &dst, &src, d);
        mlp(&mut p, &dst, &src, d);
    }
    layer_norm(&mut p, "encoder.ln_post", "encoder/layer_norm", d);

    let d = hp.n_text_state;
    let mut pe = linear_part(
        "decoder.positional_embedding",
        "decoder/position_encodings/encodings",
        &[hp.n_text_ctx, d],
        None,
    );
    pe.ty = GgmlType::F32;
    p.push(pe);
    p.push(linear_part(
        "decoder.token_embedding.weight",
        EMBEDDINGS,
        &[hp.n_vocab, d],
        None,
    ));
    for i in 0..hp.n_text_layer {
        let (dst, src) = (format!("decoder.blocks.{i}"), format!("decoder/layer_{i}"));
        self_attention(&mut p, &dst, &src, d);
        cross_attention(
            &mut p,
            &format!("{dst}.cross_attn"),
            &format!("{src}/attention"),
            d,
        );
        layer_norm(
            &mut p,
            &format!("{dst}.cross_attn_ln"),
            &format!("{src}/attention/layer_norm"),
            d,
        );
        mlp(&mut p, &dst, &src, d);
    }
    layer_norm(&mut p, "decoder.ln", "decoder/layer_norm", d);
    p
}

/// A weight (f16) or bias (f32) taken from `src`, optionally only the given rows.
fn linear_part(name: &str, src: &str, src_dims: &[usize], rows: Option<Range<usize>>) -> Planned {
    let mut dims = src_dims.to_vec();
    if let Some(r) = &rows {
        dims[0] = r.len();
    }
    let ty = if dims.len() < 2 {
        GgmlType::F32
    } else {
        GgmlType::F16
    };
    Planned {
        name: name.into(),
        src: src.into(),
        src_dims: src_dims.to_vec(),
        rows,
        dims,
        ty,
    }
}

/// Self-attention: `linear_0` is query, key and value fused (three blocks of `d` rows),
/// `linear_1` the output projection.
/// A block's self-attention and the layer norm before it (encoder and decoder blocks alike).
fn self_attention(p: &mut Vec<Planned>, dst: &str, src: &str, d: usize) {
    attention(
        p,
        &format!("{dst}.attn"),
        &format!("{src}/self_attention"),
        d,
    );
    layer_norm(
        p,
        &format!("{dst}.attn_ln"),
        &format!("{src}/self_attention/layer_norm"),
        d,
    );
}

fn attention(p: &mut Vec<Planned>, dst: &str, src: &str, d: usize) {
    let (w, b) = (
        format!("{src}/linear_0/weight"),
        format!("{src}/linear_0/bias"),
    );
    let (wd, bd) = ([3 * d, d], [3 * d]);
    p.push(linear_part(
        &format!("{dst}.query.weight"),
        &w,
        &wd,
        Some(0..d),
    ));
    p.push(linear_part(
        &format!("{dst}.query.bias"),
        &b,
        &bd,
        Some(0..d),
    ));
    p.push(linear_part(
        &format!("{dst}.key.weight"),
        &w,
        &wd,
        Some(d..2 * d),
    ));
    p.push(linear_part(
        &format!("{dst}.value.weight"),
        &w,
        &wd,
        Some(2 * d..3 * d),
    ));
    p.push(linear_part(
        &format!("{dst}.value.bias"),
        &b,
        &bd,
        Some(2 * d..3 * d),
    ));
    p.push(linear_part(
        &format!("{dst}.out.weight"),
        &format!("{src}/linear_1/weight"),
        &[d, d],
        None,
    ));
    p.push(linear_part(
        &format!("{dst}.out.bias"),
        &format!("{src}/linear_1/bias"),
        &[d],
        None,
    ));
}

/// Cross-attention: `linear_0` query, `linear_1` key and value fused, `linear_2` output.
fn cross_attention(p: &mut Vec<Planned>, dst: &str, src: &str, d: usize) {
    let (w, b) = (
        format!("{src}/linear_1/weight"),
        format!("{src}/linear_1/bias"),
    );
    p.push(linear_part(
        &format!("{dst}.query.weight"),
        &format!("{src}/linear_0/weight"),
        &[d, d],
        None,
    ));
    p.push(linear_part(
        &format!("{dst}.query.bias"),
        &format!("{src}/linear_0/bias"),
        &[d],
        None,
    ));
    p.push(linear_part(
        &format!("{dst}.key.weight"),
        &w,
        &[2 * d, d],
        Some(0..d),
    ));
    p.push(linear_part(
        &format!("{dst}.value.weight"),
        &w,
        &[2 * d, d],
        Some(d..2 * d),
    ));
    p.push(linear_part(
        &format!("{dst}.value.bias"),
        &b,
        &[2 * d],
        Some(d..2 * d),
    ));
    p.push(linear_part(
        &format!("{dst}.out.weight"),
        &format!("{src}/linear_2/weight"),
        &[d, d],
        None,
    ));
    p.push(linear_part(
        &format!("{dst}.out.bias"),
        &format!("{src}/linear_2/bias"),
        &[d],
        None,
    ));
}

fn layer_norm(p: &mut Vec<Planned>, dst: &str, src: &str, d: usize) {
    p.push(linear_part(
        &format!("{dst}.weight"),
        &format!("{src}/gamma"),
        &[d],
        None,
    ));
    p.push(linear_part(
        &format!("{dst}.bias"),
        &format!("{src}/beta"),
        &[d],
        None,
    ));
}

/// The feed-forward block: `ffn/linear_0` → `mlp.0`, `ffn/linear_1` → `mlp.2`, `ffn/layer_norm` → `mlp_ln`.
fn mlp(p: &mut Vec<Planned>, dst: &str, src: &str, d: usize) {
    p.push(linear_part(
        &format!("{dst}.mlp.0.weight"),
        &format!("{src}/ffn/linear_0/weight"),
        &[4 * d, d],
        None,
    ));
    p.push(linear_part(
        &format!("{dst}.mlp.0.bias"),
        &format!("{src}/ffn/linear_0/bias"),
        &[4 * d],
        None,
    ));
    p.push(linear_part(
        &format!("{dst}.mlp.2.weight"),
        &format!("{src}/ffn/linear_1/weight"),
        &[d, 4 * d],
        None,
    ));
    p.push(linear_part(
        &format!("{dst}.mlp.2.bias"),
        &format!("{src}/ffn/linear_1/bias"),
        &[d],
        None,
    ));
    layer_norm(
        p,
        &format!("{dst}.mlp_ln"),
        &format!("{src}/ffn/layer_norm"),
        d,
    );
}

/// Reads one planned tensor's data from the model and writes its ggml record.
fn write_tensor<R: Read + Seek>(
    r: &mut R,
    m: &Ct2Model,
    t: &Planned,
    w: &mut impl Write,
) -> Result<()> {
    let var = m.var(&t.src)?;
    ensure!(
        var.dims == t.src_dims,
        "variable {} has shape {:?}, expected {:?} for {}",
        t.src,
        var.dims,
        t.src_dims,
        t.name
    );
    ensure!(
        matches!(var.dtype, DType::F32 | DType::F16 | DType::Bf16),
        "variable {} is {:?}; only float models are supported (int8-quantized CTranslate2 \
         models cannot be converted)",
        t.src,
        var.dtype
    );
    let rows = t.rows.clone().unwrap_or(0..var.dims[0]);
    let row_bytes = var.dims[1..].iter().product::<usize>() * var.dtype.size();
    r.seek(SeekFrom::Start(
        var.offset + (rows.start * row_bytes) as u64,
    ))?;
    let mut raw = vec![0u8; rows.len() * row_bytes];
    r.read_exact(&mut raw)
        .with_context(|| format!("cannot read variable {}", t.src))?;
    let data = encode(&raw, var.dtype, t.ty);

    let name = t.name.as_bytes();
    for v in [t.dims.len(), name.len(), t.ty as usize] {
        w.write_all(&i32_of(v)?.to_le_bytes())?;
    }
    for &dim in t.dims.iter().rev() {
        w.write_all(&i32_of(dim)?.to_le_bytes())?;
    }
    w.write_all(name)?;
    w.write_all(&data)?;
    Ok(())
}

/// Converts little-endian `src`-typed values to `dst`'s bytes (f16 rounds to nearest even,
/// like numpy's `astype(float16)`); f16 to f16 is a copy.
fn encode(raw: &[u8], src: DType, dst: GgmlType) -> Vec<u8> {
    if src == DType::F16 && dst == GgmlType::F16 {
        return raw.to_vec();
    }
    let values = raw.chunks_exact(src.size()).map(|c| match src {
        DType::F16 => f16_to_f32(u16::from_le_bytes([c[0], c[1]])),
        DType::Bf16 => f32::from_bits(u32::from(u16::from_le_bytes([c[0], c[1]])) << 16),
        _ => f32::from_le_bytes([c[0], c[1], c[2], c[3]]),
    });
    match dst {
        GgmlType::F32 => values.flat_map(f32::to_le_bytes).collect(),
        GgmlType::F16 => values.flat_map(|v| f32_to_f16(v).to_le_bytes()).collect(),
    }
}

/// IEEE half-precision bits to f32 (exact).
fn f16_to_f32(h: u16) -> f32 {
    let sign = u32::from(h >> 15) << 31;
    let exp = u32::from((h >> 10) & 0x1f);
    let man = u32::from(h & 0x3ff);
    match (exp, man) {
        (0, 0) => f32::from_bits(sign),
        // Subnormal: man * 2^-24.
        (0, _) => {
            let v = man as f32 / 16_777_216.0; // exact: man < 2^10, divided by 2^24
            if sign != 0 { -v } else { v }
        }
        (0x1f, _) => f32::from_bits(sign | 0x7f80_0000 | (man << 13)),
        _ => f32::from_bits(sign | ((exp + 127 - 15) << 23) | (man << 13)),
    }
}

/// f32 to IEEE half-precision bits, rounding to nearest even (as numpy's `astype(float16)`);
/// overflow gives infinity, NaN stays NaN.
fn f32_to_f16(v: f32) -> u16 {
    let x = v.to_bits();
    let sign = ((x >> 16) & 0x8000) as u16;
    let exp = ((x >> 23) & 0xff) as i32;
    let man = x & 0x7f_ffff;
    if exp == 0xff {
        let nan = if man != 0 { 0x200 } else { 0 };
        return sign | 0x7c00 | nan;
    }
    // Drops the low `shift` bits of `m`, rounding to nearest, ties to even.
    let round = |m: u32, shift: u32| -> u32 {
        let (kept, rest, half) = (m >> shift, m & ((1 << shift) - 1), 1 << (shift - 1));
        kept + u32::from(rest > half || (rest == half && kept & 1 == 1))
    };
    let e = exp - 127 + 15;
    if e >= 0x1f {
        sign | 0x7c00
    } else if e > 0 {
        // A carry out of the mantissa bumps the exponent, up to infinity: still correct.
        sign | round(((e as u32) << 23) | man, 13) as u16
    } else if e >= -10 {
        // Subnormal (a carry gives the smallest normal): the value is (man | 2^23) * 2^(exp-150).
        sign | round(man | 0x80_0000, (14 - e) as u32) as u16
    } else {
        sign // below half the smallest subnormal
    }
}

fn i32_of(v: usize) -> Result<i32> {
    i32::try_from(v).map_err(|_| anyhow!("{v} does not fit the ggml file's 32-bit fields"))
}

// ---------------------------------------------------------------------------------------------
// Assets

/// The `mel_{n_mels}` filter bank from `mel_filters.npz`: `n_mels` rows of 201 f32.
fn mel_filters(npz: &[u8], n_mels: usize) -> Result<Vec<f32>> {
    let member = format!("mel_{n_mels}.npy");
    let mut zip =
        zip::ZipArchive::new(Cursor::new(npz)).context("mel_filters.npz is not a zip archive")?;
    let mut npy = Vec::new();
    zip.by_name(&member)
        .with_context(|| {
            format!("mel_filters.npz has no {member} (the model has {n_mels} mel bins)")
        })?
        .read_to_end(&mut npy)
        .with_context(|| format!("cannot read {member} from mel_filters.npz"))?;
    let (dims, data) = parse_npy_f32(&npy).with_context(|| format!("cannot read {member}"))?;
    ensure!(
        dims == [n_mels, N_FFT_BINS],
        "{member} has shape {dims:?}, expected [{n_mels}, {N_FFT_BINS}]"
    );
    Ok(data)
}

/// Parses a little-endian, C-order `.npy` array of `f4` or `f8`, returning its shape and values as f32.
fn parse_npy_f32(b: &[u8]) -> Result<(Vec<usize>, Vec<f32>)> {
    ensure!(
        b.len() >= 10 && b.starts_with(b"\x93NUMPY"),
        "not a .npy file"
    );
    let (header_len, start) = match b[6] {
        1 => (u16::from_le_bytes([b[8], b[9]]) as usize, 10),
        2 | 3 if b.len() >= 12 => (u32::from_le_bytes([b[8], b[9], b[10], b[11]]) as usize, 12),
        v => bail!(".npy format version {v} is not supported"),
    };
    let header = b
        .get(start..start + header_len)
        .and_then(|h| std::str::from_utf8(h).ok())
        .ok_or_else(|| anyhow!(".npy header is truncated or not text"))?;
    let field = |key: &str| -> Result<&str> {
        let at = header
            .find(&format!("'{key}':"))
            .ok_or_else(|| anyhow!(".npy header lacks {key}"))?;
        Ok(header[at + key.len() + 3..].trim_start())
    };
    let descr = field("descr")?;
    let elem = if descr.starts_with("'<f4'") {
        4
    } else if descr.starts_with("'<f8'") {
        8
    } else {
        bail!(
            ".npy data type {} is not little-endian float",
            descr.split(',').next().unwrap_or("")
        )
    };
    ensure!(
        field("fortran_order")?.starts_with("False"),
        ".npy array is in Fortran order"
    );
    let shape = field("shape")?;
    let shape = shape
        .strip_prefix('(')
        .and_then(|s| s.split(')').next())
        .ok_or_else(|| anyhow!(".npy shape is malformed"))?;
    let dims = shape
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>()
                .map_err(|_| anyhow!(".npy shape has {s:?}"))
        })
        .collect::<Result<Vec<_>>>()?;
    let n: usize = dims.iter().product();
    let data = b
        .get(start + header_len..)
        .filter(|d| d.len() == n * elem)
        .ok_or_else(|| anyhow!(".npy data does not hold {dims:?} values of {elem} bytes"))?;
    let values = match elem {
        4 => data
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
        _ => data
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f32)
            .collect(),
    };
    Ok((dims, values))
}

/// Parses a `.tiktoken` file (`<base64 token> <rank>` per line) into tokens ordered by rank.
/// Ranks must be exactly `0..n`. Python's lenient base64 reads a bare `=` (rank 50256 of
/// `multilingual.tiktoken`) as the empty token; so does this.
fn parse_tiktoken(text: &[u8]) -> Result<Vec<Vec<u8>>> {
    let text = std::str::from_utf8(text).context("not UTF-8 text")?;
    let mut by_rank: Vec<Option<Vec<u8>>> = Vec::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let mut parts = line.split_whitespace();
        let (Some(b64), Some(rank), None) = (parts.next(), parts.next(), parts.next()) else {
            bail!("line {} is not `<base64> <rank>`: {line:?}", i + 1);
        };
        let rank: usize = rank
            .parse()
            .map_err(|_| anyhow!("line {}: rank {rank:?} is not a number", i + 1))?;
        let b64 = b64.trim_end_matches('=');
        let token = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(b64)
            .map_err(|e| anyhow!("line {}: bad base64 token: {e}", i + 1))?;
        ensure!(
            rank < 1 << 20,
            "line {}: rank {rank} is implausibly large",
            i + 1
        );
        if by_rank.len() <= rank {
            by_rank.resize(rank + 1, None);
        }
        ensure!(
            by_rank[rank].replace(token).is_none(),
            "line {}: rank {rank} appears twice",
            i + 1
        );
    }
    by_rank
        .into_iter()
        .enumerate()
        .map(|(rank, t)| t.ok_or_else(|| anyhow!("rank {rank} is missing")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

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
            .map(|(n, (ty, dims, _))| {
                (n.clone(), (*ty, dims.iter().map(|&d| d as usize).collect()))
            })
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
        assert!(
            format!("{:#}", parse_tiktoken(b"IQ== 0\nIg== 0\n").unwrap_err()).contains("twice")
        );
        assert!(parse_tiktoken(b"!!! 0\n").is_err());
        assert!(parse_tiktoken(b"IQ==\n").is_err());
    }
}
