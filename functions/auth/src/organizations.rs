//! Organizations and their members. Anyone lists and creates organizations; only an
//! organization's admins see its detail (others get 404), change it, and manage members.

use axum::Json;
use axum::extract::{RawQuery, State};
use http::StatusCode;
use meetin_core::Access;
use meetin_core::pagination::{Page, PageNumber};
use meetin_core::validation::NON_FIELD_ERRORS;
use meetin_data::organizations::{self as orgs, MembershipError};
use meetin_data::users;
use meetin_http::docs::{DetailBody, FieldErrorsBody};
use meetin_http::extract::path_uuid;
use meetin_http::{ApiError, ApiResult, AppContext, AuthUser, JsonBody, PageUrl, PathParams};
use serde::Deserialize;
use uuid::Uuid;

use crate::json::{
    AddMemberRequest, ChangeRoleRequest, MemberJson, MemberTarget, OrganizationJson,
    OrganizationPatch, OrganizationRequest,
};

/// `/api/auth/organizations/{id}/`
#[derive(Debug, Deserialize)]
pub struct OrganizationPath {
    #[serde(deserialize_with = "path_uuid")]
    pub id: Uuid,
}

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

const ORGANIZATION: &str = "Organization";
const MEMBERSHIP: &str = "OrganizationMember";
const LAST_ADMIN_DEMOTE: &str = "The organization's last admin cannot be demoted.";
const LAST_ADMIN_REMOVE: &str = "The organization's last admin cannot be removed.";

fn membership_error(err: MembershipError, not_admin: &'static str) -> ApiError {
    match err {
        MembershipError::NotAdmin => ApiError::forbidden(not_admin),
        MembershipError::NotFound => ApiError::no_match(MEMBERSHIP),
        MembershipError::AlreadyMember => ApiError::field(
            NON_FIELD_ERRORS,
            "This user is already a member of this organization.",
        ),
        MembershipError::LastAdmin => ApiError::bad_request(LAST_ADMIN_REMOVE),
        MembershipError::Database(err) => err.into(),
    }
}

/// The organizations the caller belongs to, with any role.
#[utoipa::path(
    get, path = "/api/auth/organizations/", tag = "organizations", operation_id = "organizations_list",
    params(("page" = Option<String>, Query, description = "Page number (20 a page) or `last`")),
    responses(
        (status = 200, description = "A page of organizations", body = Page<OrganizationJson>),
        (status = 404, description = "`Invalid page.`", body = DetailBody),
    ),
    security(("jwt" = []))
)]
pub async fn list(
    State(ctx): State<AppContext>,
    AuthUser(caller): AuthUser,
    PageUrl(url): PageUrl,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Page<OrganizationJson>>> {
    let page = PageNumber::from_query(query.as_deref())?;
    let count = orgs::count_for_member(&ctx.pool, caller.id).await?;
    let window = page.resolve(count)?;
    let rows = orgs::list_for_member(&ctx.pool, caller.id, window.limit, window.offset).await?;
    Ok(Json(
        Page::new(window, count, rows, &url).map(OrganizationJson::from),
    ))
}

/// Creates an organization; the caller becomes its owner and admin.
#[utoipa::path(
    post, path = "/api/auth/organizations/", tag = "organizations", operation_id = "organizations_create",
    request_body = OrganizationRequest,
    responses(
        (status = 201, description = "Created", body = OrganizationJson),
        (status = 400, description = "Field errors", body = FieldErrorsBody),
    ),
    security(("jwt" = []))
)]
pub async fn create(
    State(ctx): State<AppContext>,
    AuthUser(caller): AuthUser,
    JsonBody(body): JsonBody,
) -> ApiResult<(StatusCode, Json<OrganizationJson>)> {
    let name = OrganizationPatch::parse(&body, true)?
        .name
        .unwrap_or_default();
    let org = orgs::create(&ctx.pool, caller.id, &name).await?;
    Ok((StatusCode::CREATED, Json(org.into())))
}

