//! `/`: what Rehearse is, and the way in.

use axum::extract::State;
use maud::{Markup, html};

use super::layout;
use crate::{web::AppState, web::auth::Viewer};

pub async fn page(State(state): State<AppState>, viewer: Viewer) -> Markup {
    let catalog = state.catalog();
    let roles: usize = catalog.companies.iter().map(|c| c.roles.len()).sum();
    layout::page(
        &viewer,
        "Practice the real interview",
        &[],
        html! {
            section.hero {
                p.eyebrow { "Mock interviews that run on your own machine" }
                h1 { "Practice the interview you are actually going to have." }
                p.lead {
                    "Pick a company and a role, read how their loop really works, then do it: an AI interviewer in the "
                    "company's style runs each round, listens, follows up on what you said, and tells you afterwards "
                    "where you stood."
                }
                div.actions {
                    a.button.button-large href="/interview-prep" { "Choose a company" }
                    a.button.button-ghost.button-large href="/signup" { "Create an account" }
                }
                ul.stats {
                    li { strong { (catalog.companies.len()) } " companies" }
                    li { strong { (roles) } " roles" }
                    li { strong { (catalog.behavioral.len()) } " behavioral questions" }
                    li { strong { (catalog.problems.len()) } " coding problems" }
                }
            }
            section.features {
                article.card {
                    h2 { "Real loops" }
                    p { "Amazon's Bar Raiser and Leadership Principles, Google's Googleyness round, Meta's Ninja, Pirate and Jedi: each role's rounds in order, with their real lengths." }
                }
                article.card {
                    h2 { "Private by default" }
                    p { (super::privacy::promise(state.settings())) }
                }
                article.card {
                    h2 { "Coding that really runs" }
                    p { "Write Python, JavaScript or C in a real editor; it runs in a WebAssembly sandbox against hidden tests while the interviewer watches." }
                }
                article.card {
                    h2 { "Grounded feedback" }
                    p { "Every score cites what you said or what your code did. Empty answers score low; nervousness and accent are never judged." }
                }
            }
            section.company-strip {
                h2 { "Start with a company" }
                div.chips {
                    @for c in &catalog.companies {
                        a.chip href={ "/interview-prep/" (c.id) } { (layout::monogram(c)) (c.name) }
                    }
                }
            }
        },
    )
}
