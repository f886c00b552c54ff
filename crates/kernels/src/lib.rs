//! Products with quantized weights for the block types that candle multiplies with scalar code on x86: Q4_1 and
//! Q5_0 (GGUF). The weights stay as compact in memory as in the file: decoding one token reads every weight once,
//! so its speed follows the bytes read. At load they are regrouped, as ggml's repacked types are: the blocks of
//! four neighbouring rows at the same position sit together ([`Quad`]), so a product reads one sequential stream
//! and loads four rows' scales at once. The AVX2 kernel widens the nibbles to bytes in registers, as ggml does;
//! activations are quantized to 8 bits per block of 32 once per product, as ggml does. The product is cut into
//! tiles of weight rows by tokens, spread over the caller's threads ([`Parallel`]); within a tile, four weight
//! rows meet four tokens at a time, so each widened weight block serves four tokens.
//!
//! It is a crate of its own so that it is compiled with optimisation even in debug builds (the tests run real
//! models through it).

use std::{
    ops::Range,
    sync::atomic::{AtomicU32, Ordering},
};

use half::f16;

pub const BLOCK: usize = 32;
/// Weight rows handled together.
const ROWS: usize = 4;
/// A tile of work: this many weight rows (the product's columns) ...
pub const COLUMNS_PER_TILE: usize = 8;
/// ... against this many tokens.
pub const TOKENS_PER_TILE: usize = 32;

/// The GGUF block types handled here.
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

/// The blocks at one position of four neighbouring rows.
#[derive(Debug, Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C)]
struct Quad {
    /// Each row's 16 bytes as GGUF stores them: element `j` in the low nibble of byte `j`, element `j + 16` in
    /// the high one.
    qs: [[u8; 16]; ROWS],
    /// Each row's scale.
    d: [f32; ROWS],
    /// Q4_1: each row's minimum (as `f32` bits); Q5_0: each row's fifth bits, bit `j` for element `j`.
    extra: [u32; ROWS],
}

/// A matrix of `n` rows of `k` weights, kept in its blocks, four rows together. When `n` is not a multiple of
/// four, the last group is filled with zero rows.
pub struct Packed {
    kind: Kind,
    n: usize,
    k: usize,
    /// Group `g`'s block `b` at `g · k/32 + b`.
    quads: Vec<Quad>,
}

impl Packed {
    /// Reads `n × k` weights of `kind` from their GGUF bytes; `None` when the sizes do not fit.
    pub fn unpack(kind: Kind, bytes: &[u8], n: usize, k: usize) -> Option<Packed> {
        if !k.is_multiple_of(BLOCK) || bytes.len() != n * k / BLOCK * kind.block_bytes() {
            return None;
        }
        let blocks = k / BLOCK;
        let mut quads = vec![Quad::default(); n.div_ceil(ROWS) * blocks];
        let half = |raw: &[u8]| f16::from_le_bytes([raw[0], raw[1]]).to_f32();
        for (i, raw) in bytes.chunks_exact(kind.block_bytes()).enumerate() {
            let (row, b) = (i / blocks, i % blocks);
            let quad = &mut quads[row / ROWS * blocks + b];
            let r = row % ROWS;
            quad.d[r] = half(raw);
            let qs = match kind {
                Kind::Q4_1 => {
                    quad.extra[r] = half(&raw[2..]).to_bits();
                    &raw[4..20]
                }
                Kind::Q5_0 => {
                    quad.extra[r] = u32::from_le_bytes([raw[2], raw[3], raw[4], raw[5]]);
                    &raw[6..22]
                }
            };
            quad.qs[r] = qs.try_into().expect("16 bytes");
        }
        Some(Packed { kind, n, k, quads })
    }

    /// Rows of the weights (the product's columns).
    pub fn n(&self) -> usize {
        self.n
    }

    /// Bytes held in memory.
    pub fn bytes(&self) -> usize {
        std::mem::size_of_val(self.quads.as_slice())
    }

    /// Row `r` of a quad's 32 values as integers: Q4_1's nibbles (0..15), Q5_0's five-bit values minus 16.
    fn values(&self, quad: &Quad, r: usize) -> [i8; BLOCK] {
        let mut out = [0i8; BLOCK];
        for (j, &byte) in quad.qs[r].iter().enumerate() {
            let (lo, hi) = (byte & 0x0f, byte >> 4);
            match self.kind {
                Kind::Q4_1 => {
                    out[j] = lo as i8;
                    out[j + 16] = hi as i8;
                }
                Kind::Q5_0 => {
                    let high = quad.extra[r];
                    out[j] = (lo | ((((high >> j) & 1) as u8) << 4)) as i8 - 16;
                    out[j + 16] = (hi | ((((high >> (j + 16)) & 1) as u8) << 4)) as i8 - 16;
                }
            }
        }
        out
    }

