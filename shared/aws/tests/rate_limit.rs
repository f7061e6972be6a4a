//! `RateLimiter` against the DynamoDB emulator through the real SDK client. Each limiter
//! gets its own client, as two processes or two Lambda instances would.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, SharedHttpConnector, http_client_fn,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use chrono::{DateTime, TimeDelta, Utc};
use meetin_aws::{RateDecision, RateLimiter, aws_sdk_dynamodb};
use tokio::task::JoinSet;

const MINUTE: Duration = Duration::from_secs(60);

/// A limiter on the local stack's ephemeral table (created if missing), with its own client.
async fn limiter() -> RateLimiter {
    limiter_sending(None).await
}

/// The emulator checks a condition and applies the update in separate steps, unlike DynamoDB,
/// which serializes the writes to an item: two concurrent updates can both pass a check only
/// one of them should (seen here as 101 admitted of 100). Limiters sharing `one_at_a_time`
/// send their requests to the emulator one at a time, each finished before the next starts,
/// as DynamoDB would apply them; the limiters and their tasks still race for the key.
async fn limiter_sending(one_at_a_time: Option<Arc<tokio::sync::Mutex<()>>>) -> RateLimiter {
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
    let Some(lock) = one_at_a_time else {
        return RateLimiter::new(dynamodb, table);
    };
    // Plain HTTP: the emulator listens on http://127.0.0.1.
    let http = aws_smithy_http_client::Builder::new().build_http();
    let serialized = http_client_fn(move |settings, components| {
        SharedHttpConnector::new(OneAtATime {
            inner: http.http_connector(settings, components),
            lock: Arc::clone(&lock),
        })
    });
    let sdk = sdk.to_builder().http_client(serialized).build();
    RateLimiter::new(aws_sdk_dynamodb::Client::new(&sdk), table)
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
            // The emulator has applied the update before it answers.
            let _turn = lock.lock().await;
            inner.call(request).await
        })
    }
}

fn unique_key() -> String {
    format!("test#{}", uuid::Uuid::new_v4())
}

fn at(t0: DateTime<Utc>, ms: i64) -> DateTime<Utc> {
    t0 + TimeDelta::milliseconds(ms)
}

/// How many of `requests` at `now` pass in one-minute windows.
async fn admitted(
    limiter: &RateLimiter,
    key: &str,
    limit: u32,
    requests: usize,
    now: DateTime<Utc>,
) -> usize {
    admitted_in(limiter, key, limit, MINUTE, requests, now).await
}

async fn admitted_in(
    limiter: &RateLimiter,
    key: &str,
    limit: u32,
    window: Duration,
    requests: usize,
    now: DateTime<Utc>,
) -> usize {
    let mut count = 0;
    for _ in 0..requests {
        if check(limiter, key, limit, window, now).await == RateDecision::Allowed {
            count += 1;
        }
    }
    count
}

async fn check(
    limiter: &RateLimiter,
    key: &str,
    limit: u32,
    window: Duration,
    now: DateTime<Utc>,
) -> RateDecision {
    limiter
        .check(key, limit, window, now)
        .await
        .expect("rate-limit check")
}

#[tokio::test]
async fn one_limiter_admits_exactly_the_limit_then_refuses() {
    let limiter = limiter().await;
    let key = unique_key();
    let now = Utc::now();
    let mut decisions = Vec::new();
    for _ in 0..15 {
        decisions.push(check(&limiter, &key, 10, MINUTE, now).await);
    }
    assert!(
        decisions[..10].iter().all(|d| *d == RateDecision::Allowed),
        "{decisions:?}"
    );
    assert!(
        decisions[10..].iter().all(|d| *d
            == RateDecision::Limited {
                retry_after_secs: 60
            }),
        "{decisions:?}"
    );
}

