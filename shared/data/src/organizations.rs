//! Organizations and their memberships. Reads are limited to organizations the caller
//! belongs to; changes to an organization or its members require the caller to be its admin,
//! checked in the same statement or transaction that makes the change; a member may leave.
//! Nobody is added without consent: memberships are made by accepting an invitation
//! ([`crate::invitations`]) or by creating the organization.

use chrono::{DateTime, Utc};
use meetin_core::Role;
use sqlx::postgres::PgRow;
use sqlx::{FromRow, PgConnection, PgPool, Row};
use uuid::Uuid;

use crate::access::{parse_role, role_in};
use crate::caller_may;
use crate::users::User;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    pub id: Uuid,
    pub name: String,
    pub owner: User,
    pub member_count: i64,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub user: User,
    pub role: Role,
    pub joined_at: DateTime<Utc>,
}

/// Reads a [`User`] whose columns carry `prefix`.
fn prefixed_user(row: &PgRow, prefix: &str) -> Result<User, sqlx::Error> {
    let col = |name: &str| format!("{prefix}{name}");
    Ok(User {
        id: row.try_get(col("id").as_str())?,
        email: row.try_get(col("email").as_str())?,
        username: row.try_get(col("username").as_str())?,
        first_name: row.try_get(col("first_name").as_str())?,
        last_name: row.try_get(col("last_name").as_str())?,
        is_active: row.try_get(col("is_active").as_str())?,
        created_at: row.try_get(col("created_at").as_str())?,
    })
}

impl<'r> FromRow<'r, PgRow> for Organization {
    fn from_row(row: &'r PgRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            owner: prefixed_user(row, "owner_")?,
            member_count: row.try_get("member_count")?,
            created_at: row.try_get("created_at")?,
        })
    }
}

impl<'r> FromRow<'r, PgRow> for Membership {
    fn from_row(row: &'r PgRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: row.try_get("id")?,
            organization_id: row.try_get("organization_id")?,
            user: prefixed_user(row, "user_")?,
            role: parse_role(row.try_get("role")?),
            joined_at: row.try_get("joined_at")?,
        })
    }
}

macro_rules! organization_select {
    () => {
        "SELECT o.id, o.name, o.created_at, \
                (SELECT count(*) FROM organization_members c WHERE c.organization_id = o.id) AS member_count, \
                u.id AS owner_id, u.email AS owner_email, u.username AS owner_username, \
                u.first_name AS owner_first_name, u.last_name AS owner_last_name, \
                u.is_active AS owner_is_active, u.created_at AS owner_created_at \
         FROM organizations o JOIN users u ON u.id = o.owner_id "
    };
}

macro_rules! membership_select {
    () => {
        "SELECT m.id, m.organization_id, m.role, m.joined_at, \
                u.id AS user_id, u.email AS user_email, u.username AS user_username, \
                u.first_name AS user_first_name, u.last_name AS user_last_name, \
                u.is_active AS user_is_active, u.created_at AS user_created_at \
         FROM organization_members m JOIN users u ON u.id = m.user_id "
    };
}

/// Inserts an organization owned by `owner` with `owner` as its admin.
pub(crate) async fn insert_with_admin(
    conn: &mut PgConnection,
    owner: Uuid,
    name: &str,
) -> Result<Uuid, sqlx::Error> {
    let id: Uuid = sqlx::query_scalar(
        "INSERT INTO organizations (name, owner_id) VALUES ($1, $2) RETURNING id",
    )
    .bind(name)
    .bind(owner)
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query("INSERT INTO organization_members (organization_id, user_id, role) VALUES ($1, $2, 'admin')")
        .bind(id)
        .bind(owner)
        .execute(&mut *conn)
        .await?;
    Ok(id)
}

/// Creates an organization with its creator as admin.
pub async fn create(pool: &PgPool, owner: Uuid, name: &str) -> Result<Organization, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let id = insert_with_admin(&mut tx, owner, name).await?;
    let org = sqlx::query_as(concat!(organization_select!(), "WHERE o.id = $1"))
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(org)
}

pub async fn count_for_member(pool: &PgPool, user: Uuid) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM organization_members WHERE user_id = $1")
        .bind(user)
        .fetch_one(pool)
        .await
}

