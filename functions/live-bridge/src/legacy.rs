//! The existing frontend's live socket, served by the bridge itself (issue 19, item 5):
//! `GET /ws/meetings/{id}/live/?token=<access JWT>` (contract §3), which sends *binary* PCM
//! frames API Gateway cannot take. In production the public load balancer routes the path
//! here; locally the stack's public app does.
//!
//! - Handshake, in the contract's order: the Origin allowlist (`CORS_ALLOWED_ORIGINS`; a
//!   missing Origin only with `*`), the access token, membership of the meeting, then the
//!   connection caps; any refusal is the handshake's 403 (429 for the caps), a JSON body.
//! - Binary frames are audio (PCM16 LE mono 16 kHz), numbered here in arrival order and sent
//!   to the session's owner (this task, or another through the relay); with no active session
//!   they are dropped silently, as the contract says. Text frames are the contract's client
//!   messages.
//! - The socket is registered as a listener ([`Via::Bridge`] naming this task), so every
//!   segment of the meeting reaches it whichever task serves the session.
//! - Every [`RECHECK_EVERY`] the token's expiry and the member's access are checked again: a
//!   member removed, or whose token expired, gets `session_status: disconnected` and the
//!   socket closes (1008).

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::{HeaderValue, Request, Response, StatusCode, header};
use hyper_util::rt::TokioIo;
use meetin_aws::{Connection, Route, Via};
use meetin_core::{Access, Refusal};
use meetin_live::{AudioIn, RelayError, ResumeIn, StopSession};
use meetin_messages::socket::{
    self, ClientMessage, Control, ControlStatus, NO_ACTIVE_SESSION, PROCESSING_FAILED,
    ServerMessage, SessionStatus,
};
use meetin_service::ServiceError;
use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use uuid::Uuid;

use crate::live::fanout::{Outgoing, SOCKET_QUEUE};
use crate::live::session::{Chunk, Command};
use crate::{Body, Bridge, json};

/// Largest frame or message a client may send, in bytes: the frontend's frames are 8,192;
/// past it the socket closes with 1009.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;

/// How often the token and the membership are checked again.
pub const RECHECK_EVERY: Duration = Duration::from_secs(15);

/// A ping this often keeps load balancers (60 s idle by default) from closing a quiet socket.
pub const PING_EVERY: Duration = Duration::from_secs(30);

/// The meeting of a legacy socket path (`/ws/meetings/{id}/live/`, the slash optional);
/// `Some(None)` for a malformed id.
pub fn socket_path(path: &str) -> Option<Option<Uuid>> {
    let rest = path.strip_prefix("/ws/meetings/")?;
    let id = rest
        .strip_suffix("/live/")
        .or_else(|| rest.strip_suffix("/live"))?;
    if id.contains('/') {
        return None;
    }
    Some(meetin_core::validation::parse_path_uuid(id))
}

fn refused(status: StatusCode, detail: &str) -> Response<Body> {
    json(status, &serde_json::json!({ "detail": detail }))
}

