//! The lines a live model spoke as it wrote them, kept for the interviewer's voice to play: the model writes a
//! line and its audio in one reply, the guard reads the line's words, and only then is the line spoken
//! ([`crate::realtime`] speaks only what the guard passed). So the audio waits here, under the words it says, until
//! the voice asks for a sentence that begins a line (its audio plays whole) or that the line already covered
//! (nothing more plays). A sentence that is no model line (fixed wording, a line the guard replaced) is not here,
//! and is spoken by asking the model to say it word for word.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Condvar, Mutex},
    time::{Duration, Instant},
};

/// Lines kept; older ones, and any older than [`KEPT_FOR`], are dropped.
const KEPT: usize = 64;
const KEPT_FOR: Duration = Duration::from_secs(300);

#[derive(Default)]
struct State {
    text: String,
    /// At the provider's rate.
    pcm: Vec<i16>,
    done: bool,
    /// The voice stopped playing it (a barge-in): the model's reply may stop too.
    abandoned: bool,
    /// Per playback rate: how many of the line's words the sentences played so far covered.
    cursor: HashMap<u32, usize>,
}

pub(super) struct Line {
    state: Mutex<State>,
    changed: Condvar,
    at: Instant,
}

/// What the voice should do with a sentence.
pub(super) enum Claim {
    /// Play this line's audio: the sentence begins it.
    Play(Arc<Line>),
    /// The line that holds this sentence was played already.
    Covered,
    /// No line holds it.
    Unknown,
}

impl Line {
    pub fn push_text(&self, delta: &str) {
        self.state.lock().expect("line lock").text.push_str(delta);
    }

    pub fn push_audio(&self, pcm: &[i16]) {
        self.state
            .lock()
            .expect("line lock")
            .pcm
            .extend_from_slice(pcm);
        self.changed.notify_all();
    }

    /// No more audio is coming.
    pub fn finish(&self) {
        self.state.lock().expect("line lock").done = true;
        self.changed.notify_all();
    }

    pub fn abandon(&self) {
        self.state.lock().expect("line lock").abandoned = true;
        self.changed.notify_all();
    }

    pub fn abandoned(&self) -> bool {
        self.state.lock().expect("line lock").abandoned
    }

    /// The audio after the first `from` samples, waiting up to `wait` for more; `None` once the line is done and
    /// all of it was read (or nothing came in time).
    pub fn audio_after(&self, from: usize, wait: Duration) -> Option<Vec<i16>> {
        let state = self.state.lock().expect("line lock");
        let (state, _) = self
            .changed
            .wait_timeout_while(state, wait, |s| {
                s.pcm.len() <= from && !s.done && !s.abandoned
            })
            .expect("line lock");
        (state.pcm.len() > from).then(|| state.pcm[from..].to_vec())
    }

    #[cfg(test)]
    pub fn text(&self) -> String {
        self.state.lock().expect("line lock").text.clone()
    }
}

#[derive(Default)]
pub(super) struct Store {
    lines: Mutex<VecDeque<Arc<Line>>>,
}

impl Store {
    /// A new line, being written.
    pub fn begin(&self) -> Arc<Line> {
        let line = Arc::new(Line {
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
            at: Instant::now(),
        });
        let mut lines = self.lines.lock().expect("store lock");
        lines.retain(|l| l.at.elapsed() < KEPT_FOR);
        while lines.len() >= KEPT {
            lines.pop_front();
        }
        lines.push_back(line.clone());
        line
    }

    /// A line whose words are `text` and whose audio the caller is about to fetch, claimed at once for `rate`.
    pub fn begin_claimed(&self, text: &str, rate: u32) -> Arc<Line> {
        let line = self.begin();
        {
            let mut s = line.state.lock().expect("line lock");
            s.text = text.to_string();
            s.cursor.insert(rate, crate::text::fold_words(text).len());
        }
        line
    }

    /// What to play for `sentence` at `rate`: the newest line it begins or continues.
    pub fn claim(&self, sentence: &str, rate: u32) -> Claim {
        let wanted = crate::text::fold_words(sentence);
        if wanted.is_empty() {
            return Claim::Unknown;
        }
        let lines = self.lines.lock().expect("store lock");
        for line in lines.iter().rev() {
            let mut s = line.state.lock().expect("line lock");
            if s.abandoned {
                continue;
            }
            let words = crate::text::fold_words(&s.text);
            let at = s.cursor.get(&rate).copied().unwrap_or(0);
            if words.len() >= at + wanted.len() && words[at..at + wanted.len()] == wanted[..] {
                s.cursor.insert(rate, at + wanted.len());
                return if at == 0 {
                    Claim::Play(line.clone())
                } else {
                    Claim::Covered
                };
            }
        }
        Claim::Unknown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_plays_once_per_rate_and_its_later_sentences_are_covered() {
        let store = Store::default();
        let line = store.begin();
        line.push_text("Which metric moved? And by how much?");
        line.push_audio(&[1, 2, 3]);
        line.finish();
        assert!(matches!(
            store.claim("Which metric moved?", 24_000),
            Claim::Play(_)
        ));
        assert!(matches!(
            store.claim("And by how much?", 24_000),
            Claim::Covered
        ));
        // Another listener's rate plays it again; a sentence no line holds is unknown.
        assert!(matches!(
            store.claim("which metric moved", 48_000),
            Claim::Play(_)
        ));
        assert!(matches!(
            store.claim("Tell me more.", 24_000),
            Claim::Unknown
        ));
        assert_eq!(line.audio_after(1, Duration::ZERO), Some(vec![2, 3]));
        assert_eq!(line.audio_after(3, Duration::ZERO), None);
    }

    #[test]
    fn an_abandoned_line_is_never_played_and_old_lines_go() {
        let store = Store::default();
        let line = store.begin();
        line.push_text("Why Kafka?");
        line.abandon();
        assert!(matches!(store.claim("Why Kafka?", 16_000), Claim::Unknown));
        for _ in 0..KEPT + 5 {
            store.begin();
        }
        assert_eq!(store.lines.lock().unwrap().len(), KEPT);
        let said = store.begin_claimed("Tell me about a time.", 16_000);
        assert_eq!(said.text(), "Tell me about a time.");
        assert!(matches!(
            store.claim("Tell me about a time.", 48_000),
            Claim::Play(_)
        ));
    }
}
