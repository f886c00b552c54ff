//! Sets `cfg(simd)` when the build targets x86-64 with AVX2, FMA and F16C (x86-64-v3), the features the fast
//! kernels need.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(simd)");
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let features = std::env::var("CARGO_CFG_TARGET_FEATURE").unwrap_or_default();
    let has = |f: &str| features.split(',').any(|x| x == f);
    if arch == "x86_64" && has("avx2") && has("fma") && has("f16c") {
        println!("cargo::rustc-cfg=simd");
    }
}
