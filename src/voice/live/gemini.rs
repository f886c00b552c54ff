//! Google's Gemini Live API (`BidiGenerateContent`) over a WebSocket, as Rehearse speaks it.
//!
//! Connect: `{origin}/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent` upgraded to a
//! WebSocket (the origin of the configured URL, `https://` or `http://` turned into `wss://` or `ws://`), with the
//! key in the `x-goog-api-key` header (never in the URL, which logs may show).
//!
//! A Live session keeps its own history and answers every turn it is given, so Rehearse opens one session per
//! line it asks for and per answer it hears, and closes it when that is done: no interview's words reach another's
//! session, and an answer is heard without being replied to.
//!
//! Rehearse sends:
//! - `setup` first: `model` (`models/MODEL`), `generationConfig.responseModalities` `["AUDIO"]`,
//!   `generationConfig.speechConfig.voiceConfig.prebuiltVoiceConfig.voiceName`, `systemInstruction` (the engine's
//!   instruction for the line), `realtimeInputConfig.automaticActivityDetection.disabled` `true` (Rehearse decides
//!   when the candidate has finished), `inputAudioTranscription` `{}` and `outputAudioTranscription` `{}`;
//! - to hear an answer: `realtimeInput.activityStart`, `realtimeInput.audio` (`data`: base64 of 16-bit
//!   little-endian mono PCM, `mimeType` `audio/pcm;rate=16000`, a second at a time), `realtimeInput.activityEnd`;
//! - to speak a line: `clientContent` with one user turn (`parts[].text`) and `turnComplete` `true`.
//!
//! Rehearse reads: `setupComplete` (ready), `serverContent.inputTranscription.text` (the answer, in pieces, until
//! the model starts its turn), `serverContent.outputTranscription.text`, `serverContent.modelTurn.parts[].inlineData`
//! (`audio/pcm;rate=24000`, base64), `serverContent.turnComplete` (done), `serverContent.interrupted`, `goAway` and
//! `error`. Gemini has no message that cancels a reply: closing the session does.

use base64::Engine as _;
use serde_json::{Value, json};

use super::Said;
use crate::llm::remote::Endpoint;

/// The rate Gemini hears at, and the rate it speaks at.
pub const IN_RATE: u32 = 16_000;
pub const OUT_RATE: u32 = 24_000;
const PATH: &str = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent";

pub fn url(endpoint: &Endpoint) -> String {
    let ws = super::ws_url(&endpoint.url);
    let (scheme, rest) = ws.split_once("://").unwrap_or(("wss", &ws));
    let origin = rest.split('/').next().unwrap_or_default();
    format!("{scheme}://{origin}{PATH}")
}

pub fn headers(endpoint: &Endpoint) -> Vec<(&'static str, String)> {
    endpoint.key_header("x-goog-api-key", str::to_string)
}

pub fn setup(model: &str, voice: &str, system: &str) -> Value {
    let model = if model.starts_with("models/") {
        model.to_string()
    } else {
        format!("models/{model}")
    };
    json!({
        "setup": {
            "model": model,
            "generationConfig": {
                "responseModalities": ["AUDIO"],
                "speechConfig": {"voiceConfig": {"prebuiltVoiceConfig": {"voiceName": voice}}},
            },
            "systemInstruction": {"parts": [{"text": system}]},
            "realtimeInputConfig": {"automaticActivityDetection": {"disabled": true}},
            "inputAudioTranscription": {},
            "outputAudioTranscription": {},
        }
    })
}

/// The messages that hand over a whole answer (16 kHz samples) as one turn of speech.
pub fn hear(samples: &[f32]) -> Vec<Value> {
    let mut out = vec![json!({"realtimeInput": {"activityStart": {}}})];
    out.extend(
        super::pcm_base64_chunks(samples, IN_RATE as usize)
            .into_iter()
            .map(|data| {
                json!({"realtimeInput": {"audio": {"data": data, "mimeType": "audio/pcm;rate=16000"}}})
            }),
    );
    out.push(json!({"realtimeInput": {"activityEnd": {}}}));
    out
}

