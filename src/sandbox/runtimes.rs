//! Finding, checking and compiling the runtimes listed in `sandbox/manifest.toml` (installed by
//! `scripts/fetch-runtimes.py`): each file is checked against the manifest's sha256 and each folder (C's compiler and
//! its C library) against the package's folder digest before anything of it runs. Compiling a runtime to machine code
//! takes seconds (Python's about 6 s), so the compiled module is kept in a cache beside the runtimes and loaded in
//! milliseconds by later processes.

use std::{
    hash::{Hash, Hasher},
    path::{Path, PathBuf},
};

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};
use wasmtime::{Engine, Module};

use super::Language;

const MANIFEST: &str = include_str!("../../sandbox/manifest.toml");

#[derive(serde::Deserialize)]
struct Manifest {
    runtime: Vec<Entry>,
}

#[derive(serde::Deserialize)]
struct Entry {
    language: String,
    file: String,
    sha256: String,
    #[serde(default)]
    tree: Vec<Tree>,
}

#[derive(serde::Deserialize)]
struct Tree {
    dir: String,
    sha256: String,
}

fn hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// The package's folder digest: sha256 over the folder's files in path order, each as `path NUL contents NUL`.
pub fn tree_digest(root: &Path) -> anyhow::Result<String> {
    let mut files = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in
            std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))?
        {
            let entry = entry?;
            let kind = entry.file_type()?;
            if kind.is_dir() {
                pending.push(entry.path());
            } else if kind.is_file() {
                let rel = entry
                    .path()
                    .strip_prefix(root)?
                    .to_string_lossy()
                    .replace('\\', "/");
                files.push(rel);
            } else {
                bail!("{} is neither a file nor a folder", entry.path().display());
            }
        }
    }
    files.sort();
    let mut h = Sha256::new();
    for rel in files {
        h.update(rel.as_bytes());
        h.update([0]);
        h.update(std::fs::read(root.join(&rel))?);
        h.update([0]);
    }
    Ok(format!("{:x}", h.finalize()))
}

/// A checked runtime: its module, and the folders it needs mounted (C's compiler reads its headers and libraries).
pub struct Runtime {
    pub module: Module,
    pub folders: Vec<PathBuf>,
}

/// Loads `language`'s runtime from `dir`, checked against the manifest, compiled or taken from the cache.
pub fn load(engine: &Engine, dir: &Path, language: Language) -> anyhow::Result<Runtime> {
    let manifest: Manifest = toml::from_str(MANIFEST).expect("sandbox/manifest.toml is valid");
    let entry = manifest
        .runtime
        .iter()
        .find(|r| r.language == language.as_str())
        .context("a runtime in the manifest")?;
    let missing = || {
        format!(
            "(install the runtimes with scripts/fetch-runtimes.py {})",
            dir.display()
        )
    };
    let mut folders = Vec::new();
    for tree in &entry.tree {
        let path = dir.join(&tree.dir);
        let got = tree_digest(&path)
            .with_context(|| format!("checking {} {}", path.display(), missing()))?;
        if got != tree.sha256 {
            bail!(
                "{} has digest {got}, not {} from sandbox/manifest.toml {}",
                path.display(),
                tree.sha256,
                missing()
            );
        }
        folders.push(path);
    }
    let path = dir.join(&entry.file);
    let bytes = std::fs::read(&path)
        .with_context(|| format!("reading {} {}", path.display(), missing()))?;
    let got = hex(&bytes);
    if got != entry.sha256 {
        bail!(
            "{} has sha256 {got}, not {} from sandbox/manifest.toml {}",
            path.display(),
            entry.sha256,
            missing()
        );
    }
    let module = cached(
        engine,
        &dir.join("compiled"),
        language.as_str(),
        &bytes,
        &got,
    )?;
    Ok(Runtime { module, folders })
}

/// Compiles `bytes` (whose sha256 is `sha`), or loads the result of an earlier compile from `cache`. A cache that
/// cannot be written (a read-only installation) only costs the compile.
fn cached(
    engine: &Engine,
    cache: &Path,
    name: &str,
    bytes: &[u8],
    sha: &str,
) -> anyhow::Result<Module> {
    let mut h = std::hash::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut h);
    let stem = format!("{name}-{}-{:016x}", &sha[..16], h.finish());
    let file = cache.join(format!("{stem}.cwasm"));
    let seal = cache.join(format!("{stem}.sha256"));
    if let Some(module) = load_compiled(engine, &file, &seal) {
        return Ok(module);
    }
    let module = Module::new(engine, bytes)
        .map_err(|e| super::runner::wasm_error(&format!("compiling {name}"), e))?;
    if let Err(e) = store_compiled(&module, cache, &file, &seal) {
        tracing::warn!(
            "could not cache the compiled {name} runtime in {}: {e:#}",
            cache.display()
        );
    }
    Ok(module)
}

/// The compiled module in `file`, if its sha256 matches the one written beside it when it was made.
fn load_compiled(engine: &Engine, file: &Path, seal: &Path) -> Option<Module> {
    let want = std::fs::read_to_string(seal).ok()?;
    let bytes = std::fs::read(file).ok()?;
    if hex(&bytes) != want.trim() {
        tracing::warn!(
            "{} does not match its checksum; compiling again",
            file.display()
        );
        return None;
    }
    deserialize(engine, &bytes)
        .map_err(|e| tracing::warn!("{} does not load ({e:?}); compiling again", file.display()))
        .ok()
}

#[allow(unsafe_code)]
fn deserialize(engine: &Engine, bytes: &[u8]) -> wasmtime::Result<Module> {
    // SAFETY: wasmtime requires that the bytes come from `Module::serialize` of a compatible engine, since they are
    // machine code that is run as is. They do: this process's `store_compiled` wrote them into the runtimes folder
    // (as trusted as the runtimes themselves), with the sha256 `load_compiled` just checked, under a name that holds
    // the engine's compatibility hash; wasmtime also checks its version and settings in the header.
    unsafe { Module::deserialize(engine, bytes) }
}

fn store_compiled(module: &Module, cache: &Path, file: &Path, seal: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(cache)?;
    let bytes = module.serialize().map_err(|e| anyhow::anyhow!("{e:?}"))?;
    for (path, contents) in [(file, bytes.as_slice()), (seal, hex(&bytes).as_bytes())] {
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, contents)?;
        std::fs::rename(&tmp, path)?;
    }
    Ok(())
}
