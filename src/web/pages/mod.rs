//! Server-rendered pages, one file per page: a handler gathers the page's data (through the services, or a read
//! of the database), and pure functions turn the data into `Markup`; [`layout`] holds the shared frame and small
//! components.

pub mod accounts;
pub mod admin;
pub mod briefing;
pub mod charts;
pub mod companies;
pub mod company;
pub mod error;
pub mod history;
pub mod home;
pub mod layout;
pub mod privacy;
pub mod profile;
pub mod results;
pub mod session;

use axum::{
    Router,
    routing::{get, post},
};

use crate::web::AppState;

/// The page of an interview's report.
pub fn results_url(session_id: &str) -> String {
    format!("/interview-prep/session/{session_id}/results")
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home::page))
        .route("/interview-prep", get(companies::page))
        .route("/interview-prep/{company_id}", get(company::page))
        .route(
            "/interview-prep/{company_id}/{role_id}",
            get(briefing::page),
        )
        .route(
            "/interview-prep/{company_id}/{role_id}/start",
            post(briefing::start),
        )
        .route("/interview-prep/history", get(history::page))
        .route("/interview-prep/session/{session_id}", get(session::page))
        .route(
            "/interview-prep/session/{session_id}/results",
            get(results::page),
        )
        .route(
            "/interview-prep/session/{session_id}/results/rescore",
            post(results::rescore),
        )
        .route(
            "/interview-prep/session/{session_id}/abandon",
            post(session::abandon),
        )
        .route(
            "/interview-prep/session/{session_id}/delete",
            post(session::delete),
        )
        .route("/signup", get(accounts::signup_form).post(accounts::signup))
        .route("/login", get(accounts::login_form).post(accounts::login))
        .route("/logout", post(accounts::logout))
        .route("/profile", get(profile::page).post(profile::save_name))
        .route("/profile/password", post(profile::change_password))
        .route("/admin", get(admin::page))
        .route("/admin/users/{user_id}", get(admin::user))
        .route("/admin/credits", post(admin::grant))
}
