//! The Lambda Runtime API (2018-06-01) for one function process, served on 127.0.0.1: it
//! hands out queued events on `GET /next` and reports what the function did, stamped on
//! arrival, so the caller can time init, the first response and warm invocations.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::{Mutex, mpsc};
use tokio::task::JoinHandle;
use uuid::Uuid;

/// The function's timeout in template.yaml; also the deadline the Runtime API announces.
pub const INVOCATION_TIMEOUT: Duration = Duration::from_secs(10);

/// One event waiting for the function's `GET /next`.
struct Invocation {
    request_id: String,
    event: String,
}

/// What the function did on the Runtime API, stamped on arrival.
enum Signal {
    /// `GET /next`: the function is ready for an event (the first one ends init).
    Polled(Instant),
    Response {
        request_id: String,
        at: Instant,
        body: Bytes,
    },
    InvocationError {
        request_id: String,
        body: Bytes,
    },
    InitError(Bytes),
}

struct RuntimeState {
    /// `arn:aws:lambda:us-east-1:123456789012:function:{name}`.
    function_arn: String,
    events: Mutex<mpsc::UnboundedReceiver<Invocation>>,
    signals: mpsc::UnboundedSender<Signal>,
}

/// The Lambda Runtime API (2018-06-01) for one function process; stops when dropped.
pub struct RuntimeApi {
    /// Where the function finds it (`AWS_LAMBDA_RUNTIME_API`).
    pub addr: SocketAddr,
    events: mpsc::UnboundedSender<Invocation>,
    signals: mpsc::UnboundedReceiver<Signal>,
    server: JoinHandle<()>,
}

impl RuntimeApi {
    /// Serves on a free port of 127.0.0.1 for the function `function_name`.
    pub async fn start(function_name: &str) -> anyhow::Result<Self> {
        let (events, events_rx) = mpsc::unbounded_channel();
        let (signals_tx, signals) = mpsc::unbounded_channel();
        let state = Arc::new(RuntimeState {
            function_arn: format!("arn:aws:lambda:us-east-1:123456789012:function:{function_name}"),
            events: Mutex::new(events_rx),
            signals: signals_tx,
        });
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next_invocation))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(invocation_response),
            )
            .route(
                "/2018-06-01/runtime/invocation/{id}/error",
                post(invocation_error),
            )
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(state);
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the Runtime API")?;
        let addr = listener.local_addr().context("the Runtime API's address")?;
        let server = tokio::spawn(async move {
            if let Err(err) = axum::serve(listener, app).await {
                eprintln!("[bench] the Runtime API stopped: {err}");
            }
        });
        Ok(Self {
            addr,
            events,
            signals,
            server,
        })
    }

    /// Queues `event` for the function's next `GET /next`; returns its request id and when.
    pub fn queue(&self, event: String) -> anyhow::Result<(String, Instant)> {
        let request_id = Uuid::new_v4().to_string();
        let invocation = Invocation {
            request_id: request_id.clone(),
            event,
        };
        let at = Instant::now();
        self.events
            .send(invocation)
            .map_err(|_| anyhow::anyhow!("the Runtime API has stopped"))?;
        Ok((request_id, at))
    }

    async fn signal(&mut self, within: Duration) -> anyhow::Result<Signal> {
        tokio::time::timeout(within, self.signals.recv())
            .await
            .map_err(|_| anyhow::anyhow!("the function did nothing for {within:?}"))?
            .context("the Runtime API has stopped")
    }

    /// Waits for the function to ask for an event.
    pub async fn polled(&mut self, within: Duration) -> anyhow::Result<Instant> {
        match self.signal(within).await? {
            Signal::Polled(at) => Ok(at),
            other => Err(other.into_error()),
        }
    }

    /// Waits for the response to `request_id`: when it arrived, and the API Gateway
    /// response's JSON.
    pub async fn response(
        &mut self,
        request_id: &str,
        within: Duration,
    ) -> anyhow::Result<(Instant, Value)> {
        loop {
            match self.signal(within).await? {
                Signal::Response {
                    request_id: id,
                    at,
                    body,
                } if id == request_id => {
                    let json: Value = serde_json::from_slice(&body)
                        .context("the function's response is not JSON")?;
                    return Ok((at, json));
                }
                Signal::Polled(_) => {}
                other => return Err(other.into_error()),
            }
        }
    }
}

impl Signal {
    /// What was not expected, as the benchmark's error: the function failed.
    fn into_error(self) -> anyhow::Error {
        match self {
            Self::InitError(body) => {
                anyhow::anyhow!("init error: {}", String::from_utf8_lossy(&body))
            }
            Self::InvocationError { request_id, body } => anyhow::anyhow!(
                "invocation {request_id} failed: {}",
                String::from_utf8_lossy(&body)
            ),
            Self::Response { request_id, .. } => {
                anyhow::anyhow!("a response to {request_id}, which was not asked for")
            }
            Self::Polled(_) => anyhow::anyhow!("an unexpected GET /next"),
        }
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn next_invocation(State(state): State<Arc<RuntimeState>>) -> Response {
    let _ = state.signals.send(Signal::Polled(Instant::now()));
    let Some(invocation) = state.events.lock().await.recv().await else {
        // The benchmark is done with this process.
        return StatusCode::GONE.into_response();
    };
    let deadline = epoch_ms() + INVOCATION_TIMEOUT.as_millis() as u64;
    let trace = format!(
        "Root=1-{:08x}-{};Parent={};Sampled=0",
        deadline / 1000,
        &Uuid::new_v4().simple().to_string()[..24],
        &Uuid::new_v4().simple().to_string()[..16]
    );
    (
        [
            ("content-type", "application/json".to_owned()),
            ("lambda-runtime-aws-request-id", invocation.request_id),
            ("lambda-runtime-deadline-ms", deadline.to_string()),
            (
                "lambda-runtime-invoked-function-arn",
                state.function_arn.clone(),
            ),
            ("lambda-runtime-trace-id", trace),
        ],
        invocation.event,
    )
        .into_response()
}

async fn invocation_response(
    State(state): State<Arc<RuntimeState>>,
    UrlPath(request_id): UrlPath<String>,
    body: Bytes,
) -> impl IntoResponse {
    let at = Instant::now();
    let _ = state.signals.send(Signal::Response {
        request_id,
        at,
        body,
    });
    accepted()
}

async fn invocation_error(
    State(state): State<Arc<RuntimeState>>,
    UrlPath(request_id): UrlPath<String>,
    body: Bytes,
) -> impl IntoResponse {
    let _ = state
        .signals
        .send(Signal::InvocationError { request_id, body });
    accepted()
}

async fn init_error(State(state): State<Arc<RuntimeState>>, body: Bytes) -> impl IntoResponse {
    let _ = state.signals.send(Signal::InitError(body));
    accepted()
}

fn accepted() -> impl IntoResponse {
    (StatusCode::ACCEPTED, axum::Json(json!({"status": "OK"})))
}

/// Milliseconds since the Unix epoch (the unit of `Lambda-Runtime-Deadline-Ms`).
pub fn epoch_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
