//! Fuzzing, for a bounded time per target: untrusted input (client frames through a live interview, API JSON
//! bodies, seed TOML, GGUF and ggml model headers) is altered at random, and nothing may panic, hang or take the
//! server down. Each target runs `REHEARSE_FUZZ_SECONDS` (3 s unless set; the README's figures come from runs of
//! 600 s: `REHEARSE_FUZZ_SECONDS=600 cargo test --release --test tests fuzz::`). `REHEARSE_FUZZ_SEED` repeats a
//! run; a failure names its seed and round, and any crash found becomes a test of its own.

use std::{
    panic::{AssertUnwindSafe, catch_unwind},
    time::{Duration, Instant},
};

use axum::http::{Method, StatusCode};
use futures_util::{SinkExt, StreamExt};
use prost::Message as _;
use rehearse::realtime::pb::{self, client_frame};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::util::Client;

pub(crate) fn budget() -> Duration {
    let secs = std::env::var("REHEARSE_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    Duration::from_secs(secs)
}

pub(crate) fn rng(target: &str) -> (fastrand::Rng, u64) {
    let seed = std::env::var("REHEARSE_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    eprintln!("fuzz {target}: seed {seed}");
    (fastrand::Rng::with_seed(seed), seed)
}

/// Integers that break parsers: zero, signs, widths' edges.
pub(crate) const INTERESTING: [u64; 10] = [
    0,
    1,
    0x7f,
    0x80,
    0xff,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0x7fff_ffff_ffff_ffff,
    u64::MAX,
];

/// One to eight random edits of `bytes` within its first `head` bytes: flipped bits, interesting integers written
/// over, runs deleted or repeated, the end cut off.
pub(crate) fn mutate(rng: &mut fastrand::Rng, bytes: &[u8], head: usize) -> Vec<u8> {
    let mut b = bytes.to_vec();
    for _ in 0..rng.usize(1..=8) {
        let span = b.len().min(head).max(1);
        let at = rng.usize(..span);
        match rng.u8(..6) {
            0 => {
                if let Some(x) = b.get_mut(at) {
                    *x ^= 1 << rng.u8(..8);
                }
            }
            1 => {
                let v = INTERESTING[rng.usize(..INTERESTING.len())].to_le_bytes();
                let n = [1, 2, 4, 8][rng.usize(..4)];
                for (i, x) in v.iter().take(n).enumerate() {
                    if let Some(y) = b.get_mut(at + i) {
                        *y = *x;
                    }
                }
            }
            2 => {
                let end = (at + rng.usize(1..64)).min(b.len());
                b.drain(at.min(end)..end);
            }
            3 => {
                let end = (at + rng.usize(1..64)).min(b.len());
                let run = b[at.min(end)..end].to_vec();
                b.splice(at..at, run);
            }
            4 => b.truncate(at),
            _ => {
                if let Some(x) = b.get_mut(at) {
                    *x = rng.u8(..);
                }
            }
        }
    }
    b
}

/// Runs `f` on altered inputs until the budget is spent; a panic fails the test with the seed and round.
pub(crate) fn fuzz(target: &str, mut f: impl FnMut(&mut fastrand::Rng, u64)) {
    let (mut rng, seed) = rng(target);
    let started = Instant::now();
    let mut rounds = 0u64;
    while started.elapsed() < budget() {
        let outcome = catch_unwind(AssertUnwindSafe(|| f(&mut rng, rounds)));
        assert!(
            outcome.is_ok(),
            "fuzz {target}: a panic (REHEARSE_FUZZ_SEED={seed}, round {rounds})"
        );
        rounds += 1;
    }
    eprintln!(
        "fuzz {target}: {rounds} inputs in {:.0} s, no crash",
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn seed_toml_altered_at_random_is_an_error_or_a_catalog() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
    let files: Vec<std::path::PathBuf> = walk(&root)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    assert!(!files.is_empty());
    let work = tempfile::tempdir().unwrap();
    copy_dir(&root, work.path());
    fuzz("seed-toml", |rng, _| {
        let victim = &files[rng.usize(..files.len())];
        let target = work.path().join(victim.strip_prefix(&root).unwrap());
        let original = std::fs::read(victim).unwrap();
        std::fs::write(&target, mutate(rng, &original, original.len())).unwrap();
        let _ = rehearse::catalog::load(&rehearse::catalog::SeedSource::Dir(
            work.path().to_path_buf(),
        ));
        std::fs::write(&target, &original).unwrap();
    });
}

#[test]
fn gguf_headers_altered_at_random_fail_to_load_with_an_error() {
    let _cpu = crate::util::exclusive_cpu();
    let path = crate::util::tiny_model("smollm2-135m", rehearse::models::Purpose::Llm);
    // The header (metadata, vocabulary, tensor table) and the first tensors: what a loader reads before it trusts
    // the file.
    use std::io::{Read, Seek};
    let mut file = std::fs::File::open(&path).unwrap();
    let content = candle_core::quantized::gguf_file::Content::read(&mut file).unwrap();
    let head = content.tensor_data_offset as usize;
    let mut prefix = vec![0u8; head + (1 << 20)];
    file.seek(std::io::SeekFrom::Start(0)).unwrap();
    file.read_exact(&mut prefix).unwrap();
    let work = tempfile::tempdir().unwrap();
    let altered = work.path().join("altered.gguf");
    fuzz("gguf", |rng, _| {
        std::fs::write(&altered, mutate(rng, &prefix, head)).unwrap();
        // A truncated file never loads; what matters is that the loader says so instead of crashing.
        assert!(rehearse::llm::local::LocalLlm::load(&altered, "fuzz").is_err());
    });
}

#[test]
fn ggml_whisper_headers_altered_at_random_are_checked_without_crashing() {
    let path = crate::util::tiny_model("whisper-tiny.en", rehearse::models::Purpose::Stt);
    let bytes = std::fs::read(&path).unwrap();
    // The header and vocabulary come first; the tensor table follows.
    let head = bytes.len().min(1 << 20);
    let mut passed = 0;
    fuzz("ggml", |rng, _| {
        let altered = mutate(rng, &bytes, head);
        let len = altered.len() as u64;
        if rehearse::voice::stt::whisper::check_ggml(&mut std::io::Cursor::new(altered), len)
            .is_ok()
        {
            passed += 1;
        }
    });
    eprintln!(
        "fuzz ggml: {passed} altered files still passed the check (edits that keep the structure sound)"
    );
}

fn random_json(rng: &mut fastrand::Rng, depth: u32) -> Value {
    match rng.u8(..if depth > 2 { 5 } else { 7 }) {
        0 => Value::Null,
        1 => json!(rng.bool()),
        2 => json!(
            INTERESTING[rng.usize(..INTERESTING.len())] as i64 * if rng.bool() { -1 } else { 1 }
        ),
        3 => json!(rng.f64() * 1e300),
        4 => {
            let pick = [
                "",
                "amazon",
                "sde-ii",
                "../../etc/passwd",
                "<script>alert(1)</script>",
                "\u{0}\u{202e}é漢字",
                "a@b.co",
                "password123",
            ];
            if rng.bool() {
                json!(pick[rng.usize(..pick.len())])
            } else {
                json!("x".repeat(rng.usize(..5000)))
            }
        }
        5 => Value::Array(
            (0..rng.usize(..6))
                .map(|_| random_json(rng, depth + 1))
                .collect(),
        ),
        _ => {
            let keys = [
                "email",
                "password",
                "name",
                "company_id",
                "role_id",
                "rounds",
                "language",
                "source",
                "stdin",
                "current",
                "new",
                "role",
                "credits",
                "reason",
                "note",
            ];
            Value::Object(
                (0..rng.usize(..6))
                    .map(|_| {
                        (
                            keys[rng.usize(..keys.len())].to_string(),
                            random_json(rng, depth + 1),
                        )
                    })
                    .collect(),
            )
        }
    }
}

#[tokio::test]
async fn api_json_bodies_at_random_get_clear_errors_never_a_server_error() {
    let t = crate::util::app().await;
    let admin = Client::signup(&t.router, "admin@example.com").await;
    let candidate = Client::signup(&t.router, "ada@example.com").await;
    let r = candidate
        .send(
            Method::POST,
            "/api/v1/sessions",
            Some(json!({"company_id": "amazon", "role_id": "sde-ii"})),
        )
        .await;
    let session = r.json()["id"].as_str().unwrap_or_default().to_string();
    let routes = [
        (Method::POST, "/api/v1/auth/signup".to_string()),
        (Method::POST, "/api/v1/auth/login".to_string()),
        (Method::POST, "/api/v1/sessions".to_string()),
        (Method::PATCH, "/api/v1/me".to_string()),
        (Method::POST, "/api/v1/me/password".to_string()),
        (Method::POST, format!("/api/v1/sessions/{session}/abandon")),
        (
            Method::POST,
            format!("/api/v1/sessions/{session}/realtime-token"),
        ),
        (Method::POST, format!("/api/v1/sessions/{session}/score")),
    ];
    let (mut rng, seed) = rng("api-json");
    let started = Instant::now();
    let mut rounds = 0;
    while started.elapsed() < budget() {
        let (method, path) = &routes[rng.usize(..routes.len())];
        let client = if rng.bool() { &admin } else { &candidate };
        let body = random_json(&mut rng, 0);
        let r = client.send(method.clone(), path, Some(body.clone())).await;
        assert!(
            !r.status.is_server_error(),
            "{method} {path} with {body} answered {} (REHEARSE_FUZZ_SEED={seed}, round {rounds}): {}",
            r.status,
            r.body
        );
        rounds += 1;
    }
    // Still serving, and the candidate's account still works.
    assert_eq!(candidate.get("/api/v1/me").await.status, StatusCode::OK);
    eprintln!("fuzz api-json: {rounds} bodies, no server error");
}

pub(crate) fn random_string(rng: &mut fastrand::Rng) -> String {
    match rng.u8(..4) {
        0 => String::new(),
        1 => "é漢\u{0}\u{202e}".repeat(rng.usize(..50)),
        2 => "x".repeat(rng.usize(..70_000)),
        _ => "I led the migration and measured p99 latency.".into(),
    }
}

/// A structurally valid frame with random contents, or random bytes.
fn random_frame(rng: &mut fastrand::Rng, seq: u64) -> Vec<u8> {
    let kind = match rng.u8(..8) {
        0 => client_frame::Kind::Hello(pb::Hello {
            client_version: random_string(rng),
            want_audio: rng.bool(),
            playback_sample_rate: INTERESTING[rng.usize(..INTERESTING.len())] as u32,
            ..Default::default()
        }),
        1 => client_frame::Kind::Ping(pb::Ping {
            nonce: rng.u64(..),
            client_time_ms: rng.u64(..),
        }),
        2 => client_frame::Kind::TextAnswer(pb::TextAnswer {
            answer_id: if rng.bool() {
                format!("a{}", rng.u32(..))
            } else {
                random_string(rng)
            },
            text: random_string(rng),
        }),
        3 => client_frame::Kind::Control(pb::Control {
            action: rng.i32(-2..12),
        }),
        4 => client_frame::Kind::CodeUpdate(pb::CodeUpdate {
            language: rng.i32(-1..6),
            source: random_string(rng),
            revision: rng.u64(..),
        }),
        5 => client_frame::Kind::Audio(pb::AudioChunk {
            sequence: if rng.bool() { seq } else { rng.u64(..) },
            sample_rate: [16_000, 0, 8_000, 48_000, u32::MAX][rng.usize(..5)],
            pcm: (0..rng.usize(..2000)).map(|_| rng.u8(..)).collect(),
        }),
        6 => client_frame::Kind::CodeRun(pb::CodeRun {
            run_id: random_string(rng),
            mode: rng.i32(-1..5),
            language: rng.i32(-1..6),
            source: "print(1)".into(),
            stdin: random_string(rng),
        }),
        _ => {
            let valid = pb::ClientFrame {
                seq,
                kind: Some(client_frame::Kind::Ping(pb::Ping {
                    nonce: 1,
                    client_time_ms: 2,
                })),
            }
            .encode_to_vec();
            return mutate(rng, &valid, valid.len());
        }
    };
    pb::ClientFrame {
        seq,
        kind: Some(kind),
    }
    .encode_to_vec()
}

#[tokio::test]
async fn client_frames_at_random_never_take_down_a_live_interview() {
    let dir = tempfile::tempdir().unwrap();
    let settings = rehearse::config::Settings::for_data_dir(dir.path());
    let state = rehearse::app::AppState::open(settings).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(rehearse::app::serve(listener, state.clone(), async {
        stopped.await.ok();
    }));
    let router = rehearse::app::router(state.clone());
    let client = Client::signup(&router, "ada@example.com").await;
    // Interviews the fuzzer ends (abandon, end) are replaced by new ones: enough credits for them.
    state
        .db()
        .call(|conn| {
            rehearse::db::credits::insert(
                conn,
                1,
                100_000,
                rehearse::db::credits::Reason::Grant,
                None,
                None,
                "",
                0,
            )
        })
        .await
        .unwrap();
    let (mut rng, seed) = rng("client-frames");
    let started = Instant::now();
    let (mut frames, mut connections, mut interviews) = (0u64, 1u64, 1u64);
    let mut id = new_interview(&client).await;
    let mut ws = connect(&client, addr, &id).await.unwrap();
    while started.elapsed() < budget() {
        let bytes = random_frame(&mut rng, frames);
        // A closed connection (too many bad frames) is reopened.
        if send_and_drain(&mut ws, bytes).await {
            ws = match connect(&client, addr, &id).await {
                Some(ws) => ws,
                None => {
                    id = new_interview(&client).await;
                    interviews += 1;
                    connect(&client, addr, &id).await.unwrap()
                }
            };
            connections += 1;
        }
        frames += 1;
        // At most 50 frames a second: faster, the rate limit answers instead of the interview.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(ws);
    // The interview still answers: a fresh connection's answer is acknowledged (or, if the fuzzer ended it, the
    // interview says it is over).
    let mut ws = match connect(&client, addr, &id).await {
        Some(ws) => ws,
        None => connect(&client, addr, &new_interview(&client).await)
            .await
            .unwrap(),
    };
    let answer = pb::ClientFrame {
        seq: 1,
        kind: Some(client_frame::Kind::TextAnswer(pb::TextAnswer {
            answer_id: "after-fuzz".into(),
            text: "I measured the p99 before and after.".into(),
        })),
    };
    ws.send(Message::Binary(answer.encode_to_vec().into()))
        .await
        .unwrap();
    let answered = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(Ok(msg)) = ws.next().await {
            if let Message::Binary(b) = msg
                && let Ok(f) = pb::ServerFrame::decode(b.as_ref())
            {
                match f.kind {
                    Some(pb::server_frame::Kind::Ack(a)) if a.answer_id == "after-fuzz" => {
                        return true;
                    }
                    Some(pb::server_frame::Kind::Error(e)) if e.code == "session_closed" => {
                        return true;
                    }
                    _ => {}
                }
            }
        }
        false
    })
    .await;
    assert!(
        matches!(answered, Ok(true)),
        "the interview stopped answering after the fuzzer (REHEARSE_FUZZ_SEED={seed})"
    );
    let health = crate::util::get(&router, "/healthz").await;
    assert_eq!(health.status, StatusCode::OK);
    eprintln!(
        "fuzz client-frames: {frames} frames over {connections} connections to {interviews} interviews, no crash"
    );
    stop.send(()).unwrap();
    let _ = tokio::time::timeout(Duration::from_secs(10), server).await;
    state.hub().stop_all().await;
}

/// Sends `bytes` and reads what came back without waiting for more; true when the connection is closed.
pub(crate) async fn send_and_drain(ws: &mut Ws, bytes: Vec<u8>) -> bool {
    if ws.send(Message::Binary(bytes.into())).await.is_err() {
        return true;
    }
    while let Ok(Some(msg)) = tokio::time::timeout(Duration::ZERO, ws.next()).await {
        if !matches!(
            msg,
            Ok(Message::Binary(_) | Message::Ping(_) | Message::Pong(_))
        ) {
            return true;
        }
    }
    false
}

pub(crate) type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub(crate) async fn new_interview(client: &Client) -> String {
    let r = client
        .send(
            Method::POST,
            "/api/v1/sessions",
            Some(json!({"company_id": "amazon", "role_id": "sde-ii"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.json()["id"].as_str().unwrap().to_string()
}

/// A connection to the interview `id`, or None when it is over (the fuzzer ended it).
pub(crate) async fn connect(client: &Client, addr: std::net::SocketAddr, id: &str) -> Option<Ws> {
    let r = client
        .send(
            Method::POST,
            &format!("/api/v1/sessions/{id}/realtime-token"),
            None,
        )
        .await;
    if r.status == StatusCode::CONFLICT {
        return None;
    }
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let url = format!("ws://{addr}{}", r.json()["ws_url"].as_str().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let hello = pb::ClientFrame {
        seq: 0,
        kind: Some(client_frame::Kind::Hello(pb::Hello {
            client_version: "fuzz".into(),
            ..Default::default()
        })),
    };
    ws.send(Message::Binary(hello.encode_to_vec().into()))
        .await
        .unwrap();
    Some(ws)
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.path().is_dir() {
            out.extend(walk(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        if e.path().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}
