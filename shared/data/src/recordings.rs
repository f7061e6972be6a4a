//! Recordings of a meeting: created by `initiate` (`created`), marked `uploaded` by `complete`
//! or stored `uploaded` at once by a direct upload; the recording worker takes them on to
//! `processing`, `ready` or `failed`. Reads need any role in the meeting's organization,
//! changes a member or admin, in the statement that makes them.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgExecutor};
use uuid::Uuid;

use crate::caller_may;

/// A row of `recordings`, as the meeting JSON nests it.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Recording {
    pub id: Uuid,
    pub meeting_id: Uuid,
    /// `recordings/{meeting_id}/{uuid}{ext}`: the S3 object key.
    pub storage_key: String,
    /// The declared (and byte-checked) content type, e.g. `audio/webm`.
    pub mime_type: String,
    /// Milliseconds, when known.
    pub duration_ms: Option<i32>,
    /// Bytes, when known (declared at `initiate`, checked against S3 at `complete`).
    pub size_bytes: Option<i64>,
    /// `created`, `uploaded`, `processing`, `ready` or `failed`.
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub uploaded_at: Option<DateTime<Utc>>,
}

/// A recording with what a transcription job needs about its meeting.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct RecordingInMeeting {
    #[sqlx(flatten)]
    pub recording: Recording,
    /// The meeting's organization (the tenant).
    pub organization_id: Uuid,
    /// The meeting's `language_preference`: `en`, `fr` or `auto`.
    pub language_preference: String,
}

/// What a new recording row holds.
#[derive(Debug, Clone)]
pub struct NewRecording<'a> {
    pub meeting_id: Uuid,
    pub storage_key: &'a str,
    pub mime_type: &'a str,
    pub size_bytes: Option<i64>,
    /// `created` (presigned flow) or `uploaded` (direct upload, stored already).
    pub status: &'a str,
}

macro_rules! recording_columns {
    () => {
        "r.id, r.meeting_id, r.storage_key, r.mime_type, r.duration_ms, r.size_bytes, \
         r.status, r.created_at, r.uploaded_at"
    };
}

/// Inserts a recording of `new.meeting_id` if `caller` may write in the meeting's
/// organization; `None` otherwise (no such meeting, or a viewer). `uploaded_at` is set when
/// the status is `uploaded`.
pub async fn create<'e>(
    db: impl PgExecutor<'e>,
    caller: Uuid,
    new: &NewRecording<'_>,
) -> Result<Option<Recording>, sqlx::Error> {
    sqlx::query_as(concat!(
        "WITH r AS (INSERT INTO recordings (meeting_id, storage_key, mime_type, size_bytes, \
                                           status, uploaded_at) \
           SELECT m.id, $3, $4, $5, $6, CASE WHEN $6 = 'uploaded' THEN now() END \
           FROM meetings m WHERE m.id = $2 AND ",
        caller_may!(write, "m.organization_id", "$1"),
        " RETURNING *) SELECT ",
        recording_columns!(),
        " FROM r"
    ))
    .bind(caller)
    .bind(new.meeting_id)
    .bind(new.storage_key)
    .bind(new.mime_type)
    .bind(new.size_bytes)
    .bind(new.status)
    .fetch_optional(db)
    .await
}

/// The recording `id` with its meeting's organization and language, if `caller` may read it.
pub async fn find_visible<'e>(
    db: impl PgExecutor<'e>,
    caller: Uuid,
    id: Uuid,
) -> Result<Option<RecordingInMeeting>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        recording_columns!(),
        ", m.organization_id, m.language_preference \
         FROM recordings r JOIN meetings m ON m.id = r.meeting_id WHERE r.id = $2 AND ",
        caller_may!(read, "m.organization_id", "$1")
    ))
    .bind(caller)
    .bind(id)
    .fetch_optional(db)
    .await
}

/// Marks the recording `uploaded` (now) with its verified size and, when given, its duration,
/// if it is `created` or already `uploaded` (a retried complete) and `caller` may write in its
/// organization; `None` otherwise. Commit it before sending the transcription job: the worker
/// may take the job at once and must find the row `uploaded`.
pub async fn mark_uploaded<'e>(
    db: impl PgExecutor<'e>,
    caller: Uuid,
    id: Uuid,
    size_bytes: i64,
    duration_ms: Option<i32>,
) -> Result<Option<Recording>, sqlx::Error> {
    sqlx::query_as(concat!(
        "UPDATE recordings r SET status = 'uploaded', uploaded_at = now(), size_bytes = $3, \
                duration_ms = COALESCE($4, r.duration_ms) \
         FROM meetings m WHERE m.id = r.meeting_id AND r.id = $2 \
           AND r.status IN ('created', 'uploaded') AND ",
        caller_may!(write, "m.organization_id", "$1"),
        " RETURNING ",
        recording_columns!()
    ))
    .bind(caller)
    .bind(id)
    .bind(size_bytes)
    .bind(duration_ms)
    .fetch_optional(db)
    .await
}

/// Makes an `uploaded` or `failed` recording `uploaded` again (clearing the failure), ready for
/// a new transcription job, if `caller` may write in its organization; `None` otherwise (or
/// when it is `created`, `processing` or `ready`). Commit it before sending the job, as
/// [`mark_uploaded`].
pub async fn requeue<'e>(
    db: impl PgExecutor<'e>,
    caller: Uuid,
    id: Uuid,
) -> Result<Option<Recording>, sqlx::Error> {
    sqlx::query_as(concat!(
        "UPDATE recordings r SET status = 'uploaded', failure_reason = NULL, \
                uploaded_at = COALESCE(r.uploaded_at, now()) \
         FROM meetings m WHERE m.id = r.meeting_id AND r.id = $2 \
           AND r.status IN ('uploaded', 'failed') AND ",
        caller_may!(write, "m.organization_id", "$1"),
        " RETURNING ",
        recording_columns!()
    ))
    .bind(caller)
    .bind(id)
    .fetch_optional(db)
    .await
}

/// The recording's `status`, if `caller` may read it.
pub async fn status<'e>(
    db: impl PgExecutor<'e>,
    caller: Uuid,
    id: Uuid,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(concat!(
        "SELECT r.status FROM recordings r JOIN meetings m ON m.id = r.meeting_id \
         WHERE r.id = $2 AND ",
        caller_may!(read, "m.organization_id", "$1")
    ))
    .bind(caller)
    .bind(id)
    .fetch_optional(db)
    .await
}
