//! Fuzzing of media and documents, with the same bounded budget and seeds as `fuzz.rs`: ONNX model files (checked
//! before onnxruntime reads them, and loaded when they pass), WAV files, a microphone's PCM streamed into a live
//! spoken interview through the real VAD and whisper, the exported report's Markdown, and the browser's Markdown
//! renderer (in Node).

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use futures_util::{SinkExt, StreamExt};
use prost::Message as _;
use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use rehearse::{
    models::Purpose,
    realtime::pb::{self, client_frame},
    scoring::report::Report,
};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::{
    fuzz::{budget, connect, fuzz, mutate, new_interview, random_string, rng, send_and_drain},
    util::{Client, onnxruntime, tiny_model},
};

#[test]
#[allow(
    clippy::await_holding_lock,
    reason = "the guard only orders CPU-heavy tests"
)]
fn onnx_models_altered_at_random_are_refused_with_an_error_or_load() {
    let _cpu = crate::util::exclusive_cpu();
    let original = tiny_model("silero-vad", Purpose::Vad);
    let bytes = std::fs::read(&original).unwrap();
    rehearse::models::onnx::check(&bytes).expect("the real model passes the check");
    let runtime = onnxruntime();
    let work = tempfile::tempdir().unwrap();
    let altered = work.path().join("altered.onnx");
    let (mut refused, mut loaded, mut failed) = (0, 0, 0);
    fuzz("onnx", |rng, _| {
        // Edits anywhere: the model's structure (graph, nodes, attributes) runs through the whole file.
        let b = mutate(rng, &bytes, bytes.len());
        if rehearse::models::onnx::check(&b).is_err() {
            refused += 1;
            return;
        }
        // What passes goes to onnxruntime, as a user's file would: an error is fine, a crash is not.
        std::fs::write(&altered, &b).unwrap();
        match rehearse::voice::vad::Silero::load(&altered, &runtime) {
            Ok(_) => loaded += 1,
            Err(_) => failed += 1,
        }
    });
    eprintln!(
        "fuzz onnx: {refused} refused by the check, {failed} refused by onnxruntime, {loaded} still loaded"
    );
    assert!(
        refused > 0,
        "the check refuses the files the mutations break"
    );
}

#[test]
fn wav_files_altered_at_random_are_read_or_refused() {
    // A real one-second file at 22,050 Hz, as `espeak-ng -w` writes.
    let pcm: Vec<u8> = (0..22_050)
        .flat_map(|i| (((i as f32 * 0.05).sin() * 8_000.0) as i16).to_le_bytes())
        .collect();
    let mut wav = b"RIFF".to_vec();
    wav.extend_from_slice(&(36 + pcm.len() as u32).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    for v in [16u32, 0x0001_0001, 22_050, 44_100, 0x0010_0002] {
        wav.extend_from_slice(&v.to_le_bytes());
    }
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&(pcm.len() as u32).to_le_bytes());
    wav.extend_from_slice(&pcm);
    let (rate, samples) = rehearse::voice::stt::wav::read(&wav).expect("the real file reads");
    assert_eq!((rate, samples.len()), (22_050, 22_050));
    let mut read = 0;
    fuzz("wav", |rng, _| {
        let b = mutate(rng, &wav, 64);
        if let Some((rate, samples)) = rehearse::voice::stt::wav::read(&b) {
            // What reads is resampled to whisper's rate, as the benchmarks do.
            let out = rehearse::voice::tts::resample::resample(&samples, rate, 16_000);
            assert!(out.iter().all(|s| s.is_finite()));
            read += 1;
        }
    });
    eprintln!("fuzz wav: {read} altered files still read");
}

/// An answer said into a bad microphone: 1 to 3 s of `speech` at a random gain (to hard clipping), with noise or
/// not, then enough silence to end the turn or not, in 250 ms chunks.
fn utterance(rng: &mut fastrand::Rng, speech: &[i16]) -> Vec<Vec<i16>> {
    let len = rng.usize(16_000..48_000).min(speech.len());
    let at = rng.usize(..=speech.len() - len);
    let gain = [0.05, 0.3, 1.0, 3.0, 20.0][rng.usize(..5)];
    let noise = [0, 0, 500, 5_000][rng.usize(..4)];
    let mut pcm: Vec<i16> = speech[at..at + len]
        .iter()
        .map(|&s| {
            let n = if noise > 0 { rng.i32(-noise..noise) } else { 0 };
            (f32::from(s) * gain + n as f32).clamp(-32_768.0, 32_767.0) as i16
        })
        .collect();
    pcm.extend(std::iter::repeat_n(0, rng.usize(0..48_000)));
    pcm.chunks(4_000).map(<[i16]>::to_vec).collect()
}

