//! `rehearse doctor`: each part the server needs (data directory, database, catalog, seeds, HTTPS, models and
//! what each backend role would run), checked and reported one line each; an error when any part fails.

use crate::{
    catalog::{self, SeedSource},
    config::Settings,
    db,
};

/// One line of the report: passed (`Some(true)`), failed (`Some(false)`) or for information (`None`).
struct Line {
    ok: Option<bool>,
    what: String,
    detail: String,
}

fn line(ok: Option<bool>, what: &str, detail: String) -> Line {
    Line {
        ok,
        what: what.to_string(),
        detail,
    }
}

/// Prints one line per component: what it is, whether it works, and what to do if not.
pub async fn doctor(settings: Settings) -> anyhow::Result<()> {
    println!("Rehearse {}", env!("CARGO_PKG_VERSION"));
    let mut lines = vec![data_dir(&settings)];
    lines.extend(database(&settings).await);
    lines.push(seeds(&settings));
    lines.push(tls(&settings));
    lines.push(models(&settings));
    lines.extend(backends(&settings).await?);
    let mut problems = 0;
    for l in &lines {
        let mark = match l.ok {
            Some(true) => "ok  ",
            Some(false) => {
                problems += 1;
                "FAIL"
            }
            None => "--  ",
        };
        println!("{mark}  {:<14} {}", l.what, l.detail);
    }
    if problems > 0 {
        anyhow::bail!("{problems} problem(s) found");
    }
    Ok(())
}

fn data_dir(settings: &Settings) -> Line {
    match settings.prepare_data_dir() {
        Ok(()) => line(
            Some(true),
            "data dir",
            format!("{} (writable)", settings.data_dir.display()),
        ),
        Err(e) => line(Some(false), "data dir", format!("{e:#}")),
    }
}

/// The database (schema version, journal mode, accounts) and the catalog imported into it.
async fn database(settings: &Settings) -> Vec<Line> {
    let db = match super::open_db(settings).await {
        Ok(db) => db,
        Err(e) => return vec![line(Some(false), "database", format!("{e:#}"))],
    };
    let info = db
        .call(|c| {
            let version: u32 = c.query_row("PRAGMA user_version", [], |r| r.get(0))?;
            let mode: String = c.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
            let catalog = db::catalog::load(c)?;
            let users: i64 = c.query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0))?;
            Ok((version, mode, catalog, users))
        })
        .await;
    let (version, mode, catalog, users) = match info {
        Ok(info) => info,
        Err(e) => return vec![line(Some(false), "database", format!("{e:#}"))],
    };
    let seeded = !catalog.companies.is_empty();
    vec![
        line(
            Some(true),
            "database",
            format!(
                "{} (schema v{version}, {mode}, {users} users)",
                settings.db_path.display()
            ),
        ),
        line(
            Some(seeded),
            "catalog",
            if seeded {
                format!(
                    "{} companies, {} behavioral questions, {} design prompts, {} coding problems",
                    catalog.companies.len(),
                    catalog.behavioral.len(),
                    catalog.design.len(),
                    catalog.problems.len()
                )
            } else {
                "empty: run `rehearse seed`".into()
            },
        ),
    ]
}

fn seeds(settings: &Settings) -> Line {
    let source = SeedSource::from_setting(settings.seeds_dir.as_deref());
    match catalog::load(&source) {
        Ok(l) => line(
            Some(true),
            "seeds",
            format!("{source}: valid (fingerprint {:.12})", l.fingerprint),
        ),
        Err(e) => line(Some(false), "seeds", format!("{source}: {e}")),
    }
}

fn tls(settings: &Settings) -> Line {
    match &settings.tls {
        Some(files) if files.cert.exists() => {
            line(Some(true), "tls", format!("{}", files.cert.display()))
        }
        Some(files) => line(
            None,
            "tls",
            format!("{} is made on the first `serve`", files.cert.display()),
        ),
        None => line(
            None,
            "tls",
            "off: serve --tls for HTTPS (needed for microphones on a LAN)".into(),
        ),
    }
}

