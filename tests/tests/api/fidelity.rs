//! Values that reach the server in forms DRF and Django read in their own way, and values the
//! server derives from input (docs/api-decisions.md, "Django and DRF fidelity").

use http::StatusCode;
use serde_json::json;

use crate::helpers::{PASSWORD, TestApp, unique};

async fn register(
    app: &TestApp,
    email: &str,
    password: &str,
    extra: serde_json::Value,
) -> crate::helpers::TestResponse {
    let mut body = json!({"email": email, "username": unique("u"), "password": password});
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    app.post("/api/auth/register/", body, None).await
}

#[tokio::test]
async fn the_longest_valid_email_registers_and_its_organization_name_fits() {
    let app = TestApp::spawn().await;
    // 64-character local part, 254 characters in all.
    let domain = format!(
        "{}.{}.{}.example.com",
        "d".repeat(63),
        "e".repeat(63),
        "f".repeat(49)
    );
    let email = format!("{}@{domain}", unique(&"a".repeat(52)));
    assert_eq!(email.chars().count(), 254, "{email}");
    let r = register(&app, &email, PASSWORD, json!({})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    let access = r.body["tokens"]["access"].as_str().expect("access");
    let orgs = app.get("/api/auth/organizations/", access).await;
    let name = orgs.body["results"][0]["name"].as_str().expect("name");
    assert_eq!(name.chars().count(), 255);
    assert!(name.ends_with("…'s Organization"), "{name}");
    assert!(email.starts_with(name.trim_end_matches("…'s Organization")));
}

#[tokio::test]
async fn blank_and_numeric_passwords_are_refused_as_drf_does() {
    let app = TestApp::spawn().await;
    for blank in [" ".repeat(10), "\u{a0}".repeat(10)] {
        let email = format!("{}@example.com", unique("blank"));
        let r = register(&app, &email, &blank, json!({})).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{r:?}");
        assert_eq!(r.body["password"], json!(["This field may not be blank."]));
        let login = app
            .post(
                "/api/auth/login/",
                json!({"email": email, "password": blank}),
                None,
            )
            .await;
        assert_eq!(
            login.body["password"],
            json!(["This field may not be blank."])
        );
    }
    let email = format!("{}@example.com", unique("digits"));
    let r = register(&app, &email, "１２３４５６７８９０", json!({})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{r:?}");
    let problems = r.body["password"].as_array().expect("password errors");
    assert!(
        problems.contains(&json!("This password is entirely numeric.")),
        "{r:?}"
    );
    let written = app.count("SELECT count(*) FROM users WHERE (email LIKE 'blank%' OR email LIKE 'digits%') AND id <> $1", uuid::Uuid::nil()).await;
    assert_eq!(written, 0, "a refused registration wrote a user");
}

#[tokio::test]
async fn a_long_json_number_keeps_its_digits() {
    let app = TestApp::spawn().await;
    let email = format!("{}@example.com", unique("num"));
    let body = format!(
        r#"{{"email": "{email}", "username": "{}", "password": "{PASSWORD}", "first_name": 12345678901234567890123, "last_name": 1.5}}"#,
        unique("u")
    );
    let request = http::Request::builder()
        .method("POST")
        .uri("/api/auth/register/")
        .header("content-type", "application/json")
        .body(axum::body::Body::from(body))
        .expect("request");
    let r = app.send(request, crate::helpers::random_ip()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    assert_eq!(r.body["user"]["first_name"], "12345678901234567890123");
    assert_eq!(r.body["user"]["last_name"], "1.5");
}

#[tokio::test]
async fn page_parameters_are_read_as_django_reads_them() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    for query in ["?page=", "?page=%201", "?page=+1", "?page=2&page=1"] {
        let r = app
            .get(&format!("/api/auth/organizations/{query}"), &user.access)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{query}: {r:?}");
        assert_eq!(r.body["count"], 1);
    }
    let r = app
        .get("/api/auth/organizations/?page=1&page=2", &user.access)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.body, json!({"detail": "Invalid page."}));
}

#[tokio::test]
async fn path_ids_must_be_in_djangos_uuid_form() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let ok = app
        .get(
            &format!("/api/auth/organizations/{}/", user.org_id),
            &user.access,
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK);
    let id = user.org_id.to_string();
    for other in [
        id.to_uppercase(),
        user.org_id.simple().to_string(),
        format!("{{{id}}}"),
        format!("urn:uuid:{id}"),
    ] {
        let r = app
            .get(&format!("/api/auth/organizations/{other}/"), &user.access)
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{other}");
        assert_eq!(r.body, json!({"detail": "Not found."}));
    }
}
