//! Runs a program in a language runtime compiled to WebAssembly (WASI preview 1) with wasmtime, and nothing of the
//! host: a private temporary directory mounted as `/work` is the only file system, there are no environment
//! variables, no network and no threads. Per run: a wall-clock deadline (epoch interruption, 10 ms ticks), a memory
//! cap (a resource limiter that records when it refuses), and stdout and stderr caps (the pipes refuse to grow).
//! C is compiled first, inside the sandbox too, by TinyCC built as WebAssembly: the compiler sees its own headers and
//! libraries (read-only) and the run's directory, and its program then runs like the other runtimes.
//! Blocking: call it off the async workers.

use std::{
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::Context;
use wasmtime::{Config, Engine, InstancePre, Linker, Module, ResourceLimiter, Store, Trap};
use wasmtime_wasi::{
    FsPerms, I32Exit, WasiCtxBuilder,
    p1::{self, WasiP1Ctx},
    p2::pipe::{MemoryInputPipe, MemoryOutputPipe},
};

use super::{Language, runtimes};

const TICK: Duration = Duration::from_millis(10);

#[derive(Debug, Clone)]
pub struct Limits {
    pub wall: Duration,
    pub memory_bytes: usize,
    pub output_bytes: usize,
    /// What the program may keep in `/work` (its files' sizes together); checked every few milliseconds.
    pub disk_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            wall: Duration::from_secs(10),
            memory_bytes: 256 << 20,
            output_bytes: 64 << 10,
            disk_bytes: 64 << 20,
        }
    }
}

/// Files and folders a program may make in `/work`.
pub const MAX_WORK_ENTRIES: usize = 1_000;
/// How often (in clock ticks) the run's folder is measured against its quota.
const DISK_CHECK_TICKS: u64 = 2;

/// A run stopped for filling its folder past [`Limits::disk_bytes`] or [`MAX_WORK_ENTRIES`].
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct DiskLimit(String);

/// Whether the folder `dir` is within `bytes` and [`MAX_WORK_ENTRIES`]; why not, if not. Links are counted, not
/// followed.
fn within_quota(dir: &Path, bytes: u64) -> Result<(), String> {
    let (mut size, mut entries) = (0u64, 0usize);
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        let Ok(read) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in read.flatten() {
            entries += 1;
            if entries > MAX_WORK_ENTRIES {
                return Err(format!(
                    "The program made more than {MAX_WORK_ENTRIES} files; it was stopped."
                ));
            }
            let Ok(meta) = e.path().symlink_metadata() else {
                continue;
            };
            if meta.is_dir() {
                pending.push(e.path());
            } else {
                size = size.saturating_add(meta.len());
            }
            if size > bytes {
                return Err(format!(
                    "The program wrote more than {} MiB of files; it was stopped.",
                    bytes >> 20
                ));
            }
        }
    }
    Ok(())
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
    /// Why a compiled language's program was not built (the compiler's messages); nothing ran.
    pub compile_error: Option<String>,
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
pub(super) fn wasm_error(doing: &str, e: wasmtime::Error) -> anyhow::Error {
    anyhow::anyhow!("{doing}: {e:?}")
}

/// How long TinyCC may take to compile a program (it takes tens of milliseconds for an interview's solution).
const COMPILE_WALL: Duration = Duration::from_secs(10);
/// The largest program TinyCC may write.
const MAX_BINARY_BYTES: u64 = 16 << 20;

