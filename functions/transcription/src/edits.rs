//! Editing a meeting's minutes (contract §2.5 `PUT`/`PATCH minutes/`, decision 4: a version
//! on every edit), their versions (`minutes/versions/`) and the difference between two of them
//! (`minutes/versions/{from_id}/diff/{to_id}/`).
//!
//! **Optimistic concurrency.** `GET minutes/` answers `ETag: "<version>"`. An edit may name the
//! version it was made from, with `If-Match: "<version>"` or a body field `version`; when that
//! is not the current version nothing is written and the answer is 412 (`If-Match`) or 409
//! (`version`) with [`stale_detail`]. The check and the write are one statement
//! ([`meetin_data::minutes::edit`]), so of two edits made from the same version exactly one
//! applies.

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};

use http::{HeaderMap, StatusCode, header};
use meetin_core::Access;
use meetin_core::pagination::Page;
use meetin_core::validation::{Fields, NULL, NULL_CHARACTER, Text};
use meetin_data::minutes::{self, Expected, Minutes, MinutesEdit, MinutesVersion};
use meetin_http::docs::{DetailBody, FieldErrorsBody};
use meetin_http::extract::path_uuid;
use meetin_http::{ApiError, ApiResult, AuthUser, JsonBody, PageRequest, PathParams};
use meetin_vocab::drf;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::MeetingPath;
use crate::minutes::{MinutesJson, etag, with_etag};
use crate::state::TranscriptionState;
use meetin_vocab::OutputLanguage;

pub use minutes::{CONTENT_JSON_MAX_BYTES, CONTENT_MD_MAX_CHARS};

