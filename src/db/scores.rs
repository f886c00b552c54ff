//! Score reports: what the scoring reads of a finished interview, and the reports it writes (several per
//! interview when it is re-scored by other judges; the newest is the one shown).

use rusqlite::{Connection, OptionalExtension, params};

use super::{DbError, now_ms};
use crate::scoring::report::{Report, ReportStatus, RoundStatus};

/// A round of the interview as it ran.
#[derive(Debug, Clone)]
pub struct RoundRow {
    pub position: i64,
    pub kind: String,
    pub title: String,
    pub minutes: i64,
    pub state: String,
    /// `completed`, `time_up`, `skipped` or `ended_by_candidate` once the round is over.
    pub end_reason: String,
    pub elapsed_ms: i64,
    pub question_ids: Vec<String>,
}

/// A transcript turn with what scoring needs.
#[derive(Debug, Clone)]
pub struct TurnRow {
    pub round: i64,
    pub speaker: String,
    pub kind: String,
    pub text: String,
    pub question_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct CodeRow {
    pub round: i64,
    pub mode: String,
    pub language: String,
    pub verdict: String,
    pub passed: i64,
    pub total: i64,
}

/// Everything recorded in an interview that scoring reads.
#[derive(Debug, Clone, Default)]
pub struct Recorded {
    pub rounds: Vec<RoundRow>,
    pub turns: Vec<TurnRow>,
    pub code: Vec<CodeRow>,
}

pub fn recorded(conn: &Connection, session_id: &str) -> Result<Recorded, DbError> {
    let mut stmt = conn.prepare(
        "SELECT position, kind, title, minutes, state, elapsed_ms, question_ids_json, end_reason FROM round_runs
         WHERE session_id = ?1 ORDER BY position",
    )?;
    let rounds = stmt
        .query_map([session_id], |r| {
            let ids: String = r.get(6)?;
            Ok(RoundRow {
                position: r.get(0)?,
                kind: r.get(1)?,
                title: r.get(2)?,
                minutes: r.get(3)?,
                state: r.get(4)?,
                elapsed_ms: r.get(5)?,
                question_ids: serde_json::from_str(&ids).unwrap_or_default(),
                end_reason: r.get(7)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    let mut stmt = conn.prepare(
        "SELECT round_position, speaker, kind, text, question_id FROM transcript_turns WHERE session_id = ?1 ORDER BY seq",
    )?;
    let turns = stmt
        .query_map([session_id], |r| {
            Ok(TurnRow {
                round: r.get(0)?,
                speaker: r.get(1)?,
                kind: r.get(2)?,
                text: r.get(3)?,
                question_id: r.get(4)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    let mut stmt = conn.prepare(
        "SELECT round_position, mode, language, verdict, passed, total FROM code_submissions
         WHERE session_id = ?1 AND round_position IS NOT NULL ORDER BY id",
    )?;
    let code = stmt
        .query_map([session_id], |r| {
            Ok(CodeRow {
                round: r.get(0)?,
                mode: r.get(1)?,
                language: r.get(2)?,
                verdict: r.get(3)?,
                passed: r.get(4)?,
                total: r.get(5)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(Recorded {
        rounds,
        turns,
        code,
    })
}

/// Stores a report and its round scores; returns the report's id.
pub fn insert(conn: &mut Connection, report: &Report) -> Result<i64, DbError> {
    let tx = conn.transaction()?;
    let status = match report.status {
        ReportStatus::Complete => "complete",
        ReportStatus::Incomplete => "incomplete",
    };
    tx.execute(
        "INSERT INTO score_reports (session_id, judge, status, recommendation, overall_score, rationale, report_json, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, '{}', ?7)",
        params![
            report.session_id,
            report.judge,
            status,
            report.recommendation.map(|r| r.as_str()),
            report.overall,
            report.rationale,
            now_ms()
        ],
    )?;
    let id = tx.last_insert_rowid();
    let stored = Report {
        id,
        ..report.clone()
    };
    tx.execute(
        "UPDATE score_reports SET report_json = ?2 WHERE id = ?1",
        params![
            id,
            serde_json::to_string(&stored).expect("reports serialise")
        ],
    )?;
    for r in &report.rounds {
        let status = match r.status {
            RoundStatus::Scored => "scored",
            RoundStatus::Incomplete | RoundStatus::NotHeld => "incomplete",
        };
        if r.status == RoundStatus::NotHeld {
            continue;
        }
        tx.execute(
            "INSERT INTO round_scores (report_id, round_position, status, score, dimensions_json, summary)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                id,
                r.position,
                status,
                r.score,
                serde_json::to_string(&r.dimensions).expect("dimensions serialise"),
                r.summary
            ],
        )?;
    }
    tx.commit()?;
    Ok(id)
}

fn parse(json: String) -> Result<Report, DbError> {
    serde_json::from_str(&json).map_err(|e| DbError::Corrupt(format!("a stored report: {e}")))
}

/// The newest report of an interview, or the one with `report_id`.
pub fn get(
    conn: &Connection,
    session_id: &str,
    report_id: Option<i64>,
) -> Result<Option<Report>, DbError> {
    let json: Option<String> = conn
        .query_row(
            "SELECT report_json FROM score_reports WHERE session_id = ?1 AND (?2 IS NULL OR id = ?2)
             ORDER BY created_at DESC, id DESC LIMIT 1",
            params![session_id, report_id],
            |r| r.get(0),
        )
        .optional()?;
    json.map(parse).transpose()
}

/// One line per report of an interview, newest first.
#[derive(Debug, Clone)]
pub struct ReportLine {
    pub id: i64,
    pub judge: String,
    pub status: String,
    pub recommendation: Option<String>,
    pub overall: Option<f64>,
    pub created_at: i64,
}

pub fn list(conn: &Connection, session_id: &str) -> Result<Vec<ReportLine>, DbError> {
    let mut stmt = conn.prepare(
        "SELECT id, judge, status, recommendation, overall_score, created_at FROM score_reports
         WHERE session_id = ?1 ORDER BY created_at DESC, id DESC",
    )?;
    let v = stmt
        .query_map([session_id], |r| {
            Ok(ReportLine {
                id: r.get(0)?,
                judge: r.get(1)?,
                status: r.get(2)?,
                recommendation: r.get(3)?,
                overall: r.get(4)?,
                created_at: r.get(5)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(v)
}

/// A scored round for the progress chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub session_id: String,
    pub company_id: String,
    pub kind: String,
    pub at: i64,
    pub score: f64,
}

/// The user's scored rounds over time, from each interview's newest report, oldest first.
pub fn progress(conn: &Connection, user_id: i64) -> Result<Vec<Point>, DbError> {
    let mut stmt = conn.prepare(
        "SELECT s.id, s.company_id, rr.kind, COALESCE(s.ended_at, s.created_at), rs.score
         FROM interview_sessions s
         JOIN score_reports sr ON sr.id = (SELECT id FROM score_reports WHERE session_id = s.id
                                            ORDER BY created_at DESC, id DESC LIMIT 1)
         JOIN round_scores rs ON rs.report_id = sr.id AND rs.status = 'scored'
         JOIN round_runs rr ON rr.session_id = s.id AND rr.position = rs.round_position
         WHERE s.user_id = ?1 ORDER BY COALESCE(s.ended_at, s.created_at), rs.round_position",
    )?;
    let v = stmt
        .query_map([user_id], |r| {
            Ok(Point {
                session_id: r.get(0)?,
                company_id: r.get(1)?,
                kind: r.get(2)?,
                at: r.get(3)?,
                score: r.get(4)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(v)
}

/// An interview's newest report in brief.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub recommendation: Option<String>,
    pub overall: Option<f64>,
    pub status: String,
}

/// Each of the user's interviews' newest report, by session id.
pub fn summaries(
    conn: &Connection,
    user_id: i64,
) -> Result<std::collections::HashMap<String, Summary>, DbError> {
    let mut stmt = conn.prepare(
        "SELECT sr.session_id, sr.recommendation, sr.overall_score, sr.status FROM score_reports sr
         JOIN interview_sessions s ON s.id = sr.session_id
         WHERE s.user_id = ?1 AND sr.id = (SELECT id FROM score_reports WHERE session_id = sr.session_id
                                           ORDER BY created_at DESC, id DESC LIMIT 1)",
    )?;
    let v = stmt
        .query_map([user_id], |r| {
            Ok((
                r.get(0)?,
                Summary {
                    recommendation: r.get(1)?,
                    overall: r.get(2)?,
                    status: r.get(3)?,
                },
            ))
        })?
        .collect::<Result<_, _>>()?;
    Ok(v)
}
