//! `rehearse bench soak`: interviews at once for a given time against a server in this process running the
//! configured interviewer (a real local model: `--llm local:NAME`), each simulated candidate starting a new
//! interview as soon as one ends, so that over the run far more conversations pass through the model than its
//! kept caches hold. Every 10 s it samples the process's resident memory and open file descriptors; at the end it
//! reports them over time, the latency of each answer's acknowledgement and of the interviewer's turn, and every
//! error (a timeout is an error). The first `spoken` candidates answer aloud instead (the tiny set's whisper, voice
//! and VAD; recordings paced in real time, as in `bench voice`), three answers an interview.

use std::time::{Duration, Instant};

use serde::Serialize;

use super::{
    load::{ANSWERS_PER_INTERVIEW, Samples, candidate, tempfile_dir},
    voice,
};
use crate::{
    app::{self, AppState},
    backends::Spec,
    config::Settings,
    models::Purpose,
    stats::Stats,
};

#[derive(Debug, Clone, Serialize)]
pub struct Sample {
    pub seconds: f64,
    pub rss_mb: f64,
    /// What the model's conversation caches hold (idle and in use), where the backend keeps them in this process.
    pub caches_mb: Option<f64>,
    pub open_files: usize,
    pub interviews_done: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub interviewer: String,
    pub concurrent: usize,
    pub spoken: usize,
    pub spoken_interviews: usize,
    pub spoken_answers: usize,
    /// A spoken answer's last word -> the interviewer's first audio at the client, end-of-turn silence included.
    pub spoken_first_audio: Stats,
    pub seconds: f64,
    pub interviews: usize,
    pub answers: usize,
    pub errors: Vec<String>,
    pub ack: Stats,
    pub full_turn: Stats,
    pub samples: Vec<Sample>,
    pub peak_rss_mb: f64,
    pub kv_cache_total_mb: usize,
    /// Resident memory once the models are loaded and have each run once (their working memory included),
    /// before the first interview.
    pub loaded_rss_mb: f64,
    pub peak_caches_mb: Option<f64>,
    /// Model-written pieces by outcome: accepted, retried, replaced by their fixed wording (too slow, the model
    /// busy, or held back by the guard twice).
    pub pieces: Vec<(String, u64)>,
}

/// Answers a spoken candidate gives in each interview before starting the next.
const SPOKEN_ANSWERS: usize = 3;

/// What one simulated candidate did over the run.
#[derive(Default)]
struct Worker {
    text: Vec<Samples>,
    spoken: Vec<voice::Samples>,
    errors: Vec<String>,
}

fn rss_mb() -> f64 {
    super::proc_status_mb("VmRSS").unwrap_or(0.0)
}

fn open_files() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

/// Runs each model once, so that what the models take includes their working memory: the interviewer writes a
/// reply for no conversation (no cache kept), whisper transcribes a recording (the voice has spoken them all).
async fn warm_up(state: &AppState, clips: &[Vec<i16>]) -> anyhow::Result<()> {
    let llm = state.llm();
    let stt = state.stt();
    let clip: Option<Vec<f32>> = clips
        .first()
        .map(|c| c.iter().map(|&s| f32::from(s) / 32_768.0).collect());
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        let req = crate::llm::Request {
            messages: vec![crate::llm::Message {
                role: crate::llm::MessageRole::User,
                content: "Ask me one question about a project I led.".repeat(20),
            }],
            scripted: "Tell me about a project you led.".into(),
            max_tokens: 32,
            temperature: 0.0,
            seed: 0,
            stop: Vec::new(),
            session: None,
            ignore_eos: true,
        };
        llm.generate(&req, &mut |_| std::ops::ControlFlow::Continue(()))?;
        if let (Some(stt), Some(clip)) = (stt, clip) {
            stt.transcribe(&clip)?;
        }
        Ok(())
    })
    .await?
}

