//! The SQLite database: one file in the data directory, opened with WAL, foreign keys and a busy timeout, migrated
//! at open. One connection, owned by one dedicated thread, runs every query: [`Db::call`] sends it a closure and
//! awaits the result, so no query runs on an async worker and no burst of requests can pile up blocking threads
//! (with `spawn_blocking` and a mutex, 100 simulated candidates grew the process to hundreds of threads). SQLite
//! serialises writers anyway, and a single connection makes every transaction trivially free of `SQLITE_BUSY`
//! inside the server (the busy timeout covers other processes such as the CLI). Queries are grouped in one file
//! per aggregate; this module knows nothing about HTTP.

pub mod catalog;
pub mod credits;
pub mod live;
pub mod meta;
pub mod migrations;
pub mod scores;
pub mod sessions;
pub mod spoken;
pub mod users;

use std::{panic::AssertUnwindSafe, path::Path, sync::mpsc, time::Duration};

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

type Job = Box<dyn FnOnce(&mut Connection) + Send>;

#[derive(Clone)]
pub struct Db {
    jobs: mpsc::Sender<Job>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Db")
    }
}

impl Db {
    /// Opens (creating if needed) and migrates the database at `path`, and starts its thread. The thread ends,
    /// closing the connection, when the last handle is dropped.
    pub fn open(path: &Path) -> Result<Db, DbError> {
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        migrations::migrate(&mut conn)?;
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("rehearse-db".into())
            .spawn(move || {
                for job in queue {
                    // A panicking query drops its reply (the caller gets an error) and rolls back its
                    // transaction as it unwinds; the connection stays usable for the next one.
                    let _ = std::panic::catch_unwind(AssertUnwindSafe(|| job(&mut conn)));
                }
            })
            .map_err(|e| DbError::Task(format!("starting the database thread: {e}")))?;
        Ok(Db { jobs })
    }

    /// Runs `f` with the connection on the database thread.
    pub async fn call<T, F>(&self, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, DbError> + Send + 'static,
    {
        let (reply, result) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Box::new(move |conn| {
                let _ = reply.send(f(conn));
            }))
            .map_err(|_| DbError::Task("the database thread has stopped".into()))?;
        result
            .await
            .map_err(|_| DbError::Task("a database query panicked".into()))?
    }
}

pub use crate::clock::now_ms;

/// A database in memory with one user (id 1) and one interview (`s`) to hang test rows on.
#[cfg(test)]
pub(crate) mod testing {
    use rusqlite::Connection;

    pub fn session() -> (Connection, String) {
        let mut c = Connection::open_in_memory().unwrap();
        c.pragma_update(None, "foreign_keys", "ON").unwrap();
        super::migrations::migrate(&mut c).unwrap();
        c.execute_batch(
            "INSERT INTO users (id, email, password_hash, created_at, updated_at) VALUES (1, 'a@x.io', 'h', 0, 0);
             INSERT INTO companies (id, name, tagline, description, brand_color, values_json, persona_json, position)
               VALUES ('c', 'C', '', '', '#000000', '[]', '{}', 0);
             INSERT INTO roles (company_id, id, title, level, summary, difficulty, price, position)
               VALUES ('c', 'r', 'R', 'L', '', 'easy', 1, 0);
             INSERT INTO interview_sessions (id, user_id, company_id, role_id, price, plan_json, created_at, updated_at)
               VALUES ('s', 1, 'c', 'r', 1, '[]', 0, 0);",
        )
        .unwrap();
        (c, "s".into())
    }
}
