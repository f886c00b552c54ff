//! all-MiniLM-L6-v2 on candle: a 6-layer BERT (22M parameters, f32) whose mean-pooled, normalised token states
//! are sentence embeddings. The weights (safetensors), WordPiece tokenizer and config come from a PyPI package
//! (`models/manifest.toml`). A text is cut at 256 tokens, as the model was trained. The files are untrusted input:
//! they are read into memory and parsed, never mapped, and a bad file is an error, not a crash.

use std::path::Path;

use anyhow::Context;
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::Tokenizer;

use super::Embed;

pub const WEIGHTS: &str = "model.safetensors";
const TOKENIZER: &str = "tokenizer.json";
const CONFIG: &str = "config.json";

/// The longest input, in tokens, the model was trained on.
const MAX_TOKENS: usize = 256;

pub struct MiniLm {
    model: BertModel,
    tokenizer: Tokenizer,
    dim: usize,
}

impl std::fmt::Debug for MiniLm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MiniLm")
    }
}

impl MiniLm {
    pub fn load(dir: &Path) -> anyhow::Result<MiniLm> {
        let read = |name: &str| {
            std::fs::read(dir.join(name))
                .with_context(|| format!("reading {}", dir.join(name).display()))
        };
        let config: Config =
            serde_json::from_slice(&read(CONFIG)?).context("reading config.json")?;
        anyhow::ensure!(
            config.hidden_size > 0 && config.hidden_size <= 4096 && config.num_hidden_layers <= 48,
            "config.json describes an unexpected model"
        );
        let mut tokenizer = Tokenizer::from_bytes(read(TOKENIZER)?)
            .map_err(|e| anyhow::anyhow!("reading tokenizer.json: {e}"))?;
        // The shipped tokenizer pads every text to 128 tokens, which mean pooling would average in: one text at a
        // time needs no padding, and the cut at MAX_TOKENS is made here.
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(None)
            .map_err(|e| anyhow::anyhow!("configuring the tokenizer: {e}"))?;
        let vb = VarBuilder::from_buffered_safetensors(read(WEIGHTS)?, DType::F32, &Device::Cpu)
            .context("reading the weights")?;
        let model = BertModel::load(vb, &config).context("loading the weights")?;
        Ok(MiniLm {
            model,
            tokenizer,
            dim: config.hidden_size,
        })
    }

    fn one(&self, text: &str) -> anyhow::Result<Vec<f32>> {
        let enc = self
            .tokenizer
            .encode(text, true)
            .map_err(|e| anyhow::anyhow!("tokenizing: {e}"))?;
        let mut ids: Vec<u32> = enc.get_ids().to_vec();
        if ids.len() > MAX_TOKENS {
            // Keep the closing [SEP] token.
            let last = *ids.last().expect("not empty");
            ids.truncate(MAX_TOKENS - 1);
            ids.push(last);
        }
        let n = ids.len();
        let input = Tensor::from_vec(ids, (1, n), &Device::Cpu)?;
        let types = input.zeros_like()?;
        let states = self.model.forward(&input, &types, None)?; // (1, n, hidden)
        let mean = (states.sum(1)? / n as f64)?.squeeze(0)?;
        let norm = mean.sqr()?.sum_all()?.sqrt()?.to_scalar::<f32>()?;
        let v: Vec<f32> = mean.to_vec1()?;
        Ok(if norm > 0.0 {
            v.into_iter().map(|x| x / norm).collect()
        } else {
            v
        })
    }
}

impl Embed for MiniLm {
    fn name(&self) -> String {
        format!("local:{}", super::MODEL)
    }

    fn embed(&self, texts: &[&str]) -> anyhow::Result<Vec<Vec<f32>>> {
        let dim = self.dim;
        texts
            .iter()
            .map(|t| {
                if t.trim().is_empty() {
                    Ok(vec![0.0; dim])
                } else {
                    self.one(t)
                }
            })
            .collect()
    }
}
