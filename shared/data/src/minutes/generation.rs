//! What the minutes worker reads for a task and the one transaction that writes its result.

use chrono::NaiveDate;
use meetin_vocab::Priority;
use serde_json::Value;
use sqlx::{FromRow, PgPool};
use uuid::Uuid;

use super::TaskMeeting;
use super::items::{self, ExistingItem, Member};
use crate::action_items::MAX_PER_MEETING;

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

/// Writes a task's minutes: the meeting's minutes (created, or replaced with version + 1), a
/// `minutes_versions` row (`generation`, by the requester), the action items (see
/// below), and the task `succeeded` with the minutes id, the engine and the tokens. Commits only
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

    // Existing items, locked: a user's delete of one waits for this transaction, and one that
    // committed first left its tombstone, read below.
    let existing: Vec<ExistingItem> = sqlx::query_as(
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

    let plan = items::plan(
        &generated.items,
        &existing,
        &deleted,
        &members,
        &speakers,
        key_of,
    );
    for (id, item) in &plan.updates {
        sqlx::query(
            "UPDATE action_items SET minutes_id = $2, title = $3, description = $4, \
                    assignee_id = $5, due_date = $6, priority = $7, \
                    source_segment_ids = $8, updated_at = now() WHERE id = $1",
        )
        .bind(id)
        .bind(minutes_id)
        .bind(&item.title)
        .bind(&item.description)
        .bind(item.assignee)
        .bind(item.due_date)
        .bind(item.priority)
        .bind(&item.sources)
        .execute(&mut *tx)
        .await?;
    }
    let kept_generated: Vec<Uuid> = plan.updates.iter().map(|(id, _)| *id).collect();
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
    for (key, item) in plan.inserts.into_iter().take(room) {
        sqlx::query(
            "INSERT INTO action_items (meeting_id, minutes_id, title, description, \
                 assignee_id, due_date, priority, source_segment_ids, generated_key) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (meeting_id, generated_key) WHERE generated_key IS NOT NULL \
             DO UPDATE SET updated_at = now()",
        )
        .bind(t.meeting_id)
        .bind(minutes_id)
        .bind(&item.title)
        .bind(&item.description)
        .bind(item.assignee)
        .bind(item.due_date)
        .bind(item.priority)
        .bind(&item.sources)
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