/// An organization the caller administers.
#[utoipa::path(
    get, path = "/api/auth/organizations/{id}/", tag = "organizations", operation_id = "organizations_detail",
    params(("id" = uuid::Uuid, Path, description = "Organization id")),
    responses(
        (status = 200, description = "The organization", body = OrganizationJson),
        (status = 404, description = "Not an admin of it, or no such organization", body = DetailBody),
    ),
    security(("jwt" = []))
)]
pub async fn detail(
    State(ctx): State<AppContext>,
    AuthUser(caller): AuthUser,
    PathParams(OrganizationPath { id }): PathParams<OrganizationPath>,
) -> ApiResult<Json<OrganizationJson>> {
    Ok(Json(administered(&ctx, caller.id, id).await?.into()))
}

/// The organization if `caller` administers it; for anyone else it does not exist.
async fn administered(
    ctx: &AppContext,
    caller: uuid::Uuid,
    id: uuid::Uuid,
) -> ApiResult<orgs::Organization> {
    orgs::find_administered(&ctx.pool, caller, id)
        .await?
        .ok_or_else(|| ApiError::no_match(ORGANIZATION))
}

/// PUT and PATCH: the admin check comes before the body is looked at, as for every other
/// method; only PUT requires the name.
async fn edit(
    ctx: &AppContext,
    caller: uuid::Uuid,
    id: uuid::Uuid,
    body: &serde_json::Value,
    name_required: bool,
) -> ApiResult<Json<OrganizationJson>> {
    let current = administered(ctx, caller, id).await?;
    let org = match OrganizationPatch::parse(body, name_required)?.name {
        Some(name) => orgs::rename_administered(&ctx.pool, caller, id, &name)
            .await?
            .ok_or_else(|| ApiError::no_match(ORGANIZATION))?,
        None => current,
    };
    Ok(Json(org.into()))
}

/// Replaces the organization's name (admins only).
#[utoipa::path(
    put, path = "/api/auth/organizations/{id}/", tag = "organizations", operation_id = "organizations_replace",
    params(("id" = uuid::Uuid, Path, description = "Organization id")),
    request_body = OrganizationRequest,
    responses(
        (status = 200, description = "Updated", body = OrganizationJson),
        (status = 400, description = "Field errors", body = FieldErrorsBody),
        (status = 404, description = "Not an admin of it, or no such organization", body = DetailBody),
    ),
    security(("jwt" = []))
)]
pub async fn replace(
    State(ctx): State<AppContext>,
    AuthUser(caller): AuthUser,
    PathParams(OrganizationPath { id }): PathParams<OrganizationPath>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<OrganizationJson>> {
    edit(&ctx, caller.id, id, &body, true).await
}

/// Changes the given fields of the organization (admins only).
#[utoipa::path(
    patch, path = "/api/auth/organizations/{id}/", tag = "organizations", operation_id = "organizations_update",
    params(("id" = uuid::Uuid, Path, description = "Organization id")),
    request_body = OrganizationPatch,
    responses(
        (status = 200, description = "Updated", body = OrganizationJson),
        (status = 400, description = "Field errors", body = FieldErrorsBody),
        (status = 404, description = "Not an admin of it, or no such organization", body = DetailBody),
    ),
    security(("jwt" = []))
)]
pub async fn update(
    State(ctx): State<AppContext>,
    AuthUser(caller): AuthUser,
    PathParams(OrganizationPath { id }): PathParams<OrganizationPath>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<OrganizationJson>> {
    edit(&ctx, caller.id, id, &body, false).await
}

/// Deletes the organization and everything in it (admins only).
#[utoipa::path(
    delete, path = "/api/auth/organizations/{id}/", tag = "organizations", operation_id = "organizations_delete",
    params(("id" = uuid::Uuid, Path, description = "Organization id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "Not an admin of it, or no such organization", body = DetailBody),
    ),
    security(("jwt" = []))
)]
pub async fn delete(
    State(ctx): State<AppContext>,
    AuthUser(caller): AuthUser,
    PathParams(OrganizationPath { id }): PathParams<OrganizationPath>,
) -> ApiResult<StatusCode> {
    if orgs::delete_administered(&ctx.pool, caller.id, id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::no_match(ORGANIZATION))
    }
}

