//! The JSON API under `/api/v1`: request and response types are plain structs, errors are [`AppError`]s that the
//! error middleware shapes as `{"error": {"code", "message"}}`.

pub mod catalog;
pub mod health;

use axum::{Router, routing::get};

use crate::app::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/companies", get(catalog::list_companies))
        .route("/companies/{company_id}", get(catalog::get_company))
        .route(
            "/companies/{company_id}/roles/{role_id}",
            get(catalog::get_role),
        )
}
