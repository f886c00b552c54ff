//! The model's pieces of an interviewer turn as it writes them, and pieces written ahead during the candidate's
//! pause.
//!
//! A spoken answer ends after a silence (how long, its words decide: [`crate::engine::turns::wait_after`]), and
//! whisper already has the turn's transcript early in that silence ([`crate::engine::turns::TRANSCRIBE_AFTER_MS`]). A [`Plan`] made then asks a copy of the engine what it
//! would say to that transcript and starts the model on that reply's first model piece at once. When the silence ends the turn with
//! the same audio, the engine asks for the same turn with the same prompt and the reply already under way is used
//! ([`Stream::matches`]); the candidate hears the interviewer sooner by the time the model had. When the candidate
//! speaks again, or anything else changed the prompt, the stream is dropped and its generation stops.

use std::{
    ops::ControlFlow,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

use tokio::{sync::mpsc, task::JoinHandle};

use super::floor::Floor;
use crate::{
    catalog::{Catalog, Company},
    engine::{
        interview::{Effect, Input, Interview, Utterance},
        prompts, turns,
        wording::{self, Ask, Names, Piece},
    },
    llm::{Completion, Llm, LlmError, Request},
};

/// Pieces buffered ahead of the reader: more than a reply's tokens, so a reply written ahead never waits.
const BUFFERED_PIECES: usize = 256;
/// The longest model piece, in tokens (a follow-up question; an acknowledgement is shorter).
const MAX_TOKENS: u32 = 60;

/// Everything an interviewer turn is built from besides the turn itself.
#[derive(Clone)]
pub(super) struct Context {
    pub catalog: Arc<Catalog>,
    pub company_id: String,
    pub company_name: String,
    pub role_title: String,
    pub session: String,
    /// The round `earlier` belongs to.
    pub round: usize,
    /// The interviewer's turns so far in this round, as said (for the guard: no question asked twice, and a
    /// follow-up takes up something new).
    pub earlier: Vec<String>,
}

impl Context {
    fn company(&self) -> Option<&Company> {
        self.catalog.company(&self.company_id)
    }

    /// The interviewer's name and opening line, and the company.
    pub fn names(&self) -> Names<'_> {
        let company = self.company();
        Names {
            persona: company.map_or("", |c| c.persona.name.as_str()),
            opening: company.map_or("", |c| c.persona.opening.as_str()),
            company: &self.company_name,
        }
    }

    /// The turn `u` as pieces: fixed wording, and the pieces a model writes.
    pub fn shape(&self, u: &Utterance) -> Vec<Piece> {
        wording::shape(u, &self.names(), &self.earlier)
    }

    /// The request for one model piece of `u`; `strict` is the second try, `fallback` what the scripted backend
    /// says.
    pub fn request(&self, u: &Utterance, ask: Ask, fallback: &str, strict: bool) -> Arc<Request> {
        Arc::new(Request {
            messages: self
                .company()
                .map(|c| {
                    let focus =
                        wording::focus(u.candidate_said.as_deref().unwrap_or(""), &self.earlier);
                    prompts::piece(c, &self.role_title, u, ask, &focus, strict)
                })
                .unwrap_or_default(),
            scripted: fallback.to_string(),
            max_tokens: MAX_TOKENS,
            temperature: if strict { 0.2 } else { 0.6 },
            seed: u.turn.wrapping_add(u64::from(strict) * 7_919),
            stop: vec!["\n".into()],
            session: Some(self.session.clone()),
            ignore_eos: false,
        })
    }

    /// A request that only reads the beginning every piece of a round's prompts shares (the persona and the
    /// worked examples), so a local model has it cached before the candidate's first answer.
    pub fn warm_up(&self, round_title: &str) -> Option<Arc<Request>> {
        let company = self.company()?;
        Some(Arc::new(Request {
            messages: prompts::prefix(company, &self.role_title, round_title),
            scripted: String::new(),
            max_tokens: 1,
            temperature: 0.0,
            seed: 0,
            stop: Vec::new(),
            session: Some(self.session.clone()),
            ignore_eos: false,
        }))
    }

    /// The first piece of `u` a model writes, as a request (what a reply begun during the pause writes).
    pub fn first_request(&self, u: &Utterance) -> Option<Arc<Request>> {
        self.shape(u).into_iter().find_map(|p| match p {
            Piece::Model { ask, fallback } => Some(self.request(u, ask, &fallback, false)),
            Piece::Fixed(_) => None,
        })
    }
}

/// A reply being written: its pieces arrive on `pieces`, and `job` ends with the completion. Dropping the stream
/// stops the generation before its next piece.
#[derive(Debug)]
pub(super) struct Stream {
    pub request: Arc<Request>,
    /// The floor's epoch the reply was started in: a barge-in since stops it.
    pub epoch: u64,
    pub pieces: mpsc::Receiver<String>,
    pub job: JoinHandle<Result<Completion, LlmError>>,
    cancel: Arc<AtomicBool>,
}

impl Stream {
    /// Starts writing `request` on a blocking thread.
    pub fn start(
        llm: Arc<dyn Llm>,
        request: Arc<Request>,
        floor: Arc<Floor>,
        epoch: u64,
    ) -> Stream {
        let (tx, pieces) = mpsc::channel::<String>(BUFFERED_PIECES);
        let cancel = Arc::new(AtomicBool::new(false));
        let (req, stop) = (request.clone(), cancel.clone());
        let job = tokio::task::spawn_blocking(move || {
            llm.generate(&req, &mut |piece| {
                if !stop.load(Ordering::Relaxed)
                    && !floor.interrupted_since(epoch)
                    && tx.blocking_send(piece.to_string()).is_ok()
                {
                    ControlFlow::Continue(())
                } else {
                    ControlFlow::Break(())
                }
            })
        });
        Stream {
            request,
            epoch,
            pieces,
            job,
            cancel,
        }
    }

