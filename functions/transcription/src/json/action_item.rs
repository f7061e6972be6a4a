//! Action items: the item as answered and the bodies of `POST`/`PUT`/`PATCH action-items/`
//! (parsed in `crate::action_items`, which checks the assignee against the database).

use chrono::NaiveDate;
use meetin_data::action_items::ActionItem;
use meetin_http::docs::{ErrorBody, FieldErrorsBody};
use meetin_vocab::{ItemStatus, Priority, drf};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

/// An action item (contract §2.5 "ActionItem JSON").
#[derive(Debug, Serialize, ToSchema)]
pub struct ActionItemJson {
    pub id: Uuid,
    pub meeting: Uuid,
    pub minutes: Uuid,
    pub title: String,
    pub description: String,
    /// The assignee's user id.
    pub assignee: Option<Uuid>,
    pub assignee_email: Option<String>,
    /// `YYYY-MM-DD`.
    #[schema(value_type = Option<String>, format = Date)]
    pub due_date: Option<NaiveDate>,
    pub priority: Priority,
    pub status: ItemStatus,
    /// Segment ids the item comes from.
    #[schema(value_type = Vec<String>)]
    pub source_segment_ids: Value,
    pub created_at: drf::DateTime,
    pub updated_at: drf::DateTime,
}

impl From<ActionItem> for ActionItemJson {
    fn from(a: ActionItem) -> Self {
        Self {
            id: a.id,
            meeting: a.meeting_id,
            minutes: a.minutes_id,
            title: a.title,
            description: a.description,
            assignee: a.assignee_id,
            assignee_email: a.assignee_email,
            due_date: a.due_date,
            priority: a.priority,
            status: a.status,
            source_segment_ids: a.source_segment_ids,
            created_at: a.created_at.into(),
            updated_at: a.updated_at.into(),
        }
    }
}

/// The 400 of `POST action-items/`: field errors, or `{"error": "No transcript available for
/// this meeting"}`. (A schema only: the answers are built by `meetin_core::Refusal`.)
#[derive(ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum CreateItemRefusal {
    Fields(FieldErrorsBody),
    NoTranscript(ErrorBody),
}

/// `POST` and `PUT action-items/…` (PATCH: [`ActionItemPatch`]). Fields left out of a PUT
/// keep their values; `meeting` and `minutes` are the server's.
#[derive(ToSchema)]
pub struct ActionItemRequest {
    /// Trimmed, not blank.
    #[schema(min_length = 1, max_length = 500)]
    pub title: String,
    /// May be blank.
    #[schema(max_length = 1000)]
    pub description: Option<String>,
    /// A user of the meeting's organization (any role), or `null`; anyone else is `Invalid pk
    /// "<id>" - object does not exist.`.
    pub assignee: Option<Uuid>,
    /// `YYYY-MM-DD`, or `null`.
    #[schema(value_type = Option<String>, format = Date)]
    pub due_date: Option<String>,
    /// Default `medium`.
    pub priority: Option<Priority>,
    /// Default `open`.
    pub status: Option<ItemStatus>,
    /// Transcript segment ids (UUID strings), at most 50; default `[]`.
    #[schema(max_items = 50)]
    pub source_segment_ids: Option<Vec<Uuid>>,
}

/// `PATCH action-items/{id}/`: the fields given change.
#[derive(ToSchema)]
pub struct ActionItemPatch {
    #[schema(min_length = 1, max_length = 500)]
    pub title: Option<String>,
    #[schema(max_length = 1000)]
    pub description: Option<String>,
    pub assignee: Option<Uuid>,
    #[schema(value_type = Option<String>, format = Date)]
    pub due_date: Option<String>,
    pub priority: Option<Priority>,
    pub status: Option<ItemStatus>,
    #[schema(max_items = 50)]
    pub source_segment_ids: Option<Vec<Uuid>>,
}
