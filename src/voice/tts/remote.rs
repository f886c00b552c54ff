//! Text-to-speech on another server, through OpenAI's speech API as OpenAI and compatible servers (Kokoro-FastAPI,
//! LocalAI, openedai-speech, vLLM's audio models) speak it.
//!
//! Rehearse sends `POST {url}/audio/speech` with `Authorization: Bearer KEY` (when a key is set) and the JSON
//! `{"model", "input", "voice", "response_format": "pcm"}`: one request per sentence, as the interviewer writes
//! it. OpenAI answers raw 16-bit little-endian mono PCM at 24 kHz, streamed as it is made; Rehearse resamples it to
//! each listener's rate and hands it on as it arrives, so the first words play before the sentence is finished.
//! A server that answers a WAV file instead (`RIFF`, whatever its rate) works too, a sentence at a time. A
//! barge-in drops the connection. Limits: 5 s to connect, 20 s to the answer's start, 60 s and 16 MB a sentence.
//! A failure leaves the sentence unspoken (its text is on the page) and is logged; the next sentence tries again.

use std::{io::Read, ops::ControlFlow, time::Duration};

use anyhow::{Context, bail};

use super::{piper::to_i16, resample};
use crate::{
    llm::remote::{self, Endpoint},
    voice::TextToSpeech,
};

/// The rate of OpenAI's `pcm` answers.
const PCM_RATE: u32 = 24_000;
/// The most audio one sentence may bring.
const MAX_BYTES: u64 = 16 << 20;
/// Bytes read at a time from a streamed answer: 50 ms at 24 kHz.
const READ_BYTES: usize = 2_400;

pub struct RemoteTts {
    name: String,
    model: String,
    voice: String,
    endpoint: Endpoint,
    agent: ureq::Agent,
}

impl RemoteTts {
    /// `voice` is the provider's voice name (OpenAI's: alloy, ash, coral, echo, fable, nova, onyx, sage, shimmer).
    pub fn new(model: &str, voice: &str, endpoint: Endpoint) -> RemoteTts {
        RemoteTts {
            name: format!("openai:{model} ({voice})"),
            model: model.to_string(),
            voice: voice.to_string(),
            endpoint,
            agent: remote::agent(
                Duration::from_secs(5),
                Some(Duration::from_secs(20)),
                Duration::from_secs(60),
            ),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Asks for `text` to be spoken: the answer, once it says it is audio.
    fn request(&self, text: &str) -> anyhow::Result<ureq::http::Response<ureq::Body>> {
        let body = serde_json::json!({
            "model": self.model,
            "input": text,
            "voice": self.voice,
            "response_format": "pcm",
        })
        .to_string();
        let mut response = self
            .endpoint
            .post_bearer(&self.agent, "/audio/speech")
            .header("Content-Type", "application/json")
            .send(body.as_bytes())
            .with_context(|| format!("{}: cannot reach the speech server", self.endpoint.url))?;
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            bail!(
                "{}: the speech server answered HTTP {status}: {}",
                self.endpoint.url,
                remote::refused_with(&mut response)
            );
        }
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        if content_type.starts_with("application/json") || content_type.starts_with("text/") {
            bail!(
                "{}: the speech server answered {content_type}, not audio",
                self.endpoint.url
            );
        }
        Ok(response)
    }

    /// A WAV answer (`head` is its start): read whole, then handed on at `rate`.
    fn play_wav(
        &self,
        head: &[u8],
        mut reader: impl Read,
        rate: u32,
        sink: &mut dyn FnMut(&[i16]) -> ControlFlow<()>,
    ) -> anyhow::Result<()> {
        let mut wav = head.to_vec();
        reader
            .read_to_end(&mut wav)
            .with_context(|| format!("{}: the speech was cut off", self.endpoint.url))?;
        let (native, samples) = crate::voice::stt::wav::read(&wav).with_context(|| {
            format!("{}: the speech is not a 16-bit PCM WAV", self.endpoint.url)
        })?;
        let pcm = to_i16(&resample::resample(&samples, native, rate));
        if !pcm.is_empty() {
            let _ = sink(&pcm);
        }
        Ok(())
    }

    /// Raw PCM at [`PCM_RATE`] (`head` is its start): handed on at `rate` as it arrives, until the sink says stop.
    fn play_pcm(
        &self,
        head: &[u8],
        mut reader: impl Read,
        rate: u32,
        sink: &mut dyn FnMut(&[i16]) -> ControlFlow<()>,
    ) -> anyhow::Result<()> {
        let mut stream = resample::Stream::new(PCM_RATE, rate);
        let mut carry: Vec<u8> = head.to_vec();
        let mut buf = vec![0u8; READ_BYTES];
        loop {
            let n = reader
                .read(&mut buf)
                .with_context(|| format!("{}: the speech was cut off", self.endpoint.url))?;
            if n == 0 {
                break;
            }
            carry.extend_from_slice(&buf[..n]);
            let whole = carry.len() / 2 * 2;
            let samples: Vec<f32> = carry
                .drain(..whole)
                .collect::<Vec<u8>>()
                .chunks_exact(2)
                .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32_768.0)
                .collect();
            let pcm = to_i16(&stream.push(&samples));
            // Returning drops the response, which closes the connection: the server stops making speech nobody
            // hears.
            if !pcm.is_empty() && sink(&pcm).is_break() {
                return Ok(());
            }
        }
        let pcm = to_i16(&stream.finish());
        if !pcm.is_empty() {
            let _ = sink(&pcm);
        }
        Ok(())
    }
}

