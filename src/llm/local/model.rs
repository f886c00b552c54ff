//! A quantized decoder-only transformer for the llama and qwen2 GGUF architectures (SmolLM, Llama 2/3, Mistral,
//! Qwen 2/2.5), written after candle-transformers' `quantized_llama` and `quantized_qwen2` with these changes for
//! an interview server:
//!
//! - The weights are immutable and shared ([`Weights`] is `Send + Sync`), and the KV cache is a separate
//!   [`Cache`] per conversation that can be truncated to a common prefix. One loaded model serves every
//!   interview, and each keeps its own cache across turns, so a new turn only pays for its new tokens.
//! - The Q4_1, Q5_0 and Q8_0 weight matrices are multiplied by [`super::qmatmul`] (candle runs the first two with
//!   scalar code on x86), the others by candle.
//! - The token-embedding table stays quantized; only the rows a prompt uses are dequantized (candle's qwen2 turns
//!   the whole table into 545 MB of f32 for Qwen-0.5B). With a tied output head the kernels' rearranged copy
//!   (30 MB for SmolLM2) serves the rows too, so the table is held once.
//! - On the CPU, attention is [`rehearse_kernels::attention`]: one pass over the cache where it lies, on every
//!   thread, with no mask, no copy per query head and a vectorised softmax. (candle's ran on one thread with the
//!   C library's `expf`; the kernel made a follow-up turn of Qwen2.5-0.5B about a fifth faster.)
//!
//! A test compares the logits with candle's reference implementation: the same greedy token at every step, and
//! logits that differ by float rounding in the attention's sums, which 8-bit activations widen to about 1.

use std::{borrow::Cow, sync::Arc};

use anyhow::{Context, bail};
use candle_core::{
    CpuStorage, DType, Device, IndexOp, Module, Storage, Tensor,
    quantized::{QStorage, QTensor, gguf_file},
};
use candle_transformers::{quantized_nn::RmsNorm, utils::repeat_kv};

use rehearse_kernels::{Heads, Packed};

use super::qmatmul::{CandleThreads, Group, Linear};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    Llama,
    Qwen2,
}

impl Arch {
    fn key(self) -> &'static str {
        match self {
            Arch::Llama => "llama",
            Arch::Qwen2 => "qwen2",
        }
    }
}

struct Layer {
    /// q, k and v.
    qkv: Group,
    wo: Linear,
    /// Qwen2 has biases on q, k and v.
    bq: Option<Tensor>,
    bk: Option<Tensor>,
    bv: Option<Tensor>,
    attn_norm: RmsNorm,
    ffn_norm: RmsNorm,
    /// gate and up.
    gate_up: Group,
    down: Linear,
}

/// Where the embedding rows come from.
enum Table {
    /// The GGUF's table, dequantized by candle.
    Quantized {
        table: Arc<QTensor>,
        /// Bytes per row.
        row_bytes: usize,
    },
    /// A tied output head's rearranged copy of the table, dequantized by the kernels (the same values), so the
    /// table is held once.
    Head(Arc<Packed>),
}

pub struct Weights {
    pub arch: Arch,
    /// The embedding table, still quantized: rows are dequantized as tokens need them.
    embeddings: Table,
    width: usize,
    layers: Vec<Layer>,
    norm: RmsNorm,
    output: Linear,
    cos: Tensor,
    sin: Tensor,
    heads: Heads,
    /// NEOX rotary layout (qwen2) rather than interleaved (llama's GGUF weights are permuted for it).
    neox: bool,
    pub context: usize,
    pub device: Device,
}

/// Positions a cache grows by: it is reallocated once per this many tokens, not on every token.
const CACHE_STEP: usize = 256;

/// One conversation's attention keys and values: per layer, buffers of `capacity` positions shaped
/// (1, kv heads, capacity, head width), of which the first `len` hold the tokens run so far. A token's keys and
/// values are written in place; truncating to a common prefix only moves `len`.
#[derive(Default)]
pub struct Cache {
    kv: Vec<(Tensor, Tensor)>,
    len: usize,
    capacity: usize,
}

impl Cache {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Keeps the first `n` tokens (an empty cache also gives its buffers back).
    pub fn truncate(&mut self, n: usize) {
        if n == 0 {
            *self = Cache::default();
        } else {
            self.len = self.len.min(n);
        }
    }

