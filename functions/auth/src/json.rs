//! The JSON shapes this function answers with, exactly as the contract names their keys.

use chrono::{DateTime, Utc};
use meetin_core::Role;
use meetin_data::organizations::{Membership, Organization};
use meetin_data::users::User;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Serialize, ToSchema)]
pub struct UserJson {
    pub id: Uuid,
    pub email: String,
    pub username: String,
    pub first_name: String,
    pub last_name: String,
    #[serde(serialize_with = "meetin_core::time::drf")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
}

impl From<User> for UserJson {
    fn from(u: User) -> Self {
        Self {
            id: u.id,
            email: u.email,
            username: u.username,
            first_name: u.first_name,
            last_name: u.last_name,
            created_at: u.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenPair {
    pub refresh: String,
    pub access: String,
}

/// Registration and login: the user and a fresh token pair.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuthResponse {
    pub user: UserJson,
    pub tokens: TokenPair,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MessageJson {
    pub message: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrganizationJson {
    pub id: Uuid,
    pub name: String,
    pub owner: UserJson,
    pub member_count: i64,
    #[serde(serialize_with = "meetin_core::time::drf")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
}

impl From<Organization> for OrganizationJson {
    fn from(o: Organization) -> Self {
        Self {
            id: o.id,
            name: o.name,
            owner: o.owner.into(),
            member_count: o.member_count,
            created_at: o.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberJson {
    pub id: Uuid,
    pub user: UserJson,
    pub user_email: String,
    pub role: Role,
    #[serde(serialize_with = "meetin_core::time::drf")]
    #[schema(value_type = String, format = DateTime)]
    pub joined_at: DateTime<Utc>,
}

impl From<Membership> for MemberJson {
    fn from(m: Membership) -> Self {
        Self {
            id: m.id,
            user_email: m.user.email.clone(),
            user: m.user.into(),
            role: m.role,
            joined_at: m.joined_at,
        }
    }
}

// Request bodies, for the OpenAPI document (handlers validate the raw JSON field by field
// so every error comes back in the contract's shape).

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

#[derive(ToSchema)]
pub struct LoginRequest {
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    #[schema(min_length = 1, max_length = 4096)]
    pub password: String,
}

#[derive(ToSchema)]
pub struct RefreshRequest {
    /// A refresh token from register, login or a previous refresh.
    #[schema(min_length = 1)]
    pub refresh: String,
}

#[derive(ToSchema)]
pub struct OrganizationRequest {
    #[schema(min_length = 1, max_length = 255)]
    pub name: String,
}

#[derive(ToSchema)]
pub struct OrganizationPatch {
    #[schema(min_length = 1, max_length = 255)]
    pub name: Option<String>,
}

/// Name the user by `email` or by `user_id` (one of them).
#[derive(ToSchema)]
pub struct AddMemberRequest {
    #[schema(format = Email, max_length = 254)]
    pub email: Option<String>,
    pub user_id: Option<Uuid>,
    /// Defaults to `member`.
    pub role: Option<Role>,
}

#[derive(ToSchema)]
pub struct ChangeRoleRequest {
    pub role: Role,
}
