//! Append-only schema migrations, tracked by SQLite's `user_version` and applied in one transaction. Never edit a
//! migration that has shipped: add the next one.

use rusqlite::Connection;

use super::DbError;

const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_init.sql"),
    include_str!("migrations/0002_engine_state.sql"),
    include_str!("migrations/0003_reply_ahead.sql"),
    include_str!("migrations/0004_signup_address.sql"),
    include_str!("migrations/0005_round_question.sql"),
];

/// The schema version this build writes.
pub const LATEST: u32 = MIGRATIONS.len() as u32;

/// Brings the database to [`LATEST`]; returns how many migrations ran.
pub fn migrate(conn: &mut Connection) -> Result<u32, DbError> {
    let tx = conn.transaction()?;
    let found: u32 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > LATEST {
        return Err(DbError::TooNew {
            found,
            known: LATEST,
        });
    }
    for sql in &MIGRATIONS[found as usize..] {
        tx.execute_batch(sql)?;
    }
    tx.pragma_update(None, "user_version", LATEST)?;
    tx.commit()?;
    Ok(LATEST - found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrating_twice_runs_each_migration_once() {
        let mut conn = Connection::open_in_memory().unwrap();
        assert_eq!(migrate(&mut conn).unwrap(), LATEST);
        assert_eq!(migrate(&mut conn).unwrap(), 0);
        let version: u32 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, LATEST);
    }

    #[test]
    fn a_database_from_a_newer_build_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", LATEST + 1)
            .unwrap();
        assert!(matches!(migrate(&mut conn), Err(DbError::TooNew { .. })));
    }

    #[test]
    fn the_schema_has_every_table_the_product_needs() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        let mut stmt = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
            .unwrap();
        let tables: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        for t in [
            "users",
            "login_sessions",
            "login_attempts",
            "credit_ledger",
            "competencies",
            "companies",
            "roles",
            "rounds",
            "behavioral_questions",
            "question_competencies",
            "design_prompts",
            "problems",
            "problem_tests",
            "interview_sessions",
            "round_runs",
            "transcript_turns",
            "questions_asked",
            "code_snapshots",
            "code_submissions",
            "score_reports",
            "round_scores",
            "turn_latency",
        ] {
            assert!(tables.iter().any(|x| x == t), "missing table {t}");
        }
    }

    #[test]
    fn the_credit_ledger_is_append_only() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "foreign_keys", "ON").unwrap();
        migrate(&mut conn).unwrap();
        conn.execute_batch(
            "INSERT INTO users (id, email, password_hash, role, created_at, updated_at)
               VALUES (1, 'a@example.com', 'x', 'candidate', 0, 0);
             INSERT INTO credit_ledger (user_id, delta, reason, created_at) VALUES (1, 10, 'signup_grant', 0);",
        )
        .unwrap();
        let err = conn
            .execute("UPDATE credit_ledger SET delta = 1000", [])
            .unwrap_err();
        assert!(err.to_string().contains("append-only"), "{err}");
        let err = conn.execute("DELETE FROM credit_ledger", []).unwrap_err();
        assert!(err.to_string().contains("append-only"), "{err}");
    }
}