/// The loaded runtimes, compiled once. Cheap to share (`Arc`) between threads.
pub struct Sandbox {
    engine: Engine,
    linker: Linker<Host>,
    python: InstancePre<Host>,
    javascript: InstancePre<Host>,
    tcc: InstancePre<Host>,
    /// The compiler's own folders (its headers and wasi-libc), mounted read-only while it compiles, never while the
    /// program runs.
    c_folders: Vec<(PathBuf, String)>,
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
    /// Loads the runtimes in `dir` (installed by `scripts/fetch-runtimes.py`), each checked against the manifest
    /// first, and compiles them or takes them from the cache of compiled modules.
    pub fn load(dir: &Path) -> anyhow::Result<Sandbox> {
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
        // TinyCC and the programs it writes import a chmod of their own; there is nothing to change, so it succeeds.
        linker
            .func_wrap("shellsim", "path_chmod", |_: i32, _: i32, _: i32| -> i32 {
                0
            })
            .map_err(|e| wasm_error("linking path_chmod", e))?;
        let pre = |language: Language| -> anyhow::Result<(InstancePre<Host>, Vec<PathBuf>)> {
            let rt = runtimes::load(&engine, dir, language)?;
            let pre = linker
                .instantiate_pre(&rt.module)
                .map_err(|e| wasm_error("linking WASI", e))?;
            Ok((pre, rt.folders))
        };
        let (python, _) = pre(Language::Python)?;
        let (javascript, _) = pre(Language::Javascript)?;
        let (tcc, folders) = pre(Language::C)?;
        let c_folders = folders
            .into_iter()
            .map(|host| {
                let guest = format!(
                    "/{}",
                    host.file_name().unwrap_or_default().to_string_lossy()
                );
                (host, guest)
            })
            .collect();
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
            linker,
            python,
            javascript,
            tcc,
            c_folders,
            stop_ticker,
        })
    }

    /// Runs `source` as a program of `language` with `stdin`, within `limits`. C is first compiled inside the
    /// sandbox (within its own deadline); when that fails, the output says why in `compile_error`.
    pub fn run(
        &self,
        language: Language,
        source: &str,
        stdin: &[u8],
        limits: &Limits,
    ) -> anyhow::Result<Output> {
        let work = tempfile::tempdir().context("making the run's private directory")?;
        match language {
            Language::Python => {
                std::fs::write(work.path().join("main.py"), source)?;
                let args = ["python", "-S", "/work/main.py"];
                self.execute(&self.python, &args, work.path(), &[], stdin, limits)
            }
            Language::Javascript => {
                std::fs::write(work.path().join("main.js"), source)?;
                let args = ["qjs", "--std", "/work/main.js"];
                self.execute(&self.javascript, &args, work.path(), &[], stdin, limits)
            }
            Language::C => {
                let pre = match self.compile_c(source, work.path(), limits)? {
                    Ok(pre) => pre,
                    Err(failed) => return Ok(failed),
                };
                self.execute(&pre, &["main"], work.path(), &[], stdin, limits)
            }
        }
    }

    /// Compiles C `source` with TinyCC inside the sandbox into a module ready to run, or the failed output.
    fn compile_c(
        &self,
        source: &str,
        work: &Path,
        limits: &Limits,
    ) -> anyhow::Result<Result<InstancePre<Host>, Output>> {
        std::fs::write(work.join("main.c"), source)?;
        let args = ["tcc", "-o", "/work/main.wasm", "/work/main.c"];
        let compile_limits = Limits {
            wall: COMPILE_WALL,
            ..limits.clone()
        };
        let out = self.execute(
            &self.tcc,
            &args,
            work,
            &self.c_folders,
            b"",
            &compile_limits,
        )?;
        let binary = work.join("main.wasm");
        let why = match out.exit {
            Exit::Code(0) => None,
            // Messages name files as the compiler saw them; the candidate knows their file without the folder.
            Exit::Code(_) => Some(out.stderr.replace("/work/", "")),
            Exit::TimeLimit => Some("The compiler ran out of time.".to_string()),
            Exit::MemoryLimit => Some("The compiler ran out of memory.".to_string()),
            Exit::Trap(ref t) => Some(format!("The compiler failed: {t}")),
        };
        let size = std::fs::metadata(&binary).map(|m| m.len()).unwrap_or(0);
        let why = why.or_else(|| {
            (size == 0 || size > MAX_BINARY_BYTES).then(|| {
                format!(
                    "The compiler wrote no program or one over {} MiB.",
                    MAX_BINARY_BYTES >> 20
                )
            })
        });
        let why = match why {
            Some(why) => why,
            None => {
                let bytes = std::fs::read(&binary)?;
                std::fs::remove_file(&binary)?;
                let loaded = Module::new(&self.engine, &bytes)
                    .and_then(|module| self.linker.instantiate_pre(&module));
                match loaded {
                    Ok(pre) => return Ok(Ok(pre)),
                    Err(e) => format!("The compiled program does not load: {e}"),
                }
            }
        };
        Ok(Err(Output {
            stderr: why.clone(),
            compile_error: Some(why),
            ..out
        }))
    }

    /// Runs the module `pre` with `args`, the run's `work` folder as `/work` and `folders` mounted read-only.
    fn execute(
        &self,
        pre: &InstancePre<Host>,
        args: &[&str],
        work: &Path,
        folders: &[(PathBuf, String)],
        stdin: &[u8],
        limits: &Limits,
    ) -> anyhow::Result<Output> {
        let stdout = MemoryOutputPipe::new(limits.output_bytes);
        let stderr = MemoryOutputPipe::new(limits.output_bytes);
        let wasi = wasi_context(args, work, folders, stdin, &stdout, &stderr)?;
        let limiter = Limiter {
            max: limits.memory_bytes,
            peak: 0,
            refused: false,
        };
        let mut store = Store::new(&self.engine, Host { wasi, limiter });
        store.limiter(|h| &mut h.limiter);
        arm_deadline(&mut store, work, limits);
        let started = Instant::now();
        let result = pre.instantiate(&mut store).and_then(|instance| {
            let start = instance.get_typed_func::<(), ()>(&mut store, "_start")?;
            start.call(&mut store, ())
        });
        let time_ms = started.elapsed().as_millis() as u64;
        let limiter = &store.data().limiter;
        let (exit, disk_limited) = exit_of(result, limiter);
        let out = stdout.contents();
        let err = stderr.contents();
        let output_limited = out.len() >= limits.output_bytes
            || err.len() >= limits.output_bytes
            || matches!(&exit, Exit::Trap(t) if t.contains("beyond capacity"));
        Ok(Output {
            exit,
            stdout: String::from_utf8_lossy(&out).into_owned(),
            // The candidate reads stderr: it says why the run was stopped.
            stderr: match disk_limited {
                Some(why) => format!("{}\n{why}", String::from_utf8_lossy(&err))
                    .trim_start()
                    .to_string(),
                None => String::from_utf8_lossy(&err).into_owned(),
            },
            output_limited,
            time_ms,
            memory_kb: (limiter.peak / 1024) as u64,
            compile_error: None,
        })
    }
}