/// The detail of a 412 (stale `If-Match`) or 409 (stale `version`): `current` is the version
/// the minutes are at now.
pub fn stale_detail(current: i32) -> String {
    format!(
        "The minutes changed since you read them (now version {current}). Reload them and \
         apply your edit again."
    )
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
        let content_json = object_field(&mut f, "content_json");
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

/// An optional JSON object field (DRF `DictField`'s message otherwise). PostgreSQL's `jsonb`
/// cannot hold U+0000, so a NUL anywhere in it is refused as in a text field.
fn object_field(f: &mut Fields<'_>, field: &str) -> Option<Value> {
    let value = f.raw(field)?;
    match value {
        Value::Object(_) if has_nul(value) => {
            f.error(field, NULL_CHARACTER);
            None
        }
        Value::Object(_) if value.to_string().len() > CONTENT_JSON_MAX_BYTES => {
            f.error(
                field,
                format!("Ensure this value is at most {CONTENT_JSON_MAX_BYTES} bytes of JSON."),
            );
            None
        }
        Value::Object(_) => Some(value.clone()),
        Value::Null => {
            f.error(field, NULL);
            None
        }
        other => {
            f.error(
                field,
                format!(
                    "Expected a dictionary of items but got type \"{}\".",
                    python_type(other)
                ),
            );
            None
        }
    }
}

fn has_nul(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(has_nul),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

pub(crate) fn python_type(value: &Value) -> &'static str {
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

/// What `If-Match` asks for (RFC 9110 §13.1.1, strong comparison).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IfMatch {
    /// `*`: any current minutes.
    Any,
    /// The versions of the strong tags `"N"` given (a bare `N` is read as `"N"`). Weak tags
    /// (`W/"N"`) and anything else match nothing, so a list of only those is never met.
    Versions(Vec<i32>),
}

impl IfMatch {
    /// Every `If-Match` header of the request, or `None` when there is none.
    pub fn from_headers(headers: &HeaderMap) -> Option<Self> {
        let mut values = headers.get_all(header::IF_MATCH).iter().peekable();
        values.peek()?;
        let mut versions = Vec::new();
        for value in values {
            let Ok(text) = value.to_str() else { continue };
            for tag in text.split(',').map(str::trim) {
                if tag == "*" {
                    return Some(Self::Any);
                }
                let digits = tag
                    .strip_prefix('"')
                    .and_then(|t| t.strip_suffix('"'))
                    .unwrap_or(tag);
                if !digits.is_empty()
                    && digits.bytes().all(|b| b.is_ascii_digit())
                    && let Ok(version) = digits.parse::<i32>()
                {
                    versions.push(version);
                }
            }
        }
        Some(Self::Versions(versions))
    }

    /// The versions the write is conditioned on (`None`: any).
    fn versions(&self) -> Option<&[i32]> {
        match self {
            Self::Any => None,
            Self::Versions(v) => Some(v),
        }
    }
}

/// 412 or 409 with [`stale_detail`] and the current `ETag`, so the client can reload.
fn stale(status: StatusCode, current: i32) -> Response {
    let mut response = ApiError::detail(status, stale_detail(current)).into_response();
    response.headers_mut().insert(header::ETAG, etag(current));
    response
}

/// Which precondition `current` fails, if any: `If-Match` first (412), then `version` (409).
fn failed_precondition(
    if_match: Option<&[i32]>,
    version: Option<i32>,
    current: i32,
) -> Option<StatusCode> {
    if if_match.is_some_and(|tags| !tags.contains(&current)) {
        Some(StatusCode::PRECONDITION_FAILED)
    } else if version.is_some_and(|v| v != current) {
        Some(StatusCode::CONFLICT)
    } else {
        None
    }
}

/// PUT and PATCH: who may write, that there are minutes, `If-Match` (before the body is
/// read, RFC 9110 §13.2.1), the body, `version`, then the conditional write.
async fn edit(
    state: &TranscriptionState,
    caller: Uuid,
    meeting: Uuid,
    headers: &HeaderMap,
    body: &Value,
) -> ApiResult<Response> {
    let pool = &state.app.pool;
    meetin_http::access::meeting(pool, caller, meeting, Access::Write).await?;
    let Some(current) = minutes::for_meeting(pool, caller, meeting).await? else {
        return Err(minutes_gone(pool, caller, meeting).await);
    };
    let if_match = IfMatch::from_headers(headers);
    let tags = if_match.as_ref().and_then(IfMatch::versions);
    if let Some(status) = failed_precondition(tags, None, current.version) {
        return Ok(stale(status, current.version));
    }
    let parsed = MinutesEditRequest::parse(body)?;
    if let Some(status) = failed_precondition(tags, parsed.version, current.version) {
        return Ok(stale(status, current.version));
    }
    // Nothing to change: no write, no version.
    let written: Minutes = if parsed.edit == MinutesEdit::default() {
        current
    } else {
        let expected = Expected {
            any_of: tags,
            version: parsed.version,
        };
        match minutes::edit(pool, caller, meeting, &parsed.edit, expected).await {
            Ok(Some(written)) => written,
            // Another write came first, or the caller lost access or the meeting was deleted
            // since the check.
            Ok(None) => {
                let Some(now) = minutes::for_meeting(pool, caller, meeting).await? else {
                    return Err(minutes_gone(pool, caller, meeting).await);
                };
                return match failed_precondition(tags, parsed.version, now.version) {
                    Some(status) => Ok(stale(status, now.version)),
                    None => Err(crate::recheck(pool, caller, meeting, None).await),
                };
            }
            Err(e) => return Err(crate::write_failed(pool, caller, meeting, e).await),
        }
    };
    let items = minutes::action_items_of(pool, caller, meeting).await?;
    Ok(with_etag(MinutesJson::new(written, items)))
}

/// No minutes after the access check: the meeting's 404 when it was deleted meanwhile, a 403
/// when the caller lost write access, else `No Minutes matches the given query.`.
async fn minutes_gone(pool: &meetin_data::PgPool, caller: Uuid, meeting: Uuid) -> ApiError {
    crate::recheck(pool, caller, meeting, Some(ApiError::no_match("Minutes"))).await
}

/// Replaces the minutes' content (members and admins). Fields left out keep their values (no
/// field is required: see [`MinutesEditRequest`]). Each write bumps `version`, sets
/// `updated_at` and records a version (`edit`, by the caller); a body with none of the
/// writable fields writes nothing.
#[utoipa::path(
    put, path = "/api/transcription/meetings/{meeting_id}/minutes/", tag = "transcription", operation_id = "transcription_minutes_replace",
    params(
        ("meeting_id" = uuid::Uuid, Path, description = "Meeting id"),
        ("If-Match" = Option<String>, Header, description = "`\"<version>\"`, the `ETag` of `GET minutes/`: write only if the minutes are still at that version"),
    ),
    request_body = MinutesEditRequest,
    responses(
        (status = 200, description = "The minutes as written", body = MinutesJson, headers(("ETag" = String, description = "`\"<version>\"`: the new version"))),
        (status = 400, description = "Field errors, e.g. `{\"output_language\": [\"\\\"de\\\" is not a valid choice.\"]}`", body = FieldErrorsBody),
        (status = 403, description = "A viewer of the meeting's organization", body = DetailBody),
        (status = 404, description = "`No Meeting matches the given query.` or `No Minutes matches the given query.`", body = DetailBody),
        (status = 409, description = "The body's `version` is not the current one: `The minutes changed since you read them (now version N). Reload them and apply your edit again.`; nothing written", body = DetailBody, headers(("ETag" = String, description = "`\"<version>\"`: the current version"))),
        (status = 412, description = "`If-Match` names another version (same detail); nothing written", body = DetailBody, headers(("ETag" = String, description = "`\"<version>\"`: the current version"))),
    ),
    security(("jwt" = []))
)]
pub async fn replace(
    State(state): State<TranscriptionState>,
    AuthUser(caller): AuthUser,
    PathParams(MeetingPath { meeting_id }): PathParams<MeetingPath>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    edit(&state, caller.id, meeting_id, &headers, &body).await
}

