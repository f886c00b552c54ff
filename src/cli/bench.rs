//! `rehearse bench ...`: each benchmark's arguments checked, its run, its report printed and, when asked, written as
//! JSON. One function per benchmark.

use std::path::{Path, PathBuf};

use anyhow::{Context, ensure};

use crate::{
    backends::Spec,
    config::{BenchCommand, Settings},
};

pub async fn bench(settings: Settings, cmd: BenchCommand) -> anyhow::Result<()> {
    match cmd {
        BenchCommand::Soak {
            concurrent,
            seconds,
            spoken,
            json,
        } => soak(&settings, concurrent, seconds, spoken, json).await,
        BenchCommand::Load {
            url,
            candidates,
            answers,
            json,
        } => load(&settings, url, candidates, answers, json).await,
        BenchCommand::Models {
            set,
            llm_model,
            llama_cpp,
            json,
        } => models(&settings, set, llm_model, llama_cpp, json).await,
        BenchCommand::Scoring {
            calibration,
            show_pairs,
            dump_signals,
            limit,
            json,
        } => {
            scoring(
                &settings,
                &calibration,
                show_pairs,
                dump_signals,
                limit,
                json,
            )
            .await
        }
        BenchCommand::Interviewer {
            backends,
            split,
            scripts,
            show_turns,
            limit,
            json,
        } => {
            interviewer(
                &settings,
                backends,
                &split,
                scripts.as_deref(),
                show_turns,
                limit,
                json,
            )
            .await
        }
        BenchCommand::Turns {
            set,
            clips,
            pauses,
            finished_ms,
            longest_ms,
            brief_ms,
            verbose,
            json,
        } => {
            let rules = turn_rules(&settings, finished_ms, longest_ms, brief_ms);
            turns(&settings, set, clips, &pauses, rules, verbose, json).await
        }
        BenchCommand::Voice {
            set,
            interviews,
            turns,
            clips,
            pauses,
            json,
        } => voice(&settings, set, interviews, turns, clips, pauses, json).await,
        BenchCommand::Remote {
            requests,
            tokens,
            json,
        } => remote(&settings, requests, tokens, json).await,
        BenchCommand::Sandbox { json } => sandbox(&settings, json).await,
    }
}

async fn soak(
    settings: &Settings,
    concurrent: usize,
    seconds: u64,
    spoken: usize,
    json: Option<PathBuf>,
) -> anyhow::Result<()> {
    let report = crate::bench::soak::run(
        settings,
        concurrent.max(1),
        spoken.min(concurrent.max(1)),
        std::time::Duration::from_secs(seconds),
    )
    .await?;
    crate::bench::soak::print(&report);
    write_json(json.as_deref(), &report)
}

async fn load(
    settings: &Settings,
    url: Option<String>,
    candidates: usize,
    answers: usize,
    json: Option<PathBuf>,
) -> anyhow::Result<()> {
    ensure!(
        (1..=1000).contains(&candidates),
        "--candidates must be between 1 and 1000"
    );
    ensure!(
        (1..=15).contains(&answers),
        "--answers must be between 1 and 15 (one round's worth)"
    );
    let report = crate::bench::load::run(&crate::bench::load::Options {
        url,
        candidates,
        answers,
        llm: remote_llm(settings),
    })
    .await?;
    crate::bench::load::print(&report);
    write_json(json.as_deref(), &report)?;
    ensure!(
        report.errors.is_empty(),
        "{} candidate(s) failed",
        report.errors.len()
    );
    Ok(())
}

async fn models(
    settings: &Settings,
    set: String,
    llm_model: Option<String>,
    llama_cpp: bool,
    json: Option<PathBuf>,
) -> anyhow::Result<()> {
    let dir = settings.models_dir.clone();
    let report = tokio::task::spawn_blocking(move || {
        crate::bench::models::run(&dir, &set, llm_model.as_deref(), llama_cpp)
    })
    .await??;
    crate::bench::models::print(&report);
    write_json(json.as_deref(), &report)
}

