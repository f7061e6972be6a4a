//! Per-account backoff on password guessing, shared by every instance through the ephemeral
//! table (docs/api-decisions.md, "Rate limits").
//!
//! One item per e-mail address (`pk = "login-failures#<SHA-256 hex of the lowercased
//! address>"`, `sk = "failures"`, so the table holds no addresses) records `attempts` (in a
//! row without a success), `last_attempt_ms`, `next_allowed_ms` (epoch milliseconds),
//! `version` and the TTL. An attempt is charged *before* its password is checked, so a burst
//! of parallel guesses cannot pass the threshold: while the next attempt is still free, with
//! one atomic `UpdateItem` (parallel correct logins never collide); the charge that imposes a
//! wait, and every one after it, with a conditional write on `version`, so they are
//! serialized and the lock the n-th sets holds for the (n+1)-th. Attempts refused for
//! waiting are not charged: hammering does not lengthen a lock, so no lock outlasts the configured maximum. A success deletes the
//! item; failures are forgotten 15 minutes after the later of the last attempt and its lock.
//! Unknown addresses are counted exactly like known ones.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use chrono::{DateTime, Utc};
use meetin_core::LoginBackoff;
use sha2::{Digest, Sha256};

use crate::RateDecision;
use crate::ephemeral::{
    EphemeralStore, PARTITION_KEY, SORT_KEY, StoreError, TTL_ATTRIBUTE, expiry_secs, n, number, s,
};

/// Failures are forgotten this long after the later of the last attempt and its lock.
const FORGET_AFTER_MS: i64 = 15 * 60 * 1000;

/// Writes per decision; each refusal carries the newer record, so more are needed only while
/// other instances keep charging the same address.
const MAX_ATTEMPTS: usize = 8;

const SORT_VALUE: &str = "failures";
const OPERATION: &str = "login failure record";

/// One address's record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Record {
    attempts: u32,
    last_attempt_ms: i64,
    next_allowed_ms: i64,
    version: i64,
}

impl Record {
    fn forget_at_ms(&self) -> i64 {
        self.last_attempt_ms.max(self.next_allowed_ms) + FORGET_AFTER_MS
    }

    fn from_item(item: &HashMap<String, AttributeValue>) -> Result<Self, StoreError> {
        let field = |name| number(item, name).ok_or_else(|| StoreError::malformed(OPERATION, name));
        Ok(Self {
            attempts: u32::try_from(field("attempts")?.max(0)).unwrap_or(u32::MAX),
            last_attempt_ms: field("last_attempt_ms")?,
            next_allowed_ms: field("next_allowed_ms")?,
            version: field("version")?,
        })
    }
}

/// The record after charging one attempt at `now_ms`, or the whole seconds (at least 1) to
/// wait when `old` does not allow one yet.
fn charge(old: Option<&Record>, backoff: &LoginBackoff, now_ms: i64) -> Result<Record, u64> {
    let live = old.filter(|r| now_ms < r.forget_at_ms());
    // Only a wait that was imposed refuses: a record written with no delay by a request whose
    // clock read a moment later than ours (concurrent attempts) must not turn into a wait.
    if let Some(r) = live
        && r.next_allowed_ms > r.last_attempt_ms
        && now_ms < r.next_allowed_ms
    {
        let wait_ms = u64::try_from(r.next_allowed_ms - now_ms).unwrap_or(0);
        return Err(wait_ms.div_ceil(1000).max(1));
    }
    let attempts = live.map_or(0, |r| r.attempts).saturating_add(1);
    let delay_ms = i64::try_from(backoff.delay_after(attempts).as_millis()).unwrap_or(i64::MAX);
    Ok(Record {
        attempts,
        last_attempt_ms: now_ms,
        next_allowed_ms: now_ms.saturating_add(delay_ms),
        version: old.map_or(0, |r| r.version) + 1,
    })
}

/// What the single atomic charge did.
enum FreeCharge {
    Charged,
    /// Not a free attempt; the item as it was, when there is one.
    NotFree(Option<HashMap<String, AttributeValue>>),
}

/// The partition key for an address: the SHA-256 of its lowercased form, in hex (login
/// matches addresses whatever their case).
fn key(email: &str) -> String {
    let digest = Sha256::digest(email.trim().to_lowercase().as_bytes());
    format!("login-failures#{}", hex::encode(digest))
}

