//! `/admin`, for instructors and admins: every user with their credits and interviews, and a form to grant credits.

use axum::{
    Form,
    extract::{Query, State},
    response::{IntoResponse, Redirect, Response},
};
use maud::{Markup, html};
use serde::Deserialize;

use super::layout;
use crate::{
    db::users,
    web::AppState,
    web::{api::admin::grant_credits, auth::Staff, error::AppError},
};

const PER_PAGE: i64 = 50;

#[derive(Debug, Deserialize)]
pub struct AdminQuery {
    pub page: Option<i64>,
    pub granted: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct GrantForm {
    pub email: String,
    pub amount: String,
    #[serde(default)]
    pub note: String,
}

async fn render(
    state: &AppState,
    staff: &Staff,
    page: i64,
    error: Option<&str>,
    ok: Option<&str>,
) -> Result<Markup, AppError> {
    let (rows, total) = state
        .db()
        .call(move |c| users::list(c, PER_PAGE, (page - 1) * PER_PAGE))
        .await?;
    Ok(layout::page(
        &staff.1,
        "Admin",
        &[],
        html! {
            header.page-head {
                h1 { "Users and credits" }
                p.lead { (total) " accounts." }
            }
            (layout::notice(error, ok))
            div.two-col {
                section {
                    div.table-wrap {
                        table.table {
                            thead { tr { th { "User" } th { "Role" } th.num { "Credits" } th.num { "Interviews" } th { "Joined" } } }
                            tbody {
                                @for r in &rows {
                                    tr {
                                        td {
                                            a href={ "/admin/users/" (r.user.id) } { strong { (r.user.display_name()) } }
                                            div.muted { (r.user.email) }
                                        }
                                        td { (r.user.role.as_str()) }
                                        td.num { (r.balance) }
                                        td.num { (r.sessions) }
                                        td { (layout::datetime(r.user.created_at)) }
                                    }
                                }
                            }
                        }
                    }
                    (layout::pager("/admin", page, PER_PAGE, total))
                }
                aside.side {
                    section.card {
                        h2 { "Grant credits" }
                        form method="post" action="/admin/credits" {
                            (layout::csrf_field(&staff.1))
                            label for="email" { "Email" }
                            input #email type="email" name="email" required;
                            label for="amount" { "Credits" }
                            input #amount type="number" name="amount" min="1" max="1000" value="5" required;
                            label for="note" { "Note (optional)" }
                            input #note type="text" name="note" maxlength="200";
                            button.button.button-block type="submit" { "Grant" }
                        }
                    }
                }
            }
        },
    ))
}

pub async fn page(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<AdminQuery>,
) -> Result<Markup, AppError> {
    let ok = q
        .granted
        .as_deref()
        .map(|e| format!("Credits granted to {e}."));
    render(
        &state,
        &staff,
        q.page.unwrap_or(1).max(1),
        None,
        ok.as_deref(),
    )
    .await
}

pub async fn grant(
    State(state): State<AppState>,
    staff: Staff,
    Form(f): Form<GrantForm>,
) -> Result<Response, AppError> {
    let amount = f.amount.trim().parse::<i64>().unwrap_or(0);
    match grant_credits(&state, &staff.0, &f.email, amount, &f.note).await {
        Ok(_) => Ok(Redirect::to(&format!(
            "/admin?granted={}",
            form_urlencoded::byte_serialize(f.email.trim().as_bytes()).collect::<String>()
        ))
        .into_response()),
        Err(e @ (AppError::NotFound(_) | AppError::Unprocessable(_))) => {
            let status = e.status();
            Ok((
                status,
                render(&state, &staff, 1, Some(&e.to_string()), None).await?,
            )
                .into_response())
        }
        Err(e) => Err(e),
    }
}

/// `/admin/users/{id}`: one user's credits and interviews, for their instructor.
pub async fn user(
    State(state): State<AppState>,
    staff: Staff,
    axum::extract::Path(user_id): axum::extract::Path<i64>,
) -> Result<Markup, AppError> {
    let found = state
        .db()
        .call(move |c| {
            let Some((user, _)) = users::by_id(c, user_id)? else {
                return Ok(None);
            };
            let balance = crate::db::credits::balance(c, user_id)?;
            let ledger = crate::db::credits::history(c, user_id, 100)?;
            let (sessions, total) = crate::db::sessions::list(c, user_id, 100, 0)?;
            Ok(Some((user, balance, ledger, sessions, total)))
        })
        .await?;
    let (user, balance, ledger, sessions, total) =
        found.ok_or_else(|| AppError::NotFound("There is no such account.".into()))?;
    Ok(layout::page(
        &staff.1,
        user.display_name(),
        &[],
        html! {
            (layout::crumbs(&[("Admin", "/admin"), (user.display_name(), "")]))
            header.page-head {
                h1 { (user.display_name()) }
                p.lead { (user.email) " · " (user.role.as_str()) " · joined " (layout::datetime(user.created_at)) }
            }
            div.two-col {
                section {
                    h2 { "Interviews (" (total) ")" }
                    @if sessions.is_empty() {
                        p.muted { "No interviews yet." }
                    } @else {
                        div.table-wrap {
                            table.table {
                                thead { tr { th { "Interview" } th { "Created" } th { "State" } } }
                                tbody {
                                    @for s in &sessions {
                                        tr {
                                            td { strong { (s.company_name) } " · " (s.role_title) }
                                            td { (layout::datetime(s.created_at)) }
                                            td { (layout::state_badge(s.state)) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                aside.side {
                    section.card {
                        h2 { "Credits: " (balance) }
                        table.table {
                            tbody {
                                @for e in &ledger {
                                    tr {
                                        td { (layout::datetime(e.created_at)) }
                                        td { (crate::db::credits::Reason::label(&e.reason)) }
                                        td.num { @if e.delta > 0 { "+" } (e.delta) }
                                    }
                                }
                            }
                        }
                        form method="post" action="/admin/credits" {
                            (layout::csrf_field(&staff.1))
                            input type="hidden" name="email" value=(user.email);
                            label for="amount" { "Grant credits" }
                            input #amount type="number" name="amount" min="1" max="1000" value="5" required;
                            input type="hidden" name="note" value="";
                            button.button.button-block type="submit" { "Grant" }
                        }
                    }
                }
            }
        },
    ))
}
