//! The interviewer's language model behind one small object-safe trait: [`Llm::generate`] streams text pieces to a
//! sink that can stop it between pieces (cancellation, barge-in). Backends: [`scripted::Scripted`], a
//! deterministic interviewer that needs no model (tests, demos, machines without models), the local candle models
//! ([`local`]), and models on another server ([`remote`]: OpenAI-compatible servers and Gemini). Generation is
//! blocking: call it on a dedicated thread.

pub mod local;
pub mod remote;
pub mod scripted;

use std::ops::ControlFlow;

/// Who a message of a conversation with a model is from: the instructions, the user, or the model itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageRole {
    System,
    User,
    Assistant,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub role: MessageRole,
    pub content: String,
}

/// What to generate. Model backends read `messages`; the scripted backend says `scripted`, the engine's own
/// wording of the same piece.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub messages: Vec<Message>,
    pub scripted: String,
    pub max_tokens: u32,
    pub temperature: f32,
    pub seed: u64,
    pub stop: Vec<String>,
    /// The conversation this request continues (an interview's id): local models keep its KV cache between
    /// turns, so a follow-up only pays for its new tokens.
    pub session: Option<String>,
    /// Benchmarks: keep going past the model's end-of-turn tokens, so exactly `max_tokens` are generated.
    pub ignore_eos: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    pub text: String,
    /// True when the sink stopped generation early.
    pub cancelled: bool,
    pub tokens: u32,
    pub usage: Usage,
}

/// What a generation cost, for logs and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub prompt_tokens: u32,
    /// Prompt tokens whose KV cache was reused from the conversation's previous turn.
    pub cached_tokens: u32,
    pub completion_tokens: u32,
    /// From the request to the first token (queueing and prefill included).
    pub first_token: std::time::Duration,
    /// Time spent running the prompt's new tokens.
    pub prefill: std::time::Duration,
    pub total: std::time::Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error("the model could not be loaded: {0}")]
    Load(String),
    #[error("generation failed: {0}")]
    Generate(String),
    /// Too many requests wait already: asking again at once is refused the same way.
    #[error("the interviewer model is busy; try again in a moment")]
    Busy,
    /// A model on another server could not be used for this request (down, refused, too slow, cut off); asking
    /// again at once would most likely fail the same way.
    #[error("the model server failed: {0}")]
    Unavailable(String),
}

pub trait Llm: Send + Sync {
    /// A short name for logs and reports, e.g. `scripted` or `local:qwen2.5-coder-0.5b`.
    fn name(&self) -> &str;

    /// Generates a reply, handing each new piece of text to `sink` as soon as it exists. When `sink` returns
    /// `ControlFlow::Break`, generation stops before the next piece and the completion is marked cancelled. While
    /// nothing is written yet (queued, or running the prompt), a backend may call `sink` with an empty piece to ask
    /// whether the reply is still wanted.
    fn generate(
        &self,
        req: &Request,
        sink: &mut dyn FnMut(&str) -> ControlFlow<()>,
    ) -> Result<Completion, LlmError>;

    /// The memory this backend's conversation caches hold in this process (idle and in use), where it keeps any.
    fn cache_bytes(&self) -> Option<usize> {
        None
    }

    /// Bounds this process's resident memory for a backend that keeps caches in it: they hold only what stays
    /// below `resident` bytes. Other backends keep nothing here and ignore it.
    fn bound_resident(&self, _resident: usize) {}
}
