//! Registration: a user, the organization they own and their admin membership, all or
//! nothing. Its own module because it spans users and organizations.

use sqlx::PgPool;

use crate::organizations::insert_with_admin;
use crate::unique_violation;
use crate::user_columns;
use crate::users::User;

/// The longest organization name the column takes (`organizations.name varchar(255)`).
pub const ORGANIZATION_NAME_MAX_CHARS: usize = 255;
const ORGANIZATION_SUFFIX: &str = "'s Organization";

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

/// `"{email}'s Organization"`, the name a new user's organization gets
/// (docs/api-decisions.md, "Accounts and tokens"), with the e-mail part shortened (ending in `…`) when it would not fit the
/// column: a valid e-mail has up to 254 characters.
pub fn organization_name(email: &str) -> String {
    let room = ORGANIZATION_NAME_MAX_CHARS - ORGANIZATION_SUFFIX.chars().count();
    let mut name: String = if email.chars().count() > room {
        let mut short: String = email.chars().take(room - 1).collect();
        short.push('…');
        short
    } else {
        email.to_owned()
    };
    name.push_str(ORGANIZATION_SUFFIX);
    name
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
    insert_with_admin(&mut tx, user.id, &organization_name(&user.email)).await?;
    tx.commit().await?;
    Ok(user)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn organization_names_fit_their_column() {
        assert_eq!(
            organization_name("ann@example.com"),
            "ann@example.com's Organization"
        );
        let long = format!("{}@example.com", "a".repeat(242));
        assert_eq!(long.chars().count(), 254);
        let name = organization_name(&long);
        assert_eq!(name.chars().count(), ORGANIZATION_NAME_MAX_CHARS);
        assert!(name.ends_with("…'s Organization"), "{name}");
        let fits = format!("{}@x.io", "b".repeat(235));
        assert_eq!(organization_name(&fits).chars().count(), 255);
        assert!(organization_name(&fits).starts_with(&fits));
    }
}
