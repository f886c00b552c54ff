//! Scoring an interview from the database: the recorded rounds become [`Material`] (questions resolved through
//! the catalog), the judge runs on a blocking thread, and the report is stored. One scoring at a time per
//! interview; [`Scorer`] runs it in the background and tells whoever listens (the interview's actor, through the
//! callback the application gives it) that the report is ready.

use std::{
    collections::HashSet,
    sync::{Arc, LazyLock, Mutex},
};

use super::{
    Header,
    material::{CodeRun, Exchange, Material},
    report::Report,
};
use crate::{
    catalog::{Catalog, RoundKind},
    db::{
        Db, DbError,
        scores::{self, Recorded, RoundRow},
        sessions::Session,
    },
    embed::Embed,
    llm::Llm,
};

/// The question's text and what a strong answer covers, from the catalog.
fn question(catalog: &Catalog, id: &str) -> Option<(String, Vec<String>)> {
    if let Some(q) = catalog.behavioral.iter().find(|q| q.id == id) {
        return Some((q.text.clone(), q.signals.clone()));
    }
    if let Some(p) = catalog.design.iter().find(|p| p.id == id) {
        return Some((p.prompt.clone(), p.strong_answer.clone()));
    }
    catalog.problem(id).map(|p| {
        (
            crate::engine::plan::problem_text(p),
            std::iter::once(format!("An optimal solution runs in {}.", p.optimal))
                .chain(p.hints.iter().cloned())
                .collect(),
        )
    })
}

/// The rounds as the judge sees them.
pub fn materials(
    rec: &Recorded,
    catalog: &Catalog,
    company_id: &str,
) -> Vec<(RoundKind, Material)> {
    let values: Vec<&String> = catalog
        .company(company_id)
        .map(|c| c.values.iter().collect())
        .unwrap_or_default();
    rec.rounds
        .iter()
        .map(|r| {
            let kind = RoundKind::parse(&r.kind).unwrap_or(RoundKind::Behavioral);
            let mut m = Material {
                kind: Some(kind),
                title: r.title.clone(),
                held: false,
                elapsed_ms: r.elapsed_ms,
                minutes: r.minutes as u32,
                ..Material::default()
            };
            add_turns(&mut m, rec, r, catalog);
            // A round counts when the candidate said something in it, or sat it to its end (the last question or
            // the clock); one skipped or cut short before any answer was not held, so it is not scored.
            let answered = m.exchanges.iter().any(|e| !e.answers.is_empty());
            m.held = answered
                || (r.state == "DONE" && matches!(r.end_reason.as_str(), "completed" | "time_up"));
            add_values(&mut m, r, catalog, &values);
            m.code = code_runs(rec, r);
            (kind, m)
        })
        .collect()
}

/// Folds the round's turns into exchanges (questions resolved through the catalog, with what a strong answer
/// covers), the candidate's answers and the hints given.
fn add_turns(m: &mut Material, rec: &Recorded, r: &RoundRow, catalog: &Catalog) {
    let mut seen = HashSet::new();
    for t in rec.turns.iter().filter(|t| t.round == r.position) {
        match (t.speaker.as_str(), t.kind.as_str()) {
            ("interviewer", "question") => {
                let resolved = t
                    .question_id
                    .as_deref()
                    .and_then(|id| question(catalog, id));
                let text = resolved.as_ref().map_or(t.text.clone(), |(q, _)| q.clone());
                if let Some((_, strong)) = resolved
                    && seen.insert(t.question_id.clone())
                {
                    m.strong_answer.extend(strong);
                }
                m.exchanges.push(Exchange {
                    question: text,
                    answers: Vec::new(),
                });
            }
            ("interviewer", "hint") => m.hints += 1,
            ("candidate", _) => {
                if m.exchanges.is_empty() {
                    m.exchanges.push(Exchange {
                        question: String::new(),
                        answers: Vec::new(),
                    });
                }
                m.exchanges
                    .last_mut()
                    .expect("just ensured")
                    .answers
                    .push(t.text.clone());
            }
            _ => {}
        }
    }
}

