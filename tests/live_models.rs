//! Speech-to-speech models (`--realtime openai:MODEL`, `--realtime gemini:MODEL`) against in-process fakes written
//! from the providers' published protocols (OpenAI's Realtime API, the Gemini Live API). The fakes speak with the
//! tiny set's real piper voice, transcribe an answer as the test says, and keep every event Rehearse sent, so the
//! tests assert what goes over the wire: the session's setup (audio format and rate, transcription, no server
//! turn detection), the candidate's audio at the provider's rate, each line's instruction, and the cancel on a
//! barge-in. Through a live interview they check that the provider's transcription is the stored answer, that a
//! line the guard holds back is never heard, and that a provider that goes away costs a turn and no answer.

use std::{
    collections::VecDeque,
    net::TcpListener,
    sync::{Arc, Mutex},
    time::Duration,
};

use base64::Engine as _;
use rehearse::{
    llm::remote::{ApiKey, Endpoint},
    realtime::pb::{self, client_frame, server_frame::Kind},
    voice::{
        live::{LiveConfig, Provider},
        tts::piper::Piper,
    },
};
use serde_json::{Value, json};
use tungstenite::{Message, handshake::server::Request};

use crate::ws::*;

/// What the fake heard and what it will say.
#[derive(Default)]
struct Fake {
    /// Each connection's request line and key header.
    connections: Vec<(String, Option<String>)>,
    /// Every client event, in order.
    events: Vec<Value>,
    /// The model lines it writes for the next follow-ups (a default one when empty).
    follow_ups: VecDeque<String>,
    /// Stream audio at the pace it plays (so a barge-in lands mid-reply).
    paced: bool,
    /// Refuse every connection from now on.
    down: bool,
    /// The samples of audio each commit (or activity end) handed over.
    committed: Vec<usize>,
}

const HEARD: &str = "I led the migration of our billing service to a new queue, split the work into four pieces, \
                     wrote the runbook myself, and we shipped two weeks early with zero data loss.";
const GOOD: &str = "How did you split the billing migration into four pieces?";
const BAD: &str = "I led the billing migration myself and honestly it went great.";

type Shared = Arc<Mutex<Fake>>;

fn start_fake(provider: Provider) -> (String, Shared) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = match provider {
        Provider::OpenAi => format!("http://{}/v1", listener.local_addr().unwrap()),
        Provider::Gemini => format!("http://{}/v1beta", listener.local_addr().unwrap()),
    };
    let fake: Shared = Arc::default();
    let shared = fake.clone();
    let voice = Arc::new(crate::util::tiny_voice());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let (fake, voice) = (shared.clone(), voice.clone());
            std::thread::spawn(move || serve(provider, stream, &fake, &voice));
        }
    });
    (url, fake)
}

#[allow(
    clippy::result_large_err,
    reason = "tungstenite's handshake callback returns its own error response"
)]
fn serve(provider: Provider, stream: std::net::TcpStream, fake: &Shared, voice: &Piper) {
    let seen = fake.clone();
    let down = fake.lock().unwrap().down;
    let accepted = tungstenite::accept_hdr(stream, |req: &Request, res| {
        let key = req
            .headers()
            .get(match provider {
                Provider::OpenAi => "authorization",
                Provider::Gemini => "x-goog-api-key",
            })
            .map(|v| v.to_str().unwrap().to_string());
        seen.lock()
            .unwrap()
            .connections
            .push((req.uri().to_string(), key));
        if down {
            let mut refused =
                tungstenite::handshake::server::ErrorResponse::new(Some("down".into()));
            *refused.status_mut() = tungstenite::http::StatusCode::SERVICE_UNAVAILABLE;
            return Err(refused);
        }
        Ok(res)
    });
    let Ok(mut ws) = accepted else { return };
    let mut appended = 0usize;
    // Events that came while a reply was being sent, answered after it.
    let mut later: VecDeque<Value> = VecDeque::new();
    loop {
        let event = match later.pop_front() {
            Some(e) => e,
            None => {
                let Ok(msg) = ws.read() else { return };
                if fake.lock().unwrap().down {
                    // Gone: open sessions are dropped as they are used.
                    return;
                }
                let Message::Text(text) = msg else { continue };
                let event: Value = serde_json::from_str(text.as_str()).unwrap();
                fake.lock().unwrap().events.push(event.clone());
                event
            }
        };
        let replies = match provider {
            Provider::OpenAi => openai_event(&event, &mut appended, fake, voice),
            Provider::Gemini => gemini_event(&event, &mut appended, fake, voice),
        };
        for (reply, pause) in replies {
            if ws.send(Message::text(reply.to_string())).is_err() {
                return;
            }
            if pause {
                // The pace of speech, reading what the client sends meanwhile, as the service does: a cancel ends
                // the reply at once.
                match read_for(&mut ws, Duration::from_millis(100)) {
                    Err(()) => return,
                    Ok(events) => {
                        let cancelled = events.iter().any(|e| e["type"] == "response.cancel");
                        fake.lock().unwrap().events.extend(events.iter().cloned());
                        later.extend(events);
                        if cancelled {
                            let done = json!({"type": "response.done", "response": {"status": "cancelled"}});
                            if ws.send(Message::text(done.to_string())).is_err() {
                                return;
                            }
                            later.retain(|e| e["type"] != "response.cancel");
                            break;
                        }
                    }
                }
            }
        }
    }
}

