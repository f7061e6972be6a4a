//! Recordings (docs/api-decisions.md, "Recordings"):
//!
//! - presigned: `initiate` creates the row (`created`) with its `storage_key` and answers a
//!   presigned S3 `PUT` for another key, its [`upload_key`] under `uploads/`; the client
//!   uploads; `complete` checks that object (exists, size, type, first bytes), copies exactly
//!   the checked version to `storage_key` (a key no URL was ever issued for: a PUT after the
//!   check cannot change what is transcribed), marks the row `uploaded`, queues transcription
//!   on SQS and deletes the upload;
//! - direct: `upload/` takes a multipart `audio` file small enough for API Gateway and Lambda
//!   ([`DIRECT_UPLOAD_MAX_BYTES`]), checks it the same way, stores it and answers 201.
//!
//! Members and admins only (a viewer gets 403); outside the caller's organizations a meeting
//! or recording does not exist (404).

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use http::{StatusCode, header};
use meetin_aws::aws_sdk_s3::presigning::PresigningConfig;
use meetin_core::Access;
use meetin_data::recordings::{self, NewRecording, Recording, RecordingInMeeting};
use meetin_http::docs::{DetailBody, ErrorBody};
use meetin_http::extract::path_uuid;
use meetin_http::responses::{MeetingWrite, Viewer};
use meetin_http::{ApiError, ApiResult, AuthUser, JsonBody, PathParams};
use meetin_messages::jobs::TranscribeRecording;
use meetin_recordings::UploadBody;
use meetin_vocab::RecordingStatus;
use serde::Deserialize;
use uuid::Uuid;

use crate::json::{CompleteRequest, InitiateRequest, InitiatedJson, RecordingJson};
use crate::media::{self, Declared};
use crate::meetings::{MeetingPath, writable, write_missed};
use crate::state::{MeetingsState, Uploads};

mod direct;
mod objects;

use direct::DIRECT_LIMIT;
pub use direct::{DIRECT_UPLOAD_MAX_BYTES, DIRECT_UPLOAD_TOO_LARGE};
use objects::{
    ObjectVersion, aws_error, copy_checked, delete_object, new_key, object_head, object_version,
};
pub use objects::{UPLOAD_CHANGED, upload_changed_under, upload_key};

/// `/api/recordings/{id}/...` and `/api/meetings/recordings/{id}/...`.
#[derive(Debug, Deserialize)]
pub struct RecordingPath {
    #[serde(deserialize_with = "path_uuid")]
    pub id: Uuid,
}

const RECORDING: &str = "Recording";

/// How long a presigned `PUT` URL is valid: 3600 s (the contract).
pub const PRESIGNED_PUT_TTL: Duration = Duration::from_secs(3600);

/// The refusal of an upload with no `audio` file.
pub use meetin_recordings::NO_AUDIO;
pub const NO_OBJECT: &str = "No uploaded file found for this recording";

