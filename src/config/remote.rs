//! Where the remote backends are, and with what key: each role's URL (`--llm-url`, `--judge-url`, from the flag,
//! the environment or `rehearse.toml`), else the provider's own API; keys only from the environment or
//! `rehearse.toml`, never a flag (a flag shows in the process list); and `--offline`, which refuses any server that
//! is not on this machine before anything connects.

use anyhow::bail;

use crate::{
    backends::{Provider, Spec},
    llm::remote::{ApiKey, Endpoint},
};

/// The API keys the environment holds: Rehearse's own per role, then the providers' usual variables.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Keys {
    /// `REHEARSE_LLM_API_KEY`.
    pub llm: Option<ApiKey>,
    /// `REHEARSE_JUDGE_API_KEY`.
    pub judge: Option<ApiKey>,
    /// `REHEARSE_STT_API_KEY`.
    pub stt: Option<ApiKey>,
    /// `REHEARSE_TTS_API_KEY`.
    pub tts: Option<ApiKey>,
    /// `REHEARSE_REALTIME_API_KEY`.
    pub realtime: Option<ApiKey>,
    /// `OPENAI_API_KEY`.
    pub openai: Option<ApiKey>,
    /// `GEMINI_API_KEY`.
    pub gemini: Option<ApiKey>,
}

impl Keys {
    pub fn from_env() -> Keys {
        let var = |name: &str| std::env::var(name).ok().as_deref().and_then(ApiKey::new);
        Keys {
            llm: var("REHEARSE_LLM_API_KEY"),
            judge: var("REHEARSE_JUDGE_API_KEY"),
            stt: var("REHEARSE_STT_API_KEY"),
            tts: var("REHEARSE_TTS_API_KEY"),
            realtime: var("REHEARSE_REALTIME_API_KEY"),
            openai: var(Provider::OpenAi.key_variable()),
            gemini: var(Provider::Gemini.key_variable()),
        }
    }

    fn provider(&self, p: Provider) -> Option<ApiKey> {
        match p {
            Provider::OpenAi => self.openai.clone(),
            Provider::Gemini => self.gemini.clone(),
        }
    }
}

/// Where one role's remote model is: a URL and a key when the user gave them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Access {
    pub url: Option<String>,
    pub key: Option<ApiKey>,
}

impl Access {
    /// Points `spec` at its server, when it is remote: this role's URL, else the provider's own API; this role's
    /// key, else the provider's variable. Other specs are left as they are (a URL may be there for the specs a
    /// benchmark names later).
    pub fn place(&self, spec: Spec, keys: &Keys, url_flag: &str) -> anyhow::Result<Spec> {
        let Spec::Remote(mut remote) = spec else {
            if let Some(url) = &self.url {
                Endpoint::new(url, None).map_err(|e| anyhow::anyhow!("{url_flag}: {e}"))?;
            }
            return Ok(spec);
        };
        let url = self.url.as_deref().unwrap_or(remote.provider.default_url());
        let key = self.key.clone().or_else(|| keys.provider(remote.provider));
        remote.endpoint =
            Endpoint::new(url, key).map_err(|e| anyhow::anyhow!("{url_flag}: {e}"))?;
        Ok(Spec::Remote(remote))
    }
}

/// `--offline`: every remote backend must be on this machine. Checked when the settings are read, so nothing has
/// connected yet.
pub fn refuse_remote(specs: &[(&str, Option<&Spec>)]) -> anyhow::Result<()> {
    for (flag, spec) in specs {
        if let Some(Spec::Remote(r)) = spec
            && !r.endpoint.is_loopback()
        {
            bail!(
                "--offline: {flag} {}:{} would send the interview's words to {} (not this machine); \
                 use a local model, a model server on 127.0.0.1, or leave --offline out",
                r.provider.prefix(),
                r.model,
                r.endpoint.host()
            );
        }
    }
    Ok(())
}
