//! An organization's members. Only its admins list them (with the pending invitations),
//! change roles and remove members; adding a member is an invitation
//! ([`crate::invitations`]): nothing is granted until the invitee accepts. Any member may
//! leave; the last admin stays.

use axum::Json;
use axum::extract::State;
use http::StatusCode;
use meetin_core::validation::NON_FIELD_ERRORS;
use meetin_core::{Access, Role};
use meetin_data::invitations::{self, InvitationError};
use meetin_data::organizations::{self as orgs, MembershipError};
use meetin_http::docs::{DetailBody, FieldErrorsBody};
use meetin_http::extract::path_uuid;
use meetin_http::responses::MembershipAdmin;
use meetin_http::{ApiError, ApiResult, AppContext, AuthUser, JsonBody, PageRequest, PathParams};
use serde::Deserialize;
use uuid::Uuid;

use crate::json::{AddMemberRequest, ChangeRoleRequest, InvitationJson, MemberJson, MembersPage};
use crate::organizations::{ORGANIZATION, OrganizationPath};

const MEMBERSHIP: &str = "OrganizationMember";
const LAST_ADMIN_DEMOTE: &str = "The organization's last admin cannot be demoted.";
const LAST_ADMIN_REMOVE: &str = "The organization's last admin cannot be removed.";
const LAST_ADMIN_LEAVE: &str = "The organization's last admin cannot leave.";
const ALREADY_MEMBER: &str = "This user is already a member of this organization.";
/// How many invitations an admin's members page lists.
const LISTED_INVITATIONS: i64 = 100;

/// `/api/auth/organizations/{org_id}/members/`
#[derive(Debug, Deserialize)]
pub struct MembersPath {
    #[serde(deserialize_with = "path_uuid")]
    pub org_id: Uuid,
}

/// `/api/auth/organizations/{org_id}/members/{membership_id}/`
#[derive(Debug, Deserialize)]
pub struct MemberPath {
    #[serde(deserialize_with = "path_uuid")]
    pub org_id: Uuid,
    #[serde(deserialize_with = "path_uuid")]
    pub membership_id: Uuid,
}

fn membership_error(err: MembershipError, not_admin: &'static str) -> ApiError {
    match err {
        MembershipError::NotAdmin => ApiError::forbidden(not_admin),
        MembershipError::NotFound => ApiError::no_match(MEMBERSHIP),
        MembershipError::AlreadyMember => ApiError::field(NON_FIELD_ERRORS, ALREADY_MEMBER),
        MembershipError::LastAdmin => ApiError::bad_request(LAST_ADMIN_REMOVE),
        MembershipError::Database(err) => err.into(),
    }
}

/// The members of an organization the caller belongs to (an empty page otherwise); its admins
/// also get its pending, expired and declined invitations under `invitations`.
#[utoipa::path(
    get, path = "/api/auth/organizations/{org_id}/members/", tag = "organizations", operation_id = "members_list",
    params(
        ("org_id" = uuid::Uuid, Path, description = "Organization id"),
        ("page" = Option<String>, Query, description = "Page number (20 a page) or `last`"),
    ),
    responses(
        (status = 200, description = "A page of memberships (and, for admins, `invitations`)", body = MembersPage),
        (status = 404, description = "`Invalid page.`", body = DetailBody),
    ),
    security(("jwt" = []))
)]
pub async fn members(
    State(ctx): State<AppContext>,
    AuthUser(caller): AuthUser,
    PathParams(MembersPath { org_id: org }): PathParams<MembersPath>,
    page: PageRequest,
) -> ApiResult<Json<MembersPage>> {
    let page = page
        .load(
            orgs::count_members_visible_to(&ctx.pool, org, caller.id),
            |limit, offset| orgs::list_members_visible_to(&ctx.pool, org, caller.id, limit, offset),
        )
        .await?
        .map(MemberJson::from);
    let is_admin =
        meetin_data::access::role_in(&ctx.pool, org, caller.id).await? == Some(Role::Admin);
    let invitations = if is_admin {
        let rows =
            invitations::list_unanswered_or_declined(&ctx.pool, org, caller.id, LISTED_INVITATIONS)
                .await?;
        Some(rows.into_iter().map(InvitationJson::from).collect())
    } else {
        None
    };
    Ok(Json(MembersPage {
        count: page.count,
        next: page.next,
        previous: page.previous,
        results: page.results,
        invitations,
    }))
}

const ONLY_ADMINS_ADD: &str = "Only organization admins can add members.";

