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
    /// A valid address, unique whatever its case; at most 254 characters.
    pub email: String,
    /// At most 150 letters, digits and `@ . + - _`; unique.
    pub username: String,
    /// At least 10 characters, not entirely numeric, not a common password.
    pub password: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

#[derive(ToSchema)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

#[derive(ToSchema)]
pub struct RefreshRequest {
    pub refresh: String,
}

#[derive(ToSchema)]
pub struct OrganizationRequest {
    /// At most 255 characters.
    pub name: String,
}

#[derive(ToSchema)]
pub struct OrganizationPatch {
    pub name: Option<String>,
}

/// Name the user by `email` or by `user_id` (one of them).
#[derive(ToSchema)]
pub struct AddMemberRequest {
    pub email: Option<String>,
    pub user_id: Option<Uuid>,
    /// Defaults to `member`.
    pub role: Option<Role>,
}

#[derive(ToSchema)]
pub struct ChangeRoleRequest {
    pub role: Role,
}