/// Changes the given fields of the minutes (members and admins), as PUT does.
#[utoipa::path(
    patch, path = "/api/transcription/meetings/{meeting_id}/minutes/", tag = "transcription", operation_id = "transcription_minutes_update",
    params(
        ("meeting_id" = uuid::Uuid, Path, description = "Meeting id"),
        ("If-Match" = Option<String>, Header, description = "`\"<version>\"`, the `ETag` of `GET minutes/`: write only if the minutes are still at that version"),
    ),
    request_body = MinutesEditRequest,
    responses(
        (status = 200, description = "The minutes as written", body = MinutesJson, headers(("ETag" = String, description = "`\"<version>\"`: the new version"))),
        (status = 400, description = "Field errors", body = FieldErrorsBody),
        (status = 403, description = "A viewer of the meeting's organization", body = DetailBody),
        (status = 404, description = "`No Meeting matches the given query.` or `No Minutes matches the given query.`", body = DetailBody),
        (status = 409, description = "The body's `version` is not the current one; nothing written", body = DetailBody, headers(("ETag" = String, description = "`\"<version>\"`: the current version"))),
        (status = 412, description = "`If-Match` names another version; nothing written", body = DetailBody, headers(("ETag" = String, description = "`\"<version>\"`: the current version"))),
    ),
    security(("jwt" = []))
)]
pub async fn update(
    State(state): State<TranscriptionState>,
    AuthUser(caller): AuthUser,
    PathParams(MeetingPath { meeting_id }): PathParams<MeetingPath>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    edit(&state, caller.id, meeting_id, &headers, &body).await
}

/// One version of a meeting's minutes in the versions list (contract §2.5
/// `minutes/versions/`, plus `version`, `source` and `output_language`). Its `content_md` is
/// left out (a page of 20 with it could pass Lambda's 6 MB): `GET minutes/versions/{id}/`
/// answers it.
#[derive(Debug, Serialize, ToSchema)]
pub struct MinutesVersionJson {
    pub id: Uuid,
    /// The minutes' `version` this write made.
    pub version: i32,
    /// `generation` or `edit`.
    pub source: String,
    /// At most 131,072 bytes of JSON.
    #[schema(value_type = Object)]
    pub content_json: Value,
    pub output_language: OutputLanguage,
    /// Who asked for the generation or made the edit.
    pub created_by: Option<Uuid>,
    pub created_by_email: Option<String>,
    pub created_at: drf::DateTime,
}

impl From<MinutesVersion> for MinutesVersionJson {
    fn from(v: MinutesVersion) -> Self {
        Self {
            id: v.id,
            version: v.version,
            source: v.source,
            content_json: v.content_json,
            output_language: v.output_language,
            created_by: v.created_by_id,
            created_by_email: v.created_by_email,
            created_at: v.created_at.into(),
        }
    }
}

/// One version of a meeting's minutes with all its content (`GET minutes/versions/{id}/`).
#[derive(Debug, Serialize, ToSchema)]
pub struct MinutesVersionDetailJson {
    #[serde(flatten)]
    pub version: MinutesVersionJson,
    /// The Markdown this write left (at most 100,000 characters).
    pub content_md: String,
}

