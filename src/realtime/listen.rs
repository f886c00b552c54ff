//! The candidate's voice: `AudioChunk` frames (16 kHz mono 16-bit PCM) are checked, followed by the end-of-turn
//! rules ([`crate::engine::turns`]) per connection, and each finished turn is transcribed by whisper and taken as
//! the candidate's answer, stored with source `voice`. Filler ("hmm") is not an answer; bad frames get error frames
//! and change nothing; a connection that goes away takes its unfinished turn with it. Speech that starts while the
//! interviewer is still being played is a barge-in: the interviewer stops. Whisper starts on a turn during the
//! pause that may end it, and the interviewer's reply to that transcript is begun ([`super::reply`]), so both are
//! ready or under way when the pause does end it. The pause's transcript, with the pitch the voice ended on (read
//! beside whisper), also says how long the pause must last to end the turn ([`turns::wait_after`]): a finished
//! answer ends after a short silence, one that trails off or whose voice did not fall waits.
//! Each answer's timing starts here.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use tokio::task::{JoinError, JoinHandle};

use super::{
    activity::{Activity, Captioning, ReplyWork},
    actor::{Actor, Resumable},
    frames,
    hub::Cmd,
    latency::Timing,
    pb,
    reply::{Plan, Stream},
};
use crate::{
    catalog::RoundKind,
    engine::{
        interview::Input,
        turns::{self, Rules, TRANSCRIBE_AFTER_MS, Turn, TurnEnd, TurnTaker},
    },
    voice::vad::{Detector, Loudness},
    voice::{SpeechToText, Transcript},
};

/// The only sample rate accepted from clients.
pub const RATE: u32 = 16_000;
/// The largest chunk accepted: one second.
pub const MAX_CHUNK_BYTES: usize = RATE as usize * 2;

/// A transcription started during a pause: the audio it was given, and its result to come with the reply already
/// being written to it. Dropped unread (the candidate spoke again), it stops there: a transcription already running
/// finishes, but no reply is begun to it, so the model's time goes to the interviews that need it.
#[derive(Debug)]
struct Early {
    audio: Vec<f32>,
    job: JoinHandle<anyhow::Result<Heard>>,
    /// The transcript's text, as soon as whisper has it (before the reply is begun), and how the voice ended before
    /// the pause ([`crate::voice::pitch::ending_semitones`], read beside whisper).
    words: std::sync::Arc<std::sync::OnceLock<(String, Option<f32>)>>,
    /// The silence the words chose to end the pause, once they have.
    wait: Option<u32>,
    /// The transcription and the reply begun to it are work a reply waits for.
    _work: ReplyWork,
}

impl Drop for Early {
    fn drop(&mut self) {
        self.job.abort();
    }
}

/// A turn's transcript, and the interviewer's reply to it when one was started before the turn ended.
type Heard = (Transcript, Option<Stream>);

/// Audio a caption covers beyond the last one before the next is made: the candidate sees their words about once a
/// second while speaking. One caption is transcribed at a time per connection, never during a pause (when the
/// transcription the reply waits for runs), so captions take only time the reply does not need.
pub const CAPTION_EVERY_MS: u32 = 1000;
/// A candidate who speaks again this soon after a spoken answer was handed over, having heard less than
/// [`RESUME_HEARD_MS`] of the interviewer's reply, is going on with that answer rather than answering the reply.
const RESUME_WITHIN_MS: u64 = 6_000;
const RESUME_HEARD_MS: u64 = 1_500;

/// The turn's audio (pre-roll included) before its first caption: whisper's draft of the first second alone was
/// often wrong ("I will use the mic." for "I owned the migration").
pub const FIRST_CAPTION_MS: u32 = 1500;

/// The caption of the turn being spoken.
#[derive(Debug, Default)]
struct Caption {
    /// The caption's turn id in the transcript, while the turn lasts.
    id: Option<String>,
    /// How much of the turn (ms of audio) the last caption covered.
    covered_ms: u32,
}

