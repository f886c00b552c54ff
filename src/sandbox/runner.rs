//! Runs a program in a language runtime compiled to WebAssembly (WASI preview 1) with wasmtime, and nothing of the
//! host: a private temporary directory mounted as `/work` is the only file system, there are no environment
//! variables, no network and no threads. Per run: a wall-clock deadline (epoch interruption, 10 ms ticks), a memory
//! cap (a resource limiter that records when it refuses), and stdout and stderr caps (the pipes refuse to grow).
//! Blocking: call it off the async workers.

use std::{
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};
use wasmtime::{Config, Engine, InstancePre, Linker, Module, ResourceLimiter, Store, Trap};
use wasmtime_wasi::{
    FsPerms, I32Exit, WasiCtxBuilder,
    p1::{self, WasiP1Ctx},
    p2::pipe::{MemoryInputPipe, MemoryOutputPipe},
};

use super::Language;

const TICK: Duration = Duration::from_millis(10);
const MANIFEST: &str = include_str!("../../sandbox/manifest.toml");

#[derive(Debug, Clone)]
pub struct Limits {
    pub wall: Duration,
    pub memory_bytes: usize,
    pub output_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            wall: Duration::from_secs(10),
            memory_bytes: 256 << 20,
            output_bytes: 64 << 10,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    TimeLimit,
    MemoryLimit,
    /// The runtime itself failed (a trap in the interpreter, not the candidate's exception).
    Trap(String),
}

#[derive(Debug, Clone)]
pub struct Output {
    pub exit: Exit,
    pub stdout: String,
    pub stderr: String,
    /// The program tried to write more than the cap.
    pub output_limited: bool,
    pub time_ms: u64,
    pub memory_kb: u64,
}

struct Limiter {
    max: usize,
    peak: usize,
    refused: bool,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max {
            self.refused = true;
            return Ok(false);
        }
        self.peak = self.peak.max(desired);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 1 << 20)
    }
}

struct Host {
    wasi: WasiP1Ctx,
    limiter: Limiter,
}

/// wasmtime's errors are not `std::error::Error`s; this keeps their message and adds what was being done.
fn wasm_error(doing: &str, e: wasmtime::Error) -> anyhow::Error {
    anyhow::anyhow!("{doing}: {e:?}")
}

#[derive(serde::Deserialize)]
struct Manifest {
    runtime: Vec<RuntimeEntry>,
}

#[derive(serde::Deserialize)]
struct RuntimeEntry {
    language: String,
    file: String,
    sha256: String,
}

/// The loaded runtimes, compiled once. Cheap to share (`Arc`) between threads.
pub struct Sandbox {
    engine: Engine,
    python: InstancePre<Host>,
    javascript: InstancePre<Host>,
    stop_ticker: Arc<AtomicBool>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sandbox")
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.stop_ticker.store(true, Ordering::Relaxed);
    }
}