impl From<MinutesVersion> for MinutesVersionDetailJson {
    fn from(mut v: MinutesVersion) -> Self {
        let content_md = std::mem::take(&mut v.content_md);
        Self {
            version: v.into(),
            content_md,
        }
    }
}

/// The versions of the meeting's minutes, newest first (`-created_at`, then `-version`), 20
/// a page (any role), without their `content_md`; an empty page when there are no minutes.
#[utoipa::path(
    get, path = "/api/transcription/meetings/{meeting_id}/minutes/versions/", tag = "transcription", operation_id = "transcription_minutes_versions",
    params(
        ("meeting_id" = uuid::Uuid, Path, description = "Meeting id"),
        ("page" = Option<String>, Query, description = "Page number (20 a page) or `last`"),
    ),
    responses(
        (status = 200, description = "A page of versions", body = Page<MinutesVersionJson>),
        (status = 404, description = "`No Meeting matches the given query.` or `Invalid page.`", body = DetailBody),
    ),
    security(("jwt" = []))
)]
pub async fn versions(
    State(state): State<TranscriptionState>,
    AuthUser(caller): AuthUser,
    PathParams(MeetingPath { meeting_id }): PathParams<MeetingPath>,
    page: PageRequest,
) -> ApiResult<Json<Page<MinutesVersionJson>>> {
    let pool = &state.app.pool;
    meetin_http::access::meeting(pool, caller.id, meeting_id, Access::Read).await?;
    let page = page
        .load(
            minutes::count_versions(pool, caller.id, meeting_id),
            |limit, offset| minutes::list_versions(pool, caller.id, meeting_id, limit, offset),
        )
        .await?;
    Ok(Json(page.map(MinutesVersionJson::from)))
}

/// `/api/transcription/meetings/{meeting_id}/minutes/versions/{id}/`.
#[derive(Debug, Deserialize)]
pub struct VersionPath {
    #[serde(deserialize_with = "path_uuid")]
    pub meeting_id: Uuid,
    #[serde(deserialize_with = "path_uuid")]
    pub id: Uuid,
}

/// One version of the meeting's minutes with its `content_md` (any role).
#[utoipa::path(
    get, path = "/api/transcription/meetings/{meeting_id}/minutes/versions/{id}/", tag = "transcription", operation_id = "transcription_minutes_version",
    params(
        ("meeting_id" = uuid::Uuid, Path, description = "Meeting id"),
        ("id" = uuid::Uuid, Path, description = "The version's id"),
    ),
    responses(
        (status = 200, description = "The version", body = MinutesVersionDetailJson),
        (status = 404, description = "`No Meeting matches the given query.`, or `No MinutesVersion matches the given query.` (not a version of this meeting's minutes)", body = DetailBody),
    ),
    security(("jwt" = []))
)]
pub async fn version(
    State(state): State<TranscriptionState>,
    AuthUser(caller): AuthUser,
    PathParams(VersionPath { meeting_id, id }): PathParams<VersionPath>,
) -> ApiResult<Json<MinutesVersionDetailJson>> {
    let pool = &state.app.pool;
    meetin_http::access::meeting(pool, caller.id, meeting_id, Access::Read).await?;
    minutes::find_version(pool, caller.id, meeting_id, id)
        .await?
        .map(|v| Json(v.into()))
        .ok_or_else(|| ApiError::no_match("MinutesVersion"))
}

/// `/api/transcription/meetings/{meeting_id}/minutes/versions/{from_id}/diff/{to_id}/`.
#[derive(Debug, Deserialize)]
pub struct DiffPath {
    #[serde(deserialize_with = "path_uuid")]
    pub meeting_id: Uuid,
    #[serde(deserialize_with = "path_uuid")]
    pub from_id: Uuid,
    #[serde(deserialize_with = "path_uuid")]
    pub to_id: Uuid,
}

/// A version a diff compares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct VersionRef {
    /// The version's id.
    pub id: Uuid,
    /// The minutes' version number it recorded.
    pub version: i32,
}

/// One field that differs between two versions.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FieldChange {
    /// `content_json.<top-level key>`, `content_md` or `output_language`.
    pub field: String,
    /// The value in `from`; `null` when the key is absent there.
    pub from: Value,
    /// The value in `to`; `null` when the key is absent there.
    pub to: Value,
}

