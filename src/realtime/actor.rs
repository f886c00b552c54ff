//! One actor per live interview: a tokio task that owns the interview's engine and is the only writer of its
//! transcript. WebSocket connections only route frames to it ([`Cmd`]) and receive what it broadcasts, so two tabs
//! or a reconnect share one interview. How it speaks (the LLM, streaming, storing the turn) is in `speak.rs`; the
//! registry of actors is [`super::hub::Hub`]. It stores every turn before acknowledging it, saves the engine after every
//! change, pauses the clock while nobody is connected, and stops when idle (`Settings::interview_idle`); the next
//! connection rebuilds it from the database.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use tokio::sync::mpsc;

use super::{
    floor::Floor,
    frames,
    hub::Cmd,
    latency::Timing,
    pb::{self, client_frame, server_frame::Kind},
    services::Services,
};
use crate::{
    db::{self, live, sessions::Session},
    engine::{
        intents::Understanding,
        interview::{Effect, Input, Interview, RoundRun},
        lifecycle::{SessionState, Transition},
        plan,
    },
    sandbox::Language,
    sessions::Transitioned,
};

/// A turn to store, as the actor has it.
pub(super) struct Said {
    pub round: i64,
    /// `interviewer` or `candidate`.
    pub speaker: &'static str,
    pub kind: &'static str,
    pub text: String,
    pub question_id: Option<String>,
    /// The client's id of an answer, which a re-send repeats.
    pub answer_id: Option<String>,
    /// `text` or `voice`.
    pub source: &'static str,
}

/// The longest answer a candidate can send in one turn.
pub const MAX_ANSWER_CHARS: usize = 20_000;
const TICK: Duration = Duration::from_secs(1);
/// Frames waiting for a slow connection; past this it is dropped rather than slowing everyone.
pub const CONNECTION_BUFFER: usize = 512;

pub(super) struct Actor {
    pub(super) services: Arc<Services>,
    pub(super) session: Session,
    pub(super) generation: u64,
    pub(super) engine: Option<Interview>,
    pub(super) subscribers: Vec<(u64, mpsc::Sender<pb::ServerFrame>)>,
    /// The connections that hear the interviewer, and the sample rate each plays at.
    pub(super) listeners: Vec<(u64, u32)>,
    /// What each connection that sends audio has said so far.
    pub(super) ears: Vec<(u64, super::listen::Ear)>,
    pub(super) clock: Instant,
    pub(super) event_id: u64,
    /// The candidate's latest stored turn, which interviewer notes attach to.
    pub(super) last_candidate_turn: Option<i64>,
    pub(super) live_turns: u64,
    /// The interviewer's turns in the current round, as said (for the guard), and which round that is.
    pub(super) earlier: Vec<String>,
    pub(super) chat_round: Option<usize>,
    /// Who has the floor (shared with the connections and the interviewer's speech).
    pub(super) floor: Arc<Floor>,
    /// The timing of the spoken answer the interviewer is about to reply to.
    pub(super) timing: Option<Timing>,
    /// Since when the interviewer has been waiting for a spoken answer (its last turn written), for the gentle
    /// prompt after a long silence; `None` while nobody is listening for one or once prompted.
    pub(super) waiting_since: Option<Instant>,
    /// The reply written during the pause that ended the answer being handled, for [`Actor::say`] to use if the
    /// engine asks for the same turn.
    pub(super) prepared: Option<super::reply::Stream>,
    /// The model's server failed a piece and the candidate was told; cleared when a piece comes back.
    pub(super) model_down: bool,
    /// Answers stored and acknowledged but never handed to the engine (the server stopped in between): handed over
    /// when the first connection joins, so an acknowledged answer is always answered.
    unheard: Vec<String>,
    /// This actor's own command queue, for work done beside it (code runs) to report back.
    pub(super) me: mpsc::WeakSender<Cmd>,
    /// Code runs going on beside the actor; it does not stop for idleness while one is.
    pub(super) code_runs: u32,
    /// Captions made so far (for their ids).
    pub(super) captions: u64,
    /// The spoken answer the interviewer is replying to, while the candidate may still go on with it.
    pub(super) resumable: Option<Resumable>,
}

