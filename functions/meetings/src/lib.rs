//! The `meetings` function: meetings, their live sessions' REST controls and speaker names.
//! Its router is what Lambda serves and what the local stack and the tests mount.
//!
//! | URL                                                  | module         |
//! |------------------------------------------------------|----------------|
//! | `/api/meetings/`, `/api/meetings/{id}/`              | [`meetings`]   |
//! | `/api/meetings/{id}/live/{start,stop,status}/`       | [`live`]       |
//! | `/api/meetings/{id}/speakers/{speaker_id}/`          | [`speakers`]   |

pub mod json;
pub mod live;
pub mod meetings;
pub mod speakers;

use axum::Router;
use meetin_http::AppContext;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The route table.
fn api() -> OpenApiRouter<AppContext> {
    use meetings as m;
    meetin_http::api::router()
        .routes(routes!(m::list, m::create))
        .routes(routes!(m::detail, m::replace, m::update, m::delete))
        .routes(routes!(live::start))
        .routes(routes!(live::stop))
        .routes(routes!(live::status))
        .routes(routes!(speakers::rename))
}

/// This function's routes with its state, ready to merge (the local stack) or finish.
pub fn routes(state: AppContext) -> Router {
    meetin_http::api::routes(api(), state)
}

/// What the Lambda serves.
pub fn app(state: AppContext) -> Router {
    meetin_http::finish_router(routes(state))
}

/// This function's part of the OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    meetin_http::api::document(api())
}
