//! Transcripts and their segments.
//!
//! Two kinds of caller:
//! - **people** read a meeting's transcript ([`newest_for_meeting`], [`for_recording`]), scoped
//!   by their membership in the meeting's organization like every other read;
//! - **the recording worker** has no user: it acts for the organization named in its job and
//!   every statement it runs is scoped by that organization ([`claim_recording`],
//!   [`store_recording_transcript`], [`fail_recording`]).
//!
//! A recording has at most one transcript (the unique index `transcripts_recording_key`,
//! migration 0003): that is what makes a redelivered transcription job store nothing twice.

use chrono::{DateTime, Utc};
use meetin_vocab::{LanguagePreference, RecordingStatus};
use sqlx::{FromRow, PgConnection, PgPool};
use uuid::Uuid;

use crate::caller_may;

/// The longest `recordings.failure_reason` kept, in characters.
pub const FAILURE_REASON_MAX_CHARS: usize = 1000;

/// The largest `recordings.duration_ms` the table accepts (24 h, in ms).
pub const MAX_DURATION_MS: i64 = 86_400_000;

/// How long a run may hold a recording `processing` (s): the recording worker's longest run
/// (its Lambda `Timeout`, 900 s in template.yaml) plus a minute. A `processing` recording
/// claimed longer ago was abandoned by a run that died, and is taken again.
pub const PROCESSING_STALE_AFTER_SECS: i64 = 960;

/// Runs that may claim a recording before it fails instead (the queue's `maxReceiveCount`):
/// a recording whose runs keep dying (out of memory, out of time) fails on the next claim.
pub const MAX_TRANSCRIPTION_ATTEMPTS: i32 = 3;

/// A row of `transcripts`.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Transcript {
    pub id: Uuid,
    pub meeting_id: Uuid,
    pub recording_id: Option<Uuid>,
    pub live_session_id: Option<Uuid>,
    /// `deepgram` (or the offline engine's name).
    pub provider: String,
    /// A BCP-47 tag such as `en` or `fr`, at most 10 characters; `None` when not detected.
    pub language_detected: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A row of `transcript_segments` with its speaker's label and display name.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct SegmentRow {
    pub id: Uuid,
    pub transcript_id: Uuid,
    /// Milliseconds from the start of the audio.
    pub start_ms: i32,
    /// Milliseconds, never before `start_ms`.
    pub end_ms: i32,
    pub speaker_id: Option<Uuid>,
    /// `speakers.label` of `speaker_id`.
    pub speaker_label: Option<String>,
    /// `speakers.display_name` of `speaker_id`.
    pub speaker_display_name: Option<String>,
    /// The provider's label as it came (`Speaker 0`).
    pub speaker_label_raw: Option<String>,
    pub text: String,
    /// 0..=1.
    pub confidence: Option<f64>,
    pub is_final: bool,
    pub created_at: DateTime<Utc>,
}

/// A transcript with its segments, ordered by `start_ms`.
#[derive(Debug, Clone, PartialEq)]
pub struct TranscriptWithSegments {
    pub transcript: Transcript,
    pub segments: Vec<SegmentRow>,
}

/// One segment to store: the type every engine returns (values already fitted to their
/// columns by the engine).
pub use meetin_messages::transcript::Segment as NewSegment;

/// What a worker's transcription stores.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRecordingTranscript<'a> {
    /// `transcripts.provider`, e.g. `deepgram`.
    pub provider: &'a str,
    /// At most 10 characters (longer values are dropped).
    pub language_detected: Option<&'a str>,
    /// The audio's duration in ms, stored on the recording when it has none (values outside
    /// 0..=[`MAX_DURATION_MS`] are not stored).
    pub duration_ms: Option<i64>,
    pub segments: &'a [NewSegment],
}

/// Segments as the column arrays an `unnest` insert binds.
pub(crate) struct SegmentColumns<'a> {
    pub labels: Vec<&'a str>,
    pub starts: Vec<i32>,
    pub ends: Vec<i32>,
    pub texts: Vec<&'a str>,
    pub confidences: Vec<Option<f64>>,
}

