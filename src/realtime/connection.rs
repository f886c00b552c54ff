//! One client connection of the realtime channel, over any transport that carries binary messages: the first
//! frame must be `Hello`; then frames go to the interview's actor and what it sends comes back. The loop is
//! generic over a sink of [`Outgoing`] and a stream of [`Incoming`] messages, so it knows no HTTP (the web layer
//! upgrades the request and adapts the WebSocket) and tests can drive it with channels.
//!
//! Bad frames (not binary, not a `ClientFrame`, too large, out of place) get an `Error` frame with a code; a
//! connection that keeps sending them is closed. Close codes:
//!
//! | code | meaning |
//! | --- | --- |
//! | 4400 | too many malformed or out-of-place frames |
//! | 4408 | no `Hello` within 10 seconds |
//! | 4429 | too many frames per second, repeatedly |
//! | 4500 | the connection fell behind the interview (reconnect to catch up) |

use std::time::{Duration, Instant};

use std::sync::Arc;

use futures_util::{Sink, SinkExt, Stream, StreamExt};
use prost::Message as _;
use tokio::sync::mpsc;

use super::{frames, hub::Cmd, pb, services::Services};
use crate::db::sessions;

/// A message from the client, as the transport delivered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    Binary(Vec<u8>),
    Text,
    /// A keep-alive of the transport's own.
    Ping,
    /// The client closed the connection, or the transport failed.
    Closed,
}

/// A message to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outgoing {
    Binary(Vec<u8>),
    Close { code: u16, reason: &'static str },
}

/// Bad frames tolerated before the connection is closed.
pub const MAX_STRIKES: u32 = 10;
/// Frames other than audio a connection may send per second (they are rare; audio has its own clock).
pub const FRAMES_PER_SECOND: u32 = 100;
/// Frames a connection may send at once above that rate (a token bucket): audio that queued up while the server
/// or the network was busy arrives in a burst and must not be dropped. Measured: three spoken interviews at once
/// on 2 cores delayed the reading of a connection's frames by more than a second.
pub const BURST_FRAMES: u32 = 2 * FRAMES_PER_SECOND;
/// Seconds over the rate before the connection is closed.
pub const MAX_FLOOD_SECONDS: u32 = 3;

pub const CLOSE_MALFORMED: u16 = 4400;
pub const CLOSE_NO_HELLO: u16 = 4408;
pub const CLOSE_FLOOD: u16 = 4429;
pub const CLOSE_BEHIND: u16 = 4500;

fn close(code: u16, reason: &'static str) -> Outgoing {
    Outgoing::Close { code, reason }
}

fn encode(frame: &pb::ServerFrame) -> Outgoing {
    Outgoing::Binary(frame.encode_to_vec())
}

