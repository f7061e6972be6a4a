//! The one DynamoDB table for ephemeral state (partition key `pk`, sort key `sk`, TTL attribute
//! `expires_at` in epoch seconds). This module holds revoked refresh tokens; rate-limit
//! windows live in [`crate::rate_limit`]; later features add socket connections and routing
//! under their own key prefixes.
//!
//! DynamoDB deletes expired items lazily (and the local emulator never does), so every read
//! also checks `expires_at` itself.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};

pub const PARTITION_KEY: &str = "pk";
pub const SORT_KEY: &str = "sk";
pub const TTL_ATTRIBUTE: &str = "expires_at";

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
    AlreadyRevoked,
}

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

    /// Marks a refresh token (by `jti`) revoked until it would have expired anyway.
    /// Exactly one of several concurrent callers gets `Revoked`.
    pub async fn revoke_token(
        &self,
        jti: &str,
        until: DateTime<Utc>,
    ) -> Result<RevocationOutcome, StoreError> {
        self.put_once(&format!("revoked-token#{jti}"), until, "token revocation")
            .await
    }

    pub async fn is_token_revoked(
        &self,
        jti: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.is_present(
            &format!("revoked-token#{jti}"),
            now,
            "token revocation read",
        )
        .await
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
            "family revocation",
        )
        .await
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

    async fn put_once(
        &self,
        pk: &str,
        until: DateTime<Utc>,
        operation: &'static str,
    ) -> Result<RevocationOutcome, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(PARTITION_KEY, s(pk))
            .item(SORT_KEY, s("revoked"))
            .item(TTL_ATTRIBUTE, n(until.timestamp()))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(RevocationOutcome::Revoked),
            Err(err) if is_conditional_failure(&err) => Ok(RevocationOutcome::AlreadyRevoked),
            Err(err) => Err(StoreError::from_sdk(operation, err)),
        }
    }

    async fn is_present(
        &self,
        pk: &str,
        now: DateTime<Utc>,
        operation: &'static str,
    ) -> Result<bool, StoreError> {
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
        Ok(output.item.is_some_and(|item| {
            number(&item, TTL_ATTRIBUTE).is_none_or(|exp| exp > now.timestamp())
        }))
    }
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

pub(crate) fn is_conditional_failure<E, R>(err: &SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    err.as_service_error()
        .and_then(|e| e.code())
        .is_some_and(|code| code == "ConditionalCheckFailedException")
}
