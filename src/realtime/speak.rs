//! How the interviewer speaks: an utterance is worded by the LLM on a blocking thread, streamed to every connection
//! piece by piece (and to the voice, sentence by sentence, as it is written), then stored as a transcript turn (and
//! its question marked as asked). A barge-in stops the model between tokens.

use std::time::Instant;

use tokio::task::JoinHandle;

use super::{
    actor::Actor,
    frames,
    latency::Timing,
    pb::{self, server_frame::Kind},
    reply::{Context, Stream},
    voice::{Listeners, Speech, Spoken},
};
use crate::{
    db::{live, voice as voice_db},
    engine::{
        interview::{Intent, Utterance},
        prompts,
    },
    llm,
};

/// Messages of the current round a model sees besides this turn's. The window's start moves in steps of
/// [`WINDOW_STEP`], so the prompt's beginning stays the same for several turns and a local model reuses its KV
/// cache instead of re-reading the conversation (SOURCES.md: prefill is the slow part on a CPU).
const MAX_TURNS: usize = 16;
const WINDOW_STEP: usize = 8;

/// Where the window over `n` turns starts.
fn window_start(n: usize) -> usize {
    if n <= MAX_TURNS {
        0
    } else {
        (n - MAX_TURNS).div_ceil(WINDOW_STEP) * WINDOW_STEP
    }
}

/// An interviewer line that is not worded by the model: a hint, a reaction to a code run.
pub(super) struct Line {
    pub round: usize,
    /// The turn's kind in the transcript (`hint`, `code_feedback`).
    pub kind: &'static str,
    pub text: String,
}

impl Actor {
    /// Says a fixed line: streamed, stored and added to the model's view of the round like any other turn.
    pub(super) async fn say_line(&mut self, line: Line) {
        self.live_turns += 1;
        let turn_id = format!("l{}-{}", self.generation, self.live_turns);
        let mut speech = self.speech(&turn_id, self.floor.epoch());
        speech.push(&line.text);
        self.broadcast(frames::frame(Kind::InterviewerText(
            pb::InterviewerTextDelta {
                turn_id: turn_id.clone(),
                delta: line.text.clone(),
                done: false,
            },
        )));
        if self.chat_round == Some(line.round) {
            self.chat.push(llm::Message {
                role: llm::Role::Assistant,
                content: line.text.clone(),
            });
        }
        let stored = self
            .store_and_finish(turn_id, line.round, line.kind, None, line.text)
            .await;
        let timing = self.timing.take();
        self.after_speech(speech.finish(), stored, timing);
    }

    /// The speech of `turn_id` to every connection that listens (silent when none does or there is no voice); it
    /// stops when the floor moves past `epoch`.
    fn speech(&self, turn_id: &str, epoch: u64) -> Speech {
        let Some(tts) = self.state.tts() else {
            return Speech::silent();
        };
        let mut groups: Vec<Listeners> = Vec::new();
        for (conn, rate) in &self.listeners {
            let Some((_, out)) = self.subscribers.iter().find(|(c, _)| c == conn) else {
                continue;
            };
            match groups.iter_mut().find(|g| g.rate == *rate) {
                Some(g) => g.conns.push(out.clone()),
                None => groups.push(Listeners {
                    rate: *rate,
                    conns: vec![out.clone()],
                }),
            }
        }
        Speech::start(tts, groups, turn_id.to_string(), self.floor.clone(), epoch)
    }

    /// Once a written turn's speech ends: records what an interrupting candidate heard of it, and the timing of
    /// the spoken answer it replied to. The actor goes on meanwhile.
    fn after_speech(
        &mut self,
        job: Option<JoinHandle<Spoken>>,
        stored: Option<i64>,
        timing: Option<Timing>,
    ) {
        self.waiting_since = (!self.ears.is_empty()).then(Instant::now);
        let state = self.state.clone();
        tokio::spawn(async move {
            let spoken = match job {
                Some(job) => job.await.unwrap_or_default(),
                None => Spoken::default(),
            };
            if let (Some(heard), Some(turn)) = (spoken.heard, stored) {
                let stored = state
                    .db()
                    .call(move |c| voice_db::set_heard(c, turn, &heard))
                    .await;
                if let Err(e) = stored {
                    tracing::error!("storing what the candidate heard failed: {e}");
                }
            }
            if let Some(mut timing) = timing {
                timing.first_sentence = spoken.first_sentence;
                timing.first_audio = spoken.first_audio;
                timing.record(&state).await;
            }
        });
    }

