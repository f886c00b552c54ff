//! The `rehearse` binary: parse the command line, start logging, hand over, and report a failure in one message.

use std::process::ExitCode;

use clap::Parser;
use rehearse::config::{Cli, Command, Settings};

fn main() -> ExitCode {
    pin_thread_count();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: starting the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let cli = Cli::parse();
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // `{:#}` prints the whole chain of causes on one line each; no backtrace for a user's mistake.
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Fixes the number of threads candle computes with, once, before any thread starts. Unset, candle works it out
/// again on every matrix product by reading `/proc/cpuinfo` (a profile of decoding showed this costing more than
/// the attention products themselves); set, it reads this variable (which rayon reads too). A value the user set
/// is kept.
#[allow(unsafe_code)]
fn pin_thread_count() {
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        let threads = candle_core::utils::get_num_threads();
        // SAFETY: no other thread exists yet (the async runtime is built after this), so nothing reads the
        // environment concurrently.
        unsafe { std::env::set_var("RAYON_NUM_THREADS", threads.to_string()) };
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
        Command::Models(cmd) => rehearse::cli::models::run(&settings, cmd).await,
        Command::Score {
            session_id,
            markdown,
        } => rehearse::cli::score(settings, &session_id, markdown).await,
    }
}
