//! The local stack's listener over a real TCP socket: requests past API Gateway's head and
//! Lambda's body limits get the contract's JSON errors, never hyper's empty answers.

use std::net::SocketAddr;

use http::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::helpers::TestApp;

/// The local stack's app, served by its listener on a free port of 127.0.0.1.
async fn serve() -> SocketAddr {
    let app = TestApp::spawn().await;
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(meetin_local::http::serve(
        listener,
        app.app,
        std::future::pending(),
    ));
    addr
}

#[derive(Debug)]
struct Answer {
    status: StatusCode,
    head: String,
    body: Value,
    text: String,
}

/// Writes `head` (without its blank line) and reads the whole answer: the request asks to
/// close the connection, so the server ends it after one response.
async fn raw(addr: SocketAddr, head: &str) -> Answer {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(format!("{head}\r\nconnection: close\r\n\r\n").as_bytes())
        .await
        .expect("write");
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).await.expect("read");
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("a complete answer");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status line");
    Answer {
        status,
        head: head.to_ascii_lowercase(),
        body: serde_json::from_str(body).unwrap_or(Value::Null),
        text: body.to_owned(),
    }
}

fn assert_json_error(a: &Answer, status: StatusCode, detail: &str) {
    assert_eq!(
        (a.status, &a.body),
        (status, &json!({"detail": detail})),
        "{a:?}"
    );
    assert!(a.head.contains("content-type: application/json"), "{a:?}");
}

#[tokio::test]
async fn a_uri_past_the_limit_is_a_json_414() {
    let addr = serve().await;
    let query = "a".repeat(meetin_local::http::MAX_URI_BYTES);
    let a = raw(
        addr,
        &format!("GET /api/auth/organizations/?q={query} HTTP/1.1\r\nhost: localhost"),
    )
    .await;
    assert_json_error(&a, StatusCode::URI_TOO_LONG, "Request URI is too long.");
}

#[tokio::test]
async fn headers_past_the_limit_are_a_json_431() {
    let addr = serve().await;
    let filler = "b".repeat(meetin_local::http::MAX_HEAD_BYTES);
    let a = raw(
        addr,
        &format!("GET / HTTP/1.1\r\nhost: localhost\r\nx-filler: {filler}"),
    )
    .await;
    assert_json_error(
        &a,
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        "Request header fields are too large.",
    );

    // Past hyper's default of 100 headers but within the size limit: served.
    let many: String = (0..300).map(|i| format!("\r\nx-h{i}: 1")).collect();
    let a = raw(addr, &format!("GET / HTTP/1.1\r\nhost: localhost{many}")).await;
    assert_eq!(
        (a.status, a.text.as_str()),
        (StatusCode::OK, "MeetIN backend is running"),
        "{a:?}"
    );
}

#[tokio::test]
async fn a_head_just_within_the_limit_is_served() {
    let addr = serve().await;
    let start = "GET / HTTP/1.1\r\nhost: localhost\r\nx-filler: ";
    let end = "\r\nconnection: close\r\n\r\n";
    let filler = "c".repeat(meetin_local::http::MAX_HEAD_BYTES - start.len() - end.len());
    let a = raw(addr, &format!("{start}{filler}")).await;
    assert_eq!(
        (a.status, a.text.as_str()),
        (StatusCode::OK, "MeetIN backend is running"),
        "{a:?}"
    );
    let a = raw(addr, &format!("{start}{filler}c")).await;
    assert_eq!(
        a.status,
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        "{a:?}"
    );
}

#[tokio::test]
async fn a_body_past_the_limit_is_a_json_413_before_it_is_sent() {
    let addr = serve().await;
    // Only the declared length is sent: the answer must not wait for the body.
    let length = meetin_http::layers::BODY_LIMIT_BYTES + 1;
    let a = raw(
        addr,
        &format!(
            "POST /api/auth/register/ HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: {length}"
        ),
    )
    .await;
    assert_json_error(
        &a,
        StatusCode::PAYLOAD_TOO_LARGE,
        "Request body is too large.",
    );
}

#[tokio::test]
async fn ordinary_requests_reach_the_app() {
    let addr = serve().await;
    let client = reqwest::Client::new();
    let r = client
        .get(format!("http://{addr}/"))
        .send()
        .await
        .expect("root");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.headers()
            .get("x-content-type-options")
            .map(|v| v.as_bytes()),
        Some(&b"nosniff"[..])
    );

    let r = client
        .get(format!("http://{addr}/api/nowhere/"))
        .send()
        .await
        .expect("unknown path");
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        r.json::<Value>().await.expect("JSON"),
        json!({"detail": "Not found."})
    );

    // Counted against the anonymous limit of the peer's address (127.0.0.1).
    let r = client
        .get(format!("http://{addr}/api/schema/"))
        .send()
        .await
        .expect("schema");
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_listeners_own_refusals_carry_cors_headers_for_an_allowed_origin() {
    // The page must be able to read why its request was refused (issue 18, item 4).
    let addr = serve().await;
    let origin = "origin: http://localhost:3000";
    let query = "a".repeat(meetin_local::http::MAX_URI_BYTES);
    let filler = "b".repeat(meetin_local::http::MAX_HEAD_BYTES);
    let length = meetin_http::layers::BODY_LIMIT_BYTES + 1;
    let answers = [
        raw(
            addr,
            &format!("GET /api/auth/organizations/?q={query} HTTP/1.1\r\nhost: localhost\r\n{origin}"),
        )
        .await,
        raw(
            addr,
            &format!("GET / HTTP/1.1\r\nhost: localhost\r\n{origin}\r\nx-filler: {filler}"),
        )
        .await,
        raw(
            addr,
            &format!(
                "POST /api/auth/register/ HTTP/1.1\r\nhost: localhost\r\n{origin}\r\ncontent-type: application/json\r\ncontent-length: {length}"
            ),
        )
        .await,
    ];
    let statuses: Vec<StatusCode> = answers.iter().map(|a| a.status).collect();
    assert_eq!(
        statuses,
        [
            StatusCode::URI_TOO_LONG,
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            StatusCode::PAYLOAD_TOO_LARGE
        ]
    );
    for a in &answers {
        assert!(
            a.head
                .contains("access-control-allow-origin: http://localhost:3000"),
            "{a:?}"
        );
    }
    // An origin not on the list gets no CORS header.
    let a = raw(
        addr,
        &format!("GET /api/auth/organizations/?q={query} HTTP/1.1\r\nhost: localhost\r\norigin: https://elsewhere.example"),
    )
    .await;
    assert_eq!(a.status, StatusCode::URI_TOO_LONG);
    assert!(!a.head.contains("access-control-allow-origin"), "{a:?}");
}
