//! Causal scaled dot-product attention of a turn's new tokens over a conversation's key-value cache, read where
//! it lies: for each query head and new token, the scores against every key up to the token's own position, their
//! softmax, and the weighted sum of the values. Each key-value head is read in place for all the query heads it
//! serves (grouped-query attention), and no mask is built. The work is cut into items of one query head by up to
//! [`TOKENS_PER_ITEM`] tokens, spread over the caller's threads; an item reads the cache in tiles of
//! [`KEYS_PER_TILE`] positions, each used by all its tokens while it is in the first-level cache.
//!
//! With AVX2 and heads 64 or 128 wide, eight keys' scores build up side by side and are summed across lanes
//! together, the softmax's `e^x` runs eight lanes at a time, and the weighted values add up in registers with
//! fused multiply-adds. Other widths and CPUs run the portable code. The two sum in different orders, so they
//! agree to float rounding, not to the bit.

use std::{
    ops::Range,
    sync::atomic::{AtomicU32, Ordering},
};

use crate::{Isa, Parallel, exp::exp};

/// The heads of one attention layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Heads {
    /// Query heads.
    pub query: usize,
    /// Key-value heads: each serves `query / kv` neighbouring query heads.
    pub kv: usize,
    /// Elements per head.
    pub dim: usize,
}

/// New tokens per work item.
const TOKENS_PER_ITEM: usize = 8;
/// Keys per tile: a tile of keys (or values) stays in the first-level cache while every token of an item uses it.
const KEYS_PER_TILE: usize = 128;

/// `q` holds the new tokens' queries as (query heads, tokens, dim); `k` and `v` are the cache, (kv heads,
/// `capacity`, dim), filled at positions `0..pos + tokens` (the new tokens' own keys and values at `pos..`). Token
/// `i` attends to positions `0..=pos + i`. The result is (tokens, query heads, dim): each token's heads side by
/// side, as the output projection takes them. Computed with the best instruction set this CPU has
/// ([`Isa::best`]).
pub fn attention(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    capacity: usize,
    pos: usize,
    heads: Heads,
    parallel: &dyn Parallel,
) -> Vec<f32> {
    attention_with(q, k, v, capacity, pos, heads, parallel, Isa::best())
}

/// [`attention`] with the given instruction set, which must be one of [`Isa::available`] (a panic otherwise).
#[allow(clippy::too_many_arguments)]
pub fn attention_with(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    capacity: usize,
    pos: usize,
    heads: Heads,
    parallel: &dyn Parallel,
    isa: Isa,
) -> Vec<f32> {
    assert!(
        Isa::available().contains(&isa),
        "this CPU cannot run {isa:?}"
    );
    let Heads { query, kv, dim } = heads;
    assert!(
        query > 0 && kv > 0 && dim > 0 && query.is_multiple_of(kv),
        "{query} query heads cannot share {kv} key-value heads"
    );
    let tokens = q.len() / (query * dim);
    assert_eq!(
        q.len(),
        query * tokens * dim,
        "q is not (heads, tokens, dim)"
    );
    assert!(
        pos + tokens <= capacity && k.len() == kv * capacity * dim && v.len() == k.len(),
        "the cache is not (kv heads, capacity, dim) with room for the tokens"
    );
    let code = Code::for_width(isa, dim);
    let scale = 1.0 / (dim as f32).sqrt();
    let group = query / kv;
    let blocks = tokens.div_ceil(TOKENS_PER_ITEM);
    // Each element is written by exactly one item; atomics let items on other threads write without `unsafe`.
    let out: Vec<AtomicU32> = (0..tokens * query * dim)
        .map(|_| AtomicU32::new(0))
        .collect();
    parallel.for_ranges(query * blocks, &|range: Range<usize>| {
        let stride = pos + tokens;
        let mut scores = vec![0f32; TOKENS_PER_ITEM * stride];
        let mut sums = vec![0f32; TOKENS_PER_ITEM * dim];
        for item in range {
            let (h, b) = (item / blocks, item % blocks);
            let first = b * TOKENS_PER_ITEM;
            let rows = TOKENS_PER_ITEM.min(tokens - first);
            // Row r is token first + r, which sees positions 0..seen(r).
            let seen = |r: usize| pos + first + r + 1;
            // Positions `range` of the query head's key-value head.
            let head = (h / group) * capacity * dim;
            let at = |range: Range<usize>| head + range.start * dim..head + range.end * dim;
            let tiles = || (0..seen(rows - 1)).step_by(KEYS_PER_TILE);
            let span = |r: usize, tile: usize| tile..(tile + KEYS_PER_TILE).min(seen(r));
            for tile in tiles() {
                for r in (0..rows).filter(|&r| tile < seen(r)) {
                    let keys = span(r, tile);
                    let query_row = &q[(h * tokens + first + r) * dim..][..dim];
                    let scores = &mut scores[r * stride..][keys.clone()];
                    code.scores(query_row, &k[at(keys)], scale, scores);
                }
            }
            let mut totals = [0f32; TOKENS_PER_ITEM];
            for (r, total) in totals[..rows].iter_mut().enumerate() {
                *total = code.softmax(&mut scores[r * stride..][..seen(r)]);
            }
            sums.fill(0.0);
            for tile in tiles() {
                for r in (0..rows).filter(|&r| tile < seen(r)) {
                    let keys = span(r, tile);
                    let weights = &scores[r * stride..][keys.clone()];
                    code.add_values(weights, &v[at(keys)], &mut sums[r * dim..][..dim]);
                }
            }
            for (r, total) in totals[..rows].iter().enumerate() {
                let row = &out[((first + r) * query + h) * dim..][..dim];
                for (o, s) in row.iter().zip(&sums[r * dim..]) {
                    o.store((s / total).to_bits(), Ordering::Relaxed);
                }
            }
        }
    });
    out.into_iter()
        .map(|v| f32::from_bits(v.into_inner()))
        .collect()
}

