//! Products with quantized weights for the block types that candle multiplies with scalar code on x86: Q4_1 and
//! Q5_0 (GGUF). Each weight row is unpacked once, at load, into plain `i8` values with one scale (and, for Q4_1,
//! one minimum) per block of 32; activations are quantized to 8 bits per block of 32 once per product, as ggml
//! does; each block's integer dot product is a loop the compiler vectorises with AVX2. The product is cut into
//! tiles of weight rows by tokens, spread over the caller's threads ([`Parallel`]).
//!
//! It is a crate of its own so that it is compiled with optimisation even in debug builds (the tests run real
//! models through it).

use std::{
    ops::Range,
    sync::atomic::{AtomicU32, Ordering},
};

use half::f16;

pub const BLOCK: usize = 32;
/// A tile of work: this many weight rows (the product's columns) ...
pub const COLUMNS_PER_TILE: usize = 8;
/// ... against this many tokens.
pub const TOKENS_PER_TILE: usize = 32;

/// The GGUF block types unpacked here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// 20 bytes: `d: f16, m: f16, qs: [u8; 16]` (nibbles 0..15); value = d·q + m.
    Q4_1,
    /// 22 bytes: `d: f16, qh: u32, qs: [u8; 16]` (nibbles plus a fifth bit, minus 16); value = d·q.
    Q5_0,
}

impl Kind {
    pub fn block_bytes(self) -> usize {
        match self {
            Kind::Q4_1 => 20,
            Kind::Q5_0 => 22,
        }
    }
}

/// A matrix of `n` rows of `k` weights, unpacked.
pub struct Packed {
    n: usize,
    k: usize,
    q: Vec<i8>,
    d: Vec<f32>,
    /// Per-block minimums (Q4_1); empty for symmetric types.
    m: Vec<f32>,
}

impl Packed {
    /// Unpacks `n × k` weights of `kind` from their GGUF bytes; `None` when the sizes do not fit.
    pub fn unpack(kind: Kind, bytes: &[u8], n: usize, k: usize) -> Option<Packed> {
        if k % BLOCK != 0 || bytes.len() != n * k / BLOCK * kind.block_bytes() {
            return None;
        }
        let blocks = n * k / BLOCK;
        let mut q = vec![0i8; n * k];
        let mut d = vec![0f32; blocks];
        let mut m = if kind == Kind::Q4_1 {
            vec![0f32; blocks]
        } else {
            Vec::new()
        };
        for (b, raw) in bytes.chunks_exact(kind.block_bytes()).enumerate() {
            let out = &mut q[b * BLOCK..(b + 1) * BLOCK];
            d[b] = f16::from_le_bytes([raw[0], raw[1]]).to_f32();
            match kind {
                Kind::Q4_1 => {
                    m[b] = f16::from_le_bytes([raw[2], raw[3]]).to_f32();
                    for (j, &byte) in raw[4..20].iter().enumerate() {
                        out[j] = (byte & 0x0f) as i8;
                        out[j + 16] = (byte >> 4) as i8;
                    }
                }
                Kind::Q5_0 => {
                    let high = u32::from_le_bytes([raw[2], raw[3], raw[4], raw[5]]);
                    for (j, &byte) in raw[6..22].iter().enumerate() {
                        let lo = (byte & 0x0f) | ((((high >> j) & 1) as u8) << 4);
                        let hi = (byte >> 4) | ((((high >> (j + 16)) & 1) as u8) << 4);
                        out[j] = lo as i8 - 16;
                        out[j + 16] = hi as i8 - 16;
                    }
                }
            }
        }
        Some(Packed { n, k, q, d, m })
    }

    /// Rows of the weights (the product's columns).
    pub fn n(&self) -> usize {
        self.n
    }

