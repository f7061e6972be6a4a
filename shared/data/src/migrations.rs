//! Applying `shared/data/migrations` (the `migrate` function, the local stack, the tests).

use serde::Serialize;
use sqlx::Connection;
use sqlx::postgres::PgConnection;

/// What a migration run did.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct MigrationReport {
    /// Versions this run applied, oldest first.
    pub applied: Vec<i64>,
    /// The newest version now in the database.
    pub version: Option<i64>,
}

/// Applies every pending migration (sqlx holds an advisory lock, so concurrent runs wait).
pub async fn run(database_url: &str) -> Result<MigrationReport, sqlx::Error> {
    let mut conn = PgConnection::connect(database_url).await?;
    let before = applied_versions(&mut conn).await?;
    crate::MIGRATOR.run(&mut conn).await?;
    let after = applied_versions(&mut conn).await?;
    conn.close().await.ok();
    Ok(MigrationReport {
        applied: after
            .iter()
            .copied()
            .filter(|v| !before.contains(v))
            .collect(),
        version: after.last().copied(),
    })
}

async fn applied_versions(conn: &mut PgConnection) -> Result<Vec<i64>, sqlx::Error> {
    let exists: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
        .fetch_one(&mut *conn)
        .await?;
    if !exists {
        return Ok(Vec::new());
    }
    sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
        .fetch_all(&mut *conn)
        .await
}
