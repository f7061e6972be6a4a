//! The windows of a long recording transcribed side by side (issue 18; migration 0008): planned
//! once, each transcription stored once, and all of them handed back, under a lock on the
//! recording, once the last is in, so exactly one job merges them.

use meetin_messages::transcript::Transcription;
use meetin_messages::transcript::windows::Window;
use meetin_vocab::{LanguagePreference, RecordingStatus};
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::transcripts::{NewRecordingTranscript, store_recording_transcript_in};

/// Records `windows` for `recording`; windows already recorded (a redelivered planning job)
/// are kept as they are. Answers how many were new.
pub async fn plan(pool: &PgPool, recording: Uuid, windows: &[Window]) -> Result<u64, sqlx::Error> {
    let index: Vec<i32> = windows
        .iter()
        .map(|w| i32::try_from(w.index).unwrap_or(i32::MAX))
        .collect();
    let column = |f: fn(&Window) -> i64| windows.iter().map(f).collect::<Vec<i64>>();
    let done = sqlx::query(
        "INSERT INTO recording_windows \
             (recording_id, window_index, start_ms, end_ms, keep_from_ms, keep_to_ms) \
         SELECT $1, * FROM unnest($2::int[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[]) \
         ON CONFLICT (recording_id, window_index) DO NOTHING",
    )
    .bind(recording)
    .bind(&index)
    .bind(column(|w| w.start_ms))
    .bind(column(|w| w.end_ms))
    .bind(column(|w| w.keep_from_ms))
    .bind(column(|w| w.keep_to_ms))
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

/// Stores the transcription of window `index` of `recording`, unless one is stored already
/// (a redelivered window job changes nothing). Answers whether this call stored it.
pub async fn store(
    pool: &PgPool,
    recording: Uuid,
    index: u32,
    transcription: &Transcription,
) -> Result<bool, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    store_in(&mut conn, recording, index, transcription).await
}

/// [`store`] on the caller's connection or transaction.
async fn store_in(
    conn: &mut PgConnection,
    recording: Uuid,
    index: u32,
    transcription: &Transcription,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE recording_windows SET transcription = $3, transcribed_at = now() \
         WHERE recording_id = $1 AND window_index = $2 AND transcription IS NULL",
    )
    .bind(recording)
    .bind(i32::try_from(index).unwrap_or(i32::MAX))
    .bind(Json(transcription))
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A `recording_windows` row: index, start, end, keep from, keep to, transcription.
type WindowRow = (i32, i64, i64, i64, i64, Option<Json<Transcription>>);

/// Every window of `recording` with its transcription, in order, when all are in; `None`
/// while one is missing (or none were planned). Locks the recording's row first, so of jobs
/// finishing together one sees them all after the other has merged and committed: call it in
/// the transaction that stores the merged transcript.
pub async fn all_transcribed(
    conn: &mut PgConnection,
    recording: Uuid,
) -> Result<Option<Vec<(Window, Transcription)>>, sqlx::Error> {
    sqlx::query("SELECT 1 FROM recordings WHERE id = $1 FOR UPDATE")
        .bind(recording)
        .execute(&mut *conn)
        .await?;
    let rows: Vec<WindowRow> = sqlx::query_as(
        "SELECT window_index, start_ms, end_ms, keep_from_ms, keep_to_ms, transcription \
         FROM recording_windows WHERE recording_id = $1 ORDER BY window_index",
    )
    .bind(recording)
    .fetch_all(&mut *conn)
    .await?;
    if rows.is_empty() {
        return Ok(None);
    }
    let mut windows = Vec::with_capacity(rows.len());
    for (index, start_ms, end_ms, keep_from_ms, keep_to_ms, transcription) in rows {
        let Some(Json(transcription)) = transcription else {
            return Ok(None);
        };
        let window = Window {
            index: u32::try_from(index).unwrap_or(0),
            start_ms,
            end_ms,
            keep_from_ms,
            keep_to_ms,
        };
        windows.push((window, transcription));
    }
    Ok(Some(windows))
}

/// The windows planned for `recording`, in order, whether transcribed or not (empty when none
/// were): what its planning job queues, the first plan winning over a redelivery's.
pub async fn planned(pool: &PgPool, recording: Uuid) -> Result<Vec<(Window, bool)>, sqlx::Error> {
    let rows: Vec<(i32, i64, i64, i64, i64, bool)> = sqlx::query_as(
        "SELECT window_index, start_ms, end_ms, keep_from_ms, keep_to_ms, \
                transcription IS NOT NULL \
         FROM recording_windows WHERE recording_id = $1 ORDER BY window_index",
    )
    .bind(recording)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(index, start_ms, end_ms, keep_from_ms, keep_to_ms, done)| {
                let window = Window {
                    index: u32::try_from(index).unwrap_or(0),
                    start_ms,
                    end_ms,
                    keep_from_ms,
                    keep_to_ms,
                };
                (window, done)
            },
        )
        .collect())
}

