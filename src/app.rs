//! The application: [`AppState`] (settings, database, the catalog snapshot), [`router`] and [`serve`]. Shared by
//! `main` and the tests, which pass their own shutdown future.

use std::{
    future::Future,
    sync::{Arc, RwLock},
    time::Instant,
};

use anyhow::Context;
use axum::Router;
use tokio::net::TcpListener;

use crate::{
    accounts::tokens::SigningKey,
    backends,
    catalog::{self, Catalog, SeedSource},
    config::Settings,
    db::{self, Db, catalog::ImportOutcome},
    llm::Llm,
    realtime::hub::Hub,
    sandbox::pool::Pool,
    stt::whisper::Whisper,
    tts::piper::Piper,
    vad::Silero,
    web,
};

#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    settings: Settings,
    signing_key: SigningKey,
    hub: Hub,
    llm: Arc<dyn Llm>,
    /// The model that judges, when `--judge-llm` names one apart from the interviewer's.
    judge_llm: Option<Arc<dyn Llm>>,
    /// Sentence embeddings for the rules judge, when installed.
    embed: Option<Arc<dyn crate::embed::Embed>>,
    stt: Option<Arc<Whisper>>,
    tts: Option<Arc<Piper>>,
    vad: Option<Arc<Silero>>,
    backends: Vec<backends::Status>,
    sandbox: Pool,
    db: Db,
    catalog: RwLock<Arc<Catalog>>,
    metrics: web::metrics::Metrics,
    started: Instant,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("data_dir", &self.inner.settings.data_dir)
            .finish()
    }
}

impl AppState {
    /// Opens the data directory and database, imports the catalog if the seeds changed, and loads it.
    pub async fn open(settings: Settings) -> anyhow::Result<AppState> {
        settings.prepare_data_dir()?;
        let path = settings.db_path.clone();
        let db = tokio::task::spawn_blocking(move || Db::open(&path))
            .await?
            .with_context(|| format!("opening the database {}", settings.db_path.display()))?;
        let outcome = import_catalog(
            &db,
            &SeedSource::from_setting(settings.seeds_dir.as_deref()),
        )
        .await?;
        if let ImportOutcome::Imported {
            companies, roles, ..
        } = outcome
        {
            tracing::info!(companies, roles, "imported the interview catalog");
        }
        let catalog = db.call(|c| db::catalog::load(c)).await?;
        let signing_key = db.call(|c| db::meta::signing_key(c)).await?;
        let sandbox = Pool::new(settings.runtimes_dir.clone());
        let caches = settings.kv_caches;
        let (llm_spec, stt_spec, tts_spec, vad_spec, models_dir) = (
            settings.llm.clone(),
            settings.stt.clone(),
            settings.tts.clone(),
            settings.vad.clone(),
            settings.models_dir.clone(),
        );
        let ((llm, llm_status), (stt, stt_status), (tts, tts_status), (vad, vad_status)) =
            tokio::task::spawn_blocking(move || {
                (
                    backends::open_llm(&llm_spec, &models_dir, caches),
                    backends::open_stt(&stt_spec, &models_dir),
                    backends::open_tts(&tts_spec, &models_dir),
                    backends::open_vad(&vad_spec, &models_dir),
                )
            })
            .await?;
        let judge_llm = match (settings.judge_with_llm, settings.judge_llm.clone()) {
            (true, Some(spec)) => {
                let dir = settings.models_dir.clone();
                let (judge, status) =
                    tokio::task::spawn_blocking(move || backends::open_llm(&spec, &dir, caches))
                        .await?;
                tracing::info!("judge: {} ({})", status.running, status.detail);
                Some(judge)
            }
            _ => None,
        };
        // Only the rules read with embeddings; a model judge never loads them.
        let dir = settings.models_dir.clone();
        let embed = if settings.judge_with_llm {
            None
        } else {
            match tokio::task::spawn_blocking(move || crate::embed::open(&dir)).await? {
                Ok(e) => {
                    tracing::info!("judge embeddings: {}", e.name());
                    Some(e)
                }
                Err(why) => {
                    tracing::warn!(
                        "judge embeddings: off ({why}); off-topic answers are not caught"
                    );
                    None
                }
            }
        };
        for s in [&llm_status, &stt_status, &tts_status, &vad_status] {
            if s.ok {
                tracing::info!("{}: {} ({})", s.role, s.running, s.detail);
            } else {
                tracing::warn!("{}: {} ({})", s.role, s.running, s.detail);
            }
        }
        Ok(AppState {
            inner: Arc::new(Inner {
                settings,
                signing_key,
                hub: Hub::default(),
                llm,
                judge_llm,
                embed,
                stt,
                tts,
                vad,
                backends: vec![llm_status, stt_status, tts_status, vad_status],
                sandbox,
                db,
                catalog: RwLock::new(Arc::new(catalog)),
                metrics: web::metrics::Metrics::default(),
                started: Instant::now(),
            }),
        })
    }

    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// The running interview actors.
    pub fn hub(&self) -> &Hub {
        &self.inner.hub
    }

