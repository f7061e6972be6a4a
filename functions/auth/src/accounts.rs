//! Registration, login, token refresh with rotation, logout and the profile.

use axum::Json;
use axum::extract::State;
use chrono::Utc;
use http::StatusCode;
use meetin_aws::RevocationOutcome;
use meetin_core::jwt::{Claims, REFRESH_TOKEN_LIFETIME, TokenType};
use meetin_core::password;
use meetin_core::refusal::TokenProblem;
use meetin_core::validation::NON_FIELD_ERRORS;
use meetin_data::registration::{self, NewUser, RegisterError};
use meetin_data::users;
use meetin_http::docs::{DetailBody, ErrorBody, FieldErrorsBody, TokenErrorBody};
use meetin_http::{ApiError, ApiResult, AppContext, AuthRateLimit, AuthUser, JsonBody};
use uuid::Uuid;

use crate::json::{
    AuthResponse, EMAIL_TAKEN, INVALID_CREDENTIALS, LoginRequest, MessageJson, RefreshRequest,
    RegisterRequest, TokenPair, USERNAME_TAKEN, UserJson,
};

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

/// Creates the account, its own organization (the user is its admin) and a token pair.
#[utoipa::path(
    post, path = "/api/auth/register/", tag = "auth", operation_id = "auth_register",
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
    let pool = &ctx.pool;
    let input = RegisterRequest::parse(&body, |email, username| async move {
        Ok(users::taken(pool, &email, &username).await?)
    })
    .await?;
    let password_hash = password::hash(input.password).await?;
    let new = NewUser {
        email: input.email,
        username: input.username,
        first_name: input.first_name.unwrap_or_default(),
        last_name: input.last_name.unwrap_or_default(),
        password_hash,
    };
    let user = registration::register(&ctx.pool, &new)
        .await
        .map_err(|err| match err {
            // Lost a race with a concurrent registration of the same email or username.
            RegisterError::EmailTaken => ApiError::field("email", EMAIL_TAKEN),
            RegisterError::UsernameTaken => ApiError::field("username", USERNAME_TAKEN),
            RegisterError::Database(err) => err.into(),
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
    post, path = "/api/auth/login/", tag = "auth", operation_id = "auth_login",
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
    let LoginRequest { email, password } = LoginRequest::parse(&body)?;
    let found = users::find_credentials(&ctx.pool, &email).await?;
    let (user, hash) = match found {
        Some((user, hash)) => (Some(user), Some(hash)),
        None => (None, None),
    };
    // Verified even for an unknown email, so timing does not reveal which emails exist.
    let verified = password::verify(password, hash).await?;
    let user = match user {
        Some(user) if verified && user.is_active => user,
        _ => return Err(ApiError::field(NON_FIELD_ERRORS, INVALID_CREDENTIALS)),
    };
    users::record_login(&ctx.pool, user.id).await?;
    let tokens = issue_pair(&ctx, user.id, None)?;
    Ok(Json(AuthResponse {
        user: user.into(),
        tokens,
    }))
}

fn refresh_refused(problem: TokenProblem) -> ApiError {
    ApiError::unauthorized(problem.message(), "token_not_valid")
}

/// Rotates a refresh token: the presented one is revoked and a new pair issued. Presenting
/// an already revoked token revokes every token of its login.
#[utoipa::path(
    post, path = "/api/auth/refresh/", tag = "auth", operation_id = "auth_refresh",
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
    let token = RefreshRequest::parse(&body)?.refresh;
    let now = Utc::now();
    let claims = ctx
        .jwt
        .verify(&token, TokenType::Refresh, now)
        .map_err(refresh_refused)?;
    let user = users::find(&ctx.pool, claims.user_id).await?;
    if !user.is_some_and(|u| u.is_active) {
        return Err(ApiError::unauthorized(
            "No active account found for the given token.",
            "no_active_account",
        ));
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
    if store.is_family_revoked(claims.family(), Utc::now()).await? {
        return Ok(Spent::LoginRevoked);
    }
    match store.revoke_token(&claims.jti, claims.expires_at()).await? {
        RevocationOutcome::Revoked => Ok(Spent::Now),
        RevocationOutcome::AlreadyRevoked => Ok(Spent::Before),
    }
}

/// Revokes the login; every member of the family expires before the record does.
async fn revoke_family(ctx: &AppContext, claims: &Claims) -> ApiResult<()> {
    ctx.ephemeral
        .revoke_family(claims.family(), Utc::now() + REFRESH_TOKEN_LIFETIME)
        .await?;
    Ok(())
}

/// Ends the login the refresh token belongs to. Access tokens stay valid until they expire.
#[utoipa::path(
    post, path = "/api/auth/logout/", tag = "auth", operation_id = "auth_logout",
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
    let token = RefreshRequest::parse_for_logout(&body)?.refresh;
    let invalid = || ApiError::bad_request("Invalid token");
    let now = Utc::now();
    let claims = ctx
        .jwt
        .verify(&token, TokenType::Refresh, now)
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
    get, path = "/api/auth/profile/", tag = "auth", operation_id = "auth_profile",
    responses(
        (status = 200, description = "The caller", body = UserJson),
        (status = 401, description = "Not authenticated", body = TokenErrorBody),
    ),
    security(("jwt" = []))
)]
pub async fn profile(AuthUser(user): AuthUser) -> Json<UserJson> {
    Json(user.into())
}
