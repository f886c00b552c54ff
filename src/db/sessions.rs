//! Interview sessions: storing a new one with its rounds, the owner's list and lookups, a new lifecycle state,
//! and deleting everything recorded. Which transitions are allowed, and what an interview costs, the `sessions`
//! service decides.

use rusqlite::{Connection, OptionalExtension, params};

use super::DbError;
use crate::{catalog::Round, engine::lifecycle::SessionState};

#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub id: String,
    pub user_id: i64,
    pub company_id: String,
    pub company_name: String,
    pub role_id: String,
    pub role_title: String,
    pub state: SessionState,
    pub price: i64,
    pub rounds: Vec<Round>,
    pub current_round: i64,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub ended_at: Option<i64>,
}

/// A PENDING interview to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSession {
    pub id: String,
    pub user_id: i64,
    pub company_id: String,
    pub role_id: String,
    pub price: i64,
    /// The role's whole loop or the part the candidate chose.
    pub rounds: Vec<Round>,
    pub now: i64,
}

/// Stores a new PENDING interview and its rounds (in the caller's transaction).
pub fn insert(conn: &Connection, new: &NewSession) -> Result<(), DbError> {
    let plan = serde_json::to_string(&new.rounds).expect("rounds serialise");
    conn.execute(
        "INSERT INTO interview_sessions (id, user_id, company_id, role_id, state, price, plan_json, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, 'PENDING', ?5, ?6, ?7, ?7)",
        params![new.id, new.user_id, new.company_id, new.role_id, new.price, plan, new.now],
    )?;
    for (i, r) in new.rounds.iter().enumerate() {
        conn.execute(
            "INSERT INTO round_runs (session_id, position, kind, title, minutes) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![new.id, i as i64, r.kind.as_str(), r.title, r.minutes],
        )?;
    }
    Ok(())
}

const COLUMNS: &str = "s.id, s.user_id, s.company_id, COALESCE(c.name, s.company_id), s.role_id, COALESCE(r.title, s.role_id),
    s.state, s.price, s.plan_json, s.current_round, s.created_at, s.started_at, s.ended_at";
const FROM: &str = "FROM interview_sessions s LEFT JOIN companies c ON c.id = s.company_id
    LEFT JOIN roles r ON r.company_id = s.company_id AND r.id = s.role_id";

fn from_row(r: &rusqlite::Row) -> rusqlite::Result<Session> {
    let state: String = r.get(6)?;
    let plan: String = r.get(8)?;
    Ok(Session {
        id: r.get(0)?,
        user_id: r.get(1)?,
        company_id: r.get(2)?,
        company_name: r.get(3)?,
        role_id: r.get(4)?,
        role_title: r.get(5)?,
        state: SessionState::parse(&state).unwrap_or(SessionState::Abandoned),
        price: r.get(7)?,
        rounds: serde_json::from_str(&plan).unwrap_or_default(),
        current_round: r.get(9)?,
        created_at: r.get(10)?,
        started_at: r.get(11)?,
        ended_at: r.get(12)?,
    })
}

/// The session if it belongs to `user_id`; other users' sessions do not exist for them.
pub fn get(conn: &Connection, user_id: i64, id: &str) -> Result<Option<Session>, DbError> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} {FROM} WHERE s.id = ?1 AND s.user_id = ?2"),
            params![id, user_id],
            from_row,
        )
        .optional()?)
}

/// Any user's session (the command line, which acts for the operator).
pub fn by_id(conn: &Connection, id: &str) -> Result<Option<Session>, DbError> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} {FROM} WHERE s.id = ?1"),
            [id],
            from_row,
        )
        .optional()?)
}

/// The user's sessions, newest first, and how many there are in all.
pub fn list(
    conn: &Connection,
    user_id: i64,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Session>, i64), DbError> {
    let total: i64 = conn.query_row(
        "SELECT COUNT(*) FROM interview_sessions WHERE user_id = ?1",
        [user_id],
        |r| r.get(0),
    )?;
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} {FROM} WHERE s.user_id = ?1 ORDER BY s.created_at DESC, s.rowid DESC LIMIT ?2 OFFSET ?3"
    ))?;
    let rows = stmt
        .query_map(params![user_id, limit, offset], from_row)?
        .collect::<Result<_, _>>()?;
    Ok((rows, total))
}

/// The user's newest unfinished interview for a role, if any.
pub fn open_for_role(
    conn: &Connection,
    user_id: i64,
    company_id: &str,
    role_id: &str,
) -> Result<Option<Session>, DbError> {
    Ok(conn
        .query_row(
            &format!(
                "SELECT {COLUMNS} {FROM} WHERE s.user_id = ?1 AND s.company_id = ?2 AND s.role_id = ?3
                   AND s.state IN ('PENDING', 'IN_PROGRESS') ORDER BY s.created_at DESC, s.rowid DESC LIMIT 1"
            ),
            params![user_id, company_id, role_id],
            from_row,
        )
        .optional()?)
}

/// Stores the interview's new lifecycle state, and when it started or ended where given.
pub fn set_state(
    conn: &Connection,
    user_id: i64,
    id: &str,
    to: SessionState,
    now: i64,
    started: Option<i64>,
    ended: Option<i64>,
) -> Result<(), DbError> {
    conn.execute(
        "UPDATE interview_sessions SET state = ?3, updated_at = ?4,
           started_at = COALESCE(?5, started_at), ended_at = COALESCE(?6, ended_at)
         WHERE id = ?1 AND user_id = ?2",
        params![id, user_id, to.as_str(), now, started, ended],
    )?;
    Ok(())
}

/// Deletes the session and everything recorded in it; the ledger keeps its entries without the link.
pub fn delete(conn: &Connection, user_id: i64, id: &str) -> Result<bool, DbError> {
    Ok(conn.execute(
        "DELETE FROM interview_sessions WHERE id = ?1 AND user_id = ?2",
        params![id, user_id],
    )? == 1)
}
