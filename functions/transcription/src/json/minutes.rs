//! The minutes, their generation and its task: `GET minutes/`, the bodies of `PUT`/`PATCH
//! minutes/` and `minutes/generate/`, and `tasks/{task_id}/`.

use meetin_core::validation::{Fields, Text};
use meetin_data::action_items::ActionItem;
use meetin_data::minutes::{
    CONTENT_JSON_MAX_BYTES, CONTENT_MD_MAX_CHARS, Minutes, MinutesEdit, MinutesTask,
};
use meetin_http::ApiResult;
use meetin_vocab::{OutputLanguage, TaskStatus, drf};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use super::ActionItemJson;

/// The optional body of `minutes/generate/`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct GenerateRequest {
    /// The language to write the minutes in, whatever was spoken; default: the meeting's
    /// `language_preference`, or `en` when it is `auto`.
    pub output_language: Option<OutputLanguage>,
}

impl GenerateRequest {
    /// DRF-style: a field error for anything but `en` or `fr`.
    pub fn parse(body: &Value) -> ApiResult<Option<OutputLanguage>> {
        let mut fields = Fields::new(body).map_err(meetin_core::Refusal::from)?;
        let language = fields.optional_choice::<OutputLanguage>("output_language");
        fields.finish().map_err(meetin_core::Refusal::from)?;
        Ok(language)
    }
}

/// 202 of `minutes/generate/` (contract §2.5).
#[derive(Debug, Serialize, ToSchema)]
pub struct GenerateAccepted {
    /// `Minutes generation started`.
    pub message: &'static str,
    /// Poll `GET /api/transcription/tasks/{task_id}/`.
    pub task_id: Uuid,
}

/// How a minutes generation stands.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskJson {
    pub task_id: Uuid,
    pub status: TaskStatus,
    /// The meeting's id.
    pub meeting: Uuid,
    /// The transcript the minutes are made from.
    pub transcript: Uuid,
    pub output_language: OutputLanguage,
    /// The minutes written, once `succeeded`.
    pub minutes: Option<Uuid>,
    /// Why it failed.
    pub error: Option<String>,
    /// The engine that wrote them (an OpenAI model, an Azure deployment, or the offline
    /// engine).
    pub engine: Option<String>,
    /// Tokens the LLM read and wrote (0 offline).
    pub prompt_tokens: Option<i32>,
    pub completion_tokens: Option<i32>,
    pub created_at: drf::DateTime,
    pub started_at: Option<drf::DateTime>,
    pub finished_at: Option<drf::DateTime>,
}

impl From<MinutesTask> for TaskJson {
    fn from(t: MinutesTask) -> Self {
        Self {
            task_id: t.id,
            status: t.status,
            meeting: t.meeting_id,
            transcript: t.transcript_id,
            output_language: t.output_language,
            minutes: t.minutes_id,
            error: t.error,
            engine: t.engine,
            prompt_tokens: t.prompt_tokens,
            completion_tokens: t.completion_tokens,
            created_at: t.created_at.into(),
            started_at: t.started_at.map(drf::DateTime),
            finished_at: t.finished_at.map(drf::DateTime),
        }
    }
}

/// A meeting's minutes (contract §2.5 "Minutes JSON", plus `version`).
#[derive(Debug, Serialize, ToSchema)]
pub struct MinutesJson {
    pub id: Uuid,
    pub meeting: Uuid,
    pub transcript: Uuid,
    /// Summary, key points, decisions, action items, next steps, attendees, coverage.
    #[schema(value_type = Object)]
    pub content_json: Value,
    /// The same, rendered in Markdown in `output_language`.
    pub content_md: String,
    pub output_language: OutputLanguage,
    pub generated_by_model: Option<String>,
    pub model_version: Option<String>,
    /// Bumped by every write; also the `ETag`.
    pub version: i32,
    pub action_items: Vec<ActionItemJson>,
    pub created_at: drf::DateTime,
    pub updated_at: drf::DateTime,
}

impl MinutesJson {
    pub fn new(m: Minutes, items: Vec<ActionItem>) -> Self {
        Self {
            id: m.id,
            meeting: m.meeting_id,
            transcript: m.transcript_id,
            content_json: m.content_json,
            content_md: m.content_md,
            output_language: m.output_language,
            generated_by_model: m.generated_by_model,
            model_version: m.model_version,
            version: m.version,
            action_items: items.into_iter().map(Into::into).collect(),
            created_at: m.created_at.into(),
            updated_at: m.updated_at.into(),
        }
    }
}

/// The body of `PUT` and `PATCH minutes/`. Every field is optional, for PUT too: the
/// original's serializer derives all three from model fields with a default or `blank=True`,
/// which DRF makes not required, and fields left out keep their values.
#[derive(ToSchema)]
pub struct MinutesEditRequest {
    /// An object (contract §4.3's shape when generated); replaces the whole content.
    #[schema(value_type = Option<Object>)]
    pub content_json: Option<Value>,
    /// Markdown; trimmed, may be blank.
    #[schema(max_length = 100000)]
    pub content_md: Option<String>,
    pub output_language: Option<OutputLanguage>,
    /// The version the edit was made from (`version` of `GET minutes/`): when it is not the
    /// current one the answer is 409 and nothing is written.
    #[schema(minimum = 1)]
    pub version: Option<i32>,
}

/// A parsed edit and the version it names.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedEdit {
    pub edit: MinutesEdit,
    pub version: Option<i32>,
}

impl MinutesEditRequest {
    /// DRF-style: every field's errors at once; other keys are ignored.
    pub fn parse(body: &Value) -> ApiResult<ParsedEdit> {
        let mut f = Fields::new(body)?;
        let content_json = f.optional_object("content_json", CONTENT_JSON_MAX_BYTES);
        let content_md = f.optional_text("content_md", Text::blank_ok(CONTENT_MD_MAX_CHARS));
        let output_language = f.optional_choice::<OutputLanguage>("output_language");
        let version = f
            .optional_int("version", 1, i64::from(i32::MAX))
            .and_then(|v| i32::try_from(v).ok());
        f.finish()?;
        Ok(ParsedEdit {
            edit: MinutesEdit {
                content_json,
                content_md,
                output_language,
            },
            version,
        })
    }
}

#[cfg(test)]
mod tests;
