//! The JSON this function speaks: the contract's Meeting, LiveSession, Recording and Speaker
//! shapes, and each request body's documented schema beside its parser. Parsers collect every
//! field's errors at once (DRF's behaviour) and use the limits the schemas document (checked
//! by `tests::schema_limits_are_the_parsers`).

use std::future::Future;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use meetin_core::validation::{Fields, NULL, NULL_CHARACTER, REQUIRED, Text};
use meetin_data::live_sessions::LiveSession;
use meetin_data::meetings::{CreatedMeeting, MeetingChanges, MeetingDetail};
use meetin_data::speakers::Speaker;
use meetin_http::{ApiError, ApiResult};
use meetin_vocab::drf;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

pub use meetin_vocab::{LanguagePreference, LiveSessionStatus, RecordingStatus};

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
/// DRF `DateTimeField`'s message (with `ISO_8601` as the only input format).
pub const DATETIME_FORMAT: &str = "Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].";
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
        let organization = organization_field(&mut f, required);
        let title_rule = Text::max(TITLE_MAX_CHARS);
        let title = if required {
            f.required_text("title", title_rule)
        } else {
            f.optional_text("title", title_rule)
        };
        let description = f.optional_text("description", Text::blank_ok(DESCRIPTION_MAX_CHARS));
        let language = f.optional_choice::<LanguagePreference>("language_preference");
        let scheduled_at = datetime_field(&mut f, "scheduled_at");
        if let Some((org, shown)) = &organization {
            match reach(*org).await? {
                OrganizationReach::Member => {}
                OrganizationReach::Outsider => f.error("organization", NO_ACCESS_TO_ORGANIZATION),
                OrganizationReach::Unknown => f.error(
                    "organization",
                    format!("Invalid pk \"{shown}\" - object does not exist."),
                ),
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

/// DRF `PrimaryKeyRelatedField` over a UUID key: the id and how the client wrote it.
fn organization_field(f: &mut Fields<'_>, required: bool) -> Option<(Uuid, String)> {
    const FIELD: &str = "organization";
    let Some(value) = f.raw(FIELD) else {
        if required {
            f.error(FIELD, REQUIRED);
        }
        return None;
    };
    let problem = match value {
        Value::String(s) => match Uuid::parse_str(s) {
            Ok(id) => return Some((id, shown(s))),
            Err(_) => format!("“{}” is not a valid UUID.", shown(s)),
        },
        Value::Null => NULL.to_owned(),
        other => format!(
            "Incorrect type. Expected pk value, received {}.",
            python_type(other)
        ),
    };
    f.error(FIELD, problem);
    None
}

/// An optional, nullable DRF `DateTimeField` (ISO 8601; naive times are UTC, as
/// `TIME_ZONE = "UTC"` makes them): `None` when absent, `Some(None)` for `null`.
fn datetime_field(f: &mut Fields<'_>, field: &str) -> Option<Option<DateTime<Utc>>> {
    let value = f.raw(field)?;
    match value {
        Value::Null => Some(None),
        Value::String(s) => match parse_datetime(s.trim()) {
            Some(at) => Some(Some(at)),
            None => {
                f.error(field, DATETIME_FORMAT);
                None
            }
        },
        _ => {
            f.error(field, DATETIME_FORMAT);
            None
        }
    }
}

/// What Python's `datetime.fromisoformat` (Django 5's first try) reads, within years
/// 1–9999: an offset or `Z`, or none (UTC); `T` or a space; optional seconds and fraction; a
/// date alone is its midnight.
pub fn parse_datetime(s: &str) -> Option<DateTime<Utc>> {
    let parsed = if let Ok(at) = DateTime::parse_from_rfc3339(s) {
        at.with_timezone(&Utc)
    } else if let Ok(at) = s.parse::<DateTime<chrono::FixedOffset>>() {
        at.with_timezone(&Utc)
    } else {
        let naive = [
            "%Y-%m-%dT%H:%M:%S%.f",
            "%Y-%m-%d %H:%M:%S%.f",
            "%Y-%m-%dT%H:%M",
            "%Y-%m-%d %H:%M",
        ]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(s, format).ok())
        .or_else(|| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })?;
        naive.and_utc()
    };
    use chrono::Datelike;
    (1..=9999).contains(&parsed.year()).then_some(parsed)
}