/// The client's events that come within `wait`; `Err` once the connection is gone.
fn read_for(
    ws: &mut tungstenite::WebSocket<std::net::TcpStream>,
    wait: Duration,
) -> Result<Vec<Value>, ()> {
    let deadline = std::time::Instant::now() + wait;
    let mut events = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            break;
        }
        ws.get_ref().set_read_timeout(Some(left)).map_err(|_| ())?;
        match ws.read() {
            Ok(Message::Text(text)) => events.push(serde_json::from_str(text.as_str()).unwrap()),
            Ok(_) => {}
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return Err(()),
        }
    }
    ws.get_ref().set_read_timeout(None).map_err(|_| ())?;
    Ok(events)
}

/// 24 kHz speech of `text` in 100 ms base64 chunks.
fn speech(voice: &Piper, text: &str) -> Vec<String> {
    let mut pcm = Vec::new();
    voice
        .speak(text, 24_000, &mut |p| {
            pcm.extend_from_slice(p);
            std::ops::ControlFlow::Continue(())
        })
        .unwrap();
    pcm.chunks(2_400)
        .map(|c| {
            let bytes: Vec<u8> = c.iter().flat_map(|s| s.to_le_bytes()).collect();
            base64::engine::general_purpose::STANDARD.encode(bytes)
        })
        .collect()
}

/// What the fake model says to a request: the user text said back for a "word for word" instruction, else the next
/// follow-up it was given.
fn line_for(instructions: &str, user: &str, fake: &Shared) -> String {
    if instructions.contains("word for word") {
        return user.to_string();
    }
    if user.contains("Thanks for walking me through") || user.contains("Write only a topic") {
        return "the billing migration".into();
    }
    fake.lock()
        .unwrap()
        .follow_ups
        .pop_front()
        .unwrap_or_else(|| GOOD.into())
}

/// Replies to one OpenAI client event, each with whether to wait 100 ms after it.
fn openai_event(
    event: &Value,
    appended: &mut usize,
    fake: &Shared,
    voice: &Piper,
) -> Vec<(Value, bool)> {
    match event["type"].as_str().unwrap() {
        "session.update" => vec![(
            json!({"type": "session.updated", "session": event["session"]}),
            false,
        )],
        "input_audio_buffer.append" => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(event["audio"].as_str().unwrap())
                .unwrap();
            *appended += bytes.len() / 2;
            vec![]
        }
        "input_audio_buffer.commit" => {
            fake.lock()
                .unwrap()
                .committed
                .push(std::mem::take(appended));
            vec![
                (
                    json!({"type": "input_audio_buffer.committed", "item_id": "item_1"}),
                    false,
                ),
                (
                    json!({"type": "conversation.item.input_audio_transcription.completed",
                    "item_id": "item_1", "content_index": 0, "transcript": HEARD}),
                    false,
                ),
            ]
        }
        "response.create" => {
            let r = &event["response"];
            let line = line_for(
                r["instructions"].as_str().unwrap(),
                r["input"][0]["content"][0]["text"].as_str().unwrap(),
                fake,
            );
            let paced = fake.lock().unwrap().paced;
            let mut out = vec![(
                json!({"type": "response.created", "response": {"id": "resp_1"}}),
                false,
            )];
            let words: Vec<&str> = line.split_inclusive(' ').collect();
            let audio = speech(voice, &line);
            for (i, chunk) in audio.iter().enumerate() {
                if let Some(w) = words.get(i) {
                    out.push((
                        json!({"type": "response.output_audio_transcript.delta", "delta": w}),
                        false,
                    ));
                }
                out.push((
                    json!({"type": "response.output_audio.delta", "delta": chunk}),
                    paced,
                ));
            }
            for w in words.iter().skip(audio.len()) {
                out.push((
                    json!({"type": "response.output_audio_transcript.delta", "delta": w}),
                    false,
                ));
            }
            out.push((
                json!({"type": "response.done", "response": {"status": "completed"}}),
                false,
            ));
            out
        }
        "response.cancel" => {
            vec![(
                json!({"type": "response.done", "response": {"status": "cancelled"}}),
                false,
            )]
        }
        _ => vec![],
    }
}

