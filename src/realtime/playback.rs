//! The interviewer's voice: each interviewer turn is spoken by the text-to-speech voice to the connections that
//! asked for audio (`Hello.want_audio`), at the rate each plays at, while it is still being written: the LLM's
//! pieces are cut into sentences as they stream in, and a worker thread synthesises each sentence and sends its
//! audio frames straight to those connections. So the first sentence is heard while the model writes the rest, and
//! the interview's actor is free to hear the candidate meanwhile. A barge-in ([`Floor::interrupt`]) stops the
//! worker between frames; what the candidate heard is worked out from how much had played. Text-only connections
//! and servers without a voice get the same interview in text.

use std::{
    ops::ControlFlow,
    sync::{Arc, mpsc as sync_mpsc},
    time::Instant,
};

use tokio::{sync::mpsc, task::JoinHandle};

use super::{
    floor::{self, Floor},
    frames,
    pb::{self, server_frame::Kind},
};
use crate::voice::{TextToSpeech, tts::piper};

/// The playback rate used when a client asks for audio without a usable rate.
const DEFAULT_RATE: u32 = 48_000;

/// Audio per frame: small enough to start playing early and to stay far below the frame size limit.
const FRAME_MS: u32 = 200;

/// How far ahead the page schedules the first frame of a turn (`static/js/voice.js`).
const CLIENT_LEAD_MS: u64 = 120;

/// The rate a connection hears the interviewer at, or `None` when it wants text only.
pub fn playback_rate(hello: &pb::Hello) -> Option<u32> {
    hello.want_audio.then(|| {
        if (8_000..=96_000).contains(&hello.playback_sample_rate) {
            hello.playback_sample_rate
        } else {
            DEFAULT_RATE
        }
    })
}

/// 16-bit samples as little-endian bytes.
fn le_bytes(pcm: &[i16]) -> Vec<u8> {
    pcm.iter().flat_map(|s| s.to_le_bytes()).collect()
}

/// The connections that hear one playback rate.
pub(super) struct Listeners {
    pub rate: u32,
    pub conns: Vec<mpsc::Sender<pb::ServerFrame>>,
}

/// What a spoken turn came to.
#[derive(Debug, Default)]
pub(super) struct Spoken {
    pub first_sentence: Option<Instant>,
    pub first_audio: Option<Instant>,
    /// Set when the candidate interrupted: the sentences that had finished playing by then.
    pub heard: Option<String>,
}

/// One interviewer turn being spoken. Feed it text as it is written ([`Speech::push`]), then [`Speech::finish`].
pub(super) struct Speech {
    tx: Option<sync_mpsc::Sender<String>>,
    pending: String,
    /// Whether anything was sent to the voice yet: the first piece may end at a clause, to be heard sooner.
    started: bool,
    job: Option<JoinHandle<Spoken>>,
}

/// Words before a comma that make a first piece worth speaking alone.
const FIRST_CLAUSE_WORDS: usize = 4;

impl Speech {
    /// A turn nobody hears.
    pub fn silent() -> Speech {
        Speech {
            tx: None,
            pending: String::new(),
            started: false,
            job: None,
        }
    }

    /// Starts speaking `turn_id` to `listeners` (nothing is said until text is pushed). The speech stops when the
    /// floor moves past `epoch`.
    pub fn start(
        voice: Arc<dyn TextToSpeech>,
        listeners: Vec<Listeners>,
        turn_id: String,
        floor: Arc<Floor>,
        epoch: u64,
    ) -> Speech {
        if listeners.is_empty() {
            return Speech::silent();
        }
        let (tx, rx) = sync_mpsc::channel::<String>();
        let job = tokio::task::spawn_blocking(move || {
            speak(voice.as_ref(), &listeners, &turn_id, &floor, epoch, rx)
        });
        Speech {
            tx: Some(tx),
            pending: String::new(),
            started: false,
            job: Some(job),
        }
    }

    /// More of the turn's text: every sentence it completes goes to the voice now.
    pub fn push(&mut self, piece: &str) {
        if self.tx.is_none() {
            return;
        }
        self.pending.push_str(piece);
        let cut = if self.started {
            piper::complete_prefix(&self.pending)
        } else {
            piper::complete_clause_prefix(&self.pending, FIRST_CLAUSE_WORDS)
        };
        if let Some(cut) = cut {
            let done: String = self.pending.drain(..cut).collect();
            self.started = true;
            self.send(done);
        }
    }

    fn send(&mut self, text: String) {
        if let Some(tx) = &self.tx
            && tx.send(text).is_err()
        {
            self.tx = None;
        }
    }

