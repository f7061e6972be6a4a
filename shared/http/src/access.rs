//! Tenant access at the HTTP edge: one call per handler that acts on an organization's data.
//! The checks are the service core's ([`meetin_service::access`]) with the HTTP edge's error.

use meetin_core::{Access, Denied, Refusal, Role};
use meetin_data::PgPool;
use uuid::Uuid;

use crate::ApiResult;

/// The caller's role in `org` when it allows `needed`; otherwise the refusal `on_denied`
/// makes of the denial (usually `|d| d.refusal("Meeting")`: 404 for outsiders, 403 for a role
/// too low; see `meetin_core::access`).
pub async fn require(
    pool: &PgPool,
    caller: Uuid,
    org: Uuid,
    needed: Access,
    on_denied: impl FnOnce(Denied) -> Refusal,
) -> ApiResult<Role> {
    Ok(meetin_service::access::require(pool, caller, org, needed, on_denied).await?)
}

/// The organization of meeting `id` when `caller` has `needed` access there: 404 `No Meeting
/// matches the given query.` when the caller cannot read the meeting (no such meeting, or not
/// in the caller's organizations), 403 for a role too low (a viewer's write). Every handler
/// under a meeting's path starts here.
pub async fn meeting(pool: &PgPool, caller: Uuid, id: Uuid, needed: Access) -> ApiResult<Uuid> {
    Ok(meetin_service::access::meeting(pool, caller, id, needed).await?)
}