async fn scoring(
    settings: &Settings,
    calibration: &str,
    show_pairs: bool,
    dump_signals: Option<PathBuf>,
    limit: Option<usize>,
    json: Option<PathBuf>,
) -> anyhow::Result<()> {
    let set = crate::scoring::calibration::load(calibration).map_err(|e| anyhow::anyhow!(e))?;
    let with_llm = settings.judge_with_llm;
    let (llm, embed) = super::open_judge(settings).await?;
    if let Some(path) = dump_signals {
        std::fs::write(&path, crate::scoring::rules::dump(&set, embed.as_deref()))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let name = calibration.to_string();
    let report = tokio::task::spawn_blocking(move || {
        let judge = crate::scoring::judge_for(llm, with_llm, embed, "bench-scoring");
        crate::bench::scoring::run(judge.as_ref(), &set, &name, limit, show_pairs)
    })
    .await?;
    crate::bench::scoring::print(&report, show_pairs);
    write_json(json.as_deref(), &report)
}

async fn interviewer(
    settings: &Settings,
    backends: Vec<String>,
    split: &str,
    scripts: Option<&std::path::Path>,
    show_turns: bool,
    limit: Option<usize>,
    json: Option<PathBuf>,
) -> anyhow::Result<()> {
    let backends = if backends.is_empty() {
        vec![settings.llm.to_string()]
    } else {
        backends
    };
    let report = crate::bench::interviewer::run(settings, &backends, split, scripts, limit).await?;
    crate::bench::interviewer::print(&report, show_turns);
    write_json(json.as_deref(), &report)
}

async fn turns(
    settings: &Settings,
    set: String,
    clips: Option<PathBuf>,
    pauses: &str,
    rules: crate::engine::turns::Rules,
    verbose: bool,
    json: Option<PathBuf>,
) -> anyhow::Result<()> {
    let clips = match clips {
        Some(dir) => crate::bench::pauses::load(&dir)?,
        None => crate::bench::pauses::project_set(
            pauses,
            &settings.data_dir.join("pauses"),
            &settings.models_dir,
        )?,
    };
    let models_dir = settings.models_dir.clone();
    let report = tokio::task::spawn_blocking(move || {
        crate::bench::turns::run(&models_dir, &set, rules, &clips)
    })
    .await??;
    crate::bench::turns::print(&report, verbose);
    write_json(json.as_deref(), &report)
}

/// The configured turn-taking rules with the silences given on the command line in their place.
fn turn_rules(
    settings: &Settings,
    finished_ms: Option<u32>,
    longest_ms: Option<u32>,
    brief_ms: Option<u32>,
) -> crate::engine::turns::Rules {
    let set_rules = settings.turn_rules();
    crate::engine::turns::Rules {
        end_silence_ms: longest_ms.unwrap_or(set_rules.end_silence_ms),
        finished_silence_ms: finished_ms.unwrap_or(set_rules.finished_silence_ms),
        brief_silence_ms: brief_ms.unwrap_or(set_rules.brief_silence_ms),
        ..set_rules
    }
}

async fn voice(
    settings: &Settings,
    set: String,
    interviews: usize,
    turns: usize,
    clips: Option<PathBuf>,
    pauses: Option<String>,
    json: Option<PathBuf>,
) -> anyhow::Result<()> {
    ensure!(
        (1..=20).contains(&interviews),
        "--interviews must be between 1 and 20"
    );
    ensure!(
        (1..=12).contains(&turns),
        "--turns must be between 1 and 12"
    );
    let clips = match (clips, pauses) {
        (Some(dir), _) => Some(crate::bench::pauses::load(&dir)?),
        (None, Some(name)) => Some(crate::bench::pauses::project_set(
            &name,
            &settings.data_dir.join("pauses"),
            &settings.models_dir,
        )?),
        (None, None) => None,
    };
    let opts = crate::bench::voice::Options {
        set,
        llm: match &settings.llm {
            spec @ (Spec::Local(_) | Spec::Remote(_)) => Some(spec.clone()),
            _ => None,
        },
        stt: matches!(settings.stt, Spec::Remote(_)).then(|| settings.stt.clone()),
        tts: matches!(settings.tts, Spec::Remote(_)).then(|| settings.tts.clone()),
        tts_voice: settings.tts_voice.clone(),
        realtime: settings.realtime.clone(),
        interviews,
        turns,
        clips,
    };
    let report = crate::bench::voice::run(&settings.models_dir, &opts).await?;
    crate::bench::voice::print(&report);
    write_json(json.as_deref(), &report)?;
    ensure!(
        report.errors.is_empty(),
        "{} interview(s) failed",
        report.errors.len()
    );
    Ok(())
}

async fn remote(
    settings: &Settings,
    requests: usize,
    tokens: usize,
    json: Option<PathBuf>,
) -> anyhow::Result<()> {
    ensure!(
        (1..=100_000).contains(&requests) && (1..=4096).contains(&tokens),
        "--requests must be between 1 and 100000 and --tokens between 1 and 4096"
    );
    let server = remote_llm(settings);
    let report = tokio::task::spawn_blocking(move || {
        crate::bench::remote::run(requests, tokens, server.as_ref())
    })
    .await??;
    crate::bench::remote::print(&report);
    write_json(json.as_deref(), &report)
}

/// Runs the sandbox benchmark on the configured runtimes.
async fn sandbox(settings: &Settings, json: Option<PathBuf>) -> anyhow::Result<()> {
    let dir = settings.runtimes_dir.clone();
    let report = tokio::task::spawn_blocking(move || crate::bench::sandbox::run(&dir)).await??;
    crate::bench::sandbox::print(&report);
    write_json(json.as_deref(), &report)
}

/// The interviewer's spec when it is a remote server (the benches that time one).
fn remote_llm(settings: &Settings) -> Option<Spec> {
    matches!(settings.llm, Spec::Remote(_)).then(|| settings.llm.clone())
}

/// Writes a benchmark's report as JSON to `path`, when one is given.
fn write_json(path: Option<&Path>, report: &impl serde::Serialize) -> anyhow::Result<()> {
    if let Some(path) = path {
        std::fs::write(path, serde_json::to_string_pretty(report)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
