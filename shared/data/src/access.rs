//! The one membership query every tenant-scoped statement goes through.
//!
//! [`role_in`] answers "which role does this user have in this organization", the input of
//! `meetin_core::access::authorize`. Statements that filter or change tenant data inline the
//! same rule with [`caller_may!`](crate::caller_may), whose role sets are tested against
//! `meetin_core::Access::allows` (tests/tests/api/access.rs).

use meetin_core::Role;
use sqlx::PgExecutor;
use uuid::Uuid;

/// `EXISTS (...)`: the user bound at `$user` has at least `read`, `write` or `admin` access
/// in the organization whose id is the SQL expression `$org`. Both are string literals, so
/// statements stay `&'static str`.
#[macro_export]
macro_rules! caller_may {
    (read, $org:literal, $user:literal) => {
        concat!(
            "EXISTS (SELECT 1 FROM organization_members access_m WHERE access_m.organization_id = ",
            $org,
            " AND access_m.user_id = ",
            $user,
            ")"
        )
    };
    (write, $org:literal, $user:literal) => {
        concat!(
            "EXISTS (SELECT 1 FROM organization_members access_m WHERE access_m.organization_id = ",
            $org,
            " AND access_m.user_id = ",
            $user,
            " AND access_m.role IN ('admin', 'member'))"
        )
    };
    (admin, $org:literal, $user:literal) => {
        concat!(
            "EXISTS (SELECT 1 FROM organization_members access_m WHERE access_m.organization_id = ",
            $org,
            " AND access_m.user_id = ",
            $user,
            " AND access_m.role = 'admin')"
        )
    };
}

/// The role column, parsed; the table's CHECK makes anything else impossible, and the least
/// privilege is the safe reading if it ever happened.
pub(crate) fn parse_role(raw: &str) -> Role {
    raw.parse().unwrap_or(Role::Viewer)
}

/// `user`'s role in `org`; `None` when not a member or no such organization.
pub async fn role_in<'e>(
    executor: impl PgExecutor<'e>,
    org: Uuid,
    user: Uuid,
) -> Result<Option<Role>, sqlx::Error> {
    let role: Option<String> = sqlx::query_scalar(
        "SELECT role FROM organization_members WHERE organization_id = $1 AND user_id = $2",
    )
    .bind(org)
    .bind(user)
    .fetch_optional(executor)
    .await?;
    Ok(role.as_deref().map(parse_role))
}

/// Whether the SQL form of the rule admits `user` to `org` for `access` (`read`, `write` or
/// `admin`); exists so tests can hold [`caller_may!`] to `meetin_core::Access::allows`.
pub async fn sql_rule_admits(
    pool: &sqlx::PgPool,
    access: meetin_core::Access,
    org: Uuid,
    user: Uuid,
) -> Result<bool, sqlx::Error> {
    use meetin_core::Access;
    let sql: &'static str = match access {
        Access::Read => concat!("SELECT ", caller_may!(read, "$1", "$2")),
        Access::Write => concat!("SELECT ", caller_may!(write, "$1", "$2")),
        Access::Admin => concat!("SELECT ", caller_may!(admin, "$1", "$2")),
    };
    sqlx::query_scalar(sql)
        .bind(org)
        .bind(user)
        .fetch_one(pool)
        .await
}

/// Which of `users` are members of `org` (any role): the live fan-out's check that each
/// listener may still hear the meeting. One statement.
pub async fn members_among<'e>(
    executor: impl PgExecutor<'e>,
    org: Uuid,
    users: &[Uuid],
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT user_id FROM organization_members WHERE organization_id = $1 AND user_id = ANY($2)",
    )
    .bind(org)
    .bind(users)
    .fetch_all(executor)
    .await
}