/// A spoken answer the interviewer has just begun to reply to. When the candidate speaks again before hearing
/// much of the reply, they had not finished: the reply stops, and once they have, the engine is taken back to
/// before the answer and given both parts as one answer (`listen.rs`).
pub(super) struct Resumable {
    /// The engine as it was before the answer.
    pub before: Interview,
    pub text: String,
    /// When the answer was handed to the engine, on [`super::floor::clock_ms`].
    pub at_ms: u64,
    /// The candidate spoke again in time: their next turn goes on with this answer.
    pub continued: bool,
}

impl Actor {
    pub(super) fn new(
        services: Arc<Services>,
        session: Session,
        generation: u64,
        floor: Arc<Floor>,
        me: mpsc::WeakSender<Cmd>,
    ) -> Actor {
        Actor {
            services,
            session,
            generation,
            engine: None,
            subscribers: Vec::new(),
            listeners: Vec::new(),
            ears: Vec::new(),
            clock: Instant::now(),
            event_id: 0,
            last_candidate_turn: None,
            live_turns: 0,
            earlier: Vec::new(),
            chat_round: None,
            floor,
            timing: None,
            waiting_since: None,
            prepared: None,
            model_down: false,
            unheard: Vec::new(),
            me,
            code_runs: 0,
            captions: 0,
            resumable: None,
        }
    }

    pub(super) fn now(&self) -> u64 {
        self.clock.elapsed().as_millis() as u64
    }

    pub(super) async fn run(mut self, mut rx: mpsc::Receiver<Cmd>) {
        if let Err(e) = self.load().await {
            tracing::error!(session = %self.session.id, "could not load the interview: {e:#}");
            self.services
                .hub
                .retire(&self.session.id, self.generation, &rx);
            return;
        }
        let mut tick = tokio::time::interval(TICK);
        let mut idle_since = Some(Instant::now());
        loop {
            tokio::select! {
                cmd = rx.recv() => {
                    let Some(cmd) = cmd else { break };
                    if let Cmd::Stop { done } = cmd {
                        self.save().await;
                        let _ = done.send(());
                        break;
                    }
                    self.on_cmd(cmd).await;
                    idle_since = if self.subscribers.is_empty() { idle_since.or(Some(Instant::now())) } else { None };
                }
                _ = tick.tick() => {
                    self.on_tick().await;
                    if let Some(since) = idle_since
                        && since.elapsed() >= self.services.options.interview_idle
                        && self.code_runs == 0
                    {
                        self.save().await;
                        if self.services.hub.retire(&self.session.id, self.generation, &rx) {
                            break;
                        }
                    }
                }
            }
        }
        tracing::debug!(session = %self.session.id, "interview actor stopped");
    }

    /// Rebuilds the engine from the database, or plans a new interview.
    async fn load(&mut self) -> anyhow::Result<()> {
        let id = self.session.id.clone();
        let user = self.session.user_id;
        let (stored, asked, turns) = self
            .services
            .db
            .call(move |c| {
                Ok((
                    live::load_engine(c, &id)?,
                    live::asked_by_user(c, user)?,
                    live::turns(c, &id)?,
                ))
            })
            .await?;
        self.last_candidate_turn = turns
            .iter()
            .rev()
            .find(|t| t.speaker == "candidate")
            .map(|t| t.id);
        if !stored.is_empty() {
            // A stored engine's clock is stopped; the first connection starts it again.
            let mut engine = serde_json::from_str::<Interview>(&stored)?;
            let answers: Vec<String> = turns
                .into_iter()
                .filter(|t| t.speaker == "candidate")
                .map(|t| t.text)
                .collect();
            let heard = *engine.answers.get_or_insert(answers.len() as u64) as usize;
            self.unheard = answers.into_iter().skip(heard).collect();
            if !self.unheard.is_empty() {
                tracing::warn!(
                    session = %self.session.id,
                    "{} acknowledged answer(s) were not handed to the interviewer before the server stopped; \
                     handing them over now",
                    self.unheard.len()
                );
            }
            engine.understanding = Understanding::new(self.services.intents.clone());
            self.engine = Some(engine);
            return Ok(());
        }
        let catalog = self.services.catalog.clone();
        let company = catalog.company(&self.session.company_id);
        let role = company.and_then(|c| c.role(&self.session.role_id));
        let seed = self
            .session
            .id
            .bytes()
            .fold(0u64, |h, b| h.wrapping_mul(131).wrapping_add(u64::from(b)));
        let rounds = self
            .session
            .rounds
            .iter()
            .enumerate()
            .map(|(i, round)| {
                let questions = match (company, role) {
                    (Some(c), Some(r)) => {
                        plan::draw(&catalog, c, r, round, &asked, seed.wrapping_add(i as u64))
                    }
                    _ => Vec::new(),
                };
                RoundRun::new(round.kind, &round.title, round.minutes, questions)
            })
            .collect();
        let mut engine = Interview::new(rounds);
        engine.understanding = Understanding::new(self.services.intents.clone());
        self.engine = Some(engine);
        Ok(())
    }