impl TextToSpeech for RemoteTts {
    fn sample_rate(&self) -> u32 {
        PCM_RATE
    }

    fn speak(
        &self,
        text: &str,
        rate: u32,
        sink: &mut dyn FnMut(&[i16]) -> ControlFlow<()>,
    ) -> anyhow::Result<()> {
        if rate == 0 {
            bail!("cannot speak at 0 Hz");
        }
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if !text.chars().any(char::is_alphanumeric) {
            return Ok(());
        }
        let mut reader = self
            .request(&text)?
            .into_body()
            .into_with_config()
            .limit(MAX_BYTES)
            .reader();
        let mut head = [0u8; 4];
        let got = read_full(&mut reader, &mut head)?;
        if &head[..got] == b"RIFF" {
            self.play_wav(&head, reader, rate, sink)
        } else {
            self.play_pcm(&head[..got], reader, rate, sink)
        }
    }
}

/// Reads until `buf` is full or the stream ends; how much was read.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> anyhow::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        let n = reader
            .read(&mut buf[got..])
            .context("the speech was cut off")?;
        if n == 0 {
            break;
        }
        got += n;
    }
    Ok(got)
}

#[cfg(test)]
mod tests {
    use std::{io::Write, net::TcpListener, sync::mpsc};

    use super::*;
    use crate::{
        llm::remote::ApiKey,
        voice::fake_server::{Received, one_request},
    };

    /// How the fake server answers.
    enum Answer {
        /// A status, a content type and a body, whole.
        Whole(u16, &'static str, Vec<u8>),
        /// 200 with chunked PCM, in pieces of this many bytes, until the client hangs up.
        Chunked(Vec<u8>, usize),
    }

    /// A one-request server; hands back what it received, then whether the client hung up before the end.
    fn server(answer: Answer) -> (String, mpsc::Receiver<Received>, mpsc::Receiver<bool>) {
        let (hung_tx, hung_rx) = mpsc::channel();
        let (url, rx) = one_request(move |mut stream| match answer {
            Answer::Whole(status, kind, body) => {
                write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                )
                .unwrap();
                stream.write_all(&body).unwrap();
            }
            Answer::Chunked(body, piece) => {
                write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: audio/pcm\r\nTransfer-Encoding: chunked\r\n\r\n"
                )
                .unwrap();
                let mut hung_up = false;
                for chunk in body.chunks(piece) {
                    let sent = write!(stream, "{:x}\r\n", chunk.len())
                        .and_then(|()| stream.write_all(chunk))
                        .and_then(|()| stream.write_all(b"\r\n"))
                        .and_then(|()| stream.flush());
                    if sent.is_err() {
                        hung_up = true;
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
                if !hung_up {
                    let _ = stream.write_all(b"0\r\n\r\n");
                }
                let _ = hung_tx.send(hung_up);
            }
        });
        (url, rx, hung_rx)
    }

    /// A 440 Hz tone at 24 kHz as little-endian 16-bit PCM.
    fn tone(seconds: f64) -> (Vec<f32>, Vec<u8>) {
        let n = (seconds * f64::from(PCM_RATE)) as usize;
        let x: Vec<f32> = (0..n)
            .map(|i| {
                0.5 * (2.0 * std::f64::consts::PI * 440.0 * i as f64 / f64::from(PCM_RATE)).sin()
                    as f32
            })
            .collect();
        let bytes = to_i16(&x).iter().flat_map(|s| s.to_le_bytes()).collect();
        (x, bytes)
    }

