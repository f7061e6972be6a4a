//! Rate limits shared by every instance through DynamoDB (docs/api-decisions.md, "Rate
//! limits"): the service core's ([`meetin_service::throttle`]) with the HTTP edge's error.

pub use meetin_service::Scope;

use crate::{ApiError, AppContext};

/// Counts this request against `scope` for `key` and refuses it when over the limit (429
/// with `Retry-After`).
pub async fn check(ctx: &AppContext, scope: Scope, key: &str) -> Result<(), ApiError> {
    Ok(meetin_service::throttle::check(ctx, scope, key).await?)
}
