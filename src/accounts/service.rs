//! Account operations over the database: sign up, log in, log out, change password. Password hashing runs on
//! [`HASHING_SLOTS`] dedicated threads, so a flood of logins cannot starve the server, and Argon2's 19 MiB buffers
//! are reused by the same two threads instead of spreading over many allocator arenas.

use std::sync::{LazyLock, Mutex, mpsc};

use super::{
    Invalid, UserRole, check_password, normalize_email, normalize_name, password, throttle, tokens,
};
use crate::db::{
    self, Db, DbError,
    users::{self, Created, User},
};

/// Argon2id takes ~20 MiB and tens of milliseconds; two at a time keeps a 2-core machine responsive.
pub const HASHING_SLOTS: usize = 2;

type HashJob = Box<dyn FnOnce() + Send>;

/// The hashing threads, started on first use and fed in order.
static HASHERS: LazyLock<mpsc::Sender<HashJob>> = LazyLock::new(|| {
    let (tx, rx) = mpsc::channel::<HashJob>();
    let rx = std::sync::Arc::new(Mutex::new(rx));
    for i in 0..HASHING_SLOTS {
        let rx = rx.clone();
        std::thread::Builder::new()
            .name(format!("rehearse-hash-{i}"))
            .spawn(move || {
                loop {
                    let job = match rx.lock().unwrap_or_else(|p| p.into_inner()).recv() {
                        Ok(job) => job,
                        Err(_) => return,
                    };
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                }
            })
            .expect("the hashing threads start");
    }
    tx
});

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error("An account with this email already exists. Log in instead.")]
    EmailTaken,
    #[error("That email and password do not match an account.")]
    WrongCredentials,
    #[error("Too many failed logins. Try again in {} minute(s).", (retry_after_ms + 59_999) / 60_000)]
    Throttled { retry_after_ms: i64 },
    #[error("Too many accounts were made from this address. Try again in {} minute(s), or ask an instructor to add you.", (retry_after_ms + 59_999) / 60_000)]
    SignupThrottled { retry_after_ms: i64 },
    #[error("Your current password is not right.")]
    WrongPassword,
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Where a request came from, for throttling and the login list.
#[derive(Debug, Clone, Default)]
pub struct ClientMeta {
    pub ip: String,
    pub user_agent: String,
}

/// A new login: the cookie's token (given to the browser, never stored) and its CSRF token.
#[derive(Debug, Clone)]
pub struct NewLogin {
    pub token: String,
    pub csrf: String,
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (reply, result) = tokio::sync::oneshot::channel();
    HASHERS
        .send(Box::new(move || {
            let _ = reply.send(f());
        }))
        .expect("the hashing threads run for the life of the process");
    result.await.expect("hashing does not panic")
}

async fn start_login(db: &Db, user_id: i64, meta: &ClientMeta) -> Result<NewLogin, DbError> {
    let login = NewLogin {
        token: tokens::random_token(),
        csrf: tokens::random_token(),
    };
    let (hash, csrf, meta) = (
        tokens::sha256_hex(&login.token),
        login.csrf.clone(),
        meta.clone(),
    );
    db.call(move |c| {
        users::create_login(
            c,
            user_id,
            &hash,
            &csrf,
            &meta.ip,
            &meta.user_agent,
            db::now_ms(),
        )
    })
    .await?;
    Ok(login)
}

pub async fn signup(
    db: &Db,
    email: &str,
    name: &str,
    password: &str,
    signup_credits: i64,
    meta: &ClientMeta,
) -> Result<(User, NewLogin), AccountError> {
    let email = normalize_email(email)?;
    let name = normalize_name(name)?;
    check_password(password)?;
    let pw = password.to_string();
    let hash = blocking(move || password::hash(&pw)).await;
    let ip = meta.ip.clone();
    // This machine itself (the benchmarks, a reverse proxy in front, whose clients all share its address) is not
    // limited per address.
    let limited = !ip
        .parse::<std::net::IpAddr>()
        .is_ok_and(|a| a.is_loopback());
    // The throttle's count and the new account are one step on the database thread: parallel sign-ups cannot all
    // pass the count.
    let created = db
        .call(move |c| {
            let now = db::now_ms();
            let recent = if limited {
                users::signups_from(c, &ip, now - throttle::SIGNUP_WINDOW_MS)?
            } else {
                Vec::new()
            };
            Ok(match throttle::decide_signup(&recent, now) {
                Ok(()) => Ok(users::create(
                    c,
                    &users::NewUser {
                        email: &email,
                        name: &name,
                        password_hash: &hash,
                        role: None,
                        signup_credits,
                        signup_ip: Some(&ip),
                    },
                    now,
                )?),
                Err(wait) => Err(wait),
            })
        })
        .await?
        .map_err(|wait| AccountError::SignupThrottled {
            retry_after_ms: wait,
        })?;
    let user = match created {
        Created::Ok(u) => u,
        Created::EmailTaken => return Err(AccountError::EmailTaken),
    };
    let login = start_login(db, user.id, meta).await?;
    Ok((user, login))
}

