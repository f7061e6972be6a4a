//! The JSON this function speaks: the contract's Meeting, LiveSession and Speaker shapes, and
//! each request body's documented schema beside its parser (the recording bodies are in
//! `json/recording.rs`, the Recording shape in `meetin_recordings`). Parsers collect every field's errors at once (DRF's
//! behaviour, with the field kinds of `meetin_core::validation`) and use the limits the
//! schemas document (checked by `tests::schema_limits_are_the_parsers`).

use std::future::Future;

use meetin_core::validation::{
    Fields, NULL_CHARACTER, Text, dict_expected, has_nul, json_depth, pk_does_not_exist,
};
use meetin_data::live_sessions::LiveSession;
use meetin_data::meetings::{CreatedMeeting, MeetingChanges, MeetingDetail};
use meetin_data::speakers::Speaker;
use meetin_http::{ApiError, ApiResult};
use meetin_vocab::drf;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

mod recording;

pub use meetin_vocab::{LanguagePreference, LiveSessionStatus, RecordingStatus};
pub use recording::{
    CONTENT_TYPE_MAX_CHARS, CompleteRequest, DURATION_MAX_MS, FILENAME_MAX_CHARS, InitiateRequest,
    InitiatedJson,
};

/// A live transcription session.
#[derive(Debug, Serialize, ToSchema)]
pub struct LiveSessionJson {
    pub id: Uuid,
    pub status: LiveSessionStatus,
    /// `deepgram`.
    pub provider: String,
    /// The provider's stream id; `null` when no stream was opened (a failed start).
    pub provider_session_id: Option<String>,
    /// The `config` object given at start.
    #[schema(value_type = Object)]
    pub config_json: Value,
    /// Why a `failed` session failed.
    pub error_message: Option<String>,
    pub started_at: drf::DateTime,
    pub ended_at: Option<drf::DateTime>,
}

impl From<LiveSession> for LiveSessionJson {
    fn from(s: LiveSession) -> Self {
        Self {
            id: s.id,
            status: s.status,
            provider: s.provider,
            provider_session_id: s.provider_session_id,
            config_json: s.config_json,
            error_message: s.error_message,
            started_at: s.started_at.into(),
            ended_at: s.ended_at.map(drf::DateTime),
        }
    }
}

/// A recording of the meeting's audio (one shape for every upload path).
pub use meetin_recordings::RecordingJson;

/// A speaker of the meeting's transcripts.
#[derive(Debug, Serialize, ToSchema)]
pub struct SpeakerJson {
    pub id: Uuid,
    /// The provider's label, e.g. `Speaker 0`.
    pub label: String,
    /// The name people gave the speaker; `null` until renamed.
    pub display_name: Option<String>,
    pub created_at: drf::DateTime,
}

impl From<Speaker> for SpeakerJson {
    fn from(s: Speaker) -> Self {
        Self {
            id: s.id,
            label: s.label,
            display_name: s.display_name,
            created_at: s.created_at.into(),
        }
    }
}

/// A meeting, with its live sessions and recordings (newest first) and speakers (oldest
/// first); the lists are empty arrays, never absent.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeetingJson {
    pub id: Uuid,
    /// The organization's id.
    pub organization: Uuid,
    pub organization_name: String,
    /// The creator's e-mail.
    pub created_by: String,
    pub title: String,
    pub description: String,
    pub language_preference: LanguagePreference,
    pub scheduled_at: Option<drf::DateTime>,
    pub created_at: drf::DateTime,
    pub updated_at: drf::DateTime,
    pub live_sessions: Vec<LiveSessionJson>,
    pub recordings: Vec<RecordingJson>,
    pub speakers: Vec<SpeakerJson>,
}

