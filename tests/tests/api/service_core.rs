//! The service core called directly, as the WebSocket handlers and the live bridge will:
//! `meetin_service::authenticate` refuses exactly as the HTTP routes do (same status, same
//! body), and the meeting access check gives the HTTP edge's 404.

use chrono::{Duration, Utc};
use http::StatusCode;
use meetin_core::jwt::TokenType;
use meetin_core::{Access, Refusal};
use meetin_service::{ServiceError, authenticate};
use serde_json::json;
use uuid::Uuid;

use crate::helpers::TestApp;

/// The refusal, or a panic naming the internal failure.
fn refusal(err: ServiceError) -> Refusal {
    match err {
        ServiceError::Refused(refusal) => refusal,
        ServiceError::Internal(internal) => panic!("internal failure: {internal:?}"),
    }
}

#[tokio::test]
async fn authenticate_gives_the_tokens_user_and_the_http_routes_refusals() {
    let app = TestApp::spawn().await;
    let account = app.register().await;

    // A valid access token: its user.
    let user = authenticate(&app.ctx, &account.access)
        .await
        .expect("a valid token authenticates");
    assert_eq!(user.id, account.id);
    assert_eq!(user.email, account.email);

    // A garbage token, an expired one, a refresh token: the HTTP route's status and body.
    let expired = app
        .ctx
        .jwt
        .issue(
            TokenType::Access,
            account.id,
            None,
            Utc::now() - Duration::minutes(61),
        )
        .expect("token")
        .token;
    for token in ["garbage", expired.as_str(), account.refresh.as_str()] {
        let refused = refusal(authenticate(&app.ctx, token).await.expect_err(token));
        let http = app.get("/api/auth/profile/", token).await;
        assert_eq!(http.status, StatusCode::UNAUTHORIZED);
        assert_eq!(refused.status(), http.status);
        assert_eq!(refused.body(), http.body, "{token}");
    }
    let refused = refusal(authenticate(&app.ctx, &expired).await.expect_err("expired"));
    assert_eq!(refused.body()["messages"][0]["message"], "Token is expired");

    // An inactive user: refused, as by the route.
    sqlx::query("UPDATE users SET is_active = false WHERE id = $1")
        .bind(account.id)
        .execute(&app.pool)
        .await
        .expect("deactivate");
    let refused = refusal(
        authenticate(&app.ctx, &account.access)
            .await
            .expect_err("inactive"),
    );
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        refused.body(),
        json!({"detail": "User is inactive", "code": "user_inactive"})
    );
    let http = app.get("/api/auth/profile/", &account.access).await;
    assert_eq!((http.status, http.body), (refused.status(), refused.body()));
}

#[tokio::test]
async fn meeting_access_refuses_an_unknown_meeting_with_the_http_404() {
    let app = TestApp::spawn().await;
    let account = app.register().await;
    let refused = refusal(
        meetin_service::access::meeting(&app.pool, account.id, Uuid::new_v4(), Access::Read)
            .await
            .expect_err("no such meeting"),
    );
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        refused.body(),
        json!({"detail": "No Meeting matches the given query."})
    );
}
