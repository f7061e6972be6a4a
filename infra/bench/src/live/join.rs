//! Joining many listeners without the emulator's transactions.
//!
//! `ConnectionStore::register` and `remove` write a connection's two items in one
//! `TransactWriteItems`, and moto (the local AWS emulator) deep-copies the whole table before
//! each item of a transaction, to roll back on failure: every `$connect` and `$disconnect`
//! then costs time and memory in proportion to the table, and concurrent ones fail with its
//! "dictionary changed size during iteration" (500). Measured here: 100 listeners joined
//! through the real `$connect` in 13 s, and 1,000 had not after 12 minutes, the emulator's
//! memory growing by 0.5 GB a minute, its `$connect`s timing out at 29 s. In AWS a
//! transaction's cost does not depend on the table.
//!
//! So the fan-out's listeners (and the sessions part's speakers) are registered by
//! [`register_plainly`]: the same two items, written by two `PutItem`s. For a meeting marked
//! with [`Bulk::meeting`], the stack's `$connect` verifies the token and registers the
//! connection so (no membership check, no caps query: the benchmark made the members), and
//! its `$disconnect` leaves the items (the meeting is thrown away); every other event is the
//! deployed `live-socket` handler's.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::Context;
use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use meetin_aws::aws_sdk_dynamodb::Client;
use meetin_aws::aws_sdk_dynamodb::types::AttributeValue;
use meetin_aws::ephemeral::{PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE};
use meetin_aws::{Connection, Via};
use meetin_core::jwt::TokenType;
use meetin_service::ServiceContext;
use uuid::Uuid;

/// Tries per item: the emulator answers 500 now and then beside concurrent calls.
const TRIES: u64 = 5;

/// `connection`'s two items as `ConnectionStore::register` writes them (`conn#{id}` / `conn`,
/// and `meeting#{meeting}#conns` / `conn#{id}`), each by its own `PutItem`.
pub async fn register_plainly(
    client: &Client,
    table: &str,
    connection: &Connection,
) -> anyhow::Result<()> {
    let expires =
        chrono::Utc::now().timestamp() + meetin_aws::connections::CONNECTION_TTL.as_secs() as i64;
    let s = |v: String| AttributeValue::S(v);
    let mut item: HashMap<String, AttributeValue> = HashMap::from([
        ("id".to_owned(), s(connection.id.clone())),
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
            item.insert("via".to_owned(), s("apigw".to_owned()));
        }
        Via::Bridge { task } => {
            item.insert("via".to_owned(), s("bridge".to_owned()));
            item.insert("task".to_owned(), s(task.clone()));
        }
    }
    let keys = [
        (format!("conn#{}", connection.id), "conn".to_owned()),
        (
            format!("meeting#{}#conns", connection.meeting),
            format!("conn#{}", connection.id),
        ),
    ];
    for (pk, sk) in keys {
        let mut item = item.clone();
        item.insert(PARTITION_KEY.to_owned(), s(pk));
        item.insert(SORT_KEY.to_owned(), s(sk));
        let mut tries = 0;
        loop {
            tries += 1;
            let put = client
                .put_item()
                .table_name(table)
                .set_item(Some(item.clone()))
                .send()
                .await;
            match put {
                Ok(_) => break,
                Err(_) if tries < TRIES => {
                    tokio::time::sleep(Duration::from_millis(50 * tries)).await;
                }
                Err(err) => return Err(err).context("registering a connection"),
            }
        }
    }
    Ok(())
}

/// The meetings whose listeners join by [`register_plainly`], and their connections.
#[derive(Clone, Default)]
pub struct Bulk {
    meetings: Arc<Mutex<HashSet<Uuid>>>,
    connections: Arc<Mutex<HashSet<String>>>,
}

impl Bulk {
    /// From now on, `meeting`'s `$connect`s register plainly.
    pub fn meeting(&self, meeting: Uuid) {
        self.meetings
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(meeting);
    }

    fn is_bulk_meeting(&self, meeting: Uuid) -> bool {
        self.meetings
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(&meeting)
    }

    fn connections(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

fn answer(status: i64) -> ApiGatewayProxyResponse {
    let mut response = ApiGatewayProxyResponse::default();
    response.status_code = status;
    response
}

/// The stack's handler: `live-socket`'s, but for the bulk meetings' `$connect` and
/// `$disconnect` ([`Bulk`]).
pub fn handler(
    sockets: live_socket::Sockets,
    service: ServiceContext,
    bulk: Bulk,
) -> meetin_local::sockets::Handler {
    let sockets = Arc::new(sockets);
    meetin_local::sockets::handler(move |event: ApiGatewayWebsocketProxyRequest| {
        let sockets = Arc::clone(&sockets);
        let service = service.clone();
        let bulk = bulk.clone();
        async move {
            let id = event
                .request_context
                .connection_id
                .clone()
                .unwrap_or_default();
            match event.request_context.route_key.as_deref() {
                Some("$connect") => {
                    let query = &event.query_string_parameters;
                    let meeting = query.first("meeting_id").and_then(|m| m.parse().ok());
                    if let Some(meeting) = meeting.filter(|m| bulk.is_bulk_meeting(*m)) {
                        let token = query.first("token").unwrap_or_default();
                        let Ok(claims) =
                            service
                                .jwt
                                .verify(token, TokenType::Access, chrono::Utc::now())
                        else {
                            return Ok(answer(403));
                        };
                        let connection = Connection {
                            id: id.clone(),
                            meeting,
                            user: claims.user_id,
                            via: Via::ApiGateway,
                            connected_at_ms: chrono::Utc::now().timestamp_millis(),
                            token_expires_at: Some(claims.exp),
                        };
                        let ephemeral = &service.ephemeral;
                        return match register_plainly(
                            ephemeral.client(),
                            ephemeral.table(),
                            &connection,
                        )
                        .await
                        {
                            Ok(()) => {
                                bulk.connections().insert(id);
                                Ok(answer(200))
                            }
                            Err(err) => Err(format!("{err:#}")),
                        };
                    }
                }
                Some("$disconnect") if bulk.connections().remove(&id) => {
                    return Ok(answer(200));
                }
                _ => {}
            }
            Ok(live_socket::handle(&sockets, event).await)
        }
    })
}
