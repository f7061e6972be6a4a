//! Meetings and what the meeting JSON nests: live sessions, recordings and speakers. Reads
//! are limited to meetings of organizations the caller belongs to (any role); creating,
//! changing and deleting need a member or admin (`caller_may!(write, ...)`) in the same
//! statement that makes the change.
//!
//! **Bounded statements.** A list is [`count_visible`] (1 statement) and [`list_visible`]:
//! the page (1) and then each nested list for the whole page, each meeting's rows up to a cap
//! ([`with_children`]: 3), so 5 statements whatever the page size; a detail is 1 + 3.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use meetin_vocab::LanguagePreference;
use sqlx::{FromRow, PgPool};
use uuid::Uuid;

use crate::caller_may;
use crate::live_sessions::{self, LiveSession};
pub use crate::recordings::Recording;
use crate::speakers::{self, Speaker};

/// How many of a meeting's newest live sessions its JSON embeds. With the other two caps, the
/// 8 KiB `config` cap and the text columns' limits, a page of 20 meetings stays under
/// Lambda's 6 MB response limit whatever is stored (docs/api-decisions.md, "Meetings").
pub const LIVE_SESSIONS_EMBEDDED: i64 = 5;
/// How many of a meeting's newest recordings its JSON embeds.
pub const RECORDINGS_EMBEDDED: i64 = 50;
/// How many of a meeting's speakers (oldest first) its JSON embeds.
pub const SPEAKERS_EMBEDDED: i64 = 30;

/// A row of `meetings` with its organization's name and its creator's e-mail.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Meeting {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub organization_name: String,
    /// The creator's e-mail (the contract's `created_by`).
    pub created_by_email: String,
    pub title: String,
    pub description: String,
    pub language_preference: LanguagePreference,
    pub scheduled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A meeting with its nested lists (live sessions and recordings newest first, speakers
/// oldest first), each cut to its cap ([`LIVE_SESSIONS_EMBEDDED`], [`RECORDINGS_EMBEDDED`],
/// [`SPEAKERS_EMBEDDED`]).
#[derive(Debug, Clone, PartialEq)]
pub struct MeetingDetail {
    pub meeting: Meeting,
    pub live_sessions: Vec<LiveSession>,
    pub recordings: Vec<Recording>,
    pub speakers: Vec<Speaker>,
}

/// What a create answers (the contract's reduced shape).
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct CreatedMeeting {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub title: String,
    pub description: String,
    pub language_preference: LanguagePreference,
    pub scheduled_at: Option<DateTime<Utc>>,
}

/// A new meeting's fields (already validated).
#[derive(Debug, Clone)]
pub struct NewMeeting {
    pub organization_id: Uuid,
    pub title: String,
    pub description: String,
    pub language_preference: LanguagePreference,
    pub scheduled_at: Option<DateTime<Utc>>,
}

/// The fields a PUT or PATCH sets; `None` leaves a field as it is (`scheduled_at:
/// Some(None)` clears it).
#[derive(Debug, Clone, Default)]
pub struct MeetingChanges {
    pub organization_id: Option<Uuid>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub language_preference: Option<LanguagePreference>,
    pub scheduled_at: Option<Option<DateTime<Utc>>>,
}

macro_rules! meeting_select {
    () => {
        "SELECT m.id, m.organization_id, o.name AS organization_name, u.email AS created_by_email, \
                m.title, m.description, m.language_preference, m.scheduled_at, m.created_at, \
                m.updated_at \
         FROM meetings m JOIN organizations o ON o.id = m.organization_id \
                         JOIN users u ON u.id = m.created_by_id "
    };
}

/// Whether `err` is a foreign-key violation: a row the statement referenced (a meeting) was
/// deleted by a transaction that committed after the statement read it. Writes under a
/// meeting read it as "the meeting is gone" (the contract's 404), not as a failure.
pub fn is_foreign_key_violation(err: &sqlx::Error) -> bool {
    err.as_database_error()
        .is_some_and(|e| e.is_foreign_key_violation())
}

/// Whether an organization with this id exists (a create naming an unknown one is a field
/// error, a foreign one another).
pub async fn organization_exists(pool: &PgPool, org: Uuid) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM organizations WHERE id = $1)")
        .bind(org)
        .fetch_one(pool)
        .await
}

