//! Meetings: anyone lists and reads the meetings of their organizations; members and admins
//! create, change and delete them; viewers read only (403). Outside the caller's
//! organizations a meeting does not exist (404).

use axum::Json;
use axum::extract::{RawQuery, State};
use http::StatusCode;
use meetin_core::Access;
use meetin_core::pagination::{Page, PageNumber};
use meetin_data::meetings::{self, MeetingChanges, NewMeeting};
use meetin_http::docs::{DetailBody, FieldErrorsBody};
use meetin_http::extract::path_uuid;
use meetin_http::responses::{MeetingRead, MeetingWrite};
use meetin_http::{ApiError, ApiResult, AppContext, AuthUser, JsonBody, PageUrl, PathParams};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use crate::json::{
    CreatedMeetingJson, LanguagePreference, MeetingJson, MeetingPatch, MeetingRequest,
    OrganizationReach,
};

/// `/api/meetings/{id}/` and the routes under it.
#[derive(Debug, Deserialize)]
pub struct MeetingPath {
    #[serde(deserialize_with = "path_uuid")]
    pub id: Uuid,
}

pub(crate) const MEETING: &str = "Meeting";

/// The organization of a meeting the caller may change: 404 `No Meeting matches the given
/// query.` outside the caller's organizations, 403 for a viewer.
pub(crate) async fn writable(ctx: &AppContext, caller: Uuid, id: Uuid) -> ApiResult<Uuid> {
    meetin_http::access::meeting(&ctx.pool, caller, id, Access::Write).await
}

/// What a write under meeting `id` that wrote nothing answers, checked again now: the meeting
/// was deleted since the first check (404 `No Meeting matches the given query.`), or the
/// caller lost write access (403). Never a 500 and never a 403 for a deleted meeting.
pub(crate) async fn write_missed(ctx: &AppContext, caller: Uuid, id: Uuid) -> ApiError {
    match writable(ctx, caller, id).await {
        Err(err) => err,
        Ok(_) => ApiError::no_match(MEETING),
    }
}

/// The organization of a meeting the caller may read (404 otherwise).
pub(crate) async fn readable(ctx: &AppContext, caller: Uuid, id: Uuid) -> ApiResult<Uuid> {
    meetin_http::access::meeting(&ctx.pool, caller, id, Access::Read).await
}

/// Parses a meeting body; the organization it names is checked as DRF's related field
/// would (unknown, or not the caller's: field errors), then the caller's role in it (a
/// viewer: 403).
async fn parse_body(
    ctx: &AppContext,
    caller: Uuid,
    body: &Value,
    required: bool,
) -> ApiResult<MeetingChanges> {
    let changes = MeetingRequest::parse(body, required, |org| async move {
        if !meetings::organization_exists(&ctx.pool, org).await? {
            return Ok(OrganizationReach::Unknown);
        }
        Ok(
            match meetin_data::access::role_in(&ctx.pool, org, caller).await? {
                Some(_) => OrganizationReach::Member,
                None => OrganizationReach::Outsider,
            },
        )
    })
    .await?;
    if let Some(org) = changes.organization_id {
        meetin_http::access::require(&ctx.pool, caller, org, Access::Write, |d| {
            d.refusal(MEETING)
        })
        .await?;
    }
    Ok(changes)
}

/// The meetings of the caller's organizations (any role), newest first, 20 a page, each
/// with its live sessions, recordings and speakers.
#[utoipa::path(
    get, path = "/api/meetings/", tag = "meetings", operation_id = "meetings_list",
    params(("page" = Option<String>, Query, description = "Page number (20 a page) or `last`")),
    responses(
        (status = 200, description = "A page of meetings", body = Page<MeetingJson>),
        (status = 404, description = "`Invalid page.`", body = DetailBody),
    ),
    security(("jwt" = []))
)]
pub async fn list(
    State(ctx): State<AppContext>,
    AuthUser(caller): AuthUser,
    PageUrl(url): PageUrl,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Page<MeetingJson>>> {
    let page = PageNumber::from_query(query.as_deref())?;
    let count = meetings::count_visible(&ctx.pool, caller.id).await?;
    let window = page.resolve(count)?;
    let rows = meetings::list_visible(&ctx.pool, caller.id, window.limit, window.offset).await?;
    Ok(Json(
        Page::new(window, count, rows, &url).map(MeetingJson::from),
    ))
}

/// Creates a meeting in one of the caller's organizations (members and admins; a viewer of
/// it gets 403). Answers the contract's reduced shape.
#[utoipa::path(
    post, path = "/api/meetings/", tag = "meetings", operation_id = "meetings_create",
    request_body = MeetingRequest,
    responses(
        (status = 201, description = "Created", body = CreatedMeetingJson),
        (status = 400, description = "Field errors, e.g. `{\"organization\": [\"You don't have access to this organization\"]}`", body = FieldErrorsBody),
        (status = 403, description = "A viewer of the organization", body = DetailBody),
    ),
    security(("jwt" = []))
)]
pub async fn create(
    State(ctx): State<AppContext>,
    AuthUser(caller): AuthUser,
    JsonBody(body): JsonBody,
) -> ApiResult<(StatusCode, Json<CreatedMeetingJson>)> {
    let changes = parse_body(&ctx, caller.id, &body, true).await?;
    let (Some(organization_id), Some(title)) = (changes.organization_id, changes.title) else {
        return Err(ApiError::internal(
            "meeting fields missing after validation",
        ));
    };
    let new = NewMeeting {
        organization_id,
        title,
        description: changes.description.unwrap_or_default(),
        language_preference: changes
            .language_preference
            .unwrap_or(LanguagePreference::Auto),
        scheduled_at: changes.scheduled_at.flatten(),
    };
    let created = meetings::create(&ctx.pool, caller.id, &new)
        .await?
        // Demoted or removed since the check.
        .ok_or_else(|| ApiError::from(meetin_core::Refusal::read_only_role()))?;
    Ok((StatusCode::CREATED, Json(created.into())))
}