/// The organizations `user` belongs to: those they own first, oldest first, then the others
/// in the order they joined them (ties by id, so pages are stable). Clients that act in "the
/// first organization" act in one of the caller's own.
pub async fn list_for_member(
    pool: &PgPool,
    user: Uuid,
    limit: i64,
    offset: i64,
) -> Result<Vec<Organization>, sqlx::Error> {
    sqlx::query_as(concat!(
        organization_select!(),
        "WHERE ",
        caller_may!(read, "o.id", "$1"),
        " ORDER BY o.owner_id = $1 DESC, \
           CASE WHEN o.owner_id = $1 THEN o.created_at \
                ELSE (SELECT j.joined_at FROM organization_members j \
                      WHERE j.organization_id = o.id AND j.user_id = $1) END, \
           o.id \
         LIMIT $2 OFFSET $3"
    ))
    .bind(user)
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await
}

/// The organization, if `user` is its admin.
pub async fn find_administered(
    pool: &PgPool,
    user: Uuid,
    org: Uuid,
) -> Result<Option<Organization>, sqlx::Error> {
    sqlx::query_as(concat!(
        organization_select!(),
        "WHERE o.id = $2 AND ",
        caller_may!(admin, "o.id", "$1")
    ))
    .bind(user)
    .bind(org)
    .fetch_optional(pool)
    .await
}

/// Renames the organization if `user` is its admin.
pub async fn rename_administered(
    pool: &PgPool,
    user: Uuid,
    org: Uuid,
    name: &str,
) -> Result<Option<Organization>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let updated: Option<Uuid> = sqlx::query_scalar(concat!(
        "UPDATE organizations o SET name = $3 WHERE o.id = $2 AND ",
        caller_may!(admin, "o.id", "$1"),
        " RETURNING o.id"
    ))
    .bind(user)
    .bind(org)
    .bind(name)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(id) = updated else {
        return Ok(None);
    };
    let org = sqlx::query_as(concat!(organization_select!(), "WHERE o.id = $1"))
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Some(org))
}

/// Deletes the organization (and, by cascade, everything in it) if `user` is its admin.
pub async fn delete_administered(
    pool: &PgPool,
    user: Uuid,
    org: Uuid,
) -> Result<bool, sqlx::Error> {
    let deleted = sqlx::query(concat!(
        "DELETE FROM organizations o WHERE o.id = $2 AND ",
        caller_may!(admin, "o.id", "$1")
    ))
    .bind(user)
    .bind(org)
    .execute(pool)
    .await?;
    Ok(deleted.rows_affected() == 1)
}

/// How many members of `org` the `viewer` can see: all of them if a member, else none.
pub async fn count_members_visible_to(
    pool: &PgPool,
    org: Uuid,
    viewer: Uuid,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(concat!(
        "SELECT count(*) FROM organization_members m WHERE m.organization_id = $1 AND ",
        caller_may!(read, "$1", "$2")
    ))
    .bind(org)
    .bind(viewer)
    .fetch_one(pool)
    .await
}

/// The memberships of `org`, oldest first, if `viewer` belongs to it.
pub async fn list_members_visible_to(
    pool: &PgPool,
    org: Uuid,
    viewer: Uuid,
    limit: i64,
    offset: i64,
) -> Result<Vec<Membership>, sqlx::Error> {
    sqlx::query_as(concat!(
        membership_select!(),
        "WHERE m.organization_id = $1 AND ",
        caller_may!(read, "$1", "$2"),
        " ORDER BY m.joined_at, m.id LIMIT $3 OFFSET $4"
    ))
    .bind(org)
    .bind(viewer)
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await
}