    async fn save(&mut self) {
        let now = self.now();
        let Some(iv) = &mut self.engine else { return };
        iv.pause(now);
        let json = serde_json::to_string(&*iv).expect("the engine serialises");
        if !self.subscribers.is_empty() {
            iv.resume(now);
        }
        let (id, current) = (self.session.id.clone(), iv.current as i64);
        if let Err(e) = self
            .services
            .db
            .call(move |c| live::save_engine(c, &id, &json, current))
            .await
        {
            tracing::error!("saving the interview failed: {e}");
        }
    }

    pub(super) fn broadcast(&mut self, mut frame: pb::ServerFrame) {
        self.event_id += 1;
        frame.event_id = self.event_id;
        // A connection that cannot keep up is dropped; its socket task notices and closes.
        self.subscribers
            .retain(|(_, out)| out.try_send(frame.clone()).is_ok());
    }

    pub(super) fn send_to(&mut self, conn: u64, mut frame: pb::ServerFrame) {
        self.event_id += 1;
        frame.event_id = self.event_id;
        if let Some((_, out)) = self.subscribers.iter().find(|(c, _)| *c == conn) {
            let _ = out.try_send(frame);
        }
    }

    fn session_state(&self) -> pb::ServerFrame {
        let catalog = self.services.catalog.clone();
        let persona = catalog
            .company(&self.session.company_id)
            .map(|c| c.persona.name.clone())
            .unwrap_or_default();
        let iv = self.engine.as_ref();
        frames::frame(Kind::SessionState(pb::SessionState {
            session_id: self.session.id.clone(),
            status: frames::status(self.session.state) as i32,
            rounds: iv
                .map(|iv| {
                    iv.rounds
                        .iter()
                        .enumerate()
                        .map(|(i, r)| frames::round_info(i, r))
                        .collect()
                })
                .unwrap_or_default(),
            current_round: iv.map_or(0, |iv| iv.current as u32),
            company_name: self.session.company_name.clone(),
            role_title: self.session.role_title.clone(),
            interviewer_name: persona,
            stt_available: self.services.stt.is_some(),
            tts_available: self.services.tts.is_some(),
            paused: false,
            end_of_turn_ms: self.services.options.turn_rules.end_silence_ms,
        }))
    }

    async fn on_cmd(&mut self, cmd: Cmd) {
        match cmd {
            Cmd::Join { conn, out, audio } => {
                if let Some(rate) = audio.filter(|_| self.services.tts.is_some()) {
                    self.listeners.push((conn, rate));
                }
                self.join(conn, out).await;
            }
            Cmd::Leave { conn } => {
                self.subscribers.retain(|(c, _)| *c != conn);
                self.listeners.retain(|(c, _)| *c != conn);
                // A microphone that disappears mid-answer leaves nothing half-recorded behind.
                self.ears.retain(|(c, _)| *c != conn);
                if self.subscribers.is_empty() {
                    self.save().await;
                }
            }
            Cmd::Frame { conn, frame } => self.on_frame(conn, frame).await,
            Cmd::ScoreReady { report_url } => {
                let frame = frames::frame(Kind::ScoreReady(pb::ScoreReady {
                    session_id: self.session.id.clone(),
                    report_url,
                }));
                self.broadcast(frame);
            }
            Cmd::CodeDone(finished) => self.code_done(*finished).await,
            Cmd::Caption { conn, id, text } => self.caption_done(conn, &id, text),
            Cmd::Stop { .. } => {}
        }
    }

