//! The sample events in events/ go through the Lambda event path: `lambda_http` turns each
//! API Gateway v2 payload into a request (with its request context), and the function's
//! app answers it.

use std::path::{Path, PathBuf};

use axum::body::Body;
use chrono::Utc;
use http::{Request, StatusCode};
use meetin_core::jwt::TokenType;
use serde_json::{Value, json};

use crate::helpers::{Account, TestApp, random_ip, repo_root, unique};

const ORG_PLACEHOLDER: &str = "3f1c8e2a-6b4d-4c1e-9a77-2d5e8f0b1c42";
const MEMBERSHIP_PLACEHOLDER: &str = "7a9d2c15-0e3b-4f68-b1d4-5c6e7f8091a2";
const INVITATION_PLACEHOLDER: &str = "5b2e9c40-8d1f-4a63-9e07-1c3d5f7a9b28";

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
    assert_eq!(
        (r.status, r.body["state"].clone()),
        (StatusCode::CREATED, json!("pending")),
        "{r:?}"
    );
    let invitation = r.body["id"].as_str().expect("invitation").to_owned();
    let as_bob = [
        ip_swap,
        ("REPLACE_WITH_ACCESS_TOKEN", bob.access.as_str()),
        (INVITATION_PLACEHOLDER, invitation.as_str()),
    ];
    let r = send(event("invitations-list", &as_bob)).await;
    assert_eq!(r.body["results"][0]["id"], json!(invitation), "{r:?}");
    let r = send(event("invitation-accept", &as_bob)).await;
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
    let r = send(event("members-add", &add)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    let invitation = r.body["id"].as_str().expect("invitation").to_owned();
    let as_bob = [
        as_bob[0],
        as_bob[1],
        (INVITATION_PLACEHOLDER, invitation.as_str()),
    ];
    let r = send(event("invitation-decline", &as_bob)).await;
    assert_eq!(
        (r.status, r.body["state"].clone()),
        (StatusCode::OK, json!("declined"))
    );
    let r = send(event("organization-leave", &with_org)).await;
    assert_eq!(
        (r.status, r.body.clone()),
        (
            StatusCode::BAD_REQUEST,
            json!({"error": "The organization's last admin cannot leave."})
        )
    );
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

/// Every API Gateway HTTP event under events/ (recursively, so each new function's events
/// are covered), as `(path relative to events/, event)`. Other payloads (the migrate
/// function's) have no `requestContext.http` and are left out.
fn http_events() -> Vec<(String, String)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("events directory") {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "json") {
                out.push(path);
            }
        }
    }
    let root = repo_root().join("events");
    let mut files = Vec::new();
    walk(&root, &mut files);
    files.sort();
    files
        .into_iter()
        .filter_map(|path| {
            let text = std::fs::read_to_string(&path).expect("event file");
            let event: Value = serde_json::from_str(&text).expect("event JSON");
            let name = path.strip_prefix(&root).expect("under events/");
            event["requestContext"]["http"]
                .is_object()
                .then(|| (name.display().to_string(), text))
        })
        .collect()
}

/// The event as API Gateway sends it through the named stage `stage`: `rawPath` and
/// `requestContext.http.path` start with `/{stage}`, and `requestContext.stage` names it.
fn through_stage(text: &str, stage: &str) -> String {
    let mut event: Value = serde_json::from_str(text).expect("event JSON");
    for pointer in ["/rawPath", "/requestContext/http/path"] {
        if let Some(field) = event.pointer_mut(pointer)
            && let Some(prefixed) = field.as_str().map(|p| format!("/{stage}{p}"))
        {
            *field = Value::String(prefixed);
        }
    }
    event["requestContext"]["stage"] = json!(stage);
    event.to_string()
}

fn parse(text: &str) -> Request<Body> {
    lambda_http::request::from_str(text)
        .expect("a valid API Gateway v2 event")
        .map(|body| Body::from(body.to_vec()))
}

