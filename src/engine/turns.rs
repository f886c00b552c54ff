//! When the candidate has finished speaking, decided from audio time alone (no wall clock, so the rules are
//! testable and a slow network does not change them): each frame of 20 ms is speech or not, as a [`Detector`] says
//! (Silero VAD when installed, else [`Loudness`]); a turn starts after [`Rules::min_speech_ms`] of speech and ends
//! after [`Rules::end_silence_ms`] of silence, a pause long enough that a candidate thinking mid-answer is not cut
//! off. What a turn holds is returned whole, with a little audio from before it started so the first word is not
//! clipped, and how long the silence that ended it was (so the moment speech ended is known).

/// 20 ms at 16 kHz.
pub const FRAME: usize = 320;

/// Says whether each 20 ms frame, in order, is speech. Stateful: a model may look at the frames before.
pub trait Detector: Send + Sync {
    fn is_speech(&mut self, frame: &[f32]) -> bool;
}

/// Speech is whatever is loud enough: no model needed, but noise counts as speech.
#[derive(Debug, Clone, Copy)]
pub struct Loudness {
    /// RMS level (0..1) above which a frame is speech.
    pub level: f32,
}

impl Default for Loudness {
    fn default() -> Self {
        Loudness { level: 0.012 }
    }
}

impl Detector for Loudness {
    fn is_speech(&mut self, frame: &[f32]) -> bool {
        rms(frame) >= self.level
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rules {
    /// Speech needed before a turn starts (a cough or a click is not a turn).
    pub min_speech_ms: u32,
    /// Silence that ends a turn.
    pub end_silence_ms: u32,
    /// Audio kept from before the turn started.
    pub pre_roll_ms: u32,
    /// The longest turn; longer speech is cut into turns of this length.
    pub max_turn_ms: u32,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            min_speech_ms: 120,
            end_silence_ms: 1500,
            pre_roll_ms: 300,
            max_turn_ms: 60_000,
        }
    }
}

/// Of the silence that ended a turn, what is kept at its end (whisper reads less; the last word is not clipped).
pub const TRAILING_KEEP_MS: u32 = 200;

/// A finished turn.
#[derive(Debug, Clone, PartialEq)]
pub struct Turn {
    /// Pre-roll, speech, and [`TRAILING_KEEP_MS`] of the silence that ended it.
    pub audio: Vec<f32>,
    /// The silence (audio time) at the turn's end: the silence that ended it, less when it was cut for length.
    pub silence_ms: u32,
}

/// The loudness of a frame, 0..1.
pub fn rms(frame: &[f32]) -> f32 {
    if frame.is_empty() {
        return 0.0;
    }
    (frame.iter().map(|s| s * s).sum::<f32>() / frame.len() as f32).sqrt()
}

/// Follows the audio and says when a turn is complete.
pub struct TurnTaker {
    rules: Rules,
    detector: Box<dyn Detector>,
    /// Audio since the turn started (with pre-roll), or the recent pre-roll while waiting.
    audio: Vec<f32>,
    /// Samples not yet a whole frame.
    partial: Vec<f32>,
    speaking: bool,
    speech_run_ms: u32,
    silence_ms: u32,
}

impl std::fmt::Debug for TurnTaker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TurnTaker")
            .field("rules", &self.rules)
            .field("speaking", &self.speaking)
            .finish_non_exhaustive()
    }
}

impl TurnTaker {
    pub fn new(rules: Rules, detector: Box<dyn Detector>) -> Self {
        TurnTaker {
            rules,
            detector,
            audio: Vec::new(),
            partial: Vec::new(),
            speaking: false,
            speech_run_ms: 0,
            silence_ms: 0,
        }
    }

    /// Whether a turn has started and not ended.
    pub fn speaking(&self) -> bool {
        self.speaking
    }

    /// Adds samples (16 kHz mono, -1..1); returns every turn they complete.
    pub fn push(&mut self, samples: &[f32]) -> Vec<Turn> {
        let mut done = Vec::new();
        self.partial.extend_from_slice(samples);
        let whole = self.partial.len() / FRAME * FRAME;
        let frames: Vec<f32> = self.partial.drain(..whole).collect();
        for frame in frames.chunks(FRAME) {
            if let Some(turn) = self.frame(frame) {
                done.push(turn);
            }
        }
        done
    }

