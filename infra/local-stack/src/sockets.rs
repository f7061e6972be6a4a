//! API Gateway's WebSocket API and its Management API (`@connections`), on the stack's port,
//! so the deployed socket handler runs unchanged locally and in tests.
//!
//! In AWS the WebSocket API invokes the socket handler function for each route with an
//! `ApiGatewayWebsocketProxyRequest` event, and the backend pushes back through
//! `POST|GET|DELETE https://{api-id}.execute-api.{region}.amazonaws.com/{stage}/@connections/{id}`
//! (`meetin_aws::push`). Here [`WebSocketApi::routes`] serves `GET /ws` (the upgrade) and
//! `/@connections/{connection_id}` (the callback endpoint is the stack's own address, with no
//! stage), and calls a [`Handler`] as Lambda would.
//!
//! What it reproduces (API Gateway developer guide: "$connect and $disconnect routes",
//! "Quotas for configuring and running a WebSocket API", "binary media types", "Use
//! @connections commands"; protocols.md §2.3–2.4):
//! - `$connect` runs **before** the handshake completes, with the upgrade request's query
//!   string and headers (single- and multi-value). A 2xx answer completes it (101, with the
//!   answer's `Sec-WebSocket-Protocol` if any); any other status is the handshake's answer,
//!   with no body; a failed invocation answers 500, a timed-out one 504.
//! - Each text message is one `$default` event (`MESSAGE`, `body`, `isBase64Encoded: false`);
//!   invocations run concurrently, unordered as in AWS, at most
//!   [`SocketLimits::max_in_flight`] per connection (further frames wait to be read). The
//!   answer's body goes nowhere (no route response is configured); a failed invocation sends
//!   the client `{"message": "Internal server error", "connectionId", "requestId"}`.
//! - `$default` and `$disconnect` events carry no headers or query string, as in AWS: what
//!   the handler needs from the upgrade it stores at `$connect`.
//! - A binary frame closes the connection with 1003; a frame over 32 KB or a message over
//!   128 KB with 1009; 10 minutes without a client message, or 2 hours since connecting, with
//!   1001 "Going away" (pings keep nothing alive here: browsers cannot send them, and whether
//!   API Gateway counts them is not documented).
//! - Every close (by the client, by the stand-in, by `DELETE @connections`, or the socket
//!   dropping) invokes `$disconnect` once, with `disconnectStatusCode` / `disconnectReason`.
//! - `POST @connections/{id}` sends the body as one message (text if it is UTF-8, else
//!   binary), in frames of at most 32 KB; 200 once written. Over 128 KB: 413
//!   `PayloadTooLargeException`. An unknown or closed id: 410 `GoneException`, body
//!   `{"message":null}`. `DELETE` closes the connection (1000) and answers 204; `GET`
//!   answers `{connectedAt, identity: {sourceIp, userAgent}, lastActiveAt}`.
//!
//! Not reproduced: SigV4 is not checked; there are no custom routes (route selection);
//! `$disconnect` is always delivered (in AWS it is best effort). Open connections are not
//! drained when the stack stops: they end with the process.

use std::borrow::Cow;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use chrono::{DateTime, SecondsFormat, Utc};
use futures_util::future::BoxFuture;
use futures_util::{SinkExt, StreamExt};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use meetin_http::ApiError;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::{Frame, Utf8Bytes};
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

/// What API Gateway invokes for every route: the deployed socket handler (in AWS, the
/// Lambda function behind `$connect`, `$default` and `$disconnect`). An `Err` is a failed
/// invocation (the function's error), with its message for the log.
pub type Handler = Arc<
    dyn Fn(
            ApiGatewayWebsocketProxyRequest,
        ) -> BoxFuture<'static, Result<ApiGatewayProxyResponse, String>>
        + Send
        + Sync,
>;

/// A [`Handler`] from an async function or closure.
pub fn handler<F, Fut>(f: F) -> Handler
where
    F: Fn(ApiGatewayWebsocketProxyRequest) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<ApiGatewayProxyResponse, String>> + Send + 'static,
{
    Arc::new(move |event| Box::pin(f(event)))
}

