//! Which backend does each job, and where: the specs of `--llm`, `--judge`/`--judge-llm`, `--stt`, `--tts` and
//! `--vad` (flag, environment or `rehearse.toml`), each remote one placed at its URL with its key, the remote
//! voice's name, and `--offline`'s refusal of any server off this machine.

use anyhow::bail;

use super::{
    Cli, DEFAULT_TTS_VOICE, FileConfig,
    remote::{self, Access},
};
use crate::{
    backends::Spec,
    llm::remote::{ApiKey, Endpoint},
    models::Purpose,
    voice::live::{LiveConfig, Provider},
};

/// The backends the settings name.
pub(super) struct Backends {
    pub llm: Spec,
    pub judge_with_llm: bool,
    pub judge_llm: Option<Spec>,
    pub llm_access: Access,
    pub stt: Spec,
    pub tts: Spec,
    pub tts_voice: String,
    pub vad: Spec,
    pub realtime: Option<LiveConfig>,
}

pub(super) fn resolve(cli: &Cli, file: &FileConfig) -> anyhow::Result<Backends> {
    let spec = |cli: &Option<String>, file: &Option<String>, role: Purpose| {
        Spec::parse(cli.as_deref().or(file.as_deref()).unwrap_or("auto"), role)
    };
    let llm_access = access(
        (&cli.llm_url, &file.llm_url),
        (&cli.keys.llm, &file.llm_api_key),
    );
    let mut judge_access = access(
        (&cli.judge_url, &file.judge_url),
        (&cli.keys.judge, &file.judge_api_key),
    );
    judge_access.key = judge_access.key.or(llm_access.key.clone());
    let llm = llm_access.place(
        spec(&cli.llm, &file.llm, Purpose::Llm)?,
        &cli.keys,
        "--llm-url",
    )?;
    let (judge_llm, judge_with_llm) = judging(cli, file)?;
    let judge_llm = match judge_llm {
        // A remote judge without a URL of its own asks the interviewer's server.
        Some(j @ Spec::Remote(_)) if judge_access.url.is_none() => Some(
            Access {
                url: llm_access.url.clone(),
                ..judge_access
            }
            .place(j, &cli.keys, "--llm-url")?,
        ),
        Some(j) => Some(judge_access.place(j, &cli.keys, "--judge-url")?),
        None => None,
    };
    let stt = access(
        (&cli.stt_url, &file.stt_url),
        (&cli.keys.stt, &file.stt_api_key),
    )
    .place(
        spec(&cli.stt, &file.stt, Purpose::Stt)?,
        &cli.keys,
        "--stt-url",
    )?;
    let tts = access(
        (&cli.tts_url, &file.tts_url),
        (&cli.keys.tts, &file.tts_api_key),
    )
    .place(
        spec(&cli.tts, &file.tts, Purpose::Tts)?,
        &cli.keys,
        "--tts-url",
    )?;
    let tts_voice = voice(cli, file)?;
    let realtime = realtime(cli, file)?;
    if cli.offline || file.offline == Some(true) {
        let live = realtime.as_ref().map(Spec::of_live);
        remote::refuse_remote(&[
            ("--llm", Some(&llm)),
            ("--judge-llm", judge_llm.as_ref()),
            ("--stt", Some(&stt)),
            ("--tts", Some(&tts)),
            ("--realtime", live.as_ref()),
        ])?;
    }
    Ok(Backends {
        llm,
        judge_with_llm,
        judge_llm,
        llm_access,
        stt,
        tts,
        tts_voice,
        vad: spec(&cli.vad, &file.vad, Purpose::Vad)?,
        realtime,
    })
}

/// `--realtime`: `off` (the default) or a live model, at `--realtime-url` (else the provider's own API), with its
/// key (REHEARSE_REALTIME_API_KEY or `realtime_api_key`, else the provider's variable) and voice.
fn realtime(cli: &Cli, file: &FileConfig) -> anyhow::Result<Option<LiveConfig>> {
    let text = cli
        .realtime
        .as_deref()
        .or(file.realtime.as_deref())
        .unwrap_or("off")
        .trim();
    if text == "off" {
        return Ok(None);
    }
    let provider = match text.split_once(':') {
        Some(("openai", m)) if !m.trim().is_empty() => Provider::OpenAi,
        Some(("gemini", m)) if !m.trim().is_empty() => Provider::Gemini,
        _ => {
            bail!("--realtime {text:?} is not a live model: use off, openai:MODEL or gemini:MODEL")
        }
    };
    let model = text
        .split_once(':')
        .map(|(_, m)| m.trim().to_string())
        .unwrap_or_default();
    let access = access(
        (&cli.realtime_url, &file.realtime_url),
        (&cli.keys.realtime, &file.realtime_api_key),
    );
    let url = access.url.as_deref().unwrap_or(provider.default_url());
    let key = access.key.or_else(|| match provider {
        Provider::OpenAi => cli.keys.openai.clone(),
        Provider::Gemini => cli.keys.gemini.clone(),
    });
    let endpoint = Endpoint::new(url, key).map_err(|e| anyhow::anyhow!("--realtime-url: {e}"))?;
    let voice = cli
        .realtime_voice
        .clone()
        .or(file.realtime_voice.clone())
        .map(|v| v.trim().to_string())
        .unwrap_or_else(|| LiveConfig::default_voice(provider).to_string());
    if voice.is_empty() || voice.len() > 64 || voice.chars().any(char::is_control) {
        bail!("--realtime-voice {voice:?}: give a voice's name (at most 64 characters)");
    }
    Ok(Some(LiveConfig {
        provider,
        model,
        endpoint,
        voice,
    }))
}

/// The model a model judge asks, and whether a model judges at all (`--judge llm`, the default when
/// `--judge-llm` names a model) or the rules do.
fn judging(cli: &Cli, file: &FileConfig) -> anyhow::Result<(Option<Spec>, bool)> {
    let judge_llm = match cli.judge_llm.as_deref().or(file.judge_llm.as_deref()) {
        Some(s) => Some(Spec::parse(s, Purpose::Llm)?),
        None => None,
    };
    let judge_with_llm = match cli
        .judge
        .as_deref()
        .or(file.judge.as_deref())
        .unwrap_or(if judge_llm.is_some() { "llm" } else { "rules" })
    {
        "rules" => false,
        "llm" => true,
        other => bail!("judge must be rules or llm, not {other}"),
    };
    Ok((judge_llm, judge_with_llm))
}

/// A role's URL (flag or environment, then the file) and key (environment, then the file).
fn access(
    (url, file_url): (&Option<String>, &Option<String>),
    (key, file_key): (&Option<ApiKey>, &Option<String>),
) -> Access {
    Access {
        url: url.clone().or(file_url.clone()),
        key: key
            .clone()
            .or_else(|| file_key.as_deref().and_then(ApiKey::new)),
    }
}

/// The remote voice's name: `--tts-voice`, else the file's, else OpenAI's `alloy`.
fn voice(cli: &Cli, file: &FileConfig) -> anyhow::Result<String> {
    let voice = cli
        .tts_voice
        .clone()
        .or(file.tts_voice.clone())
        .map(|v| v.trim().to_string())
        .unwrap_or_else(|| DEFAULT_TTS_VOICE.to_string());
    if voice.is_empty() || voice.len() > 64 || voice.chars().any(char::is_control) {
        bail!("--tts-voice {voice:?}: give a voice's name (at most 64 characters)");
    }
    Ok(voice)
}
