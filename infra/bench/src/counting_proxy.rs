//! The AWS calls a local stack makes, counted honestly: a second local stack is started with
//! `AWS_ENDPOINT_URL` pointing at a small HTTP proxy in this process, which forwards every
//! request unchanged to the emulator and counts it by its `X-Amz-Target` header (such as
//! `DynamoDB_20120810.UpdateItem`).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use anyhow::{Context, ensure};
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use meetin_test_support::stack::Account;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::load::{Call, Target, measure};
use crate::{Options, Paths, http_client, raised, start_stack};

/// Calls per `X-Amz-Target` (or `METHOD /path` for a request without one).
pub type Counts = BTreeMap<String, u64>;

/// Larger than any request the SDK sends to DynamoDB or Secrets Manager here.
const MAX_BODY: usize = 16 * 1024 * 1024;

struct ProxyState {
    upstream: String,
    client: reqwest::Client,
    counts: Mutex<Counts>,
}

/// The proxy on a free port of 127.0.0.1; stops when dropped.
pub(crate) struct CountingProxy {
    /// Give it as `AWS_ENDPOINT_URL`.
    pub(crate) url: String,
    state: Arc<ProxyState>,
    server: JoinHandle<()>,
}

impl CountingProxy {
    /// Forwarding to the emulator at `upstream`.
    pub(crate) async fn start(upstream: &str) -> anyhow::Result<Self> {
        let state = Arc::new(ProxyState {
            upstream: upstream.trim_end_matches('/').to_owned(),
            client: http_client()?,
            counts: Mutex::new(Counts::new()),
        });
        let app = Router::new()
            .fallback(forward)
            .with_state(Arc::clone(&state));
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the counting proxy")?;
        let addr = listener.local_addr().context("the proxy's address")?;
        let server = tokio::spawn(async move {
            if let Err(err) = axum::serve(listener, app).await {
                eprintln!("[bench] the counting proxy stopped: {err}");
            }
        });
        Ok(Self {
            url: format!("http://{addr}"),
            state,
            server,
        })
    }

    /// The calls counted so far.
    pub(crate) fn snapshot(&self) -> Counts {
        self.state
            .counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Drop for CountingProxy {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Counts the request, then sends it on as it came (minus the hop's own headers) and
/// returns the emulator's answer as it came.
async fn forward(State(state): State<Arc<ProxyState>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let key = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .map_or_else(
            || format!("{} {}", parts.method, parts.uri.path()),
            str::to_owned,
        );
    *state
        .counts
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .entry(key)
        .or_default() += 1;
    let body = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(body) => body,
        Err(err) => {
            return (StatusCode::BAD_GATEWAY, format!("reading the body: {err}")).into_response();
        }
    };
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut upstream = state
        .client
        .request(parts.method, format!("{}{path}", state.upstream))
        .body(body);
    for (name, value) in &parts.headers {
        if !is_hop_header(name) {
            upstream = upstream.header(name, value);
        }
    }
    let answer = match upstream.send().await {
        Ok(answer) => answer,
        Err(err) => {
            return (StatusCode::BAD_GATEWAY, format!("the emulator: {err}")).into_response();
        }
    };
    let status = answer.status();
    let headers = answer.headers().clone();
    match answer.bytes().await {
        Ok(bytes) => {
            let mut response = Response::new(Body::from(bytes));
            *response.status_mut() = status;
            for (name, value) in &headers {
                if !is_hop_header(name) {
                    response.headers_mut().append(name, value.clone());
                }
            }
            response
        }
        Err(err) => (StatusCode::BAD_GATEWAY, format!("the emulator: {err}")).into_response(),
    }
}

/// Headers that describe one connection or one body framing, set again by each side.
fn is_hop_header(name: &header::HeaderName) -> bool {
    [
        header::HOST,
        header::CONNECTION,
        header::CONTENT_LENGTH,
        header::TRANSFER_ENCODING,
    ]
    .contains(name)
}

/// What [`bench`] counted.
pub struct CountResults {
    /// From spawn until the stack answers `GET /`.
    pub start_up: Counts,
    /// The warm-up profile requests (`--warmup` of them).
    pub warmup: Counts,
    /// The counted profile requests (`--count-requests` of them, one connection).
    pub profile: Counts,
    pub profile_requests: usize,
}

/// Starts the proxy and a local stack behind it, warms it up, then counts the calls of
/// `--count-requests` profile requests by `account`.
pub async fn bench(
    options: &Options,
    paths: &Paths,
    binary: &Path,
    settings: &HashMap<String, String>,
    client: &reqwest::Client,
    account: &Account,
) -> anyhow::Result<CountResults> {
    let upstream = settings
        .get("AWS_ENDPOINT_URL")
        .context("AWS_ENDPOINT_URL is not set")?;
    let proxy = CountingProxy::start(upstream).await?;
    let mut env = raised(settings);
    env.insert("AWS_ENDPOINT_URL".to_owned(), proxy.url.clone());
    let mut stack = start_stack(binary, paths, "meetin-local-counted", &env, client).await?;
    let outcome = async {
        let start_up = proxy.snapshot();
        let base = stack.base_url();
        let target = Arc::new(Target::new(client, &base, account));
        let warmup = measure(
            &target,
            Call::Profile,
            options.warmup,
            1,
            options.phase_timeout,
        )
        .await?;
        let after_warmup = proxy.snapshot();
        let n = options.count_requests;
        let counted = measure(&target, Call::Profile, n, 1, options.phase_timeout).await?;
        let after = proxy.snapshot();
        for (phase, sample) in [("warm-up", &warmup), ("counted", &counted)] {
            ensure!(
                sample.errors == 0 && !sample.cut_short,
                "{phase} profile requests through the counting proxy: {} failed, first: {}",
                sample.errors,
                sample
                    .first_error
                    .as_deref()
                    .unwrap_or("none (cut short by the timeout)")
            );
        }
        eprintln!(
            "[bench] AWS calls of {n} profile requests: {:?}",
            difference(&after_warmup, &after)
        );
        anyhow::Ok(CountResults {
            warmup: difference(&start_up, &after_warmup),
            profile: difference(&after_warmup, &after),
            start_up,
            profile_requests: counted.latencies.len(),
        })
    }
    .await;
    stack.stop().await;
    outcome.with_context(|| format!("the counting part (logs in {})", paths.logs.display()))
}

/// `after - before`, per key, without the keys that did not move.
fn difference(before: &Counts, after: &Counts) -> Counts {
    after
        .iter()
        .map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0)))
        .filter(|(_, v)| *v > 0)
        .collect()
}