/// The WebSocket API's limits. [`SocketLimits::API_GATEWAY`] are AWS's (none adjustable);
/// tests shorten the durations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SocketLimits {
    /// The largest frame, in bytes of payload, both ways: a client's larger frame closes the
    /// connection with 1009; larger pushes are split into frames this size.
    pub max_frame_bytes: usize,
    /// The largest message, in bytes: a client's larger message closes the connection with
    /// 1009; a larger `POST @connections` body answers 413.
    pub max_message_bytes: usize,
    /// How long a connection may go without a message from its client before it is closed
    /// (1001).
    pub idle: Duration,
    /// How long a connection may last at all before it is closed (1001).
    pub max_duration: Duration,
    /// How long an invocation may take: past it `$connect` answers 504 and a `$default`
    /// message gets the timeout error (API Gateway's integration timeout, 29 s).
    pub integration_timeout: Duration,
    /// `$default` invocations of one connection running at once; further frames are read
    /// once one ends. Not an AWS quota (Lambda scales out): a bound for one process.
    pub max_in_flight: usize,
}

impl SocketLimits {
    /// API Gateway's WebSocket quotas (developer guide, "Quotas for configuring and running a
    /// WebSocket API"): 32 KB frames, 128 KB messages, 10 minutes idle, 2 hours a connection,
    /// 29 s an integration; 64 `$default` invocations at once per connection.
    pub const API_GATEWAY: Self = Self {
        max_frame_bytes: 32 * 1024,
        max_message_bytes: 128 * 1024,
        idle: Duration::from_secs(10 * 60),
        max_duration: Duration::from_secs(2 * 3600),
        integration_timeout: Duration::from_secs(29),
        max_in_flight: 64,
    };
}

impl Default for SocketLimits {
    fn default() -> Self {
        Self::API_GATEWAY
    }
}

/// The `stage` of every event (the local callback URL has no stage path).
pub const STAGE: &str = "local";

/// The `apiId` of every event.
pub const API_ID: &str = "local";

/// The API Gateway URL length quota, in characters (path and query of the upgrade request).
pub const MAX_URL_CHARS: usize = 4096;

/// How long a closing connection waits for the client's close frame.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// The WebSocket API stand-in: its connections and the handler they invoke. Cheap to clone
/// (shared state).
#[derive(Clone)]
pub struct WebSocketApi {
    inner: Arc<Inner>,
}

struct Inner {
    handler: Handler,
    limits: SocketLimits,
    connections: Mutex<HashMap<String, Arc<Live>>>,
}

/// An open connection, as the Management API sees it.
struct Live {
    connected_at_ms: i64,
    /// Epoch ms of the client's last message (the connection time until the first).
    last_active_ms: AtomicI64,
    source_ip: String,
    user_agent: Option<String>,
    domain_name: String,
    outbox: mpsc::Sender<Outgoing>,
}

/// What the Management API asks of a connection's task.
enum Outgoing {
    /// Send this message; answer whether it was written.
    Message(Bytes, oneshot::Sender<bool>),
    /// Close the connection (`DELETE @connections`).
    Close,
}

/// Why a connection ended: its `$disconnect` status and reason, and whether the stand-in
/// still has to send the close frame.
struct Ending {
    code: u16,
    reason: Cow<'static, str>,
    send_close: bool,
}

impl Ending {
    const fn by_us(code: u16, reason: &'static str) -> Self {
        Self {
            code,
            reason: Cow::Borrowed(reason),
            send_close: true,
        }
    }
    const fn seen(code: u16, reason: &'static str) -> Self {
        Self {
            code,
            reason: Cow::Borrowed(reason),
            send_close: false,
        }
    }
}

const NORMAL: &str = "Connection Closed Normally";
const GOING_AWAY: &str = "Going away";
const ABNORMAL: &str = "Connection was closed abnormally";

