//! Speech-to-text on another server, through OpenAI's transcription API as OpenAI and compatible servers
//! (faster-whisper servers, LocalAI, vLLM's audio models) speak it.
//!
//! Rehearse sends `POST {url}/audio/transcriptions` with `Authorization: Bearer KEY` (when a key is set) and a
//! `multipart/form-data` body: `file` (the utterance as a 16 kHz mono 16-bit WAV, `audio.wav`), `model`,
//! `language` (`en`) and `response_format` (`json`). It reads `text` from the JSON answer. One try, within 30 s: a
//! failure asks the candidate to say the answer again or type it, as a failing local model does.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::{
    llm::remote::{self, Endpoint},
    voice::{SpeechToText, Transcript, tts::piper::to_i16},
};

/// How long one transcription may take.
const TIMEOUT: Duration = Duration::from_secs(30);

pub struct RemoteStt {
    name: String,
    model: String,
    endpoint: Endpoint,
    agent: ureq::Agent,
}

impl RemoteStt {
    pub fn new(model: &str, endpoint: Endpoint) -> RemoteStt {
        RemoteStt {
            name: format!("openai:{model}"),
            model: model.to_string(),
            endpoint,
            agent: remote::agent(Duration::from_secs(5), None, TIMEOUT),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The multipart body and its boundary.
    fn body(&self, wav: &[u8]) -> (String, Vec<u8>) {
        let boundary = format!(
            "rehearse-{:x}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        );
        let mut body = Vec::with_capacity(wav.len() + 512);
        let field = |body: &mut Vec<u8>, name: &str, value: &str| {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                )
                .as_bytes(),
            );
        };
        field(&mut body, "model", &self.model);
        field(&mut body, "language", "en");
        field(&mut body, "response_format", "json");
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"audio.wav\"\r\n\
                 Content-Type: audio/wav\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(wav);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        (boundary, body)
    }
}

impl SpeechToText for RemoteStt {
    fn transcribe(&self, samples: &[f32]) -> anyhow::Result<Transcript> {
        let started = Instant::now();
        let wav = super::wav::write(16_000, &to_i16(samples));
        let (boundary, body) = self.body(&wav);
        let mut response = self
            .endpoint
            .post_bearer(&self.agent, "/audio/transcriptions")
            .header(
                "Content-Type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .send(&body[..])
            .with_context(|| format!("{}: cannot reach the server", self.endpoint.url))?;
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            bail!(
                "{}: the transcription server answered HTTP {status}: {}",
                self.endpoint.url,
                remote::refused_with(&mut response)
            );
        }
        let answer = remote::body_text(&mut response, 1 << 20);
        let json: serde_json::Value = serde_json::from_str(&answer).with_context(|| {
            format!(
                "{}: the transcription is not JSON: {}",
                self.endpoint.url,
                crate::text::clip(answer.trim(), 120)
            )
        })?;
        let Some(text) = json.get("text").and_then(serde_json::Value::as_str) else {
            bail!("{}: the transcription has no text", self.endpoint.url);
        };
        Ok(Transcript {
            text: text.split_whitespace().collect::<Vec<_>>().join(" "),
            segments: Vec::new(),
            audio_ms: (samples.len() / 16) as u32,
            elapsed_ms: started.elapsed().as_millis() as u32,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::{io::Write, net::TcpListener, sync::mpsc};

    use super::*;
    use crate::voice::fake_server::{Received, one_request};

    /// A one-request server that answers `status` and `body`, and hands back what it received.
    fn server(status: u16, body: &'static str) -> (String, mpsc::Receiver<Received>) {
        one_request(move |mut stream| {
            write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .unwrap();
        })
    }

    #[test]
    fn an_utterance_goes_as_a_wav_file_and_its_text_comes_back() {
        let (url, rx) = server(200, r#"{"text":"  I built the  queue consumer. "}"#);
        let stt = RemoteStt::new(
            "whisper-1",
            Endpoint::new(&url, crate::llm::remote::ApiKey::new("sk-stt")).unwrap(),
        );
        assert_eq!(stt.name(), "openai:whisper-1");
        let audio = vec![0.25f32; 16_000];
        let t = stt.transcribe(&audio).unwrap();
        assert_eq!(t.text, "I built the queue consumer.");
        assert_eq!(t.audio_ms, 1000);
        let (head, body) = rx.recv().unwrap();
        assert_eq!(head[0], "POST /v1/audio/transcriptions HTTP/1.1");
        assert!(head.iter().any(|h| h == "authorization: Bearer sk-stt" || h == "Authorization: Bearer sk-stt"), "{head:?}");
        let text = String::from_utf8_lossy(&body);
        assert!(
            text.contains("name=\"model\"\r\n\r\nwhisper-1\r\n"),
            "{text}"
        );
        assert!(text.contains("filename=\"audio.wav\""));
        // The file is the utterance as 16 kHz mono WAV.
        let start = body.windows(4).position(|w| w == b"RIFF").unwrap();
        let (rate, samples) =
            crate::voice::stt::wav::read(&body[start..body.len() - 4]).unwrap_or_default();
        assert_eq!(rate, 16_000);
        assert!(samples.len() >= 16_000);
    }

    #[test]
    fn a_refusal_or_a_strange_answer_is_a_clear_error() {
        let (url, _rx) = server(401, r#"{"error":{"message":"Incorrect API key"}}"#);
        let stt = RemoteStt::new("whisper-1", Endpoint::new(&url, None).unwrap());
        let e = format!("{:#}", stt.transcribe(&[0.1; 1600]).unwrap_err());
        assert!(
            e.contains("HTTP 401") && e.contains("Incorrect API key"),
            "{e}"
        );
        let (url, _rx) = server(200, r#"{"segments":[]}"#);
        let stt = RemoteStt::new("whisper-1", Endpoint::new(&url, None).unwrap());
        let e = format!("{:#}", stt.transcribe(&[0.1; 1600]).unwrap_err());
        assert!(e.contains("has no text"), "{e}");
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let stt = RemoteStt::new(
            "whisper-1",
            Endpoint::new(&format!("http://127.0.0.1:{port}/v1"), None).unwrap(),
        );
        let e = format!("{:#}", stt.transcribe(&[0.1; 1600]).unwrap_err());
        assert!(e.contains("cannot reach"), "{e}");
    }
}
