use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};

use crate::helpers::{test_config, unique};

/// Every table of the schema (the original's plus the copilot tables).
const TABLES: &[&str] = &[
    "action_item_tombstones",
    "action_items",
    "audit_logs",
    "copilot_runs",
    "copilot_suggestions",
    "live_sessions",
    "meetings",
    "minutes",
    "minutes_tasks",
    "minutes_versions",
    "organization_invitations",
    "organization_members",
    "organizations",
    "recording_windows",
    "recordings",
    "share_links",
    "speaker_user_map",
    "speakers",
    "transcript_segments",
    "transcripts",
    "users",
];

#[tokio::test]
async fn the_migrate_function_builds_the_whole_schema_once() {
    // GIVEN an empty database
    let (_, test_url) = test_config();
    let options: PgConnectOptions = test_url.parse().expect("url");
    let name = unique("meetin_migrate_");
    let mut admin = PgConnection::connect_with(&options.clone().database("postgres"))
        .await
        .expect("connect");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&mut admin)
        .await
        .expect("create");
    let url = {
        let mut u = url::Url::parse(&test_url).expect("url");
        u.set_path(&name);
        u.to_string()
    };

    // WHEN migrating twice
    let first = migrate::migrate(&url).await.expect("first run");
    let second = migrate::migrate(&url).await.expect("second run");

    // THEN the first run applied every migration and the second nothing
    assert_eq!(first.applied, vec![1, 2, 3, 4, 5, 6, 7, 8]);
    assert_eq!(first.version, Some(8));
    assert_eq!(
        second,
        migrate::MigrationReport {
            applied: vec![],
            version: Some(8)
        }
    );

    // AND every table exists
    let mut conn = PgConnection::connect(&url).await.expect("connect");
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = 'public' AND table_name <> '_sqlx_migrations' ORDER BY table_name",
    )
    .fetch_all(&mut conn)
    .await
    .expect("tables");
    assert_eq!(tables, TABLES);

    // AND enums are checked: a bad role is refused by the database itself
    let refused = sqlx::query("INSERT INTO organization_members (organization_id, user_id, role) VALUES (gen_random_uuid(), gen_random_uuid(), 'owner')")
        .execute(&mut conn)
        .await
        .expect_err("check constraint");
    assert!(
        refused
            .to_string()
            .contains("organization_members_role_check"),
        "{refused}"
    );
    conn.close().await.ok();
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE \"{name}\"")))
        .execute(&mut admin)
        .await
        .expect("drop");
}