impl From<MeetingDetail> for MeetingJson {
    fn from(d: MeetingDetail) -> Self {
        let m = d.meeting;
        Self {
            id: m.id,
            organization: m.organization_id,
            organization_name: m.organization_name,
            created_by: m.created_by_email,
            title: m.title,
            description: m.description,
            language_preference: m.language_preference,
            scheduled_at: m.scheduled_at.map(drf::DateTime),
            created_at: m.created_at.into(),
            updated_at: m.updated_at.into(),
            live_sessions: d.live_sessions.into_iter().map(Into::into).collect(),
            recordings: d.recordings.into_iter().map(Into::into).collect(),
            speakers: d.speakers.into_iter().map(Into::into).collect(),
        }
    }
}

/// What `POST /api/meetings/` answers (the contract's reduced shape).
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedMeetingJson {
    pub id: Uuid,
    pub organization: Uuid,
    pub title: String,
    pub description: String,
    pub language_preference: LanguagePreference,
    pub scheduled_at: Option<drf::DateTime>,
}

impl From<CreatedMeeting> for CreatedMeetingJson {
    fn from(m: CreatedMeeting) -> Self {
        Self {
            id: m.id,
            organization: m.organization_id,
            title: m.title,
            description: m.description,
            language_preference: m.language_preference,
            scheduled_at: m.scheduled_at.map(drf::DateTime),
        }
    }
}

/// `GET /api/meetings/{id}/live/status/` without an active session (404).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"status": "no_active_session"}))]
pub struct NoActiveSessionBody {
    pub status: String,
}

// Request bodies. Each limit is written once, here, and used by its parser.

/// Longest meeting title (the `meetings.title` column).
pub const TITLE_MAX_CHARS: usize = 500;
/// Longest meeting description (the column is unbounded text). 10,000 characters keeps a
/// page of 20 meetings under Lambda's 6 MB response limit even when every character is one
/// JSON escapes to six bytes (docs/api-decisions.md, "Meetings").
pub const DESCRIPTION_MAX_CHARS: usize = 10_000;
/// Longest speaker display name (the `speakers.display_name` column).
pub const DISPLAY_NAME_MAX_CHARS: usize = meetin_data::speakers::DISPLAY_NAME_MAX_CHARS;

pub const NO_ACCESS_TO_ORGANIZATION: &str = "You don't have access to this organization";
pub const DISPLAY_NAME_TOO_LONG: &str = "Display name too long";

/// Whether the organization a body names exists and the caller belongs to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrganizationReach {
    Unknown,
    Outsider,
    Member,
}

/// `POST` and `PUT /api/meetings/…` (PATCH: every field optional).
#[derive(ToSchema)]
pub struct MeetingRequest {
    /// An organization the caller belongs to as member or admin.
    pub organization: Uuid,
    #[schema(min_length = 1, max_length = 500)]
    pub title: String,
    #[schema(max_length = 10000)]
    pub description: Option<String>,
    /// Default `auto`.
    pub language_preference: Option<LanguagePreference>,
    /// ISO 8601; without an offset it is UTC.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub scheduled_at: Option<String>,
}

/// `PATCH /api/meetings/{id}/`.
#[derive(ToSchema)]
pub struct MeetingPatch {
    pub organization: Option<Uuid>,
    #[schema(min_length = 1, max_length = 500)]
    pub title: Option<String>,
    #[schema(max_length = 10000)]
    pub description: Option<String>,
    pub language_preference: Option<LanguagePreference>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub scheduled_at: Option<String>,
}