fn gemini_event(
    event: &Value,
    appended: &mut usize,
    fake: &Shared,
    voice: &Piper,
) -> Vec<(Value, bool)> {
    if event.get("setup").is_some() {
        return vec![(json!({"setupComplete": {}}), false)];
    }
    let input = &event["realtimeInput"];
    if let Some(data) = input["audio"]["data"].as_str() {
        *appended += base64::engine::general_purpose::STANDARD
            .decode(data)
            .unwrap()
            .len()
            / 2;
        return vec![];
    }
    let spoken = |line: &str, paced: bool| {
        let mut out = vec![(
            json!({"serverContent": {"outputTranscription": {"text": line}}}),
            false,
        )];
        for chunk in speech(voice, line) {
            out.push((
                json!({"serverContent": {"modelTurn": {"parts": [
                    {"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": chunk}}]}}}),
                paced,
            ));
        }
        out.push((json!({"serverContent": {"turnComplete": true}}), false));
        out
    };
    if input.get("activityEnd").is_some() {
        fake.lock()
            .unwrap()
            .committed
            .push(std::mem::take(appended));
        // It transcribes the turn in pieces, then answers it on its own, as a Live session does.
        let (a, b) = HEARD.split_at(40);
        let mut out = vec![
            (
                json!({"serverContent": {"inputTranscription": {"text": a}}}),
                false,
            ),
            (
                json!({"serverContent": {"inputTranscription": {"text": b}}}),
                false,
            ),
        ];
        out.extend(spoken("That sounds great, tell me more.", false));
        return out;
    }
    if let Some(turns) = event["clientContent"]["turns"].as_array() {
        let user = turns[0]["parts"][0]["text"].as_str().unwrap();
        let system = fake
            .lock()
            .unwrap()
            .events
            .iter()
            .rev()
            .find_map(|e| {
                e["setup"]["systemInstruction"]["parts"][0]["text"]
                    .as_str()
                    .map(str::to_string)
            })
            .unwrap_or_default();
        let line = line_for(&system, user, fake);
        let paced = fake.lock().unwrap().paced;
        return spoken(&line, paced);
    }
    vec![]
}

fn settings_for(
    dir: &std::path::Path,
    provider: Provider,
    url: &str,
    key: &str,
) -> rehearse::config::Settings {
    let mut settings = with_models(dir);
    settings.realtime = Some(LiveConfig {
        provider,
        model: match provider {
            Provider::OpenAi => "gpt-realtime".into(),
            Provider::Gemini => "gemini-live-2.5-flash".into(),
        },
        endpoint: Endpoint::new(url, ApiKey::new(key)).unwrap(),
        voice: LiveConfig::default_voice(provider).into(),
    });
    settings
}

