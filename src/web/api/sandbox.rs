//! `POST /api/v1/sandbox/run`: run code outside an interview, for signed-in users (rate-limited per user).

use axum::{Json, extract::State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{
    sandbox::{
        Language,
        pool::PoolError,
        runner::{Exit, Limits},
    },
    web::AppState,
    web::{
        auth::SignedIn,
        error::{ApiJson, AppError, ErrorBody},
    },
};

/// The largest program accepted.
pub const MAX_SOURCE_BYTES: usize = 64 * 1024;
/// The largest standard input accepted.
pub const MAX_STDIN_BYTES: usize = 256 * 1024;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunRequest {
    /// python, javascript or c (a whole program with `main`, compiled inside the sandbox by TinyCC).
    pub language: String,
    pub source: String,
    #[serde(default)]
    pub stdin: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RunResult {
    /// exited, time_limit_exceeded, memory_limit_exceeded, runtime_error or compilation_error (C: the compiler's
    /// messages are in `stderr`).
    pub status: String,
    pub exit_code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub output_limited: bool,
    pub time_ms: u64,
    pub memory_kb: u64,
}

#[utoipa::path(post, path = "/sandbox/run", tag = "sandbox", request_body = RunRequest, responses(
    (status = 200, body = RunResult), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody),
    (status = 429, body = ErrorBody, description = "Too many runs this minute"),
    (status = 503, body = ErrorBody, description = "The runtimes are not installed"),
))]
pub async fn run(
    State(state): State<AppState>,
    SignedIn(user, _): SignedIn,
    ApiJson(req): ApiJson<RunRequest>,
) -> Result<Json<RunResult>, AppError> {
    let language = Language::parse(&req.language).ok_or_else(|| {
        AppError::Unprocessable("`language` must be python, javascript or c.".into())
    })?;
    if req.source.len() > MAX_SOURCE_BYTES || req.stdin.len() > MAX_STDIN_BYTES {
        return Err(AppError::Unprocessable(format!(
            "Programs are limited to {} KiB and their input to {} KiB.",
            MAX_SOURCE_BYTES / 1024,
            MAX_STDIN_BYTES / 1024
        )));
    }
    let limits = Limits {
        wall: std::time::Duration::from_secs(5),
        ..Limits::default()
    };
    let out = state
        .sandbox()
        .run(
            user.id,
            language,
            req.source,
            req.stdin.into_bytes(),
            limits,
        )
        .await
        .map_err(|e| match e {
            PoolError::RateLimited(_) => AppError::TooManyRequests(e.to_string()),
            PoolError::Unavailable(_) => {
                AppError::Rejected(axum::http::StatusCode::SERVICE_UNAVAILABLE, e.to_string())
            }
            PoolError::Internal(m) => AppError::Internal(anyhow::anyhow!(m)),
        })?;
    let (status, exit_code) = match out.exit {
        _ if out.compile_error.is_some() => ("compilation_error", None),
        Exit::Code(c) => ("exited", Some(c)),
        Exit::TimeLimit => ("time_limit_exceeded", None),
        Exit::MemoryLimit => ("memory_limit_exceeded", None),
        Exit::Trap(_) => ("runtime_error", None),
    };
    Ok(Json(RunResult {
        status: status.into(),
        exit_code,
        stdout: out.stdout,
        stderr: out.stderr,
        output_limited: out.output_limited,
        time_ms: out.time_ms,
        memory_kb: out.memory_kb,
    }))
}
