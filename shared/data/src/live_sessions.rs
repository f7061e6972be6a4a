//! Live transcription sessions of a meeting and their state machine:
//!
//! ```text
//! (none, ended or failed) --start--> active --stop--> ended
//!                         --start, provider unreachable--> failed
//! active --start--> refused (AlreadyActive)
//! ```
//!
//! At most one session of a meeting is `active` (a partial unique index). Every statement is
//! scoped by the caller's membership in the meeting's organization.

use chrono::{DateTime, Utc};
use meetin_vocab::LiveSessionStatus;
use serde_json::Value;
use sqlx::{FromRow, PgPool};
use uuid::Uuid;

use crate::caller_may;

/// A row of `live_sessions`.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct LiveSession {
    pub id: Uuid,
    pub meeting_id: Uuid,
    pub status: LiveSessionStatus,
    /// The transcription provider, `deepgram`.
    pub provider: String,
    /// The provider's id of the stream; `None` when none was opened.
    pub provider_session_id: Option<String>,
    /// The client's `config` at start, a JSON object.
    pub config_json: Value,
    /// Why a `failed` session failed.
    pub error_message: Option<String>,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
}

/// Why a session could not be recorded.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// The meeting already has an active session.
    #[error("a live session is already active")]
    AlreadyActive,
    /// No such meeting, or the caller may not write in its organization.
    #[error("no such meeting")]
    NotFound,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

macro_rules! session_columns {
    () => {
        "s.id, s.meeting_id, s.status, s.provider, s.provider_session_id, s.config_json, \
         s.error_message, s.started_at, s.ended_at"
    };
}

/// The newest `per_meeting` sessions of each of the given meetings that `caller` may read,
/// newest first: one statement whatever the number of meetings (each meeting's newest rows
/// through `live_sessions_meeting_idx`).
pub async fn list_for_meetings(
    pool: &PgPool,
    caller: Uuid,
    meetings: &[Uuid],
    per_meeting: i64,
) -> Result<Vec<LiveSession>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        session_columns!(),
        " FROM unnest($2::uuid[]) AS want (id) \
           JOIN meetings m ON m.id = want.id AND ",
        caller_may!(read, "m.organization_id", "$1"),
        " CROSS JOIN LATERAL (SELECT * FROM live_sessions x WHERE x.meeting_id = m.id \
                               ORDER BY x.started_at DESC, x.id LIMIT $3) s \
         ORDER BY s.started_at DESC, s.id"
    ))
    .bind(caller)
    .bind(meetings)
    .bind(per_meeting)
    .fetch_all(pool)
    .await
}

/// The meeting's active session, if there is one and `caller` may read the meeting.
pub async fn active(
    pool: &PgPool,
    caller: Uuid,
    meeting: Uuid,
) -> Result<Option<LiveSession>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        session_columns!(),
        " FROM live_sessions s JOIN meetings m ON m.id = s.meeting_id \
         WHERE s.meeting_id = $2 AND s.status = 'active' AND ",
        caller_may!(read, "m.organization_id", "$1")
    ))
    .bind(caller)
    .bind(meeting)
    .fetch_optional(pool)
    .await
}

/// Records a start that could not reach a transcription provider: a `failed` session with
/// `error_message`, ended when it started. Refused when the meeting has an active session
/// (the start would be refused, not failed) or `caller` may not write in its organization
/// (`NotFound`, also when the meeting is deleted while the statement runs).
pub async fn record_failed_start(
    pool: &PgPool,
    caller: Uuid,
    meeting: Uuid,
    config: &Value,
    error_message: &str,
) -> Result<LiveSession, LiveError> {
    let inserted: Option<LiveSession> = sqlx::query_as(concat!(
        "WITH s AS (INSERT INTO live_sessions (meeting_id, status, config_json, error_message, ended_at) \
                    SELECT m.id, 'failed', $3, $4, now() FROM meetings m \
                    WHERE m.id = $2 AND ",
        caller_may!(write, "m.organization_id", "$1"),
        "           AND NOT EXISTS (SELECT 1 FROM live_sessions a \
                                    WHERE a.meeting_id = m.id AND a.status = 'active') \
                    RETURNING *) \
         SELECT ",
        session_columns!(),
        " FROM s"
    ))
    .bind(caller)
    .bind(meeting)
    .bind(config)
    .bind(error_message)
    .fetch_optional(pool)
    .await
    .map_err(|err| {
        // The meeting was deleted while the statement ran.
        if crate::meetings::is_foreign_key_violation(&err) {
            LiveError::NotFound
        } else {
            LiveError::Database(err)
        }
    })?;
    if let Some(session) = inserted {
        return Ok(session);
    }
    let active: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM live_sessions WHERE meeting_id = $1 AND status = 'active')",
    )
    .bind(meeting)
    .fetch_one(pool)
    .await?;
    Err(if active {
        LiveError::AlreadyActive
    } else {
        LiveError::NotFound
    })
}

