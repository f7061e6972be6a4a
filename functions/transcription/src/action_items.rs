//! Action items (contract §2.5 `action-items/`): list and read (any role), create, replace,
//! change and delete (members and admins). Every user write marks the item `user_edited`, so
//! a regeneration of the minutes leaves it alone; an item created on a meeting without
//! minutes creates them (contract decision 3).

use axum::Json;
use axum::extract::State;
use chrono::NaiveDate;
use http::StatusCode;
use meetin_core::Access;
use meetin_core::pagination::Page;
use meetin_core::validation::{Fields, INVALID_UUID, NULL, Text};
use meetin_data::action_items::ActionItem;
use meetin_data::action_items::{self, ActionItemChanges, NewActionItem, NewItem};
use meetin_http::docs::{DetailBody, ErrorBody, FieldErrorsBody};
use meetin_http::extract::path_uuid;
use meetin_http::{ApiError, ApiResult, AuthUser, JsonBody, PageRequest, PathParams};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::MeetingPath;
use crate::edits::python_type;
use crate::minutes::{ActionItemJson, NO_TRANSCRIPT};
use crate::state::TranscriptionState;

const ACTION_ITEM: &str = "ActionItem";

pub use action_items::{
    DESCRIPTION_MAX_CHARS, MAX_PER_MEETING, SOURCE_SEGMENTS_MAX, TITLE_MAX_CHARS,
};

/// The 400 of `POST action-items/` on a meeting with [`MAX_PER_MEETING`] items.
pub fn too_many_items() -> String {
    format!("A meeting has at most {MAX_PER_MEETING} action items. Delete some first.")
}
/// DRF `DateField`'s message (with `ISO_8601` as the only input format).
pub const DATE_FORMAT: &str =
    "Date has wrong format. Use one of these formats instead: YYYY-MM-DD.";

/// The 400 of `POST action-items/`: field errors, or `{"error": "No transcript available for
/// this meeting"}`. (A schema only: the answers are built by `meetin_core::Refusal`.)
#[derive(ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum CreateItemRefusal {
    Fields(FieldErrorsBody),
    NoTranscript(ErrorBody),
}

/// `/api/transcription/meetings/{meeting_id}/action-items/{id}/`.
#[derive(Debug, Deserialize)]
pub struct ItemPath {
    #[serde(deserialize_with = "path_uuid")]
    pub meeting_id: Uuid,
    #[serde(deserialize_with = "path_uuid")]
    pub id: Uuid,
}

pub use meetin_vocab::{ItemStatus, Priority};

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

