//! A real server on port 0 and a client of its WebSocket, shared by the tests of the live interview: the test
//! catalog (the real one plus a two-round company), starting and stopping the server, a new interview, and
//! reading and sending protobuf frames.

use std::{path::Path, time::Duration};

use axum::http::{Method, StatusCode};
use futures_util::{SinkExt, StreamExt};
use prost::Message as _;
use rehearse::{
    app::AppState,
    config::Settings,
    realtime::pb::{self, client_frame, server_frame::Kind},
};
use serde_json::json;
use tokio::net::TcpStream;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, tungstenite::Message};

use crate::util::Client;

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A data directory whose catalog is the real one plus a company with a two-round loop.
pub fn catalog_with_testco(dir: &Path) -> Settings {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                copy(&e.path(), &to.join(e.file_name()));
            } else {
                std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let seeds = dir.join("seeds");
    copy(&root.join("seeds"), &seeds);
    std::fs::copy(
        root.join("tests/fixtures/testco.toml"),
        seeds.join("companies/testco.toml"),
    )
    .unwrap();
    let mut s = Settings::for_data_dir(dir);
    s.seeds_dir = Some(seeds);
    s
}

/// The test catalog, with the tiny model set shared by the tests (each test picks the backends it runs).
pub fn with_models(dir: &Path) -> Settings {
    let mut settings = catalog_with_testco(dir);
    settings.models_dir = crate::util::models_dir();
    settings
}

