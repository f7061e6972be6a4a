//! The connection pool: small, lazy and reused across invocations, as a Lambda behind RDS
//! Proxy wants; the local stack, which serves every function in one process, asks for more.

use std::time::Duration;

use sqlx::PgPool;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

#[derive(Debug, Clone, Copy)]
pub struct PoolSettings {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
    /// Shorter than RDS Proxy's client idle timeout, so the pool closes first.
    pub idle_timeout: Duration,
}

impl PoolSettings {
    /// One Lambda environment serves one invocation at a time.
    pub const LAMBDA: Self = Self {
        max_connections: 2,
        acquire_timeout: Duration::from_secs(5),
        idle_timeout: Duration::from_secs(300),
    };

    /// A long-running service task (the Fargate ingress and bridge): many requests at once,
    /// each holding a connection only for its short queries, never during an upload.
    pub const SERVICE: Self = Self {
        max_connections: 10,
        acquire_timeout: Duration::from_secs(5),
        idle_timeout: Duration::from_secs(300),
    };

    pub const LOCAL: Self = Self {
        max_connections: 10,
        acquire_timeout: Duration::from_secs(10),
        idle_timeout: Duration::from_secs(300),
    };
}

/// Builds the pool without connecting: the first query (or [`warm_up`]) connects, so a
/// cold start never fails because the database is briefly unreachable.
pub fn connect_lazy(url: &str, settings: PoolSettings) -> Result<PgPool, sqlx::Error> {
    let options: PgConnectOptions = url.parse()?;
    let options = options.application_name("meetin");
    Ok(PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .min_connections(0)
        .acquire_timeout(settings.acquire_timeout)
        .idle_timeout(Some(settings.idle_timeout))
        .connect_lazy_with(options))
}

/// Opens one connection (TLS if the URL asks, then PostgreSQL's start-up and
/// authentication), prepares the hot statement on it, and returns it to the pool idle, so the first request finds it ready.
/// Meant for a cold start, beside its other start-up work.
pub async fn warm_up(pool: &PgPool) -> Result<(), sqlx::Error> {
    let mut conn = pool.acquire().await?;
    // The statement every authenticated request runs first, prepared and cached on this
    // connection, with the server's catalog entries for `users` loaded (2–3 ms off the
    // first request, measured in docs/benchmarks.md). No user has the nil id.
    crate::users::find(&mut *conn, uuid::Uuid::nil()).await?;
    // Returned now rather than by `Drop`'s spawned task, so the first request cannot find
    // the pool empty and open a second connection.
    conn.return_to_pool().await;
    Ok(())
}
