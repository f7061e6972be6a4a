//! `minutes.content_json`: the keys of contract §4.3 plus `next_steps` ordering, segment
//! provenance (`source_segment_ids`, `timestamp_ms`) and `coverage`.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::text::normalise;
use crate::types::{Language, Priority};

/// `content_json.ai_version` (the original writes `"1.0"`, contract §1.3 `model_version`).
pub const AI_VERSION: &str = "1.0";

/// `action_items.title` is at most 500 characters (contract §1.3); decision titles share it.
pub const MAX_TITLE_CHARS: usize = 500;

/// `minutes.generated_by_model` is at most 100 characters (contract §1.3).
pub const MAX_MODEL_CHARS: usize = 100;

/// The stored minutes (`minutes.content_json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MinutesContent {
    pub meeting_id: Uuid,
    pub meeting_title: String,
    /// `"en"` or `"fr"`: the output language.
    pub language: Language,
    /// When these minutes were generated (RFC 3339, whole seconds, UTC).
    pub generated_at: DateTime<Utc>,
    /// One paragraph per chunk, separated by a blank line.
    pub summary: String,
    pub key_points: Vec<String>,
    pub next_steps: Vec<String>,
    pub decisions: Vec<Decision>,
    pub action_items: Vec<ActionItem>,
    /// Distinct speakers of the transcript, in order of first appearance.
    pub attendees: Vec<String>,
    pub transcript_id: Uuid,
    /// The engine's model (≤ 100 characters), also `minutes.generated_by_model`.
    pub ai_model: String,
    /// [`AI_VERSION`].
    pub ai_version: String,
    pub coverage: Coverage,
}

/// `"high"` when an item has both a title and a description, else `"medium"` (contract §4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    Medium,
    High,
}

impl Confidence {
    pub(crate) fn of(title: &str, description: &str) -> Confidence {
        if !title.trim().is_empty() && !description.trim().is_empty() {
            Confidence::High
        } else {
            Confidence::Medium
        }
    }
}

/// Action item status (contract §1.3); generated items are `open` (the default).
pub use meetin_vocab::ItemStatus as Status;

/// A decision in `content_json.decisions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// [`decision_id`] of the meeting and title: the same on every regeneration.
    pub id: Uuid,
    pub title: String,
    pub description: String,
    pub made_by: Option<String>,
    /// `HH:MM:SS` of the earliest source segment's start.
    pub timestamp: Option<String>,
    pub timestamp_ms: Option<i64>,
    pub confidence: Confidence,
    pub source_segment_ids: Vec<Uuid>,
}

/// An action item in `content_json.action_items`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionItem {
    /// [`action_item_id`] of the meeting and title: the same on every regeneration.
    pub id: Uuid,
    pub title: String,
    pub description: String,
    /// The owner's name as spoken (not a user id: the caller maps names to users).
    pub assignee: Option<String>,
    /// `YYYY-MM-DD`.
    pub due_date: Option<NaiveDate>,
    pub priority: Priority,
    pub timestamp: Option<String>,
    pub timestamp_ms: Option<i64>,
    pub status: Status,
    pub confidence: Confidence,
    pub source_segment_ids: Vec<Uuid>,
}

/// Which parts of the transcript the minutes were made from.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Coverage {
    /// How many chunks the transcript was split into (0 for an empty transcript).
    pub chunks: usize,
    /// First line's start and last line's end, in ms (0 and 0 when there are no lines).
    pub transcript_start_ms: i64,
    pub transcript_end_ms: i64,
    /// Time spans of the lines that went through an engine, merged (runs of consecutive lines).
    pub ranges: Vec<TimeRange>,
    /// Every line went through an engine: `ranges` is one span from the first line's start to
    /// the last line's end.
    pub complete: bool,
}

/// A span of the transcript, in ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeRange {
    pub start_ms: i64,
    pub end_ms: i64,
}

/// The normalised title used to recognise the same item: lowercase, punctuation and spacing
/// ignored ("Send the report!" and "send  the report" give `"send the report"`). Callers use it
/// to match generated action items against stored ones.
pub fn item_key(title: &str) -> String {
    normalise(title)
}

/// UUID v5 in the meeting's namespace of `decision:` + [`item_key`] of the title.
pub fn decision_id(meeting_id: Uuid, title: &str) -> Uuid {
    Uuid::new_v5(
        &meeting_id,
        format!("decision:{}", item_key(title)).as_bytes(),
    )
}

/// UUID v5 in the meeting's namespace of `action_item:` + [`item_key`] of the title.
pub fn action_item_id(meeting_id: Uuid, title: &str) -> Uuid {
    Uuid::new_v5(
        &meeting_id,
        format!("action_item:{}", item_key(title)).as_bytes(),
    )
}