/// The members of an organization the caller belongs to (an empty page otherwise).
#[utoipa::path(
    get, path = "/api/auth/organizations/{org_id}/members/", tag = "organizations", operation_id = "members_list",
    params(
        ("org_id" = uuid::Uuid, Path, description = "Organization id"),
        ("page" = Option<String>, Query, description = "Page number (20 a page) or `last`"),
    ),
    responses(
        (status = 200, description = "A page of memberships", body = Page<MemberJson>),
        (status = 404, description = "`Invalid page.`", body = DetailBody),
    ),
    security(("jwt" = []))
)]
pub async fn members(
    State(ctx): State<AppContext>,
    AuthUser(caller): AuthUser,
    PathParams(MembersPath { org_id: org }): PathParams<MembersPath>,
    PageUrl(url): PageUrl,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Page<MemberJson>>> {
    let page = PageNumber::from_query(query.as_deref())?;
    let count = orgs::count_members_visible_to(&ctx.pool, org, caller.id).await?;
    let window = page.resolve(count)?;
    let rows =
        orgs::list_members_visible_to(&ctx.pool, org, caller.id, window.limit, window.offset)
            .await?;
    Ok(Json(
        Page::new(window, count, rows, &url).map(MemberJson::from),
    ))
}

const ONLY_ADMINS_ADD: &str = "Only organization admins can add members.";

/// Adds an existing user, named by `email` or `user_id`, with a role (default `member`).
#[utoipa::path(
    post, path = "/api/auth/organizations/{org_id}/members/", tag = "organizations", operation_id = "members_add",
    params(("org_id" = uuid::Uuid, Path, description = "Organization id")),
    request_body = AddMemberRequest,
    responses(
        (status = 201, description = "Added", body = MemberJson),
        (status = 400, description = "Unknown user, already a member, or a bad role", body = FieldErrorsBody),
        (status = 403, description = "`Only organization admins can add members.`", body = DetailBody),
    ),
    security(("jwt" = []))
)]
pub async fn add_member(
    State(ctx): State<AppContext>,
    AuthUser(caller): AuthUser,
    PathParams(MembersPath { org_id: org }): PathParams<MembersPath>,
    JsonBody(body): JsonBody,
) -> ApiResult<(StatusCode, Json<MemberJson>)> {
    meetin_http::access::require(&ctx.pool, caller.id, org, Access::Admin, |denied| {
        denied.forbidden(ONLY_ADMINS_ADD)
    })
    .await?;
    let (target, role) = AddMemberRequest::parse(&body)?;
    let user = match target {
        MemberTarget::Email(email) => users::find_by_email(&ctx.pool, &email)
            .await?
            .ok_or_else(|| ApiError::field("email", "No user with this email address exists."))?,
        MemberTarget::UserId(id) => users::find(&ctx.pool, id)
            .await?
            .ok_or_else(|| ApiError::field("user_id", "No user with this id exists."))?,
    };
    let membership = orgs::add_member(&ctx.pool, caller.id, org, user.id, role)
        .await
        .map_err(|err| membership_error(err, ONLY_ADMINS_ADD))?;
    Ok((StatusCode::CREATED, Json(membership.into())))
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
        (status = 403, description = "Not an admin of the organization", body = DetailBody),
        (status = 404, description = "No such membership in the organization", body = DetailBody),
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
        (status = 403, description = "Not an admin of the organization", body = DetailBody),
        (status = 404, description = "No such membership in the organization", body = DetailBody),
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
