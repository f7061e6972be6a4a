//! Registration, login, token refresh with rotation, logout and the profile.

use axum::Json;
use axum::extract::State;
use chrono::Utc;
use http::StatusCode;
use meetin_aws::RevocationOutcome;
use meetin_core::error::TokenProblem;
use meetin_core::jwt::{Claims, REFRESH_TOKEN_LIFETIME, TokenType};
use meetin_core::validation::{Fields, Text};
use meetin_core::{ApiError, ApiResult, password};
use meetin_data::users::{self, NewUser, RegisterError};
use meetin_http::docs::{DetailBody, ErrorBody, FieldErrorsBody, TokenErrorBody};
use meetin_http::{AppContext, AuthRateLimit, AuthUser, JsonBody};
use uuid::Uuid;

use crate::json::{
    AuthResponse, LoginRequest, MessageJson, RefreshRequest, RegisterRequest, TokenPair, UserJson,
};

const EMAIL_TAKEN: &str = "user with this email already exists.";
const USERNAME_TAKEN: &str = "A user with that username already exists.";
const INVALID_USERNAME: &str = "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.";
const INVALID_CREDENTIALS: &str = "Invalid credentials";

/// Django's `UnicodeUsernameValidator`: word characters and `@ . + - _`.
fn is_valid_username(name: &str) -> bool {
    name.chars()
        .all(|c| c.is_alphanumeric() || "@.+-_".contains(c))
}

/// A fresh access token plus a refresh token in `family` (a new family for a new login).
fn issue_pair(ctx: &AppContext, user: Uuid, family: Option<String>) -> ApiResult<TokenPair> {
    let now = Utc::now();
    let access = ctx.jwt.issue(TokenType::Access, user, None, now)?;
    let refresh = ctx.jwt.issue(TokenType::Refresh, user, family, now)?;
    Ok(TokenPair {
        refresh: refresh.token,
        access: access.token,
    })
}

struct Registration {
    email: String,
    username: String,
    password: String,
    first_name: String,
    last_name: String,
}

async fn parse_registration(ctx: &AppContext, body: &serde_json::Value) -> ApiResult<Registration> {
    let mut f = Fields::new(body)?;
    let email = f.required_email("email");
    let mut username = f.required_text("username", Text::max(150));
    if username.as_deref().is_some_and(|u| !is_valid_username(u)) {
        f.error("username", INVALID_USERNAME);
        username = None;
    }
    let password = f.required_secret("password", password::MAX_PASSWORD_CHARS);
    if let Some(pw) = &password {
        for problem in password::check_rules(pw) {
            f.error("password", problem);
        }
    }
    let first_name = f
        .optional_text("first_name", Text::blank_ok(150))
        .unwrap_or_default();
    let last_name = f
        .optional_text("last_name", Text::blank_ok(150))
        .unwrap_or_default();
    if email.is_some() || username.is_some() {
        let (email_taken, username_taken) = users::taken(
            &ctx.pool,
            email.as_deref().unwrap_or(""),
            username.as_deref().unwrap_or(""),
        )
        .await
        .map_err(ApiError::internal)?;
        if email_taken && email.is_some() {
            f.error("email", EMAIL_TAKEN);
        }
        if username_taken && username.is_some() {
            f.error("username", USERNAME_TAKEN);
        }
    }
    f.finish()?;
    match (email, username, password) {
        (Some(email), Some(username), Some(password)) => Ok(Registration {
            email,
            username,
            password,
            first_name,
            last_name,
        }),
        // finish() reports a missing field, so this is unreachable.
        _ => Err(ApiError::internal(anyhow::anyhow!(
            "registration fields missing after validation"
        ))),
    }
}