#[tokio::test]
async fn two_limiters_alternating_admit_exactly_the_limit_between_them() {
    let (a, b) = tokio::join!(limiter(), limiter());
    let key = unique_key();
    let mut decisions = Vec::new();
    for i in 0..20 {
        let limiter = if i % 2 == 0 { &a } else { &b };
        decisions.push(check(limiter, &key, 10, MINUTE, Utc::now()).await);
    }
    // The first 10 pass whichever instance serves them; none after, on either.
    assert!(
        decisions[..10].iter().all(|d| *d == RateDecision::Allowed),
        "{decisions:?}"
    );
    assert!(
        decisions[10..]
            .iter()
            .all(|d| matches!(d, RateDecision::Limited { .. })),
        "{decisions:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_limiters_hammered_concurrently_admit_exactly_the_limit() {
    let emulator = Arc::new(tokio::sync::Mutex::new(()));
    let (a, b) = tokio::join!(
        limiter_sending(Some(Arc::clone(&emulator))),
        limiter_sending(Some(emulator))
    );
    let key = unique_key();
    let limit = 100;
    let mut allowed = 0;
    // Five bursts of 64 simultaneous requests, half on each instance: 320 for 100 places.
    for _ in 0..5 {
        let mut burst = JoinSet::new();
        for task in 0..64 {
            let limiter = if task % 2 == 0 { a.clone() } else { b.clone() };
            let key = key.clone();
            burst.spawn(async move { check(&limiter, &key, limit, MINUTE, Utc::now()).await });
        }
        while let Some(decision) = burst.join_next().await {
            if decision.expect("task") == RateDecision::Allowed {
                allowed += 1;
            }
        }
    }
    println!(
        "320 concurrent requests, limit 100: {allowed} admitted, {} + {} store calls",
        a.store_calls(),
        b.store_calls()
    );
    assert_eq!(allowed, limit);
}

#[tokio::test]
async fn a_reservation_ends_with_its_window_and_does_not_leak_into_the_next() {
    let (a, b) = tokio::join!(limiter(), limiter());
    let key = unique_key();
    let window = Duration::from_secs(2);
    let limit = 40;
    let t0 = Utc::now();
    let count = |limiter, requests, now| admitted_in(limiter, &key, limit, window, requests, now);

    // GIVEN instance A reserved blocks 1, 2 and 4 (7 in all) and used only 4 of them
    assert_eq!(count(&a, 4, t0).await, 4);
    // AND instance B took everything else in the window
    assert_eq!(count(&b, 100, at(t0, 500)).await, 33);

    // WHEN the window has passed
    let t1 = at(t0, 2_500);

    // THEN A admits exactly the limit in the new window, its 3 stranded places not included
    assert_eq!(count(&a, 100, t1).await, 40);
    // AND B, which still knows the old window, finds the new one used up until it ends
    assert_eq!(
        check(&b, &key, limit, window, at(t1, 300)).await,
        RateDecision::Limited {
            retry_after_secs: 2
        }
    );
}

#[tokio::test]
async fn a_thousand_requests_cost_a_few_store_calls() {
    // Under a generous limit, one instance, one request at a time
    let limiter = limiter().await;
    let key = unique_key();
    assert_eq!(
        admitted(&limiter, &key, 1_000_000, 1000, Utc::now()).await,
        1000
    );
    let sequential = limiter.store_calls();

    // The same from 50 concurrent tasks on a fresh instance
    let concurrent_limiter = self::limiter().await;
    let key = unique_key();
    let mut tasks = JoinSet::new();
    for _ in 0..50 {
        let (limiter, key) = (concurrent_limiter.clone(), key.clone());
        tasks.spawn(async move { admitted(&limiter, &key, 1_000_000, 20, Utc::now()).await });
    }
    let mut allowed = 0;
    while let Some(n) = tasks.join_next().await {
        allowed += n.expect("task");
    }
    assert_eq!(allowed, 1000);
    let concurrent = concurrent_limiter.store_calls();

    // And 1000 requests against a limit of 120: the refusals cost nothing after the first
    let tight = self::limiter().await;
    assert_eq!(
        admitted(&tight, &unique_key(), 120, 1000, Utc::now()).await,
        120
    );
    let limited = tight.store_calls();

    println!(
        "store calls per 1000 requests: {sequential} sequential, {concurrent} from 50 tasks \
         (limit 1,000,000); {limited} with limit 120"
    );
    assert!(sequential <= 50, "{sequential}");
    assert!(concurrent <= 50, "{concurrent}");
    assert!(limited <= 30, "{limited}");
}

#[tokio::test]
async fn retry_after_counts_to_the_end_of_the_window_opened_by_the_first_request() {
    let (a, b) = tokio::join!(limiter(), limiter());
    let key = unique_key();
    let t0 = Utc::now();

    // GIVEN two requests, the first opening the window at t0
    assert_eq!(admitted(&a, &key, 2, 1, t0).await, 1);
    assert_eq!(admitted(&a, &key, 2, 1, at(t0, 10_000)).await, 1);

    // WHEN a third comes 15.2 s after the first, on either instance
    let refused = RateDecision::Limited {
        retry_after_secs: 45,
    };
    assert_eq!(check(&a, &key, 2, MINUTE, at(t0, 15_200)).await, refused);
    assert_eq!(check(&b, &key, 2, MINUTE, at(t0, 15_200)).await, refused);

    // THEN later refusals count down without asking the store again
    let calls = b.store_calls();
    assert_eq!(
        check(&b, &key, 2, MINUTE, at(t0, 59_500)).await,
        RateDecision::Limited {
            retry_after_secs: 1
        }
    );
    assert_eq!(b.store_calls(), calls);

    // AND at the end of the window requests pass again
    assert_eq!(
        check(&b, &key, 2, MINUTE, at(t0, 60_000)).await,
        RateDecision::Allowed
    );
}
