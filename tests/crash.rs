//! Crash durability: the real binary, with the tiny set's model, is killed with SIGKILL at twenty points of a text
//! interview (right after an answer is acknowledged, and later, while the model writes the reply), started
//! again each time, and the transcript must hold every acknowledged answer once, each followed by the
//! interviewer's reply: nothing lost, nothing stored twice, nothing left unanswered.

use std::{
    net::SocketAddr,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use futures_util::{SinkExt, StreamExt};
use prost::Message as _;
use rehearse::{
    bench::load::Http,
    realtime::pb::{self, client_frame, server_frame::Kind},
};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const KILL_POINTS: usize = 20;

async fn start(dir: &std::path::Path, addr: SocketAddr) -> Child {
    let child = Command::new(env!("CARGO_BIN_EXE_rehearse"))
        .args(["--data-dir", &dir.to_string_lossy()])
        .args(["--models-dir", &crate::util::models_dir().to_string_lossy()])
        // A real model: its reply takes long enough for kills to land between an answer's acknowledgement and the
        // engine's save (the scripted interviewer replies within microseconds).
        .args(["--llm", "local:smollm2-135m"])
        .args(["--stt", "off", "--tts", "off", "--vad", "off"])
        .args(["--log", "error", "serve", "--addr", &addr.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the server did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child
}

async fn join(http: &mut Http, addr: SocketAddr, id: &str) -> Ws {
    let (status, token) = http
        .call(
            "POST",
            &format!("/api/v1/sessions/{id}/realtime-token"),
            None,
        )
        .await
        .unwrap();
    assert_eq!(status, 200, "{token}");
    let url = format!("ws://{addr}{}", token["ws_url"].as_str().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    send(
        &mut ws,
        0,
        client_frame::Kind::Hello(pb::Hello {
            client_version: "crash".into(),
            ..Default::default()
        }),
    )
    .await;
    ws
}

async fn send(ws: &mut Ws, seq: u64, kind: client_frame::Kind) {
    let frame = pb::ClientFrame {
        seq,
        kind: Some(kind),
    };
    ws.send(Message::Binary(frame.encode_to_vec().into()))
        .await
        .unwrap();
}

/// Frames until `want` matches one, or None after `within` without it.
async fn until(ws: &mut Ws, within: Duration, want: impl Fn(&Kind) -> bool) -> Option<Kind> {
    tokio::time::timeout(within, async {
        while let Some(Ok(msg)) = ws.next().await {
            if let Message::Binary(b) = msg
                && let Some(k) = pb::ServerFrame::decode(b.as_ref())
                    .ok()
                    .and_then(|f| f.kind)
                && want(&k)
            {
                return Some(k);
            }
        }
        None
    })
    .await
    .ok()
    .flatten()
}

fn interviewer_final(k: &Kind) -> bool {
    matches!(k, Kind::Transcript(t) if t.speaker == pb::Speaker::Interviewer as i32 && t.is_final)
}

#[tokio::test]
#[allow(
    clippy::await_holding_lock,
    reason = "the guard only orders CPU-heavy tests; each test has its own runtime"
)]
async fn killed_at_twenty_points_no_acknowledged_answer_is_lost_duplicated_or_left_unanswered() {
    let _cpu = crate::util::exclusive_cpu();
    let dir = tempfile::tempdir().unwrap();
    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let mut server = start(dir.path(), addr).await;
    let mut http = Http::new(addr);
    http.fetch_csrf().await.unwrap();
    let (status, body) = http
        .call(
            "POST",
            "/api/v1/auth/signup",
            Some(json!({"email": "ada@example.com", "password": "a long password"})),
        )
        .await
        .unwrap();
    assert_eq!(status, 201, "{body}");
    let (status, body) = http
        .call(
            "POST",
            "/api/v1/sessions",
            Some(json!({"company_id": "amazon", "role_id": "sde-ii"})),
        )
        .await
        .unwrap();
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_str().unwrap().to_string();

    let mut acknowledged = Vec::new();
    for point in 0..KILL_POINTS {
        let mut ws = join(&mut http, addr, &id).await;
        // The interviewer has had its say (the opening, or its reply to an answer from before the last kill).
        until(&mut ws, Duration::from_secs(20), interviewer_final).await;
        let answer_id = format!("answer-{point}");
        let text = format!(
            "Story {point}: I owned the migration, measured p99 latency before and after, and cut it by {point}0 percent."
        );
        send(
            &mut ws,
            1,
            client_frame::Kind::TextAnswer(pb::TextAnswer {
                answer_id: answer_id.clone(),
                text: text.clone(),
            }),
        )
        .await;
        let reply = until(&mut ws, Duration::from_secs(20), |k| {
            matches!(k, Kind::Ack(a) if a.answer_id == answer_id)
                || matches!(k, Kind::Error(e) if e.code == "session_closed")
        })
        .await;
        if matches!(reply, Some(Kind::Ack(_))) {
            acknowledged.push(text);
        }
        // Kill points: at the acknowledgement, and 20, 100 and 300 ms after it, while the model writes its reply.
        let delay = [0, 20, 100, 300][point % 4];
        tokio::time::sleep(Duration::from_millis(delay)).await;
        server.kill().unwrap();
        server.wait().unwrap();
        drop(ws);
        server = start(dir.path(), addr).await;
    }
    // The last restart: the interviewer answers whatever it had not, once someone is connected.
    let ws = join(&mut http, addr, &id).await;
    let started = Instant::now();
    let turns = loop {
        let (status, turns) = http
            .call("GET", &format!("/api/v1/sessions/{id}/transcript"), None)
            .await
            .unwrap();
        assert_eq!(status, 200);
        let turns = turns.as_array().unwrap().clone();
        let answered = turns.last().is_some_and(|t| t["speaker"] == "interviewer");
        if answered || started.elapsed() > Duration::from_secs(20) {
            break turns;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    drop(ws);
    server.kill().unwrap();
    server.wait().unwrap();
    assert!(
        acknowledged.len() >= 10,
        "only {} answers were acknowledged",
        acknowledged.len()
    );
    for text in &acknowledged {
        let at: Vec<usize> = turns
            .iter()
            .enumerate()
            .filter(|(_, t)| t["speaker"] == "candidate" && t["text"] == text.as_str())
            .map(|(i, _)| i)
            .collect();
        assert_eq!(at.len(), 1, "stored {} times: {text}", at.len());
        assert!(
            turns[at[0] + 1..]
                .iter()
                .any(|t| t["speaker"] == "interviewer"),
            "never answered: {text}"
        );
    }
    eprintln!(
        "crash durability: {KILL_POINTS} kills, {} acknowledged answers, 0 lost, 0 duplicated, 0 unanswered",
        acknowledged.len()
    );
}
