//! The sample events in events/live-socket/ go through the Lambda event path of the
//! `live-socket` function: each file is deserialized into the typed event the runtime hands
//! the handler (`LambdaEvent<ApiGatewayWebsocketProxyRequest>`, as `lambda_runtime` does with
//! the invocation's body), `live_socket::handle` answers it, and the answer is serialized as
//! the runtime returns it to API Gateway. Pushes go to a fake `@connections` endpoint under
//! the stage path, as `WEBSOCKET_CALLBACK_URL` names it in AWS.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use lambda_runtime::LambdaEvent;
use meetin_aws::Via;
use meetin_messages::socket::NO_ACTIVE_SESSION;
use meetin_test_support::fake_server::{FakeServer, lock};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{Account, TestApp, repo_root, unique};

/// The connection id every sample event carries.
const SAMPLE_CONNECTION: &str = "Xk3vQdPtIAMCJkA=";

/// The page origin of the samples (in the tests' `CORS_ALLOWED_ORIGINS`).
const SAMPLE_ORIGIN: &str = "http://localhost:3000";

/// Messages the fake `@connections` received, by connection id, as JSON.
type Pushed = Arc<Mutex<HashMap<String, Vec<Value>>>>;

/// A fake Management API at `http://{addr}/prod`: every POST is recorded and accepted.
async fn fake_connections() -> (FakeServer, Pushed) {
    let pushed: Pushed = Arc::default();
    let app = Router::new()
        .route(
            "/prod/@connections/{id}",
            post(
                |State(pushed): State<Pushed>, Path(id): Path<String>, body: Bytes| async move {
                    let message = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    lock(&pushed).entry(id).or_default().push(message);
                    StatusCode::OK
                },
            )
            .delete(|| async { StatusCode::NO_CONTENT }),
        )
        .with_state(Arc::clone(&pushed));
    let server = FakeServer::start(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        "fake @connections",
        app,
    )
    .await
    .expect("fake @connections");
    (server, pushed)
}

fn pushed_to(pushed: &Pushed, connection: &str) -> Vec<Value> {
    lock(pushed).get(connection).cloned().unwrap_or_default()
}

/// events/live-socket/`name`.json with `replacements` applied, as the runtime hands it over.
fn event(
    name: &str,
    replacements: &[(&str, &str)],
) -> LambdaEvent<ApiGatewayWebsocketProxyRequest> {
    let path = repo_root().join(format!("events/live-socket/{name}.json"));
    let mut text = std::fs::read_to_string(&path).expect("event file");
    for (from, to) in replacements {
        text = text.replace(from, to);
    }
    let payload = serde_json::from_slice(text.as_bytes())
        .unwrap_or_else(|e| panic!("{name}.json is not an API Gateway WebSocket event: {e}"));
    LambdaEvent::new(payload, lambda_runtime::Context::default())
}

/// The handler's answer to `event`, as the runtime serializes it for API Gateway.
async fn invoke(
    sockets: &live_socket::Sockets,
    event: LambdaEvent<ApiGatewayWebsocketProxyRequest>,
) -> Value {
    let answer: ApiGatewayProxyResponse = live_socket::handle(sockets, event.payload).await;
    serde_json::to_value(&answer).expect("a serializable answer")
}