    /// Whether this stream writes exactly `request`, in the floor's `epoch`.
    pub fn matches(&self, request: &Request, epoch: u64) -> bool {
        self.epoch == epoch && *self.request == *request
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        self.cancel.store(true, Ordering::Relaxed);
    }
}

/// What is needed to start the reply to a transcript before the turn is over: a copy of the engine, the time to
/// ask it at, and the reply's context.
pub(super) struct Plan {
    pub engine: Interview,
    pub now: u64,
    pub context: Context,
    pub llm: Arc<dyn Llm>,
    pub floor: Arc<Floor>,
    pub epoch: u64,
}

impl Plan {
    /// Starts the model piece the engine's reply would begin with if `transcript` were the answer; `None` when
    /// nothing was heard, or filler, or the reply has no model piece (fixed wording needs no head start).
    pub fn start(self, transcript: &str) -> Option<Stream> {
        let said = transcript.trim();
        if said.is_empty() || turns::is_filler(said) {
            return None;
        }
        let mut engine = self.engine;
        let u = engine
            .handle(Input::Answer(said), self.now)
            .into_iter()
            .find_map(|e| match e {
                Effect::Say(u) => Some(u),
                _ => None,
            })?;
        // A reply that opens the next round starts that round afresh (as `Actor::say` then does).
        let context = if u.round == self.context.round {
            self.context
        } else {
            Context {
                round: u.round,
                earlier: Vec::new(),
                ..self.context
            }
        };
        let request = context.first_request(&u)?;
        Some(Stream::start(self.llm, request, self.floor, self.epoch))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        catalog::{RoundKind, SeedSource, load},
        engine::{
            interview::RoundRun,
            plan::{Question, QuestionPool},
        },
        llm::scripted::Scripted,
    };

    fn q(id: &str) -> Question {
        Question {
            id: id.into(),
            pool: QuestionPool::Behavioral,
            text: format!("Tell me about a time you handled a difficult deadline ({id})."),
            follow_ups: vec!["What did you do first?".into()],
        }
    }

    fn said(effects: Vec<Effect>) -> Utterance {
        effects
            .into_iter()
            .find_map(|e| match e {
                Effect::Say(u) => Some(u),
                _ => None,
            })
            .expect("the engine says something")
    }

    const STORY: &str = "I led the migration of our billing service to a new queue when the deadline moved up by \
                         two weeks, and I split the work so we shipped on time with zero data loss.";

    #[tokio::test]
    async fn a_reply_begun_during_the_pause_is_the_one_the_turn_then_asks_for() {
        let context = Context {
            catalog: Arc::new(load(&SeedSource::Embedded).unwrap().catalog),
            company_id: "amazon".into(),
            company_name: "Amazon".into(),
            role_title: "SDE II".into(),
            session: "s1".into(),
            round: 0,
            earlier: vec!["Tell me about a difficult deadline.".into()],
        };
        let mut engine = Interview::new(vec![
            RoundRun::new(RoundKind::Behavioral, "Leadership", 30, vec![q("a")]),
            RoundRun::new(RoundKind::SystemDesign, "Design", 45, vec![q("d")]),
        ]);
        engine.handle(Input::Start, 0);
        let floor = Arc::new(Floor::default());
        let epoch = floor.epoch();
        let plan = |engine: &Interview| Plan {
            engine: engine.clone(),
            now: 1_000,
            context: context.clone(),
            llm: Arc::new(Scripted),
            floor: floor.clone(),
            epoch,
        };
        assert!(plan(&engine).start("  ").is_none(), "nothing heard");
        assert!(plan(&engine).start("hmm").is_none(), "filler is no answer");
        assert!(
            plan(&engine).start("I don't know.").is_none(),
            "moving on without an answer is fixed wording: nothing to write ahead"
        );

        let mut ahead = plan(&engine).start(STORY).expect("a follow-up is begun");
        let mut written = String::new();
        while let Some(piece) = ahead.pieces.recv().await {
            written.push_str(&piece);
        }
        assert!(written.trim().ends_with('?'), "{written}");
        // The engine is untouched: the turn, when it ends, asks for exactly the piece begun.
        let first = |u: &Utterance| context.first_request(u).unwrap();
        let asked = first(&said(engine.clone().handle(Input::Answer(STORY), 1_000)));
        assert!(ahead.matches(&asked, epoch));
        assert!(!ahead.matches(&asked, epoch + 1), "a barge-in since");
        let other = first(&said(engine.clone().handle(
            Input::Answer("I rebuilt the deploy pipeline for the payments team in 2023 and cut releases to ten minutes."),
            1_000,
        )));
        assert!(!ahead.matches(&other, epoch), "another answer");

        // After the follow-up's answer, the next turn acknowledges it (the model's piece), then asks the probe.
        engine.handle(Input::Answer(STORY), 1_000);
        let next = said(engine.clone().handle(Input::Answer(STORY), 2_000));
        assert_eq!(next.intent, crate::engine::interview::Intent::Probe);
        assert!(matches!(
            context.shape(&next)[0],
            Piece::Model {
                ask: Ask::Bridge,
                ..
            }
        ));
    }
}
