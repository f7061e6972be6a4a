//! The local stack: every HTTP function's own routes, merged at their production paths and
//! finished with the same layers Lambda uses, plus the CORS API Gateway applies in AWS.
//!
//! | module      | stands in for                                                      |
//! |-------------|--------------------------------------------------------------------|
//! | [`http`]    | API Gateway's HTTP API: the listener, its limits, the JSON refusals |
//! | [`sockets`] | API Gateway's WebSocket API and Management API (to come)           |
//! | [`workers`] | SQS invoking the worker functions (the recording worker)           |
//! | [`bridge`]  | the Fargate Deepgram bridge (to come)                              |

pub mod bridge;
pub mod http;
pub mod sockets;
pub mod workers;

use ::http::{HeaderValue, Method, header};
use axum::Router;
use meetin_core::CorsOrigins;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// The served app, exactly the deployed routers, with the CORS API Gateway applies in AWS.
/// `meetings` and `transcription` carry the same `AppContext` plus the recordings bucket and
/// queue, and the minutes queue.
pub fn app(
    meetings: meetings::MeetingsState,
    transcription: transcription::TranscriptionState,
    origins: &CorsOrigins,
) -> Router {
    let ctx = meetings.app.clone();
    meetin_http::finish_router(
        auth::routes(ctx)
            .merge(meetings::routes(meetings))
            .merge(transcription::routes(transcription)),
    )
    .layer(cors(&origins.0))
}

/// docs/api-decisions.md ("CORS"): the configured origins, GET/POST/PUT/PATCH/DELETE, the
/// `authorization` and `content-type` headers, no credentials.
pub fn cors(origins: &[String]) -> CorsLayer {
    let origins: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .allow_credentials(false)
        .max_age(std::time::Duration::from_secs(3600))
}

/// The OpenAPI document of every function, merged.
pub fn openapi() -> utoipa::openapi::OpenApi {
    auth::openapi()
        .merge_from(meetings::openapi())
        .merge_from(transcription::openapi())
}

/// The document as committed in `docs/openapi.json`.
pub fn openapi_json() -> String {
    let mut json = openapi().to_pretty_json().unwrap_or_default();
    json.push('\n');
    json
}