/// The WASI context of a run: its arguments and stdin, the `stdout` and `stderr` pipes, `work` mounted read-write
/// as `/work` and `folders` read-only.
fn wasi_context(
    args: &[&str],
    work: &Path,
    folders: &[(PathBuf, String)],
    stdin: &[u8],
    stdout: &MemoryOutputPipe,
    stderr: &MemoryOutputPipe,
) -> anyhow::Result<WasiP1Ctx> {
    let mut wasi = WasiCtxBuilder::new();
    wasi.args(args)
        .stdin(MemoryInputPipe::new(stdin.to_vec()))
        .stdout(stdout.clone())
        .stderr(stderr.clone())
        .preopened_dir(work, "/work", FsPerms::ReadWrite)
        .map_err(|e| wasm_error("mounting the work directory", e))?;
    for (host, guest) in folders {
        wasi.preopened_dir(host, guest, FsPerms::ReadOnly)
            .map_err(|e| wasm_error("mounting the compiler's folders", e))?;
    }
    Ok(wasi.build_p1())
}

/// Checks on every clock tick: the wall-clock deadline, and every few ticks the size of the `work` folder.
fn arm_deadline(store: &mut Store<Host>, work: &Path, limits: &Limits) {
    let deadline = (limits.wall.as_millis() / TICK.as_millis()).max(1) as u64;
    let (folder, quota) = (work.to_path_buf(), limits.disk_bytes);
    let mut ticks = 0u64;
    store.epoch_deadline_callback(move |_| {
        ticks += 1;
        if ticks >= deadline {
            return Ok(wasmtime::UpdateDeadline::Interrupt);
        }
        if ticks.is_multiple_of(DISK_CHECK_TICKS)
            && let Err(why) = within_quota(&folder, quota)
        {
            return Err(DiskLimit(why).into());
        }
        Ok(wasmtime::UpdateDeadline::Continue(1))
    });
    store.set_epoch_deadline(1);
}

/// How a run ended, from its result and what the memory limiter saw, and why the disk quota stopped it if it did.
fn exit_of(result: wasmtime::Result<()>, limiter: &Limiter) -> (Exit, Option<String>) {
    let mut disk_limited = None;
    let exit = match result {
        Ok(()) => Exit::Code(0),
        Err(e) => {
            if let Some(code) = e.downcast_ref::<I32Exit>() {
                Exit::Code(code.0)
            } else if matches!(e.downcast_ref::<Trap>(), Some(Trap::Interrupt)) {
                Exit::TimeLimit
            } else if let Some(DiskLimit(why)) = e.downcast_ref::<DiskLimit>() {
                disk_limited = Some(why.clone());
                Exit::Trap(why.clone())
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
    (exit, disk_limited)
}
