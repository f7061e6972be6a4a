//! Account security: request rates, the refresh-token grace and the login backoff
//! (docs/api-decisions.md, "Rate limits", "Accounts and tokens").

use std::time::Duration;

use super::{Lookup, Setting, SettingsError, get};

/// Requests per minute, per scope. Defaults: docs/api-decisions.md ("Rate limits").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimits {
    /// register and login together, per client IP (`RATE_LIMIT_AUTH_PER_MINUTE`)
    pub auth_per_minute: u32,
    /// token refreshes, per client IP, in a bucket of their own so a client looping on a
    /// failed refresh cannot lock its user out of logging in (`RATE_LIMIT_REFRESH_PER_MINUTE`)
    pub refresh_per_minute: u32,
    /// other unauthenticated requests, per client IP (`RATE_LIMIT_ANON_PER_MINUTE`)
    pub anon_per_minute: u32,
    /// authenticated requests, per user (`RATE_LIMIT_USER_PER_MINUTE`)
    pub user_per_minute: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            auth_per_minute: 10,
            refresh_per_minute: 30,
            anon_per_minute: 30,
            user_per_minute: 120,
        }
    }
}

impl Setting for RateLimits {
    fn from_lookup(lookup: Lookup<'_>) -> Result<Self, SettingsError> {
        let defaults = Self::default();
        let rate = |name: &'static str, default: u32| match get(lookup, name) {
            None => Ok(default),
            Some(v) => match v.trim().parse::<u32>() {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(SettingsError::Invalid {
                    name,
                    reason: "expected a positive whole number of requests per minute".into(),
                }),
            },
        };
        Ok(Self {
            auth_per_minute: rate("RATE_LIMIT_AUTH_PER_MINUTE", defaults.auth_per_minute)?,
            refresh_per_minute: rate("RATE_LIMIT_REFRESH_PER_MINUTE", defaults.refresh_per_minute)?,
            anon_per_minute: rate("RATE_LIMIT_ANON_PER_MINUTE", defaults.anon_per_minute)?,
            user_per_minute: rate("RATE_LIMIT_USER_PER_MINUTE", defaults.user_per_minute)?,
        })
    }
}

/// A whole number of seconds from `name`, `default` when unset; `min` is the least allowed.
fn seconds(
    lookup: Lookup<'_>,
    name: &'static str,
    default: u64,
    min: u64,
) -> Result<Duration, SettingsError> {
    match get(lookup, name) {
        None => Ok(Duration::from_secs(default)),
        Some(v) => match v.trim().parse::<u64>() {
            Ok(n) if n >= min => Ok(Duration::from_secs(n)),
            _ => Err(SettingsError::Invalid {
                name,
                reason: format!("expected a whole number of seconds, at least {min}"),
            }),
        },
    }
}

/// How long after a refresh token's latest rotation presenting it again gets a fresh pair in
/// the same family even when a token issued from it was used (after it, only while none was)
/// (`REFRESH_REUSE_GRACE_SECONDS`, default 30 s; 0 disables). Covers a client firing two
/// requests at once with one expired access token (docs/api-decisions.md, "Accounts and
/// tokens").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RefreshReuseGrace(pub Duration);

impl Default for RefreshReuseGrace {
    fn default() -> Self {
        Self(Duration::from_secs(30))
    }
}

impl Setting for RefreshReuseGrace {
    fn from_lookup(lookup: Lookup<'_>) -> Result<Self, SettingsError> {
        seconds(lookup, "REFRESH_REUSE_GRACE_SECONDS", 30, 0).map(Self)
    }
}

/// Per-account backoff on password guessing (docs/api-decisions.md, "Rate limits"): after
/// `free_failures` unsuccessful attempts in a row, each next attempt must wait `first_delay`,
/// doubling with every further failure, at most `max_delay`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoginBackoff {
    /// Unsuccessful attempts answered without delay (`LOGIN_FAILURES_BEFORE_BACKOFF`, 5).
    pub free_failures: u32,
    /// The wait after the last free failure (`LOGIN_BACKOFF_FIRST_SECONDS`, 60 s).
    pub first_delay: Duration,
    /// The longest wait, and so the longest an owner is kept out by one lock
    /// (`LOGIN_BACKOFF_MAX_SECONDS`, 900 s).
    pub max_delay: Duration,
}

impl Default for LoginBackoff {
    fn default() -> Self {
        Self {
            free_failures: 5,
            first_delay: Duration::from_secs(60),
            max_delay: Duration::from_secs(900),
        }
    }
}

impl LoginBackoff {
    /// The wait imposed after `failures` unsuccessful attempts in a row (zero while free).
    pub fn delay_after(&self, failures: u32) -> Duration {
        let Some(extra) = failures.checked_sub(self.free_failures) else {
            return Duration::ZERO;
        };
        let factor = 1u32.checked_shl(extra).unwrap_or(u32::MAX);
        self.first_delay
            .checked_mul(factor)
            .unwrap_or(self.max_delay)
            .min(self.max_delay)
    }
}

impl Setting for LoginBackoff {
    fn from_lookup(lookup: Lookup<'_>) -> Result<Self, SettingsError> {
        let defaults = Self::default();
        let free_failures = match get(lookup, "LOGIN_FAILURES_BEFORE_BACKOFF") {
            None => defaults.free_failures,
            Some(v) => match v.trim().parse::<u32>() {
                Ok(n) if n > 0 => n,
                _ => {
                    return Err(SettingsError::Invalid {
                        name: "LOGIN_FAILURES_BEFORE_BACKOFF",
                        reason: "expected a positive whole number of attempts".into(),
                    });
                }
            },
        };
        let first_delay = seconds(lookup, "LOGIN_BACKOFF_FIRST_SECONDS", 60, 1)?;
        let max_delay = seconds(lookup, "LOGIN_BACKOFF_MAX_SECONDS", 900, 1)?;
        if max_delay < first_delay {
            return Err(SettingsError::Invalid {
                name: "LOGIN_BACKOFF_MAX_SECONDS",
                reason: "must be at least LOGIN_BACKOFF_FIRST_SECONDS".into(),
            });
        }
        Ok(Self {
            free_failures,
            first_delay,
            max_delay,
        })
    }
}
