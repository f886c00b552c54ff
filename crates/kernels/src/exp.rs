//! `e^x` in f32 with Cephes' `expf` polynomial (the one ggml and many SIMD libraries use), within a few units in
//! the last place of the exact value, on one lane and on eight: both run the same float steps, so they agree to
//! the bit. SwiGLU and attention's softmax use it (the C library's `expf` is scalar).

const LIMIT: f32 = 88.376_26;
const LOG2E: f32 = std::f32::consts::LOG2_E;
/// ln 2 split in two, so that `x - n·ln 2` loses no bits.
const LN2_HIGH: f32 = 0.693_359_4;
const LN2_LOW: f32 = -2.121_944_4e-4;
const P: [f32; 6] = [
    1.987_569_1e-4,
    1.398_2e-3,
    8.333_452e-3,
    4.166_579_6e-2,
    0.166_666_65,
    0.5,
];

/// `e^x`, saturating to 0 below −88.4 and to `e^88.4` (2.4·10³⁸) above 88.4.
pub(crate) fn exp(x: f32) -> f32 {
    let x = x.clamp(-LIMIT, LIMIT);
    let n = (x * LOG2E + 0.5).floor();
    let r = x - n * LN2_HIGH - n * LN2_LOW;
    let mut y = P[0];
    for p in &P[1..] {
        y = y * r + p;
    }
    y = y * (r * r) + r + 1.0;
    y * f32::from_bits(((n as i32 + 127) << 23) as u32)
}

#[cfg(simd)]
pub(crate) mod x86 {
    use std::arch::x86_64::*;

    use super::{LIMIT, LN2_HIGH, LN2_LOW, LOG2E, P};

    /// [`super::exp`] on eight lanes, step for step.
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(crate) fn exp8(x: __m256) -> __m256 {
        let x = _mm256_max_ps(
            _mm256_min_ps(x, _mm256_set1_ps(LIMIT)),
            _mm256_set1_ps(-LIMIT),
        );
        let n = _mm256_floor_ps(_mm256_add_ps(
            _mm256_mul_ps(x, _mm256_set1_ps(LOG2E)),
            _mm256_set1_ps(0.5),
        ));
        let r = _mm256_sub_ps(
            _mm256_sub_ps(x, _mm256_mul_ps(n, _mm256_set1_ps(LN2_HIGH))),
            _mm256_mul_ps(n, _mm256_set1_ps(LN2_LOW)),
        );
        let mut y = _mm256_set1_ps(P[0]);
        for p in &P[1..] {
            y = _mm256_add_ps(_mm256_mul_ps(y, r), _mm256_set1_ps(*p));
        }
        y = _mm256_add_ps(
            _mm256_add_ps(_mm256_mul_ps(y, _mm256_mul_ps(r, r)), r),
            _mm256_set1_ps(1.0),
        );
        let exponent = _mm256_add_epi32(_mm256_cvttps_epi32(n), _mm256_set1_epi32(127));
        _mm256_mul_ps(y, _mm256_castsi256_ps(_mm256_slli_epi32::<23>(exponent)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_is_within_a_few_ulps_and_saturates() {
        for i in -8000..=8000 {
            let x = i as f32 / 100.0;
            let (ours, exact) = (exp(x), (x as f64).exp());
            let err = ((ours as f64 - exact) / exact).abs();
            assert!(
                err < 4.0 * f32::EPSILON as f64,
                "e^{x}: {ours} against {exact}"
            );
        }
        assert_eq!(exp(-100.0), 0.0);
        assert!((2.4e38..f32::MAX).contains(&exp(100.0)));
        assert_eq!(exp(0.0), 1.0);
    }
}
