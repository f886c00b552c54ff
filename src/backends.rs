//! Which backend does what: the settings' `--llm`, `--stt` and `--tts` values ([`Spec`]), resolved against the
//! installed models, and opened. A backend that cannot be opened never stops the appliance: the interviewer
//! falls back to the scripted one and speech to text only, and [`Status`] says why (`rehearse doctor`, logs).

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use anyhow::bail;

use crate::{
    llm::{Llm, local::LocalLlm, scripted::Scripted},
    models::{Manifest, Purpose},
    stt::whisper::Whisper,
    tts::piper::Piper,
    vad::Silero,
};

/// The sets `auto` looks in, best first.
const AUTO_SETS: [&str; 3] = ["default", "large", "tiny"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spec {
    /// The best installed local model, else scripted (LLM) or off (speech).
    Auto,
    /// Text only (speech roles).
    Off,
    /// The deterministic interviewer that needs no model (LLM role).
    Scripted,
    /// A manifest model's name, or a path to the user's own file.
    Local(String),
}

impl Spec {
    pub fn parse(text: &str, role: Purpose) -> anyhow::Result<Spec> {
        let t = text.trim();
        let spec = match t {
            "auto" => Spec::Auto,
            "off" => Spec::Off,
            "scripted" => Spec::Scripted,
            _ => match t.strip_prefix("local:") {
                Some(rest) if !rest.trim().is_empty() => Spec::Local(rest.trim().to_string()),
                _ => bail!(
                    "--{role} {t:?} is not a backend: use auto, {}or local:NAME",
                    if role == Purpose::Llm {
                        "scripted, "
                    } else {
                        "off, "
                    }
                ),
            },
        };
        match (&spec, role) {
            (Spec::Off, Purpose::Llm) => bail!("--llm cannot be off: use scripted for no model"),
            (Spec::Scripted, r) if r != Purpose::Llm => {
                bail!("--{role} cannot be scripted: use off for text only")
            }
            _ => Ok(spec),
        }
    }
}

impl std::fmt::Display for Spec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Spec::Auto => f.write_str("auto"),
            Spec::Off => f.write_str("off"),
            Spec::Scripted => f.write_str("scripted"),
            Spec::Local(s) => write!(f, "local:{s}"),
        }
    }
}

/// What became of a role's backend.
#[derive(Debug, Clone)]
pub struct Status {
    pub role: Purpose,
    pub spec: Spec,
    /// What runs now, e.g. `local:qwen2.5-coder-0.5b` or `scripted`.
    pub running: String,
    /// Details when it loaded (file, load time), or the reason it did not.
    pub detail: String,
    /// False when the wanted backend failed and a fallback runs instead.
    pub ok: bool,
}

/// Which model file a spec means: `None` for scripted/off (or auto with nothing installed).
pub fn choose(
    spec: &Spec,
    role: Purpose,
    models_dir: &Path,
) -> anyhow::Result<Option<(String, PathBuf)>> {
    let manifest = Manifest::builtin();
    match spec {
        Spec::Off | Spec::Scripted => Ok(None),
        Spec::Local(name) => {
            let path = manifest.locate(models_dir, name, role)?;
            Ok(Some((name.clone(), path)))
        }
        Spec::Auto => Ok(AUTO_SETS.iter().find_map(|set| {
            let model = manifest.in_set(set, role)?;
            let path = manifest.locate(models_dir, &model.name, role).ok()?;
            Some((model.name.clone(), path))
        })),
    }
}

/// Opens the model a spec names with `load`, or says why not. `None` with an ok status means the role is off
/// (or `auto` found nothing installed); `None` with a failed status means the wanted model could not be used.
fn open<T>(
    spec: &Spec,
    role: Purpose,
    models_dir: &Path,
    load: impl FnOnce(&str, &Path) -> anyhow::Result<(T, String)>,
) -> (Option<T>, Status) {
    let status = |running: String, detail: String, ok: bool| Status {
        role,
        spec: spec.clone(),
        running,
        detail,
        ok,
    };
    match choose(spec, role, models_dir) {
        Ok(None) if matches!(spec, Spec::Off | Spec::Scripted) => {
            (None, status(spec.to_string(), "as configured".into(), true))
        }
        Ok(None) => (
            None,
            status(
                "off".into(),
                format!("no {role} model installed (`rehearse models fetch`)"),
                true,
            ),
        ),
        Err(e) => (None, status("off".into(), format!("{e:#}"), false)),
        Ok(Some((name, path))) => match load(&name, &path) {
            Ok((model, detail)) => (Some(model), status(format!("local:{name}"), detail, true)),
            Err(e) => (None, status("off".into(), format!("{e:#}"), false)),
        },
    }
}

