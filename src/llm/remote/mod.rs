//! Interviewer and judge models on another server: any server that speaks OpenAI's chat completions (OpenAI, vLLM,
//! llama.cpp's server, Ollama, LM Studio: [`openai`]) or Google's Gemini API ([`gemini`]). Both stream their reply
//! as server-sent events ([`sse`]); what differs is the request and the event's fields, so each provider is a
//! [`Protocol`] and [`RemoteLlm`] does the rest once:
//!
//! - the request runs on a thread of its own, so the model's sink is asked every 50 ms whether the reply is still
//!   wanted while the server has not written anything yet, and a barge-in drops the connection;
//! - timeouts for connecting, for the first token and for the whole reply ([`Timeouts`]);
//! - a refused connection, 429 and 5xx are tried again twice with backoff (honouring `Retry-After` up to 2 s), as
//!   long as nothing was written yet; 401, 403, 404 and other answers fail at once with the server's own message;
//! - a stream that ends before the protocol's end mark, or carries an error or bytes that are not events, fails;
//! - the API key ([`ApiKey`]) is sent only in the request's header: it is never logged, and `Debug` redacts it.
//!
//! Every failure is an [`LlmError::Unavailable`] with a plain message; the interview says the piece's fixed
//! wording instead and goes on (see `realtime::speak`).

pub mod gemini;
pub mod openai;
pub mod sse;

use std::{
    io::BufReader,
    ops::ControlFlow,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
        mpsc,
    },
    time::{Duration, Instant},
};

use super::{Completion, Llm, LlmError, Request, Usage};

/// Whose protocol a remote model speaks: OpenAI's (chat completions, Realtime, audio: OpenAI, vLLM, llama.cpp's
/// server, Ollama, LM Studio) or Google's Gemini API (generateContent, Live).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    OpenAi,
    Gemini,
}

impl Provider {
    /// The spec's prefix: `openai` or `gemini`.
    pub fn prefix(self) -> &'static str {
        match self {
            Provider::OpenAi => "openai",
            Provider::Gemini => "gemini",
        }
    }

    /// The provider's own API.
    pub fn default_url(self) -> &'static str {
        match self {
            Provider::OpenAi => openai::DEFAULT_URL,
            Provider::Gemini => gemini::DEFAULT_URL,
        }
    }

    /// The environment variable the provider's own tools read the key from.
    pub fn key_variable(self) -> &'static str {
        match self {
            Provider::OpenAi => "OPENAI_API_KEY",
            Provider::Gemini => "GEMINI_API_KEY",
        }
    }
}

/// Where a remote model is and the key it wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The API's base URL, e.g. `http://127.0.0.1:8000/v1` (no trailing slash).
    pub url: String,
    pub key: Option<ApiKey>,
}

impl Endpoint {
    /// Checks `url` (http or https, with a host) and trims its trailing slashes.
    pub fn new(url: &str, key: Option<ApiKey>) -> Result<Endpoint, String> {
        let url = url.trim().trim_end_matches('/');
        host(url)?;
        Ok(Endpoint {
            url: url.to_string(),
            key,
        })
    }

    /// Whether the server is on this machine (a loopback address or `localhost`): what `--offline` allows.
    pub fn is_loopback(&self) -> bool {
        let Ok(host) = host(&self.url) else {
            return false;
        };
        let name = host_name(host);
        name.eq_ignore_ascii_case("localhost")
            || name
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }

    /// The host (and port) the candidate's words go to, for the privacy notice.
    pub fn host(&self) -> String {
        host(&self.url).unwrap_or_default().to_string()
    }

    /// The key as one request header, `name: value(KEY)`; none without a key.
    pub fn key_header(
        &self,
        name: &'static str,
        value: impl Fn(&str) -> String,
    ) -> Vec<(&'static str, String)> {
        self.key.iter().map(|k| (name, value(k.expose()))).collect()
    }

    /// `Authorization: Bearer KEY`, OpenAI's way, when there is a key.
    pub fn bearer(&self) -> Vec<(&'static str, String)> {
        self.key_header("Authorization", |k| format!("Bearer {k}"))
    }

