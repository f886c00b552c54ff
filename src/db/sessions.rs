//! Interview sessions: creation paid for in the same transaction, the owner's list and lookups, lifecycle
//! transitions (through `engine::lifecycle`, the one place that decides them) and deletion of everything recorded.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{
    DbError,
    credits::{self, Reason},
};
use crate::{
    accounts::tokens,
    catalog::{Company, Role, Round},
    engine::lifecycle::{Illegal, SessionState, Transition},
};

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

#[derive(Debug, Clone, PartialEq)]
pub enum Created {
    Ok(Box<Session>),
    NotEnoughCredits { balance: i64, price: i64 },
}

/// Creates a PENDING interview of `rounds` (the role's whole loop or the part the candidate chose) and charges the
/// role's price, or refuses when the balance is short. The transaction takes SQLite's write lock first
/// (IMMEDIATE), so concurrent creations cannot overdraw.
pub fn create(
    conn: &mut Connection,
    user_id: i64,
    company: &Company,
    role: &Role,
    rounds: &[Round],
    now: i64,
) -> Result<Created, DbError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let price = i64::from(role.price);
    let balance = credits::balance(&tx, user_id)?;
    if balance < price {
        return Ok(Created::NotEnoughCredits { balance, price });
    }
    let id = tokens::random_id();
    let plan = serde_json::to_string(rounds).expect("rounds serialise");
    tx.execute(
        "INSERT INTO interview_sessions (id, user_id, company_id, role_id, state, price, plan_json, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, 'PENDING', ?5, ?6, ?7, ?7)",
        params![id, user_id, company.id, role.id, price, plan, now],
    )?;
    for (i, r) in rounds.iter().enumerate() {
        tx.execute(
            "INSERT INTO round_runs (session_id, position, kind, title, minutes) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![id, i as i64, r.kind.as_str(), r.title, r.minutes],
        )?;
    }
    if price > 0 {
        credits::insert(
            &tx,
            user_id,
            -price,
            Reason::Interview,
            Some(&id),
            Some(user_id),
            "",
            now,
        )?;
    }
    tx.commit()?;
    Ok(Created::Ok(Box::new(
        get(conn, user_id, &id)?.expect("just created"),
    )))
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

#[derive(Debug, Clone, PartialEq)]
pub enum Transitioned {
    Ok(Box<Session>),
    NotFound,
    Illegal(Illegal),
}

/// Applies a lifecycle transition, refunding in the same transaction when the rules say so.
pub fn transition(
    conn: &mut Connection,
    user_id: i64,
    id: &str,
    action: Transition,
    now: i64,
) -> Result<Transitioned, DbError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let Some(session) = get(&tx, user_id, id)? else {
        return Ok(Transitioned::NotFound);
    };
    let outcome = match session.state.apply(action) {
        Ok(o) => o,
        Err(e) => return Ok(Transitioned::Illegal(e)),
    };
    let (started, ended) = match action {
        Transition::Start => (Some(now), None),
        Transition::Complete | Transition::Abandon => (None, Some(now)),
    };
    tx.execute(
        "UPDATE interview_sessions SET state = ?3, updated_at = ?4,
           started_at = COALESCE(?5, started_at), ended_at = COALESCE(?6, ended_at)
         WHERE id = ?1 AND user_id = ?2",
        params![id, user_id, outcome.to.as_str(), now, started, ended],
    )?;
    if outcome.refund && session.price > 0 {
        credits::insert(
            &tx,
            user_id,
            session.price,
            Reason::Refund,
            Some(id),
            Some(user_id),
            "abandoned before it started",
            now,
        )?;
    }
    tx.commit()?;
    Ok(Transitioned::Ok(Box::new(
        get(conn, user_id, id)?.expect("still there"),
    )))
}

/// Deletes the session and everything recorded in it; the ledger keeps its entries without the link.
pub fn delete(conn: &Connection, user_id: i64, id: &str) -> Result<bool, DbError> {
    Ok(conn.execute(
        "DELETE FROM interview_sessions WHERE id = ?1 AND user_id = ?2",
        params![id, user_id],
    )? == 1)
}
