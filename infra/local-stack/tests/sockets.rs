//! The WebSocket API stand-in over real TCP, served by the stack's own listener
//! (`meetin_local::http::serve`), with tokio-tungstenite clients and the real Management API
//! client (`meetin_aws::Pusher`) pushing back through it.
//!
//! The handler records every event as Lambda would receive it (JSON and back), refuses
//! `$connect` without `token` (403), fails on `fail`, and echoes other messages through the
//! pusher.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use futures_util::{SinkExt, StreamExt};
use meetin_aws::{Delivery, PushError, Pusher};
use meetin_core::AwsSettings;
use meetin_local::sockets::{self, SocketLimits, WebSocketApi};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Barrier, oneshot};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Client = WebSocketStream<MaybeTlsStream<TcpStream>>;
type Events = Arc<Mutex<Vec<ApiGatewayWebsocketProxyRequest>>>;

const ORIGIN: &str = "http://localhost:3000";
const USER_AGENT: &str = "sockets-test/1.0";
const MEETING: &str = "6f1c2a54-0b8e-4d55-9a51-3f7c1f0e2a9b";
const WAIT: Duration = Duration::from_secs(5);

/// The stand-in on a port of its own, with the recording handler; stops when dropped.
struct Stack {
    addr: SocketAddr,
    events: Events,
    pusher: Pusher,
    api: WebSocketApi,
    /// The most `$default` invocations seen running at once (`count` messages).
    max_running: Arc<AtomicUsize>,
    _stop: oneshot::Sender<()>,
}

fn ok(status: i64) -> ApiGatewayProxyResponse {
    let mut response = ApiGatewayProxyResponse::default();
    response.status_code = status;
    response
}

/// What Lambda would hand the function: the event as JSON, parsed back.
fn through_json(event: &ApiGatewayWebsocketProxyRequest) -> ApiGatewayWebsocketProxyRequest {
    let json = serde_json::to_value(event).expect("event to JSON");
    let context = &json["requestContext"];
    for field in [
        "routeKey",
        "eventType",
        "connectionId",
        "connectedAt",
        "requestTimeEpoch",
    ] {
        assert!(
            !context[field].is_null(),
            "requestContext.{field} in {json}"
        );
    }
    serde_json::from_value(json).expect("event from JSON")
}

async fn start(limits: SocketLimits) -> Stack {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let endpoint = format!("http://{addr}");
    // Fixed dummy credentials (the emulator's); the pusher's endpoint is the stand-in.
    let sdk = meetin_aws::sdk_config(&AwsSettings {
        endpoint_url: Some(endpoint.clone()),
        region: None,
    })
    .await;
    let pusher = Pusher::new(&sdk, &endpoint);
    let events: Events = Arc::default();
    let max_running = Arc::new(AtomicUsize::new(0));
    let running = Arc::new(AtomicUsize::new(0));
    let barrier = Arc::new(Barrier::new(3));
    let handler = {
        let (events, pusher) = (Arc::clone(&events), pusher.clone());
        let max_running = Arc::clone(&max_running);
        sockets::handler(move |event: ApiGatewayWebsocketProxyRequest| {
            let (events, pusher) = (Arc::clone(&events), pusher.clone());
            let (running, max_running) = (Arc::clone(&running), Arc::clone(&max_running));
            let barrier = Arc::clone(&barrier);
            async move {
                let event = through_json(&event);
                events.lock().expect("events").push(event.clone());
                let context = &event.request_context;
                let id = context.connection_id.clone().unwrap_or_default();
                match context.route_key.as_deref() {
                    Some("$connect") => {
                        if event.query_string_parameters.first("fail").is_some() {
                            return Err("refusing to work".to_owned());
                        }
                        match event.query_string_parameters.first("token") {
                            Some(_) => Ok(ok(200)),
                            None => Ok(ok(403)),
                        }
                    }
                    Some("$default") => {
                        let body = event.body.clone().unwrap_or_default();
                        match body.as_str() {
                            "fail" => return Err("cannot handle that".to_owned()),
                            "barrier" => {
                                // Passes only once three invocations run at once.
                                barrier.wait().await;
                            }
                            "count" => {
                                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                                max_running.fetch_max(now, Ordering::SeqCst);
                                tokio::time::sleep(Duration::from_millis(100)).await;
                                running.fetch_sub(1, Ordering::SeqCst);
                            }
                            _ => {}
                        }
                        match pusher.post(&id, body).await {
                            Ok(Delivery::Delivered) => Ok(ok(200)),
                            other => Err(format!("echo failed: {other:?}")),
                        }
                    }
                    _ => Ok(ok(200)),
                }
            }
        })
    };
    let api = WebSocketApi::new(handler, limits);
    let (stop, stopped) = oneshot::channel::<()>();
    let routes = api.routes();
    tokio::spawn(async move {
        let _ = meetin_local::http::serve(listener, routes, async {
            let _ = stopped.await;
        })
        .await;
    });
    Stack {
        addr,
        events,
        pusher,
        api,
        max_running,
        _stop: stop,
    }
}