    /// `x` is `rows × k`, row-major; the result is `rows × n`. The work is split into tiles of
    /// [`COLUMNS_PER_TILE`] weight rows by [`TOKENS_PER_TILE`] tokens (both stay in cache while the tile is
    /// computed), which `parallel` spreads over its threads.
    pub fn matmul(&self, x: &[f32], parallel: &dyn Parallel) -> Vec<f32> {
        let (n, k) = (self.n, self.k);
        let blocks = k / BLOCK;
        let rows = x.len() / k;
        let acts = Activations::quantize(x);
        let column_tiles = n.div_ceil(COLUMNS_PER_TILE);
        let token_tiles = rows.div_ceil(TOKENS_PER_TILE);
        // Each element is written by exactly one tile; atomics let tiles on other threads write without `unsafe`.
        let out: Vec<AtomicU32> = (0..rows * n).map(|_| AtomicU32::new(0)).collect();
        let tile = |i: usize| {
            let (ct, tt) = (i % column_tiles, i / column_tiles);
            let columns = ct * COLUMNS_PER_TILE..((ct + 1) * COLUMNS_PER_TILE).min(n);
            let tokens = tt * TOKENS_PER_TILE..((tt + 1) * TOKENS_PER_TILE).min(rows);
            let mut columns = columns;
            #[cfg(all(target_arch = "x86_64", target_feature = "avx2"))]
            while columns.len() >= 4 {
                let c = columns.start;
                let row = |i: usize| &self.q[(c + i) * k..(c + i + 1) * k];
                let wq = [row(0), row(1), row(2), row(3)];
                let wd = [0, 1, 2, 3].map(|i| &self.d[(c + i) * blocks..(c + i + 1) * blocks]);
                let wm = (!self.m.is_empty())
                    .then(|| [0, 1, 2, 3].map(|i| &self.m[(c + i) * blocks..(c + i + 1) * blocks]));
                for t in tokens.clone() {
                    let act = Row {
                        q: &acts.q[t * k..(t + 1) * k],
                        d: &acts.d[t * blocks..(t + 1) * blocks],
                        s: &acts.s[t * blocks..(t + 1) * blocks],
                    };
                    // SAFETY: this code is compiled only when the build targets AVX2 (the cfg above), which
                    // `dot4` needs; the slices' lengths are checked inside.
                    #[allow(unsafe_code)]
                    let v = unsafe { avx2::dot4(wq, wd, wm, &act) };
                    for (i, v) in v.into_iter().enumerate() {
                        out[t * n + c + i].store(v.to_bits(), Ordering::Relaxed);
                    }
                }
                columns.start += 4;
            }
            for c in columns {
                let wq = &self.q[c * k..(c + 1) * k];
                let wd = &self.d[c * blocks..(c + 1) * blocks];
                let wm = (!self.m.is_empty()).then(|| &self.m[c * blocks..(c + 1) * blocks]);
                for t in tokens.clone() {
                    let aq = &acts.q[t * k..(t + 1) * k];
                    let ad = &acts.d[t * blocks..(t + 1) * blocks];
                    let v = match wm {
                        Some(wm) => {
                            let sums = &acts.s[t * blocks..(t + 1) * blocks];
                            dot_row_with_min(wq, wd, wm, aq, ad, sums)
                        }
                        None => dot_row(wq, wd, aq, ad),
                    };
                    out[t * n + c].store(v.to_bits(), Ordering::Relaxed);
                }
            }
        };
        parallel.for_ranges(column_tiles * token_tiles, &|range: Range<usize>| {
            range.for_each(tile)
        });
        out.into_iter()
            .map(|v| f32::from_bits(v.into_inner()))
            .collect()
    }
}

/// Runs a task over `0..n`, handing out ranges of it, possibly on several threads at once; returns when all are
/// done. The model's caller passes its own thread pool, so these products and the other operations share
/// threads instead of two pools fighting over the cores.
pub trait Parallel {
    fn for_ranges(&self, n: usize, task: &(dyn Fn(Range<usize>) + Sync));
}

/// Everything on the calling thread.
#[derive(Debug, Clone, Copy, Default)]
pub struct Serial;

impl Parallel for Serial {
    fn for_ranges(&self, n: usize, task: &(dyn Fn(Range<usize>) + Sync)) {
        task(0..n);
    }
}

// The float steps below are ggml's (and candle's) to the bit: each block's exact integer dot product, then
// `sum += dot·wd·ad (+ wm·s)` in block order, so a model gives the same logits as with candle's own kernels.

/// Σ over blocks of `dot·wd·ad` (Q5_0 weights against Q8_0 activations).
#[inline]
fn dot_row(wq: &[i8], wd: &[f32], aq: &[i8], ad: &[f32]) -> f32 {
    let (wb, _) = wq.as_chunks::<BLOCK>();
    let (ab, _) = aq.as_chunks::<BLOCK>();
    let mut sum = 0f32;
    for (((w, a), dw), da) in wb.iter().zip(ab).zip(wd).zip(ad) {
        sum += block_dot(w, a) as f32 * dw * da;
    }
    sum
}

/// Σ over blocks of `dot·wd·ad + wm·s` (Q4_1 weights against Q8_1 activations).
#[inline]
fn dot_row_with_min(wq: &[i8], wd: &[f32], wm: &[f32], aq: &[i8], ad: &[f32], s: &[f32]) -> f32 {
    let (wb, _) = wq.as_chunks::<BLOCK>();
    let (ab, _) = aq.as_chunks::<BLOCK>();
    let mut sum = 0f32;
    for (i, (w, a)) in wb.iter().zip(ab).enumerate() {
        sum += block_dot(w, a) as f32 * wd[i] * ad[i] + wm[i] * s[i];
    }
    sum
}

/// One block's integer dot product: neighbouring pairs, then the two halves (AVX2's `vpmaddwd` and `vpaddd`),
/// then eight lanes summed. Exact, so the order does not matter.
#[inline(always)]
fn block_dot(w: &[i8; BLOCK], a: &[i8; BLOCK]) -> i32 {
    let mut pairs = [0i32; 16];
    for (i, p) in pairs.iter_mut().enumerate() {
        *p = i32::from(w[2 * i]) * i32::from(a[2 * i])
            + i32::from(w[2 * i + 1]) * i32::from(a[2 * i + 1]);
    }
    let mut lanes = [0i32; 8];
    for (i, l) in lanes.iter_mut().enumerate() {
        *l = pairs[i] + pairs[i + 8];
    }
    lanes.iter().sum()
}

