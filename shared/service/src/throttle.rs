//! Rate limits shared by every instance through DynamoDB (docs/api-decisions.md, "Rate limits").

use chrono::Utc;
use meetin_aws::RateDecision;
use meetin_core::Refusal;

use crate::{ServiceContext, ServiceResult};

/// One minute windows.
const WINDOW: std::time::Duration = std::time::Duration::from_secs(60);

/// Which bucket a request counts against; each has its own per-minute limit in
/// `meetin_core::RateLimits`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// register and login share one bucket per client IP
    Auth,
    /// token refreshes, their own bucket per client IP
    Refresh,
    /// other unauthenticated requests, per client IP
    Anon,
    /// authenticated requests, per user
    User,
}

impl Scope {
    fn name(self) -> &'static str {
        match self {
            Self::Auth => "auth",
            Self::Refresh => "refresh",
            Self::Anon => "anon",
            Self::User => "user",
        }
    }
}

/// Counts this request against `scope` for `key` (a client address or a user id) and
/// refuses it when over the limit: `Refusal::Throttled` with the seconds until the window
/// frees a slot (the HTTP edge's 429 and `Retry-After`). A DynamoDB failure is internal.
pub async fn check(ctx: &ServiceContext, scope: Scope, key: &str) -> ServiceResult<()> {
    let limits = ctx.rate_limits;
    let limit = match scope {
        Scope::Auth => limits.auth_per_minute,
        Scope::Refresh => limits.refresh_per_minute,
        Scope::Anon => limits.anon_per_minute,
        Scope::User => limits.user_per_minute,
    };
    let decision = ctx
        .rate_limiter
        .check(
            &format!("{}#{key}", scope.name()),
            limit,
            WINDOW,
            Utc::now(),
        )
        .await?;
    match decision {
        RateDecision::Allowed => Ok(()),
        RateDecision::Limited { retry_after_secs } => {
            Err(Refusal::Throttled { retry_after_secs }.into())
        }
    }
}
