//! Products with quantized weights for GGUF's Q4_1, Q5_0 and Q8_0 blocks (candle multiplies the first two with
//! scalar code on x86, and Q8_0 one row at a time with horizontal sums). The weights stay as compact in memory
//! as in the file: decoding one token reads every weight once, so its speed follows the bytes read. At load they
//! are rearranged, as ggml's repacked types are: the blocks of eight neighbouring rows at the same position sit
//! together ([`Octets`]), each 32-byte vector of widened weights holds four consecutive weights of each of the
//! eight rows, and a token's four matching activations are broadcast against it, so the products of all eight
//! rows build up side by side, with no horizontal sums. Activations are quantized to 8 bits per block of 32 once
//! per product, as ggml does. The product is cut into tiles of weight rows by tokens, spread over the caller's
//! threads ([`Parallel`]); each widened weight block serves up to four tokens. The kernels run with AVX2 when the
//! build targets it, with AVX-512 VNNI's `vpdpbusd` when the CPU also has that ([`Isa`]), on 512-bit vectors
//! that take two groups of eight rows at once when the CPU has AVX-512 F, BW and DQ (1.5 times the 256-bit
//! speed), and as portable code otherwise; all give the same results to the bit.
//!
//! Beside the products: [`attention`] over a key-value cache, and [`silu_mul`], SwiGLU's element-wise step.
//!
//! It is a crate of its own so that it is compiled with optimisation even in debug builds (the tests run real
//! models through it).

use std::{
    ops::Range,
    sync::{
        Mutex, PoisonError,
        atomic::{AtomicU32, Ordering},
    },
};

use half::f16;

mod attention;
mod exp;
mod silu;
pub use attention::{Heads, attention, attention_with};
pub use silu::silu_mul;

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
    /// 34 bytes: `d: f16, qs: [i8; 32]`; value = d·q.
    Q8_0,
}

impl Kind {
    pub fn block_bytes(self) -> usize {
        match self {
            Kind::Q4_1 => 20,
            Kind::Q5_0 => 22,
            Kind::Q8_0 => 34,
        }
    }
}

