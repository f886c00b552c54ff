//! `/interview-prep/session/{id}/results`: the interview's report: the recommendation and why, each round's
//! scores as charts, the evidence behind every level, strengths, what to improve, what a strong answer covers,
//! questions answered, code verdicts and hints; for a spoken interview, how quickly the interviewer answered.
//! Printable; downloadable as JSON and Markdown. While the report is being made the page says so and
//! `static/js/results.js` reloads it when it is ready.

use axum::{
    extract::{Path, Query, State},
    response::{IntoResponse, Redirect, Response},
};
use maud::{Markup, html};
use serde::Deserialize;

use super::{charts, layout};
use crate::{
    db::{
        scores::{self, ReportLine},
        sessions,
        spoken::{self, Latency},
    },
    scoring::{
        judge::{Outcome, Source},
        report::{Report, RoundReport, RoundStatus},
        service,
    },
    web::AppState,
    web::{auth::SignedIn, error::AppError},
};

#[derive(Debug, Deserialize)]
pub struct ResultsQuery {
    /// Show this report instead of the newest.
    pub report: Option<i64>,
}

pub async fn page(
    State(state): State<AppState>,
    SignedIn(user, viewer): SignedIn,
    Path(id): Path<String>,
    Query(q): Query<ResultsQuery>,
) -> Result<Response, AppError> {
    let found = state
        .db()
        .call(move |c| {
            let Some(s) = sessions::get(c, user.id, &id)? else {
                return Ok(None);
            };
            let report = scores::get(c, &s.id, q.report)?;
            let lines = scores::list(c, &s.id)?;
            let latencies = spoken::latencies(c, Some(&s.id))?;
            Ok(Some((s, report, lines, latencies)))
        })
        .await?;
    let (s, report, lines, latencies) =
        found.ok_or_else(|| AppError::from(crate::sessions::Error::NotFound))?;
    if !s.state.is_final() {
        return Ok(Redirect::to(&format!("/interview-prep/session/{}", s.id)).into_response());
    }
    let title = format!("Results · {} · {}", s.company_name, s.role_title);
    let scoring =
        service::in_progress(&s.id) || (report.is_none() && state.scorer().spawn(s.clone(), None));
    let body = html! {
        (layout::crumbs(&[("History", "/interview-prep/history"), (&format!("{} · {}", s.company_name, s.role_title), &format!("/interview-prep/session/{}", s.id)), ("Results", "")]))
        header.page-head {
            p.eyebrow { (s.company_name) " · " (s.role_title) }
            h1 { "Your results" }
            @if let Some(t) = s.ended_at { p.lead { "Interview ended " (layout::datetime(t)) "." } }
        }
        @if scoring {
            p #scoring.notice.notice-ok role="status" data-session-id=(s.id) {
                "Scoring your interview… each round is judged against its rubric with evidence from what you said. "
                "This page updates by itself."
            }
        }
        @match &report {
            Some(r) => (report_view(&viewer, r, &lines, &s.id)),
            None if !scoring => section.card { p { "This interview has no report yet." } },
            None => {}
        }
        @if !latencies.is_empty() { (voice_view(&latencies)) }
    };
    Ok(layout::page(&viewer, &title, &["results.js"], body).into_response())
}

/// Starts a new scoring of the interview with the server's judge; earlier reports are kept.
pub async fn rescore(
    State(state): State<AppState>,
    SignedIn(user, _viewer): SignedIn,
    Path(id): Path<String>,
) -> Result<Redirect, AppError> {
    let s = crate::sessions::finished(state.db(), user.id, &id).await?;
    state.scorer().spawn(s.clone(), None);
    Ok(Redirect::to(&super::results_url(&s.id)))
}

