//! The provider's sessions as [`Live`] uses them: opening and setting one up, keeping OpenAI's idle ones for the
//! next call, asking for one reply and reading it to its end (or cancelling it), and hearing one answer. What is
//! said in each message is in [`super::openai`] and [`super::gemini`]; what the replies are used for is in the module
//! above.

use std::{
    ops::ControlFlow,
    time::{Duration, Instant},
};

use anyhow::bail;

use super::{
    Live, Provider, Said, gemini, openai,
    socket::{Got, Socket},
};
use crate::voice::tts::resample;

/// Connections kept open between calls (OpenAI's sessions hold no conversation, so any call can use any).
const IDLE_KEPT: usize = 4;
/// From a request to the provider's first event of its answer.
const FIRST_EVENT: Duration = Duration::from_secs(15);
/// A whole line, or a whole transcription.
pub(super) const TOTAL: Duration = Duration::from_secs(60);
/// After a cancel, how long the rest of a reply is read before the connection is given up.
const DRAIN: Duration = Duration::from_secs(2);
/// The longest answer sent to be transcribed.
const MAX_HEARD_SECONDS: usize = 300;

impl Live {
    /// A new session, set up (`system` is Gemini's instruction for the session; OpenAI takes it per reply).
    pub(super) fn open(&self, system: &str) -> anyhow::Result<Socket> {
        let c = &self.config;
        let (url, headers, setup) = match c.provider {
            Provider::OpenAi => (
                openai::url(&c.endpoint, &c.model),
                openai::headers(&c.endpoint),
                openai::session(&c.voice),
            ),
            Provider::Gemini => (
                gemini::url(&c.endpoint),
                gemini::headers(&c.endpoint),
                gemini::setup(&c.model, &c.voice, system),
            ),
        };
        let mut socket = Socket::connect(&url, &headers)?;
        socket.send(&setup)?;
        let deadline = Instant::now() + FIRST_EVENT;
        loop {
            let message = socket.next_before(deadline, "setting up the session")?;
            for said in self.read(&message) {
                match said {
                    Said::Ready => return Ok(socket),
                    Said::Failed(m) => bail!("{}: {m}", socket.host()),
                    _ => {}
                }
            }
        }
    }

    pub(super) fn read(&self, message: &serde_json::Value) -> Vec<Said> {
        match self.config.provider {
            Provider::OpenAi => vec![openai::read(message)],
            Provider::Gemini => gemini::read(message),
        }
    }

    /// A session for one call with `messages` sent on it: an idle one (OpenAI) that takes them, else a new one.
    pub(super) fn take(
        &self,
        system: &str,
        messages: &[serde_json::Value],
    ) -> anyhow::Result<Socket> {
        let send_all = |socket: &mut Socket| messages.iter().try_for_each(|m| socket.send(m));
        let pooled = self.config.provider == Provider::OpenAi;
        // An idle session the provider closed meanwhile is dropped for the next one.
        while let Some(mut socket) = self
            .idle
            .lock()
            .expect("idle lock")
            .pop()
            .filter(|_| pooled)
        {
            if send_all(&mut socket).is_ok() {
                return Ok(socket);
            }
        }
        let mut socket = self.open(system)?;
        send_all(&mut socket)?;
        Ok(socket)
    }

    /// A session whose call ended cleanly: kept for the next (OpenAI), else closed.
    pub(super) fn give_back(&self, socket: Socket) {
        if self.config.provider == Provider::OpenAi {
            let mut idle = self.idle.lock().expect("idle lock");
            if idle.len() < IDLE_KEPT {
                idle.push(socket);
                return;
            }
        }
        socket.close();
    }

    /// Asks for one spoken reply (`system`: the instruction; `user`: the request) and hands each piece of it to
    /// `on` until the reply is done or `on` says stop (the reply is then cancelled). Returns whether it stopped.
    pub(super) fn reply(
        &self,
        system: &str,
        user: &str,
        on: &mut dyn FnMut(Said) -> ControlFlow<()>,
    ) -> anyhow::Result<bool> {
        let request = match self.config.provider {
            Provider::OpenAi => openai::respond(system, user),
            Provider::Gemini => gemini::respond(user),
        };
        let mut socket = self.take(system, &[request])?;
        let started = Instant::now();
        let mut heard_any = false;
        loop {
            let deadline = if heard_any {
                started + TOTAL
            } else {
                started + FIRST_EVENT
            };
            let message = match socket.read()? {
                Got::Message(m) => m,
                Got::Nothing if Instant::now() >= deadline => {
                    bail!(
                        "{}: the live API's reply did not come in time",
                        socket.host()
                    )
                }
                Got::Nothing => {
                    // Asked whether the reply is still wanted while nothing comes.
                    if on(Said::Other).is_break() {
                        self.stop(socket);
                        return Ok(true);
                    }
                    continue;
                }
            };
            for said in self.read(&message) {
                match said {
                    Said::Done => {
                        self.give_back(socket);
                        return Ok(false);
                    }
                    Said::Failed(m) => bail!("{}: {m}", socket.host()),
                    s @ (Said::Text(_) | Said::Audio(_)) => {
                        heard_any = true;
                        if on(s).is_break() {
                            self.stop(socket);
                            return Ok(true);
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    /// Cancels the reply under way: OpenAI's session reads to the reply's end and is kept; Gemini's is closed.
    pub(super) fn stop(&self, mut socket: Socket) {
        if self.config.provider == Provider::Gemini || socket.send(&openai::cancel()).is_err() {
            socket.close();
            return;
        }
        let deadline = Instant::now() + DRAIN;
        while let Ok(message) = socket.next_before(deadline, "cancelling") {
            if matches!(openai::read(&message), Said::Done | Said::Failed(_)) {
                self.give_back(socket);
                return;
            }
        }
    }

    /// The provider's transcription of 16 kHz `samples`.
    pub(super) fn hear(&self, samples: &[f32]) -> anyhow::Result<String> {
        let samples = &samples[..samples.len().min(MAX_HEARD_SECONDS * 16_000)];
        let messages = match self.config.provider {
            Provider::OpenAi => openai::hear(&resample::resample(samples, 16_000, openai::RATE)),
            Provider::Gemini => gemini::hear(samples),
        };
        let mut socket = self.take(
            "Listen to the candidate. Do not answer: say nothing until you are given a line to say.",
            &messages,
        )?;
        let deadline = Instant::now() + TOTAL;
        let (mut item, mut heard) = (None::<String>, String::new());
        loop {
            let message = socket.next_before(deadline, "transcribing the answer")?;
            for said in self.read(&message) {
                match said {
                    Said::Committed(id) => item = Some(id),
                    Said::Heard { item: of, text }
                        if self.config.provider == Provider::OpenAi
                            && item.as_deref().is_none_or(|i| i == of) =>
                    {
                        let _ = socket.send(&openai::forget(&of));
                        self.give_back(socket);
                        return Ok(text.trim().to_string());
                    }
                    // Another item's transcription (OpenAI) is not this answer's.
                    Said::Heard { .. } if self.config.provider == Provider::OpenAi => {}
                    Said::Heard { text, .. } => heard.push_str(&text),
                    // Gemini starts to answer once it has heard the turn: the transcription is whole.
                    Said::Replying | Said::Text(_) | Said::Audio(_) | Said::Done
                        if self.config.provider == Provider::Gemini =>
                    {
                        socket.close();
                        return Ok(heard.trim().to_string());
                    }
                    Said::Failed(m) => bail!("{}: {m}", socket.host()),
                    _ => {}
                }
            }
        }
    }
}