/// Echoing a megabyte of input back in an error helps nobody.
fn shown(s: &str) -> String {
    const MAX: usize = 64;
    if s.chars().count() <= MAX {
        s.to_owned()
    } else {
        format!("{}…", s.chars().take(MAX).collect::<String>())
    }
}

fn python_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
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
                } else if depth(value) > LIVE_CONFIG_MAX_DEPTH {
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
                f.error(
                    "config",
                    format!(
                        "Expected a dictionary of items but got type \"{}\".",
                        python_type(other)
                    ),
                );
                Value::Null
            }
        };
        f.finish()?;
        Ok(config)
    }
}

/// How deeply `value` nests: a scalar is 0, `{}` 1, `{"a": []}` 2. The body parser's
/// recursion limit (128) bounds the recursion.
fn depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
        Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => 0,
    }
}

/// Whether a key or string anywhere in `value` holds U+0000.
fn has_nul(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(has_nul),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
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
mod tests {
    use super::*;
    use serde_json::json;

    /// Each documented maxLength is the limit its parser enforces.
    #[test]
    fn schema_limits_are_the_parsers() {
        let doc = serde_json::to_value(<crate::Api as meetin_http::HttpFunction>::openapi())
            .expect("document");
        let max = |schema: &str, field: &str| {
            doc["components"]["schemas"][schema]["properties"][field]["maxLength"].as_u64()
        };
        let limit = |n: usize| Some(n as u64);
        for schema in ["MeetingRequest", "MeetingPatch"] {
            assert_eq!(max(schema, "title"), limit(TITLE_MAX_CHARS));
            assert_eq!(max(schema, "description"), limit(DESCRIPTION_MAX_CHARS));
        }
        assert_eq!(
            max("SpeakerPatch", "display_name"),
            limit(DISPLAY_NAME_MAX_CHARS)
        );
    }

    #[test]
    fn datetimes_as_django_reads_them() {
        let utc = |s: &str| parse_datetime(s).map(|d| d.to_rfc3339());
        assert_eq!(
            utc("2026-03-01T10:30:00Z").as_deref(),
            Some("2026-03-01T10:30:00+00:00")
        );
        assert_eq!(
            utc("2026-03-01T10:30:00+02:00").as_deref(),
            Some("2026-03-01T08:30:00+00:00")
        );
        assert_eq!(
            utc("2026-03-01 10:30").as_deref(),
            Some("2026-03-01T10:30:00+00:00")
        );
        assert_eq!(
            utc("2026-03-01").as_deref(),
            Some("2026-03-01T00:00:00+00:00")
        );
        for bad in ["tomorrow", "2026-13-01T00:00", "01/03/2026", ""] {
            assert_eq!(utc(bad), None, "{bad}");
        }
    }

    #[test]
    fn live_configs_are_bounded() {
        let error = |config: Value| match LiveStartRequest::parse(&json!({ "config": config })) {
            Err(ApiError::Refused(r)) => r.body()["config"][0].as_str().map(str::to_owned),
            Ok(_) => None,
            Err(other) => panic!("{other:?}"),
        };
        // The largest object that fits: {"a":"xx…"} is 8 bytes of framing.
        let fits = json!({ "a": "x".repeat(LIVE_CONFIG_MAX_BYTES - 8) });
        assert_eq!(
            serde_json::to_vec(&fits).expect("json").len(),
            LIVE_CONFIG_MAX_BYTES
        );
        assert_eq!(error(fits), None);
        assert_eq!(
            error(json!({ "a": "x".repeat(LIVE_CONFIG_MAX_BYTES - 7) })).as_deref(),
            Some("Ensure this value has at most 8192 bytes as JSON.")
        );
        // An escaped character counts as the bytes it is stored as.
        assert!(error(json!({ "a": "\u{1}".repeat(LIVE_CONFIG_MAX_BYTES / 6) })).is_some());
        let mut deep = json!(1);
        for _ in 0..LIVE_CONFIG_MAX_DEPTH - 1 {
            deep = json!([deep]);
        }
        assert_eq!(error(json!({ "a": deep.clone() })), None);
        assert_eq!(
            error(json!({ "a": [deep] })).as_deref(),
            Some("Ensure this value is nested at most 8 levels deep.")
        );
    }

    #[test]
    fn speaker_names() {
        assert_eq!(SpeakerPatch::parse(&json!({})).ok(), Some(None));
        assert_eq!(
            SpeakerPatch::parse(&json!({"display_name": "  "})).ok(),
            Some(None)
        );
        assert_eq!(
            SpeakerPatch::parse(&json!({"display_name": " Ann "})).ok(),
            Some(Some("Ann".into()))
        );
        let long = "x".repeat(DISPLAY_NAME_MAX_CHARS + 1);
        assert!(SpeakerPatch::parse(&json!({ "display_name": long })).is_err());
    }
}

/// `POST /api/meetings/{id}/recordings/initiate/`: every field optional; with none, a
/// `.webm` / `audio/webm` upload of unknown size (the original's only form).
#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
pub struct InitiateRequest {
    /// The client's file name; only its last extension is used (default `recording.webm`).
    #[schema(max_length = 255, example = "standup.wav")]
    pub filename: Option<String>,
    /// The MIME type the PUT will send (default from the extension, e.g. `audio/webm`).
    #[schema(max_length = 100, example = "audio/wav")]
    pub content_type: Option<String>,
    /// Bytes the PUT will send, 1 to 524 288 000 (500 MiB; 0 is `The submitted file is
    /// empty.`); when given, `complete`
    /// checks the object has exactly this size and the presigned PUT is signed for it.
    #[schema(minimum = 1, maximum = 524288000)]
    pub size_bytes: Option<i64>,
}

/// Longest `filename` and `content_type` accepted by `initiate`, in characters.
pub const FILENAME_MAX_CHARS: usize = 255;
pub const CONTENT_TYPE_MAX_CHARS: usize = 100;

/// Python's `int(value)` of a JSON value (`"12"` → 12, `12.9` → 12, `"12.5"` → none).
fn python_int_of(value: &Value) -> Option<i128> {
    match value {
        Value::Number(n) => n
            .as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from))
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.is_finite())
                    .map(|f| f.trunc() as i128)
            }),
        Value::String(s) => meetin_core::validation::python_int_literal(s),
        Value::Bool(b) => Some(i128::from(*b)),
        _ => None,
    }
}

