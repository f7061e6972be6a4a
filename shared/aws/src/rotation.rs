//! Refresh-token rotation records, in the ephemeral table under `revoked-token#{jti}` (the key
//! a revoked refresh token always had). A token's record says either that it was presented
//! (rotated: when, and which tokens were issued from it since) or that it was superseded unused.
//! A token with no record was never presented. The rule these serve is the auth function's
//! (docs/api-decisions.md, "Accounts and tokens", refresh rotation); every write here is one
//! conditional write, so two instances deciding on the same token never both win.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};

use crate::ephemeral::{EphemeralStore, PARTITION_KEY, PutNew, SORT_KEY, StoreError, n, number, s};

/// The latest rotation, epoch milliseconds (the attribute revocations always had).
const ROTATED_AT: &str = "revoked_at";
/// The tokens issued from this one since its latest rotation (a string set of jtis).
const CHILDREN: &str = "children";
/// Bumped by every write to a rotated token's record; a re-rotation is conditional on it.
const GENERATION: &str = "generation";
/// Present (`true`) on the record of a token superseded before it was presented.
const SUPERSEDED: &str = "superseded";
const SORT_VALUE: &str = "revoked";
const OPERATION: &str = "refresh rotation";

/// What the store knows about a refresh token that has a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenRecord {
    /// Presented before (so it is used, and revoked for anyone but the rotation rule).
    Rotated(Rotated),
    /// Never presented, and cut off: its parent was presented again after it was issued.
    Superseded,
}

/// A presented refresh token's rotation state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotated {
    /// Its latest rotation: the first presentation, or the latest re-presentation that
    /// superseded the children (`None` only for a malformed record).
    pub rotated_at: Option<DateTime<Utc>>,
    /// The jtis of the refresh tokens issued from it since `rotated_at` (several when it was
    /// presented again within the reuse grace). `None` for a record written before children
    /// were kept: nothing is known about its children.
    pub children: Option<Vec<String>>,
    /// The record's version, compared by [`EphemeralStore::rerotate`].
    pub generation: i64,
}

/// The answer to presenting a refresh token ([`EphemeralStore::claim_rotation`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Its first presentation: now recorded as rotated, with the given child.
    FirstRotation,
    /// It has a record already (presented before, or superseded).
    Seen(TokenRecord),
}

/// The answer to superseding an unused child ([`EphemeralStore::supersede`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SupersedeOutcome {
    Superseded,
    /// A concurrent re-presentation of the same parent superseded it first.
    AlreadySuperseded,
    /// It was presented (rotated) first: it is not unused.
    Used,
}

impl EphemeralStore {
    /// Records the first presentation of refresh token `jti` at `now`, issuing `child`, unless
    /// it has a record; then returns that record. The record lasts until `until` (the token's
    /// expiry). Exactly one of several concurrent callers gets `FirstRotation`.
    pub async fn claim_rotation(
        &self,
        jti: &str,
        child: &str,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Claim, StoreError> {
        let item = HashMap::from([
            (ROTATED_AT.to_owned(), n(now.timestamp_millis())),
            (CHILDREN.to_owned(), set(child)),
            (GENERATION.to_owned(), n(1)),
        ]);
        Ok(match self.put_token(jti, item, until).await? {
            None => Claim::FirstRotation,
            Some(old) => Claim::Seen(record(&old)?),
        })
    }

    /// Adds `child` to the children of `jti`'s rotation at `rotated_at` (a presentation within
    /// the reuse grace), unless that rotation was replaced since or already has `max_children`.
    /// Returns whether it was added.
    pub async fn add_sibling(
        &self,
        jti: &str,
        child: &str,
        rotated_at: DateTime<Utc>,
        max_children: usize,
    ) -> Result<bool, StoreError> {
        let max = i64::try_from(max_children).unwrap_or(i64::MAX);
        let request = self
            .client()
            .update_item()
            .table_name(self.table())
            .key(PARTITION_KEY, s(&pk(jti)))
            .key(SORT_KEY, s(SORT_VALUE))
            .update_expression("ADD #children :child, #generation :one")
            .condition_expression("#rotated_at = :at AND size(#children) < :max")
            .expression_attribute_names("#children", CHILDREN)
            .expression_attribute_names("#generation", GENERATION)
            .expression_attribute_names("#rotated_at", ROTATED_AT)
            .expression_attribute_values(":child", set(child))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":at", n(rotated_at.timestamp_millis()))
            .expression_attribute_values(":max", n(max));
        conditional_update(request.send().await)
    }

