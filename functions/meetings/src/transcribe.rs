//! `POST /api/meetings/{id}/recordings/{recording_id}/transcribe/` (contract §2.4;
//! docs/api-decisions.md, "Recording transcription"): queues the same job as `complete` and
//! waits a bounded time for the recording worker.
//!
//! The original called Deepgram synchronously inside the request. Here the worker does the
//! work and this route waits at most [`Uploads::transcribe_wait`] (under API Gateway's 30 s):
//! 200 with the segments when the recording is `ready`, 202 `processing` when it is not yet,
//! the contract's 500 when it `failed`. The existing frontend does not read the answer; it then
//! reads the transcript once, so a short recording is ready when it looks.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use meetin_core::{Access, Refusal};
use meetin_data::recordings;
use meetin_data::transcripts::{self, SegmentRow};
use meetin_http::docs::ErrorBody;
use meetin_http::extract::path_uuid;
use meetin_http::responses::{self, MeetingWrite};
use meetin_http::{ApiError, ApiResult, AuthUser, PathParams};
use meetin_vocab::RecordingStatus;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::state::{MeetingsState, Uploads};

/// `/api/meetings/{id}/recordings/{recording_id}/...`.
#[derive(Debug, Deserialize)]
pub struct MeetingRecordingPath {
    #[serde(deserialize_with = "path_uuid")]
    pub id: Uuid,
    #[serde(deserialize_with = "path_uuid")]
    pub recording_id: Uuid,
}

/// How often the recording's status is read while waiting.
const POLL_EVERY: Duration = Duration::from_millis(250);

/// The contract's failure text (500).
pub const TRANSCRIPTION_FAILED: &str = "Transcription failed. Please try again.";

/// The 400 of a recording whose file has not been uploaded (`created`).
pub const NOT_UPLOADED: &str = "Recording has not been uploaded yet: PUT the file to its upload_url, then POST /api/recordings/{id}/complete/";

/// A transcript segment as `transcribe/` answers it (contract §2.4).
#[derive(Debug, Serialize, ToSchema)]
pub struct TranscribedSegmentJson {
    pub id: Uuid,
    /// Milliseconds from the start of the recording.
    pub start_ms: i32,
    /// Milliseconds.
    pub end_ms: i32,
    /// `Speaker N`.
    pub speaker_label: Option<String>,
    /// The name given to the speaker, if any.
    pub speaker_display_name: Option<String>,
    pub text: String,
    /// 0..=1.
    pub confidence: Option<f64>,
    pub is_final: bool,
}

impl From<SegmentRow> for TranscribedSegmentJson {
    fn from(s: SegmentRow) -> Self {
        Self {
            id: s.id,
            start_ms: s.start_ms,
            end_ms: s.end_ms,
            speaker_label: s.speaker_label.or(s.speaker_label_raw),
            speaker_display_name: s.speaker_display_name,
            text: s.text,
            confidence: s.confidence,
            is_final: s.is_final,
        }
    }
}

/// 200: the recording is transcribed. With no speech, `message: "No transcript generated"`
/// and neither `transcript_id` nor `segments`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TranscribeCompletedJson {
    /// `completed`.
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transcript_id: Option<Uuid>,
    /// Ordered by `start_ms`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segments: Option<Vec<TranscribedSegmentJson>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<&'static str>,
}

/// 202: still running; the transcript appears at `GET /api/transcription/meetings/{id}/transcript/`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TranscribeProcessingJson {
    /// `processing`.
    pub status: &'static str,
    pub recording_id: Uuid,
    pub message: String,
}