impl Stack {
    async fn connect(&self, query: &str) -> Result<Client, WsError> {
        let mut request = format!("ws://{}/ws?{query}", self.addr)
            .into_client_request()
            .expect("request");
        let headers = request.headers_mut();
        headers.insert("origin", ORIGIN.parse().expect("origin"));
        headers.insert("user-agent", USER_AGENT.parse().expect("user agent"));
        let (client, response) = tokio_tungstenite::connect_async(request).await?;
        assert_eq!(response.status(), 101);
        Ok(client)
    }

    /// Connects with a token; answers the client and its connection id.
    async fn connected(&self) -> (Client, String) {
        let before = self.of_route("$connect").len();
        let client = self
            .connect(&format!("meeting_id={MEETING}&token=t0k3n"))
            .await
            .expect("connected");
        let connects = self.of_route("$connect");
        assert_eq!(connects.len(), before + 1);
        let id = connects[before]
            .request_context
            .connection_id
            .clone()
            .expect("connection id");
        (client, id)
    }

    fn of_route(&self, route: &str) -> Vec<ApiGatewayWebsocketProxyRequest> {
        self.events
            .lock()
            .expect("events")
            .iter()
            .filter(|e| e.request_context.route_key.as_deref() == Some(route))
            .cloned()
            .collect()
    }

    fn disconnects_of(&self, id: &str) -> Vec<ApiGatewayWebsocketProxyRequest> {
        self.of_route("$disconnect")
            .into_iter()
            .filter(|e| e.request_context.connection_id.as_deref() == Some(id))
            .collect()
    }

