//! The `auth` function: registration, login, tokens, profile, organizations and members,
//! plus the service root and the OpenAPI document. Its router is what Lambda serves and
//! what the local stack and the tests mount.
//!
//! | URL                                                          | module          |
//! |--------------------------------------------------------------|-----------------|
//! | `/api/auth/{register,login,refresh,logout,password,profile}/` | [`accounts`]    |
//! | `/api/auth/organizations/`, `…/{id}/`                        | [`organizations`] |
//! | `/api/auth/organizations/{org_id}/members/`, `…/{membership_id}/` | [`members`] |
//! | `/api/auth/organizations/{id}/leave/`                        | [`members`]     |
//! | `/api/auth/invitations/`, `…/{id}/accept/`, `…/{id}/decline/` | [`invitations`] |
//! | `/`, `/api/schema/`                                          | this file       |

pub mod accounts;
pub mod invitations;
pub mod json;
pub mod members;
pub mod organizations;
pub mod rotation;

use axum::response::{Html, IntoResponse};
use http::header;
use meetin_http::HttpFunction;
use meetin_http::{AnonRateLimit, AppContext};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The committed OpenAPI document of the whole API (regenerated and checked by the tests).
pub const OPENAPI_JSON: &str = include_str!("../../../docs/openapi.json");

/// The `auth` function.
pub struct Api;

impl HttpFunction for Api {
    const NAME: &'static str = "auth";
    type State = AppContext;

    /// The shared context alone.
    async fn state(
        app: AppContext,
        _: meetin_core::settings::Lookup<'_>,
        _: &meetin_aws::aws_config::SdkConfig,
    ) -> anyhow::Result<AppContext> {
        Ok(app)
    }

    /// The route table.
    fn api() -> OpenApiRouter<AppContext> {
        use accounts as a;
        use invitations as i;
        use members as mb;
        use organizations as o;
        meetin_http::api::router()
            .routes(routes!(a::register))
            .routes(routes!(a::login))
            .routes(routes!(a::refresh))
            .routes(routes!(a::logout))
            .routes(routes!(a::change_password))
            .routes(routes!(a::profile))
            .routes(routes!(o::list, o::create))
            .routes(routes!(o::detail, o::replace, o::update, o::delete))
            .routes(routes!(mb::members, mb::add_member))
            .routes(routes!(mb::change_role, mb::remove_member))
            .routes(routes!(mb::leave))
            .routes(routes!(i::list))
            .routes(routes!(i::accept))
            .routes(routes!(i::decline))
            .routes(routes!(root))
            .routes(routes!(schema))
    }
}

/// Tells load balancers and people that the service is up.
#[utoipa::path(get, path = "/", tag = "meta", operation_id = "meta_root",
    responses((status = 200, description = "`MeetIN backend is running`", content_type = "text/html", body = String)),
    security(()))]
pub async fn root() -> Html<&'static str> {
    Html("MeetIN backend is running")
}

/// This API's OpenAPI 3.1 document (anonymous: 30 requests a minute per address).
#[utoipa::path(get, path = "/api/schema/", tag = "meta", operation_id = "meta_schema",
    responses(
        (status = 200, description = "The OpenAPI document", content_type = "application/json", body = Object),
        (status = 429, description = "Throttled", body = meetin_http::docs::DetailBody),
    ),
    security(()))]
pub async fn schema(_: AnonRateLimit) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI_JSON)
}
