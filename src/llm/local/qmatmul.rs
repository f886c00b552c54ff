//! Weight matrices for the transformer: Q4_1, Q5_0 and Q8_0 ones (every matrix of SmolLM2, most of
//! Qwen2.5-0.5B's, and both models' output heads) are rearranged at load and multiplied by `rehearse-kernels`
//! (candle runs the first two with scalar code on x86, which a profile of the interviewer's prefill showed
//! dominating, and Q8_0 one row at a time); other types (Q4_K, Q6_K, which candle runs with its own repacked
//! AVX2 and AVX-512 kernels) stay with candle. Matrices that take the same input (q, k and v; gate and up) are
//! stacked into one product ([`Group`]), which cut decoding's hand-outs to the threads from seven to four per
//! layer.

use std::sync::Arc;

use candle_core::{
    Tensor,
    quantized::{GgmlDType, QMatMul, QTensor},
};
use rehearse_kernels::{Kind, Packed, Parallel, for_parts, silu_mul};

/// candle's own worker threads (the pool its quantized products use): one set of threads for the whole model.
/// Its idle workers spin a moment before sleeping, so a second pool next to it would fight them for the cores.
pub(super) struct CandleThreads;

impl Parallel for CandleThreads {
    fn for_ranges(&self, n: usize, task: &(dyn Fn(std::ops::Range<usize>) + Sync)) {
        candle_core::utils::barrier_pool().execute_chunked(n, task);
    }
}

/// A weight matrix, for `x · Wᵀ`.
pub enum Linear {
    Packed(Arc<Packed>),
    Candle(QMatMul),
}

impl Linear {
    pub fn new(weights: QTensor) -> candle_core::Result<Linear> {
        Self::shared(Arc::new(weights))
    }

    /// For weights also used elsewhere (a tied output head's embedding table). Packed weights are a copy.
    pub fn shared(weights: Arc<QTensor>) -> candle_core::Result<Linear> {
        if let (Some(kind), true, Ok((n, k))) = (
            kernel(weights.dtype()),
            weights.device().is_cpu(),
            weights.shape().dims2(),
        ) && let Some(p) = Packed::unpack(kind, &weights.data()?, n, k)
        {
            return Ok(Linear::Packed(Arc::new(p)));
        }
        QMatMul::from_arc(weights).map(Linear::Candle)
    }

    /// `x` (any leading dimensions, then `k`) times the weights' transpose: the same leading dimensions, then `n`.
    pub fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            Linear::Candle(m) => candle_core::Module::forward(m, x),
            Linear::Packed(p) => Tensor::from_vec(product(p, x)?, with_last(x, p.n()), x.device()),
        }
    }
}

/// Weight matrices that take the same input (q, k and v; gate and up), multiplied as one when the kernels take
/// them all: their rows one after another, so one quantization of the input and one hand-out to the threads
/// serve them all. Each row's product is the same as alone, to the bit.
pub enum Group {
    Stacked {
        packed: Packed,
        /// Rows of each matrix, in order.
        sizes: Vec<usize>,
    },
    Separate(Vec<Linear>),
}

impl Group {
    pub fn new(weights: Vec<QTensor>) -> candle_core::Result<Group> {
        if let Some((packed, sizes)) = stack(&weights)? {
            return Ok(Group::Stacked { packed, sizes });
        }
        weights
            .into_iter()
            .map(Linear::new)
            .collect::<candle_core::Result<_>>()
            .map(Group::Separate)
    }

    /// Each matrix's product with `x` (any leading dimensions, then `k`): the same leading dimensions, then its
    /// rows.
    pub fn forward(&self, x: &Tensor) -> candle_core::Result<Vec<Tensor>> {
        match self {
            Group::Separate(ws) => ws.iter().map(|w| w.forward(x)).collect(),
            Group::Stacked { packed, sizes } => {
                let out = product(packed, x)?;
                let mut at = 0;
                sizes
                    .iter()
                    .map(|&n| {
                        let part: Vec<f32> = out
                            .chunks_exact(packed.n())
                            .flat_map(|row| &row[at..at + n])
                            .copied()
                            .collect();
                        at += n;
                        Tensor::from_vec(part, with_last(x, n), x.device())
                    })
                    .collect()
            }
        }
    }