/// Adds the names of the company's values that the round's behavioral questions probe, each once.
fn add_values(m: &mut Material, r: &RoundRow, catalog: &Catalog, values: &[&String]) {
    for id in &r.question_ids {
        if let Some(q) = catalog.behavioral.iter().find(|q| &q.id == id) {
            for c in &q.competencies {
                if values.contains(&c)
                    && let Some(comp) = catalog.competency(c)
                    && !m.values.contains(&comp.name)
                {
                    m.values.push(comp.name.clone());
                }
            }
        }
    }
}

/// The code runs recorded in the round.
fn code_runs(rec: &Recorded, r: &RoundRow) -> Vec<CodeRun> {
    rec.code
        .iter()
        .filter(|c| c.round == r.position)
        .map(|c| CodeRun {
            mode: c.mode.clone(),
            language: c.language.clone(),
            verdict: c.verdict.clone(),
            passed: c.passed,
            total: c.total,
        })
        .collect()
}

/// Scores `session` (with `llm`'s model as the judge when `with_llm`, else the rules reading with `embed`) and
/// stores the report.
pub async fn run(
    db: &Db,
    catalog: Arc<Catalog>,
    session: &Session,
    llm: Arc<dyn Llm>,
    with_llm: bool,
    embed: Option<Arc<dyn Embed>>,
) -> Result<Report, DbError> {
    let id = session.id.clone();
    let recorded = db.call(move |c| scores::recorded(c, &id)).await?;
    let header = Header {
        session_id: session.id.clone(),
        company: session.company_name.clone(),
        role: session.role_title.clone(),
    };
    let (company, conversation) = (session.company_id.clone(), format!("score-{}", session.id));
    let report = tokio::task::spawn_blocking(move || {
        let rounds = materials(&recorded, &catalog, &company);
        let judge = super::judge_for(llm, with_llm, embed, &conversation);
        super::score(judge.as_ref(), &header, &rounds)
    })
    .await
    .map_err(|e| DbError::Task(format!("scoring failed: {e}")))?;
    let stored = report.clone();
    let id = db.call(move |c| scores::insert(c, &stored)).await?;
    Ok(Report { id, ..report })
}

static RUNNING: LazyLock<Mutex<HashSet<String>>> = LazyLock::new(Mutex::default);

/// Whether the interview is being scored now.
pub fn in_progress(session_id: &str) -> bool {
    RUNNING
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .contains(session_id)
}

/// Called with an interview's id when its report is stored.
pub type ReportReady = Arc<dyn Fn(&str) + Send + Sync>;

/// Scores interviews in the background with the server's judge: a narrow handle on what scoring needs.
#[derive(Clone)]
pub struct Scorer {
    pub db: Db,
    pub catalog: Arc<Catalog>,
    /// The model a model judge asks.
    pub judge: Arc<dyn Llm>,
    /// Whether the model judges; else the rules read with `embed`.
    pub with_llm: bool,
    pub embed: Option<Arc<dyn Embed>>,
    pub ready: ReportReady,
}

impl std::fmt::Debug for Scorer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scorer")
            .field("judge", &self.judge.name())
            .field("with_llm", &self.with_llm)
            .finish_non_exhaustive()
    }
}

impl Scorer {
    /// Scores the interview in the background with the server's judge (or `llm`), unless it is already being
    /// scored. Returns whether a scoring was started.
    pub fn spawn(&self, session: Session, llm: Option<Arc<dyn Llm>>) -> bool {
        if !RUNNING
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(session.id.clone())
        {
            return false;
        }
        let me = self.clone();
        tokio::spawn(async move {
            let llm = llm.unwrap_or_else(|| me.judge.clone());
            let result = run(
                &me.db,
                me.catalog.clone(),
                &session,
                llm,
                me.with_llm,
                me.embed.clone(),
            )
            .await;
            RUNNING
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&session.id);
            match result {
                Ok(report) => {
                    tracing::info!(
                        session = %session.id,
                        judge = %report.judge,
                        ms = report.scoring_ms,
                        "scored: {:?}",
                        report.recommendation
                    );
                    (me.ready)(&session.id);
                }
                Err(e) => tracing::error!(session = %session.id, "scoring failed: {e}"),
            }
        });
        true
    }
}