/// One connection's listening state.
#[derive(Debug)]
pub struct Ear {
    turns: TurnTaker,
    last_sequence: Option<u64>,
    last_heard: Instant,
    early: Option<Early>,
    caption: Caption,
}

impl Ear {
    fn new(rules: Rules, detector: Box<dyn Detector>) -> Ear {
        Ear {
            turns: TurnTaker::new(rules, detector),
            last_sequence: None,
            last_heard: Instant::now(),
            early: None,
            caption: Caption::default(),
        }
    }

    /// Whether audio arrived lately and the candidate is not mid-answer: a microphone that is on, in silence.
    pub fn quiet(&self) -> bool {
        self.last_heard.elapsed() < Duration::from_secs(2) && !self.turns.speaking()
    }

    /// Once the pause's words are known, they set how long it must last to end the turn.
    fn judge_pause(&mut self, kind: Option<RoundKind>) {
        if let Some(e) = self.early.as_mut().filter(|e| e.wait.is_none())
            && let Some((words, ending)) = e.words.get()
        {
            let wait = turns::wait_after(words, kind, self.turns.rules(), *ending);
            e.wait = Some(wait);
            self.turns.end_after(wait);
        }
    }

    /// The turn's audio so far when a new caption is due: the candidate is speaking, no caption is being made,
    /// no transcription of a pause is under way, [`CAPTION_EVERY_MS`] more was said since the last caption, and
    /// the server does no work for a reply (see [`Activity`]).
    fn caption_due(&mut self, activity: &Activity) -> Option<(Vec<f32>, Captioning)> {
        if self.early.is_some() {
            return None;
        }
        let audio = self.turns.speaking_audio()?;
        let ms = (audio.len() / 16) as u32;
        let due = if self.caption.covered_ms == 0 {
            FIRST_CAPTION_MS
        } else {
            self.caption.covered_ms + CAPTION_EVERY_MS
        };
        if ms < due {
            return None;
        }
        let leave = activity.caption()?;
        self.caption.covered_ms = ms;
        Some((audio.to_vec(), leave))
    }

    /// Takes a chunk's sequence number: how many chunks went missing before it, or why it is refused (it came
    /// after a later one).
    fn follow_sequence(&mut self, sequence: u64) -> Result<Option<u64>, String> {
        let gap = match self.last_sequence {
            Some(last) if sequence <= last => {
                return Err(format!(
                    "Audio chunk {sequence} came after chunk {last}; it was dropped."
                ));
            }
            Some(last) if sequence > last + 1 => Some(sequence - last - 1),
            _ => None,
        };
        self.last_sequence = Some(sequence);
        self.last_heard = Instant::now();
        Ok(gap)
    }

    /// Follows a chunk's samples.
    fn push(&mut self, samples: &[f32]) -> Pushed {
        let was_speaking = self.turns.speaking();
        let finished = self.turns.push(samples);
        let started = !was_speaking && (self.turns.speaking() || !finished.is_empty());
        let mut early = None;
        let mut pause = None;
        if finished.is_empty() {
            match self.turns.pending(TRANSCRIBE_AFTER_MS) {
                Some(audio) if self.early.is_none() => pause = Some(audio),
                Some(_) => {}
                // Speaking again (or no turn): what was transcribed is not the turn, nor the reply begun to it.
                None => self.early = None,
            }
        } else {
            early = self.early.take();
        }
        Pushed {
            started,
            finished,
            early,
            pause,
        }
    }
}

/// What one chunk's samples did.
struct Pushed {
    /// The candidate started speaking.
    started: bool,
    /// The turns that ended.
    finished: Vec<Turn>,
    /// The transcription begun in the pause that ended them, if any.
    early: Option<Early>,
    /// A pause just got long enough to transcribe: its audio.
    pause: Option<Vec<f32>>,
}

