//! The realtime wire format is the same in Rust and in the browser: prost encodes a set of frames to the golden
//! bytes in `tests/js/frames.json` and decodes them back, and the browser's codec (run here in Node, and in
//! Chromium by the browser tests) encodes the same values to the same bytes and decodes them back.

use std::collections::BTreeMap;

use prost::Message;
use rehearse::realtime::pb::{self, client_frame, server_frame};

fn client(seq: u64, kind: client_frame::Kind) -> Vec<u8> {
    pb::ClientFrame {
        seq,
        kind: Some(kind),
    }
    .encode_to_vec()
}

fn server(event_id: u64, kind: server_frame::Kind) -> Vec<u8> {
    pb::ServerFrame {
        event_id,
        kind: Some(kind),
    }
    .encode_to_vec()
}

fn round(index: u32, kind: pb::RoundKind, title: &str, minutes: u32) -> pb::RoundInfo {
    pb::RoundInfo {
        index,
        kind: kind as i32,
        title: title.into(),
        minutes,
    }
}

/// The frames of frames.json, built with prost's types.
fn frames() -> Vec<(&'static str, Vec<u8>)> {
    use client_frame::Kind as C;
    use server_frame::Kind as S;
    vec![
        ("client_hello", client(1, C::Hello(pb::Hello {
            client_version: "0.1.0".into(),
            last_event_id: 42,
            want_audio: true,
            playback_sample_rate: 48000,
        }))),
        ("client_audio", client(2, C::Audio(pb::AudioChunk { sequence: 7, sample_rate: 16000, pcm: vec![0, 1, 255, 127, 128, 0] }))),
        ("client_text_answer", client(3, C::TextAnswer(pb::TextAnswer {
            answer_id: "a-1".into(),
            text: "I led the migration — naïve café ✓ 🎤".into(),
        }))),
        ("client_code_run", client(4, C::CodeRun(pb::CodeRun {
            run_id: "r1".into(),
            mode: pb::RunMode::Submit as i32,
            language: pb::Language::C as i32,
            source: "int main(void) { return 0; }\n".into(),
            stdin: String::new(),
        }))),
        ("client_control", client(5, C::Control(pb::Control { action: pb::control::Action::Interrupt as i32 }))),
        ("client_ping", client(6, C::Ping(pb::Ping { nonce: 0, client_time_ms: 1_763_798_400_000 }))),
        ("server_session_state", server(9, S::SessionState(pb::SessionState {
            session_id: "s_abc".into(),
            status: pb::SessionStatus::InProgress as i32,
            rounds: vec![round(0, pb::RoundKind::Behavioral, "Jedi", 45), round(1, pb::RoundKind::Coding, "Ninja", 40)],
            current_round: 1,
            company_name: "Meta".into(),
            role_title: "E5".into(),
            interviewer_name: "Sam".into(),
            stt_available: true,
            tts_available: false,
            paused: false,
            end_of_turn_ms: 1500,
        }))),
        ("server_round_started", server(10, S::RoundStarted(pb::RoundStarted {
            round: Some(round(1, pb::RoundKind::Coding, "Ninja", 40)),
            duration_ms: 2_400_000,
            remaining_ms: 2_399_000,
            problem: Some(pb::Problem {
                id: "two-sum".into(),
                title: "Two Sum".into(),
                difficulty: "easy".into(),
                statement_markdown: "Find **two** numbers.".into(),
                samples: vec![pb::TestCaseView {
                    args_json: vec!["[2,7,11,15]".into(), "9".into()],
                    expected_json: "[0,1]".into(),
                    explanation: String::new(),
                }],
                hidden_test_count: 12,
                starter_code: BTreeMap::from([
                    ("c".into(), "int* twoSum(int* nums, int numsSize, int target, int* returnSize) {}".into()),
                    ("python".into(), "def two_sum(nums, target):\n    pass\n".into()),
                ]),
            }),
            design_prompt: String::new(),
            saved_code: vec![pb::SavedCode {
                language: pb::Language::Python as i32,
                source: "def two_sum(nums, target):\n    return []\n".into(),
                revision: 4,
            }],
        }))),
        ("server_code_result", server(11, S::CodeResult(pb::CodeResult {
            run_id: "r1".into(),
            mode: pb::RunMode::Run as i32,
            verdict: pb::Verdict::WrongAnswer as i32,
            tests: vec![
                pb::TestResult {
                    index: 0,
                    verdict: pb::Verdict::Accepted as i32,
                    time_ms: 3,
                    memory_kb: 2048,
                    hidden: false,
                    actual_json: "[0,1]".into(),
                    expected_json: "[0,1]".into(),
                },
                pb::TestResult {
                    index: 1,
                    verdict: pb::Verdict::WrongAnswer as i32,
                    time_ms: 1,
                    memory_kb: 2048,
                    hidden: true,
                    ..Default::default()
                },
            ],
            passed: 1,
            total: 2,
            stdout: "debug\n".into(),
            time_ms: 4,
            memory_kb: 2048,
            ..Default::default()
        }))),
        ("server_audio", server(1 << 40, S::Audio(pb::AudioOut {
            turn_id: "t9".into(),
            sequence: 3,
            sample_rate: 22050,
            pcm: vec![1, 2, 3, 4],
            last: true,
        }))),
        ("server_voice_state", server(13, S::VoiceState(pb::VoiceState {
            state: pb::voice_state::State::Listening as i32,
            interrupted: true,
        }))),
        ("server_error", server(12, S::Error(pb::Error {
            code: "rate_limited".into(),
            message: "Slow down: at most 50 frames a second.".into(),
            client_seq: 77,
        }))),
    ]
}

fn golden() -> Vec<(String, String, String)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/js/frames.json");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["name"].as_str().unwrap().into(),
                f["type"].as_str().unwrap().into(),
                f["hex"].as_str().unwrap().into(),
            )
        })
        .collect()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn prost_encodes_the_golden_frames_and_decodes_them_back() {
    let golden = golden();
    let frames = frames();
    assert_eq!(golden.len(), frames.len());
    let mut mismatches = Vec::new();
    for ((name, ty, gold), (rust_name, bytes)) in golden.iter().zip(&frames) {
        assert_eq!(name, rust_name);
        if hex(bytes) != *gold {
            mismatches.push(format!("{name}: prost gives {}", hex(bytes)));
            continue;
        }
        let raw = unhex(gold);
        let again = if ty.ends_with("ClientFrame") {
            pb::ClientFrame::decode(raw.as_slice())
                .unwrap()
                .encode_to_vec()
        } else {
            pb::ServerFrame::decode(raw.as_slice())
                .unwrap()
                .encode_to_vec()
        };
        assert_eq!(again, raw, "{name} does not survive a decode and re-encode");
    }
    assert!(
        mismatches.is_empty(),
        "update tests/js/frames.json:\n{}",
        mismatches.join("\n")
    );
}

#[test]
fn the_browser_codec_agrees_with_prost_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let schema = dir.path().join("realtime-schema.mjs");
    std::fs::write(
        &schema,
        format!(
            "export const schema = {};\n",
            rehearse::realtime::SCHEMA_JSON
        ),
    )
    .unwrap();
    let stdout = crate::util::node("tests/js/proto_check.mjs", &[&schema.to_string_lossy()]);
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
}

#[test]
fn a_malformed_frame_is_an_error_not_a_panic() {
    for junk in [&[0xff_u8; 11][..], &[0x0a, 0x05, 0x01], &[0x52, 0x80]] {
        assert!(pb::ClientFrame::decode(junk).is_err(), "{junk:?} decoded");
    }
}