    #[test]
    fn a_sentence_goes_as_json_and_its_streamed_pcm_comes_back_at_the_listeners_rate() {
        let (x, bytes) = tone(1.0);
        // Pieces of odd length: a sample split across two reads is put back together.
        let (url, rx, _) = server(Answer::Chunked(bytes, 2_401));
        let tts = RemoteTts::new(
            "tts-1",
            "alloy",
            Endpoint::new(&url, ApiKey::new("sk-tts")).unwrap(),
        );
        assert_eq!(tts.name(), "openai:tts-1 (alloy)");
        let mut heard: Vec<i16> = Vec::new();
        let mut calls = 0;
        tts.speak("  Tell me about\n a time you led.  ", 48_000, &mut |pcm| {
            heard.extend_from_slice(pcm);
            calls += 1;
            ControlFlow::Continue(())
        })
        .unwrap();
        let (head, body) = rx.recv().unwrap();
        assert_eq!(head[0], "POST /v1/audio/speech HTTP/1.1");
        assert!(
            head.iter()
                .any(|h| h.eq_ignore_ascii_case("authorization: Bearer sk-tts")),
            "{head:?}"
        );
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"model": "tts-1", "input": "Tell me about a time you led.",
                "voice": "alloy", "response_format": "pcm"})
        );
        assert!(
            calls > 3,
            "handed on as it arrives, not at the end ({calls} calls)"
        );
        let want = to_i16(&resample::resample(&x, PCM_RATE, 48_000));
        assert_eq!(heard.len(), want.len());
        let worst = heard
            .iter()
            .zip(&want)
            .map(|(a, b)| (i32::from(*a) - i32::from(*b)).abs())
            .max()
            .unwrap();
        assert!(
            worst <= 1,
            "the stream resampled without seams (worst {worst})"
        );
    }

    #[test]
    fn a_barge_in_hangs_up_on_the_server() {
        let (_, bytes) = tone(20.0);
        let (url, _rx, hung) = server(Answer::Chunked(bytes, 4_800));
        let tts = RemoteTts::new("tts-1", "alloy", Endpoint::new(&url, None).unwrap());
        let mut pieces = 0;
        tts.speak("A long answer.", 24_000, &mut |_| {
            pieces += 1;
            if pieces == 3 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .unwrap();
        assert_eq!(pieces, 3);
        assert!(
            hung.recv_timeout(Duration::from_secs(10)).unwrap(),
            "the server saw the connection close before it had sent everything"
        );
    }

    #[test]
    fn a_wav_answer_is_read_at_its_own_rate() {
        let samples = to_i16(&vec![0.25f32; 22_050]);
        let wav = crate::voice::stt::wav::write(22_050, &samples);
        let (url, _rx, _) = server(Answer::Whole(200, "audio/wav", wav));
        let tts = RemoteTts::new("kokoro", "af_heart", Endpoint::new(&url, None).unwrap());
        let mut heard = Vec::new();
        tts.speak("Hello there.", 16_000, &mut |pcm| {
            heard.extend_from_slice(pcm);
            ControlFlow::Continue(())
        })
        .unwrap();
        assert_eq!(heard.len(), 16_000, "one second at 16 kHz");
    }

    #[test]
    fn refusals_and_answers_that_are_not_audio_are_clear_errors() {
        let error = |url: &str| {
            let tts = RemoteTts::new("tts-1", "alloy", Endpoint::new(url, None).unwrap());
            let said = tts.speak("Hi.", 24_000, &mut |_| ControlFlow::Continue(()));
            format!("{:#}", said.unwrap_err())
        };
        for (status, kind, body, want) in [
            (
                401,
                "application/json",
                &br#"{"error":{"message":"Incorrect API key"}}"#[..],
                "HTTP 401: Incorrect API key",
            ),
            (200, "application/json", br#"{"ok":true}"#, "not audio"),
            (
                200,
                "audio/wav",
                b"RIFF1234WAVEjunk",
                "not a 16-bit PCM WAV",
            ),
        ] {
            let (url, _rx, _) = server(Answer::Whole(status, kind, body.to_vec()));
            let e = error(&url);
            assert!(e.contains(want), "{e}");
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let tts = RemoteTts::new(
            "tts-1",
            "alloy",
            Endpoint::new(&format!("http://127.0.0.1:{port}/v1"), None).unwrap(),
        );
        let e = error(&format!("http://127.0.0.1:{port}/v1"));
        assert!(e.contains("cannot reach"), "{e}");
        // Nothing speakable: no request at all.
        tts.speak(" ... ", 24_000, &mut |_| panic!("no audio for punctuation"))
            .unwrap();
        assert!(
            tts.speak("Hi.", 0, &mut |_| ControlFlow::Continue(()))
                .is_err()
        );
    }
}
