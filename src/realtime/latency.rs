//! Timing a spoken answer's way back to the interviewer's voice: when the candidate stopped speaking, when the
//! end of the turn was decided, when whisper's transcript was ready, when the LLM's first token came, when the
//! first sentence was synthesised and when its first audio frame was sent. Each finished record is stored with the
//! candidate's turn (`turn_latency`) and observed by the `/metrics` histograms.

use std::time::Instant;

use super::services::Services;
use crate::db::spoken;

/// The stages of a spoken answer's way back to the interviewer's voice, each timed on its own; `Response` is the
/// whole way from the end-of-turn decision to the first audio frame (what the candidate waits for beyond the
/// end-of-turn silence).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VoiceStage {
    EndOfTurn,
    Transcription,
    FirstToken,
    FirstSentence,
    FirstAudio,
    Response,
}

impl VoiceStage {
    pub const ALL: [VoiceStage; 6] = [
        VoiceStage::EndOfTurn,
        VoiceStage::Transcription,
        VoiceStage::FirstToken,
        VoiceStage::FirstSentence,
        VoiceStage::FirstAudio,
        VoiceStage::Response,
    ];

    pub fn name(self) -> &'static str {
        match self {
            VoiceStage::EndOfTurn => "end_of_turn",
            VoiceStage::Transcription => "transcription",
            VoiceStage::FirstToken => "first_token",
            VoiceStage::FirstSentence => "first_sentence",
            VoiceStage::FirstAudio => "first_audio",
            VoiceStage::Response => "response",
        }
    }
}

#[derive(Debug, Clone)]
pub(super) struct Timing {
    /// The candidate's transcript turn this answer became.
    pub candidate_turn: i64,
    pub speech_end: Instant,
    pub speech_end_unix_ms: i64,
    pub decided: Instant,
    pub transcribed: Instant,
    pub first_token: Option<Instant>,
    pub first_sentence: Option<Instant>,
    pub first_audio: Option<Instant>,
    /// Whether the reply was begun during the pause, before the end of the turn was decided.
    pub reply_ahead: bool,
}

fn ms(from: Instant, to: Option<Instant>) -> Option<i64> {
    to.map(|t| t.saturating_duration_since(from).as_millis() as i64)
}

fn seconds(from: Option<Instant>, to: Option<Instant>) -> Option<f64> {
    Some(to?.saturating_duration_since(from?).as_secs_f64())
}

impl Timing {
    /// The stages that happened, each timed on its own.
    pub fn stages(&self) -> Vec<(VoiceStage, f64)> {
        let t = |i: Instant| Some(i);
        [
            (
                VoiceStage::EndOfTurn,
                seconds(t(self.speech_end), t(self.decided)),
            ),
            (
                VoiceStage::Transcription,
                seconds(t(self.decided), t(self.transcribed)),
            ),
            (
                VoiceStage::FirstToken,
                seconds(t(self.transcribed), self.first_token),
            ),
            (
                VoiceStage::FirstSentence,
                seconds(self.first_token, self.first_sentence),
            ),
            (
                VoiceStage::FirstAudio,
                seconds(self.first_sentence, self.first_audio),
            ),
            (
                VoiceStage::Response,
                seconds(t(self.decided), self.first_audio),
            ),
        ]
        .into_iter()
        .filter_map(|(stage, s)| Some((stage, s?)))
        .collect()
    }

    /// Stores the record and observes its stages.
    pub async fn record(self, services: &Services) {
        for (stage, s) in self.stages() {
            services.observe.voice(stage, s);
        }
        let options = &services.options;
        let row = spoken::Latency {
            turn_id: self.candidate_turn,
            speech_end_at: self.speech_end_unix_ms,
            end_of_turn_ms: ms(self.speech_end, Some(self.decided)),
            transcript_ms: ms(self.speech_end, Some(self.transcribed)),
            first_token_ms: ms(self.speech_end, self.first_token),
            first_sentence_ms: ms(self.speech_end, self.first_sentence),
            first_audio_ms: ms(self.speech_end, self.first_audio),
            stt_model: options.stt_name.clone(),
            llm_model: options.llm_name.clone(),
            tts_model: options.tts_name.clone(),
            reply_ahead: self.reply_ahead,
        };
        if let Err(e) = services
            .db
            .call(move |c| spoken::insert_latency(c, &row))
            .await
        {
            tracing::error!("storing a turn's latency failed: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn each_stage_is_timed_on_its_own_and_missing_stages_are_left_out() {
        let end = Instant::now();
        let at = |ms: u64| end + Duration::from_millis(ms);
        let mut t = Timing {
            candidate_turn: 1,
            speech_end: end,
            speech_end_unix_ms: 0,
            decided: at(1500),
            transcribed: at(1800),
            first_token: Some(at(2000)),
            first_sentence: Some(at(2400)),
            first_audio: Some(at(2410)),
            reply_ahead: false,
        };
        let stages = t.stages();
        let get = |s: VoiceStage| {
            stages
                .iter()
                .find(|(x, _)| *x == s)
                .map(|(_, v)| (v * 1000.0).round())
        };
        assert_eq!(get(VoiceStage::EndOfTurn), Some(1500.0));
        assert_eq!(get(VoiceStage::Transcription), Some(300.0));
        assert_eq!(get(VoiceStage::FirstToken), Some(200.0));
        assert_eq!(get(VoiceStage::FirstSentence), Some(400.0));
        assert_eq!(get(VoiceStage::FirstAudio), Some(10.0));
        assert_eq!(get(VoiceStage::Response), Some(910.0));
        // A text-only listener: no voice stages.
        t.first_sentence = None;
        t.first_audio = None;
        assert_eq!(t.stages().len(), 3);
    }
}
