use chrono::{Duration, Utc};
use http::{Method, StatusCode, header};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use meetin_core::jwt::TokenType;
use meetin_core::{AwsSettings, JwtSettings, Setting};
use serde_json::json;

use crate::helpers::{PASSWORD, TestApp, TestResponse, random_ip, test_config, unique};

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
        json!(["This password is too short. It must contain at least 10 characters."])
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
    // With the reuse grace disabled, any second presentation is reuse.
    let app = TestApp::spawn_with(&[("REFRESH_REUSE_GRACE_SECONDS", "0")]).await;
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

    // AND once the new refresh token was used in turn
    let used = refresh(&app, &new_refresh).await;
    assert_eq!(used.status, StatusCode::OK, "{used:?}");
    let newest = refresh_of(&used);

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
        .post("/api/auth/refresh/", json!({"refresh": newest}), None)
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

async fn refresh(app: &TestApp, token: &str) -> TestResponse {
    app.post("/api/auth/refresh/", json!({"refresh": token}), None)
        .await
}

fn refresh_of(r: &TestResponse) -> String {
    r.body["refresh"].as_str().expect("refresh").to_owned()
}

#[tokio::test]
async fn failed_refreshes_from_an_address_do_not_block_logging_in_from_it() {
    // GIVEN a client whose refresh keeps failing, retried 11 times from one address
    let app = TestApp::spawn().await;
    let account = app.register().await;
    let ip = random_ip();
    for _ in 0..11 {
        let body = json!({"refresh": "expired-or-revoked"});
        let r = app
            .send(
                TestApp::request(Method::POST, "/api/auth/refresh/", Some(&body), None),
                ip,
            )
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{r:?}");
    }

    // WHEN its user logs in from that address
    let body = json!({"email": account.email, "password": PASSWORD});
    let r = app
        .send(
            TestApp::request(Method::POST, "/api/auth/login/", Some(&body), None),
            ip,
        )
        .await;

    // THEN the login succeeds
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
}

#[tokio::test]
async fn two_concurrent_refreshes_of_one_token_both_get_pairs_and_the_login_lives_on() {
    // GIVEN a login whose access token expired while two requests were in flight
    let app = TestApp::spawn().await;
    let account = app.register().await;

    // WHEN both refresh the same token at once
    let (a, b) = tokio::join!(
        refresh(&app, &account.refresh),
        refresh(&app, &account.refresh)
    );

    // THEN both get a pair
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    assert_eq!(b.status, StatusCode::OK, "{b:?}");
    let (a, b) = (refresh_of(&a), refresh_of(&b));
    assert_ne!(a, b);

    // AND the login stays valid: each new refresh token rotates in turn
    for token in [&a, &b] {
        let r = refresh(&app, token).await;
        assert_eq!(r.status, StatusCode::OK, "{r:?}");
    }
}

#[tokio::test]
async fn reuse_after_the_grace_period_revokes_the_family() {
    // GIVEN a one-second grace and a rotated refresh token whose successor was used
    let app = TestApp::spawn_with(&[("REFRESH_REUSE_GRACE_SECONDS", "1")]).await;
    let account = app.register().await;
    let first = refresh(&app, &account.refresh).await;
    assert_eq!(first.status, StatusCode::OK, "{first:?}");
    let second = refresh(&app, &refresh_of(&first)).await;
    assert_eq!(second.status, StatusCode::OK, "{second:?}");
    let descendant = refresh_of(&second);

    // WHEN the rotated token comes back after the grace
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let reuse = refresh(&app, &account.refresh).await;

    // THEN it is refused and the whole login ends
    assert_eq!(
        (reuse.status, reuse.body.clone()),
        (
            StatusCode::UNAUTHORIZED,
            json!({"detail": "Token is blacklisted", "code": "token_not_valid"})
        )
    );
    let r = refresh(&app, &descendant).await;
    assert_eq!(r.body["detail"], "Token is blacklisted", "{r:?}");
}

#[tokio::test]
async fn logout_with_a_rotated_token_ends_its_login() {
    // GIVEN a frontend that kept its first refresh token after a rotation
    let app = TestApp::spawn().await;
    let account = app.register().await;
    let rotated = refresh(&app, &account.refresh).await;
    assert_eq!(rotated.status, StatusCode::OK, "{rotated:?}");
    let descendant = refresh_of(&rotated);

    // WHEN it logs out with the old token
    let r = app
        .post(
            "/api/auth/logout/",
            json!({"refresh": account.refresh}),
            Some(&account.access),
        )
        .await;

    // THEN the logout succeeds and the live descendant is revoked
    assert_eq!(
        (r.status, r.body.clone()),
        (
            StatusCode::OK,
            json!({"message": "Successfully logged out"})
        )
    );
    let r = refresh(&app, &descendant).await;
    assert_eq!(
        (r.status, r.body.clone()),
        (
            StatusCode::UNAUTHORIZED,
            json!({"detail": "Token is blacklisted", "code": "token_not_valid"})
        )
    );
    // AND logging out of the ended login again is refused
    let r = app
        .post(
            "/api/auth/logout/",
            json!({"refresh": descendant}),
            Some(&account.access),
        )
        .await;
    assert_eq!(
        (r.status, r.body.clone()),
        (StatusCode::BAD_REQUEST, json!({"error": "Invalid token"}))
    );
}

