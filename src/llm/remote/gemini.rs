//! Google's Gemini API, streamed (`streamGenerateContent` with `alt=sse`).
//!
//! Rehearse sends `POST {url}/models/{model}:streamGenerateContent?alt=sse` with the key in `x-goog-api-key` and
//! the body `systemInstruction.parts[].text` (the system messages), `contents[]` (`role` user or model, `parts[].text`;
//! messages of one role in a row are joined, as the API wants turns to alternate), and `generationConfig`
//! (`maxOutputTokens`, `temperature`, `seed`, `stopSequences` when any).
//!
//! It reads from each `data:` event `candidates[0].content.parts[].text` (the text),
//! `candidates[0].finishReason` (the reply is complete; `SAFETY`, `RECITATION` and the like end it too, and the
//! guard judges what came before), `usageMetadata.promptTokenCount`, `candidatesTokenCount` and
//! `cachedContentTokenCount`, `promptFeedback.blockReason` (the prompt was refused) and `error.message`. The stream
//! has no end mark: it ends with the event that carries the finish reason.

use serde_json::{Value, json};

use super::{Chunk, Endpoint, Post, Protocol};
use crate::llm::{MessageRole, Request, Usage};

pub const DEFAULT_URL: &str = "https://generativelanguage.googleapis.com/v1beta";

pub struct Gemini;

impl Protocol for Gemini {
    fn prefix(&self) -> &'static str {
        "gemini"
    }

    fn post(&self, endpoint: &Endpoint, model: &str, req: &Request) -> Post {
        let system: Vec<Value> = req
            .messages
            .iter()
            .filter(|m| m.role == MessageRole::System)
            .map(|m| json!({ "text": m.content }))
            .collect();
        let mut contents: Vec<(&str, String)> = Vec::new();
        for m in req
            .messages
            .iter()
            .filter(|m| m.role != MessageRole::System)
        {
            let role = if m.role == MessageRole::Assistant {
                "model"
            } else {
                "user"
            };
            match contents.last_mut() {
                Some((last, text)) if *last == role => {
                    text.push_str("\n\n");
                    text.push_str(&m.content);
                }
                _ => contents.push((role, m.content.clone())),
            }
        }
        let contents: Vec<Value> = contents
            .into_iter()
            .map(|(role, text)| json!({ "role": role, "parts": [{ "text": text }] }))
            .collect();
        let mut config = json!({
            "maxOutputTokens": req.max_tokens,
            "temperature": req.temperature,
            "seed": req.seed as u32,
        });
        if !req.stop.is_empty() {
            config["stopSequences"] = json!(req.stop.iter().take(5).collect::<Vec<_>>());
        }
        let mut body = json!({ "contents": contents, "generationConfig": config });
        if !system.is_empty() {
            body["systemInstruction"] = json!({ "parts": system });
        }
        Post {
            url: format!(
                "{}/models/{model}:streamGenerateContent?alt=sse",
                endpoint.url
            ),
            headers: auth(endpoint),
            body,
        }
    }

    fn model_query(
        &self,
        endpoint: &Endpoint,
        model: &str,
    ) -> (String, Vec<(&'static str, String)>) {
        (format!("{}/models/{model}", endpoint.url), auth(endpoint))
    }

    fn knows_model(&self, answer: &Value, model: &str) -> bool {
        answer
            .get("name")
            .and_then(Value::as_str)
            .is_some_and(|n| n.trim_start_matches("models/") == model)
    }

    fn read(&self, data: &str) -> Result<Chunk, String> {
        let event = super::event_json(data)?;
        if let Some(reason) = event
            .pointer("/promptFeedback/blockReason")
            .and_then(Value::as_str)
        {
            return Err(format!("the server refused the prompt ({reason})"));
        }
        let candidate = event.pointer("/candidates/0");
        let text = candidate
            .and_then(|c| c.pointer("/content/parts"))
            .and_then(Value::as_array)
            .map(|parts| {
                parts
                    .iter()
                    .filter_map(|p| p.get("text").and_then(Value::as_str))
                    .collect::<String>()
            })
            .unwrap_or_default();
        let finished = candidate
            .and_then(|c| c.get("finishReason"))
            .and_then(Value::as_str)
            .is_some_and(|r| r != "FINISH_REASON_UNSPECIFIED");
        let usage = event.get("usageMetadata").map(|u| {
            let n = |key: &str| u.get(key).and_then(Value::as_u64).unwrap_or(0) as u32;
            Usage {
                prompt_tokens: n("promptTokenCount"),
                cached_tokens: n("cachedContentTokenCount"),
                completion_tokens: n("candidatesTokenCount"),
                ..Usage::default()
            }
        });
        if candidate.is_none() && usage.is_none() {
            return Err(super::unexpected_event(data, "no candidate"));
        }
        Ok(Chunk {
            text,
            finished,
            usage,
        })
    }
}

/// `x-goog-api-key: KEY`, when there is a key.
fn auth(endpoint: &Endpoint) -> Vec<(&'static str, String)> {
    endpoint.key_header("x-goog-api-key", str::to_string)
}
