//! `/interview-prep`: the company grid.

use std::collections::BTreeSet;

use axum::extract::State;
use maud::{Markup, html};

use super::layout;
use crate::{web::AppState, web::auth::Viewer};

pub async fn page(State(state): State<AppState>, viewer: Viewer) -> Markup {
    let catalog = state.catalog();
    layout::page(
        &viewer,
        "Companies",
        &[],
        html! {
            header.page-head {
                h1 { "Choose a company" }
                p.lead { "Each company's loop is modelled on how it really interviews engineers today." }
            }
            div.company-grid {
                @for c in &catalog.companies {
                    @let kinds: BTreeSet<_> = c.roles.iter().flat_map(|r| r.rounds.iter().map(|x| x.kind.label())).collect();
                    a.company-card href={ "/interview-prep/" (c.id) } style={ "--brand:" (c.brand_color) } {
                        div.company-card-head {
                            (layout::monogram(c))
                            div {
                                h2 { (c.name) }
                                p.muted { (c.roles.len()) " roles" }
                            }
                        }
                        p { (c.tagline) }
                        div.badges {
                            @for k in &kinds { span.badge { (k) } }
                        }
                    }
                }
            }
        },
    )
}
