//! `live-socket`: the API Gateway WebSocket API's handler (issue 19), one typed
//! `lambda_runtime` function for its three routes:
//!
//! | route         | does                                                                     |
//! |---------------|--------------------------------------------------------------------------|
//! | `$connect`    | Origin allowlist, the access token (`token`), membership of the meeting (`meeting_id`), the connection caps; registers the connection |
//! | `$disconnect` | forgets the connection                                                   |
//! | `$default`    | the contract's client frames (§3): audio relayed to the bridge task serving the session, control start / stop, speaker mapping, resume |
//!
//! Refusals at `$connect` are its status (API Gateway answers the handshake with it); refusals
//! of a frame are an `error` frame pushed back to the sender ([`meetin_messages::socket`]'s
//! strings). No frame reaches a handler from a connection `$connect` refused.

use std::sync::Arc;

use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use meetin_aws::aws_config::SdkConfig;
use meetin_aws::{Connection, ConnectionStore, LiveRoutes, Route, Via};
use meetin_core::settings::Lookup;
use meetin_core::{Access, CorsOrigins, Setting};
use meetin_data::PoolSettings;
use meetin_live::reach::Reach;
use meetin_live::{AudioIn, RelayClient, RelayError, ResumeIn, StopSession};
use meetin_messages::socket::{
    self, ClientMessage, Control, ControlStatus, NO_ACTIVE_SESSION, PROCESSING_FAILED,
    ServerMessage,
};
use meetin_service::{ServiceContext, ServiceError};
use uuid::Uuid;

pub use meetin_live::{MAX_CONNECTIONS_PER_MEETING, MAX_CONNECTIONS_PER_USER};

/// Pushes in flight for one broadcast from a handler (`speaker_updated`).
const BROADCAST_CONCURRENCY: usize = 32;

/// What the handler needs, built once per cold start.
#[derive(Clone, Debug)]
pub struct Sockets {
    pub service: ServiceContext,
    pub connections: ConnectionStore,
    pub routes: LiveRoutes,
    pub reach: Reach,
    pub relay: RelayClient,
    /// The bridge fleet's private address (`BRIDGE_URL`): where a chunk goes when the task
    /// serving its session does not answer (a healthy task takes the session over).
    pub bridge_url: Option<String>,
    /// Origins allowed to open the socket (`CORS_ALLOWED_ORIGINS`; `*` allows any, and a
    /// missing Origin).
    pub origins: CorsOrigins,
}

impl meetin_service::Deps for Sockets {
    /// The service core's context, the ephemeral table's stores, the push client for the
    /// WebSocket API (`WEBSOCKET_CALLBACK_URL`, required), the bridge fleet (`BRIDGE_URL`).
    async fn load_with(
        lookup: Lookup<'_>,
        sdk: &SdkConfig,
        pool: PoolSettings,
    ) -> anyhow::Result<Self> {
        let service = ServiceContext::load_with(lookup, sdk, pool).await?;
        let callback = meetin_core::WebSocketCallbackUrl::from_lookup(lookup)?;
        Self::with_context(service, lookup, sdk, &callback.0)
    }
}

impl Sockets {
    /// The handler's dependencies around `service`, pushing through `callback_url`.
    pub fn with_context(
        service: ServiceContext,
        lookup: Lookup<'_>,
        sdk: &SdkConfig,
        callback_url: &str,
    ) -> anyhow::Result<Self> {
        let client = service.ephemeral.client().clone();
        let table = service.ephemeral.table().to_owned();
        let connections = ConnectionStore::new(client.clone(), table.clone());
        let relay = RelayClient::new();
        Ok(Self {
            reach: Reach {
                task_url: None,
                connections: connections.clone(),
                pusher: Some(meetin_aws::push::Pusher::new(sdk, callback_url)),
                relay: relay.clone(),
                local: None,
                close_local: None,
            },
            connections,
            routes: LiveRoutes::new(client, table),
            relay,
            bridge_url: lookup("BRIDGE_URL")
                .map(|u| u.trim().trim_end_matches('/').to_owned())
                .filter(|u| !u.is_empty()),
            origins: CorsOrigins::from_lookup(lookup)?,
            service,
        })
    }
}

fn answer(status: u16, body: Option<serde_json::Value>) -> ApiGatewayProxyResponse {
    let mut response = ApiGatewayProxyResponse::default();
    response.status_code = i64::from(status);
    response.body = body.map(|b| aws_lambda_events::encodings::Body::Text(b.to_string()));
    response
}

