//! Which bridge task serves a meeting's live session (issue 19), in the ephemeral table.
//!
//! One item per meeting, `pk = "meeting#{meeting_id}#live"`, `sk = "route"`: the session, the
//! owning task (its id and private URL) and the session's checkpoint — the last chunk of the
//! speaker's stream whose finals are stored, and where it ends in session audio. The socket
//! relay reads it to send each chunk to the owner; when the owner is unreachable a healthy
//! task takes the session over ([`LiveRoutes::take_over`], conditional on the dead owner
//! still being recorded) and resumes from the checkpoint. An owner that finds the item no
//! longer names it ([`Checkpointed::Lost`]) stops serving the session.
//!
//! The item expires (`expires_at`) [`ROUTE_TTL`] after its last write; every checkpoint
//! renews it.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::Utc;
use uuid::Uuid;

use crate::ephemeral::{PARTITION_KEY, SORT_KEY, StoreError, TTL_ATTRIBUTE};

/// How long a route outlives its last write (12 h): a session with no checkpoint for that long
/// has no speaker.
pub const ROUTE_TTL: Duration = Duration::from_secs(12 * 3600);

/// A bridge task: its id (fresh at each start) and the private URL its relay API answers on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    pub id: String,
    /// `http://{private address}:{port}`, no trailing slash.
    pub url: String,
}

/// Where a speaker's stream stands: every chunk up to `seq` is transcribed and stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The stream's name (the client's, or its connection id).
    pub stream: String,
    /// The last chunk safely transcribed.
    pub seq: u64,
    /// Where that chunk ends in session audio, in ms.
    pub audio_ms: i64,
}

/// The route of a meeting's live session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub meeting: Uuid,
    pub session: Uuid,
    pub owner: Task,
    pub checkpoint: Option<Checkpoint>,
}

/// The outcome of [`LiveRoutes::checkpoint`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checkpointed {
    Saved,
    /// The route names another task or session: this task no longer serves it.
    Lost,
}