/// Fresh data for one run of one event: a new organization of `owner` (the sample's
/// `ann@example.com`) with `member` in it, freshly minted tokens of `owner` (the run may
/// revoke them), and `outsider` standing in for `bob@example.com`, whom the sample adds.
async fn replacements(
    app: &TestApp,
    owner: &Account,
    member: &Account,
    outsider: &Account,
) -> Vec<(String, String)> {
    let r = app
        .post(
            "/api/auth/organizations/",
            json!({"name": unique("Sample ")}),
            Some(&owner.access),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    let org = r.body["id"].as_str().expect("organization id").to_owned();
    let org_id = org.parse().expect("organization uuid");
    let membership = app.add_member(owner, org_id, member, "member").await;
    // A meeting of the owner's with one speaker, for the meetings samples.
    let meeting: uuid::Uuid = sqlx::query_scalar(
        "INSERT INTO meetings (organization_id, created_by_id, title) VALUES ($1, $2, 'Sample') RETURNING id",
    )
    .bind(org_id)
    .bind(owner.id)
    .fetch_one(&app.pool)
    .await
    .expect("sample meeting");
    sqlx::query("INSERT INTO speakers (meeting_id, label) VALUES ($1, 'Speaker 0')")
        .bind(meeting)
        .execute(&app.pool)
        .await
        .expect("sample speaker");
    let recording: uuid::Uuid = sqlx::query_scalar(
        "INSERT INTO recordings (meeting_id, storage_key) \
         VALUES ($1, 'recordings/' || $1 || '/' || gen_random_uuid() || '.webm') RETURNING id",
    )
    .bind(meeting)
    .fetch_one(&app.pool)
    .await
    .expect("sample recording");
    let token = |kind| {
        app.ctx
            .jwt
            .issue(kind, owner.id, None, Utc::now())
            .expect("token")
            .token
    };
    vec![
        ("203.0.113.10".into(), random_ip().to_string()),
        ("REPLACE_WITH_ACCESS_TOKEN".into(), token(TokenType::Access)),
        (
            "REPLACE_WITH_REFRESH_TOKEN".into(),
            token(TokenType::Refresh),
        ),
        (ORG_PLACEHOLDER.into(), org),
        (MEMBERSHIP_PLACEHOLDER.into(), membership.to_string()),
        ("bob@example.com".into(), outsider.email.clone()),
        ("ann@example.com".into(), owner.email.clone()),
        ("REPLACE_WITH_MEETING_ID".into(), meeting.to_string()),
        ("REPLACE_WITH_RECORDING_ID".into(), recording.to_string()),
        // No such task, version or item: their routes answer the specific 404, not the
        // router's.
        (
            "REPLACE_WITH_TASK_ID".into(),
            uuid::Uuid::new_v4().to_string(),
        ),
        (
            "REPLACE_WITH_VERSION_ID".into(),
            uuid::Uuid::new_v4().to_string(),
        ),
        (
            "REPLACE_WITH_ACTION_ITEM_ID".into(),
            uuid::Uuid::new_v4().to_string(),
        ),
    ]
}

#[tokio::test]
async fn every_sample_event_answers_the_same_through_a_named_stage() {
    let app = TestApp::spawn().await;
    let member = app.register().await;
    let outsider = app.register().await;
    let events = http_events();
    assert!(events.len() >= 15, "the auth samples at least: {events:?}");
    // Each run makes up to three requests as the owner: a new owner every ten events
    // stays under the per-user rate limit.
    for chunk in events.chunks(10) {
        let owner = app.register().await;
        for (name, text) in chunk {
            let mut answers = Vec::new();
            for stage in [None, Some("prod")] {
                let mut text = text.clone();
                // A password change spends the owner's password: each run gets its own.
                let owner = if name.ends_with("password.json") {
                    app.register().await
                } else {
                    owner.clone()
                };
                for (from, to) in replacements(&app, &owner, &member, &outsider).await {
                    text = text.replace(&from, &to);
                }
                if let Some(stage) = stage {
                    text = through_stage(&text, stage);
                }
                let r = app.send(parse(&text), random_ip()).await;
                // Each sample targets one of its function's routes: the generic 404 means
                // the path was not routed.
                assert_ne!(
                    r.body,
                    json!({"detail": "Not found."}),
                    "{name} {stage:?}: {r:?}"
                );
                answers.push(r.status);
            }
            assert_eq!(answers[0], answers[1], "{name}: $default vs the prod stage");
        }
    }
}

#[tokio::test]
async fn pagination_links_keep_the_named_stage() {
    let app = TestApp::spawn().await;
    let owner = app.register().await;
    for i in 0..20 {
        let r = app
            .post(
                "/api/auth/organizations/",
                json!({"name": format!("Staged {i}")}),
                Some(&owner.access),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED);
    }
    let list = std::fs::read_to_string(repo_root().join("events/auth/organizations-list.json"))
        .expect("event file")
        .replace("REPLACE_WITH_ACCESS_TOKEN", &owner.access)
        .replace("203.0.113.10", &random_ip().to_string());
    let r = app
        .send(parse(&through_stage(&list, "prod")), random_ip())
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["count"], 21);
    assert_eq!(
        r.body["next"],
        "https://abc123.execute-api.us-east-1.amazonaws.com/prod/api/auth/organizations/?page=2"
    );

    let page2 = through_stage(&list.replace("page=1", "page=2"), "prod");
    let r = app.send(parse(&page2), random_ip()).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["results"].as_array().map(Vec::len), Some(1));
    assert_eq!(r.body["next"], Value::Null);
    assert!(
        r.body["previous"].as_str().is_some_and(|p| p.starts_with(
            "https://abc123.execute-api.us-east-1.amazonaws.com/prod/api/auth/organizations/"
        )),
        "{r:?}"
    );
}

