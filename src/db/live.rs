//! What a live interview writes and reads back: transcript turns (each stored before it is acknowledged, a
//! re-sent answer stored once), the engine's state, round progress, and the questions a user has had.

use std::collections::HashSet;

use rusqlite::{Connection, OptionalExtension, params};

use super::{DbError, now_ms};

#[derive(Debug, Clone, PartialEq)]
pub struct StoredTurn {
    pub id: i64,
    pub seq: i64,
    pub round: i64,
    pub speaker: String,
    pub text: String,
    pub created_at: i64,
}

/// A new turn to store.
#[derive(Debug, Clone)]
pub struct NewTurn<'a> {
    pub session_id: &'a str,
    pub round: i64,
    pub speaker: &'a str,
    pub kind: &'a str,
    pub text: &'a str,
    pub question_id: Option<&'a str>,
    pub client_answer_id: Option<&'a str>,
    /// `text` or `voice`: how the candidate gave it.
    pub source: &'a str,
}

/// Stores a turn at the next position; a candidate answer whose `client_answer_id` is already stored is not
/// stored again. Returns the turn and whether it is new.
pub fn insert_turn(conn: &mut Connection, t: &NewTurn) -> Result<(StoredTurn, bool), DbError> {
    let tx = conn.transaction()?;
    if let Some(answer_id) = t.client_answer_id
        && let Some(existing) = tx
            .query_row(
                "SELECT id, seq, round_position, speaker, text, created_at FROM transcript_turns
                 WHERE session_id = ?1 AND client_answer_id = ?2",
                params![t.session_id, answer_id],
                row,
            )
            .optional()?
    {
        return Ok((existing, false));
    }
    let seq: i64 = tx.query_row(
        "SELECT COALESCE(MAX(seq), 0) + 1 FROM transcript_turns WHERE session_id = ?1",
        [t.session_id],
        |r| r.get(0),
    )?;
    let created_at = now_ms();
    tx.execute(
        "INSERT INTO transcript_turns (session_id, seq, round_position, speaker, kind, text, question_id, client_answer_id, source, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![t.session_id, seq, t.round, t.speaker, t.kind, t.text, t.question_id, t.client_answer_id, t.source, created_at],
    )?;
    let id = tx.last_insert_rowid();
    tx.commit()?;
    Ok((
        StoredTurn {
            id,
            seq,
            round: t.round,
            speaker: t.speaker.into(),
            text: t.text.into(),
            created_at,
        },
        true,
    ))
}

fn row(r: &rusqlite::Row) -> rusqlite::Result<StoredTurn> {
    Ok(StoredTurn {
        id: r.get(0)?,
        seq: r.get(1)?,
        round: r.get(2)?,
        speaker: r.get(3)?,
        text: r.get(4)?,
        created_at: r.get(5)?,
    })
}

pub fn turns(conn: &Connection, session_id: &str) -> Result<Vec<StoredTurn>, DbError> {
    let mut stmt = conn.prepare(
        "SELECT id, seq, round_position, speaker, text, created_at FROM transcript_turns WHERE session_id = ?1 ORDER BY seq",
    )?;
    let v = stmt
        .query_map([session_id], row)?
        .collect::<Result<_, _>>()?;
    Ok(v)
}

/// How many turns of `kind` a round has (the hints given, for instance).
pub fn count_turns(
    conn: &Connection,
    session_id: &str,
    round: i64,
    kind: &str,
) -> Result<i64, DbError> {
    Ok(conn.query_row(
        "SELECT COUNT(*) FROM transcript_turns WHERE session_id = ?1 AND round_position = ?2 AND kind = ?3",
        params![session_id, round, kind],
        |r| r.get(0),
    )?)
}

/// Adds a private interviewer note to a turn.
pub fn add_note(conn: &Connection, turn_id: i64, note: &str) -> Result<(), DbError> {
    conn.execute(
        "UPDATE transcript_turns SET notes = CASE WHEN notes = '' THEN ?2 ELSE notes || char(10) || ?2 END WHERE id = ?1",
        params![turn_id, note],
    )?;
    Ok(())
}

pub fn save_engine(
    conn: &Connection,
    session_id: &str,
    json: &str,
    current_round: i64,
) -> Result<(), DbError> {
    conn.execute(
        "UPDATE interview_sessions SET engine_json = ?2, current_round = ?3, updated_at = ?4 WHERE id = ?1",
        params![session_id, json, current_round, now_ms()],
    )?;
    Ok(())
}

