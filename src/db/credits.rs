//! The append-only credit ledger. A balance is the sum of a user's entries; nothing else stores it.

use rusqlite::{Connection, params};

use super::DbError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    SignupGrant,
    Grant,
    Interview,
    Refund,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::SignupGrant => "signup_grant",
            Reason::Grant => "grant",
            Reason::Interview => "interview",
            Reason::Refund => "refund",
        }
    }

    pub fn label(s: &str) -> &'static str {
        match s {
            "signup_grant" => "Welcome credits",
            "grant" => "Granted",
            "interview" => "Interview",
            "refund" => "Refund",
            _ => "Other",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub id: i64,
    pub delta: i64,
    pub reason: String,
    pub session_id: Option<String>,
    pub note: String,
    pub created_at: i64,
}

#[allow(clippy::too_many_arguments)]
pub fn insert(
    conn: &Connection,
    user_id: i64,
    delta: i64,
    reason: Reason,
    session_id: Option<&str>,
    actor_id: Option<i64>,
    note: &str,
    now: i64,
) -> Result<i64, DbError> {
    conn.execute(
        "INSERT INTO credit_ledger (user_id, delta, reason, session_id, actor_id, note, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            user_id,
            delta,
            reason.as_str(),
            session_id,
            actor_id,
            note,
            now
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

pub fn balance(conn: &Connection, user_id: i64) -> Result<i64, DbError> {
    Ok(conn.query_row(
        "SELECT COALESCE(SUM(delta), 0) FROM credit_ledger WHERE user_id = ?1",
        [user_id],
        |r| r.get(0),
    )?)
}

/// The newest entries first.
pub fn history(conn: &Connection, user_id: i64, limit: i64) -> Result<Vec<Entry>, DbError> {
    let mut stmt = conn.prepare(
        "SELECT id, delta, reason, session_id, note, created_at FROM credit_ledger WHERE user_id = ?1
         ORDER BY id DESC LIMIT ?2",
    )?;
    let rows = stmt
        .query_map(params![user_id, limit], |r| {
            Ok(Entry {
                id: r.get(0)?,
                delta: r.get(1)?,
                reason: r.get(2)?,
                session_id: r.get(3)?,
                note: r.get(4)?,
                created_at: r.get(5)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Grants `amount` credits to the account with `email`; `None` when there is no such account.
pub fn grant(
    conn: &Connection,
    email: &str,
    amount: i64,
    actor_id: Option<i64>,
    note: &str,
    now: i64,
) -> Result<Option<(i64, i64)>, DbError> {
    let Some((user, _)) = super::users::by_email(conn, email)? else {
        return Ok(None);
    };
    insert(
        conn,
        user.id,
        amount,
        Reason::Grant,
        None,
        actor_id,
        note,
        now,
    )?;
    Ok(Some((user.id, balance(conn, user.id)?)))
}
