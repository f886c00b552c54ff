//! Random tokens (login sessions, CSRF, ids) and the realtime token: a short-lived, HMAC-signed ticket bound to a
//! user and an interview, which the WebSocket accepts and nothing else does.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// How long a realtime token is valid: enough to open (or reopen) a WebSocket, not to be worth stealing.
pub const REALTIME_TOKEN_TTL_MS: i64 = 5 * 60 * 1000;

pub fn fill_random(buf: &mut [u8]) {
    getrandom::fill(buf).expect("the operating system provides randomness");
}

/// 256 random bits, URL-safe.
pub fn random_token() -> String {
    let mut b = [0u8; 32];
    fill_random(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

/// 128 random bits, URL-safe: unguessable ids for interview sessions.
pub fn random_id() -> String {
    let mut b = [0u8; 16];
    fill_random(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

/// What the database stores instead of a bearer token.
pub fn sha256_hex(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Compares two strings in time that does not depend on where they differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The server's signing key for realtime tokens. Its `Debug` never shows the key.
#[derive(Clone)]
pub struct SigningKey([u8; 32]);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(redacted)")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is malformed or its signature is wrong")]
    Invalid,
    #[error("the token has expired")]
    Expired,
    #[error("the token is for another interview")]
    WrongSession,
}

impl SigningKey {
    pub fn from_bytes(bytes: [u8; 32]) -> SigningKey {
        SigningKey(bytes)
    }

    pub fn generate() -> SigningKey {
        let mut b = [0u8; 32];
        fill_random(&mut b);
        SigningKey(b)
    }

    pub fn to_bytes(&self) -> [u8; 32] {
        self.0
    }

    fn mac(&self, payload: &str) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(payload.as_bytes());
        mac
    }

    /// An anonymous visitor's CSRF token: random, with this server's signature, so a cookie planted from elsewhere
    /// (a sibling host on the network) is not accepted as one.
    pub fn anonymous_csrf(&self) -> String {
        let nonce = random_id();
        let sig =
            URL_SAFE_NO_PAD.encode(self.mac(&format!("csrf.{nonce}")).finalize().into_bytes());
        format!("{nonce}.{sig}")
    }

    pub fn verify_anonymous_csrf(&self, token: &str) -> bool {
        let Some((nonce, sig)) = token.split_once('.') else {
            return false;
        };
        let Ok(sig) = URL_SAFE_NO_PAD.decode(sig) else {
            return false;
        };
        self.mac(&format!("csrf.{nonce}"))
            .verify_slice(&sig)
            .is_ok()
    }

    /// A token for `user_id` to join `session_id` until `now_ms + REALTIME_TOKEN_TTL_MS`, made under the login
    /// `login_id` (the hash that identifies a login): it admits nobody once that login has ended.
    pub fn realtime_token(
        &self,
        user_id: i64,
        session_id: &str,
        login_id: &str,
        now_ms: i64,
    ) -> (String, i64) {
        let expires = now_ms + REALTIME_TOKEN_TTL_MS;
        let payload = format!(
            "v2.{user_id}.{session_id}.{expires}.{}",
            login_ref(login_id)
        );
        let sig = URL_SAFE_NO_PAD.encode(self.mac(&payload).finalize().into_bytes());
        (
            format!("{}.{sig}", URL_SAFE_NO_PAD.encode(payload)),
            expires,
        )
    }

    /// Whom a token admits to `session_id` at `now_ms`; the caller checks that the login is still live.
    pub fn verify_realtime(
        &self,
        token: &str,
        session_id: &str,
        now_ms: i64,
    ) -> Result<Admitted, TokenError> {
        let (payload_b64, sig_b64) = token.split_once('.').ok_or(TokenError::Invalid)?;
        let payload = URL_SAFE_NO_PAD
            .decode(payload_b64)
            .map_err(|_| TokenError::Invalid)?;
        let sig = URL_SAFE_NO_PAD
            .decode(sig_b64)
            .map_err(|_| TokenError::Invalid)?;
        let payload = String::from_utf8(payload).map_err(|_| TokenError::Invalid)?;
        self.mac(&payload)
            .verify_slice(&sig)
            .map_err(|_| TokenError::Invalid)?;
        // Session ids are base64url and login references hex, with no dots: the payload splits unambiguously.
        let parts: Vec<&str> = payload.split('.').collect();
        let [version, user, session, expires, login] = parts.as_slice() else {
            return Err(TokenError::Invalid);
        };
        if *version != "v2" {
            return Err(TokenError::Invalid);
        }
        let user: i64 = user.parse().map_err(|_| TokenError::Invalid)?;
        let expires: i64 = expires.parse().map_err(|_| TokenError::Invalid)?;
        if *session != session_id {
            return Err(TokenError::WrongSession);
        }
        if now_ms >= expires {
            return Err(TokenError::Expired);
        }
        Ok(Admitted {
            user_id: user,
            login_ref: login.to_string(),
        })
    }
}

/// Whom a realtime token admits: the user, and a reference to the login it was made under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admitted {
    pub user_id: i64,
    pub login_ref: String,
}

