//! Accounts over JSON: sign up, log in, log out, who am I, password change, the credit ledger, and a CSRF token
//! for clients that are not browsers.

use axum::{
    Json,
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{
    accounts::{
        UserRole,
        service::{self, AccountError, NewLogin},
    },
    db::{credits, users::User},
    web::AppState,
    web::{
        auth::{self, SignedIn, Viewer},
        error::{ApiJson, AppError, ErrorBody},
    },
};

#[derive(Debug, Serialize, ToSchema)]
pub struct MeView {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: UserRole,
    pub credits: i64,
}

impl MeView {
    fn new(u: &User, credits: i64) -> MeView {
        MeView {
            id: u.id,
            email: u.email.clone(),
            name: u.name.clone(),
            role: u.role,
            credits,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignupRequest {
    pub email: String,
    pub password: String,
    #[serde(default)]
    pub name: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordRequest {
    pub current_password: String,
    pub new_password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CsrfView {
    /// Send as `X-CSRF-Token` on every POST, PATCH and DELETE.
    pub csrf_token: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LedgerEntryView {
    pub id: i64,
    /// Positive: credits in; negative: credits spent.
    pub delta: i64,
    /// signup_grant, grant, interview or refund.
    pub reason: String,
    pub session_id: Option<String>,
    pub note: String,
    /// Unix milliseconds.
    pub created_at: i64,
}

pub fn account_error(e: AccountError) -> AppError {
    match e {
        AccountError::Invalid(i) => AppError::Unprocessable(i.0),
        AccountError::EmailTaken => AppError::Conflict(e.to_string()),
        AccountError::WrongCredentials => AppError::Unauthorized(e.to_string()),
        AccountError::WrongPassword => AppError::Forbidden(e.to_string()),
        AccountError::Throttled { .. } | AccountError::SignupThrottled { .. } => {
            AppError::TooManyRequests(e.to_string())
        }
        AccountError::Db(db) => db.into(),
    }
}

fn with_login(status: StatusCode, body: MeView, login: &NewLogin) -> Response {
    let mut resp = (status, Json(body)).into_response();
    resp.headers_mut()
        .append(header::SET_COOKIE, auth::login_cookie(&login.token));
    // The new login's CSRF token, for the client's next state-changing call.
    resp.headers_mut().insert(
        auth::CSRF_HEADER,
        HeaderValue::from_str(&login.csrf).expect("token is URL-safe"),
    );
    resp
}

/// A CSRF token for this client (sets the anonymous CSRF cookie when needed).
#[utoipa::path(get, path = "/auth/csrf", tag = "accounts", responses((status = 200, body = CsrfView)))]
pub async fn csrf(viewer: Viewer) -> Json<CsrfView> {
    Json(CsrfView {
        csrf_token: viewer.csrf,
    })
}

/// Creates an account, signs it in and grants the starting credits. The first account is an admin.
#[utoipa::path(post, path = "/auth/signup", tag = "accounts", request_body = SignupRequest, responses(
    (status = 201, body = MeView, description = "Signed in; the response sets the session cookie and carries X-CSRF-Token"),
    (status = 409, body = ErrorBody, description = "The email is taken"),
    (status = 422, body = ErrorBody, description = "A field is invalid"),
))]
pub async fn signup(
    State(state): State<AppState>,
    viewer: Viewer,
    ApiJson(req): ApiJson<SignupRequest>,
) -> Result<Response, AppError> {
    let credits = state.settings().signup_credits;
    let (user, login) = service::signup(
        state.db(),
        &req.email,
        &req.name,
        &req.password,
        credits,
        &viewer.meta,
    )
    .await
    .map_err(account_error)?;
    Ok(with_login(
        StatusCode::CREATED,
        MeView::new(&user, credits),
        &login,
    ))
}

#[utoipa::path(post, path = "/auth/login", tag = "accounts", request_body = LoginRequest, responses(
    (status = 200, body = MeView, description = "Signed in; the response sets the session cookie and carries X-CSRF-Token"),
    (status = 401, body = ErrorBody, description = "Wrong email or password"),
    (status = 429, body = ErrorBody, description = "Too many failed logins for this account or address"),
))]
pub async fn login(
    State(state): State<AppState>,
    viewer: Viewer,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Response, AppError> {
    let (user, login) =
        match service::login(state.db(), &req.email, &req.password, &viewer.meta).await {
            Ok(ok) => ok,
            Err(AccountError::Throttled { retry_after_ms }) => {
                let mut resp =
                    account_error(AccountError::Throttled { retry_after_ms }).into_response();
                resp.headers_mut().insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(retry_after_ms / 1000 + 1),
                );
                return Ok(resp);
            }
            Err(e) => return Err(account_error(e)),
        };
    let id = user.id;
    let balance = state.db().call(move |c| credits::balance(c, id)).await?;
    Ok(with_login(
        StatusCode::OK,
        MeView::new(&user, balance),
        &login,
    ))
}

#[utoipa::path(post, path = "/auth/logout", tag = "accounts", responses((status = 204, description = "Signed out")))]
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let forget = auth::logout(&state, &headers).await?;
    let mut resp = StatusCode::NO_CONTENT.into_response();
    resp.headers_mut().append(header::SET_COOKIE, forget);
    Ok(resp)
}

#[utoipa::path(get, path = "/me", tag = "accounts", responses(
    (status = 200, body = MeView), (status = 401, body = ErrorBody),
))]
pub async fn me(SignedIn(user, viewer): SignedIn) -> Json<MeView> {
    Json(MeView::new(&user, viewer.credits))
}

/// Changes the password and signs out every other login.
#[utoipa::path(post, path = "/me/password", tag = "accounts", request_body = PasswordRequest, responses(
    (status = 204, description = "Changed"), (status = 403, body = ErrorBody, description = "The current password is wrong"),
    (status = 422, body = ErrorBody),
))]
pub async fn change_password(
    State(state): State<AppState>,
    SignedIn(user, viewer): SignedIn,
    ApiJson(req): ApiJson<PasswordRequest>,
) -> Result<StatusCode, AppError> {
    service::change_password(
        state.db(),
        user.id,
        &req.current_password,
        &req.new_password,
        viewer.login_id,
    )
    .await
    .map_err(account_error)?;
    state.logins_ended();
    Ok(StatusCode::NO_CONTENT)
}

/// The credit ledger, newest first (the balance is its sum).
#[utoipa::path(get, path = "/me/credits", tag = "accounts", responses(
    (status = 200, body = Vec<LedgerEntryView>), (status = 401, body = ErrorBody),
))]
pub async fn my_credits(
    State(state): State<AppState>,
    SignedIn(user, _): SignedIn,
) -> Result<Json<Vec<LedgerEntryView>>, AppError> {
    let entries = state
        .db()
        .call(move |c| credits::history(c, user.id, 500))
        .await?;
    Ok(Json(
        entries
            .into_iter()
            .map(|e| LedgerEntryView {
                id: e.id,
                delta: e.delta,
                reason: e.reason,
                session_id: e.session_id,
                note: e.note,
                created_at: e.created_at,
            })
            .collect(),
    ))
}