/// How many meetings `caller` may read (one statement).
pub async fn count_visible(pool: &PgPool, caller: Uuid) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(concat!(
        "SELECT count(*) FROM meetings m WHERE ",
        caller_may!(read, "m.organization_id", "$1")
    ))
    .bind(caller)
    .fetch_one(pool)
    .await
}

/// A page of the meetings `caller` may read, newest first (then by id, so pages are stable),
/// with their nested lists: 4 statements whatever `limit` is (the page, then
/// [`with_children`]).
pub async fn list_visible(
    pool: &PgPool,
    caller: Uuid,
    limit: i64,
    offset: i64,
) -> Result<Vec<MeetingDetail>, sqlx::Error> {
    let page: Vec<Meeting> = sqlx::query_as(concat!(
        meeting_select!(),
        "WHERE ",
        caller_may!(read, "m.organization_id", "$1"),
        " ORDER BY m.created_at DESC, m.id DESC LIMIT $2 OFFSET $3"
    ))
    .bind(caller)
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await?;
    with_children(pool, caller, page).await
}

/// The meeting, if `caller` may read it, with its nested lists (4 statements).
pub async fn find_visible(
    pool: &PgPool,
    caller: Uuid,
    id: Uuid,
) -> Result<Option<MeetingDetail>, sqlx::Error> {
    let meeting: Option<Meeting> = sqlx::query_as(concat!(
        meeting_select!(),
        "WHERE m.id = $2 AND ",
        caller_may!(read, "m.organization_id", "$1")
    ))
    .bind(caller)
    .bind(id)
    .fetch_optional(pool)
    .await?;
    let Some(meeting) = meeting else {
        return Ok(None);
    };
    Ok(with_children(pool, caller, vec![meeting]).await?.pop())
}

/// The organization of the meeting, if `caller` may read it: what a handler checks the
/// caller's role against before changing the meeting.
pub async fn organization_of_visible(
    pool: &PgPool,
    caller: Uuid,
    id: Uuid,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar(concat!(
        "SELECT m.organization_id FROM meetings m WHERE m.id = $2 AND ",
        caller_may!(read, "m.organization_id", "$1")
    ))
    .bind(caller)
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// Adds the nested lists to `meetings`, in their order, each cut to its cap: three statements
/// (live sessions, recordings, speakers, each for every meeting at once), none for an empty
/// page.
pub async fn with_children(
    pool: &PgPool,
    caller: Uuid,
    meetings: Vec<Meeting>,
) -> Result<Vec<MeetingDetail>, sqlx::Error> {
    if meetings.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = meetings.iter().map(|m| m.id).collect();
    let mut sessions = group(
        live_sessions::list_for_meetings(pool, caller, &ids, LIVE_SESSIONS_EMBEDDED).await?,
        |s| s.meeting_id,
    );
    let mut recordings = group(
        recordings_for_meetings(pool, caller, &ids, RECORDINGS_EMBEDDED).await?,
        |r| r.meeting_id,
    );
    let mut speakers = group(
        speakers::list_for_meetings(pool, caller, &ids, SPEAKERS_EMBEDDED).await?,
        |s| s.meeting_id,
    );
    Ok(meetings
        .into_iter()
        .map(|meeting| MeetingDetail {
            live_sessions: sessions.remove(&meeting.id).unwrap_or_default(),
            recordings: recordings.remove(&meeting.id).unwrap_or_default(),
            speakers: speakers.remove(&meeting.id).unwrap_or_default(),
            meeting,
        })
        .collect())
}

/// Rows by meeting, each group in the order of `rows`.
fn group<T>(rows: Vec<T>, key: impl Fn(&T) -> Uuid) -> HashMap<Uuid, Vec<T>> {
    let mut groups: HashMap<Uuid, Vec<T>> = HashMap::new();
    for row in rows {
        groups.entry(key(&row)).or_default().push(row);
    }
    groups
}

/// The newest `per_meeting` recordings of each of the given meetings that `caller` may read,
/// newest first (one statement).
pub async fn recordings_for_meetings(
    pool: &PgPool,
    caller: Uuid,
    meetings: &[Uuid],
    per_meeting: i64,
) -> Result<Vec<Recording>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT r.id, r.meeting_id, r.storage_key, r.mime_type, r.duration_ms, r.size_bytes, \
                r.status, r.created_at, r.uploaded_at \
         FROM unnest($2::uuid[]) AS want (id) \
           JOIN meetings m ON m.id = want.id AND ",
        caller_may!(read, "m.organization_id", "$1"),
        " CROSS JOIN LATERAL (SELECT * FROM recordings x WHERE x.meeting_id = m.id \
                               ORDER BY x.created_at DESC, x.id LIMIT $3) r \
         ORDER BY r.created_at DESC, r.id"
    ))
    .bind(caller)
    .bind(meetings)
    .bind(per_meeting)
    .fetch_all(pool)
    .await
}

