//! Speech, behind three small object-safe traits like [`crate::llm::Llm`], so an interview holds what hears, speaks
//! and detects speech, not which model does it: [`SpeechToText`] (whisper.cpp, [`stt`]), [`TextToSpeech`] (piper
//! voices, [`tts`]) and [`VoiceActivity`] (Silero VAD, [`vad`]; without one, loudness decides). Each has a
//! deterministic test double in [`double`]. All calls are blocking: run them off the async workers.

#[cfg(test)]
pub(crate) mod fake_server;
pub mod live;
pub mod pitch;
pub mod stt;
pub mod tts;
pub mod vad;

use std::{ops::ControlFlow, sync::Arc};

pub use stt::whisper::Transcript;

/// Hears 16 kHz mono audio (samples in -1..1).
pub trait SpeechToText: Send + Sync {
    /// The finished utterance, as well as the model can hear it.
    fn transcribe(&self, samples: &[f32]) -> anyhow::Result<Transcript>;
    /// A quick reading of an utterance still going on (captions): one pass, no second try.
    fn draft(&self, samples: &[f32]) -> anyhow::Result<Transcript> {
        self.transcribe(samples)
    }
}

/// Speaks text as 16-bit mono audio at a rate the listener asks for.
pub trait TextToSpeech: Send + Sync {
    /// The voice's own sample rate.
    fn sample_rate(&self) -> u32;
    /// Speaks `text` at `rate` Hz, handing audio to `sink` as soon as each part is ready; `sink` returning `Break`
    /// stops. Text with nothing speakable gives no audio and `Ok`.
    fn speak(
        &self,
        text: &str,
        rate: u32,
        sink: &mut dyn FnMut(&[i16]) -> ControlFlow<()>,
    ) -> anyhow::Result<()>;
}

/// Makes a detector of speech for one stream of audio.
pub trait VoiceActivity: Send + Sync {
    fn detector(self: Arc<Self>) -> Box<dyn vad::Detector>;
}

impl SpeechToText for stt::whisper::Whisper {
    fn transcribe(&self, samples: &[f32]) -> anyhow::Result<Transcript> {
        stt::whisper::Whisper::transcribe(self, samples)
    }

    fn draft(&self, samples: &[f32]) -> anyhow::Result<Transcript> {
        stt::whisper::Whisper::draft(self, samples)
    }
}

impl TextToSpeech for tts::piper::Piper {
    fn sample_rate(&self) -> u32 {
        tts::piper::Piper::sample_rate(self)
    }

    fn speak(
        &self,
        text: &str,
        rate: u32,
        sink: &mut dyn FnMut(&[i16]) -> ControlFlow<()>,
    ) -> anyhow::Result<()> {
        tts::piper::Piper::speak(self, text, rate, sink)
    }
}

impl VoiceActivity for vad::Silero {
    fn detector(self: Arc<Self>) -> Box<dyn vad::Detector> {
        Box::new(self.listener())
    }
}

/// Deterministic stand-ins for tests of what uses speech without loading a model.
pub mod double {
    use super::*;

    /// Hears `text` in any audio that is not silent, and nothing in silence.
    pub struct Hears(pub String);

    impl SpeechToText for Hears {
        fn transcribe(&self, samples: &[f32]) -> anyhow::Result<Transcript> {
            let loud = samples.iter().any(|s| s.abs() > 0.01);
            Ok(Transcript {
                text: if loud { self.0.clone() } else { String::new() },
                segments: Vec::new(),
                audio_ms: (samples.len() / 16) as u32,
                elapsed_ms: 0,
            })
        }
    }

    /// Speaks 10 ms of a constant level per word, at the asked rate.
    pub struct Beeps;

    impl TextToSpeech for Beeps {
        fn sample_rate(&self) -> u32 {
            16_000
        }

        fn speak(
            &self,
            text: &str,
            rate: u32,
            sink: &mut dyn FnMut(&[i16]) -> ControlFlow<()>,
        ) -> anyhow::Result<()> {
            anyhow::ensure!(rate > 0, "cannot speak at 0 Hz");
            let per_word = vec![1_000i16; (rate / 100) as usize];
            for _ in text.split_whitespace() {
                if sink(&per_word).is_break() {
                    break;
                }
            }
            Ok(())
        }
    }

    /// Loudness as the detector: what runs when no voice activity model is installed.
    pub struct ByLoudness;

    impl VoiceActivity for ByLoudness {
        fn detector(self: Arc<Self>) -> Box<dyn vad::Detector> {
            Box::new(vad::Loudness::default())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{double::*, *};

    #[test]
    fn the_doubles_are_deterministic_and_usable_as_the_traits() {
        let ears: Arc<dyn SpeechToText> = Arc::new(Hears("I built the queue".into()));
        assert_eq!(
            ears.transcribe(&[0.5; 1600]).unwrap().text,
            "I built the queue"
        );
        assert_eq!(ears.draft(&[0.0; 1600]).unwrap().text, "");
        let voice: Arc<dyn TextToSpeech> = Arc::new(Beeps);
        let mut samples = 0;
        voice
            .speak("three short words", 48_000, &mut |pcm| {
                samples += pcm.len();
                ControlFlow::Continue(())
            })
            .unwrap();
        assert_eq!(samples, 3 * 480);
        assert!(
            voice
                .speak("x", 0, &mut |_| ControlFlow::Continue(()))
                .is_err()
        );
        let vad: Arc<dyn VoiceActivity> = Arc::new(ByLoudness);
        let _detector = vad.detector();
    }
}
