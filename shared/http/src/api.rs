//! The router and OpenAPI boilerplate behind [`crate::HttpFunction`], so a function's
//! `lib.rs` reads as its route table:
//!
//! ```ignore
//! fn api() -> OpenApiRouter<AppContext> {
//!     meetin_http::api::router()
//!         .routes(routes!(organizations::list, organizations::create)) // /api/auth/organizations/
//! }
//! ```

use axum::Router;
use utoipa::openapi::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::docs;

/// An empty router carrying the shared OpenAPI base (info, error schemas, bearer scheme).
pub fn router<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
{
    OpenApiRouter::with_openapi(docs::base_document())
}

/// The function's routes still waiting for their state: a cold start builds them (the
/// OpenAPI path items come with them, about a millisecond of CPU) while its secrets are read.
pub fn stateless<S>(api: OpenApiRouter<S>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    api.split_for_parts().0
}

/// The function's OpenAPI document, with the responses every operation can give.
pub fn document<S>(api: OpenApiRouter<S>) -> OpenApi
where
    S: Clone + Send + Sync + 'static,
{
    let mut doc = api.into_openapi();
    docs::add_common_responses(&mut doc);
    doc
}
