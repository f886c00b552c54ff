//! The SQLite database: one file in the data directory, opened with WAL, foreign keys and a busy timeout, migrated
//! at open. Every query runs on a blocking thread through [`Db::call`], never on an async worker. One connection
//! serves the process: SQLite serialises writers anyway, and a single connection makes every transaction
//! trivially free of `SQLITE_BUSY` inside the server (the busy timeout covers other processes such as the CLI).
//! Queries are grouped in one file per aggregate; this module knows nothing about HTTP.

pub mod catalog;
pub mod credits;
pub mod live;
pub mod meta;
pub mod migrations;
pub mod sessions;
pub mod users;

use std::{
    path::Path,
    sync::{Arc, Mutex},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use rusqlite::Connection;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error(
        "the database was written by a newer Rehearse (schema version {found}, this build knows {known})"
    )]
    TooNew { found: u32, known: u32 },
    #[error("a database task failed: {0}")]
    Task(String),
    #[error("stored data is not valid: {0}")]
    Corrupt(String),
}

#[derive(Clone)]
pub struct Db {
    conn: Arc<Mutex<Connection>>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Db")
    }
}

impl Db {
    /// Opens (creating if needed) and migrates the database at `path`.
    pub fn open(path: &Path) -> Result<Db, DbError> {
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        migrations::migrate(&mut conn)?;
        Ok(Db {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Runs `f` with the connection on a blocking thread.
    pub async fn call<T, F>(&self, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, DbError> + Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            // A panic inside an earlier call poisons the lock but leaves the connection usable: SQLite rolls back
            // any transaction the panicking call left open when its `Transaction` is dropped.
            let mut guard = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            f(&mut guard)
        })
        .await
        .map_err(|e| DbError::Task(e.to_string()))?
    }
}

/// Milliseconds since the Unix epoch: the one time format stored in the database.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
