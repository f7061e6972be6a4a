//! Pushing a session's messages to the meeting's listeners, whichever way they connected
//! ([`Reach`]); the legacy sockets this task holds ([`LocalSockets`]).
//!
//! One [`Fanout`] task per session sends its messages one after the other, each to every
//! listener concurrently (at most [`CONCURRENT_PUSHES`] at once), so every listener gets them
//! in order and a slow listener delays only that message's slowest push.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use meetin_aws::Connection;
use meetin_live::reach::Reach;
use tokio::sync::mpsc;
use uuid::Uuid;

/// Pushes in flight per message.
pub const CONCURRENT_PUSHES: usize = 128;

/// How long a meeting's listener list is reused before it is read again; a listener who
/// joins meanwhile gets what it missed with `resume`.
pub const LISTENERS_FRESH_FOR: Duration = Duration::from_secs(1);

/// Frames a legacy socket may have queued before it is dropped as too slow.
pub const SOCKET_QUEUE: usize = 256;

/// What a legacy socket held by this task is sent.
#[derive(Debug, Clone)]
pub enum Outgoing {
    Text(Arc<str>),
    /// Close with this code and reason.
    Close(u16, String),
}

/// The legacy sockets this task holds, by connection id.
#[derive(Debug, Default)]
pub struct LocalSockets {
    sockets: Mutex<HashMap<String, mpsc::Sender<Outgoing>>>,
}

impl LocalSockets {
    pub fn insert(&self, id: String, sender: mpsc::Sender<Outgoing>) {
        self.lock().insert(id, sender);
    }

    pub fn remove(&self, id: &str) {
        self.lock().remove(id);
    }

    /// Queues `message` for socket `id`: `false` when it is not here, or too slow (then it is
    /// told to close).
    pub fn send(&self, id: &str, message: Outgoing) -> bool {
        let Some(sender) = self.lock().get(id).cloned() else {
            return false;
        };
        match sender.try_send(message) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::warn!(connection = id, "legacy socket too slow; closing it");
                self.remove(id);
                // The socket's writer also ends when its queue's sender is dropped.
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                self.remove(id);
                false
            }
        }
    }

    /// Delivery to these sockets as [`Reach`] takes it.
    pub fn delivery(self: &Arc<Self>) -> meetin_live::reach::LocalDelivery {
        let sockets = Arc::clone(self);
        Arc::new(move |id: &str, text: Arc<str>| sockets.send(id, Outgoing::Text(text)))
    }

    /// Closing these sockets as [`Reach`] takes it: a policy close (1008).
    pub fn closer(self: &Arc<Self>) -> meetin_live::reach::LocalClose {
        let sockets = Arc::clone(self);
        Arc::new(move |id: &str| {
            sockets.send(id, Outgoing::Close(1008, "No longer allowed".to_owned()));
        })
    }

    /// Every socket held here.
    pub fn ids(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, mpsc::Sender<Outgoing>>> {
        // A panic while holding this lock leaves the map as it was; go on with it.
        self.sockets
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }
}

/// Who a message is for.
#[derive(Debug, Clone)]
pub enum Target {
    /// Every listener of the meeting.
    Meeting,
    /// One connection (an acknowledgement, an error, a resume's backlog).
    Connection(String),
    /// No one: answered once everything queued before it was pushed ([`Fanout::flush`]).
    Flush(tokio::sync::mpsc::UnboundedSender<()>),
}

/// The queue of one session's outgoing messages, and the task draining it.
#[derive(Debug, Clone)]
pub struct Fanout {
    queue: mpsc::UnboundedSender<(Target, Arc<str>)>,
}