    /// A POST to `path` under the base URL, with the key as a bearer token (OpenAI's speech APIs).
    pub fn post_bearer(
        &self,
        agent: &ureq::Agent,
        path: &str,
    ) -> ureq::RequestBuilder<ureq::typestate::WithBody> {
        self.bearer().into_iter().fold(
            agent.post(format!("{}{path}", self.url)),
            |r, (name, value)| r.header(name, value),
        )
    }
}

/// The HTTP client of one remote backend: Rehearse's user agent, every status read as an answer, and these
/// limits (to connect, to the answer's start, in all).
pub fn agent(connect: Duration, first_byte: Option<Duration>, total: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_connect(Some(connect))
        .timeout_recv_response(first_byte)
        .timeout_global(Some(total))
        .http_status_as_error(false)
        .user_agent(concat!("rehearse/", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}

/// What a server that refused a request said, on one line (see [`server_message`]).
pub fn refused_with(response: &mut ureq::http::Response<ureq::Body>) -> String {
    server_message(&body_text(response, 8 << 10))
}

/// A reply's body as text, at most `limit` bytes read (invalid UTF-8 replaced; empty when it cannot be read).
pub fn body_text(response: &mut ureq::http::Response<ureq::Body>, limit: u64) -> String {
    response
        .body_mut()
        .with_config()
        .limit(limit)
        .lossy_utf8(true)
        .read_to_string()
        .unwrap_or_default()
}

/// One event's JSON. An `error` object in it (`{"error": {"message": ...}}`, both providers' shape) is the server
/// failing mid-reply.
pub fn event_json(data: &str) -> Result<serde_json::Value, String> {
    let event: serde_json::Value = serde_json::from_str(data)
        .map_err(|e| format!("the server sent an event that is not JSON ({e})"))?;
    if let Some(error) = event.get("error") {
        let message = error
            .get("message")
            .and_then(serde_json::Value::as_str)
            .map_or_else(|| error.to_string(), str::to_string);
        return Err(format!(
            "the server failed mid-reply: {}",
            crate::text::clip(&message, 200)
        ));
    }
    Ok(event)
}

/// The error for an event that carries none of what the protocol's events carry.
pub fn unexpected_event(data: &str, missing: &str) -> String {
    format!(
        "the server sent an event with {missing}: {}",
        crate::text::clip(data, 120)
    )
}

/// The host part of an http(s) URL, with its port: `127.0.0.1:8000`, `[::1]:8000`, `api.openai.com`.
fn host(url: &str) -> Result<&str, String> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| format!("{url:?} is not an http:// or https:// URL"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit('@').next().unwrap_or_default();
    if host_name(host).is_empty() || host.chars().any(char::is_whitespace) {
        return Err(format!("{url:?} has no host"));
    }
    Ok(host)
}

/// A host without its port or an IPv6 address's brackets.
fn host_name(host: &str) -> &str {
    match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host.split(':').next().unwrap_or_default(),
    }
}

/// An API key: sent in a request header, never logged or shown.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// `None` for an empty or blank key.
    pub fn new(key: &str) -> Option<ApiKey> {
        let key = key.trim();
        (!key.is_empty()).then(|| ApiKey(key.to_string()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(redacted)")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub connect: Duration,
    /// From sending the request to the first word (the server's queue and prefill included).
    pub first_token: Duration,
    pub total: Duration,
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        Timeouts {
            connect: Duration::from_secs(5),
            first_token: Duration::from_secs(30),
            total: Duration::from_secs(120),
        }
    }
}

/// Tries after the first when a server is down, busy (429) or failing (5xx).
pub const RETRIES: u32 = 2;

/// A request as it goes over the wire.
#[derive(Debug, Clone)]
pub struct Post {
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: serde_json::Value,
}

/// What one event of a reply holds.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Chunk {
    pub text: String,
    /// The reply is complete (a finish reason or an end mark).
    pub finished: bool,
    pub usage: Option<Usage>,
}

/// A provider's side of a streamed completion.
pub trait Protocol: Send + Sync {
    /// `openai` or `gemini`: the spec's prefix.
    fn prefix(&self) -> &'static str;
    fn post(&self, endpoint: &Endpoint, model: &str, req: &Request) -> Post;
    /// Reads one event's data.
    fn read(&self, data: &str) -> Result<Chunk, String>;
    /// The request that asks the server about `model` (`rehearse doctor`): its URL and headers.
    fn model_query(
        &self,
        endpoint: &Endpoint,
        model: &str,
    ) -> (String, Vec<(&'static str, String)>);
    /// Whether the answer to [`Protocol::model_query`] names `model`.
    fn knows_model(&self, answer: &serde_json::Value, model: &str) -> bool;
}

/// A model on another server, through a [`Protocol`].
pub struct RemoteLlm {
    name: String,
    model: String,
    endpoint: Endpoint,
    protocol: Box<dyn Protocol>,
    timeouts: Timeouts,
    agent: ureq::Agent,
}

impl RemoteLlm {
    pub fn new(
        protocol: Box<dyn Protocol>,
        model: &str,
        endpoint: Endpoint,
        timeouts: Timeouts,
    ) -> RemoteLlm {
        // The reply's own first-token check (`read_reply`) decides and names a silent server; the client's limit on
        // the response's start is a backstop a second later, so that on a busy machine the two never race (its
        // "did not answer in time" once came first in CI).
        let first_byte = timeouts.first_token + Duration::from_secs(1);
        let agent = agent(timeouts.connect, Some(first_byte), timeouts.total);
        RemoteLlm {
            name: format!("{}:{model}", protocol.prefix()),
            model: model.to_string(),
            endpoint,
            protocol,
            timeouts,
            agent,
        }
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Checks the server as `rehearse doctor` does: it answers, takes the key, knows the model, and writes a
    /// one-token reply. `Ok` says how it went; `Err` says what is wrong.
    pub fn probe(&self) -> Result<String, String> {
        let (url, headers) = self.protocol.model_query(&self.endpoint, &self.model);
        let mut request = self.agent.get(&url);
        for (name, value) in &headers {
            request = request.header(*name, value);
        }
        let listed = match request.call() {
            Ok(mut r) if r.status().is_success() => {
                let body = r
                    .body_mut()
                    .with_config()
                    .limit(1 << 20)
                    .read_to_string()
                    .unwrap_or_default();
                serde_json::from_str(&body)
                    .is_ok_and(|v| self.protocol.knows_model(&v, &self.model))
            }
            // A server that keeps no list of models (404 on the listing) may still serve; the reply says.
            Ok(r) if r.status().as_u16() == 404 => false,
            Ok(mut r) => return Err(refusal(r.status().as_u16(), &mut r, 0)),
            Err(e) => return Err(format!("{}: {}", self.endpoint.url, transport(&e, 0))),
        };
        let request = Request {
            messages: vec![super::Message {
                role: super::MessageRole::User,
                content: "Say OK.".into(),
            }],
            scripted: String::new(),
            max_tokens: 1,
            temperature: 0.0,
            seed: 0,
            stop: Vec::new(),
            session: None,
            ignore_eos: false,
        };
        let started = Instant::now();
        self.generate(&request, &mut |_| ControlFlow::Continue(()))
            .map_err(|e| e.to_string())?;
        Ok(format!(
            "{} answers{}; {}; a one-token reply in {} ms",
            self.endpoint.url,
            if self.endpoint.key.is_some() {
                ", the key is accepted"
            } else {
                ""
            },
            if listed {
                format!("it lists {}", self.model)
            } else {
                format!(
                    "it does not list {} (a one-model server such as llama.cpp's answers to any name)",
                    self.model
                )
            },
            started.elapsed().as_millis()
        ))
    }
}

impl Llm for RemoteLlm {
    fn name(&self) -> &str {
        &self.name
    }

    fn generate(
        &self,
        req: &Request,
        sink: &mut dyn FnMut(&str) -> ControlFlow<()>,
    ) -> Result<Completion, LlmError> {
        let post = self.protocol.post(&self.endpoint, &self.model, req);
        let started = Instant::now();
        let stop = Arc::new(AtomicBool::new(false));
        let _stop_on_return = StopOnDrop(stop.clone());
        let (tx, rx) = mpsc::sync_channel::<Message>(64);
        let agent = self.agent.clone();
        std::thread::Builder::new()
            .name("rehearse-remote".into())
            .spawn(move || fetch(&agent, &post, &stop, &tx))
            .map_err(|e| LlmError::Unavailable(format!("cannot start a request: {e}")))?;
        self.read_reply(&rx, started, sink)
    }
}

impl RemoteLlm {
    /// Reads the request thread's events until the reply is complete, failed, timed out or no longer wanted.
    fn read_reply(
        &self,
        rx: &mpsc::Receiver<Message>,
        started: Instant,
        sink: &mut dyn FnMut(&str) -> ControlFlow<()>,
    ) -> Result<Completion, LlmError> {
        let failed = |what: String| LlmError::Unavailable(format!("{}: {what}", self.endpoint.url));
        let mut text = String::new();
        let mut usage = Usage::default();
        let mut finished = false;
        let mut pieces = 0u32;
        let done = |text: String, cancelled: bool, pieces: u32, mut usage: Usage| {
            usage.total = started.elapsed();
            if usage.completion_tokens == 0 {
                usage.completion_tokens = pieces;
            }
            Ok(Completion {
                text,
                cancelled,
                tokens: usage.completion_tokens,
                usage,
            })
        };
        loop {
            match rx.recv_timeout(Duration::from_millis(50)) {
                Ok(Message::Event(data)) => {
                    let chunk = self.protocol.read(&data).map_err(failed)?;
                    if let Some(u) = chunk.usage {
                        usage = Usage {
                            first_token: usage.first_token,
                            ..u
                        };
                    }
                    finished |= chunk.finished;
                    if chunk.text.is_empty() {
                        continue;
                    }
                    if pieces == 0 {
                        usage.first_token = started.elapsed();
                    }
                    pieces += 1;
                    if sink(&chunk.text).is_break() {
                        return done(text, true, pieces, usage);
                    }
                    text.push_str(&chunk.text);
                }
                Ok(Message::End) if finished => return done(text, false, pieces, usage),
                Ok(Message::End) => {
                    return Err(failed(
                        "the reply stopped before it was finished (the stream was cut off)".into(),
                    ));
                }
                Ok(Message::Failed(why)) => return Err(failed(why)),
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(failed("the request ended without a reply".into()));
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    let waited = started.elapsed();
                    if pieces == 0 && waited > self.timeouts.first_token {
                        return Err(failed(format!(
                            "no reply within {:.1} s",
                            self.timeouts.first_token.as_secs_f64()
                        )));
                    }
                    if waited > self.timeouts.total {
                        return Err(failed(format!(
                            "the reply took longer than {:.1} s",
                            self.timeouts.total.as_secs_f64()
                        )));
                    }
                    if pieces == 0 && sink("").is_break() {
                        return done(text, true, pieces, usage);
                    }
                }
            }
        }
    }
}

/// What the request thread hands to the reading side.
enum Message {
    /// One event's data.
    Event(String),
    /// The stream ended.
    End,
    Failed(String),
}

struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Sends `post` (trying again on a refused connection, 429 and 5xx) and hands each event of the reply to `tx`
/// until the stream ends, `stop` is set or nobody reads any more (which drops the connection).
fn fetch(agent: &ureq::Agent, post: &Post, stop: &AtomicBool, tx: &mpsc::SyncSender<Message>) {
    let body = post.body.to_string();
    let mut attempt = 0;
    let response = loop {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let mut request = agent
            .post(&post.url)
            .header("Content-Type", "application/json")
            .header("Accept", "text/event-stream");
        for (name, value) in &post.headers {
            request = request.header(*name, value);
        }
        let retry_in = match request.send(&body) {
            Ok(response) if response.status().is_success() => break response,
            Ok(mut response) => {
                let status = response.status().as_u16();
                let retry = status == 429 || status >= 500;
                if !retry || attempt >= RETRIES {
                    let why = refusal(status, &mut response, attempt);
                    let _ = tx.send(Message::Failed(why));
                    return;
                }
                retry_after(&response).unwrap_or(backoff(attempt))
            }
            Err(e @ (ureq::Error::ConnectionFailed | ureq::Error::Io(_))) if attempt < RETRIES => {
                tracing::debug!(error = %e, "the model server is not answering; trying again");
                backoff(attempt)
            }
            Err(e) => {
                let _ = tx.send(Message::Failed(transport(&e, attempt)));
                return;
            }
        };
        attempt += 1;
        let until = Instant::now() + retry_in;
        while Instant::now() < until {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let kind = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if !kind.is_empty() && !kind.starts_with("text/event-stream") {
        let why = format!(
            "the server answered with {kind}, not an event stream (is the URL a model API's, ending in /v1?)"
        );
        let _ = tx.send(Message::Failed(why));
        return;
    }
    let reader = BufReader::new(response.into_body().into_reader());
    for event in sse::Events::new(reader) {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let message = match event {
            Ok(event) => Message::Event(event.data),
            Err(e) => Message::Failed(format!("the reply is not an event stream: {e}")),
        };
        let failed = matches!(message, Message::Failed(_));
        if tx.send(message).is_err() || failed {
            return;
        }
    }
    let _ = tx.send(Message::End);
}

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(250 * 4u64.pow(attempt))
}

/// The server's `Retry-After` in seconds, at most 2 s (a longer wait is the fixed wording's to cover).
fn retry_after(response: &ureq::http::Response<ureq::Body>) -> Option<Duration> {
    let seconds: f64 = response
        .headers()
        .get("retry-after")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs_f64(seconds.clamp(0.0, 2.0)))
}

/// What a server that said no said, in one line.
fn refusal(status: u16, response: &mut ureq::http::Response<ureq::Body>, attempt: u32) -> String {
    let said = refused_with(response);
    let what = match status {
        401 | 403 => "the server refused the API key (set REHEARSE_LLM_API_KEY or llm_api_key)",
        404 => "no such model or API path on this server",
        429 => "the server is rate limiting",
        s if s >= 500 => "the server failed",
        _ => "the server refused the request",
    };
    let tries = if attempt > 0 {
        format!(" after {} tries", attempt + 1)
    } else {
        String::new()
    };
    if said.is_empty() {
        format!("{what} (HTTP {status}{tries})")
    } else {
        format!("{what} (HTTP {status}{tries}): {said}")
    }
}

/// The message in an error body (`{"error": {"message": ...}}`, `{"detail": ...}`, or the text), on one line and
/// at most 200 characters.
pub fn server_message(body: &str) -> String {
    let json: Option<serde_json::Value> = serde_json::from_str(body).ok();
    let said = json
        .as_ref()
        .and_then(|v| {
            v.pointer("/error/message")
                .or_else(|| v.get("error"))
                .or_else(|| v.get("detail"))
                .or_else(|| v.get("message"))
        })
        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
        .unwrap_or_else(|| body.to_string());
    let one_line = said.split_whitespace().collect::<Vec<_>>().join(" ");
    crate::text::clip(&one_line, 200)
}

fn transport(e: &ureq::Error, attempt: u32) -> String {
    let tries = if attempt > 0 {
        format!(" ({} tries)", attempt + 1)
    } else {
        String::new()
    };
    match e {
        ureq::Error::HostNotFound => "the server's host name is not known".into(),
        ureq::Error::ConnectionFailed | ureq::Error::Io(_) => {
            format!("cannot reach the server{tries}: {e}")
        }
        ureq::Error::Timeout(t) => format!("the server did not answer in time ({t})"),
        other => format!("the request failed: {other}"),
    }
}

#[cfg(test)]
mod tests;
