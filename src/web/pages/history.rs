//! `/interview-prep/history`: progress (round scores over time, per round type) and the user's interviews, newest
//! first, twenty a page, with each one's recommendation.

use axum::extract::{Query, State};
use maud::{Markup, html};
use serde::Deserialize;

use super::{charts, layout};
use crate::{
    catalog::RoundKind,
    db::{scores, sessions},
    web::AppState,
    web::{auth::SignedIn, error::AppError},
};

pub const PER_PAGE: i64 = 20;

#[derive(Debug, Deserialize)]
pub struct PageQuery {
    pub page: Option<i64>,
}

pub async fn page(
    State(state): State<AppState>,
    SignedIn(user, viewer): SignedIn,
    Query(q): Query<PageQuery>,
) -> Result<Markup, AppError> {
    let page = q.page.unwrap_or(1).max(1);
    let (rows, total, summaries, points) = state
        .db()
        .call(move |c| {
            let (rows, total) = sessions::list(c, user.id, PER_PAGE, (page - 1) * PER_PAGE)?;
            Ok((
                rows,
                total,
                scores::summaries(c, user.id)?,
                scores::progress(c, user.id)?,
            ))
        })
        .await?;
    Ok(layout::page(
        &viewer,
        "Your interviews",
        &[],
        html! {
            header.page-head {
                h1 { "Your interviews" }
                p.lead { (total) (if total == 1 { " interview" } else { " interviews" }) " so far." }
            }
            @if rows.is_empty() {
                section.card.empty {
                    p { "No interviews yet. Pick a company and a role to start your first." }
                    a.button href="/interview-prep" { "Choose a company" }
                }
            } @else {
                (progress(&points))
                div.table-wrap {
                    table.table.history {
                        thead { tr { th { "Interview" } th { "Started" } th { "State" } th { "Score" } } }
                        tbody {
                            @for s in &rows {
                                tr {
                                    td {
                                        a href={ "/interview-prep/session/" (s.id) } { strong { (s.company_name) } " · " (s.role_title) }
                                        div.muted { (s.rounds.len()) " rounds" }
                                    }
                                    td { (layout::datetime(s.created_at)) }
                                    td { (layout::state_badge(s.state)) }
                                    td {
                                        @match summaries.get(&s.id) {
                                            Some(scores::Summary { recommendation: Some(rec), overall: Some(overall), .. }) => {
                                                a href={ "/interview-prep/session/" (s.id) "/results" } {
                                                    strong { (rec.replace('_', " ")) } " · " (format!("{overall:.2}"))
                                                }
                                            }
                                            Some(_) => a href={ "/interview-prep/session/" (s.id) "/results" } { "incomplete report" },
                                            None if s.state.is_final() => a.muted href={ "/interview-prep/session/" (s.id) "/results" } { "not scored yet" },
                                            None => span.muted { "-" },
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                (layout::pager("/interview-prep/history", page, PER_PAGE, total))
            }
        },
    ))
}

/// Round scores over time, one line per round type, from each interview's newest report.
fn progress(points: &[scores::Point]) -> Markup {
    if points.is_empty() {
        return html! {};
    }
    let (first, last) = (points[0].at, points[points.len() - 1].at);
    let span = (last - first).max(1) as f64;
    let colours = ["#4f46e5", "#0891b2", "#db2777", "#65a30d", "#ea580c"];
    let series: Vec<charts::Series> = RoundKind::ALL
        .iter()
        .zip(colours)
        .filter_map(|(kind, colour)| {
            let pts: Vec<(f64, f64)> = points
                .iter()
                .filter(|p| p.kind == kind.as_str())
                .map(|p| {
                    (
                        if last == first {
                            0.5
                        } else {
                            (p.at - first) as f64 / span
                        },
                        p.score,
                    )
                })
                .collect();
            (!pts.is_empty()).then(|| charts::Series {
                name: kind.label().to_string(),
                colour,
                points: pts,
            })
        })
        .collect();
    let companies: std::collections::BTreeSet<&str> =
        points.iter().map(|p| p.company_id.as_str()).collect();
    html! {
        section.card.progress {
            h2 { "Progress" }
            p.muted {
                "Round scores (1 to 5) over time, by round type, across " (companies.len())
                (if companies.len() == 1 { " company" } else { " companies" }) "."
            }
            (charts::lines(
                "Round scores over time",
                &series,
                (&layout::datetime(first)[..10], &layout::datetime(last)[..10]),
            ))
        }
    }
}
