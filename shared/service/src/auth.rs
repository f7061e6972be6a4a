//! Token authentication: what every authenticated request, socket connection and bridge
//! upgrade runs first.

use chrono::Utc;
use meetin_core::Refusal;
use meetin_core::jwt::TokenType;
use meetin_data::users::{self, User};

use crate::throttle::{self, Scope};
use crate::{ServiceContext, ServiceResult};

/// The user an access JWT names, counted against the per-user rate limit.
///
/// In order: the token is verified (signature, expiry, type `access`), else
/// `Refusal::AccessTokenNotValid`; the request is counted against [`Scope::User`] for the
/// token's user, else `Refusal::Throttled` (the count comes before the user is read, so a
/// throttled request costs no database query); on a cold start's first request, the
/// background database connection is awaited ([`crate::DatabaseWarmUp`]); the user is read,
/// else 401 `User not found` (`user_not_found`); an inactive user is 401 `User is inactive`
/// (`user_inactive`). These are simplejwt's refusals (docs/api-decisions.md).
pub async fn authenticate(ctx: &ServiceContext, token: &str) -> ServiceResult<User> {
    let claims = ctx
        .jwt
        .verify(token, TokenType::Access, Utc::now())
        .map_err(Refusal::AccessTokenNotValid)?;
    throttle::check(ctx, Scope::User, &claims.user_id.to_string()).await?;
    // Only on a cold start's first request: the connection opened beside the throttle.
    ctx.database_warm_up.wait().await;
    let user = users::find(&ctx.pool, claims.user_id)
        .await?
        .ok_or(unauthorized("User not found", "user_not_found"))?;
    if !user.is_active {
        return Err(unauthorized("User is inactive", "user_inactive").into());
    }
    Ok(user)
}

fn unauthorized(detail: &'static str, code: &'static str) -> Refusal {
    Refusal::Unauthorized {
        detail: detail.into(),
        code: Some(code),
    }
}

/// The access token of an `Authorization` header value, read as simplejwt does: anything but
/// `Bearer <token>` is no credentials (401 `Authentication credentials were not provided.`);
/// more than two words is its own 401.
pub fn bearer_token(authorization: Option<&str>) -> Result<&str, Refusal> {
    let header = authorization.ok_or_else(Refusal::not_authenticated)?;
    let mut words = header.split_whitespace();
    if words.next() != Some("Bearer") {
        return Err(Refusal::not_authenticated());
    }
    match (words.next(), words.next()) {
        (Some(token), None) => Ok(token),
        _ => Err(Refusal::Unauthorized {
            detail: "Authorization header must contain two space-delimited values".into(),
            code: Some("bad_authorization_header"),
        }),
    }
}
