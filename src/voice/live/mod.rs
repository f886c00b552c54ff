//! Speech-to-speech models behind the same three roles as the rest of an interview (`--realtime openai:MODEL`,
//! OpenAI's Realtime API, or `--realtime gemini:MODEL`, Gemini Live): one [`Live`] is the interviewer's model
//! ([`Llm`]), its ears ([`SpeechToText`]) and its voice ([`TextToSpeech`]), so the engine stays in charge of the
//! interview exactly as with local models.
//!
//! - **Hearing**: when Rehearse's own turn-taking decides an answer is over, its audio goes to the provider and the
//!   provider's transcription is the stored answer. (No captions: each would be a paid transcription.)
//! - **Speaking**: each piece of an interviewer turn that a model writes is one provider reply, asked for with the
//!   engine's instruction for that piece; the provider writes and speaks it at once. Its transcript streams back as
//!   the piece's words, and its audio waits in [`voiced`] until the guard has read those words: a line the guard
//!   passes is played from that audio, a line it holds back is never heard (the scripted wording is said instead).
//!   So provider audio is checked before it plays, a line at a time, at the cost of waiting for a line's reply to
//!   finish (about a second for a question).
//! - **Fixed wording** (the engine's own sentences, and scripted wording said in place of a line the guard held
//!   back) is spoken by the same voice, asked to say the words exactly.
//! - A **barge-in** stops playback, and the provider's reply is cancelled (`response.cancel`; Gemini's session is
//!   closed); the stored interviewer turn is what was heard, as with every voice.
//! - **Failures**: a provider that cannot be reached or fails a reply costs that piece, which falls back to its
//!   scripted wording (and, for the voice, to text on the page), with a notice; an answer it cannot transcribe is
//!   reported to the candidate, who can say it again or type it.
//!
//! The wire protocols, with every event sent and read, are in [`openai`] and [`gemini`].

pub mod gemini;
pub mod openai;
mod session;
mod socket;
mod voiced;

use std::{ops::ControlFlow, sync::Mutex, time::Instant};

use anyhow::{Context as _, bail};
use base64::Engine as _;

use crate::{
    llm::{Completion, Llm, LlmError, MessageRole, Request, Usage, remote::Endpoint},
    voice::{SpeechToText, TextToSpeech, Transcript, tts::resample},
};
use socket::Socket;
use voiced::Claim;

pub use crate::llm::remote::Provider;

/// Which live model, where, and with which voice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveConfig {
    pub provider: Provider,
    pub model: String,
    pub endpoint: Endpoint,
    /// The provider's voice name (OpenAI's `marin`, `alloy`, ...; Gemini's `Puck`, `Kore`, ...).
    pub voice: String,
}

impl LiveConfig {
    /// The voice used when none is named.
    pub fn default_voice(provider: Provider) -> &'static str {
        match provider {
            Provider::OpenAi => "marin",
            Provider::Gemini => "Puck",
        }
    }
}

/// A piece of what a provider said, read from one of its events.
#[derive(Debug)]
pub enum Said {
    /// The session is set up.
    Ready,
    /// The answer's audio was committed as this item (OpenAI).
    Committed(String),
    /// The transcription of the answer (OpenAI: whole, for `item`; Gemini: a piece, `item` empty).
    Heard {
        item: String,
        text: String,
    },
    /// Words of its own reply's transcript.
    Text(String),
    /// Audio of its own reply, 16-bit mono at 24 kHz.
    Audio(Vec<i16>),
    /// It began its own turn (Gemini: the answer's transcription is complete).
    Replying,
    /// Its reply is finished (or was interrupted).
    Done,
    Failed(String),
    Other,
}

pub struct Live {
    config: LiveConfig,
    name: String,
    idle: Mutex<Vec<Socket>>,
    voiced: voiced::Store,
}