/// Says `samples` (16 kHz) into the interview in real time, 200 ms a chunk, then the silence that ends the turn.
async fn say(ws: &mut Ws, first_seq: u64, first_chunk: u64, samples: &[i16]) {
    let silence = vec![0i16; 16 * 5_000];
    let spoken = samples.len().div_ceil(3_200);
    for (i, c) in samples
        .chunks(3_200)
        .chain(silence.chunks(3_200))
        .enumerate()
    {
        let pcm: Vec<u8> = c.iter().flat_map(|s| s.to_le_bytes()).collect();
        let chunk = client_frame::Kind::Audio(pb::AudioChunk {
            sequence: first_chunk + i as u64,
            sample_rate: 16_000,
            pcm,
        });
        send(ws, first_seq + i as u64, chunk).await;
        if i < spoken {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

fn spoken_16k(text: &str) -> Vec<i16> {
    let mut pcm = Vec::new();
    crate::util::tiny_voice()
        .speak(text, 16_000, &mut |p| {
            pcm.extend_from_slice(p);
            std::ops::ControlFlow::Continue(())
        })
        .unwrap();
    pcm
}

async fn stored_answers(client: &crate::util::Client, id: &str) -> Vec<String> {
    let turns = client
        .get(&format!("/api/v1/sessions/{id}/transcript"))
        .await
        .json();
    turns
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["speaker"] == "candidate")
        .map(|t| t["text"].as_str().unwrap().to_string())
        .collect()
}

/// A whole spoken exchange through OpenAI's Realtime API: the opening is said word for word in the provider's
/// voice, the candidate's answer goes to it as 24 kHz audio and its transcription is stored, a model line the
/// guard holds back is never heard, and the line that passes is played from the reply that wrote it.
#[tokio::test]
#[allow(
    clippy::await_holding_lock,
    reason = "the guard only orders CPU-heavy tests; each test has its own runtime"
)]
async fn an_interview_through_openai_realtime_hears_writes_and_speaks() {
    let _cpu = crate::util::exclusive_cpu();
    let (url, fake) = start_fake(Provider::OpenAi);
    fake.lock()
        .unwrap()
        .follow_ups
        .extend([BAD.to_string(), GOOD.to_string()]);
    let dir = tempfile::tempdir().unwrap();
    let server = start(settings_for(dir.path(), Provider::OpenAi, &url, "sk-live")).await;
    let (client, id) = new_interview(&server.state, "ada@example.com").await;
    let (mut ws, opening) = hear_opening(&server, &client, &id, 16_000).await;
    let (text, samples) = spoken_turn(&opening, 16_000);
    assert_heard(&text, &samples);

    let answer = spoken_16k(
        "I led the migration of our billing service to a new queue, and we shipped it early.",
    );
    say(&mut ws, 10, 0, &answer).await;
    let reply = until(&mut ws, |k| matches!(k, Kind::Audio(a) if a.last)).await;
    let (said, heard) = spoken_turn(&reply, 16_000);
    assert_eq!(
        stored_answers(&client, &id).await,
        vec![HEARD.to_string()],
        "the provider's transcription is the answer"
    );
    assert!(
        !said.contains("honestly"),
        "the held-back line is not said: {said:?}"
    );
    assert_heard(&said, &heard);

    let f = fake.lock().unwrap();
    for (line, key) in &f.connections {
        assert_eq!(line, "/v1/realtime?model=gpt-realtime");
        assert_eq!(key.as_deref(), Some("Bearer sk-live"));
    }
    let setup = &f.events[0];
    assert_eq!(setup["type"], "session.update");
    let audio = &setup["session"]["audio"];
    assert_eq!(
        (
            &audio["input"]["format"]["type"],
            &audio["input"]["format"]["rate"]
        ),
        (&json!("audio/pcm"), &json!(24_000))
    );
    assert!(
        audio["input"]["turn_detection"].is_null(),
        "Rehearse decides when a turn ends"
    );
    assert!(audio["input"]["transcription"]["model"].is_string());
    assert_eq!(audio["output"]["voice"], "marin");
    // The answer went over as 24 kHz PCM, a second an append: the last commit (the whole turn) holds the spoken
    // length at that rate, within a second (the turn's pre-roll and trailing silence).
    let sent = *f.committed.last().unwrap();
    let expected = answer.len() * 3 / 2;
    assert!(
        sent.abs_diff(expected) < 24_000,
        "sent {sent} samples at 24 kHz for {expected}"
    );
    assert!(
        f.events
            .iter()
            .filter(|e| e["type"] == "input_audio_buffer.append")
            .count()
            >= 3
    );
    // Every line was asked for out of band, with the engine's instruction; the held-back line was written, then
    // the stricter second try.
    let creates: Vec<&Value> = f
        .events
        .iter()
        .filter(|e| e["type"] == "response.create")
        .collect();
    assert!(
        creates
            .iter()
            .all(|e| e["response"]["conversation"] == "none")
    );
    let model_lines = creates
        .iter()
        .filter(|e| {
            !e["response"]["instructions"]
                .as_str()
                .unwrap()
                .contains("word for word")
        })
        .count();
    assert!(model_lines >= 2, "{model_lines} model lines asked for");
    assert!(f.follow_ups.is_empty(), "both follow-ups were written");
    assert!(said.contains(GOOD), "{said:?}");
    let said_again = creates.iter().any(|e| {
        e["response"]["instructions"]
            .as_str()
            .unwrap()
            .contains("word for word")
            && e["response"]["input"][0]["content"][0]["text"] == GOOD
    });
    assert!(
        !said_again,
        "the line that passed is played from the reply that wrote it, not asked for again"
    );
    drop(f);
    server.stop().await;
}