/// Ends the meeting's active session (`ended`, `ended_at` now), if there is one and `caller`
/// may write in the meeting's organization.
pub async fn stop_active(
    pool: &PgPool,
    caller: Uuid,
    meeting: Uuid,
) -> Result<Option<LiveSession>, sqlx::Error> {
    sqlx::query_as(concat!(
        "UPDATE live_sessions s SET status = 'ended', ended_at = greatest(now(), s.started_at) \
         FROM meetings m \
         WHERE m.id = s.meeting_id AND s.meeting_id = $2 AND s.status = 'active' AND ",
        caller_may!(write, "m.organization_id", "$1"),
        " RETURNING ",
        session_columns!()
    ))
    .bind(caller)
    .bind(meeting)
    .fetch_optional(pool)
    .await
}

/// A session just started ([`start`]): the row, the transcript its finals go to, and what the
/// bridge needs to open its stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Started {
    pub session: LiveSession,
    /// `transcripts.id` of the session's transcript (`live_session_id` = the session).
    pub transcript_id: Uuid,
}

/// Starts live transcription of `meeting`: an `active` session and its (empty) transcript, in
/// one transaction, if `caller` may write in the meeting's organization. `AlreadyActive` when
/// the meeting has an active session, also under concurrent starts (the partial unique index
/// `live_sessions_one_active_key`); `NotFound` when the meeting is missing, deleted meanwhile,
/// or not writable by `caller`.
pub async fn start(
    pool: &PgPool,
    caller: Uuid,
    meeting: Uuid,
    config: &Value,
    provider: &str,
) -> Result<Started, LiveError> {
    let mut tx = pool.begin().await?;
    let inserted: Result<Option<LiveSession>, sqlx::Error> = sqlx::query_as(concat!(
        "WITH s AS (INSERT INTO live_sessions (meeting_id, status, provider, provider_session_id, config_json) \
                    SELECT m.id, 'active', $4, gen_random_uuid()::text, $3 FROM meetings m \
                    WHERE m.id = $2 AND ",
        caller_may!(write, "m.organization_id", "$1"),
        "           RETURNING *) \
         SELECT ",
        session_columns!(),
        " FROM s"
    ))
    .bind(caller)
    .bind(meeting)
    .bind(config)
    .bind(provider)
    .fetch_optional(&mut *tx)
    .await;
    let session = match inserted {
        Ok(Some(session)) => session,
        Ok(None) => return Err(LiveError::NotFound),
        Err(err) if crate::meetings::is_foreign_key_violation(&err) => {
            return Err(LiveError::NotFound);
        }
        Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
            return Err(LiveError::AlreadyActive);
        }
        Err(err) => return Err(err.into()),
    };
    let transcript_id: Uuid = sqlx::query_scalar(
        "INSERT INTO transcripts (meeting_id, live_session_id, provider) VALUES ($1, $2, $3) \
         RETURNING id",
    )
    .bind(meeting)
    .bind(session.id)
    .bind(provider)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Started {
        session,
        transcript_id,
    })
}

/// Marks an `active` session `failed` with `error_message` (cut to 1,000 characters), ended
/// now: its stream could not be opened, or was lost for good. Whether it changed.
pub async fn fail(pool: &PgPool, session: Uuid, error_message: &str) -> Result<bool, sqlx::Error> {
    let message: String = error_message.chars().take(1000).collect();
    let done = sqlx::query(
        "UPDATE live_sessions SET status = 'failed', error_message = $2, \
                ended_at = greatest(now(), started_at) \
         WHERE id = $1 AND status = 'active'",
    )
    .bind(session)
    .bind(message)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// What the bridge knows of a session it serves. The bridge acts for the session, not for a
/// person: it reaches only the session it was asked to serve, by id.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct BridgeSession {
    pub id: Uuid,
    pub meeting_id: Uuid,
    pub organization_id: Uuid,
    pub status: LiveSessionStatus,
    /// The meeting's `language_preference`, for the stream's language.
    pub language_preference: meetin_vocab::LanguagePreference,
    /// The session's transcript.
    pub transcript_id: Uuid,
    /// Where its stored finals end, in ms of session audio (0 when none): a resumed stream
    /// keeps no word that ends before it.
    pub persisted_through_ms: i32,
}

/// The session `session` as the bridge serves it, if it exists and has its transcript.
pub async fn for_bridge(
    pool: &PgPool,
    session: Uuid,
) -> Result<Option<BridgeSession>, sqlx::Error> {
    sqlx::query_as(
        "SELECT s.id, s.meeting_id, m.organization_id, s.status, m.language_preference, \
                t.id AS transcript_id, \
                COALESCE((SELECT max(g.end_ms) FROM transcript_segments g WHERE g.transcript_id = t.id), 0) \
                  AS persisted_through_ms \
         FROM live_sessions s JOIN meetings m ON m.id = s.meeting_id \
           JOIN transcripts t ON t.live_session_id = s.id \
         WHERE s.id = $1 ORDER BY t.created_at LIMIT 1",
    )
    .bind(session)
    .fetch_optional(pool)
    .await
}

