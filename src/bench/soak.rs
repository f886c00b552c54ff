//! `rehearse bench soak`: interviews at once for a given time against a server in this process running the
//! configured interviewer (a real local model: `--llm local:NAME`), each simulated candidate starting a new
//! interview as soon as one ends, so that over the run far more conversations pass through the model than its
//! kept caches hold. Every 10 s it samples the process's resident memory and open file descriptors; at the end it
//! reports them over time, the latency of each answer's acknowledgement and of the interviewer's turn, and every
//! error (a timeout is an error).

use std::time::{Duration, Instant};

use serde::Serialize;

use super::load::{ANSWERS_PER_INTERVIEW, Samples, candidate, tempfile_dir};
use crate::{
    app::{self, AppState},
    config::Settings,
    stats::Stats,
};

#[derive(Debug, Clone, Serialize)]
pub struct Sample {
    pub seconds: f64,
    pub rss_mb: f64,
    pub open_files: usize,
    pub interviews_done: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub interviewer: String,
    pub concurrent: usize,
    pub seconds: f64,
    pub interviews: usize,
    pub answers: usize,
    pub errors: Vec<String>,
    pub ack: Stats,
    pub full_turn: Stats,
    pub samples: Vec<Sample>,
    pub peak_rss_mb: f64,
    pub kv_cache_total_mb: usize,
}

fn rss_mb() -> f64 {
    super::proc_status_mb("VmRSS").unwrap_or(0.0)
}

fn open_files() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

/// Runs `concurrent` simulated candidates for `duration` against a server with `settings`' interviewer.
pub async fn run(
    settings: &Settings,
    concurrent: usize,
    duration: Duration,
) -> anyhow::Result<Report> {
    let dir = tempfile_dir()?;
    let mut server_settings = Settings::for_data_dir(&dir);
    server_settings.llm = settings.llm.clone();
    server_settings.models_dir = settings.models_dir.clone();
    server_settings.kv_caches = settings.kv_caches;
    let state = AppState::open(server_settings).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app::serve(listener, state.clone(), async {
        stopped.await.ok();
    }));
    let began = Instant::now();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let run_id = crate::db::now_ms() as u64;
    let workers: Vec<_> = (0..concurrent)
        .map(|w| {
            let done = done.clone();
            tokio::spawn(async move {
                let (mut samples, mut errors) = (Vec::<Samples>::new(), Vec::new());
                let mut k = 0;
                while began.elapsed() < duration {
                    match candidate(addr, w * 1_000_000 + k, run_id, ANSWERS_PER_INTERVIEW).await {
                        Ok(s) => samples.push(s),
                        Err(e) => errors.push(format!("{e:#}")),
                    }
                    done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    k += 1;
                }
                (samples, errors)
            })
        })
        .collect();
    let mut samples = Vec::new();
    let mut peak: f64 = 0.0;
    while workers.iter().any(|w| !w.is_finished()) {
        let rss = rss_mb();
        peak = peak.max(rss);
        samples.push(Sample {
            seconds: began.elapsed().as_secs_f64(),
            rss_mb: rss,
            open_files: open_files(),
            interviews_done: done.load(std::sync::atomic::Ordering::Relaxed),
        });
        tokio::time::sleep(Duration::from_secs(10)).await;
    }
    let (mut ack, mut turn, mut errors, mut answers, mut interviews) =
        (Vec::new(), Vec::new(), Vec::new(), 0, 0);
    for w in workers {
        let (s, e) = w.await?;
        for one in s {
            ack.extend(one.ack);
            turn.extend(one.turn);
            answers += one.answers;
            interviews += 1;
        }
        interviews += e.len();
        errors.extend(e);
    }
    let interviewer = state.llm().name().to_string();
    let _ = stop.send(());
    let _ = server.await;
    state.hub().stop_all().await;
    let _ = std::fs::remove_dir_all(dir);
    Ok(Report {
        interviewer,
        concurrent,
        seconds: began.elapsed().as_secs_f64(),
        interviews,
        answers,
        errors,
        ack: Stats::of(ack),
        full_turn: Stats::of(turn),
        samples,
        peak_rss_mb: peak.max(rss_mb()),
        kv_cache_total_mb: settings.kv_caches.total >> 20,
    })
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
    println!("{:<34} {:>9} {:>9} {:>9}", "", "p50 ms", "p95 ms", "max ms");
    for (name, s) in [
        ("answer acknowledged", &r.ack),
        ("interviewer's turn complete", &r.full_turn),
    ] {
        println!(
            "{name:<34} {:>9.1} {:>9.1} {:>9.1}",
            s.p50_ms, s.p95_ms, s.max_ms
        );
    }
    println!("resident memory and open files over time:");
    for s in &r.samples {
        println!(
            "  {:>6.0} s  {:>7.0} MB  {:>4} files  {:>5} interviews done",
            s.seconds, s.rss_mb, s.open_files, s.interviews_done
        );
    }
    println!(
        "peak resident memory {:.0} MB (kept caches bounded at {} MB, plus the models)",
        r.peak_rss_mb, r.kv_cache_total_mb
    );
    for e in r.errors.iter().take(10) {
        println!("error: {e}");
    }
}
