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

use chrono::{DateTime, NaiveDate, Utc};
use meetin_vocab::{OutputLanguage, Priority, TaskStatus};
use serde_json::Value;
use sqlx::{FromRow, PgExecutor, PgPool};
use uuid::Uuid;

use crate::action_items::{self, ActionItem};
use crate::caller_may;

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

/// A row of `minutes_tasks`.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct MinutesTask {
    /// The `task_id` the 202 answer gave.
    pub id: Uuid,
    pub meeting_id: Uuid,
    pub transcript_id: Uuid,
    pub requested_by_id: Option<Uuid>,
    pub output_language: OutputLanguage,
    pub status: TaskStatus,
    /// Why it failed (at most [`TASK_ERROR_MAX_CHARS`]).
    pub error: Option<String>,
    /// The minutes it wrote, once `succeeded`.
    pub minutes_id: Option<Uuid>,
    /// `generated_by_model` of the engine that ran it.
    pub engine: Option<String>,
    pub prompt_tokens: Option<i32>,
    pub completion_tokens: Option<i32>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

macro_rules! minutes_columns {
    () => {
        "mi.id, mi.meeting_id, mi.transcript_id, mi.content_json, mi.content_md, \
         mi.output_language, mi.generated_by_model, mi.model_version, mi.version, \
         mi.created_at, mi.updated_at"
    };
}

macro_rules! task_columns {
    () => {
        "t.id, t.meeting_id, t.transcript_id, t.requested_by_id, t.output_language, t.status, \
         t.error, t.minutes_id, t.engine, t.prompt_tokens, t.completion_tokens, t.created_at, \
         t.started_at, t.finished_at"
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

/// A row of `minutes_versions`: the minutes as one write left them.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct MinutesVersion {
    pub id: Uuid,
    pub minutes_id: Uuid,
    /// The minutes' `version` this write made.
    pub version: i32,
    /// `generation` (the minutes worker) or `edit` (a user, or an action item creating the
    /// minutes).
    pub source: String,
    pub content_json: Value,
    pub content_md: String,
    pub output_language: OutputLanguage,
    /// Who asked for the generation or made the edit (`None` once deleted).
    pub created_by_id: Option<Uuid>,
    pub created_by_email: Option<String>,
    pub created_at: DateTime<Utc>,
}

macro_rules! version_select {
    ($md:literal) => {
        concat!(
            "SELECT v.id, v.minutes_id, v.version, v.source, v.content_json, ",
            $md,
            " AS content_md, v.output_language, v.created_by_id, u.email AS created_by_email, \
                v.created_at \
         FROM minutes_versions v JOIN minutes mi ON mi.id = v.minutes_id \
         JOIN meetings m ON m.id = mi.meeting_id LEFT JOIN users u ON u.id = v.created_by_id "
        )
    };
}

/// How many versions the minutes of `meeting` have, if `caller` may read it (0 without
/// minutes).
pub async fn count_versions<'e>(
    db: impl PgExecutor<'e>,
    caller: Uuid,
    meeting: Uuid,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(concat!(
        "SELECT count(*) FROM minutes_versions v JOIN minutes mi ON mi.id = v.minutes_id \
         JOIN meetings m ON m.id = mi.meeting_id WHERE mi.meeting_id = $2 AND ",
        caller_may!(read, "m.organization_id", "$1")
    ))
    .bind(caller)
    .bind(meeting)
    .fetch_one(db)
    .await
}

/// The versions of the minutes of `meeting`, newest first (`-created_at`, then `-version`),
/// if `caller` may read it, **without** their `content_md` (left empty: a page of 20 with it
/// could pass Lambda's 6 MB; [`find_version`] reads it).
pub async fn list_versions<'e>(
    db: impl PgExecutor<'e>,
    caller: Uuid,
    meeting: Uuid,
    limit: i64,
    offset: i64,
) -> Result<Vec<MinutesVersion>, sqlx::Error> {
    sqlx::query_as(concat!(
        version_select!("''"),
        "WHERE mi.meeting_id = $2 AND ",
        caller_may!(read, "m.organization_id", "$1"),
        " ORDER BY v.created_at DESC, v.version DESC, v.id DESC LIMIT $3 OFFSET $4"
    ))
    .bind(caller)
    .bind(meeting)
    .bind(limit)
    .bind(offset)
    .fetch_all(db)
    .await
}