/// A caption of the candidate's words, never final (the answer is stored under a turn of its own); with no text
/// it withdraws the caption.
fn caption_frame(id: String, text: String, round: u32) -> pb::ServerFrame {
    frames::transcript(id, pb::Speaker::Candidate, text, false, round)
}

/// 16-bit little-endian PCM as samples in -1..1.
fn pcm_samples(pcm: &[u8]) -> Vec<f32> {
    pcm.chunks_exact(2)
        .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0)
        .collect()
}

/// Why a chunk is refused, as the error frame says it.
pub fn check(chunk: &pb::AudioChunk) -> Result<(), String> {
    if chunk.sample_rate != RATE {
        return Err(format!(
            "Audio must be 16 kHz mono 16-bit PCM; this chunk says {} Hz.",
            chunk.sample_rate
        ));
    }
    if chunk.pcm.is_empty() {
        return Err("The audio chunk is empty.".into());
    }
    if !chunk.pcm.len().is_multiple_of(2) {
        return Err(format!(
            "An audio chunk must hold whole 16-bit samples; this one has {} bytes.",
            chunk.pcm.len()
        ));
    }
    if chunk.pcm.len() > MAX_CHUNK_BYTES {
        return Err(format!(
            "An audio chunk may hold at most one second ({MAX_CHUNK_BYTES} bytes); this one has {}.",
            chunk.pcm.len()
        ));
    }
    Ok(())
}

impl Actor {
    /// How the interviewer could start replying before the turn ends: the engine as it stands, in a round the
    /// model's view is of.
    fn plan(&self) -> Option<Plan> {
        let iv = self
            .engine
            .as_ref()
            .filter(|iv| self.chat_round == Some(iv.current) && !iv.finished)?;
        Some(Plan {
            engine: iv.clone(),
            now: self.now(),
            context: self.reply_context(iv.current),
            llm: self.services.llm.clone(),
            floor: self.floor.clone(),
            epoch: self.floor.epoch(),
        })
    }

    /// Follows one chunk of a connection's microphone: refuses what cannot be heard, sets how long the current
    /// pause must last from its words, starts transcribing a pause that got long enough, and answers each turn the
    /// chunk finished.
    pub(super) async fn hear(&mut self, conn: u64, seq: u64, chunk: pb::AudioChunk) {
        let Some(stt) = self.admit_audio(conn, seq, &chunk) else {
            return;
        };
        let kind = self.round_kind();
        let activity = self.services.activity.clone();
        let ear = self.ear_for(conn);
        ear.judge_pause(kind);
        let gap = match ear.follow_sequence(chunk.sequence) {
            Ok(gap) => gap,
            Err(why) => {
                self.send_to(conn, frames::error("out_of_order", why, seq));
                return;
            }
        };
        let pushed = ear.push(&pcm_samples(&chunk.pcm));
        let caption = if pushed.finished.is_empty() {
            ear.caption_due(&activity)
        } else {
            None
        };
        if let Some(audio) = pushed.pause {
            self.transcribe_pause(conn, audio, stt.clone());
        }
        if let Some((audio, leave)) = caption {
            self.transcribe_caption(conn, audio, leave, stt.clone());
        }
        if let Some(missing) = gap {
            self.send_to(
                conn,
                frames::error(
                    "out_of_order",
                    format!(
                        "{missing} audio chunk(s) before chunk {} never arrived.",
                        chunk.sequence
                    ),
                    seq,
                ),
            );
        }
        if pushed.started {
            self.speech_started();
        }
        let mut early = pushed.early;
        for turn in pushed.finished {
            let wait = early
                .as_ref()
                .filter(|e| e.audio == turn.audio)
                .and_then(|e| e.wait);
            let end = TurnEnd::of(wait, self.ear_for(conn).turns.rules());
            self.services.observe.turn_ended(end);
            let ear = self.ear_for(conn);
            let caption = ear.caption.id.take();
            ear.caption.covered_ms = 0;
            self.answer_turn(conn, seq, turn, early.take(), caption, &stt)
                .await;
        }
    }

