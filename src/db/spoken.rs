//! What a spoken interview records besides its turns: per-turn latency of the speech loop (stage offsets in ms from
//! the moment the candidate stopped speaking), and what the candidate heard of an interviewer turn they cut off.

use rusqlite::{Connection, params};

use super::DbError;
use crate::stats::Stats;

/// One spoken answer's way back to the interviewer's voice. Offsets are ms since `speech_end_at` (Unix ms); a
/// stage that did not happen (no voice listening, a model that said nothing) is `None`.
#[derive(Debug, Clone, PartialEq)]
pub struct Latency {
    /// The candidate's transcript turn.
    pub turn_id: i64,
    pub speech_end_at: i64,
    pub end_of_turn_ms: Option<i64>,
    pub transcript_ms: Option<i64>,
    pub first_token_ms: Option<i64>,
    pub first_sentence_ms: Option<i64>,
    pub first_audio_ms: Option<i64>,
    pub stt_model: String,
    pub llm_model: String,
    pub tts_model: String,
    /// Whether the reply was begun during the candidate's pause, before the end of the turn was decided.
    pub reply_ahead: bool,
}

/// The stages of the way back, each timed on its own, in the order they happen.
pub const STAGES: [&str; 6] = [
    "end-of-turn silence",
    "transcription",
    "LLM first token",
    "first sentence synthesised",
    "first audio frame sent",
    "end of turn -> first audio",
];

impl Latency {
    /// How long each of [`STAGES`] took, in ms; `None` for a stage that did not happen.
    pub fn stages(&self) -> [Option<i64>; 6] {
        let between = |from: Option<i64>, to: Option<i64>| Some(to? - from?);
        [
            self.end_of_turn_ms,
            between(self.end_of_turn_ms, self.transcript_ms),
            between(self.transcript_ms, self.first_token_ms),
            between(self.first_token_ms, self.first_sentence_ms),
            between(self.first_sentence_ms, self.first_audio_ms),
            between(self.end_of_turn_ms, self.first_audio_ms),
        ]
    }
}

/// Median, 95th percentile and maximum of each of [`STAGES`] over some answers.
pub fn stage_stats(latencies: &[Latency]) -> Vec<(&'static str, Stats)> {
    let stages: Vec<[Option<i64>; 6]> = latencies.iter().map(Latency::stages).collect();
    STAGES
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let ms = stages.iter().filter_map(|s| s[i]).map(|v| v as f64);
            (*name, Stats::of(ms.collect()))
        })
        .collect()
}

pub fn insert_latency(conn: &Connection, l: &Latency) -> Result<(), DbError> {
    conn.execute(
        "INSERT OR REPLACE INTO turn_latency (turn_id, speech_end_at, end_of_turn_ms, transcript_ms, first_token_ms,
           first_sentence_ms, first_audio_ms, stt_model, llm_model, tts_model, reply_ahead)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            l.turn_id,
            l.speech_end_at,
            l.end_of_turn_ms,
            l.transcript_ms,
            l.first_token_ms,
            l.first_sentence_ms,
            l.first_audio_ms,
            l.stt_model,
            l.llm_model,
            l.tts_model,
            l.reply_ahead
        ],
    )?;
    Ok(())
}

/// The latency records of an interview's spoken answers (every interview's when `session_id` is `None`), oldest
/// first.
pub fn latencies(conn: &Connection, session_id: Option<&str>) -> Result<Vec<Latency>, DbError> {
    let mut stmt = conn.prepare(
        "SELECT l.turn_id, l.speech_end_at, l.end_of_turn_ms, l.transcript_ms, l.first_token_ms, l.first_sentence_ms,
                l.first_audio_ms, l.stt_model, l.llm_model, l.tts_model, l.reply_ahead
           FROM turn_latency l JOIN transcript_turns t ON t.id = l.turn_id
          WHERE ?1 IS NULL OR t.session_id = ?1 ORDER BY t.session_id, t.seq",
    )?;
    let rows = stmt.query_map([session_id], |r| {
        Ok(Latency {
            turn_id: r.get(0)?,
            speech_end_at: r.get(1)?,
            end_of_turn_ms: r.get(2)?,
            transcript_ms: r.get(3)?,
            first_token_ms: r.get(4)?,
            first_sentence_ms: r.get(5)?,
            first_audio_ms: r.get(6)?,
            stt_model: r.get(7)?,
            llm_model: r.get(8)?,
            tts_model: r.get(9)?,
            reply_ahead: r.get(10)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Records what the candidate heard of an interviewer turn before they interrupted it.
pub fn set_heard(conn: &Connection, turn_id: i64, heard: &str) -> Result<(), DbError> {
    conn.execute(
        "UPDATE transcript_turns SET heard_text = ?2 WHERE id = ?1",
        params![turn_id, heard],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{
        live::{self, NewTurn},
        testing,
    };

    #[test]
    fn latency_and_heard_text_are_kept_per_turn() {
        let (mut conn, session) = testing::session();
        let turn = |conn: &mut Connection, speaker: &str| {
            live::insert_turn(
                conn,
                &NewTurn {
                    session_id: &session,
                    round: 0,
                    speaker,
                    kind: "answer",
                    text: "words",
                    question_id: None,
                    client_answer_id: None,
                    source: "voice",
                },
            )
            .unwrap()
            .0
            .id
        };
        let answer = turn(&mut conn, "candidate");
        let reply = turn(&mut conn, "interviewer");
        let l = Latency {
            turn_id: answer,
            speech_end_at: 1_000,
            end_of_turn_ms: Some(1_500),
            transcript_ms: Some(1_800),
            first_token_ms: Some(2_000),
            first_sentence_ms: Some(2_300),
            first_audio_ms: Some(2_310),
            stt_model: "local:whisper-tiny.en".into(),
            llm_model: "scripted".into(),
            tts_model: "local:piper-joe".into(),
            reply_ahead: true,
        };
        insert_latency(&conn, &l).unwrap();
        assert_eq!(latencies(&conn, Some(&session)).unwrap(), vec![l.clone()]);
        assert_eq!(latencies(&conn, None).unwrap(), vec![l.clone()]);
        assert_eq!(
            l.stages(),
            [
                Some(1_500),
                Some(300),
                Some(200),
                Some(300),
                Some(10),
                Some(810)
            ]
        );
        let stats = stage_stats(&[l]);
        assert_eq!(stats[5].0, STAGES[5]);
        assert_eq!((stats[5].1.count, stats[5].1.p50_ms), (1, 810.0));
        set_heard(&conn, reply, "Tell me more.").unwrap();
        let heard: Option<String> = conn
            .query_row(
                "SELECT heard_text FROM transcript_turns WHERE id = ?1",
                [reply],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(heard.as_deref(), Some("Tell me more."));
    }
}
