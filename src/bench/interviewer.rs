//! `rehearse bench interviewer`: scripted candidates (`interviewer_scripts.toml`, written for this project) play
//! text interviews against a server in this process, through the real engine, actor and backend, and every
//! interviewer turn is graded by the deterministic checks of [`crate::engine::guard`]. Reported per check, per
//! round kind and per backend, with the failing turns' text. Scripts are split into `dev` (looked at while tuning)
//! and `test` (held out: the headline); the bench never prints a test script's words unless asked.

use std::{collections::BTreeMap, time::Duration};

use anyhow::{Context as _, bail};
use futures_util::SinkExt;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::load::{Ws, message, next_frame, open_interview_at, tempfile_dir};
use crate::{
    app::{self, AppState},
    backends::Spec,
    catalog::{Catalog, Company, RoundKind},
    config::Settings,
    engine::guard::{self, Asked, Check, Outcome},
    realtime::pb::{self, client_frame, server_frame::Kind},
};

const SCRIPTS: &str = include_str!("interviewer_scripts.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Turn {
    pub kind: String,
    pub say: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Script {
    pub id: String,
    pub split: String,
    pub company: String,
    pub role: String,
    pub round: RoundKind,
    /// The question its answers are about (the interview is asked to ask it).
    #[serde(default)]
    pub question: Option<String>,
    #[serde(rename = "turn")]
    pub turns: Vec<Turn>,
}

#[derive(Debug, Deserialize)]
struct File {
    script: Vec<Script>,
}

pub fn scripts() -> anyhow::Result<Vec<Script>> {
    let f: File = toml::from_str(SCRIPTS).context("reading interviewer_scripts.toml")?;
    Ok(f.script)
}

/// Scripts from a file of the built-in scripts' format (a set the project never saw, say).
pub fn scripts_from(path: &std::path::Path) -> anyhow::Result<Vec<Script>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the scripts {}", path.display()))?;
    let f: File =
        toml::from_str(&text).with_context(|| format!("reading the scripts {}", path.display()))?;
    Ok(f.script)
}

/// What a scripted candidate's turn asks of the interviewer.
fn asked(turn: &Turn) -> Asked {
    match turn.kind.as_str() {
        "answer" | "vague" if turn.say.split_whitespace().count() >= 12 => Asked::Answer,
        "hint_request" => Asked::HintRequest,
        "repeat_request" => Asked::RepeatRequest,
        "process_question" => Asked::ProcessQuestion,
        "feedback_request" => Asked::FeedbackRequest,
        "injection" => Asked::Injection,
        "move_on" if crate::engine::answers::asks_for_another_problem(&turn.say) => {
            Asked::AnotherProblem
        }
        "move_on" => Asked::MoveOn,
        "clarifying_question" => Asked::ClarifyingQuestion,
        "off_topic" => Asked::Aside,
        _ => Asked::Little,
    }
}

