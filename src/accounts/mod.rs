//! Accounts: who a user is and what they may do, passwords, tokens and login throttling: rules and crypto, no IO.
//! [`service`] (a layer above, see `ARCHITECTURE.md`) applies them to the stored accounts (`db::users`,
//! `db::credits`); HTTP is `web::auth`'s.

pub mod password;
pub mod service;
pub mod throttle;
pub mod tokens;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UserRole {
    Candidate,
    Instructor,
    Admin,
}

impl UserRole {
    pub fn as_str(self) -> &'static str {
        match self {
            UserRole::Candidate => "candidate",
            UserRole::Instructor => "instructor",
            UserRole::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<UserRole> {
        [UserRole::Candidate, UserRole::Instructor, UserRole::Admin]
            .into_iter()
            .find(|r| r.as_str() == s)
    }

    /// Instructors and admins see every user and grant credits.
    pub fn is_staff(self) -> bool {
        matches!(self, UserRole::Instructor | UserRole::Admin)
    }
}

pub const MIN_PASSWORD_CHARS: usize = 8;
pub const MAX_PASSWORD_CHARS: usize = 256;
pub const MAX_EMAIL_CHARS: usize = 254;
pub const MAX_NAME_CHARS: usize = 80;

/// Why a sign-up or profile field was refused; the message is shown to the user as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

/// Trims and lowercases an email address and checks that it looks like one.
pub fn normalize_email(raw: &str) -> Result<String, Invalid> {
    let email = raw.trim().to_lowercase();
    let bad = || Invalid("Enter an email address like name@example.com.".into());
    if email.chars().count() > MAX_EMAIL_CHARS {
        return Err(Invalid(format!(
            "An email address has at most {MAX_EMAIL_CHARS} characters."
        )));
    }
    let (local, domain) = email.split_once('@').ok_or_else(bad)?;
    let ok = !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && !domain.contains('@');
    if ok { Ok(email) } else { Err(bad()) }
}

pub fn check_password(password: &str) -> Result<(), Invalid> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        return Err(Invalid(format!(
            "Use a password of at least {MIN_PASSWORD_CHARS} characters."
        )));
    }
    if n > MAX_PASSWORD_CHARS {
        return Err(Invalid(format!(
            "A password has at most {MAX_PASSWORD_CHARS} characters."
        )));
    }
    Ok(())
}

pub fn normalize_name(raw: &str) -> Result<String, Invalid> {
    let name = raw.trim();
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(Invalid(format!(
            "A name has at most {MAX_NAME_CHARS} characters."
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(Invalid("A name cannot contain control characters.".into()));
    }
    Ok(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_lowercased_and_checked() {
        assert_eq!(
            normalize_email("  Ada@Example.COM ").unwrap(),
            "ada@example.com"
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a da@example.com",
            "a@b@c.com",
            "ada@.com",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad}");
        }
        assert!(normalize_email(&format!("{}@example.com", "a".repeat(300))).is_err());
    }

    #[test]
    fn passwords_have_a_length_range() {
        assert!(check_password("short").is_err());
        assert!(check_password("long enough").is_ok());
        assert!(check_password(&"x".repeat(MAX_PASSWORD_CHARS + 1)).is_err());
    }
}
