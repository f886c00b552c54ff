//! The `rehearse` binary: parse the command line, start logging, hand over, and report a failure in one message.

use std::process::ExitCode;

use clap::Parser;
use rehearse::config::{Cli, Command, Settings};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // `{:#}` prints the whole chain of causes on one line each; no backtrace for a user's mistake.
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = Settings::resolve(&cli)?;
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(&settings.log))
        .with_target(false)
        .init();
    match cli.command {
        Command::Serve(_) => rehearse::cli::serve(settings).await,
        Command::Seed => rehearse::cli::seed(settings).await,
        Command::Doctor => rehearse::cli::doctor(settings).await,
        Command::User(cmd) => rehearse::cli::user(settings, cmd).await,
        Command::Credits(cmd) => rehearse::cli::credits(settings, cmd).await,
        Command::Bench(cmd) => rehearse::cli::bench(settings, cmd).await,
        Command::Sandbox(cmd) => rehearse::cli::sandbox(settings, cmd).await,
        Command::Models(cmd) => rehearse::models::commands::run(&settings, cmd).await,
        Command::Score {
            session_id,
            markdown,
        } => rehearse::cli::score(settings, &session_id, markdown).await,
    }
}