/// An optional integer field in `min..=max`, with the contract's two `{"error"}` strings:
/// `<field> must be a valid integer` and `Invalid <field> value`. `null` counts as absent.
fn optional_bounded_int(body: &Value, field: &str, min: i128, max: i128) -> ApiResult<Option<i64>> {
    let Some(raw) = body.get(field).filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let n = python_int_of(raw)
        .ok_or_else(|| ApiError::bad_request(format!("{field} must be a valid integer")))?;
    if !(min..=max).contains(&n) {
        return Err(ApiError::bad_request(format!("Invalid {field} value")));
    }
    i64::try_from(n)
        .map(Some)
        .map_err(|_| ApiError::bad_request(format!("Invalid {field} value")))
}

impl InitiateRequest {
    /// The body's fields, checked as DRF serializer fields and refused all at once as field
    /// errors (`{"size_bytes": ["A valid integer is required."]}`): `filename` and
    /// `content_type` are `CharField`s (text, trimmed, no U+0000, at most 255 / 100
    /// characters), `size_bytes` an `IntegerField` (`true`, `12.5` and `"x"` are refused;
    /// `"12"` and `12.0` read as 12). `null` counts as absent. An empty body reads as `{}`,
    /// one that is not an object is DRF's `non_field_errors`. Then the upload's own `{"error"}`
    /// refusals: a declared size over 500 MiB is `File too large. Maximum size is 500MB.`,
    /// 0 is `The submitted file is empty.`.
    pub fn parse(body: &Value) -> ApiResult<Self> {
        let mut f = Fields::new(body)?;
        let given = |field: &str| body.get(field).is_some_and(|v| !v.is_null());
        let filename = if given("filename") {
            f.optional_text("filename", Text::blank_ok(FILENAME_MAX_CHARS))
        } else {
            None
        };
        let content_type = if given("content_type") {
            f.optional_text("content_type", Text::blank_ok(CONTENT_TYPE_MAX_CHARS))
        } else {
            None
        };
        let size_bytes = if given("size_bytes") {
            f.optional_int("size_bytes", 0, i64::MAX)
        } else {
            None
        };
        f.finish()?;
        match size_bytes {
            Some(s) if s > crate::media::MAX_RECORDING_BYTES => {
                Err(ApiError::bad_request(crate::media::TOO_LARGE))
            }
            // Nothing to upload, and nothing `complete` could check.
            Some(0) => Err(ApiError::bad_request(crate::media::EMPTY)),
            size_bytes => Ok(Self {
                filename,
                content_type,
                size_bytes,
            }),
        }
    }
}