    /// `id`'s `$disconnect` (waiting for it), after making sure no second one follows.
    async fn disconnected(&self, id: &str) -> ApiGatewayWebsocketProxyRequest {
        tokio::time::timeout(WAIT, async {
            while self.disconnects_of(id).is_empty() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .expect("$disconnect in time");
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut seen = self.disconnects_of(id);
        assert_eq!(seen.len(), 1, "one $disconnect");
        seen.remove(0)
    }
}

fn disconnect_status(event: &ApiGatewayWebsocketProxyRequest) -> (Option<i64>, Option<&str>) {
    (
        event.request_context.disconnect_status_code,
        event.request_context.disconnect_reason.as_deref(),
    )
}

/// The next text or close message from the server (pings and pongs skipped).
async fn next(client: &mut Client) -> Message {
    tokio::time::timeout(WAIT, async {
        loop {
            match client.next().await {
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                Some(Ok(message)) => return message,
                other => panic!("the socket ended without a close frame: {other:?}"),
            }
        }
    })
    .await
    .expect("a message in time")
}

async fn next_text(client: &mut Client) -> String {
    match next(client).await {
        Message::Text(text) => text.as_str().to_owned(),
        other => panic!("expected text, got {other:?}"),
    }
}

/// The server's close frame; the client's reply goes out with the next read, as a browser
/// replies at once.
async fn closed_with(client: &mut Client) -> (CloseCode, String) {
    let closed = match next(client).await {
        Message::Close(Some(frame)) => (frame.code, frame.reason.as_str().to_owned()),
        other => panic!("expected a close frame, got {other:?}"),
    };
    let _ = tokio::time::timeout(WAIT, client.next()).await;
    closed
}

#[tokio::test]
async fn connect_sees_the_upgrade_request_and_decides_the_handshake() {
    let stack = start(SocketLimits::API_GATEWAY).await;

    // No token: the handler's 403 is the handshake's answer.
    match stack.connect(&format!("meeting_id={MEETING}")).await {
        Err(WsError::Http(response)) => assert_eq!(response.status(), 403),
        other => panic!("expected a 403 handshake, got {other:?}"),
    }
    // The handler failing: 500.
    match stack.connect("token=t&fail=1").await {
        Err(WsError::Http(response)) => assert_eq!(response.status(), 500),
        other => panic!("expected a 500 handshake, got {other:?}"),
    }
    assert_eq!(stack.of_route("$connect").len(), 2);
    assert!(
        stack.of_route("$disconnect").is_empty(),
        "refused: no $disconnect"
    );
    assert_eq!(stack.api.open_connections(), 0);

    let _client = stack
        .connect(&format!("meeting_id={MEETING}&token=abc%3D&x=1&x=2"))
        .await
        .expect("connected with a token");
    let connect = stack.of_route("$connect").pop().expect("$connect");
    let query = &connect.query_string_parameters;
    assert_eq!(query.first("meeting_id"), Some(MEETING));
    assert_eq!(query.first("token"), Some("abc="));
    assert_eq!(
        connect.multi_value_query_string_parameters.all("x"),
        Some(vec!["1", "2"])
    );
    assert_eq!(
        connect.headers.get("origin").map(|v| v.as_bytes()),
        Some(ORIGIN.as_bytes())
    );
    assert_eq!(
        connect
            .multi_value_headers
            .get("origin")
            .map(|v| v.as_bytes()),
        Some(ORIGIN.as_bytes())
    );
    assert_eq!(
        connect.headers.get("x-forwarded-for").map(|v| v.as_bytes()),
        Some(&b"127.0.0.1"[..])
    );
    assert!(connect.headers.contains_key("sec-websocket-key"));
    assert!(!connect.is_base64_encoded);
    let context = &connect.request_context;
    assert_eq!(context.route_key.as_deref(), Some("$connect"));
    assert_eq!(context.event_type.as_deref(), Some("CONNECT"));
    let id = context.connection_id.as_deref().expect("connection id");
    assert_eq!(id.len(), 16);
    assert!(id.ends_with('='), "{id}");
    assert!(context.connected_at > 0);
    assert!(context.request_time_epoch >= context.connected_at);
    assert_eq!(
        context.domain_name.as_deref(),
        Some(stack.addr.to_string().as_str())
    );
    assert_eq!(context.stage.as_deref(), Some(sockets::STAGE));
    assert_eq!(context.apiid.as_deref(), Some(sockets::API_ID));
    assert!(context.request_id.is_some());
    assert_eq!(context.identity.source_ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(context.identity.user_agent.as_deref(), Some(USER_AGENT));
    assert_eq!(stack.api.open_connections(), 1);
}

#[tokio::test]
async fn messages_reach_default_and_come_back_through_the_pusher() {
    let stack = start(SocketLimits::API_GATEWAY).await;
    let (mut client, id) = stack.connected().await;

    client.send(Message::text("hello")).await.expect("send");
    assert_eq!(next_text(&mut client).await, "hello");
    let message = stack.of_route("$default").pop().expect("$default");
    assert_eq!(message.body.as_deref(), Some("hello"));
    assert!(!message.is_base64_encoded);
    assert!(
        message.query_string_parameters.is_empty(),
        "only $connect has the query"
    );
    assert!(message.headers.is_empty(), "only $connect has the headers");
    let context = &message.request_context;
    assert_eq!(context.event_type.as_deref(), Some("MESSAGE"));
    assert_eq!(context.connection_id.as_deref(), Some(id.as_str()));
    assert!(context.message_id.is_some());
    assert_eq!(context.identity.source_ip.as_deref(), Some("127.0.0.1"));

    // GetConnection through the SDK: the stand-in's answer parses.
    let connection = stack
        .pusher
        .client()
        .get_connection()
        .connection_id(&id)
        .send()
        .await
        .expect("GetConnection");
    let identity = connection.identity().expect("identity");
    assert_eq!(identity.source_ip(), Some("127.0.0.1"));
    assert_eq!(identity.user_agent(), Some(USER_AGENT));
    let connected = connection.connected_at().expect("connectedAt");
    let active = connection.last_active_at().expect("lastActiveAt");
    assert!(active >= connected);
    assert_eq!(connected.to_millis().ok(), Some(context.connected_at));

    // A long push arrives whole (sent in 32 KB frames), at exactly the 128 KB limit.
    let long = "x".repeat(128 * 1024);
    assert_eq!(
        stack.pusher.post(&id, long.clone()).await,
        Ok(Delivery::Delivered)
    );
    assert_eq!(next_text(&mut client).await, long);

    // A failed invocation: API Gateway tells the client.
    client.send(Message::text("fail")).await.expect("send");
    let error: serde_json::Value =
        serde_json::from_str(&next_text(&mut client).await).expect("JSON error");
    assert_eq!(error["message"], "Internal server error");
    assert_eq!(error["connectionId"], id.as_str());
    assert!(error["requestId"].is_string());

    client
        .close(Some(CloseFrame {
            code: CloseCode::Normal,
            reason: "bye".into(),
        }))
        .await
        .expect("close");
    let disconnect = stack.disconnected(&id).await;
    assert_eq!(disconnect_status(&disconnect), (Some(1000), Some("bye")));
    assert_eq!(
        disconnect.request_context.event_type.as_deref(),
        Some("DISCONNECT")
    );
    assert_eq!(stack.pusher.post(&id, "late").await, Ok(Delivery::Gone));
    assert_eq!(stack.api.open_connections(), 0);
}

#[tokio::test]
async fn default_invocations_run_concurrently_up_to_the_cap() {
    let stack = start(SocketLimits::API_GATEWAY).await;
    let (mut client, _) = stack.connected().await;
    // Each `barrier` invocation waits for the other two: run one at a time, none would end.
    for _ in 0..3 {
        client.send(Message::text("barrier")).await.expect("send");
    }
    for _ in 0..3 {
        assert_eq!(next_text(&mut client).await, "barrier");
    }

    let capped = start(SocketLimits {
        max_in_flight: 2,
        ..SocketLimits::API_GATEWAY
    })
    .await;
    let (mut client, _) = capped.connected().await;
    for _ in 0..6 {
        client.send(Message::text("count")).await.expect("send");
    }
    for _ in 0..6 {
        assert_eq!(next_text(&mut client).await, "count");
    }
    assert_eq!(capped.max_running.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_binary_frame_closes_with_1003() {
    let stack = start(SocketLimits::API_GATEWAY).await;
    let (mut client, id) = stack.connected().await;
    client
        .send(Message::binary(vec![0u8, 1, 2, 3]))
        .await
        .expect("send");
    let (code, _) = closed_with(&mut client).await;
    assert_eq!(code, CloseCode::Unsupported);
    let disconnect = stack.disconnected(&id).await;
    assert_eq!(
        disconnect.request_context.disconnect_status_code,
        Some(1003)
    );
    assert!(stack.of_route("$default").is_empty());
}

#[tokio::test]
async fn a_frame_over_32_kb_or_a_message_over_128_kb_closes_with_1009() {
    let stack = start(SocketLimits::API_GATEWAY).await;

    let (mut client, id) = stack.connected().await;
    client
        .send(Message::text("y".repeat(33 * 1024)))
        .await
        .expect("send");
    assert_eq!(closed_with(&mut client).await.0, CloseCode::Size);
    let disconnect = stack.disconnected(&id).await;
    assert_eq!(
        disconnect_status(&disconnect),
        (Some(1009), Some("Message too big"))
    );

    // 129 KB in frames of 32 KB: each frame fits, the message does not.
    let (mut client, id) = stack.connected().await;
    let frames = 129 / 32 + 1;
    for i in 0..frames {
        let size = if i + 1 == frames { 1024 } else { 32 * 1024 };
        let opcode = if i == 0 { Data::Text } else { Data::Continue };
        let frame = Frame::message("z".repeat(size), OpCode::Data(opcode), i + 1 == frames);
        if client.send(Message::Frame(frame)).await.is_err() {
            break; // closed by the stand-in before the last frame
        }
    }
    assert_eq!(closed_with(&mut client).await.0, CloseCode::Size);
    assert_eq!(
        stack
            .disconnected(&id)
            .await
            .request_context
            .disconnect_status_code,
        Some(1009)
    );
    assert!(stack.of_route("$default").is_empty());
}

#[tokio::test]
async fn pushes_fail_as_api_gateway_answers() {
    let stack = start(SocketLimits::API_GATEWAY).await;
    // Never connected (the id has API Gateway's form): 410, which the SDK reads as Gone.
    assert_eq!(
        stack.pusher.post("bm90LWEtY29ubj0=", "x").await,
        Ok(Delivery::Gone)
    );
    assert_eq!(
        stack.pusher.disconnect("bm90LWEtY29ubj0=").await,
        Ok(Delivery::Gone)
    );
    let missing = stack
        .pusher
        .client()
        .get_connection()
        .connection_id("bm90LWEtY29ubj0=")
        .send()
        .await
        .expect_err("unknown");
    assert!(missing.into_service_error().is_gone_exception());

    let (mut client, id) = stack.connected().await;
    assert_eq!(
        stack.pusher.post(&id, vec![b'w'; 129 * 1024]).await,
        Err(PushError::TooLarge)
    );
    // The connection is still open.
    assert_eq!(
        stack.pusher.post(&id, "still here").await,
        Ok(Delivery::Delivered)
    );
    assert_eq!(next_text(&mut client).await, "still here");
}

#[tokio::test]
async fn delete_closes_the_connection_and_disconnect_runs_once() {
    let stack = start(SocketLimits::API_GATEWAY).await;
    let (mut client, id) = stack.connected().await;
    assert_eq!(stack.pusher.disconnect(&id).await, Ok(Delivery::Delivered));
    assert_eq!(closed_with(&mut client).await.0, CloseCode::Normal);
    let disconnect = stack.disconnected(&id).await;
    assert_eq!(
        disconnect_status(&disconnect),
        (Some(1000), Some("Connection Closed Normally"))
    );
    assert_eq!(stack.pusher.post(&id, "x").await, Ok(Delivery::Gone));
    assert_eq!(stack.pusher.disconnect(&id).await, Ok(Delivery::Gone));
}

#[tokio::test]
async fn idle_or_old_connections_are_closed_going_away() {
    let idle = start(SocketLimits {
        idle: Duration::from_millis(300),
        ..SocketLimits::API_GATEWAY
    })
    .await;
    let (mut client, id) = idle.connected().await;
    let (code, reason) = closed_with(&mut client).await;
    assert_eq!((code, reason.as_str()), (CloseCode::Away, "Going away"));
    assert_eq!(
        disconnect_status(&idle.disconnected(&id).await),
        (Some(1001), Some("Going away"))
    );

    // Messages keep a connection from idling, not from ageing.
    let old = start(SocketLimits {
        idle: Duration::from_millis(300),
        max_duration: Duration::from_millis(700),
        ..SocketLimits::API_GATEWAY
    })
    .await;
    let (mut client, id) = old.connected().await;
    let started = tokio::time::Instant::now();
    let ending = loop {
        tokio::time::sleep(Duration::from_millis(150)).await;
        if client.send(Message::text("still here")).await.is_err() {
            break next(&mut client).await;
        }
        match next(&mut client).await {
            Message::Text(_) => {}
            other => break other,
        }
    };
    let _ = tokio::time::timeout(WAIT, client.next()).await; // the close reply
    assert!(
        started.elapsed() >= Duration::from_millis(650),
        "{:?}",
        started.elapsed()
    );
    assert!(
        matches!(&ending, Message::Close(Some(frame)) if frame.code == CloseCode::Away),
        "{ending:?}"
    );
    assert_eq!(
        old.disconnected(&id)
            .await
            .request_context
            .disconnect_status_code,
        Some(1001)
    );
}

/// Sends `request` on a plain TCP connection; answers the response's head and body
/// (`Content-Length` long: the connection may stay open).
async fn raw(addr: SocketAddr, request: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = Vec::new();
    let read = async {
        let mut buf = [0u8; 4096];
        loop {
            let text = String::from_utf8_lossy(&response).into_owned();
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let length = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().to_owned())
                    })
                    .and_then(|v| v.parse::<usize>().ok())
                    .unwrap_or(0);
                if body.len() >= length {
                    return text;
                }
            }
            let n = stream.read(&mut buf).await.expect("read");
            assert!(n > 0, "closed before a whole answer: {text}");
            response.extend_from_slice(&buf[..n]);
        }
    };
    tokio::time::timeout(WAIT, read)
        .await
        .expect("answer in time")
}

#[tokio::test]
async fn a_request_that_is_no_upgrade_is_refused_426() {
    let stack = start(SocketLimits::API_GATEWAY).await;
    let plain = raw(
        stack.addr,
        "GET /ws?token=t HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(plain.starts_with("HTTP/1.1 426"), "{plain}");
    assert!(plain.contains(r#"{"detail":"#), "{plain}");

    let old_version = raw(
        stack.addr,
        "GET /ws?token=t HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 8\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    )
    .await;
    assert!(old_version.starts_with("HTTP/1.1 426"), "{old_version}");
    assert!(
        old_version
            .to_ascii_lowercase()
            .contains("sec-websocket-version: 13"),
        "{old_version}"
    );
    assert!(
        stack.of_route("$connect").is_empty(),
        "refused before $connect"
    );
}

#[tokio::test]
async fn shutdown_drains_requests_but_not_sockets() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let api = WebSocketApi::new(
        sockets::handler(|_| async { Ok(ok(200)) }),
        SocketLimits::API_GATEWAY,
    );
    let app = api.routes().route(
        "/slow",
        axum::routing::get(|| async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            "done"
        }),
    );
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(meetin_local::http::serve(listener, app, async {
        let _ = stopped.await;
    }));
    let (_socket, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
        .await
        .expect("socket");
    assert_eq!(api.open_connections(), 1);
    let slow = tokio::spawn(raw(addr, "GET /slow HTTP/1.1\r\nHost: localhost\r\n\r\n"));
    tokio::time::sleep(Duration::from_millis(100)).await;

    let stopping = tokio::time::Instant::now();
    stop.send(()).expect("stop");
    let served = tokio::time::timeout(WAIT, server)
        .await
        .expect("stopped in time");
    assert!(matches!(served, Ok(Ok(()))), "{served:?}");
    // The request in progress finished; the open socket did not hold the drain.
    let answer = slow.await.expect("slow request");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("done"), "{answer}");
    assert!(stopping.elapsed() < Duration::from_secs(2));
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "no longer listening"
    );
}
