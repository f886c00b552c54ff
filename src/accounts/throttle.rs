//! Login throttling, as a pure decision over recent failures, so its boundaries are tested without a clock:
//! at most [`PER_ACCOUNT`] failed logins per account and [`PER_ADDRESS`] per address within [`WINDOW_MS`].
//! A success does not erase failures; the window simply moves on.

pub const WINDOW_MS: i64 = 15 * 60 * 1000;
pub const PER_ACCOUNT: usize = 5;
/// Failures from one address across accounts: a classroom of 40 behind one NAT mistyping now and then stays well
/// under it (at 20, a handful of typos locked out everyone behind the address), while one host guessing across
/// accounts is held to this many guesses a window. Each account keeps its own limit of [`PER_ACCOUNT`].
pub const PER_ADDRESS: usize = 100;

/// Accounts one address may sign up within [`SIGNUP_WINDOW_MS`]: a classroom of 40 behind one NAT signs up in its
/// first lesson, while one host cannot make accounts by the hundred (each with its starting credits and its own
/// allowance of sandbox runs).
pub const SIGNUPS_PER_ADDRESS: usize = 50;
pub const SIGNUP_WINDOW_MS: i64 = 60 * 60 * 1000;

/// `Ok` to sign up from an address whose recent sign-ups were at `times` (Unix ms), or the milliseconds to wait.
pub fn decide_signup(times: &[i64], now: i64) -> Result<(), i64> {
    let mut live: Vec<i64> = times
        .iter()
        .copied()
        .filter(|t| now - t < SIGNUP_WINDOW_MS)
        .collect();
    if live.len() < SIGNUPS_PER_ADDRESS {
        return Ok(());
    }
    live.sort_unstable();
    Err((live[live.len() - SIGNUPS_PER_ADDRESS] + SIGNUP_WINDOW_MS - now).max(1))
}

/// Failure times (Unix ms, any order) within the window, for the account and for the address.
#[derive(Debug, Clone, Default)]
pub struct Recent {
    pub account_failures: Vec<i64>,
    pub address_failures: Vec<i64>,
}

/// `Ok` to try the password, or the milliseconds to wait.
pub fn decide(recent: &Recent, now: i64) -> Result<(), i64> {
    let wait = |times: &[i64], limit: usize| -> Option<i64> {
        let mut live: Vec<i64> = times
            .iter()
            .copied()
            .filter(|t| now - t < WINDOW_MS)
            .collect();
        if live.len() < limit {
            return None;
        }
        live.sort_unstable();
        // Allowed again when enough of the oldest failures have left the window.
        let oldest_that_must_expire = live[live.len() - limit];
        Some(oldest_that_must_expire + WINDOW_MS - now)
    };
    match (
        wait(&recent.account_failures, PER_ACCOUNT),
        wait(&recent.address_failures, PER_ADDRESS),
    ) {
        (None, None) => Ok(()),
        (a, b) => Err(a.unwrap_or(0).max(b.unwrap_or(0)).max(1)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_failures_still_allow_a_fifth_try_and_five_do_not() {
        let now = 10 * WINDOW_MS;
        let mut r = Recent {
            account_failures: vec![now - 1000; PER_ACCOUNT - 1],
            ..Recent::default()
        };
        assert_eq!(decide(&r, now), Ok(()));
        r.account_failures.push(now - 500);
        assert_eq!(decide(&r, now), Err(WINDOW_MS - 1000));
    }

    #[test]
    fn failures_leave_the_window_after_fifteen_minutes() {
        let now = 10 * WINDOW_MS;
        let r = Recent {
            account_failures: vec![now - WINDOW_MS; PER_ACCOUNT],
            ..Recent::default()
        };
        assert_eq!(
            decide(&r, now),
            Ok(()),
            "failures exactly one window old no longer count"
        );
        let r = Recent {
            account_failures: vec![now - WINDOW_MS + 1; PER_ACCOUNT],
            ..Recent::default()
        };
        assert_eq!(decide(&r, now), Err(1));
    }

    #[test]
    fn an_address_may_sign_up_a_classroom_an_hour_and_no_more() {
        let now = 10 * SIGNUP_WINDOW_MS;
        let class: Vec<i64> = (0..40).map(|i| now - 60_000 * i).collect();
        assert_eq!(decide_signup(&class, now), Ok(()));
        let many = vec![now - 1000; SIGNUPS_PER_ADDRESS];
        assert_eq!(decide_signup(&many, now), Err(SIGNUP_WINDOW_MS - 1000));
        let old = vec![now - SIGNUP_WINDOW_MS; SIGNUPS_PER_ADDRESS];
        assert_eq!(decide_signup(&old, now), Ok(()), "an hour later");
    }

    #[test]
    fn an_address_is_throttled_across_accounts() {
        let now = 10 * WINDOW_MS;
        let r = Recent {
            address_failures: vec![now - 10; PER_ADDRESS],
            ..Recent::default()
        };
        assert!(decide(&r, now).is_err());
        let r = Recent {
            address_failures: vec![now - 10; PER_ADDRESS - 1],
            ..Recent::default()
        };
        assert!(decide(&r, now).is_ok());
    }
}
