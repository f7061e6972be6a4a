//! What wraps every function's routes: JSON 404/405 fallbacks, a body limit, a request span
//! carrying the request id, security headers; and the Lambda entry point.

use std::time::Instant;

use crate::ApiError;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::middleware::{self, Next};
use axum::response::Response;
use http::{HeaderName, HeaderValue, Method};
use lambda_http::request::RequestContext;
use tower_http::set_header::SetResponseHeaderLayer;
use tracing::Instrument;

/// Lambda's own limit for a synchronous request payload: anything smaller reaches the
/// handler (so megabyte strings get field errors), anything larger is a JSON 413 locally
/// just as API Gateway would refuse it.
pub const BODY_LIMIT_BYTES: usize = 6 * 1024 * 1024;

pub async fn not_found() -> ApiError {
    ApiError::not_found()
}

async fn method_not_allowed(method: Method) -> ApiError {
    meetin_core::Refusal::method_not_allowed(&method).into()
}

/// Turns a function's routes (or the local stack's union of them) into the served app.
pub fn finish_router(routes: Router) -> Router {
    let routed = routes
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES));
    crate::stage::strip_stage(routed)
        .layer(middleware::from_fn(request_span))
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("x-content-type-options"),
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("x-frame-options"),
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("cache-control"),
            HeaderValue::from_static("no-store"),
        ))
}

/// The id API Gateway (or Lambda) gave this request, else a fresh one.
fn request_id(req: &Request) -> String {
    if let Some(RequestContext::ApiGatewayV2(ctx)) = req.extensions().get::<RequestContext>()
        && let Some(id) = &ctx.request_id
    {
        return id.clone();
    }
    if let Some(ctx) = req.extensions().get::<lambda_http::Context>() {
        return ctx.request_id.clone();
    }
    uuid::Uuid::new_v4().to_string()
}

async fn request_span(req: Request, next: Next) -> Response {
    let id = request_id(&req);
    let span = tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path());
    async move {
        let started = Instant::now();
        let mut response = next.run(req).await;
        tracing::info!(
            status = response.status().as_u16(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "served"
        );
        if let Ok(value) = HeaderValue::from_str(&id) {
            response
                .headers_mut()
                .insert(HeaderName::from_static("x-request-id"), value);
        }
        response
    }
    .instrument(span)
    .await
}

/// Serves `app` as the Lambda's handler until the runtime stops it.
pub async fn run_on_lambda(app: Router) -> Result<(), lambda_http::Error> {
    lambda_http::run(app).await
}