/// The code that runs the three steps, chosen once per call.
#[derive(Debug, Clone, Copy)]
enum Code {
    Portable,
    /// AVX2 and FMA for heads of `8 · V` elements.
    #[cfg(simd)]
    Avx2 {
        vectors: usize,
    },
}

impl Code {
    fn for_width(isa: Isa, dim: usize) -> Code {
        match (isa, dim) {
            (Isa::Portable, _) => Code::Portable,
            #[cfg(simd)]
            (_, 64 | 128) => Code::Avx2 { vectors: dim / 8 },
            _ => Code::Portable,
        }
    }

    /// `scores[j] = q · keys[j] · scale` for each key (rows of `q.len()`).
    fn scores(self, q: &[f32], keys: &[f32], scale: f32, scores: &mut [f32]) {
        match self {
            Code::Portable => {
                for (s, key) in scores.iter_mut().zip(keys.chunks_exact(q.len())) {
                    *s = q.iter().zip(key).map(|(a, b)| a * b).sum::<f32>() * scale;
                }
            }
            // SAFETY (each call below): the build targets AVX2 and FMA (`cfg(simd)`).
            #[cfg(simd)]
            #[allow(unsafe_code)]
            Code::Avx2 { vectors: 8 } => unsafe { x86::scores::<8>(q, keys, scale, scores) },
            #[cfg(simd)]
            #[allow(unsafe_code)]
            Code::Avx2 { .. } => unsafe { x86::scores::<16>(q, keys, scale, scores) },
        }
    }

    /// Replaces the scores with `e^(score - max)`; returns their sum.
    fn softmax(self, scores: &mut [f32]) -> f32 {
        match self {
            Code::Portable => {
                let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let mut total = 0.0;
                for s in scores.iter_mut() {
                    *s = exp(*s - max);
                    total += *s;
                }
                total
            }
            #[cfg(simd)]
            #[allow(unsafe_code)]
            Code::Avx2 { .. } => unsafe { x86::softmax(scores) },
        }
    }

    /// `sums += Σ weights[j] · values[j]` (rows of `sums.len()`).
    fn add_values(self, weights: &[f32], values: &[f32], sums: &mut [f32]) {
        match self {
            Code::Portable => {
                for (p, value) in weights.iter().zip(values.chunks_exact(sums.len())) {
                    for (s, x) in sums.iter_mut().zip(value) {
                        *s += p * x;
                    }
                }
            }
            #[cfg(simd)]
            #[allow(unsafe_code)]
            Code::Avx2 { vectors: 8 } => unsafe { x86::add_values::<8>(weights, values, sums) },
            #[cfg(simd)]
            #[allow(unsafe_code)]
            Code::Avx2 { .. } => unsafe { x86::add_values::<16>(weights, values, sums) },
        }
    }
}

#[cfg(simd)]
mod x86 {
    use std::arch::x86_64::*;

    use crate::exp::{exp, x86::exp8};

    type Lanes = [f32; 8];