/// API Gateway hands the Lambda `rawPath` percent-decoded: a client's `%3F` arrives as `?`,
/// which must not end the path.
#[tokio::test]
async fn a_decoded_question_mark_or_a_stage_lookalike_is_not_routed() {
    let app = TestApp::spawn().await;
    let owner = app.register().await;
    let list = std::fs::read_to_string(repo_root().join("events/auth/organizations-list.json"))
        .expect("event file")
        .replace("REPLACE_WITH_ACCESS_TOKEN", &owner.access);
    let not_found = json!({"detail": "Not found."});

    let r = app.send(parse(&list), random_ip()).await;
    assert_eq!(r.status, StatusCode::OK, "the unaltered event: {r:?}");
    for (from, to) in [
        ("/api/auth/organizations/", "/api/auth/organizations/?/"),
        ("/api/auth/organizations/", "/api/auth/organizations/#/"),
        ("/api/auth/organizations/", "/api/auth/x/../organizations/"),
    ] {
        let text = list.replace(from, to);
        for text in [text.clone(), through_stage(&text, "prod")] {
            let r = app.send(parse(&text), random_ip()).await;
            assert_eq!(
                (r.status, &r.body),
                (StatusCode::NOT_FOUND, &not_found),
                "{to}"
            );
            assert_eq!(
                r.headers.get("content-type").map(|v| v.as_bytes()),
                Some(&b"application/json"[..])
            );
        }
    }

    // Only a whole first segment is the stage.
    let lookalike = through_stage(&list, "prod").replace("\"/prod/api", "\"/prodfoo/api");
    let r = app.send(parse(&lookalike), random_ip()).await;
    assert_eq!((r.status, &r.body), (StatusCode::NOT_FOUND, &not_found));
}

/// events/`path` as Lambda's event source mapping hands it to a worker.
fn sqs_event(path: &str) -> lambda_runtime::LambdaEvent<aws_lambda_events::event::sqs::SqsEvent> {
    let text = std::fs::read_to_string(repo_root().join("events").join(path)).expect(path);
    let event = serde_json::from_str(&text).expect("an SQS event");
    lambda_runtime::LambdaEvent::new(event, Default::default())
}

fn redelivered(response: &aws_lambda_events::event::sqs::SqsBatchResponse) -> Vec<&str> {
    response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect()
}

#[tokio::test]
async fn the_worker_sample_events_go_through_each_workers_handle() {
    let app = TestApp::spawn().await;
    let deepgram = meetin_test_support::fake_deepgram::FakeDeepgram::start()
        .await
        .expect("fake Deepgram");
    let recordings = app
        .worker(&deepgram, meetin_test_support::fake_deepgram::DEFAULT_KEY)
        .await;
    let minutes = app.minutes_worker(&[]).await;

    // A job for a recording (or task) this database does not hold: handled, nothing to
    // deliver again, nothing paid for.
    let r = meetin_worker::handle_batch(
        sqs_event("recording-worker/sqs-transcribe.json"),
        &recordings,
    )
    .await
    .expect("handled");
    assert!(redelivered(&r).is_empty(), "{r:?}");
    let r = meetin_worker::handle_batch(sqs_event("minutes-worker/sqs-generate.json"), &minutes)
        .await
        .expect("handled");
    assert!(redelivered(&r).is_empty(), "{r:?}");
    assert!(deepgram.requests().is_empty());

    // A batch of a job and a body that is not one: only the poison is delivered again.
    let r = meetin_worker::handle_batch(sqs_event("recording-worker/sqs-poison.json"), &recordings)
        .await
        .expect("handled");
    assert_eq!(redelivered(&r), ["6d1e8a4f-2b7c-4d90-8e3a-5f6b7c8d9e01"]);
    let r = meetin_worker::handle_batch(sqs_event("minutes-worker/sqs-poison.json"), &minutes)
        .await
        .expect("handled");
    assert_eq!(redelivered(&r), ["9c664854-7041-40e9-940b-7ab4775d73f7"]);
}
