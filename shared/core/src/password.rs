//! argon2id password hashing, off the async threads, and the password rules of contract
//! decision 5 (Django's validators: length, common, numeric), reported as field errors.

use std::sync::LazyLock;

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use zxcvbn::matching::patterns::MatchPattern;

pub const MIN_PASSWORD_CHARS: usize = 10;
/// Hashing cost grows with length; nobody types a longer password.
pub const MAX_PASSWORD_CHARS: usize = 4096;

pub const TOO_SHORT: &str = "This password is too short. It must contain at least 10 characters.";
pub const TOO_COMMON: &str = "This password is too common.";
pub const ENTIRELY_NUMERIC: &str = "This password is entirely numeric.";

/// Every rule the password breaks, in Django's order.
pub fn check_rules(password: &str) -> Vec<&'static str> {
    let mut problems = Vec::new();
    if password.chars().count() < MIN_PASSWORD_CHARS {
        problems.push(TOO_SHORT);
    }
    if is_common(password) {
        problems.push(TOO_COMMON);
    }
    if !password.is_empty() && password.chars().all(|c| c.is_ascii_digit()) {
        problems.push(ENTIRELY_NUMERIC);
    }
    problems
}

/// True when the whole password (trimmed, any case) is a single entry of zxcvbn's frequency
/// lists: its common passwords, and the common words and names that password lists are
/// made of (zxcvbn prefers whichever list ranks the word higher).
fn is_common(password: &str) -> bool {
    let candidate = password.trim().to_lowercase();
    if candidate.is_empty() || candidate.chars().count() > 64 {
        return false;
    }
    let entropy = zxcvbn::zxcvbn(&candidate, &[]);
    match entropy.sequence() {
        [single] => {
            single.i == 0
                && single.j + 1 == candidate.chars().count()
                && matches!(&single.pattern, MatchPattern::Dictionary(d) if !d.reversed && !d.l33t)
        }
        _ => false,
    }
}

/// A PHC-format argon2id hash (m=19 MiB, t=2, p=1), computed on a blocking thread.
pub async fn hash(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("argon2 hashing failed: {e}"))
    })
    .await?
}

/// A hash of a random password, verified against when the user does not exist, so the
/// response time does not tell which emails are registered.
static DECOY_HASH: LazyLock<String> = LazyLock::new(|| {
    let random: [u8; 32] = rand::random();
    Argon2::default()
        .hash_password(&random)
        .map(|h| h.to_string())
        .unwrap_or_default()
});

/// Verifies on a blocking thread; `None` verifies against a decoy and returns false.
pub async fn verify(password: String, stored_hash: Option<String>) -> anyhow::Result<bool> {
    tokio::task::spawn_blocking(move || {
        let known = stored_hash.is_some();
        let hash = stored_hash.unwrap_or_else(|| DECOY_HASH.clone());
        let matches = Argon2::default()
            .verify_password(password.as_bytes(), hash.as_str())
            .is_ok();
        known && matches
    })
    .await
    .map_err(Into::into)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_match_djangos_validators() {
        assert_eq!(check_rules("x7#qL"), vec![TOO_SHORT]);
        assert_eq!(check_rules("short"), vec![TOO_SHORT, TOO_COMMON]);
        assert_eq!(
            check_rules("1234567890"),
            vec![TOO_COMMON, ENTIRELY_NUMERIC]
        );
        assert_eq!(check_rules("9384710562"), vec![ENTIRELY_NUMERIC]);
        assert_eq!(check_rules("basketball"), vec![TOO_COMMON]);
        assert_eq!(check_rules("QwertyUIOP"), vec![TOO_COMMON]);
        assert!(check_rules("plum-harbor-71-lantern").is_empty());
        assert!(check_rules("basketball-orbit-lamp").is_empty());
    }

    #[tokio::test]
    async fn hashes_are_argon2id_and_verify() {
        let hash = hash("correct horse battery".into()).await.expect("hash");
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(
            verify("correct horse battery".into(), Some(hash.clone()))
                .await
                .expect("verify")
        );
        assert!(
            !verify("wrong horse battery".into(), Some(hash))
                .await
                .expect("verify")
        );
        assert!(!verify("anything".into(), None).await.expect("verify"));
    }
}
