//! Users and registration.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgPool};
use uuid::Uuid;

use crate::unique_violation;

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub username: String,
    pub first_name: String,
    pub last_name: String,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
}

/// The columns of [`User`]; a macro so statements stay `&'static str`.
macro_rules! user_columns {
    () => {
        "id, email, username, first_name, last_name, is_active, created_at"
    };
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: String,
    pub username: String,
    pub first_name: String,
    pub last_name: String,
    pub password_hash: String,
}

#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    #[error("email taken")]
    EmailTaken,
    #[error("username taken")]
    UsernameTaken,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Which of an email and a username are already registered (emails whatever their case).
pub async fn taken(
    pool: &PgPool,
    email: &str,
    username: &str,
) -> Result<(bool, bool), sqlx::Error> {
    sqlx::query_as(
        "SELECT EXISTS (SELECT 1 FROM users WHERE lower(email) = lower($1)), \
                EXISTS (SELECT 1 FROM users WHERE username = $2)",
    )
    .bind(email)
    .bind(username)
    .fetch_one(pool)
    .await
}

/// Creates the user, the organization `"{email}'s Organization"` they own, and their admin
/// membership, all or nothing.
pub async fn register(pool: &PgPool, new: &NewUser) -> Result<User, RegisterError> {
    let mut tx = pool.begin().await?;
    let user: User = sqlx::query_as(concat!(
        "INSERT INTO users (email, username, first_name, last_name, password_hash) \
         VALUES ($1, $2, $3, $4, $5) RETURNING ",
        user_columns!()
    ))
    .bind(&new.email)
    .bind(&new.username)
    .bind(&new.first_name)
    .bind(&new.last_name)
    .bind(&new.password_hash)
    .fetch_one(&mut *tx)
    .await
    .map_err(|err| match unique_violation(&err) {
        Some("users_email_key") => RegisterError::EmailTaken,
        Some("users_username_key") => RegisterError::UsernameTaken,
        _ => RegisterError::Database(err),
    })?;
    crate::organizations::insert_with_admin(
        &mut tx,
        user.id,
        &format!("{}'s Organization", user.email),
    )
    .await?;
    tx.commit().await?;
    Ok(user)
}

pub async fn find(pool: &PgPool, id: Uuid) -> Result<Option<User>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        user_columns!(),
        " FROM users WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await
}

pub async fn find_by_email(pool: &PgPool, email: &str) -> Result<Option<User>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        user_columns!(),
        " FROM users WHERE lower(email) = lower($1)"
    ))
    .bind(email)
    .fetch_optional(pool)
    .await
}

/// The user and their password hash, for login.
pub async fn find_credentials(
    pool: &PgPool,
    email: &str,
) -> Result<Option<(User, String)>, sqlx::Error> {
    #[derive(FromRow)]
    struct Row {
        #[sqlx(flatten)]
        user: User,
        password_hash: String,
    }
    let row: Option<Row> = sqlx::query_as(concat!(
        "SELECT ",
        user_columns!(),
        ", password_hash FROM users WHERE lower(email) = lower($1)"
    ))
    .bind(email)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| (r.user, r.password_hash)))
}

pub async fn record_login(pool: &PgPool, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET last_login = now() WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}
