//! Staff endpoints: every user with credits and interviews, and granting credits (instructors and admins).

use axum::{
    Json,
    extract::{Query, State},
    http::StatusCode,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::{
    accounts::{UserRole, normalize_email},
    db::{self, credits, users::User},
    web::AppState,
    web::{
        auth::Staff,
        error::{ApiJson, AppError, ErrorBody},
    },
};

pub const MAX_GRANT: i64 = 1000;
const PER_PAGE: i64 = 50;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantRequest {
    pub email: String,
    /// 1 to 1000.
    pub amount: i64,
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GrantView {
    pub user_id: i64,
    pub email: String,
    pub balance: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AdminUserView {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: UserRole,
    pub credits: i64,
    pub sessions: i64,
    pub created_at: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AdminUserList {
    pub users: Vec<AdminUserView>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct UsersQuery {
    pub page: Option<i64>,
}

/// Grants credits through the ledger; shared by the API and the admin page.
pub async fn grant_credits(
    state: &AppState,
    actor: &User,
    email: &str,
    amount: i64,
    note: &str,
) -> Result<GrantView, AppError> {
    if !(1..=MAX_GRANT).contains(&amount) {
        return Err(AppError::Unprocessable(format!(
            "Grant between 1 and {MAX_GRANT} credits at a time."
        )));
    }
    let email = normalize_email(email).map_err(|e| AppError::Unprocessable(e.0))?;
    let note: String = note.trim().chars().take(200).collect();
    let actor_id = actor.id;
    let e = email.clone();
    let granted = state
        .db()
        .call(move |c| credits::grant(c, &e, amount, Some(actor_id), &note, db::now_ms()))
        .await?;
    let (user_id, balance) =
        granted.ok_or_else(|| AppError::NotFound(format!("There is no account for {email}.")))?;
    Ok(GrantView {
        user_id,
        email,
        balance,
    })
}

#[utoipa::path(post, path = "/admin/credits", tag = "admin", request_body = GrantRequest, responses(
    (status = 201, body = GrantView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
    (status = 422, body = ErrorBody),
))]
pub async fn grant(
    State(state): State<AppState>,
    Staff(actor, _): Staff,
    ApiJson(req): ApiJson<GrantRequest>,
) -> Result<(StatusCode, Json<GrantView>), AppError> {
    Ok((
        StatusCode::CREATED,
        Json(grant_credits(&state, &actor, &req.email, req.amount, &req.note).await?),
    ))
}

#[utoipa::path(get, path = "/admin/users", tag = "admin", params(UsersQuery), responses(
    (status = 200, body = AdminUserList), (status = 403, body = ErrorBody),
))]
pub async fn users(
    State(state): State<AppState>,
    _staff: Staff,
    Query(q): Query<UsersQuery>,
) -> Result<Json<AdminUserList>, AppError> {
    let page = q.page.unwrap_or(1).clamp(1, 1_000_000);
    let (rows, total) = state
        .db()
        .call(move |c| db::users::list(c, PER_PAGE, (page - 1) * PER_PAGE))
        .await?;
    Ok(Json(AdminUserList {
        users: rows
            .into_iter()
            .map(|r| AdminUserView {
                id: r.user.id,
                email: r.user.email,
                name: r.user.name,
                role: r.user.role,
                credits: r.balance,
                sessions: r.sessions,
                created_at: r.user.created_at,
            })
            .collect(),
        total,
        page,
        per_page: PER_PAGE,
    }))
}