/// A barge-in while the provider is still speaking cancels its reply, and the provider going away costs that
/// turn's voice, never an answer: the candidate is told, and the typed answer after it is stored.
#[tokio::test]
#[allow(
    clippy::await_holding_lock,
    reason = "the guard only orders CPU-heavy tests; each test has its own runtime"
)]
async fn a_barge_in_cancels_the_provider_reply_and_a_provider_that_goes_away_loses_nothing() {
    let _cpu = crate::util::exclusive_cpu();
    let (url, fake) = start_fake(Provider::OpenAi);
    fake.lock().unwrap().paced = true;
    let dir = tempfile::tempdir().unwrap();
    let server = start(settings_for(dir.path(), Provider::OpenAi, &url, "sk-live")).await;
    let (client, id) = new_interview(&server.state, "ada@example.com").await;
    let mut ws = connect_with(&server, &client, &id, Some(16_000)).await;
    let opening = until(
        &mut ws,
        |k| matches!(k, Kind::Audio(a) if !a.pcm.is_empty()),
    )
    .await;
    let first_audio = std::time::Instant::now();
    // The candidate starts talking over the opening.
    let tone: Vec<i16> = (0..16_000)
        .map(|i| ((i as f32 * 0.07).sin() * 12_000.0) as i16)
        .collect();
    for (i, c) in tone.chunks(3_200).enumerate() {
        let pcm: Vec<u8> = c.iter().flat_map(|s| s.to_le_bytes()).collect();
        send(
            &mut ws,
            10 + i as u64,
            client_frame::Kind::Audio(pb::AudioChunk {
                sequence: i as u64,
                sample_rate: 16_000,
                pcm,
            }),
        )
        .await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut seen = Vec::new();
    let mut interrupted = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while let Ok(Ok(k)) = tokio::time::timeout_at(deadline, next(&mut ws)).await {
        interrupted = matches!(&k, Kind::VoiceState(v) if v.interrupted);
        seen.push(k);
        if interrupted {
            break;
        }
    }
    let brief = |frames: &[Kind]| -> Vec<String> {
        frames
            .iter()
            .map(|k| format!("{k:?}").chars().take(80).collect())
            .collect()
    };
    assert!(
        interrupted,
        "the reply was interrupted ({:?} after its first audio): {:#?} {:#?}",
        first_audio.elapsed(),
        brief(&opening),
        brief(&seen)
    );
    let mut cancelled = false;
    for _ in 0..50 {
        cancelled = fake
            .lock()
            .unwrap()
            .events
            .iter()
            .any(|e| e["type"] == "response.cancel");
        if cancelled {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        cancelled,
        "the provider's reply was cancelled on the barge-in"
    );

    // The provider goes away: a typed answer is still stored and answered, with a notice, in text.
    {
        let mut f = fake.lock().unwrap();
        f.down = true;
        f.paced = false;
    }
    drop(ws);
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.state.hub().stop_all().await;
    let mut ws = connect_with(&server, &client, &id, Some(16_000)).await;
    answer(&mut ws, 1, "typed-1", HEARD).await;
    until(&mut ws, |k| {
        matches!(k, Kind::Transcript(t) if t.speaker == pb::Speaker::Candidate as i32 && t.text.contains("runbook"))
    })
    .await;
    let reply = until(&mut ws, interviewer_final).await;
    assert!(
        reply.iter().any(|k| matches!(k, Kind::Notice(n) if n.message.contains("not answering") || n.message.contains("could not speak"))),
        "the candidate is told: {reply:?}"
    );
    assert!(
        stored_answers(&client, &id)
            .await
            .iter()
            .any(|a| a.contains("runbook"))
    );
    server.stop().await;
}

/// The same exchange through the Gemini Live API: its setup, the answer as 16 kHz audio between activity marks
/// (transcribed in pieces, its own unasked reply never heard), and a line spoken from a session of its own.
#[tokio::test]
#[allow(
    clippy::await_holding_lock,
    reason = "the guard only orders CPU-heavy tests; each test has its own runtime"
)]
async fn an_interview_through_gemini_live_hears_writes_and_speaks() {
    let _cpu = crate::util::exclusive_cpu();
    let (url, fake) = start_fake(Provider::Gemini);
    let dir = tempfile::tempdir().unwrap();
    let server = start(settings_for(dir.path(), Provider::Gemini, &url, "g-live")).await;
    let (client, id) = new_interview(&server.state, "ada@example.com").await;
    let (mut ws, opening) = hear_opening(&server, &client, &id, 16_000).await;
    let (text, samples) = spoken_turn(&opening, 16_000);
    assert_heard(&text, &samples);

    let answer = spoken_16k(
        "I led the migration of our billing service to a new queue, and we shipped it early.",
    );
    say(&mut ws, 10, 0, &answer).await;
    let reply = until(&mut ws, |k| matches!(k, Kind::Audio(a) if a.last)).await;
    let (said, heard) = spoken_turn(&reply, 16_000);
    assert_eq!(stored_answers(&client, &id).await, vec![HEARD.to_string()]);
    assert!(
        !said.contains("tell me more"),
        "its own unasked reply is not heard: {said:?}"
    );
    assert_heard(&said, &heard);

    let f = fake.lock().unwrap();
    for (line, key) in &f.connections {
        assert_eq!(
            line,
            "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
        );
        assert_eq!(key.as_deref(), Some("g-live"));
    }
    let setups: Vec<&Value> = f.events.iter().filter_map(|e| e.get("setup")).collect();
    assert_eq!(
        setups.len(),
        f.connections.len(),
        "a session per line and per answer"
    );
    for s in &setups {
        assert_eq!(s["model"], "models/gemini-live-2.5-flash");
        assert_eq!(
            s["realtimeInputConfig"]["automaticActivityDetection"]["disabled"],
            true
        );
        assert!(
            s["inputAudioTranscription"].is_object() && s["outputAudioTranscription"].is_object()
        );
        assert_eq!(
            s["generationConfig"]["speechConfig"]["voiceConfig"]["prebuiltVoiceConfig"]["voiceName"],
            "Puck"
        );
    }
    let sent = *f.committed.last().unwrap();
    assert!(
        sent.abs_diff(answer.len()) < 16_000,
        "sent {sent} samples at 16 kHz for {}",
        answer.len()
    );
    let audio: Vec<&Value> = f
        .events
        .iter()
        .filter_map(|e| e["realtimeInput"].get("audio"))
        .collect();
    assert!(
        audio
            .iter()
            .all(|a| a["mimeType"] == "audio/pcm;rate=16000")
    );
    assert!(
        f.events
            .iter()
            .any(|e| e["realtimeInput"].get("activityStart").is_some())
    );
    assert!(
        f.events
            .iter()
            .any(|e| e["realtimeInput"].get("activityEnd").is_some())
    );
    drop(f);
    server.stop().await;
}

