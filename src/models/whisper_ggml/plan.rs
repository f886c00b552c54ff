//! whisper.cpp's hyper-parameters and the tensors it expects, planned from CTranslate2's variables, and each
//! tensor's data written as ggml wants it.

use std::io::{Read, Seek, SeekFrom, Write};
use std::ops::Range;

use anyhow::{Context, Result, anyhow, ensure};

use super::{
    EMBEDDINGS, GGML_MAGIC,
    ct2::{Ct2Model, DType},
};

/// whisper.cpp's hyper-parameters, derived from the variables' shapes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HParams {
    pub(super) n_vocab: usize,
    pub(super) n_audio_ctx: usize,
    pub(super) n_audio_state: usize,
    pub(super) n_audio_head: usize,
    pub(super) n_audio_layer: usize,
    pub(super) n_text_ctx: usize,
    pub(super) n_text_state: usize,
    pub(super) n_text_head: usize,
    pub(super) n_text_layer: usize,
    pub(super) n_mels: usize,
}

impl HParams {
    pub(super) fn from_model(m: &Ct2Model) -> Result<Self> {
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

    /// From a ggml file's hyper-parameters in file order (the ten and the ftype), as whisper.cpp reads them;
    /// the caller has checked they are positive.
    pub fn from_header(h: &[i32; 11]) -> HParams {
        let u = |v: i32| usize::try_from(v).unwrap_or(0);
        HParams {
            n_vocab: u(h[0]),
            n_audio_ctx: u(h[1]),
            n_audio_state: u(h[2]),
            n_audio_head: u(h[3]),
            n_audio_layer: u(h[4]),
            n_text_ctx: u(h[5]),
            n_text_state: u(h[6]),
            n_text_head: u(h[7]),
            n_text_layer: u(h[8]),
            n_mels: u(h[9]),
        }
    }

    /// The magic, the ten hyper-parameters and the ftype (1: f16), in file order.
    pub(super) fn header(&self) -> Result<[i32; 12]> {
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
pub(super) enum GgmlType {
    F32 = 0,
    F16 = 1,
}

/// One output tensor: where its data comes from and what it must look like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Planned {
    /// whisper.cpp's name.
    pub(super) name: String,
    /// The CTranslate2 variable.
    pub(super) src: String,
    /// The source's expected full shape (PyTorch order).
    pub(super) src_dims: Vec<usize>,
    /// Rows (first dimension) of the source to take, for split fused projections.
    pub(super) rows: Option<Range<usize>>,
    /// The tensor's shape in PyTorch order, as written (reversed) to the file.
    pub(super) dims: Vec<usize>,
    pub(super) ty: GgmlType,
}

/// Every tensor whisper.cpp's `whisper_model_load` expects, in the order of OpenAI's
/// `state_dict` (the order `convert-pt-to-ggml.py` writes; whisper.cpp accepts any order).
pub(super) fn plan(hp: &HParams) -> Vec<Planned> {
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
pub(super) fn linear_part(
    name: &str,
    src: &str,
    src_dims: &[usize],
    rows: Option<Range<usize>>,
) -> Planned {
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
pub(super) fn self_attention(p: &mut Vec<Planned>, dst: &str, src: &str, d: usize) {
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

pub(super) fn attention(p: &mut Vec<Planned>, dst: &str, src: &str, d: usize) {
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
pub(super) fn cross_attention(p: &mut Vec<Planned>, dst: &str, src: &str, d: usize) {
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

pub(super) fn layer_norm(p: &mut Vec<Planned>, dst: &str, src: &str, d: usize) {
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
pub(super) fn mlp(p: &mut Vec<Planned>, dst: &str, src: &str, d: usize) {
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

/// Every tensor whisper.cpp expects for `hp`, with its shape as a ggml file stores it (innermost dimension
/// first, padded to three): the table both the converter ([`plan`]) and the loader's check of a ggml file use.
pub fn tensor_shapes(hp: &HParams) -> Vec<(String, [i32; 3])> {
    plan(hp)
        .into_iter()
        .map(|t| {
            let mut ne = [1i32; 3];
            for (d, n) in ne.iter_mut().zip(t.dims.iter().rev()) {
                *d = i32::try_from(*n).unwrap_or(i32::MAX);
            }
            (t.name, ne)
        })
        .collect()
}

/// Reads one planned tensor's data from the model and writes its ggml record.
pub(super) fn write_tensor<R: Read + Seek>(
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
pub(super) fn encode(raw: &[u8], src: DType, dst: GgmlType) -> Vec<u8> {
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
pub(super) fn f16_to_f32(h: u16) -> f32 {
    half::f16::from_bits(h).to_f32()
}

/// f32 to IEEE half-precision bits, rounding to nearest even (as numpy's `astype(float16)`); overflow gives
/// infinity, NaN stays NaN.
pub(super) fn f32_to_f16(v: f32) -> u16 {
    half::f16::from_f32(v).to_bits()
}

pub(super) fn i32_of(v: usize) -> Result<i32> {
    i32::try_from(v).map_err(|_| anyhow!("{v} does not fit the ggml file's 32-bit fields"))
}