    /// Stores an interviewer turn, then tells every connection it is final; returns the stored turn's id.
    async fn store_and_finish(
        &mut self,
        turn_id: String,
        round: usize,
        kind: &'static str,
        question_id: Option<String>,
        text: String,
    ) -> Option<i64> {
        let (id, t) = (self.session.id.clone(), text.clone());
        let stored = self
            .state
            .db()
            .call(move |c| {
                live::insert_turn(
                    c,
                    &live::NewTurn {
                        session_id: &id,
                        round: round as i64,
                        speaker: "interviewer",
                        kind,
                        text: &t,
                        question_id: question_id.as_deref(),
                        client_answer_id: None,
                        source: "text",
                    },
                )
            })
            .await;
        let stored = match stored {
            Ok((turn, _)) => Some(turn.id),
            Err(e) => {
                tracing::error!("storing an interviewer turn failed: {e}");
                None
            }
        };
        self.broadcast(frames::frame(Kind::InterviewerText(
            pb::InterviewerTextDelta {
                turn_id: turn_id.clone(),
                delta: String::new(),
                done: true,
            },
        )));
        self.broadcast(frames::frame(Kind::Transcript(pb::TranscriptDelta {
            turn_id: turn_id.clone(),
            speaker: pb::Speaker::Interviewer as i32,
            text: text.clone(),
            is_final: true,
            round_index: round as u32,
        })));
        self.broadcast(frames::voice_state(
            pb::voice_state::State::Listening,
            false,
        ));
        stored
    }