impl WebSocketApi {
    /// A WebSocket API invoking `handler` for every route, within `limits`.
    pub fn new(handler: Handler, limits: SocketLimits) -> Self {
        Self {
            inner: Arc::new(Inner {
                handler,
                limits,
                connections: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The routes: `GET /ws` (the upgrade; its query string goes to `$connect`) and
    /// `POST|GET|DELETE /@connections/{connection_id}` (the Management API). The upgrade
    /// needs the connection served with upgrades and the peer as `ConnectInfo`, as
    /// [`crate::http::serve`] does.
    pub fn routes(&self) -> Router {
        Router::new()
            .route("/ws", get(upgrade))
            .route(
                "/@connections/{connection_id}",
                get(get_connection)
                    .post(post_to_connection)
                    .delete(delete_connection)
                    // The 128 KB limit answers API Gateway's 413, not axum's 2 MB default.
                    .layer(DefaultBodyLimit::max(16 * 1024 * 1024)),
            )
            .with_state(Arc::clone(&self.inner))
    }

    /// How many connections are open.
    pub fn open_connections(&self) -> usize {
        self.inner.connections().len()
    }
}

impl Inner {
    fn connections(&self) -> MutexGuard<'_, HashMap<String, Arc<Live>>> {
        // A panic while holding the lock leaves the map consistent (single inserts/removes).
        self.connections
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn get(&self, id: &str) -> Option<Arc<Live>> {
        self.connections().get(id).cloned()
    }

    /// Forgets `id`: from now on the Management API answers 410 for it.
    fn forget(&self, id: &str) -> Option<Arc<Live>> {
        self.connections().remove(id)
    }

    /// Invokes the handler as Lambda would: on its own task (a panic is a failed invocation),
    /// within the integration timeout.
    async fn invoke(
        &self,
        event: ApiGatewayWebsocketProxyRequest,
    ) -> Result<ApiGatewayProxyResponse, Invocation> {
        let running = tokio::spawn((self.handler)(event));
        match tokio::time::timeout(self.limits.integration_timeout, running).await {
            Ok(Ok(Ok(response))) => Ok(response),
            Ok(Ok(Err(error))) => Err(Invocation::Failed(error)),
            Ok(Err(panicked)) => Err(Invocation::Failed(panicked.to_string())),
            Err(_) => Err(Invocation::TimedOut),
        }
    }
}

/// A failed invocation.
enum Invocation {
    Failed(String),
    TimedOut,
}

impl Invocation {
    /// API Gateway's message for it.
    fn message(&self) -> &'static str {
        match self {
            Self::Failed(_) => "Internal server error",
            Self::TimedOut => "Endpoint request timed out",
        }
    }

    fn log(&self, route: &str, connection_id: &str) {
        match self {
            Self::Failed(error) => {
                tracing::warn!(route, connection_id, %error, "socket handler failed");
            }
            Self::TimedOut => tracing::warn!(route, connection_id, "socket handler timed out"),
        }
    }
}

/// An id as API Gateway makes them (`connectionId`, `requestId`, `messageId`): 11 random
/// bytes in base64, 16 characters ending in `=`.
fn random_id() -> String {
    base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 11]>())
}

fn epoch_ms(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

fn iso(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// An event of `route` for connection `id`, with the request context every event has.
fn event(
    route: &str,
    event_type: &str,
    id: &str,
    live: &LiveFacts<'_>,
) -> ApiGatewayWebsocketProxyRequest {
    let now = Utc::now();
    let request_id = random_id();
    let mut event = ApiGatewayWebsocketProxyRequest::default();
    let context = &mut event.request_context;
    context.route_key = Some(route.to_owned());
    context.event_type = Some(event_type.to_owned());
    context.connection_id = Some(id.to_owned());
    context.connected_at = live.connected_at_ms;
    context.request_time_epoch = epoch_ms(now);
    context.request_time = Some(now.format("%d/%b/%Y:%H:%M:%S +0000").to_string());
    context.message_direction = Some("IN".to_owned());
    context.domain_name = Some(live.domain_name.to_owned());
    context.stage = Some(STAGE.to_owned());
    context.apiid = Some(API_ID.to_owned());
    context.extended_request_id = Some(request_id.clone());
    context.request_id = Some(request_id);
    context.identity.source_ip = Some(live.source_ip.to_owned());
    context.identity.user_agent = live.user_agent.map(str::to_owned);
    event.is_base64_encoded = false;
    event
}

/// What every event says of its connection.
struct LiveFacts<'a> {
    connected_at_ms: i64,
    source_ip: &'a str,
    user_agent: Option<&'a str>,
    domain_name: &'a str,
}

impl Live {
    fn facts(&self) -> LiveFacts<'_> {
        LiveFacts {
            connected_at_ms: self.connected_at_ms,
            source_ip: &self.source_ip,
            user_agent: self.user_agent.as_deref(),
            domain_name: &self.domain_name,
        }
    }
}

/// The query string as API Gateway passes it: names and values percent-decoded (`+` kept),
/// every value of a repeated name.
fn query_parameters(query: Option<&str>) -> HashMap<String, Vec<String>> {
    let mut parameters: HashMap<String, Vec<String>> = HashMap::new();
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        parameters
            .entry(decode(name))
            .or_default()
            .push(decode(value));
    }
    parameters
}

