//! `/signup`, `/login` and `POST /logout`: forms that work without JavaScript. A refused form comes back with the
//! reason and what was typed (never the password).

use axum::{
    Form,
    extract::{Query, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
};
use maud::{Markup, html};
use serde::Deserialize;

use super::layout;
use crate::{
    accounts::{
        MIN_PASSWORD_CHARS,
        service::{self, AccountError, NewLogin},
    },
    web::AppState,
    web::{
        auth::{self, Viewer, safe_next},
        error::AppError,
    },
};

#[derive(Debug, Deserialize, Default)]
pub struct NextQuery {
    pub next: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct SignupForm {
    #[serde(default)]
    pub name: String,
    pub email: String,
    pub password: String,
    pub next: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    pub email: String,
    pub password: String,
    pub next: Option<String>,
}

/// The response that signs a browser in and sends it on.
pub fn signed_in(login: &NewLogin, to: &str) -> Response {
    let mut resp = Redirect::to(to).into_response();
    resp.headers_mut()
        .append(header::SET_COOKIE, auth::login_cookie(&login.token));
    resp
}

fn signup_page(
    viewer: &Viewer,
    next: &str,
    name: &str,
    email: &str,
    error: Option<&str>,
) -> Markup {
    layout::page(
        viewer,
        "Create an account",
        &[],
        html! {
            section.auth-card.card {
                h1 { "Create your account" }
                p.muted { "New accounts start with free credits: each interview costs one or two." }
                (layout::notice(error, None))
                form method="post" action="/signup" {
                    (layout::csrf_field(viewer))
                    input type="hidden" name="next" value=(next);
                    label for="name" { "Name" }
                    input #name type="text" name="name" value=(name) autocomplete="name" maxlength="80";
                    label for="email" { "Email" }
                    input #email type="email" name="email" value=(email) autocomplete="email" required;
                    label for="password" { "Password" }
                    input #password type="password" name="password" autocomplete="new-password" required
                        minlength=(MIN_PASSWORD_CHARS) maxlength="256";
                    p.hint { "At least " (MIN_PASSWORD_CHARS) " characters." }
                    button.button.button-block.button-large type="submit" { "Create account" }
                }
                p.switch { "Already have an account? " a href={ "/login?next=" (next) } { "Sign in" } }
            }
        },
    )
}

fn login_page(viewer: &Viewer, next: &str, email: &str, error: Option<&str>) -> Markup {
    layout::page(
        viewer,
        "Sign in",
        &[],
        html! {
            section.auth-card.card {
                h1 { "Sign in" }
                (layout::notice(error, None))
                form method="post" action="/login" {
                    (layout::csrf_field(viewer))
                    input type="hidden" name="next" value=(next);
                    label for="email" { "Email" }
                    input #email type="email" name="email" value=(email) autocomplete="email" required;
                    label for="password" { "Password" }
                    input #password type="password" name="password" autocomplete="current-password" required;
                    button.button.button-block.button-large type="submit" { "Sign in" }
                }
                p.switch { "New here? " a href={ "/signup?next=" (next) } { "Create an account" } }
            }
        },
    )
}

pub async fn signup_form(viewer: Viewer, Query(q): Query<NextQuery>) -> Response {
    if viewer.user.is_some() {
        return Redirect::to(&safe_next(q.next.as_deref())).into_response();
    }
    signup_page(&viewer, &safe_next(q.next.as_deref()), "", "", None).into_response()
}

pub async fn signup(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(f): Form<SignupForm>,
) -> Result<Response, AppError> {
    let next = safe_next(f.next.as_deref());
    let credits = state.settings().signup_credits;
    match service::signup(
        state.db(),
        &f.email,
        &f.name,
        &f.password,
        credits,
        &viewer.meta,
    )
    .await
    {
        Ok((_, login)) => Ok(signed_in(&login, &next)),
        Err(AccountError::Db(e)) => Err(e.into()),
        Err(e) => {
            let status = match e {
                AccountError::EmailTaken => StatusCode::CONFLICT,
                AccountError::SignupThrottled { .. } => StatusCode::TOO_MANY_REQUESTS,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            };
            Ok((
                status,
                signup_page(&viewer, &next, &f.name, &f.email, Some(&e.to_string())),
            )
                .into_response())
        }
    }
}

pub async fn login_form(viewer: Viewer, Query(q): Query<NextQuery>) -> Response {
    if viewer.user.is_some() {
        return Redirect::to(&safe_next(q.next.as_deref())).into_response();
    }
    login_page(&viewer, &safe_next(q.next.as_deref()), "", None).into_response()
}

pub async fn login(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(f): Form<LoginForm>,
) -> Result<Response, AppError> {
    let next = safe_next(f.next.as_deref());
    match service::login(state.db(), &f.email, &f.password, &viewer.meta).await {
        Ok((_, login)) => Ok(signed_in(&login, &next)),
        Err(AccountError::Db(e)) => Err(e.into()),
        Err(e) => {
            let mut resp =
                login_page(&viewer, &next, &f.email, Some(&e.to_string())).into_response();
            *resp.status_mut() = match e {
                AccountError::Throttled { retry_after_ms } => {
                    resp.headers_mut().insert(
                        header::RETRY_AFTER,
                        HeaderValue::from(retry_after_ms / 1000 + 1),
                    );
                    StatusCode::TOO_MANY_REQUESTS
                }
                _ => StatusCode::UNAUTHORIZED,
            };
            Ok(resp)
        }
    }
}

pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let forget = auth::logout(&state, &headers).await?;
    let mut resp = Redirect::to("/").into_response();
    resp.headers_mut().append(header::SET_COOKIE, forget);
    Ok(resp)
}
