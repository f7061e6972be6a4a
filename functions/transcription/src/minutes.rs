//! Minutes (contract §2.5; docs/api-decisions.md, "Minutes"): `minutes/generate/` queues a
//! generation and answers its task, `tasks/{task_id}/` says how it went, `minutes/` reads the
//! result with its action items.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use http::{HeaderValue, StatusCode, header};
use meetin_core::Access;
use meetin_core::validation::Fields;
use meetin_data::action_items::ActionItem;
use meetin_data::minutes::{self, Minutes, MinutesTask, NewTask};
use meetin_http::docs::{DetailBody, ErrorBody};
use meetin_http::extract::path_uuid;
use meetin_http::{ApiError, ApiResult, AuthUser, JsonBody, PathParams};
use meetin_messages::jobs::GenerateMinutes;
use meetin_vocab::drf;
use meetin_vocab::{ItemStatus, OutputLanguage, Priority, TaskStatus};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::MeetingPath;
use crate::state::TranscriptionState;

/// The 400 of `minutes/generate/` for a meeting without a transcript (contract §2.5).
pub const NO_TRANSCRIPT: &str = "No transcript available for this meeting";

/// `/api/transcription/tasks/{task_id}/`.
#[derive(Debug, Deserialize)]
pub struct TaskPath {
    #[serde(deserialize_with = "path_uuid")]
    pub task_id: Uuid,
}

/// The optional body of `minutes/generate/`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct GenerateRequest {
    /// The language to write the minutes in, whatever was spoken; default: the meeting's
    /// `language_preference`, or `en` when it is `auto`.
    pub output_language: Option<OutputLanguage>,
}

impl GenerateRequest {
    /// DRF-style: a field error for anything but `en` or `fr`.
    fn parse(body: &Value) -> ApiResult<Option<OutputLanguage>> {
        let mut fields = Fields::new(body).map_err(meetin_core::Refusal::from)?;
        let language = fields.optional_choice::<OutputLanguage>("output_language");
        fields.finish().map_err(meetin_core::Refusal::from)?;
        Ok(language)
    }
}

/// 202 of `minutes/generate/` (contract §2.5).
#[derive(Debug, Serialize, ToSchema)]
pub struct GenerateAccepted {
    /// `Minutes generation started`.
    pub message: &'static str,
    /// Poll `GET /api/transcription/tasks/{task_id}/`.
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
        (status = 403, description = "A viewer of the meeting's organization", body = DetailBody),
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

/// How a minutes generation stands.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskJson {
    pub task_id: Uuid,
    pub status: TaskStatus,
    /// The meeting's id.
    pub meeting: Uuid,
    /// The transcript the minutes are made from.
    pub transcript: Uuid,
    pub output_language: OutputLanguage,
    /// The minutes written, once `succeeded`.
    pub minutes: Option<Uuid>,
    /// Why it failed.
    pub error: Option<String>,
    /// The engine that wrote them (an OpenAI model, an Azure deployment, or the offline
    /// engine).
    pub engine: Option<String>,
    /// Tokens the LLM read and wrote (0 offline).
    pub prompt_tokens: Option<i32>,
    pub completion_tokens: Option<i32>,
    pub created_at: drf::DateTime,
    pub started_at: Option<drf::DateTime>,
    pub finished_at: Option<drf::DateTime>,
}

impl From<MinutesTask> for TaskJson {
    fn from(t: MinutesTask) -> Self {
        Self {
            task_id: t.id,
            status: t.status,
            meeting: t.meeting_id,
            transcript: t.transcript_id,
            output_language: t.output_language,
            minutes: t.minutes_id,
            error: t.error,
            engine: t.engine,
            prompt_tokens: t.prompt_tokens,
            completion_tokens: t.completion_tokens,
            created_at: t.created_at.into(),
            started_at: t.started_at.map(drf::DateTime),
            finished_at: t.finished_at.map(drf::DateTime),
        }
    }
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

/// An action item (contract §2.5 "ActionItem JSON").
#[derive(Debug, Serialize, ToSchema)]
pub struct ActionItemJson {
    pub id: Uuid,
    pub meeting: Uuid,
    pub minutes: Uuid,
    pub title: String,
    pub description: String,
    /// The assignee's user id.
    pub assignee: Option<Uuid>,
    pub assignee_email: Option<String>,
    /// `YYYY-MM-DD`.
    #[schema(value_type = Option<String>, format = Date)]
    pub due_date: Option<NaiveDate>,
    pub priority: Priority,
    pub status: ItemStatus,
    /// Segment ids the item comes from.
    #[schema(value_type = Vec<String>)]
    pub source_segment_ids: Value,
    pub created_at: drf::DateTime,
    pub updated_at: drf::DateTime,
}

impl From<ActionItem> for ActionItemJson {
    fn from(a: ActionItem) -> Self {
        Self {
            id: a.id,
            meeting: a.meeting_id,
            minutes: a.minutes_id,
            title: a.title,
            description: a.description,
            assignee: a.assignee_id,
            assignee_email: a.assignee_email,
            due_date: a.due_date,
            priority: a.priority,
            status: a.status,
            source_segment_ids: a.source_segment_ids,
            created_at: a.created_at.into(),
            updated_at: a.updated_at.into(),
        }
    }
}

/// A meeting's minutes (contract §2.5 "Minutes JSON", plus `version`).
#[derive(Debug, Serialize, ToSchema)]
pub struct MinutesJson {
    pub id: Uuid,
    pub meeting: Uuid,
    pub transcript: Uuid,
    /// Summary, key points, decisions, action items, next steps, attendees, coverage.
    #[schema(value_type = Object)]
    pub content_json: Value,
    /// The same, rendered in Markdown in `output_language`.
    pub content_md: String,
    pub output_language: OutputLanguage,
    pub generated_by_model: Option<String>,
    pub model_version: Option<String>,
    /// Bumped by every write; also the `ETag`.
    pub version: i32,
    pub action_items: Vec<ActionItemJson>,
    pub created_at: drf::DateTime,
    pub updated_at: drf::DateTime,
}

impl MinutesJson {
    pub fn new(m: Minutes, items: Vec<ActionItem>) -> Self {
        Self {
            id: m.id,
            meeting: m.meeting_id,
            transcript: m.transcript_id,
            content_json: m.content_json,
            content_md: m.content_md,
            output_language: m.output_language,
            generated_by_model: m.generated_by_model,
            model_version: m.model_version,
            version: m.version,
            action_items: items.into_iter().map(Into::into).collect(),
            created_at: m.created_at.into(),
            updated_at: m.updated_at.into(),
        }
    }
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
        (status = 404, description = "`No Meeting matches the given query.` or `No Minutes matches the given query.`", body = DetailBody),
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