    /// Transcribes the turn so far beside the actor; the text comes back as [`Cmd::Caption`].
    fn transcribe_caption(
        &mut self,
        conn: u64,
        audio: Vec<f32>,
        leave: Captioning,
        whisper: Arc<dyn SpeechToText>,
    ) {
        self.captions += 1;
        let fresh = format!("caption-{}-{}", self.generation, self.captions);
        let id = self.ear_for(conn).caption.id.get_or_insert(fresh).clone();
        let me = self.me.clone();
        tokio::spawn(async move {
            let text = match tokio::task::spawn_blocking(move || whisper.draft(&audio)).await {
                Ok(Ok(t)) => t.text.trim().to_string(),
                _ => String::new(),
            };
            drop(leave);
            if let Some(me) = me.upgrade() {
                let _ = me.send(Cmd::Caption { conn, id, text }).await;
            }
        });
    }

    /// A caption came back: shown to every connection if its turn is still being spoken.
    pub(super) fn caption_done(&mut self, conn: u64, id: &str, text: String) {
        let round = self.round_index();
        let Some((_, ear)) = self.ears.iter().find(|(c, _)| *c == conn) else {
            return;
        };
        if ear.caption.id.as_deref() == Some(id) && !text.is_empty() && !turns::is_filler(&text) {
            self.broadcast(caption_frame(id.to_string(), text, round));
        }
    }

    /// The index of the round being held.
    fn round_index(&self) -> u32 {
        self.engine.as_ref().map_or(0, |iv| iv.current as u32)
    }

    /// Speech-to-text, when this chunk may be heard; else the error frame is sent.
    fn admit_audio(
        &mut self,
        conn: u64,
        seq: u64,
        chunk: &pb::AudioChunk,
    ) -> Option<Arc<dyn SpeechToText>> {
        if let Some(why) = self.closed_reason() {
            self.send_to(conn, frames::error("session_closed", why, seq));
            return None;
        }
        let Some(stt) = self.services.stt.clone() else {
            self.send_to(
                conn,
                frames::error(
                    "unsupported",
                    "This server has no speech-to-text; type your answers instead.",
                    seq,
                ),
            );
            return None;
        };
        if let Err(why) = check(chunk) {
            self.send_to(conn, frames::error("bad_audio", why, seq));
            return None;
        }
        Some(stt)
    }

    /// The kind of the round being held.
    fn round_kind(&self) -> Option<RoundKind> {
        self.engine
            .as_ref()
            .and_then(|iv| iv.rounds.get(iv.current))
            .map(|r| r.kind)
    }

    /// The connection's ear, made on its first chunk.
    fn ear_for(&mut self, conn: u64) -> &mut Ear {
        if !self.ears.iter().any(|(c, _)| *c == conn) {
            let detector: Box<dyn Detector> = match self.services.vad.clone() {
                Some(vad) => vad.detector(),
                None => Box::new(Loudness::default()),
            };
            let ear = Ear::new(self.services.options.turn_rules, detector);
            self.ears.push((conn, ear));
            self.waiting_since.get_or_insert_with(Instant::now);
        }
        &mut self
            .ears
            .iter_mut()
            .find(|(c, _)| *c == conn)
            .expect("just added")
            .1
    }

