//! The one DynamoDB table for ephemeral state (partition key `pk`, sort key `sk`, TTL attribute
//! `expires_at` in epoch seconds). This module holds revoked families and users' "every
//! refresh token until T" records; refresh tokens' rotation records live in
//! [`crate::rotation`], rate-limit windows in [`crate::rate_limit`], per-account login
//! failures in [`crate::login_failures`]; later features add socket connections and routing
//! under their own key prefixes.
//!
//! DynamoDB deletes expired items lazily (and the local emulator never does), so every read
//! also checks `expires_at` itself.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use chrono::{DateTime, Utc};

pub const PARTITION_KEY: &str = "pk";
pub const SORT_KEY: &str = "sk";
pub const TTL_ATTRIBUTE: &str = "expires_at";
/// When a revocation record was written, epoch milliseconds.
const REVOKED_AT: &str = "revoked_at";

#[derive(Debug, thiserror::Error)]
#[error("DynamoDB {operation} failed: {message}")]
pub struct StoreError {
    operation: &'static str,
    message: String,
}

impl StoreError {
    pub(crate) fn from_sdk<E, R>(operation: &'static str, err: SdkError<E, R>) -> Self
    where
        E: std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        Self {
            operation,
            message: DisplayErrorContext(err).to_string(),
        }
    }

