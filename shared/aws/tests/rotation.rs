//! Refresh-token rotation records against the DynamoDB emulator through the real SDK client:
//! the conditional writes that let exactly one of several instances win. Each store gets its
//! own client, as two Lambda instances would.

use std::path::Path;
use std::sync::Arc;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, SharedHttpConnector, http_client_fn,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use chrono::{Duration, Utc};
use meetin_aws::{Claim, EphemeralStore, Rotated, SupersedeOutcome, TokenRecord, aws_sdk_dynamodb};

/// A store on the ephemeral table (`EPHEMERAL_TABLE`, else the local stack's; created if
/// missing) with its own client. The emulator checks a condition and applies a write in
/// separate steps, unlike DynamoDB, which serializes the writes to an item; stores sharing
/// `one_at_a_time` send their requests one at a time, as DynamoDB would apply them, while
/// their tasks still race (see tests/rate_limit.rs).
async fn store(one_at_a_time: Arc<tokio::sync::Mutex<()>>) -> EphemeralStore {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let env = meetin_test_support::local_settings(&root).expect("infra/local/env");
    let sdk = meetin_aws::sdk_config_from(&|name| env.get(name).cloned())
        .await
        .expect("AWS settings");
    let table = std::env::var("EPHEMERAL_TABLE").unwrap_or_else(|_| env["EPHEMERAL_TABLE"].clone());
    meetin_test_support::ensure_ephemeral_table(&aws_sdk_dynamodb::Client::new(&sdk), &table)
        .await
        .expect("ephemeral table");
    let http = aws_smithy_http_client::Builder::new().build_http();
    let serialized = http_client_fn(move |settings, components| {
        SharedHttpConnector::new(OneAtATime {
            inner: http.http_connector(settings, components),
            lock: Arc::clone(&one_at_a_time),
        })
    });
    let sdk = sdk.to_builder().http_client(serialized).build();
    EphemeralStore::new(aws_sdk_dynamodb::Client::new(&sdk), table)
}

#[derive(Debug)]
struct OneAtATime {
    inner: SharedHttpConnector,
    lock: Arc<tokio::sync::Mutex<()>>,
}

impl HttpConnector for OneAtATime {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let (inner, lock) = (self.inner.clone(), Arc::clone(&self.lock));
        HttpConnectorFuture::new(async move {
            let _turn = lock.lock().await;
            inner.call(request).await
        })
    }
}

/// Stores of `count` instances sharing one emulator.
async fn instances(count: usize) -> Vec<EphemeralStore> {
    let emulator = Arc::new(tokio::sync::Mutex::new(()));
    let mut stores = Vec::new();
    for _ in 0..count {
        stores.push(store(Arc::clone(&emulator)).await);
    }
    stores
}

fn jti() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

fn rotated(record: Option<TokenRecord>) -> Rotated {
    match record {
        Some(TokenRecord::Rotated(rotated)) => rotated,
        other => panic!("not rotated: {other:?}"),
    }
}

#[tokio::test]
async fn the_first_presentation_is_recorded_with_its_child_and_later_ones_read_it() {
    let store = instances(1).await.remove(0);
    let (token, child) = (jti(), jti());
    let now = Utc::now();
    let until = now + Duration::days(7);
    assert_eq!(store.token_record(&token).await.expect("read"), None);
    assert_eq!(
        store
            .claim_rotation(&token, &child, until, now)
            .await
            .expect("claim"),
        Claim::FirstRotation
    );
    let expected = Rotated {
        rotated_at: Some(
            chrono::DateTime::from_timestamp_millis(now.timestamp_millis()).expect("ms"),
        ),
        children: Some(vec![child]),
        generation: 1,
    };
    let again = store
        .claim_rotation(&token, &jti(), until, now)
        .await
        .expect("claim");
    assert_eq!(again, Claim::Seen(TokenRecord::Rotated(expected.clone())));
    assert_eq!(
        rotated(store.token_record(&token).await.expect("read")),
        expected
    );
}

