//! Registration, login, token refresh with rotation, logout, password change and the profile.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use http::StatusCode;
use meetin_aws::{RateDecision, RevocationOutcome};
use meetin_core::jwt::{Claims, REFRESH_TOKEN_LIFETIME, TokenType};
use meetin_core::refusal::TokenProblem;
use meetin_core::validation::NON_FIELD_ERRORS;
use meetin_core::{Refusal, password};
use meetin_data::registration::{self, NewUser, RegisterError};
use meetin_data::users;
use meetin_http::docs::{DetailBody, ErrorBody, FieldErrorsBody, TokenErrorBody};
use meetin_http::{
    ApiError, ApiResult, AppContext, AuthRateLimit, AuthUser, JsonBody, RefreshRateLimit,
};
use uuid::Uuid;

use crate::json::{
    AuthResponse, EMAIL_TAKEN, INVALID_CREDENTIALS, LoginRequest, MessageJson,
    PasswordChangeRequest, PasswordChangedResponse, RefreshRequest, RegisterRequest, TokenPair,
    USERNAME_TAKEN, UserJson,
};
use crate::rotation::{self, Outcome};

/// A fresh access token plus the refresh token of a new login.
fn issue_pair(ctx: &AppContext, user: Uuid) -> ApiResult<TokenPair> {
    let now = Utc::now();
    let access = ctx.jwt.issue(TokenType::Access, user, None, now)?;
    let refresh = ctx.jwt.issue(TokenType::Refresh, user, None, now)?;
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
        (status = 429, description = "More than 10 register or login requests a minute from this address", body = DetailBody),
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
    let tokens = issue_pair(&ctx, user.id)?;
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
        (status = 429, description = "More than 10 register or login requests a minute from this address, or waiting after repeated wrong passwords for this e-mail (known or not)", body = DetailBody),
    ),
    security(())
)]
pub async fn login(
    _: AuthRateLimit,
    State(ctx): State<AppContext>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<AuthResponse>> {
    let LoginRequest { email, password } = LoginRequest::parse(&body)?;
    charge_password_attempt(&ctx, &email).await?;
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
    ctx.ephemeral.clear_login_failures(&email).await?;
    users::record_login(&ctx.pool, user.id).await?;
    let tokens = issue_pair(&ctx, user.id)?;
    Ok(Json(AuthResponse {
        user: user.into(),
        tokens,
    }))
}

/// Charges one password check against the account named by `email` (known or not), or
/// refuses it with 429 while an earlier run of failures makes it wait.
async fn charge_password_attempt(ctx: &AppContext, email: &str) -> ApiResult<()> {
    match ctx
        .ephemeral
        .begin_login_attempt(email, &ctx.login_backoff, Utc::now())
        .await?
    {
        RateDecision::Allowed => Ok(()),
        RateDecision::Limited { retry_after_secs } => {
            Err(Refusal::Throttled { retry_after_secs }.into())
        }
    }
}

fn refresh_refused(problem: TokenProblem) -> ApiError {
    ApiError::unauthorized(problem.message(), "token_not_valid")
}

/// Rotates a refresh token into a new pair in the same login. Presenting it again gets
/// another pair within the grace period (`REFRESH_REUSE_GRACE_SECONDS`), and after it while
/// no token issued from it was presented (those are then superseded); otherwise, or for a
/// superseded token, it revokes every token of the login (docs/api-decisions.md).
#[utoipa::path(
    post, path = "/api/auth/refresh/", tag = "auth", operation_id = "auth_refresh",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new pair; the presented refresh token is now rotated", body = TokenPair),
        (status = 400, description = "`refresh` missing", body = FieldErrorsBody),
        (status = 401, description = "`Token is invalid`, `Token is expired`, `Token is blacklisted` or `Token has wrong type` (code `token_not_valid`); or `no_active_account`", body = DetailBody),
        (status = 429, description = "More than 30 refreshes a minute from this address (a bucket of their own)", body = DetailBody),
    ),
    security(())
)]
pub async fn refresh(
    _: RefreshRateLimit,
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
    if login_ended(&ctx, &claims, now).await? {
        return Err(refresh_refused(TokenProblem::Blacklisted));
    }
    // Minted first: the rotation records the child's jti.
    let family = Some(claims.family().to_owned());
    let child = ctx
        .jwt
        .issue(TokenType::Refresh, claims.user_id, family, now)?;
    let outcome = rotation::rotate(
        &ctx.ephemeral,
        &claims.jti,
        &child.claims.jti,
        claims.expires_at(),
        now,
        ctx.refresh_reuse_grace.0,
    )
    .await?;
    match outcome {
        Outcome::Granted => {}
        Outcome::Refused => {
            tracing::info!(user_id = %claims.user_id, "refresh refused: lost a race or too many pairs from one token");
            return Err(refresh_refused(TokenProblem::Blacklisted));
        }
        Outcome::Reuse => {
            // A token came back after its successor was used, or after it was superseded:
            // two holders of one login.
            revoke_family(&ctx, &claims).await?;
            tracing::warn!(user_id = %claims.user_id, "refresh token reused; family revoked");
            return Err(refresh_refused(TokenProblem::Blacklisted));
        }
    }
    let access = ctx
        .jwt
        .issue(TokenType::Access, claims.user_id, None, now)?;
    Ok(Json(TokenPair {
        refresh: child.token,
        access: access.token,
    }))
}

