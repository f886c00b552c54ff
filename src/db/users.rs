//! Users, their login sessions and login attempts. The first account on an empty installation becomes an admin.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{DbError, credits};
use crate::accounts::{UserRole, throttle};

/// How long a login lasts.
pub const LOGIN_TTL_MS: i64 = 30 * 24 * 60 * 60 * 1000;

#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: UserRole,
    pub created_at: i64,
}

impl User {
    /// The name to greet with: the given name, else the part of the email before the @.
    pub fn display_name(&self) -> &str {
        if self.name.is_empty() {
            self.email.split('@').next().unwrap_or(&self.email)
        } else {
            &self.name
        }
    }
}

fn user_from_row(r: &rusqlite::Row) -> rusqlite::Result<User> {
    let role: String = r.get(3)?;
    Ok(User {
        id: r.get(0)?,
        email: r.get(1)?,
        name: r.get(2)?,
        role: UserRole::parse(&role).unwrap_or(UserRole::Candidate),
        created_at: r.get(4)?,
    })
}

const USER_COLUMNS: &str = "u.id, u.email, u.name, u.role, u.created_at";

#[derive(Debug, Clone, PartialEq)]
pub enum Created {
    Ok(User),
    EmailTaken,
}

/// An account to create.
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub password_hash: &'a str,
    /// `None` means a candidate, unless this is the first account, which is always an admin.
    pub role: Option<UserRole>,
    pub signup_credits: i64,
    /// Where a self sign-up came from (none for accounts an admin makes).
    pub signup_ip: Option<&'a str>,
}

/// Creates an account with its sign-up grant in one transaction.
pub fn create(conn: &mut Connection, new: &NewUser, now: i64) -> Result<Created, DbError> {
    let NewUser {
        email,
        name,
        password_hash,
        role,
        signup_credits,
        signup_ip,
    } = *new;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let exists: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM users WHERE email = ?1)",
        [email],
        |r| r.get(0),
    )?;
    if exists {
        return Ok(Created::EmailTaken);
    }
    let first: bool = tx.query_row("SELECT NOT EXISTS (SELECT 1 FROM users)", [], |r| r.get(0))?;
    let role = if first {
        UserRole::Admin
    } else {
        role.unwrap_or(UserRole::Candidate)
    };
    tx.execute(
        "INSERT INTO users (email, name, password_hash, role, created_at, updated_at, signup_ip)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6)",
        params![email, name, password_hash, role.as_str(), now, signup_ip],
    )?;
    let id = tx.last_insert_rowid();
    if signup_credits > 0 {
        credits::insert(
            &tx,
            id,
            signup_credits,
            credits::Reason::SignupGrant,
            None,
            None,
            "",
            now,
        )?;
    }
    tx.commit()?;
    Ok(Created::Ok(User {
        id,
        email: email.into(),
        name: name.into(),
        role,
        created_at: now,
    }))
}

/// The user and their password hash.
pub fn by_email(conn: &Connection, email: &str) -> Result<Option<(User, String)>, DbError> {
    Ok(conn
        .query_row(
            &format!("SELECT {USER_COLUMNS}, u.password_hash FROM users u WHERE u.email = ?1 AND u.disabled_at IS NULL"),
            [email],
            |r| Ok((user_from_row(r)?, r.get(5)?)),
        )
        .optional()?)
}

pub fn by_id(conn: &Connection, id: i64) -> Result<Option<(User, String)>, DbError> {
    Ok(conn
        .query_row(
            &format!("SELECT {USER_COLUMNS}, u.password_hash FROM users u WHERE u.id = ?1 AND u.disabled_at IS NULL"),
            [id],
            |r| Ok((user_from_row(r)?, r.get(5)?)),
        )
        .optional()?)
}

/// Changes the password and ends every other login of the user.
pub fn set_password(
    conn: &mut Connection,
    user_id: i64,
    hash: &str,
    keep_login: Option<&str>,
    now: i64,
) -> Result<(), DbError> {
    let tx = conn.transaction()?;
    tx.execute(
        "UPDATE users SET password_hash = ?2, updated_at = ?3 WHERE id = ?1",
        params![user_id, hash, now],
    )?;
    tx.execute(
        "DELETE FROM login_sessions WHERE user_id = ?1 AND id IS NOT ?2",
        params![user_id, keep_login],
    )?;
    tx.commit()?;
    Ok(())
}

pub fn set_name(conn: &Connection, user_id: i64, name: &str, now: i64) -> Result<(), DbError> {
    conn.execute(
        "UPDATE users SET name = ?2, updated_at = ?3 WHERE id = ?1",
        params![user_id, name, now],
    )?;
    Ok(())
}

pub fn set_role(
    conn: &Connection,
    user_id: i64,
    role: UserRole,
    now: i64,
) -> Result<bool, DbError> {
    Ok(conn.execute(
        "UPDATE users SET role = ?2, updated_at = ?3 WHERE id = ?1",
        params![user_id, role.as_str(), now],
    )? == 1)
}

/// One row of the admin's user list.
#[derive(Debug, Clone, PartialEq)]
pub struct UserSummary {
    pub user: User,
    pub balance: i64,
    pub sessions: i64,
}

