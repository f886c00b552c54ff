//! SwiGLU's element-wise step, `silu(gate) · up` with `silu(g) = g / (1 + e^-g)`, eight lanes at a time with
//! [`crate::exp`]; the AVX2 and portable code run the same float steps, so they agree to the bit.

use crate::{Isa, exp::exp};

/// Writes `silu(gate[i]) · up[i]` to `out[i]` for each `i`; the three slices have the same length.
pub fn silu_mul(gate: &[f32], up: &[f32], out: &mut [f32]) {
    assert!(
        gate.len() == up.len() && up.len() == out.len(),
        "gate, up and out differ in length"
    );
    let mut done = 0;
    #[cfg(simd)]
    if Isa::best() >= Isa::Avx2 {
        // SAFETY: the build targets AVX2 (`cfg(simd)`), and `Isa::best` never names a set the CPU lacks.
        #[allow(unsafe_code)]
        unsafe {
            done = x86::silu_mul(gate, up, out);
        }
    }
    for ((o, &g), &u) in out[done..].iter_mut().zip(&gate[done..]).zip(&up[done..]) {
        *o = g / (1.0 + exp(-g)) * u;
    }
}

#[cfg(simd)]
mod x86 {
    use std::arch::x86_64::*;

    use crate::exp::x86::exp8;

    /// Fills `out` eight at a time; returns how many it filled (the rest are left for the scalar code).
    #[target_feature(enable = "avx2")]
    pub(super) fn silu_mul(gate: &[f32], up: &[f32], out: &mut [f32]) -> usize {
        let (g8, _) = gate.as_chunks::<8>();
        let (u8, _) = up.as_chunks::<8>();
        let (o8, _) = out.as_chunks_mut::<8>();
        let one = _mm256_set1_ps(1.0);
        for ((o, g), u) in o8.iter_mut().zip(g8).zip(u8) {
            let g: __m256 = bytemuck::cast(*g);
            let u: __m256 = bytemuck::cast(*u);
            let minus = _mm256_sub_ps(_mm256_setzero_ps(), g);
            let silu = _mm256_div_ps(g, _mm256_add_ps(one, exp8(minus)));
            *o = bytemuck::cast(_mm256_mul_ps(silu, u));
        }
        o8.len().min(g8.len()) * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vector code (on this machine) equals the scalar code to the bit, for lengths that leave a tail, and
    /// both are close to `g / (1 + e^-g) · u` in f64.
    #[test]
    fn silu_mul_is_exact_across_instruction_sets_and_close_to_the_formula() {
        let gate: Vec<f32> = (0..203).map(|i| (i as f32 - 101.0) * 0.37).collect();
        let up: Vec<f32> = (0..203)
            .map(|i| ((i * 7919) % 97) as f32 / 48.0 - 1.0)
            .collect();
        let mut out = vec![0f32; gate.len()];
        silu_mul(&gate, &up, &mut out);
        for ((&o, &g), &u) in out.iter().zip(&gate).zip(&up) {
            let scalar = g / (1.0 + exp(-g)) * u;
            assert_eq!(o.to_bits(), scalar.to_bits(), "g {g}, u {u}");
            let (g, u) = (g as f64, u as f64);
            let exact = g / (1.0 + (-g).exp()) * u;
            assert!(
                (o as f64 - exact).abs() <= 1e-6 * (1.0 + exact.abs()),
                "g {g}, u {u}"
            );
        }
        silu_mul(&[], &[], &mut []);
    }
}