/// One graded interviewer turn.
#[derive(Debug, Clone, Serialize)]
pub struct Graded {
    pub script: String,
    pub split: String,
    pub round: String,
    /// What the candidate's turn before it was (`opening` for the first).
    pub after: String,
    /// What the candidate said before it (empty for the opening): with `text`, the JSON report holds whole
    /// interviews to read through.
    pub candidate: String,
    pub text: String,
    pub failed: Vec<(Check, String)>,
    pub applicable: Vec<Check>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Tally {
    pub turns: usize,
    pub passed: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct BackendReport {
    pub backend: String,
    pub turns: Vec<Graded>,
    pub errors: Vec<String>,
    /// Per split (`dev`, `test`), then per round kind.
    pub per_split: BTreeMap<String, Tally>,
    pub per_round: BTreeMap<String, Tally>,
    /// Per check: turns it applied to, and failures.
    pub per_check: BTreeMap<String, (usize, usize)>,
    /// Model-written pieces (follow-ups, acknowledgements): how many the guard accepted at the first try, at the
    /// stricter second, and how many it replaced with the scripted wording.
    pub pieces: BTreeMap<String, PieceTally>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct PieceTally {
    pub accepted: u64,
    pub retried: u64,
    pub replaced: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub split: String,
    pub backends: Vec<BackendReport>,
}

/// Plays one script; returns its graded interviewer turns.
async fn play(ws: &mut Ws, script: &Script, persona: &str) -> anyhow::Result<Vec<Graded>> {
    let mut out = Vec::new();
    let mut earlier: Vec<String> = Vec::new();
    let mut grade = |text: String, asked: Asked, candidate: &str, after: &str, closing: bool| {
        let ctx = guard::Context {
            persona,
            round: script.round,
            asked,
            candidate,
            earlier: &earlier,
            closing,
        };
        let failed = guard::failures(&text, &ctx);
        let applicable = Check::ALL
            .into_iter()
            .filter(|c| guard::applies(*c, &ctx))
            .collect();
        out.push(Graded {
            script: script.id.clone(),
            split: script.split.clone(),
            round: script.round.as_str().into(),
            after: after.into(),
            candidate: candidate.into(),
            text: text.clone(),
            failed,
            applicable,
        });
        earlier.push(text);
    };
    let (opening, mut ended) = interviewer_turn(ws).await?;
    grade(opening, Asked::Opening, "", "opening", ended);
    for (k, turn) in script.turns.iter().enumerate() {
        if ended {
            break;
        }
        // Silence has no text to send in a text interview; the spoken benchmark covers it.
        if turn.say.trim().is_empty() {
            continue;
        }
        ws.send(message(
            k as u64 + 1,
            client_frame::Kind::TextAnswer(pb::TextAnswer {
                answer_id: format!("{}-{k}", script.id),
                text: turn.say.clone(),
            }),
        ))
        .await?;
        let (text, closing) = interviewer_turn(ws).await?;
        ended = closing;
        grade(text, asked(turn), &turn.say, &turn.kind, closing);
    }
    Ok(out)
}

/// The interviewer's next final turn, and whether the round ended with it.
async fn interviewer_turn(ws: &mut Ws) -> anyhow::Result<(String, bool)> {
    let text = loop {
        match next_frame(ws).await? {
            Kind::Transcript(t) if t.speaker == pb::Speaker::Interviewer as i32 && t.is_final => {
                break t.text;
            }
            Kind::Error(e) => bail!("error frame: {} {}", e.code, e.message),
            _ => {}
        }
    };
    // A round that ends says so right after its last turn.
    let mut ended = false;
    while let Ok(frame) = tokio::time::timeout(Duration::from_millis(400), next_frame(ws)).await {
        match frame? {
            Kind::RoundEnded(_) => ended = true,
            Kind::SessionState(s)
                if s.status == pb::SessionStatus::Completed as i32
                    || s.status == pb::SessionStatus::Abandoned as i32 =>
            {
                ended = true
            }
            _ => {}
        }
    }
    Ok((text, ended))
}

async fn run_backend(
    spec: Spec,
    models_dir: &std::path::Path,
    scripts: &[&Script],
) -> anyhow::Result<BackendReport> {
    let dir = tempfile_dir()?;
    let mut settings = Settings::for_data_dir(&dir);
    settings.models_dir = models_dir.to_path_buf();
    settings.llm = spec;
    let state = AppState::open(settings).await?;
    let backend = state.llm().name().to_string();
    let catalog = state.catalog();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app::serve(listener, state.clone(), async {
        stopped.await.ok();
    }));
    let mut turns = Vec::new();
    let mut errors = Vec::new();
    for (n, script) in scripts.iter().enumerate() {
        eprintln!(
            "{backend}: script {}/{} {}",
            n + 1,
            scripts.len(),
            script.id
        );
        let (company, index) = match script_round(&catalog, script) {
            Ok(found) => found,
            Err(why) => {
                errors.push(why);
                continue;
            }
        };
        match run_script(addr, n, script, index, &company.persona.name).await {
            Ok(g) => turns.extend(g),
            Err(e) => errors.push(format!("{}: {e:#}", script.id)),
        }
    }
    let _ = stop.send(());
    let _ = server.await;
    state.hub().stop_all().await;
    let _ = std::fs::remove_dir_all(dir);
    let mut report = summarise(backend, turns, errors);
    tally_pieces(&mut report, &state);
    Ok(report)
}

/// The company of the script's role and the index of its round there, or why the catalog has neither.
fn script_round<'a>(catalog: &'a Catalog, script: &Script) -> Result<(&'a Company, usize), String> {
    let Some((company, role)) = catalog.role(&script.company, &script.role) else {
        return Err(format!(
            "{}: no role {}/{}",
            script.id, script.company, script.role
        ));
    };
    let Some(index) = role.rounds.iter().position(|r| r.kind == script.round) else {
        return Err(format!(
            "{}: {} has no {} round",
            script.id,
            role.id,
            script.round.as_str()
        ));
    };
    Ok((company, index))
}

/// Plays script `n` in a new interview of its round (round `index`) on the server at `addr`, asking the script's
/// question, and grades the interviewer's turns.
async fn run_script(
    addr: std::net::SocketAddr,
    n: usize,
    script: &Script,
    index: usize,
    persona: &str,
) -> anyhow::Result<Vec<Graded>> {
    let email = format!("interviewer-bench-{n}-{}@example.com", crate::db::now_ms());
    let hello = pb::Hello {
        client_version: "bench-interviewer".into(),
        ..Default::default()
    };
    // The script's answers are about its question: the interview asks that one.
    let questions: Vec<_> = script
        .question
        .iter()
        .map(|q| json!({"round": index, "question": q}))
        .collect();
    let interview = json!({
        "company_id": script.company,
        "role_id": script.role,
        "rounds": [index],
        "questions": questions,
    });
    let mut ws = open_interview_at(addr, &email, interview, hello).await?;
    let graded = play(&mut ws, script, persona).await;
    let _ = ws.close(None).await;
    graded
}

/// Adds the server's counts of accepted, retried and replaced pieces to the report.
fn tally_pieces(report: &mut BackendReport, state: &AppState) {
    for (ask, outcome, n) in state.metrics().pieces() {
        let t = report.pieces.entry(ask.as_str().to_string()).or_default();
        match outcome {
            Outcome::Accepted => t.accepted += n,
            Outcome::Retried => t.retried += n,
            Outcome::Replaced => t.replaced += n,
        }
    }
}

fn summarise(backend: String, turns: Vec<Graded>, errors: Vec<String>) -> BackendReport {
    let mut per_split: BTreeMap<String, Tally> = BTreeMap::new();
    let mut per_round: BTreeMap<String, Tally> = BTreeMap::new();
    let mut per_check: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for t in &turns {
        let ok = t.failed.is_empty();
        for tally in [
            per_split.entry(t.split.clone()).or_default(),
            per_round.entry(t.round.clone()).or_default(),
        ] {
            tally.turns += 1;
            tally.passed += usize::from(ok);
        }
        for c in &t.applicable {
            let e = per_check.entry(c.name().to_string()).or_default();
            e.0 += 1;
            e.1 += usize::from(t.failed.iter().any(|(f, _)| f == c));
        }
    }
    BackendReport {
        backend,
        turns,
        errors,
        per_split,
        per_round,
        per_check,
        pieces: BTreeMap::new(),
    }
}

/// Runs the scripts of `split` (the first `limit` of them) against each backend in turn.
/// `backends` are specs as `--llm` takes them; remote ones go to the settings' `--llm-url`.
pub async fn run(
    settings: &Settings,
    backends: &[String],
    split: &str,
    file: Option<&std::path::Path>,
    limit: Option<usize>,
) -> anyhow::Result<Report> {
    let all = match file {
        Some(path) => scripts_from(path)?,
        None => scripts()?,
    };
    let chosen: Vec<&Script> = all
        .iter()
        .filter(|s| split == "all" || s.split == split)
        .take(limit.unwrap_or(usize::MAX))
        .collect();
    anyhow::ensure!(
        !chosen.is_empty(),
        "no script in the split {split} (dev, test or all)"
    );
    let mut reports = Vec::new();
    for spec in backends {
        let spec = settings.llm_spec(spec)?;
        reports.push(run_backend(spec, &settings.models_dir, &chosen).await?);
    }
    Ok(Report {
        split: split.into(),
        backends: reports,
    })
}

fn pct(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        100.0 * a as f64 / b as f64
    }
}

