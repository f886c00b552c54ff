//! The error page: 404 for unknown companies, roles and paths, and every other error a page can meet.

use axum::http::StatusCode;
use maud::{Markup, html};

use super::layout;
use crate::web::auth::Viewer;

pub fn render(viewer: &Viewer, status: StatusCode, message: &str) -> Markup {
    let title = match status.as_u16() {
        404 => "Page not found",
        413 => "Too large",
        s if s >= 500 => "Something went wrong",
        _ => "That did not work",
    };
    layout::page(
        viewer,
        title,
        &[],
        html! {
            section.error-page {
                p.error-code { (status.as_u16()) }
                h1 { (title) }
                p.lead { (message) }
                div.actions {
                    a.button href="/interview-prep" { "Browse companies" }
                    a.button.button-ghost href="/" { "Home" }
                }
            }
        },
    )
}