    /// A cache holding `bytes` of zeros (tests of what is kept).
    #[cfg(test)]
    pub fn of_bytes(bytes: usize) -> Cache {
        let t = Tensor::zeros(bytes / 4, DType::F32, &Device::Cpu).expect("a small tensor");
        Cache {
            kv: vec![(t.clone(), t.narrow(0, 0, 0).expect("an empty slice"))],
            len: 1,
            capacity: 1,
        }
    }

    /// Bytes held: what an idle interview costs.
    pub fn bytes(&self) -> usize {
        self.kv
            .iter()
            .map(|(k, v)| (k.elem_count() + v.elem_count()) * k.dtype().size_in_bytes())
            .sum()
    }

    /// Makes room for `total` positions (at most `limit`), keeping what the cache holds.
    fn reserve(
        &mut self,
        layers: usize,
        shape: (usize, usize),
        total: usize,
        limit: usize,
        device: &Device,
    ) -> candle_core::Result<()> {
        if self.kv.len() == layers && total <= self.capacity {
            return Ok(());
        }
        let capacity = total
            .max(self.capacity * 2)
            .next_multiple_of(CACHE_STEP)
            .min(limit)
            .max(total);
        let (heads, width) = shape;
        let empty = || Tensor::zeros((1, heads, capacity, width), DType::F32, device);
        let mut kv = Vec::with_capacity(layers);
        for i in 0..layers {
            let (k, v) = (empty()?, empty()?);
            if let Some((old_k, old_v)) = self.kv.get(i)
                && self.len > 0
            {
                k.slice_set(&old_k.narrow(2, 0, self.len)?.contiguous()?, 2, 0)?;
                v.slice_set(&old_v.narrow(2, 0, self.len)?.contiguous()?, 2, 0)?;
            }
            kv.push((k, v));
        }
        self.kv = kv;
        self.capacity = capacity;
        Ok(())
    }
}

/// The hyperparameters `load` reads from a GGUF's metadata.
struct Hyper {
    n_head: usize,
    n_kv_head: usize,
    n_embd: usize,
    n_layer: usize,
    eps: f64,
    rope_base: f32,
    /// The trained context, capped at the server's limit.
    context: usize,
}

impl Weights {
    pub fn load<R: std::io::Read + std::io::Seek>(
        content: &gguf_file::Content,
        reader: &mut R,
        device: &Device,
        max_context: usize,
    ) -> anyhow::Result<Arc<Weights>> {
        let arch = read_arch(content)?;
        let hyper = read_hyper(content, arch, max_context)?;
        let head_dim = hyper.n_embd / hyper.n_head;
        let (output, embeddings, width) = load_embeddings(content, reader, device, hyper.n_embd)?;
        let norm = RmsNorm::from_qtensor(
            read_tensor(content, reader, "output_norm.weight", device)?,
            hyper.eps,
        )?;
        let mut layers = Vec::with_capacity(hyper.n_layer);
        for i in 0..hyper.n_layer {
            layers.push(load_layer(content, reader, device, arch, i, hyper.eps)?);
        }
        let (cos, sin) = rope_tables(head_dim, hyper.rope_base, hyper.context, device)?;
        Ok(Arc::new(Weights {
            arch,
            embeddings,
            width,
            layers,
            norm,
            output,
            cos,
            sin,
            heads: Heads {
                query: hyper.n_head,
                kv: hyper.n_kv_head,
                dim: head_dim,
            },
            neox: arch == Arch::Qwen2,
            context: hyper.context,
            device: device.clone(),
        }))
    }