    /// Transcribes the pause so far beside the actor, and begins the reply to its words.
    fn transcribe_pause(&mut self, conn: u64, audio: Vec<f32>, whisper: Arc<dyn SpeechToText>) {
        let (plan, clip) = (self.plan(), audio.clone());
        let words = Arc::new(std::sync::OnceLock::new());
        let heard = words.clone();
        let job = tokio::spawn(async move {
            let asked = Instant::now();
            let (t, ending) = tokio::task::spawn_blocking(move || {
                let ending = crate::voice::pitch::ending_semitones(&clip);
                whisper.transcribe(&clip).map(|t| (t, ending))
            })
            .await??;
            let _ = heard.set((t.text.clone(), ending));
            let words_ms = asked.elapsed().as_millis() as u64;
            // Off the async workers: the engine may read the words for their meaning with the embedding model.
            let reply = match plan {
                Some(p) => {
                    let text = t.text.clone();
                    tokio::task::spawn_blocking(move || p.start(&text)).await?
                }
                None => None,
            };
            tracing::debug!(
                audio_ms = t.audio_ms,
                whisper_ms = t.elapsed_ms,
                words_ms,
                begun_ms = asked.elapsed().as_millis() as u64,
                "a pause was transcribed and the reply begun"
            );
            Ok((t, reply))
        });
        if let Some((_, ear)) = self.ears.iter_mut().find(|(c, _)| *c == conn) {
            ear.early = Some(Early {
                audio,
                job,
                words,
                wait: None,
                _work: self.services.activity.reply_work(),
            });
        }
    }

    /// The candidate started speaking: nobody waits for an answer now, and an interviewer still talking stops.
    fn speech_started(&mut self) {
        self.waiting_since = None;
        let now = super::floor::clock_ms();
        // Going on with the answer: soon after it, while the reply has not begun to play or has played only a
        // little (a short reply heard whole, "Why Kafka?", is answered, not interrupted).
        let going_on = self.resumable.as_ref().is_some_and(|r| {
            now.saturating_sub(r.at_ms) < RESUME_WITHIN_MS
                && (!self.floor.began_since(r.at_ms)
                    || (self.floor.playing() && self.floor.played_since(r.at_ms) < RESUME_HEARD_MS))
        });
        if self.floor.playing() || going_on {
            self.floor.interrupt();
            self.broadcast(frames::voice_state(pb::voice_state::State::Listening, true));
        }
        if let Some(r) = &mut self.resumable {
            r.continued = going_on;
        }
    }

    /// The answer as the engine gets it: this turn alone, or, when it goes on with the answer the interviewer had
    /// just begun to reply to, both parts, with the engine taken back to before the first.
    fn resume(&mut self, text: &str) -> String {
        match self.resumable.take().filter(|r| r.continued) {
            Some(r) => {
                let mut before = r.before;
                // Two stored turns are handed over as one answer: the first counts as handed over already.
                before.answers = before.answers.map(|n| n + 1);
                self.engine = Some(before);
                self.services.observe.resumed();
                format!("{} {}", r.text, text)
            }
            None => text.to_string(),
        }
    }

    /// Hands a spoken answer to the engine, keeping what it takes to treat the next turn as more of this answer.
    async fn hand_over(&mut self, answer: String) {
        let before = self.engine.clone();
        let at_ms = super::floor::clock_ms();
        self.input(Input::Answer(&answer)).await;
        // Only where the interviewer is heard (its voice shows when the reply starts), and within the round and
        // question the answer was given in: a reply that moved on is not taken back.
        let heard = self.services.tts.is_some() && !self.listeners.is_empty();
        self.resumable = before
            .filter(|_| heard)
            .filter(|b| {
                self.engine.as_ref().is_some_and(|iv| {
                    !iv.finished
                        && iv.current == b.current
                        && iv.current_question() == b.current_question()
                })
            })
            .map(|before| Resumable {
                before,
                text: answer,
                at_ms,
                continued: false,
            });
    }

