//! Invitations to organizations. Nobody becomes a member without consent: an admin invites an
//! e-mail address or an account id, and the membership is made only when the invitee accepts.
//!
//! The invitee of an invitation is whoever holds the account with that e-mail (compared
//! case-insensitively) or that id *when they look*, so an address with no account yet is
//! claimed simply by registering it; nothing happens at registration. Creating, accepting and
//! declining lock the organization row first, as every membership change does
//! ([`crate::organizations`]), so they happen one at a time per organization.

use chrono::{DateTime, Utc};
use meetin_core::Role;
use sqlx::postgres::PgRow;
use sqlx::{FromRow, PgConnection, PgPool, Row};
use uuid::Uuid;

use crate::access::parse_role;
use crate::caller_may;
use crate::organizations::{Membership, fetch_membership, lock_for_membership_change};

/// How long an invitation can be accepted: 7 days from when it was (last) sent.
pub const INVITATION_LIFETIME_DAYS: i32 = 7;

/// Whom an invitation is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invitee {
    /// An e-mail address, normalized as `users.email` (domain lowercased).
    Email(String),
    /// An account id; whether an account has it is not checked (see the migration).
    UserId(Uuid),
}

/// Where an invitation stands. `Expired` is not stored: it is a `pending` invitation past its
/// `expires_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvitationState {
    Pending,
    Expired,
    Accepted,
    Declined,
    Revoked,
}