/// Handles one event of any route.
pub async fn handle(
    sockets: &Sockets,
    event: ApiGatewayWebsocketProxyRequest,
) -> ApiGatewayProxyResponse {
    let context = &event.request_context;
    let Some(connection) = context.connection_id.clone() else {
        return answer(400, None);
    };
    match context.route_key.as_deref() {
        Some("$connect") => match connect(sockets, &event, &connection).await {
            Ok(()) => answer(200, None),
            Err(ServiceError::Refused(refusal)) => {
                tracing::info!(status = refusal.status().as_u16(), "connection refused");
                answer(refusal.status().as_u16(), Some(refusal.body()))
            }
            Err(ServiceError::Internal(internal)) => {
                tracing::error!(error = ?internal, "connect failed");
                answer(
                    500,
                    Some(meetin_core::refusal::error_body(PROCESSING_FAILED)),
                )
            }
        },
        Some("$disconnect") => {
            if let Err(error) = sockets.connections.remove(&connection).await {
                tracing::warn!(error = %error, "forgetting a connection failed");
            }
            answer(200, None)
        }
        _ => {
            let body = event.body.as_deref().unwrap_or_default();
            if let Err(error) = message(sockets, &connection, body).await {
                tracing::error!(error = ?error, "frame failed");
                tell(
                    sockets,
                    &connection,
                    ServerMessage::error(PROCESSING_FAILED),
                )
                .await;
            }
            answer(200, None)
        }
    }
}