fn report_view(
    viewer: &crate::web::auth::Viewer,
    r: &Report,
    lines: &[ReportLine],
    session_id: &str,
) -> Markup {
    let api = format!("/api/v1/sessions/{session_id}/report?report={}", r.id);
    let round_rows: Vec<(String, Option<f64>, String)> = r
        .rounds
        .iter()
        .map(|x| {
            let note = match x.status {
                RoundStatus::NotHeld => "skipped",
                RoundStatus::Incomplete => "not scored yet",
                RoundStatus::Scored => "",
            };
            (x.title.clone(), x.score, note.to_string())
        })
        .collect();
    html! {
        section.card.verdict {
            @match (r.recommendation, r.overall) {
                (Some(rec), Some(overall)) => {
                    p.eyebrow { "Recommendation" }
                    p class={ "recommendation rec-" (rec.as_str()) } { (rec.label()) }
                    p.overall { (format!("{overall:.2}")) " of 5 overall" }
                }
                _ => {
                    p.eyebrow { "Recommendation" }
                    p.recommendation.rec-none { "Incomplete" }
                }
            }
            p.rationale { (r.rationale) }
            p.muted {
                "Judged by " code { (r.judge) } " in " (format!("{:.1}", r.scoring_ms as f64 / 1000.0)) " s. "
                "Levels: 1 strong no hire, 2 no hire, 3 mixed, 4 hire, 5 strong hire. Only what you said and did counts."
            }
            div.actions.no-print {
                a.button.button-small href=(api) download={ "rehearse-report-" (session_id) ".json" } { "Download JSON" }
                a.button.button-small href={ (api) "&format=markdown" } download={ "rehearse-report-" (session_id) ".md" } { "Download Markdown" }
                button.button.button-small.button-ghost type="button" data-print { "Print" }
                form.inline method="post" action={ "/interview-prep/session/" (session_id) "/results/rescore" } {
                    (layout::csrf_field(viewer))
                    button.button.button-small.button-ghost type="submit" { "Score again" }
                }
            }
            (charts::bars("Score per round", &round_rows))
        }
        @for round in &r.rounds { (round_view(round)) }
        @if lines.len() > 1 {
            section.card.no-print {
                h2 { "Other reports of this interview" }
                p.muted { "Each scoring is kept, so judges can be compared." }
                table.table {
                    thead { tr { th { "Scored" } th { "Judge" } th { "Recommendation" } th { "Overall" } } }
                    tbody {
                        @for l in lines {
                            tr {
                                td { a href={ "?report=" (l.id) } { (layout::datetime(l.created_at)) } @if l.id == r.id { " (shown)" } }
                                td { code { (l.judge) } }
                                td { (l.recommendation.as_deref().map_or("incomplete".to_string(), |x| x.replace('_', " "))) }
                                td { (l.overall.map_or("-".to_string(), |o| format!("{o:.2}"))) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// One round's section of the report: its heading and summary, then (unless it was not held) its facts, chart,
/// dimensions, lists and details.
fn round_view(r: &RoundReport) -> Markup {
    let answered = r.questions.iter().filter(|q| q.answered).count();
    html! {
        section.card.round-report id={ "round-" (r.position + 1) } {
            (round_head(r))
            p { (r.summary) }
            @if r.status != RoundStatus::NotHeld {
                (round_facts(r, answered))
                (charts::bars(&format!("{} by dimension", r.title), &dimension_rows(r)))
                (dimension_table(r))
                (round_lists(r))
                (round_details(r, answered))
            }
        }
    }
}

/// The round's heading: its number, kind and title, and its score when it has one.
fn round_head(r: &RoundReport) -> Markup {
    html! {
        header.round-head {
            div {
                p.eyebrow { "Round " (r.position + 1) " · " (layout::kind_badge(r.kind)) }
                h2 { (r.title) }
            }
            @if let Some(score) = r.score {
                p.round-score style={ "--c:" (charts::level_colour(score)) } { (format!("{score:.1}")) span { " / 5" } }
            }
        }
    }
}

/// One line of the round's facts (minutes used, questions answered, hints in a coding round) and the company
/// values its questions probed.
fn round_facts(r: &RoundReport, answered: usize) -> Markup {
    html! {
        p.muted {
            @if r.minutes_used < 1.0 { "Under a minute of " (r.minutes) " used" } @else { (format!("{:.0}", r.minutes_used)) " of " (r.minutes) " minutes used" }
            @if !r.questions.is_empty() { " · " (answered) " of " (r.questions.len()) " questions answered" }
            @if r.kind == crate::catalog::RoundKind::Coding { " · " (r.hints) (if r.hints == 1 { " hint" } else { " hints" }) " used" }
        }
        @if !r.values.is_empty() { p.muted { "Company values probed: " (r.values.join(", ")) } }
    }
}

/// The chart's rows: each dimension's name, level and why it has none.
fn dimension_rows(r: &RoundReport) -> Vec<(String, Option<f64>, String)> {
    r.dimensions
        .iter()
        .map(|d| {
            let note = match &d.outcome {
                Outcome::NotEnoughEvidence => "not enough evidence",
                Outcome::Unjudged { .. } => "not judged",
                Outcome::Level { .. } => "",
            };
            (d.name.clone(), d.level().map(f64::from), note.to_string())
        })
        .collect()
}

/// The table of the round's dimensions: name and anchor, level, and the evidence and reason behind it.
fn dimension_table(r: &RoundReport) -> Markup {
    html! {
        table.table.dimensions {
            thead { tr { th { "Dimension" } th { "Level" } th { "Evidence" } } }
            tbody {
                @for d in &r.dimensions {
                    tr {
                        td { strong { (d.name) } @if !d.anchor.is_empty() { div.muted { (d.anchor) } } }
                        td {
                            @match &d.outcome {
                                Outcome::Level { level } => { (level) "/5" }
                                Outcome::NotEnoughEvidence => span.muted { "not enough evidence" },
                                Outcome::Unjudged { why } => span.muted title=(why) { "not judged" },
                            }
                        }
                        td {
                            @for e in &d.evidence {
                                blockquote class={ "evidence " (if e.source == Source::Code { "from-code" } else { "from-candidate" }) } { (e.quote) }
                            }
                            @if !d.reason.is_empty() { div.muted { (d.reason) } }
                        }
                    }
                }
            }
        }
    }
}

/// The round's strengths and what to improve side by side, then what a strong answer would have included.
fn round_lists(r: &RoundReport) -> Markup {
    html! {
        div.two-col {
            @if !r.strengths.is_empty() {
                section { h3 { "Strengths" } ul { @for s in &r.strengths { li { (s) } } } }
            }
            @if !r.improvements.is_empty() {
                section { h3 { "To improve" } ul { @for s in &r.improvements { li { (s) } } } }
            }
        }
        @if !r.strong_answer.is_empty() {
            details.strong-answer {
                summary { "What a strong answer would have included" }
                ul { @for s in &r.strong_answer { li { (s) } } }
            }
        }
    }
}

/// The questions asked (each answered or not) and the code runs, each under its own disclosure.
fn round_details(r: &RoundReport, answered: usize) -> Markup {
    html! {
        @if !r.questions.is_empty() {
            details {
                summary { "Questions asked (" (answered) " of " (r.questions.len()) " answered)" }
                ol { @for q in &r.questions { li { (q.question) " " @if q.answered { span.badge.state-completed { "answered" } } @else { span.badge.state-abandoned { "not answered" } } } } }
            }
        }
        @if !r.code.is_empty() {
            details open {
                summary { "Code runs (" (r.code.len()) ")" }
                ol { @for c in &r.code { li { (c.mode) " · " (c.language) " · " (c.verdict.replace('_', " ")) @if c.total > 0 { " · " (c.passed) "/" (c.total) " tests" } } } }
            }
        }
    }
}

/// How quickly the interviewer answered the candidate's spoken answers: medians and the 95th percentile of each
/// stage of the way from the end of an answer to the interviewer's voice.
fn voice_view(latencies: &[Latency]) -> Markup {
    let stages = spoken::stage_stats(latencies);
    let seconds = |ms: f64| format!("{:.2} s", ms / 1000.0);
    html! {
        section.card {
            h2 { "How quickly the interviewer answered" }
            p.muted {
                (latencies.len()) " spoken answer(s), timed from the moment you stopped speaking. Models: "
                code { (latencies[0].stt_model) } ", " code { (latencies[0].llm_model) } ", " code { (latencies[0].tts_model) } "."
            }
            p.muted {
                "The interviewer began " (latencies.iter().filter(|l| l.reply_ahead).count()) " of its replies while you paused, before deciding your answer was over."
            }
            table.table {
                thead { tr { th { "Stage" } th { "Median" } th { "95th percentile" } } }
                tbody {
                    @for (name, s) in stages {
                        @if s.count > 0 {
                            tr { td { (name) } td { (seconds(s.p50_ms)) } td { (seconds(s.p95_ms)) } }
                        }
                    }
                }
            }
        }
    }
}
