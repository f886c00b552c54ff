//! `GET /healthz`: answers as long as the server and its database answer.

use axum::{Json, extract::State};
use serde::Serialize;
use utoipa::ToSchema;

use crate::{web::AppState, web::error::AppError};

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    pub status: &'static str,
    pub version: &'static str,
}

/// Liveness: answers while the server and its database do.
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, body = Health)))]
pub async fn healthz(State(state): State<AppState>) -> Result<Json<Health>, AppError> {
    state
        .db()
        .call(|c| Ok(c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))?))
        .await?;
    Ok(Json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
    }))
}