impl Fanout {
    /// Starts the task pushing `meeting`'s messages; it ends when every [`Fanout`] clone is
    /// dropped and its queue is drained.
    pub fn start(reach: Reach, meeting: Uuid, organization: Uuid, pool: sqlx::PgPool) -> Self {
        let (queue, mut messages) = mpsc::unbounded_channel::<(Target, Arc<str>)>();
        tokio::spawn(async move {
            let mut listeners: Vec<Connection> = Vec::new();
            let mut read_at: Option<Instant> = None;
            while let Some((target, text)) = messages.recv().await {
                match target {
                    Target::Flush(done) => {
                        let _ = done.send(());
                    }
                    Target::Connection(id) => {
                        if let Some(connection) = connection_of(&reach, &listeners, &id).await {
                            reach.push(&connection, &text).await;
                        }
                    }
                    Target::Meeting => {
                        if read_at.is_none_or(|at| at.elapsed() > LISTENERS_FRESH_FOR) {
                            match reach.connections.of_meeting(meeting).await {
                                Ok(now) => {
                                    listeners = allowed(&reach, &pool, organization, now).await;
                                    read_at = Some(Instant::now());
                                }
                                Err(error) => {
                                    tracing::warn!(error = %error, "reading listeners failed; using the last list");
                                }
                            }
                        }
                        let pushes = listeners.iter().cloned().map(|c| {
                            let reach = reach.clone();
                            let text = Arc::clone(&text);
                            async move { (!reach.push(&c, &text).await).then_some(c.id) }
                        });
                        let gone: Vec<String> = futures_util::stream::iter(pushes)
                            .buffer_unordered(CONCURRENT_PUSHES)
                            .filter_map(std::future::ready)
                            .collect()
                            .await;
                        listeners.retain(|c| !gone.contains(&c.id));
                    }
                }
            }
        });
        Self { queue }
    }

    /// Waits until everything queued so far was pushed (at most `wait`).
    pub async fn flush(&self, wait: std::time::Duration) {
        let (done, mut flushed) = mpsc::unbounded_channel();
        if self
            .queue
            .send((Target::Flush(done), Arc::from("")))
            .is_ok()
        {
            let _ = tokio::time::timeout(wait, flushed.recv()).await;
        }
    }

    /// Queues `text` for `target`.
    pub fn send(&self, target: Target, text: impl Into<Arc<str>>) {
        // The task ends only after every sender is gone.
        let _ = self.queue.send((target, text.into()));
    }
}

/// `listeners` without those who may no longer hear the meeting: a token expired, or no
/// longer a member of its organization. Those are told (`session_status: disconnected`),
/// disconnected and forgotten. When membership cannot be read, everyone stays.
async fn allowed(
    reach: &Reach,
    pool: &sqlx::PgPool,
    organization: Uuid,
    listeners: Vec<Connection>,
) -> Vec<Connection> {
    let users: Vec<Uuid> = listeners.iter().map(|c| c.user).collect();
    let members = match meetin_data::access::members_among(pool, organization, &users).await {
        Ok(members) => members,
        Err(error) => {
            tracing::warn!(error = %error, "reading members failed; keeping every listener");
            return listeners;
        }
    };
    let now = chrono::Utc::now().timestamp();
    let (keep, drop): (Vec<Connection>, Vec<Connection>) = listeners
        .into_iter()
        .partition(|c| members.contains(&c.user) && c.token_expires_at.is_none_or(|exp| exp > now));
    for connection in drop {
        tracing::info!(connection = %connection.id, "listener no longer allowed; disconnected");
        let notice: Arc<str> = Arc::from(
            meetin_messages::socket::ServerMessage::SessionStatus {
                status: meetin_messages::socket::SessionStatus::Disconnected,
                message: "You no longer have access to this meeting's live captions.".to_owned(),
            }
            .to_text(),
        );
        reach.push(&connection, &notice).await;
        reach.disconnect(&connection).await;
    }
    keep
}

async fn connection_of(reach: &Reach, known: &[Connection], id: &str) -> Option<Connection> {
    if let Some(c) = known.iter().find(|c| c.id == id) {
        return Some(c.clone());
    }
    reach.connections.get(id).await.ok().flatten()
}
