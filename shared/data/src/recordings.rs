//! Recordings of a meeting: created by `initiate` (`created`), marked `uploaded` by `complete`
//! or stored `uploaded` at once by a direct upload; the recording worker takes them on to
//! `processing`, `ready` or `failed`. Reads need any role in the meeting's organization,
//! changes a member or admin, in the statement that makes them.

use chrono::{DateTime, Utc};
use meetin_vocab::{LanguagePreference, RecordingStatus};
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
    pub status: RecordingStatus,
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
    /// The meeting's `language_preference`.
    pub language_preference: LanguagePreference,
}

/// What a new recording row holds.
#[derive(Debug, Clone)]
pub struct NewRecording<'a> {
    pub meeting_id: Uuid,
    pub storage_key: &'a str,
    pub mime_type: &'a str,
    pub size_bytes: Option<i64>,
    /// `Created` (presigned flow) or `Uploaded` (direct upload, stored already).
    pub status: RecordingStatus,
}

macro_rules! recording_columns {
    () => {
        "r.id, r.meeting_id, r.storage_key, r.mime_type, r.duration_ms, r.size_bytes, \
         r.status, r.created_at, r.uploaded_at"
    };
}

/// Inserts a recording of `new.meeting_id` if `caller` may write in the meeting's
/// organization; `None` otherwise (no such meeting, a viewer, or a meeting deleted while the
/// statement ran: its foreign-key violation). `uploaded_at` is set when the status is
/// `uploaded` (no job is queued: `transcribe/` queues it).
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
    .or_else(|err| {
        if crate::meetings::is_foreign_key_violation(&err) {
            Ok(None)
        } else {
            Err(err)
        }
    })
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
/// organization; `None` otherwise; `queued_at` is set, for the job the caller sends. Commit it
/// before sending the transcription job: the worker may take the job at once and must find
/// the row `uploaded`.
pub async fn mark_uploaded<'e>(
    db: impl PgExecutor<'e>,
    caller: Uuid,
    id: Uuid,
    size_bytes: i64,
    duration_ms: Option<i32>,
) -> Result<Option<Recording>, sqlx::Error> {
    sqlx::query_as(concat!(
        "UPDATE recordings r SET status = 'uploaded', uploaded_at = now(), size_bytes = $3, \
                duration_ms = COALESCE($4, r.duration_ms), queued_at = now() \
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

/// Readies a transcription job for `recording` if one is needed and `caller` may write in
/// its organization, and records that it is queued (`queued_at`); `None` when no job is to be
/// sent (or no such recording). A job is needed for a recording that is:
/// - `failed`: `uploaded` again, its failure and attempts cleared (a person asks again);
/// - `uploaded` with no job sent in the last [`PROCESSING_STALE_AFTER_SECS`] (one whose send
///   failed, or was lost);
/// - `processing` but claimed longer ago than that (its run died): `uploaded` again, its
///   attempts kept, so a recording that keeps killing its runs ends `failed`.
///
/// One statement, so concurrent calls ready one job. Commit it before sending the job, as
/// [`mark_uploaded`]; when the send fails, [`unqueue`] it.
///
/// [`PROCESSING_STALE_AFTER_SECS`]: crate::transcripts::PROCESSING_STALE_AFTER_SECS
pub async fn requeue<'e>(
    db: impl PgExecutor<'e>,
    caller: Uuid,
    id: Uuid,
) -> Result<Option<Recording>, sqlx::Error> {
    sqlx::query_as(concat!(
        "UPDATE recordings r SET status = 'uploaded', failure_reason = NULL, \
                uploaded_at = COALESCE(r.uploaded_at, now()), queued_at = now(), \
                transcription_attempts = CASE WHEN r.status = 'failed' THEN 0 \
                                              ELSE r.transcription_attempts END \
         FROM meetings m WHERE m.id = r.meeting_id AND r.id = $2 \
           AND (r.status = 'failed' \
                OR (r.status = 'uploaded' \
                    AND (r.queued_at IS NULL OR r.queued_at < now() - make_interval(secs => $3))) \
                OR (r.status = 'processing' \
                    AND COALESCE(r.processing_started_at, r.uploaded_at, r.created_at) \
                        < now() - make_interval(secs => $3))) AND ",
        caller_may!(write, "m.organization_id", "$1"),
        " RETURNING ",
        recording_columns!()
    ))
    .bind(caller)
    .bind(id)
    .bind(crate::transcripts::PROCESSING_STALE_AFTER_SECS as f64)
    .fetch_optional(db)
    .await
}

/// Forgets that a job was readied for `recording` by [`requeue`] (its send failed), so the
/// next `transcribe/` sends one; for a caller who may write in its organization.
pub async fn unqueue<'e>(
    db: impl PgExecutor<'e>,
    caller: Uuid,
    id: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query(concat!(
        "UPDATE recordings r SET queued_at = NULL FROM meetings m \
         WHERE m.id = r.meeting_id AND r.id = $2 AND r.status = 'uploaded' AND ",
        caller_may!(write, "m.organization_id", "$1")
    ))
    .bind(caller)
    .bind(id)
    .execute(db)
    .await?;
    Ok(())
}

/// The recording's `status`, if `caller` may read it.
pub async fn status<'e>(
    db: impl PgExecutor<'e>,
    caller: Uuid,
    id: Uuid,
) -> Result<Option<RecordingStatus>, sqlx::Error> {
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