impl std::fmt::Debug for Live {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Live")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Live {
    pub fn new(config: LiveConfig) -> Live {
        let name = format!(
            "{}:{} ({}, {})",
            config.provider.prefix(),
            config.model,
            match config.provider {
                Provider::OpenAi => "Realtime",
                Provider::Gemini => "Live",
            },
            config.voice
        );
        Live {
            config,
            name,
            idle: Mutex::new(Vec::new()),
            voiced: voiced::Store::default(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.config.endpoint
    }

    /// Speaks `text` word for word at `rate`, keeping its audio for another rate's listeners.
    fn say_exactly(
        &self,
        text: &str,
        rate: u32,
        sink: &mut dyn FnMut(&[i16]) -> ControlFlow<()>,
    ) -> anyhow::Result<()> {
        let line = self.voiced.begin_claimed(text, rate);
        let system = "You are the voice of a job interviewer. When given a text, say it aloud exactly as written, \
                      word for word, in a calm, friendly voice, and say nothing else.";
        let mut stream = resample::Stream::new(openai::RATE, rate);
        let result = self.reply(system, text, &mut |said| {
            let Said::Audio(pcm) = said else {
                return ControlFlow::Continue(());
            };
            line.push_audio(&pcm);
            let out = crate::voice::tts::piper::to_i16(&stream.push(&to_f32(&pcm)));
            if out.is_empty() {
                ControlFlow::Continue(())
            } else {
                sink(&out)
            }
        });
        match result {
            Ok(false) => {
                line.finish();
                let rest = crate::voice::tts::piper::to_i16(&stream.finish());
                if !rest.is_empty() {
                    let _ = sink(&rest);
                }
                Ok(())
            }
            Ok(true) => {
                line.abandon();
                Ok(())
            }
            Err(e) => {
                line.abandon();
                Err(e)
            }
        }
    }

    /// Plays a line the model voiced as it wrote it.
    fn play(
        &self,
        line: &voiced::Line,
        rate: u32,
        sink: &mut dyn FnMut(&[i16]) -> ControlFlow<()>,
    ) -> anyhow::Result<()> {
        let mut stream = resample::Stream::new(openai::RATE, rate);
        let mut read = 0;
        while let Some(pcm) = line.audio_after(read, session::TOTAL) {
            read += pcm.len();
            let out = crate::voice::tts::piper::to_i16(&stream.push(&to_f32(&pcm)));
            if !out.is_empty() && sink(&out).is_break() {
                line.abandon();
                return Ok(());
            }
        }
        let rest = crate::voice::tts::piper::to_i16(&stream.finish());
        if !rest.is_empty() {
            let _ = sink(&rest);
        }
        Ok(())
    }

    /// `rehearse doctor`: a session opens and is set up (reachable, the key accepted, the model known).
    pub fn probe(&self) -> Result<String, String> {
        let started = Instant::now();
        let socket = self.open("Say nothing.").map_err(|e| format!("{e:#}"))?;
        let host = socket.host().to_string();
        socket.close();
        Ok(format!(
            "{host}: a session opened and was set up in {} ms",
            started.elapsed().as_millis()
        ))
    }
}

impl Llm for Live {
    fn name(&self) -> &str {
        &self.name
    }

    fn generate(
        &self,
        req: &Request,
        sink: &mut dyn FnMut(&str) -> ControlFlow<()>,
    ) -> Result<Completion, LlmError> {
        let started = Instant::now();
        let mut usage = Usage::default();
        // A warm-up reads a prompt ahead for a local cache; a live model has nothing to warm.
        if req.max_tokens <= 1 {
            return Ok(Completion {
                text: String::new(),
                cancelled: false,
                tokens: 0,
                usage,
            });
        }
        let (system, user) = instructions(req)
            .ok_or_else(|| LlmError::Generate("the request has no line to ask for".into()))?;
        let line = self.voiced.begin();
        let mut text = String::new();
        let result = self.reply(&system, &user, &mut |said| {
            if line.abandoned() {
                return ControlFlow::Break(());
            }
            match said {
                Said::Text(delta) => {
                    if text.is_empty() {
                        usage.first_token = started.elapsed();
                    }
                    line.push_text(&delta);
                    text.push_str(&delta);
                    sink(&delta)
                }
                Said::Audio(pcm) => {
                    line.push_audio(&pcm);
                    ControlFlow::Continue(())
                }
                _ => sink(""),
            }
        });
        usage.total = started.elapsed();
        match result {
            Ok(cancelled) => {
                if cancelled {
                    line.abandon();
                } else {
                    line.finish();
                }
                Ok(Completion {
                    tokens: text.split_whitespace().count() as u32,
                    text,
                    cancelled,
                    usage,
                })
            }
            Err(e) => {
                line.abandon();
                Err(LlmError::Unavailable(format!("{e:#}")))
            }
        }
    }
}

impl SpeechToText for Live {
    fn transcribe(&self, samples: &[f32]) -> anyhow::Result<Transcript> {
        let started = Instant::now();
        let text = self
            .hear(samples)
            .context("the live model could not transcribe the answer")?;
        Ok(Transcript {
            text,
            segments: Vec::new(),
            audio_ms: (samples.len() / 16) as u32,
            elapsed_ms: started.elapsed().as_millis() as u32,
        })
    }

    fn draft(&self, _samples: &[f32]) -> anyhow::Result<Transcript> {
        bail!("no captions with a live model: each would be a paid transcription")
    }
}

impl TextToSpeech for Live {
    fn sample_rate(&self) -> u32 {
        openai::RATE
    }

    fn speak(
        &self,
        text: &str,
        rate: u32,
        sink: &mut dyn FnMut(&[i16]) -> ControlFlow<()>,
    ) -> anyhow::Result<()> {
        anyhow::ensure!(rate > 0, "cannot speak at 0 Hz");
        match self.voiced.claim(text, rate) {
            Claim::Play(line) => self.play(&line, rate, sink),
            Claim::Covered => Ok(()),
            Claim::Unknown => self.say_exactly(text, rate, sink),
        }
    }
}

/// A model request as a live reply's instruction (the persona, the rules and the worked examples) and its user
/// message (the task for this line).
fn instructions(req: &Request) -> Option<(String, String)> {
    let (last, earlier) = req.messages.split_last()?;
    if last.role != MessageRole::User {
        return None;
    }
    let mut system = String::new();
    for m in earlier {
        let label = match m.role {
            MessageRole::System => "",
            MessageRole::User => "Example task:\n",
            MessageRole::Assistant => "Example line (what you would say):\n",
        };
        system.push_str(label);
        system.push_str(m.content.trim());
        system.push_str("\n\n");
    }
    system.push_str(
        "You speak aloud. Say only the line itself, once, in English, at a natural pace: no preamble, no \
         labels, nothing after it.",
    );
    Some((system, last.content.clone()))
}

/// The message of a provider's error object, on one line, or `otherwise`.
fn error_message(error: &serde_json::Value, otherwise: &str) -> String {
    error["message"]
        .as_str()
        .map(crate::llm::remote::server_message)
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| otherwise.to_string())
}

/// `https://host/path` as `wss://host/path` (and `http` as `ws`).
fn ws_url(url: &str) -> String {
    if let Some(rest) = url.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = url.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        url.to_string()
    }
}

