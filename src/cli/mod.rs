//! The commands, as functions over resolved settings: `serve`, `seed`, `user`, `credits` and `bench` here,
//! `doctor` in [`doctor`] and `models` in [`models`]. Each prints for a person and returns an error with context
//! for `main` to report.

pub mod doctor;
pub mod models;

pub use doctor::doctor;

use std::sync::Arc;

use anyhow::Context;

use crate::{
    accounts::{UserRole, service},
    app::{self, AppState},
    catalog::SeedSource,
    config::{BenchCommand, CreditsCommand, SandboxCommand, Settings, UserCommand},
    db::{self, Db, catalog::ImportOutcome},
};

pub async fn serve(settings: Settings) -> anyhow::Result<()> {
    let addr = settings.addr;
    let state = AppState::open(settings).await?;
    // Compile the sandbox's runtimes in the background so the first run does not wait for it.
    let warm = state.clone();
    tokio::spawn(async move {
        if let Err(e) = warm.sandbox().ready().await {
            tracing::warn!("{e}");
        }
    });
    let tls = match &state.settings().tls {
        Some(files) => {
            // A specific listening address goes into a generated certificate's names.
            let extra: Vec<String> = if addr.ip().is_unspecified() {
                vec![]
            } else {
                vec![addr.ip().to_string()]
            };
            Some(crate::tls::server_config(files, &extra)?)
        }
        None => None,
    };
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("listening on {addr}"))?;
    tracing::info!(
        "Rehearse {} serving {}://{} ({} companies, data in {})",
        env!("CARGO_PKG_VERSION"),
        if tls.is_some() { "https" } else { "http" },
        listener.local_addr()?,
        state.catalog().companies.len(),
        state.settings().data_dir.display()
    );
    match tls {
        Some(config) => app::serve_tls(listener, state.clone(), config, shutdown_signal()).await?,
        None => app::serve(listener, state.clone(), shutdown_signal()).await?,
    }
    // Live interviews save where they are, so a restart resumes them.
    state.hub().stop_all().await;
    tracing::info!("stopped");
    Ok(())
}

/// Completes on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        tokio::signal::ctrl_c().await.ok();
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

pub async fn seed(settings: Settings) -> anyhow::Result<()> {
    settings.prepare_data_dir()?;
    let db = open_db(&settings).await?;
    let source = SeedSource::from_setting(settings.seeds_dir.as_deref());
    match app::import_catalog(&db, &source).await? {
        ImportOutcome::Unchanged => println!(
            "The catalog in {} is already up to date.",
            settings.db_path.display()
        ),
        ImportOutcome::Imported {
            companies,
            roles,
            behavioral,
            design,
            problems,
        } => println!(
            "Imported {companies} companies, {roles} roles, {behavioral} behavioral questions, {design} system design \
             prompts and {problems} coding problems from {source} into {}.",
            settings.db_path.display()
        ),
    }
    Ok(())
}

/// The rules judge's sentence embeddings, when installed (said on standard error either way).
async fn open_embed(settings: &Settings) -> Option<Arc<dyn crate::embed::Embed>> {
    let dir = settings.models_dir.clone();
    match tokio::task::spawn_blocking(move || crate::embed::open(&dir)).await {
        Ok(Ok(e)) => {
            eprintln!("judge: rules, reading with {}", e.name());
            Some(e)
        }
        Ok(Err(why)) => {
            eprintln!("judge: rules, without embeddings ({why}): off-topic answers are not caught");
            None
        }
        Err(e) => {
            eprintln!("judge: rules, without embeddings ({e})");
            None
        }
    }
}

/// What judges: with `--judge llm`, the model of `--judge-llm` (else `--llm`), said on standard error; otherwise
/// the rules (the scripted backend stands in for the model they never ask) with the embeddings when installed.
async fn open_judge(
    settings: &Settings,
) -> anyhow::Result<(
    Arc<dyn crate::llm::Llm>,
    Option<Arc<dyn crate::embed::Embed>>,
)> {
    if !settings.judge_with_llm {
        return Ok((
            Arc::new(crate::llm::scripted::Scripted),
            open_embed(settings).await,
        ));
    }
    let spec = settings
        .judge_llm
        .clone()
        .unwrap_or_else(|| settings.llm.clone());
    let (models_dir, caches) = (settings.models_dir.clone(), settings.kv_caches);
    let (llm, status) =
        tokio::task::spawn_blocking(move || crate::backends::open_llm(&spec, &models_dir, caches))
            .await?;
    eprintln!("judge: {} ({})", status.running, status.detail);
    Ok((llm, None))
}