    /// For a group of gate and up: `silu(x·gateᵀ) · (x·upᵀ)`, eight lanes at a time by the kernels'
    /// [`rehearse_kernels::silu_mul`] (candle's `silu` calls the scalar `expf` for each element, which took 6% of a
    /// follow-up turn's time).
    pub fn swiglu(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let (n, h) = match self {
            Group::Separate(ws) => {
                let [gate, up] = ws.as_slice() else {
                    candle_core::bail!("swiglu needs a gate and an up matrix");
                };
                let (gate, up) = (gate.forward(x)?, up.forward(x)?);
                if gate.dims() != up.dims() {
                    candle_core::bail!("gate and up differ in size");
                }
                let values =
                    |t: &Tensor| -> candle_core::Result<Vec<f32>> { t.flatten_all()?.to_vec1() };
                let (gate_values, up_values) = (values(&gate)?, values(&up)?);
                let mut h = vec![0f32; up_values.len()];
                silu_mul(&gate_values, &up_values, &mut h);
                (gate.dim(candle_core::D::Minus1)?, h)
            }
            Group::Stacked { packed, sizes } => {
                let &[n, m] = sizes.as_slice() else {
                    candle_core::bail!("swiglu needs a gate and an up matrix");
                };
                if n != m {
                    candle_core::bail!("gate and up differ in size ({n} and {m})");
                }
                let out = product(packed, x)?;
                let mut h = vec![0f32; out.len() / 2];
                // Each token's row of `out` is its gate values, then its up values.
                for_parts(&mut h, n, &CandleThreads, &|t, h| {
                    let (gate, up) = out[t * 2 * n..(t + 1) * 2 * n].split_at(n);
                    silu_mul(gate, up, h);
                });
                (n, h)
            }
        };
        Tensor::from_vec(h, with_last(x, n), x.device())
    }
}

/// The kernels' block type for a GGUF type they take.
fn kernel(dtype: GgmlDType) -> Option<Kind> {
    match dtype {
        GgmlDType::Q4_1 => Some(Kind::Q4_1),
        GgmlDType::Q5_0 => Some(Kind::Q5_0),
        GgmlDType::Q8_0 => Some(Kind::Q8_0),
        _ => None,
    }
}

/// The matrices as one packed matrix, when all are of one kernel type with the same width, on the CPU.
fn stack(weights: &[QTensor]) -> candle_core::Result<Option<(Packed, Vec<usize>)>> {
    let Some(first) = weights.first() else {
        return Ok(None);
    };
    let Some(kind) = kernel(first.dtype()) else {
        return Ok(None);
    };
    let k = first.shape().dims2()?.1;
    let same = |w: &QTensor| {
        w.dtype() == first.dtype()
            && w.device().is_cpu()
            && w.shape().dims2().is_ok_and(|(_, wk)| wk == k)
    };
    if weights.len() < 2 || !weights.iter().all(same) {
        return Ok(None);
    }
    let mut bytes = Vec::new();
    let mut sizes = Vec::with_capacity(weights.len());
    for w in weights {
        bytes.extend_from_slice(&w.data()?);
        sizes.push(w.shape().dims2()?.0);
    }
    Ok(Packed::unpack(kind, &bytes, sizes.iter().sum(), k).map(|p| (p, sizes)))
}

/// The product of `x` (any leading dimensions, then `k`) with every row of `packed`, row-major.
fn product(packed: &Packed, x: &Tensor) -> candle_core::Result<Vec<f32>> {
    let data: Vec<f32> = x.flatten_all()?.to_vec1()?;
    Ok(packed.matmul(&data, &CandleThreads))
}

/// `x`'s shape with the last dimension replaced by `n`.
fn with_last(x: &Tensor, n: usize) -> Vec<usize> {
    let mut shape = x.dims().to_vec();
    if let Some(last) = shape.last_mut() {
        *last = n;
    }
    shape
}

#[cfg(test)]
mod tests {
    use candle_core::{Device, Module};

    use super::*;

    /// The unpacked product equals candle's own for the same quantized weights, for one token and for several
    /// (more than one tile of tokens, and columns that do not fill the last tile): to the bit for Q4_1 and Q5_0,
    /// and within float rounding for Q8_0, whose AVX2 code in candle adds in another order.
    #[test]
    fn the_product_matches_candles() {
        let dev = Device::Cpu;
        let (n, k) = (51, 128);
        let w: Vec<f32> = (0..n * k)
            .map(|i| ((i * 7919 % 1000) as f32 / 500.0 - 1.0) * 0.3)
            .collect();
        let w = Tensor::from_vec(w, (n, k), &dev).unwrap();
        for dtype in [GgmlDType::Q4_1, GgmlDType::Q5_0, GgmlDType::Q8_0] {
            let ours = Linear::new(QTensor::quantize(&w, dtype).unwrap()).unwrap();
            assert!(matches!(ours, Linear::Packed(_)), "{dtype:?} is unpacked");
            let reference = QMatMul::from_qtensor(QTensor::quantize(&w, dtype).unwrap()).unwrap();
            for rows in [1, 5, 40] {
                let x: Vec<f32> = (0..rows * k)
                    .map(|i| (i * 104_729 % 997) as f32 / 498.0 - 1.0)
                    .collect();
                let x = Tensor::from_vec(x, (1, rows, k), &dev).unwrap();
                let flat = |t: Tensor| -> Vec<f32> { t.flatten_all().unwrap().to_vec1().unwrap() };
                let a = flat(ours.forward(&x).unwrap());
                let b = flat(reference.forward(&x).unwrap());
                assert_eq!(a.len(), rows * n);
                if dtype == GgmlDType::Q8_0 {
                    let scale = b.iter().fold(0f32, |m, v| m.max(v.abs()));
                    let worst = a
                        .iter()
                        .zip(&b)
                        .fold(0f32, |m, (x, y)| m.max((x - y).abs()));
                    assert!(
                        scale > 0.1 && worst <= scale * 1e-5,
                        "Q8_0, {rows} row(s): off by {worst} (values up to {scale})"
                    );
                } else {
                    assert!(
                        a == b,
                        "{dtype:?}, {rows} row(s): the products differ from candle's"
                    );
                }
            }
        }
    }

