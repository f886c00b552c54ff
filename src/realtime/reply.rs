//! The interviewer's reply as the model writes it, and replies written ahead during the candidate's pause.
//!
//! A spoken answer ends after a silence (1.5 s by default), and whisper already has the turn's transcript early in
//! that silence ([`super::listen::TRANSCRIBE_AFTER_MS`]). A [`Plan`] made then asks a copy of the engine what it
//! would say to that transcript and starts the model on that reply at once. When the silence ends the turn with
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
    catalog::Catalog,
    engine::{
        interview::{Effect, Input, Interview, Utterance},
        prompts, turns,
    },
    llm::{Completion, Llm, LlmError, Message, Request},
};

/// Pieces buffered ahead of the reader: more than a reply's tokens, so a reply written ahead never waits.
const BUFFERED_PIECES: usize = 256;
/// The longest reply, in tokens.
const MAX_TOKENS: u32 = 120;

/// Everything an interviewer reply's request is built from besides the turn itself.
#[derive(Clone)]
pub(super) struct Context {
    pub catalog: Arc<Catalog>,
    pub company_id: String,
    pub company_name: String,
    pub role_title: String,
    pub session: String,
    /// The round the history belongs to.
    pub round: usize,
    /// The model's view of the round so far (already windowed).
    pub history: Vec<Message>,
}

impl Context {
    /// The request that words `u`.
    pub fn request(&self, u: &Utterance) -> Arc<Request> {
        let company = self.catalog.company(&self.company_id);
        Arc::new(Request {
            messages: company
                .map(|c| prompts::messages(c, &self.role_title, u, &self.history))
                .unwrap_or_default(),
            utterance: Some(u.clone()),
            persona_name: company
                .map(|c| c.persona.name.clone())
                .unwrap_or_else(|| "your interviewer".into()),
            persona_opening: company
                .map(|c| c.persona.opening.clone())
                .unwrap_or_default(),
            company_name: self.company_name.clone(),
            max_tokens: MAX_TOKENS,
            temperature: 0.7,
            seed: u.turn,
            stop: Vec::new(),
            session: Some(self.session.clone()),
            ignore_eos: false,
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
    /// Starts the reply the engine would ask for if `transcript` were the answer; `None` when nothing was heard,
    /// or filler, or the engine would say nothing.
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
        // A reply that opens the next round starts that round's history afresh (as `Actor::say` then does).
        let context = if u.round == self.context.round {
            self.context
        } else {
            Context {
                round: u.round,
                history: Vec::new(),
                ..self.context
            }
        };
        let request = context.request(&u);
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
            plan::{Pool, Question},
        },
        llm::scripted::Scripted,
    };

    fn q(id: &str) -> Question {
        Question {
            id: id.into(),
            pool: Pool::Behavioral,
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
            history: prompts::history(&[(false, "Tell me about a difficult deadline.".into())]),
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

        let mut ahead = plan(&engine).start(STORY).expect("a reply is begun");
        let mut written = String::new();
        while let Some(piece) = ahead.pieces.recv().await {
            written.push_str(&piece);
        }
        assert!(!written.trim().is_empty());
        // The engine is untouched: the turn, when it ends, asks for exactly the reply begun.
        let asked = context.request(&said(engine.clone().handle(Input::Answer(STORY), 1_000)));
        assert!(ahead.matches(&asked, epoch));
        assert!(!ahead.matches(&asked, epoch + 1), "a barge-in since");
        let other = context.request(&said(
            engine.clone().handle(Input::Answer("I don't know."), 1_000),
        ));
        assert!(!ahead.matches(&other, epoch), "another answer");

        // An answer that closes the round: the reply opens the next one, whose history starts empty.
        engine.handle(Input::Answer(STORY), 1_000);
        let ahead = plan(&engine)
            .start("I don't know.")
            .expect("the next round's opening is begun");
        let next = said(engine.clone().handle(Input::Answer("I don't know."), 1_000));
        assert_eq!(next.round, 1);
        let fresh = Context {
            round: 1,
            history: Vec::new(),
            ..context.clone()
        };
        assert!(ahead.matches(&fresh.request(&next), epoch));
    }
}