pub fn respond(user: &str) -> Value {
    json!({
        "clientContent": {
            "turns": [{"role": "user", "parts": [{"text": user}]}],
            "turnComplete": true,
        }
    })
}

/// What one server message says (it may say several things at once).
pub fn read(message: &Value) -> Vec<Said> {
    let mut out = Vec::new();
    if message.get("setupComplete").is_some() {
        out.push(Said::Ready);
    }
    if let Some(e) = message.get("error") {
        out.push(Said::Failed(super::error_message(
            e,
            "the live API reported an error",
        )));
    }
    if message.get("goAway").is_some() {
        out.push(Said::Failed("the live API is closing the session".into()));
    }
    let content = &message["serverContent"];
    if let Some(t) = content["inputTranscription"]["text"].as_str() {
        out.push(Said::Heard {
            item: String::new(),
            text: t.to_string(),
        });
    }
    if let Some(t) = content["outputTranscription"]["text"].as_str() {
        out.push(Said::Text(t.to_string()));
    }
    for part in content["modelTurn"]["parts"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let data = &part["inlineData"];
        let Some(b64) = data["data"].as_str() else {
            continue;
        };
        let pcm = data["mimeType"]
            .as_str()
            .is_some_and(|m| m.starts_with("audio/pcm"));
        match base64::engine::general_purpose::STANDARD.decode(b64) {
            Ok(bytes) if pcm && bytes.len() % 2 == 0 => {
                out.push(Said::Audio(super::pcm_i16(&bytes)))
            }
            _ => out.push(Said::Failed(
                "the live API sent audio that is not 16-bit PCM".into(),
            )),
        }
    }
    if content["modelTurn"].is_object() {
        out.push(Said::Replying);
    }
    if content["interrupted"].as_bool() == Some(true)
        || content["turnComplete"].as_bool() == Some(true)
    {
        out.push(Said::Done);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_sent_follows_the_protocol() {
        let endpoint = Endpoint::new(
            "https://example.test/v1beta",
            crate::llm::remote::ApiKey::new("g-1"),
        )
        .unwrap();
        assert_eq!(
            url(&endpoint),
            "wss://example.test/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
        );
        assert_eq!(
            headers(&endpoint),
            vec![("x-goog-api-key", "g-1".to_string())]
        );
        let s = setup("gemini-live-2.5-flash", "Puck", "Be brief.");
        assert_eq!(s["setup"]["model"], "models/gemini-live-2.5-flash");
        assert_eq!(
            s["setup"]["realtimeInputConfig"]["automaticActivityDetection"]["disabled"],
            true
        );
        let h = hear(&vec![0.1; 20_000]);
        assert_eq!(h.len(), 4, "start, two seconds of audio, end");
        assert!(h[3]["realtimeInput"]["activityEnd"].is_object());
    }

    #[test]
    fn one_message_may_say_several_things() {
        let audio = base64::engine::general_purpose::STANDARD.encode([2u8, 0]);
        let said = read(&json!({"serverContent": {
            "modelTurn": {"parts": [{"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": audio}}]},
            "outputTranscription": {"text": "Why"},
            "turnComplete": true,
        }}));
        assert!(matches!(&said[0], Said::Text(t) if t == "Why"));
        assert!(matches!(&said[1], Said::Audio(a) if a == &vec![2]));
        assert!(matches!(said.last(), Some(Said::Done)));
        let said = read(&json!({"serverContent": {"modelTurn": {"parts": [
            {"inlineData": {"mimeType": "audio/mp3", "data": "AAAA"}}]}}}));
        assert!(matches!(&said[0], Said::Failed(_)));
        assert!(matches!(
            read(&json!({"setupComplete": {}}))[..],
            [Said::Ready]
        ));
    }
}