    /// Runs `tokens` after what `cache` holds, extends the cache, and returns the logits (f32) of the last
    /// token.
    pub fn forward(&self, tokens: &[u32], cache: &mut Cache) -> anyhow::Result<Tensor> {
        let seq = tokens.len();
        let pos = cache.len;
        if seq == 0 {
            bail!("nothing to run");
        }
        if pos + seq > self.context {
            bail!(
                "the conversation is longer than the model's context ({} tokens)",
                self.context
            );
        }
        cache.reserve(
            self.layers.len(),
            (self.heads.kv, self.heads.dim),
            pos + seq,
            self.context,
            &self.device,
        )?;
        let mut x = self.embed(tokens)?.unsqueeze(0)?;
        // The CPU's attention kernel needs no mask.
        let mask = if seq > 1 && !self.device.is_cpu() {
            Some(causal_mask(seq, pos, &self.device)?)
        } else {
            None
        };
        let cos = self.cos.narrow(0, pos, seq)?;
        let sin = self.sin.narrow(0, pos, seq)?;
        for (layer, kv) in self.layers.iter().zip(cache.kv.iter()) {
            let residual = x.clone();
            let h = layer.attn_norm.forward(&x)?;
            let h = self.attention(layer, &h, mask.as_ref(), &cos, &sin, kv, pos)?;
            x = (h + residual)?;
            let residual = x.clone();
            let h = layer.ffn_norm.forward(&x)?;
            let h = layer.down.forward(&layer.gate_up.swiglu(&h)?)?;
            x = (h + residual)?;
        }
        cache.len = pos + seq;
        let last = self.norm.forward(&x.i((.., seq - 1, ..))?)?;
        Ok(self
            .output
            .forward(&last)?
            .squeeze(0)?
            .to_dtype(DType::F32)?)
    }

    /// The embedding rows of `tokens`, dequantized, as a (tokens, width) f32 tensor.
    fn embed(&self, tokens: &[u32]) -> anyhow::Result<Tensor> {
        let outside = |t: u32| format!("token {t} is outside the vocabulary");
        let rows = match &self.embeddings {
            Table::Quantized { table, row_bytes } => {
                let data = table.data()?;
                tokens
                    .iter()
                    .map(|&t| {
                        let start = t as usize * row_bytes;
                        let bytes = data
                            .get(start..start + row_bytes)
                            .with_context(|| outside(t))?;
                        let storage =
                            QStorage::from_data(Cow::Borrowed(bytes), &self.device, table.dtype())?;
                        Ok(QTensor::new(storage, (1, self.width))?.dequantize(&self.device)?)
                    })
                    .collect::<anyhow::Result<Vec<_>>>()?
            }
            Table::Head(head) => tokens
                .iter()
                .map(|&t| {
                    let row = head.row(t as usize).with_context(|| outside(t))?;
                    Ok(Tensor::from_vec(row, (1, self.width), &self.device)?)
                })
                .collect::<anyhow::Result<Vec<_>>>()?,
        };
        Ok(Tensor::cat(&rows, 0)?)
    }

    #[allow(clippy::too_many_arguments)]
    fn attention(
        &self,
        layer: &Layer,
        x: &Tensor,
        mask: Option<&Tensor>,
        cos: &Tensor,
        sin: &Tensor,
        (cache_k, cache_v): &(Tensor, Tensor),
        pos: usize,
    ) -> anyhow::Result<Tensor> {
        let (b, seq, width) = x.dims3()?;
        let [q, k, v]: [Tensor; 3] = layer
            .qkv
            .forward(x)?
            .try_into()
            .map_err(|_| anyhow::anyhow!("q, k and v are three matrices"))?;
        let project =
            |mut t: Tensor, bias: &Option<Tensor>, heads: usize| -> anyhow::Result<Tensor> {
                if let Some(bias) = bias {
                    t = t.broadcast_add(bias)?;
                }
                Ok(t.reshape((b, seq, heads, self.heads.dim))?
                    .transpose(1, 2)?
                    .contiguous()?)
            };
        let q = project(q, &layer.bq, self.heads.query)?;
        let k = project(k, &layer.bk, self.heads.kv)?;
        let v = project(v, &layer.bv, self.heads.kv)?;
        let rope = |t: &Tensor| {
            if self.neox {
                candle_nn::rotary_emb::rope(t, cos, sin)
            } else {
                candle_nn::rotary_emb::rope_i(t, cos, sin)
            }
        };
        let (q, k) = (rope(&q)?, rope(&k)?);
        cache_k.slice_set(&k, 2, pos)?;
        cache_v.slice_set(&v, 2, pos)?;
        let y = if self.device.is_cpu() {
            attend_in_place(&q, cache_k, cache_v, pos, self.heads)?
        } else {
            attend(&q, cache_k, cache_v, mask, pos + seq, self.heads)?
        };
        debug_assert_eq!(y.dims3()?, (b, seq, width));
        Ok(layer.wo.forward(&y)?)
    }
}

