//! `/profile`: name, email, password change, and the credit balance with the ledger's history.

use axum::{
    Form,
    extract::{Query, State},
    response::{IntoResponse, Redirect, Response},
};
use maud::{Markup, html};
use serde::Deserialize;

use super::layout;
use crate::{
    accounts::{
        MIN_PASSWORD_CHARS, normalize_name,
        service::{self, AccountError},
    },
    db::{self, credits},
    web::AppState,
    web::{
        auth::{SignedIn, Viewer},
        error::AppError,
    },
};

#[derive(Debug, Deserialize, Default)]
pub struct Flash {
    pub ok: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct NameForm {
    pub name: String,
}

#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    pub current_password: String,
    pub new_password: String,
}

async fn render(
    state: &AppState,
    viewer: &Viewer,
    error: Option<&str>,
    ok: Option<&str>,
) -> Result<Markup, AppError> {
    let user = viewer.user.clone().expect("signed in");
    let id = user.id;
    let ledger = state
        .db()
        .call(move |c| credits::history(c, id, 50))
        .await?;
    Ok(layout::page(
        viewer,
        "Your profile",
        &[],
        html! {
            header.page-head {
                h1 { "Your profile" }
                p.lead { (user.email) " · " (user.role.as_str()) " · member since " (layout::datetime(user.created_at)) }
            }
            (layout::notice(error, ok))
            div.two-col {
                section.card {
                    h2 { "Credits" }
                    p.balance { strong { (viewer.credits) } " credits left" }
                    p.muted { "An interview costs one or two credits. Abandoning before the first question refunds it." }
                    table.table {
                        thead { tr { th { "When" } th { "What" } th.num { "Credits" } } }
                        tbody {
                            @for e in &ledger {
                                tr {
                                    td { (layout::datetime(e.created_at)) }
                                    td {
                                        (credits::Reason::label(&e.reason))
                                        @if !e.note.is_empty() { span.muted { " · " (e.note) } }
                                    }
                                    td.num class=(if e.delta > 0 { "plus" } else { "minus" }) {
                                        @if e.delta > 0 { "+" } (e.delta)
                                    }
                                }
                            }
                        }
                    }
                }
                div.side {
                    section.card {
                        h2 { "Your name" }
                        form method="post" action="/profile" {
                            (layout::csrf_field(viewer))
                            label for="name" { "Name" }
                            input #name type="text" name="name" value=(user.name) maxlength="80";
                            button.button type="submit" { "Save" }
                        }
                    }
                    section.card {
                        h2 { "Change password" }
                        form method="post" action="/profile/password" {
                            (layout::csrf_field(viewer))
                            label for="current_password" { "Current password" }
                            input #current_password type="password" name="current_password" autocomplete="current-password" required;
                            label for="new_password" { "New password" }
                            input #new_password type="password" name="new_password" autocomplete="new-password" required minlength=(MIN_PASSWORD_CHARS);
                            button.button type="submit" { "Change password" }
                        }
                        p.hint { "Changing it signs you out everywhere else." }
                    }
                }
            }
        },
    ))
}

pub async fn page(
    State(state): State<AppState>,
    SignedIn(_, viewer): SignedIn,
    Query(f): Query<Flash>,
) -> Result<Markup, AppError> {
    let ok = match f.ok.as_deref() {
        Some("name") => Some("Your name is saved."),
        Some("password") => Some("Your password is changed."),
        _ => None,
    };
    render(&state, &viewer, None, ok).await
}

pub async fn save_name(
    State(state): State<AppState>,
    SignedIn(user, viewer): SignedIn,
    Form(f): Form<NameForm>,
) -> Result<Response, AppError> {
    match normalize_name(&f.name) {
        Ok(name) => {
            state
                .db()
                .call(move |c| db::users::set_name(c, user.id, &name, db::now_ms()))
                .await?;
            Ok(Redirect::to("/profile?ok=name").into_response())
        }
        Err(e) => Ok((
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            render(&state, &viewer, Some(&e.0), None).await?,
        )
            .into_response()),
    }
}

pub async fn change_password(
    State(state): State<AppState>,
    SignedIn(user, viewer): SignedIn,
    Form(f): Form<PasswordForm>,
) -> Result<Response, AppError> {
    match service::change_password(
        state.db(),
        user.id,
        &f.current_password,
        &f.new_password,
        viewer.login_id.clone(),
    )
    .await
    {
        Ok(()) => {
            state.logins_ended();
            Ok(Redirect::to("/profile?ok=password").into_response())
        }
        Err(AccountError::Db(e)) => Err(e.into()),
        Err(e) => Ok((
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            render(&state, &viewer, Some(&e.to_string()), None).await?,
        )
            .into_response()),
    }
}
