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

use http::{StatusCode, header};
use meetin_core::Access;
use meetin_core::pagination::Page;
use meetin_data::minutes::{self, Expected, Minutes, MinutesEdit, MinutesVersion};
use meetin_http::docs::{DetailBody, FieldErrorsBody};
use meetin_http::extract::path_uuid;
use meetin_http::responses::{self, MeetingList, MeetingWrite};
use meetin_http::{ApiError, ApiResult, AuthUser, IfMatch, JsonBody, PageRequest, PathParams};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use crate::MeetingPath;
use crate::json::{
    FieldChange, MinutesDiffJson, MinutesEditRequest, MinutesJson, MinutesVersionDetailJson,
    MinutesVersionJson, VersionRef,
};
use crate::minutes::{etag, with_etag};
use crate::state::TranscriptionState;

pub use minutes::{CONTENT_JSON_MAX_BYTES, CONTENT_MD_MAX_CHARS};

/// The detail of a 412 (stale `If-Match`) or 409 (stale `version`): `current` is the version
/// the minutes are at now.
pub fn stale_detail(current: i32) -> String {
    format!(
        "The minutes changed since you read them (now version {current}). Reload them and \
         apply your edit again."
    )
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
    if_match: Option<IfMatch>,
    body: &Value,
) -> ApiResult<Response> {
    let pool = &state.app.pool;
    meetin_http::access::meeting(pool, caller, meeting, Access::Write).await?;
    let Some(current) = minutes::for_meeting(pool, caller, meeting).await? else {
        return Err(minutes_gone(pool, caller, meeting).await);
    };
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
        MeetingWrite::<responses::Minutes>,
        (status = 409, description = "The body's `version` is not the current one: `The minutes changed since you read them (now version N). Reload them and apply your edit again.`; nothing written", body = DetailBody, headers(("ETag" = String, description = "`\"<version>\"`: the current version"))),
        (status = 412, description = "`If-Match` names another version (same detail); nothing written", body = DetailBody, headers(("ETag" = String, description = "`\"<version>\"`: the current version"))),
    ),
    security(("jwt" = []))
)]
pub async fn replace(
    State(state): State<TranscriptionState>,
    AuthUser(caller): AuthUser,
    PathParams(MeetingPath { meeting_id }): PathParams<MeetingPath>,
    if_match: Option<IfMatch>,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    edit(&state, caller.id, meeting_id, if_match, &body).await
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
        MeetingWrite::<responses::Minutes>,
        (status = 409, description = "The body's `version` is not the current one; nothing written", body = DetailBody, headers(("ETag" = String, description = "`\"<version>\"`: the current version"))),
        (status = 412, description = "`If-Match` names another version; nothing written", body = DetailBody, headers(("ETag" = String, description = "`\"<version>\"`: the current version"))),
    ),
    security(("jwt" = []))
)]
pub async fn update(
    State(state): State<TranscriptionState>,
    AuthUser(caller): AuthUser,
    PathParams(MeetingPath { meeting_id }): PathParams<MeetingPath>,
    if_match: Option<IfMatch>,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    edit(&state, caller.id, meeting_id, if_match, &body).await
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
        MeetingList,
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
mod tests;