/// `initiate`'s answer (200).
#[derive(Debug, Serialize, ToSchema)]
pub struct InitiatedJson {
    pub recording_id: Uuid,
    /// A presigned S3 `PUT` URL, valid 3600 s, for the key `uploads/{meeting_id}/{uuid}{ext}`;
    /// the PUT must send the `Content-Type` given (or defaulted) at `initiate`, and exactly
    /// `size_bytes` bytes when those were declared.
    pub upload_url: String,
    /// `recordings/{meeting_id}/{uuid}{ext}`: where `complete` copies the checked upload (no
    /// URL is ever issued for it).
    pub storage_key: String,
}

/// `POST /api/recordings/{id}/complete/` (and `/api/meetings/recordings/{id}/complete/`).
#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
pub struct CompleteRequest {
    /// Bytes uploaded, 0 to 524 288 000; must equal the object's size (and the size declared
    /// at `initiate`, if any). Python `int()` semantics: `"12"` and `12.9` read as 12.
    #[schema(minimum = 0, maximum = 524288000, value_type = Option<i64>)]
    pub size_bytes: Option<i64>,
    /// Milliseconds, 0 to 86 400 000.
    #[schema(minimum = 0, maximum = 86400000, value_type = Option<i32>)]
    pub duration_ms: Option<i32>,
}

/// Longest recording, in milliseconds (24 h, the table's CHECK).
pub const DURATION_MAX_MS: i32 = 86_400_000;

impl CompleteRequest {
    /// The contract's checks and strings, `size_bytes` first; a body that is not an object is
    /// DRF's 400 `non_field_errors`.
    pub fn parse(body: &Value) -> ApiResult<Self> {
        Fields::new(body).map_err(meetin_core::Refusal::from)?;
        let size_bytes = optional_bounded_int(
            body,
            "size_bytes",
            0,
            i128::from(crate::media::MAX_RECORDING_BYTES),
        )?;
        let duration_ms =
            optional_bounded_int(body, "duration_ms", 0, i128::from(DURATION_MAX_MS))?
                .and_then(|d| i32::try_from(d).ok());
        Ok(Self {
            size_bytes,
            duration_ms,
        })
    }
}

#[cfg(test)]
mod recording_body_tests {
    use super::*;
    use serde_json::json;

