//! `/interview-prep/{companyId}`: a company's interview style, its interviewer and its roles.

use axum::extract::{Path, State};
use maud::{Markup, html};

use super::layout;
use crate::{
    web::AppState,
    web::{auth::Viewer, error::AppError},
};

pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(company_id): Path<String>,
) -> Result<Markup, AppError> {
    let catalog = state.catalog();
    let c = catalog.company(&company_id).ok_or_else(|| {
        AppError::NotFound(format!(
            "We have no interview loops for a company called `{company_id}`."
        ))
    })?;
    Ok(layout::page(
        &viewer,
        &c.name,
        &[],
        html! {
            (layout::crumbs(&[("Companies", "/interview-prep"), (&c.name, "")]))
            header.page-head.company-head style={ "--brand:" (c.brand_color) } {
                (layout::monogram(c))
                div {
                    h1 { (c.name) }
                    p.lead { (c.description) }
                }
            }
            div.two-col {
                section {
                    h2 { "Roles" }
                    div.role-list {
                        @for r in &c.roles {
                            a.role-card href={ "/interview-prep/" (c.id) "/" (r.id) } {
                                div.role-card-head {
                                    h3 { (r.title) }
                                    span.badge { (r.level) }
                                }
                                p { (r.summary) }
                                p.meta {
                                    (r.rounds.len()) " rounds · " (layout::minutes(r.total_minutes()))
                                    " · " (r.price) (if r.price == 1 { " credit" } else { " credits" })
                                }
                            }
                        }
                    }
                }
                aside.card.persona {
                    p.eyebrow { "Your interviewer" }
                    h2 { (c.persona.name) }
                    p.muted { (c.persona.title) }
                    p { (c.persona.tone) }
                    h3 { "What they probe" }
                    ul { @for p in &c.persona.probes { li { (p) } } }
                    @if !c.values.is_empty() {
                        h3 { "Values they listen for" }
                        div.badges {
                            @for v in &c.values {
                                span.badge { (catalog.competency(v).map_or(v.as_str(), |x| x.name.as_str())) }
                            }
                        }
                    }
                }
            }
        },
    ))
}