/// Runs `concurrent` simulated candidates for `duration` against a server with `settings`' interviewer.
/// `spoken` of them answer aloud.
pub async fn run(
    settings: &Settings,
    concurrent: usize,
    spoken: usize,
    duration: Duration,
) -> anyhow::Result<Report> {
    let dir = tempfile_dir()?;
    let (state, clips) = open(settings, &dir, spoken).await?;
    warm_up(&state, &clips).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app::serve(listener, state.clone(), async {
        stopped.await.ok();
    }));
    let loaded = rss_mb();
    let began = Instant::now();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let workers = candidates(addr, concurrent, spoken, began + duration, &clips, &done);
    let (samples, peak) = watch(&state, &workers, began, &done).await;
    let mut totals = Totals::default();
    for w in workers {
        totals.add(w.await?);
    }
    let interviewer = state.llm().name().to_string();
    let pieces = pieces(&state);
    let _ = stop.send(());
    let _ = server.await;
    state.hub().stop_all().await;
    let _ = std::fs::remove_dir_all(dir);
    let peak_caches_mb = samples.iter().filter_map(|s| s.caches_mb).reduce(f64::max);
    Ok(Report {
        interviewer,
        concurrent,
        spoken,
        spoken_interviews: totals.spoken_interviews,
        spoken_answers: totals.spoken_answers,
        spoken_first_audio: Stats::of(totals.first_audio),
        seconds: began.elapsed().as_secs_f64(),
        interviews: totals.interviews,
        answers: totals.answers,
        errors: totals.errors,
        ack: Stats::of(totals.ack),
        full_turn: Stats::of(totals.turn),
        samples,
        peak_rss_mb: peak.max(rss_mb()),
        kv_cache_total_mb: settings.kv_caches.total >> 20,
        loaded_rss_mb: loaded,
        peak_caches_mb,
        pieces,
    })
}

/// The server's state with `settings`' interviewer (and, when some candidates speak, the tiny set's speech), and
/// the clips spoken candidates say.
async fn open(
    settings: &Settings,
    dir: &std::path::Path,
    spoken: usize,
) -> anyhow::Result<(AppState, std::sync::Arc<Vec<Vec<i16>>>)> {
    let mut server_settings = Settings::for_data_dir(dir);
    server_settings.llm = settings.llm.clone();
    server_settings.models_dir = settings.models_dir.clone();
    server_settings.kv_caches = settings.kv_caches;
    if spoken > 0 {
        server_settings.stt = Spec::Local(voice::model("tiny", Purpose::Stt)?);
        server_settings.tts = Spec::Local(voice::model("tiny", Purpose::Tts)?);
        server_settings.vad = Spec::Local(voice::model("tiny", Purpose::Vad)?);
        server_settings.silence_prompt = Duration::from_secs(600);
    }
    let state = AppState::open(server_settings).await?;
    let clips = match state.tts() {
        Some(piper) if spoken > 0 => {
            anyhow::ensure!(
                state.stt().is_some(),
                "the tiny set's whisper does not load (rehearse models fetch --set tiny)"
            );
            voice::clips(piper.as_ref())?
        }
        _ if spoken > 0 => {
            anyhow::bail!("the tiny set's voice does not load (rehearse models fetch --set tiny)")
        }
        _ => Vec::new(),
    };
    Ok((state, std::sync::Arc::new(clips)))
}

/// `concurrent` candidates, the first `spoken` of them aloud, each starting a new interview when one ends, until
/// `until`.
fn candidates(
    addr: std::net::SocketAddr,
    concurrent: usize,
    spoken: usize,
    until: Instant,
    clips: &std::sync::Arc<Vec<Vec<i16>>>,
    done: &std::sync::Arc<std::sync::atomic::AtomicUsize>,
) -> Vec<tokio::task::JoinHandle<Worker>> {
    let run_id = crate::db::now_ms() as u64;
    (0..concurrent)
        .map(|w| {
            let done = done.clone();
            let clips = clips.clone();
            tokio::spawn(async move {
                let mut out = Worker::default();
                let mut k = 0;
                while Instant::now() < until {
                    let n = w * 1_000_000 + k;
                    let result = if w < spoken {
                        voice::candidate(addr, n, SPOKEN_ANSWERS, &clips)
                            .await
                            .map(|s| out.spoken.push(s))
                    } else {
                        candidate(addr, n, run_id, ANSWERS_PER_INTERVIEW)
                            .await
                            .map(|s| out.text.push(s))
                    };
                    if let Err(e) = result {
                        out.errors.push(format!("{e:#}"));
                    }
                    done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    k += 1;
                }
                out
            })
        })
        .collect()
}

