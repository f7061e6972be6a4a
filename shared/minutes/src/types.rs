//! The inputs (meeting, transcript lines), what one chunk yields (`Extraction`), and the errors.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The language the minutes are written in (`minutes.output_language`, contract §1.3): `en` or
/// `fr`, whatever language was spoken (the vocabulary's `OutputLanguage`; `as_str` gives the
/// code stored in `content_json.language`, `from_code` reads a meeting's preference).
pub use meetin_vocab::OutputLanguage as Language;

/// The meeting the minutes are for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeetingInfo {
    /// `meetings.id`; also the namespace of the deterministic item ids.
    pub id: Uuid,
    pub title: String,
    /// The meeting's day, against which relative due dates ("by Friday", "demain") resolve.
    pub date: NaiveDate,
    /// The output language of the minutes.
    pub language: Language,
    /// The transcript the minutes are generated from (`minutes.transcript`).
    pub transcript_id: Uuid,
}

/// One final transcript segment (contract §1.3 `transcript_segments`), ordered by `start_ms`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    pub segment_id: Uuid,
    /// Offset from the start of the recording or session, in milliseconds.
    pub start_ms: i64,
    pub end_ms: i64,
    /// The speaker's display name, or the provider label (`Speaker 1`) when there is none.
    pub speaker: String,
    pub text: String,
}

/// LLM token usage (OpenAI `usage`, protocols.md §4.2); zero for the offline engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

impl std::ops::AddAssign for Usage {
    fn add_assign(&mut self, other: Usage) {
        self.prompt_tokens += other.prompt_tokens;
        self.completion_tokens += other.completion_tokens;
    }
}

/// An engine failure. `retryable` tells the caller whether trying the same work again later can
/// succeed (rate limit, 5xx, timeout) or not (bad request, quota exhausted, refusal).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct EngineError {
    pub retryable: bool,
    pub reason: String,
}

impl EngineError {
    /// A failure that may pass on a later attempt.
    pub fn transient(reason: impl Into<String>) -> EngineError {
        EngineError {
            retryable: true,
            reason: reason.into(),
        }
    }

    /// A failure that will recur on the same input.
    pub fn permanent(reason: impl Into<String>) -> EngineError {
        EngineError {
            retryable: false,
            reason: reason.into(),
        }
    }
}

/// Action item priority (contract §1.3): ordered `Low < Medium < High`, default `Medium`.
pub use meetin_vocab::Priority;

/// A decision found in one chunk.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExtractedDecision {
    pub title: String,
    pub description: String,
    /// Who made or announced it, as spoken.
    pub made_by: Option<String>,
    /// Global indices into the transcript's `&[Line]` (the `N` of a prompt ref `SN`).
    pub source_lines: Vec<usize>,
}

/// An action item found in one chunk.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExtractedActionItem {
    pub title: String,
    pub description: String,
    /// The owner's name as spoken (or the speaker, for "I will …").
    pub owner: Option<String>,
    pub due_date: Option<NaiveDate>,
    pub priority: Priority,
    /// Global indices into the transcript's `&[Line]`.
    pub source_lines: Vec<usize>,
}

/// What one `Engine::extract` call yields for one chunk; the pipeline merges these.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Extraction {
    /// One paragraph about this chunk.
    pub summary: String,
    pub key_points: Vec<String>,
    pub decisions: Vec<ExtractedDecision>,
    pub action_items: Vec<ExtractedActionItem>,
    pub next_steps: Vec<String>,
    pub usage: Usage,
}