/// What changed from one version of the minutes to another.
#[derive(Debug, Serialize, ToSchema)]
pub struct MinutesDiffJson {
    pub from: VersionRef,
    pub to: VersionRef,
    /// Only the fields that differ: the `content_json` keys in sorted order, then
    /// `content_md`, then `output_language`.
    pub changes: Vec<FieldChange>,
}

/// The fields that differ from `from` to `to`: each top-level key of `content_json` (sorted;
/// an absent key reads as `null`, so absent and `null` are the same), then `content_md`, then
/// `output_language`.
pub fn changes(from: &MinutesVersion, to: &MinutesVersion) -> Vec<FieldChange> {
    let empty = serde_json::Map::new();
    let object = |v: &MinutesVersion| match &v.content_json {
        Value::Object(map) => map.clone(),
        _ => empty.clone(),
    };
    let (old, new) = (object(from), object(to));
    let keys: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    let mut out: Vec<FieldChange> = keys
        .into_iter()
        .filter_map(|key| {
            let a = old.get(key).cloned().unwrap_or(Value::Null);
            let b = new.get(key).cloned().unwrap_or(Value::Null);
            (a != b).then(|| FieldChange {
                field: format!("content_json.{key}"),
                from: a,
                to: b,
            })
        })
        .collect();
    if from.content_md != to.content_md {
        out.push(FieldChange {
            field: "content_md".into(),
            from: Value::String(from.content_md.clone()),
            to: Value::String(to.content_md.clone()),
        });
    }
    if from.output_language != to.output_language {
        out.push(FieldChange {
            field: "output_language".into(),
            from: Value::from(from.output_language.as_str()),
            to: Value::from(to.output_language.as_str()),
        });
    }
    out
}

