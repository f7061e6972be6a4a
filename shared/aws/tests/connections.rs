//! `ConnectionStore` against the DynamoDB emulator through the real SDK client: a meeting's
//! listeners registered, listed, looked up and removed, each meeting apart.

use std::path::Path;

use meetin_aws::{Connection, ConnectionStore, Via, aws_sdk_dynamodb};
use uuid::Uuid;

async fn store() -> ConnectionStore {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let env = meetin_test_support::local_settings(&root).expect("infra/local/env");
    let sdk = meetin_aws::sdk_config_from(&|name| env.get(name).cloned())
        .await
        .expect("AWS settings");
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let table = &env["EPHEMERAL_TABLE"];
    meetin_test_support::ensure_ephemeral_table(&dynamodb, table)
        .await
        .expect("ephemeral table");
    ConnectionStore::new(dynamodb, table)
}

fn connection(meeting: Uuid, at: i64, via: Via) -> Connection {
    Connection {
        id: format!("conn-{}", Uuid::new_v4().simple()),
        meeting,
        user: Uuid::new_v4(),
        via,
        connected_at_ms: at,
        token_expires_at: None,
    }
}

#[tokio::test]
async fn a_meetings_listeners_are_listed_looked_up_and_removed() {
    let store = store().await;
    let (meeting, other) = (Uuid::new_v4(), Uuid::new_v4());
    let first = connection(meeting, 1, Via::ApiGateway);
    let second = connection(
        meeting,
        2,
        Via::Bridge {
            task: "task-a".into(),
        },
    );
    let elsewhere = connection(other, 3, Via::ApiGateway);
    for c in [&second, &first, &elsewhere] {
        store.register(c).await.expect("register");
    }

    assert_eq!(
        store.of_meeting(meeting).await.expect("list"),
        [first.clone(), second.clone()],
        "oldest first, this meeting only"
    );
    assert_eq!(
        store.get(&second.id).await.expect("get"),
        Some(second.clone())
    );
    assert_eq!(store.get("conn-unknown").await.expect("get"), None);

    assert_eq!(
        store.remove(&first.id).await.expect("remove"),
        Some(first.clone())
    );
    assert_eq!(store.remove(&first.id).await.expect("again"), None, "gone");
    assert_eq!(store.of_meeting(meeting).await.expect("list"), [second]);
    assert_eq!(store.of_meeting(other).await.expect("list"), [elsewhere]);
}

#[tokio::test]
async fn a_meeting_with_many_listeners_is_listed_whole() {
    let store = store().await;
    let meeting = Uuid::new_v4();
    let all: Vec<Connection> = (0..120)
        .map(|i| connection(meeting, i, Via::ApiGateway))
        .collect();
    // One at a time: the emulator answers 500 to concurrent transactions (DynamoDB does not).
    for c in &all {
        store.register(c).await.expect("register");
    }
    let listed = store.of_meeting(meeting).await.expect("list");
    assert_eq!(listed, all);
}
