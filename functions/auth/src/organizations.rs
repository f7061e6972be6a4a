//! Organizations. Anyone lists and creates organizations; only an organization's admins see
//! its detail (others get 404), change it, and manage its members ([`crate::members`]).

use axum::Json;
use axum::extract::State;
use http::StatusCode;
use meetin_core::pagination::Page;
use meetin_data::organizations as orgs;
use meetin_http::docs::{DetailBody, FieldErrorsBody};
use meetin_http::extract::path_uuid;
use meetin_http::responses::OrganizationAdmin;
use meetin_http::{ApiError, ApiResult, AppContext, AuthUser, JsonBody, PageRequest, PathParams};
use serde::Deserialize;
use uuid::Uuid;

use crate::json::{OrganizationJson, OrganizationPatch, OrganizationRequest};

/// `/api/auth/organizations/{id}/`
#[derive(Debug, Deserialize)]
pub struct OrganizationPath {
    #[serde(deserialize_with = "path_uuid")]
    pub id: Uuid,
}

pub(crate) const ORGANIZATION: &str = "Organization";

/// The organizations the caller belongs to, with any role: those they own first (oldest
/// first), then the others in the order they joined them.
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
    page: PageRequest,
) -> ApiResult<Json<Page<OrganizationJson>>> {
    let page = page
        .load(
            orgs::count_for_member(&ctx.pool, caller.id),
            |limit, offset| orgs::list_for_member(&ctx.pool, caller.id, limit, offset),
        )
        .await?;
    Ok(Json(page.map(OrganizationJson::from)))
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
        OrganizationAdmin,
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
        OrganizationAdmin,
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
        OrganizationAdmin,
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
        OrganizationAdmin,
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
