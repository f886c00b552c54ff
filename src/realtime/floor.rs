//! Who has the floor in a spoken interview. Shared (lock-free) by the interview's actor, its connections and the
//! interviewer's speech: a barge-in is raised by whoever notices it first (the page that hears the candidate over
//! the interviewer and sends `ACTION_INTERRUPT`, which the connection raises before the frame even reaches the
//! actor; or the actor, when the candidate's audio starts a turn while the interviewer is still being played), and
//! the LLM's generation and the speech check it between tokens and between audio frames.

use std::{
    sync::{
        LazyLock,
        atomic::{AtomicU64, Ordering},
    },
    time::Instant,
};

static BASE: LazyLock<Instant> = LazyLock::new(Instant::now);

/// Milliseconds on a monotonic clock shared by every interview in this process.
pub fn clock_ms() -> u64 {
    BASE.elapsed().as_millis() as u64
}

/// The same clock's reading for an `Instant`.
pub fn ms_of(at: Instant) -> u64 {
    at.saturating_duration_since(*BASE).as_millis() as u64
}

#[derive(Debug, Default)]
pub struct Floor {
    /// Raised by one at every interruption.
    epoch: AtomicU64,
    interrupted_at: AtomicU64,
    /// When the interviewer's audio sent so far ends playing at the client (an estimate on [`clock_ms`]).
    playing_until: AtomicU64,
    /// When the audio playing (or last played) began, on the same clock.
    playing_since: AtomicU64,
    /// The turn whose audio is being sent (a number of its own; 0: none) and the epoch it began in, so an
    /// interruption ends it at once.
    voicing: AtomicU64,
    voicing_epoch: AtomicU64,
}

/// Held while a turn's audio is being sent: the interviewer has the floor until its last audio plays, even where
/// the audio comes slower than it plays (a remote voice on a busy link) and the page's buffer runs dry a moment.
pub struct Voicing<'a> {
    floor: &'a Floor,
    mark: u64,
}

impl Drop for Voicing<'_> {
    fn drop(&mut self) {
        let _ =
            self.floor
                .voicing
                .compare_exchange(self.mark, 0, Ordering::SeqCst, Ordering::SeqCst);
    }
}

impl Floor {
    /// The candidate takes the floor: whatever the interviewer is saying stops.
    pub fn interrupt(&self) {
        self.interrupted_at.store(clock_ms(), Ordering::Relaxed);
        self.epoch.fetch_add(1, Ordering::SeqCst);
        self.playing_until.store(0, Ordering::Relaxed);
    }

    /// The current epoch: speech started now is interrupted once the epoch moves on.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    pub fn interrupted_since(&self, epoch: u64) -> bool {
        self.epoch() != epoch
    }

    /// When the last interruption happened, on [`clock_ms`].
    pub fn interrupted_at(&self) -> u64 {
        self.interrupted_at.load(Ordering::Relaxed)
    }

    /// Whether the interviewer's voice is (by estimate) still playing at the client, or its turn is still being
    /// sent.
    pub fn playing(&self) -> bool {
        (self.voicing.load(Ordering::SeqCst) != 0
            && self.voicing_epoch.load(Ordering::SeqCst) == self.epoch())
            || clock_ms() < self.playing_until()
    }

    /// A turn begun at `epoch` is sending its audio until the guard is dropped (or the candidate interrupts).
    pub fn voicing(&self, epoch: u64) -> Voicing<'_> {
        static TURNS: AtomicU64 = AtomicU64::new(1);
        let mark = TURNS.fetch_add(1, Ordering::Relaxed);
        self.voicing_epoch.store(epoch, Ordering::SeqCst);
        self.voicing.store(mark, Ordering::SeqCst);
        Voicing { floor: self, mark }
    }

    pub fn playing_until(&self) -> u64 {
        self.playing_until.load(Ordering::Relaxed)
    }

    /// Audio of `ms` was sent now: it plays after what is queued, or after the client's short lead if nothing is.
    pub fn queue_audio(&self, ms: u64, lead_ms: u64) {
        let now = clock_ms();
        if self.playing_until() <= now {
            self.playing_since.store(now + lead_ms, Ordering::Relaxed);
        }
        let start = self.playing_until().max(now + lead_ms);
        self.playing_until.store(start + ms, Ordering::Relaxed);
    }

    /// Whether any of the interviewer's audio began playing after `since` (on [`clock_ms`]).
    pub fn began_since(&self, since: u64) -> bool {
        self.playing_since.load(Ordering::Relaxed) > since
    }

    /// How much of the interviewer's audio begun after `since` (on [`clock_ms`]) has played by now: 0 when none
    /// began since.
    pub fn played_since(&self, since: u64) -> u64 {
        if !self.began_since(since) {
            return 0;
        }
        let began = self.playing_since.load(Ordering::Relaxed);
        let now = clock_ms();
        // Cut short by an interruption, the audio played until then.
        let until = match self.playing_until() {
            0 => self.interrupted_at().max(began),
            end => end,
        };
        now.min(until).saturating_sub(began)
    }
}

