//! The contract's choice lists (meetin-vocab) against the schema: each list is exactly its
//! columns' CHECK list, every value goes through PostgreSQL `text` and back, and a string
//! outside the list fails to decode.

use meetin_vocab::{
    ItemStatus, LanguagePreference, LiveSessionStatus, OutputLanguage, Priority, RecordingStatus,
    SharePermission, SuggestionStatus, SuggestionType, TaskStatus,
};
use sqlx::PgPool;

use crate::helpers::TestApp;

/// The values a column's CHECK constraint allows, in the constraint's order.
async fn check_list(pool: &PgPool, table: &str, column: &str) -> Vec<String> {
    let definitions: Vec<String> = sqlx::query_scalar(
        "SELECT pg_get_constraintdef(c.oid) FROM pg_constraint c \
         JOIN pg_class t ON t.oid = c.conrelid \
         WHERE t.relname = $1 AND c.contype = 'c' \
           AND pg_get_constraintdef(c.oid) LIKE '%(' || $2 || ' = ANY%'",
    )
    .bind(table)
    .bind(column)
    .fetch_all(pool)
    .await
    .expect("constraints");
    assert_eq!(definitions.len(), 1, "{table}.{column}: {definitions:?}");
    // `CHECK ((status = ANY (ARRAY['created'::text, 'uploaded'::text, …])))`
    definitions[0]
        .split('\'')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// Every value of `all` binds as text and decodes back, and equals its column's CHECK list.
async fn matches_column<T>(pool: &PgPool, all: &[T], columns: &[(&str, &str)])
where
    T: Copy + PartialEq + std::fmt::Debug + std::fmt::Display + Send + Unpin,
    T: for<'q> sqlx::Encode<'q, sqlx::Postgres> + for<'r> sqlx::Decode<'r, sqlx::Postgres>,
    T: sqlx::Type<sqlx::Postgres>,
{
    let strings: Vec<String> = all.iter().map(ToString::to_string).collect();
    for (table, column) in columns {
        assert_eq!(
            check_list(pool, table, column).await,
            strings,
            "{table}.{column}"
        );
    }
    for &value in all {
        let (back, text): (T, String) = sqlx::query_as("SELECT $1, $1::text")
            .bind(value)
            .fetch_one(pool)
            .await
            .expect("round trip");
        assert_eq!(back, value);
        assert_eq!(text, value.to_string());
    }
}

#[tokio::test]
async fn every_list_is_its_columns_check_and_round_trips() {
    let app = TestApp::spawn().await;
    let pool = &app.pool;
    matches_column(
        pool,
        LanguagePreference::ALL,
        &[("meetings", "language_preference")],
    )
    .await;
    matches_column(
        pool,
        OutputLanguage::ALL,
        &[
            ("minutes", "output_language"),
            ("minutes_tasks", "output_language"),
        ],
    )
    .await;
    matches_column(pool, Priority::ALL, &[("action_items", "priority")]).await;
    matches_column(pool, ItemStatus::ALL, &[("action_items", "status")]).await;
    matches_column(pool, RecordingStatus::ALL, &[("recordings", "status")]).await;
    matches_column(pool, LiveSessionStatus::ALL, &[("live_sessions", "status")]).await;
    matches_column(pool, TaskStatus::ALL, &[("minutes_tasks", "status")]).await;
    matches_column(
        pool,
        SuggestionType::ALL,
        &[("copilot_suggestions", "type")],
    )
    .await;
    matches_column(
        pool,
        SuggestionStatus::ALL,
        &[("copilot_suggestions", "status")],
    )
    .await;
    matches_column(pool, SharePermission::ALL, &[("share_links", "permission")]).await;
}

#[tokio::test]
async fn a_string_outside_the_list_does_not_decode() {
    let app = TestApp::spawn().await;
    let err = sqlx::query_scalar::<_, LiveSessionStatus>("SELECT 'paused'::text")
        .fetch_one(&app.pool)
        .await
        .expect_err("refused");
    assert!(
        err.to_string()
            .contains("`paused` is not a LiveSessionStatus value"),
        "{err}"
    );
    // Nor a value of another list, nor another case.
    assert!(
        sqlx::query_scalar::<_, ItemStatus>("SELECT 'Open'::text")
            .fetch_one(&app.pool)
            .await
            .is_err()
    );
    assert!(
        sqlx::query_scalar::<_, OutputLanguage>("SELECT 'auto'::text")
            .fetch_one(&app.pool)
            .await
            .is_err()
    );
}
