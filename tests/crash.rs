//! Crash durability: the real binary, with the tiny set's model, is killed with SIGKILL at twenty points of a text
//! interview (right after an answer is acknowledged, and later, while the model writes the reply), started
//! again each time, and the transcript must hold every acknowledged answer once, each followed by the
//! interviewer's reply: nothing lost, nothing stored twice, nothing left unanswered. It is also killed while a code
//! run is in the sandbox, while the report is being made, and after a spoken answer.

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
    start_with(dir, addr, &["--stt", "off", "--tts", "off", "--vad", "off"]).await
}

/// The server with `speech`'s settings for whisper, the voice and the VAD.
async fn start_with(dir: &std::path::Path, addr: SocketAddr, speech: &[&str]) -> Child {
    let child = Command::new(env!("CARGO_BIN_EXE_rehearse"))
        .args(["--data-dir", &dir.to_string_lossy()])
        .args(["--models-dir", &crate::util::models_dir().to_string_lossy()])
        .args([
            "--runtimes-dir",
            &crate::util::runtimes_dir().to_string_lossy(),
        ])
        // A real model: its reply takes long enough for kills to land between an answer's acknowledgement and the
        // engine's save (the scripted interviewer replies within microseconds).
        .args(["--llm", "local:smollm2-135m"])
        .args(speech)
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

/// A free loopback address for the server.
fn free_addr() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

/// SIGKILL, and the process reaped.
fn stop(server: &mut Child) {
    server.kill().unwrap();
    server.wait().unwrap();
}

/// The transcript once its last turn is the interviewer's (what a restart owes is said), or as it is after
/// `within`.
async fn answered_transcript(
    http: &mut Http,
    id: &str,
    within: Duration,
) -> Vec<serde_json::Value> {
    let started = Instant::now();
    loop {
        let (status, turns) = http
            .call("GET", &format!("/api/v1/sessions/{id}/transcript"), None)
            .await
            .unwrap();
        assert_eq!(status, 200);
        let turns = turns.as_array().unwrap().clone();
        if turns.last().is_some_and(|t| t["speaker"] == "interviewer") || started.elapsed() > within
        {
            return turns;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Each of `said` is the candidate's turn exactly once, and an interviewer's turn follows it.
fn assert_kept_once_and_answered(turns: &[serde_json::Value], said: &[String]) {
    for text in said {
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
}

async fn join(http: &mut Http, addr: SocketAddr, id: &str) -> Ws {
    try_join(http, addr, id)
        .await
        .expect("the interview is not over")
}

/// A connection to the interview, said hello on, or None when it is over.
async fn try_join(http: &mut Http, addr: SocketAddr, id: &str) -> Option<Ws> {
    let (status, token) = http
        .call(
            "POST",
            &format!("/api/v1/sessions/{id}/realtime-token"),
            None,
        )
        .await
        .unwrap();
    if status == 409 {
        return None;
    }
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
    Some(ws)
}

/// Ends the interview if it is still going (its connection is returned, to be dropped after a kill), else asks
/// for its report, which starts its scoring if there is no report yet.
async fn end_or_ask_for_report(http: &mut Http, addr: SocketAddr, id: &str) -> Option<Ws> {
    match try_join(http, addr, id).await {
        Some(mut ws) => {
            send(
                &mut ws,
                1,
                client_frame::Kind::Control(pb::Control {
                    action: pb::control::Action::End as i32,
                }),
            )
            .await;
            Some(ws)
        }
        None => {
            let (status, body) = http
                .call("GET", &format!("/api/v1/sessions/{id}/report"), None)
                .await
                .unwrap();
            assert!(matches!(status, 200 | 202), "{status}: {body}");
            None
        }
    }
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
    let addr = free_addr();
    let mut server = start(dir.path(), addr).await;
    let mut http = Http::new(addr);
    // The whole loop (no rounds chosen).
    let id = new_session(&mut http, "amazon", "sde-ii", serde_json::Value::Null).await;

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
        stop(&mut server);
        drop(ws);
        server = start(dir.path(), addr).await;
    }
    // The last restart: the interviewer answers whatever it had not, once someone is connected.
    let ws = join(&mut http, addr, &id).await;
    let turns = answered_transcript(&mut http, &id, Duration::from_secs(20)).await;
    drop(ws);
    stop(&mut server);
    assert!(
        acknowledged.len() >= 10,
        "only {} answers were acknowledged",
        acknowledged.len()
    );
    assert_kept_once_and_answered(&turns, &acknowledged);
    eprintln!(
        "crash durability: {KILL_POINTS} kills, {} acknowledged answers, 0 lost, 0 duplicated, 0 unanswered",
        acknowledged.len()
    );
}

/// Signs up and starts an interview of `rounds` of `company`'s `role`; returns its id.
async fn new_session(
    http: &mut Http,
    company: &str,
    role: &str,
    rounds: serde_json::Value,
) -> String {
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
            Some(json!({"company_id": company, "role_id": role, "rounds": rounds})),
        )
        .await
        .unwrap();
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_string()
}

fn code_run(run_id: &str, source: &str) -> client_frame::Kind {
    client_frame::Kind::CodeRun(pb::CodeRun {
        run_id: run_id.into(),
        mode: pb::RunMode::Custom as i32,
        language: pb::Language::Python as i32,
        source: source.into(),
        stdin: String::new(),
    })
}

/// Killed while a code run is in the sandbox (with an answer acknowledged beside it) and while the report is being
/// made: after each restart the interview goes on, every acknowledged answer is answered once, a new run gives
/// its result, and the report is made.
#[tokio::test]
#[allow(
    clippy::await_holding_lock,
    reason = "the guard only orders CPU-heavy tests; each test has its own runtime"
)]
async fn killed_mid_code_run_and_mid_score_the_interview_goes_on_and_the_report_is_made() {
    let _cpu = crate::util::exclusive_cpu();
    let dir = tempfile::tempdir().unwrap();
    let addr = free_addr();
    let mut server = start(dir.path(), addr).await;
    let mut http = Http::new(addr);
    // The SDE I online assessment: a coding round.
    let id = new_session(&mut http, "amazon", "sde-i", json!([0])).await;
    let slow = "s = 0\nfor i in range(2_000_000):\n    s += i\nprint(s)\n";
    let mut acknowledged = Vec::new();
    // Kill points in a code run: as it is sent, and 50 ms to 1.5 s into it.
    for (point, delay) in [0, 50, 200, 500, 1000, 1500].into_iter().enumerate() {
        let mut ws = join(&mut http, addr, &id).await;
        until(&mut ws, Duration::from_secs(20), interviewer_final).await;
        send(&mut ws, 1, code_run(&format!("run-{point}"), slow)).await;
        let answer_id = format!("answer-{point}");
        let text =
            format!("While that runs: I would use a hash map keyed by the {point}th prefix sum.");
        send(
            &mut ws,
            2,
            client_frame::Kind::TextAnswer(pb::TextAnswer {
                answer_id: answer_id.clone(),
                text: text.clone(),
            }),
        )
        .await;
        if until(
            &mut ws,
            Duration::from_secs(20),
            |k| matches!(k, Kind::Ack(a) if a.answer_id == answer_id),
        )
        .await
        .is_some()
        {
            acknowledged.push(text);
        }
        tokio::time::sleep(Duration::from_millis(delay)).await;
        stop(&mut server);
        drop(ws);
        server = start(dir.path(), addr).await;
    }
    // The sandbox works after the kills: a run gives its result.
    let mut ws = join(&mut http, addr, &id).await;
    send(&mut ws, 1, code_run("after", "print(6 * 7)\n")).await;
    let result = until(&mut ws, Duration::from_secs(60), |k| {
        matches!(k, Kind::CodeResult(r) if r.run_id == "after") || matches!(k, Kind::Error(_))
    })
    .await;
    let Some(Kind::CodeResult(r)) = result else {
        panic!("no result for a run after the restarts: {result:?}")
    };
    assert_eq!(
        (r.verdict(), r.stdout.trim()),
        (pb::Verdict::Accepted, "42"),
        "{}",
        r.stderr
    );
    // Every acknowledged answer once, and answered.
    let turns = answered_transcript(&mut http, &id, Duration::from_secs(20)).await;
    assert!(
        acknowledged.len() >= 4,
        "only {} acknowledged",
        acknowledged.len()
    );
    assert_kept_once_and_answered(&turns, &acknowledged);

    // Kill points while the report is made: as the interview is ended (the end starts its scoring), then, the
    // interview being over, as the report is asked for (which starts the scoring a kill interrupted), and 30 and
    // 150 ms after.
    for delay in [0, 0, 30, 150] {
        let ended = end_or_ask_for_report(&mut http, addr, &id).await;
        tokio::time::sleep(Duration::from_millis(delay)).await;
        stop(&mut server);
        drop(ended);
        server = start(dir.path(), addr).await;
    }
    let ws = end_or_ask_for_report(&mut http, addr, &id).await;
    let started = Instant::now();
    let report = loop {
        let (status, body) = http
            .call("GET", &format!("/api/v1/sessions/{id}/report"), None)
            .await
            .unwrap();
        if status == 200 {
            break body;
        }
        assert!(
            matches!(status, 202 | 409),
            "the report answered {status}: {body}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no report 60 s after the restarts"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    drop(ws);
    stop(&mut server);
    assert_eq!(report["rounds"].as_array().unwrap().len(), 1, "{report}");
    assert_eq!(report["status"], "complete", "{report}");
    eprintln!(
        "crash durability: 6 kills mid-run and 4 mid-score, {} acknowledged answers answered once, the report made",
        acknowledged.len()
    );
}

/// Killed after a spoken answer became the candidate's turn (whisper's transcript shown), and while the model writes
/// the reply: each spoken answer is in the transcript once and answered.
#[tokio::test]
#[allow(
    clippy::await_holding_lock,
    reason = "the guard only orders CPU-heavy tests; each test has its own runtime"
)]
async fn killed_after_a_spoken_answer_it_is_kept_once_and_answered() {
    let _cpu = crate::util::exclusive_cpu();
    let voice = crate::util::tiny_voice();
    let dir = tempfile::tempdir().unwrap();
    let addr = free_addr();
    let speech = [
        "--stt",
        "local:whisper-tiny.en",
        "--vad",
        "local:silero-vad",
        "--tts",
        "off",
    ];
    let mut server = start_with(dir.path(), addr, &speech).await;
    let mut http = Http::new(addr);
    let id = new_session(&mut http, "amazon", "sde-ii", serde_json::Value::Null).await;
    let mut heard = Vec::new();
    for (point, delay) in [0, 0, 100, 300, 600, 1000].into_iter().enumerate() {
        let mut ws = join(&mut http, addr, &id).await;
        until(&mut ws, Duration::from_secs(30), interviewer_final).await;
        let mut pcm = Vec::new();
        voice
            .speak(
                &format!(
                    "In story number {point} I owned the billing migration and cut latency in half."
                ),
                16_000,
                &mut |p| {
                    pcm.extend_from_slice(p);
                    std::ops::ControlFlow::Continue(())
                },
            )
            .unwrap();
        // Sent at once, the words are not known in time: the longest silence ends the turn.
        pcm.extend(std::iter::repeat_n(
            0i16,
            16 * (rehearse::config::DEFAULT_END_OF_TURN_MS as usize + 500),
        ));
        for (i, c) in pcm.chunks(3_200).enumerate() {
            send(
                &mut ws,
                10 + i as u64,
                client_frame::Kind::Audio(pb::AudioChunk {
                    sequence: i as u64,
                    sample_rate: 16_000,
                    pcm: c.iter().flat_map(|s| s.to_le_bytes()).collect(),
                }),
            )
            .await;
        }
        let turn = until(&mut ws, Duration::from_secs(30), |k| {
            matches!(k, Kind::Transcript(t) if t.speaker == pb::Speaker::Candidate as i32 && t.is_final)
        })
        .await;
        if let Some(Kind::Transcript(t)) = turn {
            heard.push(t.text);
        }
        tokio::time::sleep(Duration::from_millis(delay)).await;
        stop(&mut server);
        drop(ws);
        server = start_with(dir.path(), addr, &speech).await;
    }
    let ws = join(&mut http, addr, &id).await;
    let turns = answered_transcript(&mut http, &id, Duration::from_secs(30)).await;
    drop(ws);
    stop(&mut server);
    assert!(
        heard.len() >= 5,
        "only {} spoken answers were heard",
        heard.len()
    );
    assert_kept_once_and_answered(&turns, &heard);
    eprintln!(
        "crash durability: 6 kills after a spoken answer, {} heard, 0 lost, 0 duplicated, 0 unanswered",
        heard.len()
    );
}
