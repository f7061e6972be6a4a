use chrono::{Duration, Utc};
use http::{Method, StatusCode, header};
use meetin_core::jwt::TokenType;
use serde_json::json;

use crate::helpers::{PASSWORD, TestApp, unique};

#[tokio::test]
async fn register_creates_the_user_its_organization_and_admin_membership() {
    // GIVEN a new email
    let app = TestApp::spawn().await;
    let username = unique("reg");
    let email = format!("{username}@Example.COM");

    // WHEN registering
    let r = app
        .post(
            "/api/auth/register/",
            json!({"email": email, "username": username, "password": PASSWORD, "first_name": "Ann", "last_name": "Lee"}),
            None,
        )
        .await;

    // THEN 201 with the user and a token pair, the domain lowercased
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    let user = &r.body["user"];
    let mut keys: Vec<&str> = user
        .as_object()
        .expect("user")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "created_at",
            "email",
            "first_name",
            "id",
            "last_name",
            "username"
        ]
    );
    assert_eq!(user["email"], format!("{username}@example.com"));
    assert_eq!(
        (user["first_name"].as_str(), user["last_name"].as_str()),
        (Some("Ann"), Some("Lee"))
    );
    assert!(
        user["created_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
    assert!(r.body["tokens"]["access"].is_string() && r.body["tokens"]["refresh"].is_string());

    // AND the organization "{email}'s Organization" with the user as admin
    let id: uuid::Uuid = user["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("id");
    let (name, role): (String, String) = sqlx::query_as(
        "SELECT o.name, m.role FROM organizations o JOIN organization_members m ON m.organization_id = o.id \
         WHERE o.owner_id = $1 AND m.user_id = $1",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .expect("organization");
    assert_eq!(name, format!("{username}@example.com's Organization"));
    assert_eq!(role, "admin");

    // AND the password is stored as an argon2id hash
    let hash: String = sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .expect("hash");
    assert!(hash.starts_with("$argon2id$"));
}

#[tokio::test]
async fn duplicate_email_or_username_is_a_field_error_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let account = app.register().await;
    let other_username = unique("other");
    let other_email = format!("{}@example.com", unique("x"));

    // The same email in another case
    let r = app
        .post(
            "/api/auth/register/",
            json!({"email": account.email.to_uppercase().replace("@EXAMPLE.COM", "@example.com"), "username": other_username, "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{r:?}");
    assert_eq!(
        r.body,
        json!({"email": ["user with this email already exists."]})
    );

    let r = app
        .post(
            "/api/auth/register/",
            json!({"email": other_email, "username": account.username, "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!(
        r.body,
        json!({"username": ["A user with that username already exists."]})
    );

    let written: i64 =
        sqlx::query_scalar("SELECT count(*) FROM users WHERE username = $1 OR email = $2")
            .bind(&other_username)
            .bind(&other_email)
            .fetch_one(&app.pool)
            .await
            .expect("count");
    assert_eq!(written, 0, "refused registrations write nothing");
}

#[tokio::test]
async fn registration_reports_every_field_problem() {
    let app = TestApp::spawn().await;
    let r = app.post("/api/auth/register/", json!({}), None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        r.body,
        json!({"email": ["This field is required."], "username": ["This field is required."], "password": ["This field is required."]})
    );

    let r = app
        .post(
            "/api/auth/register/",
            json!({"email": "not-an-email", "username": "bad name!", "password": "1234567890"}),
            None,
        )
        .await;
    assert_eq!(
        r.body,
        json!({
            "email": ["Enter a valid email address."],
            "username": ["Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters."],
            "password": ["This password is too common.", "This password is entirely numeric."],
        })
    );

    let r = app
        .post(
            "/api/auth/register/",
            json!({"email": "a@example.com", "username": unique("u"), "password": "short"}),
            None,
        )
        .await;
    assert_eq!(
        r.body["password"],
        json!([
            "This password is too short. It must contain at least 10 characters.",
            "This password is too common."
        ])
    );
}

#[tokio::test]
async fn login_answers_tokens_and_refuses_wrong_credentials_alike() {
    let app = TestApp::spawn().await;
    let account = app.register().await;

    let r = app
        .post(
            "/api/auth/login/",
            json!({"email": account.email, "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["user"]["id"], account.id.to_string());
    let access = r.body["tokens"]["access"].as_str().expect("access");
    let profile = app.get("/api/auth/profile/", access).await;
    assert_eq!(profile.body["email"], account.email);

    // Emails match whatever their case.
    let r = app
        .post(
            "/api/auth/login/",
            json!({"email": account.email.to_uppercase(), "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");

    let wrong = app
        .post(
            "/api/auth/login/",
            json!({"email": account.email, "password": "not-the-password"}),
            None,
        )
        .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        wrong.body,
        json!({"non_field_errors": ["Invalid credentials"]})
    );
    let unknown = app
        .post(
            "/api/auth/login/",
            json!({"email": "nobody-here@example.com", "password": "whatever-it-is"}),
            None,
        )
        .await;
    assert_eq!(unknown.body, wrong.body);

    let missing = app
        .post("/api/auth/login/", json!({"email": account.email}), None)
        .await;
    assert_eq!(
        missing.body,
        json!({"password": ["This field is required."]})
    );

    // last_login is recorded
    let last_login: Option<chrono::DateTime<Utc>> =
        sqlx::query_scalar("SELECT last_login FROM users WHERE id = $1")
            .bind(account.id)
            .fetch_one(&app.pool)
            .await
            .expect("row");
    assert!(last_login.is_some());
}

#[tokio::test]
async fn the_three_unauthorized_shapes() {
    let app = TestApp::spawn().await;

    // No credentials
    let r = app
        .call(Method::GET, "/api/auth/profile/", None, None)
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        r.body,
        json!({"detail": "Authentication credentials were not provided."})
    );
    assert_eq!(r.headers[header::WWW_AUTHENTICATE], "Bearer realm=\"api\"");

    // A bad token
    let r = app.get("/api/auth/profile/", "garbage").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        r.body,
        json!({"detail": "Given token not valid for any token type", "code": "token_not_valid",
               "messages": [{"token_class": "AccessToken", "token_type": "access", "message": "Token is invalid"}]})
    );

    // An expired token, and a refresh token used as an access token
    let account = app.register().await;
    let expired = app
        .ctx
        .jwt
        .issue(
            TokenType::Access,
            account.id,
            None,
            Utc::now() - Duration::minutes(61),
        )
        .expect("token");
    let r = app.get("/api/auth/profile/", &expired.token).await;
    assert_eq!(r.body["messages"][0]["message"], "Token is expired");
    let r = app.get("/api/auth/profile/", &account.refresh).await;
    assert_eq!(r.body["messages"][0]["message"], "Token has wrong type");

    // A valid token whose user is gone
    sqlx::query("DELETE FROM users WHERE id = $1")
        .bind(account.id)
        .execute(&app.pool)
        .await
        .expect("delete");
    let r = app.get("/api/auth/profile/", &account.access).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        r.body,
        json!({"detail": "User not found", "code": "user_not_found"})
    );
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_whole_family() {
    let app = TestApp::spawn().await;
    let account = app.register().await;

    // WHEN refreshing: a new pair, different from the old
    let first = app
        .post(
            "/api/auth/refresh/",
            json!({"refresh": account.refresh}),
            None,
        )
        .await;
    assert_eq!(first.status, StatusCode::OK, "{first:?}");
    let new_refresh = first.body["refresh"].as_str().expect("refresh").to_owned();
    let new_access = first.body["access"].as_str().expect("access").to_owned();
    assert_ne!(new_refresh, account.refresh);
    assert_eq!(
        app.get("/api/auth/profile/", &new_access).await.status,
        StatusCode::OK
    );

    // THEN the old refresh token is revoked
    let reuse = app
        .post(
            "/api/auth/refresh/",
            json!({"refresh": account.refresh}),
            None,
        )
        .await;
    assert_eq!(reuse.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        reuse.body,
        json!({"detail": "Token is blacklisted", "code": "token_not_valid"})
    );

    // AND its reuse revoked the token issued from it (the family)
    let descendant = app
        .post("/api/auth/refresh/", json!({"refresh": new_refresh}), None)
        .await;
    assert_eq!(descendant.status, StatusCode::UNAUTHORIZED);
    assert_eq!(descendant.body["detail"], "Token is blacklisted");

    // AND another login (another family) is unaffected; access tokens stay valid until exp
    let login = app
        .post(
            "/api/auth/login/",
            json!({"email": account.email, "password": PASSWORD}),
            None,
        )
        .await;
    let other = app
        .post(
            "/api/auth/refresh/",
            json!({"refresh": login.body["tokens"]["refresh"]}),
            None,
        )
        .await;
    assert_eq!(other.status, StatusCode::OK, "{other:?}");
    assert_eq!(
        app.get("/api/auth/profile/", &new_access).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn refresh_refusals_follow_the_contract() {
    let app = TestApp::spawn().await;
    let account = app.register().await;

    let r = app.post("/api/auth/refresh/", json!({}), None).await;
    assert_eq!(
        (r.status, r.body.clone()),
        (
            StatusCode::BAD_REQUEST,
            json!({"refresh": ["This field is required."]})
        )
    );
    let r = app
        .post("/api/auth/refresh/", json!({"refresh": "nonsense"}), None)
        .await;
    assert_eq!(
        (r.status, r.body.clone()),
        (
            StatusCode::UNAUTHORIZED,
            json!({"detail": "Token is invalid", "code": "token_not_valid"})
        )
    );
    let r = app
        .post(
            "/api/auth/refresh/",
            json!({"refresh": account.access}),
            None,
        )
        .await;
    assert_eq!(
        r.body,
        json!({"detail": "Token has wrong type", "code": "token_not_valid"})
    );
    let expired = app
        .ctx
        .jwt
        .issue(
            TokenType::Refresh,
            account.id,
            None,
            Utc::now() - Duration::days(8),
        )
        .expect("token");
    let r = app
        .post(
            "/api/auth/refresh/",
            json!({"refresh": expired.token}),
            None,
        )
        .await;
    assert_eq!(
        r.body,
        json!({"detail": "Token is expired", "code": "token_not_valid"})
    );

    sqlx::query("UPDATE users SET is_active = false WHERE id = $1")
        .bind(account.id)
        .execute(&app.pool)
        .await
        .expect("deactivate");
    let r = app
        .post(
            "/api/auth/refresh/",
            json!({"refresh": account.refresh}),
            None,
        )
        .await;
    assert_eq!(
        r.body,
        json!({"detail": "No active account found for the given token.", "code": "no_active_account"})
    );
}

#[tokio::test]
async fn logout_revokes_the_refresh_token_but_not_the_access_token() {
    let app = TestApp::spawn().await;
    let account = app.register().await;
    let logout = |body| app.post("/api/auth/logout/", body, Some(&account.access));

    let r = logout(json!({})).await;
    assert_eq!(
        (r.status, r.body.clone()),
        (
            StatusCode::BAD_REQUEST,
            json!({"error": "Refresh token is required"})
        )
    );
    let r = logout(json!({"refresh": "nonsense"})).await;
    assert_eq!(
        (r.status, r.body.clone()),
        (StatusCode::BAD_REQUEST, json!({"error": "Invalid token"}))
    );
    // Someone else's refresh token cannot be logged out by this caller.
    let stranger = app.register().await;
    let r = logout(json!({"refresh": stranger.refresh})).await;
    assert_eq!(r.body, json!({"error": "Invalid token"}));

    let r = logout(json!({"refresh": account.refresh})).await;
    assert_eq!(
        (r.status, r.body.clone()),
        (
            StatusCode::OK,
            json!({"message": "Successfully logged out"})
        )
    );
    let again = logout(json!({"refresh": account.refresh})).await;
    assert_eq!(again.body, json!({"error": "Invalid token"}));
    let refresh = app
        .post(
            "/api/auth/refresh/",
            json!({"refresh": account.refresh}),
            None,
        )
        .await;
    assert_eq!(refresh.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.get("/api/auth/profile/", &account.access).await.status,
        StatusCode::OK
    );
    // The stranger's token still works: logout only touched the caller's login.
    let r = app
        .post(
            "/api/auth/refresh/",
            json!({"refresh": stranger.refresh}),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn root_answers_that_the_backend_runs() {
    let app = TestApp::spawn().await;
    let r = app.call(Method::GET, "/", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.text, "MeetIN backend is running");
    assert!(
        r.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap_or("")
            .starts_with("text/html")
    );
}