/// One token's quantized activations.
#[cfg_attr(
    not(all(target_arch = "x86_64", target_feature = "avx2")),
    allow(dead_code)
)]
struct Row<'a> {
    q: &'a [i8],
    d: &'a [f32],
    s: &'a [f32],
}

/// Four weight rows against one token at once with AVX2: each block's integer products with `vpmaddubsw` (the
/// weights as unsigned bytes; Q5_0's signed ones by sign transfer, as ggml does), the four blocks' sums reduced
/// together, then the float steps of [`dot_row`] and [`dot_row_with_min`] in four lanes, one per row. The same
/// operations in the same order per lane, so the results equal the scalar code's to the bit; the four independent
/// sums keep the float additions from waiting on each other.
#[cfg(all(target_arch = "x86_64", target_feature = "avx2"))]
mod avx2 {
    use std::arch::x86_64::*;

    use super::{BLOCK, Row};

    #[target_feature(enable = "avx2")]
    pub(super) fn dot4(
        wq: [&[i8]; 4],
        wd: [&[f32]; 4],
        wm: Option<[&[f32]; 4]>,
        act: &Row<'_>,
    ) -> [f32; 4] {
        let blocks = act.d.len();
        let (ab, _) = act.q.as_chunks::<BLOCK>();
        let wb = wq.map(|w| w.as_chunks::<BLOCK>().0);
        assert!(ab.len() == blocks && wb.iter().all(|w| w.len() == blocks));
        assert!(wd.iter().all(|d| d.len() == blocks) && act.s.len() == blocks);
        // Q4_1's nibbles are unsigned; Q5_0's values are signed and have no minimums.
        let signed = wm.is_none();
        let ones = _mm256_set1_epi16(1);
        let mut sum = _mm_setzero_ps();
        for b in 0..blocks {
            let a: __m256i = bytemuck::cast(ab[b]);
            let dot = |w: &[i8; BLOCK]| {
                let w: __m256i = bytemuck::cast(*w);
                let pairs = if signed {
                    _mm256_maddubs_epi16(_mm256_abs_epi8(w), _mm256_sign_epi8(a, w))
                } else {
                    _mm256_maddubs_epi16(w, a)
                };
                _mm256_madd_epi16(pairs, ones)
            };
            let (d0, d1, d2, d3) = (
                dot(&wb[0][b]),
                dot(&wb[1][b]),
                dot(&wb[2][b]),
                dot(&wb[3][b]),
            );
            let s = _mm256_hadd_epi32(_mm256_hadd_epi32(d0, d1), _mm256_hadd_epi32(d2, d3));
            let dots = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256::<1>(s));
            let scale = _mm_set_ps(wd[3][b], wd[2][b], wd[1][b], wd[0][b]);
            let mut term = _mm_mul_ps(
                _mm_mul_ps(_mm_cvtepi32_ps(dots), scale),
                _mm_set1_ps(act.d[b]),
            );
            if let Some(wm) = wm {
                let min = _mm_set_ps(wm[3][b], wm[2][b], wm[1][b], wm[0][b]);
                term = _mm_add_ps(term, _mm_mul_ps(min, _mm_set1_ps(act.s[b])));
            }
            sum = _mm_add_ps(sum, term);
        }
        bytemuck::cast(sum)
    }
}

/// Activations quantized to 8 bits per block of 32 (ggml's Q8_1, which is Q8_0 plus `s`): `x ≈ d·q`, with
/// `s = d·Σq` per block.
struct Activations {
    q: Vec<i8>,
    d: Vec<f32>,
    s: Vec<f32>,
}

impl Activations {
    fn quantize(x: &[f32]) -> Activations {
        let blocks = x.len() / BLOCK;
        let mut q = vec![0i8; blocks * BLOCK];
        let mut d = vec![0f32; blocks];
        let mut s = vec![0f32; blocks];
        for (b, block) in x.chunks_exact(BLOCK).enumerate() {
            let amax = block.iter().fold(0f32, |a, v| a.max(v.abs()));
            let scale = amax / 127.0;
            let inv = if scale > 0.0 { 1.0 / scale } else { 0.0 };
            let mut sum = 0i32;
            for (o, v) in q[b * BLOCK..(b + 1) * BLOCK].iter_mut().zip(block) {
                *o = (v * inv).round() as i8;
                sum += i32::from(*o);
            }
            // Kept as f16, as ggml's Q8_0 and Q8_1 blocks do: the products then equal ggml's and candle's.
            let d16 = f16::from_f32(scale);
            d[b] = d16.to_f32();
            s[b] = (f16::from_f32(sum as f32) * d16).to_f32();
        }
        Activations { q, d, s }
    }
}