/// `rehearse score SESSION_ID`: scores a finished interview with the judge of `--judge` and keeps earlier reports.
pub async fn score(settings: Settings, session_id: &str, markdown: bool) -> anyhow::Result<()> {
    let db = open_db(&settings).await?;
    let id = session_id.to_string();
    let session = db
        .call(move |c| db::sessions::by_id(c, &id))
        .await?
        .with_context(|| {
            format!(
                "there is no interview {session_id} in {}",
                settings.db_path.display()
            )
        })?;
    anyhow::ensure!(
        session.state.is_final(),
        "the interview {session_id} is {}; finish it before scoring it",
        session.state.label()
    );
    let catalog = Arc::new(db.call(|c| db::catalog::load(c)).await?);
    let (llm, embed) = open_judge(&settings).await?;
    let report =
        crate::scoring::service::run(&db, catalog, &session, llm, settings.judge_with_llm, embed)
            .await?;
    if markdown {
        println!("{}", report.to_markdown());
    }
    println!(
        "Report {} by {}: {} ({}), {:.1} s. {}",
        report.id,
        report.judge,
        report
            .recommendation
            .map_or("no recommendation", |r| r.label()),
        report
            .overall
            .map_or("no overall score".into(), |o| format!("{o:.2} of 5")),
        report.scoring_ms as f64 / 1000.0,
        report.rationale
    );
    Ok(())
}

pub(crate) async fn open_db(settings: &Settings) -> anyhow::Result<Db> {
    let path = settings.db_path.clone();
    tokio::task::spawn_blocking(move || Db::open(&path))
        .await?
        .with_context(|| format!("opening the database {}", settings.db_path.display()))
}

pub async fn user(settings: Settings, cmd: UserCommand) -> anyhow::Result<()> {
    let UserCommand::Add { email, role, name } = cmd;
    settings.prepare_data_dir()?;
    let db = open_db(&settings).await?;
    let role = UserRole::parse(&role).expect("clap checked the role");
    let password = read_password()?;
    let user = service::add_user(&db, &email, &name, &password, role, settings.signup_credits)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "Created {} ({}) with {} credits.",
        user.email,
        user.role.as_str(),
        settings.signup_credits
    );
    if user.role != role {
        println!("It is the first account on this installation, so it is an admin.");
    }
    Ok(())
}

/// The password from a terminal prompt (asked twice), or the first line of standard input.
fn read_password() -> anyhow::Result<String> {
    use std::io::IsTerminal;
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ")?;
        let again = rpassword::prompt_password("Again: ")?;
        anyhow::ensure!(first == again, "the two passwords differ");
        Ok(first)
    } else {
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .context("reading the password from standard input")?;
        Ok(line.trim_end_matches(['\n', '\r']).to_string())
    }
}

pub async fn credits(settings: Settings, cmd: CreditsCommand) -> anyhow::Result<()> {
    let CreditsCommand::Grant {
        email,
        amount,
        note,
    } = cmd;
    anyhow::ensure!(
        (1..=10_000).contains(&amount),
        "grant between 1 and 10000 credits at a time"
    );
    let email = crate::accounts::normalize_email(&email).map_err(|e| anyhow::anyhow!("{e}"))?;
    let db = open_db(&settings).await?;
    let e = email.clone();
    let granted = db
        .call(move |c| db::credits::grant(c, &e, amount, None, &note, db::now_ms()))
        .await?;
    let (_, balance) = granted.ok_or_else(|| anyhow::anyhow!("there is no account for {email}"))?;
    println!("Granted {amount} credits to {email}; the balance is now {balance}.");
    Ok(())
}

