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

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, Write};
use std::path::Path;

use anyhow::{Context, Result, ensure};

mod assets;
mod ct2;
mod plan;
#[cfg(test)]
mod tests;

use assets::{mel_filters, parse_tiktoken};
use ct2::Ct2Model;
pub use plan::{HParams, tensor_shapes};
use plan::{i32_of, plan, write_tensor};

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
