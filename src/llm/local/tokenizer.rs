//! The tokenizer, built from a GGUF file's own metadata (no registry ships a `tokenizer.json` for these models):
//! byte-level BPE from `tokenizer.ggml.tokens` and `tokenizer.ggml.merges`, the pre-tokenizer regex of the
//! model's family (`tokenizer.ggml.pre`), and its control tokens as special tokens. Decoding maps each token back
//! to its raw bytes, and [`Utf8Stream`] hands out text only once it is whole UTF-8, so a character split across
//! tokens (emoji, accents) never reaches the browser half-made.

use std::collections::HashMap;

use anyhow::{Context, bail};
use candle_core::quantized::gguf_file;
use tokenizers::{
    AddedToken, PreTokenizerWrapper, Tokenizer as HfTokenizer,
    models::bpe::{BPE, Vocab},
    pre_tokenizers::{
        byte_level::ByteLevel,
        digits::Digits,
        sequence::Sequence,
        split::{Split, SplitPattern},
    },
    tokenizer::normalizer::SplitDelimiterBehavior,
};

/// Qwen2's pre-tokenizer (also Qwen2.5's): digits one by one, words with their leading space.
const QWEN2_PATTERN: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
/// Llama 3's: numbers in groups of up to three.
const LLAMA3_PATTERN: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

pub struct Tokenizer {
    inner: HfTokenizer,
    /// Each token's bytes (control tokens decode to nothing).
    bytes: Vec<Vec<u8>>,
    /// Control tokens' names, as a chat template writes them in a prompt (`<|im_start|>`).
    control: HashMap<u32, Vec<u8>>,
    by_text: HashMap<String, u32>,
    pub eos: Option<u32>,
}

/// What a GGUF's metadata says of its tokenizer.
struct GgufVocab {
    tokens: Vec<String>,
    merges: Vec<(String, String)>,
    /// Each token's type: 3 for control tokens, 4 for user-defined ones.
    types: Vec<i32>,
    /// The pre-tokenizer's family (`tokenizer.ggml.pre`), empty when the GGUF names none.
    pre: String,
}

