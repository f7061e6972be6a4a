//! API Gateway's side of the path, undone before routing.
//!
//! An HTTP API event carries the path as `rawPath`, percent-decoded, with a named stage
//! (`prod`) as its first segment: `/prod/api/auth/organizations/`. lambda_http 1.x builds the
//! request URI as `https://{host}` + `rawPath` (adding `/{stage}` when it is missing, unless
//! `AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH` is set) + `?` + `rawQueryString`, through
//! `Url::parse`. It never strips the stage, and a decoded `?` or `#` in `rawPath` (the
//! client sent `%3F` or `%23`) becomes URI syntax: `/organizations/?/` would route to
//! `/organizations/`. [`strip_stage`] answers such a request 404 and removes the stage from
//! the path everything else is routed on.

use crate::ApiError;
use axum::Router;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use http::Uri;
use http::uri::PathAndQuery;
use lambda_http::RequestExt;
use lambda_http::request::RequestContext;
use percent_encoding::percent_decode_str;

/// Wraps the finished `routes` so they are matched on the path without the stage.
///
/// Axum runs a `Router::layer` after routing, so the rewrite sits in an outer router whose
/// only route is the inner one. Requests without an API Gateway v2 context (the local stack,
/// the tests) pass through untouched.
pub fn strip_stage(routes: Router) -> Router {
    Router::new()
        .fallback_service(routes)
        .layer(middleware::from_fn(stage_middleware))
}

async fn stage_middleware(mut req: Request, next: Next) -> Response {
    let Some(RequestContext::ApiGatewayV2(ctx)) = req.extensions().get::<RequestContext>() else {
        return next.run(req).await;
    };
    let stage = ctx
        .stage
        .as_deref()
        .filter(|s| !s.is_empty() && *s != "$default")
        .map(str::to_owned);
    if !path_is_raw_path(
        req.uri(),
        req.extensions().raw_http_path(),
        stage.as_deref(),
    ) {
        return ApiError::not_found().into_response();
    }
    if let Some(stage) = stage
        && let Some(uri) = without_stage(req.uri(), &stage)
    {
        // `OriginalUri` (set by the outer router) keeps the stage: pagination links
        // (`PageUrl`) carry it exactly when `rawPath` did (not behind a custom domain).
        *req.uri_mut() = uri;
    }
    next.run(req).await
}

/// Whether lambda_http's URI path is the event's `rawPath` (or `/{stage}` + `rawPath`, when
/// lambda_http added the stage itself), decoded the way API Gateway decoded it. False when
/// parsing the URL read part of `rawPath` as a query or fragment, or resolved `.`/`..`.
fn path_is_raw_path(uri: &Uri, raw_path: &str, stage: Option<&str>) -> bool {
    let raw_path = if raw_path.is_empty() { "/" } else { raw_path };
    let path = uri.path();
    let decoded = percent_decode_str(path).decode_utf8_lossy();
    let same = |p: &str| p == raw_path || stage.is_some_and(|s| p == format!("/{s}{raw_path}"));
    same(path) || same(&decoded)
}

/// `uri` without a leading `/{stage}` segment (`/prod` or `/prod/...`, never `/prodfoo`),
/// keeping the query; `None` when the path does not start with it.
fn without_stage(uri: &Uri, stage: &str) -> Option<Uri> {
    let rest = uri.path().strip_prefix('/')?.strip_prefix(stage)?;
    let path = match rest {
        "" => "/",
        rest if rest.starts_with('/') => rest,
        _ => return None,
    };
    let path_and_query = match uri.query() {
        Some(query) => format!("{path}?{query}"),
        None => path.to_owned(),
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = Some(PathAndQuery::try_from(path_and_query).ok()?);
    Uri::from_parts(parts).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(s: &str) -> Uri {
        s.parse().expect("uri")
    }

    #[test]
    fn strips_only_a_whole_leading_stage_segment() {
        let stripped = |s: &str| without_stage(&uri(s), "prod").map(|u| u.to_string());
        assert_eq!(
            stripped("https://h/prod/api/x/?page=2").as_deref(),
            Some("https://h/api/x/?page=2")
        );
        assert_eq!(stripped("https://h/prod").as_deref(), Some("https://h/"));
        assert_eq!(stripped("https://h/prodfoo/api/"), None);
        assert_eq!(stripped("https://h/api/prod/"), None);
    }

    #[test]
    fn a_path_reinterpreted_by_url_parsing_is_not_the_raw_path() {
        let ok = |u: &str, raw: &str| path_is_raw_path(&uri(u), raw, Some("prod"));
        assert!(ok("https://h/api/x/", "/api/x/"));
        assert!(ok("https://h/prod/api/x/", "/prod/api/x/"));
        assert!(ok("https://h/prod/api/x/", "/api/x/"));
        assert!(ok("https://h/a%20b/", "/a b/"));
        assert!(ok("https://h/", ""));
        assert!(!ok("https://h/api/x/?/", "/api/x/?/"));
        assert!(!ok("https://h/api/x/#y", "/api/x/#y"));
        assert!(!ok("https://h/api/x/", "/api/y/../x/"));
    }
}
