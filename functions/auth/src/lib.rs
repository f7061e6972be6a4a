//! The `auth` function: registration, login, tokens, profile, organizations and members,
//! plus the service root and the OpenAPI document. Its router is what Lambda serves and
//! what the local stack and the tests mount.

pub mod accounts;
pub mod json;
pub mod organizations;

use axum::Router;
use axum::response::{Html, IntoResponse};
use http::header;
use meetin_http::{AnonRateLimit, AppContext};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The committed OpenAPI document of the whole API (regenerated and checked by the tests).
pub const OPENAPI_JSON: &str = include_str!("../../../docs/openapi.json");

/// The routes with their documentation, before state is attached.
pub fn api_router() -> OpenApiRouter<AppContext> {
    OpenApiRouter::with_openapi(meetin_http::docs::base_document())
        .routes(routes!(accounts::register))
        .routes(routes!(accounts::login))
        .routes(routes!(accounts::refresh))
        .routes(routes!(accounts::logout))
        .routes(routes!(accounts::profile))
        .routes(routes!(organizations::list, organizations::create))
        .routes(routes!(
            organizations::detail,
            organizations::replace,
            organizations::update,
            organizations::delete
        ))
        .routes(routes!(organizations::members, organizations::add_member))
        .routes(routes!(
            organizations::change_role,
            organizations::remove_member
        ))
        .routes(routes!(root))
        .routes(routes!(schema))
}

/// This function's routes, ready to merge (the local stack) or finish (Lambda).
pub fn routes(ctx: AppContext) -> Router {
    let (router, _) = api_router().split_for_parts();
    router.with_state(ctx)
}

/// What the Lambda serves.
pub fn app(ctx: AppContext) -> Router {
    meetin_http::finish_router(routes(ctx))
}

pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = api_router().into_openapi();
    meetin_http::docs::add_common_responses(&mut doc);
    doc
}

/// Tells load balancers and people that the service is up.
#[utoipa::path(get, path = "/", tag = "meta",
    responses((status = 200, description = "`MeetIN backend is running`", content_type = "text/html", body = String)),
    security(()))]
pub async fn root() -> Html<&'static str> {
    Html("MeetIN backend is running")
}

/// This API's OpenAPI 3.1 document (anonymous: 30 requests a minute per address).
#[utoipa::path(get, path = "/api/schema/", tag = "meta",
    responses(
        (status = 200, description = "The OpenAPI document", content_type = "application/json", body = Object),
        (status = 429, description = "Throttled", body = meetin_http::docs::DetailBody),
    ),
    security(()))]
pub async fn schema(_: AnonRateLimit) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI_JSON)
}
