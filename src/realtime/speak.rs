//! How the interviewer speaks: an utterance's shape comes from the engine ([`crate::engine::wording`]); its fixed
//! wording is said as written, and each piece a model writes (on a blocking thread) is said only once the guard
//! passed it, else after a stricter second try, else in its scripted wording. The turn is streamed to every
//! connection piece by piece (and to the voice, sentence by sentence), then stored as a transcript turn (and its
//! question marked as asked). A barge-in stops the model between tokens.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use tokio::task::JoinHandle;

use super::{
    actor::{Actor, Said},
    frames,
    latency::Timing,
    pb::{self, server_frame::Kind},
    playback::{Listeners, Speech, Spoken},
    reply::{Context, Stream},
};
use crate::{
    db::{live, spoken},
    engine::{
        guard::{self, Asked, Outcome},
        interview::{Intent, Utterance},
        wording::{self, Ask, Piece},
    },
    llm::{LlmError, Request},
};

/// An interviewer line that is not worded by the model: a hint, a reaction to a code run.
pub(super) struct Line {
    pub round: usize,
    /// The turn's kind in the transcript (`hint`, `code_feedback`).
    pub kind: &'static str,
    pub text: String,
}

impl Actor {
    /// Says a fixed line: streamed, stored and added to the round's turns like any other.
    pub(super) async fn say_line(&mut self, line: Line) {
        let _work = self.services.activity.reply_work();
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
            self.earlier.push(line.text.clone());
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
        let Some(tts) = self.services.tts.clone() else {
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
        let services = self.services.clone();
        // The voice goes on synthesising after the words are written: still work for the reply.
        let work = self.services.activity.reply_work();
        tokio::spawn(async move {
            let spoken = match job {
                Some(job) => job.await.unwrap_or_default(),
                None => Spoken::default(),
            };
            drop(work);
            if let (Some(heard), Some(turn)) = (spoken.heard, stored) {
                let stored = services
                    .db
                    .call(move |c| spoken::set_heard(c, turn, &heard))
                    .await;
                if let Err(e) = stored {
                    tracing::error!("storing what the candidate heard failed: {e}");
                }
            }
            if let Some(mut timing) = timing {
                timing.first_sentence = spoken.first_sentence;
                timing.first_audio = spoken.first_audio;
                timing.record(&services).await;
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
        let stored = self
            .insert_turn(Said {
                round: round as i64,
                speaker: "interviewer",
                kind,
                text: text.clone(),
                question_id,
                answer_id: None,
                source: "text",
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
        self.broadcast(frames::transcript(
            turn_id.clone(),
            pb::Speaker::Interviewer,
            text.clone(),
            true,
            round as u32,
        ));
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
            .services
            .db
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

    /// What a turn in `round` is built from; `self.earlier` must be that round's.
    pub(super) fn reply_context(&self, round: usize) -> Context {
        Context {
            catalog: self.services.catalog.clone(),
            company_id: self.session.company_id.clone(),
            company_name: self.session.company_name.clone(),
            role_title: self.session.role_title.clone(),
            session: self.session.id.clone(),
            round,
            earlier: self.earlier.clone(),
        }
    }

    /// Says an utterance: its fixed wording as written and its model pieces once the guard passed them (or their
    /// scripted wording), streamed to every connection piece by piece and to the voice, then stored.
    pub(super) async fn say(&mut self, u: Utterance) {
        let _work = self.services.activity.reply_work();
        self.live_turns += 1;
        let turn_id = format!("l{}-{}", self.generation, self.live_turns);
        self.enter_round(u.round).await;
        let context = self.reply_context(u.round);
        let epoch = self.floor.epoch();
        let mut timing = self.timing.take();
        let mut speech = self.speech(&turn_id, epoch);
        let text = self
            .stream_pieces(&context, &u, &turn_id, epoch, &mut speech, &mut timing)
            .await;
        if text.trim().is_empty() {
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
        let stored = self.record(&u, turn_id, text.trim().to_string()).await;
        self.after_speech(speech.finish(), stored, timing);
        if matches!(u.intent, Intent::Open | Intent::Transition)
            && let Some(request) = context.warm_up(&u.round_title)
        {
            // While the candidate reads the question and answers it, the model reads what every piece of this
            // round's prompts begins with, so the first follow-up only pays for the answer.
            let llm = self.services.llm.clone();
            tokio::task::spawn_blocking(move || {
                let _ = llm.generate(&request, &mut |_| std::ops::ControlFlow::Continue(()));
            });
        }
    }

    /// The interviewer's turns so far in `round` (for the guard), read from the stored transcript when the round
    /// is new to this actor (a new round, or an actor resumed mid-round).
    async fn enter_round(&mut self, round: usize) {
        if self.chat_round == Some(round) {
            return;
        }
        let turns = self.round_turns(round as i64).await;
        self.earlier = turns
            .into_iter()
            .filter(|(candidate, _)| !candidate)
            .map(|(_, text)| text)
            .collect();
        self.chat_round = Some(round);
    }

    /// Streams `u`'s pieces as they are written to every connection and to the voice, until the last or until the
    /// candidate takes the floor; returns what was said.
    async fn stream_pieces(
        &mut self,
        context: &Context,
        u: &Utterance,
        turn_id: &str,
        epoch: u64,
        speech: &mut Speech,
        timing: &mut Option<Timing>,
    ) -> String {
        let mut text = String::new();
        for piece in context.shape(u) {
            let part = match piece {
                Piece::Fixed(t) => t,
                Piece::Model { ask, fallback } => {
                    match self
                        .write_piece(context, u, ask, &fallback, epoch, timing)
                        .await
                    {
                        Some(t) => t,
                        None => break,
                    }
                }
            };
            if self.floor.interrupted_since(epoch) {
                break;
            }
            let part = if text.is_empty() {
                part
            } else {
                format!(" {part}")
            };
            if text.is_empty() {
                if let Some(t) = timing {
                    t.first_token = Some(Instant::now());
                }
                self.broadcast(frames::voice_state(pb::voice_state::State::Speaking, false));
            }
            speech.push(&part);
            text.push_str(&part);
            self.broadcast(frames::frame(Kind::InterviewerText(
                pb::InterviewerTextDelta {
                    turn_id: turn_id.to_string(),
                    delta: part,
                    done: false,
                },
            )));
        }
        text
    }

    /// Stores what was said of `u` (marking its question asked for this candidate) and tells every connection the
    /// turn is final; returns the stored turn's id.
    async fn record(&mut self, u: &Utterance, turn_id: String, text: String) -> Option<i64> {
        self.earlier.push(text.clone());
        let question_id = u.question.as_ref().map(|q| q.id.clone());
        let kind = match u.intent {
            Intent::FollowUp | Intent::Expand => "follow_up",
            Intent::Open | Intent::Ask | Intent::MoveOn | Intent::Transition | Intent::Probe => {
                "question"
            }
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
                .services
                .db
                .call(move |c| live::mark_asked(c, user, &id, pool, &q))
                .await;
        }
        self.store_and_finish(turn_id, u.round, kind, question_id, text)
            .await
    }

    /// One model piece of `u`: the model's words if the guard passes them, else a second, stricter try, else the
    /// piece's scripted wording; each outcome is counted. The first try may be the piece already written during
    /// the candidate's pause. `None` when the candidate took the floor meanwhile.
    async fn write_piece(
        &mut self,
        context: &Context,
        u: &Utterance,
        ask: Ask,
        fallback: &str,
        epoch: u64,
        timing: &mut Option<Timing>,
    ) -> Option<String> {
        let candidate = u.candidate_said.as_deref().unwrap_or("");
        let persona = context.names().persona.to_string();
        let guard_context = guard::Context {
            persona: &persona,
            round: u.round_kind,
            asked: Asked::Answer,
            candidate,
            earlier: &context.earlier,
            closing: false,
        };
        let deadline = tokio::time::Instant::now() + PIECE_DEADLINE;
        for strict in [false, true] {
            let request = context.request(u, ask, fallback, strict);
            let mut stream = self.piece_stream(request, strict, epoch, timing);
            let Some(written) = read_line(&mut stream.pieces, deadline).await else {
                // Dropping the stream stops the generation; the fixed wording is said now.
                drop(stream);
                tracing::debug!(
                    piece = ask.as_str(),
                    "the model was too slow; its fixed wording is said instead"
                );
                self.services.observe.piece(ask, Outcome::Replaced);
                return Some(fallback.to_string());
            };
            stream.pieces.close();
            let failed = match self.job_end(&mut stream, ask, epoch).await {
                JobEnd::Done(failed) => failed,
                JobEnd::Fallback => break,
                JobEnd::Interrupted => return None,
            };
            if self.floor.interrupted_since(epoch) {
                return None;
            }
            let (line, reasons) = guarded_line(ask, &written, failed, &guard_context);
            if reasons.is_empty() {
                self.piece_accepted(ask, strict);
                return Some(line);
            }
            tracing::debug!(piece = ask.as_str(), strict, ?reasons, text = %line, "the guard held back a model piece");
        }
        self.services.observe.piece(ask, Outcome::Replaced);
        Some(fallback.to_string())
    }

    /// The stream that writes `request`: the piece already written during the candidate's pause when it is the
    /// same first try in the same epoch (noted in `timing`), else a new generation.
    fn piece_stream(
        &mut self,
        request: Arc<Request>,
        strict: bool,
        epoch: u64,
        timing: &mut Option<Timing>,
    ) -> Stream {
        match self.prepared.take() {
            Some(written) if !strict && written.matches(&request, epoch) => {
                if let Some(t) = timing {
                    t.reply_ahead = true;
                }
                written
            }
            _ => Stream::start(
                self.services.llm.clone(),
                request,
                self.floor.clone(),
                epoch,
            ),
        }
    }

    /// Waits for the stream's generation to end and reads how it ended; a model server that is not answering is
    /// announced once to every connection.
    async fn job_end(&mut self, stream: &mut Stream, ask: Ask, epoch: u64) -> JobEnd {
        match (&mut stream.job).await {
            Ok(Ok(_)) => JobEnd::Done(None),
            // Its queue is full, or its server failed: a stricter try now would most likely fail the same
            // way, so the fixed wording is said at once.
            Ok(Err(e @ (LlmError::Busy | LlmError::Unavailable(_)))) => {
                if matches!(e, LlmError::Unavailable(_)) {
                    tracing::warn!(
                        piece = ask.as_str(),
                        "{e}; its fixed wording is said instead"
                    );
                    if !self.model_down {
                        self.model_down = true;
                        self.broadcast(frames::notice(
                            "The interviewer's model server is not answering, so the interviewer uses its \
                             fixed wording until it is back. Nothing you say is lost.",
                        ));
                    }
                }
                if self.floor.interrupted_since(epoch) {
                    return JobEnd::Interrupted;
                }
                JobEnd::Fallback
            }
            Ok(Err(e)) => JobEnd::Done(Some(format!("the model failed: {e}"))),
            Err(e) => JobEnd::Done(Some(format!("the model's task failed: {e}"))),
        }
    }

    /// Counts a model piece the guard passed (on the first try or the stricter second) and notes the model is up.
    fn piece_accepted(&mut self, ask: Ask, strict: bool) {
        self.model_down = false;
        self.services.observe.piece(
            ask,
            if strict {
                Outcome::Retried
            } else {
                Outcome::Accepted
            },
        );
    }
}

/// How a model piece's generation ended, as [`Actor::write_piece`] goes on from it.
enum JobEnd {
    /// The model finished (`None`) or failed for the reason given; the guard's reading comes next.
    Done(Option<String>),
    /// The model is busy or its server is down: the fixed wording is said at once.
    Fallback,
    /// The candidate took the floor meanwhile.
    Interrupted,
}

/// The line a model wrote, cleaned (and made a bridge for a bridge piece), with why it may not be said: the
/// model's failure when it failed, else every guard check it fails.
fn guarded_line(
    ask: Ask,
    written: &str,
    failed: Option<String>,
    guard_context: &guard::Context<'_>,
) -> (String, Vec<String>) {
    let line = match ask {
        Ask::FollowUp => guard::clean(written),
        Ask::Bridge => wording::bridge_line(&guard::clean(written)),
    };
    let reasons: Vec<String> = match failed {
        Some(e) => vec![e],
        None => guard::piece_failures(ask, &line, guard_context)
            .into_iter()
            .map(|(c, why)| format!("{}: {why}", c.name()))
            .collect(),
    };
    (line, reasons)
}

/// The longest a model-written piece may take, waiting in the model's queue included, before its fixed wording is
/// said instead: a model busy with many interviews must not keep a candidate waiting (a soak of 20 interviews at
/// once on 2 cores had turns past 30 s). Unloaded, a piece takes well under a second.
pub(super) const PIECE_DEADLINE: Duration = Duration::from_secs(8);

/// Reads a piece's text until its first line is finished or the pieces end; `None` when `deadline` passes first.
async fn read_line(
    pieces: &mut tokio::sync::mpsc::Receiver<String>,
    deadline: tokio::time::Instant,
) -> Option<String> {
    let mut written = String::new();
    loop {
        match tokio::time::timeout_at(deadline, pieces.recv()).await {
            Ok(Some(piece)) => {
                written.push_str(&piece);
                // A piece is one line: what follows a finished line is not said, so it is not waited for.
                if written.trim_start().contains('\n') {
                    return Some(written);
                }
            }
            Ok(None) => return Some(written),
            Err(_) => return None,
        }
    }
}

#[cfg(test)]
mod deadline_tests {
    use super::*;

    #[tokio::test]
    async fn a_piece_is_read_to_its_first_line_or_given_up_at_the_deadline() {
        let (tx, mut rx) = tokio::sync::mpsc::channel(8);
        tx.send("Which metric ".to_string()).await.unwrap();
        tx.send("moved?\nMore".to_string()).await.unwrap();
        let soon = tokio::time::Instant::now() + Duration::from_secs(5);
        assert_eq!(
            read_line(&mut rx, soon).await.as_deref(),
            Some("Which metric moved?\nMore")
        );
        // A model that says nothing in time (busy, or queued behind other interviews).
        let (_tx, mut silent) = tokio::sync::mpsc::channel::<String>(8);
        let started = std::time::Instant::now();
        let deadline = tokio::time::Instant::now() + Duration::from_millis(50);
        assert_eq!(read_line(&mut silent, deadline).await, None);
        assert!(started.elapsed() < Duration::from_secs(2));
        // Pieces that end without a line break are what was written.
        let (tx, mut rx) = tokio::sync::mpsc::channel(8);
        tx.send("Why?".to_string()).await.unwrap();
        drop(tx);
        assert_eq!(read_line(&mut rx, soon).await.as_deref(), Some("Why?"));
    }
}