/// Whether `headers[name]` holds `token` in its comma-separated list (case-insensitive).
fn has_token(headers: &HeaderMap, name: HeaderName, token: &str) -> bool {
    headers.get_all(name).iter().any(|value| {
        value
            .to_str()
            .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    })
}

/// API Gateway's JSON error answer (`{"message": …}`).
fn gateway_error(status: StatusCode, message: &str) -> Response {
    (
        status,
        axum::Json(serde_json::json!({ "message": message })),
    )
        .into_response()
}

/// The answer refusing an upgrade request that cannot be a WebSocket handshake, before
/// `$connect` runs (RFC 6455 §4.2.1).
fn refusal(req: &Request) -> Option<Response> {
    let headers = req.headers();
    if !has_token(headers, header::CONNECTION, "upgrade")
        || !has_token(headers, header::UPGRADE, "websocket")
    {
        return Some(
            ApiError::detail(
                StatusCode::UPGRADE_REQUIRED,
                "This is a WebSocket endpoint: connect with a WebSocket client.",
            )
            .into_response(),
        );
    }
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .is_none_or(|v| v.as_bytes() != b"13")
    {
        // RFC 6455 §4.4: say which version is understood.
        let mut refused = ApiError::detail(
            StatusCode::UPGRADE_REQUIRED,
            "Only WebSocket version 13 is supported.",
        )
        .into_response();
        refused.headers_mut().insert(
            header::SEC_WEBSOCKET_VERSION,
            HeaderValue::from_static("13"),
        );
        return Some(refused);
    }
    if !headers.contains_key(header::SEC_WEBSOCKET_KEY) {
        return Some(
            ApiError::detail(StatusCode::BAD_REQUEST, "Sec-WebSocket-Key is missing.")
                .into_response(),
        );
    }
    if req.uri().path_and_query().map_or(0, |pq| pq.as_str().len()) > MAX_URL_CHARS {
        return Some(gateway_error(
            StatusCode::URI_TOO_LONG,
            "Request-URI Too Long",
        ));
    }
    if req.extensions().get::<OnUpgrade>().is_none() {
        // Served without upgrades (e.g. `Router::oneshot`): nothing to hand the socket over.
        return Some(gateway_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "this server does not support upgrades",
        ));
    }
    None
}

/// The `$connect` event of the upgrade request `req`: its query string, its headers and
/// those API Gateway adds (`X-Forwarded-For`, `-Port`, `-Proto`).
fn connect_event(
    req: &Request,
    id: &str,
    facts: &LiveFacts<'_>,
    peer: Option<SocketAddr>,
) -> ApiGatewayWebsocketProxyRequest {
    let mut connect = event("$connect", "CONNECT", id, facts);
    let mut headers = req.headers().clone();
    if let Ok(ip) = HeaderValue::from_str(facts.source_ip) {
        headers.insert("x-forwarded-for", ip);
    }
    if let Some(peer) = peer {
        headers.insert("x-forwarded-port", HeaderValue::from(peer.port()));
    }
    headers.insert("x-forwarded-proto", HeaderValue::from_static("http"));
    connect.multi_value_headers = headers.clone();
    connect.headers = headers;
    let query = query_parameters(req.uri().query());
    connect.query_string_parameters = query.clone().into();
    connect.multi_value_query_string_parameters = query.into();
    connect
}

