//! `/interview-prep/{companyId}/{roleId}`: the briefing before an interview: the loop's rounds, a microphone test
//! and the way to start.

use axum::{
    extract::{Path, State},
    response::{IntoResponse, Redirect, Response},
};
use maud::{Markup, html};

use super::layout;
use crate::{
    catalog::{Catalog, Company, Role, Round, RoundKind},
    db::sessions::Session,
    sessions,
    web::{
        AppState,
        auth::{SignedIn, Viewer},
        error::AppError,
    },
};

pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((company_id, role_id)): Path<(String, String)>,
) -> Result<Markup, AppError> {
    let catalog = state.catalog();
    let (c, r) = catalog.role(&company_id, &role_id).ok_or_else(|| {
        AppError::NotFound(format!(
            "There is no role `{role_id}` in the catalog for `{company_id}`."
        ))
    })?;
    let company_href = format!("/interview-prep/{}", c.id);
    let open = match &viewer.user {
        Some(u) => {
            let (uid, cid, rid) = (u.id, c.id.clone(), r.id.clone());
            state
                .db()
                .call(move |conn| crate::db::sessions::open_for_role(conn, uid, &cid, &rid))
                .await?
        }
        None => None,
    };
    Ok(layout::page(
        &viewer,
        &format!("{} at {}", r.title, c.name),
        &["mic-test.js"],
        html! {
            (layout::crumbs(&[("Companies", "/interview-prep"), (&c.name, &company_href), (&r.title, "")]))
            (head(c, r))
            div.two-col.briefing {
                (the_loop(&viewer, &catalog, r, open.is_none()))
                aside.side {
                    (start_card(&viewer, c, r, open.as_ref()))
                    (super::privacy::notice(state.settings()))
                    (mic_test())
                    (persona_card(c))
                }
            }
        },
    ))
}

/// The role, its level and the interviewer.
fn head(c: &Company, r: &Role) -> Markup {
    html! {
        header.page-head.company-head style={ "--brand:" (c.brand_color) } {
            (layout::monogram(c))
            div {
                p.eyebrow { (c.name) " · " (r.level) }
                h1 { (r.title) }
                p.lead { (r.summary) }
                p.meta {
                    (r.rounds.len()) " rounds · " (layout::minutes(r.total_minutes())) " in all · interviewer: "
                    strong { (c.persona.name) } ", " (c.persona.title)
                }
            }
        }
    }
}

/// The rounds of the loop, each with a box to practise it or not (when an interview can be started).
fn the_loop(viewer: &Viewer, catalog: &Catalog, r: &Role, choosable: bool) -> Markup {
    html! {
        section {
            h2 { "The loop" }
            ol.rounds {
                @for (i, round) in r.rounds.iter().enumerate() {
                    li.round-card data-kind=(round.kind.as_str()) {
                        div.round-index aria-hidden="true" { (i + 1) }
                        div.round-body {
                            div.round-head {
                                h3 { (round.title) }
                                span.duration { (layout::minutes(round.minutes)) }
                            }
                            div.badges {
                                (layout::kind_badge(round.kind))
                                @if round.bar_raiser { span.badge.badge-accent { "Bar raiser" } }
                            }
                            p { (round.description) }
                            @if !round.focus.is_empty() {
                                p.focus {
                                    "Probes: "
                                    @for (j, f) in round.focus.iter().enumerate() {
                                        @if j > 0 { ", " }
                                        (catalog.competency(f).map_or(f.as_str(), |x| x.name.as_str()))
                                    }
                                }
                            }
                            @if viewer.user.is_some() && choosable {
                                label.include {
                                    input type="checkbox" name="rounds" value=(i) checked form="start-form";
                                    " Practise this round"
                                }
                                (question_choice(catalog, i, round))
                            }
                        }
                    }
                }
            }
        }
    }
}

/// For a coding or design round that draws its question: a choice of the question (drawn when left alone).
fn question_choice<'a>(catalog: &'a Catalog, i: usize, round: &Round) -> Markup {
    let label = |id: &'a str, title: &str, difficulty: crate::catalog::Difficulty| {
        (id, format!("{title} ({})", difficulty.as_str()))
    };
    let choices: Vec<(&str, String)> = match round.kind {
        _ if round.question.is_some() => Vec::new(),
        RoundKind::Coding => catalog
            .problems
            .iter()
            .map(|p| label(&p.id, &p.title, p.difficulty))
            .collect(),
        RoundKind::SystemDesign => catalog
            .design
            .iter()
            .map(|p| label(&p.id, &p.title, p.difficulty))
            .collect(),
        _ => Vec::new(),
    };
    html! {
        @if !choices.is_empty() {
            label.question-choice {
                span { "Question" }
                select name={ "question-" (i) } form="start-form" {
                    option value="" selected { "Drawn for you" }
                    @for (id, label) in &choices { option value=(id) { (label) } }
                }
            }
        }
    }
}