/// The routes of the ephemeral table.
#[derive(Clone, Debug)]
pub struct LiveRoutes {
    client: Client,
    table: String,
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn pk(meeting: Uuid) -> String {
    format!("meeting#{meeting}#live")
}

fn expires() -> AttributeValue {
    n(Utc::now().timestamp() + ROUTE_TTL.as_secs() as i64)
}

impl LiveRoutes {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// Records `owner` as the task serving `session` of `meeting`, replacing the route of an
    /// earlier session; refused (`false`) when the route already names `session` with another
    /// task (a second start of the same session).
    pub async fn claim(
        &self,
        meeting: Uuid,
        session: Uuid,
        owner: &Task,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(PARTITION_KEY, s(pk(meeting)))
            .item(SORT_KEY, s("route"))
            .item("session", s(session.to_string()))
            .item("task", s(&owner.id))
            .item("task_url", s(&owner.url))
            .item(TTL_ATTRIBUTE, expires())
            .condition_expression(
                "attribute_not_exists(#pk) OR #session <> :session OR task = :task",
            )
            .expression_attribute_names("#pk", PARTITION_KEY)
            .expression_attribute_names("#session", "session")
            .expression_attribute_values(":session", s(session.to_string()))
            .expression_attribute_values(":task", s(&owner.id))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err) => match err.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(_)) => Ok(false),
                _ => Err(StoreError::from_sdk("PutItem (live route)", err)),
            },
        }
    }

    /// The route of `meeting`'s session, unless none or expired.
    pub async fn get(&self, meeting: Uuid) -> Result<Option<Route>, StoreError> {
        let item = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PARTITION_KEY, s(pk(meeting)))
            .key(SORT_KEY, s("route"))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::from_sdk("GetItem (live route)", e))?
            .item;
        Ok(item.and_then(|item| route(meeting, &item)))
    }

    /// Makes `me` the owner of `session` if the route still names `dead` (the task the relay
    /// could not reach, or the one that held `me`'s address before it); the route as it is
    /// now either way (`None` when gone: the session ended).
    pub async fn take_over(
        &self,
        meeting: Uuid,
        session: Uuid,
        dead: &str,
        me: &Task,
    ) -> Result<Option<Route>, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PARTITION_KEY, s(pk(meeting)))
            .key(SORT_KEY, s("route"))
            .update_expression("SET task = :me, task_url = :url, #ttl = :ttl")
            .condition_expression("#session = :session AND task = :dead")
            .expression_attribute_names("#session", "session")
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_values(":me", s(&me.id))
            .expression_attribute_values(":url", s(&me.url))
            .expression_attribute_values(":ttl", expires())
            .expression_attribute_values(":session", s(session.to_string()))
            .expression_attribute_values(":dead", s(dead))
            .send()
            .await;
        match result {
            Ok(_) => {}
            Err(err) => match err.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(_)) => {}
                _ => return Err(StoreError::from_sdk("UpdateItem (live takeover)", err)),
            },
        }
        Ok(self.get(meeting).await?.filter(|r| r.session == session))
    }

    /// Saves `checkpoint` for `session` while `owner` serves it.
    pub async fn checkpoint(
        &self,
        meeting: Uuid,
        session: Uuid,
        owner: &str,
        checkpoint: &Checkpoint,
    ) -> Result<Checkpointed, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PARTITION_KEY, s(pk(meeting)))
            .key(SORT_KEY, s("route"))
            .update_expression("SET #stream = :stream, seq = :seq, audio_ms = :ms, #ttl = :ttl")
            .condition_expression("#session = :session AND task = :owner")
            .expression_attribute_names("#session", "session")
            .expression_attribute_names("#stream", "stream")
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_values(":stream", s(&checkpoint.stream))
            .expression_attribute_values(":seq", n(checkpoint.seq))
            .expression_attribute_values(":ms", n(checkpoint.audio_ms))
            .expression_attribute_values(":ttl", expires())
            .expression_attribute_values(":session", s(session.to_string()))
            .expression_attribute_values(":owner", s(owner))
            .send()
            .await;
        match result {
            Ok(_) => Ok(Checkpointed::Saved),
            Err(err) => match err.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(_)) => Ok(Checkpointed::Lost),
                _ => Err(StoreError::from_sdk("UpdateItem (live checkpoint)", err)),
            },
        }
    }

    /// Forgets the route of `session` (it ended); a route of another session is kept.
    pub async fn release(&self, meeting: Uuid, session: Uuid) -> Result<(), StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(PARTITION_KEY, s(pk(meeting)))
            .key(SORT_KEY, s("route"))
            .condition_expression("#session = :session")
            .expression_attribute_names("#session", "session")
            .expression_attribute_values(":session", s(session.to_string()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) => match err.as_service_error() {
                Some(DeleteItemError::ConditionalCheckFailedException(_)) => Ok(()),
                _ => Err(StoreError::from_sdk("DeleteItem (live route)", err)),
            },
        }
    }
}

/// The route of `item`, unless expired or malformed.
fn route(meeting: Uuid, item: &HashMap<String, AttributeValue>) -> Option<Route> {
    let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok());
    let number = |name: &str| {
        item.get(name)
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse::<i64>().ok())
    };
    if number(TTL_ATTRIBUTE)? <= Utc::now().timestamp() {
        return None;
    }
    let checkpoint = match (text("stream"), number("seq"), number("audio_ms")) {
        (Some(stream), Some(seq), Some(audio_ms)) => Some(Checkpoint {
            stream: stream.clone(),
            seq: u64::try_from(seq).ok()?,
            audio_ms,
        }),
        _ => None,
    };
    Some(Route {
        meeting,
        session: text("session")?.parse().ok()?,
        owner: Task {
            id: text("task")?.clone(),
            url: text("task_url")?.clone(),
        },
        checkpoint,
    })
}
