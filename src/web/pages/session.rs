//! `/interview-prep/session/{id}`: an interview's state, its rounds, and abandon and delete. (The live interview
//! itself arrives with the realtime work; until then this page shows where the session stands.)

use axum::{
    extract::{Path, State},
    response::{IntoResponse, Redirect, Response},
};
use maud::{Markup, html};

use super::layout;
use crate::{
    app::AppState,
    db::{self, sessions},
    engine::lifecycle::{SessionState, Transition},
    web::{api::sessions::apply_transition, auth::SignedIn, error::AppError},
};

pub async fn page(
    State(state): State<AppState>,
    SignedIn(user, viewer): SignedIn,
    Path(id): Path<String>,
) -> Result<Markup, AppError> {
    let s = state
        .db()
        .call(move |c| sessions::get(c, user.id, &id))
        .await?
        .ok_or_else(|| AppError::NotFound("There is no such interview in your account.".into()))?;
    Ok(layout::page(
        &viewer,
        &format!("{} · {}", s.company_name, s.role_title),
        &[],
        html! {
            (layout::crumbs(&[("History", "/interview-prep/history"), (&format!("{} · {}", s.company_name, s.role_title), "")]))
            header.page-head {
                p.eyebrow { (s.company_name) }
                h1 { (s.role_title) }
                p.lead {
                    (layout::state_badge(s.state)) " · created " (layout::datetime(s.created_at))
                    " · " (s.price) (if s.price == 1 { " credit" } else { " credits" })
                }
            }
            div.two-col {
                section {
                    h2 { "Rounds" }
                    ol.rounds {
                        @for (i, r) in s.rounds.iter().enumerate() {
                            li.round-card data-kind=(r.kind.as_str()) {
                                div.round-index { (i + 1) }
                                div.round-body {
                                    div.round-head { h3 { (r.title) } span.duration { (layout::minutes(r.minutes)) } }
                                    div.badges { (layout::kind_badge(r.kind)) }
                                }
                            }
                        }
                    }
                }
                aside.side {
                    section.card {
                        @match s.state {
                            SessionState::Pending => {
                                h2 { "Waiting to start" }
                                p { "The live interview room opens here. Abandon now and your credit comes back." }
                            }
                            SessionState::InProgress => {
                                h2 { "In progress" }
                                p { "Abandoning now ends the interview without a refund." }
                            }
                            SessionState::Completed => { h2 { "Completed" } }
                            SessionState::Abandoned => {
                                h2 { "Abandoned" }
                                @if let Some(t) = s.ended_at { p.muted { "Abandoned " (layout::datetime(t)) "." } }
                            }
                        }
                        @if !s.state.is_final() {
                            form method="post" action={ "/interview-prep/session/" (s.id) "/abandon" } {
                                (layout::csrf_field(&viewer))
                                button.button.button-ghost.button-block type="submit" { "Abandon interview" }
                            }
                        }
                        form method="post" action={ "/interview-prep/session/" (s.id) "/delete" }
                            onsubmit="return confirm('Delete this interview and everything recorded in it? This cannot be undone.')" {
                            (layout::csrf_field(&viewer))
                            button.button.button-danger.button-block type="submit" { "Delete interview and its records" }
                        }
                    }
                }
            }
        },
    ))
}

pub async fn abandon(
    State(state): State<AppState>,
    SignedIn(user, _): SignedIn,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let s = apply_transition(&state, user.id, &id, Transition::Abandon).await?;
    Ok(Redirect::to(&format!("/interview-prep/session/{}", s.id)).into_response())
}

pub async fn delete(
    State(state): State<AppState>,
    SignedIn(user, _): SignedIn,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    if !state
        .db()
        .call(move |c| db::sessions::delete(c, user.id, &id))
        .await?
    {
        return Err(AppError::NotFound(
            "There is no such interview in your account.".into(),
        ));
    }
    Ok(Redirect::to("/interview-prep/history").into_response())
}
