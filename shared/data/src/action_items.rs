//! Action items people read and write (contract §2.5 `action-items/`), each statement scoped
//! by the caller's membership of the meeting's organization. Every user write marks the item
//! `user_edited` and leaves its `generated_key` as it was, so the minutes worker never changes
//! it again ([`crate::minutes::complete_task`]).

use chrono::{DateTime, NaiveDate, Utc};
use meetin_vocab::{ItemStatus, Priority};
use serde_json::Value;
use sqlx::{FromRow, PgExecutor};
use uuid::Uuid;

use crate::{PgPool, caller_may};

/// Longest title, in characters (the `action_items.title` column).
pub const TITLE_MAX_CHARS: usize = 500;
/// Longest description, in characters. With the other caps below it bounds what a meeting's
/// items weigh in `GET minutes/`, which answers all of them (issue 16: every response under
/// Lambda's 6 MB; docs/api-decisions.md, "Response sizes").
pub const DESCRIPTION_MAX_CHARS: usize = 1_000;
/// Most `source_segment_ids` an item may cite.
pub const SOURCE_SEGMENTS_MAX: usize = 50;
/// Most action items a meeting may have (users' and generated ones together).
pub const MAX_PER_MEETING: i64 = 200;

/// A row of `action_items` with its assignee's e-mail.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct ActionItem {
    pub id: Uuid,
    pub meeting_id: Uuid,
    pub minutes_id: Uuid,
    /// At most 500 characters.
    pub title: String,
    pub description: String,
    pub assignee_id: Option<Uuid>,
    pub assignee_email: Option<String>,
    pub due_date: Option<NaiveDate>,
    pub priority: Priority,
    pub status: ItemStatus,
    /// A JSON array of segment ids.
    pub source_segment_ids: Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The columns of [`ActionItem`] for a query over `action_items a LEFT JOIN users au ON
/// au.id = a.assignee_id`.
#[macro_export]
macro_rules! action_item_columns {
    () => {
        "a.id, a.meeting_id, a.minutes_id, a.title, a.description, a.assignee_id, \
         au.email AS assignee_email, a.due_date, a.priority, a.status, a.source_segment_ids, \
         a.created_at, a.updated_at"
    };
}

/// An item to create; the meeting and its minutes are the server's.
#[derive(Debug, Clone, PartialEq)]
pub struct NewActionItem {
    /// Trimmed, not blank, at most 500 characters (`action_items.title`).
    pub title: String,
    pub description: String,
    /// A member of the meeting's organization.
    pub assignee_id: Option<Uuid>,
    pub due_date: Option<NaiveDate>,
    pub priority: Priority,
    pub status: ItemStatus,
    /// A JSON array of segment id strings.
    pub source_segment_ids: Value,
}

/// The fields a `PUT`/`PATCH` gives; `None` keeps the current value, `Some(None)` clears a
/// nullable one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ActionItemChanges {
    pub title: Option<String>,
    pub description: Option<String>,
    pub assignee_id: Option<Option<Uuid>>,
    pub due_date: Option<Option<NaiveDate>>,
    pub priority: Option<Priority>,
    pub status: Option<ItemStatus>,
    pub source_segment_ids: Option<Value>,
}

/// What [`create`] did.
// Answered once per call and matched at once: boxing would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum NewItem {
    Created(ActionItem),
    /// The meeting has neither minutes nor a transcript to make them for.
    NoTranscript,
    /// `caller` may not write in the meeting's organization (or it does not exist).
    NotAllowed,
    /// The meeting has [`MAX_PER_MEETING`] items already.
    TooMany,
}

/// How many action items `meeting` has, if `caller` may read it.
pub async fn count(pool: &PgPool, caller: Uuid, meeting: Uuid) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(concat!(
        "SELECT count(*) FROM action_items a JOIN meetings m ON m.id = a.meeting_id \
         WHERE a.meeting_id = $2 AND ",
        caller_may!(read, "m.organization_id", "$1")
    ))
    .bind(caller)
    .bind(meeting)
    .fetch_one(pool)
    .await
}

/// A page of the action items of `meeting`, oldest first (ties by id, so pages are stable),
/// if `caller` may read it. The one read of a meeting's items: `GET action-items/` pages it,
/// the minutes answers take all of them ([`crate::minutes::action_items_of`]).
pub async fn list<'e>(
    db: impl PgExecutor<'e>,
    caller: Uuid,
    meeting: Uuid,
    limit: i64,
    offset: i64,
) -> Result<Vec<ActionItem>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        action_item_columns!(),
        " FROM action_items a JOIN meetings m ON m.id = a.meeting_id \
           LEFT JOIN users au ON au.id = a.assignee_id WHERE a.meeting_id = $2 AND ",
        caller_may!(read, "m.organization_id", "$1"),
        " ORDER BY a.created_at, a.id LIMIT $3 OFFSET $4"
    ))
    .bind(caller)
    .bind(meeting)
    .bind(limit)
    .bind(offset)
    .fetch_all(db)
    .await
}

