//! Live-caption connections in the ephemeral table (issue 19): who listens to which meeting,
//! for the fan-out of segments and statuses, whichever way they connected (the API Gateway
//! WebSocket API, or the bridge's legacy path).
//!
//! Two items per connection, written and deleted together (one transaction):
//! - `pk = "conn#{connection_id}"`, `sk = "conn"`: the connection by id ($disconnect,
//!   $default: which meeting and user);
//! - `pk = "meeting#{meeting_id}#conns"`, `sk = "conn#{connection_id}"`: the same, so that one
//!   Query lists a meeting's listeners.
//!
//! Each expires (`expires_at`) after [`CONNECTION_TTL`], API Gateway's longest connection, so
//! a connection whose $disconnect never ran does not linger; reads skip expired items
//! themselves (DynamoDB deletes them lazily, the emulator never).

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};
use chrono::Utc;
use uuid::Uuid;

use crate::ephemeral::{PARTITION_KEY, SORT_KEY, StoreError, TTL_ATTRIBUTE};

/// How long a connection is kept (2 h): API Gateway closes a WebSocket connection after two
/// hours whatever happens (protocols.md §2.3).
pub const CONNECTION_TTL: Duration = Duration::from_secs(2 * 3600);

/// How a listener is connected, so a push goes the right way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// The API Gateway WebSocket API: pushed through its `@connections` Management API.
    ApiGateway,
    /// The bridge's legacy path (`/ws/meetings/{id}/live/`), held by bridge task `task`: pushed
    /// through that task.
    Bridge { task: String },
}

/// One connection to a meeting's live captions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// API Gateway's `connectionId`, or the bridge's own id for its sockets.
    pub id: String,
    pub meeting: Uuid,
    /// The authenticated member.
    pub user: Uuid,
    pub via: Via,
    /// When it connected, epoch ms.
    pub connected_at_ms: i64,
    /// When the access token it connected with expires, epoch s: past it the connection gets
    /// nothing more. `None`: not known.
    pub token_expires_at: Option<i64>,
}

/// The connections of the ephemeral table.
#[derive(Clone, Debug)]
pub struct ConnectionStore {
    client: Client,
    table: String,
}

/// Tries of one connection transaction ([`ConnectionStore::transact`]).
pub const TRANSACT_ATTEMPTS: u32 = 5;

const OPERATION_REGISTER: &str = "TransactWriteItems (connect)";
const OPERATION_REMOVE: &str = "TransactWriteItems (disconnect)";

fn by_id_key(id: &str) -> (String, String) {
    (format!("conn#{id}"), "conn".to_owned())
}

