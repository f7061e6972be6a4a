//! Minutes (contract §2.5; docs/api-decisions.md, "Minutes"): `minutes/generate/` queues a
//! generation and answers its task, `tasks/{task_id}/` says how it went, `minutes/` reads the
//! result with its action items.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use meetin_core::Access;
use meetin_data::minutes::{self, NewTask};
use meetin_http::docs::{DetailBody, ErrorBody};
use meetin_http::extract::path_uuid;
use meetin_http::responses::{self, MeetingRead, Viewer};
use meetin_http::{ApiError, ApiResult, AuthUser, JsonBody, PathParams};
use meetin_messages::jobs::GenerateMinutes;
use serde::Deserialize;
use uuid::Uuid;

use crate::MeetingPath;
use crate::json::{GenerateAccepted, GenerateRequest, MinutesJson, TaskJson};
use crate::state::TranscriptionState;

/// The 400 of `minutes/generate/` for a meeting without a transcript (contract §2.5).
pub const NO_TRANSCRIPT: &str = "No transcript available for this meeting";

/// `/api/transcription/tasks/{task_id}/`.
#[derive(Debug, Deserialize)]
pub struct TaskPath {
    #[serde(deserialize_with = "path_uuid")]
    pub task_id: Uuid,
}

/// Queues a generation of the meeting's minutes from its newest transcript (members and
/// admins). A regeneration replaces the generated content, adds a version and updates the
/// generated action items without touching those users created, edited or deleted. While a
/// generation of the meeting is `queued` or `running` (and younger than
/// [`minutes::GENERATION_STALE_AFTER_SECS`]), the answer is that task's 202 and nothing is
/// queued.
#[utoipa::path(
    post, path = "/api/transcription/meetings/{meeting_id}/minutes/generate/", tag = "transcription", operation_id = "transcription_minutes_generate",
    params(("meeting_id" = uuid::Uuid, Path, description = "Meeting id")),
    request_body(content = Option<GenerateRequest>, description = "Optional"),
    responses(
        (status = 202, description = "Queued, or the generation of this meeting already queued or running (its `task_id`; nothing new is queued)", body = GenerateAccepted),
        (status = 400, description = "`No transcript available for this meeting`, or `output_language` not `en`/`fr`", body = ErrorBody),
        Viewer,
        (status = 404, description = "`No Meeting matches the given query.` (also when the meeting is deleted while the request runs)", body = DetailBody),
    ),
    security(("jwt" = []))
)]
pub async fn generate(
    State(state): State<TranscriptionState>,
    AuthUser(caller): AuthUser,
    PathParams(MeetingPath { meeting_id }): PathParams<MeetingPath>,
    JsonBody(body): JsonBody,
) -> ApiResult<(StatusCode, Json<GenerateAccepted>)> {
    let pool = &state.app.pool;
    meetin_http::access::meeting(pool, caller.id, meeting_id, Access::Write).await?;
    let language = GenerateRequest::parse(&body)?;
    let task_id = Uuid::new_v4();
    // The task is committed before the job is sent (a worker that takes the job at once must
    // find it); a failed send marks it `failed`, so nobody waits on it.
    let mut tx = pool.begin().await?;
    let created = minutes::create_task(&mut tx, caller.id, meeting_id, task_id, language).await;
    let task = match created {
        Ok(NewTask::Created(task)) => task,
        // Queued or running already: that task, and no second job (nor a second LLM bill).
        Ok(NewTask::Pending(task)) => {
            tx.commit().await?;
            return Ok(accepted(task.id));
        }
        Ok(NewTask::NoTranscript) => return Err(ApiError::bad_request(NO_TRANSCRIPT)),
        Ok(NewTask::NotAllowed) => {
            drop(tx);
            return Err(crate::recheck(pool, caller.id, meeting_id, None).await);
        }
        Err(e) => {
            drop(tx);
            return Err(crate::write_failed(pool, caller.id, meeting_id, e).await);
        }
    };
    let job = GenerateMinutes {
        meeting_id,
        transcript_id: task.transcript_id,
        requested_by: caller.id,
        task_id,
        output_language: task.output_language,
    };
    tx.commit().await?;
    if let Err(e) = state.jobs.send(&job).await {
        minutes::fail_task(
            pool,
            task_id,
            "The job could not be queued. Please try again.",
        )
        .await?;
        return Err(ApiError::from(
            anyhow::Error::from(e).context("queueing the minutes job"),
        ));
    }
    Ok(accepted(task_id))
}

/// The 202 of `minutes/generate/` for `task_id`.
fn accepted(task_id: Uuid) -> (StatusCode, Json<GenerateAccepted>) {
    (
        StatusCode::ACCEPTED,
        Json(GenerateAccepted {
            message: "Minutes generation started",
            task_id,
        }),
    )
}

/// A minutes generation's status (new: the original's Celery task ids could not be read).
#[utoipa::path(
    get, path = "/api/transcription/tasks/{task_id}/", tag = "transcription", operation_id = "transcription_task",
    params(("task_id" = uuid::Uuid, Path, description = "The `task_id` `minutes/generate/` answered")),
    responses(
        (status = 200, description = "The task", body = TaskJson),
        (status = 404, description = "`No Task matches the given query.` (also outside the caller's organizations)", body = DetailBody),
    ),
    security(("jwt" = []))
)]
pub async fn task(
    State(state): State<TranscriptionState>,
    AuthUser(caller): AuthUser,
    PathParams(TaskPath { task_id }): PathParams<TaskPath>,
) -> ApiResult<Json<TaskJson>> {
    minutes::find_task(&state.app.pool, caller.id, task_id)
        .await?
        .map(|t| Json(t.into()))
        .ok_or_else(|| ApiError::no_match("Task"))
}

/// The strong `ETag` of a minutes version: `"<version>"`.
pub fn etag(version: i32) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\"")).unwrap_or(HeaderValue::from_static("\"0\""))
}

/// The minutes JSON with its `ETag`.
pub fn with_etag(json: MinutesJson) -> Response {
    let tag = etag(json.version);
    let mut response = Json(json).into_response();
    response.headers_mut().insert(header::ETAG, tag);
    response
}

/// The meeting's minutes with their action items (any role). 404 when none were generated
/// or written yet (the original created empty ones, or failed with a 500).
#[utoipa::path(
    get, path = "/api/transcription/meetings/{meeting_id}/minutes/", tag = "transcription", operation_id = "transcription_minutes",
    params(("meeting_id" = uuid::Uuid, Path, description = "Meeting id")),
    responses(
        (status = 200, description = "The minutes; `ETag` carries the version", body = MinutesJson),
        MeetingRead::<responses::Minutes>,
    ),
    security(("jwt" = []))
)]
pub async fn get(
    State(state): State<TranscriptionState>,
    AuthUser(caller): AuthUser,
    PathParams(MeetingPath { meeting_id }): PathParams<MeetingPath>,
) -> ApiResult<Response> {
    let pool = &state.app.pool;
    meetin_http::access::meeting(pool, caller.id, meeting_id, Access::Read).await?;
    let minutes = minutes::for_meeting(pool, caller.id, meeting_id)
        .await?
        .ok_or_else(|| ApiError::no_match("Minutes"))?;
    let items = minutes::action_items_of(pool, caller.id, meeting_id).await?;
    Ok(with_etag(MinutesJson::new(minutes, items)))
}
