//! HTTP: the route table, the one error type, static assets, pages (maud, one file per page), the JSON API, the
//! realtime channel's WebSocket upgrade, `/metrics`, and [`AppState`], the handles the handlers use. Handlers
//! translate between HTTP and the services below (`sessions`, `accounts::service`, `scoring::service`,
//! `realtime`); the rules are the domain's.

pub mod api;
pub mod assets;
pub mod auth;
pub mod error;
pub mod metrics;
pub mod pages;
pub mod realtime;
mod state;

pub use state::{AppState, Parts};

use std::time::Duration;

use axum::{
    Router,
    extract::{DefaultBodyLimit, State},
    http::{HeaderValue, header},
    middleware,
    routing::get,
};
use tower_http::{
    limit::RequestBodyLimitLayer, set_header::SetResponseHeaderLayer, timeout::TimeoutLayer,
};

/// Scripts only from this server, and no inline script: an injected `<script>` or `onclick` never runs. Inline style
/// attributes are allowed (company colours and the code editor's); audio recordings play from `blob:`; the editor's
/// icon font is a `data:` URL and its language workers start from `blob:` URLs it makes itself (an injected script
/// still cannot run); the WebSocket is same-origin.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

pub fn routes(state: AppState) -> Router {
    let limit = state.settings().max_body_bytes;
    let (api, _) = api::routes();
    // Pages and the API know who is asking; static assets, health and metrics do not need to.
    let personal = Router::new()
        .merge(pages::routes())
        .merge(api)
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ));
    Router::new()
        .merge(personal)
        .route("/metrics", get(metrics::render))
        .route("/static/{*path}", get(assets::serve))
        .route("/ws/sessions/{session_id}", get(realtime::upgrade))
        // Innermost first: limits and the timeout produce errors that the error middleware then shapes.
        .layer(DefaultBodyLimit::max(limit))
        .layer(RequestBodyLimitLayer::new(limit))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(60),
        ))
        .layer(middleware::from_fn(error::uniform_errors))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            metrics::count,
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .with_state(state)
}

async fn not_found(State(_): State<AppState>, uri: axum::http::Uri) -> error::AppError {
    error::AppError::NotFound(format!("Nothing lives at {}.", uri.path()))
}