/// What the candidate heard of a turn cut off after `heard_ms` of playback: the sentences whose audio had finished
/// playing, each given with the offset (ms of audio) at which it ends.
pub fn heard(sentences: &[(String, u64)], heard_ms: u64) -> String {
    sentences
        .iter()
        .take_while(|(_, end)| *end <= heard_ms)
        .map(|(s, _)| s.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_interruption_moves_the_epoch_and_stops_the_playing_estimate() {
        let floor = Floor::default();
        let epoch = floor.epoch();
        floor.queue_audio(60_000, 100);
        assert!(floor.playing());
        assert!(!floor.interrupted_since(epoch));
        floor.interrupt();
        assert!(floor.interrupted_since(epoch));
        assert!(!floor.playing());
        assert!(!floor.interrupted_since(floor.epoch()));
    }

    #[test]
    fn a_turn_being_sent_holds_the_floor_through_a_gap_until_it_ends_or_is_interrupted() {
        let floor = Floor::default();
        let voicing = floor.voicing(floor.epoch());
        assert!(
            floor.playing(),
            "no audio queued yet, but the turn is being sent"
        );
        drop(voicing);
        assert!(!floor.playing());
        let voicing = floor.voicing(floor.epoch());
        floor.interrupt();
        assert!(!floor.playing(), "an interruption ends it at once");
        drop(voicing);
        // The next turn's guard is not cleared by an older one's.
        let older = floor.voicing(floor.epoch());
        let _newer = floor.voicing(floor.epoch());
        drop(older);
        assert!(floor.playing());
    }

    #[test]
    fn queued_audio_plays_back_to_back() {
        let floor = Floor::default();
        floor.queue_audio(200, 100);
        let first = floor.playing_until();
        floor.queue_audio(200, 100);
        assert!(floor.playing_until() >= first + 200);
    }

    #[test]
    fn the_candidate_heard_the_sentences_that_finished_playing() {
        let said = vec![
            ("Tell me about a launch.".to_string(), 1_500),
            ("What went wrong?".to_string(), 2_600),
            ("And what did you learn?".to_string(), 4_000),
        ];
        assert_eq!(heard(&said, 0), "");
        assert_eq!(heard(&said, 1_499), "");
        assert_eq!(
            heard(&said, 2_700),
            "Tell me about a launch. What went wrong?"
        );
        assert_eq!(
            heard(&said, 9_000),
            "Tell me about a launch. What went wrong? And what did you learn?"
        );
    }

    #[test]
    fn what_played_since_an_answer_is_known() {
        let floor = Floor::default();
        let answered = clock_ms();
        assert!(!floor.began_since(answered), "nothing played yet");
        assert_eq!(floor.played_since(answered), 0);
        std::thread::sleep(std::time::Duration::from_millis(2));
        floor.queue_audio(2_000, 0);
        assert!(floor.began_since(answered) && floor.playing());
        std::thread::sleep(std::time::Duration::from_millis(30));
        let played = floor.played_since(answered);
        assert!((20..1_000).contains(&played), "{played}");
        // Audio that began before a later answer is not the reply to it.
        assert!(!floor.began_since(clock_ms() + 1));
        floor.interrupt();
        assert!(floor.played_since(answered) < 1_000);
    }
}
