//! The Lambda entry point of an HTTP function whose start-up (secrets, the first database
//! connection, the first DynamoDB connection) overlaps the runtime's first `GET /next`
//! instead of delaying it.
//!
//! Lambda records how an environment was created in `AWS_LAMBDA_INITIALIZATION_TYPE`
//! (<https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html>):
//! - `on-demand`: a request is waiting, so init is on its path. The start-up is spawned and
//!   the runtime starts polling at once; the first request awaits what is still under way.
//! - `provisioned-concurrency` and `snap-start`: init runs before any request and the
//!   environment may be frozen right after it, so the start-up finishes inside init (the
//!   database connection's background warm-up excepted: a first request after a freeze
//!   waits for it, or connects, as [`crate::context::DatabaseWarmUp`] says).

use std::future::Future;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::response::{IntoResponse, Response};
use tokio::sync::OnceCell;
use tokio::task::JoinHandle;
use tower::ServiceExt;

use crate::ApiError;

/// `AWS_LAMBDA_INITIALIZATION_TYPE` values whose init is not on a request's path.
const STARTS_AHEAD: [&str; 2] = ["provisioned-concurrency", "snap-start"];

/// Serves the router `start` builds as the Lambda's handler until the runtime stops it.
///
/// On demand (and wherever `AWS_LAMBDA_INITIALIZATION_TYPE` is unset) `start` runs beside
/// the runtime's start; a start that fails answers that request with the contract's 500
/// (`{"error": "An internal error occurred. Please try again later."}`, the cause
/// logged) and the next request runs
/// `start` again, so a briefly unreadable secret does not leave the environment broken.
/// Ahead of requests (provisioned concurrency, SnapStart) a failed start fails init, as
/// Lambda expects.
pub async fn run_on_lambda_starting<F, Fut>(start: F) -> Result<(), lambda_http::Error>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<Router>> + Send + 'static,
{
    let initialization = std::env::var("AWS_LAMBDA_INITIALIZATION_TYPE").unwrap_or_default();
    if STARTS_AHEAD.contains(&initialization.as_str()) {
        return crate::run_on_lambda(start().await?).await;
    }
    let app = Arc::new(Starting::spawn(start));
    lambda_http::run(tower::service_fn(move |request: lambda_http::Request| {
        let app = Arc::clone(&app);
        async move {
            match app.router().await {
                Ok(router) => router.clone().oneshot(request).await,
                Err(err) => Ok(start_failed(&err)),
            }
        }
    }))
    .await
}

/// [`run_on_lambda_starting`] for an HTTP function: `load` reads its state (settings,
/// secrets, the database pool) and `router` builds its routes, the two side by side so the
/// routes (about 2 ms of CPU, OpenAPI path items included) are built while the state's reads
/// are under way; then the routes get the state and [`crate::finish_router`]'s layers.
pub async fn run_function<S, L, Fut>(
    load: L,
    router: fn() -> Router<S>,
) -> Result<(), lambda_http::Error>
where
    S: Clone + Send + Sync + 'static,
    L: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<S>> + Send + 'static,
{
    run_on_lambda_starting(move || {
        // Polled first, so the reads are on their way before the routes are built.
        let state = load();
        async move {
            let (state, routes) = tokio::join!(state, async { router() });
            Ok(crate::finish_router(routes.with_state(state?)))
        }
    })
    .await
}

/// A router being built in the background, then kept.
struct Starting<F> {
    start: F,
    /// The start spawned at init; taken by the first request.
    first: Mutex<Option<JoinHandle<anyhow::Result<Router>>>>,
    ready: OnceCell<Router>,
}

impl<F, Fut> Starting<F>
where
    F: Fn() -> Fut,
    Fut: Future<Output = anyhow::Result<Router>> + Send + 'static,
{
    fn spawn(start: F) -> Self {
        let first = tokio::spawn(start());
        Self {
            start,
            first: Mutex::new(Some(first)),
            ready: OnceCell::new(),
        }
    }

    /// The router, once a start has succeeded; waits for the one under way, or runs a new
    /// one after a failure.
    async fn router(&self) -> anyhow::Result<&Router> {
        self.ready
            .get_or_try_init(|| async {
                let first = self.first.lock().unwrap_or_else(|e| e.into_inner()).take();
                match first {
                    Some(handle) => handle.await?,
                    None => (self.start)().await,
                }
            })
            .await
    }
}

fn start_failed(err: &anyhow::Error) -> Response {
    tracing::error!(
        error = format!("{err:#}"),
        "start-up failed; the next request retries it"
    );
    ApiError::internal("start-up failed").into_response()
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn a_failed_start_is_retried_by_the_next_request_then_kept() {
        let runs = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&runs);
        let starting = Starting::spawn(move || {
            let run = counted.fetch_add(1, Ordering::SeqCst);
            async move {
                if run == 0 {
                    anyhow::bail!("secret not readable yet");
                }
                Ok(Router::new())
            }
        });
        assert!(starting.router().await.is_err());
        assert!(starting.router().await.is_ok());
        assert!(starting.router().await.is_ok());
        assert_eq!(runs.load(Ordering::SeqCst), 2);
    }
}
