//! `rehearse bench sandbox`: how fast the WebAssembly sandbox starts and runs. Compiling the runtimes (once per
//! process), a warm hello world per language, judging a Python solution on ten tests, a CPU-bound loop against the
//! same program run natively (when `python3` and `node` are installed), and runs per second with every core busy.

use std::{
    path::Path,
    process::Command,
    sync::Arc,
    time::{Duration, Instant},
};

use serde::Serialize;

use super::percentile;
use crate::{
    catalog::{self, SeedSource},
    sandbox::{
        Language,
        grade::grade,
        runner::{Limits, Sandbox},
    },
};

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub compile_seconds: f64,
    pub python_hello_ms: f64,
    pub javascript_hello_ms: f64,
    pub judge_python_10_tests_ms: f64,
    pub python_loop: Native,
    pub javascript_loop: Native,
    pub javascript_runs_per_second: f64,
    pub python_runs_per_second: f64,
}

/// A CPU-bound program in the sandbox and natively (`None` when the native runtime is not installed).
#[derive(Debug, Clone, Serialize)]
pub struct Native {
    pub sandbox_ms: f64,
    pub native_ms: Option<f64>,
}

const PY_LOOP: &str = "t = 0\nfor i in range(3_000_000):\n    t += i * i % 7\nprint(t)\n";
const JS_LOOP: &str =
    "let t = 0; for (let i = 0; i < 30000000; i++) t += i * i % 7; console.log(t);";

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    percentile(&v, 50.0)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn native(program: &str, cmd: &str, ext: &str) -> Option<f64> {
    let dir = tempfile::tempdir().ok()?;
    let file = dir.path().join(format!("loop.{ext}"));
    std::fs::write(&file, program).ok()?;
    let t = Instant::now();
    let ok = Command::new(cmd).arg(&file).output().ok()?.status.success();
    ok.then(|| ms(t.elapsed()))
}

/// Runs the benchmark with the runtimes in `dir` (blocking: seconds).
pub fn run(dir: &Path) -> anyhow::Result<Report> {
    let t = Instant::now();
    let sandbox = Arc::new(Sandbox::load(dir)?);
    let compile_seconds = t.elapsed().as_secs_f64();
    let limits = Limits::default();
    let hello = |language: Language, source: &str| -> anyhow::Result<f64> {
        sandbox.run(language, source, b"", &limits)?; // the first run warms caches
        let times = (0..20)
            .map(|_| {
                let t = Instant::now();
                sandbox
                    .run(language, source, b"", &limits)
                    .map(|_| ms(t.elapsed()))
            })
            .collect::<anyhow::Result<Vec<f64>>>()?;
        Ok(median(times))
    };
    let python_hello_ms = hello(Language::Python, "print('hello')")?;
    let javascript_hello_ms = hello(Language::Javascript, "console.log('hello')")?;

    let catalog = catalog::load(&SeedSource::Embedded)
        .map_err(anyhow::Error::new)?
        .catalog;
    let problem = catalog.problem("two-sum").expect("two-sum is seeded");
    let cases: Vec<_> = problem
        .samples
        .iter()
        .chain(&problem.tests)
        .take(10)
        .enumerate()
        .collect();
    let judge_times = (0..10)
        .map(|_| {
            let t = Instant::now();
            grade(
                &sandbox,
                problem,
                Language::Python,
                &problem.solutions.python,
                &cases,
                &limits,
            )
            .map(|_| ms(t.elapsed()))
        })
        .collect::<anyhow::Result<Vec<f64>>>()?;

    let timed = |language: Language, source: &str| -> anyhow::Result<f64> {
        let t = Instant::now();
        sandbox.run(language, source, b"", &limits)?;
        Ok(ms(t.elapsed()))
    };
    let python_loop = Native {
        sandbox_ms: timed(Language::Python, PY_LOOP)?,
        native_ms: native(PY_LOOP, "python3", "py"),
    };
    let javascript_loop = Native {
        sandbox_ms: timed(Language::Javascript, JS_LOOP)?,
        native_ms: native(JS_LOOP, "node", "js"),
    };

    let throughput = |language: Language, source: &'static str, runs: usize| -> f64 {
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let t = Instant::now();
        std::thread::scope(|s| {
            for _ in 0..threads {
                let sandbox = sandbox.clone();
                let limits = limits.clone();
                s.spawn(move || {
                    for _ in 0..runs / threads {
                        let _ = sandbox.run(language, source, b"", &limits);
                    }
                });
            }
        });
        (runs / threads * threads) as f64 / t.elapsed().as_secs_f64()
    };
    Ok(Report {
        compile_seconds,
        python_hello_ms,
        javascript_hello_ms,
        judge_python_10_tests_ms: median(judge_times),
        python_loop,
        javascript_loop,
        javascript_runs_per_second: throughput(Language::Javascript, "console.log(1)", 200),
        python_runs_per_second: throughput(Language::Python, "print(1)", 40),
    })
}

pub fn print(r: &Report) {
    let ratio = |n: &Native| {
        n.native_ms
            .map_or("native runtime not installed".into(), |m| {
                format!(
                    "native {m:.0} ms, {:.1}x slower in the sandbox",
                    n.sandbox_ms / m
                )
            })
    };
    println!(
        "compiling the runtimes (once per process)  {:>8.1} s",
        r.compile_seconds
    );
    println!(
        "Python hello world, warm (median)          {:>8.1} ms",
        r.python_hello_ms
    );
    println!(
        "JavaScript hello world, warm (median)      {:>8.1} ms",
        r.javascript_hello_ms
    );
    println!(
        "judging 10 tests of a Python solution      {:>8.1} ms",
        r.judge_python_10_tests_ms
    );
    println!(
        "Python CPU-bound loop                      {:>8.0} ms ({})",
        r.python_loop.sandbox_ms,
        ratio(&r.python_loop)
    );
    println!(
        "JavaScript CPU-bound loop                  {:>8.0} ms ({})",
        r.javascript_loop.sandbox_ms,
        ratio(&r.javascript_loop)
    );
    println!(
        "JavaScript runs per second, all cores      {:>8.0}",
        r.javascript_runs_per_second
    );
    println!(
        "Python runs per second, all cores          {:>8.0}",
        r.python_runs_per_second
    );
}