    /// The code sandbox.
    pub fn sandbox(&self) -> &Pool {
        &self.inner.sandbox
    }

    /// The interviewer's language model.
    pub fn llm(&self) -> Arc<dyn Llm> {
        self.inner.llm.clone()
    }

    /// The sentence-embedding model the rules judge reads with, when installed.
    pub fn embed(&self) -> Option<Arc<dyn crate::embed::Embed>> {
        self.inner.embed.clone()
    }

    /// The model a model judge asks: `--judge-llm`'s, else the interviewer's.
    pub fn judge_llm(&self) -> Arc<dyn Llm> {
        self.inner
            .judge_llm
            .clone()
            .unwrap_or_else(|| self.inner.llm.clone())
    }

    /// Speech-to-text; `None` when candidates type.
    pub fn stt(&self) -> Option<Arc<Whisper>> {
        self.inner.stt.clone()
    }

    /// The interviewer's voice; `None` when interviews are text only.
    pub fn tts(&self) -> Option<Arc<Piper>> {
        self.inner.tts.clone()
    }

    /// Voice activity detection; `None` when loudness decides what is speech.
    pub fn vad(&self) -> Option<Arc<Silero>> {
        self.inner.vad.clone()
    }

    /// What each backend role runs, or why it fell back.
    pub fn backends(&self) -> &[backends::Status] {
        &self.inner.backends
    }

    /// Signs and checks realtime tokens.
    pub fn signing_key(&self) -> &SigningKey {
        &self.inner.signing_key
    }

    pub fn db(&self) -> &Db {
        &self.inner.db
    }

    /// The catalog as last imported: a cheap snapshot that later imports do not change under the caller.
    pub fn catalog(&self) -> Arc<Catalog> {
        self.inner
            .catalog
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn metrics(&self) -> &web::metrics::Metrics {
        &self.inner.metrics
    }

    pub fn uptime(&self) -> std::time::Duration {
        self.inner.started.elapsed()
    }
}

/// Validates the seeds and imports them in one transaction; a bad file changes nothing.
pub async fn import_catalog(db: &Db, source: &SeedSource) -> anyhow::Result<ImportOutcome> {
    let loaded = catalog::load(source)
        .map_err(anyhow::Error::new)
        .with_context(|| format!("loading {source}"))?;
    let outcome = db
        .call(move |c| db::catalog::import(c, &loaded.catalog, &loaded.fingerprint))
        .await?;
    Ok(outcome)
}

pub fn router(state: AppState) -> Router {
    web::routes(state)
}

/// Serves HTTP until `shutdown` completes, then finishes the requests in flight.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, state, None, shutdown).await
}

/// Serves HTTPS until `shutdown` completes, then lets each connection finish its requests (10 s at most).
pub async fn serve_tls(
    listener: TcpListener,
    state: AppState,
    tls: Arc<rustls::ServerConfig>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, state, Some(tls), shutdown).await
}

async fn serve_with(
    listener: TcpListener,
    state: AppState,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let settings = state.settings();
    let limits = crate::listener::Limits {
        header_timeout: settings.header_timeout,
        per_address: settings.connections_per_address,
        total: crate::listener::total_for(crate::listener::raise_descriptor_limit()),
    };
    let counted = state.clone();
    crate::listener::serve(
        listener,
        router(state),
        tls,
        limits,
        move |why| counted.metrics().record_refused(why),
        shutdown,
    )
    .await
}
