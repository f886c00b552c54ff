//! Server-rendered pages: each file renders one page as a pure function from data to `Markup`; [`layout`] holds
//! the shared frame and small components.

pub mod briefing;
pub mod companies;
pub mod company;
pub mod error;
pub mod home;
pub mod layout;

use axum::{Router, routing::get};

use crate::app::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home::page))
        .route("/interview-prep", get(companies::page))
        .route("/interview-prep/{company_id}", get(company::page))
        .route(
            "/interview-prep/{company_id}/{role_id}",
            get(briefing::page),
        )
}