    /// A finished turn: transcribed (or the transcription begun in its pause, when that heard the same audio),
    /// its caption withdrawn, stored as the candidate's answer unless it was only filler, and handed to the
    /// interviewer.
    async fn answer_turn(
        &mut self,
        conn: u64,
        seq: u64,
        turn: Turn,
        early: Option<Early>,
        caption: Option<String>,
        stt: &Arc<dyn SpeechToText>,
    ) {
        let _work = self.services.activity.reply_work();
        let decided = Instant::now();
        let speech_end = decided - Duration::from_millis(u64::from(turn.silence_ms));
        let speech_end_unix_ms = crate::clock::now_ms() - i64::from(turn.silence_ms);
        self.broadcast(frames::voice_state(pb::voice_state::State::Thinking, false));
        // An early transcription of other audio lives (its job not aborted) until this turn's handling ends.
        let heard = match early {
            Some(mut e) if e.audio == turn.audio => (&mut e.job).await,
            _ => transcribe_turn(stt, turn.audio).await,
        };
        let transcribed = Instant::now();
        if let Some(id) = caption {
            self.broadcast(caption_frame(id, String::new(), self.round_index()));
        }
        let Some(text) = self.heard_text(heard, conn, seq) else {
            return;
        };
        if turns::is_filler(&text) {
            self.broadcast(frames::voice_state(
                pb::voice_state::State::Listening,
                false,
            ));
            return;
        }
        let answer = self.resume(&text);
        match self.store_answer(text.clone(), None, "voice").await {
            Ok(true) => {
                self.timing = self.last_candidate_turn.map(|candidate_turn| Timing {
                    candidate_turn,
                    speech_end,
                    speech_end_unix_ms,
                    decided,
                    transcribed,
                    first_token: None,
                    first_sentence: None,
                    first_audio: None,
                    reply_ahead: false,
                });
                self.hand_over(answer).await;
            }
            Ok(false) => {}
            Err(e) => {
                tracing::error!("storing a spoken answer failed: {e}");
                self.send_to(
                    conn,
                    frames::error(
                        "internal",
                        "The answer could not be stored; say it again.",
                        seq,
                    ),
                );
            }
        }
        // A reply written ahead that the engine did not ask for stops here.
        self.prepared = None;
    }

    /// The turn's trimmed text, keeping the reply begun to it; `None` (after telling the connection when the audio
    /// could not be understood) when the transcription failed.
    fn heard_text(
        &mut self,
        heard: Result<anyhow::Result<Heard>, JoinError>,
        conn: u64,
        seq: u64,
    ) -> Option<String> {
        match heard {
            Ok(Ok((t, reply))) => {
                self.prepared = reply;
                Some(t.text.trim().to_string())
            }
            Ok(Err(e)) => {
                tracing::warn!("transcribing a turn failed: {e:#}");
                self.send_to(
                    conn,
                    frames::error(
                        "bad_audio",
                        "That answer could not be understood; please say it again or type it.",
                        seq,
                    ),
                );
                None
            }
            Err(e) => {
                tracing::error!("the transcription task failed: {e}");
                None
            }
        }
    }
}

/// Transcribes a finished turn's audio on a blocking thread, with no reply begun to it.
async fn transcribe_turn(
    stt: &Arc<dyn SpeechToText>,
    audio: Vec<f32>,
) -> Result<anyhow::Result<Heard>, JoinError> {
    let whisper = stt.clone();
    tokio::task::spawn_blocking(move || whisper.transcribe(&audio))
        .await
        .map(|t| t.map(|t| (t, None)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(sample_rate: u32, bytes: usize) -> pb::AudioChunk {
        pb::AudioChunk {
            sequence: 1,
            sample_rate,
            pcm: vec![0; bytes],
        }
    }

    #[test]
    fn bad_chunks_are_refused_with_a_reason() {
        assert!(check(&chunk(16_000, 640)).is_ok());
        assert!(check(&chunk(48_000, 640)).unwrap_err().contains("48000 Hz"));
        assert!(check(&chunk(16_000, 0)).unwrap_err().contains("empty"));
        assert!(
            check(&chunk(16_000, 641))
                .unwrap_err()
                .contains("whole 16-bit samples")
        );
        assert!(
            check(&chunk(16_000, MAX_CHUNK_BYTES + 2))
                .unwrap_err()
                .contains("at most one second")
        );
    }
}
