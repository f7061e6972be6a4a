//! The `meetings` function: meetings, their live sessions' REST controls, recordings and
//! speaker names.
//! Its router is what Lambda serves and what the local stack and the tests mount.
//!
//! | URL                                                  | module         |
//! |------------------------------------------------------|----------------|
//! | `/api/meetings/`, `/api/meetings/{id}/`              | [`meetings`]   |
//! | `/api/meetings/{id}/live/{start,stop,status}/`       | [`live`]       |
//! | `/api/meetings/{id}/speakers/{speaker_id}/`          | [`speakers`]   |
//! | `/api/meetings/{id}/recordings/{initiate,upload}/`   | [`recordings`] |
//! | `/api/recordings/{id}/complete/`, `/api/meetings/recordings/{id}/complete/` | [`recordings`] |
//! | `/api/meetings/{id}/recordings/{recording_id}/transcribe/` | [`transcribe`] |

pub mod json;
pub mod live;
pub mod media;
pub mod meetings;
pub mod recordings;
pub mod speakers;
pub mod state;
pub mod transcribe;

use axum::Router;
pub use state::{MeetingsState, Uploads};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The route table.
fn api() -> OpenApiRouter<MeetingsState> {
    use meetings as m;
    meetin_http::api::router()
        .routes(routes!(m::list, m::create))
        .routes(routes!(m::detail, m::replace, m::update, m::delete))
        .routes(routes!(live::start))
        .routes(routes!(live::stop))
        .routes(routes!(live::status))
        .routes(routes!(speakers::rename))
        .routes(routes!(recordings::initiate))
        .routes(routes!(recordings::upload))
        .routes(routes!(recordings::complete))
        .routes(routes!(recordings::complete_under_meetings))
        .routes(routes!(transcribe::transcribe))
}

/// This function's routes with its state, ready to merge (the local stack) or finish.
pub fn routes(state: MeetingsState) -> Router {
    router().with_state(state)
}

/// The routes before their state is attached (see `main.rs`: built during the start-up's
/// secret reads).
pub fn router() -> Router<MeetingsState> {
    meetin_http::api::stateless(api())
}

/// What the Lambda serves.
pub fn app(state: MeetingsState) -> Router {
    meetin_http::finish_router(routes(state))
}

/// This function's part of the OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    meetin_http::api::document(api())
}