/// `GET /ws`: the upgrade, decided by `$connect`.
async fn upgrade(State(inner): State<Arc<Inner>>, mut req: Request) -> Response {
    if let Some(refused) = refusal(&req) {
        return refused;
    }
    let accept = req
        .headers()
        .get(header::SEC_WEBSOCKET_KEY)
        .map(|key| derive_accept_key(key.as_bytes()))
        .unwrap_or_default();
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| *addr);
    let source_ip = peer.map_or_else(|| "127.0.0.1".to_owned(), |addr| addr.ip().to_string());
    // Read here, not borrowed across the invocation (`&Request` is not `Send`).
    let (user_agent, domain_name) = {
        let text = |name: header::HeaderName| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        (text(header::USER_AGENT), text(header::HOST))
    };
    let domain_name = domain_name.unwrap_or_else(|| "localhost".to_owned());
    let id = random_id();
    let facts = LiveFacts {
        connected_at_ms: epoch_ms(Utc::now()),
        source_ip: &source_ip,
        user_agent: user_agent.as_deref(),
        domain_name: &domain_name,
    };
    let connect = connect_event(&req, &id, &facts, peer);
    let connected_at_ms = facts.connected_at_ms;

    let answer = match inner.invoke(connect).await {
        Ok(answer) => answer,
        Err(failed) => {
            failed.log("$connect", &id);
            let status = match failed {
                Invocation::Failed(_) => StatusCode::INTERNAL_SERVER_ERROR,
                Invocation::TimedOut => StatusCode::GATEWAY_TIMEOUT,
            };
            return gateway_error(status, failed.message());
        }
    };
    let status = u16::try_from(answer.status_code)
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok());
    match status {
        Some(status) if status.is_success() => {}
        Some(status) if status.as_u16() >= 300 => return status.into_response(),
        _ => {
            tracing::warn!(
                status = answer.status_code,
                "$connect answered a non-HTTP status"
            );
            return gateway_error(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error");
        }
    }

    let (outbox, commands) = mpsc::channel(64);
    let live = Arc::new(Live {
        connected_at_ms,
        last_active_ms: AtomicI64::new(connected_at_ms),
        source_ip,
        user_agent,
        domain_name,
        outbox,
    });
    inner.connections().insert(id.clone(), Arc::clone(&live));
    let on_upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(connection(inner, id, live, on_upgrade, commands));

    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    if let Ok(accept) = HeaderValue::from_str(&accept) {
        headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    }
    // The subprotocol the handler chose (developer guide: "a $connect route that requires a
    // WebSocket subprotocol").
    if let Some(protocol) = answer.headers.get(header::SEC_WEBSOCKET_PROTOCOL) {
        headers.insert(header::SEC_WEBSOCKET_PROTOCOL, protocol.clone());
    }
    response
}

/// One connection's life after `$connect` accepted it: the socket once hyper hands it over,
/// then `$disconnect`.
async fn connection(
    inner: Arc<Inner>,
    id: String,
    live: Arc<Live>,
    on_upgrade: OnUpgrade,
    commands: mpsc::Receiver<Outgoing>,
) {
    let ending = match on_upgrade.await {
        Ok(upgraded) => {
            let config = WebSocketConfig::default()
                .max_frame_size(Some(inner.limits.max_frame_bytes))
                .max_message_size(Some(inner.limits.max_message_bytes));
            let mut socket = WebSocketStream::from_raw_socket(
                TokioIo::new(upgraded),
                Role::Server,
                Some(config),
            )
            .await;
            let ending = session(&inner, &id, &live, &mut socket, commands).await;
            inner.forget(&id);
            if ending.send_close {
                close(&mut socket, ending.code, &ending.reason).await;
            }
            ending
        }
        Err(error) => {
            tracing::debug!(%error, connection_id = id, "upgrade failed");
            Ending::seen(1006, ABNORMAL)
        }
    };
    inner.forget(&id);
    let mut disconnect = event("$disconnect", "DISCONNECT", &id, &live.facts());
    disconnect.request_context.disconnect_status_code = Some(i64::from(ending.code));
    disconnect.request_context.disconnect_reason = Some(ending.reason.into_owned());
    if let Err(failed) = inner.invoke(disconnect).await {
        failed.log("$disconnect", &id);
    }
}

type Socket = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

