//! The JSON API under `/api/v1`. Every route is registered through utoipa's router, so the OpenAPI document at
//! `/api/v1/openapi.json` is generated from the same code that serves the routes and cannot miss one.

pub mod accounts;
pub mod admin;
pub mod catalog;
pub mod health;
pub mod sandbox;
mod schemas;
pub mod sessions;

use std::sync::Arc;

use axum::{Router, routing::get};
use utoipa::openapi::OpenApi;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::web::AppState;

/// The API's routes (to nest under `/api/v1`) and its OpenAPI document.
pub fn routes() -> (Router<AppState>, OpenApi) {
    let api = OpenApiRouter::new()
        .routes(routes!(catalog::list_companies))
        .routes(routes!(catalog::get_company))
        .routes(routes!(catalog::get_role))
        .routes(routes!(accounts::csrf))
        .routes(routes!(accounts::signup))
        .routes(routes!(accounts::login))
        .routes(routes!(accounts::logout))
        .routes(routes!(accounts::me))
        .routes(routes!(accounts::change_password))
        .routes(routes!(accounts::my_credits))
        .routes(routes!(sessions::create, sessions::list))
        .routes(routes!(sessions::get, sessions::patch, sessions::delete))
        .routes(routes!(sessions::realtime_token))
        .routes(routes!(sessions::transcript))
        .routes(routes!(sessions::report, sessions::rescore))
        .routes(routes!(admin::grant))
        .routes(routes!(admin::users))
        .routes(routes!(sandbox::run));
    let (router, mut doc) = OpenApiRouter::new()
        .routes(routes!(health::healthz))
        .nest("/api/v1", api)
        .split_for_parts();
    doc.info.title = "Rehearse".into();
    doc.info.version = env!("CARGO_PKG_VERSION").into();
    doc.info.description = Some(
        "Rehearse's JSON API. Errors are {\"error\": {\"code\", \"message\"}}. State-changing calls need the \
         X-CSRF-Token header (GET /api/v1/auth/csrf, or the X-CSRF-Token of the login response)."
            .into(),
    );
    let json = Arc::new(doc.to_json().expect("the OpenAPI document serialises"));
    let router = router.route(
        "/api/v1/openapi.json",
        get(move || {
            let json = json.clone();
            async move {
                (
                    [(axum::http::header::CONTENT_TYPE, "application/json")],
                    json.to_string(),
                )
            }
        }),
    );
    (router, doc)
}

/// The OpenAPI document as a value (for tests and tools).
pub fn openapi() -> OpenApi {
    routes().1
}