    /// Matrices stacked into one product give each matrix's own product to the bit, and the stacked SwiGLU equals
    /// the separate one to the bit and candle's `silu(gate) · up` within float rounding; a group with a type the
    /// kernels do not take stays separate.
    #[test]
    fn a_stacked_group_equals_its_matrices_alone() {
        let dev = Device::Cpu;
        let matrix = |n: usize, seed: usize| {
            let w: Vec<f32> = (0..n * 64)
                .map(|i| (((i + seed) * 7919 % 1000) as f32 / 500.0 - 1.0) * 0.3)
                .collect();
            Tensor::from_vec(w, (n, 64), &dev).unwrap()
        };
        let x: Vec<f32> = (0..3 * 64)
            .map(|i| (i * 104_729 % 997) as f32 / 498.0 - 1.0)
            .collect();
        let x = Tensor::from_vec(x, (1, 3, 64), &dev).unwrap();
        let flat = |t: &Tensor| -> Vec<f32> { t.flatten_all().unwrap().to_vec1().unwrap() };
        for dtype in [GgmlDType::Q4_1, GgmlDType::Q5_0] {
            let q = |n, seed| QTensor::quantize(&matrix(n, seed), dtype).unwrap();
            let group = Group::new(vec![q(24, 1), q(8, 2), q(16, 3)]).unwrap();
            assert!(
                matches!(group, Group::Stacked { .. }),
                "{dtype:?} is stacked"
            );
            let parts = group.forward(&x).unwrap();
            for (part, (n, seed)) in parts.iter().zip([(24, 1), (8, 2), (16, 3)]) {
                assert_eq!(part.dims(), &[1, 3, n]);
                let alone = Linear::new(q(n, seed)).unwrap().forward(&x).unwrap();
                assert!(
                    flat(part) == flat(&alone),
                    "{dtype:?}: a stacked part differs"
                );
            }
            let gate_up = Group::new(vec![q(16, 4), q(16, 5)]).unwrap();
            let (gate, up) = (
                Linear::new(q(16, 4)).unwrap(),
                Linear::new(q(16, 5)).unwrap(),
            );
            let expected = (candle_nn::ops::silu(&gate.forward(&x).unwrap()).unwrap()
                * up.forward(&x).unwrap())
            .unwrap();
            let ours = flat(&gate_up.swiglu(&x).unwrap());
            let separate = Group::Separate(vec![gate, up]).swiglu(&x).unwrap();
            assert!(
                ours == flat(&separate),
                "{dtype:?}: stacked and separate SwiGLU differ"
            );
            for (a, b) in ours.iter().zip(flat(&expected)) {
                assert!(
                    (a - b).abs() <= 1e-6 * (1.0 + b.abs()),
                    "{dtype:?}: SwiGLU {a} against candle's {b}"
                );
            }
        }
        let mixed = Group::new(vec![
            QTensor::quantize(&matrix(8, 1), GgmlDType::Q5_0).unwrap(),
            QTensor::quantize(&matrix(8, 2), GgmlDType::Q4_1).unwrap(),
        ])
        .unwrap();
        assert!(matches!(mixed, Group::Separate(_)));
        assert_eq!(mixed.forward(&x).unwrap().len(), 2);
    }

    #[test]
    fn other_types_stay_with_candle() {
        let w = Tensor::zeros((32, 256), candle_core::DType::F32, &Device::Cpu).unwrap();
        let q4k = QTensor::quantize(&w, GgmlDType::Q4K).unwrap();
        assert!(matches!(Linear::new(q4k).unwrap(), Linear::Candle(_)));
    }
}
