//! The one error type for handlers, and the middleware that gives every error the same shape: JSON
//! `{"error": {"code", "message"}}` under `/api/`, an HTML page elsewhere, whichever layer produced it (a
//! handler, the body limit, the method router). Internal errors are logged with a reference and never echoed.

use axum::{
    Json,
    body::Body,
    extract::FromRequest,
    extract::Request,
    http::{StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use serde_json::json;

use super::pages;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unprocessable(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    PaymentRequired(String),
    #[error("{0}")]
    TooManyRequests(String),
    /// An extractor's refusal (malformed JSON, wrong content type, ...), with its own status.
    #[error("{1}")]
    Rejected(StatusCode, String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<crate::db::DbError> for AppError {
    fn from(e: crate::db::DbError) -> Self {
        AppError::Internal(e.into())
    }
}

/// The lifecycle service's refusals, worded as its own messages.
impl From<crate::sessions::Error> for AppError {
    fn from(e: crate::sessions::Error) -> Self {
        use crate::sessions::Error;
        let message = e.to_string();
        match e {
            Error::NotFound | Error::UnknownRole { .. } => AppError::NotFound(message),
            Error::BadSelection(_) => AppError::Unprocessable(message),
            Error::NotEnoughCredits { .. } => AppError::PaymentRequired(message),
            Error::Illegal(_) | Error::NotOver(_) => AppError::Conflict(message),
            Error::Db(e) => e.into(),
        }
    }
}

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::PaymentRequired(_) => StatusCode::PAYMENT_REQUIRED,
            AppError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            AppError::Rejected(status, _) => *status,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// The body of every API error (for the OpenAPI document).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable and machine-readable: not_found, conflict, payment_required, unauthorized, forbidden, ...
    pub code: String,
    /// For people.
    pub message: String,
}

/// Stable, machine-readable codes by status.
pub fn code_for(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "bad_request",
        401 => "unauthorized",
        402 => "payment_required",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        408 => "timeout",
        409 => "conflict",
        413 => "payload_too_large",
        415 => "unsupported_media_type",
        422 => "unprocessable",
        429 => "rate_limited",
        503 => "unavailable",
        _ => "internal",
    }
}

/// Marks a response body as already in the uniform shape, so the middleware leaves it alone.
#[derive(Clone, Copy)]
struct Shaped;

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = match &self {
            AppError::Internal(e) => {
                let reference = crate::db::now_ms() % 1_000_000_007;
                tracing::error!(reference, "internal error: {e:#}");
                format!("Something went wrong on our side (reference {reference}).")
            }
            other => other.to_string(),
        };
        // The middleware renders this as JSON or HTML depending on the path.
        let mut resp = (status, message).into_response();
        resp.extensions_mut().insert(Shaped);
        resp
    }
}

pub async fn uniform_errors(req: Request, next: Next) -> Response {
    let api = req.uri().path().starts_with("/api/");
    let resp = next.run(req).await;
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let is_html = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if (api && is_json) || (!api && is_html) {
        return resp;
    }
    let shaped = resp.extensions().get::<Shaped>().is_some();
    let viewer = resp
        .extensions()
        .get::<super::auth::Viewer>()
        .cloned()
        .unwrap_or_default();
    let (parts, body) = resp.into_parts();
    let message = if shaped {
        let bytes = axum::body::to_bytes(body, 64 * 1024)
            .await
            .unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    } else {
        default_message(status).to_string()
    };
    let mut out = if api {
        (
            status,
            Json(json!({ "error": { "code": code_for(status), "message": message } })),
        )
            .into_response()
    } else {
        (status, pages::error::render(&viewer, status, &message)).into_response()
    };
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            out.headers_mut().insert(name.clone(), value.clone());
        }
    }
    out
}

fn default_message(status: StatusCode) -> &'static str {
    match status.as_u16() {
        404 => "There is nothing here.",
        405 => "That method is not allowed here.",
        408 => "The request took too long.",
        413 => "The request is too large.",
        415 => "Send JSON with Content-Type: application/json.",
        _ if status.is_server_error() => "Something went wrong on our side.",
        _ => "The request was not understood.",
    }
}

/// `Json<T>` whose refusals (bad JSON, wrong types, missing fields, wrong content type) use the API's error shape
/// and say exactly what was wrong.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(ApiJson(v)),
            Err(rejection) => Err(AppError::Rejected(
                rejection.status(),
                rejection.body_text(),
            )),
        }
    }
}

/// Builds the JSON error body directly (for extractor rejections in the API).
pub fn json_error(status: StatusCode, message: impl Into<String>) -> Response {
    let body = json!({ "error": { "code": code_for(status), "message": message.into() } });
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .expect("valid response")
}