impl EphemeralStore {
    /// Charges one login attempt for `email` (known or not) before its password is checked,
    /// or says how long to wait: `Limited { retry_after_secs }` when an earlier run of
    /// failures imposed a wait that has not passed (then nothing is charged).
    pub async fn begin_login_attempt(
        &self,
        email: &str,
        backoff: &LoginBackoff,
        now: DateTime<Utc>,
    ) -> Result<RateDecision, StoreError> {
        let pk = key(email);
        let now_ms = now.timestamp_millis();
        let mut old: Option<Record> = match self.charge_free_attempt(&pk, backoff, now_ms).await? {
            FreeCharge::Charged => return Ok(RateDecision::Allowed),
            // The emulator can return a half-written item here (its writes are not atomic);
            // the conditional write below then reads the record again.
            FreeCharge::NotFree(current) => {
                current.as_ref().and_then(|i| Record::from_item(i).ok())
            }
        };
        for _ in 0..MAX_ATTEMPTS {
            let new = match charge(old.as_ref(), backoff, now_ms) {
                Ok(new) => new,
                Err(retry_after_secs) => return Ok(RateDecision::Limited { retry_after_secs }),
            };
            let request = self
                .client()
                .put_item()
                .table_name(self.table())
                .item(PARTITION_KEY, s(&pk))
                .item(SORT_KEY, s(SORT_VALUE))
                .item("attempts", n(i64::from(new.attempts)))
                .item("last_attempt_ms", n(new.last_attempt_ms))
                .item("next_allowed_ms", n(new.next_allowed_ms))
                .item("version", n(new.version))
                .item(TTL_ATTRIBUTE, n(expiry_secs(new.forget_at_ms())))
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                );
            let request = match &old {
                None => request.condition_expression("attribute_not_exists(pk)"),
                Some(r) => request
                    .condition_expression("version = :version")
                    .expression_attribute_values(":version", n(r.version)),
            };
            let refused = match request.send().await {
                Ok(_) => return Ok(RateDecision::Allowed),
                Err(err) => match err.as_service_error() {
                    Some(PutItemError::ConditionalCheckFailedException(refused)) => {
                        refused.item.clone()
                    }
                    _ => return Err(StoreError::from_sdk(OPERATION, err)),
                },
            };
            let current = match refused {
                Some(item) => Some(item),
                None => self.read_login_failures(&pk).await?,
            };
            old = current.as_ref().map(Record::from_item).transpose()?;
        }
        // So many attempts on one account at once that each lost the race every time: ask
        // the client to come back in a second rather than fail the request.
        tracing::warn!("login attempts for one account kept colliding; answering 429");
        Ok(RateDecision::Limited {
            retry_after_secs: 1,
        })
    }

    /// The common case in one atomic write that never collides: no record, or a live one
    /// whose next attempt is still free (fewer than `free_failures - 1` charged, so no wait
    /// can follow from it). Parallel attempts on one account each add 1 without retries.
    /// Anything else (the charge that imposes a wait, a wait in force, a forgotten record)
    /// takes the conditional read-modify-write in [`Self::begin_login_attempt`], starting from
    /// the item this write was refused with.
    async fn charge_free_attempt(
        &self,
        pk: &str,
        backoff: &LoginBackoff,
        now_ms: i64,
    ) -> Result<FreeCharge, StoreError> {
        if !backoff.delay_after(1).is_zero() {
            return Ok(FreeCharge::NotFree(None));
        }
        // Attempts charged so far that keep the next one free.
        let free_below = i64::from(backoff.free_failures.saturating_sub(1));
        let result = self
            .client()
            .update_item()
            .table_name(self.table())
            .key(PARTITION_KEY, s(pk))
            .key(SORT_KEY, s(SORT_VALUE))
            .update_expression(
                "SET attempts = if_not_exists(attempts, :zero) + :one, \
                 version = if_not_exists(version, :zero) + :one, \
                 last_attempt_ms = :now, next_allowed_ms = :now, #ttl = :ttl",
            )
            .condition_expression(
                // No wait imposed (this path writes both times equal; a concurrent attempt's
                // clock may be a little ahead of ours), or one that has passed.
                "attribute_not_exists(pk) OR (attempts < :free_below \
                 AND last_attempt_ms > :stale_before \
                 AND (next_allowed_ms <= last_attempt_ms OR next_allowed_ms <= :now))",
            )
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":now", n(now_ms))
            .expression_attribute_values(":ttl", n(expiry_secs(now_ms + FORGET_AFTER_MS)))
            .expression_attribute_values(":free_below", n(free_below))
            .expression_attribute_values(":stale_before", n(now_ms - FORGET_AFTER_MS))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(FreeCharge::Charged),
            Err(err) => match err.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(refused)) => {
                    Ok(FreeCharge::NotFree(refused.item.clone()))
                }
                _ => Err(StoreError::from_sdk(OPERATION, err)),
            },
        }
    }

    /// Forgets `email`'s failures (after a successful login).
    pub async fn clear_login_failures(&self, email: &str) -> Result<(), StoreError> {
        self.client()
            .delete_item()
            .table_name(self.table())
            .key(PARTITION_KEY, s(&key(email)))
            .key(SORT_KEY, s(SORT_VALUE))
            .send()
            .await
            .map_err(|err| StoreError::from_sdk(OPERATION, err))?;
        Ok(())
    }

    async fn read_login_failures(
        &self,
        pk: &str,
    ) -> Result<Option<HashMap<String, AttributeValue>>, StoreError> {
        let output = self
            .client()
            .get_item()
            .table_name(self.table())
            .key(PARTITION_KEY, s(pk))
            .key(SORT_KEY, s(SORT_VALUE))
            .consistent_read(true)
            .send()
            .await
            .map_err(|err| StoreError::from_sdk(OPERATION, err))?;
        Ok(output.item)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const BACKOFF: LoginBackoff = LoginBackoff {
        free_failures: 5,
        first_delay: Duration::from_secs(60),
        max_delay: Duration::from_secs(900),
    };

    #[test]
    fn a_concurrent_attempt_with_an_earlier_clock_is_not_refused() {
        // Written by an attempt whose clock read 5 ms later, with no wait imposed.
        let later = charge(None, &BACKOFF, 1_000_005).expect("allowed");
        assert_eq!(later.next_allowed_ms, later.last_attempt_ms);
        let ours = charge(Some(&later), &BACKOFF, 1_000_000).expect("not refused");
        assert_eq!(ours.attempts, 2);
    }

    #[test]
    fn five_attempts_pass_then_each_waits_longer_up_to_the_cap() {
        let mut now = 1_000_000;
        let mut record: Option<Record> = None;
        let mut waits = Vec::new();
        for _ in 0..12 {
            let new = charge(record.as_ref(), &BACKOFF, now).expect("allowed");
            waits.push((new.next_allowed_ms - now) / 1000);
            // Asked again at once: refused with the whole wait, nothing charged.
            if new.next_allowed_ms > now {
                assert_eq!(
                    charge(Some(&new), &BACKOFF, now + 1),
                    Err(u64::try_from(new.next_allowed_ms - now - 1)
                        .expect("wait")
                        .div_ceil(1000))
                );
            }
            now = new.next_allowed_ms;
            record = Some(new);
        }
        assert_eq!(waits, [0, 0, 0, 0, 60, 120, 240, 480, 900, 900, 900, 900]);
    }

    #[test]
    fn failures_are_forgotten_after_the_lock_ends_plus_fifteen_minutes() {
        let old = Record {
            attempts: 9,
            last_attempt_ms: 0,
            next_allowed_ms: 900_000,
            version: 9,
        };
        let kept = charge(Some(&old), &BACKOFF, 900_000 + FORGET_AFTER_MS - 1).expect("allowed");
        assert_eq!(kept.attempts, 10);
        let fresh = charge(Some(&old), &BACKOFF, 900_000 + FORGET_AFTER_MS).expect("allowed");
        assert_eq!((fresh.attempts, fresh.version), (1, 10));
    }

    #[test]
    fn keys_hide_the_address_and_ignore_its_case() {
        let k = key("Ann@Example.com");
        assert_eq!(k, key("ann@example.com"));
        assert!(!k.contains("ann"));
        assert_eq!(k.len(), "login-failures#".len() + 64);
    }
}
