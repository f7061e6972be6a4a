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
pub mod json;
pub mod limits;
pub mod minutes;
pub mod state;

pub use state::{MinutesJobs, TranscriptionState};

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};

use meetin_core::Access;
use meetin_data::transcripts::{self, SegmentRow, TranscriptWithSegments};
use meetin_http::HttpFunction;
use meetin_http::docs::{DetailBody, FieldErrorsBody};
use meetin_http::extract::{PageUrl, path_uuid};
use meetin_http::{ApiResult, AppContext, AuthUser, PathParams};
use meetin_vocab::drf;
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
    pub created_at: drf::DateTime,
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
            created_at: s.created_at.into(),
        }
    }
}

/// A meeting's transcript (contract §2.5 "Transcript JSON"), segments ordered by `start_ms`,
/// plus `segment_count` and `next`: a transcript too large for one response (Lambda's 6 MB)
/// is answered in parts.
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
    /// The segments from `?offset=` (default 0) on, as many as fit the response.
    pub segments: Vec<SegmentJson>,
    /// How many segments the transcript has in all.
    pub segment_count: usize,
    /// The URL of the segments that did not fit (`?offset=<the next one>`), or `null` when
    /// this answer ends the transcript.
    pub next: Option<String>,
    pub created_at: drf::DateTime,
}

/// Room the transcript's own fields and `next` leave for segments, in envelope bytes.
const TRANSCRIPT_FIXED_BYTES: usize = 16 * 1024;

/// The segments from `offset` on that fit [`limits::RESPONSE_BUDGET_BYTES`], and the index of
/// the first one left out. A first segment larger than the whole budget on its own (only
/// possible by writing the database directly) has its text cut to fit, so every part
/// progresses.
fn segments_page(segments: Vec<SegmentRow>, offset: usize) -> (Vec<SegmentJson>, Option<usize>) {
    let budget = limits::RESPONSE_BUDGET_BYTES - TRANSCRIPT_FIXED_BYTES;
    // A segment's envelope bytes, with the `,` before the next one.
    let cost = |j: &SegmentJson| {
        serde_json::to_string(j).map_or(usize::MAX, |s| limits::envelope_len(&s) + 1)
    };
    let mut used = 0;
    let mut page = Vec::new();
    for (index, segment) in segments.into_iter().enumerate().skip(offset) {
        let mut json = SegmentJson::from(segment);
        let mut size = cost(&json);
        if page.is_empty() && size > budget {
            // 7 envelope bytes at most per character; 4 KiB for the other fields.
            json.text = json.text.chars().take((budget - 4096) / 7).collect();
            size = cost(&json);
        }
        if used + size > budget {
            return (page, Some(index));
        }
        used += size;
        page.push(json);
    }
    (page, None)
}

/// `?offset=`: a Python integer literal ≥ 0 (default 0; the last one given wins).
fn offset_param(query: Option<&str>) -> ApiResult<usize> {
    let raw = query
        .unwrap_or_default()
        .split('&')
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
        .rfind(|(k, _)| *k == "offset")
        .map(|(_, v)| v);
    match raw {
        None | Some("") => Ok(0),
        Some(v) => meetin_core::validation::python_int_literal(v)
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| {
                meetin_core::Refusal::field("offset", "A valid integer is required.").into()
            }),
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

/// The meeting's newest transcript with its segments (any role in the meeting's organization),
/// in parts when it would not fit one response: follow `next` until it is `null`.
#[utoipa::path(
    get, path = "/api/transcription/meetings/{meeting_id}/transcript/", tag = "transcription", operation_id = "transcription_transcript",
    params(
        ("meeting_id" = uuid::Uuid, Path, description = "Meeting id"),
        ("offset" = Option<u64>, Query, description = "The index of the first segment to answer (default 0): what `next` carries"),
    ),
    responses(
        (status = 200, description = "The newest transcript, or `{\"segments\": [], \"message\": \"No transcript available\"}`", body = TranscriptJson),
        (status = 400, description = "`{\"offset\": [\"A valid integer is required.\"]}`", body = FieldErrorsBody),
        (status = 404, description = "`No Meeting matches the given query.`", body = DetailBody),
    ),
    security(("jwt" = []))
)]
pub async fn transcript(
    State(ctx): State<AppContext>,
    AuthUser(caller): AuthUser,
    PathParams(MeetingPath { meeting_id }): PathParams<MeetingPath>,
    PageUrl(url): PageUrl,
) -> ApiResult<Response> {
    meetin_http::access::meeting(&ctx.pool, caller.id, meeting_id, Access::Read).await?;
    let offset = offset_param(url.query.as_deref())?;
    let Some(TranscriptWithSegments {
        transcript: t,
        segments,
    }) = transcripts::newest_for_meeting(&ctx.pool, caller.id, meeting_id).await?
    else {
        return Ok(Json(NoTranscriptJson {
            segments: Vec::new(),
            message: "No transcript available",
        })
        .into_response());
    };
    let segment_count = segments.len();
    let (page, rest) = segments_page(segments, offset);
    Ok(Json(TranscriptJson {
        id: t.id,
        meeting: t.meeting_id,
        recording: t.recording_id,
        live_session: t.live_session_id,
        provider: t.provider,
        language_detected: t.language_detected,
        segments: page,
        segment_count,
        next: rest.map(|n| format!("{}{}?offset={n}", url.base, url.path)),
        created_at: t.created_at.into(),
    })
    .into_response())
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

/// The `transcription` function.
pub struct Api;

impl HttpFunction for Api {
    const NAME: &'static str = "transcription";
    type State = TranscriptionState;

    /// The shared context and the minutes queue (`MINUTES_QUEUE_URL`).
    async fn state(
        app: AppContext,
        lookup: meetin_core::settings::Lookup<'_>,
        sdk: &meetin_aws::aws_config::SdkConfig,
    ) -> anyhow::Result<TranscriptionState> {
        Ok(TranscriptionState {
            jobs: MinutesJobs::new(
                meetin_aws::aws_sdk_sqs::Client::new(sdk),
                <meetin_core::MinutesQueueUrl as meetin_core::Setting>::from_lookup(lookup)?.0,
            ),
            app,
        })
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
}
