//! `/interview-prep/session/{id}`: the live interview room while the interview is open (connected by
//! `static/js/live.js`), and its transcript once it is over; abandon and delete.

use axum::{
    extract::{Path, State},
    response::{IntoResponse, Redirect, Response},
};
use maud::{Markup, html};

use super::layout;
use crate::{
    db::{self, sessions::Session},
    engine::lifecycle::Transition,
    sessions,
    web::{AppState, auth::SignedIn, error::AppError},
};

pub async fn page(
    State(state): State<AppState>,
    SignedIn(user, viewer): SignedIn,
    Path(id): Path<String>,
) -> Result<Markup, AppError> {
    let found = state
        .db()
        .call(move |c| {
            let Some(s) = db::sessions::get(c, user.id, &id)? else {
                return Ok(None);
            };
            let turns = db::live::turns(c, &s.id)?;
            Ok(Some((s, turns)))
        })
        .await?;
    let (s, turns) = found.ok_or_else(|| AppError::from(crate::sessions::Error::NotFound))?;
    let title = format!("{} · {}", s.company_name, s.role_title);
    if !s.state.is_final() {
        return Ok(live_room(&viewer, &s, &title, state.settings()));
    }
    Ok(layout::page(
        &viewer,
        &title,
        &[],
        html! {
            (layout::crumbs(&[("History", "/interview-prep/history"), (&title, "")]))
            header.page-head {
                p.eyebrow { (s.company_name) }
                h1 { (s.role_title) }
                p.lead {
                    (layout::state_badge(s.state)) " · created " (layout::datetime(s.created_at))
                    @if let Some(t) = s.ended_at { " · ended " (layout::datetime(t)) }
                }
            }
            div.two-col {
                section {
                    h2 { "Transcript" }
                    @if turns.is_empty() {
                        p.muted { "Nothing was said in this interview." }
                    } @else {
                        ol.transcript.static-transcript {
                            @for t in &turns {
                                li class={ "turn " (t.speaker) } {
                                    span.who { (if t.speaker == "candidate" { "You" } else { "Interviewer" }) }
                                    p.text { (t.text) }
                                }
                            }
                        }
                    }
                }
                aside.side {
                    section.card {
                        h2 { "Rounds" }
                        ol.round-list {
                            @for r in &s.rounds { li { (r.title) " · " (layout::minutes(r.minutes)) } }
                        }
                        a.button.button-block href={ "/interview-prep/session/" (s.id) "/results" } { "See your results" }
                        form method="post" action={ "/interview-prep/session/" (s.id) "/delete" }
                            data-confirm="Delete this interview and everything recorded in it? This cannot be undone." {
                            (layout::csrf_field(&viewer))
                            button.button.button-danger.button-block type="submit" { "Delete interview and its records" }
                        }
                    }
                }
            }
        },
    ))
}

/// The live interview room; `static/js/live.js` connects it.
fn live_room(
    viewer: &crate::web::auth::Viewer,
    s: &Session,
    title: &str,
    settings: &crate::config::Settings,
) -> Markup {
    layout::page(
        viewer,
        title,
        &["live.js"],
        html! {
            section #live.live data-session-id=(s.id) data-state=(s.state.as_str()) {
                @if s.state == crate::engine::lifecycle::SessionState::Pending {
                    (lobby(viewer, s))
                }
                (live_head(s))
                (super::privacy::notice(settings))
                p #notice.notice.notice-ok role="status" hidden {}
                p #speech-note.muted hidden {}
                div.live-grid {
                    div.live-main {
                        div #brief.card.brief hidden { h2 { "The problem" } div #brief-text.prose {} }
                        (code_panel())
                        div.transcript-wrap { ol #transcript.transcript aria-live="polite" {} }
                        form #answer-form.answer-form {
                            label.visually-hidden for="answer" { "Your answer" }
                            textarea #answer name="answer" rows="4" maxlength="20000"
                                placeholder="Type your answer. Enter sends, Shift+Enter starts a new line." {}
                            div.answer-actions {
                                span #pending.muted {}
                                button.button type="submit" { "Send" }
                            }
                        }
                    }
                    (side(s))
                }
            }
        },
    )
}

