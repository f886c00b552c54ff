//! Which backend does what: the settings' `--llm`, `--stt` and `--tts` values ([`Spec`]), resolved against the
//! installed models, and opened. A backend that cannot be opened never stops the appliance: the interviewer
//! falls back to the scripted one and speech to text only, and [`Status`] says why (`rehearse doctor`, logs).

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use anyhow::bail;

use crate::{
    llm::{
        Llm,
        local::LocalLlm,
        remote::{self, Endpoint, RemoteLlm},
        scripted::Scripted,
    },
    models::{Manifest, Purpose},
    voice::vad::Silero,
    voice::{
        SpeechToText, TextToSpeech,
        stt::{remote::RemoteStt, whisper::Whisper},
        tts::{piper::Piper, remote::RemoteTts},
    },
};

pub use crate::llm::remote::Provider;

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
    /// A model on another server (LLM role): `openai:MODEL` or `gemini:MODEL`.
    Remote(Remote),
}

/// A model on another server, and where it is. The endpoint is the provider's own API until the settings say
/// otherwise (`--llm-url`, `--judge-url`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remote {
    pub provider: Provider,
    /// Everything after the spec's first colon (Ollama's `qwen2.5:0.5b` keeps its own).
    pub model: String,
    pub endpoint: Endpoint,
}

impl Spec {
    /// A live model as a remote spec (for the checks every remote backend goes through: offline, privacy).
    pub fn of_live(live: &crate::voice::live::LiveConfig) -> Spec {
        Spec::Remote(Remote {
            provider: live.provider,
            model: live.model.clone(),
            endpoint: live.endpoint.clone(),
        })
    }