/// Creates a recording (`created`) and answers a presigned S3 `PUT` for it. The body may name
/// `filename` (only its extension is used), `content_type` and `size_bytes`; with none, a
/// `.webm` / `audio/webm` upload as in the original.
#[utoipa::path(
    post, path = "/api/meetings/{id}/recordings/initiate/", tag = "recordings", operation_id = "recordings_initiate",
    params(("id" = uuid::Uuid, Path, description = "Meeting id")),
    request_body(content = Option<InitiateRequest>, description = "Optional"),
    responses(
        (status = 200, description = "The recording id, the presigned PUT URL (3600 s) and the key", body = InitiatedJson),
        (status = 400, description = "Field errors (`{\"size_bytes\": [\"A valid integer is required.\"]}`, `{\"filename\": [\"Null characters are not allowed.\"]}`), then `{\"error\"}`: `The submitted file is empty.` (`size_bytes` 0), `File too large. Maximum size is 500MB.`, `Invalid file type. Allowed: ...`, `Invalid MIME type: <type>`, `File content does not match its type (...)` (an extension and a type that disagree)", body = ErrorBody),
        MeetingWrite,
    ),
    security(("jwt" = []))
)]
pub async fn initiate(
    State(state): State<MeetingsState>,
    AuthUser(caller): AuthUser,
    PathParams(MeetingPath { id }): PathParams<MeetingPath>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<InitiatedJson>> {
    writable(&state.app, caller.id, id).await?;
    let request = InitiateRequest::parse(&body)?;
    let declared = media::check_declared(
        request.size_bytes,
        request.filename.as_deref().unwrap_or("recording.webm"),
        request.content_type.as_deref(),
    )
    .map_err(ApiError::bad_request)?;
    let key = new_key(id, &declared.ext);
    let recording = recordings::create(
        &state.app.pool,
        caller.id,
        &NewRecording {
            meeting_id: id,
            storage_key: &key,
            mime_type: &declared.mime,
            size_bytes: request.size_bytes,
            status: RecordingStatus::Created,
        },
    )
    .await?;
    // Deleted (or the caller demoted) since the check.
    let Some(recording) = recording else {
        return Err(write_missed(&state.app, caller.id, id).await);
    };
    let uploads = &state.uploads;
    // The URL is for the upload key, never for `key`: what `complete` checks is copied there.
    let mut put = uploads
        .s3
        .put_object()
        .bucket(&uploads.bucket)
        .key(upload_key(&key))
        .content_type(&declared.mime);
    if let Some(size) = request.size_bytes {
        put = put.content_length(size);
    }
    let presigning = PresigningConfig::expires_in(PRESIGNED_PUT_TTL)
        .map_err(aws_error("presigning configuration"))?;
    let presigned = put
        .presigned(presigning)
        .await
        .map_err(aws_error("presigning the S3 PUT"))?;
    Ok(Json(InitiatedJson {
        recording_id: recording.id,
        upload_url: presigned.uri().to_owned(),
        storage_key: key,
    }))
}

fn size_mismatch(actual: i64, declared: i64) -> ApiError {
    ApiError::bad_request(format!(
        "Uploaded size ({actual} bytes) does not match the declared size ({declared} bytes)"
    ))
}

/// Checks the uploaded object, marks the recording `uploaded` and queues its transcription.
async fn complete_recording(
    state: &MeetingsState,
    caller: Uuid,
    id: Uuid,
    body: &serde_json::Value,
) -> ApiResult<Json<RecordingJson>> {
    let pool = &state.app.pool;
    let found = recordings::find_visible(pool, caller, id)
        .await?
        .ok_or_else(|| ApiError::no_match(RECORDING))?;
    meetin_http::access::require(pool, caller, found.organization_id, Access::Write, |d| {
        d.refusal(RECORDING)
    })
    .await?;
    let request = CompleteRequest::parse(body)?;
    let recording = &found.recording;
    if !matches!(
        recording.status,
        RecordingStatus::Created | RecordingStatus::Uploaded
    ) {
        return Err(ApiError::bad_request(format!(
            "Recording is already {}",
            recording.status
        )));
    }
    let uploads = &state.uploads;
    // A `created` recording's bytes are at its upload key, where its URL lets anyone holding
    // it PUT again; once `uploaded` they are at `storage_key`, which only the server writes.
    let source = if recording.status == RecordingStatus::Created {
        upload_key(&recording.storage_key)
    } else {
        recording.storage_key.clone()
    };
    let Some(ObjectVersion { size: actual, etag }) = object_version(uploads, &source).await? else {
        return Err(ApiError::bad_request(NO_OBJECT));
    };
    // An empty object has no first bytes to check (S3 refuses the ranged read).
    if actual == 0 {
        return Err(ApiError::bad_request(media::EMPTY));
    }
    if actual > media::MAX_RECORDING_BYTES {
        return Err(ApiError::bad_request(media::TOO_LARGE));
    }
    for declared in [recording.size_bytes, request.size_bytes]
        .into_iter()
        .flatten()
    {
        if declared != actual {
            return Err(size_mismatch(actual, declared));
        }
    }
    let Declared { ext, mime, format } = media::check_declared(
        Some(actual),
        &recording.storage_key,
        Some(&recording.mime_type),
    )
    .map_err(ApiError::bad_request)?;
    if !media::bytes_are(format, &object_head(uploads, &source, &etag).await?) {
        return Err(ApiError::bad_request(media::content_mismatch(&ext, &mime)));
    }
    if source != recording.storage_key {
        copy_checked(uploads, &source, &etag, &recording.storage_key).await?;
    }
    // Committed before the job is sent: a worker that takes the job at once must see the row
    // `uploaded`. A failed send leaves it `uploaded` without a job, and the error says so; a
    // retried `complete` (allowed on `uploaded`) or `transcribe/` queues it again.
    let Some(updated) =
        recordings::mark_uploaded(pool, caller, id, actual, request.duration_ms).await?
    else {
        // Changed concurrently: taken on by the worker (say where it stands), or gone.
        return Err(match recordings::status(pool, caller, id).await? {
            Some(status) => ApiError::bad_request(format!("Recording is already {status}")),
            None => ApiError::no_match(RECORDING),
        });
    };
    if source != recording.storage_key {
        // Only now: had the row not been marked, a retried complete would need the upload.
        delete_object(uploads, &source).await;
    }
    queue_transcription(uploads, &updated, &found).await?;
    Ok(Json(updated.into()))
}

/// Sends the `transcribe_recording` job of `recording` (whose meeting is `found`'s).
pub(crate) async fn queue_transcription(
    uploads: &Uploads,
    recording: &Recording,
    found: &RecordingInMeeting,
) -> ApiResult<()> {
    let job = TranscribeRecording {
        recording_id: recording.id,
        meeting_id: recording.meeting_id,
        organization_id: found.organization_id,
        bucket: uploads.bucket.clone(),
        key: recording.storage_key.clone(),
        language: found.language_preference,
        window: None,
    };
    uploads.jobs.send(&job).await.map_err(|e| {
        ApiError::from(anyhow::Error::from(e).context("queueing the transcription job"))
    })
}

/// Checks the uploaded object (it exists; not empty; at most 500 MiB; its size equals the one
/// declared at `initiate` and here; its first bytes are its type), copies the checked version
/// to the recording's `storage_key`, marks the recording `uploaded` and queues its
/// transcription. A recording already `uploaded` has its `storage_key` object checked and is
/// queued again (a PUT to the upload URL after the first complete is never read).
#[utoipa::path(
    post, path = "/api/recordings/{id}/complete/", tag = "recordings", operation_id = "recordings_complete",
    params(("id" = uuid::Uuid, Path, description = "Recording id")),
    request_body(content = Option<CompleteRequest>, description = "Optional"),
    responses(
        (status = 200, description = "The recording, `uploaded`", body = RecordingJson),
        (status = 400, description = "`No uploaded file found for this recording`, `The submitted file is empty.`, `File too large. Maximum size is 500MB.`, `Uploaded size (N bytes) does not match the declared size (M bytes)`, `File content does not match its type (...)`, `Recording is already <status>`, `size_bytes must be a valid integer`, `Invalid size_bytes value`, `duration_ms must be a valid integer`, `Invalid duration_ms value`", body = ErrorBody),
        Viewer,
        (status = 404, description = "`No Recording matches the given query.`", body = DetailBody),
        (status = 409, description = "`The uploaded file changed while it was being checked. Upload it again, then complete the recording.`: another PUT to the upload URL replaced the file during the check; nothing was copied or marked", body = ErrorBody),
    ),
    security(("jwt" = []))
)]
pub async fn complete(
    State(state): State<MeetingsState>,
    AuthUser(caller): AuthUser,
    PathParams(RecordingPath { id }): PathParams<RecordingPath>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<RecordingJson>> {
    complete_recording(&state, caller.id, id, &body).await
}

/// The same as `POST /api/recordings/{id}/complete/` (the original code's path).
#[utoipa::path(
    post, path = "/api/meetings/recordings/{id}/complete/", tag = "recordings", operation_id = "recordings_complete_under_meetings",
    params(("id" = uuid::Uuid, Path, description = "Recording id")),
    request_body(content = Option<CompleteRequest>, description = "Optional"),
    responses(
        (status = 200, description = "The recording, `uploaded`", body = RecordingJson),
        (status = 400, description = "As `POST /api/recordings/{id}/complete/`", body = ErrorBody),
        Viewer,
        (status = 404, description = "`No Recording matches the given query.`", body = DetailBody),
        (status = 409, description = "As `POST /api/recordings/{id}/complete/`", body = ErrorBody),
    ),
    security(("jwt" = []))
)]
pub async fn complete_under_meetings(
    State(state): State<MeetingsState>,
    AuthUser(caller): AuthUser,
    PathParams(RecordingPath { id }): PathParams<RecordingPath>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<RecordingJson>> {
    complete_recording(&state, caller.id, id, &body).await
}

/// Stores a recording sent as the multipart field `audio` (what the existing frontend does)
/// and answers it `uploaded`. Through the API's public host this path is served by the
/// streaming ingress, up to 500 MB; the function itself, behind API Gateway, takes at most
/// 4 MiB. Transcription is not queued (the original does not either).
//
// One implementation with the ingress: meetin_recordings::receive_upload, within DIRECT_LIMIT.
#[utoipa::path(
    post, path = "/api/meetings/{id}/recordings/upload/", tag = "recordings", operation_id = "recordings_upload",
    params(("id" = uuid::Uuid, Path, description = "Meeting id")),
    request_body(content_type = "multipart/form-data", description = "The field `audio`: the file, up to 500 MB through the public host; at most 4 MiB in all through API Gateway alone"),
    responses(
        (status = 201, description = "The recording, `uploaded`", body = RecordingJson),
        (status = 400, description = "`No audio file provided`, `File too large. Maximum size is 500MB.`, `Invalid file type. Allowed: .aac, .flac, .m4a, .mkv, .mov, .mp3, .mp4, .ogg, .wav, .webm`, `Invalid MIME type: <type>`, `The submitted file is empty.`, `File content does not match its type (...)`", body = ErrorBody),
        MeetingWrite,
        (status = 413, description = "Over 4 MiB through API Gateway alone: the text points to the presigned flow", body = ErrorBody),
    ),
    security(("jwt" = []))
)]
pub async fn upload(
    State(state): State<MeetingsState>,
    AuthUser(caller): AuthUser,
    PathParams(MeetingPath { id }): PathParams<MeetingPath>,
    request: axum::extract::Request,
) -> ApiResult<(StatusCode, Json<RecordingJson>)> {
    let (parts, body) = request.into_parts();
    let text = |name: header::HeaderName| parts.headers.get(name).and_then(|v| v.to_str().ok());
    let recording = meetin_recordings::receive_upload(
        &state.uploads.store(),
        &state.app.pool,
        caller.id,
        id,
        UploadBody {
            content_type: text(header::CONTENT_TYPE),
            content_length: text(header::CONTENT_LENGTH).and_then(|v| v.parse().ok()),
            body: body.into_data_stream(),
        },
        DIRECT_LIMIT,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(recording.into())))
}