    pub(crate) fn malformed(operation: &'static str, what: &str) -> Self {
        Self {
            operation,
            message: format!("malformed item: {what}"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevocationOutcome {
    Revoked,
    /// Revoked before, at `revoked_at` (`None` for records written before it was kept).
    AlreadyRevoked {
        revoked_at: Option<DateTime<Utc>>,
    },
}

/// A user's "every refresh token issued until `issued_until` is revoked" record (a password
/// change), sparing `except_family`: the login the change itself answered with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRevocation {
    /// Epoch seconds, compared with a token's `iat` (whole seconds too).
    pub issued_until: i64,
    pub except_family: String,
}

impl UserRevocation {
    /// Whether a refresh token issued at `iat` (epoch seconds) in `family` is revoked.
    pub fn covers(&self, iat: i64, family: &str) -> bool {
        iat <= self.issued_until && family != self.except_family
    }
}

const USER_REVOCATION: &str = "user revocation";

#[derive(Clone, Debug)]
pub struct EphemeralStore {
    client: Client,
    table: String,
}

impl EphemeralStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// The DynamoDB client, for stores sharing this table (the rate limiter).
    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// Marks a whole login's refresh-token family revoked until its newest member must
    /// have expired.
    pub async fn revoke_family(
        &self,
        family: &str,
        until: DateTime<Utc>,
    ) -> Result<RevocationOutcome, StoreError> {
        self.put_once(
            &format!("revoked-family#{family}"),
            until,
            Utc::now(),
            "family revocation",
        )
        .await
    }

    /// Revokes every refresh token of `user` issued at or before `issued_until` except those
    /// of `except_family`, replacing any earlier such record. The record lasts until `until`
    /// (when every token it covers has expired).
    pub async fn revoke_user_tokens(
        &self,
        user: &str,
        issued_until: DateTime<Utc>,
        except_family: &str,
        until: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item(PARTITION_KEY, s(&format!("revoked-user#{user}")))
            .item(SORT_KEY, s("revoked"))
            .item("issued_until", n(issued_until.timestamp()))
            .item("except_family", s(except_family))
            .item(TTL_ATTRIBUTE, n(until.timestamp()))
            .send()
            .await
            .map_err(|err| StoreError::from_sdk(USER_REVOCATION, err))?;
        Ok(())
    }

    /// The user's live revocation record, if any.
    pub async fn user_revocation(
        &self,
        user: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<UserRevocation>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PARTITION_KEY, s(&format!("revoked-user#{user}")))
            .key(SORT_KEY, s("revoked"))
            .consistent_read(true)
            .send()
            .await
            .map_err(|err| StoreError::from_sdk(USER_REVOCATION, err))?;
        let Some(item) = output.item else {
            return Ok(None);
        };
        if number(&item, TTL_ATTRIBUTE).is_some_and(|exp| exp <= now.timestamp()) {
            return Ok(None);
        }
        let issued_until = number(&item, "issued_until")
            .ok_or_else(|| StoreError::malformed(USER_REVOCATION, "issued_until"))?;
        let except_family = item
            .get("except_family")
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default();
        Ok(Some(UserRevocation {
            issued_until,
            except_family,
        }))
    }

    pub async fn is_family_revoked(
        &self,
        family: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.is_present(
            &format!("revoked-family#{family}"),
            now,
            "family revocation read",
        )
        .await
    }

    /// Writes a revocation record (with `revoked_at`, epoch milliseconds) unless one exists.
    async fn put_once(
        &self,
        pk: &str,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
        operation: &'static str,
    ) -> Result<RevocationOutcome, StoreError> {
        let item = HashMap::from([(REVOKED_AT.to_owned(), n(now.timestamp_millis()))]);
        Ok(match self.put_new(pk, item, until, operation).await? {
            PutNew::Written => RevocationOutcome::Revoked,
            PutNew::Existing(old) => RevocationOutcome::AlreadyRevoked {
                revoked_at: old
                    .as_ref()
                    .and_then(|item| number(item, REVOKED_AT))
                    .and_then(DateTime::from_timestamp_millis),
            },
        })
    }

    /// Writes the record `pk` (sort key `revoked`, expiring at `until`) with `attributes`
    /// unless one exists: one conditional write. A refused write answers the existing record
    /// (read again when DynamoDB did not return it; `None` when it is gone meanwhile).
    pub(crate) async fn put_new(
        &self,
        pk: &str,
        attributes: HashMap<String, AttributeValue>,
        until: DateTime<Utc>,
        operation: &'static str,
    ) -> Result<PutNew, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(attributes))
            .item(PARTITION_KEY, s(pk))
            .item(SORT_KEY, s("revoked"))
            .item(TTL_ATTRIBUTE, n(until.timestamp()))
            .condition_expression("attribute_not_exists(pk)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let old = match result {
            Ok(_) => return Ok(PutNew::Written),
            Err(err) => match err.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(refused)) => {
                    refused.item.clone()
                }
                _ => return Err(StoreError::from_sdk(operation, err)),
            },
        };
        let old = match old {
            Some(item) => Some(item),
            None => self.get(pk, operation).await?,
        };
        Ok(PutNew::Existing(old))
    }

    /// The record `pk` (sort key `revoked`), read consistently.
    pub(crate) async fn get(
        &self,
        pk: &str,
        operation: &'static str,
    ) -> Result<Option<HashMap<String, AttributeValue>>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PARTITION_KEY, s(pk))
            .key(SORT_KEY, s("revoked"))
            .consistent_read(true)
            .send()
            .await
            .map_err(|err| StoreError::from_sdk(operation, err))?;
        Ok(output.item)
    }

    async fn is_present(
        &self,
        pk: &str,
        now: DateTime<Utc>,
        operation: &'static str,
    ) -> Result<bool, StoreError> {
        Ok(self.get(pk, operation).await?.is_some_and(|item| {
            number(&item, TTL_ATTRIBUTE).is_none_or(|exp| exp > now.timestamp())
        }))
    }
}

/// How [`EphemeralStore::put_new`] ended.
pub(crate) enum PutNew {
    Written,
    /// Refused: the record there (`None` if it was gone by the time it was read).
    Existing(Option<HashMap<String, AttributeValue>>),
}

pub(crate) fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

pub(crate) fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub(crate) fn number(item: &HashMap<String, AttributeValue>, name: &str) -> Option<i64> {
    item.get(name)?.as_n().ok()?.parse().ok()
}

/// TTL in epoch seconds, a little after the window closes so a slow clock never drops a
/// live window.
pub(crate) fn expiry_secs(until_ms: i64) -> i64 {
    (until_ms + 999) / 1000 + 60
}