#[tokio::test]
async fn exactly_one_of_concurrent_rerotations_wins() {
    // GIVEN a rotated token, read by eight instances at the same generation
    let stores = instances(8).await;
    let token = jti();
    let now = Utc::now();
    stores[0]
        .claim_rotation(&token, &jti(), now + Duration::days(7), now)
        .await
        .expect("claim");
    let generation = rotated(stores[0].token_record(&token).await.expect("read")).generation;

    // WHEN each replaces the rotation with its own child at once
    let mut tasks = tokio::task::JoinSet::new();
    for store in stores.clone() {
        let token = token.clone();
        tasks.spawn(async move {
            let child = jti();
            let won = store
                .rerotate(&token, &child, generation, Utc::now())
                .await
                .expect("rerotate");
            (won, child)
        });
    }
    let results = tasks.join_all().await;

    // THEN one wins, and its child is the rotation's only child
    let winners: Vec<&String> = results
        .iter()
        .filter(|(won, _)| *won)
        .map(|(_, child)| child)
        .collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    let now_recorded = rotated(stores[0].token_record(&token).await.expect("read"));
    assert_eq!(now_recorded.children, Some(vec![winners[0].clone()]));
    assert_eq!(now_recorded.generation, generation + 1);
}

#[tokio::test]
async fn a_child_is_either_used_or_superseded_never_both() {
    let stores = instances(2).await;
    for _ in 0..10 {
        // GIVEN an unused child
        let (child, grandchild) = (jti(), jti());
        let now = Utc::now();
        let until = now + Duration::days(7);

        // WHEN its holder presents it while its parent's re-presentation supersedes it
        let (claimed, superseded) = tokio::join!(
            stores[0].claim_rotation(&child, &grandchild, until, now),
            stores[1].supersede(&child, until, now)
        );

        // THEN exactly one of them happened, and the other one learns it
        match (claimed.expect("claim"), superseded.expect("supersede")) {
            (Claim::FirstRotation, SupersedeOutcome::Used) => {}
            (Claim::Seen(TokenRecord::Superseded), SupersedeOutcome::Superseded) => {}
            other => panic!("both or neither: {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_second_supersede_learns_it_was_done() {
    let store = instances(1).await.remove(0);
    let child = jti();
    let until = Utc::now() + Duration::days(7);
    let supersede = || store.supersede(&child, until, Utc::now());
    assert_eq!(
        supersede().await.expect("first"),
        SupersedeOutcome::Superseded
    );
    assert_eq!(
        supersede().await.expect("second"),
        SupersedeOutcome::AlreadySuperseded
    );
    assert_eq!(
        store.token_record(&child).await.expect("read"),
        Some(TokenRecord::Superseded)
    );
}

#[tokio::test]
async fn siblings_join_only_the_rotation_they_saw_and_only_up_to_the_cap() {
    let store = instances(1).await.remove(0);
    let token = jti();
    let now = Utc::now();
    let first = jti();
    store
        .claim_rotation(&token, &first, now + Duration::days(7), now)
        .await
        .expect("claim");
    let seen = rotated(store.token_record(&token).await.expect("read"));
    let at = seen.rotated_at.expect("rotated_at");

    // A sibling joins the rotation it saw, up to three children here.
    let second = jti();
    assert!(
        store
            .add_sibling(&token, &second, at, 3)
            .await
            .expect("add")
    );
    assert!(store.add_sibling(&token, &jti(), at, 3).await.expect("add"));
    assert!(
        !store
            .add_sibling(&token, &jti(), at, 3)
            .await
            .expect("full")
    );
    let now_recorded = rotated(store.token_record(&token).await.expect("read"));
    assert_eq!(now_recorded.children.map(|c| c.len()), Some(3));
    assert_eq!(now_recorded.generation, seen.generation + 2);

    // A replaced rotation takes no more siblings, and a stale generation cannot replace it.
    let later = now + Duration::seconds(40);
    assert!(
        store
            .rerotate(&token, &jti(), now_recorded.generation, later)
            .await
            .expect("rerotate")
    );
    assert!(
        !store
            .add_sibling(&token, &jti(), at, 3)
            .await
            .expect("stale")
    );
    assert!(
        !store
            .rerotate(&token, &jti(), now_recorded.generation, later)
            .await
            .expect("stale")
    );
}