/// The blocks at each position of each group of eight rows, for group `g`'s block `b` at `g · k/32 + b`.
///
/// A block's 8 × 32 values are seen as eight vectors of 32 bytes: vector `j` holds elements `4j..4j + 4` of
/// each row, row `r`'s at bytes `4r..4r + 4`. A value is a row's quant: Q4_1's nibble, Q5_0's five bits (the
/// weight plus 16, unsigned), or Q8_0's signed byte.
#[derive(Default)]
struct Octets {
    /// Q4_1 and Q5_0: byte `p` of `qs[i]` holds byte `p` of vector `2i` in its low nibble and of vector `2i + 1`
    /// in its high nibble; empty for Q8_0.
    qs: Vec<[[u8; 32]; 4]>,
    /// Q8_0: the eight vectors as they are; empty for the others.
    q8: Vec<[[i8; 32]; 8]>,
    /// Q5_0: bit `j` of byte `p` is the fifth bit of byte `p` of vector `j`; empty for the others.
    qh: Vec<[u8; 32]>,
    /// Each row's scale, as `f16` bits.
    d: Vec<[u16; ROWS]>,
    /// Q4_1: each row's minimum, as `f16` bits; empty for the others.
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
        let sized = |yes: bool| if yes { count } else { 0 };
        let mut o = Octets {
            qs: vec![[[0; 32]; 4]; sized(kind != Kind::Q8_0)],
            q8: vec![[[0; 32]; 8]; sized(kind == Kind::Q8_0)],
            qh: vec![[0; 32]; sized(kind == Kind::Q5_0)],
            d: vec![[0; ROWS]; count],
            m: vec![[0; ROWS]; sized(kind == Kind::Q4_1)],
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
                Kind::Q8_0 => {
                    for (e, &q) in raw[2..34].iter().enumerate() {
                        o.q8[at][e / 4][r * 4 + e % 4] = q as i8;
                    }
                    continue;
                }
            };
            let q5 = kind == Kind::Q5_0;
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
            + std::mem::size_of_val(o.q8.as_slice())
            + std::mem::size_of_val(o.qh.as_slice())
            + std::mem::size_of_val(o.d.as_slice())
            + std::mem::size_of_val(o.m.as_slice())
    }

    /// Row `r` of stored block `at`: its 32 weights as integers (Q4_1's nibbles, Q5_0's and Q8_0's values), its
    /// scale and its minimum (zero but for Q4_1).
    fn row_block(&self, at: usize, r: usize) -> ([i8; BLOCK], f32, f32) {
        let o = &self.o;
        let mut w = [0i8; BLOCK];
        for (e, w) in w.iter_mut().enumerate() {
            let (j, p) = (e / 4, r * 4 + e % 4);
            if self.kind == Kind::Q8_0 {
                *w = o.q8[at][j][p];
                continue;
            }
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

    /// Weight row `r`'s values, dequantized as ggml does (`d·q + m`), or `None` past the last row: a tied output
    /// head serves as the embedding table this way.
    pub fn row(&self, r: usize) -> Option<Vec<f32>> {
        if r >= self.n {
            return None;
        }
        let blocks = self.k / BLOCK;
        let mut out = Vec::with_capacity(self.k);
        for b in 0..blocks {
            let (w, d, m) = self.row_block(r / ROWS * blocks + b, r % ROWS);
            out.extend(w.iter().map(|&q| f32::from(q) * d + m));
        }
        Some(out)
    }

    /// Weight row `c` against one token, block by block (the portable path).
    fn dot(&self, c: usize, act: &Row<'_>) -> f32 {
        let blocks = self.k / BLOCK;
        let (ab, _) = act.q.as_chunks::<BLOCK>();
        let mut sum = 0f32;
        for (b, a) in ab.iter().enumerate() {
            let (w, d, m) = self.row_block(c / ROWS * blocks + b, c % ROWS);
            let dot = block_dot(&w, a) as f32;
            sum += match self.kind {
                Kind::Q4_1 => dot * d * act.d[b] + m * act.s[b],
                Kind::Q5_0 | Kind::Q8_0 => dot * d * act.d[b],
            };
        }
        sum
    }

    /// `x` is `rows × k`, row-major; the result is `rows × n`, computed with the best instruction set this CPU
    /// has ([`Isa::best`]).
    pub fn matmul(&self, x: &[f32], parallel: &dyn Parallel) -> Vec<f32> {
        self.matmul_with(x, parallel, Isa::best())
    }

    /// [`Packed::matmul`] with the given instruction set, which must be one of [`Isa::available`] (a panic
    /// otherwise). The work is split into tiles of [`COLUMNS_PER_TILE`] weight rows by [`TOKENS_PER_TILE`]
    /// tokens (both stay in cache while the tile is computed), which `parallel` spreads over its threads.
    pub fn matmul_with(&self, x: &[f32], parallel: &dyn Parallel, isa: Isa) -> Vec<f32> {
        assert!(
            Isa::available().contains(&isa),
            "this CPU cannot run {isa:?}"
        );
        let (n, k) = (self.n, self.k);
        let rows = x.len() / k;
        let acts = Activations::quantize(x, parallel);
        let acts: Vec<Row<'_>> = (0..rows).map(|t| acts.row(t, k)).collect();
        let groups = n.div_ceil(ROWS);
        // Groups of eight rows per tile: the 512-bit kernel takes two at once.
        let wide = if isa == Isa::Avx512 && self.kind != Kind::Q8_0 {
            2
        } else {
            1
        };
        let column_tiles = groups.div_ceil(wide);
        let token_tiles = rows.div_ceil(TOKENS_PER_TILE);
        // Each element is written by exactly one tile; atomics let tiles on other threads write without `unsafe`.
        let out: Vec<AtomicU32> = (0..rows * n).map(|_| AtomicU32::new(0)).collect();
        // Token `t`'s products with the eight rows from `c` (fewer in a last group that is not full).
        let put = |t: usize, c: usize, v: &[f32; ROWS]| {
            let row = &out[t * n..(t + 1) * n];
            for (o, v) in row[c..(c + ROWS).min(n)].iter().zip(v) {
                o.store(v.to_bits(), Ordering::Relaxed);
            }
        };
        let tile = |i: usize| {
            let (g, tt) = ((i % column_tiles) * wide, i / column_tiles);
            let first = tt * TOKENS_PER_TILE;
            let tokens = &acts[first..(first + TOKENS_PER_TILE).min(rows)];
            let c = g * ROWS;
            match isa {
                Isa::Portable => {
                    for (t, act) in tokens.iter().enumerate() {
                        (c..(c + ROWS).min(n)).for_each(|c| {
                            out[(first + t) * n + c]
                                .store(self.dot(c, act).to_bits(), Ordering::Relaxed)
                        });
                    }
                }
                #[cfg(simd)]
                Isa::Avx512 if wide == 2 && g + 1 < groups => {
                    let (fours, rest) = tokens.as_chunks::<TOKENS_AT_ONCE>();
                    let put16 = |t: usize, v: &[[f32; ROWS]; 2]| {
                        put(t, c, &v[0]);
                        put(t, c + ROWS, &v[1]);
                    };
                    for (i, four) in fours.iter().enumerate() {
                        let v = x86::dot16(self, g, four);
                        for (j, v) in v.iter().enumerate() {
                            put16(first + i * TOKENS_AT_ONCE + j, v);
                        }
                    }
                    let done = first + fours.len() * TOKENS_AT_ONCE;
                    for (j, act) in rest.iter().enumerate() {
                        let [v] = x86::dot16(self, g, std::array::from_ref(act));
                        put16(done + j, &v);
                    }
                }
                #[cfg(simd)]
                Isa::Avx2 | Isa::Vnni | Isa::Avx512 => {
                    let vnni = isa != Isa::Avx2;
                    let (fours, rest) = tokens.as_chunks::<TOKENS_AT_ONCE>();
                    for (i, four) in fours.iter().enumerate() {
                        let v = x86::dot8(self, g, four, vnni);
                        for (j, v) in v.iter().enumerate() {
                            put(first + i * TOKENS_AT_ONCE + j, c, v);
                        }
                    }
                    let done = first + fours.len() * TOKENS_AT_ONCE;
                    for (j, act) in rest.iter().enumerate() {
                        let [v] = x86::dot8(self, g, std::array::from_ref(act), vnni);
                        put(done + j, c, &v);
                    }
                }
                #[cfg(not(simd))]
                _ => unreachable!("checked above"),
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

/// The instruction sets the products run with, in order of speed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Isa {
    /// Plain Rust, for any CPU.
    Portable,
    /// AVX2 and F16C (x86-64-v3), when the build targets them.
    Avx2,
    /// AVX2 plus AVX-512 VNNI on 256-bit vectors (`vpdpbusd`), when the build targets AVX2 and the CPU has
    /// them (found at run time).
    Vnni,
    /// VNNI on 512-bit vectors, two groups of eight rows at once, for Q4_1 and Q5_0 (Q8_0 runs as with `Vnni`),
    /// when the CPU also has AVX-512 F, BW and DQ.
    Avx512,
}

impl Isa {
    /// Every instruction set this build can run on this CPU, found once.
    pub fn available() -> &'static [Isa] {
        static AVAILABLE: std::sync::OnceLock<Vec<Isa>> = std::sync::OnceLock::new();
        AVAILABLE.get_or_init(|| {
            let mut all = vec![Isa::Portable];
            #[cfg(simd)]
            {
                all.push(Isa::Avx2);
                if std::is_x86_feature_detected!("avx512vnni")
                    && std::is_x86_feature_detected!("avx512vl")
                {
                    all.push(Isa::Vnni);
                    if std::is_x86_feature_detected!("avx512f")
                        && std::is_x86_feature_detected!("avx512bw")
                        && std::is_x86_feature_detected!("avx512dq")
                    {
                        all.push(Isa::Avx512);
                    }
                }
            }
            all
        })
    }

    /// The fastest of [`Isa::available`], found once; or, to compare them, the one named by the environment
    /// variable `REHEARSE_ISA` (`portable`, `avx2`, `vnni` or `avx512`) when this CPU has it.
    pub fn best() -> Isa {
        static BEST: std::sync::OnceLock<Isa> = std::sync::OnceLock::new();
        *BEST.get_or_init(|| {
            let available = Isa::available();
            let chosen = std::env::var("REHEARSE_ISA").ok().and_then(|name| {
                let name = name.trim().to_ascii_lowercase();
                available.iter().copied().find(|isa| isa.key() == name)
            });
            chosen.unwrap_or_else(|| available.iter().copied().max().unwrap_or(Isa::Portable))
        })
    }

    /// The name `REHEARSE_ISA` takes.
    pub fn key(self) -> &'static str {
        match self {
            Isa::Portable => "portable",
            Isa::Avx2 => "avx2",
            Isa::Vnni => "vnni",
            Isa::Avx512 => "avx512",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Isa::Portable => "portable",
            Isa::Avx2 => "AVX2",
            Isa::Vnni => "AVX-512 VNNI (256-bit)",
            Isa::Avx512 => "AVX-512 VNNI (512-bit)",
        }
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

// The float steps are ggml's scalar code's (and candle's) to the bit: each block's exact integer dot product,
// then `sum += dot·wd·ad` (Q5_0 or Q8_0 weights against Q8_0 activations) or `sum += dot·wd·ad + wm·s` (Q4_1
// against Q8_1), in block order. For Q4_1 and Q5_0 a model gives the same logits as with candle's own kernels;
// candle's AVX2 Q8_0 code sums in another order, so its Q8_0 products differ in the last bits.

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

/// Eight weight rows against `T` tokens at once. A block's weights are widened to eight vectors of bytes once
/// (nibbles split by a shift and a mask; Q5_0's fifth bits moved into place by a shift and a mask) and serve every
/// token. For each token, vector `j` meets the token's elements `4j..4j + 4` broadcast to every row, and each
/// row's products build up in its own 32-bit lane: with AVX2, `vpmaddubsw` multiplies and adds pairs (the
/// weights as unsigned bytes), four such results add up in 16 bits without overflow (at most 4 · 2 · 31 · 127 =
/// 31,496) and `vpmaddwd` widens them; with VNNI, `vpdpbusd` does all three in one instruction. Q5_0's offset of
/// 16 comes off as 16 times the block's activation sum. Q8_0's weights are signed, so their magnitudes meet the
/// activations with the weights' signs (`vpsignb`), as in ggml. Each row's integer dot product is exact, and the
/// float steps run in eight lanes, one per row, in the order of [`Packed::dot`], so the results equal the
/// portable code's to the bit.
#[cfg(simd)]
mod x86 {
    use std::arch::x86_64::*;

    use super::{Kind, Packed, ROWS, Row};

    /// The kernel for `p`'s type and the instruction set.
    #[allow(unsafe_code)]
    pub(super) fn dot8<const T: usize>(
        p: &Packed,
        g: usize,
        acts: &[Row<'_>; T],
        vnni: bool,
    ) -> [[f32; ROWS]; T] {
        // SAFETY: the build targets AVX2 and F16C (`cfg(simd)`), and `vnni` is set only when the CPU was found to
        // have AVX-512 VNNI and VL ([`super::Isa::available`]); the kernels check the slices' lengths.
        unsafe {
            match (p.kind, vnni) {
                (Kind::Q8_0, false) => avx2::q8(p, g, acts),
                (Kind::Q8_0, true) => vnni::q8(p, g, acts),
                (_, false) => avx2::q4(p, g, acts),
                (_, true) => vnni::q4(p, g, acts),
            }
        }
    }

    /// Q4_1 or Q5_0 weights of groups `g` and `g + 1` (sixteen rows) against `T` tokens, with 512-bit vectors.
    #[allow(unsafe_code)]
    pub(super) fn dot16<const T: usize>(
        p: &Packed,
        g: usize,
        acts: &[Row<'_>; T],
    ) -> [[[f32; ROWS]; 2]; T] {
        assert!(
            p.kind != Kind::Q8_0,
            "the 512-bit kernel takes Q4_1 and Q5_0"
        );
        // SAFETY: the build targets AVX2 and F16C (`cfg(simd)`), and this runs only for `Isa::Avx512`, which
        // `Isa::available` lists only when the CPU has AVX-512 F, BW, DQ, VL and VNNI; the kernel checks the
        // slices' lengths.
        unsafe { wide::q4(p, g, acts) }
    }

    /// A token's 32 activations (as eight groups of four) against eight vectors of unsigned weights: each row's
    /// dot product in its lane.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn block_avx2(w: &[__m256i; 8], a: &[i32; 8]) -> __m256i {
        let pairs = |j: usize| _mm256_maddubs_epi16(w[j], _mm256_set1_epi32(a[j]));
        let ones = _mm256_set1_epi16(1);
        let half0 = _mm256_add_epi16(
            _mm256_add_epi16(pairs(0), pairs(1)),
            _mm256_add_epi16(pairs(2), pairs(3)),
        );
        let half1 = _mm256_add_epi16(
            _mm256_add_epi16(pairs(4), pairs(5)),
            _mm256_add_epi16(pairs(6), pairs(7)),
        );
        _mm256_add_epi32(
            _mm256_madd_epi16(half0, ones),
            _mm256_madd_epi16(half1, ones),
        )
    }

    #[inline]
    #[target_feature(enable = "avx2,avx512vnni,avx512vl")]
    fn block_vnni(w: &[__m256i; 8], a: &[i32; 8]) -> __m256i {
        let dp = |acc: __m256i, j: usize| _mm256_dpbusd_epi32(acc, w[j], _mm256_set1_epi32(a[j]));
        let zero = _mm256_setzero_si256();
        // Two chains, so each `vpdpbusd` waits on fewer before it.
        let half0 = dp(dp(dp(dp(zero, 0), 1), 2), 3);
        let half1 = dp(dp(dp(dp(zero, 4), 5), 6), 7);
        _mm256_add_epi32(half0, half1)
    }

    /// Adds one vector of signed weights (`w`, with `magnitude` its absolute values) times four activations
    /// broadcast (`a`) to each row's lane. A pair can reach 2 · 128 · 127 = 32,512, so AVX2 widens each.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn signed_avx2(acc: __m256i, magnitude: __m256i, w: __m256i, a: i32) -> __m256i {
        let signed = _mm256_sign_epi8(_mm256_set1_epi32(a), w);
        let pairs = _mm256_maddubs_epi16(magnitude, signed);
        _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, _mm256_set1_epi16(1)))
    }

    #[inline]
    #[target_feature(enable = "avx2,avx512vnni,avx512vl")]
    fn signed_vnni(acc: __m256i, magnitude: __m256i, w: __m256i, a: i32) -> __m256i {
        _mm256_dpbusd_epi32(acc, magnitude, _mm256_sign_epi8(_mm256_set1_epi32(a), w))
    }

    /// The kernels for one instruction set: the same code, compiled for its features with its block products.
    macro_rules! kernels {
        ($name:ident, $features:literal, $block:ident, $signed:ident, $chains:literal) => {
            mod $name {
                use std::arch::x86_64::*;

                use super::super::{BLOCK, Kind, Packed, ROWS, Row};
                use super::{$block, $signed};

                /// Q4_1 and Q5_0.
                #[target_feature(enable = $features)]
                pub(in super::super) fn q4<const T: usize>(
                    p: &Packed,
                    g: usize,
                    acts: &[Row<'_>; T],
                ) -> [[f32; ROWS]; T] {
                    let blocks = p.k / BLOCK;
                    let at = g * blocks..(g + 1) * blocks;
                    let o = &p.o;
                    let (qs, d) = (&o.qs[at.clone()], &o.d[at.clone()]);
                    let q5 = p.kind == Kind::Q5_0;
                    let qh = if q5 { &o.qh[at.clone()] } else { &[][..] };
                    let m = if q5 { &[][..] } else { &o.m[at] };
                    let ab: [&[[i8; BLOCK]]; T] =
                        std::array::from_fn(|t| acts[t].q.as_chunks::<BLOCK>().0);
                    assert!(ab.iter().all(|a| a.len() == blocks) && qs.len() == blocks);
                    assert!(acts.iter().all(|a| {
                        a.d.len() == blocks && a.s.len() == blocks && a.sum.len() == blocks
                    }));
                    let low = _mm256_set1_epi8(0x0f);
                    let fifth = _mm256_set1_epi8(0x10);
                    let mut sum = [_mm256_setzero_ps(); T];
                    for b in 0..blocks {
                        // Written out, not with `array::map`: its closures are not always inlined, which made
                        // an earlier kernel 3x slower.
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
                            // Bit `j` of each byte to bit 4. Shifting 16-bit lanes moves no other bit onto bit
                            // 4 of a byte.
                            let h: __m256i = bytemuck::cast(qh[b]);
                            let put = |w: __m256i, h: __m256i| {
                                _mm256_or_si256(w, _mm256_and_si256(h, fifth))
                            };
                            w[0] = put(w[0], _mm256_slli_epi16::<4>(h));
                            w[1] = put(w[1], _mm256_slli_epi16::<3>(h));
                            w[2] = put(w[2], _mm256_slli_epi16::<2>(h));
                            w[3] = put(w[3], _mm256_slli_epi16::<1>(h));
                            w[4] = put(w[4], h);
                            w[5] = put(w[5], _mm256_srli_epi16::<1>(h));
                            w[6] = put(w[6], _mm256_srli_epi16::<2>(h));
                            w[7] = put(w[7], _mm256_srli_epi16::<3>(h));
                        }
                        let scale = _mm256_cvtph_ps(bytemuck::cast(d[b]));
                        let min = if q5 {
                            _mm256_setzero_ps()
                        } else {
                            _mm256_cvtph_ps(bytemuck::cast(m[b]))
                        };
                        for t in 0..T {
                            let a: [i32; 8] = bytemuck::cast(ab[t][b]);
                            let mut dots = $block(&w, &a);
                            if q5 {
                                dots =
                                    _mm256_sub_epi32(dots, _mm256_set1_epi32(16 * acts[t].sum[b]));
                            }
                            let mut term = _mm256_mul_ps(
                                _mm256_mul_ps(_mm256_cvtepi32_ps(dots), scale),
                                _mm256_set1_ps(acts[t].d[b]),
                            );
                            if !q5 {
                                term = _mm256_add_ps(
                                    term,
                                    _mm256_mul_ps(min, _mm256_set1_ps(acts[t].s[b])),
                                );
                            }
                            sum[t] = _mm256_add_ps(sum[t], term);
                        }
                    }
                    std::array::from_fn(|t| bytemuck::cast(sum[t]))
                }

                /// Q8_0. The loop over a block's vectors is outside the loop over tokens, so that one vector,
                /// its magnitudes and each token's sum stay in registers.
                #[allow(clippy::modulo_one, reason = "AVX2 keeps one sum per token")]
                #[target_feature(enable = $features)]
                pub(in super::super) fn q8<const T: usize>(
                    p: &Packed,
                    g: usize,
                    acts: &[Row<'_>; T],
                ) -> [[f32; ROWS]; T] {
                    let blocks = p.k / BLOCK;
                    let at = g * blocks..(g + 1) * blocks;
                    let (q8, d) = (&p.o.q8[at.clone()], &p.o.d[at]);
                    let ab: [&[[i32; 8]]; T] = std::array::from_fn(|t| {
                        bytemuck::cast_slice(acts[t].q.as_chunks::<BLOCK>().0)
                    });
                    assert!(ab.iter().all(|a| a.len() == blocks) && q8.len() == blocks);
                    assert!(acts.iter().all(|a| a.d.len() == blocks));
                    let mut sum = [_mm256_setzero_ps(); T];
                    for b in 0..blocks {
                        let v: [__m256i; 8] = bytemuck::cast(q8[b]);
                        // VNNI keeps two sums per token (even and odd vectors), so that each `vpdpbusd` waits
                        // on fewer before it; AVX2's adds are quick, and a second sum would not fit in its
                        // registers.
                        let mut dots = [[_mm256_setzero_si256(); $chains]; T];
                        for j in 0..8 {
                            let magnitude = _mm256_abs_epi8(v[j]);
                            for t in 0..T {
                                let s = &mut dots[t][j % $chains];
                                *s = $signed(*s, magnitude, v[j], ab[t][b][j]);
                            }
                        }
                        let scale = _mm256_cvtph_ps(bytemuck::cast(d[b]));
                        for t in 0..T {
                            let dots = dots[t][1..]
                                .iter()
                                .fold(dots[t][0], |a, &b| _mm256_add_epi32(a, b));
                            let term = _mm256_mul_ps(
                                _mm256_mul_ps(_mm256_cvtepi32_ps(dots), scale),
                                _mm256_set1_ps(acts[t].d[b]),
                            );
                            sum[t] = _mm256_add_ps(sum[t], term);
                        }
                    }
                    std::array::from_fn(|t| bytemuck::cast(sum[t]))
                }
            }
        };
    }

    /// The 512-bit kernel: each vector holds the 256-bit vectors of two groups of eight rows side by side, and
    /// the float steps run as in the 256-bit kernels, lane for lane, so the results are the same to the bit.
    mod wide {
        use std::arch::x86_64::*;

        use super::super::{BLOCK, Kind, Packed, ROWS, Row};

        /// Two 256-bit halves as one vector.
        #[inline]
        #[target_feature(enable = "avx512f")]
        fn join(low: __m256i, high: __m256i) -> __m512i {
            _mm512_inserti64x4::<1>(_mm512_castsi256_si512(low), high)
        }

        /// Two groups' eight f16 values as sixteen f32.
        #[inline]
        #[target_feature(enable = "avx512f")]
        fn halves(low: [u16; ROWS], high: [u16; ROWS]) -> __m512 {
            let low: __m128i = bytemuck::cast(low);
            let high: __m128i = bytemuck::cast(high);
            _mm512_cvtph_ps(_mm256_set_m128i(high, low))
        }

        #[target_feature(enable = "avx2,f16c,avx512f,avx512bw,avx512dq,avx512vl,avx512vnni")]
        pub(in super::super) fn q4<const T: usize>(
            p: &Packed,
            g: usize,
            acts: &[Row<'_>; T],
        ) -> [[[f32; ROWS]; 2]; T] {
            let blocks = p.k / BLOCK;
            let o = &p.o;
            let at = |g: usize| g * blocks..(g + 1) * blocks;
            let (qs0, qs1) = (&o.qs[at(g)], &o.qs[at(g + 1)]);
            let (d0, d1) = (&o.d[at(g)], &o.d[at(g + 1)]);
            let q5 = p.kind == Kind::Q5_0;
            let (qh0, qh1) = if q5 {
                (&o.qh[at(g)], &o.qh[at(g + 1)])
            } else {
                (&[][..], &[][..])
            };
            let (m0, m1) = if q5 {
                (&[][..], &[][..])
            } else {
                (&o.m[at(g)], &o.m[at(g + 1)])
            };
            let ab: [&[[i32; 8]]; T] =
                std::array::from_fn(|t| bytemuck::cast_slice(acts[t].q.as_chunks::<BLOCK>().0));
            assert!(ab.iter().all(|a| a.len() == blocks) && qs1.len() == blocks);
            assert!(
                acts.iter().all(|a| {
                    a.d.len() == blocks && a.s.len() == blocks && a.sum.len() == blocks
                })
            );
            let low = _mm512_set1_epi8(0x0f);
            let fifth = _mm512_set1_epi8(0x10);
            let mut sum = [_mm512_setzero_ps(); T];
            for b in 0..blocks {
                let v0: [__m256i; 4] = bytemuck::cast(qs0[b]);
                let v1: [__m256i; 4] = bytemuck::cast(qs1[b]);
                let v = [
                    join(v0[0], v1[0]),
                    join(v0[1], v1[1]),
                    join(v0[2], v1[2]),
                    join(v0[3], v1[3]),
                ];
                let mut w = [
                    _mm512_and_si512(v[0], low),
                    _mm512_and_si512(_mm512_srli_epi16::<4>(v[0]), low),
                    _mm512_and_si512(v[1], low),
                    _mm512_and_si512(_mm512_srli_epi16::<4>(v[1]), low),
                    _mm512_and_si512(v[2], low),
                    _mm512_and_si512(_mm512_srli_epi16::<4>(v[2]), low),
                    _mm512_and_si512(v[3], low),
                    _mm512_and_si512(_mm512_srli_epi16::<4>(v[3]), low),
                ];
                if q5 {
                    let h = join(bytemuck::cast(qh0[b]), bytemuck::cast(qh1[b]));
                    let put =
                        |w: __m512i, h: __m512i| _mm512_or_si512(w, _mm512_and_si512(h, fifth));
                    w[0] = put(w[0], _mm512_slli_epi16::<4>(h));
                    w[1] = put(w[1], _mm512_slli_epi16::<3>(h));
                    w[2] = put(w[2], _mm512_slli_epi16::<2>(h));
                    w[3] = put(w[3], _mm512_slli_epi16::<1>(h));
                    w[4] = put(w[4], h);
                    w[5] = put(w[5], _mm512_srli_epi16::<1>(h));
                    w[6] = put(w[6], _mm512_srli_epi16::<2>(h));
                    w[7] = put(w[7], _mm512_srli_epi16::<3>(h));
                }
                let scale = halves(d0[b], d1[b]);
                let min = if q5 {
                    _mm512_setzero_ps()
                } else {
                    halves(m0[b], m1[b])
                };
                for t in 0..T {
                    let a = &ab[t][b];
                    let dp = |acc: __m512i, j: usize| {
                        _mm512_dpbusd_epi32(acc, w[j], _mm512_set1_epi32(a[j]))
                    };
                    let zero = _mm512_setzero_si512();
                    let half0 = dp(dp(dp(dp(zero, 0), 1), 2), 3);
                    let half1 = dp(dp(dp(dp(zero, 4), 5), 6), 7);
                    let mut dots = _mm512_add_epi32(half0, half1);
                    if q5 {
                        dots = _mm512_sub_epi32(dots, _mm512_set1_epi32(16 * acts[t].sum[b]));
                    }
                    let mut term = _mm512_mul_ps(
                        _mm512_mul_ps(_mm512_cvtepi32_ps(dots), scale),
                        _mm512_set1_ps(acts[t].d[b]),
                    );
                    if !q5 {
                        term =
                            _mm512_add_ps(term, _mm512_mul_ps(min, _mm512_set1_ps(acts[t].s[b])));
                    }
                    sum[t] = _mm512_add_ps(sum[t], term);
                }
            }
            std::array::from_fn(|t| {
                let low: __m256 = _mm512_castps512_ps256(sum[t]);
                let high: __m256 = _mm512_extractf32x8_ps::<1>(sum[t]);
                [bytemuck::cast(low), bytemuck::cast(high)]
            })
        }
    }

    kernels!(avx2, "avx2,f16c", block_avx2, signed_avx2, 1);
    kernels!(
        vnni,
        "avx2,f16c,avx512vnni,avx512vl",
        block_vnni,
        signed_vnni,
        2
    );
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

    fn quantize(x: &[f32], parallel: &dyn Parallel) -> Activations {
        /// Blocks quantized by one task.
        const PART: usize = 64;
        let blocks = x.len() / BLOCK;
        let mut q = vec![0i8; blocks * BLOCK];
        let mut d = vec![0f32; blocks];
        let mut s = vec![0f32; blocks];
        let mut sums = vec![0i32; blocks];
        let parts = q
            .chunks_mut(PART * BLOCK)
            .zip(d.chunks_mut(PART))
            .zip(s.chunks_mut(PART))
            .zip(sums.chunks_mut(PART))
            .collect();
        for_each_part(parts, parallel, &|i, (((q, d), s), sums)| {
            let x = x[i * PART * BLOCK..].chunks_exact(BLOCK);
            let q = q.as_chunks_mut::<BLOCK>().0;
            for ((((x, q), d), s), sum) in x
                .zip(q)
                .zip(d.iter_mut())
                .zip(s.iter_mut())
                .zip(sums.iter_mut())
            {
                (*d, *s, *sum) = quantize_block(x, q);
            }
        });
        Activations { q, d, s, sum: sums }
    }
}

/// Quantizes 32 values into `q`; returns the scale, the scale times the sum of the quants, and that sum.
fn quantize_block(x: &[f32], q: &mut [i8; BLOCK]) -> (f32, f32, i32) {
    let amax = x.iter().fold(0f32, |a, v| a.max(v.abs()));
    let scale = amax / 127.0;
    let inv = if scale > 0.0 { 1.0 / scale } else { 0.0 };
    let mut sum = 0i32;
    for (o, v) in q.iter_mut().zip(x) {
        *o = (v * inv).round() as i8;
        sum += i32::from(*o);
    }
    // Kept as f16, as ggml's Q8_0 and Q8_1 blocks do: the products then equal ggml's and candle's.
    let d16 = f16::from_f32(scale);
    (
        d16.to_f32(),
        (f16::from_f32(sum as f32) * d16).to_f32(),
        sum,
    )
}

/// Runs `task(i, part)` for each part of `data` cut into parts of `size` elements (the last may be shorter), on
/// `parallel`'s threads.
pub fn for_parts<T: Send>(
    data: &mut [T],
    size: usize,
    parallel: &dyn Parallel,
    task: &(dyn Fn(usize, &mut [T]) + Sync),
) {
    let parts = data.chunks_mut(size.max(1)).collect();
    for_each_part(parts, parallel, &|i, part: &mut &mut [T]| task(i, part));
}

/// Runs `task(i, part)` for each of `parts`, on `parallel`'s threads.
fn for_each_part<P: Send>(
    parts: Vec<P>,
    parallel: &dyn Parallel,
    task: &(dyn Fn(usize, &mut P) + Sync),
) {
    let parts: Vec<Mutex<P>> = parts.into_iter().map(Mutex::new).collect();
    parallel.for_ranges(parts.len(), &|range: Range<usize>| {
        for i in range {
            // Each part is locked once, by the one task that owns it.
            let mut part = parts[i].lock().unwrap_or_else(PoisonError::into_inner);
            task(i, &mut part);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the ranges on three threads at once.
    pub(crate) struct Threads;

    impl Parallel for Threads {
        fn for_ranges(&self, n: usize, task: &(dyn Fn(Range<usize>) + Sync)) {
            let step = n.div_ceil(3).max(1);
            std::thread::scope(|s| {
                for start in (0..n).step_by(step) {
                    s.spawn(move || task(start..(start + step).min(n)));
                }
            });
        }
    }

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
        if kind == Kind::Q8_0 {
            for (o, &q) in out.iter_mut().zip(&raw[2..34]) {
                *o = q as i8;
            }
            return out;
        }
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
                Kind::Q8_0 => unreachable!("returned above"),
            }
        }
        out
    }

    #[test]
    fn the_rearranged_blocks_hold_the_files_weights() {
        for kind in [Kind::Q4_1, Kind::Q5_0, Kind::Q8_0] {
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
                let m = match kind {
                    Kind::Q4_1 => f16::from_le_bytes([raw[2], raw[3]]).to_f32(),
                    _ => 0.0,
                };
                let values: Vec<f32> = reference_values(kind, raw)
                    .iter()
                    .map(|&q| f32::from(q) * d + m)
                    .collect();
                assert_eq!(p.row(row).unwrap()[b * BLOCK..(b + 1) * BLOCK], values[..]);
            }
            assert!(p.row(n).is_none());
        }
    }

    /// The product with every instruction set this machine has equals the portable row-by-row code to the bit,
    /// for one token, for several, and for more than one tile of tokens, with rows that do not fill the last group;
    /// on one thread and on three.
    #[test]
    fn the_product_equals_the_portable_code() {
        let isas = Isa::available();
        assert!(
            cfg!(not(simd)) || isas.contains(&Isa::Avx2),
            "an AVX2 build without its kernel"
        );
        for (kind, isa) in [Kind::Q4_1, Kind::Q5_0, Kind::Q8_0]
            .into_iter()
            .flat_map(|kind| isas.iter().map(move |&isa| (kind, isa)))
        {
            let (n, k) = (21, 96 * 32);
            let p = Packed::unpack(kind, &weights(kind, n, k), n, k).expect("sizes fit");
            for rows in [1, 6, 37] {
                let x: Vec<f32> = (0..rows * k)
                    .map(|i| (i * 104_729 % 997) as f32 / 498.0 - 1.0)
                    .collect();
                let out = p.matmul_with(&x, &Serial, isa);
                let threaded = p.matmul_with(&x, &Threads, isa);
                assert!(
                    out.iter()
                        .zip(&threaded)
                        .all(|(a, b)| a.to_bits() == b.to_bits())
                );
                let acts = Activations::quantize(&x, &Serial);
                for t in 0..rows {
                    for c in 0..n {
                        let expected = p.dot(c, &acts.row(t, k));
                        assert_eq!(
                            out[t * n + c].to_bits(),
                            expected.to_bits(),
                            "{kind:?} with {isa:?}: token {t} row {c}"
                        );
                    }
                }
            }
        }
    }
}
