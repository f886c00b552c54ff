//! When the candidate has finished speaking, decided from audio time alone (no wall clock, so the rules are
//! testable and a slow network does not change them): each frame of 20 ms is speech or not, as a [`Detector`] says
//! (Silero VAD when installed, else loudness; both in [`crate::voice::vad`]); a turn starts after [`Rules::min_speech_ms`]
//! of speech. How much silence ends it depends on what was said: the words of the turn so far (transcribed during
//! the pause) are read by [`wait_after`], with how the voice ended before the pause ([`crate::voice::pitch`]), and a
//! finished answer ends after a short silence while one that trails off ("and...", "um", a comma) waits up to
//! [`Rules::end_silence_ms`], a pause long enough that a candidate thinking mid-answer is not cut off. Until the words are known, the turn waits. What a turn holds is returned whole, with a little
//! audio from before it started so the first word is not clipped, and how long the silence that ended it was (so
//! the moment speech ended is known).

use crate::{catalog::RoundKind, voice::vad::Detector};

/// 20 ms at 16 kHz.
pub const FRAME: usize = 320;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rules {
    /// Speech needed before a turn starts (a cough or a click is not a turn).
    pub min_speech_ms: u32,
    /// The longest silence within a turn: it ends after this much whatever was said.
    pub end_silence_ms: u32,
    /// Silence that ends a turn whose words read as a finished answer.
    pub finished_silence_ms: u32,
    /// Silence that ends a finished-sounding turn that is brief for its round: fewer than [`BRIEF_ANSWER_WORDS`]
    /// where a story or a design is expected, or any in a coding round, where candidates think aloud between
    /// finished sentences.
    pub brief_silence_ms: u32,
    /// Audio kept from before the turn started.
    pub pre_roll_ms: u32,
    /// The longest turn; longer speech is cut into turns of this length.
    pub max_turn_ms: u32,
}

impl Rules {
    /// The defaults (the settings' too).
    pub const DEFAULT: Rules = Rules {
        min_speech_ms: 120,
        end_silence_ms: 4000,
        finished_silence_ms: 600,
        brief_silence_ms: 2500,
        pre_roll_ms: 300,
        max_turn_ms: 60_000,
    };
}

impl Default for Rules {
    fn default() -> Self {
        Rules::DEFAULT
    }
}