/// Opens the interviewer, its kept conversations' caches within `caches`. Never fails: when no model can be used,
/// the scripted interviewer runs.
pub fn open_llm(
    spec: &Spec,
    models_dir: &Path,
    caches: crate::llm::local::CacheLimits,
) -> (Arc<dyn Llm>, Status) {
    let (llm, mut status) = open(spec, Purpose::Llm, models_dir, |name, path| {
        let llm = LocalLlm::load(path, name)?;
        llm.set_cache_limits(caches);
        let i = llm.info();
        let detail = format!(
            "{} ({}, {} template, {} tokens of context, loaded in {:.1} s)",
            i.path.display(),
            i.arch,
            i.template,
            i.context,
            i.load_time.as_secs_f64()
        );
        Ok((llm, detail))
    });
    match llm {
        Some(llm) => (Arc::new(llm), status),
        None => {
            if status.running == "off" {
                status.running = "scripted".into();
                status.detail += "; the scripted interviewer runs instead";
            }
            (Arc::new(Scripted), status)
        }
    }
}

/// Opens speech-to-text. `None`: candidates type their answers.
pub fn open_stt(spec: &Spec, models_dir: &Path) -> (Option<Arc<Whisper>>, Status) {
    let (stt, status) = open(spec, Purpose::Stt, models_dir, |_, path| {
        let started = std::time::Instant::now();
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let whisper = Whisper::load(path, threads)?;
        let detail = format!(
            "{} (loaded in {:.1} s)",
            path.display(),
            started.elapsed().as_secs_f64()
        );
        Ok((whisper, detail))
    });
    (stt.map(Arc::new), status)
}

/// Opens the voice (with onnxruntime from the models directory). `None`: interviews are text only.
pub fn open_tts(spec: &Spec, models_dir: &Path) -> (Option<Arc<Piper>>, Status) {
    let (tts, status) = open(spec, Purpose::Tts, models_dir, |_, path| {
        let runtime = Manifest::builtin().locate(models_dir, "onnxruntime", Purpose::Runtime)?;
        let started = std::time::Instant::now();
        let piper = Piper::load(path, &runtime)?;
        let detail = format!(
            "{} ({} Hz, loaded in {:.1} s)",
            path.display(),
            piper.sample_rate(),
            started.elapsed().as_secs_f64()
        );
        Ok((piper, detail))
    });
    (tts.map(Arc::new), status)
}

/// Opens voice activity detection (with onnxruntime from the models directory). `None`: loudness decides what
/// is speech.
pub fn open_vad(spec: &Spec, models_dir: &Path) -> (Option<Arc<Silero>>, Status) {
    let (vad, status) = open(spec, Purpose::Vad, models_dir, |_, path| {
        let runtime = Manifest::builtin().locate(models_dir, "onnxruntime", Purpose::Runtime)?;
        let started = std::time::Instant::now();
        let silero = Silero::load(path, &runtime)?;
        let detail = format!(
            "{} (loaded in {:.2} s)",
            path.display(),
            started.elapsed().as_secs_f64()
        );
        Ok((silero, detail))
    });
    (vad.map(Arc::new), status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_per_role() {
        assert_eq!(Spec::parse("auto", Purpose::Llm).unwrap(), Spec::Auto);
        assert_eq!(
            Spec::parse("scripted", Purpose::Llm).unwrap(),
            Spec::Scripted
        );
        assert_eq!(
            Spec::parse("local:qwen2.5-coder-0.5b", Purpose::Llm).unwrap(),
            Spec::Local("qwen2.5-coder-0.5b".into())
        );
        assert_eq!(Spec::parse("off", Purpose::Stt).unwrap(), Spec::Off);
        assert!(Spec::parse("off", Purpose::Llm).is_err());
        assert!(Spec::parse("scripted", Purpose::Tts).is_err());
        let err = Spec::parse("gpt-4", Purpose::Llm).unwrap_err().to_string();
        assert!(err.contains("local:NAME"), "{err}");
        assert!(Spec::parse("local:", Purpose::Llm).is_err());
    }

    #[test]
    fn a_missing_model_falls_back_to_scripted_and_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let (llm, status) = open_llm(
            &Spec::Local("smollm2-135m".into()),
            dir.path(),
            Default::default(),
        );
        assert_eq!(llm.name(), "scripted");
        assert!(!status.ok);
        assert!(status.detail.contains("models fetch"), "{}", status.detail);
        let (llm, status) = open_llm(&Spec::Auto, dir.path(), Default::default());
        assert_eq!(llm.name(), "scripted");
        assert!(status.ok, "auto with nothing installed is not a failure");
    }

    #[test]
    fn a_file_that_is_not_gguf_is_named_in_the_error() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("broken.gguf");
        std::fs::write(&bad, b"GGUF but not really").unwrap();
        let (llm, status) = open_llm(
            &Spec::Local(bad.display().to_string()),
            dir.path(),
            Default::default(),
        );
        assert_eq!(llm.name(), "scripted");
        assert!(status.detail.contains("broken.gguf"), "{}", status.detail);
    }
}