/// The handshake: checks, then `101` and the socket's own task.
pub async fn upgrade<B>(
    bridge: &Arc<Bridge>,
    meeting: Option<Uuid>,
    mut req: Request<B>,
) -> Response<Body>
where
    B: Send + 'static,
{
    let is_upgrade = req
        .headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    let key = req.headers().get(header::SEC_WEBSOCKET_KEY).cloned();
    let version_ok = req
        .headers()
        .get(header::SEC_WEBSOCKET_VERSION)
        .is_some_and(|v| v == "13");
    let (Some(key), true, true) = (key, is_upgrade, version_ok) else {
        return refused(
            StatusCode::UPGRADE_REQUIRED,
            "This path takes a WebSocket upgrade.",
        );
    };
    // The contract: every refusal before accept is the handshake's 403.
    let forbidden = || refused(StatusCode::FORBIDDEN, "Access denied.");
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(|o| o.trim_end_matches('/').to_owned());
    let any = bridge.origins.iter().any(|o| o == "*");
    if !(any
        || origin
            .as_deref()
            .is_some_and(|o| bridge.origins.iter().any(|a| a == o)))
    {
        return forbidden();
    }
    let Some(meeting) = meeting else {
        return forbidden();
    };
    let token = req
        .uri()
        .query()
        .and_then(|q| url::form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "token"))
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let user = match meetin_service::authenticate(&bridge.service, &token).await {
        Ok(user) => user,
        Err(ServiceError::Refused(refusal)) => {
            tracing::info!(
                status = refusal.status().as_u16(),
                "live socket refused: the access token is missing, invalid or expired"
            );
            return forbidden();
        }
        Err(ServiceError::Internal(internal)) => {
            return crate::error(ServiceError::Internal(internal));
        }
    };
    let expires_at = bridge
        .service
        .jwt
        .verify(
            &token,
            meetin_core::jwt::TokenType::Access,
            chrono::Utc::now(),
        )
        .map(|c| c.exp)
        .unwrap_or(0);
    match meetin_service::access::meeting(&bridge.service.pool, user.id, meeting, Access::Read)
        .await
    {
        Ok(_) => {}
        Err(ServiceError::Refused(_)) => return forbidden(),
        Err(internal) => return crate::error(internal),
    }
    let live = &bridge.live;
    let present = match live.connections.of_meeting(meeting).await {
        Ok(present) => present,
        Err(error) => return crate::error(ServiceError::internal(error)),
    };
    if present.len() >= meetin_live::MAX_CONNECTIONS_PER_MEETING
        || present.iter().filter(|c| c.user == user.id).count()
            >= meetin_live::MAX_CONNECTIONS_PER_USER
    {
        return refused(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many live connections to this meeting.",
        );
    }
    let connection = Connection {
        id: format!("bridge-{}", Uuid::new_v4()),
        meeting,
        user: user.id,
        via: Via::Bridge {
            task: live.task.url.clone(),
        },
        connected_at_ms: chrono::Utc::now().timestamp_millis(),
        token_expires_at: Some(expires_at),
    };
    if let Err(error) = live.connections.register(&connection).await {
        return crate::error(ServiceError::internal(error));
    }
    let (outbox, queue) = mpsc::channel(SOCKET_QUEUE);
    live.local.insert(connection.id.clone(), outbox);
    let on_upgrade = hyper::upgrade::on(&mut req);
    let bridge = Arc::clone(bridge);
    tokio::spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => {
                let config = WebSocketConfig::default()
                    .max_frame_size(Some(MAX_FRAME_BYTES))
                    .max_message_size(Some(MAX_FRAME_BYTES));
                let socket = WebSocketStream::from_raw_socket(
                    TokioIo::new(upgraded),
                    Role::Server,
                    Some(config),
                )
                .await;
                serve(&bridge, &connection, expires_at, socket, queue).await;
            }
            Err(error) => tracing::debug!(%error, "legacy socket upgrade failed"),
        }
        bridge.live.local.remove(&connection.id);
        if let Err(error) = bridge.live.connections.remove(&connection.id).await {
            tracing::warn!(error = %error, "forgetting a legacy socket failed");
        }
    });
    let mut response = Response::new(Body::default());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    if let Ok(accept) = HeaderValue::from_str(&derive_accept_key(key.as_bytes())) {
        headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    }
    response
}

type Socket = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