fn models(settings: &Settings) -> Line {
    let manifest = crate::models::Manifest::builtin();
    let installed: Vec<&str> = manifest
        .models
        .iter()
        .filter(|m| m.state(&settings.models_dir, false) == crate::models::State::Installed)
        .map(|m| m.name.as_str())
        .collect();
    line(
        None,
        "models",
        format!(
            "{}: {}",
            settings.models_dir.display(),
            if installed.is_empty() {
                "none installed (`rehearse models fetch`)".to_string()
            } else {
                installed.join(", ")
            }
        ),
    )
}

/// What each backend role would run, opened as `serve` opens it.
async fn backends(settings: &Settings) -> anyhow::Result<Vec<Line>> {
    let (spec, stt_spec, tts_spec) = settings.local_specs();
    let (dir, tts_voice, vad_spec) = (
        settings.models_dir.clone(),
        settings.tts_voice.clone(),
        settings.vad.clone(),
    );
    // The roles a live model takes over are the ones serve does not open as set.
    let replaced = [
        spec != settings.llm,
        stt_spec != settings.stt,
        tts_spec != settings.tts,
        false,
    ];
    let statuses = tokio::task::spawn_blocking(move || {
        [
            crate::backends::open_llm(&spec, &dir, Default::default()).1,
            crate::backends::open_stt(&stt_spec, &dir).1,
            crate::backends::open_tts(&tts_spec, &tts_voice, &dir).1,
            crate::backends::open_vad(&vad_spec, &dir).1,
        ]
    })
    .await?;
    let live = settings
        .realtime
        .as_ref()
        .map(|r| format!("{}:{}", r.provider.prefix(), r.model));
    let mut lines: Vec<Line> = statuses
        .into_iter()
        .zip(replaced)
        .map(|(s, replaced)| match &live {
            Some(name) if replaced => line(
                None,
                &s.role.to_string(),
                format!("the live model {name} (--realtime); not loaded here"),
            ),
            _ => line(
                Some(s.ok),
                &s.role.to_string(),
                format!("{} -> {}: {}", s.spec, s.running, s.detail),
            ),
        })
        .collect();
    lines.extend(servers(settings).await?);
    Ok(lines)
}

/// Each remote model's server, asked as a turn would ask it: reachable, the key accepted, the model known, a
/// one-token reply.
async fn servers(settings: &Settings) -> anyhow::Result<Vec<Line>> {
    let judge = settings
        .judge_llm
        .clone()
        .filter(|_| settings.judge_with_llm);
    let mut lines = Vec::new();
    for (what, spec) in [
        ("llm server", Some(settings.llm.clone())),
        ("judge server", judge),
    ] {
        let Some(crate::backends::Spec::Remote(r)) = spec else {
            continue;
        };
        let checked = tokio::task::spawn_blocking(move || crate::backends::probe(&r)).await?;
        lines.push(match checked {
            Ok(how) => line(Some(true), what, how),
            Err(why) => line(Some(false), what, why),
        });
    }
    if let crate::backends::Spec::Remote(r) = settings.tts.clone() {
        let voice = settings.tts_voice.clone();
        let checked =
            tokio::task::spawn_blocking(move || crate::backends::probe_tts(&r, &voice)).await?;
        lines.push(match checked {
            Ok(how) => line(Some(true), "voice server", how),
            Err(why) => line(Some(false), "voice server", why),
        });
    }
    if let Some(config) = settings.realtime.clone() {
        let live = crate::voice::live::Live::new(config);
        let name = live.name().to_string();
        let checked = tokio::task::spawn_blocking(move || live.probe()).await?;
        lines.push(match checked {
            Ok(how) => line(Some(true), "live model", format!("{name}: {how}")),
            Err(why) => line(Some(false), "live model", format!("{name}: {why}")),
        });
    }
    Ok(lines)
}
