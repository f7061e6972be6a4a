use axum::body::Body;
use http::{Method, Request, StatusCode, header};
use serde_json::json;

use crate::helpers::{TestApp, random_ip, unique};

fn raw(
    method: Method,
    path: &str,
    content_type: Option<&str>,
    body: impl Into<Body>,
    token: Option<&str>,
) -> Request<Body> {
    let mut b = Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, "testserver");
    if let Some(ct) = content_type {
        b = b.header(header::CONTENT_TYPE, ct);
    }
    if let Some(t) = token {
        b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    b.body(body.into()).expect("request")
}

#[tokio::test]
async fn malformed_json_wrong_types_and_empty_bodies_are_4xx_json() {
    let app = TestApp::spawn().await;
    let username = unique("bad");

    let r = app
        .send(
            raw(
                Method::POST,
                "/api/auth/register/",
                Some("application/json"),
                "{\"email\": ",
                None,
            ),
            random_ip(),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.body["detail"]
            .as_str()
            .is_some_and(|d| d.starts_with("JSON parse error - ")),
        "{r:?}"
    );

    let r = app
        .send(
            raw(
                Method::POST,
                "/api/auth/register/",
                Some("application/json"),
                "[1,2]",
                None,
            ),
            random_ip(),
        )
        .await;
    assert_eq!(
        r.body,
        json!({"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]})
    );

    let r = app
        .send(
            raw(Method::POST, "/api/auth/register/", None, "", None),
            random_ip(),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["email"], json!(["This field is required."]));

    let r = app
        .send(
            raw(
                Method::POST,
                "/api/auth/login/",
                Some("text/plain"),
                "email=a",
                None,
            ),
            random_ip(),
        )
        .await;
    assert_eq!(
        (r.status, r.body.clone()),
        (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            json!({"detail": "Unsupported media type \"text/plain\" in request."})
        )
    );

    let r = app
        .post(
            "/api/auth/register/",
            json!({"email": 42, "username": [username], "password": {"a": 1}, "first_name": true, "last_name": null}),
            None,
        )
        .await;
    assert_eq!(
        r.body,
        json!({
            "email": ["Enter a valid email address."],
            "username": ["Not a valid string."],
            "password": ["Not a valid string."],
            "first_name": ["Not a valid string."],
            "last_name": ["This field may not be null."],
        })
    );
    let written: i64 = sqlx::query_scalar("SELECT count(*) FROM users WHERE username = $1")
        .bind(&username)
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(written, 0);
}

#[tokio::test]
async fn megabyte_strings_are_field_errors_and_oversized_bodies_413() {
    let app = TestApp::spawn().await;
    let account = app.register().await;
    let huge = "x".repeat(1_000_000);

    let r = app
        .post(
            "/api/auth/register/",
            json!({"email": huge, "username": huge, "password": huge, "first_name": huge}),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        r.body["email"],
        json!(["Ensure this field has no more than 254 characters."])
    );
    assert_eq!(
        r.body["username"],
        json!(["Ensure this field has no more than 150 characters."])
    );
    assert_eq!(
        r.body["password"],
        json!(["Ensure this field has no more than 4096 characters."])
    );
    assert!(r.text.len() < 2000, "errors do not echo the input");

    let r = app
        .post(
            "/api/auth/organizations/",
            json!({"name": huge}),
            Some(&account.access),
        )
        .await;
    assert_eq!(
        r.body,
        json!({"name": ["Ensure this field has no more than 255 characters."]})
    );
    assert_eq!(
        app.count(
            "SELECT count(*) FROM organizations WHERE owner_id = $1",
            account.id
        )
        .await,
        1
    );

    let r = app
        .patch(
            &format!("/api/auth/organizations/{}/", account.org_id),
            json!({"name": huge}),
            &account.access,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let name: String = sqlx::query_scalar("SELECT name FROM organizations WHERE id = $1")
        .bind(account.org_id)
        .fetch_one(&app.pool)
        .await
        .expect("name");
    assert_eq!(
        name,
        format!("{}'s Organization", account.email),
        "nothing already stored is lost"
    );

    let too_big = format!("{{\"name\": \"{}\"}}", "y".repeat(7 * 1024 * 1024));
    let r = app
        .send(
            raw(
                Method::POST,
                "/api/auth/organizations/",
                Some("application/json"),
                too_big,
                Some(&account.access),
            ),
            random_ip(),
        )
        .await;
    assert_eq!(
        (r.status, r.body.clone()),
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            json!({"detail": "Request body is too large."})
        )
    );
}

#[tokio::test]
async fn malformed_ids_unknown_routes_and_wrong_methods_are_json() {
    let app = TestApp::spawn().await;
    let account = app.register().await;
    for path in [
        "/api/auth/organizations/not-a-uuid/",
        "/api/auth/organizations/123/members/",
        "/api/auth/nothing-here/",
    ] {
        let r = app.get(path, &account.access).await;
        assert_eq!(
            (r.status, r.body.clone()),
            (StatusCode::NOT_FOUND, json!({"detail": "Not found."})),
            "{path}"
        );
    }
    let path = format!("/api/auth/organizations/{}/members/zzz/", account.org_id);
    let r = app
        .patch(&path, json!({"role": "viewer"}), &account.access)
        .await;
    assert_eq!(
        (r.status, r.body.clone()),
        (StatusCode::NOT_FOUND, json!({"detail": "Not found."}))
    );
    let r = app.call(Method::GET, "/api/auth/login/", None, None).await;
    assert_eq!(
        (r.status, r.body.clone()),
        (
            StatusCode::METHOD_NOT_ALLOWED,
            json!({"detail": "Method \"GET\" not allowed."})
        )
    );
    let r = app
        .call(
            Method::DELETE,
            "/api/auth/profile/",
            None,
            Some(&account.access),
        )
        .await;
    assert_eq!(r.body, json!({"detail": "Method \"DELETE\" not allowed."}));
}

#[tokio::test]
async fn cors_allows_the_configured_origins_only() {
    let app = TestApp::spawn().await;
    let preflight = |origin: &str| {
        Request::builder()
            .method(Method::OPTIONS)
            .uri("/api/auth/login/")
            .header(header::ORIGIN, origin)
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .header(
                header::ACCESS_CONTROL_REQUEST_HEADERS,
                "authorization,content-type",
            )
            .body(Body::empty())
            .expect("request")
    };
    let r = app
        .send(preflight("http://localhost:3000"), random_ip())
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "http://localhost:3000"
    );
    let methods = r.headers[header::ACCESS_CONTROL_ALLOW_METHODS]
        .to_str()
        .unwrap_or("")
        .to_owned();
    for m in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
        assert!(methods.contains(m), "{methods}");
    }
    assert!(
        r.headers
            .get(header::ACCESS_CONTROL_ALLOW_CREDENTIALS)
            .is_none()
    );
    let r = app
        .send(preflight("https://evil.example.com"), random_ip())
        .await;
    assert!(r.headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
}
