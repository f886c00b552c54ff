//! OpenAI's Realtime API over a WebSocket, as Rehearse speaks it.
//!
//! Connect: `GET {url}/realtime?model=MODEL` upgraded to a WebSocket, `Authorization: Bearer KEY` (the `url` is
//! the API's base, `https://` or `http://`, turned into `wss://` or `ws://`).
//!
//! Rehearse sends:
//! - `session.update` once per connection: `session.type` `realtime`, `output_modalities` `["audio"]`,
//!   `audio.input.format` `{"type": "audio/pcm", "rate": 24000}`, `audio.input.transcription.model`
//!   ([`TRANSCRIPTION_MODEL`]), `audio.input.turn_detection` `null` (Rehearse decides when the candidate has
//!   finished, and the engine what comes next), `audio.output.format` the same PCM, `audio.output.voice`;
//! - to hear an answer: `input_audio_buffer.append` (`audio`: base64 of 16-bit little-endian mono PCM at 24 kHz,
//!   a second at a time), `input_audio_buffer.commit`, and once the transcription is read,
//!   `conversation.item.delete` for that item (the session keeps no conversation: each line is asked for with all
//!   it needs);
//! - to speak a line: `response.create` with `response.conversation` `"none"` (out of band),
//!   `output_modalities` `["audio"]`, `instructions` (the engine's instruction for the line: the persona and the
//!   task) and `input` (one user message, `input_text`);
//! - on a barge-in or a line the guard holds back: `response.cancel`.
//!
//! Rehearse reads: `session.updated` (ready), `input_audio_buffer.committed` (`item_id`),
//! `conversation.item.input_audio_transcription.completed` (`item_id`, `transcript`) and `.failed` (`error`),
//! `response.output_audio.delta` (`delta`: base64 PCM), `response.output_audio_transcript.delta` (`delta`),
//! `response.done` (`response.status`, `status_details`) and `error` (`error.message`). The beta protocol's names
//! (`response.audio.delta`, `response.audio_transcript.delta`) are read the same way; everything else is ignored.

use base64::Engine as _;
use serde_json::{Value, json};

use super::Said;
use crate::llm::remote::Endpoint;

/// The model that transcribes the candidate's audio inside the session.
pub const TRANSCRIPTION_MODEL: &str = "gpt-4o-mini-transcribe";
/// The audio rate both ways.
pub const RATE: u32 = 24_000;

/// The WebSocket address of `model` at `endpoint`.
pub fn url(endpoint: &Endpoint, model: &str) -> String {
    format!(
        "{}/realtime?model={}",
        super::ws_url(&endpoint.url),
        super::query_escape(model)
    )
}

pub fn headers(endpoint: &Endpoint) -> Vec<(&'static str, String)> {
    endpoint.bearer()
}

pub fn session(voice: &str) -> Value {
    let format = json!({"type": "audio/pcm", "rate": RATE});
    json!({
        "type": "session.update",
        "session": {
            "type": "realtime",
            "output_modalities": ["audio"],
            "audio": {
                "input": {
                    "format": format,
                    "transcription": {"model": TRANSCRIPTION_MODEL},
                    "turn_detection": null,
                },
                "output": {"format": format, "voice": voice},
            },
        },
    })
}

/// The messages that hand over a whole answer (24 kHz samples) and ask for its transcription.
pub fn hear(samples: &[f32]) -> Vec<Value> {
    let mut out: Vec<Value> = super::pcm_base64_chunks(samples, RATE as usize)
        .into_iter()
        .map(|audio| json!({"type": "input_audio_buffer.append", "audio": audio}))
        .collect();
    out.push(json!({"type": "input_audio_buffer.commit"}));
    out
}

pub fn forget(item_id: &str) -> Value {
    json!({"type": "conversation.item.delete", "item_id": item_id})
}

pub fn respond(instructions: &str, user: &str) -> Value {
    json!({
        "type": "response.create",
        "response": {
            "conversation": "none",
            "output_modalities": ["audio"],
            "instructions": instructions,
            "input": [{
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": user}],
            }],
        },
    })
}

