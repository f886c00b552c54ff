//! Weight matrices for the transformer: Q4_1 and Q5_0 ones (every matrix of SmolLM2, most of Qwen2.5-0.5B's) are
//! regrouped at load and multiplied by `rehearse-kernels` (candle runs these types with scalar code on x86, which a profile
//! of the interviewer's prefill showed dominating); other types (Q8_0, Q4_K, Q6_K, which candle runs with AVX2)
//! stay with candle.

use std::sync::Arc;

use candle_core::{
    Tensor,
    quantized::{GgmlDType, QMatMul, QTensor},
};
use rehearse_kernels::{Kind, Packed, Parallel};

/// candle's own worker threads (the pool its quantized products use): one set of threads for the whole model.
/// Its idle workers spin a moment before sleeping, so a second pool next to it would fight them for the cores.
struct CandleThreads;

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
        let kind = match weights.dtype() {
            GgmlDType::Q4_1 => Some(Kind::Q4_1),
            GgmlDType::Q5_0 => Some(Kind::Q5_0),
            _ => None,
        };
        if let (Some(kind), true, Ok((n, k))) =
            (kind, weights.device().is_cpu(), weights.shape().dims2())
            && let Some(p) = Packed::unpack(kind, &weights.data()?, n, k)
        {
            return Ok(Linear::Packed(Arc::new(p)));
        }
        QMatMul::from_qtensor(weights).map(Linear::Candle)
    }

    /// `x` (any leading dimensions, then `k`) times the weights' transpose: the same leading dimensions, then `n`.
    pub fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            Linear::Candle(m) => candle_core::Module::forward(m, x),
            Linear::Packed(p) => {
                let mut shape = x.dims().to_vec();
                let data: Vec<f32> = x.flatten_all()?.to_vec1()?;
                let out = p.matmul(&data, &CandleThreads);
                *shape.last_mut().expect("at least one dimension") = p.n();
                Tensor::from_vec(out, shape, x.device())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use candle_core::{Device, Module};

    use super::*;

    /// The unpacked product equals candle's own to the bit for the same quantized weights, for one token and for
    /// several (more than one tile of tokens, and columns that do not fill the last tile).
    #[test]
    fn the_product_matches_candles_for_q4_1_and_q5_0() {
        let dev = Device::Cpu;
        let (n, k) = (51, 128);
        let w: Vec<f32> = (0..n * k)
            .map(|i| ((i * 7919 % 1000) as f32 / 500.0 - 1.0) * 0.3)
            .collect();
        let w = Tensor::from_vec(w, (n, k), &dev).unwrap();
        for dtype in [GgmlDType::Q4_1, GgmlDType::Q5_0] {
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
                assert!(
                    a == b,
                    "{dtype:?}, {rows} row(s): the products differ from candle's"
                );
            }
        }
    }

    #[test]
    fn other_types_stay_with_candle() {
        let w = Tensor::zeros((32, 64), candle_core::DType::F32, &Device::Cpu).unwrap();
        let q8 = QTensor::quantize(&w, GgmlDType::Q8_0).unwrap();
        assert!(matches!(Linear::new(q8).unwrap(), Linear::Candle(_)));
    }
}