    /// The current round's stored turns, oldest first, as (is the candidate, text).
    async fn round_turns(&self, round: i64) -> Vec<(bool, String)> {
        let id = self.session.id.clone();
        let turns: Vec<_> = self
            .state
            .db()
            .call(move |c| live::turns(c, &id))
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|t| t.round == round)
            .collect();
        turns
            .iter()
            .map(|t| (t.speaker == "candidate", t.text.clone()))
            .collect()
    }

    /// What a reply in `round` is built from; `self.chat` must be that round's.
    pub(super) fn reply_context(&self, round: usize) -> Context {
        Context {
            catalog: self.state.catalog(),
            company_id: self.session.company_id.clone(),
            company_name: self.session.company_name.clone(),
            role_title: self.session.role_title.clone(),
            session: self.session.id.clone(),
            round,
            history: self.chat[window_start(self.chat.len())..].to_vec(),
        }
    }

    /// Words an utterance with the LLM (or takes the reply already being written during the candidate's pause),
    /// streaming it to every connection, then stores it.
    pub(super) async fn say(&mut self, u: Utterance) {
        self.live_turns += 1;
        let turn_id = format!("l{}-{}", self.generation, self.live_turns);
        if self.chat_round != Some(u.round) {
            // A new round, or an actor resumed mid-round: the history comes from the stored transcript.
            let mut turns = self.round_turns(u.round as i64).await;
            if u.candidate_said.is_some() && turns.last().is_some_and(|(candidate, _)| *candidate) {
                turns.pop();
            }
            self.chat = prompts::history(&turns);
            self.chat_round = Some(u.round);
        }
        let request = self.reply_context(u.round).request(&u);
        let epoch = self.floor.epoch();
        let mut timing = self.timing.take();
        let mut stream = match self.prepared.take() {
            Some(written) if written.matches(&request, epoch) => {
                if let Some(t) = &mut timing {
                    t.reply_ahead = true;
                }
                written
            }
            _ => Stream::start(self.state.llm(), request.clone(), self.floor.clone(), epoch),
        };
        let mut speech = self.speech(&turn_id, epoch);
        let mut text = String::new();
        while let Some(piece) = stream.pieces.recv().await {
            if text.is_empty() {
                if let Some(t) = &mut timing {
                    t.first_token = Some(Instant::now());
                }
                self.broadcast(frames::voice_state(pb::voice_state::State::Speaking, false));
            }
            speech.push(&piece);
            text.push_str(&piece);
            self.broadcast(frames::frame(Kind::InterviewerText(
                pb::InterviewerTextDelta {
                    turn_id: turn_id.clone(),
                    delta: piece,
                    done: false,
                },
            )));
        }
        let failed = match (&mut stream.job).await {
            Ok(Err(e)) => {
                tracing::error!("the interviewer model failed: {e}");
                true
            }
            Err(e) => {
                tracing::error!("the interviewer model's task failed: {e}");
                true
            }
            Ok(Ok(c)) => {
                tracing::debug!(
                    prompt_tokens = c.usage.prompt_tokens,
                    cached_tokens = c.usage.cached_tokens,
                    prefill_ms = c.usage.prefill.as_millis() as u64,
                    first_token_ms = c.usage.first_token.as_millis() as u64,
                    tokens = c.tokens,
                    "the interviewer's turn is written"
                );
                false
            }
        };
        let interrupted = self.floor.interrupted_since(epoch);
        if interrupted && text.trim().is_empty() {
            // Cut off before a word: nothing was said, so nothing is stored.
            self.broadcast(frames::frame(Kind::InterviewerText(
                pb::InterviewerTextDelta {
                    turn_id,
                    delta: String::new(),
                    done: true,
                },
            )));
            self.after_speech(speech.finish(), None, timing);
            return;
        }
        if failed || text.trim().is_empty() {
            // A model that fails or says nothing must not stall the interview: the scripted wording of the same
            // turn stands in, and is streamed like any other reply.
            let fallback = llm::scripted::word(&request);
            speech.push(&fallback);
            self.broadcast(frames::frame(Kind::InterviewerText(
                pb::InterviewerTextDelta {
                    turn_id: turn_id.clone(),
                    delta: fallback.clone(),
                    done: false,
                },
            )));
            text = fallback;
        }
        let text = text.trim().to_string();
        self.chat.push(prompts::turn(&u));
        self.chat.push(llm::Message {
            role: llm::Role::Assistant,
            content: text.clone(),
        });
        let question_id = u.question.as_ref().map(|q| q.id.clone());
        let kind = match u.intent {
            Intent::FollowUp | Intent::Expand => "follow_up",
            Intent::Open | Intent::Ask | Intent::MoveOn | Intent::Transition => "question",
            _ => "utterance",
        };
        let asks = matches!(
            u.intent,
            Intent::Open | Intent::Ask | Intent::MoveOn | Intent::Transition
        );
        if asks
            && let (Some(q), Some(pool)) = (
                question_id.clone(),
                u.question.as_ref().map(|q| q.pool.as_str()),
            )
        {
            let (id, user) = (self.session.id.clone(), self.session.user_id);
            let _ = self
                .state
                .db()
                .call(move |c| live::mark_asked(c, user, &id, pool, &q))
                .await;
        }
        let stored = self
            .store_and_finish(turn_id, u.round, kind, question_id, text)
            .await;
        self.after_speech(speech.finish(), stored, timing);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_moves_in_steps_and_never_exceeds_its_size() {
        assert_eq!(window_start(0), 0);
        assert_eq!(window_start(16), 0);
        assert_eq!(window_start(17), 8);
        assert_eq!(window_start(24), 8);
        assert_eq!(window_start(25), 16);
        for n in 0..100 {
            assert!(n - window_start(n) <= MAX_TURNS);
            assert!(n - window_start(n) >= MAX_TURNS.min(n) - WINDOW_STEP.min(n));
        }
    }
}