/// Reads the GGUF's architecture: llama or qwen2, anything else refused.
fn read_arch(content: &gguf_file::Content) -> anyhow::Result<Arch> {
    Ok(
        match super::gguf_text(content, "general.architecture").unwrap_or_default() {
            "llama" => Arch::Llama,
            "qwen2" => Arch::Qwen2,
            other => bail!(
                "unsupported model architecture {other:?}: Rehearse runs llama and qwen2 GGUF files"
            ),
        },
    )
}

/// Reads the attention shape, depth, norm epsilon, rope base and context from the metadata, and checks the shape.
fn read_hyper(
    content: &gguf_file::Content,
    arch: Arch,
    max_context: usize,
) -> anyhow::Result<Hyper> {
    let key = arch.key();
    let md = |k: &str| {
        content
            .metadata
            .get(&format!("{key}.{k}"))
            .with_context(|| format!("the GGUF has no {key}.{k}"))
    };
    let n_head = md("attention.head_count")?.to_u32()? as usize;
    let n_kv_head = md("attention.head_count_kv")?.to_u32()? as usize;
    let n_embd = md("embedding_length")?.to_u32()? as usize;
    let n_layer = md("block_count")?.to_u32()? as usize;
    let eps = md("attention.layer_norm_rms_epsilon")?.to_f32()? as f64;
    let rope_base = md("rope.freq_base")
        .and_then(|v| Ok(v.to_f32()?))
        .unwrap_or(10_000.0);
    let trained_context = md("context_length")
        .and_then(|v| Ok(v.to_u32()? as usize))
        .unwrap_or(4096);
    let context = trained_context.min(max_context);
    if n_head == 0
        || n_kv_head == 0
        || !n_embd.is_multiple_of(n_head)
        || !n_head.is_multiple_of(n_kv_head)
    {
        bail!(
            "the GGUF's attention shape is inconsistent ({n_head} heads, {n_kv_head} kv heads, {n_embd} wide)"
        );
    }
    Ok(Hyper {
        n_head,
        n_kv_head,
        n_embd,
        n_layer,
        eps,
        rope_base,
        context,
    })
}

/// Reads the tensor `name`, saying which one failed.
fn read_tensor<R: std::io::Read + std::io::Seek>(
    content: &gguf_file::Content,
    reader: &mut R,
    name: &str,
    device: &Device,
) -> anyhow::Result<QTensor> {
    content
        .tensor(reader, name, device)
        .with_context(|| format!("reading tensor {name}"))
}

/// Reads the embedding table and the output head (the table itself when they are tied), and returns the head, where
/// the embedding rows come from, and the model's width.
fn load_embeddings<R: std::io::Read + std::io::Seek>(
    content: &gguf_file::Content,
    reader: &mut R,
    device: &Device,
    n_embd: usize,
) -> anyhow::Result<(Linear, Table, usize)> {
    let table = Arc::new(read_tensor(content, reader, "token_embd.weight", device)?);
    let (rows, width) = table.shape().dims2()?;
    let dtype = table.dtype();
    if width != n_embd || width % dtype.block_size() != 0 {
        bail!("token_embd.weight is {rows}x{width}, which does not fit a model {n_embd} wide");
    }
    let row_bytes = width / dtype.block_size() * dtype.type_size();
    let (output, embeddings) = match content.tensor(reader, "output.weight", device) {
        Ok(t) => (Linear::new(t)?, Table::Quantized { table, row_bytes }),
        // Tied embeddings: the output head is the embedding table, held once when the kernels take it.
        Err(_) => {
            let head = Linear::shared(table.clone())?;
            let embeddings = match &head {
                Linear::Packed(packed) => Table::Head(packed.clone()),
                Linear::Candle(_) => Table::Quantized { table, row_bytes },
            };
            (head, embeddings)
        }
    };
    Ok((output, embeddings, width))
}