impl<'a> SegmentColumns<'a> {
    pub fn of(segments: &'a [NewSegment]) -> Self {
        Self {
            labels: segments.iter().map(|s| s.speaker_label.as_str()).collect(),
            starts: segments.iter().map(|s| s.start_ms).collect(),
            ends: segments.iter().map(|s| s.end_ms).collect(),
            texts: segments.iter().map(|s| s.text.as_str()).collect(),
            confidences: segments.iter().map(|s| s.confidence).collect(),
        }
    }
}

/// Creates `meeting`'s missing speaker rows for `labels` (`Speaker N`), in label order so
/// concurrent writers lock them alike. One statement.
pub(crate) async fn insert_speakers(
    tx: &mut PgConnection,
    meeting: Uuid,
    labels: &[&str],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO speakers (meeting_id, label) \
         SELECT $1, l FROM (SELECT DISTINCT unnest($2::text[]) AS l) labels \
         ORDER BY l ON CONFLICT (meeting_id, label) DO NOTHING",
    )
    .bind(meeting)
    .bind(labels)
    .execute(tx)
    .await?;
    Ok(())
}

/// Where a recording stood when a worker tried to claim it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// It was `uploaded` (or `processing` and this is a redelivery, or abandoned) and is now
    /// `processing`; transcribe the object at `storage_key`.
    Claimed {
        meeting_id: Uuid,
        storage_key: String,
        /// The meeting's `language_preference`.
        language_preference: LanguagePreference,
        /// This run's number since a person last queued it, from 1; past
        /// [`MAX_TRANSCRIPTION_ATTEMPTS`] the earlier runs died on it.
        attempt: i32,
    },
    /// Nothing to do: `created` (never uploaded), `ready` (done already), `failed`, or
    /// `processing` by another run.
    Settled { status: RecordingStatus },
    /// No such recording in that organization (deleted with its meeting since it was queued).
    Missing,
}

macro_rules! transcript_columns {
    () => {
        "t.id, t.meeting_id, t.recording_id, t.live_session_id, t.provider, \
         t.language_detected, t.created_at"
    };
}

/// `SELECT … FROM transcript_segments s` with each row's speaker (`sp`): the columns of a
/// [`SegmentRow`], for statements that add their own `WHERE` and `ORDER BY`.
macro_rules! segment_rows {
    () => {
        "SELECT s.id, s.transcript_id, s.start_ms, s.end_ms, s.speaker_id, \
                sp.label AS speaker_label, sp.display_name AS speaker_display_name, \
                s.speaker_label_raw, s.text, s.confidence, s.is_final, s.created_at \
         FROM transcript_segments s LEFT JOIN speakers sp ON sp.id = s.speaker_id"
    };
}
pub(crate) use segment_rows;

/// The segments of `transcript`, by `start_ms` (then creation, then id, so the order is
/// stable).
async fn segments_of(pool: &PgPool, transcript: Uuid) -> Result<Vec<SegmentRow>, sqlx::Error> {
    sqlx::query_as(concat!(
        segment_rows!(),
        " WHERE s.transcript_id = $1 ORDER BY s.start_ms, s.created_at, s.id"
    ))
    .bind(transcript)
    .fetch_all(pool)
    .await
}

async fn with_segments(
    pool: &PgPool,
    transcript: Option<Transcript>,
) -> Result<Option<TranscriptWithSegments>, sqlx::Error> {
    let Some(transcript) = transcript else {
        return Ok(None);
    };
    let segments = segments_of(pool, transcript.id).await?;
    Ok(Some(TranscriptWithSegments {
        transcript,
        segments,
    }))
}