fn by_meeting_key(meeting: Uuid, id: &str) -> (String, String) {
    (format!("meeting#{meeting}#conns"), format!("conn#{id}"))
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

impl ConnectionStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// Records `connection` (both items), kept for [`CONNECTION_TTL`].
    pub async fn register(&self, connection: &Connection) -> Result<(), StoreError> {
        let expires = Utc::now().timestamp() + CONNECTION_TTL.as_secs() as i64;
        let mut item: HashMap<String, AttributeValue> = HashMap::from([
            ("id".to_owned(), s(&connection.id)),
            ("meeting".to_owned(), s(connection.meeting.to_string())),
            ("user".to_owned(), s(connection.user.to_string())),
            (
                "connected_at".to_owned(),
                AttributeValue::N(connection.connected_at_ms.to_string()),
            ),
            (
                TTL_ATTRIBUTE.to_owned(),
                AttributeValue::N(expires.to_string()),
            ),
        ]);
        if let Some(exp) = connection.token_expires_at {
            item.insert("token_exp".to_owned(), AttributeValue::N(exp.to_string()));
        }
        match &connection.via {
            Via::ApiGateway => {
                item.insert("via".to_owned(), s("apigw"));
            }
            Via::Bridge { task } => {
                item.insert("via".to_owned(), s("bridge"));
                item.insert("task".to_owned(), s(task));
            }
        }
        let put = |(pk, sk): (String, String)| -> Result<TransactWriteItem, StoreError> {
            let mut item = item.clone();
            item.insert(PARTITION_KEY.to_owned(), s(pk));
            item.insert(SORT_KEY.to_owned(), s(sk));
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .build()
                .map_err(|e| StoreError::malformed(OPERATION_REGISTER, &e.to_string()))?;
            Ok(TransactWriteItem::builder().put(put).build())
        };
        let items = [
            put(by_id_key(&connection.id))?,
            put(by_meeting_key(connection.meeting, &connection.id))?,
        ];
        self.transact(OPERATION_REGISTER, &items).await
    }

    /// The connection `id`, unless unknown or expired.
    pub async fn get(&self, id: &str) -> Result<Option<Connection>, StoreError> {
        let (pk, sk) = by_id_key(id);
        let item = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PARTITION_KEY, s(pk))
            .key(SORT_KEY, s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::from_sdk("GetItem (connection)", e))?
            .item;
        Ok(item.and_then(|item| live(&item)))
    }

    /// Forgets the connection `id` (both items); answers what it was, if known.
    pub async fn remove(&self, id: &str) -> Result<Option<Connection>, StoreError> {
        let Some(connection) = self.get(id).await? else {
            return Ok(None);
        };
        let delete = |(pk, sk): (String, String)| -> Result<TransactWriteItem, StoreError> {
            let delete = Delete::builder()
                .table_name(&self.table)
                .key(PARTITION_KEY, s(pk))
                .key(SORT_KEY, s(sk))
                .build()
                .map_err(|e| StoreError::malformed(OPERATION_REMOVE, &e.to_string()))?;
            Ok(TransactWriteItem::builder().delete(delete).build())
        };
        let items = [
            delete(by_id_key(id))?,
            delete(by_meeting_key(connection.meeting, id))?,
        ];
        self.transact(OPERATION_REMOVE, &items).await?;
        Ok(Some(connection))
    }

    /// Writes `items` in one transaction, tried again (up to [`TRANSACT_ATTEMPTS`] times, 50 ms
    /// then doubling) when DynamoDB cancels it for a conflict with another transaction or
    /// answers a 5xx: both are transient (the emulator answers concurrent transactions with
    /// 500s). The SDK's own retries do not cover a cancelled transaction.
    async fn transact(
        &self,
        operation: &'static str,
        items: &[TransactWriteItem],
    ) -> Result<(), StoreError> {
        let mut delay = std::time::Duration::from_millis(50);
        for attempt in 1..=TRANSACT_ATTEMPTS {
            let sent = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.to_vec()))
                .send()
                .await;
            match sent {
                Ok(_) => return Ok(()),
                Err(err) => {
                    let transient = err.raw_response().is_some_and(|r| r.status().is_server_error())
                        || matches!(
                            err.as_service_error(),
                            Some(aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(_))
                                | Some(aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionInProgressException(_))
                        );
                    if !transient || attempt == TRANSACT_ATTEMPTS {
                        return Err(StoreError::from_sdk(operation, err));
                    }
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                }
            }
        }
        Ok(())
    }

    /// Every live connection to `meeting`'s captions (Query, all pages), oldest first.
    pub async fn of_meeting(&self, meeting: Uuid) -> Result<Vec<Connection>, StoreError> {
        let pk = format!("meeting#{meeting}#conns");
        let mut connections = Vec::new();
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", PARTITION_KEY)
            .expression_attribute_values(":pk", s(pk))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send();
        while let Some(item) = pages.next().await {
            let item = item.map_err(|e| StoreError::from_sdk("Query (connections)", e))?;
            connections.extend(live(&item));
        }
        connections.sort_by_key(|c| c.connected_at_ms);
        Ok(connections)
    }
}

/// The connection of `item`, unless expired or malformed.
fn live(item: &HashMap<String, AttributeValue>) -> Option<Connection> {
    let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok());
    let number = |name: &str| {
        item.get(name)
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse::<i64>().ok())
    };
    if number(TTL_ATTRIBUTE)? <= Utc::now().timestamp() {
        return None;
    }
    let via = match text("via")?.as_str() {
        "apigw" => Via::ApiGateway,
        "bridge" => Via::Bridge {
            task: text("task")?.clone(),
        },
        _ => return None,
    };
    Some(Connection {
        id: text("id")?.clone(),
        meeting: text("meeting")?.parse().ok()?,
        user: text("user")?.parse().ok()?,
        via,
        connected_at_ms: number("connected_at")?,
        token_expires_at: number("token_exp"),
    })
}