/// Version `id` of the minutes of `meeting`, if `caller` may read it.
pub async fn find_version<'e>(
    db: impl PgExecutor<'e>,
    caller: Uuid,
    meeting: Uuid,
    id: Uuid,
) -> Result<Option<MinutesVersion>, sqlx::Error> {
    sqlx::query_as(concat!(
        version_select!("v.content_md"),
        "WHERE v.id = $3 AND mi.meeting_id = $2 AND ",
        caller_may!(read, "m.organization_id", "$1")
    ))
    .bind(caller)
    .bind(meeting)
    .bind(id)
    .fetch_optional(db)
    .await
}

/// How long a `queued` or `running` generation blocks a new one, in seconds: the minutes
/// worker's longest run (its Lambda `Timeout`, 900 s in template.yaml) plus 300 s for the
/// retry backoff between receives and the queue's delivery. A task older than this (since it
/// was queued, or since its last start) has a dead worker: [`create_task`] ends it `failed`
/// ([`SUPERSEDED`]) and queues a new one.
pub const GENERATION_STALE_AFTER_SECS: i32 = 900 + 300;

/// The `error` of a task [`create_task`] ended because its worker never finished.
pub const SUPERSEDED: &str =
    "The generation did not finish in time and was replaced by a newer request.";

/// What [`create_task`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NewTask {
    /// Queued (send the job once the transaction commits).
    Created(Box<MinutesTask>),
    /// A generation of the meeting is already `queued` or `running`: that task (send nothing).
    Pending(Box<MinutesTask>),
    /// The meeting has no transcript to make minutes from.
    NoTranscript,
    /// `caller` may not write in the meeting's organization (or it does not exist).
    NotAllowed,
}

/// Records task `id` (`queued`) for the newest transcript of `meeting`, asked by `caller`,
/// writing in `output_language` (`en` or `fr`; `None`: the meeting's language, or `en` for a
/// meeting in `auto`), unless a generation of the meeting is already `queued` or `running`:
/// then answers that one ([`NewTask::Pending`]), whatever language it writes in. The unique
/// index `minutes_tasks_one_active` makes this race-safe: of concurrent calls exactly one
/// inserts, the others wait for its commit and answer its task. A pending task older than
/// [`GENERATION_STALE_AFTER_SECS`] is ended first (`failed`, [`SUPERSEDED`]).
pub async fn create_task(
    tx: &mut sqlx::PgConnection,
    caller: Uuid,
    meeting: Uuid,
    id: Uuid,
    output_language: Option<OutputLanguage>,
) -> Result<NewTask, sqlx::Error> {
    sqlx::query(concat!(
        "UPDATE minutes_tasks t SET status = 'failed', error = $3, finished_at = now() \
         FROM meetings m WHERE m.id = t.meeting_id AND t.meeting_id = $2 \
           AND t.status IN ('queued', 'running') \
           AND COALESCE(t.started_at, t.created_at) < now() - make_interval(secs => $4) AND ",
        caller_may!(write, "m.organization_id", "$1")
    ))
    .bind(caller)
    .bind(meeting)
    .bind(SUPERSEDED)
    .bind(f64::from(GENERATION_STALE_AFTER_SECS))
    .execute(&mut *tx)
    .await?;
    // A pending task that ends between our insert and our read of it: try again (bounded).
    for _ in 0..3 {
        let created: Option<MinutesTask> = sqlx::query_as(concat!(
            "WITH t AS (INSERT INTO minutes_tasks (id, meeting_id, transcript_id, \
                                                   requested_by_id, output_language) \
               SELECT $3, m.id, tr.id, $1, COALESCE($4, CASE WHEN m.language_preference = 'fr' \
                                                            THEN 'fr' ELSE 'en' END) \
               FROM meetings m \
               JOIN LATERAL (SELECT id FROM transcripts WHERE meeting_id = m.id \
                             ORDER BY created_at DESC, id DESC LIMIT 1) tr ON true \
               WHERE m.id = $2 AND ",
            caller_may!(write, "m.organization_id", "$1"),
            " ON CONFLICT (meeting_id) WHERE status IN ('queued', 'running') DO NOTHING \
               RETURNING *) SELECT ",
            task_columns!(),
            " FROM t"
        ))
        .bind(caller)
        .bind(meeting)
        .bind(id)
        .bind(output_language)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(task) = created {
            return Ok(NewTask::Created(Box::new(task)));
        }
        let pending: Option<MinutesTask> = sqlx::query_as(concat!(
            "SELECT ",
            task_columns!(),
            " FROM minutes_tasks t JOIN meetings m ON m.id = t.meeting_id \
             WHERE t.meeting_id = $2 AND t.status IN ('queued', 'running') AND ",
            caller_may!(write, "m.organization_id", "$1")
        ))
        .bind(caller)
        .bind(meeting)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(task) = pending {
            return Ok(NewTask::Pending(Box::new(task)));
        }
        let (allowed, transcribed): (bool, bool) = sqlx::query_as(concat!(
            "SELECT EXISTS (SELECT 1 FROM meetings m WHERE m.id = $2 AND ",
            caller_may!(write, "m.organization_id", "$1"),
            "), EXISTS (SELECT 1 FROM transcripts WHERE meeting_id = $2)"
        ))
        .bind(caller)
        .bind(meeting)
        .fetch_one(&mut *tx)
        .await?;
        if !allowed {
            return Ok(NewTask::NotAllowed);
        }
        if !transcribed {
            return Ok(NewTask::NoTranscript);
        }
    }
    Err(sqlx::Error::Protocol(
        "minutes_tasks: the pending task kept changing".into(),
    ))
}

