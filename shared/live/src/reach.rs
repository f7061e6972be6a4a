//! Pushing one message to one listener, whichever way it connected: through API Gateway's
//! `@connections` ([`Pusher`]), to a legacy socket the calling task holds itself
//! ([`LocalDelivery`]), or through the bridge task that holds it ([`RelayClient::push`]). A
//! connection found gone is forgotten ([`ConnectionStore::remove`]). The bridge's sessions
//! and the socket handlers (`speaker_updated`, error frames) push through it alike.

use std::sync::Arc;

use meetin_aws::push::{Delivery, Pusher};
use meetin_aws::{Connection, ConnectionStore, Via};

use crate::{PushIn, RelayClient, RelayError};

/// Delivery to the legacy sockets the calling task holds: `false` when the socket is not
/// there (gone).
pub type LocalDelivery = Arc<dyn Fn(&str, Arc<str>) -> bool + Send + Sync>;

/// Closing one of the calling task's own legacy sockets (a policy close, 1008).
pub type LocalClose = Arc<dyn Fn(&str) + Send + Sync>;

/// How a caller reaches listeners.
#[derive(Clone)]
pub struct Reach {
    /// The calling bridge task's private URL (how [`Via::Bridge`] names it); `None` outside
    /// the bridge.
    pub task_url: Option<String>,
    pub connections: ConnectionStore,
    /// `None` when no WebSocket API is configured: API Gateway listeners are skipped.
    pub pusher: Option<Pusher>,
    pub relay: RelayClient,
    /// The calling task's own legacy sockets.
    pub local: Option<LocalDelivery>,
    /// Closes one of the calling task's own legacy sockets (policy violation, 1008).
    pub close_local: Option<LocalClose>,
}

impl std::fmt::Debug for Reach {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reach")
            .field("task_url", &self.task_url)
            .field("pusher", &self.pusher.is_some())
            .finish_non_exhaustive()
    }
}

impl Reach {
    /// Sends `text` to `connection`; `false` when it is gone (and then forgotten). A failure
    /// that is not "gone" (throttled, unreachable API) is logged and counts as delivered: the
    /// connection stays.
    pub async fn push(&self, connection: &Connection, text: &Arc<str>) -> bool {
        let delivered = match &connection.via {
            Via::ApiGateway => match &self.pusher {
                Some(pusher) => match pusher.post(&connection.id, text.as_bytes().to_vec()).await {
                    Ok(Delivery::Delivered) => true,
                    Ok(Delivery::Gone) => false,
                    Err(error) => {
                        tracing::warn!(connection = %connection.id, error = %error, "push failed");
                        return true;
                    }
                },
                None => return true,
            },
            Via::Bridge { task } if Some(task) == self.task_url.as_ref() => match &self.local {
                Some(local) => local(&connection.id, Arc::clone(text)),
                None => false,
            },
            Via::Bridge { task } => {
                let push = PushIn {
                    connection_id: connection.id.clone(),
                    text: text.to_string(),
                };
                match self.relay.push(task, &push).await {
                    Ok(()) => true,
                    // The socket, or its whole task, is gone.
                    Err(RelayError::Gone | RelayError::Unreachable { .. }) => false,
                    Err(error) => {
                        tracing::warn!(connection = %connection.id, error = %error, "push failed");
                        return true;
                    }
                }
            }
        };
        if !delivered {
            tracing::info!(connection = %connection.id, "listener gone; forgotten");
            if let Err(error) = self.connections.remove(&connection.id).await {
                tracing::warn!(error = %error, "forgetting a gone listener failed");
            }
        }
        delivered
    }

    /// Closes `connection` and forgets it: API Gateway's `DeleteConnection`, or a close frame
    /// for a legacy socket held here (one held by another task closes at its own recheck).
    pub async fn disconnect(&self, connection: &Connection) {
        match &connection.via {
            Via::ApiGateway => {
                if let Some(pusher) = &self.pusher
                    && let Err(error) = pusher.disconnect(&connection.id).await
                {
                    tracing::warn!(connection = %connection.id, error = %error, "disconnect failed");
                }
            }
            Via::Bridge { task } if Some(task) == self.task_url.as_ref() => {
                if let Some(close) = &self.close_local {
                    close(&connection.id);
                }
            }
            Via::Bridge { .. } => {}
        }
        if let Err(error) = self.connections.remove(&connection.id).await {
            tracing::warn!(error = %error, "forgetting a connection failed");
        }
    }

    /// Sends `text` to every listener of `meeting` (at most `concurrency` pushes at once);
    /// how many got it.
    pub async fn broadcast(
        &self,
        meeting: uuid::Uuid,
        text: &Arc<str>,
        concurrency: usize,
    ) -> usize {
        use futures_util::StreamExt;
        let listeners = match self.connections.of_meeting(meeting).await {
            Ok(listeners) => listeners,
            Err(error) => {
                tracing::warn!(error = %error, "reading listeners failed");
                return 0;
            }
        };
        let pushes = listeners.into_iter().map(|c| {
            let reach = self.clone();
            let text = Arc::clone(text);
            async move { reach.push(&c, &text).await }
        });
        futures_util::stream::iter(pushes)
            .buffer_unordered(concurrency.max(1))
            .filter(|delivered| std::future::ready(*delivered))
            .count()
            .await
    }
}