    fn error(r: ApiResult<impl std::fmt::Debug>) -> String {
        match r {
            Err(ApiError::Refused(refusal)) => refusal.body()["error"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn bodies_that_are_not_objects_are_refused() {
        for body in [
            json!([1, 2]),
            json!("str"),
            json!(5),
            json!(true),
            json!(null),
        ] {
            for refused in [
                InitiateRequest::parse(&body).map(|_| ()),
                CompleteRequest::parse(&body).map(|_| ()),
            ] {
                match refused {
                    Err(ApiError::Refused(r)) => {
                        assert!(
                            r.body()["non_field_errors"].is_array(),
                            "{body}: {:?}",
                            r.body()
                        )
                    }
                    other => panic!("{body}: {other:?}"),
                }
            }
        }
        assert!(InitiateRequest::parse(&json!({})).is_ok());
    }

    #[test]
    fn complete_reads_ints_as_python_does() {
        let ok =
            CompleteRequest::parse(&json!({"size_bytes": "12", "duration_ms": 12.9})).expect("ok");
        assert_eq!((ok.size_bytes, ok.duration_ms), (Some(12), Some(12)));
        assert_eq!(
            error(CompleteRequest::parse(&json!({"size_bytes": "12.5"}))),
            "size_bytes must be a valid integer"
        );
        assert_eq!(
            error(CompleteRequest::parse(&json!({"size_bytes": 524288001}))),
            "Invalid size_bytes value"
        );
        assert_eq!(
            error(CompleteRequest::parse(&json!({"duration_ms": -1}))),
            "Invalid duration_ms value"
        );
        assert_eq!(
            error(CompleteRequest::parse(&json!({"duration_ms": []}))),
            "duration_ms must be a valid integer"
        );
    }

    #[test]
    fn initiate_limits_are_the_schemas() {
        let long = "a".repeat(FILENAME_MAX_CHARS + 1);
        assert!(InitiateRequest::parse(&json!({"filename": long})).is_err());
        assert_eq!(
            error(InitiateRequest::parse(&json!({"size_bytes": 524288001}))),
            crate::media::TOO_LARGE
        );
        assert_eq!(
            InitiateRequest::parse(&json!({})).expect("empty").filename,
            None
        );
    }

    fn field_errors(r: ApiResult<impl std::fmt::Debug>) -> Value {
        match r {
            Err(ApiError::Refused(refusal @ meetin_core::Refusal::Fields(_))) => refusal.body(),
            other => panic!("expected field errors, got {other:?}"),
        }
    }

    #[test]
    fn initiate_refuses_what_drf_refuses_as_field_errors() {
        for size in [
            json!(true),
            json!(false),
            json!(12.5),
            json!("x"),
            json!([1]),
        ] {
            assert_eq!(
                field_errors(InitiateRequest::parse(&json!({ "size_bytes": size }))),
                json!({"size_bytes": ["A valid integer is required."]}),
                "{size}"
            );
        }
        assert_eq!(
            field_errors(InitiateRequest::parse(
                &json!({"filename": "a\u{0}.wav", "content_type": "audio/\u{0}wav", "size_bytes": true})
            )),
            json!({
                "filename": ["Null characters are not allowed."],
                "content_type": ["Null characters are not allowed."],
                "size_bytes": ["A valid integer is required."],
            })
        );
        assert_eq!(
            field_errors(InitiateRequest::parse(
                &json!({"filename": 5, "size_bytes": -1})
            ))["size_bytes"],
            json!(["Ensure this value is greater than or equal to 0."])
        );
        let ok = InitiateRequest::parse(
            &json!({"filename": " a.wav ", "size_bytes": "12", "content_type": null}),
        )
        .expect("ok");
        assert_eq!(
            (ok.filename.as_deref(), ok.size_bytes, ok.content_type),
            (Some("a.wav"), Some(12), None)
        );
    }
}