/// Item `id` of `meeting`, if `caller` may read it.
pub async fn find(
    pool: &PgPool,
    caller: Uuid,
    meeting: Uuid,
    id: Uuid,
) -> Result<Option<ActionItem>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        action_item_columns!(),
        " FROM action_items a JOIN meetings m ON m.id = a.meeting_id \
           LEFT JOIN users au ON au.id = a.assignee_id \
         WHERE a.id = $3 AND a.meeting_id = $2 AND ",
        caller_may!(read, "m.organization_id", "$1")
    ))
    .bind(caller)
    .bind(meeting)
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// Whether `user` belongs (any role) to the organization of `meeting`, which `caller` may
/// read: who may be an item's assignee.
pub async fn may_be_assigned(
    pool: &PgPool,
    caller: Uuid,
    meeting: Uuid,
    user: Uuid,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(concat!(
        "SELECT EXISTS (SELECT 1 FROM meetings m JOIN organization_members om \
                          ON om.organization_id = m.organization_id \
                        WHERE m.id = $2 AND om.user_id = $3 AND ",
        caller_may!(read, "m.organization_id", "$1"),
        ")"
    ))
    .bind(caller)
    .bind(meeting)
    .bind(user)
    .fetch_one(pool)
    .await
}

/// Creates `item` on `meeting` for `caller` (a member or admin there), `user_edited` and
/// without a generated key, unless the meeting has [`MAX_PER_MEETING`] items already. A meeting without minutes gets them first, in the same
/// transaction (contract decision 3): empty (`{}`, `""`), in the meeting's language (`fr`,
/// else `en`), for its newest transcript, with their version 1 recorded as an `edit` by
/// `caller`.
pub async fn create(
    pool: &PgPool,
    caller: Uuid,
    meeting: Uuid,
    item: &NewActionItem,
) -> Result<NewItem, sqlx::Error> {
    let mut tx = pool.begin().await?;
    // A concurrent creation (another item, or the worker) wins the conflict; either way the
    // meeting then has exactly one minutes row.
    sqlx::query(concat!(
        "WITH mi AS (INSERT INTO minutes (meeting_id, transcript_id, content_json, content_md, \
                                          output_language) \
           SELECT m.id, tr.id, '{}'::jsonb, '', \
                  CASE WHEN m.language_preference = 'fr' THEN 'fr' ELSE 'en' END \
           FROM meetings m \
           JOIN LATERAL (SELECT id FROM transcripts WHERE meeting_id = m.id \
                         ORDER BY created_at DESC, id DESC LIMIT 1) tr ON true \
           WHERE m.id = $2 AND NOT EXISTS (SELECT 1 FROM minutes WHERE meeting_id = m.id) AND ",
        caller_may!(write, "m.organization_id", "$1"),
        "  ON CONFLICT (meeting_id) DO NOTHING \
           RETURNING id, content_json, content_md, output_language, version) \
         INSERT INTO minutes_versions (minutes_id, content_json, content_md, source, \
                                       created_by_id, version, output_language) \
         SELECT id, content_json, content_md, 'edit', $1, version, output_language FROM mi"
    ))
    .bind(caller)
    .bind(meeting)
    .execute(&mut *tx)
    .await?;
    // The minutes row, locked, serializes the meeting's item creations (and the minutes
    // worker's writes), so the count below holds until this transaction ends.
    let items: Option<i64> = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM action_items a WHERE a.meeting_id = mi.meeting_id) \
         FROM minutes mi WHERE mi.meeting_id = $1 FOR UPDATE OF mi",
    )
    .bind(meeting)
    .fetch_optional(&mut *tx)
    .await?;
    if items.is_some_and(|n| n >= MAX_PER_MEETING) {
        return Ok(NewItem::TooMany);
    }
    let created: Option<ActionItem> = sqlx::query_as(concat!(
        "WITH a AS (INSERT INTO action_items (meeting_id, minutes_id, title, description, \
                        assignee_id, due_date, priority, status, source_segment_ids, user_edited) \
           SELECT m.id, mi.id, $3, $4, $5, $6, $7, $8, $9, true \
           FROM meetings m JOIN minutes mi ON mi.meeting_id = m.id \
           WHERE m.id = $2 AND ",
        caller_may!(write, "m.organization_id", "$1"),
        "  RETURNING *) \
         SELECT ",
        action_item_columns!(),
        " FROM a LEFT JOIN users au ON au.id = a.assignee_id"
    ))
    .bind(caller)
    .bind(meeting)
    .bind(&item.title)
    .bind(&item.description)
    .bind(item.assignee_id)
    .bind(item.due_date)
    .bind(item.priority)
    .bind(item.status)
    .bind(&item.source_segment_ids)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(created) = created {
        tx.commit().await?;
        return Ok(NewItem::Created(created));
    }
    let allowed: bool = sqlx::query_scalar(concat!(
        "SELECT EXISTS (SELECT 1 FROM meetings m WHERE m.id = $2 AND ",
        caller_may!(write, "m.organization_id", "$1"),
        ")"
    ))
    .bind(caller)
    .bind(meeting)
    .fetch_one(&mut *tx)
    .await?;
    Ok(if allowed {
        NewItem::NoTranscript
    } else {
        NewItem::NotAllowed
    })
}

