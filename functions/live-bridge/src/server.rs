//! The HTTP/1.1 server loop: a connection per task, graceful shutdown. The Fargate service
//! runs it behind its load balancer; the local stack runs it on port 8000 with API Gateway's
//! head limits in front of the functions' routers.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// How long open connections (an upload in progress) get to finish once the task is told to
/// stop: ECS waits `stopTimeout` (template: 120 s) after SIGTERM before SIGKILL.
pub const FARGATE_DRAIN: Duration = Duration::from_secs(110);

/// Pause after a failed accept (out of file descriptors, say) before the next.
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);

/// hyper's HTTP/1.1 settings for the service: a request head must arrive within 30 s.
pub fn http1() -> http1::Builder {
    let mut builder = http1::Builder::new();
    builder
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(Duration::from_secs(30));
    builder
}

/// Serves `service` (called with each request and its peer's address) on `listener` until
/// `shutdown` resolves, then lets open connections finish for up to `drain`.
pub async fn serve<S, F, B>(
    listener: TcpListener,
    builder: http1::Builder,
    service: S,
    shutdown: impl Future<Output = ()>,
    drain: Duration,
) -> std::io::Result<()>
where
    S: Fn(Request<Incoming>, SocketAddr) -> F + Clone + Send + 'static,
    F: Future<Output = Response<B>> + Send + 'static,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    // hyper_util's GracefulShutdown takes no connection served with upgrades (the legacy
    // live socket needs them): a watch channel does the same drain.
    let (stopping, _) = tokio::sync::watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    tracing::warn!(error = %err, "accept failed");
                    tokio::time::sleep(ACCEPT_PAUSE).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service = service.clone();
        let per_request = hyper::service::service_fn(move |req: Request<Incoming>| {
            let answer = service(req, peer);
            async move { Ok::<_, Infallible>(answer.await) }
        });
        let connection = builder
            .serve_connection(TokioIo::new(stream), per_request)
            .with_upgrades();
        let mut stop = stopping.subscribe();
        tokio::spawn(async move {
            let mut connection = std::pin::pin!(connection);
            let ended = tokio::select! {
                ended = connection.as_mut() => ended,
                _ = stop.changed() => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(err) = ended {
                tracing::debug!(error = %err, %peer, "connection ended");
            }
            // Dropping `stop` tells the drain below this connection is done.
        });
    }
    drop(listener);
    // No receiver (no open connection) is not an error: nothing to drain.
    let _ = stopping.send(());
    if tokio::time::timeout(drain, stopping.closed())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after {drain:?}; stopping anyway");
    }
    Ok(())
}

/// Resolves on SIGTERM (what ECS sends a task it stops) or Ctrl-C.
pub async fn terminated() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        else {
            return ctrl_c.await.unwrap_or(());
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    ctrl_c.await.unwrap_or(());
}