/// Serves one connection to `session`'s interview until either side closes it.
pub async fn run<S, R>(
    services: Arc<Services>,
    session: sessions::Session,
    mut sink: S,
    mut stream: R,
) where
    S: Sink<Outgoing> + Unpin + Send + 'static,
    R: Stream<Item = Incoming> + Unpin,
{
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let conn = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);

    let Some(hello) = hello(&mut sink, &mut stream).await else {
        return;
    };
    let actor = services.hub.actor(&services, &session);
    // Frames from the actor; the actor drops its sender when this connection falls behind or the actor stops.
    let (out_tx, out_rx) = mpsc::channel::<pb::ServerFrame>(super::actor::CONNECTION_BUFFER);
    if actor
        .cmd
        .send(Cmd::Join {
            conn,
            out: out_tx,
            audio: super::playback::playback_rate(&hello),
        })
        .await
        .is_err()
    {
        let _ = sink.send(close(1011, "interview unavailable")).await;
        return;
    }
    // This task's own replies (errors about the client's frames), and a request to close with a code.
    let (err_tx, err_rx) = mpsc::channel::<pb::ServerFrame>(64);
    let (close_tx, close_rx) = tokio::sync::oneshot::channel::<(u16, &'static str)>();
    let mut writer = tokio::spawn(write(sink, out_rx, err_rx, close_rx));

    let mut guard = Guard::new();
    let reason = loop {
        let msg = tokio::select! {
            msg = stream.next() => msg,
            _ = &mut writer => break None,
        };
        let Some(msg) = msg else { break None };
        let decoded = match msg {
            Incoming::Binary(b) => Some(pb::ClientFrame::decode(b.as_slice())),
            Incoming::Closed => break None,
            Incoming::Ping => continue,
            Incoming::Text => None,
        };
        let frame = match guard.admit(decoded, Instant::now()) {
            Admitted::Frame(frame) => frame,
            Admitted::Refused(notice) => {
                if let Some(notice) = notice {
                    let _ = err_tx.try_send(notice);
                }
                continue;
            }
            Admitted::Close(code, why, notice) => {
                if let Some(notice) = notice {
                    let _ = err_tx.try_send(notice);
                }
                break Some((code, why));
            }
        };
        if let Some(pb::client_frame::Kind::Control(c)) = &frame.kind
            && c.action() == pb::control::Action::Interrupt
        {
            // The interviewer stops now, not when the actor gets to this frame.
            actor.floor.interrupt();
        }
        if actor.cmd.send(Cmd::Frame { conn, frame }).await.is_err() {
            break Some((1011, "interview unavailable"));
        }
    };
    // The close is asked for before the actor lets go of this connection (see `write`).
    let closing = reason.map(|code| close_tx.send(code).is_ok());
    let _ = actor.cmd.send(Cmd::Leave { conn }).await;
    match closing {
        Some(_) => {
            let _ = tokio::time::timeout(Duration::from_secs(2), writer).await;
            drain_until_close(&mut stream).await;
        }
        None => writer.abort(),
    }
}

/// The first frame, which must be `Hello`; when it is not (or none comes in time), the client is told why and the
/// connection closed.
async fn hello<S, R>(sink: &mut S, stream: &mut R) -> Option<pb::Hello>
where
    S: Sink<Outgoing> + Unpin,
    R: Stream<Item = Incoming> + Unpin,
{
    let first = match tokio::time::timeout(Duration::from_secs(10), stream.next()).await {
        Ok(Some(Incoming::Binary(b))) => pb::ClientFrame::decode(b.as_slice()).ok(),
        Ok(_) => None,
        Err(_) => {
            let _ = sink.send(close(CLOSE_NO_HELLO, "no hello")).await;
            return None;
        }
    };
    if let Some(pb::ClientFrame {
        kind: Some(pb::client_frame::Kind::Hello(hello)),
        ..
    }) = first
    {
        return Some(hello);
    }
    let err = frames::error("out_of_order", "The first frame must be Hello.", 0);
    let _ = sink.send(encode(&err)).await;
    let _ = sink.send(close(CLOSE_MALFORMED, "expected hello")).await;
    None
}