pub fn list(
    conn: &Connection,
    limit: i64,
    offset: i64,
) -> Result<(Vec<UserSummary>, i64), DbError> {
    let total: i64 = conn.query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0))?;
    let mut stmt = conn.prepare(&format!(
        "SELECT {USER_COLUMNS},
           (SELECT COALESCE(SUM(delta), 0) FROM credit_ledger c WHERE c.user_id = u.id),
           (SELECT COUNT(*) FROM interview_sessions s WHERE s.user_id = u.id)
         FROM users u ORDER BY u.id DESC LIMIT ?1 OFFSET ?2"
    ))?;
    let rows = stmt
        .query_map(params![limit, offset], |r| {
            Ok(UserSummary {
                user: user_from_row(r)?,
                balance: r.get(5)?,
                sessions: r.get(6)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok((rows, total))
}

// Login sessions ----------------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
pub struct Login {
    /// SHA-256 of the cookie's token.
    pub id: String,
    pub csrf: String,
}

pub fn create_login(
    conn: &Connection,
    user_id: i64,
    token_hash: &str,
    csrf: &str,
    ip: &str,
    user_agent: &str,
    now: i64,
) -> Result<(), DbError> {
    let ua: String = user_agent.chars().take(300).collect();
    conn.execute(
        "INSERT INTO login_sessions (id, user_id, csrf_token, created_at, last_seen_at, expires_at, ip, user_agent)
         VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6, ?7)",
        params![token_hash, user_id, csrf, now, now + LOGIN_TTL_MS, ip, ua],
    )?;
    Ok(())
}

/// The signed-in user behind a cookie token's hash, if the login is live.
pub fn login(
    conn: &Connection,
    token_hash: &str,
    now: i64,
) -> Result<Option<(User, Login)>, DbError> {
    Ok(conn
        .query_row(
            &format!(
                "SELECT {USER_COLUMNS}, l.id, l.csrf_token FROM login_sessions l JOIN users u ON u.id = l.user_id
                 WHERE l.id = ?1 AND l.expires_at > ?2 AND u.disabled_at IS NULL"
            ),
            params![token_hash, now],
            |r| Ok((user_from_row(r)?, Login { id: r.get(5)?, csrf: r.get(6)? })),
        )
        .optional()?)
}

/// The ids of a user's live logins (none when the account is disabled).
pub fn live_logins(conn: &Connection, user_id: i64, now: i64) -> Result<Vec<String>, DbError> {
    let mut stmt = conn.prepare(
        "SELECT l.id FROM login_sessions l JOIN users u ON u.id = l.user_id
         WHERE l.user_id = ?1 AND l.expires_at > ?2 AND u.disabled_at IS NULL",
    )?;
    let ids = stmt
        .query_map(params![user_id, now], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(ids)
}

pub fn delete_login(conn: &Connection, token_hash: &str) -> Result<(), DbError> {
    conn.execute("DELETE FROM login_sessions WHERE id = ?1", [token_hash])?;
    Ok(())
}

// Login attempts ----------------------------------------------------------------------------------------------------

/// When the accounts signed up from `ip` since `since` were made.
pub fn signups_from(conn: &Connection, ip: &str, since: i64) -> Result<Vec<i64>, DbError> {
    let mut stmt =
        conn.prepare("SELECT created_at FROM users WHERE signup_ip = ?1 AND created_at > ?2")?;
    let v = stmt
        .query_map(params![ip, since], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(v)
}

/// Records a login attempt as failed before its password is checked, so that parallel guesses each count against
/// the throttle at once; [`attempt_succeeded`] corrects it. Forgets attempts made before `forget_before`.
pub fn begin_attempt(
    conn: &Connection,
    email: &str,
    ip: &str,
    now: i64,
    forget_before: i64,
) -> Result<i64, DbError> {
    conn.execute(
        "INSERT INTO login_attempts (email, ip, succeeded, at) VALUES (?1, ?2, 0, ?3)",
        params![email, ip, now],
    )?;
    let id = conn.last_insert_rowid();
    conn.execute("DELETE FROM login_attempts WHERE at < ?1", [forget_before])?;
    Ok(id)
}

/// Marks an attempt begun by [`begin_attempt`] as a success.
pub fn attempt_succeeded(conn: &Connection, attempt: i64) -> Result<(), DbError> {
    conn.execute(
        "UPDATE login_attempts SET succeeded = 1 WHERE rowid = ?1",
        [attempt],
    )?;
    Ok(())
}

/// The failed login attempts since `since`, for the account and for the address.
pub fn failures_since(
    conn: &Connection,
    email: &str,
    ip: &str,
    since: i64,
) -> Result<throttle::Recent, DbError> {
    let times = |sql: &str, key: &str| -> Result<Vec<i64>, DbError> {
        let mut stmt = conn.prepare(sql)?;
        let v = stmt
            .query_map(params![key, since], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(v)
    };
    Ok(throttle::Recent {
        account_failures: times(
            "SELECT at FROM login_attempts WHERE email = ?1 AND succeeded = 0 AND at > ?2",
            email,
        )?,
        address_failures: times(
            "SELECT at FROM login_attempts WHERE ip = ?1 AND succeeded = 0 AND at > ?2",
            ip,
        )?,
    })
}