/// A meeting of one of the caller's organizations.
#[utoipa::path(
    get, path = "/api/meetings/{id}/", tag = "meetings", operation_id = "meetings_detail",
    params(("id" = uuid::Uuid, Path, description = "Meeting id")),
    responses(
        (status = 200, description = "The meeting", body = MeetingJson),
        MeetingRead,
    ),
    security(("jwt" = []))
)]
pub async fn detail(
    State(ctx): State<AppContext>,
    AuthUser(caller): AuthUser,
    PathParams(MeetingPath { id }): PathParams<MeetingPath>,
) -> ApiResult<Json<MeetingJson>> {
    let meeting = meetings::find_visible(&ctx.pool, caller.id, id)
        .await?
        .ok_or_else(|| ApiError::no_match(MEETING))?;
    Ok(Json(meeting.into()))
}

/// Moving a meeting out of `org` takes its recordings, transcripts and minutes with it, out
/// of reach of `org`'s admins: only an admin of `org` may (403 otherwise).
/// docs/api-decisions.md, "Meetings".
async fn may_move_out_of(ctx: &AppContext, caller: Uuid, org: Uuid) -> ApiResult<()> {
    meetin_http::access::require(&ctx.pool, caller, org, Access::Admin, |d| {
        d.refusal(MEETING)
    })
    .await
    .map(drop)
}

/// PUT and PATCH: access is checked before the body is looked at; a change of organization
/// needs an admin of the one the meeting leaves and a member or admin of the one it joins.
async fn edit(
    ctx: &AppContext,
    caller: Uuid,
    id: Uuid,
    body: &Value,
    required: bool,
) -> ApiResult<Json<MeetingJson>> {
    let org = writable(ctx, caller, id).await?;
    let changes = parse_body(ctx, caller, body, required).await?;
    let moving = changes.organization_id.is_some_and(|to| to != org);
    if moving {
        may_move_out_of(ctx, caller, org).await?;
    }
    match meetings::update(&ctx.pool, caller, id, &changes).await? {
        Some(meeting) => Ok(Json(meeting.into())),
        // Changed since the checks: deleted (404), or the caller's rights (403).
        None => {
            let org = writable(ctx, caller, id).await?;
            if moving {
                may_move_out_of(ctx, caller, org).await?;
            }
            Err(ApiError::no_match(MEETING))
        }
    }
}

/// Replaces the meeting's fields (`organization` and `title` required; members and admins).
#[utoipa::path(
    put, path = "/api/meetings/{id}/", tag = "meetings", operation_id = "meetings_replace",
    params(("id" = uuid::Uuid, Path, description = "Meeting id")),
    request_body = MeetingRequest,
    responses(
        (status = 200, description = "Updated", body = MeetingJson),
        (status = 400, description = "Field errors", body = FieldErrorsBody),
        (status = 403, description = "A viewer of the meeting's (or the target) organization, or a move to another organization by someone who is not an admin of the meeting's", body = DetailBody),
        MeetingRead,
    ),
    security(("jwt" = []))
)]
pub async fn replace(
    State(ctx): State<AppContext>,
    AuthUser(caller): AuthUser,
    PathParams(MeetingPath { id }): PathParams<MeetingPath>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<MeetingJson>> {
    edit(&ctx, caller.id, id, &body, true).await
}

/// Changes the given fields of the meeting (members and admins).
#[utoipa::path(
    patch, path = "/api/meetings/{id}/", tag = "meetings", operation_id = "meetings_update",
    params(("id" = uuid::Uuid, Path, description = "Meeting id")),
    request_body = MeetingPatch,
    responses(
        (status = 200, description = "Updated", body = MeetingJson),
        (status = 400, description = "Field errors", body = FieldErrorsBody),
        (status = 403, description = "A viewer of the meeting's (or the target) organization, or a move to another organization by someone who is not an admin of the meeting's", body = DetailBody),
        MeetingRead,
    ),
    security(("jwt" = []))
)]
pub async fn update(
    State(ctx): State<AppContext>,
    AuthUser(caller): AuthUser,
    PathParams(MeetingPath { id }): PathParams<MeetingPath>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<MeetingJson>> {
    edit(&ctx, caller.id, id, &body, false).await
}

/// Deletes the meeting and everything in it: live sessions, recordings, speakers,
/// transcripts, minutes (members and admins).
#[utoipa::path(
    delete, path = "/api/meetings/{id}/", tag = "meetings", operation_id = "meetings_delete",
    params(("id" = uuid::Uuid, Path, description = "Meeting id")),
    responses(
        (status = 204, description = "Deleted"),
        MeetingWrite,
    ),
    security(("jwt" = []))
)]
pub async fn delete(
    State(ctx): State<AppContext>,
    AuthUser(caller): AuthUser,
    PathParams(MeetingPath { id }): PathParams<MeetingPath>,
) -> ApiResult<StatusCode> {
    writable(&ctx, caller.id, id).await?;
    if meetings::delete(&ctx.pool, caller.id, id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::no_match(MEETING))
    }
}
