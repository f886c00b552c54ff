//! The interviewer's voice from another server (`--tts openai:MODEL --tts-url URL --tts-voice NAME`): a server that
//! follows OpenAI's speech API (`POST /v1/audio/speech`, raw 24 kHz PCM streamed in chunks) speaks with the real
//! piper voice of the tiny set, and a live interview's listener hears, at its own rate, what the interviewer wrote;
//! when the server fails, the listener is told and reads the turn instead.

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::TcpListener,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use rehearse::{
    backends::{Provider, Remote, Spec},
    llm::remote::{ApiKey, Endpoint},
    realtime::pb::server_frame::Kind,
    voice::tts::piper::Piper,
};

use crate::ws::*;

/// One speech request as the fake server received it.
#[derive(Debug, Clone)]
struct Request {
    line: String,
    authorization: Option<String>,
    json: serde_json::Value,
}

/// A speech server on port 0 that speaks each request's `input` with `voice` at 24 kHz and streams it in chunks of
/// 100 ms (or answers 503 while `failing` is set); every request is kept.
fn speech_server(voice: Piper, failing: Arc<AtomicBool>) -> (String, Arc<Mutex<Vec<Request>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let kept = seen.clone();
    let voice = Arc::new(voice);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let (voice, kept, failing) = (voice.clone(), kept.clone(), failing.clone());
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut head = Vec::new();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    if line.trim().is_empty() {
                        break;
                    }
                    head.push(line.trim_end().to_string());
                }
                let header = |name: &str| {
                    head.iter().find_map(|h| {
                        let (k, v) = h.split_once(':')?;
                        k.trim()
                            .eq_ignore_ascii_case(name)
                            .then(|| v.trim().to_string())
                    })
                };
                let length: usize = header("content-length").map_or(0, |v| v.parse().unwrap());
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
                kept.lock().unwrap().push(Request {
                    line: head[0].clone(),
                    authorization: header("authorization"),
                    json: json.clone(),
                });
                let mut stream = stream;
                if failing.load(Ordering::SeqCst) {
                    let _ = write!(
                        stream,
                        "HTTP/1.1 503 Busy\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{{}}"
                    );
                    return;
                }
                let mut pcm = Vec::new();
                voice
                    .speak(json["input"].as_str().unwrap(), 24_000, &mut |p| {
                        pcm.extend_from_slice(p);
                        std::ops::ControlFlow::Continue(())
                    })
                    .unwrap();
                let bytes: Vec<u8> = pcm.iter().flat_map(|s| s.to_le_bytes()).collect();
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: audio/pcm\r\nTransfer-Encoding: chunked\r\n\r\n"
                );
                for chunk in bytes.chunks(4_800) {
                    let sent = write!(stream, "{:x}\r\n", chunk.len())
                        .and_then(|()| stream.write_all(chunk))
                        .and_then(|()| stream.write_all(b"\r\n"));
                    if sent.is_err() {
                        return;
                    }
                }
                let _ = stream.write_all(b"0\r\n\r\n");
            });
        }
    });
    (url, seen)
}

#[tokio::test]
#[allow(
    clippy::await_holding_lock,
    reason = "the guard only orders CPU-heavy tests; each test has its own runtime"
)]
async fn the_interviewer_speaks_through_a_remote_voice() {
    let _cpu = crate::util::exclusive_cpu();
    let failing = Arc::new(AtomicBool::new(false));
    let (url, seen) = speech_server(crate::util::tiny_voice(), failing.clone());
    let dir = tempfile::tempdir().unwrap();
    let mut settings = with_models(dir.path());
    settings.tts = Spec::Remote(Remote {
        provider: Provider::OpenAi,
        model: "tts-1".into(),
        endpoint: Endpoint::new(&url, ApiKey::new("sk-voice")).unwrap(),
    });
    settings.tts_voice = "nova".into();
    let server = start(settings).await;
    assert!(
        server.state.tts().is_some(),
        "a remote voice needs nothing loaded"
    );
    let (client, id) = new_interview(&server.state, "ada@example.com").await;
    let (mut ws, opening) = hear_opening(&server, &client, &id, 16_000).await;
    let (text, samples) = spoken_turn(&opening, 16_000);
    assert_heard(&text, &samples);

    // The server was asked for exactly what the interviewer wrote, sentence by sentence, in the voice named.
    let requests = seen.lock().unwrap().clone();
    assert!(!requests.is_empty());
    for r in &requests {
        assert_eq!(r.line, "POST /v1/audio/speech HTTP/1.1");
        assert_eq!(r.authorization.as_deref(), Some("Bearer sk-voice"));
        assert_eq!(
            (
                &r.json["model"],
                &r.json["voice"],
                &r.json["response_format"]
            ),
            (&"tts-1".into(), &"nova".into(), &"pcm".into())
        );
    }
    let asked: Vec<&str> = requests
        .iter()
        .map(|r| r.json["input"].as_str().unwrap())
        .collect();
    assert_eq!(
        rehearse::text::fold_words(&asked.join(" ")),
        rehearse::text::fold_words(&text),
        "{asked:?}"
    );

    // The server fails: the reply comes as text, and the listener is told why it hears nothing.
    failing.store(true, Ordering::SeqCst);
    answer(
        &mut ws,
        1,
        "a1",
        "I led the migration of our billing service to a new queue, split the work into four pieces, wrote the \
         runbook myself, and we shipped two weeks early with zero data loss.",
    )
    .await;
    let reply = until(&mut ws, |k| matches!(k, Kind::Audio(a) if a.last)).await;
    assert!(
        reply.iter().any(interviewer_final),
        "the reply is on the page"
    );
    assert!(
        reply
            .iter()
            .any(|k| matches!(k, Kind::Notice(n) if n.message.contains("voice could not speak"))),
        "{reply:?}"
    );
    assert!(
        !reply
            .iter()
            .any(|k| matches!(k, Kind::Audio(a) if !a.pcm.is_empty())),
        "no audio from a failing server"
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    server.stop().await;
}
