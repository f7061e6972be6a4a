//! The versions of a meeting's minutes: one `minutes_versions` row per write.

use chrono::{DateTime, Utc};
use meetin_vocab::OutputLanguage;
use serde_json::Value;
use sqlx::{FromRow, PgExecutor};
use uuid::Uuid;

use crate::caller_may;

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