/// What changed between two versions of the meeting's minutes, field by field (any role).
/// The versions may be given in either order.
#[utoipa::path(
    get, path = "/api/transcription/meetings/{meeting_id}/minutes/versions/{from_id}/diff/{to_id}/", tag = "transcription", operation_id = "transcription_minutes_versions_diff",
    params(
        ("meeting_id" = uuid::Uuid, Path, description = "Meeting id"),
        ("from_id" = uuid::Uuid, Path, description = "The id of the version to compare from"),
        ("to_id" = uuid::Uuid, Path, description = "The id of the version to compare to"),
    ),
    responses(
        (status = 200, description = "The fields that differ", body = MinutesDiffJson),
        (status = 404, description = "`No Meeting matches the given query.`, or `No MinutesVersion matches the given query.` (not a version of this meeting's minutes)", body = DetailBody),
    ),
    security(("jwt" = []))
)]
pub async fn diff(
    State(state): State<TranscriptionState>,
    AuthUser(caller): AuthUser,
    PathParams(DiffPath {
        meeting_id,
        from_id,
        to_id,
    }): PathParams<DiffPath>,
) -> ApiResult<Json<MinutesDiffJson>> {
    let pool = &state.app.pool;
    meetin_http::access::meeting(pool, caller.id, meeting_id, Access::Read).await?;
    let find = |id| async move {
        minutes::find_version(pool, caller.id, meeting_id, id)
            .await?
            .ok_or_else(|| ApiError::no_match("MinutesVersion"))
    };
    let from = find(from_id).await?;
    let to = find(to_id).await?;
    Ok(Json(MinutesDiffJson {
        from: VersionRef {
            id: from.id,
            version: from.version,
        },
        to: VersionRef {
            id: to.id,
            version: to.version,
        },
        changes: changes(&from, &to),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use meetin_core::Refusal;
    use serde_json::json;

    fn version(content_json: Value, md: &str, language: &str) -> MinutesVersion {
        MinutesVersion {
            id: Uuid::new_v4(),
            minutes_id: Uuid::nil(),
            version: 1,
            source: "edit".into(),
            content_json,
            content_md: md.into(),
            output_language: language.parse().expect("en or fr"),
            created_by_id: None,
            created_by_email: None,
            created_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn changes_list_only_what_differs_in_a_stable_order() {
        let a = version(
            json!({"summary": "Old", "key_points": ["a"], "attendees": ["Ann"], "gone": 1}),
            "# Old",
            "en",
        );
        let b = version(
            json!({"summary": "New", "key_points": ["a"], "attendees": ["Ann", "Bo"], "new": null, "added": {"x": 1}}),
            "# Old",
            "fr",
        );
        let got = changes(&a, &b);
        let fields: Vec<&str> = got.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "content_json.added",
                "content_json.attendees",
                "content_json.gone",
                "content_json.summary",
                "output_language"
            ]
        );
        assert_eq!(got[0].from, Value::Null);
        assert_eq!(got[0].to, json!({"x": 1}));
        assert_eq!(got[2].from, json!(1));
        assert_eq!(got[2].to, Value::Null);
        assert_eq!(
            (got[4].from.clone(), got[4].to.clone()),
            (json!("en"), json!("fr"))
        );
        assert!(changes(&a, &a).is_empty());
        // content_md is listed when it differs.
        let c = version(a.content_json.clone(), "# New", "en");
        assert_eq!(
            changes(&a, &c),
            [FieldChange {
                field: "content_md".into(),
                from: json!("# Old"),
                to: json!("# New"),
            }]
        );
    }

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(header::IF_MATCH, HeaderValue::from_str(v).expect("header"));
        }
        h
    }

    #[test]
    fn if_match_reads_strong_tags_and_star() {
        assert_eq!(IfMatch::from_headers(&headers(&[])), None);
        assert_eq!(
            IfMatch::from_headers(&headers(&["\"3\""])),
            Some(IfMatch::Versions(vec![3]))
        );
        assert_eq!(
            IfMatch::from_headers(&headers(&["\"3\", W/\"4\", \"x\"", "5"])),
            Some(IfMatch::Versions(vec![3, 5]))
        );
        assert_eq!(
            IfMatch::from_headers(&headers(&["W/\"4\""])),
            Some(IfMatch::Versions(vec![]))
        );
        assert_eq!(
            IfMatch::from_headers(&headers(&["\"1\", *"])),
            Some(IfMatch::Any)
        );
        assert_eq!(
            IfMatch::from_headers(&headers(&["\"99999999999\""])),
            Some(IfMatch::Versions(vec![]))
        );
    }

    #[test]
    fn preconditions_if_match_first() {
        let tags = [2];
        assert_eq!(failed_precondition(None, None, 3), None);
        assert_eq!(failed_precondition(Some(&[3][..]), Some(3), 3), None);
        assert_eq!(
            failed_precondition(Some(&tags[..]), Some(1), 3),
            Some(StatusCode::PRECONDITION_FAILED)
        );
        assert_eq!(
            failed_precondition(None, Some(1), 3),
            Some(StatusCode::CONFLICT)
        );
        assert_eq!(
            failed_precondition(Some(&[][..]), None, 3),
            Some(StatusCode::PRECONDITION_FAILED)
        );
    }

    #[test]
    fn edits_parse_drf_style() {
        let parsed = MinutesEditRequest::parse(
            &json!({"content_md": "  # Hi  ", "output_language": "fr", "version": "4", "id": "ignored"}),
        )
        .expect("valid");
        assert_eq!(parsed.version, Some(4));
        assert_eq!(parsed.edit.content_md.as_deref(), Some("# Hi"));
        assert_eq!(parsed.edit.output_language, Some(OutputLanguage::Fr));
        assert_eq!(parsed.edit.content_json, None);
        let refusal = |body: Value| match MinutesEditRequest::parse(&body) {
            Err(ApiError::Refused(Refusal::Fields(errors))) => errors.to_json(),
            other => panic!("not field errors: {other:?}"),
        };
        assert_eq!(
            refusal(json!({
                "content_json": [1],
                "content_md": 5,
                "output_language": "de",
                "version": "x"
            })),
            json!({
                "content_json": ["Expected a dictionary of items but got type \"list\"."],
                "output_language": ["\"de\" is not a valid choice."],
                "version": ["A valid integer is required."]
            }),
            "a number is text to DRF"
        );
        assert_eq!(
            refusal(json!({"content_json": null, "content_md": null, "version": 0})),
            json!({
                "content_json": [NULL],
                "content_md": [NULL],
                "version": ["Ensure this value is greater than or equal to 1."]
            })
        );
        assert_eq!(
            refusal(json!({"content_json": {"a": ["b\u{0}"]}})),
            json!({"content_json": [NULL_CHARACTER]})
        );
        let huge = "x".repeat(CONTENT_JSON_MAX_BYTES);
        assert_eq!(
            refusal(json!({"content_json": {"summary": huge}})),
            json!({"content_json": ["Ensure this value is at most 131072 bytes of JSON."]})
        );
    }
}
