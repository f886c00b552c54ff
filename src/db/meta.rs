//! Installation-wide values kept in the `meta` table: the realtime token signing key.

use rusqlite::{Connection, OptionalExtension};

use super::DbError;
use crate::accounts::tokens::SigningKey;

const SIGNING_KEY: &str = "realtime_signing_key";

/// The installation's signing key, created on first use. Kept in the database so it survives restarts and
/// travels with the data directory.
pub fn signing_key(conn: &Connection) -> Result<SigningKey, DbError> {
    let found: Option<String> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = ?1",
            [SIGNING_KEY],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(hex) = found {
        let bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .filter_map(|i| {
                hex.get(i..i + 2)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
            })
            .collect();
        let arr: [u8; 32] = bytes
            .try_into()
            .map_err(|_| DbError::Corrupt("the signing key is not 32 bytes".into()))?;
        return Ok(SigningKey::from_bytes(arr));
    }
    let key = SigningKey::generate();
    let hex: String = key.to_bytes().iter().map(|b| format!("{b:02x}")).collect();
    conn.execute(
        "INSERT OR IGNORE INTO meta (key, value) VALUES (?1, ?2)",
        [SIGNING_KEY, &hex],
    )?;
    // Another process may have won the race: read back whatever is stored.
    signing_key(conn)
}