/// Stores final live segments in `transcript` (of `meeting`), creating the meeting's missing
/// `Speaker N` rows, in one transaction; answers the stored rows (ids, speakers' names), in
/// the order given. Two statements whatever the number of segments.
pub async fn store_finals(
    pool: &PgPool,
    meeting: Uuid,
    transcript: Uuid,
    segments: &[crate::transcripts::NewSegment],
) -> Result<Vec<crate::transcripts::SegmentRow>, sqlx::Error> {
    if segments.is_empty() {
        return Ok(Vec::new());
    }
    let columns = crate::transcripts::SegmentColumns::of(segments);
    let mut tx = pool.begin().await?;
    crate::transcripts::insert_speakers(&mut tx, meeting, &columns.labels).await?;
    let rows = sqlx::query_as(
        "WITH input AS ( \
             SELECT * FROM unnest($3::int[], $4::int[], $5::text[], $6::text[], $7::float8[]) \
                 WITH ORDINALITY AS s(start_ms, end_ms, label, text, confidence, n)), \
         ins AS ( \
             INSERT INTO transcript_segments \
               (transcript_id, start_ms, end_ms, speaker_id, speaker_label_raw, text, confidence, is_final) \
             SELECT $1, i.start_ms, i.end_ms, sp.id, i.label, i.text, i.confidence, true \
             FROM input i LEFT JOIN speakers sp ON sp.meeting_id = $2 AND sp.label = i.label \
             ORDER BY i.n \
             RETURNING *) \
         SELECT ins.id, ins.transcript_id, ins.start_ms, ins.end_ms, ins.speaker_id, \
                sp.label AS speaker_label, sp.display_name AS speaker_display_name, \
                ins.speaker_label_raw, ins.text, ins.confidence, ins.is_final, ins.created_at \
         FROM ins LEFT JOIN speakers sp ON sp.id = ins.speaker_id \
         ORDER BY ins.start_ms, ins.created_at, ins.id",
    )
    .bind(transcript)
    .bind(meeting)
    .bind(&columns.starts)
    .bind(&columns.ends)
    .bind(&columns.labels)
    .bind(&columns.texts)
    .bind(&columns.confidences)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(rows)
}

/// The final segments of `transcript` that a reconnecting listener missed: those after
/// segment `after` (by the transcript's order: start, creation, id; all when it is not in the
/// transcript) and starting at or after `after_ms`; at most `limit`, in order.
pub async fn finals_after(
    pool: &PgPool,
    transcript: Uuid,
    after: Option<Uuid>,
    after_ms: Option<i64>,
    limit: i64,
) -> Result<Vec<crate::transcripts::SegmentRow>, sqlx::Error> {
    sqlx::query_as(concat!(
        crate::transcripts::segment_rows!(),
        " WHERE s.transcript_id = $1 AND ( \
             $2::uuid IS NULL OR NOT EXISTS (SELECT 1 FROM transcript_segments a WHERE a.id = $2 AND a.transcript_id = $1) \
             OR (s.start_ms, s.created_at, s.id) > \
                (SELECT a.start_ms, a.created_at, a.id FROM transcript_segments a WHERE a.id = $2)) \
           AND ($4::bigint IS NULL OR s.start_ms >= $4) \
         ORDER BY s.start_ms, s.created_at, s.id LIMIT $3"
    ))
    .bind(transcript)
    .bind(after)
    .bind(limit)
    .bind(after_ms)
    .fetch_all(pool)
    .await
}

/// Ends `session` as the bridge ends it (`ended`, now) when it is still `active`: the stop
/// that came through the socket, or the owner's last act. Whether it changed.
pub async fn end(pool: &PgPool, session: Uuid) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE live_sessions SET status = 'ended', ended_at = greatest(now(), started_at) \
         WHERE id = $1 AND status = 'active'",
    )
    .bind(session)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records which engine serves `session` (`live_sessions.provider` and its transcript's
/// `provider`, at most 50 characters): the bridge knows it, the start did not.
pub async fn set_provider(pool: &PgPool, session: Uuid, provider: &str) -> Result<(), sqlx::Error> {
    let provider: String = provider.chars().take(50).collect();
    sqlx::query(
        "WITH s AS (UPDATE live_sessions SET provider = $2 WHERE id = $1 AND provider <> $2 RETURNING id) \
         UPDATE transcripts SET provider = $2 WHERE live_session_id = $1 AND provider <> $2",
    )
    .bind(session)
    .bind(provider)
    .execute(pool)
    .await?;
    Ok(())
}
