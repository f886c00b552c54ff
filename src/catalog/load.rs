//! Reads seed files from the copy compiled into the binary or from a folder, and parses them into a [`Catalog`].
//! Parse errors name the file and, through the TOML parser, the line, column and field.

use std::path::{Path, PathBuf};

use rust_embed::RustEmbed;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::{
    model::{BehavioralQuestion, Catalog, Company, Competency, DesignPrompt, Problem},
    validate::{SeedError, SeedErrors, validate},
};

#[derive(RustEmbed)]
#[folder = "seeds/"]
#[include = "*.toml"]
struct EmbeddedSeeds;

/// Where the seed files come from.
#[derive(Debug, Clone)]
pub enum SeedSource {
    Embedded,
    Dir(PathBuf),
}

impl SeedSource {
    pub fn from_setting(dir: Option<&Path>) -> SeedSource {
        dir.map_or(SeedSource::Embedded, |d| SeedSource::Dir(d.to_path_buf()))
    }

    /// Every `.toml` file as (path relative to the seeds folder with `/` separators, contents), sorted by path.
    fn files(&self) -> Result<Vec<(String, String)>, SeedErrors> {
        let mut files = match self {
            SeedSource::Embedded => EmbeddedSeeds::iter()
                .map(|name| {
                    let file = EmbeddedSeeds::get(&name).expect("listed file exists");
                    let text = String::from_utf8(file.data.into_owned())
                        .map_err(|_| SeedError::file(&name, "is not UTF-8 text"))?;
                    Ok((name.into_owned(), text))
                })
                .collect::<Result<Vec<_>, SeedError>>()?,
            SeedSource::Dir(dir) => read_dir_files(dir)?,
        };
        files.sort();
        Ok(files)
    }
}

impl std::fmt::Display for SeedSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SeedSource::Embedded => f.write_str("the catalog built into this binary"),
            SeedSource::Dir(d) => write!(f, "{}", d.display()),
        }
    }
}

fn read_dir_files(root: &Path) -> Result<Vec<(String, String)>, SeedError> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries =
            std::fs::read_dir(&dir).map_err(|e| SeedError::file(&dir.display().to_string(), e))?;
        for entry in entries {
            let path = entry
                .map_err(|e| SeedError::file(&dir.display().to_string(), e))?
                .path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "toml") {
                let rel = path
                    .strip_prefix(root)
                    .expect("below root")
                    .to_string_lossy()
                    .replace('\\', "/");
                let text = std::fs::read_to_string(&path).map_err(|e| SeedError::file(&rel, e))?;
                out.push((rel, text));
            }
        }
    }
    Ok(out)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CompetencyFile {
    competency: Vec<Competency>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BehavioralFile {
    question: Vec<BehavioralQuestion>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DesignFile {
    prompt: Vec<DesignPrompt>,
}

/// A parsed and validated catalog with a fingerprint of the files it came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub catalog: Catalog,
    /// SHA-256 over every file's path and contents: equal fingerprints mean an identical catalog.
    pub fingerprint: String,
}

/// Parses and validates every seed file. All problems found are reported together.
pub fn load(source: &SeedSource) -> Result<Loaded, SeedErrors> {
    let files = source.files()?;
    let mut hasher = Sha256::new();
    for (path, text) in &files {
        hasher.update(path.as_bytes());
        hasher.update([0]);
        hasher.update(text.as_bytes());
        hasher.update([0]);
    }
    let fingerprint = format!("{:x}", hasher.finalize());

    let mut catalog = Catalog::default();
    let mut errors = Vec::new();
    let mut seen_required = [false; 3];
    for (path, text) in &files {
        let result = match path.as_str() {
            "competencies.toml" => {
                seen_required[0] = true;
                parse::<CompetencyFile>(path, text).map(|f| catalog.competencies = f.competency)
            }
            "questions/behavioral.toml" => {
                seen_required[1] = true;
                parse::<BehavioralFile>(path, text).map(|f| catalog.behavioral = f.question)
            }
            "questions/system_design.toml" => {
                seen_required[2] = true;
                parse::<DesignFile>(path, text).map(|f| catalog.design = f.prompt)
            }
            p if p.starts_with("companies/") => parse::<Company>(path, text).and_then(|c| {
                named_after_id(path, "companies", &c.id).map(|()| catalog.companies.push(c))
            }),
            p if p.starts_with("problems/") => parse::<Problem>(path, text).and_then(|p| {
                named_after_id(path, "problems", &p.id).map(|()| catalog.problems.push(p))
            }),
            _ => Err(SeedError::file(
                path,
                "is not a known seed file (see seeds/README.md for the layout)",
            )),
        };
        if let Err(e) = result {
            errors.push(e);
        }
    }
    for (seen, name) in seen_required.iter().zip([
        "competencies.toml",
        "questions/behavioral.toml",
        "questions/system_design.toml",
    ]) {
        if !seen {
            errors.push(SeedError::file(name, "is missing"));
        }
    }
    if errors.is_empty() {
        validate(&catalog, &mut errors);
    }
    if errors.is_empty() {
        Ok(Loaded {
            catalog,
            fingerprint,
        })
    } else {
        Err(SeedErrors(errors))
    }
}

fn parse<T: for<'de> Deserialize<'de>>(path: &str, text: &str) -> Result<T, SeedError> {
    toml::from_str(text).map_err(|e| SeedError::file(path, e.to_string().trim_end()))
}

fn named_after_id(path: &str, folder: &str, id: &str) -> Result<(), SeedError> {
    if path == format!("{folder}/{id}.toml") {
        Ok(())
    } else {
        Err(SeedError::at(
            path,
            id,
            "id",
            format!("must match the file name (expected {folder}/{id}.toml)"),
        ))
    }
}