/// The price and the way in: sign in, resume the unfinished interview, or start one.
fn start_card(viewer: &Viewer, c: &Company, r: &Role, open: Option<&Session>) -> Markup {
    html! {
        section.card.start-card {
            h2 { "Ready?" }
            p {
                "This interview costs " strong { (r.price) (if r.price == 1 { " credit" } else { " credits" }) } ". "
                "Cancel before you begin and the credit comes back; once you have begun, it does not."
            }
            @if viewer.user.is_none() {
                a.button.button-large.button-block href={ "/login?next=/interview-prep/" (c.id) "/" (r.id) } id="start" {
                    "Sign in to start"
                }
            } @else if let Some(open) = open {
                a.button.button-large.button-block href={ "/interview-prep/session/" (open.id) } id="resume" {
                    "Resume your interview"
                }
                p.hint { "You have an unfinished interview for this role, started " (layout::datetime(open.created_at)) "." }
            } @else if viewer.credits < i64::from(r.price) {
                p.notice.notice-error {
                    "You have " (viewer.credits) " credits. Ask your instructor or admin for more."
                }
                button.button.button-large.button-block type="button" disabled id="start" { "Start interview" }
            } @else {
                form #start-form method="post" action={ "/interview-prep/" (c.id) "/" (r.id) "/start" } {
                    (layout::csrf_field(viewer))
                    input type="hidden" name="choose" value="1";
                    button.button.button-large.button-block type="submit" id="start" { "Start interview" }
                }
                p.hint { "You have " (viewer.credits) " credits. Untick the rounds you want to skip; the price is the same." }
            }
        }
    }
}

/// The microphone check (`static/js/mic-test.js`).
fn mic_test() -> Markup {
    html! {
        section.card.mic-test id="mic-test" {
            h2 { "Check your microphone" }
            p.muted { "Voice rounds listen through your microphone. Nothing is recorded on the server during this check." }
            div.meter role="meter" aria-label="Input level" aria-valuemin="0" aria-valuemax="100" aria-valuenow="0" {
                div.meter-fill {}
            }
            p.mic-status role="status" aria-live="polite" { "Not started." }
            div.actions {
                button.button type="button" data-action="enable" { "Test microphone" }
                button.button.button-ghost type="button" data-action="record" disabled { "Record 3 seconds" }
            }
            audio.playback controls hidden {}
        }
    }
}

/// How the company's interviewer interviews.
fn persona_card(c: &Company) -> Markup {
    html! {
        section.card {
            h2 { "How " (c.persona.name) " interviews" }
            p { (c.persona.tone) }
            ul { @for p in &c.persona.probes { li { (p) } } }
        }
    }
}

/// `POST /interview-prep/{companyId}/{roleId}/start`: pays for and creates the interview of the chosen rounds, then
/// opens it. The form lists the chosen rounds as repeated `rounds` fields.
pub async fn start(
    State(state): State<AppState>,
    SignedIn(user, _): SignedIn,
    Path((company_id, role_id)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let fields: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let chosen: Option<Vec<usize>> = fields.iter().any(|(k, _)| k == "choose").then(|| {
        fields
            .iter()
            .filter(|(k, _)| k == "rounds")
            .filter_map(|(_, v)| v.parse().ok())
            .collect()
    });
    // A question chosen for a round that is not practised is left out, not refused: the choice stays on the page.
    let pins: Vec<sessions::Pin> = fields
        .iter()
        .filter_map(|(k, v)| {
            let round: usize = k.strip_prefix("question-")?.parse().ok()?;
            let practised = chosen.as_ref().is_none_or(|c| c.contains(&round));
            (practised && !v.is_empty()).then(|| sessions::Pin {
                round,
                question: v.clone(),
            })
        })
        .collect();
    let catalog = state.catalog();
    match sessions::create(
        state.db(),
        &catalog,
        user.id,
        &company_id,
        &role_id,
        chosen.as_deref(),
        &pins,
    )
    .await
    {
        Ok(s) => Ok(Redirect::to(&format!("/interview-prep/session/{}", s.id)).into_response()),
        Err(sessions::Error::NotEnoughCredits { balance, price }) => {
            Err(AppError::PaymentRequired(format!(
                "This interview costs {price} credits and you have {balance}. Ask your instructor or admin for more."
            )))
        }
        Err(e) => Err(e.into()),
    }
}
