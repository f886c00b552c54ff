//! `rehearse models fetch|list|verify`: the manifest and the models directory, for people.

use anyhow::{Context, bail};

use crate::{
    config::{ModelsCommand, Settings},
    models::{Manifest, Model, State, fetch, human_size},
};

pub async fn run(settings: &Settings, cmd: ModelsCommand) -> anyhow::Result<()> {
    let dir = settings.models_dir.clone();
    let manifest = Manifest::builtin();
    match cmd {
        ModelsCommand::Fetch {
            set,
            model,
            force,
            keep_downloads,
        } => {
            let models: Vec<&Model> = if model.is_empty() {
                manifest.set(&set)?
            } else {
                model
                    .iter()
                    .map(|n| {
                        manifest.model(n).with_context(|| {
                            format!("no model called {n:?} (see `rehearse models list`)")
                        })
                    })
                    .collect::<anyhow::Result<_>>()?
            };
            let opts = fetch::Options {
                force,
                keep_downloads,
                ..fetch::Options::default()
            };
            let total: u64 = models.iter().map(|m| m.installed_size()).sum();
            eprintln!(
                "Fetching {} model(s), {} in all, into {}",
                models.len(),
                human_size(total),
                dir.display()
            );
            let started = std::time::Instant::now();
            let n =
                tokio::task::spawn_blocking(move || fetch::fetch(&dir, &models, &opts)).await??;
            eprintln!(
                "Done: {n} installed now, in {:.1} s. `rehearse models verify` rechecks them.",
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        ModelsCommand::List => {
            print_table(manifest, &dir, false);
            Ok(())
        }
        ModelsCommand::Verify => {
            let bad =
                tokio::task::spawn_blocking(move || print_table(manifest, &dir, true)).await?;
            if bad > 0 {
                bail!(
                    "{bad} model(s) are corrupt: `rehearse models fetch --model NAME` installs them again"
                );
            }
            Ok(())
        }
    }
}

/// Prints one line per model; returns how many are corrupt.
fn print_table(manifest: &Manifest, dir: &std::path::Path, hash: bool) -> usize {
    println!("Models in {}", dir.display());
    println!(
        "{:<20} {:<8} {:<10} {:>9}  {:<20} {:<26} NOTE",
        "NAME", "ROLE", "STATE", "SIZE", "SETS", "LICENCE"
    );
    let mut corrupt = 0;
    for m in &manifest.models {
        let (state, note) = match m.state(dir, hash) {
            State::Installed if hash => ("verified", String::new()),
            State::Installed => ("installed", String::new()),
            State::Missing => ("missing", String::new()),
            State::Corrupt(why) => {
                corrupt += 1;
                ("CORRUPT", why)
            }
        };
        println!(
            "{:<20} {:<8} {:<10} {:>9}  {:<20} {:<26} {}",
            m.name,
            m.role.to_string(),
            state,
            human_size(m.installed_size()),
            m.sets.join(","),
            m.licence,
            note
        );
    }
    corrupt
}
