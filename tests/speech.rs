//! Speech on the real `tiny` set: piper (joe) speaks known sentences, whisper tiny.en transcribes them back
//! within the word-error bound; silence and noise give no invented text; bad inputs give errors, not crashes.

use std::{
    ops::ControlFlow,
    sync::{Arc, OnceLock},
    time::Instant,
};

use rehearse::{
    bench::models::SENTENCES,
    models::{Manifest, Role},
    stt::{whisper::Whisper, word_error_rate},
    tts::piper::Piper,
};

use crate::util::{exclusive_cpu, models_dir, tiny_model};

fn whisper() -> Arc<Whisper> {
    static W: OnceLock<Arc<Whisper>> = OnceLock::new();
    W.get_or_init(|| {
        Arc::new(
            Whisper::load(&tiny_model("whisper-tiny.en", Role::Stt), 2).expect("whisper loads"),
        )
    })
    .clone()
}

fn piper() -> Arc<Piper> {
    static P: OnceLock<Arc<Piper>> = OnceLock::new();
    P.get_or_init(|| {
        let runtime = Manifest::builtin()
            .locate(&models_dir(), "onnxruntime", Role::Runtime)
            .expect("onnxruntime is installed with the tiny set");
        Arc::new(Piper::load(&tiny_model("piper-joe", Role::Tts), &runtime).expect("piper loads"))
    })
    .clone()
}

/// Speaks `text` at 16 kHz; returns the samples as f32 and how many pieces arrived.
fn speak(text: &str) -> (Vec<f32>, usize) {
    let mut samples = Vec::new();
    let mut pieces = 0;
    piper()
        .speak(text, 16_000, &mut |pcm| {
            pieces += 1;
            samples.extend(pcm.iter().map(|s| f32::from(*s) / 32768.0));
            ControlFlow::Continue(())
        })
        .unwrap();
    (samples, pieces)
}

#[test]
fn what_piper_says_whisper_hears_within_the_word_error_bound() {
    let _cpu = exclusive_cpu();
    let (mut errors, mut words) = (0.0, 0);
    for sentence in SENTENCES {
        let (audio, _) = speak(sentence);
        assert!(
            audio.len() > 16_000,
            "{sentence:?} gave only {} samples",
            audio.len()
        );
        let t = whisper().transcribe(&audio).unwrap();
        let n = sentence.split_whitespace().count();
        errors += word_error_rate(sentence, &t.text) * n as f64;
        words += n;
        assert!(!t.segments.is_empty());
        assert!(
            t.segments
                .iter()
                .all(|s| s.end_ms >= s.start_ms && s.end_ms <= t.audio_ms + 1000)
        );
    }
    let wer = errors / words as f64;
    assert!(
        wer <= 0.10,
        "word error rate {:.1}% over {words} words",
        wer * 100.0
    );
}

#[test]
fn a_paragraph_streams_sentence_by_sentence() {
    let _cpu = exclusive_cpu();
    let text = SENTENCES.join(" ");
    let voice = piper();
    let started = Instant::now();
    let mut first = None;
    let mut pieces = 0;
    voice
        .speak(&text, 16_000, &mut |_| {
            pieces += 1;
            first.get_or_insert(started.elapsed());
            ControlFlow::Continue(())
        })
        .unwrap();
    assert!(
        pieces >= SENTENCES.len(),
        "{pieces} pieces for {} sentences",
        SENTENCES.len()
    );
    assert!(
        first.unwrap() < started.elapsed() / 2,
        "the first sentence came before the rest"
    );
    // The sink can stop it after the first piece.
    let mut after_stop = 0;
    piper()
        .speak(&text, 16_000, &mut |_| {
            after_stop += 1;
            ControlFlow::Break(())
        })
        .unwrap();
    assert_eq!(after_stop, 1);
}

#[test]
fn symbols_emoji_and_empty_text_do_not_break_the_voice() {
    let _cpu = exclusive_cpu();
    let (audio, _) = speak("Great answer 🎉!!! <b>O(n log n)</b> → $$$ ## ~~~");
    assert!(!audio.is_empty(), "the speakable part is spoken");
    let (none, pieces) = speak("   ");
    assert!(none.is_empty() && pieces == 0);
    let (none, _) = speak("🎉🎉 ### ***");
    assert!(
        none.iter().all(|s| s.abs() < 0.05),
        "symbols alone make no speech"
    );
}

#[test]
fn silence_and_noise_give_no_invented_text() {
    let _cpu = exclusive_cpu();
    let w = whisper();
    assert_eq!(w.transcribe(&[]).unwrap().text, "");
    assert_eq!(w.transcribe(&vec![0.0; 16_000 * 3]).unwrap().text, "");
    // Deterministic white noise at about -20 dBFS.
    let mut x: u32 = 12345;
    let noise: Vec<f32> = (0..16_000 * 3)
        .map(|_| {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            ((x >> 8) as f32 / (1 << 24) as f32 - 0.5) * 0.2
        })
        .collect();
    let t = w.transcribe(&noise).unwrap();
    assert!(
        t.text.split_whitespace().count() <= 1,
        "noise became {:?}",
        t.text
    );
}

#[test]
fn bad_voice_and_model_files_are_named_in_errors() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("ggml-fake.bin");
    std::fs::write(&fake, vec![7u8; 4096]).unwrap();
    let Err(e) = Whisper::load(&fake, 1) else {
        panic!("a fake file loaded")
    };
    let err = format!("{e:#}");
    assert!(err.contains("ggml-fake.bin"), "{err}");
    let voice = dir.path().join("voice.onnx");
    std::fs::write(&voice, b"not a model").unwrap();
    let runtime = dir.path().join("libonnxruntime.so.1.31.1");
    std::fs::write(&runtime, b"not a library").unwrap();
    let err = format!("{:#}", Piper::load(&voice, &runtime).unwrap_err());
    assert!(
        err.contains("voice.onnx") || err.contains("libonnxruntime"),
        "{err}"
    );
}