/// Parses an item body, every field's errors at once (DRF); `title` is required when
/// `required` (POST, PUT). The assignee must belong to the meeting's organization.
async fn parse(
    state: &TranscriptionState,
    caller: Uuid,
    meeting: Uuid,
    body: &Value,
    required: bool,
) -> ApiResult<ActionItemChanges> {
    let mut f = Fields::new(body)?;
    let title_rule = Text::max(TITLE_MAX_CHARS);
    let title = if required {
        f.required_text("title", title_rule)
    } else {
        f.optional_text("title", title_rule)
    };
    let description = f.optional_text("description", Text::blank_ok(DESCRIPTION_MAX_CHARS));
    let assignee = assignee_field(&mut f);
    let due_date = date_field(&mut f, "due_date");
    let priority = f.optional_choice::<Priority>("priority");
    let status = f.optional_choice::<ItemStatus>("status");
    let source_segment_ids = segment_ids_field(&mut f, "source_segment_ids");
    if let Some(Some((user, shown))) = &assignee
        && !action_items::may_be_assigned(&state.app.pool, caller, meeting, *user).await?
    {
        // The meeting deleted since the access check is its 404, not a field error.
        meetin_http::access::meeting(&state.app.pool, caller, meeting, Access::Read).await?;
        f.error(
            "assignee",
            format!("Invalid pk \"{shown}\" - object does not exist."),
        );
    }
    f.finish()?;
    Ok(ActionItemChanges {
        title,
        description,
        assignee_id: assignee.map(|a| a.map(|(id, _)| id)),
        due_date,
        priority,
        status,
        source_segment_ids,
    })
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

/// DRF `PrimaryKeyRelatedField(allow_null=True)` over a UUID key: absent → `None`, `null` →
/// `Some(None)`, an id → `Some(Some((id, as the client wrote it)))`.
fn assignee_field(f: &mut Fields<'_>) -> Option<Option<(Uuid, String)>> {
    const FIELD: &str = "assignee";
    let value = f.raw(FIELD)?;
    let problem = match value {
        Value::Null => return Some(None),
        Value::String(s) => match Uuid::parse_str(s) {
            Ok(id) => return Some(Some((id, shown(s)))),
            Err(_) => format!("“{}” is not a valid UUID.", shown(s)),
        },
        other => format!(
            "Incorrect type. Expected pk value, received {}.",
            python_type(other)
        ),
    };
    f.error(FIELD, problem);
    None
}

/// A nullable DRF `DateField`: `YYYY-MM-DD` (Django's `parse_date` also takes one-digit months
/// and days), `null` clears; anything else, an impossible date included, is [`DATE_FORMAT`].
fn date_field(f: &mut Fields<'_>, field: &str) -> Option<Option<NaiveDate>> {
    let value = f.raw(field)?;
    match value {
        Value::Null => Some(None),
        Value::String(s) => match parse_date(s) {
            Some(date) => Some(Some(date)),
            None => {
                f.error(field, DATE_FORMAT);
                None
            }
        },
        _ => {
            f.error(field, DATE_FORMAT);
            None
        }
    }
}

/// Django's date pattern `^\d{4}-\d{1,2}-\d{1,2}$` with ASCII digits, as a real date within
/// Python's years 1–9999.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let mut parts = s.split('-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    let digits = |p: &str, lens: std::ops::RangeInclusive<usize>| {
        lens.contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit())
    };
    if parts.next().is_some() || !digits(y, 4..=4) || !digits(m, 1..=2) || !digits(d, 1..=2) {
        return None;
    }
    let year: i32 = y.parse().ok()?;
    if year < 1 {
        return None;
    }
    NaiveDate::from_ymd_opt(year, m.parse().ok()?, d.parse().ok()?)
}

/// A list of segment UUID strings (DRF `ListField(child=UUIDField())`), stored as their
/// hyphenated lowercase form.
fn segment_ids_field(f: &mut Fields<'_>, field: &str) -> Option<Value> {
    let value = f.raw(field)?;
    let items = match value {
        Value::Array(items) => items,
        Value::Null => {
            f.error(field, NULL);
            return None;
        }
        other => {
            f.error(
                field,
                format!(
                    "Expected a list of items but got type \"{}\".",
                    python_type(other)
                ),
            );
            return None;
        }
    };
    if items.len() > SOURCE_SEGMENTS_MAX {
        f.error(
            field,
            format!("Ensure this field has no more than {SOURCE_SEGMENTS_MAX} elements."),
        );
        return None;
    }
    let ids: Option<Vec<Value>> = items
        .iter()
        .map(|item| {
            item.as_str()
                .and_then(|s| Uuid::parse_str(s).ok())
                .map(|id| Value::String(id.to_string()))
        })
        .collect();
    if ids.is_none() {
        f.error(field, INVALID_UUID);
    }
    ids.map(Value::Array)
}

/// The action items of the meeting, oldest first, 20 a page (any role).
#[utoipa::path(
    get, path = "/api/transcription/meetings/{meeting_id}/action-items/", tag = "transcription", operation_id = "transcription_action_items_list",
    params(
        ("meeting_id" = uuid::Uuid, Path, description = "Meeting id"),
        ("page" = Option<String>, Query, description = "Page number (20 a page) or `last`"),
    ),
    responses(
        (status = 200, description = "A page of action items", body = Page<ActionItemJson>),
        (status = 404, description = "`No Meeting matches the given query.` or `Invalid page.`", body = DetailBody),
    ),
    security(("jwt" = []))
)]
pub async fn list(
    State(state): State<TranscriptionState>,
    AuthUser(caller): AuthUser,
    PathParams(MeetingPath { meeting_id }): PathParams<MeetingPath>,
    page: PageRequest,
) -> ApiResult<Json<Page<ActionItemJson>>> {
    let pool = &state.app.pool;
    meetin_http::access::meeting(pool, caller.id, meeting_id, Access::Read).await?;
    let page = page
        .load(
            action_items::count(pool, caller.id, meeting_id),
            |limit, offset| action_items::list(pool, caller.id, meeting_id, limit, offset),
        )
        .await?;
    Ok(Json(page.map(ActionItemJson::from)))
}

