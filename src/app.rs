//! The composition root: [`AppState::open`] opens the database and the models and builds the handles each layer
//! gets (the realtime [`Services`], the [`Scorer`], the web layer's [`AppState`]); [`router`] and [`serve`].
//! Shared by `main`, the benchmarks and the tests, which pass their own shutdown future.

use std::{future::Future, sync::Arc};

use anyhow::Context;
use axum::Router;
use tokio::net::TcpListener;

pub use crate::web::AppState;
use crate::{
    backends::{self, Spec},
    catalog::{self, SeedSource},
    config::Settings,
    db::{self, Db, catalog::ImportOutcome},
    embed::Embed,
    llm::Llm,
    realtime::{
        Options, Services,
        hub::{Cmd, Hub},
    },
    sandbox::pool::Pool,
    scoring::service::{ReportReady, Scorer},
    voice::{SpeechToText, TextToSpeech, VoiceActivity, live::Live, vad::Silero},
    web::{self, Parts, metrics::Metrics},
};

impl AppState {
    /// Opens the data directory and database (importing the catalog if the seeds changed), opens the models, and
    /// builds each layer's handles.
    pub async fn open(settings: Settings) -> anyhow::Result<AppState> {
        let db = open_db(&settings).await?;
        let catalog = Arc::new(db.call(|c| db::catalog::load(c)).await?);
        let signing_key = db.call(|c| db::meta::signing_key(c)).await?;
        let models = open_models(&settings).await?;
        // The models are loaded: from here on the interviewer's kept caches pay for whatever else the process
        // holds, so that its resident memory stays within the models and the caches' bound.
        if let Some(rss) = crate::llm::local::resident_bytes() {
            models.llm.bound_resident(rss + settings.kv_caches.total);
        }
        let hub = Arc::new(Hub::default());
        let intents = models.embed.clone().map(|e| {
            let semantic = Arc::new(crate::engine::intents::Semantic::new(e));
            let warm = semantic.clone();
            tokio::task::spawn_blocking(move || warm.warm());
            semantic as Arc<dyn crate::engine::intents::Intents>
        });
        let scorer = Scorer {
            db: db.clone(),
            catalog: catalog.clone(),
            judge: models.judge.unwrap_or_else(|| models.llm.clone()),
            with_llm: settings.judge_with_llm,
            // Only the rules judge reads with embeddings.
            embed: models.embed.filter(|_| !settings.judge_with_llm),
            ready: report_ready(&hub),
        };
        let metrics = Arc::new(Metrics::default());
        let realtime = Arc::new(Services {
            db,
            catalog,
            llm: models.llm,
            stt: models.stt,
            tts: models.tts,
            vad: models.vad.map(|v| v as Arc<dyn VoiceActivity>),
            sandbox: Pool::new(settings.runtimes_dir.clone()),
            intents,
            scorer,
            observe: metrics.clone(),
            options: options(&settings),
            hub,
            activity: Default::default(),
        });
        Ok(AppState::new(Parts {
            settings,
            signing_key,
            realtime,
            metrics,
        }))
    }
}

/// The database in the data directory, with the catalog imported when the seeds changed.
async fn open_db(settings: &Settings) -> anyhow::Result<Db> {
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
    Ok(db)
}

/// The models the settings name, opened (each falling back as `backends` says when it cannot load).
struct Models {
    llm: Arc<dyn Llm>,
    stt: Option<Arc<dyn SpeechToText>>,
    tts: Option<Arc<dyn TextToSpeech>>,
    vad: Option<Arc<Silero>>,
    /// The judge's own model, when `--judge-llm` names one.
    judge: Option<Arc<dyn Llm>>,
    /// Sentence embeddings for the rules judge, when installed.
    embed: Option<Arc<dyn Embed>>,
}

async fn open_models(settings: &Settings) -> anyhow::Result<Models> {
    let caches = settings.kv_caches;
    let (llm_spec, stt_spec, tts_spec) = settings.local_specs();
    let (tts_voice, vad_spec, models_dir) = (
        settings.tts_voice.clone(),
        settings.vad.clone(),
        settings.models_dir.clone(),
    );
    let ((llm, llm_status), (stt, stt_status), (tts, tts_status), (vad, vad_status)) =
        tokio::task::spawn_blocking(move || {
            (
                backends::open_llm(&llm_spec, &models_dir, caches),
                backends::open_stt(&stt_spec, &models_dir),
                backends::open_tts(&tts_spec, &tts_voice, &models_dir),
                backends::open_vad(&vad_spec, &models_dir),
            )
        })
        .await?;
    let judge = match (settings.judge_with_llm, settings.judge_llm.clone()) {
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
    // The interviewer reads short replies with them, and the rules judge reads answers with them.
    let embed = open_embeddings(settings.models_dir.clone()).await?;
    for s in [&llm_status, &stt_status, &tts_status, &vad_status] {
        if s.ok {
            tracing::info!("{}: {} ({})", s.role, s.running, s.detail);
        } else {
            tracing::warn!("{}: {} ({})", s.role, s.running, s.detail);
        }
    }
    if let Some(config) = &settings.realtime {
        let live = Arc::new(Live::new(config.clone()));
        tracing::info!(
            "interviews: {} hears, writes and speaks (at {})",
            live.name(),
            live.endpoint().host()
        );
        return Ok(Models {
            llm: live.clone(),
            stt: Some(live.clone()),
            tts: Some(live),
            vad,
            judge: judge.or(Some(llm)),
            embed,
        });
    }
    Ok(Models {
        llm,
        stt,
        tts,
        vad,
        judge,
        embed,
    })
}

/// The judge's sentence embeddings, or `None` (logged) when they are not installed.
async fn open_embeddings(dir: std::path::PathBuf) -> anyhow::Result<Option<Arc<dyn Embed>>> {
    Ok(
        match tokio::task::spawn_blocking(move || crate::embed::open(&dir)).await? {
            Ok(e) => {
                tracing::info!("sentence embeddings: {}", e.name());
                Some(e)
            }
            Err(why) => {
                tracing::warn!(
                    "sentence embeddings: off ({why}); the judge does not catch off-topic answers, and the \
                     interviewer reads replies by their wording alone"
                );
                None
            }
        },
    )
}

/// Tells an interview's clients, if its actor is still running, that its report is ready.
fn report_ready(hub: &Arc<Hub>) -> ReportReady {
    let hub = Arc::downgrade(hub);
    Arc::new(move |session_id: &str| {
        if let Some(hub) = hub.upgrade() {
            hub.notify(
                session_id,
                Cmd::ScoreReady {
                    report_url: web::pages::results_url(session_id),
                },
            );
        }
    })
}

/// The settings an interview reads.
fn options(settings: &Settings) -> Options {
    Options {
        interview_idle: settings.interview_idle,
        silence_prompt: settings.silence_prompt,
        turn_rules: settings.turn_rules(),
        stt_name: live_or(settings, &settings.stt),
        llm_name: live_or(settings, &settings.llm),
        tts_name: live_or(settings, &settings.tts),
    }
}

/// What runs a role in interviews: the live model when there is one, else the role's own backend.
fn live_or(settings: &Settings, spec: &Spec) -> String {
    match &settings.realtime {
        Some(r) => format!("{}:{} (live)", r.provider.prefix(), r.model),
        None => spec.to_string(),
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
