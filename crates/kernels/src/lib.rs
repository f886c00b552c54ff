//! Products with quantized weights for the block types that candle multiplies with scalar code on x86: Q4_1 and
//! Q5_0 (GGUF). The weights stay as compact in memory as in the file: decoding one token reads every weight once,
//! so its speed follows the bytes read. At load they are rearranged, as ggml's repacked types are, for the AVX2
//! kernel: the blocks of eight neighbouring rows at the same position sit together ([`Octets`]), each 32-byte
//! vector of widened weights holds four consecutive weights of each of the eight rows, and a token's four
//! matching activations are broadcast against it, so the products of all eight rows build up side by side, with
//! no horizontal sums. Activations are quantized to 8 bits per block of 32 once per product, as ggml does. The
//! product is cut into tiles of weight rows by tokens, spread over the caller's threads ([`Parallel`]); each
//! widened weight block serves up to four tokens.
//!
//! It is a crate of its own so that it is compiled with optimisation even in debug builds (the tests run real
//! models through it).

use std::{
    ops::Range,
    sync::atomic::{AtomicU32, Ordering},
};

use half::f16;

pub const BLOCK: usize = 32;
/// Weight rows stored and multiplied together.
const ROWS: usize = 8;
/// A tile of work: this many weight rows (the product's columns) ...
pub const COLUMNS_PER_TILE: usize = ROWS;
/// ... against this many tokens.
pub const TOKENS_PER_TILE: usize = 32;
/// Tokens that share one widening of a weight block.
const TOKENS_AT_ONCE: usize = 4;

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

/// The blocks at each position of each group of eight rows, for group `g`'s block `b` at `g · k/32 + b`.
///
/// A block's 8 × 32 values are seen as eight vectors of 32 bytes: vector `j` holds elements `4j..4j + 4` of
/// each row, row `r`'s at bytes `4r..4r + 4`. A value is a row's unsigned quant: Q4_1's nibble, or Q5_0's five
/// bits (the weight plus 16).
#[derive(Default)]
struct Octets {
    /// Byte `p` of `qs[i]` holds byte `p` of vector `2i` in its low nibble and of vector `2i + 1` in its high
    /// nibble.
    qs: Vec<[[u8; 32]; 4]>,
    /// Q5_0: bit `j` of byte `p` is the fifth bit of byte `p` of vector `j`; empty for Q4_1.
    qh: Vec<[u8; 32]>,
    /// Each row's scale, as `f16` bits.
    d: Vec<[u16; ROWS]>,
    /// Q4_1: each row's minimum, as `f16` bits; empty for Q5_0.
    m: Vec<[u16; ROWS]>,
}

/// A matrix of `n` rows of `k` weights. When `n` is not a multiple of eight, the last group is filled with zero
/// rows.
pub struct Packed {
    kind: Kind,
    n: usize,
    k: usize,
    o: Octets,
}

impl Packed {
    /// Reads `n × k` weights of `kind` from their GGUF bytes; `None` when the sizes do not fit.
    pub fn unpack(kind: Kind, bytes: &[u8], n: usize, k: usize) -> Option<Packed> {
        if !k.is_multiple_of(BLOCK) || bytes.len() != n * k / BLOCK * kind.block_bytes() {
            return None;
        }
        let blocks = k / BLOCK;
        let count = n.div_ceil(ROWS) * blocks;
        let q5 = kind == Kind::Q5_0;
        let mut o = Octets {
            qs: vec![[[0; 32]; 4]; count],
            qh: if q5 { vec![[0; 32]; count] } else { Vec::new() },
            d: vec![[0; ROWS]; count],
            m: if q5 {
                Vec::new()
            } else {
                vec![[0; ROWS]; count]
            },
        };
        let half = |raw: &[u8]| u16::from_le_bytes([raw[0], raw[1]]);
        for (i, raw) in bytes.chunks_exact(kind.block_bytes()).enumerate() {
            let (row, b) = (i / blocks, i % blocks);
            let (at, r) = (row / ROWS * blocks + b, row % ROWS);
            o.d[at][r] = half(raw);
            let (qs, high) = match kind {
                Kind::Q4_1 => {
                    o.m[at][r] = half(&raw[2..]);
                    (&raw[4..20], 0)
                }
                Kind::Q5_0 => (
                    &raw[6..22],
                    u32::from_le_bytes([raw[2], raw[3], raw[4], raw[5]]),
                ),
            };
            for e in 0..BLOCK {
                let nibble = if e < 16 {
                    qs[e] & 0x0f
                } else {
                    qs[e - 16] >> 4
                };
                let (j, p) = (e / 4, r * 4 + e % 4);
                o.qs[at][j / 2][p] |= nibble << (4 * (j % 2));
                if q5 {
                    o.qh[at][p] |= (((high >> e) & 1) as u8) << j;
                }
            }
        }
        Some(Packed { kind, n, k, o })
    }