/// A chunk of a microphone's 16-bit PCM, or one the server must refuse.
fn random_chunk(rng: &mut fastrand::Rng, sequence: u64, pcm: Option<Vec<i16>>) -> pb::AudioChunk {
    let samples = rng.usize(1..8_000);
    let pcm: Vec<i16> = match pcm {
        Some(pcm) => pcm,
        None => match rng.u8(..6) {
            0 => vec![0; samples],
            1 => (0..samples).map(|_| rng.i16(..)).collect(),
            2 => {
                // A square wave at full scale, clipped both ways.
                let period = rng.usize(1..200);
                (0..samples)
                    .map(|i| {
                        if (i / period).is_multiple_of(2) {
                            i16::MAX
                        } else {
                            i16::MIN
                        }
                    })
                    .collect()
            }
            3 => {
                let f = rng.f32() * 0.5;
                (0..samples)
                    .map(|i| ((i as f32 * f).sin() * 20_000.0) as i16)
                    .collect()
            }
            4 => (0..samples).map(|_| rng.i16(-300..300)).collect(),
            _ => (0..samples)
                .map(|i| if i % 1_600 < 800 { rng.i16(..) } else { 0 })
                .collect(),
        },
    };
    let mut bytes: Vec<u8> = pcm.iter().flat_map(|s| s.to_le_bytes()).collect();
    let mut sample_rate = 16_000;
    // One chunk in twenty is bad: half a sample, the wrong rate, empty, or more than a second.
    match rng.u8(..80) {
        0 => {
            bytes.push(0);
        }
        1 => sample_rate = [0, 8_000, 48_000, u32::MAX][rng.usize(..4)],
        2 => bytes.clear(),
        3 => bytes = vec![1; 40_000],
        _ => {}
    }
    pb::AudioChunk {
        sequence,
        sample_rate,
        pcm: bytes,
    }
}

/// Pings the interview and waits for the pong: the actor behind the connection is alive.
async fn answers_a_ping(ws: &mut crate::fuzz::Ws, seq: u64) -> bool {
    let nonce = 0xfeed_0000 + seq;
    let ping = pb::ClientFrame {
        seq,
        kind: Some(client_frame::Kind::Ping(pb::Ping {
            nonce,
            client_time_ms: 0,
        })),
    };
    if ws
        .send(Message::Binary(ping.encode_to_vec().into()))
        .await
        .is_err()
    {
        return false;
    }
    tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(Ok(msg)) = ws.next().await {
            if let Message::Binary(b) = msg
                && let Ok(f) = pb::ServerFrame::decode(b.as_ref())
                && matches!(f.kind, Some(pb::server_frame::Kind::Pong(p)) if p.nonce == nonce)
            {
                return true;
            }
        }
        false
    })
    .await
    .unwrap_or(false)
}

