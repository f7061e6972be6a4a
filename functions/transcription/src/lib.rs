//! The `transcription` function: a meeting's transcript and minutes (contract §2.5). Its
//! router is what Lambda serves and what the local stack and the tests mount.
//!
//! | URL (under `/api/transcription/`)                          | method | handler                   |
//! |------------------------------------------------------------|--------|---------------------------|
//! | `meetings/{meeting_id}/transcript/`                        | GET    | [`transcript`]            |
//! | `meetings/{meeting_id}/minutes/`                           | GET    | [`minutes::get`]          |
//! |                                                            | PUT    | [`edits::replace`]        |
//! |                                                            | PATCH  | [`edits::update`]         |
//! | `meetings/{meeting_id}/minutes/generate/`                  | POST   | [`minutes::generate`]     |
//! | `meetings/{meeting_id}/minutes/versions/`                  | GET    | [`edits::versions`]       |
//! | `meetings/{meeting_id}/minutes/versions/{id}/`             | GET    | [`edits::version`]        |
//! | `meetings/{meeting_id}/minutes/versions/{from_id}/diff/{to_id}/` | GET | [`edits::diff`]       |
//! | `meetings/{meeting_id}/action-items/`                      | GET    | [`action_items::list`]    |
//! |                                                            | POST   | [`action_items::create`]  |
//! | `meetings/{meeting_id}/action-items/{id}/`                 | GET    | [`action_items::detail`]  |
//! |                                                            | PUT    | [`action_items::replace`] |
//! |                                                            | PATCH  | [`action_items::update`]  |
//! |                                                            | DELETE | [`action_items::delete`]  |
//! | `tasks/{task_id}/`                                         | GET    | [`minutes::task`]         |

pub mod action_items;
pub mod edits;
pub mod minutes;
pub mod state;

pub use state::{MinutesJobs, TranscriptionState};

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use meetin_core::Access;
use meetin_data::transcripts::{self, SegmentRow, TranscriptWithSegments};
use meetin_http::docs::DetailBody;
use meetin_http::extract::path_uuid;
use meetin_http::{ApiResult, AppContext, AuthUser, PathParams};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

/// `/api/transcription/meetings/{meeting_id}/...`.
#[derive(Debug, Deserialize)]
pub struct MeetingPath {
    #[serde(deserialize_with = "path_uuid")]
    pub meeting_id: Uuid,
}

/// A transcript segment (contract §2.5 "Segment JSON").
#[derive(Debug, Serialize, ToSchema)]
pub struct SegmentJson {
    pub id: Uuid,
    /// Milliseconds from the start of the audio.
    pub start_ms: i32,
    /// Milliseconds.
    pub end_ms: i32,
    /// The speaker's id.
    pub speaker: Option<Uuid>,
    /// The speaker's label, e.g. `Speaker 0`.
    pub speaker_label: Option<String>,
    /// The name given to the speaker, if any.
    pub speaker_display_name: Option<String>,
    /// The provider's label as it came.
    pub speaker_label_raw: Option<String>,
    pub text: String,
    /// 0..=1.
    pub confidence: Option<f64>,
    pub is_final: bool,
    #[serde(serialize_with = "meetin_core::time::drf")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
}

impl From<SegmentRow> for SegmentJson {
    fn from(s: SegmentRow) -> Self {
        Self {
            id: s.id,
            start_ms: s.start_ms,
            end_ms: s.end_ms,
            speaker: s.speaker_id,
            speaker_label: s.speaker_label,
            speaker_display_name: s.speaker_display_name,
            speaker_label_raw: s.speaker_label_raw,
            text: s.text,
            confidence: s.confidence,
            is_final: s.is_final,
            created_at: s.created_at,
        }
    }
}

/// A meeting's transcript (contract §2.5 "Transcript JSON"), segments ordered by `start_ms`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TranscriptJson {
    pub id: Uuid,
    /// The meeting's id.
    pub meeting: Uuid,
    /// The recording it was made from, if any.
    pub recording: Option<Uuid>,
    /// The live session it was made in, if any.
    pub live_session: Option<Uuid>,
    /// `deepgram`, or the offline engine's name.
    pub provider: String,
    /// e.g. `en`, `fr`; `null` when not detected.
    pub language_detected: Option<String>,
    pub segments: Vec<SegmentJson>,
    #[serde(serialize_with = "meetin_core::time::drf")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
}