/// Whether `err` is a foreign key violation (SQLSTATE 23503): a row it points to, e.g. the
/// meeting, was deleted by a transaction that committed while this write waited for it.
pub fn is_foreign_key_violation(err: &sqlx::Error) -> bool {
    err.as_database_error()
        .and_then(|e| e.code())
        .is_some_and(|code| code == "23503")
}

/// Task `id`, if `caller` may read its meeting.
pub async fn find_task<'e>(
    db: impl PgExecutor<'e>,
    caller: Uuid,
    id: Uuid,
) -> Result<Option<MinutesTask>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        task_columns!(),
        " FROM minutes_tasks t JOIN meetings m ON m.id = t.meeting_id WHERE t.id = $2 AND ",
        caller_may!(read, "m.organization_id", "$1")
    ))
    .bind(caller)
    .bind(id)
    .fetch_optional(db)
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

/// What a generation needs about its meeting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskMeeting {
    pub task: MinutesTask,
    pub organization_id: Uuid,
    pub title: String,
    /// The day the meeting took place: `scheduled_at`, else `created_at` (UTC).
    pub date: NaiveDate,
}

/// Where a task stood when a worker tried to start it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskStart {
    /// It was `queued` (or `running` and this is a redelivery) and is now `running`.
    Started(Box<TaskMeeting>),
    /// Nothing to do: `succeeded`, `failed`, or `running` in another run.
    Settled { status: TaskStatus },
    /// No such task (its meeting was deleted since).
    Missing,
}

/// Takes task `id` of `meeting` on to `running`: from `queued`, or from `running` when
/// `redelivered` (the same message again after a run that did not finish).
pub async fn start_task(
    pool: &PgPool,
    meeting: Uuid,
    id: Uuid,
    redelivered: bool,
) -> Result<TaskStart, sqlx::Error> {
    #[derive(FromRow)]
    struct Row {
        #[sqlx(flatten)]
        task: MinutesTask,
        organization_id: Uuid,
        title: String,
        day: NaiveDate,
    }
    let started: Option<Row> = sqlx::query_as(concat!(
        "WITH t AS (UPDATE minutes_tasks SET status = 'running', started_at = now(), error = NULL \
                    WHERE id = $2 AND meeting_id = $1 \
                      AND (status = 'queued' OR (status = 'running' AND $3)) RETURNING *) \
         SELECT ",
        task_columns!(),
        ", m.organization_id, m.title, \
           (COALESCE(m.scheduled_at, m.created_at) AT TIME ZONE 'UTC')::date AS day \
         FROM t JOIN meetings m ON m.id = t.meeting_id"
    ))
    .bind(meeting)
    .bind(id)
    .bind(redelivered)
    .fetch_optional(pool)
    .await?;
    if let Some(row) = started {
        return Ok(TaskStart::Started(Box::new(TaskMeeting {
            task: row.task,
            organization_id: row.organization_id,
            title: row.title,
            date: row.day,
        })));
    }
    let status: Option<TaskStatus> =
        sqlx::query_scalar("SELECT status FROM minutes_tasks WHERE id = $2 AND meeting_id = $1")
            .bind(meeting)
            .bind(id)
            .fetch_optional(pool)
            .await?;
    Ok(status.map_or(TaskStart::Missing, |status| TaskStart::Settled { status }))
}