/// Creates an account from the command line or the admin page: no login, the role as given (the first account
/// is an admin whatever is asked).
pub async fn add_user(
    db: &Db,
    email: &str,
    name: &str,
    password: &str,
    role: UserRole,
    signup_credits: i64,
) -> Result<User, AccountError> {
    let email = normalize_email(email)?;
    let name = normalize_name(name)?;
    check_password(password)?;
    let pw = password.to_string();
    let hash = blocking(move || password::hash(&pw)).await;
    match db
        .call(move |c| {
            users::create(
                c,
                &users::NewUser {
                    email: &email,
                    name: &name,
                    password_hash: &hash,
                    role: Some(role),
                    signup_credits,
                    signup_ip: None,
                },
                db::now_ms(),
            )
        })
        .await?
    {
        Created::Ok(u) => Ok(u),
        Created::EmailTaken => Err(AccountError::EmailTaken),
    }
}

pub async fn login(
    db: &Db,
    email: &str,
    password: &str,
    meta: &ClientMeta,
) -> Result<(User, NewLogin), AccountError> {
    // An address that is not an email cannot match an account; it still counts as a failure for the address.
    let email = normalize_email(email).unwrap_or_else(|_| email.trim().to_lowercase());
    let now = db::now_ms();
    let (e, ip) = (email.clone(), meta.ip.clone());
    // The throttle's decision and the attempt's record are one step on the database thread: parallel guesses
    // cannot all pass the check before any of them is counted.
    let (attempt, found) = db
        .call(move |c| {
            let window_start = now - throttle::WINDOW_MS;
            let recent = users::failures_since(c, &e, &ip, window_start)?;
            Ok(match throttle::decide(&recent, now) {
                Ok(()) => Ok((
                    users::begin_attempt(c, &e, &ip, now, window_start)?,
                    users::by_email(c, &e)?,
                )),
                Err(wait) => Err(wait),
            })
        })
        .await?
        .map_err(|wait| AccountError::Throttled {
            retry_after_ms: wait,
        })?;
    let pw = password.to_string();
    let stored = found
        .as_ref()
        .map_or_else(|| password::decoy().to_string(), |(_, h)| h.clone());
    let matches = blocking(move || password::verify(&pw, &stored)).await && found.is_some();
    match found {
        Some((user, _)) if matches => {
            db.call(move |c| users::attempt_succeeded(c, attempt))
                .await?;
            let login = start_login(db, user.id, meta).await?;
            Ok((user, login))
        }
        _ => Err(AccountError::WrongCredentials),
    }
}

pub async fn logout(db: &Db, token: &str) -> Result<(), DbError> {
    let hash = tokens::sha256_hex(token);
    db.call(move |c| users::delete_login(c, &hash)).await
}

/// Changes the password after checking the current one, and ends the user's other logins.
pub async fn change_password(
    db: &Db,
    user_id: i64,
    current: &str,
    new: &str,
    keep_login: Option<String>,
) -> Result<(), AccountError> {
    check_password(new)?;
    let Some((_, stored)) = db.call(move |c| users::by_id(c, user_id)).await? else {
        return Err(AccountError::WrongPassword);
    };
    let pw = current.to_string();
    if !blocking(move || password::verify(&pw, &stored)).await {
        return Err(AccountError::WrongPassword);
    }
    let pw = new.to_string();
    let hash = blocking(move || password::hash(&pw)).await;
    db.call(move |c| users::set_password(c, user_id, &hash, keep_login.as_deref(), db::now_ms()))
        .await?;
    Ok(())
}