    /// Weight row `c` against one token, block by block (the portable path).
    #[cfg_attr(all(target_arch = "x86_64", target_feature = "avx2"), allow(dead_code))]
    fn dot(&self, c: usize, act: &Row<'_>) -> f32 {
        let blocks = self.k / BLOCK;
        let (ab, _) = act.q.as_chunks::<BLOCK>();
        let quads = &self.quads[c / ROWS * blocks..][..blocks];
        let r = c % ROWS;
        let mut sum = 0f32;
        for (i, (a, quad)) in ab.iter().zip(quads).enumerate() {
            let dot = block_dot(&self.values(quad, r), a) as f32;
            sum += match self.kind {
                Kind::Q4_1 => dot * quad.d[r] * act.d[i] + f32::from_bits(quad.extra[r]) * act.s[i],
                Kind::Q5_0 => dot * quad.d[r] * act.d[i],
            };
        }
        sum
    }

    /// `x` is `rows × k`, row-major; the result is `rows × n`. The work is split into tiles of
    /// [`COLUMNS_PER_TILE`] weight rows by [`TOKENS_PER_TILE`] tokens (both stay in cache while the tile is
    /// computed), which `parallel` spreads over its threads.
    pub fn matmul(&self, x: &[f32], parallel: &dyn Parallel) -> Vec<f32> {
        let (n, k) = (self.n, self.k);
        let rows = x.len() / k;
        let acts = Activations::quantize(x);
        let act = |t: usize| acts.row(t, k);
        let column_tiles = n.div_ceil(COLUMNS_PER_TILE);
        let token_tiles = rows.div_ceil(TOKENS_PER_TILE);
        // Each element is written by exactly one tile; atomics let tiles on other threads write without `unsafe`.
        let out: Vec<AtomicU32> = (0..rows * n).map(|_| AtomicU32::new(0)).collect();
        let put = |t: usize, c: usize, v: f32| {
            if c < n {
                out[t * n + c].store(v.to_bits(), Ordering::Relaxed);
            }
        };
        let tile = |i: usize| {
            let (ct, tt) = (i % column_tiles, i / column_tiles);
            let tokens = tt * TOKENS_PER_TILE..((tt + 1) * TOKENS_PER_TILE).min(rows);
            let first = ct * COLUMNS_PER_TILE;
            for c in (first..(first + COLUMNS_PER_TILE).min(n)).step_by(ROWS) {
                #[cfg(all(target_arch = "x86_64", target_feature = "avx2"))]
                {
                    let mut t = tokens.start;
                    // SAFETY (both calls): this code is compiled only when the build targets AVX2 (the cfg
                    // above), which the kernel needs; the slices' lengths are checked inside.
                    while tokens.end - t >= 4 {
                        #[allow(unsafe_code)]
                        let v = unsafe { avx2::dot4(self, c, [act(t), act(t + 1), act(t + 2), act(t + 3)]) };
                        for (j, v) in v.into_iter().enumerate() {
                            (0..ROWS).for_each(|r| put(t + j, c + r, v[r]));
                        }
                        t += 4;
                    }
                    for t in t..tokens.end {
                        #[allow(unsafe_code)]
                        let [v] = unsafe { avx2::dot4(self, c, [act(t)]) };
                        (0..ROWS).for_each(|r| put(t, c + r, v[r]));
                    }
                }
                #[cfg(not(all(target_arch = "x86_64", target_feature = "avx2")))]
                for t in tokens.clone() {
                    (c..(c + ROWS).min(n)).for_each(|c| put(t, c, self.dot(c, &act(t))));
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

// The float steps are ggml's (and candle's) to the bit: each block's exact integer dot product, then
// `sum += dot·wd·ad` (Q5_0 weights against Q8_0 activations) or `sum += dot·wd·ad + wm·s` (Q4_1 against Q8_1),
// in block order, so a model gives the same logits as with candle's own kernels.

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
struct Row<'a> {
    q: &'a [i8],
    d: &'a [f32],
    s: &'a [f32],
}

/// Four weight rows (one [`Quad`] per block) against `T` tokens at once with AVX2. Each weight block is widened to
/// bytes once (nibbles split by a shift and a mask; Q5_0's fifth bits spread to bytes by a shuffle and a compare,
/// then the offset of 16 folded in, as ggml does) and serves every token; each block's integer products come from
/// `vpmaddubsw` (the weights as unsigned bytes; Q5_0's signed ones by sign transfer, as ggml does), the four rows'
/// sums reduced together, then the float steps in four lanes, one per row. The same operations in the same order
/// per lane as [`Packed::dot`], so the results equal the portable code's to the bit; the independent sums keep the
/// float additions from waiting on each other.
#[cfg(all(target_arch = "x86_64", target_feature = "avx2"))]
mod avx2 {
    use std::arch::x86_64::*;

    use super::{BLOCK, Kind, Packed, ROWS, Row};

    /// The 32 bits of `bits` as 32 bytes: all ones where the bit is set (ggml's `bytes_from_bits_32`).
    #[target_feature(enable = "avx2")]
    #[inline]
    fn bytes_from_bits(bits: u32) -> __m256i {
        let spread = _mm256_shuffle_epi8(
            _mm256_set1_epi32(bits as i32),
            _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0),
        );
        let bit_mask = _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe);
        _mm256_cmpeq_epi8(_mm256_or_si256(spread, bit_mask), _mm256_set1_epi64x(-1))
    }

    /// One row's block as 32 bytes: Q4_1's nibbles, or Q5_0's values minus 16 as signed bytes.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn widen(qs: [u8; 16], qh: Option<u32>) -> __m256i {
        let raw: __m128i = bytemuck::cast(qs);
        let w = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16::<4>(raw), raw), _mm256_set1_epi8(0x0f));
        match qh {
            // `nibble | 0xF0` where the fifth bit is clear: as a signed byte, value − 16.
            Some(qh) => _mm256_or_si256(w, _mm256_andnot_si256(bytes_from_bits(qh), _mm256_set1_epi8(0xf0u8 as i8))),
            None => w,
        }
    }

    /// Rows `c..c + 4` against each token of `acts`.
    #[target_feature(enable = "avx2")]
    pub(super) fn dot4<const T: usize>(p: &Packed, c: usize, acts: [Row<'_>; T]) -> [[f32; ROWS]; T] {
        let blocks = p.k / BLOCK;
        let quads = &p.quads[c / ROWS * blocks..][..blocks];
        let ab: [&[[i8; BLOCK]]; T] = std::array::from_fn(|t| acts[t].q.as_chunks::<BLOCK>().0);
        assert!(ab.iter().all(|a| a.len() == blocks));
        assert!(acts.iter().all(|a| a.d.len() == blocks && a.s.len() == blocks));
        let q5 = p.kind == Kind::Q5_0;
        let ones = _mm256_set1_epi16(1);
        let mut sum = [_mm_setzero_ps(); T];
        for (b, quad) in quads.iter().enumerate() {
            // Written out, not `array::map`: its closure was not inlined here, which made the kernel 3x slower.
            let qh = |r: usize| q5.then_some(quad.extra[r]);
            let w = [
                widen(quad.qs[0], qh(0)),
                widen(quad.qs[1], qh(1)),
                widen(quad.qs[2], qh(2)),
                widen(quad.qs[3], qh(3)),
            ];
            // Unsigned magnitudes, for `vpmaddubsw`'s unsigned first operand.
            let wabs = if q5 {
                [
                    _mm256_abs_epi8(w[0]),
                    _mm256_abs_epi8(w[1]),
                    _mm256_abs_epi8(w[2]),
                    _mm256_abs_epi8(w[3]),
                ]
            } else {
                w
            };
            let scale: __m128 = bytemuck::cast(quad.d);
            let min: __m128 = bytemuck::cast(quad.extra);
            for t in 0..T {
                let a: __m256i = bytemuck::cast(ab[t][b]);
                let dot = |r: usize| {
                    let pairs = if q5 {
                        _mm256_maddubs_epi16(wabs[r], _mm256_sign_epi8(a, w[r]))
                    } else {
                        _mm256_maddubs_epi16(w[r], a)
                    };
                    _mm256_madd_epi16(pairs, ones)
                };
                let s = _mm256_hadd_epi32(_mm256_hadd_epi32(dot(0), dot(1)), _mm256_hadd_epi32(dot(2), dot(3)));
                let dots = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256::<1>(s));
                let mut term = _mm_mul_ps(_mm_mul_ps(_mm_cvtepi32_ps(dots), scale), _mm_set1_ps(acts[t].d[b]));
                if !q5 {
                    term = _mm_add_ps(term, _mm_mul_ps(min, _mm_set1_ps(acts[t].s[b])));
                }
                sum[t] = _mm_add_ps(sum[t], term);
            }
        }
        std::array::from_fn(|t| bytemuck::cast(sum[t]))
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
    /// Token `t`'s row, for rows of `k` values.
    fn row(&self, t: usize, k: usize) -> Row<'_> {
        let blocks = k / BLOCK;
        Row {
            q: &self.q[t * k..(t + 1) * k],
            d: &self.d[t * blocks..(t + 1) * blocks],
            s: &self.s[t * blocks..(t + 1) * blocks],
        }
    }

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