impl Tokenizer {
    pub fn from_gguf(content: &gguf_file::Content) -> anyhow::Result<Self> {
        let GgufVocab {
            tokens,
            merges,
            types,
            pre,
        } = read_vocab(content)?;
        let vocab: HashMap<String, u32> = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), i as u32))
            .collect();
        let inner = build_bpe(&tokens, merges, &types, &pre, &vocab)?;
        let control = control_names(&tokens, &types);
        let bytes = bytes_of_tokens(&tokens, &types);
        let eos = content
            .metadata
            .get("tokenizer.ggml.eos_token_id")
            .and_then(|v| v.to_u32().ok());
        Ok(Self {
            inner,
            bytes,
            control,
            by_text: vocab,
            eos,
        })
    }

    /// Token ids for `text`; special tokens written in the text (`<|im_start|>`) become their single ids.
    pub fn encode(&self, text: &str) -> anyhow::Result<Vec<u32>> {
        let enc = self
            .inner
            .encode_fast(text, false)
            .map_err(|e| anyhow::anyhow!("tokenizing: {e}"))?;
        Ok(enc.get_ids().to_vec())
    }

    /// The id of a token written exactly so, e.g. `<|im_end|>`.
    pub fn id(&self, token: &str) -> Option<u32> {
        self.by_text.get(token).copied()
    }

    pub fn token_bytes(&self, id: u32) -> &[u8] {
        self.bytes
            .get(id as usize)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// What the token stands for in a prompt's text: its bytes, or a control token's name.
    pub fn spelling(&self, id: u32) -> &[u8] {
        self.control
            .get(&id)
            .map_or_else(|| self.token_bytes(id), Vec::as_slice)
    }

    pub fn vocab_size(&self) -> usize {
        self.bytes.len()
    }

    pub fn decode(&self, ids: &[u32]) -> String {
        let bytes: Vec<u8> = ids
            .iter()
            .flat_map(|i| self.token_bytes(*i).iter().copied())
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

/// Reads the tokens, merges, token types and pre-tokenizer family from the metadata; only byte-level BPE is accepted.
fn read_vocab(content: &gguf_file::Content) -> anyhow::Result<GgufVocab> {
    let md = |key: &str| {
        content
            .metadata
            .get(key)
            .with_context(|| format!("the GGUF has no {key}"))
    };
    let model = md("tokenizer.ggml.model")?.to_string()?.clone();
    if model != "gpt2" {
        bail!(
            "unsupported tokenizer {model:?}: only byte-level BPE (\"gpt2\": Llama 3, SmolLM, Qwen) is supported"
        );
    }
    let tokens: Vec<String> = md("tokenizer.ggml.tokens")?
        .to_vec()?
        .iter()
        .map(|v| v.to_string().cloned())
        .collect::<Result<_, _>>()?;
    let merges: Vec<(String, String)> = md("tokenizer.ggml.merges")?
        .to_vec()?
        .iter()
        .map(|v| {
            let s = v.to_string()?;
            let (a, b) = s.split_once(' ').unwrap_or((s.as_str(), ""));
            Ok((a.to_string(), b.to_string()))
        })
        .collect::<candle_core::Result<_>>()?;
    let types: Vec<i32> = match content.metadata.get("tokenizer.ggml.token_type") {
        Some(v) => v
            .to_vec()?
            .iter()
            .map(|t| t.to_i32())
            .collect::<Result<_, _>>()?,
        None => vec![1; tokens.len()],
    };
    let pre = super::gguf_text(content, "tokenizer.ggml.pre")
        .unwrap_or_default()
        .to_string();
    Ok(GgufVocab {
        tokens,
        merges,
        types,
        pre,
    })
}

/// Builds the BPE model with the family's pre-tokenizer, control and user-defined tokens matched whole.
fn build_bpe(
    tokens: &[String],
    merges: Vec<(String, String)>,
    types: &[i32],
    pre: &str,
    vocab: &HashMap<String, u32>,
) -> anyhow::Result<HfTokenizer> {
    let bpe = BPE::builder()
        .vocab_and_merges(
            vocab
                .iter()
                .map(|(k, v)| (k.clone(), *v))
                .collect::<Vocab>(),
            merges,
        )
        .build()
        .map_err(|e| anyhow::anyhow!("building the BPE tokenizer: {e}"))?;
    let mut inner = HfTokenizer::new(bpe);
    inner.with_pre_tokenizer(Some(pre_tokenizer(pre)?));
    // Control (3) and user-defined (4) tokens are matched whole, before BPE.
    let special: Vec<AddedToken> = tokens
        .iter()
        .zip(types)
        .filter(|(_, t)| **t == 3 || **t == 4)
        .map(|(s, _)| AddedToken::from(s.clone(), true))
        .collect();
    inner
        .add_special_tokens(special)
        .map_err(|e| anyhow::anyhow!("adding the special tokens: {e}"))?;
    Ok(inner)
}

/// The control tokens' names by id, as a prompt spells them.
fn control_names(tokens: &[String], types: &[i32]) -> HashMap<u32, Vec<u8>> {
    (0u32..)
        .zip(tokens.iter().zip(types))
        .filter(|(_, (_, t))| **t == 3)
        .map(|(id, (s, _))| (id, s.as_bytes().to_vec()))
        .collect()
}

/// Each token's raw bytes: byte-level BPE's characters mapped back, user-defined tokens as written, control
/// tokens as nothing.
fn bytes_of_tokens(tokens: &[String], types: &[i32]) -> Vec<Vec<u8>> {
    let table = unicode_to_byte();
    tokens
        .iter()
        .zip(types)
        .map(|(t, ty)| match ty {
            3 => Vec::new(),
            4 => t.as_bytes().to_vec(),
            _ => t
                .chars()
                .map(|c| table.get(&c).copied().unwrap_or(b'?'))
                .collect(),
        })
        .collect()
}

fn pre_tokenizer(pre: &str) -> anyhow::Result<PreTokenizerWrapper> {
    let split = |pattern: &str| -> anyhow::Result<PreTokenizerWrapper> {
        Ok(Split::new(
            SplitPattern::Regex(pattern.into()),
            SplitDelimiterBehavior::Isolated,
            false,
        )
        .map_err(|e| anyhow::anyhow!("pre-tokenizer regex: {e}"))?
        .into())
    };
    let bytes_only = ByteLevel::new(false, false, false).into();
    Ok(match pre {
        "qwen2" | "deepseek-r1-qwen" => {
            Sequence::new(vec![split(QWEN2_PATTERN)?, bytes_only]).into()
        }
        "llama3" | "llama-bpe" | "smaug-bpe" => {
            Sequence::new(vec![split(LLAMA3_PATTERN)?, bytes_only]).into()
        }
        // SmolLM and GPT-2 style: single digits, then GPT-2's own split.
        "smollm" => Sequence::new(vec![
            Digits::new(true).into(),
            ByteLevel::new(false, false, true).into(),
        ])
        .into(),
        _ => ByteLevel::new(false, false, true).into(),
    })
}

/// GPT-2's byte-to-character table, reversed: byte-level BPE writes every byte as a printable character.
fn unicode_to_byte() -> HashMap<char, u8> {
    let mut printable: Vec<u32> = (b'!' as u32..=b'~' as u32)
        .chain(0xA1..=0xAC)
        .chain(0xAE..=0xFF)
        .collect();
    let mut chars: Vec<u32> = printable.clone();
    let mut n = 0;
    for b in 0..256u32 {
        if !printable.contains(&b) {
            printable.push(b);
            chars.push(256 + n);
            n += 1;
        }
    }
    printable
        .into_iter()
        .zip(chars)
        .filter_map(|(b, c)| char::from_u32(c).map(|c| (c, b as u8)))
        .collect()
}

/// Gathers token bytes and releases only complete UTF-8.
#[derive(Debug, Default)]
pub struct Utf8Stream {
    pending: Vec<u8>,
}

impl Utf8Stream {
    /// Adds bytes; returns the text that is now complete.
    pub fn push(&mut self, bytes: &[u8]) -> String {
        self.pending.extend_from_slice(bytes);
        match std::str::from_utf8(&self.pending) {
            Ok(s) => {
                let out = s.to_string();
                self.pending.clear();
                out
            }
            Err(e) if e.error_len().is_none() => {
                // An incomplete character at the end: keep it for the next token.
                let valid = e.valid_up_to();
                let out = String::from_utf8_lossy(&self.pending[..valid]).into_owned();
                self.pending.drain(..valid);
                out
            }
            Err(_) => {
                // Invalid bytes from the model: replace them rather than stall.
                let out = String::from_utf8_lossy(&self.pending).into_owned();
                self.pending.clear();
                out
            }
        }
    }

    /// Whatever is left at the end, made valid.
    pub fn finish(&mut self) -> String {
        let out = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_table_covers_every_byte_once() {
        let t = unicode_to_byte();
        assert_eq!(t.len(), 256);
        assert_eq!(t[&'Ġ'], b' ');
        assert_eq!(t[&'Ċ'], b'\n');
        assert_eq!(t[&'a'], b'a');
    }

    #[test]
    fn utf8_stream_holds_back_split_characters() {
        let mut s = Utf8Stream::default();
        let smile = "🙂".as_bytes();
        assert_eq!(s.push(b"hi "), "hi ");
        assert_eq!(s.push(&smile[..2]), "");
        assert_eq!(s.push(&smile[2..]), "🙂");
        assert_eq!(s.push("é".as_bytes()), "é");
        assert_eq!(s.push(&[0xE2, 0x82]), "");
        assert_eq!(s.finish(), "\u{FFFD}");
        assert_eq!(s.push(&[0xFF, b'a']), "\u{FFFD}a");
    }

    #[test]
    fn pre_tokenizers_build_for_every_family() {
        for pre in ["qwen2", "llama-bpe", "smollm", "gpt2", ""] {
            pre_tokenizer(pre).unwrap();
        }
    }
}
