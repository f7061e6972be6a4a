use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use http::{Method, StatusCode, header};
use meetin_test_support::stack::{LocalStack, free_port};
use serde_json::json;

use crate::helpers::{PASSWORD, TestApp, random_ip, repo_root, settings, unique};

/// A login body for an address nobody has (each its own per-account record).
fn unknown_login() -> serde_json::Value {
    json!({"email": format!("{}@example.com", unique("nobody")), "password": "wrong-password-1"})
}

#[tokio::test]
async fn the_eleventh_auth_request_a_minute_from_one_address_is_429() {
    // GIVEN one client address
    let app = TestApp::spawn().await;
    let ip = random_ip();

    // WHEN it sends 10 register and login requests (valid or not, they all count)
    for i in 0..10 {
        let (path, body) = match i % 2 {
            0 => ("/api/auth/login/", unknown_login()),
            _ => ("/api/auth/register/", json!({})),
        };
        let r = app
            .send(TestApp::request(Method::POST, path, Some(&body), None), ip)
            .await;
        assert_eq!(
            r.status,
            StatusCode::BAD_REQUEST,
            "request {} of 10: {r:?}",
            i + 1
        );
    }

    // THEN the 11th is refused with Retry-After, whatever the endpoint
    let r = app
        .send(
            TestApp::request(
                Method::POST,
                "/api/auth/login/",
                Some(&unknown_login()),
                None,
            ),
            ip,
        )
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{r:?}");
    let retry_after: u64 = r.headers[header::RETRY_AFTER]
        .to_str()
        .ok()
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_eq!(
        r.body,
        json!({"detail": format!("Request was throttled. Expected available in {retry_after} seconds.")})
    );
    let r = app
        .send(
            TestApp::request(Method::POST, "/api/auth/register/", Some(&json!({})), None),
            ip,
        )
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);

    // AND refresh, in a bucket of its own, still answers from that address
    let r = app
        .send(
            TestApp::request(
                Method::POST,
                "/api/auth/refresh/",
                Some(&json!({"refresh": "nonsense"})),
                None,
            ),
            ip,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{r:?}");

    // AND another address is unaffected
    let r = app
        .send(
            TestApp::request(
                Method::POST,
                "/api/auth/login/",
                Some(&unknown_login()),
                None,
            ),
            random_ip(),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_31st_refresh_a_minute_from_one_address_is_429_and_login_still_works() {
    // GIVEN an account and one client address
    let app = TestApp::spawn().await;
    let account = app.register().await;
    let ip = random_ip();
    let refresh = json!({"refresh": "nonsense"});

    // WHEN it sends 30 failing refreshes (a frontend retrying in a loop)
    for i in 0..30 {
        let r = app
            .send(
                TestApp::request(Method::POST, "/api/auth/refresh/", Some(&refresh), None),
                ip,
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNAUTHORIZED,
            "refresh {}: {r:?}",
            i + 1
        );
    }

    // THEN the 31st is 429 with Retry-After
    let r = app
        .send(
            TestApp::request(Method::POST, "/api/auth/refresh/", Some(&refresh), None),
            ip,
        )
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{r:?}");
    assert!(r.headers.contains_key(header::RETRY_AFTER));

    // AND the user can still log in from that address
    let login = json!({"email": account.email, "password": PASSWORD});
    let r = app
        .send(
            TestApp::request(Method::POST, "/api/auth/login/", Some(&login), None),
            ip,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
}

#[tokio::test]
async fn the_31st_anonymous_request_a_minute_from_one_address_is_429() {
    let app = TestApp::spawn().await;
    let ip = random_ip();
    for i in 0..30 {
        let r = app
            .send(
                TestApp::request(Method::GET, "/api/schema/", None, None),
                ip,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "request {}", i + 1);
    }
    let r = app
        .send(
            TestApp::request(Method::GET, "/api/schema/", None, None),
            ip,
        )
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers.contains_key(header::RETRY_AFTER));
}

#[tokio::test]
async fn the_121st_request_a_minute_from_one_user_is_429() {
    let app = TestApp::spawn().await;
    let account = app.register().await;
    for i in 0..120 {
        let r = app.get("/api/auth/profile/", &account.access).await;
        assert_eq!(r.status, StatusCode::OK, "request {}: {r:?}", i + 1);
    }
    let r = app.get("/api/auth/profile/", &account.access).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers.contains_key(header::RETRY_AFTER));
    // Another user is unaffected.
    let other = app.register().await;
    assert_eq!(
        app.get("/api/auth/profile/", &other.access).await.status,
        StatusCode::OK
    );
}

/// A `meetin-local serve` process (target/debug) on the test database, killed when dropped.
async fn start_server() -> LocalStack {
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(Into::into)
        .unwrap_or_else(|_| repo_root().join("target"));
    let mut env = settings();
    env.insert("DATABASE_URL".into(), env["TEST_DATABASE_URL"].clone());
    env.insert("RUST_LOG".into(), "warn".into());
    let port = free_port().expect("free port");
    let mut server = LocalStack::start(&target.join("debug/meetin-local"), port, &env, None)
        .expect("start meetin-local (make test builds it)");
    server
        .wait_ready(&reqwest::Client::new(), Duration::from_secs(20))
        .await
        .expect("meetin-local ready");
    server
}

#[tokio::test]
async fn the_limit_holds_across_separately_started_processes() {
    // GIVEN two server processes sharing PostgreSQL and the DynamoDB emulator
    let (mut a, mut b) = tokio::join!(start_server(), start_server());

    // AND a client on its own loopback address (all of 127.0.0.0/8 is this machine)
    let bytes = uuid::Uuid::new_v4();
    let local = IpAddr::V4(Ipv4Addr::new(
        127,
        bytes.as_bytes()[0].max(2),
        bytes.as_bytes()[1],
        bytes.as_bytes()[2].max(1),
    ));
    let client = reqwest::Client::builder()
        .local_address(local)
        .build()
        .expect("client");

    // WHEN 10 logins (each for its own unknown address) alternate between the two
    for i in 0..10 {
        let port = if i % 2 == 0 { a.port() } else { b.port() };
        let r = client
            .post(format!("http://127.0.0.1:{port}/api/auth/login/"))
            .json(&unknown_login())
            .send()
            .await
            .expect("send");
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "request {}", i + 1);
    }

    // THEN the 11th, on either, is 429 with Retry-After
    for port in [a.port(), b.port()] {
        let r = client
            .post(format!("http://127.0.0.1:{port}/api/auth/login/"))
            .json(&unknown_login())
            .send()
            .await
            .expect("send");
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(r.headers().contains_key(header::RETRY_AFTER));
        let json: serde_json::Value = r.json().await.expect("json");
        assert!(
            json["detail"]
                .as_str()
                .is_some_and(|d| d.starts_with("Request was throttled."))
        );
    }
    a.stop().await;
    b.stop().await;
}