impl Sandbox {
    /// Loads and compiles the runtimes in `dir` (installed by `scripts/fetch-runtimes.py`), checking each against
    /// the manifest's sha256 first. Compiling Python's runtime takes seconds: do it once per process.
    pub fn load(dir: &Path) -> anyhow::Result<Sandbox> {
        let manifest: Manifest = toml::from_str(MANIFEST).expect("sandbox/manifest.toml is valid");
        let mut config = Config::new();
        config.epoch_interruption(true);
        let engine = Engine::new(&config).map_err(|e| wasm_error("starting wasmtime", e))?;
        let mut linker: Linker<Host> = Linker::new(&engine);
        p1::add_to_linker_sync(&mut linker, |h: &mut Host| &mut h.wasi)
            .map_err(|e| wasm_error("linking WASI", e))?;
        // wasmtime-wasi turns exit statuses of 126 and above into an error without the status; a program's exit
        // status is the program's business, so every status ends the run as an ordinary exit.
        linker.allow_shadowing(true);
        linker
            .func_wrap(
                "wasi_snapshot_preview1",
                "proc_exit",
                |status: i32| -> wasmtime::Result<()> { Err(I32Exit(status).into()) },
            )
            .map_err(|e| wasm_error("linking proc_exit", e))?;
        let module = |language: &str| -> anyhow::Result<InstancePre<Host>> {
            let entry = manifest
                .runtime
                .iter()
                .find(|r| r.language == language)
                .context("a runtime in the manifest")?;
            let path = dir.join(&entry.file);
            let bytes = std::fs::read(&path).with_context(|| {
                format!(
                    "reading {} (install it with scripts/fetch-runtimes.py {})",
                    path.display(),
                    dir.display()
                )
            })?;
            let got = format!("{:x}", Sha256::digest(&bytes));
            if got != entry.sha256 {
                bail!(
                    "{} has sha256 {got}, not {} from sandbox/manifest.toml",
                    path.display(),
                    entry.sha256
                );
            }
            let module = Module::new(&engine, &bytes)
                .map_err(|e| wasm_error(&format!("compiling {}", path.display()), e))?;
            linker
                .instantiate_pre(&module)
                .map_err(|e| wasm_error("linking WASI", e))
        };
        let python = module("python")?;
        let javascript = module("javascript")?;
        let stop_ticker = Arc::new(AtomicBool::new(false));
        let (ticker_engine, stop) = (engine.clone(), stop_ticker.clone());
        std::thread::Builder::new()
            .name("rehearse-sandbox-clock".into())
            .spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(TICK);
                    ticker_engine.increment_epoch();
                }
            })?;
        Ok(Sandbox {
            engine,
            python,
            javascript,
            stop_ticker,
        })
    }

    /// Runs `source` as a program of `language` with `stdin`, within `limits`.
    pub fn run(
        &self,
        language: Language,
        source: &str,
        stdin: &[u8],
        limits: &Limits,
    ) -> anyhow::Result<Output> {
        let (pre, file, args): (&InstancePre<Host>, &str, &[&str]) = match language {
            Language::Python => (&self.python, "main.py", &["python", "-S", "/work/main.py"]),
            Language::Javascript => (
                &self.javascript,
                "main.js",
                &["qjs", "--std", "/work/main.js"],
            ),
            Language::C => bail!("C does not run in the sandbox yet"),
        };
        let work = tempfile::tempdir().context("making the run's private directory")?;
        std::fs::write(work.path().join(file), source)?;
        let stdout = MemoryOutputPipe::new(limits.output_bytes);
        let stderr = MemoryOutputPipe::new(limits.output_bytes);
        let wasi = WasiCtxBuilder::new()
            .args(args)
            .stdin(MemoryInputPipe::new(stdin.to_vec()))
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .preopened_dir(work.path(), "/work", FsPerms::ReadWrite)
            .map_err(|e| wasm_error("mounting the work directory", e))?
            .build_p1();
        let limiter = Limiter {
            max: limits.memory_bytes,
            peak: 0,
            refused: false,
        };
        let mut store = Store::new(&self.engine, Host { wasi, limiter });
        store.limiter(|h| &mut h.limiter);
        store.set_epoch_deadline((limits.wall.as_millis() / TICK.as_millis()).max(1) as u64);
        store.epoch_deadline_trap();
        let started = Instant::now();
        let result = pre.instantiate(&mut store).and_then(|instance| {
            let start = instance.get_typed_func::<(), ()>(&mut store, "_start")?;
            start.call(&mut store, ())
        });
        let time_ms = started.elapsed().as_millis() as u64;
        let limiter = &store.data().limiter;
        let exit = match result {
            Ok(()) => Exit::Code(0),
            Err(e) => {
                if let Some(code) = e.downcast_ref::<I32Exit>() {
                    Exit::Code(code.0)
                } else if matches!(e.downcast_ref::<Trap>(), Some(Trap::Interrupt)) {
                    Exit::TimeLimit
                } else if limiter.refused {
                    Exit::MemoryLimit
                } else {
                    Exit::Trap(format!("{e}"))
                }
            }
        };
        // A program that hit the memory cap usually ends with its own error (Python's MemoryError): the cap is why.
        let exit = if limiter.refused && matches!(exit, Exit::Code(c) if c != 0) {
            Exit::MemoryLimit
        } else {
            exit
        };
        let out = stdout.contents();
        let err = stderr.contents();
        let output_limited = out.len() >= limits.output_bytes
            || err.len() >= limits.output_bytes
            || matches!(&exit, Exit::Trap(t) if t.contains("beyond capacity"));
        Ok(Output {
            exit,
            stdout: String::from_utf8_lossy(&out).into_owned(),
            stderr: String::from_utf8_lossy(&err).into_owned(),
            output_limited,
            time_ms,
            memory_kb: (limiter.peak / 1024) as u64,
        })
    }
}
