//! Action items (contract §2.5 `action-items/`): list and read (any role), create, replace,
//! change and delete (members and admins). Every user write marks the item `user_edited`, so
//! a regeneration of the minutes leaves it alone; an item created on a meeting without
//! minutes creates them (contract decision 3).

use axum::Json;
use axum::extract::State;
use http::StatusCode;
use meetin_core::Access;
use meetin_core::pagination::Page;
use meetin_core::validation::{Fields, Text, pk_does_not_exist};
use meetin_data::action_items::ActionItem;
use meetin_data::action_items::{self, ActionItemChanges, NewActionItem, NewItem};
use meetin_http::docs::FieldErrorsBody;
use meetin_http::extract::path_uuid;
use meetin_http::responses::{self, MeetingList, MeetingRead, MeetingWrite};
use meetin_http::{ApiError, ApiResult, AuthUser, JsonBody, PageRequest, PathParams};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use crate::MeetingPath;
use crate::json::{ActionItemJson, ActionItemPatch, ActionItemRequest, CreateItemRefusal};
use crate::minutes::NO_TRANSCRIPT;
use crate::state::TranscriptionState;

const ACTION_ITEM: &str = "ActionItem";

pub use action_items::{
    DESCRIPTION_MAX_CHARS, MAX_PER_MEETING, SOURCE_SEGMENTS_MAX, TITLE_MAX_CHARS,
};

/// The 400 of `POST action-items/` on a meeting with [`MAX_PER_MEETING`] items.
pub fn too_many_items() -> String {
    format!("A meeting has at most {MAX_PER_MEETING} action items. Delete some first.")
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
    let assignee = f.optional_pk("assignee");
    let due_date = f.optional_date("due_date");
    let priority = f.optional_choice::<Priority>("priority");
    let status = f.optional_choice::<ItemStatus>("status");
    // Stored as their hyphenated lowercase strings.
    let source_segment_ids = f
        .optional_uuid_list("source_segment_ids", SOURCE_SEGMENTS_MAX)
        .map(|ids| Value::Array(ids.iter().map(|id| Value::String(id.to_string())).collect()));
    if let Some(Some((user, shown))) = &assignee
        && !action_items::may_be_assigned(&state.app.pool, caller, meeting, *user).await?
    {
        // The meeting deleted since the access check is its 404, not a field error.
        meetin_http::access::meeting(&state.app.pool, caller, meeting, Access::Read).await?;
        f.error("assignee", pk_does_not_exist(shown));
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

/// The action items of the meeting, oldest first, 20 a page (any role).
#[utoipa::path(
    get, path = "/api/transcription/meetings/{meeting_id}/action-items/", tag = "transcription", operation_id = "transcription_action_items_list",
    params(
        ("meeting_id" = uuid::Uuid, Path, description = "Meeting id"),
        ("page" = Option<String>, Query, description = "Page number (20 a page) or `last`"),
    ),
    responses(
        (status = 200, description = "A page of action items", body = Page<ActionItemJson>),
        MeetingList,
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
        MeetingWrite,
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
        MeetingRead::<responses::ActionItem>,
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
        MeetingWrite::<responses::ActionItem>,
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
        MeetingWrite::<responses::ActionItem>,
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
        MeetingWrite::<responses::ActionItem>,
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
}
