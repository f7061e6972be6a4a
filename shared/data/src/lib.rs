//! The PostgreSQL data layer. Every SQL statement of meetIN lives here, one module per
//! aggregate; every query that reads or changes tenant data is scoped by the caller's
//! organization membership.

pub mod organizations;
pub mod pool;
pub mod users;

pub use pool::{MIGRATOR, PoolSettings, connect_lazy};
pub use sqlx::PgPool;

/// The name of the unique constraint (or index) a statement violated, if that is what failed.
pub(crate) fn unique_violation(err: &sqlx::Error) -> Option<&str> {
    match err {
        sqlx::Error::Database(db) if db.is_unique_violation() => db.constraint(),
        _ => None,
    }
}
