//! The sample events in events/ go through the Lambda event path: `lambda_http` turns each
//! API Gateway v2 payload into a request (with its request context), and the function's
//! app answers it.

use axum::body::Body;
use http::{Request, StatusCode};
use serde_json::json;

use crate::helpers::{TestApp, random_ip, repo_root, unique};

const ORG_PLACEHOLDER: &str = "3f1c8e2a-6b4d-4c1e-9a77-2d5e8f0b1c42";
const MEMBERSHIP_PLACEHOLDER: &str = "7a9d2c15-0e3b-4f68-b1d4-5c6e7f8091a2";

/// Reads events/auth/NAME.json, applies the replacements, and parses it as Lambda would.
fn event(name: &str, replacements: &[(&str, &str)]) -> Request<Body> {
    let mut text = std::fs::read_to_string(repo_root().join(format!("events/auth/{name}.json")))
        .expect("event file");
    for (from, to) in replacements {
        text = text.replace(from, to);
    }
    let request = lambda_http::request::from_str(&text).expect("a valid API Gateway v2 event");
    request.map(|body| Body::from(body.to_vec()))
}

#[tokio::test]
async fn every_sample_event_is_served_through_the_lambda_event_path() {
    let app = TestApp::spawn().await;
    // Each run uses its own source address, so the auth rate limit never carries over.
    let ip = random_ip().to_string();
    let ip_swap = ("203.0.113.10", ip.as_str());
    let send = |req| app.send(req, random_ip());

    let username = unique("ev");
    let email = format!("{username}@example.com");
    let r = send(event(
        "register",
        &[
            ip_swap,
            ("ann@example.com", &email),
            ("\\\"ann\\\"", &format!("\\\"{username}\\\"")),
        ],
    ))
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    assert_eq!(r.body["user"]["first_name"], "Ann");

    let r = send(event("login", &[ip_swap, ("ann@example.com", &email)])).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let access = r.body["tokens"]["access"]
        .as_str()
        .expect("access")
        .to_owned();
    let refresh = r.body["tokens"]["refresh"]
        .as_str()
        .expect("refresh")
        .to_owned();
    let tokens = [
        ip_swap,
        ("REPLACE_WITH_ACCESS_TOKEN", access.as_str()),
        ("REPLACE_WITH_REFRESH_TOKEN", refresh.as_str()),
    ];

    let r = send(event("profile", &tokens)).await;
    assert_eq!(
        (r.status, r.body["email"].clone()),
        (StatusCode::OK, json!(email))
    );

    let r = send(event("organizations-create", &tokens)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    let org = r.body["id"].as_str().expect("org id").to_owned();
    for i in 0..19 {
        let r = app
            .post(
                "/api/auth/organizations/",
                json!({"name": format!("Extra {i}")}),
                Some(&access),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED);
    }
    // Pagination links are built from API Gateway's domain (stage `$default`: no prefix).
    let r = send(event("organizations-list", &tokens)).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["count"], 21);
    assert_eq!(
        r.body["next"],
        "https://abc123.execute-api.us-east-1.amazonaws.com/api/auth/organizations/?page=2"
    );

    let with_org = [
        tokens[0],
        tokens[1],
        tokens[2],
        (ORG_PLACEHOLDER, org.as_str()),
    ];
    let r = send(event("organization-detail", &with_org)).await;
    assert_eq!(
        (r.status, r.body["name"].clone()),
        (StatusCode::OK, json!("Acme Research"))
    );
    let r = send(event("organization-update", &with_org)).await;
    assert_eq!(
        (r.status, r.body["name"].clone()),
        (StatusCode::OK, json!("Acme Labs"))
    );

    let bob = app.register().await;
    let mut add = with_org.to_vec();
    add.push(("bob@example.com", bob.email.as_str()));
    let r = send(event("members-add", &add)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    let membership = r.body["id"].as_str().expect("membership").to_owned();
    let r = send(event("members-list", &with_org)).await;
    assert_eq!(
        (r.status, r.body["count"].clone()),
        (StatusCode::OK, json!(2))
    );
    let mut member = with_org.to_vec();
    member.push((MEMBERSHIP_PLACEHOLDER, membership.as_str()));
    let r = send(event("member-role", &member)).await;
    assert_eq!(
        (r.status, r.body["role"].clone()),
        (StatusCode::OK, json!("viewer"))
    );
    let r = send(event("member-remove", &member)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = send(event("organization-delete", &with_org)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);

    let r = send(event("refresh", &tokens)).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let rotated = r.body["refresh"].as_str().expect("refresh").to_owned();
    let r = send(event(
        "logout",
        &[
            ip_swap,
            ("REPLACE_WITH_ACCESS_TOKEN", &access),
            ("REPLACE_WITH_REFRESH_TOKEN", &rotated),
        ],
    ))
    .await;
    assert_eq!(
        (r.status, r.body.clone()),
        (
            StatusCode::OK,
            json!({"message": "Successfully logged out"})
        )
    );

    let r = send(event("password", &tokens)).await;
    assert_eq!(
        (r.status, r.body["message"].clone()),
        (StatusCode::OK, json!("Password changed")),
        "{r:?}"
    );

    let r = send(event("root", &[ip_swap])).await;
    assert_eq!(
        (r.status, r.text.as_str()),
        (StatusCode::OK, "MeetIN backend is running")
    );
}
