//! Interview sessions over JSON: create (paid in the same transaction), list mine, get, abandon, delete, the
//! realtime token and the transcript, through the `sessions` service. Other users' sessions are 404, never 403.

use axum::{
    Json,
    extract::{Path, Query, State},
    http::StatusCode,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::{
    catalog::RoundKind,
    db::{self, sessions::Session},
    engine::lifecycle::{SessionState, Transition},
    sessions,
    web::{
        AppState,
        auth::SignedIn,
        error::{ApiJson, AppError, ErrorBody},
    },
};

pub const PER_PAGE: i64 = 20;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSessionRequest {
    /// A company id, e.g. `amazon`.
    pub company_id: String,
    /// A role id within that company, e.g. `sde-ii`.
    pub role_id: String,
    /// The loop's rounds to practise, by position (from 0); all of them when absent.
    #[serde(default)]
    pub rounds: Option<Vec<usize>>,
    /// Questions to ask instead of drawing them: a round's position and a question id from the catalog's pool
    /// of its kind (`GET /api/v1/catalog/problems`, the design prompts and behavioral questions). Each pinned
    /// round must be among those practised.
    #[serde(default)]
    pub questions: Vec<PinnedQuestion>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PinnedQuestion {
    /// The round's position in the loop, from 0.
    pub round: usize,
    /// The question's id, e.g. `coin-change`.
    pub question: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RoundView {
    pub kind: RoundKind,
    pub title: String,
    pub minutes: u32,
    /// The question chosen for this round, when one was; a drawn question is not named before it is asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub question: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    pub id: String,
    pub company_id: String,
    pub company_name: String,
    pub role_id: String,
    pub role_title: String,
    pub state: SessionState,
    /// Credits paid.
    pub price: i64,
    pub rounds: Vec<RoundView>,
    pub current_round: i64,
    /// Unix milliseconds.
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub ended_at: Option<i64>,
    /// The interview's page.
    pub url: String,
}

impl From<Session> for SessionView {
    fn from(s: Session) -> SessionView {
        SessionView {
            url: format!("/interview-prep/session/{}", s.id),
            rounds: s
                .rounds
                .iter()
                .map(|r| RoundView {
                    kind: r.kind,
                    title: r.title.clone(),
                    minutes: r.minutes,
                    question: r.question.clone(),
                })
                .collect(),
            id: s.id,
            company_id: s.company_id,
            company_name: s.company_name,
            role_id: s.role_id,
            role_title: s.role_title,
            state: s.state,
            price: s.price,
            current_round: s.current_round,
            created_at: s.created_at,
            started_at: s.started_at,
            ended_at: s.ended_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionList {
    pub sessions: Vec<SessionView>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ListQuery {
    /// From 1.
    pub page: Option<i64>,
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionAction {
    Abandon,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchSessionRequest {
    pub action: SessionAction,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RealtimeTokenView {
    pub token: String,
    /// Unix milliseconds.
    pub expires_at: i64,
    /// Where to open the WebSocket, token included.
    pub ws_url: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TurnView {
    pub seq: i64,
    pub round: i64,
    /// interviewer, candidate or system.
    pub speaker: String,
    pub text: String,
    pub created_at: i64,
}

#[utoipa::path(post, path = "/sessions", tag = "sessions", request_body = CreateSessionRequest, responses(
    (status = 201, body = SessionView), (status = 401, body = ErrorBody),
    (status = 402, body = ErrorBody, description = "Not enough credits"), (status = 404, body = ErrorBody, description = "Unknown role"),
))]
pub async fn create(
    State(state): State<AppState>,
    SignedIn(user, _): SignedIn,
    ApiJson(req): ApiJson<CreateSessionRequest>,
) -> Result<(StatusCode, Json<SessionView>), AppError> {
    let s = sessions::create(
        state.db(),
        &state.catalog(),
        user.id,
        &req.company_id,
        &req.role_id,
        req.rounds.as_deref(),
        &req.questions
            .into_iter()
            .map(|p| sessions::Pin {
                round: p.round,
                question: p.question,
            })
            .collect::<Vec<_>>(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(s.into())))
}

#[utoipa::path(get, path = "/sessions", tag = "sessions", params(ListQuery), responses(
    (status = 200, body = SessionList), (status = 401, body = ErrorBody),
))]
pub async fn list(
    State(state): State<AppState>,
    SignedIn(user, _): SignedIn,
    Query(q): Query<ListQuery>,
) -> Result<Json<SessionList>, AppError> {
    let page = q.page.unwrap_or(1).clamp(1, 1_000_000);
    let (rows, total) = state
        .db()
        .call(move |c| db::sessions::list(c, user.id, PER_PAGE, (page - 1) * PER_PAGE))
        .await?;
    Ok(Json(SessionList {
        sessions: rows.into_iter().map(Into::into).collect(),
        total,
        page,
        per_page: PER_PAGE,
    }))
}

#[utoipa::path(get, path = "/sessions/{id}", tag = "sessions", params(("id" = String, Path)), responses(
    (status = 200, body = SessionView), (status = 404, body = ErrorBody),
))]
pub async fn get(
    State(state): State<AppState>,
    SignedIn(user, _): SignedIn,
    Path(id): Path<String>,
) -> Result<Json<SessionView>, AppError> {
    Ok(Json(
        sessions::owned(state.db(), user.id, &id).await?.into(),
    ))
}

/// Abandons an interview: refunded before it starts, not after.
#[utoipa::path(patch, path = "/sessions/{id}", tag = "sessions", params(("id" = String, Path)), request_body = PatchSessionRequest, responses(
    (status = 200, body = SessionView), (status = 404, body = ErrorBody),
    (status = 409, body = ErrorBody, description = "Not allowed from the session's state"),
))]
pub async fn patch(
    State(state): State<AppState>,
    SignedIn(user, _): SignedIn,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<PatchSessionRequest>,
) -> Result<Json<SessionView>, AppError> {
    let action = match req.action {
        SessionAction::Abandon => Transition::Abandon,
    };
    let s = sessions::transition(state.db(), user.id, &id, action)
        .await?
        .into_result()?;
    Ok(Json(s.into()))
}