    /// Rows of the weights (the product's columns).
    pub fn n(&self) -> usize {
        self.n
    }

    /// Bytes held in memory.
    pub fn bytes(&self) -> usize {
        let o = &self.o;
        std::mem::size_of_val(o.qs.as_slice())
            + std::mem::size_of_val(o.qh.as_slice())
            + std::mem::size_of_val(o.d.as_slice())
            + std::mem::size_of_val(o.m.as_slice())
    }

    /// Row `r` of stored block `at`: its 32 weights as integers (Q4_1's nibbles, Q5_0's values), its scale and
    /// its minimum (zero for Q5_0).
    #[cfg_attr(all(target_arch = "x86_64", target_feature = "avx2"), allow(dead_code))]
    fn row_block(&self, at: usize, r: usize) -> ([i8; BLOCK], f32, f32) {
        let o = &self.o;
        let mut w = [0i8; BLOCK];
        for (e, w) in w.iter_mut().enumerate() {
            let (j, p) = (e / 4, r * 4 + e % 4);
            let mut v = (o.qs[at][j / 2][p] >> (4 * (j % 2))) & 0x0f;
            if self.kind == Kind::Q5_0 {
                v |= ((o.qh[at][p] >> j) & 1) << 4;
            }
            *w = v as i8 - if self.kind == Kind::Q5_0 { 16 } else { 0 };
        }
        let f = |h: u16| f16::from_bits(h).to_f32();
        let m = o.m.get(at).map_or(0.0, |m| f(m[r]));
        (w, f(o.d[at][r]), m)
    }

    /// Weight row `c` against one token, block by block (the portable path).
    #[cfg_attr(all(target_arch = "x86_64", target_feature = "avx2"), allow(dead_code))]
    fn dot(&self, c: usize, act: &Row<'_>) -> f32 {
        let blocks = self.k / BLOCK;
        let (ab, _) = act.q.as_chunks::<BLOCK>();
        let mut sum = 0f32;
        for (b, a) in ab.iter().enumerate() {
            let (w, d, m) = self.row_block(c / ROWS * blocks + b, c % ROWS);
            let dot = block_dot(&w, a) as f32;
            sum += match self.kind {
                Kind::Q4_1 => dot * d * act.d[b] + m * act.s[b],
                Kind::Q5_0 => dot * d * act.d[b],
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
            let (g, tt) = (i % column_tiles, i / column_tiles);
            let tokens = tt * TOKENS_PER_TILE..((tt + 1) * TOKENS_PER_TILE).min(rows);
            let c = g * ROWS;
            #[cfg(all(
                target_arch = "x86_64",
                target_feature = "avx2",
                target_feature = "f16c"
            ))]
            {
                let mut t = tokens.start;
                // SAFETY (both calls): this code is compiled only when the build targets AVX2 and F16C (the cfg
                // above), which the kernel needs; the slices' lengths are checked inside.
                while tokens.end - t >= TOKENS_AT_ONCE {
                    #[allow(unsafe_code)]
                    let v = unsafe {
                        avx2::dot8::<TOKENS_AT_ONCE>(self, g, std::array::from_fn(|j| act(t + j)))
                    };
                    for (j, v) in v.into_iter().enumerate() {
                        (0..ROWS).for_each(|r| put(t + j, c + r, v[r]));
                    }
                    t += TOKENS_AT_ONCE;
                }
                for t in t..tokens.end {
                    #[allow(unsafe_code)]
                    let [v] = unsafe { avx2::dot8(self, g, [act(t)]) };
                    (0..ROWS).for_each(|r| put(t, c + r, v[r]));
                }
            }
            #[cfg(not(all(
                target_arch = "x86_64",
                target_feature = "avx2",
                target_feature = "f16c"
            )))]
            for t in tokens {
                (c..(c + ROWS).min(n)).for_each(|c| put(t, c, self.dot(c, &act(t))));
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
    sum: &'a [i32],
}

/// Eight weight rows against `T` tokens at once with AVX2. A block's weights are widened to eight vectors of
/// bytes once (nibbles split by a shift and a mask; Q5_0's fifth bits moved into place by a shift and a mask) and
/// serve every token. For each token, vector `j` meets the token's elements `4j..4j + 4` broadcast to every row:
/// `vpmaddubsw` multiplies and adds pairs (the weights as unsigned bytes), four such results add up in 16 bits
/// without overflow (at most 4 · 2 · 31 · 127 = 31,496), and `vpmaddwd` finishes each row's sum in its own 32-bit
/// lane. Q5_0's offset of 16 comes off as 16 times the block's activation sum. Each row's integer dot product is
/// exact, and the float steps run in eight lanes, one per row, in the order of [`Packed::dot`], so the results
/// equal the portable code's to the bit.
#[cfg(all(
    target_arch = "x86_64",
    target_feature = "avx2",
    target_feature = "f16c"
))]
mod avx2 {
    use std::arch::x86_64::*;

