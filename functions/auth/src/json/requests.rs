//! The request bodies: each one's documented schema beside its parser. Each limit is written
//! once, here, and used by its parser.

use std::future::Future;

use meetin_core::validation::{Fields, NON_FIELD_ERRORS, REQUIRED, Text};
use meetin_core::{Refusal, Role, password};
use meetin_data::invitations::Invitee;
use meetin_http::{ApiError, ApiResult};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

/// Longest first or last name (Django's `AbstractUser`).
pub const PERSON_NAME_MAX_CHARS: usize = 150;
/// Longest organization name (the `organizations.name` column).
pub const ORGANIZATION_NAME_MAX_CHARS: usize = 255;
/// Longest refresh token accepted for verification (ours are about 300 characters).
pub const REFRESH_TOKEN_MAX_CHARS: usize = 4096;

pub const EMAIL_TAKEN: &str = "user with this email already exists.";
pub const USERNAME_TAKEN: &str = "A user with that username already exists.";

/// `POST /api/auth/register/`.
#[derive(ToSchema)]
pub struct RegisterRequest {
    /// A valid address, unique whatever its case.
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    /// Letters, digits and `@ . + - _`; unique.
    #[schema(min_length = 1, max_length = 150, pattern = r"^[\w.@+-]+$")]
    pub username: String,
    /// Not entirely numeric, not a common password.
    #[schema(min_length = 10, max_length = 4096)]
    pub password: String,
    #[schema(max_length = 150)]
    pub first_name: Option<String>,
    #[schema(max_length = 150)]
    pub last_name: Option<String>,
}

impl RegisterRequest {
    /// Every field's errors at once, uniqueness included: `taken(email, username)` answers
    /// which of them are already registered.
    pub async fn parse<F, Fut>(body: &Value, taken: F) -> ApiResult<Self>
    where
        F: FnOnce(String, String) -> Fut,
        Fut: Future<Output = ApiResult<(bool, bool)>>,
    {
        let mut f = Fields::new(body)?;
        let email = f.required_email("email");
        let username = f.required_username("username");
        let password = f.required_secret("password", password::MAX_PASSWORD_CHARS);
        if let Some(pw) = &password {
            for problem in password::check_rules(pw) {
                f.error("password", problem);
            }
        }
        let first_name = f.optional_text("first_name", Text::blank_ok(PERSON_NAME_MAX_CHARS));
        let last_name = f.optional_text("last_name", Text::blank_ok(PERSON_NAME_MAX_CHARS));
        if email.is_some() || username.is_some() {
            let (email_taken, username_taken) = taken(
                email.clone().unwrap_or_default(),
                username.clone().unwrap_or_default(),
            )
            .await?;
            if email_taken && email.is_some() {
                f.error("email", EMAIL_TAKEN);
            }
            if username_taken && username.is_some() {
                f.error("username", USERNAME_TAKEN);
            }
        }
        f.finish()?;
        match (email, username, password) {
            (Some(email), Some(username), Some(password)) => Ok(Self {
                email,
                username,
                password,
                first_name,
                last_name,
            }),
            // finish() reported any missing field.
            _ => Err(ApiError::internal(
                "registration fields missing after validation",
            )),
        }
    }
}

/// `POST /api/auth/login/`.
#[derive(ToSchema)]
pub struct LoginRequest {
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    #[schema(min_length = 1, max_length = 4096)]
    pub password: String,
}

pub const INVALID_CREDENTIALS: &str = "Invalid credentials";

impl LoginRequest {
    pub fn parse(body: &Value) -> ApiResult<Self> {
        let mut f = Fields::new(body)?;
        let email = f.required_email("email");
        let password = f.required_secret("password", password::MAX_PASSWORD_CHARS);
        f.finish()?;
        match (email, password) {
            (Some(email), Some(password)) => Ok(Self { email, password }),
            _ => Err(Refusal::field(NON_FIELD_ERRORS, INVALID_CREDENTIALS).into()),
        }
    }
}

/// `POST /api/auth/refresh/` and `POST /api/auth/logout/`.
#[derive(ToSchema)]
pub struct RefreshRequest {
    /// A refresh token from register, login or a previous refresh.
    #[schema(min_length = 1, max_length = 4096)]
    pub refresh: String,
}

impl RefreshRequest {
    /// Refresh reports a missing token as a field error (simplejwt's serializer).
    pub fn parse(body: &Value) -> ApiResult<Self> {
        let mut f = Fields::new(body)?;
        let refresh = f.required_text("refresh", Text::max(REFRESH_TOKEN_MAX_CHARS));
        f.finish()?;
        Ok(Self {
            refresh: refresh.unwrap_or_default(),
        })
    }

    /// Logout reports it as `{"error": "Refresh token is required"}` (the original view).
    pub fn parse_for_logout(body: &Value) -> ApiResult<Self> {
        body.get("refresh")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| Self { refresh: t.into() })
            .ok_or_else(|| ApiError::bad_request("Refresh token is required"))
    }
}

