//! How the interviewer speaks: an utterance is worded by the LLM on a blocking thread, streamed to every connection
//! piece by piece, then stored as a transcript turn (and its question marked as asked).

use std::{ops::ControlFlow, sync::Arc};

use tokio::sync::mpsc;

use super::{
    actor::Actor,
    frames,
    pb::{self, server_frame::Kind},
};
use crate::{
    db::live,
    engine::{
        interview::{Intent, Utterance},
        prompts,
    },
    llm::{self, Llm},
};

/// Turns of conversation a model sees besides the instruction: enough for a follow-up, short enough to keep
/// prefill cheap on a CPU (SOURCES.md: candle's prefill is the slow part).
const RECENT_TURNS: usize = 6;

impl Actor {
    /// The last few turns, oldest first, as (is the candidate, text), for a model's context.
    async fn recent_turns(&self) -> Vec<(bool, String)> {
        let id = self.session.id.clone();
        let turns = self
            .state
            .db()
            .call(move |c| live::turns(c, &id))
            .await
            .unwrap_or_default();
        let start = turns.len().saturating_sub(RECENT_TURNS);
        turns[start..]
            .iter()
            .map(|t| (t.speaker == "candidate", t.text.clone()))
            .collect()
    }

    /// Words an utterance with the LLM, streaming it to every connection, then stores it.
    pub(super) async fn say(&mut self, u: Utterance) {
        self.live_turns += 1;
        let turn_id = format!("l{}-{}", self.generation, self.live_turns);
        let catalog = self.state.catalog();
        let company = catalog.company(&self.session.company_id);
        let recent = self.recent_turns().await;
        let messages = company
            .map(|c| prompts::messages(c, &self.session.role_title, &u, &recent))
            .unwrap_or_default();
        let request = llm::Request {
            messages,
            utterance: Some(u.clone()),
            persona_name: company
                .map(|c| c.persona.name.clone())
                .unwrap_or_else(|| "your interviewer".into()),
            persona_opening: company
                .map(|c| c.persona.opening.clone())
                .unwrap_or_default(),
            company_name: self.session.company_name.clone(),
            max_tokens: 400,
            temperature: 0.7,
            seed: u.turn,
            stop: Vec::new(),
        };
        let llm: Arc<dyn Llm> = self.state.llm();
        let (tx, mut rx) = mpsc::channel::<String>(64);
        let job = tokio::task::spawn_blocking(move || {
            llm.generate(&request, &mut |piece| {
                if tx.blocking_send(piece.to_string()).is_ok() {
                    ControlFlow::Continue(())
                } else {
                    ControlFlow::Break(())
                }
            })
        });
        let mut text = String::new();
        while let Some(piece) = rx.recv().await {
            text.push_str(&piece);
            self.broadcast(frames::frame(Kind::InterviewerText(
                pb::InterviewerTextDelta {
                    turn_id: turn_id.clone(),
                    delta: piece,
                    done: false,
                },
            )));
        }
        if let Ok(Err(e)) = job.await {
            tracing::error!("the interviewer model failed: {e}");
            text = "Sorry, I lost my train of thought. Could you go on?".into();
        }
        let text = text.trim().to_string();
        let question_id = u.question.as_ref().map(|q| q.id.clone());
        let (id, round, t) = (self.session.id.clone(), u.round as i64, text.clone());
        let kind = match u.intent {
            Intent::FollowUp | Intent::Expand => "follow_up",
            Intent::Open | Intent::Ask | Intent::MoveOn | Intent::Transition => "question",
            _ => "utterance",
        };
        let asks = matches!(
            u.intent,
            Intent::Open | Intent::Ask | Intent::MoveOn | Intent::Transition
        );
        let (user, pool) = (
            self.session.user_id,
            u.question.as_ref().map(|q| q.pool.as_str()),
        );
        let _ = self
            .state
            .db()
            .call(move |c| {
                live::insert_turn(
                    c,
                    &live::NewTurn {
                        session_id: &id,
                        round,
                        speaker: "interviewer",
                        kind,
                        text: &t,
                        question_id: question_id.as_deref(),
                        client_answer_id: None,
                    },
                )?;
                if asks && let (Some(q), Some(pool)) = (question_id.as_deref(), pool) {
                    live::mark_asked(c, user, &id, pool, q)?;
                }
                Ok(())
            })
            .await;
        self.broadcast(frames::frame(Kind::InterviewerText(
            pb::InterviewerTextDelta {
                turn_id: turn_id.clone(),
                delta: String::new(),
                done: true,
            },
        )));
        self.broadcast(frames::frame(Kind::Transcript(pb::TranscriptDelta {
            turn_id,
            speaker: pb::Speaker::Interviewer as i32,
            text,
            is_final: true,
            round_index: u.round as u32,
        })));
    }
}