    pub fn parse(text: &str, role: Purpose) -> anyhow::Result<Spec> {
        let t = text.trim();
        let spec = match t {
            "auto" => Spec::Auto,
            "off" => Spec::Off,
            "scripted" => Spec::Scripted,
            _ => match t.split_once(':') {
                Some(("local", rest)) if !rest.trim().is_empty() => {
                    Spec::Local(rest.trim().to_string())
                }
                Some((prefix @ ("openai" | "gemini"), model)) if !model.trim().is_empty() => {
                    let remote_speech =
                        matches!(role, Purpose::Stt | Purpose::Tts) && prefix == "openai";
                    if role != Purpose::Llm && !remote_speech {
                        bail!(
                            "--{role} {t:?}: this remote backend is not built yet (built: openai:MODEL for --llm, \
                             --judge-llm, --stt and --tts; gemini:MODEL for --llm and --judge-llm); use auto, off or \
                             local:NAME"
                        );
                    }
                    let provider = if prefix == "openai" {
                        Provider::OpenAi
                    } else {
                        Provider::Gemini
                    };
                    let endpoint = Endpoint::new(provider.default_url(), None)
                        .expect("the providers' own URLs are valid");
                    Spec::Remote(Remote {
                        provider,
                        model: model.trim().to_string(),
                        endpoint,
                    })
                }
                _ => bail!(
                    "--{role} {t:?} is not a backend: use auto, {}or local:NAME",
                    if role == Purpose::Llm {
                        "scripted, openai:MODEL, gemini:MODEL "
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
            Spec::Remote(r) => write!(f, "{}:{}", r.provider.prefix(), r.model),
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
        Spec::Off | Spec::Scripted | Spec::Remote(_) => Ok(None),
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
    if let Spec::Remote(r) = spec {
        return open_remote(r);
    }
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

/// A remote model needs nothing opened: whether its server answers is `rehearse doctor`'s to check, and a turn
/// it fails falls back to the fixed wording.
fn open_remote(r: &Remote) -> (Arc<dyn Llm>, Status) {
    let llm = remote_llm(r);
    let status = remote_status(
        Purpose::Llm,
        r,
        llm.name(),
        "the candidate's words are sent there",
    );
    (Arc::new(llm), status)
}

fn remote_llm(r: &Remote) -> RemoteLlm {
    let protocol: Box<dyn remote::Protocol> = match r.provider {
        Provider::OpenAi => Box::new(remote::openai::OpenAi),
        Provider::Gemini => Box::new(remote::gemini::Gemini),
    };
    RemoteLlm::new(
        protocol,
        &r.model,
        r.endpoint.clone(),
        remote::Timeouts::default(),
    )
}

/// Asks a remote model's server whether it answers, takes the key, knows the model and writes a token
/// (`rehearse doctor`). Blocking.
pub fn probe(r: &Remote) -> Result<String, String> {
    remote_llm(r).probe()
}

/// Asks a remote voice's server to say a word (`rehearse doctor`): how soon the audio began and how much came.
/// Blocking.
pub fn probe_tts(r: &Remote, voice: &str) -> Result<String, String> {
    let tts = RemoteTts::new(&r.model, voice, r.endpoint.clone());
    let started = std::time::Instant::now();
    let (mut first, mut samples) = (None, 0usize);
    tts.speak("Hello.", 24_000, &mut |pcm| {
        first.get_or_insert_with(|| started.elapsed());
        samples += pcm.len();
        std::ops::ControlFlow::Continue(())
    })
    .map_err(|e| format!("{e:#}"))?;
    match first {
        Some(first) if samples >= 2_400 => Ok(format!(
            "{}: said \"Hello.\" as {} voice {voice:?} (first audio after {} ms, {:.1} s of it)",
            r.endpoint.url,
            r.model,
            first.as_millis(),
            samples as f64 / 24_000.0
        )),
        _ => Err(format!(
            "{}: answered, but with {:.2} s of audio for \"Hello.\"",
            r.endpoint.url,
            samples as f64 / 24_000.0
        )),
    }
}

/// The status of a backend on another server: nothing to open, so it is ok; where it is, what goes there when
/// that is off this machine, and whether a key goes with it.
fn remote_status(role: Purpose, r: &Remote, running: &str, sent: &str) -> Status {
    Status {
        role,
        spec: Spec::Remote(r.clone()),
        running: running.to_string(),
        detail: format!(
            "{} ({}{})",
            r.endpoint.url,
            if r.endpoint.is_loopback() {
                "on this machine".to_string()
            } else {
                format!("another machine: {sent}")
            },
            if r.endpoint.key.is_some() {
                ", with an API key"
            } else {
                ""
            }
        ),
        ok: true,
    }
}

/// Opens speech-to-text. `None`: candidates type their answers.
pub fn open_stt(spec: &Spec, models_dir: &Path) -> (Option<Arc<dyn SpeechToText>>, Status) {
    if let Spec::Remote(r) = spec {
        let stt = RemoteStt::new(&r.model, r.endpoint.clone());
        let status = remote_status(
            Purpose::Stt,
            r,
            stt.name(),
            "the candidate's voice is sent there",
        );
        return (Some(Arc::new(stt)), status);
    }
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
    (stt.map(|w| Arc::new(w) as Arc<dyn SpeechToText>), status)
}

/// Opens the voice: a piper voice (with onnxruntime from the models directory), or a server's speaking with
/// `voice` (`--tts-voice`). `None`: interviews are text only.
pub fn open_tts(
    spec: &Spec,
    voice: &str,
    models_dir: &Path,
) -> (Option<Arc<dyn TextToSpeech>>, Status) {
    if let Spec::Remote(r) = spec {
        let tts = RemoteTts::new(&r.model, voice, r.endpoint.clone());
        let status = remote_status(
            Purpose::Tts,
            r,
            tts.name(),
            "the interviewer's words are sent there to be spoken",
        );
        return (Some(Arc::new(tts)), status);
    }
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
    (tts.map(|p| Arc::new(p) as Arc<dyn TextToSpeech>), status)
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
        assert!(
            err.contains("local:NAME") && err.contains("openai:MODEL"),
            "{err}"
        );
        assert!(Spec::parse("local:", Purpose::Llm).is_err());
        let Spec::Remote(r) = Spec::parse("openai:qwen2.5:0.5b", Purpose::Llm).unwrap() else {
            panic!("openai: is a remote spec");
        };
        assert_eq!(
            (r.provider, r.model.as_str()),
            (Provider::OpenAi, "qwen2.5:0.5b")
        );
        assert_eq!(r.endpoint.url, "https://api.openai.com/v1");
        assert_eq!(
            Spec::parse("gemini:gemini-2.5-flash", Purpose::Llm)
                .unwrap()
                .to_string(),
            "gemini:gemini-2.5-flash"
        );
        assert!(Spec::parse("openai:", Purpose::Llm).is_err());
        assert!(matches!(
            Spec::parse("openai:whisper-1", Purpose::Stt).unwrap(),
            Spec::Remote(_)
        ));
        assert!(matches!(
            Spec::parse("openai:tts-1", Purpose::Tts).unwrap(),
            Spec::Remote(_)
        ));
        let err = Spec::parse("gemini:gemini-2.5-flash-tts", Purpose::Tts)
            .unwrap_err()
            .to_string();
        assert!(err.contains("not built yet"), "{err}");
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
