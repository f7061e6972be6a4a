//! Minutes and their generation tasks.
//!
//! People read a meeting's minutes and ask for a generation ([`create_task`], [`find_task`]),
//! scoped by their membership like every other statement. The minutes worker has no user: it
//! acts for the task it was given, and every statement it runs is keyed by that task and its
//! meeting ([`start_task`], [`transcript_lines`], [`complete_task`], [`fail_task`]).
//!
//! **One effect per job.** [`complete_task`] writes the minutes, their version row, the action
//! items and the task's `succeeded` in one transaction that only commits while the task is
//! still `running`: a redelivered job, or a second run of it, changes nothing.

mod generation;
mod items;
mod tasks;
mod versions;

use chrono::{DateTime, Utc};
use meetin_vocab::OutputLanguage;
use serde_json::Value;
use sqlx::{FromRow, PgExecutor, PgPool};
use uuid::Uuid;

use crate::action_items::{self, ActionItem};
use crate::caller_may;

pub use generation::{
    GeneratedItem, GeneratedMinutes, TranscriptLine, complete_task, deleted_item_keys,
    transcript_lines,
};
pub use tasks::{
    GENERATION_STALE_AFTER_SECS, MinutesTask, NewTask, SUPERSEDED, TaskMeeting, TaskStart,
    create_task, fail_task, find_task, is_foreign_key_violation, start_task,
};
pub use versions::{MinutesVersion, count_versions, find_version, list_versions};

/// The largest `content_json` minutes may hold, serialized as JSON, in bytes (128 KiB): every
/// write keeps a copy in its version row and the versions page answers 20 of them, which must
/// stay under Lambda's 6 MB response (docs/api-decisions.md, "Response sizes"). The offline
/// engine's minutes of a 4-hour meeting dense in decisions and items are about 100 KiB; the
/// minutes worker trims larger generated content to fit.
pub const CONTENT_JSON_MAX_BYTES: usize = 128 * 1024;

/// The longest `content_md` minutes may hold, in characters (rendered minutes of a 4-hour
/// meeting are about 37,000).
pub const CONTENT_MD_MAX_CHARS: usize = 100_000;

/// The longest matching key of an action item (`action_items.generated_key`,
/// `action_item_tombstones.generated_key`), in characters.
pub const ITEM_KEY_MAX_CHARS: usize = 500;

/// The longest `minutes_tasks.error` kept, in characters.
pub const TASK_ERROR_MAX_CHARS: usize = 1000;

/// A row of `minutes`.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct Minutes {
    pub id: Uuid,
    pub meeting_id: Uuid,
    pub transcript_id: Uuid,
    /// An object (contract §4.3's normalized shape when generated).
    pub content_json: Value,
    pub content_md: String,
    pub output_language: OutputLanguage,
    pub generated_by_model: Option<String>,
    pub model_version: Option<String>,
    /// Bumped by every write: the ETag.
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

macro_rules! minutes_columns {
    () => {
        "mi.id, mi.meeting_id, mi.transcript_id, mi.content_json, mi.content_md, \
         mi.output_language, mi.generated_by_model, mi.model_version, mi.version, \
         mi.created_at, mi.updated_at"
    };
}

/// The meeting's minutes, if `caller` may read the meeting and it has some.
pub async fn for_meeting<'e>(
    db: impl PgExecutor<'e>,
    caller: Uuid,
    meeting: Uuid,
) -> Result<Option<Minutes>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        minutes_columns!(),
        " FROM minutes mi JOIN meetings m ON m.id = mi.meeting_id WHERE mi.meeting_id = $2 AND ",
        caller_may!(read, "m.organization_id", "$1")
    ))
    .bind(caller)
    .bind(meeting)
    .fetch_optional(db)
    .await
}

/// What a user's edit of the minutes writes (`PUT`/`PATCH .../minutes/`); `None` keeps the
/// current value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MinutesEdit {
    /// An object.
    pub content_json: Option<Value>,
    pub content_md: Option<String>,
    pub output_language: Option<OutputLanguage>,
}

/// The versions an edit may apply to: both conditions must hold when given.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Expected<'a> {
    /// `If-Match`: the current version must be one of these (an empty list matches none).
    pub any_of: Option<&'a [i32]>,
    /// The body's `version`: the current version must be this one.
    pub version: Option<i32>,
}

/// Applies `edit` to the minutes of `meeting` if `caller` may write in its organization and
/// the current version is what `expected` says, in one statement: the row is locked by the
/// update, so of two concurrent edits made from the same version exactly one applies (the
/// other re-reads the row, finds the version bumped and changes nothing). The same statement
/// bumps `version`, sets `updated_at` and records the new content as a `minutes_versions` row
/// (`edit`, by `caller`, with the new version). Answers the minutes as written, or `None`
/// when nothing was (no minutes, no write access, or a stale version: the caller tells
/// them apart with [`for_meeting`]).
pub async fn edit(
    pool: &PgPool,
    caller: Uuid,
    meeting: Uuid,
    edit: &MinutesEdit,
    expected: Expected<'_>,
) -> Result<Option<Minutes>, sqlx::Error> {
    sqlx::query_as(concat!(
        "WITH mi AS (UPDATE minutes mi SET content_json = COALESCE($3, mi.content_json), \
                 content_md = COALESCE($4, mi.content_md), \
                 output_language = COALESCE($5, mi.output_language), \
                 version = mi.version + 1, updated_at = now() \
               FROM meetings m \
               WHERE mi.meeting_id = $2 AND m.id = mi.meeting_id \
                 AND ($6::integer[] IS NULL OR mi.version = ANY($6)) \
                 AND ($7::integer IS NULL OR mi.version = $7) AND ",
        caller_may!(write, "m.organization_id", "$1"),
        "     RETURNING mi.*), \
         v AS (INSERT INTO minutes_versions (minutes_id, content_json, content_md, source, \
                                             created_by_id, version, output_language) \
               SELECT id, content_json, content_md, 'edit', $1, version, output_language \
               FROM mi) \
         SELECT ",
        minutes_columns!(),
        " FROM mi"
    ))
    .bind(caller)
    .bind(meeting)
    .bind(edit.content_json.as_ref())
    .bind(edit.content_md.as_deref())
    .bind(edit.output_language)
    .bind(expected.any_of)
    .bind(expected.version)
    .fetch_optional(pool)
    .await
}

/// The action items of `meeting`, oldest first, if `caller` may read it: at most
/// [`crate::action_items::MAX_PER_MEETING`] (all of them, since no write passes it).
pub async fn action_items_of<'e>(
    db: impl PgExecutor<'e>,
    caller: Uuid,
    meeting: Uuid,
) -> Result<Vec<ActionItem>, sqlx::Error> {
    action_items::list(db, caller, meeting, action_items::MAX_PER_MEETING, 0).await
}
