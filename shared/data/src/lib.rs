//! The PostgreSQL data layer. Every SQL statement of meetIN lives here, one module per
//! aggregate; every statement that reads or changes tenant data is scoped by the caller's
//! organization membership through [`access`] (the one membership query and its SQL form).

pub mod access;
pub mod action_items;
pub mod invitations;
pub mod live_sessions;
pub mod meetings;
pub mod migrations;
pub mod minutes;
pub mod organizations;
pub mod pool;
pub mod recordings;
pub mod registration;
pub mod speakers;
pub mod transcripts;
pub mod users;
pub mod windows;

pub use pool::{MIGRATOR, PoolSettings, connect_lazy};
pub use sqlx::Error as DbError;
pub use sqlx::PgPool;

/// The name of the unique constraint (or index) a statement violated, if that is what failed.
pub(crate) fn unique_violation(err: &sqlx::Error) -> Option<&str> {
    match err {
        sqlx::Error::Database(db) if db.is_unique_violation() => db.constraint(),
        _ => None,
    }
}