impl InvitationState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Expired => "expired",
            Self::Accepted => "accepted",
            Self::Declined => "declined",
            Self::Revoked => "revoked",
        }
    }

    fn parse(raw: &str) -> Self {
        match raw {
            "pending" => Self::Pending,
            "expired" => Self::Expired,
            "accepted" => Self::Accepted,
            "declined" => Self::Declined,
            // The column's CHECK allows nothing else.
            _ => Self::Revoked,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub organization_name: String,
    /// Set for an invitation by e-mail.
    pub email: Option<String>,
    /// Set for an invitation by account id.
    pub user_id: Option<Uuid>,
    /// The role the membership will have.
    pub role: Role,
    pub state: InvitationState,
    /// The e-mail of the admin who (last) sent it.
    pub invited_by: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub responded_at: Option<DateTime<Utc>>,
}

impl<'r> FromRow<'r, PgRow> for Invitation {
    fn from_row(row: &'r PgRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: row.try_get("id")?,
            organization_id: row.try_get("organization_id")?,
            organization_name: row.try_get("organization_name")?,
            email: row.try_get("email")?,
            user_id: row.try_get("user_id")?,
            role: parse_role(row.try_get("role")?),
            state: InvitationState::parse(row.try_get("state")?),
            invited_by: row.try_get("invited_by")?,
            created_at: row.try_get("created_at")?,
            expires_at: row.try_get("expires_at")?,
            responded_at: row.try_get("responded_at")?,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum InvitationError {
    #[error("the caller is not an admin of the organization")]
    NotAdmin,
    #[error("the invitee is already a member")]
    AlreadyMember,
    #[error("no such invitation for the caller")]
    NotFound,
    #[error("the invitation has expired")]
    Expired,
    #[error("the invitation was answered already")]
    Answered,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl From<crate::organizations::MembershipError> for InvitationError {
    fn from(err: crate::organizations::MembershipError) -> Self {
        use crate::organizations::MembershipError as M;
        match err {
            M::NotAdmin => Self::NotAdmin,
            M::AlreadyMember => Self::AlreadyMember,
            M::NotFound | M::LastAdmin => Self::NotFound,
            M::Database(err) => Self::Database(err),
        }
    }
}

macro_rules! invitation_select {
    () => {
        "SELECT i.id, i.organization_id, o.name AS organization_name, i.email, i.user_id, i.role, \
                CASE WHEN i.state = 'pending' AND i.expires_at <= now() THEN 'expired' \
                     ELSE i.state END AS state, \
                b.email AS invited_by, i.created_at, i.expires_at, i.responded_at \
         FROM organization_invitations i \
         JOIN organizations o ON o.id = i.organization_id \
         JOIN users b ON b.id = i.invited_by_id "
    };
}

/// `i` is addressed to the account bound at `$user`: by its e-mail (any case) or its id.
macro_rules! addressed_to {
    ($user:literal) => {
        concat!(
            "EXISTS (SELECT 1 FROM users me WHERE me.id = ",
            $user,
            " AND (lower(me.email) = lower(i.email) OR me.id = i.user_id))"
        )
    };
}

async fn fetch(conn: &mut PgConnection, id: Uuid) -> Result<Invitation, sqlx::Error> {
    sqlx::query_as(concat!(invitation_select!(), "WHERE i.id = $1"))
        .bind(id)
        .fetch_one(&mut *conn)
        .await
}

/// Invites `invitee` to `org` with `role`; `actor` must be an admin of `org`. Inviting an
/// address (or id) that has a pending invitation renews that one: same id, the new role and
/// inviter, a fresh expiry. Refused with `AlreadyMember` when the account with that e-mail or
/// id is a member; the answer is otherwise the same whether or not such an account exists.
pub async fn invite(
    pool: &PgPool,
    actor: Uuid,
    org: Uuid,
    invitee: &Invitee,
    role: Role,
) -> Result<Invitation, InvitationError> {
    let (email, user_id) = match invitee {
        Invitee::Email(email) => (Some(email.as_str()), None),
        Invitee::UserId(id) => (None, Some(*id)),
    };
    let mut tx = pool.begin().await?;
    lock_for_membership_change(&mut tx, org, actor).await?;
    let member: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM organization_members m JOIN users u ON u.id = m.user_id \
         WHERE m.organization_id = $1 AND (lower(u.email) = lower($2) OR u.id = $3))",
    )
    .bind(org)
    .bind(email)
    .bind(user_id)
    .fetch_one(&mut *tx)
    .await?;
    if member {
        return Err(InvitationError::AlreadyMember);
    }
    // Two statements because ON CONFLICT names one partial index.
    let sql = match invitee {
        Invitee::Email(_) => {
            "INSERT INTO organization_invitations \
                 (organization_id, email, user_id, role, invited_by_id, expires_at) \
             VALUES ($1, $2, $3, $4, $5, now() + make_interval(days => $6)) \
             ON CONFLICT (organization_id, lower(email)) WHERE state = 'pending' AND email IS NOT NULL \
             DO UPDATE SET role = EXCLUDED.role, invited_by_id = EXCLUDED.invited_by_id, \
                           expires_at = EXCLUDED.expires_at \
             RETURNING id"
        }
        Invitee::UserId(_) => {
            "INSERT INTO organization_invitations \
                 (organization_id, email, user_id, role, invited_by_id, expires_at) \
             VALUES ($1, $2, $3, $4, $5, now() + make_interval(days => $6)) \
             ON CONFLICT (organization_id, user_id) WHERE state = 'pending' AND user_id IS NOT NULL \
             DO UPDATE SET role = EXCLUDED.role, invited_by_id = EXCLUDED.invited_by_id, \
                           expires_at = EXCLUDED.expires_at \
             RETURNING id"
        }
    };
    let id: Uuid = sqlx::query_scalar(sql)
        .bind(org)
        .bind(email)
        .bind(user_id)
        .bind(role.as_str())
        .bind(actor)
        .bind(INVITATION_LIFETIME_DAYS)
        .fetch_one(&mut *tx)
        .await?;
    let invitation = fetch(&mut tx, id).await?;
    tx.commit().await?;
    Ok(invitation)
}

/// How many open (pending, unexpired) invitations are addressed to `user`.
pub async fn count_open_for(pool: &PgPool, user: Uuid) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(concat!(
        "SELECT count(*) FROM organization_invitations i \
         WHERE i.state = 'pending' AND i.expires_at > now() AND ",
        addressed_to!("$1")
    ))
    .bind(user)
    .fetch_one(pool)
    .await
}

/// The open invitations addressed to `user`, oldest first.
pub async fn list_open_for(
    pool: &PgPool,
    user: Uuid,
    limit: i64,
    offset: i64,
) -> Result<Vec<Invitation>, sqlx::Error> {
    sqlx::query_as(concat!(
        invitation_select!(),
        "WHERE i.state = 'pending' AND i.expires_at > now() AND ",
        addressed_to!("$1"),
        " ORDER BY i.created_at, i.id LIMIT $2 OFFSET $3"
    ))
    .bind(user)
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await
}

/// The invitations of `org` not (yet) turned into memberships, pending, expired or declined,
/// newest first, at most `limit`; empty unless `viewer` is an admin of `org`.
pub async fn list_unanswered_or_declined(
    pool: &PgPool,
    org: Uuid,
    viewer: Uuid,
    limit: i64,
) -> Result<Vec<Invitation>, sqlx::Error> {
    sqlx::query_as(concat!(
        invitation_select!(),
        "WHERE i.organization_id = $1 AND i.state IN ('pending', 'declined') AND ",
        caller_may!(admin, "$1", "$2"),
        " ORDER BY i.created_at DESC, i.id DESC LIMIT $3"
    ))
    .bind(org)
    .bind(viewer)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Locks the organization of invitation `id` if the invitation is addressed to `user`, then
/// the invitation itself, and checks that it can still be answered. Organization first, as
/// every membership change, so concurrent answers cannot deadlock.
async fn lock_answerable(
    conn: &mut PgConnection,
    user: Uuid,
    id: Uuid,
) -> Result<(Uuid, Role), InvitationError> {
    let org: Option<Uuid> = sqlx::query_scalar(concat!(
        "SELECT i.organization_id FROM organization_invitations i WHERE i.id = $2 AND ",
        addressed_to!("$1")
    ))
    .bind(user)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    let org = org.ok_or(InvitationError::NotFound)?;
    sqlx::query("SELECT id FROM organizations WHERE id = $1 FOR UPDATE")
        .bind(org)
        .execute(&mut *conn)
        .await?;
    let row: Option<(String, String, bool)> = sqlx::query_as(
        "SELECT state, role, expires_at <= now() FROM organization_invitations \
         WHERE id = $1 FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        None => Err(InvitationError::NotFound),
        Some((state, _, _)) if state != "pending" => Err(InvitationError::Answered),
        Some((_, _, true)) => Err(InvitationError::Expired),
        Some((_, role, false)) => Ok((org, parse_role(&role))),
    }
}

/// Accepts invitation `id` on behalf of `user`, who must be its invitee: makes the membership
/// with the invited role, and closes (as `revoked`) the user's other pending invitations to the
/// same organization.
pub async fn accept(pool: &PgPool, user: Uuid, id: Uuid) -> Result<Membership, InvitationError> {
    let mut tx = pool.begin().await?;
    let (org, role) = lock_answerable(&mut tx, user, id).await?;
    let membership: Option<Uuid> = sqlx::query_scalar(
        "INSERT INTO organization_members (organization_id, user_id, role) VALUES ($1, $2, $3) \
         ON CONFLICT ON CONSTRAINT organization_members_org_user_key DO NOTHING RETURNING id",
    )
    .bind(org)
    .bind(user)
    .bind(role.as_str())
    .fetch_optional(&mut *tx)
    .await?;
    let membership = membership.ok_or(InvitationError::AlreadyMember)?;
    sqlx::query(
        "UPDATE organization_invitations SET state = 'accepted', responded_at = now() WHERE id = $1",
    )
    .bind(id)
    .execute(&mut *tx)
    .await?;
    sqlx::query(concat!(
        "UPDATE organization_invitations i SET state = 'revoked', responded_at = now() \
         WHERE i.organization_id = $2 AND i.state = 'pending' AND ",
        addressed_to!("$1")
    ))
    .bind(user)
    .bind(org)
    .execute(&mut *tx)
    .await?;
    let membership = fetch_membership(&mut tx, org, membership)
        .await?
        .ok_or(InvitationError::NotFound)?;
    tx.commit().await?;
    Ok(membership)
}

/// Declines invitation `id` on behalf of `user`, who must be its invitee.
pub async fn decline(pool: &PgPool, user: Uuid, id: Uuid) -> Result<Invitation, InvitationError> {
    let mut tx = pool.begin().await?;
    lock_answerable(&mut tx, user, id).await?;
    sqlx::query(
        "UPDATE organization_invitations SET state = 'declined', responded_at = now() WHERE id = $1",
    )
    .bind(id)
    .execute(&mut *tx)
    .await?;
    let invitation = fetch(&mut tx, id).await?;
    tx.commit().await?;
    Ok(invitation)
}