/// The newest transcript of `meeting` with its segments (contract §2.5 `GET transcript/`), if
/// `caller` may read the meeting and it has one. Two statements.
pub async fn newest_for_meeting(
    pool: &PgPool,
    caller: Uuid,
    meeting: Uuid,
) -> Result<Option<TranscriptWithSegments>, sqlx::Error> {
    let transcript: Option<Transcript> = sqlx::query_as(concat!(
        "SELECT ",
        transcript_columns!(),
        " FROM transcripts t JOIN meetings m ON m.id = t.meeting_id \
         WHERE t.meeting_id = $2 AND ",
        caller_may!(read, "m.organization_id", "$1"),
        " ORDER BY t.created_at DESC, t.id DESC LIMIT 1"
    ))
    .bind(caller)
    .bind(meeting)
    .fetch_optional(pool)
    .await?;
    with_segments(pool, transcript).await
}

/// The transcript of `recording` with its segments, if `caller` may read it and it has one.
pub async fn for_recording(
    pool: &PgPool,
    caller: Uuid,
    recording: Uuid,
) -> Result<Option<TranscriptWithSegments>, sqlx::Error> {
    let transcript: Option<Transcript> = sqlx::query_as(concat!(
        "SELECT ",
        transcript_columns!(),
        " FROM transcripts t JOIN meetings m ON m.id = t.meeting_id \
         WHERE t.recording_id = $2 AND ",
        caller_may!(read, "m.organization_id", "$1")
    ))
    .bind(caller)
    .bind(recording)
    .fetch_optional(pool)
    .await?;
    with_segments(pool, transcript).await
}

/// Takes `recording` of `organization` on to `processing` if it is `uploaded`, or already
/// `processing` when `redelivered` (the same message again, after a run that did not finish)
/// or claimed more than [`PROCESSING_STALE_AFTER_SECS`] ago (a run that died), clearing any
/// earlier failure reason and counting the attempt. A first delivery finding it `processing`
/// by a live run is a second job for it: [`Claim::Settled`]. One statement: of concurrent
/// claims of an abandoned recording, one wins.
pub async fn claim_recording(
    pool: &PgPool,
    organization: Uuid,
    recording: Uuid,
    redelivered: bool,
) -> Result<Claim, sqlx::Error> {
    let claimed: Option<(Uuid, String, LanguagePreference, i32)> = sqlx::query_as(
        "UPDATE recordings r SET status = 'processing', failure_reason = NULL, \
                processing_started_at = now(), \
                transcription_attempts = LEAST(r.transcription_attempts + 1, 1000) \
         FROM meetings m WHERE m.id = r.meeting_id AND r.id = $2 AND m.organization_id = $1 \
           AND (r.status = 'uploaded' OR (r.status = 'processing' AND ($3 OR \
                COALESCE(r.processing_started_at, r.uploaded_at, r.created_at) \
                  < now() - make_interval(secs => $4)))) \
         RETURNING r.meeting_id, r.storage_key, m.language_preference, r.transcription_attempts",
    )
    .bind(organization)
    .bind(recording)
    .bind(redelivered)
    .bind(PROCESSING_STALE_AFTER_SECS as f64)
    .fetch_optional(pool)
    .await?;
    if let Some((meeting_id, storage_key, language_preference, attempt)) = claimed {
        return Ok(Claim::Claimed {
            meeting_id,
            storage_key,
            language_preference,
            attempt,
        });
    }
    let status: Option<RecordingStatus> = sqlx::query_scalar(
        "SELECT r.status FROM recordings r JOIN meetings m ON m.id = r.meeting_id \
         WHERE r.id = $2 AND m.organization_id = $1",
    )
    .bind(organization)
    .bind(recording)
    .fetch_optional(pool)
    .await?;
    Ok(status.map_or(Claim::Missing, |status| Claim::Settled { status }))
}

/// Stores the transcript of `recording` (of `organization`), its segments and the meeting's
/// missing `Speaker N` rows, and sets the recording `ready`, in one transaction. Answers the
/// transcript's id and whether this call created it: when the recording has a transcript
/// already (a redelivered job), nothing is written but the `ready` status. `None` when the
/// recording is gone. Four statements whatever the number of segments.
pub async fn store_recording_transcript(
    pool: &PgPool,
    organization: Uuid,
    recording: Uuid,
    new: &NewRecordingTranscript<'_>,
) -> Result<Option<(Uuid, bool)>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let stored = store_recording_transcript_in(&mut tx, organization, recording, new).await?;
    tx.commit().await?;
    Ok(stored)
}

