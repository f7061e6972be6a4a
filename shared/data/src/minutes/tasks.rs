//! Generation tasks: asked for by people ([`create_task`], [`find_task`]), then started and
//! ended by the minutes worker ([`start_task`], [`fail_task`]; it succeeds through
//! [`super::complete_task`]).

use chrono::{DateTime, NaiveDate, Utc};
use meetin_vocab::{OutputLanguage, TaskStatus};
use sqlx::{FromRow, PgExecutor, PgPool};
use uuid::Uuid;

use super::TASK_ERROR_MAX_CHARS;
use crate::caller_may;

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

macro_rules! task_columns {
    () => {
        "t.id, t.meeting_id, t.transcript_id, t.requested_by_id, t.output_language, t.status, \
         t.error, t.minutes_id, t.engine, t.prompt_tokens, t.completion_tokens, t.created_at, \
         t.started_at, t.finished_at"
    };
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