    use super::{BLOCK, Kind, Packed, ROWS, Row};

    #[target_feature(enable = "avx2,f16c")]
    pub(super) fn dot8<const T: usize>(
        p: &Packed,
        g: usize,
        acts: [Row<'_>; T],
    ) -> [[f32; ROWS]; T] {
        let blocks = p.k / BLOCK;
        let at = g * blocks..(g + 1) * blocks;
        let o = &p.o;
        let (qs, d) = (&o.qs[at.clone()], &o.d[at.clone()]);
        let q5 = p.kind == Kind::Q5_0;
        let qh = if q5 { &o.qh[at.clone()] } else { &[][..] };
        let m = if q5 { &[][..] } else { &o.m[at] };
        let ab: [&[[i8; BLOCK]]; T] = std::array::from_fn(|t| acts[t].q.as_chunks::<BLOCK>().0);
        assert!(ab.iter().all(|a| a.len() == blocks));
        assert!(
            acts.iter()
                .all(|a| a.d.len() == blocks && a.s.len() == blocks && a.sum.len() == blocks)
        );
        let low = _mm256_set1_epi8(0x0f);
        let fifth = _mm256_set1_epi8(0x10);
        let ones = _mm256_set1_epi16(1);
        let mut sum = [_mm256_setzero_ps(); T];
        for b in 0..blocks {
            // Written out, not with `array::map`: its closures are not always inlined, which made an earlier
            // kernel 3x slower.
            let v: [__m256i; 4] = bytemuck::cast(qs[b]);
            let mut w = [
                _mm256_and_si256(v[0], low),
                _mm256_and_si256(_mm256_srli_epi16::<4>(v[0]), low),
                _mm256_and_si256(v[1], low),
                _mm256_and_si256(_mm256_srli_epi16::<4>(v[1]), low),
                _mm256_and_si256(v[2], low),
                _mm256_and_si256(_mm256_srli_epi16::<4>(v[2]), low),
                _mm256_and_si256(v[3], low),
                _mm256_and_si256(_mm256_srli_epi16::<4>(v[3]), low),
            ];
            if q5 {
                // Bit `j` of each byte to bit 4. Shifting 16-bit lanes moves no other bit onto bit 4 of a byte.
                let h: __m256i = bytemuck::cast(qh[b]);
                w[0] = _mm256_or_si256(w[0], _mm256_and_si256(_mm256_slli_epi16::<4>(h), fifth));
                w[1] = _mm256_or_si256(w[1], _mm256_and_si256(_mm256_slli_epi16::<3>(h), fifth));
                w[2] = _mm256_or_si256(w[2], _mm256_and_si256(_mm256_slli_epi16::<2>(h), fifth));
                w[3] = _mm256_or_si256(w[3], _mm256_and_si256(_mm256_slli_epi16::<1>(h), fifth));
                w[4] = _mm256_or_si256(w[4], _mm256_and_si256(h, fifth));
                w[5] = _mm256_or_si256(w[5], _mm256_and_si256(_mm256_srli_epi16::<1>(h), fifth));
                w[6] = _mm256_or_si256(w[6], _mm256_and_si256(_mm256_srli_epi16::<2>(h), fifth));
                w[7] = _mm256_or_si256(w[7], _mm256_and_si256(_mm256_srli_epi16::<3>(h), fifth));
            }
            let scale = _mm256_cvtph_ps(bytemuck::cast(d[b]));
            let min = if q5 {
                _mm256_setzero_ps()
            } else {
                _mm256_cvtph_ps(bytemuck::cast(m[b]))
            };
            for t in 0..T {
                let a: [i32; 8] = bytemuck::cast(ab[t][b]);
                let pairs = |j: usize| _mm256_maddubs_epi16(w[j], _mm256_set1_epi32(a[j]));
                let half0 = _mm256_add_epi16(
                    _mm256_add_epi16(pairs(0), pairs(1)),
                    _mm256_add_epi16(pairs(2), pairs(3)),
                );
                let half1 = _mm256_add_epi16(
                    _mm256_add_epi16(pairs(4), pairs(5)),
                    _mm256_add_epi16(pairs(6), pairs(7)),
                );
                let mut dots = _mm256_add_epi32(
                    _mm256_madd_epi16(half0, ones),
                    _mm256_madd_epi16(half1, ones),
                );
                if q5 {
                    dots = _mm256_sub_epi32(dots, _mm256_set1_epi32(16 * acts[t].sum[b]));
                }
                let mut term = _mm256_mul_ps(
                    _mm256_mul_ps(_mm256_cvtepi32_ps(dots), scale),
                    _mm256_set1_ps(acts[t].d[b]),
                );
                if !q5 {
                    term = _mm256_add_ps(term, _mm256_mul_ps(min, _mm256_set1_ps(acts[t].s[b])));
                }
                sum[t] = _mm256_add_ps(sum[t], term);
            }
        }
        std::array::from_fn(|t| bytemuck::cast(sum[t]))
    }
}

/// Activations quantized to 8 bits per block of 32 (ggml's Q8_1, which is Q8_0 plus `s`): `x ≈ d·q`, with
/// `s = d·Σq` per block, and `Σq` itself.
struct Activations {
    q: Vec<i8>,
    d: Vec<f32>,
    s: Vec<f32>,
    sum: Vec<i32>,
}

impl Activations {
    /// Token `t`'s row, for rows of `k` values.
    fn row(&self, t: usize, k: usize) -> Row<'_> {
        let blocks = k / BLOCK;
        Row {
            q: &self.q[t * k..(t + 1) * k],
            d: &self.d[t * blocks..(t + 1) * blocks],
            s: &self.s[t * blocks..(t + 1) * blocks],
            sum: &self.sum[t * blocks..(t + 1) * blocks],
        }
    }

