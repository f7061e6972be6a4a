//! Tenant access: one call per operation on an organization's data.

use meetin_core::access::authorize;
use meetin_core::{Access, Denied, Refusal, Role};
use meetin_data::PgPool;
use uuid::Uuid;

use crate::ServiceResult;

/// The caller's role in `org` when it allows `needed`; otherwise the refusal `on_denied`
/// makes of the denial (usually `|d| d.refusal("Meeting")`: 404 for outsiders, 403 for a role
/// too low; see `meetin_core::access`).
pub async fn require(
    pool: &PgPool,
    caller: Uuid,
    org: Uuid,
    needed: Access,
    on_denied: impl FnOnce(Denied) -> Refusal,
) -> ServiceResult<Role> {
    let role = meetin_data::access::role_in(pool, org, caller).await?;
    authorize(role, needed).map_err(|denied| on_denied(denied).into())
}

/// The organization of meeting `id` when `caller` has `needed` access there: 404 `No Meeting
/// matches the given query.` when the caller cannot read the meeting (no such meeting, or not
/// in the caller's organizations), 403 for a role too low (a viewer's write). Every
/// operation under a meeting starts here.
pub async fn meeting(pool: &PgPool, caller: Uuid, id: Uuid, needed: Access) -> ServiceResult<Uuid> {
    const MEETING: &str = "Meeting";
    let org = meetin_data::meetings::organization_of_visible(pool, caller, id)
        .await?
        .ok_or_else(|| Refusal::no_match(MEETING))?;
    if needed != Access::Read {
        require(pool, caller, org, needed, |d| d.refusal(MEETING)).await?;
    }
    Ok(org)
}