/// Creates a meeting in `new.organization_id` by `caller`, if `caller` may write there;
/// `None` otherwise.
pub async fn create(
    pool: &PgPool,
    caller: Uuid,
    new: &NewMeeting,
) -> Result<Option<CreatedMeeting>, sqlx::Error> {
    sqlx::query_as(concat!(
        "INSERT INTO meetings (organization_id, created_by_id, title, description, \
                               language_preference, scheduled_at) \
         SELECT $2, $1, $3, $4, $5, $6 WHERE ",
        caller_may!(write, "$2", "$1"),
        " RETURNING id, organization_id, title, description, language_preference, scheduled_at"
    ))
    .bind(caller)
    .bind(new.organization_id)
    .bind(&new.title)
    .bind(&new.description)
    .bind(new.language_preference)
    .bind(new.scheduled_at)
    .fetch_optional(pool)
    .await
}

/// Applies `changes` to the meeting if `caller` may write in its organization and, when the
/// meeting moves to another organization, is an admin of the one it leaves and may write in
/// the one it joins; answers the meeting as it now is (4 more statements), or `None`.
pub async fn update(
    pool: &PgPool,
    caller: Uuid,
    id: Uuid,
    changes: &MeetingChanges,
) -> Result<Option<MeetingDetail>, sqlx::Error> {
    let updated: Option<Uuid> = sqlx::query_scalar(concat!(
        "UPDATE meetings m SET organization_id = COALESCE($3, m.organization_id), \
                title = COALESCE($4, m.title), \
                description = COALESCE($5, m.description), \
                language_preference = COALESCE($6, m.language_preference), \
                scheduled_at = CASE WHEN $7 THEN $8 ELSE m.scheduled_at END \
         WHERE m.id = $2 AND ",
        caller_may!(write, "m.organization_id", "$1"),
        " AND ($3::uuid IS NULL OR $3 = m.organization_id OR (",
        caller_may!(admin, "m.organization_id", "$1"),
        " AND ",
        caller_may!(write, "$3", "$1"),
        ")) RETURNING m.id"
    ))
    .bind(caller)
    .bind(id)
    .bind(changes.organization_id)
    .bind(changes.title.as_deref())
    .bind(changes.description.as_deref())
    .bind(changes.language_preference)
    .bind(changes.scheduled_at.is_some())
    .bind(changes.scheduled_at.flatten())
    .fetch_optional(pool)
    .await?;
    match updated {
        Some(id) => find_visible(pool, caller, id).await,
        None => Ok(None),
    }
}

/// Deletes the meeting and everything in it (the foreign keys cascade) if `caller` may write
/// in its organization; whether it did.
pub async fn delete(pool: &PgPool, caller: Uuid, id: Uuid) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(concat!(
        "DELETE FROM meetings m WHERE m.id = $2 AND ",
        caller_may!(write, "m.organization_id", "$1")
    ))
    .bind(caller)
    .bind(id)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() > 0)
}
