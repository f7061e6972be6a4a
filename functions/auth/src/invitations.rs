//! The caller's invitations to organizations: listed, accepted or declined by the invitee
//! only (the account whose e-mail, any case, or id the invitation names). For anyone else an
//! invitation does not exist (404).

use axum::Json;
use axum::extract::State;
use http::StatusCode;
use meetin_core::pagination::Page;
use meetin_data::invitations::{self, InvitationError};
use meetin_http::docs::{DetailBody, ErrorBody};
use meetin_http::extract::path_uuid;
use meetin_http::{ApiError, ApiResult, AppContext, AuthUser, PageRequest, PathParams};
use serde::Deserialize;
use uuid::Uuid;

use crate::json::{InvitationJson, MemberJson};

/// `/api/auth/invitations/{id}/…`
#[derive(Debug, Deserialize)]
pub struct InvitationPath {
    #[serde(deserialize_with = "path_uuid")]
    pub id: Uuid,
}

const INVITATION: &str = "Invitation";
const EXPIRED: &str = "This invitation has expired.";
const ANSWERED: &str = "This invitation is no longer pending.";
const ALREADY_MEMBER: &str = "You are already a member of this organization.";

fn answer_error(err: InvitationError) -> ApiError {
    match err {
        InvitationError::Expired => ApiError::bad_request(EXPIRED),
        InvitationError::Answered => ApiError::bad_request(ANSWERED),
        InvitationError::AlreadyMember => ApiError::bad_request(ALREADY_MEMBER),
        InvitationError::Database(err) => err.into(),
        InvitationError::NotFound | InvitationError::NotAdmin => ApiError::no_match(INVITATION),
    }
}

/// The caller's open invitations (pending, not expired), oldest first.
#[utoipa::path(
    get, path = "/api/auth/invitations/", tag = "organizations", operation_id = "invitations_list",
    params(("page" = Option<String>, Query, description = "Page number (20 a page) or `last`")),
    responses(
        (status = 200, description = "A page of invitations", body = Page<InvitationJson>),
        (status = 404, description = "`Invalid page.`", body = DetailBody),
    ),
    security(("jwt" = []))
)]
pub async fn list(
    State(ctx): State<AppContext>,
    AuthUser(caller): AuthUser,
    page: PageRequest,
) -> ApiResult<Json<Page<InvitationJson>>> {
    let page = page
        .load(
            invitations::count_open_for(&ctx.pool, caller.id),
            |limit, offset| invitations::list_open_for(&ctx.pool, caller.id, limit, offset),
        )
        .await?;
    Ok(Json(page.map(InvitationJson::from)))
}

/// Accepts an invitation: the caller becomes a member with the invited role.
#[utoipa::path(
    post, path = "/api/auth/invitations/{id}/accept/", tag = "organizations", operation_id = "invitations_accept",
    params(("id" = uuid::Uuid, Path, description = "Invitation id")),
    responses(
        (status = 201, description = "The membership now made", body = MemberJson),
        (status = 400, description = "`This invitation has expired.`, `This invitation is no longer pending.` or `You are already a member of this organization.`", body = ErrorBody),
        (status = 404, description = "No such invitation for the caller", body = DetailBody),
    ),
    security(("jwt" = []))
)]
pub async fn accept(
    State(ctx): State<AppContext>,
    AuthUser(caller): AuthUser,
    PathParams(InvitationPath { id }): PathParams<InvitationPath>,
) -> ApiResult<(StatusCode, Json<MemberJson>)> {
    let membership = invitations::accept(&ctx.pool, caller.id, id)
        .await
        .map_err(answer_error)?;
    Ok((StatusCode::CREATED, Json(membership.into())))
}

/// Declines an invitation; the organization's admins see it as `declined`.
#[utoipa::path(
    post, path = "/api/auth/invitations/{id}/decline/", tag = "organizations", operation_id = "invitations_decline",
    params(("id" = uuid::Uuid, Path, description = "Invitation id")),
    responses(
        (status = 200, description = "The invitation, now `declined`", body = InvitationJson),
        (status = 400, description = "`This invitation has expired.` or `This invitation is no longer pending.`", body = ErrorBody),
        (status = 404, description = "No such invitation for the caller", body = DetailBody),
    ),
    security(("jwt" = []))
)]
pub async fn decline(
    State(ctx): State<AppContext>,
    AuthUser(caller): AuthUser,
    PathParams(InvitationPath { id }): PathParams<InvitationPath>,
) -> ApiResult<Json<InvitationJson>> {
    let invitation = invitations::decline(&ctx.pool, caller.id, id)
        .await
        .map_err(answer_error)?;
    Ok(Json(invitation.into()))
}