/// Reads the client's frames and writes the pushes until the connection ends.
async fn session(
    inner: &Arc<Inner>,
    id: &str,
    live: &Arc<Live>,
    socket: &mut Socket,
    mut commands: mpsc::Receiver<Outgoing>,
) -> Ending {
    let limits = inner.limits;
    let in_flight = Arc::new(Semaphore::new(limits.max_in_flight.max(1)));
    let ends_at = Instant::now() + limits.max_duration;
    let mut idle_at = Instant::now() + limits.idle;
    // A frame is read only with a `$default` slot in hand: at the cap, the client's further
    // frames wait in TCP while pushes (the running invocations' own, too) still go out.
    let mut slot: Option<OwnedSemaphorePermit> = None;
    loop {
        tokio::select! {
            acquired = Arc::clone(&in_flight).acquire_owned(), if slot.is_none() => {
                // The semaphore is never closed.
                slot = acquired.ok();
            }
            frame = socket.next(), if slot.is_some() => match frame {
                Some(Ok(Message::Text(text))) => {
                    idle_at = Instant::now() + limits.idle;
                    live.last_active_ms.store(epoch_ms(Utc::now()), Ordering::Relaxed);
                    let permit = slot.take();
                    let mut message = event("$default", "MESSAGE", id, &live.facts());
                    message.request_context.message_id = Some(random_id());
                    message.body = Some(text.as_str().to_owned());
                    let inner = Arc::clone(inner);
                    let live = Arc::clone(live);
                    let id = id.to_owned();
                    tokio::spawn(async move {
                        let request_id = message.request_context.request_id.clone();
                        let invoked = inner.invoke(message).await;
                        drop(permit);
                        if let Err(failed) = invoked {
                            failed.log("$default", &id);
                            let error = serde_json::json!({
                                "message": failed.message(),
                                "connectionId": id,
                                "requestId": request_id,
                            });
                            let (ack, _) = oneshot::channel();
                            let _ = live
                                .outbox
                                .send(Outgoing::Message(Bytes::from(error.to_string()), ack))
                                .await;
                        }
                    });
                }
                Some(Ok(Message::Binary(_))) => {
                    return Ending::by_us(1003, "Binary frames are not supported");
                }
                // Pongs to pings are queued by tungstenite and sent with the next read.
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
                Some(Ok(Message::Close(frame))) => {
                    // tungstenite queued the reply; the next read sends it.
                    let _ = tokio::time::timeout(CLOSE_GRACE, socket.next()).await;
                    return match frame {
                        Some(frame) => Ending {
                            code: u16::from(frame.code),
                            reason: client_reason(&frame),
                            send_close: false,
                        },
                        None => Ending::seen(1005, "Client-side close frame status not set"),
                    };
                }
                Some(Err(WsError::Capacity(_))) => return Ending::by_us(1009, "Message too big"),
                Some(Err(WsError::Utf8(_))) => {
                    return Ending::by_us(1007, "Invalid frame payload data");
                }
                Some(Err(WsError::Protocol(error))) => {
                    tracing::debug!(%error, connection_id = id, "protocol error");
                    return Ending::by_us(1002, "Protocol error");
                }
                Some(Err(error)) => {
                    tracing::debug!(%error, connection_id = id, "socket failed");
                    return Ending::seen(1006, ABNORMAL);
                }
                None => return Ending::seen(1006, ABNORMAL),
            },
            command = commands.recv() => match command {
                Some(Outgoing::Message(data, ack)) => {
                    let written = send(socket, data, limits.max_frame_bytes).await;
                    let failed = written.is_err();
                    let _ = ack.send(!failed);
                    if failed {
                        return Ending::seen(1006, ABNORMAL);
                    }
                }
                Some(Outgoing::Close) | None => return Ending::by_us(1000, NORMAL),
            },
            () = tokio::time::sleep_until(idle_at) => return Ending::by_us(1001, GOING_AWAY),
            () = tokio::time::sleep_until(ends_at) => return Ending::by_us(1001, GOING_AWAY),
        }
    }
}