async fn create_meeting(app: &TestApp, who: &Account) -> Uuid {
    let r = app
        .post(
            "/api/meetings/",
            json!({"title": "Events", "organization": who.org_id}),
            Some(&who.access),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    r.body["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("meeting id")
}

#[tokio::test]
async fn every_live_socket_sample_event_is_served_through_the_lambda_event_path() {
    let app = TestApp::spawn().await;
    let (fake, pushed) = fake_connections().await;
    let callback = format!("http://{}/prod", fake.addr);
    let lookup = |name: &str| app.settings.get(name).cloned();
    let sdk = meetin_aws::sdk_config(
        &<meetin_core::AwsSettings as meetin_core::Setting>::from_lookup(&lookup).expect("AWS"),
    )
    .await;
    let sockets =
        live_socket::Sockets::with_context(app.ctx.service.clone(), &lookup, &sdk, &callback)
            .expect("the socket handler");
    assert!(
        app.settings
            .get("CORS_ALLOWED_ORIGINS")
            .is_some_and(|o| o.split(',').any(|o| o.trim() == SAMPLE_ORIGIN)),
        "the samples' Origin is allowed in the tests' settings"
    );

    let ann = app.register().await;
    let meeting = create_meeting(&app, &ann).await;
    let meeting_text = meeting.to_string();
    // Each run its own connection ids: the ephemeral table outlives the test.
    let connection = format!("{}=", unique("LiveEv"));
    let refused = format!("{}=", unique("LiveEvNo"));
    let replacements = [
        ("REPLACE_WITH_MEETING_ID", meeting_text.as_str()),
        ("REPLACE_WITH_ACCESS_TOKEN", ann.access.as_str()),
        (SAMPLE_CONNECTION, connection.as_str()),
    ];
    let connection = connection.as_str();
    let refused = refused.as_str();

    // $connect: accepted (200, no body) and registered.
    let answer = invoke(&sockets, event("connect", &replacements)).await;
    assert_eq!(answer["statusCode"], 200, "{answer}");
    let known = sockets
        .connections
        .get(connection)
        .await
        .expect("the connection store")
        .expect("the connection is registered");
    assert_eq!(
        (known.meeting, known.user, known.via),
        (meeting, ann.id, Via::ApiGateway)
    );

    // A bad token: 401, nothing registered.
    let bad_token = [
        ("REPLACE_WITH_MEETING_ID", meeting_text.as_str()),
        ("REPLACE_WITH_ACCESS_TOKEN", "not-a-token"),
        (SAMPLE_CONNECTION, refused),
    ];
    let answer = invoke(&sockets, event("connect", &bad_token)).await;
    assert_eq!(answer["statusCode"], 401, "{answer}");
    assert_eq!(
        sockets.connections.get(refused).await.expect("store"),
        None,
        "a refused connection is not registered"
    );

    // A page of another origin: 403, nothing registered.
    let foreign = [
        ("REPLACE_WITH_MEETING_ID", meeting_text.as_str()),
        ("REPLACE_WITH_ACCESS_TOKEN", ann.access.as_str()),
        (SAMPLE_CONNECTION, refused),
        (SAMPLE_ORIGIN, "https://evil.example"),
    ];
    let answer = invoke(&sockets, event("connect", &foreign)).await;
    assert_eq!(answer["statusCode"], 403, "{answer}");
    assert_eq!(sockets.connections.get(refused).await.expect("store"), None);

    // $default frames: each answered 200; what the sender hears goes through @connections.
    // No live session is running, so audio and a stop are told so.
    let answer = invoke(&sockets, event("default-audio-chunk", &replacements)).await;
    assert_eq!(answer["statusCode"], 200, "{answer}");
    assert_eq!(
        pushed_to(&pushed, connection),
        vec![json!({"type": "error", "message": NO_ACTIVE_SESSION})]
    );

    let answer = invoke(&sockets, event("default-speaker-mapping", &replacements)).await;
    assert_eq!(answer["statusCode"], 200, "{answer}");
    assert_eq!(
        pushed_to(&pushed, connection).last(),
        Some(
            &json!({"type": "speaker_updated", "speaker_label": "Speaker 0", "display_name": "Ann"})
        ),
        "the mapping is broadcast to the meeting's listeners, the sender included"
    );

    let answer = invoke(&sockets, event("default-control-stop", &replacements)).await;
    assert_eq!(answer["statusCode"], 200, "{answer}");
    assert_eq!(
        pushed_to(&pushed, connection).last(),
        Some(&json!({"type": "error", "message": NO_ACTIVE_SESSION}))
    );
    assert_eq!(pushed_to(&pushed, connection).len(), 3);
    assert!(
        pushed_to(&pushed, refused).is_empty(),
        "refused connections hear nothing"
    );

    // $disconnect: 200, and the connection is forgotten; a late frame from it gets nothing.
    let answer = invoke(&sockets, event("disconnect", &replacements)).await;
    assert_eq!(answer["statusCode"], 200, "{answer}");
    assert_eq!(
        sockets.connections.get(connection).await.expect("store"),
        None
    );
    let answer = invoke(&sockets, event("default-control-stop", &replacements)).await;
    assert_eq!(answer["statusCode"], 200, "{answer}");
    assert_eq!(pushed_to(&pushed, connection).len(), 3);
}