impl Admitted {
    /// Whether the token was made under one of these logins (their ids).
    pub fn made_under_one_of(&self, login_ids: &[String]) -> bool {
        login_ids
            .iter()
            .any(|id| constant_time_eq(&login_ref(id), &self.login_ref))
    }
}

/// What a realtime token says of its login: not the login's id, which is a database key, but a hash of it.
fn login_ref(login_id: &str) -> String {
    sha256_hex(&format!("realtime.{login_id}"))[..32].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_realtime_token_admits_its_user_to_its_session_until_it_expires() {
        let key = SigningKey::generate();
        let (token, expires) = key.realtime_token(7, "abc", "login-1", 1_000);
        assert_eq!(expires, 1_000 + REALTIME_TOKEN_TTL_MS);
        let admitted = key.verify_realtime(&token, "abc", 1_000).unwrap();
        assert_eq!(admitted.user_id, 7);
        assert_eq!(
            key.verify_realtime(&token, "abc", expires - 1),
            Ok(admitted.clone())
        );
        assert_eq!(
            key.verify_realtime(&token, "abc", expires),
            Err(TokenError::Expired)
        );
        assert_eq!(
            key.verify_realtime(&token, "other", 1_000),
            Err(TokenError::WrongSession)
        );
        // Bound to its login: once that login is gone, no other login of the user makes it valid.
        assert!(admitted.made_under_one_of(&["login-0".into(), "login-1".into()]));
        assert!(!admitted.made_under_one_of(&["login-2".into()]));
        assert!(!admitted.made_under_one_of(&[]));
        assert!(
            !admitted.login_ref.contains("login-1"),
            "the login's id is not in the token"
        );
    }

    #[test]
    fn a_tampered_or_foreign_token_is_refused() {
        let key = SigningKey::generate();
        let (token, _) = key.realtime_token(7, "abc", "login-1", 1_000);
        let (payload, sig) = token.split_once('.').unwrap();
        let forged_payload = URL_SAFE_NO_PAD.encode("v2.8.abc.99999999999999.00");
        assert_eq!(
            key.verify_realtime(&format!("{forged_payload}.{sig}"), "abc", 1_000),
            Err(TokenError::Invalid)
        );
        let mut bad_sig = sig.to_string();
        bad_sig.replace_range(0..1, if sig.starts_with('A') { "B" } else { "A" });
        assert_eq!(
            key.verify_realtime(&format!("{payload}.{bad_sig}"), "abc", 1_000),
            Err(TokenError::Invalid)
        );
        assert_eq!(
            SigningKey::generate().verify_realtime(&token, "abc", 1_000),
            Err(TokenError::Invalid)
        );
        for junk in ["", ".", "x.y", "%%%.%%%"] {
            assert_eq!(
                key.verify_realtime(junk, "abc", 1_000),
                Err(TokenError::Invalid),
                "{junk}"
            );
        }
    }

    #[test]
    fn anonymous_csrf_tokens_carry_this_servers_signature() {
        let key = SigningKey::generate();
        let t = key.anonymous_csrf();
        assert!(key.verify_anonymous_csrf(&t));
        assert!(
            !SigningKey::generate().verify_anonymous_csrf(&t),
            "another server's token"
        );
        assert!(
            !key.verify_anonymous_csrf(&random_token()),
            "a planted random value"
        );
        assert!(!key.verify_anonymous_csrf(&format!("{}x", t)));
    }

    #[test]
    fn the_key_is_never_printed() {
        assert_eq!(
            format!("{:?}", SigningKey::generate()),
            "SigningKey(redacted)"
        );
    }

    #[test]
    fn tokens_are_random_and_comparisons_exact() {
        assert_ne!(random_token(), random_token());
        assert_eq!(random_id().len(), 22);
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "ab"));
    }
}