async fn connect(
    sockets: &Sockets,
    event: &ApiGatewayWebsocketProxyRequest,
    connection: &str,
) -> Result<(), ServiceError> {
    let origin = event
        .headers
        .get(http::header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(|o| o.trim_end_matches('/'));
    let any = sockets.origins.0.iter().any(|o| o == "*");
    let allowed = any || origin.is_some_and(|o| sockets.origins.0.iter().any(|a| a == o));
    if !allowed {
        return Err(meetin_core::Refusal::detail(
            http::StatusCode::FORBIDDEN,
            "Origin not allowed.",
        )
        .into());
    }
    let query = &event.query_string_parameters;
    let token = query.first("token").unwrap_or_default();
    let user = meetin_service::authenticate(&sockets.service, token).await?;
    // Verified just above; only its expiry is read here.
    let token_expires_at = sockets
        .service
        .jwt
        .verify(
            token,
            meetin_core::jwt::TokenType::Access,
            chrono::Utc::now(),
        )
        .ok()
        .map(|claims| claims.exp);
    let meeting = query
        .first("meeting_id")
        .and_then(|m| Uuid::parse_str(m).ok())
        .ok_or_else(|| meetin_core::Refusal::no_match("Meeting"))?;
    meetin_service::access::meeting(&sockets.service.pool, user.id, meeting, Access::Read).await?;
    let present = sockets
        .connections
        .of_meeting(meeting)
        .await
        .map_err(ServiceError::internal)?;
    if present.len() >= MAX_CONNECTIONS_PER_MEETING
        || present.iter().filter(|c| c.user == user.id).count() >= MAX_CONNECTIONS_PER_USER
    {
        return Err(meetin_core::Refusal::detail(
            http::StatusCode::TOO_MANY_REQUESTS,
            "Too many live connections to this meeting.",
        )
        .into());
    }
    sockets
        .connections
        .register(&Connection {
            id: connection.to_owned(),
            meeting,
            user: user.id,
            via: Via::ApiGateway,
            connected_at_ms: chrono::Utc::now().timestamp_millis(),
            token_expires_at,
        })
        .await
        .map_err(ServiceError::internal)?;
    Ok(())
}

/// Pushes `message` to `connection` alone.
async fn tell(sockets: &Sockets, connection: &str, message: ServerMessage) {
    let Ok(Some(known)) = sockets.connections.get(connection).await else {
        return;
    };
    sockets
        .reach
        .push(&known, &Arc::from(message.to_text()))
        .await;
}

/// The route of `meeting`'s active session.
async fn route(sockets: &Sockets, meeting: Uuid) -> Result<Option<Route>, ServiceError> {
    sockets
        .routes
        .get(meeting)
        .await
        .map_err(ServiceError::internal)
}

async fn message(sockets: &Sockets, connection: &str, body: &str) -> Result<(), ServiceError> {
    let Some(known) = sockets
        .connections
        .get(connection)
        .await
        .map_err(ServiceError::internal)?
    else {
        // Forgotten (expired, or its member removed): it gets nothing more.
        return Ok(());
    };
    let reply = |message: ServerMessage| tell(sockets, connection, message);
    let parsed = match socket::parse_client(body) {
        Ok(Some(parsed)) => parsed,
        Ok(None) => return Ok(()),
        Err(refused) => {
            reply(refused.to_server_message()).await;
            return Ok(());
        }
    };
    let pool = &sockets.service.pool;
    match parsed {
        ClientMessage::AudioChunk { seq, data, stream } => {
            if let Err(refusal) = writable(sockets, &known).await? {
                reply(refusal).await;
                return Ok(());
            }
            let Some(route) = route(sockets, known.meeting).await? else {
                reply(ServerMessage::error(NO_ACTIVE_SESSION)).await;
                return Ok(());
            };
            let chunk = AudioIn {
                meeting_id: known.meeting,
                session_id: route.session,
                connection_id: connection.to_owned(),
                user_id: known.user,
                stream,
                seq,
                data,
                take_over_from: None,
            };
            if let Some(error) = relay_audio(sockets, &route, chunk).await {
                reply(ServerMessage::error(error)).await;
            }
        }
        ClientMessage::Control {
            control: Control::Start,
        } => {
            reply(ServerMessage::ControlResponse {
                control: Control::Start,
                status: ControlStatus::UseApiToStart,
            })
            .await;
        }
        ClientMessage::Control {
            control: Control::Stop,
        } => {
            if let Err(refusal) = writable(sockets, &known).await? {
                reply(refusal).await;
                return Ok(());
            }
            if let Some(route) = route(sockets, known.meeting).await? {
                let stop = StopSession {
                    meeting_id: known.meeting,
                    session_id: route.session,
                };
                if let Err(error) = sockets.relay.stop(&route.owner.url, &stop).await {
                    tracing::warn!(error = %error, "the bridge did not stop the session");
                }
            }
            match meetin_data::live_sessions::stop_active(pool, known.user, known.meeting)
                .await
                .map_err(ServiceError::internal)?
            {
                Some(_) => {
                    reply(ServerMessage::ControlResponse {
                        control: Control::Stop,
                        status: ControlStatus::Stopped,
                    })
                    .await;
                }
                None => reply(ServerMessage::error(NO_ACTIVE_SESSION)).await,
            }
        }
        ClientMessage::SpeakerMapping {
            speaker_label,
            display_name,
        } => {
            if let Err(refusal) = writable(sockets, &known).await? {
                reply(refusal).await;
                return Ok(());
            }
            // No such label is no error (contract §3); everyone hears of it either way.
            meetin_data::speakers::rename(
                pool,
                known.user,
                known.meeting,
                &speaker_label,
                &display_name,
            )
            .await
            .map_err(ServiceError::internal)?;
            let text: Arc<str> = Arc::from(
                ServerMessage::SpeakerUpdated {
                    speaker_label,
                    display_name,
                }
                .to_text(),
            );
            sockets
                .reach
                .broadcast(known.meeting, &text, BROADCAST_CONCURRENCY)
                .await;
        }
        ClientMessage::Resume {
            after_segment_id,
            after_ms,
        } => {
            let Some(route) = route(sockets, known.meeting).await? else {
                reply(ServerMessage::error(NO_ACTIVE_SESSION)).await;
                return Ok(());
            };
            let resume = ResumeIn {
                meeting_id: known.meeting,
                session_id: route.session,
                connection_id: connection.to_owned(),
                after_segment_id,
                after_ms,
            };
            if let Err(error) = sockets.relay.resume(&route.owner.url, &resume).await {
                tracing::warn!(error = %error, "relaying a resume failed");
                reply(ServerMessage::error(PROCESSING_FAILED)).await;
            }
        }
    }
    Ok(())
}

/// Whether the connection's user may still write in the meeting (checked on every write:
/// a member removed or demoted mid-session stops at once); the `error` frame otherwise.
async fn writable(
    sockets: &Sockets,
    known: &Connection,
) -> Result<Result<(), ServerMessage>, ServiceError> {
    match meetin_service::access::meeting(
        &sockets.service.pool,
        known.user,
        known.meeting,
        Access::Write,
    )
    .await
    {
        Ok(_) => Ok(Ok(())),
        Err(ServiceError::Refused(refusal)) => Ok(Err(ServerMessage::error(
            refusal
                .body()
                .get("detail")
                .and_then(|d| d.as_str())
                .unwrap_or(PROCESSING_FAILED)
                .to_owned(),
        ))),
        Err(internal) => Err(internal),
    }
}

/// Relays a chunk to the session's owner; when it does not answer, to the fleet, which takes
/// the session over; when it moved, to its new owner. The `error` for the sender, if any.
async fn relay_audio(sockets: &Sockets, route: &Route, mut chunk: AudioIn) -> Option<String> {
    let mut target = route.owner.url.clone();
    for _ in 0..3 {
        match sockets.relay.audio(&target, &chunk).await {
            Ok(()) => return None,
            Err(RelayError::Refused { error, .. }) => return Some(error),
            Err(RelayError::Moved(url)) => target = url,
            Err(RelayError::Unreachable { .. }) => {
                let fleet = sockets.bridge_url.clone()?;
                tracing::warn!(task = %route.owner.id, "the session's task does not answer; asking the fleet to take over");
                chunk.take_over_from = Some(route.owner.id.clone());
                target = fleet;
            }
            Err(RelayError::Gone | RelayError::TimedOut { .. }) => {
                return Some(PROCESSING_FAILED.to_owned());
            }
        }
    }
    Some(PROCESSING_FAILED.to_owned())
}