/// Reads block `i`: its attention and feed-forward matrices, q/k/v biases (qwen2 only) and norms.
fn load_layer<R: std::io::Read + std::io::Seek>(
    content: &gguf_file::Content,
    reader: &mut R,
    device: &Device,
    arch: Arch,
    i: usize,
    eps: f64,
) -> anyhow::Result<Layer> {
    let p = format!("blk.{i}");
    let mut w = |n: &str| read_tensor(content, reader, &format!("{p}.{n}.weight"), device);
    let qkv = Group::new(vec![w("attn_q")?, w("attn_k")?, w("attn_v")?])?;
    let gate_up = Group::new(vec![w("ffn_gate")?, w("ffn_up")?])?;
    let (wo, down) = (
        Linear::new(w("attn_output")?)?,
        Linear::new(w("ffn_down")?)?,
    );
    let mut bias = |n: &str| -> anyhow::Result<Option<Tensor>> {
        match content.tensor(reader, &format!("{p}.{n}.bias"), device) {
            Ok(t) => Ok(Some(t.dequantize(device)?)),
            Err(_) if arch == Arch::Llama => Ok(None),
            Err(e) => Err(e).with_context(|| format!("reading tensor {p}.{n}.bias")),
        }
    };
    let (bq, bk, bv) = (bias("attn_q")?, bias("attn_k")?, bias("attn_v")?);
    let attn_norm = RmsNorm::from_qtensor(
        read_tensor(content, reader, &format!("{p}.attn_norm.weight"), device)?,
        eps,
    )?;
    let ffn_norm = RmsNorm::from_qtensor(
        read_tensor(content, reader, &format!("{p}.ffn_norm.weight"), device)?,
        eps,
    )?;
    Ok(Layer {
        qkv,
        wo,
        bq,
        bk,
        bv,
        attn_norm,
        ffn_norm,
        gate_up,
        down,
    })
}

/// Attention on the CPU: the new tokens' queries `q` (b, heads, seq, dim) over the first `pos + seq` positions of
/// the caches (b, kv heads, capacity, dim), read where they lie by [`rehearse_kernels::attention`]; the result is
/// (b, seq, heads · dim).
fn attend_in_place(
    q: &Tensor,
    cache_k: &Tensor,
    cache_v: &Tensor,
    pos: usize,
    heads: Heads,
) -> anyhow::Result<Tensor> {
    let (b, _, seq, _) = q.dims4()?;
    if b != 1 {
        bail!("the attention kernel takes one sequence at a time, not {b}");
    }
    let capacity = cache_k.dim(2)?;
    let queries = q.flatten_all()?.to_vec1::<f32>()?;
    let y = in_place(cache_k, |k| {
        in_place(cache_v, |v| {
            rehearse_kernels::attention(&queries, k, v, capacity, pos, heads, &CandleThreads)
        })
    })??;
    Ok(Tensor::from_vec(
        y,
        (b, seq, heads.query * heads.dim),
        q.device(),
    )?)
}

/// [`attend_in_place`] with candle's operations, for other devices: `mask` hides the future when `seq` > 1.
fn attend(
    q: &Tensor,
    cache_k: &Tensor,
    cache_v: &Tensor,
    mask: Option<&Tensor>,
    total: usize,
    heads: Heads,
) -> anyhow::Result<Tensor> {
    let (b, _, seq, _) = q.dims4()?;
    let groups = heads.query / heads.kv;
    let k = repeat_kv(cache_k.narrow(2, 0, total)?, groups)?.contiguous()?;
    let v = repeat_kv(cache_v.narrow(2, 0, total)?, groups)?.contiguous()?;
    let scores = (q.matmul(&k.t()?)? / (heads.dim as f64).sqrt())?;
    let scores = match mask {
        Some(m) => scores.broadcast_add(m)?,
        None => scores,
    };
    let probs = candle_nn::ops::softmax_last_dim(&scores)?;
    Ok(probs
        .matmul(&v)?
        .transpose(1, 2)?
        .reshape((b, seq, heads.query * heads.dim))?)
}

/// `f` over a CPU tensor's f32 elements where they lie, without a copy.
fn in_place<R>(t: &Tensor, f: impl FnOnce(&[f32]) -> R) -> anyhow::Result<R> {
    let (storage, layout) = t.storage_and_layout();
    let (Storage::Cpu(CpuStorage::F32(data)), Some((start, end))) =
        (&*storage, layout.contiguous_offsets())
    else {
        bail!("not a contiguous f32 tensor on the CPU");
    };
    Ok(f(&data[start..end]))
}

