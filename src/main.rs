//! The `rehearse` binary: parse the command line, start logging, hand over.

use clap::Parser;
use rehearse::config::{Cli, Command, Settings};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = Settings::resolve(&cli)?;
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(&settings.log))
        .with_target(false)
        .init();
    match cli.command {
        Command::Serve(_) => rehearse::cli::serve(settings).await,
        Command::Seed => rehearse::cli::seed(settings).await,
        Command::Doctor => rehearse::cli::doctor(settings).await,
    }
}
