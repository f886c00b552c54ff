//! The interviewer's voice: each finished interviewer turn is spoken by the text-to-speech voice, sentence by
//! sentence, to the connections that asked for audio (`Hello.want_audio`), at the rate each plays at. Text-only
//! connections and servers without a voice get the same interview in text.

use std::ops::ControlFlow;

use tokio::sync::mpsc;

use super::{
    actor::Actor,
    frames,
    pb::{self, server_frame::Kind},
};

/// The playback rate used when a client asks for audio without a usable rate.
const DEFAULT_RATE: u32 = 48_000;

/// Audio per frame: small enough to start playing early and to stay far below the frame size limit.
const FRAME_MS: u32 = 200;

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

impl Actor {
    /// Speaks `text` to every listening connection, one synthesis per playback rate.
    pub(super) async fn voice(&mut self, turn_id: &str, text: &str) {
        let Some(tts) = self.state.tts() else {
            return;
        };
        let mut rates: Vec<u32> = self.listeners.iter().map(|(_, r)| *r).collect();
        rates.sort_unstable();
        rates.dedup();
        for rate in rates {
            let (tx, mut rx) = mpsc::channel::<Vec<i16>>(16);
            let (voice, words) = (tts.clone(), text.to_string());
            let job = tokio::task::spawn_blocking(move || {
                voice.speak(&words, rate, &mut |pcm| {
                    if tx.blocking_send(pcm.to_vec()).is_ok() {
                        ControlFlow::Continue(())
                    } else {
                        ControlFlow::Break(())
                    }
                })
            });
            let per_frame = (rate * FRAME_MS / 1000) as usize;
            let mut sequence = 0u64;
            let mut pending: Option<Vec<u8>> = None;
            while let Some(sentence) = rx.recv().await {
                for chunk in sentence.chunks(per_frame) {
                    if let Some(pcm) = pending.replace(le_bytes(chunk)) {
                        self.send_audio(rate, turn_id, sequence, pcm, false);
                        sequence += 1;
                    }
                }
            }
            if let Some(pcm) = pending {
                self.send_audio(rate, turn_id, sequence, pcm, true);
            }
            match job.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!("the voice could not speak a turn: {e:#}"),
                Err(e) => tracing::error!("the voice's task failed: {e}"),
            }
        }
    }

    fn send_audio(&mut self, rate: u32, turn_id: &str, sequence: u64, pcm: Vec<u8>, last: bool) {
        let conns: Vec<u64> = self
            .listeners
            .iter()
            .filter(|(_, r)| *r == rate)
            .map(|(c, _)| *c)
            .collect();
        for conn in conns {
            self.send_to(
                conn,
                frames::frame(Kind::Audio(pb::AudioOut {
                    turn_id: turn_id.to_string(),
                    sequence,
                    sample_rate: rate,
                    pcm: pcm.clone(),
                    last,
                })),
            );
        }
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
}
