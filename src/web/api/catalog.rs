//! The public catalog: companies, their roles and each role's loop. Interviewer notes such as what a strong answer
//! covers, reference solutions and hidden tests are not part of it.

use axum::{
    Json,
    extract::{Path, State},
};
use serde::Serialize;
use utoipa::ToSchema;

use crate::{
    catalog::{Company, Persona, Role, Round},
    web::AppState,
    web::error::{AppError, ErrorBody},
};

#[derive(Debug, Serialize, ToSchema)]
pub struct CompanySummary {
    pub id: String,
    pub name: String,
    pub tagline: String,
    pub brand_color: String,
    pub role_count: usize,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CompanyView {
    pub id: String,
    pub name: String,
    pub tagline: String,
    pub description: String,
    pub brand_color: String,
    pub values: Vec<String>,
    pub interviewer: Persona,
    pub roles: Vec<RoleView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RoleView {
    pub id: String,
    pub company_id: String,
    pub title: String,
    pub level: String,
    pub summary: String,
    pub difficulty: String,
    pub price: u32,
    pub total_minutes: u32,
    pub rounds: Vec<Round>,
}

impl RoleView {
    fn new(company: &Company, r: &Role) -> RoleView {
        RoleView {
            id: r.id.clone(),
            company_id: company.id.clone(),
            title: r.title.clone(),
            level: r.level.clone(),
            summary: r.summary.clone(),
            difficulty: r.difficulty.as_str().into(),
            price: r.price,
            total_minutes: r.total_minutes(),
            rounds: r.rounds.clone(),
        }
    }
}

#[utoipa::path(get, path = "/companies", tag = "catalog", responses((status = 200, body = Vec<CompanySummary>)))]
pub async fn list_companies(State(state): State<AppState>) -> Json<Vec<CompanySummary>> {
    let catalog = state.catalog();
    Json(
        catalog
            .companies
            .iter()
            .map(|c| CompanySummary {
                id: c.id.clone(),
                name: c.name.clone(),
                tagline: c.tagline.clone(),
                brand_color: c.brand_color.clone(),
                role_count: c.roles.len(),
            })
            .collect(),
    )
}

#[utoipa::path(get, path = "/companies/{company_id}", tag = "catalog", params(("company_id" = String, Path)), responses(
    (status = 200, body = CompanyView), (status = 404, body = ErrorBody),
))]
pub async fn get_company(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<CompanyView>, AppError> {
    let catalog = state.catalog();
    let c = catalog
        .company(&id)
        .ok_or_else(|| AppError::NotFound(format!("No company `{id}`.")))?;
    Ok(Json(CompanyView {
        id: c.id.clone(),
        name: c.name.clone(),
        tagline: c.tagline.clone(),
        description: c.description.clone(),
        brand_color: c.brand_color.clone(),
        values: c.values.clone(),
        interviewer: c.persona.clone(),
        roles: c.roles.iter().map(|r| RoleView::new(c, r)).collect(),
    }))
}

#[utoipa::path(get, path = "/companies/{company_id}/roles/{role_id}", tag = "catalog",
    params(("company_id" = String, Path), ("role_id" = String, Path)),
    responses((status = 200, body = RoleView), (status = 404, body = ErrorBody)))]
pub async fn get_role(
    State(state): State<AppState>,
    Path((company_id, role_id)): Path<(String, String)>,
) -> Result<Json<RoleView>, AppError> {
    let catalog = state.catalog();
    let (c, r) = catalog
        .role(&company_id, &role_id)
        .ok_or_else(|| AppError::NotFound(format!("No role `{role_id}` at `{company_id}`.")))?;
    Ok(Json(RoleView::new(c, r)))
}