/// `rehearse bench voice --realtime ...` measures a live model like a local one: answers said aloud into a live
/// interview, the provider hearing and speaking, each turn's latency stored.
#[tokio::test]
#[allow(
    clippy::await_holding_lock,
    reason = "the guard only orders CPU-heavy tests; each test has its own runtime"
)]
async fn the_voice_benchmark_runs_a_live_model() {
    let _cpu = crate::util::exclusive_cpu();
    let (url, fake) = start_fake(Provider::OpenAi);
    let dir = tempfile::tempdir().unwrap();
    let live = settings_for(dir.path(), Provider::OpenAi, &url, "sk-live")
        .realtime
        .unwrap();
    let report = rehearse::bench::voice::run(
        &crate::util::models_dir(),
        &rehearse::bench::voice::Options {
            set: "tiny".into(),
            llm: None,
            stt: None,
            tts: None,
            tts_voice: String::new(),
            realtime: Some(live),
            interviews: 1,
            turns: 1,
            clips: None,
        },
    )
    .await
    .unwrap();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.turns, 1);
    assert_eq!(report.llm, "openai:gpt-realtime (live)");
    assert!(report.speech_end_to_first_audio.count >= 1, "{report:?}");
    let f = fake.lock().unwrap();
    assert!(
        f.events
            .iter()
            .any(|e| e["type"] == "input_audio_buffer.commit")
    );
}