/// Prints the figures; with `show_turns`, the failing turns' text (never for held-out scripts unless asked).
pub fn print(r: &Report, show_turns: bool) {
    for b in &r.backends {
        let all: Tally = b.per_split.values().fold(Tally::default(), |a, t| Tally {
            turns: a.turns + t.turns,
            passed: a.passed + t.passed,
        });
        println!(
            "{}: {}/{} interviewer turns pass every check ({:.0}%), scripts: {}",
            b.backend,
            all.passed,
            all.turns,
            pct(all.passed, all.turns),
            r.split
        );
        let splits = b.per_split.iter().map(|(k, t)| (format!("split {k}"), t));
        let rounds = b.per_round.iter().map(|(k, t)| (k.clone(), t));
        for (label, t) in splits.chain(rounds) {
            println!(
                "  {label:<17} {}/{} ({:.0}%)",
                t.passed,
                t.turns,
                pct(t.passed, t.turns)
            );
        }
        for c in Check::ALL {
            if let Some((applied, failed)) = b.per_check.get(c.name()) {
                println!(
                    "    {:<42} failed {failed:>3} of {applied:>3} ({:.0}% pass)",
                    c.name(),
                    pct(applied - failed, *applied)
                );
            }
        }
        for (piece, t) in &b.pieces {
            let all = t.accepted + t.retried + t.replaced;
            println!(
                "  model's own words, {piece}: {}/{all} ({:.0}%): {} at the first try, {} at the second, {} replaced \
                 by the scripted wording",
                t.accepted + t.retried,
                pct((t.accepted + t.retried) as usize, all as usize),
                t.accepted,
                t.retried,
                t.replaced
            );
        }
        for e in &b.errors {
            println!("  error: {e}");
        }
        if show_turns {
            for t in b.turns.iter().filter(|t| !t.failed.is_empty()) {
                let why: Vec<String> = t
                    .failed
                    .iter()
                    .map(|(c, w)| format!("{}: {w}", c.name()))
                    .collect();
                println!(
                    "  [{} after {}] {}\n      -> {}",
                    t.script,
                    t.after,
                    t.text,
                    why.join("; ")
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::load::{SeedSource, load};

    #[test]
    fn every_script_names_a_real_round_and_both_splits_cover_every_round_kind() {
        let catalog = load(&SeedSource::Embedded).unwrap().catalog;
        let all = scripts().unwrap();
        assert!(all.len() >= 15, "{} scripts", all.len());
        for s in &all {
            let (_, role) = catalog
                .role(&s.company, &s.role)
                .unwrap_or_else(|| panic!("{}: no role {}/{}", s.id, s.company, s.role));
            assert!(role.rounds.iter().any(|r| r.kind == s.round), "{}", s.id);
            assert!(["dev", "test"].contains(&s.split.as_str()), "{}", s.id);
            let q = s
                .question
                .as_deref()
                .unwrap_or_else(|| panic!("{}: no question", s.id));
            assert!(
                catalog.has_question(s.round, q),
                "{}: no question {q}",
                s.id
            );
        }
        for split in ["dev", "test"] {
            for kind in [
                RoundKind::RecruiterScreen,
                RoundKind::Behavioral,
                RoundKind::HiringManager,
                RoundKind::Coding,
                RoundKind::SystemDesign,
            ] {
                assert!(
                    all.iter().any(|s| s.split == split && s.round == kind),
                    "{split} lacks {kind:?}"
                );
            }
        }
        let companies: std::collections::BTreeSet<&str> =
            all.iter().map(|s| s.company.as_str()).collect();
        assert!(companies.len() >= 8);
    }

    #[test]
    fn a_turns_failures_are_tallied_per_check_round_and_split() {
        let turn = |text: &str, failed: Vec<(Check, String)>| Graded {
            script: "s".into(),
            split: "dev".into(),
            round: "coding".into(),
            after: "answer".into(),
            candidate: "I split the work into two queues.".into(),
            text: text.into(),
            failed,
            applicable: vec![Check::Short, Check::Grounded],
        };
        let r = summarise(
            "x".into(),
            vec![
                turn("ok", vec![]),
                turn("long", vec![(Check::Short, "70 words".into())]),
            ],
            vec![],
        );
        assert_eq!(
            (r.per_split["dev"].turns, r.per_split["dev"].passed),
            (2, 1)
        );
        assert_eq!(r.per_check[Check::Short.name()], (2, 1));
        assert_eq!(r.per_check[Check::Grounded.name()], (2, 0));
    }
}