/// One final segment as the minutes engines read it.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct TranscriptLine {
    pub segment_id: Uuid,
    /// Milliseconds.
    pub start_ms: i32,
    /// Milliseconds.
    pub end_ms: i32,
    /// The speaker's display name, else its label, else the raw label, else `Unknown`.
    pub speaker: String,
    pub text: String,
}

/// The final segments of `transcript` (of `meeting`), by start: what minutes are made from.
pub async fn transcript_lines(
    pool: &PgPool,
    meeting: Uuid,
    transcript: Uuid,
) -> Result<Vec<TranscriptLine>, sqlx::Error> {
    sqlx::query_as(
        "SELECT s.id AS segment_id, s.start_ms, s.end_ms, \
                COALESCE(NULLIF(btrim(sp.display_name), ''), sp.label, s.speaker_label_raw, \
                         'Unknown') AS speaker, \
                s.text \
         FROM transcript_segments s JOIN transcripts t ON t.id = s.transcript_id \
         LEFT JOIN speakers sp ON sp.id = s.speaker_id \
         WHERE s.transcript_id = $2 AND t.meeting_id = $1 AND s.is_final \
         ORDER BY s.start_ms, s.created_at, s.id",
    )
    .bind(meeting)
    .bind(transcript)
    .fetch_all(pool)
    .await
}

/// An action item a generation proposes.
#[derive(Debug, Clone, PartialEq)]
pub struct GeneratedItem {
    /// The normalized title: what makes two generations' items the same item.
    pub key: String,
    /// At most 500 characters, not blank.
    pub title: String,
    pub description: String,
    /// The owner's name as spoken; matched to a member of the organization.
    pub owner: Option<String>,
    pub due_date: Option<NaiveDate>,
    pub priority: Priority,
    pub source_segment_ids: Vec<Uuid>,
}

/// What a successful generation writes.
#[derive(Debug, Clone, PartialEq)]
pub struct GeneratedMinutes {
    pub content_json: Value,
    pub content_md: String,
    /// `generated_by_model` (at most 100 characters).
    pub model: String,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub items: Vec<GeneratedItem>,
}

/// A member of an organization, for matching an owner's name to an assignee.
#[derive(Debug, Clone, FromRow)]
struct Member {
    id: Uuid,
    email: String,
    username: String,
    first_name: String,
    last_name: String,
}

/// The member named `owner`: by a speaker mapped to a user in this meeting (the speaker's
/// display name or label), else the one member whose full name, first name, username or
/// e-mail local part equals it (case-insensitively). `None` when nobody or several match.
fn assignee(owner: &str, members: &[Member], speakers: &[(String, Uuid)]) -> Option<Uuid> {
    let owner = owner.trim().to_lowercase();
    if owner.is_empty() {
        return None;
    }
    if let Some((_, user)) = speakers
        .iter()
        .find(|(name, _)| name.to_lowercase() == owner)
    {
        return Some(*user);
    }
    let matches: Vec<Uuid> = members
        .iter()
        .filter(|m| {
            let full = format!("{} {}", m.first_name.trim(), m.last_name.trim()).to_lowercase();
            let local = m.email.split('@').next().unwrap_or_default().to_lowercase();
            full.trim() == owner
                || (!m.first_name.trim().is_empty() && m.first_name.trim().to_lowercase() == owner)
                || m.username.to_lowercase() == owner
                || local == owner
        })
        .map(|m| m.id)
        .collect();
    match matches.as_slice() {
        [one] => Some(*one),
        _ => None,
    }
}