/// One accepted socket until it closes.
async fn serve(
    bridge: &Arc<Bridge>,
    connection: &Connection,
    expires_at: i64,
    socket: Socket,
    mut queue: mpsc::Receiver<Outgoing>,
) {
    let (mut sink, mut frames) = socket.split();
    let mut numbering = Numbering::default();
    let mut recheck = tokio::time::interval(RECHECK_EVERY);
    recheck.tick().await;
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    let close = |code: CloseCode, reason: &str| {
        Message::Close(Some(CloseFrame {
            code,
            reason: reason.to_owned().into(),
        }))
    };
    loop {
        tokio::select! {
            frame = frames.next() => {
                let frame = match frame {
                    Some(Ok(frame)) => frame,
                    Some(Err(tokio_tungstenite::tungstenite::Error::Capacity(_))) => {
                        let _ = sink.send(close(CloseCode::Size, "Message too big")).await;
                        return;
                    }
                    Some(Err(_)) | None => return,
                };
                let replies = match frame {
                    Message::Binary(pcm) => {

                        audio(bridge, connection, None, 0, Some(&mut numbering), pcm, true).await.into_iter().collect()
                    }
                    Message::Text(text) => text_frame(bridge, connection, text.as_str()).await,
                    Message::Close(_) => {
                        // Sends tungstenite's queued reply, so the client sees a clean close.
                        let _ = sink.close().await;
                        return;
                    }
                    _ => Vec::new(),
                };
                for reply in replies {
                    if sink.send(Message::text(reply.to_text())).await.is_err() {
                        return;
                    }
                }
            }
            outgoing = queue.recv() => match outgoing {
                Some(Outgoing::Text(text)) => {
                    if sink.send(Message::text(text.to_string())).await.is_err() {
                        return;
                    }
                }
                Some(Outgoing::Close(code, reason)) => {
                    let _ = sink.send(close(CloseCode::from(code), &reason)).await;
                    return;
                }
                // Dropped as too slow.
                None => {
                    let _ = sink.send(close(CloseCode::Policy, "Too slow")).await;
                    return;
                }
            },
            _ = recheck.tick() => {
                let expired = chrono::Utc::now().timestamp() >= expires_at;
                let member = match meetin_service::access::meeting(&bridge.service.pool, connection.user, connection.meeting, Access::Read).await {
                    Ok(_) => true,
                    Err(ServiceError::Refused(_)) => false,
                    // The database briefly unreachable is not the member's doing.
                    Err(ServiceError::Internal(_)) => true,
                };
                if expired || !member {
                    let message = if expired { "Your session has expired; reconnect with a fresh token." } else { "You no longer have access to this meeting." };
                    let _ = sink.send(Message::text(ServerMessage::SessionStatus { status: SessionStatus::Disconnected, message: message.to_owned() }.to_text())).await;
                    let _ = sink.send(close(CloseCode::Policy, message)).await;
                    return;
                }
            }
            _ = ping.tick() => {
                if sink.send(Message::Ping(Bytes::new())).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// Sends one chunk to the session's owner; the `error` for the client, if any. With
/// `silent_without_session`, a chunk with no active session is dropped without a word
/// (binary frames, contract §3).
/// How a legacy socket numbers its binary frames: per session, counting only the frames a
/// session took (a frame dropped with no session, or refused, uses no number), so a client
/// that never sends a `seq` never meets `Invalid seq`.
#[derive(Debug, Default)]
struct Numbering {
    session: Option<Uuid>,
    next: u64,
}

async fn audio(
    bridge: &Arc<Bridge>,
    connection: &Connection,
    stream: Option<String>,
    seq: u64,
    mut numbering: Option<&mut Numbering>,
    pcm: Bytes,
    silent_without_session: bool,
) -> Option<ServerMessage> {
    let live = &bridge.live;
    let no_session = || (!silent_without_session).then(|| ServerMessage::error(NO_ACTIVE_SESSION));
    let route = match live.routes.get(connection.meeting).await {
        Ok(Some(route)) => route,
        Ok(None) => return no_session(),
        Err(error) => {
            tracing::warn!(error = %error, "reading the live route failed");
            return Some(ServerMessage::error(PROCESSING_FAILED));
        }
    };
    if let Err(refusal) = writable(bridge, connection).await {
        return Some(refusal);
    }
    let seq = match numbering.as_deref_mut() {
        Some(numbering) => {
            if numbering.session != Some(route.session) {
                *numbering = Numbering {
                    session: Some(route.session),
                    next: 0,
                };
            }
            numbering.next
        }
        None => seq,
    };
    let answer = deliver(bridge, connection, &route, stream, seq, pcm, no_session).await;
    if answer.is_none()
        && let Some(numbering) = numbering
    {
        numbering.next += 1;
    }
    answer
}

/// One chunk to the session's owner: this task, or another through the relay.
async fn deliver(
    bridge: &Arc<Bridge>,
    connection: &Connection,
    route: &Route,
    stream: Option<String>,
    seq: u64,
    pcm: Bytes,
    no_session: impl Fn() -> Option<ServerMessage>,
) -> Option<ServerMessage> {
    let live = &bridge.live;
    let acknowledged = stream.is_some();
    let stream = stream.unwrap_or_else(|| connection.id.clone());
    if let Some(handle) = live.session(route.session) {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let chunk = Chunk {
            stream,
            connection: connection.id.clone(),
            acknowledged,
            seq,
            pcm,
        };
        if handle
            .commands
            .send(Command::Audio { chunk, reply })
            .await
            .is_err()
        {
            return no_session();
        }
        return match answer.await {
            Ok(Ok(())) => None,
            Ok(Err(message)) => Some(ServerMessage::error(message)),
            Err(_) => no_session(),
        };
    }
    if route.owner.id == live.task.id {
        // Recorded as this task's but no longer running here: it ended.
        return no_session();
    }
    let chunk = AudioIn {
        meeting_id: connection.meeting,
        session_id: route.session,
        connection_id: connection.id.clone(),
        user_id: connection.user,
        stream: Some(stream),
        seq,
        data: base64::engine::general_purpose::STANDARD.encode(&pcm),
        take_over_from: None,
    };
    match relay(bridge, route, chunk).await {
        // The session ended between the route's read and the chunk (a stop in progress).
        Some(ServerMessage::Error { message }) if message == NO_ACTIVE_SESSION => no_session(),
        other => other,
    }
}

async fn relay(bridge: &Arc<Bridge>, route: &Route, mut chunk: AudioIn) -> Option<ServerMessage> {
    let live = &bridge.live;
    let mut target = route.owner.url.clone();
    for _ in 0..3 {
        match live.reach.relay.audio(&target, &chunk).await {
            Ok(()) => return None,
            Err(RelayError::Refused { error, .. }) => return Some(ServerMessage::error(error)),
            Err(RelayError::Moved(url)) => target = url,
            Err(RelayError::Unreachable { .. }) => {
                // The owner is gone: this task takes the session over.
                chunk.take_over_from = Some(route.owner.id.clone());
                target = live.task.url.clone();
            }
            Err(RelayError::Gone | RelayError::TimedOut { .. }) => break,
        }
    }
    Some(ServerMessage::error(PROCESSING_FAILED))
}

/// The member may still write in the meeting; else the `error` frame.
async fn writable(bridge: &Arc<Bridge>, connection: &Connection) -> Result<(), ServerMessage> {
    match meetin_service::access::meeting(
        &bridge.service.pool,
        connection.user,
        connection.meeting,
        Access::Write,
    )
    .await
    {
        Ok(_) => Ok(()),
        Err(ServiceError::Refused(refusal)) => Err(ServerMessage::error(detail(&refusal))),
        Err(_) => Err(ServerMessage::error(PROCESSING_FAILED)),
    }
}

fn detail(refusal: &Refusal) -> String {
    refusal
        .body()
        .get("detail")
        .and_then(|d| d.as_str())
        .unwrap_or(PROCESSING_FAILED)
        .to_owned()
}

/// A client text frame: the answers for this socket.
async fn text_frame(
    bridge: &Arc<Bridge>,
    connection: &Connection,
    text: &str,
) -> Vec<ServerMessage> {
    let parsed = match socket::parse_client(text) {
        Ok(Some(parsed)) => parsed,
        Ok(None) => return Vec::new(),
        Err(refused) => return vec![refused.to_server_message()],
    };
    let live = &bridge.live;
    let pool = &bridge.service.pool;
    match parsed {
        ClientMessage::AudioChunk { seq, data, stream } => {
            let Ok(pcm) = base64::engine::general_purpose::STANDARD.decode(data.as_bytes()) else {
                return vec![ServerMessage::error(crate::live::session::INVALID_DATA)];
            };
            let stream = Some(stream.unwrap_or_else(|| connection.id.clone()));
            audio(
                bridge,
                connection,
                stream,
                seq,
                None,
                Bytes::from(pcm),
                false,
            )
            .await
            .into_iter()
            .collect()
        }
        ClientMessage::Control {
            control: Control::Start,
        } => vec![ServerMessage::ControlResponse {
            control: Control::Start,
            status: ControlStatus::UseApiToStart,
        }],
        ClientMessage::Control {
            control: Control::Stop,
        } => {
            if let Err(refusal) = writable(bridge, connection).await {
                return vec![refusal];
            }
            if let Ok(Some(route)) = live.routes.get(connection.meeting).await {
                let stop = StopSession {
                    meeting_id: connection.meeting,
                    session_id: route.session,
                };
                if route.owner.id == live.task.id {
                    live.stop(route.session).await;
                } else if let Err(error) = live.reach.relay.stop(&route.owner.url, &stop).await {
                    tracing::warn!(error = %error, "the bridge did not stop the session");
                }
            }
            match meetin_data::live_sessions::stop_active(pool, connection.user, connection.meeting)
                .await
            {
                Ok(Some(_)) => vec![ServerMessage::ControlResponse {
                    control: Control::Stop,
                    status: ControlStatus::Stopped,
                }],
                Ok(None) => vec![ServerMessage::error(NO_ACTIVE_SESSION)],
                Err(error) => {
                    tracing::error!(error = %error, "stopping a session failed");
                    vec![ServerMessage::error(PROCESSING_FAILED)]
                }
            }
        }
        ClientMessage::SpeakerMapping {
            speaker_label,
            display_name,
        } => {
            if let Err(refusal) = writable(bridge, connection).await {
                return vec![refusal];
            }
            if let Err(error) = meetin_data::speakers::rename(
                pool,
                connection.user,
                connection.meeting,
                &speaker_label,
                &display_name,
            )
            .await
            {
                tracing::error!(error = %error, "renaming a speaker failed");
                return vec![ServerMessage::error(PROCESSING_FAILED)];
            }
            let text: Arc<str> = Arc::from(
                ServerMessage::SpeakerUpdated {
                    speaker_label,
                    display_name,
                }
                .to_text(),
            );
            // Everyone, this socket included, through the fan-out.
            live.reach.broadcast(connection.meeting, &text, 32).await;
            Vec::new()
        }
        ClientMessage::Resume {
            after_segment_id,
            after_ms,
        } => {
            let Ok(Some(route)) = live.routes.get(connection.meeting).await else {
                return vec![ServerMessage::error(NO_ACTIVE_SESSION)];
            };
            let resume = ResumeIn {
                meeting_id: connection.meeting,
                session_id: route.session,
                connection_id: connection.id.clone(),
                after_segment_id,
                after_ms,
            };
            if let Some(handle) = live.session(route.session) {
                let _ = handle
                    .commands
                    .send(Command::Resume {
                        connection: resume.connection_id,
                        after_segment_id,
                        after_ms,
                    })
                    .await;
            } else if live
                .reach
                .relay
                .resume(&route.owner.url, &resume)
                .await
                .is_err()
            {
                return vec![ServerMessage::error(PROCESSING_FAILED)];
            }
            Vec::new()
        }
    }
}