pub struct Server {
    pub state: AppState,
    pub addr: std::net::SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

pub async fn start(settings: Settings) -> Server {
    // `REHEARSE_TEST_LOG=rehearse=debug cargo test ... -- --nocapture` shows what the server logs.
    if let Ok(filter) = std::env::var("REHEARSE_TEST_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_ansi(false)
            .with_test_writer()
            .try_init();
    }
    let state = AppState::open(settings).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(rehearse::app::serve(listener, state.clone(), async {
        rx.await.ok();
    }));
    Server {
        state,
        addr,
        stop: Some(tx),
        task,
    }
}

impl Server {
    pub async fn stop(mut self) {
        self.stop.take().unwrap().send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        self.state.hub().stop_all().await;
    }
}

pub async fn new_interview(state: &AppState, email: &str) -> (Client, String) {
    let router = rehearse::app::router(state.clone());
    let c = Client::signup(&router, email).await;
    let r = c
        .send(
            Method::POST,
            "/api/v1/sessions",
            Some(json!({"company_id": "testco", "role_id": "two-rounds"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.json()["id"].as_str().unwrap().to_string();
    (c, id)
}

pub async fn connect(server: &Server, client: &Client, id: &str) -> Ws {
    connect_with(server, client, id, None).await
}

/// Connects; `audio` is the playback rate for a client that wants to hear the interviewer.
pub async fn connect_with(server: &Server, client: &Client, id: &str, audio: Option<u32>) -> Ws {
    let r = client
        .send(
            Method::POST,
            &format!("/api/v1/sessions/{id}/realtime-token"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let url = format!(
        "ws://{}{}",
        server.addr,
        r.json()["ws_url"].as_str().unwrap()
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    send(
        &mut ws,
        0,
        client_frame::Kind::Hello(pb::Hello {
            client_version: "test".into(),
            want_audio: audio.is_some(),
            playback_sample_rate: audio.unwrap_or(0),
            ..Default::default()
        }),
    )
    .await;
    ws
}

pub async fn send(ws: &mut Ws, seq: u64, kind: client_frame::Kind) {
    let frame = pb::ClientFrame {
        seq,
        kind: Some(kind),
    };
    ws.send(Message::Binary(frame.encode_to_vec().into()))
        .await
        .unwrap();
}

pub async fn answer(ws: &mut Ws, seq: u64, id: &str, text: &str) {
    send(
        ws,
        seq,
        client_frame::Kind::TextAnswer(pb::TextAnswer {
            answer_id: id.into(),
            text: text.into(),
        }),
    )
    .await;
}

/// The next server frame, or None when the socket closes (with its close code).
pub async fn next(ws: &mut Ws) -> Result<Kind, Option<u16>> {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(30), ws.next())
            .await
            .expect("a frame within 30 s");
        match msg {
            Some(Ok(Message::Binary(b))) => {
                return Ok(pb::ServerFrame::decode(b.as_ref()).unwrap().kind.unwrap());
            }
            Some(Ok(Message::Close(frame))) => return Err(frame.map(|f| u16::from(f.code))),
            Some(Ok(_)) => continue,
            _ => return Err(None),
        }
    }
}

/// Reads frames until `want` matches one; returns everything read.
/// Gives up after two minutes, whatever else the server sends meanwhile, so a test that waits in vain fails instead
/// of hanging.
pub async fn until(ws: &mut Ws, want: impl Fn(&Kind) -> bool) -> Vec<Kind> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    let mut seen = Vec::new();
    loop {
        let k = match tokio::time::timeout_at(deadline, next(ws)).await {
            Ok(k) => k,
            Err(_) => panic!(
                "not there after 2 minutes; the last frames: {:?}",
                &seen[seen.len().saturating_sub(20)..]
            ),
        }
        .unwrap_or_else(|code| panic!("closed ({code:?}) after {seen:?}"));
        let done = want(&k);
        seen.push(k);
        if done {
            return seen;
        }
    }
}

pub fn interviewer_final(k: &Kind) -> bool {
    matches!(k, Kind::Transcript(t) if t.speaker == pb::Speaker::Interviewer as i32 && t.is_final)
}

pub fn status(k: &Kind) -> Option<pb::SessionStatus> {
    if let Kind::SessionState(s) = k {
        Some(s.status())
    } else {
        None
    }
}

/// Connects a client that listens at `rate` and waits for the spoken opening: the connection and the opening's
/// frames, which say a voice is there.
pub async fn hear_opening(
    server: &Server,
    client: &Client,
    id: &str,
    rate: u32,
) -> (Ws, Vec<Kind>) {
    let mut ws = connect_with(server, client, id, Some(rate)).await;
    let opening = until(&mut ws, |k| matches!(k, Kind::Audio(a) if a.last)).await;
    assert!(
        opening
            .iter()
            .any(|k| matches!(k, Kind::SessionState(s) if s.tts_available)),
        "the session says a voice is there"
    );
    (ws, opening)
}

/// A spoken interviewer turn as a listener got it: the turn's final text, and its audio frames, checked to come in
/// many small frames at `rate` numbered from 0, as samples.
pub fn spoken_turn(frames: &[Kind], rate: u32) -> (String, Vec<f32>) {
    let text = frames
        .iter()
        .find_map(|k| match k {
            Kind::Transcript(t) if t.speaker == pb::Speaker::Interviewer as i32 && t.is_final => {
                Some(t.text.clone())
            }
            _ => None,
        })
        .expect("the turn's text comes first");
    let audio: Vec<&pb::AudioOut> = frames
        .iter()
        .filter_map(|k| match k {
            Kind::Audio(a) => Some(a),
            _ => None,
        })
        .collect();
    assert!(audio.len() > 5, "spoken in many small frames, not one");
    for (i, a) in audio.iter().enumerate() {
        assert_eq!((a.sample_rate, a.sequence), (rate, i as u64));
        assert!(a.pcm.len() % 2 == 0 && a.pcm.len() <= rate as usize * 2 / 5 + 2);
    }
    let samples = audio
        .iter()
        .flat_map(|a| a.pcm.chunks(2))
        .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0)
        .collect();
    (text, samples)
}

/// What the tiny set's whisper hears in `samples` (16 kHz) is `text`, within a word error rate of 0.25.
pub fn assert_heard(text: &str, samples: &[f32]) {
    let whisper = rehearse::voice::stt::whisper::Whisper::load(
        &crate::util::tiny_model("whisper-tiny.en", rehearse::models::Purpose::Stt),
        2,
    )
    .unwrap();
    let heard = whisper.transcribe(samples).unwrap().text;
    let wer = rehearse::voice::stt::word_error_rate(text, &heard);
    assert!(wer <= 0.25, "said {text:?}, heard {heard:?} (WER {wer:.2})");
}
