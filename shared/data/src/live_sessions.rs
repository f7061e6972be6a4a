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