    /// Starts a new rotation of `jti` at `now` whose only child is `child` (a re-presentation
    /// past the grace, after its earlier children were superseded), if the record is still at
    /// `generation`. Returns whether it was written: of several concurrent callers that read
    /// the same generation, exactly one.
    pub async fn rerotate(
        &self,
        jti: &str,
        child: &str,
        generation: i64,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let request = self
            .client()
            .update_item()
            .table_name(self.table())
            .key(PARTITION_KEY, s(&pk(jti)))
            .key(SORT_KEY, s(SORT_VALUE))
            .update_expression("SET #children = :child, #rotated_at = :now ADD #generation :one")
            .condition_expression("#generation = :seen")
            .expression_attribute_names("#children", CHILDREN)
            .expression_attribute_names("#generation", GENERATION)
            .expression_attribute_names("#rotated_at", ROTATED_AT)
            .expression_attribute_values(":child", set(child))
            .expression_attribute_values(":now", n(now.timestamp_millis()))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":seen", n(generation));
        conditional_update(request.send().await)
    }

    /// Supersedes the refresh token `jti` unless it was presented: after this it is refused,
    /// and presenting it counts as reuse. The record lasts until `until` (when the token must
    /// have expired). One conditional write, so a concurrent presentation of the token and
    /// this never both win.
    pub async fn supersede(
        &self,
        jti: &str,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<SupersedeOutcome, StoreError> {
        let item = HashMap::from([
            (ROTATED_AT.to_owned(), n(now.timestamp_millis())),
            (SUPERSEDED.to_owned(), AttributeValue::Bool(true)),
        ]);
        Ok(match self.put_token(jti, item, until).await? {
            None => SupersedeOutcome::Superseded,
            Some(old) => match record(&old)? {
                TokenRecord::Superseded => SupersedeOutcome::AlreadySuperseded,
                TokenRecord::Rotated(_) => SupersedeOutcome::Used,
            },
        })
    }

    /// What the store holds for refresh token `jti` (`None`: never presented nor superseded).
    pub async fn token_record(&self, jti: &str) -> Result<Option<TokenRecord>, StoreError> {
        self.get(&pk(jti), OPERATION)
            .await?
            .map(|item| record(&item))
            .transpose()
    }

    /// Writes `jti`'s record unless it has one; answers the existing record then.
    async fn put_token(
        &self,
        jti: &str,
        attributes: HashMap<String, AttributeValue>,
        until: DateTime<Utc>,
    ) -> Result<Option<HashMap<String, AttributeValue>>, StoreError> {
        match self.put_new(&pk(jti), attributes, until, OPERATION).await? {
            PutNew::Written => Ok(None),
            PutNew::Existing(Some(old)) => Ok(Some(old)),
            PutNew::Existing(None) => Err(StoreError::malformed(
                OPERATION,
                "a refused write but no record",
            )),
        }
    }
}

fn pk(jti: &str) -> String {
    format!("revoked-token#{jti}")
}

fn set(value: &str) -> AttributeValue {
    AttributeValue::Ss(vec![value.to_owned()])
}

fn record(item: &HashMap<String, AttributeValue>) -> Result<TokenRecord, StoreError> {
    if item.get(SUPERSEDED).is_some() {
        return Ok(TokenRecord::Superseded);
    }
    let children = match item.get(CHILDREN) {
        None => None,
        Some(value) => Some(
            value
                .as_ss()
                .map_err(|_| StoreError::malformed(OPERATION, CHILDREN))?
                .clone(),
        ),
    };
    Ok(TokenRecord::Rotated(Rotated {
        rotated_at: number(item, ROTATED_AT).and_then(DateTime::from_timestamp_millis),
        children,
        generation: number(item, GENERATION).unwrap_or(0),
    }))
}

/// `Ok(true)` for a written update, `Ok(false)` for a refused condition.
fn conditional_update<T, R>(
    result: Result<T, aws_sdk_dynamodb::error::SdkError<UpdateItemError, R>>,
) -> Result<bool, StoreError>
where
    R: std::fmt::Debug,
{
    match result {
        Ok(_) => Ok(true),
        Err(err) => match err.as_service_error() {
            Some(UpdateItemError::ConditionalCheckFailedException(_)) => Ok(false),
            _ => Err(StoreError::from_sdk(OPERATION, err)),
        },
    }
}