/// Applies `changes` to item `id` of `meeting` if `caller` may write there, marking it
/// `user_edited` (its `generated_key` stays); answers the item as it now is, or `None`.
pub async fn update(
    pool: &PgPool,
    caller: Uuid,
    meeting: Uuid,
    id: Uuid,
    changes: &ActionItemChanges,
) -> Result<Option<ActionItem>, sqlx::Error> {
    sqlx::query_as(concat!(
        "WITH a AS (UPDATE action_items ai SET title = COALESCE($4, ai.title), \
                 description = COALESCE($5, ai.description), \
                 assignee_id = CASE WHEN $6 THEN $7 ELSE ai.assignee_id END, \
                 due_date = CASE WHEN $8 THEN $9 ELSE ai.due_date END, \
                 priority = COALESCE($10, ai.priority), status = COALESCE($11, ai.status), \
                 source_segment_ids = COALESCE($12, ai.source_segment_ids), \
                 user_edited = true, updated_at = now() \
               FROM meetings m \
               WHERE ai.id = $3 AND ai.meeting_id = $2 AND m.id = ai.meeting_id AND ",
        caller_may!(write, "m.organization_id", "$1"),
        "      RETURNING ai.*) \
         SELECT ",
        action_item_columns!(),
        " FROM a LEFT JOIN users au ON au.id = a.assignee_id"
    ))
    .bind(caller)
    .bind(meeting)
    .bind(id)
    .bind(changes.title.as_deref())
    .bind(changes.description.as_deref())
    .bind(changes.assignee_id.is_some())
    .bind(changes.assignee_id.flatten())
    .bind(changes.due_date.is_some())
    .bind(changes.due_date.flatten())
    .bind(changes.priority)
    .bind(changes.status)
    .bind(changes.source_segment_ids.as_ref())
    .fetch_optional(pool)
    .await
}

/// Deletes item `id` of `meeting` if `caller` may write there; whether it did. A deletion is a
/// user's edit: in the same transaction it records tombstones (`action_item_tombstones`) under
/// the keys a regeneration matches items by (the item's `generated_key`, and `key_of` its
/// title; at most 500 characters each, blank ones skipped), so no later generation of the
/// meeting brings the item back ([`crate::minutes::complete_task`]).
pub async fn delete(
    pool: &PgPool,
    caller: Uuid,
    meeting: Uuid,
    id: Uuid,
    key_of: impl Fn(&str) -> String,
) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let deleted: Option<(Option<String>, String)> = sqlx::query_as(concat!(
        "DELETE FROM action_items a USING meetings m \
         WHERE a.id = $3 AND a.meeting_id = $2 AND m.id = a.meeting_id AND ",
        caller_may!(write, "m.organization_id", "$1"),
        " RETURNING a.generated_key, a.title"
    ))
    .bind(caller)
    .bind(meeting)
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((generated_key, title)) = deleted else {
        return Ok(false);
    };
    let mut keys: Vec<String> = [generated_key, Some(key_of(&title))]
        .into_iter()
        .flatten()
        .map(|k| {
            k.chars()
                .take(crate::minutes::ITEM_KEY_MAX_CHARS)
                .collect::<String>()
        })
        .filter(|k| !k.trim().is_empty())
        .collect();
    // One row per key: ON CONFLICT DO UPDATE may not touch a row twice.
    keys.dedup();
    sqlx::query(
        "INSERT INTO action_item_tombstones (meeting_id, generated_key, deleted_by_id) \
         SELECT $1, k, $2 FROM unnest($3::text[]) AS k \
         ON CONFLICT (meeting_id, generated_key) \
         DO UPDATE SET deleted_by_id = EXCLUDED.deleted_by_id, deleted_at = now()",
    )
    .bind(meeting)
    .bind(caller)
    .bind(&keys)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(true)
}