pub fn cancel() -> Value {
    json!({"type": "response.cancel"})
}

/// What one server event says.
pub fn read(event: &Value) -> Said {
    let text = |k: &str| event[k].as_str().unwrap_or_default().to_string();
    match event["type"].as_str().unwrap_or_default() {
        "session.updated" => Said::Ready,
        "input_audio_buffer.committed" => Said::Committed(text("item_id")),
        "conversation.item.input_audio_transcription.completed" => Said::Heard {
            item: text("item_id"),
            text: text("transcript"),
        },
        "conversation.item.input_audio_transcription.failed" => Said::Failed(super::error_message(
            &event["error"],
            "the transcription failed",
        )),
        "response.output_audio.delta" | "response.audio.delta" => {
            match base64::engine::general_purpose::STANDARD.decode(text("delta")) {
                Ok(bytes) if bytes.len() % 2 == 0 => Said::Audio(super::pcm_i16(&bytes)),
                _ => Said::Failed("the live API sent audio that is not 16-bit PCM".into()),
            }
        }
        "response.output_audio_transcript.delta" | "response.audio_transcript.delta" => {
            Said::Text(text("delta"))
        }
        "response.done" => match event["response"]["status"].as_str() {
            Some("failed") => Said::Failed(super::error_message(
                &event["response"]["status_details"]["error"],
                "the response failed",
            )),
            _ => Said::Done,
        },
        "error" => Said::Failed(super::error_message(
            &event["error"],
            "the live API reported an error",
        )),
        _ => Said::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_sent_follows_the_protocol() {
        let endpoint = Endpoint::new(
            "https://example.test/v1",
            crate::llm::remote::ApiKey::new("sk-1"),
        )
        .unwrap();
        assert_eq!(
            url(&endpoint, "gpt-realtime"),
            "wss://example.test/v1/realtime?model=gpt-realtime"
        );
        assert_eq!(headers(&endpoint)[0].1, "Bearer sk-1");
        let s = session("marin");
        assert_eq!(s["session"]["audio"]["input"]["format"]["rate"], 24_000);
        assert!(s["session"]["audio"]["input"]["turn_detection"].is_null());
        assert_eq!(s["session"]["audio"]["output"]["voice"], "marin");
        // A second and a half: two appends, then the commit.
        let h = hear(&vec![0.5; 36_000]);
        assert_eq!(h.len(), 3);
        assert_eq!(h[2]["type"], "input_audio_buffer.commit");
        let r = respond("Ask one question.", "Your line now.");
        assert_eq!(r["response"]["conversation"], "none");
        assert_eq!(r["response"]["instructions"], "Ask one question.");
    }

    #[test]
    fn events_are_read_and_bad_ones_are_errors() {
        let audio = base64::engine::general_purpose::STANDARD.encode([1u8, 0, 255, 255]);
        assert!(matches!(
            read(&json!({"type": "response.output_audio.delta", "delta": audio})),
            Said::Audio(a) if a == vec![1, -1]
        ));
        assert!(matches!(
            read(&json!({"type": "response.output_audio.delta", "delta": "AAA"})),
            Said::Failed(_)
        ));
        assert!(matches!(
            read(&json!({"type": "response.audio_transcript.delta", "delta": "Why"})),
            Said::Text(t) if t == "Why"
        ));
        assert!(matches!(
            read(&json!({"type": "conversation.item.input_audio_transcription.completed",
                "item_id": "i1", "transcript": "I built it."})),
            Said::Heard { item, text } if item == "i1" && text == "I built it."
        ));
        assert!(matches!(
            read(&json!({"type": "error", "error": {"message": "Invalid API key"}})),
            Said::Failed(m) if m.contains("Invalid API key")
        ));
        assert!(matches!(
            read(&json!({"type": "response.done", "response": {"status": "failed",
                "status_details": {"error": {"message": "quota"}}}})),
            Said::Failed(m) if m.contains("quota")
        ));
        assert!(matches!(
            read(&json!({"type": "rate_limits.updated"})),
            Said::Other
        ));
    }
}