/// Deletes the interview and everything recorded in it.
#[utoipa::path(delete, path = "/sessions/{id}", tag = "sessions", params(("id" = String, Path)), responses(
    (status = 204, description = "Deleted"), (status = 404, body = ErrorBody),
))]
pub async fn delete(
    State(state): State<AppState>,
    SignedIn(user, _): SignedIn,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    sessions::delete(state.db(), user.id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A short-lived token, bound to this user and interview, for the realtime WebSocket.
#[utoipa::path(post, path = "/sessions/{id}/realtime-token", tag = "sessions", params(("id" = String, Path)), responses(
    (status = 200, body = RealtimeTokenView), (status = 404, body = ErrorBody),
    (status = 409, body = ErrorBody, description = "The interview is over"),
))]
pub async fn realtime_token(
    State(state): State<AppState>,
    SignedIn(user, viewer): SignedIn,
    Path(id): Path<String>,
) -> Result<Json<RealtimeTokenView>, AppError> {
    let s = sessions::owned(state.db(), user.id, &id).await?;
    let login = viewer
        .login_id
        .ok_or_else(|| AppError::Unauthorized("Log in to join an interview.".into()))?;
    if s.state.is_final() {
        return Err(AppError::Conflict(format!(
            "This interview is {}.",
            s.state.label()
        )));
    }
    let (token, expires_at) =
        state
            .signing_key()
            .realtime_token(user.id, &s.id, &login, db::now_ms());
    let ws_url = format!("/ws/sessions/{}?token={token}", s.id);
    Ok(Json(RealtimeTokenView {
        token,
        expires_at,
        ws_url,
    }))
}

#[utoipa::path(get, path = "/sessions/{id}/transcript", tag = "sessions", params(("id" = String, Path)), responses(
    (status = 200, body = Vec<TurnView>), (status = 404, body = ErrorBody),
))]
pub async fn transcript(
    State(state): State<AppState>,
    SignedIn(user, _): SignedIn,
    Path(id): Path<String>,
) -> Result<Json<Vec<TurnView>>, AppError> {
    let s = sessions::owned(state.db(), user.id, &id).await?;
    let turns = state.db().call(move |c| db::live::turns(c, &s.id)).await?;
    Ok(Json(
        turns
            .into_iter()
            .map(|t| TurnView {
                seq: t.seq,
                round: t.round,
                speaker: t.speaker,
                text: t.text,
                created_at: t.created_at,
            })
            .collect(),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ReportQuery {
    /// A report's id, when the interview was scored more than once; the newest by default.
    pub report: Option<i64>,
    /// `json` (default) or `markdown`.
    pub format: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScoringView {
    /// `scoring`: the report is being made; ask again shortly.
    pub status: String,
}

fn scoring() -> (StatusCode, Json<ScoringView>) {
    (
        StatusCode::ACCEPTED,
        Json(ScoringView {
            status: "scoring".into(),
        }),
    )
}

/// The interview's score report (the newest, or `?report=ID`), as JSON or Markdown. While the report is being
/// made, or when the interview has none yet (scoring starts then), the answer is 202.
#[utoipa::path(get, path = "/sessions/{id}/report", tag = "sessions", params(("id" = String, Path), ReportQuery), responses(
    (status = 200, body = crate::scoring::report::Report), (status = 202, body = ScoringView),
    (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "The interview is not over"),
))]
pub async fn report(
    State(state): State<AppState>,
    SignedIn(user, _): SignedIn,
    Path(id): Path<String>,
    Query(q): Query<ReportQuery>,
) -> Result<axum::response::Response, AppError> {
    use axum::response::IntoResponse;

    use crate::scoring::service;
    let s = sessions::finished(state.db(), user.id, &id).await?;
    if service::in_progress(&s.id) {
        return Ok(scoring().into_response());
    }
    let session_id = s.id.clone();
    let found = state
        .db()
        .call(move |c| db::scores::get(c, &session_id, q.report))
        .await?;
    let Some(report) = found else {
        if q.report.is_some() {
            return Err(AppError::NotFound(
                "This interview has no such report.".into(),
            ));
        }
        state.scorer().spawn(s, None);
        return Ok(scoring().into_response());
    };
    match q.format.as_deref() {
        None | Some("json") => Ok(Json(report).into_response()),
        Some("markdown" | "md") => Ok((
            [(
                axum::http::header::CONTENT_TYPE,
                "text/markdown; charset=utf-8",
            )],
            report.to_markdown(),
        )
            .into_response()),
        Some(other) => Err(AppError::BadRequest(format!(
            "Unknown format \"{other}\": use json or markdown."
        ))),
    }
}

/// Scores the interview again with the server's judge; every earlier report is kept.
#[utoipa::path(post, path = "/sessions/{id}/report", tag = "sessions", params(("id" = String, Path)), responses(
    (status = 202, body = ScoringView), (status = 404, body = ErrorBody),
    (status = 409, body = ErrorBody, description = "The interview is not over"),
))]
pub async fn rescore(
    State(state): State<AppState>,
    SignedIn(user, _): SignedIn,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<ScoringView>), AppError> {
    let s = sessions::finished(state.db(), user.id, &id).await?;
    state.scorer().spawn(s, None);
    Ok(scoring())
}