/// Writes the actor's frames and this connection's own error frames to the client until the actor lets go of it
/// (the client fell behind: closed with [`CLOSE_BEHIND`]) or the reader asks to close with a code.
async fn write<S>(
    mut sink: S,
    mut out_rx: mpsc::Receiver<pb::ServerFrame>,
    mut err_rx: mpsc::Receiver<pb::ServerFrame>,
    close_rx: tokio::sync::oneshot::Receiver<(u16, &'static str)>,
) where
    S: Sink<Outgoing> + Unpin,
{
    tokio::pin!(close_rx);
    loop {
        // A close asked for by the reader goes first: when the reader gives up on a client, the actor also drops
        // this connection's frames, and the client must get the reader's error frames and close code, not "fell
        // behind".
        tokio::select! {
            biased;
            req = &mut close_rx => {
                while let Ok(f) = err_rx.try_recv() {
                    let _ = sink.send(encode(&f)).await;
                }
                if let Ok((code, why)) = req {
                    let _ = sink.send(close(code, why)).await;
                }
                return;
            }
            Some(f) = err_rx.recv() => if sink.send(encode(&f)).await.is_err() { return },
            frame = out_rx.recv() => match frame {
                Some(f) => if sink.send(encode(&f)).await.is_err() { return },
                None => {
                    let _ = sink.send(close(CLOSE_BEHIND, "fell behind; reconnect")).await;
                    return;
                }
            },
        }
    }
}

/// The closing handshake: reads (and drops) what the client still sends until its Close, so the socket is not
/// shut with unread data, which makes the kernel reset it and the client lose the close frame.
async fn drain_until_close<R: Stream<Item = Incoming> + Unpin>(stream: &mut R) {
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        while let Some(msg) = stream.next().await {
            if msg == Incoming::Closed {
                break;
            }
        }
    })
    .await;
}

/// What the guard made of a message from the client.
enum Admitted {
    Frame(pb::ClientFrame),
    /// Dropped, with an error frame to send (the first of a flood second, or every malformed frame).
    Refused(Option<pb::ServerFrame>),
    /// Too many bad frames or too long a flood: close with this code, after the error frame if any.
    Close(u16, &'static str, Option<pb::ServerFrame>),
}

/// The limits on what one connection sends: frames per second (audio by the time it covers), bad frames, and
/// seconds spent flooding.
struct Guard {
    strikes: u32,
    bucket: Bucket,
    audio_clock: AudioClock,
    window: Instant,
    dropped_in_window: bool,
    flood_seconds: u32,
}

impl Guard {
    fn new() -> Guard {
        Guard {
            strikes: 0,
            bucket: Bucket::new(),
            audio_clock: AudioClock::default(),
            window: Instant::now(),
            dropped_in_window: false,
            flood_seconds: 0,
        }
    }

    /// Passes a decoded message (`None`: not a binary frame) read at `now`, or says why not.
    fn admit(
        &mut self,
        decoded: Option<Result<pb::ClientFrame, prost::DecodeError>>,
        now: Instant,
    ) -> Admitted {
        if now.saturating_duration_since(self.window) >= Duration::from_secs(1) {
            if self.dropped_in_window {
                self.flood_seconds += 1;
            }
            self.window = now;
            self.dropped_in_window = false;
        }
        // Audio is limited by the time it covers, not by when it is read: when the server is busy, a minute's
        // paced microphone frames are read in a burst, and none of them may be refused for it.
        let audio_ms = match &decoded {
            Some(Ok(pb::ClientFrame {
                kind: Some(pb::client_frame::Kind::Audio(a)),
                ..
            })) => Some(a.pcm.len() as u64 / 32),
            _ => None,
        };
        let allowed = match audio_ms {
            Some(ms) => self.audio_clock.take(ms, now),
            None => self.bucket.take(now),
        };
        if !allowed {
            let notice = (!self.dropped_in_window).then(|| {
                let msg = if audio_ms.is_some() {
                    "Audio is arriving faster than it can be spoken; chunks over that are dropped."
                        .to_string()
                } else {
                    format!(
                        "At most {FRAMES_PER_SECOND} frames a second; frames over that are dropped."
                    )
                };
                frames::error("rate_limited", msg, 0)
            });
            self.dropped_in_window = true;
            if self.flood_seconds >= MAX_FLOOD_SECONDS {
                return Admitted::Close(CLOSE_FLOOD, "too many frames", notice);
            }
            return Admitted::Refused(notice);
        }
        let refused = match decoded {
            Some(Ok(frame)) if !matches!(frame.kind, Some(pb::client_frame::Kind::Hello(_))) => {
                return Admitted::Frame(frame);
            }
            None => frames::error(
                "malformed_frame",
                "Send binary protobuf frames, not text.",
                0,
            ),
            Some(Ok(frame)) => {
                frames::error("out_of_order", "Hello was already received.", frame.seq)
            }
            Some(Err(e)) => frames::error("malformed_frame", format!("Not a ClientFrame: {e}."), 0),
        };
        self.strikes += 1;
        if self.strikes >= MAX_STRIKES {
            return Admitted::Close(CLOSE_MALFORMED, "too many bad frames", Some(refused));
        }
        Admitted::Refused(Some(refused))
    }
}

/// Audio a connection may send ahead of the wall clock: a client that buffered its microphone through a stall
/// (a busy browser, a slow network) sends it late, never early.
pub const AUDIO_AHEAD_MS: u64 = 10_000;
/// The least time one audio chunk counts for, so tiny chunks cannot flood the interview.
const MIN_CHUNK_MS: u64 = 10;

/// Audio received against the time since the first chunk: real speech never covers more time than has passed
/// (plus [`AUDIO_AHEAD_MS`]), however late the server reads it.
#[derive(Debug, Default)]
struct AudioClock {
    since: Option<Instant>,
    received_ms: u64,
}

impl AudioClock {
    /// Whether a chunk of `ms` of audio read at `now` may pass.
    fn take(&mut self, ms: u64, now: Instant) -> bool {
        let since = *self.since.get_or_insert(now);
        let elapsed = now.saturating_duration_since(since).as_millis() as u64;
        let ms = ms.max(MIN_CHUNK_MS);
        if self.received_ms + ms > elapsed + AUDIO_AHEAD_MS {
            return false;
        }
        self.received_ms += ms;
        true
    }
}

/// A token bucket: [`FRAMES_PER_SECOND`] on average, up to [`BURST_FRAMES`] at once.
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn new() -> Bucket {
        Bucket {
            tokens: f64::from(BURST_FRAMES),
            at: Instant::now(),
        }
    }