/// Transcribes an uploaded recording (members and admins): queues the transcription job
/// unless it is queued, running or done, and waits for it a bounded time. A `failed`
/// recording is queued again, and so is one whose run died (`processing` for longer than the
/// worker's longest run); repeated calls queue one job.
#[utoipa::path(
    post, path = "/api/meetings/{id}/recordings/{recording_id}/transcribe/", tag = "recordings", operation_id = "recordings_transcribe",
    params(
        ("id" = uuid::Uuid, Path, description = "Meeting id"),
        ("recording_id" = uuid::Uuid, Path, description = "Recording id"),
    ),
    responses(
        (status = 200, description = "Transcribed: the segments, or `No transcript generated`", body = TranscribeCompletedJson),
        (status = 202, description = "Still running after the wait", body = TranscribeProcessingJson),
        (status = 400, description = "`Recording has not been uploaded yet: ...`", body = ErrorBody),
        MeetingWrite::<responses::Recording>,
        (status = 500, description = "`Transcription failed. Please try again.` (the recording `failed`)", body = ErrorBody),
    ),
    security(("jwt" = []))
)]
pub async fn transcribe(
    State(state): State<MeetingsState>,
    AuthUser(caller): AuthUser,
    PathParams(MeetingRecordingPath { id, recording_id }): PathParams<MeetingRecordingPath>,
) -> ApiResult<Response> {
    let pool = &state.app.pool;
    meetin_http::access::meeting(pool, caller.id, id, Access::Write).await?;
    let found = recordings::find_visible(pool, caller.id, recording_id)
        .await?
        .filter(|r| r.recording.meeting_id == id)
        .ok_or_else(|| ApiError::no_match("Recording"))?;
    if found.recording.status == RecordingStatus::Created {
        return Err(ApiError::bad_request(NOT_UPLOADED));
    }
    // One job, whatever the number of calls: `requeue` readies one only for a `failed`
    // recording, an `uploaded` one with no job sent lately, or a `processing` one whose run
    // died; it is committed before the send, so a worker taking the job at once sees it.
    if let Some(recording) = recordings::requeue(pool, caller.id, recording_id).await?
        && let Err(err) =
            crate::recordings::queue_transcription(&state.uploads, &recording, &found).await
    {
        // Not sent: the next call sends it.
        recordings::unqueue(pool, caller.id, recording_id).await?;
        return Err(err);
    }
    let status = wait_for(&state.uploads, pool, caller.id, recording_id).await?;
    match status {
        RecordingStatus::Ready => {
            let transcript = transcripts::for_recording(pool, caller.id, recording_id).await?;
            let body = match transcript {
                Some(t) if !t.segments.is_empty() => TranscribeCompletedJson {
                    status: "completed",
                    transcript_id: Some(t.transcript.id),
                    segments: Some(t.segments.into_iter().map(Into::into).collect()),
                    message: None,
                },
                _ => TranscribeCompletedJson {
                    status: "completed",
                    transcript_id: None,
                    segments: None,
                    message: Some("No transcript generated"),
                },
            };
            Ok(Json(body).into_response())
        }
        RecordingStatus::Failed => {
            tracing::info!(%recording_id, "transcribe: the recording failed");
            Err(Refusal::message(StatusCode::INTERNAL_SERVER_ERROR, TRANSCRIPTION_FAILED).into())
        }
        _ => Ok((
            StatusCode::ACCEPTED,
            Json(TranscribeProcessingJson {
                status: "processing",
                recording_id,
                message: format!(
                    "Transcription is still running; the transcript will be at GET /api/transcription/meetings/{id}/transcript/"
                ),
            }),
        )
            .into_response()),
    }
}

/// The recording's status once it is `ready` or `failed`, or when
/// [`Uploads::transcribe_wait`] has passed.
async fn wait_for(
    uploads: &Uploads,
    pool: &meetin_data::PgPool,
    caller: Uuid,
    recording: Uuid,
) -> ApiResult<RecordingStatus> {
    let deadline = tokio::time::Instant::now() + uploads.transcribe_wait;
    loop {
        let status = recordings::status(pool, caller, recording)
            .await?
            .ok_or_else(|| ApiError::no_match("Recording"))?;
        if status.is_final() || tokio::time::Instant::now() + POLL_EVERY > deadline {
            return Ok(status);
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}