    /// Lane `j` of the result is the sum of `a[j]`'s eight lanes.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn sums(a: [__m256; 8]) -> __m256 {
        let pairs = [
            _mm256_hadd_ps(a[0], a[1]),
            _mm256_hadd_ps(a[2], a[3]),
            _mm256_hadd_ps(a[4], a[5]),
            _mm256_hadd_ps(a[6], a[7]),
        ];
        // Per 128-bit half: the sums of four lanes of a[0..4], then of a[4..8].
        let low = _mm256_hadd_ps(pairs[0], pairs[1]);
        let high = _mm256_hadd_ps(pairs[2], pairs[3]);
        _mm256_add_ps(
            _mm256_permute2f128_ps::<0x20>(low, high),
            _mm256_permute2f128_ps::<0x31>(low, high),
        )
    }

    /// The sum of `a`'s eight lanes.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn sum(a: __m256) -> f32 {
        let s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps::<1>(a));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)))
    }

    /// [`super::Code::scores`] for rows of `V` vectors: eight keys at a time, each key's products building up in
    /// its own vector, the eight summed across lanes together.
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn scores<const V: usize>(q: &[f32], keys: &[f32], scale: f32, scores: &mut [f32]) {
        let (q, _) = q.as_chunks::<8>();
        let q: [__m256; V] = std::array::from_fn(|i| bytemuck::cast(q[i]));
        let (keys, _) = keys.as_chunks::<8>();
        let (keys, _) = keys.as_chunks::<V>();
        assert_eq!(keys.len(), scores.len(), "a score for each key");
        let (blocks, rest) = keys.as_chunks::<8>();
        let (scores8, scores_rest) = scores.as_chunks_mut::<8>();
        for (block, s) in blocks.iter().zip(scores8) {
            let mut acc = [_mm256_setzero_ps(); 8];
            for (i, q) in q.iter().enumerate() {
                for (a, key) in acc.iter_mut().zip(block) {
                    *a = _mm256_fmadd_ps(*q, bytemuck::cast(key[i]), *a);
                }
            }
            *s = bytemuck::cast(_mm256_mul_ps(sums(acc), _mm256_set1_ps(scale)));
        }
        for (key, s) in rest.iter().zip(scores_rest) {
            let mut acc = _mm256_setzero_ps();
            for (q, k) in q.iter().zip(key) {
                acc = _mm256_fmadd_ps(*q, bytemuck::cast(*k), acc);
            }
            *s = sum(acc) * scale;
        }
    }

    /// [`super::Code::softmax`], eight lanes at a time.
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn softmax(scores: &mut [f32]) -> f32 {
        let (scores8, rest) = scores.as_chunks_mut::<8>();
        let mut max8 = _mm256_set1_ps(f32::NEG_INFINITY);
        for s in scores8.iter() {
            max8 = _mm256_max_ps(max8, bytemuck::cast(*s));
        }
        let lanes: Lanes = bytemuck::cast(max8);
        let max = lanes
            .iter()
            .chain(rest.iter())
            .fold(f32::NEG_INFINITY, |a, &b| a.max(b));
        let mut total8 = _mm256_setzero_ps();
        for s in scores8.iter_mut() {
            let e = exp8(_mm256_sub_ps(bytemuck::cast(*s), _mm256_set1_ps(max)));
            total8 = _mm256_add_ps(total8, e);
            *s = bytemuck::cast(e);
        }
        let mut total = sum(total8);
        for s in rest.iter_mut() {
            *s = exp(*s - max);
            total += *s;
        }
        total
    }

    /// [`super::Code::add_values`] for rows of `V` vectors (`V` a multiple of eight): eight vectors of sums stay
    /// in registers while every value row adds into them.
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn add_values<const V: usize>(weights: &[f32], values: &[f32], sums: &mut [f32]) {
        const { assert!(V.is_multiple_of(8)) };
        let (values, _) = values.as_chunks::<8>();
        let (values, _) = values.as_chunks::<V>();
        assert_eq!(values.len(), weights.len(), "a weight for each value");
        let (sums, _) = sums.as_chunks_mut::<8>();
        for part in 0..V / 8 {
            let sums = &mut sums[part * 8..(part + 1) * 8];
            let mut acc: [__m256; 8] = std::array::from_fn(|i| bytemuck::cast(sums[i]));
            for (p, value) in weights.iter().zip(values) {
                let p = _mm256_set1_ps(*p);
                for (a, x) in acc.iter_mut().zip(&value[part * 8..]) {
                    *a = _mm256_fmadd_ps(p, bytemuck::cast(*x), *a);
                }
            }
            for (s, a) in sums.iter_mut().zip(acc) {
                *s = bytemuck::cast(a);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Serial, tests::Threads};

    /// softmax(q·kᵀ/√dim)·v in f64, token by token, straight from the definition.
    fn reference(q: &[f32], k: &[f32], v: &[f32], cap: usize, pos: usize, h: Heads) -> Vec<f64> {
        let tokens = q.len() / (h.query * h.dim);
        let mut out = vec![0f64; tokens * h.query * h.dim];
        for head in 0..h.query {
            let g = head / (h.query / h.kv);
            let at = |t: &[f32], p: usize, d: usize| t[(g * cap + p) * h.dim + d] as f64;
            for i in 0..tokens {
                let qi = |d: usize| q[(head * tokens + i) * h.dim + d] as f64;
                let dot = |p: usize| (0..h.dim).map(|d| qi(d) * at(k, p, d)).sum::<f64>();
                let scores: Vec<f64> = (0..=pos + i)
                    .map(|p| dot(p) / (h.dim as f64).sqrt())
                    .collect();
                let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let weights: Vec<f64> = scores.iter().map(|s| (s - max).exp()).collect();
                let total: f64 = weights.iter().sum();
                for d in 0..h.dim {
                    let weighted = weights.iter().enumerate().map(|(p, w)| w * at(v, p, d));
                    out[(i * h.query + head) * h.dim + d] = weighted.sum::<f64>() / total;
                }
            }
        }
        out
    }

    fn values(n: usize, seed: usize, spread: f32) -> Vec<f32> {
        (0..n)
            .map(|i| ((i * 104_729 + seed * 7919) % 997) as f32 / 498.0 - 1.0)
            .map(|x| x * spread)
            .collect()
    }

    /// With every instruction set this machine has, on one thread and on three: grouped and plain heads, the
    /// widths with vector code and one without, one new token and several (with and without a cached past, and
    /// with a count of keys that leaves a tail past the last eight). The cache past the filled positions holds
    /// NaN, so reading beyond them would show; a token that saw a later one would differ from the definition.
    #[test]
    fn attention_matches_the_definition() {
        let cases = [
            (
                Heads {
                    query: 4,
                    kv: 2,
                    dim: 64,
                },
                1,
                0,
            ),
            (
                Heads {
                    query: 4,
                    kv: 2,
                    dim: 64,
                },
                1,
                29,
            ),
            (
                Heads {
                    query: 14,
                    kv: 2,
                    dim: 64,
                },
                19,
                13,
            ),
            (
                Heads {
                    query: 14,
                    kv: 2,
                    dim: 64,
                },
                11,
                60,
            ),
            (
                Heads {
                    query: 2,
                    kv: 2,
                    dim: 128,
                },
                9,
                5,
            ),
            (
                Heads {
                    query: 3,
                    kv: 1,
                    dim: 24,
                },
                5,
                7,
            ),
        ];
        for &isa in Isa::available() {
            for (heads, tokens, pos) in cases {
                let capacity = pos + tokens + 3;
                let q = values(heads.query * tokens * heads.dim, 1, 3.0);
                let mut k = values(heads.kv * capacity * heads.dim, 2, 1.0);
                let mut v = values(heads.kv * capacity * heads.dim, 3, 1.0);
                let dim = heads.dim;
                for g in 0..heads.kv {
                    let unfilled = (g * capacity + pos + tokens) * dim..(g + 1) * capacity * dim;
                    k[unfilled.clone()].fill(f32::NAN);
                    v[unfilled].fill(f32::NAN);
                }
                let expected = reference(&q, &k, &v, capacity, pos, heads);
                let serial = attention_with(&q, &k, &v, capacity, pos, heads, &Serial, isa);
                let threaded = attention_with(&q, &k, &v, capacity, pos, heads, &Threads, isa);
                assert_eq!(serial.len(), expected.len());
                let all = serial.iter().zip(&threaded).zip(&expected);
                for (i, ((&s, &t), &e)) in all.enumerate() {
                    assert!(
                        (s as f64 - e).abs() <= 1e-5 * (1.0 + e.abs()),
                        "{isa:?} {heads:?}, {tokens} tokens after {pos}: element {i} is {s}, not {e}"
                    );
                    assert_eq!(s.to_bits(), t.to_bits(), "threads changed element {i}");
                }
            }
        }
    }
}