/// Creates an action item on the meeting (members and admins). A meeting without minutes
/// gets empty ones first (`{}`, `""`, the meeting's language, its newest transcript; recorded
/// as version 1); without a transcript either it is a 400.
#[utoipa::path(
    post, path = "/api/transcription/meetings/{meeting_id}/action-items/", tag = "transcription", operation_id = "transcription_action_items_create",
    params(("meeting_id" = uuid::Uuid, Path, description = "Meeting id")),
    request_body = ActionItemRequest,
    responses(
        (status = 201, description = "Created", body = ActionItemJson),
        (status = 400, description = "Field errors (`{\"title\": [\"This field is required.\"]}`, `{\"priority\": [\"\\\"x\\\" is not a valid choice.\"]}`, `{\"due_date\": [\"Date has wrong format. Use one of these formats instead: YYYY-MM-DD.\"]}`, `{\"assignee\": [\"Invalid pk \\\"…\\\" - object does not exist.\"]}`), or `{\"error\": \"No transcript available for this meeting\"}` (neither minutes nor a transcript), or `{\"error\": \"A meeting has at most 200 action items. Delete some first.\"}`", body = CreateItemRefusal),
        (status = 403, description = "A viewer of the meeting's organization", body = DetailBody),
        (status = 404, description = "`No Meeting matches the given query.`", body = DetailBody),
    ),
    security(("jwt" = []))
)]
pub async fn create(
    State(state): State<TranscriptionState>,
    AuthUser(caller): AuthUser,
    PathParams(MeetingPath { meeting_id }): PathParams<MeetingPath>,
    JsonBody(body): JsonBody,
) -> ApiResult<(StatusCode, Json<ActionItemJson>)> {
    let pool = &state.app.pool;
    meetin_http::access::meeting(pool, caller.id, meeting_id, Access::Write).await?;
    let changes = parse(&state, caller.id, meeting_id, &body, true).await?;
    let Some(title) = changes.title else {
        return Err(ApiError::internal(
            "action item title missing after validation",
        ));
    };
    let item = NewActionItem {
        title,
        description: changes.description.unwrap_or_default(),
        assignee_id: changes.assignee_id.flatten(),
        due_date: changes.due_date.flatten(),
        priority: changes.priority.unwrap_or(Priority::Medium),
        status: changes.status.unwrap_or(ItemStatus::Open),
        source_segment_ids: changes
            .source_segment_ids
            .unwrap_or_else(|| Value::Array(Vec::new())),
    };
    match action_items::create(pool, caller.id, meeting_id, &item).await {
        Ok(NewItem::Created(item)) => Ok((StatusCode::CREATED, Json(item.into()))),
        Ok(NewItem::NoTranscript) => Err(ApiError::bad_request(NO_TRANSCRIPT)),
        Ok(NewItem::TooMany) => Err(ApiError::bad_request(too_many_items())),
        // The meeting deleted, or the caller demoted or removed, since the check.
        Ok(NewItem::NotAllowed) => Err(crate::recheck(pool, caller.id, meeting_id, None).await),
        Err(e) => Err(crate::write_failed(pool, caller.id, meeting_id, e).await),
    }
}

/// The item, if it belongs to the meeting.
async fn find(
    state: &TranscriptionState,
    caller: Uuid,
    meeting: Uuid,
    id: Uuid,
) -> ApiResult<ActionItem> {
    action_items::find(&state.app.pool, caller, meeting, id)
        .await?
        .ok_or_else(|| ApiError::no_match(ACTION_ITEM))
}

/// The 404 of a write that found no item after the meeting's access check: the meeting's own
/// when it was deleted meanwhile (contract: `No Meeting matches the given query.`), a 403 when
/// the caller lost write access, else `No ActionItem matches the given query.`.
async fn item_gone(state: &TranscriptionState, caller: Uuid, meeting: Uuid) -> ApiError {
    crate::recheck(
        &state.app.pool,
        caller,
        meeting,
        Some(ApiError::no_match(ACTION_ITEM)),
    )
    .await
}