    fn quantize(x: &[f32]) -> Activations {
        let blocks = x.len() / BLOCK;
        let mut q = vec![0i8; blocks * BLOCK];
        let mut d = vec![0f32; blocks];
        let mut s = vec![0f32; blocks];
        let mut sums = vec![0i32; blocks];
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
            sums[b] = sum;
        }
        Activations { q, d, s, sum: sums }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GGUF bytes for `n × k` weights of `kind`: pseudo-random quants and small positive scales (and minimums).
    fn weights(kind: Kind, n: usize, k: usize) -> Vec<u8> {
        (0..n * k / BLOCK * kind.block_bytes())
            .map(|i| match (kind, i % kind.block_bytes()) {
                (_, 1) | (Kind::Q4_1, 3) => 0x20,
                _ => (i.wrapping_mul(2_654_435_761) >> 7) as u8,
            })
            .collect()
    }

    /// Each row's weights as integers, straight from the GGUF block layout.
    fn reference_values(kind: Kind, raw: &[u8]) -> [i8; BLOCK] {
        let mut out = [0i8; BLOCK];
        for j in 0..16 {
            match kind {
                Kind::Q4_1 => {
                    out[j] = (raw[4 + j] & 0x0f) as i8;
                    out[j + 16] = (raw[4 + j] >> 4) as i8;
                }
                Kind::Q5_0 => {
                    let high = u32::from_le_bytes([raw[2], raw[3], raw[4], raw[5]]);
                    let bit = |e: usize| (((high >> e) & 1) as u8) << 4;
                    out[j] = ((raw[6 + j] & 0x0f) | bit(j)) as i8 - 16;
                    out[j + 16] = ((raw[6 + j] >> 4) | bit(j + 16)) as i8 - 16;
                }
            }
        }
        out
    }

    #[test]
    fn the_rearranged_blocks_hold_the_files_weights() {
        for kind in [Kind::Q4_1, Kind::Q5_0] {
            let (n, k) = (11, 64);
            let bytes = weights(kind, n, k);
            let p = Packed::unpack(kind, &bytes, n, k).expect("sizes fit");
            for (i, raw) in bytes.chunks_exact(kind.block_bytes()).enumerate() {
                let (row, b) = (i / 2, i % 2);
                let (w, d, _) = p.row_block(row / ROWS * 2 + b, row % ROWS);
                assert_eq!(
                    w,
                    reference_values(kind, raw),
                    "{kind:?} row {row} block {b}"
                );
                assert_eq!(d, f16::from_le_bytes([raw[0], raw[1]]).to_f32());
            }
        }
    }

    /// The product (the AVX2 kernel where the build has it) equals the portable row-by-row code to the bit, for
    /// one token, for several, and for more than one tile of tokens, with rows that do not fill the last group.
    #[test]
    fn the_product_equals_the_portable_code() {
        for kind in [Kind::Q4_1, Kind::Q5_0] {
            let (n, k) = (21, 96);
            let p = Packed::unpack(kind, &weights(kind, n, k), n, k).expect("sizes fit");
            for rows in [1, 6, 37] {
                let x: Vec<f32> = (0..rows * k)
                    .map(|i| (i * 104_729 % 997) as f32 / 498.0 - 1.0)
                    .collect();
                let out = p.matmul(&x, &Serial);
                let acts = Activations::quantize(&x);
                for t in 0..rows {
                    for c in 0..n {
                        let expected = p.dot(c, &acts.row(t, k));
                        assert_eq!(
                            out[t * n + c].to_bits(),
                            expected.to_bits(),
                            "{kind:?} token {t} row {c}"
                        );
                    }
                }
            }
        }
    }
}
