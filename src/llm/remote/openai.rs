//! OpenAI's chat completions, streamed, as OpenAI and the servers that copy its API (vLLM, llama.cpp's server,
//! Ollama, LM Studio) speak them.
//!
//! Rehearse sends `POST {url}/chat/completions` with `Authorization: Bearer KEY` (when a key is set) and the body
//! `model`, `messages` (`role` system/user/assistant, `content`), `stream: true`, `max_tokens`, `temperature`,
//! `seed`, `stop` (when any), and `stream_options.include_usage`. To a server that is not OpenAI's own it also
//! sends `cache_prompt: true`, which llama.cpp's server reads to keep the conversation's cache between requests
//! (the others ignore unknown fields; OpenAI refuses them, so it does not get it). OpenAI's own API gets
//! `max_completion_tokens` in place of `max_tokens`, which its reasoning models refuse.
//!
//! It reads from each `data:` event `choices[0].delta.content` (the text), `choices[0].finish_reason` (the reply
//! is complete), `usage.prompt_tokens`, `usage.completion_tokens` and `usage.prompt_tokens_details.cached_tokens`,
//! and `error.message` (a failure inside the stream). `data: [DONE]` ends the stream.

use serde_json::{Value, json};

use super::{Chunk, Endpoint, Post, Protocol};
use crate::llm::{MessageRole, Request, Usage};

/// OpenAI's own API, the default `--llm-url` for `openai:` specs.
pub const DEFAULT_URL: &str = "https://api.openai.com/v1";

pub struct OpenAi;

impl Protocol for OpenAi {
    fn prefix(&self) -> &'static str {
        "openai"
    }

    fn post(&self, endpoint: &Endpoint, model: &str, req: &Request) -> Post {
        let messages: Vec<Value> = req
            .messages
            .iter()
            .map(|m| {
                let role = match m.role {
                    MessageRole::System => "system",
                    MessageRole::User => "user",
                    MessageRole::Assistant => "assistant",
                };
                json!({ "role": role, "content": m.content })
            })
            .collect();
        let mut body = json!({
            "model": model,
            "messages": messages,
            "stream": true,
            "stream_options": { "include_usage": true },
            "max_tokens": req.max_tokens,
            "temperature": req.temperature,
            "seed": req.seed,
        });
        if !req.stop.is_empty() {
            // OpenAI takes at most four stop sequences.
            body["stop"] = json!(req.stop.iter().take(4).collect::<Vec<_>>());
        }
        if endpoint.url.starts_with(DEFAULT_URL) {
            // OpenAI's own API has replaced `max_tokens` with `max_completion_tokens`, and its reasoning models
            // refuse the old name; compatible servers know only the old one.
            if let Some(map) = body.as_object_mut() {
                map.remove("max_tokens");
                map.insert("max_completion_tokens".into(), json!(req.max_tokens));
            }
        } else {
            body["cache_prompt"] = json!(true);
        }
        Post {
            url: format!("{}/chat/completions", endpoint.url),
            headers: endpoint.bearer(),
            body,
        }
    }

    fn model_query(
        &self,
        endpoint: &Endpoint,
        _model: &str,
    ) -> (String, Vec<(&'static str, String)>) {
        (format!("{}/models", endpoint.url), endpoint.bearer())
    }

    fn knows_model(&self, answer: &Value, model: &str) -> bool {
        answer
            .get("data")
            .and_then(Value::as_array)
            .is_some_and(|d| {
                d.iter()
                    .any(|m| m.get("id").and_then(Value::as_str) == Some(model))
            })
    }

    fn read(&self, data: &str) -> Result<Chunk, String> {
        if data.trim() == "[DONE]" {
            return Ok(Chunk {
                finished: true,
                ..Chunk::default()
            });
        }
        let event = super::event_json(data)?;
        let choice = event.pointer("/choices/0");
        let text = choice
            .and_then(|c| c.pointer("/delta/content"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let finished = choice
            .and_then(|c| c.get("finish_reason"))
            .is_some_and(|r| !r.is_null());
        let usage = event.get("usage").filter(|u| !u.is_null()).map(|u| {
            let n = |path: &str| u.pointer(path).and_then(Value::as_u64).unwrap_or(0) as u32;
            Usage {
                prompt_tokens: n("/prompt_tokens"),
                cached_tokens: n("/prompt_tokens_details/cached_tokens"),
                completion_tokens: n("/completion_tokens"),
                ..Usage::default()
            }
        });
        if event.get("choices").is_none() && usage.is_none() {
            return Err(super::unexpected_event(data, "neither choices nor usage"));
        }
        Ok(Chunk {
            text,
            finished,
            usage,
        })
    }
}