/// Whether the token's login has ended: its family was revoked (logout, reuse), or a
/// password change revoked every refresh token of the user issued until then.
async fn login_ended(ctx: &AppContext, claims: &Claims, now: DateTime<Utc>) -> ApiResult<bool> {
    let user = claims.user_id.to_string();
    let (family_revoked, user_revocation) = tokio::try_join!(
        ctx.ephemeral.is_family_revoked(claims.family(), now),
        ctx.ephemeral.user_revocation(&user, now),
    )?;
    Ok(family_revoked || user_revocation.is_some_and(|r| r.covers(claims.iat, claims.family())))
}

/// Revokes the login; every member of the family expires before the record does.
async fn revoke_family(ctx: &AppContext, claims: &Claims) -> ApiResult<RevocationOutcome> {
    Ok(ctx
        .ephemeral
        .revoke_family(claims.family(), Utc::now() + REFRESH_TOKEN_LIFETIME)
        .await?)
}

/// Ends the login the refresh token belongs to, whichever of its tokens is presented (a
/// rotated one too). Access tokens stay valid until they expire.
#[utoipa::path(
    post, path = "/api/auth/logout/", tag = "auth", operation_id = "auth_logout",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "Logged out", body = MessageJson),
        (status = 400, description = "`Refresh token is required`, or `Invalid token` (bad, expired, another user's, or its login already ended)", body = ErrorBody),
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
    if claims.user_id != caller.id || login_ended(&ctx, &claims, now).await? {
        return Err(invalid());
    }
    match revoke_family(&ctx, &claims).await? {
        RevocationOutcome::Revoked => Ok(Json(MessageJson {
            message: "Successfully logged out".into(),
        })),
        // A concurrent logout or reuse ended it first.
        RevocationOutcome::AlreadyRevoked { .. } => Err(invalid()),
    }
}

/// Changes the caller's password and ends every login of theirs: every refresh token issued
/// until now is revoked. The answer carries a new login for the caller. Access tokens stay
/// valid until they expire (at most 60 minutes).
#[utoipa::path(
    post, path = "/api/auth/password/", tag = "auth", operation_id = "auth_password_change",
    request_body = PasswordChangeRequest,
    responses(
        (status = 200, description = "Changed; earlier refresh tokens are revoked", body = PasswordChangedResponse),
        (status = 400, description = "Field errors: `old_password` wrong or missing, `new_password` breaking the password rules", body = FieldErrorsBody),
        (status = 401, description = "Not authenticated", body = TokenErrorBody),
        (status = 429, description = "Throttled, or waiting after repeated wrong passwords for this account", body = DetailBody),
    ),
    security(("jwt" = []))
)]
pub async fn change_password(
    State(ctx): State<AppContext>,
    AuthUser(caller): AuthUser,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<PasswordChangedResponse>> {
    let (context, email) = (&ctx, &caller.email);
    // The old password is guessed through the same per-account backoff as login.
    let input = PasswordChangeRequest::parse(&body, move |old| async move {
        charge_password_attempt(context, email).await?;
        let hash = users::find_credentials(&context.pool, email)
            .await?
            .map(|(_, hash)| hash);
        let matches = password::verify(old, hash).await?;
        if matches {
            context.ephemeral.clear_login_failures(email).await?;
        }
        Ok(matches)
    })
    .await?;
    let new_hash = password::hash(input.new_password).await?;
    let now = Utc::now();
    let access = ctx.jwt.issue(TokenType::Access, caller.id, None, now)?;
    let refresh = ctx.jwt.issue(TokenType::Refresh, caller.id, None, now)?;
    // Revoked before the password changes: if the update then fails, the user is logged out
    // with the old password still valid, never left with old logins on a new password.
    ctx.ephemeral
        .revoke_user_tokens(
            &caller.id.to_string(),
            now,
            refresh.claims.family(),
            now + REFRESH_TOKEN_LIFETIME,
        )
        .await?;
    users::set_password_hash(&ctx.pool, caller.id, &new_hash).await?;
    Ok(Json(PasswordChangedResponse {
        message: "Password changed".into(),
        tokens: TokenPair {
            refresh: refresh.token,
            access: access.token,
        },
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