/// An additive mask: row i (absolute position pos + i) sees keys 0..=pos + i.
fn causal_mask(seq: usize, pos: usize, device: &Device) -> candle_core::Result<Tensor> {
    let total = pos + seq;
    let mask: Vec<f32> = (0..seq)
        .flat_map(|i| (0..total).map(move |j| if j > pos + i { f32::NEG_INFINITY } else { 0.0 }))
        .collect();
    Tensor::from_slice(&mask, (seq, total), device)
}

fn rope_tables(
    head_dim: usize,
    base: f32,
    context: usize,
    device: &Device,
) -> candle_core::Result<(Tensor, Tensor)> {
    let inv: Vec<f32> = (0..head_dim)
        .step_by(2)
        .map(|i| 1.0 / base.powf(i as f32 / head_dim as f32))
        .collect();
    let inv = Tensor::new(inv.as_slice(), device)?;
    let t = Tensor::arange(0u32, context as u32, device)?
        .to_dtype(DType::F32)?
        .reshape((context, 1))?;
    let freqs = t.matmul(&inv.reshape((1, head_dim / 2))?)?;
    Ok((freqs.cos()?, freqs.sin()?))
}

/// Picks the next token: greedy at temperature 0, else seeded top-k/top-p sampling, after a mild repetition
/// penalty over the recent tokens (small models loop without one).
pub struct Sampler {
    inner: candle_transformers::generation::LogitsProcessor,
    penalty: f32,
}

impl Sampler {
    pub fn new(seed: u64, temperature: f32) -> Self {
        use candle_transformers::generation::{LogitsProcessor, Sampling};
        let sampling = if temperature <= 0.0 {
            Sampling::ArgMax
        } else {
            Sampling::TopKThenTopP {
                k: 40,
                p: 0.9,
                temperature: temperature as f64,
            }
        };
        Self {
            inner: LogitsProcessor::from_sampling(seed, sampling),
            penalty: 1.1,
        }
    }

    pub fn sample(&mut self, logits: &Tensor, recent: &[u32]) -> anyhow::Result<u32> {
        let logits = if recent.is_empty() {
            logits.clone()
        } else {
            candle_transformers::utils::apply_repeat_penalty(logits, self.penalty, recent)?
        };
        Ok(self.inner.sample(&logits)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_hides_the_future_and_shows_the_cached_past() {
        let m = causal_mask(2, 3, &Device::Cpu).unwrap();
        let rows: Vec<Vec<f32>> = m.to_vec2().unwrap();
        assert_eq!(rows[0][..4], [0.0; 4]);
        assert!(rows[0][4].is_infinite());
        assert_eq!(rows[1], vec![0.0; 5]);
    }

    /// The kernel reads the layouts the model writes: the same result as candle's operations, for new tokens
    /// after a cached past, with grouped heads and a cache larger than what it holds.
    #[test]
    fn attention_in_place_computes_what_candles_operations_compute() {
        let heads = Heads {
            query: 6,
            kv: 2,
            dim: 64,
        };
        let (pos, seq, capacity) = (9, 5, 32);
        let tensor = |shape: (usize, usize, usize, usize), seed: usize| {
            let n = shape.0 * shape.1 * shape.2 * shape.3;
            let values = (0..n)
                .map(|i| ((i * 7919 + seed) % 1013) as f32 / 506.0 - 1.0)
                .collect();
            Tensor::from_vec(values, shape, &Device::Cpu).unwrap()
        };
        let q = tensor((1, heads.query, seq, heads.dim), 1);
        let k = tensor((1, heads.kv, capacity, heads.dim), 2);
        let v = tensor((1, heads.kv, capacity, heads.dim), 3);
        let ours = attend_in_place(&q, &k, &v, pos, heads).unwrap();
        let mask = causal_mask(seq, pos, &Device::Cpu).unwrap();
        let theirs = attend(&q, &k, &v, Some(&mask), pos + seq, heads).unwrap();
        assert_eq!(ours.dims(), theirs.dims());
        let diff = (ours - theirs)
            .unwrap()
            .abs()
            .unwrap()
            .flatten_all()
            .unwrap()
            .max(0)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!(diff < 1e-5, "they differ by {diff}");
    }

    #[test]
    fn truncating_an_empty_cache_is_harmless() {
        let mut c = Cache::default();
        c.truncate(0);
        c.truncate(10);
        assert_eq!(c.len(), 0);
        assert_eq!(c.bytes(), 0);
    }
}
