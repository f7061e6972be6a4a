//! `Pusher` against a fake `@connections` endpoint answering as API Gateway does, through
//! the real SDK client over HTTP: how each answer maps, and how often a throttled request is
//! tried. (The local stack's stand-in is tested with real sockets in
//! `infra/local-stack/tests/sockets.rs`.)

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use meetin_aws::{Delivery, PushError, Pusher};
use meetin_core::AwsSettings;
use meetin_test_support::fake_server::FakeServer;

/// Requests seen, by connection id: (method, body, whether it was SigV4-signed).
type Seen = Arc<Mutex<HashMap<String, Vec<(String, Bytes, bool)>>>>;

/// API Gateway's error answer: the type in `x-amzn-ErrorType`, a JSON body.
fn error(status: StatusCode, kind: &'static str, body: &'static str) -> Response {
    (
        status,
        [
            ("x-amzn-ErrorType", kind),
            ("content-type", "application/json"),
        ],
        body,
    )
        .into_response()
}

/// Answers by connection id: `gone…`, `big…`, `busy…` (always throttled), `busy-twice`
/// (throttled twice, then accepted), `forbidden`; anything else is accepted.
fn answer(id: &str, attempt: usize, delete: bool) -> Response {
    match id {
        _ if id.starts_with("gone") => {
            error(StatusCode::GONE, "GoneException", r#"{"message":null}"#)
        }
        _ if id.starts_with("big") => error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PayloadTooLargeException",
            r#"{"message":"Request entity too large"}"#,
        ),
        "busy-twice" if attempt > 2 => StatusCode::OK.into_response(),
        _ if id.starts_with("busy") => error(
            StatusCode::TOO_MANY_REQUESTS,
            "LimitExceededException",
            r#"{"message":"Rate exceeded"}"#,
        ),
        "forbidden" => error(
            StatusCode::FORBIDDEN,
            "ForbiddenException",
            r#"{"message":"Forbidden"}"#,
        ),
        _ if delete => StatusCode::NO_CONTENT.into_response(),
        _ => StatusCode::OK.into_response(),
    }
}

async fn fake_connections() -> (FakeServer, Seen) {
    let seen: Seen = Arc::default();
    let record = |seen: &Seen, id: &str, method: &str, body: Bytes, headers: &HeaderMap| {
        let signed = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("AWS4-HMAC-SHA256") && v.contains("/execute-api/"));
        let mut seen = seen.lock().expect("seen");
        let requests = seen.entry(id.to_owned()).or_default();
        requests.push((method.to_owned(), body, signed));
        requests.len()
    };
    let app = Router::new()
        .route(
            "/@connections/{id}",
            post(
                move |State(seen): State<Seen>,
                      Path(id): Path<String>,
                      headers: HeaderMap,
                      body: Bytes| async move {
                    let attempt = record(&seen, &id, "POST", body, &headers);
                    answer(&id, attempt, false)
                },
            )
            .delete(
                move |State(seen): State<Seen>, Path(id): Path<String>, headers: HeaderMap| async move {
                    let attempt = record(&seen, &id, "DELETE", Bytes::new(), &headers);
                    answer(&id, attempt, true)
                },
            ),
        )
        .with_state(Arc::clone(&seen));
    let server = FakeServer::start(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        "fake @connections",
        app,
    )
    .await
    .expect("fake @connections");
    (server, seen)
}

async fn pusher(server: &FakeServer) -> Pusher {
    // The emulator's settings (fixed test credentials); the pusher's endpoint replaces them.
    let sdk = meetin_aws::sdk_config(&AwsSettings {
        endpoint_url: Some("http://127.0.0.1:9".into()),
        region: None,
    })
    .await;
    Pusher::new(&sdk, &format!("http://{}", server.addr))
}

fn requests(seen: &Seen, id: &str) -> Vec<(String, Bytes, bool)> {
    seen.lock()
        .expect("seen")
        .get(id)
        .cloned()
        .unwrap_or_default()
}

#[tokio::test]
async fn a_post_is_delivered_signed_to_the_decoded_connection_id() {
    let (server, seen) = fake_connections().await;
    let pusher = pusher(&server).await;
    // API Gateway's ids end in `=`, which the SDK percent-encodes in the path.
    let delivery = pusher.post("L0SM9cOFvHcCIhw=", "hello").await;
    assert_eq!(delivery, Ok(Delivery::Delivered));
    let seen = requests(&seen, "L0SM9cOFvHcCIhw=");
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].0, "POST");
    assert_eq!(&seen[0].1[..], b"hello");
    assert!(seen[0].2, "SigV4-signed for execute-api");
}

#[tokio::test]
async fn gone_too_large_and_forbidden_are_told_apart_at_once() {
    let (server, seen) = fake_connections().await;
    let pusher = pusher(&server).await;
    assert_eq!(pusher.post("gone=", "x").await, Ok(Delivery::Gone));
    assert_eq!(pusher.disconnect("gone-delete=").await, Ok(Delivery::Gone));
    assert_eq!(pusher.post("big=", "x").await, Err(PushError::TooLarge));
    let forbidden = pusher.post("forbidden", "x").await;
    assert!(
        matches!(&forbidden, Err(PushError::Other(message)) if message.contains("Forbidden")),
        "{forbidden:?}"
    );
    for id in ["gone=", "gone-delete=", "big=", "forbidden"] {
        assert_eq!(requests(&seen, id).len(), 1, "{id} is not retried");
    }
    assert_eq!(pusher.disconnect("open=").await, Ok(Delivery::Delivered));
    assert_eq!(requests(&seen, "open=")[0].0, "DELETE");
}

#[tokio::test]
async fn a_throttled_post_is_tried_three_times() {
    let (server, seen) = fake_connections().await;
    let pusher = pusher(&server).await;
    assert_eq!(pusher.post("busy", "x").await, Err(PushError::Throttled));
    assert_eq!(requests(&seen, "busy").len(), 3);
    assert_eq!(
        pusher.post("busy-twice", "x").await,
        Ok(Delivery::Delivered)
    );
    assert_eq!(requests(&seen, "busy-twice").len(), 3);
    assert_eq!(
        pusher.disconnect("busy-delete").await,
        Err(PushError::Throttled)
    );
}

#[tokio::test]
async fn an_unreachable_endpoint_is_another_error() {
    let sdk = meetin_aws::sdk_config(&AwsSettings {
        endpoint_url: Some("http://127.0.0.1:9".into()),
        region: None,
    })
    .await;
    // Port 9 (discard) is closed on the test machine: the connection is refused.
    let pusher = Pusher::new(&sdk, "http://127.0.0.1:9");
    let err = pusher.post("abc=", "x").await;
    assert!(matches!(err, Err(PushError::Other(_))), "{err:?}");
}