#[derive(Debug, thiserror::Error)]
pub enum MembershipError {
    #[error("the caller is not an admin of the organization")]
    NotAdmin,
    #[error("no such membership in the organization")]
    NotFound,
    #[error("the user is already a member")]
    AlreadyMember,
    #[error("the organization would have no admin left")]
    LastAdmin,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Locks the organization row, so membership changes of one organization happen one at a
/// time (the last-admin rule depends on it), and checks that the actor is its admin.
pub(crate) async fn lock_for_membership_change(
    conn: &mut PgConnection,
    org: Uuid,
    actor: Uuid,
) -> Result<(), MembershipError> {
    let locked: Option<Uuid> =
        sqlx::query_scalar("SELECT id FROM organizations WHERE id = $1 FOR UPDATE")
            .bind(org)
            .fetch_optional(&mut *conn)
            .await?;
    if locked.is_none() {
        return Err(MembershipError::NotAdmin);
    }
    match role_in(&mut *conn, org, actor).await? {
        Some(Role::Admin) => Ok(()),
        _ => Err(MembershipError::NotAdmin),
    }
}

pub(crate) async fn fetch_membership(
    conn: &mut PgConnection,
    org: Uuid,
    membership: Uuid,
) -> Result<Option<Membership>, sqlx::Error> {
    sqlx::query_as(concat!(
        membership_select!(),
        "WHERE m.organization_id = $1 AND m.id = $2"
    ))
    .bind(org)
    .bind(membership)
    .fetch_optional(&mut *conn)
    .await
}

async fn admin_count(conn: &mut PgConnection, org: Uuid) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT count(*) FROM organization_members WHERE organization_id = $1 AND role = 'admin'",
    )
    .bind(org)
    .fetch_one(&mut *conn)
    .await
}

/// Changes a member's role; `actor` must be an admin, and the last admin cannot be demoted.
pub async fn change_role(
    pool: &PgPool,
    actor: Uuid,
    org: Uuid,
    membership: Uuid,
    role: Role,
) -> Result<Membership, MembershipError> {
    let mut tx = pool.begin().await?;
    lock_for_membership_change(&mut tx, org, actor).await?;
    let current = fetch_membership(&mut tx, org, membership)
        .await?
        .ok_or(MembershipError::NotFound)?;
    if current.role == Role::Admin && role != Role::Admin && admin_count(&mut tx, org).await? <= 1 {
        return Err(MembershipError::LastAdmin);
    }
    sqlx::query("UPDATE organization_members SET role = $3 WHERE organization_id = $1 AND id = $2")
        .bind(org)
        .bind(membership)
        .bind(role.as_str())
        .execute(&mut *tx)
        .await?;
    let updated = fetch_membership(&mut tx, org, membership)
        .await?
        .ok_or(MembershipError::NotFound)?;
    tx.commit().await?;
    Ok(updated)
}

/// Removes a membership; `actor` must be an admin, and the last admin cannot be removed.
pub async fn remove_member(
    pool: &PgPool,
    actor: Uuid,
    org: Uuid,
    membership: Uuid,
) -> Result<(), MembershipError> {
    let mut tx = pool.begin().await?;
    lock_for_membership_change(&mut tx, org, actor).await?;
    let current = fetch_membership(&mut tx, org, membership)
        .await?
        .ok_or(MembershipError::NotFound)?;
    if current.role == Role::Admin && admin_count(&mut tx, org).await? <= 1 {
        return Err(MembershipError::LastAdmin);
    }
    sqlx::query("DELETE FROM organization_members WHERE organization_id = $1 AND id = $2")
        .bind(org)
        .bind(membership)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// `user` leaves `org`. `NotFound` when they are not a member (or there is no such
/// organization); the last admin cannot leave.
pub async fn leave(pool: &PgPool, user: Uuid, org: Uuid) -> Result<(), MembershipError> {
    let mut tx = pool.begin().await?;
    let locked: Option<Uuid> =
        sqlx::query_scalar("SELECT id FROM organizations WHERE id = $1 FOR UPDATE")
            .bind(org)
            .fetch_optional(&mut *tx)
            .await?;
    if locked.is_none() {
        return Err(MembershipError::NotFound);
    }
    match role_in(&mut *tx, org, user).await? {
        None => return Err(MembershipError::NotFound),
        Some(Role::Admin) if admin_count(&mut tx, org).await? <= 1 => {
            return Err(MembershipError::LastAdmin);
        }
        Some(_) => {}
    }
    sqlx::query("DELETE FROM organization_members WHERE organization_id = $1 AND user_id = $2")
        .bind(org)
        .bind(user)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}