    /// While the candidate is silent mid-turn for at least `after_ms`: the turn as it would end if no more speech
    /// came (what [`TurnTaker::push`] would then return), so it can be transcribed during the pause.
    pub fn pending(&self, after_ms: u32) -> Option<Vec<f32>> {
        if !self.speaking || self.silence_ms < after_ms {
            return None;
        }
        let mut audio = self.audio.clone();
        audio.truncate(audio.len().saturating_sub(self.trailing_trim()));
        Some(audio)
    }

    /// Samples of the ending silence that a turn does not keep.
    fn trailing_trim(&self) -> usize {
        self.silence_ms.saturating_sub(TRAILING_KEEP_MS) as usize * 16
    }

    fn frame(&mut self, frame: &[f32]) -> Option<Turn> {
        let ms = (FRAME * 1000 / 16_000) as u32;
        let loud = self.detector.is_speech(frame);
        self.audio.extend_from_slice(frame);
        if !self.speaking {
            self.speech_run_ms = if loud { self.speech_run_ms + ms } else { 0 };
            if self.speech_run_ms >= self.rules.min_speech_ms {
                self.speaking = true;
                self.silence_ms = 0;
                // Keep the pre-roll before the speech that started the turn.
                let keep = ((self.rules.pre_roll_ms + self.speech_run_ms) as usize) * 16;
                let cut = self.audio.len().saturating_sub(keep);
                self.audio.drain(..cut);
            } else {
                let keep =
                    (self.rules.pre_roll_ms as usize + self.rules.min_speech_ms as usize) * 16;
                let cut = self.audio.len().saturating_sub(keep);
                self.audio.drain(..cut);
            }
            return None;
        }
        self.silence_ms = if loud { 0 } else { self.silence_ms + ms };
        let too_long = self.audio.len() >= self.rules.max_turn_ms as usize * 16;
        if self.silence_ms >= self.rules.end_silence_ms || too_long {
            let silence_ms = self.silence_ms;
            let trim = self.trailing_trim();
            let mut audio = std::mem::take(&mut self.audio);
            audio.truncate(audio.len().saturating_sub(trim));
            self.speaking = false;
            self.speech_run_ms = 0;
            self.silence_ms = 0;
            return Some(Turn { audio, silence_ms });
        }
        None
    }
}

