//! The commands, as functions over resolved settings: `serve`, `seed`, `user` and `credits` here, `bench` in
//! [`bench`], `doctor` in [`doctor`] and `models` in [`models`]. Each prints for a person and returns an error with context
//! for `main` to report.

mod bench;
pub mod doctor;
pub mod models;

pub use bench::bench;
pub use doctor::doctor;

use std::sync::Arc;

use anyhow::Context;

use crate::{
    accounts::{UserRole, service},
    app::{self, AppState},
    catalog::SeedSource,
    config::{CreditsCommand, SandboxCommand, Settings, UserCommand},
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
pub(super) async fn open_judge(
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
