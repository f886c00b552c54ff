//! Building server frames from the engine's and the catalog's types, and naming client frames for errors.

use super::pb::{self, server_frame::Kind};
use crate::{
    catalog::{Catalog, RoundKind},
    engine::{
        interview::{EndReason, Interview, RoundRun},
        lifecycle::SessionState,
        plan::QuestionPool,
    },
    sandbox::{Language, harness},
};

pub fn round_kind(k: RoundKind) -> pb::RoundKind {
    match k {
        RoundKind::RecruiterScreen => pb::RoundKind::RecruiterScreen,
        RoundKind::Behavioral => pb::RoundKind::Behavioral,
        RoundKind::HiringManager => pb::RoundKind::HiringManager,
        RoundKind::Coding => pb::RoundKind::Coding,
        RoundKind::SystemDesign => pb::RoundKind::SystemDesign,
    }
}

pub fn language(l: Language) -> pb::Language {
    match l {
        Language::Python => pb::Language::Python,
        Language::Javascript => pb::Language::Javascript,
        Language::C => pb::Language::C,
    }
}

pub fn status(s: SessionState) -> pb::SessionStatus {
    match s {
        SessionState::Pending => pb::SessionStatus::Pending,
        SessionState::InProgress => pb::SessionStatus::InProgress,
        SessionState::Completed => pb::SessionStatus::Completed,
        SessionState::Abandoned => pb::SessionStatus::Abandoned,
    }
}

pub fn end_reason(r: EndReason) -> pb::round_ended::Reason {
    match r {
        EndReason::Completed => pb::round_ended::Reason::Completed,
        EndReason::TimeUp => pb::round_ended::Reason::TimeUp,
        EndReason::Skipped => pb::round_ended::Reason::Skipped,
        EndReason::EndedByCandidate => pb::round_ended::Reason::EndedByCandidate,
    }
}

pub fn round_info(index: usize, r: &RoundRun) -> pb::RoundInfo {
    pb::RoundInfo {
        index: index as u32,
        kind: round_kind(r.kind) as i32,
        title: r.title.clone(),
        minutes: (r.budget_ms / 60_000) as u32,
    }
}

/// The round's start as the browser sees it: a coding round carries its problem (samples only, hidden tests
/// counted), a design round its prompt.
pub fn round_started(
    catalog: &Catalog,
    iv: &Interview,
    index: usize,
    now: u64,
) -> pb::RoundStarted {
    let r = &iv.rounds[index];
    let first = r.questions.first();
    let problem = first
        .filter(|q| q.pool == QuestionPool::Problem)
        .and_then(|q| catalog.problem(&q.id))
        .map(|p| pb::Problem {
            id: p.id.clone(),
            title: p.title.clone(),
            difficulty: p.difficulty.as_str().into(),
            statement_markdown: p.statement.clone(),
            samples: p
                .samples
                .iter()
                .map(|t| pb::TestCaseView {
                    args_json: t.args.iter().map(|a| a.to_string()).collect(),
                    expected_json: t.expected.to_string(),
                    explanation: t.explanation.clone(),
                })
                .collect(),
            hidden_test_count: p.tests.len() as u32,
            starter_code: Language::ALL
                .iter()
                .map(|l| (l.as_str().to_string(), harness::starter(*l, p)))
                .collect(),
        });
    let design_prompt = first
        .filter(|q| q.pool == QuestionPool::Design)
        .map(|q| q.text.clone())
        .unwrap_or_default();
    pb::RoundStarted {
        round: Some(round_info(index, r)),
        duration_ms: r.budget_ms,
        remaining_ms: r.remaining(now),
        problem,
        design_prompt,
        // Filled in by the actor, which reads the saved code.
        saved_code: Vec::new(),
    }
}

pub fn frame(kind: Kind) -> pb::ServerFrame {
    pb::ServerFrame {
        event_id: 0,
        kind: Some(kind),
    }
}

pub fn error(code: &str, message: impl Into<String>, client_seq: u64) -> pb::ServerFrame {
    frame(Kind::Error(pb::Error {
        code: code.into(),
        message: message.into(),
        client_seq,
    }))
}

pub fn notice(message: impl Into<String>) -> pb::ServerFrame {
    frame(Kind::Notice(pb::Notice {
        level: pb::notice::Level::Info as i32,
        message: message.into(),
    }))
}

/// A turn of the transcript: final once stored; a candidate's caption while they speak is not, and one with no
/// text withdraws it.
pub fn transcript(
    turn_id: String,
    speaker: pb::Speaker,
    text: String,
    is_final: bool,
    round: u32,
) -> pb::ServerFrame {
    frame(Kind::Transcript(pb::TranscriptDelta {
        turn_id,
        speaker: speaker as i32,
        text,
        is_final,
        round_index: round,
    }))
}

/// Where the spoken conversation stands; `interrupted` tells every page to stop the interviewer's audio now.
pub fn voice_state(state: pb::voice_state::State, interrupted: bool) -> pb::ServerFrame {
    frame(Kind::VoiceState(pb::VoiceState {
        state: state as i32,
        interrupted,
    }))
}
