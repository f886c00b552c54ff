//! Times the products on one thread, for the shapes of Qwen2.5-0.5B's and SmolLM2's matrices: one token (decoding)
//! and 64 tokens (a prompt), with each instruction set this machine has. The best of several runs, so a busy
//! machine disturbs it little.
//! `cargo run --release --example matmul -p rehearse-kernels`

use std::time::Instant;

use rehearse_kernels::{Isa, Kind, Packed, Serial};

fn main() {
    for (kind, n, k) in [
        (Kind::Q5_0, 4864, 896),
        (Kind::Q5_0, 896, 4864),
        (Kind::Q4_1, 1536, 576),
        (Kind::Q8_0, 49152, 576),
    ] {
        let blocks = n * k / 32;
        let bytes: Vec<u8> = (0..blocks * kind.block_bytes())
            .map(|i| {
                // Small positive f16 scales, pseudo-random quants.
                let j = i % kind.block_bytes();
                if j == 1 || (kind == Kind::Q4_1 && j == 3) {
                    0x20
                } else {
                    (i.wrapping_mul(2654435761) >> 7) as u8
                }
            })
            .collect();
        // As many copies as a model has layers, so the weights come from memory, not the cache, as in a model.
        let copies: Vec<Packed> = (0..(24 * 4864 * 896 / (n * k)).max(2))
            .map(|_| Packed::unpack(kind, &bytes, n, k).expect("sizes fit"))
            .collect();
        for (tokens, isa) in [1usize, 64].into_iter().flat_map(|t| {
            Isa::available()
                .iter()
                .copied()
                .filter(|&i| i != Isa::Portable)
                .map(move |i| (t, i))
        }) {
            let x: Vec<f32> = (0..tokens * k)
                .map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0)
                .collect();
            let reps = if tokens == 1 { 240 } else { 24 };
            let mut best = f64::MAX;
            for _ in 0..5 {
                let t = Instant::now();
                for i in 0..reps {
                    std::hint::black_box(copies[i % copies.len()].matmul_with(&x, &Serial, isa));
                }
                best = best.min(t.elapsed().as_secs_f64() / reps as f64);
            }
            let gmacs = (n * k * tokens) as f64 / best / 1e9;
            let gbs = copies[0].bytes() as f64 / best / 1e9;
            println!(
                "{kind:?} {n}x{k}, {tokens:>2} token(s), {:>12}: {:>8.1} µs, {gmacs:.2} G multiply-adds/s, weights read at {gbs:.1} GB/s",
                isa.name(),
                best * 1e6
            );
        }
    }
}
