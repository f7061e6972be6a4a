//! The speakers of a meeting's transcripts (`Speaker 0`, `Speaker 1`, ... as the transcription
//! provider labels them) and the display names people give them. Every statement is scoped by
//! the caller's membership in the meeting's organization.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgPool};
use uuid::Uuid;

use crate::caller_may;

/// A row of `speakers`.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Speaker {
    pub id: Uuid,
    pub meeting_id: Uuid,
    /// The provider's label, unique within the meeting, at most 100 characters.
    pub label: String,
    /// What people call the speaker, at most 255 characters; `None` until renamed.
    pub display_name: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// Longest display name (the `speakers.display_name` column).
pub const DISPLAY_NAME_MAX_CHARS: usize = 255;

/// The oldest `per_meeting` speakers of each of the given meetings that `caller` may read,
/// oldest first (then by label): one statement whatever the number of meetings.
pub async fn list_for_meetings(
    pool: &PgPool,
    caller: Uuid,
    meetings: &[Uuid],
    per_meeting: i64,
) -> Result<Vec<Speaker>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT s.id, s.meeting_id, s.label, s.display_name, s.created_at \
         FROM unnest($2::uuid[]) AS want (id) \
           JOIN meetings m ON m.id = want.id AND ",
        caller_may!(read, "m.organization_id", "$1"),
        " CROSS JOIN LATERAL (SELECT * FROM speakers x WHERE x.meeting_id = m.id \
                               ORDER BY x.created_at, x.label LIMIT $3) s \
         ORDER BY s.created_at, s.label"
    ))
    .bind(caller)
    .bind(meetings)
    .bind(per_meeting)
    .fetch_all(pool)
    .await
}

/// `key` as a speaker id, if it is one (Django's path form); a label otherwise.
fn key_as_id(key: &str) -> Option<Uuid> {
    meetin_core::validation::parse_path_uuid(key)
}

/// The speaker of `meeting` whose id or label is `key` (the id wins when a label looks like
/// another speaker's id), if `caller` may read the meeting.
pub async fn find_in_meeting(
    pool: &PgPool,
    caller: Uuid,
    meeting: Uuid,
    key: &str,
) -> Result<Option<Speaker>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT s.id, s.meeting_id, s.label, s.display_name, s.created_at \
         FROM speakers s JOIN meetings m ON m.id = s.meeting_id \
         WHERE s.meeting_id = $2 AND (s.id = $3 OR s.label = $4) AND ",
        caller_may!(read, "m.organization_id", "$1"),
        " ORDER BY (s.id = $3) IS TRUE DESC LIMIT 1"
    ))
    .bind(caller)
    .bind(meeting)
    .bind(key_as_id(key))
    .bind(key)
    .fetch_optional(pool)
    .await
}

/// Sets the display name of the speaker of `meeting` whose id or label is `key` (as
/// [`find_in_meeting`]), if `caller` may write in the meeting's organization.
pub async fn rename(
    pool: &PgPool,
    caller: Uuid,
    meeting: Uuid,
    key: &str,
    display_name: &str,
) -> Result<Option<Speaker>, sqlx::Error> {
    sqlx::query_as(concat!(
        "UPDATE speakers s SET display_name = $5 FROM meetings m \
         WHERE m.id = s.meeting_id AND s.meeting_id = $2 AND ",
        caller_may!(write, "m.organization_id", "$1"),
        " AND s.id = (SELECT x.id FROM speakers x WHERE x.meeting_id = $2 \
                      AND (x.id = $3 OR x.label = $4) \
                      ORDER BY (x.id = $3) IS TRUE DESC LIMIT 1) \
         RETURNING s.id, s.meeting_id, s.label, s.display_name, s.created_at"
    ))
    .bind(caller)
    .bind(meeting)
    .bind(key_as_id(key))
    .bind(key)
    .bind(display_name)
    .fetch_optional(pool)
    .await
}