    /// A new connection gets the whole picture, then live events; the first one starts the interview.
    async fn join(&mut self, conn: u64, out: mpsc::Sender<pb::ServerFrame>) {
        let first = self.subscribers.is_empty();
        self.subscribers.push((conn, out));
        if self.session.state == SessionState::Pending {
            self.transition(Transition::Start).await;
        }
        let now = self.now();
        if first && let Some(iv) = &mut self.engine {
            iv.resume(now);
        }
        let snapshot = self.session_state();
        self.send_to(conn, snapshot);
        let id = self.session.id.clone();
        let turns = self
            .services
            .db
            .call(move |c| live::turns(c, &id))
            .await
            .unwrap_or_default();
        for t in turns {
            let speaker = if t.speaker == "candidate" {
                pb::Speaker::Candidate
            } else {
                pb::Speaker::Interviewer
            };
            self.send_to(
                conn,
                frames::transcript(format!("t{}", t.seq), speaker, t.text, true, t.round as u32),
            );
        }
        let catalog = self.services.catalog.clone();
        if let Some(iv) = &self.engine
            && iv.started
            && !iv.finished
        {
            let mut started = frames::round_started(&catalog, iv, iv.current, now);
            let (id, round) = (self.session.id.clone(), iv.current as i64);
            let saved = self
                .services
                .db
                .call(move |c| live::saved_code(c, &id, round))
                .await
                .unwrap_or_default();
            started.saved_code = saved
                .into_iter()
                .filter_map(|(language, source, revision)| {
                    Some(pb::SavedCode {
                        language: frames::language(Language::parse(&language)?) as i32,
                        source,
                        revision: revision.max(0) as u64,
                    })
                })
                .collect();
            self.send_to(conn, frames::frame(Kind::RoundStarted(started)));
        }
        let begin = self.engine.as_ref().is_some_and(|iv| !iv.started)
            && self.session.state == SessionState::InProgress;
        if begin {
            self.input(Input::Start).await;
        }
        for answer in std::mem::take(&mut self.unheard) {
            self.input(Input::Answer(&answer)).await;
        }
    }

    async fn transition(&mut self, action: Transition) -> bool {
        let (user, id) = (self.session.user_id, self.session.id.clone());
        match crate::sessions::transition(&self.services.db, user, &id, action).await {
            Ok(Transitioned::Ok(s)) => {
                self.session = *s;
                true
            }
            Ok(other) => {
                tracing::debug!("transition {action:?} refused: {other:?}");
                false
            }
            Err(e) => {
                tracing::error!("transition {action:?} failed: {e}");
                false
            }
        }
    }

    async fn on_frame(&mut self, conn: u64, frame: pb::ClientFrame) {
        let seq = frame.seq;
        let Some(kind) = frame.kind else {
            self.send_to(
                conn,
                frames::error("malformed_frame", "The frame has no content.", seq),
            );
            return;
        };
        match kind {
            client_frame::Kind::Hello(_) => {}
            client_frame::Kind::Ping(p) => self.send_to(
                conn,
                frames::frame(Kind::Pong(pb::Pong {
                    nonce: p.nonce,
                    client_time_ms: p.client_time_ms,
                    server_time_ms: db::now_ms() as u64,
                })),
            ),
            client_frame::Kind::TextAnswer(a) => self.answer(conn, seq, a).await,
            client_frame::Kind::Control(c) => self.control(conn, seq, c.action()).await,
            client_frame::Kind::CodeUpdate(u) => self.code_update(conn, seq, u).await,
            client_frame::Kind::CodeRun(r) => self.code_run(conn, seq, r).await,
            client_frame::Kind::Audio(a) => self.hear(conn, seq, a).await,
        }
    }

