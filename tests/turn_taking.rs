//! Turn-taking end to end: spoken answers with thinking pauses, said into a live interview through the tiny set's
//! whisper, VAD and voice (the voice benchmark's path), must not be cut into, and a finished answer must end its
//! turn on its words rather than after the longest wait.

use rehearse::{
    backends::{Spec, open_tts},
    bench::{pauses, voice},
    models::Purpose,
};

const SPEC: &str = r#"
[[answer]]
id = "a"
voice = "piper"
kind = "behavioral"
script = "The hardest part was [2.6] convincing the payments team to freeze their schema for a week."

[[answer]]
id = "b"
voice = "piper"
kind = "behavioral"
script = "I split the work into four pieces, [1.8] and I reviewed every pull request myself."

[[answer]]
id = "c"
voice = "piper"
kind = "recruiter_screen"
script = "Yes, I could start in about a month."
"#;

#[tokio::test]
#[allow(
    clippy::await_holding_lock,
    reason = "the guard only orders CPU-heavy tests; each test has its own runtime"
)]
async fn thinking_pauses_are_not_cut_into_and_finished_answers_end_on_their_words() {
    let _cpu = crate::util::exclusive_cpu();
    let models = crate::util::models_dir();
    let name = rehearse::models::Manifest::builtin()
        .in_set("tiny", Purpose::Tts)
        .unwrap()
        .name
        .clone();
    let (piper, status) = open_tts(&Spec::Local(name), "", &models);
    let piper = piper.unwrap_or_else(|| panic!("the tiny set's voice: {status:?}"));
    let dir = tempfile::tempdir().unwrap();
    let folder = pauses::make(SPEC, dir.path(), Some(piper.as_ref())).unwrap();
    let clips = pauses::load(&folder).unwrap();
    assert_eq!(clips.len(), 3);
    assert_eq!(
        clips[0].info.pauses.len(),
        1,
        "the pause is in the manifest"
    );
    let report = voice::run(
        &models,
        &voice::Options {
            set: "tiny".into(),
            llm: None,
            stt: None,
            tts: None,
            tts_voice: String::new(),
            realtime: None,
            interviews: 1,
            turns: 3,
            clips: Some(clips),
        },
    )
    .await
    .unwrap();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert!(
        report.cut_ins.is_empty(),
        "the interviewer spoke into an answer: {:?}",
        report.cut_ins
    );
    assert_eq!(report.turns, 3);
    // Each answer's end of turn came from its words (2.5 s for these brief behavioural answers, 0.6 s for the
    // recruiter's), not from the longest wait of 4 s. The words count once whisper has them, so on a busy machine
    // a turn can end later than its wait (2.96 s was seen once in CI), but never at the longest wait.
    let (_, silence) = report
        .stages
        .iter()
        .find(|(name, _)| name == "end-of-turn silence")
        .unwrap();
    assert_eq!(silence.count, 3);
    assert!(
        silence.max_ms < f64::from(rehearse::config::DEFAULT_END_OF_TURN_MS) - 100.0,
        "{silence:?}"
    );
}