    /// The turn is written: the rest is spoken. The handle resolves when the last frame is sent.
    pub fn finish(mut self) -> Option<JoinHandle<Spoken>> {
        let rest = std::mem::take(&mut self.pending);
        if !rest.trim().is_empty() {
            self.send(rest);
        }
        self.tx = None;
        self.job.take()
    }
}

/// The worker: synthesises each sentence it receives, for each playback rate, and sends the audio in frames.
fn speak(
    voice: &dyn TextToSpeech,
    listeners: &[Listeners],
    turn_id: &str,
    floor: &Floor,
    epoch: u64,
    rx: sync_mpsc::Receiver<String>,
) -> Spoken {
    let mut spoken = Spoken::default();
    let mut sequences = vec![0u64; listeners.len()];
    // Each sentence sent, with the audio time (ms) at which it ends.
    let mut said: Vec<(String, u64)> = Vec::new();
    let mut audio_ms = 0u64;
    let mut told = false;
    // From its first audio, the turn holds the floor until it ends.
    let mut voicing = None;
    'turn: while let Ok(text) = rx.recv() {
        for sentence in piper::sentences(&text) {
            if floor.interrupted_since(epoch) {
                break 'turn;
            }
            for (i, group) in listeners.iter().enumerate() {
                let per_frame = (group.rate * FRAME_MS / 1000) as usize;
                let result = voice.speak(&sentence, group.rate, &mut |pcm| {
                    spoken.first_sentence.get_or_insert_with(Instant::now);
                    voicing.get_or_insert_with(|| floor.voicing(epoch));
                    for chunk in pcm.chunks(per_frame) {
                        if floor.interrupted_since(epoch) {
                            return ControlFlow::Break(());
                        }
                        send(group, turn_id, sequences[i], le_bytes(chunk), false);
                        sequences[i] += 1;
                        spoken.first_audio.get_or_insert_with(Instant::now);
                        if i == 0 {
                            let ms = chunk.len() as u64 * 1000 / u64::from(group.rate);
                            floor.queue_audio(ms, CLIENT_LEAD_MS);
                            audio_ms += ms;
                        }
                    }
                    ControlFlow::Continue(())
                });
                if let Err(e) = result {
                    tracing::warn!("the voice could not speak {sentence:?}: {e:#}");
                    // Once a turn, the listeners are told why they hear nothing; the words are on the page.
                    if !told {
                        told = true;
                        tell(
                            listeners,
                            "The voice could not speak this turn (its server failed); the interviewer's words \
                             are on the page.",
                        );
                    }
                }
            }
            said.push((sentence, audio_ms));
        }
    }
    for (i, group) in listeners.iter().enumerate() {
        send(group, turn_id, sequences[i], Vec::new(), true);
    }
    drop(voicing);
    if floor.interrupted_since(epoch) {
        let heard_ms = spoken.first_audio.map_or(0, |first| {
            floor
                .interrupted_at()
                .saturating_sub(floor::ms_of(first) + CLIENT_LEAD_MS)
        });
        spoken.heard = Some(floor::heard(&said, heard_ms));
    }
    spoken
}

/// A notice to every listening connection.
fn tell(listeners: &[Listeners], message: &str) {
    let frame = frames::notice(message);
    for conn in listeners.iter().flat_map(|g| &g.conns) {
        let _ = conn.try_send(frame.clone());
    }
}

fn send(group: &Listeners, turn_id: &str, sequence: u64, pcm: Vec<u8>, last: bool) {
    let frame = frames::frame(Kind::Audio(pb::AudioOut {
        turn_id: turn_id.to_string(),
        sequence,
        sample_rate: group.rate,
        pcm,
        last,
    }));
    for conn in &group.conns {
        // A connection that cannot keep up misses audio rather than stalling the voice; its socket task closes it
        // when the actor's frames back up too.
        let _ = conn.try_send(frame.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_clients_that_ask_for_audio_get_it_at_a_sane_rate() {
        let hello = |want_audio, playback_sample_rate| pb::Hello {
            client_version: String::new(),
            last_event_id: 0,
            want_audio,
            playback_sample_rate,
        };
        assert_eq!(playback_rate(&hello(false, 48_000)), None);
        assert_eq!(playback_rate(&hello(true, 44_100)), Some(44_100));
        assert_eq!(playback_rate(&hello(true, 0)), Some(DEFAULT_RATE));
        assert_eq!(playback_rate(&hello(true, 1_000_000)), Some(DEFAULT_RATE));
        assert_eq!(le_bytes(&[1, -2]), vec![1, 0, 0xfe, 0xff]);
    }

    #[test]
    fn a_turn_nobody_hears_costs_nothing() {
        let mut s = Speech::silent();
        s.push("Hello there. How are you?");
        assert!(s.pending.is_empty());
        assert!(s.finish().is_none());
    }
}