/// An action item of the meeting (any role).
#[utoipa::path(
    get, path = "/api/transcription/meetings/{meeting_id}/action-items/{id}/", tag = "transcription", operation_id = "transcription_action_items_detail",
    params(
        ("meeting_id" = uuid::Uuid, Path, description = "Meeting id"),
        ("id" = uuid::Uuid, Path, description = "Action item id"),
    ),
    responses(
        (status = 200, description = "The item", body = ActionItemJson),
        (status = 404, description = "`No Meeting matches the given query.` or `No ActionItem matches the given query.`", body = DetailBody),
    ),
    security(("jwt" = []))
)]
pub async fn detail(
    State(state): State<TranscriptionState>,
    AuthUser(caller): AuthUser,
    PathParams(ItemPath { meeting_id, id }): PathParams<ItemPath>,
) -> ApiResult<Json<ActionItemJson>> {
    meetin_http::access::meeting(&state.app.pool, caller.id, meeting_id, Access::Read).await?;
    Ok(Json(find(&state, caller.id, meeting_id, id).await?.into()))
}

/// PUT and PATCH: who may write, that the item exists, then the body (DRF's order).
async fn edit(
    state: &TranscriptionState,
    caller: Uuid,
    meeting: Uuid,
    id: Uuid,
    body: &Value,
    required: bool,
) -> ApiResult<Json<ActionItemJson>> {
    let pool = &state.app.pool;
    meetin_http::access::meeting(pool, caller, meeting, Access::Write).await?;
    if action_items::find(pool, caller, meeting, id)
        .await?
        .is_none()
    {
        return Err(item_gone(state, caller, meeting).await);
    }
    let changes = parse(state, caller, meeting, body, required).await?;
    match action_items::update(pool, caller, meeting, id, &changes).await {
        Ok(Some(item)) => Ok(Json(item.into())),
        Ok(None) => Err(item_gone(state, caller, meeting).await),
        Err(e) => Err(crate::write_failed(pool, caller, meeting, e).await),
    }
}

