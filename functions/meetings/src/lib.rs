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
pub use meetin_core::media;
pub mod meetings;
pub mod recordings;
pub mod speakers;
pub mod state;
pub mod transcribe;

use meetin_http::HttpFunction;
pub use state::{MeetingsState, Uploads};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The `meetings` function.
pub struct Api;

impl HttpFunction for Api {
    const NAME: &'static str = "meetings";
    type State = MeetingsState;

    /// The shared context and the upload clients ([`Uploads::load`]).
    async fn state(
        app: meetin_http::AppContext,
        lookup: meetin_core::settings::Lookup<'_>,
        sdk: &meetin_aws::aws_config::SdkConfig,
    ) -> anyhow::Result<MeetingsState> {
        Ok(MeetingsState {
            uploads: Uploads::load(lookup, sdk)?,
            bridge: state::LiveBridge::load(lookup, &app),
            app,
        })
    }

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
}