impl MeetingRequest {
    /// Every field's errors at once; `reach(org)` answers whether the named organization exists
    /// and the caller belongs to it (DRF validates the related field with the others).
    /// `required`: POST and PUT need `organization` and `title`.
    pub async fn parse<F, Fut>(body: &Value, required: bool, reach: F) -> ApiResult<MeetingChanges>
    where
        F: FnOnce(Uuid) -> Fut,
        Fut: Future<Output = ApiResult<OrganizationReach>>,
    {
        let mut f = Fields::new(body)?;
        let organization = f.pk("organization", required);
        let title_rule = Text::max(TITLE_MAX_CHARS);
        let title = if required {
            f.required_text("title", title_rule)
        } else {
            f.optional_text("title", title_rule)
        };
        let description = f.optional_text("description", Text::blank_ok(DESCRIPTION_MAX_CHARS));
        let language = f.optional_choice::<LanguagePreference>("language_preference");
        let scheduled_at = f.optional_datetime("scheduled_at");
        if let Some((org, shown)) = &organization {
            match reach(*org).await? {
                OrganizationReach::Member => {}
                OrganizationReach::Outsider => f.error("organization", NO_ACCESS_TO_ORGANIZATION),
                OrganizationReach::Unknown => f.error("organization", pk_does_not_exist(shown)),
            }
        }
        f.finish()?;
        Ok(MeetingChanges {
            organization_id: organization.map(|(org, _)| org),
            title,
            description,
            language_preference: language,
            scheduled_at,
        })
    }
}

/// The largest live `config`, in bytes of compact JSON.
pub const LIVE_CONFIG_MAX_BYTES: usize = 8 * 1024;
/// The deepest live `config`: the object itself is level 1.
pub const LIVE_CONFIG_MAX_DEPTH: usize = 8;

/// `POST /api/meetings/{id}/live/start/`.
#[derive(ToSchema)]
pub struct LiveStartRequest {
    /// Stored as the session's `config_json`; default `{}`. An object of at most 8,192 bytes
    /// as compact JSON, nested at most 8 levels (the object is level 1), with no U+0000.
    #[schema(value_type = Option<Object>)]
    pub config: Option<Value>,
}

impl LiveStartRequest {
    /// The config object (`{}` when absent).
    pub fn parse(body: &Value) -> ApiResult<Value> {
        let mut f = Fields::new(body)?;
        let config = match f.raw("config") {
            None => Value::Object(Default::default()),
            // PostgreSQL's jsonb cannot hold U+0000 (in a key or a string): refused here
            // rather than failing the insert.
            Some(value @ Value::Object(map)) => {
                if has_nul(value) {
                    f.error("config", NULL_CHARACTER);
                } else if json_depth(value) > LIVE_CONFIG_MAX_DEPTH {
                    f.error(
                        "config",
                        format!(
                            "Ensure this value is nested at most {LIVE_CONFIG_MAX_DEPTH} levels deep."
                        ),
                    );
                } else if serde_json::to_vec(value).map_or(usize::MAX, |v| v.len())
                    > LIVE_CONFIG_MAX_BYTES
                {
                    f.error(
                        "config",
                        format!(
                            "Ensure this value has at most {LIVE_CONFIG_MAX_BYTES} bytes as JSON."
                        ),
                    );
                }
                Value::Object(map.clone())
            }
            Some(other) => {
                f.error("config", dict_expected(other));
                Value::Null
            }
        };
        f.finish()?;
        Ok(config)
    }
}

/// `PATCH /api/meetings/{id}/speakers/{speaker_id}/`.
#[derive(ToSchema)]
pub struct SpeakerPatch {
    /// Trimmed; empty, `null` or absent changes nothing.
    #[schema(max_length = 255)]
    pub display_name: Option<String>,
}

impl SpeakerPatch {
    /// The new display name, or `None` for "change nothing".
    pub fn parse(body: &Value) -> ApiResult<Option<String>> {
        let mut f = Fields::new(body)?;
        if f.raw("display_name").is_none_or(Value::is_null) {
            return Ok(None);
        }
        let name = f.optional_text("display_name", Text::blank_ok(usize::MAX));
        f.finish()?;
        match name {
            Some(name) if name.chars().count() > DISPLAY_NAME_MAX_CHARS => {
                Err(ApiError::bad_request(DISPLAY_NAME_TOO_LONG))
            }
            Some(name) if name.is_empty() => Ok(None),
            other => Ok(other),
        }
    }
}

#[cfg(test)]
mod tests;
