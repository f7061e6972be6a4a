//! The windows of a long recording transcribed side by side (issue 18; migration 0008): planned
//! once, each transcription stored once, and all of them handed back, under a lock on the
//! recording, once the last is in, so exactly one job merges them.

use meetin_messages::transcript::Transcription;
use meetin_messages::transcript::windows::Window;
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

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
    let done = sqlx::query(
        "UPDATE recording_windows SET transcription = $3, transcribed_at = now() \
         WHERE recording_id = $1 AND window_index = $2 AND transcription IS NULL",
    )
    .bind(recording)
    .bind(i32::try_from(index).unwrap_or(i32::MAX))
    .bind(Json(transcription))
    .execute(pool)
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
