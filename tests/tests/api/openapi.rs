use http::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::{TestApp, repo_root};

/// Every route of the contract this function serves, as (method, path).
const CONTRACT_ROUTES: &[(&str, &str)] = &[
    ("post", "/api/auth/register/"),
    ("post", "/api/auth/login/"),
    ("post", "/api/auth/refresh/"),
    ("post", "/api/auth/logout/"),
    ("post", "/api/auth/password/"),
    ("get", "/api/auth/profile/"),
    ("get", "/api/auth/organizations/"),
    ("post", "/api/auth/organizations/"),
    ("get", "/api/auth/organizations/{id}/"),
    ("put", "/api/auth/organizations/{id}/"),
    ("patch", "/api/auth/organizations/{id}/"),
    ("delete", "/api/auth/organizations/{id}/"),
    ("get", "/api/auth/organizations/{org_id}/members/"),
    ("post", "/api/auth/organizations/{org_id}/members/"),
    (
        "patch",
        "/api/auth/organizations/{org_id}/members/{membership_id}/",
    ),
    (
        "delete",
        "/api/auth/organizations/{org_id}/members/{membership_id}/",
    ),
    ("post", "/api/auth/organizations/{id}/leave/"),
    ("get", "/api/auth/invitations/"),
    ("post", "/api/auth/invitations/{id}/accept/"),
    ("post", "/api/auth/invitations/{id}/decline/"),
    ("get", "/api/meetings/"),
    ("post", "/api/meetings/"),
    ("get", "/api/meetings/{id}/"),
    ("put", "/api/meetings/{id}/"),
    ("patch", "/api/meetings/{id}/"),
    ("delete", "/api/meetings/{id}/"),
    ("post", "/api/meetings/{id}/live/start/"),
    ("post", "/api/meetings/{id}/live/stop/"),
    ("get", "/api/meetings/{id}/live/status/"),
    ("patch", "/api/meetings/{id}/speakers/{speaker_id}/"),
    ("post", "/api/meetings/{id}/recordings/initiate/"),
    ("post", "/api/meetings/{id}/recordings/upload/"),
    ("post", "/api/recordings/{id}/complete/"),
    ("post", "/api/meetings/recordings/{id}/complete/"),
    (
        "post",
        "/api/meetings/{id}/recordings/{recording_id}/transcribe/",
    ),
    (
        "get",
        "/api/transcription/meetings/{meeting_id}/transcript/",
    ),
    ("get", "/api/transcription/meetings/{meeting_id}/minutes/"),
    ("put", "/api/transcription/meetings/{meeting_id}/minutes/"),
    ("patch", "/api/transcription/meetings/{meeting_id}/minutes/"),
    (
        "get",
        "/api/transcription/meetings/{meeting_id}/minutes/versions/",
    ),
    (
        "get",
        "/api/transcription/meetings/{meeting_id}/minutes/versions/{id}/",
    ),
    (
        "get",
        "/api/transcription/meetings/{meeting_id}/minutes/versions/{from_id}/diff/{to_id}/",
    ),
    (
        "get",
        "/api/transcription/meetings/{meeting_id}/action-items/",
    ),
    (
        "post",
        "/api/transcription/meetings/{meeting_id}/action-items/",
    ),
    (
        "get",
        "/api/transcription/meetings/{meeting_id}/action-items/{id}/",
    ),
    (
        "put",
        "/api/transcription/meetings/{meeting_id}/action-items/{id}/",
    ),
    (
        "patch",
        "/api/transcription/meetings/{meeting_id}/action-items/{id}/",
    ),
    (
        "delete",
        "/api/transcription/meetings/{meeting_id}/action-items/{id}/",
    ),
    (
        "post",
        "/api/transcription/meetings/{meeting_id}/minutes/generate/",
    ),
    ("get", "/api/transcription/tasks/{task_id}/"),
    ("get", "/"),
    ("get", "/api/schema/"),
];

#[test]
fn the_committed_document_is_what_the_code_generates() {
    let generated = meetin_local::openapi_json();
    let path = repo_root().join("docs/openapi.json");
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &generated).expect("write");
    }
    let committed = std::fs::read_to_string(&path).expect("docs/openapi.json");
    assert!(
        committed == generated,
        "docs/openapi.json is stale: run `make openapi` and commit it"
    );
}

#[test]
fn every_route_is_documented_with_responses_and_security() {
    let doc: Value = serde_json::from_str(&meetin_local::openapi_json()).expect("json");
    assert_eq!(doc["openapi"], "3.1.0");
    for (method, path) in CONTRACT_ROUTES {
        let op = &doc["paths"][path][method];
        assert!(op.is_object(), "{method} {path} is undocumented");
        assert!(
            op["responses"].as_object().is_some_and(|r| !r.is_empty()),
            "{method} {path} has no responses"
        );
        assert!(
            op["security"].is_array(),
            "{method} {path} does not say how it is authenticated"
        );
    }
    let documented: usize = doc["paths"]
        .as_object()
        .expect("paths")
        .values()
        .map(|p| p.as_object().map_or(0, |m| m.len()))
        .sum();
    assert_eq!(
        documented,
        CONTRACT_ROUTES.len(),
        "the document has routes the contract list does not"
    );
    assert!(doc["components"]["securitySchemes"]["jwt"].is_object());
}

#[tokio::test]
async fn every_documented_operation_is_served() {
    // A documented route answers something other than the router's fallback 404/405.
    let app = TestApp::spawn().await;
    let doc: Value = serde_json::from_str(&meetin_local::openapi_json()).expect("json");
    let id = uuid::Uuid::new_v4().to_string();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        let concrete = path
            .replace("{id}", &id)
            .replace("{org_id}", &id)
            .replace("{membership_id}", &id)
            .replace("{speaker_id}", "Speaker%200");
        for method in item.as_object().expect("item").keys() {
            let method: Method = method.to_uppercase().parse().expect("method");
            let r = app.call(method.clone(), &concrete, None, None).await;
            assert_ne!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
            assert!(
                !(r.status == StatusCode::NOT_FOUND && r.body["detail"] == "Not found."),
                "{method} {path} is not routed"
            );
        }
    }
}

#[tokio::test]
async fn the_schema_endpoint_serves_the_committed_document() {
    let app = TestApp::spawn().await;
    let r = app.call(Method::GET, "/api/schema/", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    let committed: Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("docs/openapi.json")).expect("file"),
    )
    .expect("json");
    assert_eq!(r.body, committed);
}

/// Every operation has an `operationId`, and no two share one (clients generate a method per
/// id; utoipa's default, the handler's name, repeats across functions: `list`, `create`).
#[test]
fn operation_ids_are_unique() {
    let doc: Value = serde_json::to_value(meetin_local::openapi()).expect("document");
    let mut seen = std::collections::BTreeMap::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            let Some(id) = operation.get("operationId").and_then(Value::as_str) else {
                panic!("{method} {path} has no operationId");
            };
            if let Some(other) = seen.insert(id.to_owned(), format!("{method} {path}")) {
                panic!("operationId {id} is used by {other} and {method} {path}");
            }
        }
    }
    assert!(seen.len() >= CONTRACT_ROUTES.len());
}