/// Silence within a turn after which whisper starts on the turn as it stands: its words decide how long the pause
/// must last to end the turn, and the interviewer's reply is begun on them, so that a short end of turn finds it
/// under way. A candidate who speaks again only costs a transcription nobody reads and the start of a reply that
/// is dropped.
pub const TRANSCRIBE_AFTER_MS: u32 = 250;

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
    /// The silence that ends the current pause's turn, once its words are known ([`TurnTaker::end_after`]).
    wait_ms: Option<u32>,
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
            wait_ms: None,
        }
    }

    /// The words of the current pause's turn are known: the turn ends once the silence reaches `ms` (at most
    /// [`Rules::end_silence_ms`]). Forgotten when the candidate speaks again.
    pub fn end_after(&mut self, ms: u32) {
        if self.speaking && self.silence_ms > 0 {
            self.wait_ms = Some(ms.min(self.rules.end_silence_ms));
        }
    }

    /// The rules this taker follows.
    pub fn rules(&self) -> &Rules {
        &self.rules
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

    /// While the candidate is speaking (a turn has started and no pause is going on): the turn's audio so far,
    /// for a caption of the words as they come.
    pub fn speaking_audio(&self) -> Option<&[f32]> {
        (self.speaking && self.silence_ms == 0).then_some(self.audio.as_slice())
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
        if loud {
            self.wait_ms = None;
        }
        let too_long = self.audio.len() >= self.rules.max_turn_ms as usize * 16;
        let wait = self.wait_ms.unwrap_or(self.rules.end_silence_ms);
        if self.silence_ms >= wait || too_long {
            self.wait_ms = None;
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

/// Words after which a speaker is not done: a sentence cut off after them goes on.
const GOES_ON: &[&str] = &[
    "and",
    "so",
    "but",
    "or",
    "because",
    "cause",
    "the",
    "a",
    "an",
    "to",
    "of",
    "with",
    "which",
    "that",
    "is",
    "was",
    "were",
    "are",
    "be",
    "been",
    "um",
    "uh",
    "uhm",
    "erm",
    "er",
    "like",
    "then",
    "if",
    "when",
    "while",
    "we",
    "i",
    "my",
    "our",
    "their",
    "for",
    "in",
    "on",
    "at",
    "by",
    "from",
    "into",
    "about",
    "basically",
    "actually",
    "also",
    "would",
    "will",
    "could",
    "should",
    "can",
    "it's",
    "i'm",
    "we'd",
    "i'd",
    "there's",
    "where",
    "what",
    "how",
    "why",
    "than",
    "as",
    "not",
    "just",
    "first",
    "after",
    "before",
    "until",
    "since",
    "although",
    "though",
    "whether",
    "hmm",
    // Prepositions, determiners and pronouns that cannot end a sentence ("Probably within.", "We shard by their.").
    "within",
    "without",
    "through",
    "between",
    "across",
    "against",
    "toward",
    "towards",
    "via",
    "onto",
    "upon",
    "during",
    "per",
    "these",
    "those",
    "its",
    "his",
    "your",
    "every",
    "each",
    "either",
    "neither",
    "very",
    "whose",
    "unless",
    "whereas",
    "plus",
    "they",
    "he",
    "she",
    "we're",
    "they're",
    "we'll",
    "i'll",
];

/// Phrases that announce more to come ("let me think", "for example").
const ANNOUNCES: &[&str] = &[
    "let me think",
    "let me see",
    "for example",
    "for instance",
    "give me a second",
];

/// Whether the words of a turn so far read as a finished answer: a sentence ended by its punctuation, not cut off
/// after a word that needs more ("and", "the", "because"), not filler alone, not announcing more. Whisper marks a
/// trailing voice with "..." or a comma, and ends a finished sentence with a full stop, a question or exclamation
/// mark.
pub fn sounds_finished(text: &str) -> bool {
    let t = text.trim();
    if is_filler(t) {
        return false;
    }
    let lower = t.to_lowercase();
    if lower.ends_with("...")
        || lower.ends_with('…')
        || lower.ends_with(',')
        || lower.ends_with('-')
    {
        return false;
    }
    if !(lower.ends_with('.') || lower.ends_with('?') || lower.ends_with('!')) {
        return false;
    }
    let last_sentence = lower
        .trim_end_matches(['.', '?', '!'])
        .rsplit(['.', '?', '!'])
        .next()
        .unwrap_or_default();
    if ANNOUNCES.iter().any(|p| last_sentence.contains(p)) || fragment(last_sentence) {
        return false;
    }
    let last_word = last_sentence
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .rfind(|w| !w.is_empty())
        .unwrap_or_default();
    !GOES_ON.contains(&last_word)
}

/// Whether a sentence is a fragment that a thought goes on from: a condition or concession alone ("If one
/// celebrity posts.", "Although the queue was full."), which has no comma before its main clause, or a short
/// sentence opened by a conjunction ("And the workers.").
fn fragment(sentence: &str) -> bool {
    // Not "because", "since" or "when": a sentence of its own after a finished one is often an afterthought that
    // completes the answer ("Because it uses constant memory.").
    const SUBORDINATE: &[&str] = &["if", "unless", "although", "though", "whereas"];
    const CONJUNCTION: &[&str] = &["and", "but", "or", "so"];
    let words: Vec<&str> = sentence
        .split(|c: char| !c.is_alphanumeric() && c != '\'' && c != ',')
        .filter(|w| !w.is_empty())
        .collect();
    let Some(first) = words.first().map(|w| w.trim_end_matches(',')) else {
        return false;
    };
    (SUBORDINATE.contains(&first) && !sentence.contains(','))
        || (CONJUNCTION.contains(&first) && words.len() <= 3)
}

/// Where a story or a design is expected, an answer of fewer words that reads as finished may be a first sentence
/// with more to come (measured on the development pause set: whisper ends a clause cut by a pause with a full stop).
pub const BRIEF_ANSWER_WORDS: usize = 30;

/// What set the silence that ended a spoken turn: its words, read as finished or as trailing off, or the longest
/// wait because whisper had not heard the pause's words by then.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TurnEnd {
    Finished,
    TrailedOff,
    BeforeWords,
}

impl TurnEnd {
    pub const ALL: [TurnEnd; 3] = [TurnEnd::Finished, TurnEnd::TrailedOff, TurnEnd::BeforeWords];

    /// The end a turn got from the wait its words chose (`None`: the words were not in when it ended).
    pub fn of(wait: Option<u32>, rules: &Rules) -> TurnEnd {
        match wait {
            Some(ms) if ms < rules.end_silence_ms => TurnEnd::Finished,
            Some(_) => TurnEnd::TrailedOff,
            None => TurnEnd::BeforeWords,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TurnEnd::Finished => "finished_words",
            TurnEnd::TrailedOff => "trailing_words",
            TurnEnd::BeforeWords => "before_words",
        }
    }
}

/// A voice that ended this close to its usual pitch or above (semitones; [`crate::voice::pitch::ending_semitones`])
/// did not fall to a close: more is coming, as before a comma. Measured on the development pause set with
/// whisper's audio: clauses cut by a pause after a comma ended at -2.1 to +1.9 in espeak-ng's voices, and finished
/// answers at -5.8 to -2.9 but for 4 of 24; the piper voice does not fall at its ends and its readings carry nothing
/// either way (which is why a level voice only waits as long as a brief answer does, not the longest).
pub const LEVEL_SEMITONES: f32 = -2.5;

/// How much silence ends a turn whose words so far are `text`, in a round of `kind`, the voice having ended
/// `ending` semitones from its usual pitch (`None`: too little voiced speech to tell): the longest wait when the
/// words trail off; when they read as a finished answer, the short wait, or the brief-answer wait in a coding
/// round, for an answer shorter than [`BRIEF_ANSWER_WORDS`] where a story or a design is expected, and when the
/// voice did not fall ([`LEVEL_SEMITONES`]).
pub fn wait_after(text: &str, kind: Option<RoundKind>, rules: &Rules, ending: Option<f32>) -> u32 {
    if !sounds_finished(text) {
        return rules.end_silence_ms;
    }
    let level_voice = ending.is_some_and(|e| e >= LEVEL_SEMITONES);
    let words = text.split_whitespace().count();
    let wait = match kind {
        _ if level_voice => rules.brief_silence_ms,
        Some(RoundKind::Coding) => rules.brief_silence_ms,
        Some(RoundKind::Behavioral | RoundKind::HiringManager | RoundKind::SystemDesign)
            if words < BRIEF_ANSWER_WORDS =>
        {
            rules.brief_silence_ms
        }
        _ => rules.finished_silence_ms,
    };
    wait.min(rules.end_silence_ms)
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
    use crate::voice::vad::Loudness;

    #[test]
    fn a_turn_end_says_whether_its_words_set_the_silence() {
        let rules = Rules::default();
        let finished = wait_after("I shipped it two weeks early.", None, &rules, None);
        let trailing = wait_after("The hardest part was", None, &rules, None);
        assert_eq!(TurnEnd::of(Some(finished), &rules), TurnEnd::Finished);
        assert_eq!(TurnEnd::of(Some(trailing), &rules), TurnEnd::TrailedOff);
        assert_eq!(TurnEnd::of(None, &rules), TurnEnd::BeforeWords);
    }

    fn tone(ms: usize) -> Vec<f32> {
        (0..ms * 16)
            .map(|i| 0.3 * (i as f32 * 0.05).sin())
            .collect()
    }

    fn silence(ms: usize) -> Vec<f32> {
        vec![0.0; ms * 16]
    }

    /// Today's rules with the longest wait at 1.5 s, the turn ended by silence alone.
    fn fixed() -> Rules {
        Rules {
            end_silence_ms: 1500,
            ..Rules::default()
        }
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
        let mut t = TurnTaker::new(fixed(), Box::new(Scripted(verdicts)));
        let turns = t.push(&tone(200 * 20));
        assert_eq!(turns.len(), 1);
        assert_eq!(turns[0].silence_ms, 1500);
        let mut quiet = TurnTaker::new(fixed(), Box::new(Scripted(Default::default())));
        assert!(
            quiet.push(&tone(5000)).is_empty(),
            "loud noise is not a turn"
        );
        assert!(!quiet.speaking());
    }

    #[test]
    fn a_turn_ends_after_the_silence_and_keeps_its_start() {
        let mut t = taker(fixed());
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
        let mut t = taker(fixed());
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
        let mut t = taker(fixed());
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
        let mut t = taker(fixed());
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
        let mut whole = taker(fixed());
        let a = whole.push(&audio);
        let mut pieces = taker(fixed());
        let b: Vec<Turn> = audio.chunks(77).flat_map(|c| pieces.push(c)).collect();
        assert_eq!(a, b);
        assert_eq!(a.len(), 1);
    }

    #[test]
    fn a_very_long_turn_is_cut() {
        let rules = Rules {
            max_turn_ms: 3000,
            ..fixed()
        };
        let mut t = taker(rules);
        let turns = t.push(&tone(7000));
        assert_eq!(turns.len(), 2);
        assert!(turns.iter().all(|t| t.silence_ms == 0));
    }

    #[test]
    fn finished_words_end_the_turn_after_a_short_silence_and_speech_forgets_them() {
        let rules = Rules::default();
        let mut t = taker(rules);
        t.push(&tone(1000));
        assert!(t.push(&silence(300)).is_empty());
        // The pause's transcript reads as a finished answer: 600 ms of silence ends the turn.
        t.end_after(wait_after(
            "I would use a hash map.",
            Some(RoundKind::RecruiterScreen),
            &rules,
            None,
        ));
        let turns = t.push(&silence(300));
        assert_eq!(turns.len(), 1);
        assert_eq!(turns[0].silence_ms, 600);

        // A verdict for a pause the candidate then spoke through is forgotten: the next pause waits again.
        t.push(&tone(1000));
        t.push(&silence(300));
        t.end_after(600);
        t.push(&tone(500));
        assert!(
            t.push(&silence(3900)).is_empty(),
            "no words known: the longest wait"
        );
        assert_eq!(t.push(&silence(100))[0].silence_ms, 4000);
    }

    #[test]
    fn words_that_trail_off_wait_the_longest() {
        let rules = Rules::default();
        let mut t = taker(rules);
        t.push(&tone(1000));
        t.push(&silence(300));
        t.end_after(wait_after("The hardest part was", None, &rules, None));
        assert!(
            t.push(&silence(3600)).is_empty(),
            "a thinking pause of 3.9 s"
        );
        t.push(&tone(800));
        t.push(&silence(400));
        t.end_after(wait_after(
            "The hardest part was convincing the team.",
            None,
            &rules,
            None,
        ));
        assert_eq!(t.push(&silence(200))[0].silence_ms, 600);
        // A verdict while nobody speaks is nothing.
        t.end_after(10);
        assert!(t.push(&silence(1000)).is_empty());
    }

    #[test]
    fn what_reads_as_finished() {
        for done in [
            "I would use a hash map.",
            "Yes, I have.",
            "About two years.",
            "Does that answer your question?",
            "We shipped it two weeks early, with no data loss.",
            // An afterthought, and a condition with its main clause, finish an answer.
            "Two pointers would be better. Because it uses constant memory.",
            "If one celebrity posts, that's millions of inserts.",
            "And that was it for the launch.",
            "I owned the migration of our billing service, and we shipped it two weeks early.",
            "About two years, mostly on the payments team.",
        ] {
            assert!(sounds_finished(done), "{done}");
        }
        for going_on in [
            "The hardest part was",
            "The hardest part was...",
            "I split it into four pieces,",
            "and then we moved it to the queue and.",
            "So basically.",
            "Um.",
            "Let me think about the edge cases.",
            "I think the main thing I learned was.",
            "which is why we chose Kafka so",
            // A condition alone, and a conjunction opening a short sentence, go on.
            "The bottleneck is the fan-out on write. If one celebrity posts.",
            "Every request goes to the queue first. And the workers.",
            // A preposition or a determiner cannot end a sentence, whatever whisper writes after it.
            "I would put a cache in front of the database. Probably within.",
            "We shard the users by their.",
            "",
        ] {
            assert!(!sounds_finished(going_on), "{going_on}");
        }
    }

    /// A finished behavioural answer, long enough not to be brief.
    const STORY: &str = "I owned the migration of our billing service. The old one lost invoices every month, so I \
                         wrote the design doc, built the consumer, and we shipped it two weeks early with no data lost.";

    #[test]
    fn the_round_sets_the_short_wait() {
        let rules = Rules::default();
        let short = "I owned the migration of our billing service.";
        let wait = |text: &str, kind: RoundKind| wait_after(text, Some(kind), &rules, None);
        let story = STORY;
        assert_eq!(wait(short, RoundKind::RecruiterScreen), 600);
        assert_eq!(wait(short, RoundKind::Coding), 2500);
        assert_eq!(wait(story, RoundKind::Coding), 2500);
        assert_eq!(wait(short, RoundKind::Behavioral), 2500);
        assert_eq!(wait(short, RoundKind::SystemDesign), 2500);
        assert_eq!(wait(story, RoundKind::Behavioral), 600);
        assert_eq!(wait("so", RoundKind::RecruiterScreen), 4000);
    }

    #[test]
    fn a_voice_that_did_not_fall_waits_like_a_brief_answer() {
        let rules = Rules::default();
        let said = "I'm interviewing with two other companies.";
        let (recruiter, story) = (Some(RoundKind::RecruiterScreen), STORY);
        // Whisper's full stop after a clause the voice held level (a comma said aloud) is not the end.
        assert_eq!(wait_after(said, recruiter, &rules, Some(0.4)), 2500);
        assert_eq!(wait_after(said, recruiter, &rules, Some(-2.5)), 2500);
        assert_eq!(
            wait_after(story, Some(RoundKind::Behavioral), &rules, Some(-1.0)),
            2500
        );
        // A voice that fell, or no reading, leaves the words to decide.
        assert_eq!(wait_after(said, recruiter, &rules, Some(-4.0)), 600);
        assert_eq!(wait_after(said, recruiter, &rules, None), 600);
        // Words that trail off wait the longest whatever the voice did.
        assert_eq!(
            wait_after("and the workers", recruiter, &rules, Some(-5.0)),
            4000
        );
        assert_eq!(
            wait_after("and the workers", recruiter, &rules, Some(1.0)),
            4000
        );
    }

    #[test]
    fn filler_is_not_an_answer() {
        assert!(is_filler("Hmm."));
        assert!(is_filler("Um, let me think."));
        assert!(is_filler(""));
        assert!(!is_filler("I would use a hash map."));
    }
}
