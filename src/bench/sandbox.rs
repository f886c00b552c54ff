//! `rehearse bench sandbox`: how fast the WebAssembly sandbox starts and runs. Loading the runtimes (compiling them
//! into a fresh cache, then from the cache as a restarted server does), a warm hello world per language (C's
//! includes compiling it), judging a solution on ten tests in each language, a CPU-bound loop against the same
//! program run natively (when `python3`, `node` and `cc` are installed), and runs per second with every core busy.

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
    pub cached_load_seconds: f64,
    pub python_hello_ms: f64,
    pub javascript_hello_ms: f64,
    pub c_hello_ms: f64,
    pub judge_python_10_tests_ms: f64,
    pub judge_javascript_10_tests_ms: f64,
    pub judge_c_10_tests_ms: f64,
    pub python_loop: Native,
    pub javascript_loop: Native,
    pub c_loop: Native,
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
const C_LOOP: &str = "#include <stdio.h>\nint main(void) { long long t = 0; for (long long i = 0; i < 100000000; i++) t += i * i % 7; printf(\"%lld\\n\", t); return 0; }\n";

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
    let mut run = if ext == "c" {
        // C's native time is the program's, compiled beforehand with optimisation.
        let bin = dir.path().join("loop");
        let built = Command::new(cmd)
            .args(["-O2", "-o"])
            .arg(&bin)
            .arg(&file)
            .output()
            .ok()?;
        if !built.status.success() {
            return None;
        }
        Command::new(&bin)
    } else {
        let mut c = Command::new(cmd);
        c.arg(&file);
        c
    };
    let t = Instant::now();
    let ok = run.output().ok()?.status.success();
    ok.then(|| ms(t.elapsed()))
}

/// Runs the benchmark with the runtimes in `dir` (blocking: seconds).
pub fn run(dir: &Path) -> anyhow::Result<Report> {
    // A copy of the runtimes without their compiled cache: the first load compiles, the second loads the cache.
    let fresh = tempfile::tempdir()?;
    copy_runtimes(dir, fresh.path())?;
    let t = Instant::now();
    drop(Sandbox::load(fresh.path())?);
    let compile_seconds = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let sandbox = Arc::new(Sandbox::load(fresh.path())?);
    let cached_load_seconds = t.elapsed().as_secs_f64();
    let limits = Limits::default();
    let hello = |language, source| hello_ms(&sandbox, language, source, &limits);
    let timed = |language, source| once_ms(&sandbox, language, source, &limits);
    let python_hello_ms = hello(Language::Python, "print('hello')")?;
    let javascript_hello_ms = hello(Language::Javascript, "console.log('hello')")?;
    let c_hello_ms = hello(
        Language::C,
        "#include <stdio.h>\nint main(void) { puts(\"hello\"); return 0; }",
    )?;

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
    let judge = |language, source| judge_ms(&sandbox, problem, &cases, language, source, &limits);
    let python_loop = Native {
        sandbox_ms: timed(Language::Python, PY_LOOP)?,
        native_ms: native(PY_LOOP, "python3", "py"),
    };
    let javascript_loop = Native {
        sandbox_ms: timed(Language::Javascript, JS_LOOP)?,
        native_ms: native(JS_LOOP, "node", "js"),
    };
    let c_loop = Native {
        sandbox_ms: timed(Language::C, C_LOOP)?,
        native_ms: native(C_LOOP, "cc", "c"),
    };
    Ok(Report {
        compile_seconds,
        cached_load_seconds,
        python_hello_ms,
        javascript_hello_ms,
        c_hello_ms,
        judge_python_10_tests_ms: judge(Language::Python, &problem.solutions.python)?,
        judge_javascript_10_tests_ms: judge(Language::Javascript, &problem.solutions.javascript)?,
        judge_c_10_tests_ms: judge(Language::C, &problem.solutions.c)?,
        python_loop,
        javascript_loop,
        c_loop,
        javascript_runs_per_second: throughput(
            &sandbox,
            &limits,
            Language::Javascript,
            "console.log(1)",
            200,
        ),
        python_runs_per_second: throughput(&sandbox, &limits, Language::Python, "print(1)", 40),
    })
}

/// The median of 20 runs of `source`, after one that warms the caches.
fn hello_ms(
    sandbox: &Sandbox,
    language: Language,
    source: &str,
    limits: &Limits,
) -> anyhow::Result<f64> {
    sandbox.run(language, source, b"", limits)?;
    let times = (0..20)
        .map(|_| once_ms(sandbox, language, source, limits))
        .collect::<anyhow::Result<Vec<f64>>>()?;
    Ok(median(times))
}

/// One run of `source`.
fn once_ms(
    sandbox: &Sandbox,
    language: Language,
    source: &str,
    limits: &Limits,
) -> anyhow::Result<f64> {
    let t = Instant::now();
    sandbox.run(language, source, b"", limits)?;
    Ok(ms(t.elapsed()))
}

/// The median of 10 gradings of `source` against `cases`.
fn judge_ms(
    sandbox: &Sandbox,
    problem: &catalog::Problem,
    cases: &[(usize, &catalog::TestCase)],
    language: Language,
    source: &str,
    limits: &Limits,
) -> anyhow::Result<f64> {
    let times = (0..10)
        .map(|_| {
            let t = Instant::now();
            grade(sandbox, problem, language, source, cases, limits).map(|_| ms(t.elapsed()))
        })
        .collect::<anyhow::Result<Vec<f64>>>()?;
    Ok(median(times))
}

/// Runs of `source` a second, on every core at once.
fn throughput(
    sandbox: &Arc<Sandbox>,
    limits: &Limits,
    language: Language,
    source: &'static str,
    runs: usize,
) -> f64 {
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
}

/// Copies the installed runtimes (files and folders, not the compiled cache) from `from` into `to`.
fn copy_runtimes(from: &Path, to: &Path) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            if entry.file_name() != "compiled" {
                std::fs::create_dir_all(&target)?;
                copy_runtimes(&entry.path(), &target)?;
            }
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
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
        "compiling the runtimes (once, cached)      {:>8.1} s",
        r.compile_seconds
    );
    println!(
        "loading them from the cache (each start)   {:>8.2} s",
        r.cached_load_seconds
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
        "C hello world, compiled and run (median)   {:>8.1} ms",
        r.c_hello_ms
    );
    for (language, ms) in [
        ("Python", r.judge_python_10_tests_ms),
        ("JavaScript", r.judge_javascript_10_tests_ms),
        ("C", r.judge_c_10_tests_ms),
    ] {
        println!("judging 10 tests of a {language:<10} solution {ms:>8.1} ms");
    }
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
        "C CPU-bound loop                           {:>8.0} ms ({})",
        r.c_loop.sandbox_ms,
        ratio(&r.c_loop)
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