/// Sends 30 logins with a wrong password for `email`, each from its own address, and
/// returns each answer's status and the last Retry-After.
async fn thirty_wrong_passwords(app: &TestApp, email: &str) -> (Vec<StatusCode>, u64) {
    let mut statuses = Vec::new();
    let mut retry_after = 0;
    for i in 0..30 {
        let body = json!({"email": email, "password": format!("guess-number-{i}")});
        let r = app
            .send(
                TestApp::request(Method::POST, "/api/auth/login/", Some(&body), None),
                random_ip(),
            )
            .await;
        if r.status == StatusCode::TOO_MANY_REQUESTS {
            retry_after = r.headers[header::RETRY_AFTER]
                .to_str()
                .ok()
                .and_then(|v| v.parse().ok())
                .expect("Retry-After");
            assert_eq!(
                r.body,
                json!({"detail": format!("Request was throttled. Expected available in {retry_after} seconds.")})
            );
        } else {
            assert_eq!(
                r.body,
                json!({"non_field_errors": ["Invalid credentials"]}),
                "{r:?}"
            );
        }
        statuses.push(r.status);
    }
    (statuses, retry_after)
}

#[tokio::test]
async fn password_guessing_from_many_addresses_is_throttled_per_account() {
    // GIVEN an account, with a 4 s first wait so the test can outlast it
    let app = TestApp::spawn_with(&[("LOGIN_BACKOFF_FIRST_SECONDS", "4")]).await;
    let account = app.register().await;

    // WHEN 30 wrong passwords for it come from 30 addresses
    let (statuses, retry_after) = thirty_wrong_passwords(&app, &account.email).await;

    // THEN the first 5 are checked (400) and the rest wait (429)
    let mut expected = vec![StatusCode::BAD_REQUEST; 5];
    expected.extend([StatusCode::TOO_MANY_REQUESTS; 25]);
    assert_eq!(statuses, expected);
    assert!((1..=4).contains(&retry_after), "{retry_after}");

    // AND an unknown e-mail gets exactly the same answers
    let unknown = format!("{}@example.com", unique("nobody"));
    let (unknown_statuses, _) = thirty_wrong_passwords(&app, &unknown).await;
    assert_eq!(unknown_statuses, expected);

    // AND once the wait is over the right password logs in
    tokio::time::sleep(std::time::Duration::from_secs(retry_after)).await;
    let login = json!({"email": account.email, "password": PASSWORD});
    let r = app.post("/api/auth/login/", login, None).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");

    // AND the success forgot the failures: a wrong password is checked again
    let wrong = json!({"email": account.email, "password": "guess-after-success"});
    let r = app.post("/api/auth/login/", wrong, None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{r:?}");
}

#[tokio::test]
async fn parallel_correct_logins_of_one_account_all_succeed() {
    // GIVEN an account whose backoff starts late enough for 40 logins
    let app = TestApp::spawn_with(&[("LOGIN_FAILURES_BEFORE_BACKOFF", "1000")]).await;
    let account = app.register().await;

    // WHEN 40 logins with the right password arrive at once, each from its own address
    let logins = (0..40).map(|_| {
        let body = json!({"email": account.email, "password": PASSWORD});
        app.send(
            TestApp::request(Method::POST, "/api/auth/login/", Some(&body), None),
            random_ip(),
        )
    });
    let answers = futures_util::future::join_all(logins).await;

    // THEN every one is logged in: charging attempts on one account never collides
    for r in &answers {
        assert_eq!(r.status, StatusCode::OK, "{r:?}");
        assert!(r.body["tokens"]["access"].is_string(), "{r:?}");
    }
}

#[tokio::test]
async fn password_change_checks_both_passwords_and_ends_every_login() {
    // GIVEN an account logged in twice (registration and a login)
    let app = TestApp::spawn().await;
    let account = app.register().await;
    let login = app
        .post(
            "/api/auth/login/",
            json!({"email": account.email, "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!(login.status, StatusCode::OK, "{login:?}");
    let second_refresh = login.body["tokens"]["refresh"]
        .as_str()
        .expect("refresh")
        .to_owned();
    let change = |body| app.post("/api/auth/password/", body, Some(&account.access));
    const NEW_PASSWORD: &str = "quiet-meadow-38-compass";

    // A wrong old password, a weak new one, missing fields: 400 field errors
    let r = change(json!({"old_password": "not-my-password", "new_password": NEW_PASSWORD})).await;
    assert_eq!(
        (r.status, r.body.clone()),
        (
            StatusCode::BAD_REQUEST,
            json!({"old_password": ["Your old password was entered incorrectly. Please enter it again."]})
        )
    );
    let r = change(json!({"old_password": PASSWORD, "new_password": "1234567890"})).await;
    assert_eq!(
        (r.status, r.body.clone()),
        (
            StatusCode::BAD_REQUEST,
            json!({"new_password": ["This password is too common.", "This password is entirely numeric."]})
        )
    );
    let r = change(json!({})).await;
    assert_eq!(
        r.body,
        json!({"old_password": ["This field is required."], "new_password": ["This field is required."]})
    );
    // Nothing changed so far.
    let r = refresh(&app, &second_refresh).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let second_refresh = refresh_of(&r);

    // WHEN the password is changed
    let r = change(json!({"old_password": PASSWORD, "new_password": NEW_PASSWORD})).await;

    // THEN 200 with a new login
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["message"], "Password changed");
    let new_refresh = r.body["tokens"]["refresh"]
        .as_str()
        .expect("refresh")
        .to_owned();
    let new_access = r.body["tokens"]["access"].as_str().expect("access");
    assert_eq!(
        app.get("/api/auth/profile/", new_access).await.status,
        StatusCode::OK
    );

    // AND every earlier refresh token is refused, for refresh and logout alike
    for token in [&account.refresh, &second_refresh] {
        let r = refresh(&app, token).await;
        assert_eq!(
            (r.status, r.body.clone()),
            (
                StatusCode::UNAUTHORIZED,
                json!({"detail": "Token is blacklisted", "code": "token_not_valid"})
            )
        );
    }
    let r = app
        .post(
            "/api/auth/logout/",
            json!({"refresh": second_refresh}),
            Some(new_access),
        )
        .await;
    assert_eq!(r.body, json!({"error": "Invalid token"}));

    // AND the new login refreshes, the old password is refused and the new one works
    let r = refresh(&app, &new_refresh).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let old = json!({"email": account.email, "password": PASSWORD});
    assert_eq!(
        app.post("/api/auth/login/", old, None).await.status,
        StatusCode::BAD_REQUEST
    );
    let new = json!({"email": account.email, "password": NEW_PASSWORD});
    let r = app.post("/api/auth/login/", new, None).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    // A login after the change (a later second than the change) is not revoked.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let later = app
        .post(
            "/api/auth/login/",
            json!({"email": account.email, "password": NEW_PASSWORD}),
            None,
        )
        .await;
    let r = refresh(
        &app,
        later.body["tokens"]["refresh"].as_str().expect("refresh"),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
}

/// The emulator's signing key, to sign tokens the API did not issue.
async fn signing_key() -> EncodingKey {
    let (settings, _) = test_config();
    let lookup = |name: &str| settings.get(name).cloned();
    let aws = AwsSettings::from_lookup(&lookup).expect("aws settings");
    let jwt = JwtSettings::from_lookup(&lookup).expect("jwt settings");
    let sdk = meetin_aws::sdk_config(&aws).await;
    let client = meetin_aws::aws_sdk_secretsmanager::Client::new(&sdk);
    let key = meetin_aws::secrets::jwt_signing_key(&client, &jwt)
        .await
        .expect("signing key");
    EncodingKey::from_secret(&key)
}

#[tokio::test]
async fn correctly_signed_tokens_with_a_stretched_lifetime_or_crit_are_invalid() {
    let app = TestApp::spawn().await;
    let account = app.register().await;
    let key = signing_key().await;
    let now = Utc::now().timestamp();
    let claims = |lifetime: i64| {
        json!({"token_type": "access", "iat": now, "exp": now + lifetime,
               "jti": uuid::Uuid::new_v4().simple().to_string(), "user_id": account.id})
    };
    let plain = Header::new(Algorithm::HS256);
    let sign = |header: &Header, claims| jsonwebtoken::encode(header, &claims, &key).expect("sign");

    // A token signed here with the contract's lifetime is accepted: the key is the API's.
    let r = app
        .get("/api/auth/profile/", &sign(&plain, claims(3600)))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");

    let mut crit = plain.clone();
    crit.crit = Some(vec!["exp".into()]);
    for token in [sign(&plain, claims(3601)), sign(&crit, claims(3600))] {
        let r = app.get("/api/auth/profile/", &token).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{r:?}");
        assert_eq!(r.body["code"], "token_not_valid");
        assert_eq!(r.body["messages"][0]["message"], "Token is invalid");
    }
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
