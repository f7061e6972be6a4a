//! The JSON this function speaks: response shapes with the keys the frontend reads, and (in
//! `json/requests.rs`) each request body's documented schema beside its parser. Parsers
//! collect every field's errors at once (DRF's behaviour) and use the same limits the schemas
//! document (checked by `tests::schema_limits_are_the_parsers`).

mod requests;

use meetin_core::Role;
use meetin_data::invitations::{Invitation, InvitationState};
use meetin_data::organizations::{Membership, Organization};
use meetin_data::users::User;
use meetin_vocab::drf;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

pub use requests::{
    AddMemberRequest, ChangeRoleRequest, EMAIL_TAKEN, INVALID_CREDENTIALS, LoginRequest,
    OLD_PASSWORD_WRONG, ORGANIZATION_NAME_MAX_CHARS, OrganizationPatch, OrganizationRequest,
    PERSON_NAME_MAX_CHARS, PasswordChangeRequest, REFRESH_TOKEN_MAX_CHARS, RefreshRequest,
    RegisterRequest, USERNAME_TAKEN,
};

#[derive(Debug, Serialize, ToSchema)]
pub struct UserJson {
    pub id: Uuid,
    pub email: String,
    pub username: String,
    pub first_name: String,
    pub last_name: String,
    pub created_at: drf::DateTime,
}

impl From<User> for UserJson {
    fn from(u: User) -> Self {
        Self {
            id: u.id,
            email: u.email,
            username: u.username,
            first_name: u.first_name,
            last_name: u.last_name,
            created_at: u.created_at.into(),
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
    pub created_at: drf::DateTime,
}

impl From<Organization> for OrganizationJson {
    fn from(o: Organization) -> Self {
        Self {
            id: o.id,
            name: o.name,
            owner: o.owner.into(),
            member_count: o.member_count,
            created_at: o.created_at.into(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberJson {
    pub id: Uuid,
    pub user: UserJson,
    pub user_email: String,
    pub role: Role,
    pub joined_at: drf::DateTime,
}

impl From<Membership> for MemberJson {
    fn from(m: Membership) -> Self {
        Self {
            id: m.id,
            user_email: m.user.email.clone(),
            user: m.user.into(),
            role: m.role,
            joined_at: m.joined_at.into(),
        }
    }
}

/// A page of members, plus, for the organization's admins only, its invitations that did not
/// (yet) become memberships. `results` holds only real memberships, in the contract's Member
/// shape, so clients that read members see nothing new there.
#[derive(Debug, Serialize, ToSchema)]
pub struct MembersPage {
    pub count: i64,
    pub next: Option<String>,
    pub previous: Option<String>,
    pub results: Vec<MemberJson>,
    /// Admins only (absent for other members): pending, expired and declined invitations,
    /// newest first, at most 100.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invitations: Option<Vec<InvitationJson>>,
}

/// Where an invitation stands; `expired` is a pending invitation past `expires_at`, and
/// `revoked` one closed because its invitee accepted another invitation to the organization.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum InvitationStateJson {
    Pending,
    Expired,
    Accepted,
    Declined,
    Revoked,
}

impl From<InvitationState> for InvitationStateJson {
    fn from(s: InvitationState) -> Self {
        match s {
            InvitationState::Pending => Self::Pending,
            InvitationState::Expired => Self::Expired,
            InvitationState::Accepted => Self::Accepted,
            InvitationState::Declined => Self::Declined,
            InvitationState::Revoked => Self::Revoked,
        }
    }
}

/// An invitation to an organization: nothing is granted until the invitee accepts it.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationJson {
    pub id: Uuid,
    /// The organization's id.
    pub organization: Uuid,
    pub organization_name: String,
    /// The invited address (normalized: domain lowercased), for an invitation by e-mail;
    /// `null` for one by `user_id`.
    #[schema(format = Email)]
    pub email: Option<String>,
    /// The invited account id, for an invitation by `user_id`; `null` for one by e-mail.
    pub user_id: Option<Uuid>,
    /// The role the membership will have.
    pub role: Role,
    pub state: InvitationStateJson,
    /// The e-mail of the admin who (last) sent it.
    pub invited_by: String,
    pub created_at: drf::DateTime,
    /// Acceptable until then: 7 days after it was (last) sent.
    pub expires_at: drf::DateTime,
    pub responded_at: Option<drf::DateTime>,
}

impl From<Invitation> for InvitationJson {
    fn from(i: Invitation) -> Self {
        Self {
            id: i.id,
            organization: i.organization_id,
            organization_name: i.organization_name,
            email: i.email,
            user_id: i.user_id,
            role: i.role,
            state: i.state.into(),
            invited_by: i.invited_by,
            created_at: i.created_at.into(),
            expires_at: i.expires_at.into(),
            responded_at: i.responded_at.map(drf::DateTime),
        }
    }
}

/// A changed password: every earlier refresh token is revoked; `tokens` is a new login.
#[derive(Debug, Serialize, ToSchema)]
pub struct PasswordChangedResponse {
    pub message: String,
    pub tokens: TokenPair,
}

#[cfg(test)]
mod tests;