impl From<TranscriptWithSegments> for TranscriptJson {
    fn from(t: TranscriptWithSegments) -> Self {
        Self {
            id: t.transcript.id,
            meeting: t.transcript.meeting_id,
            recording: t.transcript.recording_id,
            live_session: t.transcript.live_session_id,
            provider: t.transcript.provider,
            language_detected: t.transcript.language_detected,
            segments: t.segments.into_iter().map(Into::into).collect(),
            created_at: t.transcript.created_at,
        }
    }
}

/// The answer when the meeting has no transcript (still 200, as the original).
#[derive(Debug, Serialize, ToSchema)]
pub struct NoTranscriptJson {
    /// Always empty.
    pub segments: Vec<SegmentJson>,
    /// `No transcript available`.
    pub message: &'static str,
}

/// The meeting's newest transcript with its segments (any role in the meeting's organization).
#[utoipa::path(
    get, path = "/api/transcription/meetings/{meeting_id}/transcript/", tag = "transcription", operation_id = "transcription_transcript",
    params(("meeting_id" = uuid::Uuid, Path, description = "Meeting id")),
    responses(
        (status = 200, description = "The newest transcript, or `{\"segments\": [], \"message\": \"No transcript available\"}`", body = TranscriptJson),
        (status = 404, description = "`No Meeting matches the given query.`", body = DetailBody),
    ),
    security(("jwt" = []))
)]
pub async fn transcript(
    State(ctx): State<AppContext>,
    AuthUser(caller): AuthUser,
    PathParams(MeetingPath { meeting_id }): PathParams<MeetingPath>,
) -> ApiResult<Response> {
    meetin_http::access::meeting(&ctx.pool, caller.id, meeting_id, Access::Read).await?;
    Ok(
        match transcripts::newest_for_meeting(&ctx.pool, caller.id, meeting_id).await? {
            Some(t) => Json(TranscriptJson::from(t)).into_response(),
            None => Json(NoTranscriptJson {
                segments: Vec::new(),
                message: "No transcript available",
            })
            .into_response(),
        },
    )
}

/// The answer to a write that changed nothing, or hit a foreign key, after its access check
/// passed: the meeting was deleted (404 `No Meeting matches the given query.`) or the caller
/// lost write access (403) while the request ran; otherwise `otherwise`, or a 403 when `None`
/// (the write's own scope refused the caller).
pub(crate) async fn recheck(
    pool: &meetin_data::PgPool,
    caller: Uuid,
    meeting: Uuid,
    otherwise: Option<meetin_http::ApiError>,
) -> meetin_http::ApiError {
    match meetin_http::access::meeting(pool, caller, meeting, Access::Write).await {
        Err(refused) => refused,
        Ok(_) => otherwise.unwrap_or_else(|| meetin_core::Refusal::read_only_role().into()),
    }
}

/// The error of a write whose access check passed: a foreign key violation (the meeting, or
/// its minutes, deleted by a transaction that committed while the write waited) answers as
/// [`recheck`] does; anything else is itself.
pub(crate) async fn write_failed(
    pool: &meetin_data::PgPool,
    caller: Uuid,
    meeting: Uuid,
    err: meetin_data::DbError,
) -> meetin_http::ApiError {
    if meetin_data::minutes::is_foreign_key_violation(&err) {
        recheck(pool, caller, meeting, Some(err.into())).await
    } else {
        err.into()
    }
}

/// The route table.
fn api() -> OpenApiRouter<TranscriptionState> {
    meetin_http::api::router()
        .routes(routes!(transcript))
        .routes(routes!(minutes::get, edits::replace, edits::update))
        .routes(routes!(minutes::generate))
        .routes(routes!(edits::versions))
        .routes(routes!(edits::version))
        .routes(routes!(edits::diff))
        .routes(routes!(action_items::list, action_items::create))
        .routes(routes!(
            action_items::detail,
            action_items::replace,
            action_items::update,
            action_items::delete
        ))
        .routes(routes!(minutes::task))
}

/// This function's routes with its state, ready to merge (the local stack) or finish.
pub fn routes(state: TranscriptionState) -> Router {
    router().with_state(state)
}

/// The routes before their state is attached (see `main.rs`: built during the start-up's
/// secret reads).
pub fn router() -> Router<TranscriptionState> {
    meetin_http::api::stateless(api())
}

/// What the Lambda serves.
pub fn app(state: TranscriptionState) -> Router {
    meetin_http::finish_router(routes(state))
}

/// This function's part of the OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    meetin_http::api::document(api())
}