#[tokio::test]
#[allow(
    clippy::await_holding_lock,
    reason = "the guard only orders CPU-heavy tests; each test has its own runtime"
)]
async fn microphone_audio_at_random_never_takes_down_a_spoken_interview() {
    let _cpu = crate::util::exclusive_cpu();
    // Real speech to distort, so that turns are heard and whisper transcribes bad audio, not only noise.
    let voice = crate::util::tiny_voice();
    let mut speech = Vec::new();
    voice
        .speak(
            "I owned the migration of our billing service. We measured the p99 latency before and after, \
             and the hardest part was the schema freeze, which I negotiated with the payments team.",
            16_000,
            &mut |p| {
                speech.extend_from_slice(p);
                std::ops::ControlFlow::Continue(())
            },
        )
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut settings = rehearse::config::Settings::for_data_dir(dir.path());
    settings.models_dir = crate::util::models_dir();
    settings.stt = rehearse::backends::Spec::Local("whisper-tiny.en".into());
    settings.vad = rehearse::backends::Spec::Local("silero-vad".into());
    let state = rehearse::app::AppState::open(settings).await.unwrap();
    assert!(state.stt().is_some() && state.vad().is_some());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(rehearse::app::serve(listener, state.clone(), async {
        stopped.await.ok();
    }));
    let router = rehearse::app::router(state.clone());
    let client = Client::signup(&router, "ada@example.com").await;
    let id = new_interview(&client).await;
    let mut ws = connect(&client, addr, &id).await.unwrap();
    let (mut rng, seed) = rng("microphone");
    let started = Instant::now();
    let (mut chunks, mut seconds, mut connections, mut seq) = (0u64, 0.0, 1, 1u64);
    let mut sequence = 0u64;
    let mut pending = std::collections::VecDeque::new();
    while started.elapsed() < budget() {
        if pending.is_empty() && rng.u8(..3) == 0 {
            pending.extend(utterance(&mut rng, &speech));
        }
        let chunk = random_chunk(&mut rng, sequence, pending.pop_front());
        seconds += chunk.pcm.len() as f64 / 32_000.0;
        sequence += 1;
        seq += 1;
        let frame = pb::ClientFrame {
            seq,
            kind: Some(client_frame::Kind::Audio(chunk)),
        };
        if send_and_drain(&mut ws, frame.encode_to_vec()).await {
            ws = connect(&client, addr, &id)
                .await
                .expect("the interview is not over");
            connections += 1;
            sequence = 0;
        }
        chunks += 1;
        if chunks % 25 == 0 {
            seq += 1;
            assert!(
                answers_a_ping(&mut ws, seq).await,
                "the interview stopped answering pings (REHEARSE_FUZZ_SEED={seed}, chunk {chunks})"
            );
        }
        // Real time, as a microphone: the server refuses audio more than 10 s ahead of the clock.
        let ahead = seconds - started.elapsed().as_secs_f64();
        if ahead > 5.0 {
            tokio::time::sleep(Duration::from_secs_f64(ahead - 5.0)).await;
        }
    }
    seq += 1;
    assert!(
        answers_a_ping(&mut ws, seq).await,
        "the interview stopped answering (REHEARSE_FUZZ_SEED={seed})"
    );
    let health = crate::util::get(&router, "/healthz").await;
    assert_eq!(health.status, StatusCode::OK);
    let turns = client
        .get(&format!("/api/v1/sessions/{id}/transcript"))
        .await;
    assert_eq!(turns.status, StatusCode::OK);
    let heard = turns
        .json()
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["speaker"] == "candidate")
        .count();
    eprintln!(
        "fuzz microphone: {chunks} chunks ({seconds:.0} s of audio) over {connections} connections, \
         {heard} turns heard, no crash"
    );
    drop(ws);
    stop.send(()).unwrap();
    let _ = tokio::time::timeout(Duration::from_secs(10), server).await;
    state.hub().stop_all().await;
}

/// Strings that Markdown would take for markup, or that break a line or a table.
fn hostile(rng: &mut fastrand::Rng) -> String {
    const PIECES: [&str; 24] = [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "[click](javascript:alert(1))",
        "![x](http://evil.example/x.png)",
        "<http://evil.example>",
        "&lt;b&gt;",
        "**bold**",
        "_under_",
        "`code`",
        "```",
        "| cell |",
        "\n# Heading\n",
        "\n- item",
        "\n1. one",
        "\n> quote",
        "\n---\n",
        "~~gone~~",
        "\\",
        "\r\n",
        "\u{0}",
        "    indented",
        "p99 latency fell by 40%.",
        "I led the migration",
        "$x$",
    ];
    let mut s = String::new();
    for _ in 0..rng.usize(1..6) {
        if rng.u8(..4) == 0 {
            s.push_str(&random_string(rng));
        } else {
            s.push_str(PIECES[rng.usize(..PIECES.len())]);
        }
    }
    s
}