/// Samples the process every 10 s until every candidate has stopped: the samples and the peak resident memory.
async fn watch(
    state: &AppState,
    workers: &[tokio::task::JoinHandle<Worker>],
    began: Instant,
    done: &std::sync::atomic::AtomicUsize,
) -> (Vec<Sample>, f64) {
    let mut samples = Vec::new();
    let mut peak: f64 = 0.0;
    while workers.iter().any(|w| !w.is_finished()) {
        let rss = rss_mb();
        peak = peak.max(rss);
        let caches = state
            .llm()
            .cache_bytes()
            .map(|b| b as f64 / (1 << 20) as f64);
        samples.push(Sample {
            seconds: began.elapsed().as_secs_f64(),
            rss_mb: rss,
            caches_mb: caches,
            open_files: open_files(),
            interviews_done: done.load(std::sync::atomic::Ordering::Relaxed),
        });
        tokio::time::sleep(Duration::from_secs(10)).await;
    }
    (samples, peak)
}

/// What the candidates measured, added up.
#[derive(Default)]
struct Totals {
    ack: Vec<f64>,
    turn: Vec<f64>,
    errors: Vec<String>,
    answers: usize,
    interviews: usize,
    first_audio: Vec<f64>,
    spoken_answers: usize,
    spoken_interviews: usize,
}

impl Totals {
    fn add(&mut self, w: Worker) {
        for one in w.text {
            self.ack.extend(one.ack);
            self.turn.extend(one.turn);
            self.answers += one.answers;
            self.interviews += 1;
        }
        for one in w.spoken {
            self.first_audio.extend(one.to_first_audio);
            self.spoken_answers += one.turns;
            self.spoken_interviews += 1;
        }
        self.interviews += w.errors.len();
        self.errors.extend(w.errors);
    }
}

/// How many of the interviewer's pieces ended each way (model words, fixed wording, ...).
fn pieces(state: &AppState) -> Vec<(String, u64)> {
    let mut pieces: Vec<(String, u64)> = Vec::new();
    for (_, outcome, n) in state.metrics().pieces() {
        match pieces.iter_mut().find(|(o, _)| o == outcome.as_str()) {
            Some((_, total)) => *total += n,
            None => pieces.push((outcome.as_str().to_string(), n)),
        }
    }
    pieces
}

pub fn print(r: &Report) {
    println!(
        "{} interviews at once for {:.0} s with {}: {} interviews, {} answers, {} errors",
        r.concurrent,
        r.seconds,
        r.interviewer,
        r.interviews,
        r.answers,
        r.errors.len()
    );
    if r.spoken > 0 {
        println!(
            "{} of them spoken: {} spoken interviews, {} spoken answers",
            r.spoken, r.spoken_interviews, r.spoken_answers
        );
    }
    println!("{:<34} {:>9} {:>9} {:>9}", "", "p50 ms", "p95 ms", "max ms");
    for (name, s) in [
        ("answer acknowledged", &r.ack),
        ("interviewer's turn complete", &r.full_turn),
        ("spoken: end of speech to audio", &r.spoken_first_audio),
    ] {
        println!(
            "{name:<34} {:>9.1} {:>9.1} {:>9.1}",
            s.p50_ms, s.p95_ms, s.max_ms
        );
    }
    let pieces: Vec<String> = r.pieces.iter().map(|(o, n)| format!("{n} {o}")).collect();
    println!("model-written pieces: {}", pieces.join(", "));
    println!("resident memory, the model caches' part, and open files over time:");
    let mb = |v: Option<f64>| v.map_or_else(|| "-".to_string(), |v| format!("{v:.0}"));
    for s in &r.samples {
        println!(
            "  {:>6.0} s  {:>7.0} MB  caches {:>5} MB  {:>4} files  {:>5} interviews done",
            s.seconds,
            s.rss_mb,
            mb(s.caches_mb),
            s.open_files,
            s.interviews_done
        );
    }
    println!(
        "peak resident memory {:.0} MB: {:.0} MB with the models loaded, model caches at most {} MB (bounded at {} MB)",
        r.peak_rss_mb,
        r.loaded_rss_mb,
        mb(r.peak_caches_mb),
        r.kv_cache_total_mb
    );
    for e in r.errors.iter().take(10) {
        println!("error: {e}");
    }
}