/// Before the interview begins: its length, and beginning or cancelling.
fn lobby(viewer: &crate::web::auth::Viewer, s: &Session) -> Markup {
    html! {
        div #lobby.card.lobby {
            h2 { "Ready when you are" }
            p {
                "This interview has " (s.rounds.len()) " rounds, "
                (layout::minutes(s.rounds.iter().map(|r| r.minutes).sum())) " in all. Each round's clock starts when "
                "it begins, and stops while you are disconnected."
            }
            p.muted { "Until you begin, you can cancel and get your credit back." }
            div.actions {
                button #begin.button.button-large type="button" { "Begin the interview" }
                form method="post" action={ "/interview-prep/session/" (s.id) "/abandon" } {
                    (layout::csrf_field(viewer))
                    button.button.button-ghost.button-large type="submit" { "Cancel and refund" }
                }
            }
        }
    }
}

/// The round's title, and the microphone, voice, clock and connection.
fn live_head(s: &Session) -> Markup {
    html! {
        header.live-head {
            div {
                p.eyebrow { (s.company_name) " · " (s.role_title) }
                h1 #round-title { "Connecting…" }
            }
            div.live-status {
                label.voice-toggle #mic-toggle hidden title="Answer by speaking; the interviewer waits until your words sound finished, and longer when they trail off" {
                    input #mic type="checkbox";
                    " Microphone"
                }
                span #mic-tools.mic-tools hidden {
                    span.level title="Your microphone's level" { span #mic-level.level-bar {} }
                    label.voice-toggle title="Send your voice only while you hold the Space bar or the Talk button" {
                        input #ptt type="checkbox";
                        " Push to talk"
                    }
                    button #talk.button.button-ghost.button-small type="button" hidden { "Hold to talk" }
                    button #mute.button.button-ghost.button-small type="button" aria-pressed="false" { "Mute" }
                }
                span #voice-state.voice-state data-state="" aria-live="polite" hidden {}
                label.voice-toggle #voice-toggle hidden title="Hear the interviewer's words spoken" {
                    input #voice type="checkbox";
                    " Voice"
                }
                span #timer.timer aria-live="off" { "--:--" }
                span #conn.conn data-state="connecting" { span.dot {} span #conn-label { "Connecting…" } }
            }
        }
    }
}

/// The coding round's editor, language and run buttons (shown in coding rounds).
fn code_panel() -> Markup {
    html! {
        div #code.card.code-panel hidden {
            div.code-head {
                label for="code-lang" { "Language" }
                select #code-lang {
                    option value="python" { "Python 3.12" }
                    option value="javascript" { "JavaScript" }
                    option value="c" { "C11 (TinyCC)" }
                }
                span.muted { "Tab indents; your code is saved as you type." }
            }
            textarea #code-src spellcheck="false" autocomplete="off" rows="14" {}
            div.answer-actions {
                span #code-status.muted {}
                span {
                    button.button.button-ghost type="button" data-control="ACTION_HINT"
                        title="The interviewer gives the next hint; hints taken show in your report" { "Hint" }
                    " "
                    button.button.button-ghost type="button" data-run="RUN_MODE_RUN" { "Run samples" }
                    " "
                    button.button type="button" data-run="RUN_MODE_SUBMIT" { "Submit" }
                }
            }
            div #code-results {}
        }
    }
}

/// The rounds, and the controls that act on the interview.
fn side(s: &Session) -> Markup {
    html! {
        aside.side {
            section.card {
                h2 { "Rounds" }
                ol #rounds.round-list {
                    @for (i, r) in s.rounds.iter().enumerate() {
                        li data-index=(i) { (r.title) span.muted { " · " (layout::minutes(r.minutes)) } }
                    }
                }
            }
            section.card.controls {
                button.button.button-ghost.button-block type="button" data-control="ACTION_REPEAT_QUESTION" { "Repeat the question" }
                button.button.button-ghost.button-block type="button" data-control="ACTION_NEXT_ROUND"
                    data-confirm="End this round and go to the next?" { "Next round" }
                button.button.button-ghost.button-block type="button" data-control="ACTION_END"
                    data-confirm="End the interview now?" { "End interview" }
                button.button.button-danger.button-block type="button" data-control="ACTION_ABANDON"
                    data-confirm="Abandon this interview? It will not be scored, and the credit is not refunded once it has started." { "Abandon" }
            }
        }
    }
}

pub async fn abandon(
    State(state): State<AppState>,
    SignedIn(user, _): SignedIn,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let s = sessions::transition(state.db(), user.id, &id, Transition::Abandon)
        .await?
        .into_result()?;
    Ok(Redirect::to(&format!("/interview-prep/session/{}", s.id)).into_response())
}

pub async fn delete(
    State(state): State<AppState>,
    SignedIn(user, _): SignedIn,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    sessions::delete(state.db(), user.id, &id).await?;
    Ok(Redirect::to("/interview-prep/history").into_response())
}