pub async fn bench(settings: Settings, cmd: BenchCommand) -> anyhow::Result<()> {
    let (url, candidates, answers, json) = match cmd {
        BenchCommand::Soak {
            concurrent,
            seconds,
            spoken,
            json,
        } => {
            let report = crate::bench::soak::run(
                &settings,
                concurrent.max(1),
                spoken.min(concurrent.max(1)),
                std::time::Duration::from_secs(seconds),
            )
            .await?;
            crate::bench::soak::print(&report);
            write_json(json.as_deref(), &report)?;
            return Ok(());
        }
        BenchCommand::Load {
            url,
            candidates,
            answers,
            json,
        } => (url, candidates, answers, json),
        BenchCommand::Models {
            set,
            llm_model,
            llama_cpp,
            json,
        } => {
            let dir = settings.models_dir.clone();
            let report = tokio::task::spawn_blocking(move || {
                crate::bench::models::run(&dir, &set, llm_model.as_deref(), llama_cpp)
            })
            .await??;
            crate::bench::models::print(&report);
            write_json(json.as_deref(), &report)?;
            return Ok(());
        }
        BenchCommand::Scoring {
            calibration,
            show_pairs,
            dump_signals,
            limit,
            json,
        } => {
            let set =
                crate::scoring::calibration::load(&calibration).map_err(|e| anyhow::anyhow!(e))?;
            let with_llm = settings.judge_with_llm;
            let (llm, embed) = open_judge(&settings).await?;
            if let Some(path) = dump_signals {
                std::fs::write(&path, crate::scoring::rules::dump(&set, embed.as_deref()))
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            let report = tokio::task::spawn_blocking(move || {
                let judge = crate::scoring::judge_for(llm, with_llm, embed, "bench-scoring");
                crate::bench::scoring::run(judge.as_ref(), &set, &calibration, limit, show_pairs)
            })
            .await?;
            crate::bench::scoring::print(&report, show_pairs);
            write_json(json.as_deref(), &report)?;
            return Ok(());
        }
        BenchCommand::Interviewer {
            backends,
            split,
            show_turns,
            limit,
            json,
        } => {
            let backends = if backends.is_empty() {
                vec![settings.llm.to_string()]
            } else {
                backends
            };
            let report =
                crate::bench::interviewer::run(&settings, &backends, &split, limit).await?;
            crate::bench::interviewer::print(&report, show_turns);
            write_json(json.as_deref(), &report)?;
            return Ok(());
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
            let clips = match clips {
                Some(dir) => crate::bench::pauses::load(&dir)?,
                None => crate::bench::pauses::project_set(
                    &pauses,
                    &settings.data_dir.join("pauses"),
                    &settings.models_dir,
                )?,
            };
            let set_rules = settings.turn_rules();
            let rules = crate::engine::turns::Rules {
                end_silence_ms: longest_ms.unwrap_or(set_rules.end_silence_ms),
                finished_silence_ms: finished_ms.unwrap_or(set_rules.finished_silence_ms),
                brief_silence_ms: brief_ms.unwrap_or(set_rules.brief_silence_ms),
                ..set_rules
            };
            let models_dir = settings.models_dir.clone();
            let report = tokio::task::spawn_blocking(move || {
                crate::bench::turns::run(&models_dir, &set, rules, &clips)
            })
            .await??;
            crate::bench::turns::print(&report, verbose);
            write_json(json.as_deref(), &report)?;
            return Ok(());
        }
        BenchCommand::Voice {
            set,
            interviews,
            turns,
            clips,
            pauses,
            json,
        } => {
            anyhow::ensure!(
                (1..=20).contains(&interviews),
                "--interviews must be between 1 and 20"
            );
            anyhow::ensure!(
                (1..=12).contains(&turns),
                "--turns must be between 1 and 12"
            );
            let opts = crate::bench::voice::Options {
                set,
                llm: match &settings.llm {
                    spec @ (crate::backends::Spec::Local(_) | crate::backends::Spec::Remote(_)) => {
                        Some(spec.clone())
                    }
                    _ => None,
                },
                interviews,
                turns,
                clips: match (clips, pauses) {
                    (Some(dir), _) => Some(crate::bench::pauses::load(&dir)?),
                    (None, Some(name)) => Some(crate::bench::pauses::project_set(
                        &name,
                        &settings.data_dir.join("pauses"),
                        &settings.models_dir,
                    )?),
                    (None, None) => None,
                },
            };
            let report = crate::bench::voice::run(&settings.models_dir, &opts).await?;
            crate::bench::voice::print(&report);
            write_json(json.as_deref(), &report)?;
            anyhow::ensure!(
                report.errors.is_empty(),
                "{} interview(s) failed",
                report.errors.len()
            );
            return Ok(());
        }
        BenchCommand::Remote {
            requests,
            tokens,
            json,
        } => {
            anyhow::ensure!(
                (1..=100_000).contains(&requests) && (1..=4096).contains(&tokens),
                "--requests must be between 1 and 100000 and --tokens between 1 and 4096"
            );
            let server = matches!(settings.llm, crate::backends::Spec::Remote(_))
                .then(|| settings.llm.clone());
            let report = tokio::task::spawn_blocking(move || {
                crate::bench::remote::run(requests, tokens, server.as_ref())
            })
            .await??;
            crate::bench::remote::print(&report);
            write_json(json.as_deref(), &report)?;
            return Ok(());
        }
        BenchCommand::Sandbox { json } => {
            let dir = settings.runtimes_dir.clone();
            let report =
                tokio::task::spawn_blocking(move || crate::bench::sandbox::run(&dir)).await??;
            crate::bench::sandbox::print(&report);
            write_json(json.as_deref(), &report)?;
            return Ok(());
        }
    };
    anyhow::ensure!(
        (1..=1000).contains(&candidates),
        "--candidates must be between 1 and 1000"
    );
    anyhow::ensure!(
        (1..=15).contains(&answers),
        "--answers must be between 1 and 15 (one round's worth)"
    );
    let report = crate::bench::load::run(&crate::bench::load::Options {
        url,
        candidates,
        answers,
        llm: matches!(settings.llm, crate::backends::Spec::Remote(_)).then(|| settings.llm.clone()),
    })
    .await?;
    crate::bench::load::print(&report);
    write_json(json.as_deref(), &report)?;
    anyhow::ensure!(
        report.errors.is_empty(),
        "{} candidate(s) failed",
        report.errors.len()
    );
    Ok(())
}

/// Writes a benchmark's report as JSON to `path`, when one is given.
fn write_json(
    path: Option<&std::path::Path>,
    report: &impl serde::Serialize,
) -> anyhow::Result<()> {
    if let Some(path) = path {
        std::fs::write(path, serde_json::to_string_pretty(report)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

pub async fn sandbox(settings: Settings, cmd: SandboxCommand) -> anyhow::Result<()> {
    use std::io::{IsTerminal, Read, Write};

    use crate::sandbox::{
        Language,
        runner::{Exit, Limits, Sandbox},
    };
    let SandboxCommand::Run {
        lang,
        file,
        seconds,
    } = cmd;
    let language = Language::parse(&lang).expect("clap checked the language");
    let source =
        std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
    let mut stdin = Vec::new();
    if !std::io::stdin().is_terminal() {
        std::io::stdin().read_to_end(&mut stdin)?;
    }
    let dir = settings.runtimes_dir.clone();
    let out = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let sandbox = Sandbox::load(&dir)?;
        let limits = Limits {
            wall: std::time::Duration::from_secs(seconds),
            ..Limits::default()
        };
        sandbox.run(language, &source, &stdin, &limits)
    })
    .await??;
    std::io::stdout().write_all(out.stdout.as_bytes())?;
    std::io::stderr().write_all(out.stderr.as_bytes())?;
    let how = match &out.exit {
        _ if out.compile_error.is_some() => {
            if out.stderr.is_empty() {
                eprintln!("{}", out.compile_error.as_deref().unwrap_or_default());
            }
            "did not compile".into()
        }
        Exit::Code(c) => format!("exited with {c}"),
        Exit::TimeLimit => "time limit exceeded".into(),
        Exit::MemoryLimit => "memory limit exceeded".into(),
        Exit::Trap(t) => format!("runtime error: {t}"),
    };
    let limited = if out.output_limited {
        ", output limit reached"
    } else {
        ""
    };
    eprintln!(
        "[sandbox] {how} in {} ms, {} KiB of memory{limited}",
        out.time_ms, out.memory_kb
    );
    match out.exit {
        Exit::Code(0) if !out.output_limited => Ok(()),
        _ => anyhow::bail!("the program did not finish cleanly ({how})"),
    }
}
