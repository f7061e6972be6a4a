//! What a cold start leaves ready for the first request (`AppContext::load`), and what it
//! leaves to finish beside it.

use std::time::Duration;

use meetin_data::PoolSettings;
use meetin_http::{AppContext, Deps};

use crate::helpers::{TestApp, test_config};

#[tokio::test]
async fn a_loaded_context_holds_one_open_idle_database_connection() {
    let app = TestApp::spawn().await;
    // Opened beside the load and, once the warm-up ends (what an authenticated request
    // waits for before its first query), back in the pool: the first request neither
    // connects nor opens a second connection beside a pending one.
    app.ctx.database_warm_up.wait().await;
    assert_eq!(app.pool.size(), 1);
    assert_eq!(app.pool.num_idle(), 1);
}

#[tokio::test]
async fn a_context_loads_when_the_database_is_unreachable() {
    let (mut settings, _) = test_config();
    // Nothing listens on port 1: the connection is refused at once.
    settings.insert(
        "DATABASE_URL".into(),
        "postgres://postgres:postgres@127.0.0.1:1/meetin_test".into(),
    );
    let lookup = |name: &str| settings.get(name).cloned();
    // sqlx retries a refused connection until the acquire timeout; keep it short.
    let pool_settings = PoolSettings {
        acquire_timeout: Duration::from_secs(1),
        ..PoolSettings::LAMBDA
    };
    let ctx = AppContext::load(&lookup, pool_settings)
        .await
        .expect("a cold start that does not fail on the database");
    // The load did not wait for the database: its warm-up is still retrying.
    assert!(!ctx.database_warm_up.has_ended());
    ctx.database_warm_up.wait().await;
    assert_eq!(ctx.pool.size(), 0);
    let query = sqlx::query("SELECT 1").execute(&ctx.pool).await;
    assert!(
        query.is_err(),
        "the first query reports the database: {query:?}"
    );
}