/// Creates the account, its own organization (the user is its admin) and a token pair.
#[utoipa::path(
    post, path = "/api/auth/register/", tag = "auth",
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "Registered", body = AuthResponse),
        (status = 400, description = "Field errors", body = FieldErrorsBody),
        (status = 429, description = "More than 10 register, login or refresh requests a minute from this address", body = DetailBody),
    ),
    security(())
)]
pub async fn register(
    _: AuthRateLimit,
    State(ctx): State<AppContext>,
    JsonBody(body): JsonBody,
) -> ApiResult<(StatusCode, Json<AuthResponse>)> {
    let input = parse_registration(&ctx, &body).await?;
    let password_hash = password::hash(input.password).await?;
    let new = NewUser {
        email: input.email,
        username: input.username,
        first_name: input.first_name,
        last_name: input.last_name,
        password_hash,
    };
    let user = users::register(&ctx.pool, &new)
        .await
        .map_err(|err| match err {
            // Lost a race with a concurrent registration of the same email or username.
            RegisterError::EmailTaken => ApiError::field("email", EMAIL_TAKEN),
            RegisterError::UsernameTaken => ApiError::field("username", USERNAME_TAKEN),
            RegisterError::Database(err) => ApiError::internal(err),
        })?;
    let tokens = issue_pair(&ctx, user.id, None)?;
    Ok((
        StatusCode::CREATED,
        Json(AuthResponse {
            user: user.into(),
            tokens,
        }),
    ))
}