/// Invites a person to the organization (admins only), by `email` (whether or not an account
/// has it yet) or by `user_id`, with a role (default `member`). Nothing is granted until the
/// invitee accepts; the answer is the same whether or not the address or id has an account.
/// Inviting again while an invitation is pending renews it (same id, new role, new expiry).
#[utoipa::path(
    post, path = "/api/auth/organizations/{org_id}/members/", tag = "organizations", operation_id = "members_add",
    params(("org_id" = uuid::Uuid, Path, description = "Organization id")),
    request_body = AddMemberRequest,
    responses(
        (status = 201, description = "Invited: the membership is pending until the invitee accepts", body = InvitationJson),
        (status = 400, description = "Already a member, a bad email, id or role", body = FieldErrorsBody),
        (status = 403, description = "`Only organization admins can add members.`", body = DetailBody),
    ),
    security(("jwt" = []))
)]
pub async fn add_member(
    State(ctx): State<AppContext>,
    AuthUser(caller): AuthUser,
    PathParams(MembersPath { org_id: org }): PathParams<MembersPath>,
    JsonBody(body): JsonBody,
) -> ApiResult<(StatusCode, Json<InvitationJson>)> {
    meetin_http::access::require(&ctx.pool, caller.id, org, Access::Admin, |denied| {
        denied.forbidden(ONLY_ADMINS_ADD)
    })
    .await?;
    let (invitee, role) = AddMemberRequest::parse(&body)?;
    let invitation = invitations::invite(&ctx.pool, caller.id, org, &invitee, role)
        .await
        .map_err(|err| match err {
            InvitationError::AlreadyMember => ApiError::field(NON_FIELD_ERRORS, ALREADY_MEMBER),
            InvitationError::Database(err) => err.into(),
            // Demoted or removed since the check above.
            _ => ApiError::forbidden(ONLY_ADMINS_ADD),
        })?;
    Ok((StatusCode::CREATED, Json(invitation.into())))
}

/// Changes a member's role (admins only); the last admin cannot be demoted.
#[utoipa::path(
    patch, path = "/api/auth/organizations/{org_id}/members/{membership_id}/", tag = "organizations", operation_id = "members_change_role",
    params(
        ("org_id" = uuid::Uuid, Path, description = "Organization id"),
        ("membership_id" = uuid::Uuid, Path, description = "Membership id"),
    ),
    request_body = ChangeRoleRequest,
    responses(
        (status = 200, description = "Updated", body = MemberJson),
        (status = 400, description = "A bad role, or the last admin would be demoted", body = FieldErrorsBody),
        MembershipAdmin,
    ),
    security(("jwt" = []))
)]
pub async fn change_role(
    State(ctx): State<AppContext>,
    AuthUser(caller): AuthUser,
    PathParams(MemberPath {
        org_id: org,
        membership_id: membership,
    }): PathParams<MemberPath>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<MemberJson>> {
    const NOT_ADMIN: &str = "Only organization admins can change member roles.";
    meetin_http::access::require(&ctx.pool, caller.id, org, Access::Admin, |denied| {
        denied.forbidden(NOT_ADMIN)
    })
    .await?;
    let ChangeRoleRequest { role } = ChangeRoleRequest::parse(&body)?;
    let updated = orgs::change_role(&ctx.pool, caller.id, org, membership, role)
        .await
        .map_err(|err| match err {
            MembershipError::LastAdmin => ApiError::field("role", LAST_ADMIN_DEMOTE),
            other => membership_error(other, NOT_ADMIN),
        })?;
    Ok(Json(updated.into()))
}

/// Removes a member (admins only); the last admin cannot be removed.
#[utoipa::path(
    delete, path = "/api/auth/organizations/{org_id}/members/{membership_id}/", tag = "organizations", operation_id = "members_remove",
    params(
        ("org_id" = uuid::Uuid, Path, description = "Organization id"),
        ("membership_id" = uuid::Uuid, Path, description = "Membership id"),
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 400, description = "The last admin would be removed", body = meetin_http::docs::ErrorBody),
        MembershipAdmin,
    ),
    security(("jwt" = []))
)]
pub async fn remove_member(
    State(ctx): State<AppContext>,
    AuthUser(caller): AuthUser,
    PathParams(MemberPath {
        org_id: org,
        membership_id: membership,
    }): PathParams<MemberPath>,
) -> ApiResult<StatusCode> {
    orgs::remove_member(&ctx.pool, caller.id, org, membership)
        .await
        .map_err(|err| membership_error(err, "Only organization admins can remove members."))?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller leaves the organization; its last admin cannot.
#[utoipa::path(
    post, path = "/api/auth/organizations/{id}/leave/", tag = "organizations", operation_id = "organizations_leave",
    params(("id" = uuid::Uuid, Path, description = "Organization id")),
    responses(
        (status = 204, description = "Left: the membership is gone"),
        (status = 400, description = "`The organization's last admin cannot leave.`", body = meetin_http::docs::ErrorBody),
        (status = 404, description = "Not a member, or no such organization", body = DetailBody),
    ),
    security(("jwt" = []))
)]
pub async fn leave(
    State(ctx): State<AppContext>,
    AuthUser(caller): AuthUser,
    PathParams(OrganizationPath { id }): PathParams<OrganizationPath>,
) -> ApiResult<StatusCode> {
    orgs::leave(&ctx.pool, caller.id, id)
        .await
        .map_err(|err| match err {
            MembershipError::LastAdmin => ApiError::bad_request(LAST_ADMIN_LEAVE),
            MembershipError::Database(err) => err.into(),
            _ => ApiError::no_match(ORGANIZATION),
        })?;
    Ok(StatusCode::NO_CONTENT)
}