/// The `disconnectReason` of a close the client started: its own reason, else the code's
/// meaning.
fn client_reason(frame: &CloseFrame) -> Cow<'static, str> {
    if !frame.reason.is_empty() {
        return Cow::Owned(frame.reason.as_str().to_owned());
    }
    Cow::Borrowed(match frame.code {
        CloseCode::Normal => NORMAL,
        CloseCode::Away => GOING_AWAY,
        _ => "Client-side close frame status set",
    })
}

/// Sends `data` as one message: text if it is UTF-8, else binary, in frames of at most
/// `max_frame` bytes (API Gateway's 32 KB frames).
async fn send(socket: &mut Socket, data: Bytes, max_frame: usize) -> Result<(), WsError> {
    let kind = if std::str::from_utf8(&data).is_ok() {
        Data::Text
    } else {
        Data::Binary
    };
    if data.len() <= max_frame {
        let message = match kind {
            Data::Text => Message::Text(Utf8Bytes::try_from(data)?),
            _ => Message::Binary(data),
        };
        return socket.send(message).await;
    }
    let mut opcode = OpCode::Data(kind);
    let mut start = 0;
    while start < data.len() {
        let end = data.len().min(start + max_frame.max(1));
        let fragment = Frame::message(data.slice(start..end), opcode, end == data.len());
        socket.feed(Message::Frame(fragment)).await?;
        opcode = OpCode::Data(Data::Continue);
        start = end;
    }
    socket.flush().await
}

/// Sends a close frame with `code` and `reason`, then waits a little for the client's reply
/// (skipping what it sent meanwhile, oversized frames included).
async fn close(socket: &mut Socket, code: u16, reason: &str) {
    let frame = CloseFrame {
        code: CloseCode::from(code),
        reason: Utf8Bytes::from(reason),
    };
    if socket.close(Some(frame)).await.is_err() {
        return;
    }
    let _ = tokio::time::timeout(CLOSE_GRACE, async {
        while let Some(read) = socket.next().await {
            match read {
                Ok(Message::Close(_)) => break,
                Ok(_) | Err(WsError::Capacity(_)) => {}
                Err(_) => break,
            }
        }
    })
    .await;
}

/// API Gateway's 410 for a connection that is closed or never was.
fn gone() -> Response {
    (
        StatusCode::GONE,
        [
            ("x-amzn-ErrorType", "GoneException"),
            ("content-type", "application/json"),
        ],
        r#"{"message":null}"#,
    )
        .into_response()
}

/// `POST @connections/{id}`: sends the body to the client.
async fn post_to_connection(
    State(inner): State<Arc<Inner>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    if body.len() > inner.limits.max_message_bytes {
        return (
            StatusCode::PAYLOAD_TOO_LARGE,
            [
                ("x-amzn-ErrorType", "PayloadTooLargeException"),
                ("content-type", "application/json"),
            ],
            r#"{"message":"Message too long"}"#,
        )
            .into_response();
    }
    let Some(live) = inner.get(&id) else {
        return gone();
    };
    let (ack, written) = oneshot::channel();
    if live
        .outbox
        .send(Outgoing::Message(body, ack))
        .await
        .is_err()
    {
        return gone();
    }
    match written.await {
        Ok(true) => StatusCode::OK.into_response(),
        _ => gone(),
    }
}

/// `DELETE @connections/{id}`: closes the connection (1000); `$disconnect` follows.
async fn delete_connection(State(inner): State<Arc<Inner>>, Path(id): Path<String>) -> Response {
    let Some(live) = inner.forget(&id) else {
        return gone();
    };
    if live.outbox.send(Outgoing::Close).await.is_err() {
        return gone();
    }
    StatusCode::NO_CONTENT.into_response()
}

/// `GET @connections/{id}`: when it connected, who, and when its client last sent a message.
async fn get_connection(State(inner): State<Arc<Inner>>, Path(id): Path<String>) -> Response {
    let Some(live) = inner.get(&id) else {
        return gone();
    };
    axum::Json(serde_json::json!({
        "connectedAt": iso(live.connected_at_ms),
        "identity": {
            "sourceIp": live.source_ip,
            "userAgent": live.user_agent,
        },
        "lastActiveAt": iso(live.last_active_ms.load(Ordering::Relaxed)),
    }))
    .into_response()
}