fn query_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `samples` as base64 of 16-bit little-endian PCM, `per_chunk` samples a chunk.
fn pcm_base64_chunks(samples: &[f32], per_chunk: usize) -> Vec<String> {
    samples
        .chunks(per_chunk.max(1))
        .map(|c| {
            let bytes: Vec<u8> = crate::voice::tts::piper::to_i16(c)
                .iter()
                .flat_map(|s| s.to_le_bytes())
                .collect();
            base64::engine::general_purpose::STANDARD.encode(bytes)
        })
        .collect()
}

fn pcm_i16(bytes: &[u8]) -> Vec<i16> {
    bytes
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect()
}

fn to_f32(pcm: &[i16]) -> Vec<f32> {
    pcm.iter().map(|&s| f32::from(s) / 32_768.0).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::Message;

    #[test]
    fn a_request_becomes_an_instruction_and_a_task() {
        let m = |role, content: &str| Message {
            role,
            content: content.into(),
        };
        let req = Request {
            messages: vec![
                m(MessageRole::System, "You are Priya, an interviewer."),
                m(MessageRole::User, "Task: ask about the queue."),
                m(MessageRole::Assistant, "Why a queue?"),
                m(MessageRole::User, "Task: ask about the cache."),
            ],
            scripted: String::new(),
            max_tokens: 60,
            temperature: 0.6,
            seed: 1,
            stop: vec![],
            session: None,
            ignore_eos: false,
        };
        let (system, user) = instructions(&req).unwrap();
        assert!(system.starts_with("You are Priya"));
        assert!(system.contains("Example task:\nTask: ask about the queue."));
        assert!(system.contains("Example line (what you would say):\nWhy a queue?"));
        assert_eq!(user, "Task: ask about the cache.");
        assert!(
            instructions(&Request {
                messages: vec![],
                ..req
            })
            .is_none()
        );
        assert_eq!(ws_url("http://127.0.0.1:9/v1"), "ws://127.0.0.1:9/v1");
        assert_eq!(query_escape("qwen2.5:0.5b"), "qwen2.5%3A0.5b");
        assert_eq!(pcm_i16(&[1, 0, 0, 128]), vec![1, i16::MIN]);
    }
}