/// A report with every piece of text replaced by a hostile string; `texts` collects them.
fn random_report(rng: &mut fastrand::Rng, texts: &mut Vec<String>) -> Report {
    let mut t = |rng: &mut fastrand::Rng| {
        let s = hostile(rng);
        texts.push(s.clone());
        s
    };
    let rounds: Vec<Value> = (0..rng.usize(1..4))
        .map(|i| {
            let dims: Vec<Value> = (0..rng.usize(1..4))
                .map(|_| {
                    json!({
                        "id": "d", "name": t(rng), "weight": 1.0,
                        "outcome": if rng.bool() { json!({"status": "level", "level": 3}) }
                                   else { json!({"status": "unjudged", "why": t(rng)}) },
                        "anchor": "", "reason": "",
                        "evidence": (0..rng.usize(0..3))
                            .map(|_| json!({"source": "candidate", "quote": t(rng)}))
                            .collect::<Vec<_>>(),
                    })
                })
                .collect();
            json!({
                "position": i, "kind": "coding", "title": t(rng),
                "status": if rng.u8(..4) == 0 { "incomplete" } else { "scored" },
                "score": 3.2, "summary": t(rng), "dimensions": dims,
                "strengths": [t(rng)], "improvements": [t(rng), t(rng)], "strong_answer": [t(rng)],
                "questions": [{"question": "q", "answered": true}],
                "code": [{"mode": t(rng), "language": t(rng), "verdict": t(rng), "passed": 1, "total": 2}],
                "hints": 1, "minutes_used": 10.0, "minutes": 45, "values": [],
            })
        })
        .collect();
    serde_json::from_value(json!({
        "version": 1, "id": 1, "session_id": "s", "company": t(rng), "role": t(rng), "judge": t(rng),
        "status": "complete", "recommendation": "hire", "overall": 3.5, "rationale": t(rng),
        "rounds": rounds, "created_at": 0, "scoring_ms": 1,
    }))
    .unwrap()
}

/// Text as the report shows it: one line, whitespace collapsed.
fn one_line(s: &str) -> String {
    s.split(|c: char| c.is_control() || c.is_whitespace())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn report_markdown_shows_hostile_text_as_text() {
    let mut options = Options::empty();
    options.insert(Options::ENABLE_TABLES);
    options.insert(Options::ENABLE_STRIKETHROUGH);
    fuzz("report-markdown", |rng, round| {
        let mut texts = Vec::new();
        let report = random_report(rng, &mut texts);
        let md = report.to_markdown();
        let (mut h1, mut h2, mut tables, mut text) = (0, 0, 0, String::new());
        let mut cells = 0;
        for event in Parser::new_ext(&md, options) {
            match event {
                Event::Html(h) | Event::InlineHtml(h) => {
                    assert_eq!(&*h, "<br>", "round {round}: HTML in the report\n{md}")
                }
                Event::Start(Tag::Link { .. } | Tag::Image { .. }) => {
                    panic!("round {round}: a link in the report\n{md}")
                }
                Event::Start(Tag::Heading { level, .. }) => match level {
                    HeadingLevel::H1 => h1 += 1,
                    HeadingLevel::H2 => h2 += 1,
                    _ => panic!("round {round}: a heading the report does not write\n{md}"),
                },
                Event::Start(Tag::Table(_)) => tables += 1,
                Event::Start(Tag::TableRow | Tag::TableHead) => cells = 0,
                Event::Start(Tag::TableCell) => cells += 1,
                Event::End(TagEnd::TableRow | TagEnd::TableHead) => {
                    assert_eq!(
                        cells, 3,
                        "round {round}: a table row of {cells} cells\n{md}"
                    )
                }
                Event::Start(Tag::Strikethrough | Tag::CodeBlock(_) | Tag::BlockQuote(_)) => {
                    panic!("round {round}: markup from the text\n{md}")
                }
                Event::Text(s) | Event::Code(s) => text.push_str(&s),
                Event::SoftBreak | Event::HardBreak => text.push(' '),
                _ => {}
            }
        }
        assert_eq!(h1, 1, "round {round}\n{md}");
        assert_eq!(h2, report.rounds.len(), "round {round}\n{md}");
        assert_eq!(tables, report.rounds.len(), "round {round}\n{md}");
        for s in &texts {
            let shown = one_line(s);
            assert!(
                text.contains(&shown),
                "round {round}: {shown:?} is not shown as written\n{md}"
            );
        }
    });
}

#[test]
fn the_browser_markdown_renderer_keeps_text_and_makes_no_markup() {
    let (_, seed) = rng("browser-markdown");
    let stdout = crate::util::node(
        "tests/js/markdown_fuzz.mjs",
        &[
            &budget().as_secs().to_string(),
            &(seed % (1 << 31)).to_string(),
        ],
    );
    assert!(stdout.contains(" 0 failed"), "{stdout}");
    eprintln!("{}", stdout.trim());
}
