//! [`AppState`]: the handles the web layer's handlers use (settings, database, catalog, models, the realtime
//! services, the scorer, metrics). Built once at start-up by `app` and cloned into every handler; nothing below
//! `web` sees it: the realtime channel and scoring get their own narrow handles ([`Services`], [`Scorer`]).

use std::{sync::Arc, time::Instant};

use super::metrics::Metrics;
use crate::{
    accounts::tokens::SigningKey,
    catalog::Catalog,
    config::Settings,
    db::Db,
    llm::Llm,
    realtime::{Services, hub::Hub},
    sandbox::pool::Pool,
    scoring::service::Scorer,
    voice::{SpeechToText, TextToSpeech, VoiceActivity},
};

#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

/// What an [`AppState`] is made of.
pub struct Parts {
    pub settings: Settings,
    pub signing_key: SigningKey,
    pub realtime: Arc<Services>,
    pub metrics: Arc<Metrics>,
}

struct Inner {
    parts: Parts,
    started: Instant,
    /// Bumped whenever logins end (a logout, a password change): open sockets check that theirs still lives.
    logins_ended: tokio::sync::watch::Sender<u64>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("data_dir", &self.inner.parts.settings.data_dir)
            .finish()
    }
}

impl AppState {
    pub fn new(parts: Parts) -> AppState {
        AppState {
            inner: Arc::new(Inner {
                parts,
                started: Instant::now(),
                logins_ended: tokio::sync::watch::Sender::new(0),
            }),
        }
    }

    /// Tells the open sockets that logins have ended, so that those made under one close now.
    pub fn logins_ended(&self) {
        self.inner
            .logins_ended
            .send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Wakes when logins end ([`AppState::logins_ended`]).
    pub fn on_logins_ended(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.logins_ended.subscribe()
    }

    pub fn settings(&self) -> &Settings {
        &self.inner.parts.settings
    }

    /// What the realtime channel runs on.
    pub fn realtime(&self) -> &Arc<Services> {
        &self.inner.parts.realtime
    }

    /// The running interview actors.
    pub fn hub(&self) -> &Hub {
        &self.realtime().hub
    }

    /// Scores interviews in the background.
    pub fn scorer(&self) -> &Scorer {
        &self.realtime().scorer
    }

    /// The code sandbox.
    pub fn sandbox(&self) -> &Pool {
        &self.realtime().sandbox
    }

    /// The interviewer's language model.
    pub fn llm(&self) -> Arc<dyn Llm> {
        self.realtime().llm.clone()
    }

    /// Speech-to-text; `None` when candidates type.
    pub fn stt(&self) -> Option<Arc<dyn SpeechToText>> {
        self.realtime().stt.clone()
    }

    /// The interviewer's voice; `None` when interviews are text only.
    pub fn tts(&self) -> Option<Arc<dyn TextToSpeech>> {
        self.realtime().tts.clone()
    }

    /// Voice activity detection; `None` when loudness decides what is speech.
    pub fn vad(&self) -> Option<Arc<dyn VoiceActivity>> {
        self.realtime().vad.clone()
    }

    /// Signs and checks realtime tokens.
    pub fn signing_key(&self) -> &SigningKey {
        &self.inner.parts.signing_key
    }

    pub fn db(&self) -> &Db {
        &self.realtime().db
    }

    /// The catalog as imported at start-up.
    pub fn catalog(&self) -> Arc<Catalog> {
        self.realtime().catalog.clone()
    }

    pub fn metrics(&self) -> &Metrics {
        &self.inner.parts.metrics
    }

    pub fn uptime(&self) -> std::time::Duration {
        self.inner.started.elapsed()
    }
}