    /// Whether a frame arriving `now` may pass.
    fn take(&mut self, now: Instant) -> bool {
        let refill =
            now.saturating_duration_since(self.at).as_secs_f64() * f64::from(FRAMES_PER_SECOND);
        self.tokens = (self.tokens + refill).min(f64::from(BURST_FRAMES));
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audio_read_late_in_a_burst_passes_and_audio_faster_than_time_does_not() {
        let start = Instant::now();
        let mut clock = AudioClock::default();
        assert!(clock.take(20, start));
        // A server busy for a minute reads the minute's 3,000 paced chunks at once: all pass.
        let later = start + Duration::from_secs(60);
        assert!((0..3000).all(|_| clock.take(20, later)));
        // A client sending faster than real time gets AUDIO_AHEAD_MS ahead, then is refused.
        let mut clock = AudioClock::default();
        let passed = (0..2000).filter(|_| clock.take(20, start)).count();
        assert_eq!(passed as u64, AUDIO_AHEAD_MS / 20);
        // Empty or tiny chunks count for MIN_CHUNK_MS each.
        let mut clock = AudioClock::default();
        let passed = (0..5000).filter(|_| clock.take(0, start)).count();
        assert_eq!(passed as u64, AUDIO_AHEAD_MS / MIN_CHUNK_MS);
    }

    #[test]
    fn the_bucket_takes_a_burst_then_the_rate() {
        let start = Instant::now();
        let mut b = Bucket {
            tokens: f64::from(BURST_FRAMES),
            at: start,
        };
        let passed = (0..BURST_FRAMES + 50).filter(|_| b.take(start)).count();
        assert_eq!(
            passed, BURST_FRAMES as usize,
            "a burst passes up to its size"
        );
        let later = start + Duration::from_millis(500);
        let passed = (0..FRAMES_PER_SECOND).filter(|_| b.take(later)).count();
        assert_eq!(
            passed,
            FRAMES_PER_SECOND as usize / 2,
            "then the rate refills it"
        );
    }
}