/// Words that alone are not an answer ("hmm", "uh"): a turn of only these is thinking aloud, not a reply.
pub fn is_filler(text: &str) -> bool {
    const FILLER: &[&str] = &[
        "hmm", "hm", "mm", "mmm", "uh", "um", "uhm", "erm", "er", "ah", "oh", "okay", "ok", "so",
        "well", "right", "yeah", "let", "me", "think", "see",
    ];
    let words: Vec<String> = text
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect();
    words.iter().all(|w| FILLER.contains(&w.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(ms: usize) -> Vec<f32> {
        (0..ms * 16)
            .map(|i| 0.3 * (i as f32 * 0.05).sin())
            .collect()
    }

    fn silence(ms: usize) -> Vec<f32> {
        vec![0.0; ms * 16]
    }

    fn taker(rules: Rules) -> TurnTaker {
        TurnTaker::new(rules, Box::new(Loudness::default()))
    }

    /// A detector that hears what it is told, frame by frame (as a model's verdicts would come).
    struct Scripted(std::collections::VecDeque<bool>);

    impl Detector for Scripted {
        fn is_speech(&mut self, _: &[f32]) -> bool {
            self.0.pop_front().unwrap_or(false)
        }
    }

    #[test]
    fn the_detector_decides_what_is_speech_not_the_loudness() {
        // Loud audio throughout, but the detector hears speech only in frames 10..60 (1 s): one turn, ended by
        // the detector's 1.5 s of non-speech although every frame is loud.
        let verdicts = (0..200).map(|i| (10..60).contains(&i)).collect();
        let mut t = TurnTaker::new(Rules::default(), Box::new(Scripted(verdicts)));
        let turns = t.push(&tone(200 * 20));
        assert_eq!(turns.len(), 1);
        assert_eq!(turns[0].silence_ms, 1500);
        let mut quiet = TurnTaker::new(Rules::default(), Box::new(Scripted(Default::default())));
        assert!(
            quiet.push(&tone(5000)).is_empty(),
            "loud noise is not a turn"
        );
        assert!(!quiet.speaking());
    }

    #[test]
    fn a_turn_ends_after_the_silence_and_keeps_its_start() {
        let mut t = taker(Rules::default());
        assert!(t.push(&silence(1000)).is_empty());
        assert!(t.push(&tone(2000)).is_empty());
        assert!(t.speaking());
        assert!(
            t.push(&silence(1400)).is_empty(),
            "1.4 s of silence is a pause, not the end"
        );
        let turns = t.push(&silence(200));
        assert_eq!(turns.len(), 1);
        let turn = &turns[0];
        assert_eq!(turn.silence_ms, 1500);
        // Pre-roll + speech + a little of the silence that ended it.
        let ms = turn.audio.len() / 16;
        assert!((2400..=2700).contains(&ms), "{ms} ms");
        assert!(!t.speaking());
    }

    #[test]
    fn a_pause_shows_the_turn_as_it_would_end() {
        let mut t = taker(Rules::default());
        t.push(&tone(1000));
        assert_eq!(t.pending(400), None, "still speaking");
        t.push(&silence(300));
        assert_eq!(t.pending(400), None, "not silent long enough");
        t.push(&silence(200));
        let guess = t.pending(400).expect("a pause of 500 ms");
        let turns = t.push(&silence(1000));
        assert_eq!(turns[0].audio, guess, "the turn ends as the pause showed");
        assert_eq!(t.pending(0), None, "no turn after it ended");

        // Speech after the pause: the turn holds more than the guess.
        t.push(&tone(1000));
        t.push(&silence(500));
        let guess = t.pending(400).unwrap();
        t.push(&tone(500));
        let turns = t.push(&silence(1500));
        assert!(turns[0].audio.len() > guess.len());
    }

    #[test]
    fn a_thinking_pause_does_not_end_the_turn() {
        let mut t = taker(Rules::default());
        t.push(&tone(1000));
        assert!(t.push(&silence(1200)).is_empty());
        assert!(
            t.push(&tone(1000)).is_empty(),
            "speech after a pause continues the same turn"
        );
        let turns = t.push(&silence(1600));
        assert_eq!(turns.len(), 1);
        assert!(turns[0].audio.len() / 16 > 3000);
    }

    #[test]
    fn clicks_and_silence_are_not_turns() {
        let mut t = taker(Rules::default());
        for _ in 0..10 {
            assert!(t.push(&tone(60)).is_empty());
            assert!(t.push(&silence(500)).is_empty());
        }
        assert!(!t.speaking());
        assert!(t.push(&silence(10_000)).is_empty());
    }

    #[test]
    fn odd_sized_chunks_give_the_same_turns() {
        let audio: Vec<f32> = [tone(1500), silence(2000)].concat();
        let mut whole = taker(Rules::default());
        let a = whole.push(&audio);
        let mut pieces = taker(Rules::default());
        let b: Vec<Turn> = audio.chunks(77).flat_map(|c| pieces.push(c)).collect();
        assert_eq!(a, b);
        assert_eq!(a.len(), 1);
    }

    #[test]
    fn a_very_long_turn_is_cut() {
        let rules = Rules {
            max_turn_ms: 3000,
            ..Rules::default()
        };
        let mut t = taker(rules);
        let turns = t.push(&tone(7000));
        assert_eq!(turns.len(), 2);
        assert!(turns.iter().all(|t| t.silence_ms == 0));
    }

    #[test]
    fn filler_is_not_an_answer() {
        assert!(is_filler("Hmm."));
        assert!(is_filler("Um, let me think."));
        assert!(is_filler(""));
        assert!(!is_filler("I would use a hash map."));
    }
}