/// Where a window job found its window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WindowState {
    /// No such recording in the organization, or no such window of it (deleted since).
    Missing,
    /// The recording is no longer `processing` (merged already, failed, or taken back to
    /// `uploaded`): nothing to do.
    Settled { status: RecordingStatus },
    /// This window's transcription is stored already (a redelivered job).
    Transcribed,
    /// To transcribe, in the meeting's language.
    Pending {
        window: Window,
        language_preference: LanguagePreference,
        /// How many windows the recording has.
        windows: u32,
    },
}

/// The state of window `index` of `recording` (of `organization`). One statement.
pub async fn state(
    pool: &PgPool,
    organization: Uuid,
    recording: Uuid,
    index: u32,
) -> Result<WindowState, sqlx::Error> {
    type Row = (
        RecordingStatus,
        LanguagePreference,
        Option<i64>,
        Option<i64>,
        Option<i64>,
        Option<i64>,
        Option<bool>,
        i64,
    );
    let row: Option<Row> = sqlx::query_as(
        "SELECT r.status, m.language_preference, w.start_ms, w.end_ms, w.keep_from_ms, \
                w.keep_to_ms, w.transcription IS NOT NULL, \
                (SELECT count(*) FROM recording_windows a WHERE a.recording_id = r.id) \
         FROM recordings r JOIN meetings m ON m.id = r.meeting_id \
         LEFT JOIN recording_windows w ON w.recording_id = r.id AND w.window_index = $3 \
         WHERE r.id = $2 AND m.organization_id = $1",
    )
    .bind(organization)
    .bind(recording)
    .bind(i32::try_from(index).unwrap_or(i32::MAX))
    .fetch_optional(pool)
    .await?;
    let Some((status, language_preference, start, end, keep_from, keep_to, done, count)) = row
    else {
        return Ok(WindowState::Missing);
    };
    let (Some(start_ms), Some(end_ms), Some(keep_from_ms), Some(keep_to_ms), Some(done)) =
        (start, end, keep_from, keep_to, done)
    else {
        return Ok(WindowState::Missing);
    };
    if status != RecordingStatus::Processing {
        return Ok(WindowState::Settled { status });
    }
    if done {
        return Ok(WindowState::Transcribed);
    }
    Ok(WindowState::Pending {
        window: Window {
            index,
            start_ms,
            end_ms,
            keep_from_ms,
            keep_to_ms,
        },
        language_preference,
        windows: u32::try_from(count).unwrap_or(u32::MAX),
    })
}

/// What [`finish`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finished {
    /// The window is stored (or was already); other windows are still out.
    Waiting { stored: bool },
    /// This was the last window in: the merged transcript is stored and the recording `ready`.
    Merged { transcript: Uuid },
    /// The recording is gone, or no longer `processing` (merged or failed by another job).
    Settled,
}

/// Stores window `index`'s `transcription` of `recording` (of `organization`) unless it is
/// stored already, and marks the recording's claim alive (`processing_started_at`, so
/// `transcribe/`'s stale-claim rule leaves a long recording whose windows keep coming in);
/// then, if every window is in, merges them with `merge` (given them in order) and stores the
/// result as the recording's transcript with `provider`, setting it `ready`, all in one
/// transaction: of the jobs finishing last together, exactly one merges (the lock on the
/// recording, [`all_transcribed`]) and the other finds it `ready`.
pub async fn finish(
    pool: &PgPool,
    organization: Uuid,
    recording: Uuid,
    index: u32,
    transcription: &Transcription,
    provider: &str,
    merge: impl FnOnce(Vec<(Window, Transcription)>) -> Transcription,
) -> Result<Finished, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let alive = sqlx::query(
        "UPDATE recordings r SET processing_started_at = now() FROM meetings m \
         WHERE m.id = r.meeting_id AND r.id = $2 AND m.organization_id = $1 \
           AND r.status = 'processing'",
    )
    .bind(organization)
    .bind(recording)
    .execute(&mut *tx)
    .await?;
    if alive.rows_affected() == 0 {
        return Ok(Finished::Settled);
    }
    let stored = store_in(&mut tx, recording, index, transcription).await?;
    // The UPDATE above holds the recording's row lock from here on and found it
    // `processing`: a job that merged first has committed `ready`, and this one stopped there.
    let Some(parts) = all_transcribed(&mut tx, recording).await? else {
        tx.commit().await?;
        return Ok(Finished::Waiting { stored });
    };
    let merged = merge(parts);
    let new = NewRecordingTranscript {
        provider,
        language_detected: merged.language_detected.as_deref(),
        duration_ms: Some(merged.duration_ms),
        segments: &merged.segments,
    };
    let Some((transcript, _)) =
        store_recording_transcript_in(&mut tx, organization, recording, &new).await?
    else {
        return Ok(Finished::Settled);
    };
    tx.commit().await?;
    Ok(Finished::Merged { transcript })
}
