//! `/interview-prep/history`: the user's interviews, newest first, twenty a page.

use axum::extract::{Query, State};
use maud::{Markup, html};
use serde::Deserialize;

use super::layout;
use crate::{
    app::AppState,
    db::sessions,
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
    let (rows, total) = state
        .db()
        .call(move |c| sessions::list(c, user.id, PER_PAGE, (page - 1) * PER_PAGE))
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
                                    td.muted { "not scored yet" }
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