/// Writes a task's minutes: the meeting's minutes (created, or replaced with version + 1), a
/// `minutes_versions` row (`generation`, by the requester), the action items (see the module
/// doc), and the task `succeeded` with the minutes id, the engine and the tokens. Commits only
/// while the task is `running`: answers the minutes id, or `None` when another run finished it
/// first (nothing written).
///
/// Action items: a generated item whose key matches an item of the meeting (generated, or
/// one whose title normalizes to the same key through `key_of`) is updated when it is an
/// untouched generated item and left alone otherwise; new keys are inserted; untouched
/// generated items the new generation no longer proposes are deleted; new items are inserted
/// while the meeting has fewer than [`crate::action_items::MAX_PER_MEETING`] (titles,
/// descriptions and sources cut to the action items' caps). Items users created or
/// edited are never changed, and a key users deleted an item under (`action_item_tombstones`,
/// see [`crate::action_items::delete`]) is not created again.
pub async fn complete_task(
    pool: &PgPool,
    task: &TaskMeeting,
    generated: &GeneratedMinutes,
    key_of: impl Fn(&str) -> String,
) -> Result<Option<Uuid>, sqlx::Error> {
    let t = &task.task;
    let mut tx = pool.begin().await?;
    // Lock the task: a concurrent run of the same job waits here and then finds it done.
    let running: Option<String> = sqlx::query_scalar(
        "SELECT status FROM minutes_tasks WHERE id = $1 AND status = 'running' FOR UPDATE",
    )
    .bind(t.id)
    .fetch_optional(&mut *tx)
    .await?;
    if running.is_none() {
        return Ok(None);
    }
    let model: String = generated.model.chars().take(100).collect();
    let (minutes_id, version): (Uuid, i32) = sqlx::query_as(
        "INSERT INTO minutes (meeting_id, transcript_id, content_json, content_md, \
                              output_language, generated_by_model, model_version) \
         VALUES ($1, $2, $3, $4, $5, $6, '1.0') \
         ON CONFLICT (meeting_id) DO UPDATE SET transcript_id = EXCLUDED.transcript_id, \
             content_json = EXCLUDED.content_json, content_md = EXCLUDED.content_md, \
             output_language = EXCLUDED.output_language, \
             generated_by_model = EXCLUDED.generated_by_model, model_version = '1.0', \
             version = minutes.version + 1, updated_at = now() \
         RETURNING id, version",
    )
    .bind(t.meeting_id)
    .bind(t.transcript_id)
    .bind(&generated.content_json)
    .bind(&generated.content_md)
    .bind(t.output_language)
    .bind(&model)
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO minutes_versions (minutes_id, content_json, content_md, source, \
                                       created_by_id, version, output_language) \
         VALUES ($1, $2, $3, 'generation', $4, $5, $6)",
    )
    .bind(minutes_id)
    .bind(&generated.content_json)
    .bind(&generated.content_md)
    .bind(t.requested_by_id)
    .bind(version)
    .bind(t.output_language)
    .execute(&mut *tx)
    .await?;

    // Existing items: (id, key or the key of their title, generated and untouched), locked: a
    // user's delete of one waits for this transaction, and one that committed first left its
    // tombstone, read below.
    let existing: Vec<(Uuid, Option<String>, String, bool)> = sqlx::query_as(
        "SELECT id, generated_key, title, user_edited FROM action_items WHERE meeting_id = $1 \
         ORDER BY id FOR UPDATE",
    )
    .bind(t.meeting_id)
    .fetch_all(&mut *tx)
    .await?;
    let members: Vec<Member> = sqlx::query_as(
        "SELECT u.id, u.email, u.username, u.first_name, u.last_name \
         FROM organization_members om JOIN users u ON u.id = om.user_id \
         WHERE om.organization_id = $1 AND u.is_active",
    )
    .bind(task.organization_id)
    .fetch_all(&mut *tx)
    .await?;
    let speakers: Vec<(String, Uuid)> = sqlx::query_as(
        "SELECT COALESCE(NULLIF(btrim(sp.display_name), ''), sp.label), map.user_id \
         FROM speaker_user_map map JOIN speakers sp ON sp.id = map.speaker_id \
         WHERE map.meeting_id = $1 \
         UNION ALL SELECT sp.label, map.user_id \
         FROM speaker_user_map map JOIN speakers sp ON sp.id = map.speaker_id \
         WHERE map.meeting_id = $1",
    )
    .bind(t.meeting_id)
    .fetch_all(&mut *tx)
    .await?;

    // Keys of items users deleted: never created again.
    let deleted: Vec<String> = sqlx::query_scalar(
        "SELECT generated_key FROM action_item_tombstones WHERE meeting_id = $1",
    )
    .bind(t.meeting_id)
    .fetch_all(&mut *tx)
    .await?;

    use crate::action_items::{DESCRIPTION_MAX_CHARS, MAX_PER_MEETING, SOURCE_SEGMENTS_MAX};
    let mut kept_generated: Vec<Uuid> = Vec::new();
    // New items, inserted once the ones no longer proposed are gone, while the meeting has
    // fewer than MAX_PER_MEETING.
    let mut new_items = Vec::new();
    for item in &generated.items {
        let key: String = item.key.chars().take(ITEM_KEY_MAX_CHARS).collect();
        let same = existing
            .iter()
            .find(|(_, k, title, _)| k.as_deref() == Some(key.as_str()) || key_of(title) == key);
        if same.is_none() && deleted.contains(&key) {
            continue;
        }
        let assignee = item
            .owner
            .as_deref()
            .and_then(|o| assignee(o, &members, &speakers));
        let sources: Vec<Uuid> = item
            .source_segment_ids
            .iter()
            .take(SOURCE_SEGMENTS_MAX)
            .copied()
            .collect();
        let sources = serde_json::to_value(&sources).unwrap_or(Value::Null);
        let title: String = item
            .title
            .chars()
            .take(crate::action_items::TITLE_MAX_CHARS)
            .collect();
        let description: String = item
            .description
            .chars()
            .take(DESCRIPTION_MAX_CHARS)
            .collect();
        match same {
            // Created or edited by a user: theirs.
            Some((_, None, _, _)) | Some((_, Some(_), _, true)) => {}
            Some((id, Some(_), _, false)) => {
                sqlx::query(
                    "UPDATE action_items SET minutes_id = $2, title = $3, description = $4, \
                            assignee_id = $5, due_date = $6, priority = $7, \
                            source_segment_ids = $8, updated_at = now() WHERE id = $1",
                )
                .bind(id)
                .bind(minutes_id)
                .bind(&title)
                .bind(&description)
                .bind(assignee)
                .bind(item.due_date)
                .bind(item.priority)
                .bind(&sources)
                .execute(&mut *tx)
                .await?;
                kept_generated.push(*id);
            }
            None => new_items.push((key, title, description, assignee, item, sources)),
        }
    }
    sqlx::query(
        "DELETE FROM action_items WHERE meeting_id = $1 AND generated_key IS NOT NULL \
           AND NOT user_edited AND NOT (id = ANY($2))",
    )
    .bind(t.meeting_id)
    .bind(&kept_generated)
    .execute(&mut *tx)
    .await?;
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM action_items WHERE meeting_id = $1")
        .bind(t.meeting_id)
        .fetch_one(&mut *tx)
        .await?;
    let room = usize::try_from((MAX_PER_MEETING - count).max(0)).unwrap_or(0);
    for (key, title, description, assignee, item, sources) in new_items.into_iter().take(room) {
        sqlx::query(
            "INSERT INTO action_items (meeting_id, minutes_id, title, description, \
                 assignee_id, due_date, priority, source_segment_ids, generated_key) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (meeting_id, generated_key) WHERE generated_key IS NOT NULL \
             DO UPDATE SET updated_at = now()",
        )
        .bind(t.meeting_id)
        .bind(minutes_id)
        .bind(&title)
        .bind(&description)
        .bind(assignee)
        .bind(item.due_date)
        .bind(item.priority)
        .bind(&sources)
        .bind(&key)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query(
        "UPDATE minutes_tasks SET status = 'succeeded', finished_at = now(), minutes_id = $2, \
                engine = $3, prompt_tokens = $4, completion_tokens = $5 WHERE id = $1",
    )
    .bind(t.id)
    .bind(minutes_id)
    .bind(&model)
    .bind(i32::try_from(generated.prompt_tokens.max(0)).unwrap_or(i32::MAX))
    .bind(i32::try_from(generated.completion_tokens.max(0)).unwrap_or(i32::MAX))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(minutes_id))
}

/// The keys of the action items users deleted from `meeting` (see
/// [`crate::action_items::delete`]): what a generation for the worker's task leaves out.
pub async fn deleted_item_keys(pool: &PgPool, meeting: Uuid) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT generated_key FROM action_item_tombstones WHERE meeting_id = $1")
        .bind(meeting)
        .fetch_all(pool)
        .await
}

/// Sets task `id` `failed` with `reason` (cut to [`TASK_ERROR_MAX_CHARS`]) unless it has
/// ended already; whether it changed.
pub async fn fail_task(pool: &PgPool, id: Uuid, reason: &str) -> Result<bool, sqlx::Error> {
    let reason: String = reason.chars().take(TASK_ERROR_MAX_CHARS).collect();
    let done = sqlx::query(
        "UPDATE minutes_tasks SET status = 'failed', error = $2, finished_at = now() \
         WHERE id = $1 AND status IN ('queued', 'running')",
    )
    .bind(id)
    .bind(reason)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() > 0)
}

#[cfg(test)]
mod tests;