/// [`store_recording_transcript`] inside the caller's transaction (the merge of a long
/// recording's windows, [`crate::windows::finish`]): nothing is committed here.
pub(crate) async fn store_recording_transcript_in(
    tx: &mut PgConnection,
    organization: Uuid,
    recording: Uuid,
    new: &NewRecordingTranscript<'_>,
) -> Result<Option<(Uuid, bool)>, sqlx::Error> {
    let language = new.language_detected.filter(|l| l.chars().count() <= 10);
    let inserted: Option<(Uuid, Uuid)> = sqlx::query_as(
        "INSERT INTO transcripts (meeting_id, recording_id, provider, language_detected) \
         SELECT r.meeting_id, r.id, $3, $4 FROM recordings r JOIN meetings m ON m.id = r.meeting_id \
         WHERE r.id = $2 AND m.organization_id = $1 \
         ON CONFLICT (recording_id) WHERE recording_id IS NOT NULL DO NOTHING \
         RETURNING id, meeting_id",
    )
    .bind(organization)
    .bind(recording)
    .bind(new.provider)
    .bind(language)
    .fetch_optional(&mut *tx)
    .await?;
    let (transcript, created) = match inserted {
        Some((transcript, meeting)) => {
            let columns = SegmentColumns::of(new.segments);
            insert_speakers(&mut *tx, meeting, &columns.labels).await?;
            sqlx::query(
                "INSERT INTO transcript_segments \
                   (transcript_id, start_ms, end_ms, speaker_id, speaker_label_raw, text, \
                    confidence, is_final) \
                 SELECT $1, s.start_ms, s.end_ms, sp.id, s.label, s.text, s.confidence, true \
                 FROM unnest($3::int[], $4::int[], $5::text[], $6::text[], $7::float8[]) \
                      AS s(start_ms, end_ms, label, text, confidence) \
                 LEFT JOIN speakers sp ON sp.meeting_id = $2 AND sp.label = s.label",
            )
            .bind(transcript)
            .bind(meeting)
            .bind(&columns.starts)
            .bind(&columns.ends)
            .bind(&columns.labels)
            .bind(&columns.texts)
            .bind(&columns.confidences)
            .execute(&mut *tx)
            .await?;
            (transcript, true)
        }
        None => {
            let existing: Option<Uuid> = sqlx::query_scalar(
                "SELECT t.id FROM transcripts t JOIN meetings m ON m.id = t.meeting_id \
                 WHERE t.recording_id = $2 AND m.organization_id = $1",
            )
            .bind(organization)
            .bind(recording)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(existing) = existing else {
                return Ok(None);
            };
            (existing, false)
        }
    };
    let duration = new
        .duration_ms
        .filter(|d| (0..=MAX_DURATION_MS).contains(d))
        .and_then(|d| i32::try_from(d).ok());
    sqlx::query(
        "UPDATE recordings SET status = 'ready', failure_reason = NULL, \
                duration_ms = COALESCE(duration_ms, $2) WHERE id = $1",
    )
    .bind(recording)
    .bind(duration)
    .execute(&mut *tx)
    .await?;
    Ok(Some((transcript, created)))
}

/// Sets `recording` (of `organization`) `failed` with `reason` (cut to
/// [`FAILURE_REASON_MAX_CHARS`]) unless it is `ready` already; whether it changed.
pub async fn fail_recording(
    pool: &PgPool,
    organization: Uuid,
    recording: Uuid,
    reason: &str,
) -> Result<bool, sqlx::Error> {
    let reason: String = reason.chars().take(FAILURE_REASON_MAX_CHARS).collect();
    let done = sqlx::query(
        "UPDATE recordings r SET status = 'failed', failure_reason = $3 FROM meetings m \
         WHERE m.id = r.meeting_id AND r.id = $2 AND m.organization_id = $1 \
           AND r.status IN ('uploaded', 'processing')",
    )
    .bind(organization)
    .bind(recording)
    .bind(reason)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() > 0)
}
