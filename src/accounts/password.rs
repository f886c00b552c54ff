//! Password hashing with Argon2id (the argon2 crate's defaults: 19 MiB, 2 passes, 1 lane, as OWASP recommends), as
//! standard PHC strings (`$argon2id$v=19$m=19456,t=2,p=1$...`). Both functions are CPU-heavy on purpose: call them
//! off the async workers.
//!
//! Each thread reuses one block buffer instead of allocating 19 MiB per hash: with fresh allocations glibc kept
//! the freed buffers in per-thread arenas, and 30 sign-ups grew the server by ~370 MB (`rehearse bench load`).

use std::cell::RefCell;

use argon2::{
    Algorithm, Argon2, Block, Params, Version,
    password_hash::{Output, ParamsString, PasswordHash, SaltString},
};

thread_local! {
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Runs Argon2 into `out` with this thread's reusable memory.
fn compute(
    argon: &Argon2,
    params: &Params,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> argon2::Result<()> {
    MEMORY.with(|m| {
        let mut blocks = m.borrow_mut();
        blocks.resize(params.block_count(), Block::default());
        argon.hash_password_into_with_memory(password, salt, out, &mut blocks[..])
    })
}

pub fn hash(password: &str) -> String {
    let mut salt = [0u8; 16];
    super::tokens::fill_random(&mut salt);
    let params = Params::default();
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    compute(&argon, &params, password.as_bytes(), &salt, &mut out)
        .expect("argon2 hashes any input");
    let salt = SaltString::encode_b64(&salt).expect("16 bytes is a valid salt");
    PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).expect("default parameters encode"),
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).expect("a 32-byte output")),
    }
    .to_string()
}

/// Whether `password` matches `stored`; a malformed stored hash never matches. The comparison is constant-time.
pub fn verify(password: &str, stored: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    let (Ok(algorithm), Ok(params), Some(expected), Some(salt)) = (
        Algorithm::try_from(parsed.algorithm),
        Params::try_from(&parsed),
        parsed.hash,
        parsed.salt,
    ) else {
        return false;
    };
    let version = parsed.version.map_or(Ok(Version::V0x13), Version::try_from);
    let Ok(version) = version else { return false };
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let argon = Argon2::new(algorithm, version, params.clone());
    let mut out = vec![0u8; expected.len()];
    if compute(&argon, &params, password.as_bytes(), salt, &mut out).is_err() {
        return false;
    }
    Output::new(&out).is_ok_and(|o| o == expected)
}

/// A hash of a random password, verified against when an email is unknown so that a login's timing does not
/// reveal whether the account exists.
pub fn decoy() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash(&super::tokens::random_token()))
}

#[cfg(test)]
mod tests {
    use argon2::{PasswordHasher, PasswordVerifier};

    use super::*;

    #[test]
    fn a_hash_verifies_only_its_password() {
        let h = hash("correct horse battery");
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify("correct horse battery", &h));
        assert!(!verify("correct horse battery!", &h));
        assert!(!verify("anything", "not a hash"));
        assert_ne!(hash("same"), hash("same"), "salts differ");
    }

    #[test]
    fn hashes_are_standard_phc_strings_both_ways() {
        // Ours verify with the crate's own verifier...
        let ours = hash("hunter2hunter2");
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"hunter2hunter2", &parsed)
                .is_ok()
        );
        // ...and the crate's hashes (as older installations stored them) verify with ours.
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        let theirs = Argon2::default()
            .hash_password(b"hunter2hunter2", &salt)
            .unwrap()
            .to_string();
        assert!(verify("hunter2hunter2", &theirs));
        assert!(!verify("hunter3hunter3", &theirs));
    }
}