/// Exchanges email and password for a token pair.
#[utoipa::path(
    post, path = "/api/auth/login/", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = AuthResponse),
        (status = 400, description = "Field errors, or `non_field_errors: [\"Invalid credentials\"]`", body = FieldErrorsBody),
        (status = 429, description = "Throttled", body = DetailBody),
    ),
    security(())
)]
pub async fn login(
    _: AuthRateLimit,
    State(ctx): State<AppContext>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<AuthResponse>> {
    let mut f = Fields::new(&body)?;
    let email = f.required_email("email");
    let password = f.required_secret("password", password::MAX_PASSWORD_CHARS);
    f.finish()?;
    let (Some(email), Some(password)) = (email, password) else {
        return Err(ApiError::field("non_field_errors", INVALID_CREDENTIALS));
    };
    let found = users::find_credentials(&ctx.pool, &email)
        .await
        .map_err(ApiError::internal)?;
    let (user, hash) = match found {
        Some((user, hash)) => (Some(user), Some(hash)),
        None => (None, None),
    };
    // Verified even for an unknown email, so timing does not reveal which emails exist.
    let verified = password::verify(password, hash).await?;
    let user = match user {
        Some(user) if verified && user.is_active => user,
        _ => return Err(ApiError::field("non_field_errors", INVALID_CREDENTIALS)),
    };
    users::record_login(&ctx.pool, user.id)
        .await
        .map_err(ApiError::internal)?;
    let tokens = issue_pair(&ctx, user.id, None)?;
    Ok(Json(AuthResponse {
        user: user.into(),
        tokens,
    }))
}

fn refresh_refused(problem: TokenProblem) -> ApiError {
    ApiError::Unauthorized {
        detail: problem.message().into(),
        code: Some("token_not_valid"),
    }
}

/// Rotates a refresh token: the presented one is revoked and a new pair issued. Presenting
/// an already revoked token revokes every token of its login.
#[utoipa::path(
    post, path = "/api/auth/refresh/", tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new pair; the presented refresh token is now revoked", body = TokenPair),
        (status = 400, description = "`refresh` missing", body = FieldErrorsBody),
        (status = 401, description = "`Token is invalid`, `Token is expired`, `Token is blacklisted` or `Token has wrong type` (code `token_not_valid`); or `no_active_account`", body = DetailBody),
        (status = 429, description = "Throttled", body = DetailBody),
    ),
    security(())
)]
pub async fn refresh(
    _: AuthRateLimit,
    State(ctx): State<AppContext>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<TokenPair>> {
    let mut f = Fields::new(&body)?;
    let token = f.required_text("refresh", Text::max(4096));
    f.finish()?;
    let token = token.unwrap_or_default();
    let now = Utc::now();
    let claims = ctx
        .jwt
        .verify(&token, TokenType::Refresh, now)
        .map_err(refresh_refused)?;
    let user = users::find(&ctx.pool, claims.user_id)
        .await
        .map_err(ApiError::internal)?;
    if !user.is_some_and(|u| u.is_active) {
        return Err(ApiError::Unauthorized {
            detail: "No active account found for the given token.".into(),
            code: Some("no_active_account"),
        });
    }
    match spend(&ctx, &claims).await? {
        Spent::Now => {}
        Spent::LoginRevoked => return Err(refresh_refused(TokenProblem::Blacklisted)),
        Spent::Before => {
            // A rotated token came back: whoever holds it is not who rotated it.
            revoke_family(&ctx, &claims).await?;
            tracing::warn!(user_id = %claims.user_id, "revoked refresh token reused; family revoked");
            return Err(refresh_refused(TokenProblem::Blacklisted));
        }
    }
    Ok(Json(issue_pair(
        &ctx,
        claims.user_id,
        Some(claims.family().to_owned()),
    )?))
}

/// What presenting a refresh token did to it.
enum Spent {
    /// It was valid and is now revoked: exactly one presenter gets this.
    Now,
    /// It had been revoked already (rotated or logged out).
    Before,
    /// Its whole login had been revoked.
    LoginRevoked,
}

/// Revokes a presented refresh token, unless it or its login was revoked already.
async fn spend(ctx: &AppContext, claims: &Claims) -> ApiResult<Spent> {
    let store = &ctx.ephemeral;
    if store
        .is_family_revoked(claims.family(), Utc::now())
        .await
        .map_err(ApiError::internal)?
    {
        return Ok(Spent::LoginRevoked);
    }
    match store
        .revoke_token(&claims.jti, claims.expires_at())
        .await
        .map_err(ApiError::internal)?
    {
        RevocationOutcome::Revoked => Ok(Spent::Now),
        RevocationOutcome::AlreadyRevoked => Ok(Spent::Before),
    }
}

/// Revokes the login; every member of the family expires before the record does.
async fn revoke_family(ctx: &AppContext, claims: &Claims) -> ApiResult<()> {
    ctx.ephemeral
        .revoke_family(claims.family(), Utc::now() + REFRESH_TOKEN_LIFETIME)
        .await
        .map_err(ApiError::internal)?;
    Ok(())
}

/// Ends the login the refresh token belongs to. Access tokens stay valid until they expire.
#[utoipa::path(
    post, path = "/api/auth/logout/", tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "Logged out", body = MessageJson),
        (status = 400, description = "`Refresh token is required` or `Invalid token`", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = TokenErrorBody),
    ),
    security(("jwt" = []))
)]
pub async fn logout(
    State(ctx): State<AppContext>,
    AuthUser(caller): AuthUser,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<MessageJson>> {
    let token = body
        .get("refresh")
        .and_then(|v| v.as_str())
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::bad_request("Refresh token is required"))?;
    let invalid = || ApiError::bad_request("Invalid token");
    let now = Utc::now();
    let claims = ctx
        .jwt
        .verify(token, TokenType::Refresh, now)
        .map_err(|_| invalid())?;
    if claims.user_id != caller.id {
        return Err(invalid());
    }
    match spend(&ctx, &claims).await? {
        Spent::Now => revoke_family(&ctx, &claims).await?,
        Spent::Before | Spent::LoginRevoked => return Err(invalid()),
    }
    Ok(Json(MessageJson {
        message: "Successfully logged out".into(),
    }))
}

/// The caller's own user record.
#[utoipa::path(
    get, path = "/api/auth/profile/", tag = "auth",
    responses(
        (status = 200, description = "The caller", body = UserJson),
        (status = 401, description = "Not authenticated", body = TokenErrorBody),
    ),
    security(("jwt" = []))
)]
pub async fn profile(AuthUser(user): AuthUser) -> Json<UserJson> {
    Json(user.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_follow_djangos_validator() {
        assert!(is_valid_username("ann.lee+work@x_y-z"));
        assert!(is_valid_username("zoë"));
        assert!(!is_valid_username("ann lee"));
        assert!(!is_valid_username("ann/lee"));
    }
}