/// `POST /api/auth/password/`: the caller's current password and the new one.
#[derive(ToSchema)]
pub struct PasswordChangeRequest {
    #[schema(min_length = 1, max_length = 4096)]
    pub old_password: String,
    /// The registration rules: at least 10 characters, not entirely numeric, not common.
    #[schema(min_length = 10, max_length = 4096)]
    pub new_password: String,
}

/// Django's `PasswordChangeForm` message.
pub const OLD_PASSWORD_WRONG: &str =
    "Your old password was entered incorrectly. Please enter it again.";

impl PasswordChangeRequest {
    /// Every field's errors at once: `old_matches(old_password)` answers whether it is the
    /// caller's password (and may refuse the attempt outright, e.g. 429).
    pub async fn parse<F, Fut>(body: &Value, old_matches: F) -> ApiResult<Self>
    where
        F: FnOnce(String) -> Fut,
        Fut: Future<Output = ApiResult<bool>>,
    {
        let mut f = Fields::new(body)?;
        let old_password = f.required_secret("old_password", password::MAX_PASSWORD_CHARS);
        let new_password = f.required_secret("new_password", password::MAX_PASSWORD_CHARS);
        if let Some(pw) = &new_password {
            for problem in password::check_rules(pw) {
                f.error("new_password", problem);
            }
        }
        if let Some(old) = &old_password
            && !old_matches(old.clone()).await?
        {
            f.error("old_password", OLD_PASSWORD_WRONG);
        }
        f.finish()?;
        match (old_password, new_password) {
            (Some(old_password), Some(new_password)) => Ok(Self {
                old_password,
                new_password,
            }),
            // finish() reported any missing field.
            _ => Err(ApiError::internal(
                "password change fields missing after validation",
            )),
        }
    }
}

/// `POST` and `PUT /api/auth/organizations/…`.
#[derive(ToSchema)]
pub struct OrganizationRequest {
    #[schema(min_length = 1, max_length = 255)]
    pub name: String,
}

/// `PATCH /api/auth/organizations/{id}/`.
#[derive(ToSchema)]
pub struct OrganizationPatch {
    #[schema(min_length = 1, max_length = 255)]
    pub name: Option<String>,
}

impl OrganizationPatch {
    /// The name to set, if given; `required` for POST and PUT.
    pub fn parse(body: &Value, required: bool) -> ApiResult<Self> {
        let mut f = Fields::new(body)?;
        let rule = Text::max(ORGANIZATION_NAME_MAX_CHARS);
        let name = if required {
            f.required_text("name", rule)
        } else {
            f.optional_text("name", rule)
        };
        f.finish()?;
        Ok(Self { name })
    }
}

/// `POST /api/auth/organizations/{org_id}/members/`: invite a person by `email` (whether or
/// not it has an account yet) or an account by `user_id` (one of them).
#[derive(ToSchema)]
pub struct AddMemberRequest {
    #[schema(format = Email, max_length = 254)]
    pub email: Option<String>,
    pub user_id: Option<Uuid>,
    /// Defaults to `member`.
    pub role: Option<Role>,
}

impl AddMemberRequest {
    /// The invitee and the role (default `member`).
    pub fn parse(body: &Value) -> ApiResult<(Invitee, Role)> {
        let mut f = Fields::new(body)?;
        let email = f.optional_email("email");
        let user_id = f.optional_uuid("user_id");
        let role = f.optional_choice::<Role>("role");
        match (f.is_present("email"), f.is_present("user_id")) {
            (false, false) => f.error(NON_FIELD_ERRORS, "Provide the user's email or user_id."),
            (true, true) => f.error(
                NON_FIELD_ERRORS,
                "Provide the user's email or user_id, not both.",
            ),
            _ => {}
        }
        f.finish()?;
        let invitee = match (email, user_id) {
            (Some(email), None) => Invitee::Email(email),
            (None, Some(id)) => Invitee::UserId(id),
            _ => {
                return Err(Refusal::field(
                    NON_FIELD_ERRORS,
                    "Provide the user's email or user_id.",
                )
                .into());
            }
        };
        Ok((invitee, role.unwrap_or(Role::Member)))
    }
}

/// `PATCH /api/auth/organizations/{org_id}/members/{membership_id}/`.
#[derive(ToSchema)]
pub struct ChangeRoleRequest {
    pub role: Role,
}

impl ChangeRoleRequest {
    pub fn parse(body: &Value) -> ApiResult<Self> {
        let mut f = Fields::new(body)?;
        let role = f.optional_choice::<Role>("role");
        if !f.is_present("role") {
            f.error("role", REQUIRED);
        }
        f.finish()?;
        role.map(|role| Self { role })
            .ok_or_else(|| ApiError::field("role", REQUIRED))
    }
}
