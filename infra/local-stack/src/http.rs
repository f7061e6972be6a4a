//! The local stack's listener: HTTP/1.1 on a TCP socket, refusing what API Gateway refuses
//! with the contract's JSON errors.
//!
//! `axum::serve` leaves head limits to hyper, which answers an oversized head (431) or URI
//! (414) itself, with an empty body and no way to change it. Here hyper's parser limits sit
//! far above API Gateway's and [`refusal`] enforces API Gateway's own as the app's outermost
//! layer but CORS ([`api_gateway_limits`]), so those answers carry CORS headers too.
//! hyper still answers itself past [`PARSER_MAX_HEAD_BYTES`], [`PARSER_MAX_HEADERS`] headers
//! or a 65,534-byte URI (hyper's fixed `MAX_URI_LEN`): no client of this API sends those.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::response::{IntoResponse, Response};
use axum::serve::Listener;
use http::{Request, StatusCode, header};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use meetin_http::ApiError;
use meetin_http::layers::BODY_LIMIT_BYTES;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt;

/// API Gateway HTTP API quota "total combined size of request line and header values",
/// in bytes (<https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html>).
/// Past it: 431.
pub const MAX_HEAD_BYTES: usize = 10_240;

/// The longest request target (path and query), in bytes; a request line cannot be longer
/// than the head it is part of. Past it: 414.
pub const MAX_URI_BYTES: usize = MAX_HEAD_BYTES;

/// hyper's read buffer, in bytes: a head must fit in it to reach [`refusal`].
pub const PARSER_MAX_HEAD_BYTES: usize = 1024 * 1024;

/// hyper's header count limit (default 100): room for every head of [`MAX_HEAD_BYTES`]
/// (a header line takes at least 4 bytes, `a:\r\n`).
pub const PARSER_MAX_HEADERS: usize = MAX_HEAD_BYTES / 4;

/// How long open connections get to finish their requests once `shutdown` resolves.
const DRAIN: Duration = Duration::from_secs(10);

/// Serves `app` on `listener` until `shutdown` resolves, then lets open connections finish
/// their requests (up to 10 s). Handlers see the peer address as `ConnectInfo<SocketAddr>`,
/// and can take the connection over (`hyper::upgrade::on`, the WebSocket API of
/// [`crate::sockets`]); a connection taken over is not drained: it ends with the process.
///
/// hyper_util's `GracefulShutdown` does not take an HTTP/1 connection with upgrades (0.1), so
/// the drain is its mechanism written out: a watch channel each connection subscribes to.
pub async fn serve(
    mut listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let mut builder = http1::Builder::new();
    builder
        .max_buf_size(PARSER_MAX_HEAD_BYTES)
        .max_headers(PARSER_MAX_HEADERS);
    let (stopping, _) = watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // axum's `Listener::accept` retries failed accepts (e.g. out of file descriptors).
        let (stream, peer) = tokio::select! {
            accepted = Listener::accept(&mut listener) => accepted,
            () = &mut shutdown => break,
        };
        let app = app.clone();
        let service = hyper::service::service_fn(move |req: Request<Incoming>| {
            handle(app.clone(), peer, req)
        });
        let connection = builder
            .serve_connection(TokioIo::new(stream), service)
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
    if tokio::time::timeout(DRAIN, stopping.closed())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after {DRAIN:?}; stopping anyway");
    }
    Ok(())
}

async fn handle(
    app: Router,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> Result<Response, Infallible> {
    let mut req = req.map(Body::new);
    req.extensions_mut().insert(ConnectInfo(peer));
    app.oneshot(req).await
}

/// API Gateway's limits as a layer ([`refusal`]): what it refuses never reaches a function.
pub async fn api_gateway_limits(req: Request<Body>, next: axum::middleware::Next) -> Response {
    match refusal(&req) {
        Some(refused) => refused.into_response(),
        None => next.run(req).await,
    }
}

/// What API Gateway (or Lambda, for the body) would refuse before the function runs.
/// The head is measured as HTTP/1.1 sends it: `METHOD target HTTP/1.1\r\n`, each
/// `name: value\r\n`, and the blank line.
pub fn refusal<B>(req: &Request<B>) -> Option<ApiError> {
    let target = req.uri().path_and_query().map_or(0, |pq| pq.as_str().len());
    if target > MAX_URI_BYTES {
        return Some(ApiError::detail(
            StatusCode::URI_TOO_LONG,
            "Request URI is too long.",
        ));
    }
    let request_line = req.method().as_str().len() + 1 + target + " HTTP/1.1\r\n".len();
    let headers: usize = req
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + 2 + value.len() + 2)
        .sum();
    if request_line + headers + 2 > MAX_HEAD_BYTES {
        return Some(ApiError::detail(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "Request header fields are too large.",
        ));
    }
    let declared_body = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared_body.is_some_and(|len| len > BODY_LIMIT_BYTES as u64) {
        return Some(ApiError::detail(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Request body is too large.",
        ));
    }
    None
}