    pub(super) fn closed_reason(&self) -> Option<&'static str> {
        match self.session.state {
            SessionState::Completed => Some("This interview is over."),
            SessionState::Abandoned => Some("This interview was abandoned."),
            _ if self.engine.as_ref().is_none_or(|iv| iv.finished) => {
                Some("This interview is over.")
            }
            _ => None,
        }
    }

    async fn answer(&mut self, conn: u64, seq: u64, a: pb::TextAnswer) {
        // A typed answer is a new turn, whatever was said before it.
        self.resumable = None;
        if let Some(why) = self.closed_reason() {
            self.send_to(conn, frames::error("session_closed", why, seq));
            return;
        }
        if a.answer_id.is_empty() || a.answer_id.len() > 64 {
            self.send_to(
                conn,
                frames::error(
                    "malformed_frame",
                    "An answer needs an answer_id of 1 to 64 characters.",
                    seq,
                ),
            );
            return;
        }
        if a.text.chars().count() > MAX_ANSWER_CHARS {
            self.send_to(
                conn,
                frames::error(
                    "answer_too_long",
                    format!("An answer can be at most {MAX_ANSWER_CHARS} characters."),
                    seq,
                ),
            );
            return;
        }
        let stored = self
            .store_answer(a.text.clone(), Some(a.answer_id.clone()), "text")
            .await;
        let new = match stored {
            Ok(new) => new,
            Err(e) => {
                tracing::error!("storing an answer failed: {e}");
                self.send_to(
                    conn,
                    frames::error(
                        "internal",
                        "The answer could not be stored; send it again.",
                        seq,
                    ),
                );
                return;
            }
        };
        self.send_to(
            conn,
            frames::frame(Kind::Ack(pb::Ack {
                client_seq: seq,
                answer_id: a.answer_id,
            })),
        );
        if new {
            self.input(Input::Answer(&a.text)).await;
        }
    }

    /// Stores a turn of this interview: the stored turn, and whether it is new (an answer re-sent with the same
    /// id is stored once).
    pub(super) async fn insert_turn(
        &self,
        said: Said,
    ) -> Result<(live::StoredTurn, bool), db::DbError> {
        let id = self.session.id.clone();
        self.services
            .db
            .call(move |c| {
                live::insert_turn(
                    c,
                    &live::NewTurn {
                        session_id: &id,
                        round: said.round,
                        speaker: said.speaker,
                        kind: said.kind,
                        text: &said.text,
                        question_id: said.question_id.as_deref(),
                        client_answer_id: said.answer_id.as_deref(),
                        source: said.source,
                    },
                )
            })
            .await
    }

    /// Stores a candidate answer (once per `answer_id`) and shows it to every connection; returns whether it is
    /// new. The caller hands it to the engine.
    pub(super) async fn store_answer(
        &mut self,
        text: String,
        answer_id: Option<String>,
        source: &'static str,
    ) -> Result<bool, db::DbError> {
        let round = self.engine.as_ref().map_or(0, |iv| iv.current as i64);
        let question_id = self
            .engine
            .as_ref()
            .and_then(|iv| iv.current_question())
            .map(|q| q.id.clone());
        let (turn, new) = self
            .insert_turn(Said {
                round,
                speaker: "candidate",
                kind: "answer",
                text,
                question_id,
                answer_id,
                source,
            })
            .await?;
        if new {
            self.last_candidate_turn = Some(turn.id);
            self.broadcast(frames::transcript(
                format!("t{}", turn.seq),
                pb::Speaker::Candidate,
                turn.text.clone(),
                true,
                round as u32,
            ));
        }
        Ok(new)
    }

    async fn control(&mut self, conn: u64, seq: u64, action: pb::control::Action) {
        use pb::control::Action;
        match action {
            Action::Abandon => {
                if self.transition(Transition::Abandon).await {
                    self.save().await;
                    let state = self.session_state();
                    self.broadcast(state);
                } else {
                    self.send_to(
                        conn,
                        frames::error(
                            "session_closed",
                            "This interview can no longer be abandoned.",
                            seq,
                        ),
                    );
                }
            }
            _ if self.closed_reason().is_some() => {
                let why = self.closed_reason().unwrap_or_default();
                self.send_to(conn, frames::error("session_closed", why, seq));
            }
            Action::Start => self.input(Input::Start).await,
            Action::End => self.input(Input::End).await,
            Action::NextRound => self.input(Input::NextRound).await,
            Action::RepeatQuestion => self.input(Input::Repeat).await,
            Action::Hint => self.hint(conn, seq).await,
            Action::Interrupt => {
                // The connection has already stopped the interviewer (the floor); every page stops playing it.
                self.broadcast(frames::voice_state(pb::voice_state::State::Listening, true));
            }
            _ => self.send_to(
                conn,
                frames::error(
                    "unsupported",
                    "That control is not available in a text interview.",
                    seq,
                ),
            ),
        }
    }

    async fn on_tick(&mut self) {
        if self.subscribers.is_empty() {
            return;
        }
        let now = self.now();
        let running = self
            .engine
            .as_ref()
            .is_some_and(|iv| iv.started && !iv.finished);
        if !running || self.session.state != SessionState::InProgress {
            return;
        }
        self.input(Input::Tick).await;
        self.prompt_after_silence().await;
        if let Some(iv) = &self.engine
            && let Some(r) = iv.current_round()
        {
            let timer = pb::Timer {
                round_index: iv.current as u32,
                remaining_ms: r.remaining(now),
                warning: r.warned,
            };
            self.broadcast(frames::frame(Kind::Timer(timer)));
        }
    }

    /// A voice interview in which the candidate, microphone on, has said nothing for a long while since the
    /// interviewer finished (and its voice stopped playing) gets a gentle prompt, once per wait.
    async fn prompt_after_silence(&mut self) {
        let Some(since) = self.waiting_since else {
            return;
        };
        let quiet = self.ears.iter().any(|(_, ear)| ear.quiet());
        let played_out = crate::realtime::floor::clock_ms()
            .saturating_sub(self.floor.playing_until())
            .min(since.elapsed().as_millis() as u64);
        if quiet && Duration::from_millis(played_out) >= self.services.options.silence_prompt {
            self.waiting_since = None;
            self.input(Input::Silence).await;
        }
    }

    /// Feeds the engine and performs what it asks for, in order; saves the engine afterwards.
    pub(super) async fn input(&mut self, input: Input<'_>) {
        let now = self.now();
        let Some(iv) = &mut self.engine else { return };
        // An answer is saved as heard even when the engine has nothing to say to it.
        let answer = matches!(input, Input::Answer(_));
        let effects = iv.handle(input, now);
        if effects.is_empty() && !answer {
            return;
        }
        for effect in effects {
            self.perform(effect).await;
        }
        self.save().await;
    }

    async fn perform(&mut self, effect: Effect) {
        let now = self.now();
        match effect {
            Effect::Say(u) => self.say(u).await,
            Effect::Hint => {
                self.give_hint().await;
            }
            Effect::RoundStarted { index } => {
                let catalog = self.services.catalog.clone();
                let Some(iv) = &self.engine else { return };
                let started = frames::round_started(&catalog, iv, index, now);
                let ids: Vec<String> = iv.rounds[index]
                    .questions
                    .iter()
                    .map(|q| q.id.clone())
                    .collect();
                let id = self.session.id.clone();
                let _ = self
                    .services
                    .db
                    .call(move |c| live::round_started(c, &id, index as i64, &ids))
                    .await;
                self.broadcast(frames::frame(Kind::RoundStarted(started)));
            }
            Effect::RoundEnded { index, reason } => {
                let used = self
                    .engine
                    .as_ref()
                    .map_or(0, |iv| iv.rounds[index].used(now)) as i64;
                let (id, why) = (self.session.id.clone(), serde_json::to_value(reason).ok());
                let why = why
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                let _ = self
                    .services
                    .db
                    .call(move |c| live::round_ended(c, &id, index as i64, &why, used))
                    .await;
                self.broadcast(frames::frame(Kind::RoundEnded(pb::RoundEnded {
                    index: index as u32,
                    reason: frames::end_reason(reason) as i32,
                })));
            }
            Effect::TimeWarning {
                index,
                remaining_ms,
            } => {
                self.broadcast(frames::frame(Kind::Timer(pb::Timer {
                    round_index: index as u32,
                    remaining_ms,
                    warning: true,
                })));
                let minutes = remaining_ms.div_ceil(60_000);
                self.broadcast(frames::notice(format!(
                    "{minutes} minute(s) left in this round."
                )));
            }
            Effect::Note(note) => {
                if let Some(turn) = self.last_candidate_turn {
                    let _ = self
                        .services
                        .db
                        .call(move |c| live::add_note(c, turn, &note))
                        .await;
                }
            }
            Effect::Finished => {
                if self.transition(Transition::Complete).await {
                    let state = self.session_state();
                    self.broadcast(state);
                    self.services.scorer.spawn(self.session.clone(), None);
                }
            }
        }
    }
}
