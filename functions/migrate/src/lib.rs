//! The `migrate` function: applies `shared/data/migrations` to the database. The deploy
//! pipeline invokes it once after `sam deploy`; functions never migrate on cold start (N
//! functions racing, and slower inits).

use serde::Serialize;
use sqlx::Connection;
use sqlx::postgres::PgConnection;

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct MigrationReport {
    /// Versions this invocation applied, oldest first.
    pub applied: Vec<i64>,
    /// The newest version now in the database.
    pub version: Option<i64>,
}

/// Applies every pending migration (sqlx holds an advisory lock, so concurrent runs wait).
pub async fn migrate(database_url: &str) -> anyhow::Result<MigrationReport> {
    let mut conn = PgConnection::connect(database_url).await?;
    let before = applied_versions(&mut conn).await?;
    meetin_data::MIGRATOR.run(&mut conn).await?;
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

async fn applied_versions(conn: &mut PgConnection) -> anyhow::Result<Vec<i64>> {
    let exists: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
        .fetch_one(&mut *conn)
        .await?;
    if !exists {
        return Ok(Vec::new());
    }
    Ok(
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
            .fetch_all(&mut *conn)
            .await?,
    )
}