/// Replaces the item's fields (members and admins): `title` required, fields left out keep
/// their values. The item is then the user's (`user_edited`): regenerations leave it alone.
#[utoipa::path(
    put, path = "/api/transcription/meetings/{meeting_id}/action-items/{id}/", tag = "transcription", operation_id = "transcription_action_items_replace",
    params(
        ("meeting_id" = uuid::Uuid, Path, description = "Meeting id"),
        ("id" = uuid::Uuid, Path, description = "Action item id"),
    ),
    request_body = ActionItemRequest,
    responses(
        (status = 200, description = "Updated", body = ActionItemJson),
        (status = 400, description = "Field errors", body = FieldErrorsBody),
        (status = 403, description = "A viewer of the meeting's organization", body = DetailBody),
        (status = 404, description = "`No Meeting matches the given query.` or `No ActionItem matches the given query.`", body = DetailBody),
    ),
    security(("jwt" = []))
)]
pub async fn replace(
    State(state): State<TranscriptionState>,
    AuthUser(caller): AuthUser,
    PathParams(ItemPath { meeting_id, id }): PathParams<ItemPath>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<ActionItemJson>> {
    edit(&state, caller.id, meeting_id, id, &body, true).await
}

/// Changes the given fields of the item (members and admins); it is then the user's.
#[utoipa::path(
    patch, path = "/api/transcription/meetings/{meeting_id}/action-items/{id}/", tag = "transcription", operation_id = "transcription_action_items_update",
    params(
        ("meeting_id" = uuid::Uuid, Path, description = "Meeting id"),
        ("id" = uuid::Uuid, Path, description = "Action item id"),
    ),
    request_body = ActionItemPatch,
    responses(
        (status = 200, description = "Updated", body = ActionItemJson),
        (status = 400, description = "Field errors", body = FieldErrorsBody),
        (status = 403, description = "A viewer of the meeting's organization", body = DetailBody),
        (status = 404, description = "`No Meeting matches the given query.` or `No ActionItem matches the given query.`", body = DetailBody),
    ),
    security(("jwt" = []))
)]
pub async fn update(
    State(state): State<TranscriptionState>,
    AuthUser(caller): AuthUser,
    PathParams(ItemPath { meeting_id, id }): PathParams<ItemPath>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<ActionItemJson>> {
    edit(&state, caller.id, meeting_id, id, &body, false).await
}

/// Deletes the item (members and admins). A deletion is the user's edit: no regeneration of the
/// minutes brings the item back (a tombstone under its matching keys, written with the delete).
#[utoipa::path(
    delete, path = "/api/transcription/meetings/{meeting_id}/action-items/{id}/", tag = "transcription", operation_id = "transcription_action_items_delete",
    params(
        ("meeting_id" = uuid::Uuid, Path, description = "Meeting id"),
        ("id" = uuid::Uuid, Path, description = "Action item id"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "A viewer of the meeting's organization", body = DetailBody),
        (status = 404, description = "`No Meeting matches the given query.` or `No ActionItem matches the given query.`", body = DetailBody),
    ),
    security(("jwt" = []))
)]
pub async fn delete(
    State(state): State<TranscriptionState>,
    AuthUser(caller): AuthUser,
    PathParams(ItemPath { meeting_id, id }): PathParams<ItemPath>,
) -> ApiResult<StatusCode> {
    let pool = &state.app.pool;
    meetin_http::access::meeting(pool, caller.id, meeting_id, Access::Write).await?;
    match action_items::delete(pool, caller.id, meeting_id, id, meetin_minutes::item_key).await {
        Ok(true) => Ok(StatusCode::NO_CONTENT),
        Ok(false) => Err(item_gone(&state, caller.id, meeting_id).await),
        Err(e) => Err(crate::write_failed(pool, caller.id, meeting_id, e).await),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_as_django_reads_them() {
        assert_eq!(
            parse_date("2026-03-09"),
            NaiveDate::from_ymd_opt(2026, 3, 9)
        );
        assert_eq!(parse_date("2026-3-9"), NaiveDate::from_ymd_opt(2026, 3, 9));
        for bad in [
            "2026-02-30",
            "0000-01-01",
            "26-03-09",
            "2026-03-09T10:00",
            "2026/03/09",
            "2026-003-09",
            " 2026-03-09",
            "",
            "2026-03",
            "2026-03-09-1",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn choices_round_trip() {
        for p in [Priority::Low, Priority::Medium, Priority::High] {
            assert_eq!(p.as_str().parse::<Priority>(), Ok(p));
        }
        for s in [
            ItemStatus::Open,
            ItemStatus::InProgress,
            ItemStatus::Done,
            ItemStatus::Blocked,
        ] {
            assert_eq!(s.as_str().parse::<ItemStatus>(), Ok(s));
        }
        assert!("High".parse::<Priority>().is_err());
    }

    #[test]
    fn segment_ids_are_a_list_of_uuids() {
        let parse = |body: Value| {
            let mut f = Fields::new(&body).expect("object");
            let ids = segment_ids_field(&mut f, "s");
            (ids, f.finish().err().map(|e| e.to_json()))
        };
        let id = Uuid::new_v4();
        let (ids, errors) = parse(serde_json::json!({"s": [id.to_string().to_uppercase()]}));
        assert_eq!(ids, Some(serde_json::json!([id.to_string()])));
        assert_eq!(errors, None);
        let (_, errors) = parse(serde_json::json!({"s": [id.to_string(), 5]}));
        assert_eq!(errors, Some(serde_json::json!({"s": [INVALID_UUID]})));
        let (_, errors) = parse(serde_json::json!({"s": {"a": 1}}));
        assert_eq!(
            errors,
            Some(serde_json::json!({"s": ["Expected a list of items but got type \"dict\"."]}))
        );
        let (_, errors) = parse(serde_json::json!({"s": null}));
        assert_eq!(errors, Some(serde_json::json!({"s": [NULL]})));
        let (_, errors) = parse(serde_json::json!({"s": vec![id.to_string(); 51]}));
        assert_eq!(
            errors,
            Some(serde_json::json!({"s": ["Ensure this field has no more than 50 elements."]}))
        );
    }
}