pub fn load_engine(conn: &Connection, session_id: &str) -> Result<String, DbError> {
    Ok(conn
        .query_row(
            "SELECT engine_json FROM interview_sessions WHERE id = ?1",
            [session_id],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or_default())
}

pub fn round_started(
    conn: &Connection,
    session_id: &str,
    position: i64,
    question_ids: &[String],
) -> Result<(), DbError> {
    conn.execute(
        "UPDATE round_runs SET state = 'ACTIVE', started_at = COALESCE(started_at, ?3), question_ids_json = ?4
         WHERE session_id = ?1 AND position = ?2",
        params![session_id, position, now_ms(), serde_json::to_string(question_ids).expect("ids serialise")],
    )?;
    Ok(())
}

pub fn round_ended(
    conn: &Connection,
    session_id: &str,
    position: i64,
    reason: &str,
    elapsed_ms: i64,
) -> Result<(), DbError> {
    let state = if reason == "skipped" {
        "SKIPPED"
    } else {
        "DONE"
    };
    conn.execute(
        "UPDATE round_runs SET state = ?3, ended_at = ?4, end_reason = ?5, elapsed_ms = ?6
         WHERE session_id = ?1 AND position = ?2",
        params![session_id, position, state, now_ms(), reason, elapsed_ms],
    )?;
    Ok(())
}

/// Records that the user was asked a question, so later interviews avoid it.
pub fn mark_asked(
    conn: &Connection,
    user_id: i64,
    session_id: &str,
    pool: &str,
    question_id: &str,
) -> Result<(), DbError> {
    conn.execute(
        "INSERT OR IGNORE INTO questions_asked (user_id, session_id, pool, question_id, asked_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![user_id, session_id, pool, question_id, now_ms()],
    )?;
    Ok(())
}

pub fn asked_by_user(conn: &Connection, user_id: i64) -> Result<HashSet<String>, DbError> {
    let mut stmt = conn.prepare("SELECT question_id FROM questions_asked WHERE user_id = ?1")?;
    let v = stmt
        .query_map([user_id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(v)
}

/// Keeps the latest code a candidate typed in a round, per language (restored after a reload).
pub fn save_code(
    conn: &Connection,
    session_id: &str,
    round: i64,
    language: &str,
    source: &str,
    revision: i64,
) -> Result<(), DbError> {
    conn.execute(
        "INSERT INTO code_snapshots (session_id, round_position, language, source, revision, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (session_id, round_position, language) DO UPDATE SET source = ?4, revision = ?5, updated_at = ?6
         WHERE excluded.revision >= code_snapshots.revision",
        params![session_id, round, language, source, revision, now_ms()],
    )?;
    Ok(())
}

/// The latest code of a round per language as (language, source, revision), the most recently changed last.
pub fn saved_code(
    conn: &Connection,
    session_id: &str,
    round: i64,
) -> Result<Vec<(String, String, i64)>, DbError> {
    let mut stmt = conn.prepare(
        "SELECT language, source, revision FROM code_snapshots WHERE session_id = ?1 AND round_position = ?2
         ORDER BY updated_at, language",
    )?;
    let v = stmt
        .query_map(params![session_id, round], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?
        .collect::<Result<_, _>>()?;
    Ok(v)
}

/// A run or submission, as the results page and the scoring will read it.
#[derive(Debug, Clone)]
pub struct Submission<'a> {
    pub user_id: i64,
    pub session_id: &'a str,
    pub round: i64,
    pub problem_id: &'a str,
    pub mode: &'a str,
    pub language: &'a str,
    pub source: &'a str,
    pub verdict: &'a str,
    pub passed: i64,
    pub total: i64,
    pub results_json: &'a str,
    pub time_ms: i64,
    pub memory_kb: i64,
}

pub fn record_submission(conn: &Connection, s: &Submission) -> Result<(), DbError> {
    conn.execute(
        "INSERT INTO code_submissions (user_id, session_id, round_position, problem_id, mode, language, source, verdict,
           passed, total, results_json, time_ms, memory_kb, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        params![
            s.user_id,
            s.session_id,
            s.round,
            s.problem_id,
            s.mode,
            s.language,
            s.source,
            s.verdict,
            s.passed,
            s.total,
            s.results_json,
            s.time_ms,
            s.memory_kb,
            now_ms()
        ],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Connection {
        crate::db::testing::session().0
    }

    #[test]
    fn a_resent_answer_is_stored_once_and_turns_keep_their_order() {
        let mut c = db();
        let turn = |id: Option<&'static str>, text: &'static str| NewTurn {
            session_id: "s",
            round: 0,
            speaker: "candidate",
            kind: "answer",
            text,
            question_id: None,
            client_answer_id: id,
            source: "text",
        };
        let (first, new) = insert_turn(&mut c, &turn(Some("a1"), "hello")).unwrap();
        assert!(new);
        let (again, new) = insert_turn(&mut c, &turn(Some("a1"), "hello")).unwrap();
        assert!(!new);
        assert_eq!(again, first);
        let (second, _) = insert_turn(&mut c, &turn(None, "next")).unwrap();
        assert_eq!(second.seq, first.seq + 1);
        assert_eq!(turns(&c, "s").unwrap().len(), 2);
        add_note(&c, first.id, "one").unwrap();
        add_note(&c, first.id, "two").unwrap();
        let notes: String = c
            .query_row(
                "SELECT notes FROM transcript_turns WHERE id = ?1",
                [first.id],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(notes, "one\ntwo");
    }
}
