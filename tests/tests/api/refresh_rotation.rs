//! Refresh rotation as the existing frontend uses it (it keeps its first refresh token and
//! drops every rotated one) and as reuse detection needs it (docs/api-decisions.md,
//! "Accounts and tokens").

use std::time::Duration;

use chrono::Utc;
use http::StatusCode;
use meetin_aws::{Rotated, TokenRecord};
use meetin_core::jwt::TokenType;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestResponse};

/// Past a one-second grace.
const PAST_THE_GRACE: Duration = Duration::from_millis(1200);

fn blacklisted() -> Value {
    json!({"detail": "Token is blacklisted", "code": "token_not_valid"})
}

async fn refresh(app: &TestApp, token: &str) -> TestResponse {
    app.post("/api/auth/refresh/", json!({"refresh": token}), None)
        .await
}

/// The pair of a 200 answer.
fn pair(r: &TestResponse) -> (String, String) {
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let field = |name: &str| r.body[name].as_str().expect(name).to_owned();
    (field("refresh"), field("access"))
}

fn jti(app: &TestApp, token: &str) -> String {
    app.ctx
        .jwt
        .verify(token, TokenType::Refresh, Utc::now())
        .expect("a refresh token")
        .jti
}

async fn record(app: &TestApp, token: &str) -> Option<TokenRecord> {
    app.ctx
        .ephemeral
        .token_record(&jti(app, token))
        .await
        .expect("the token's record")
}

/// The children of a rotated token's latest rotation.
async fn children(app: &TestApp, token: &str) -> Vec<String> {
    match record(app, token).await {
        Some(TokenRecord::Rotated(Rotated {
            children: Some(mut children),
            ..
        })) => {
            children.sort();
            children
        }
        other => panic!("not a rotated token with children: {other:?}"),
    }
}

/// Asserts that every token is refused as blacklisted.
async fn all_refused(app: &TestApp, tokens: &[&String]) {
    for token in tokens {
        let r = refresh(app, token).await;
        assert_eq!(
            (r.status, &r.body),
            (StatusCode::UNAUTHORIZED, &blacklisted())
        );
    }
}

#[tokio::test]
async fn a_frontend_that_keeps_its_first_refresh_token_stays_signed_in() {
    // GIVEN a login and a one-second grace
    let app = TestApp::spawn_with(&[("REFRESH_REUSE_GRACE_SECONDS", "1")]).await;
    let account = app.register().await;

    // WHEN the frontend refreshes with its first refresh token, drops the rotated one, and
    // refreshes with the same first token at each later expiry, past the grace
    let (first_child, first_access) = pair(&refresh(&app, &account.refresh).await);
    let mut accesses = vec![first_access];
    let mut children_issued = vec![first_child];
    for _ in 0..2 {
        tokio::time::sleep(PAST_THE_GRACE).await;
        let (child, access) = pair(&refresh(&app, &account.refresh).await);
        accesses.push(access);
        children_issued.push(child);
    }

    // THEN every refresh got a pair whose access token works
    for access in &accesses {
        let r = app.get("/api/auth/profile/", access).await;
        assert_eq!(r.status, StatusCode::OK, "{r:?}");
        assert_eq!(r.body["email"], account.email.as_str());
    }
    // AND one branch is live: the latest child; the earlier ones are superseded
    let latest = children_issued.last().expect("a child");
    assert_eq!(
        children(&app, &account.refresh).await,
        vec![jti(&app, latest)]
    );
    for superseded in &children_issued[..2] {
        assert_eq!(
            record(&app, superseded).await,
            Some(TokenRecord::Superseded)
        );
    }

    // AND a superseded child is refused; as two holders of one login showed up, the whole
    // login ends, the first token and the live child included
    let r = refresh(&app, &children_issued[0]).await;
    assert_eq!(
        (r.status, &r.body),
        (StatusCode::UNAUTHORIZED, &blacklisted())
    );
    all_refused(&app, &[&account.refresh, latest]).await;
}

#[tokio::test]
async fn the_first_token_logs_out_after_it_was_presented_again() {
    // GIVEN a frontend that refreshed twice with its first token (no grace at all)
    let app = TestApp::spawn_with(&[("REFRESH_REUSE_GRACE_SECONDS", "0")]).await;
    let account = app.register().await;
    let (_, _) = pair(&refresh(&app, &account.refresh).await);
    let (child, access) = pair(&refresh(&app, &account.refresh).await);

    // WHEN it logs out with that first token
    let r = app
        .post(
            "/api/auth/logout/",
            json!({"refresh": account.refresh}),
            Some(&access),
        )
        .await;

    // THEN the login ends: neither the first token nor the live child refreshes
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    all_refused(&app, &[&account.refresh, &child]).await;
}

#[tokio::test]
async fn reuse_of_a_token_whose_successor_was_used_revokes_every_token_of_the_login() {
    // GIVEN a login rotated three times by a client that uses each new token (no grace)
    let app = TestApp::spawn_with(&[("REFRESH_REUSE_GRACE_SECONDS", "0")]).await;
    let account = app.register().await;
    let (first, _) = pair(&refresh(&app, &account.refresh).await);
    let (second, _) = pair(&refresh(&app, &first).await);
    let (third, access) = pair(&refresh(&app, &second).await);

    // WHEN a token whose child was used comes back: the first one, whose grandchildren
    // were used too
    let r = refresh(&app, &account.refresh).await;

    // THEN it is refused, and every token of the login is refused after it
    assert_eq!(
        (r.status, &r.body),
        (StatusCode::UNAUTHORIZED, &blacklisted())
    );
    all_refused(&app, &[&account.refresh, &first, &second, &third]).await;
    // AND the access tokens stay valid until they expire
    assert_eq!(
        app.get("/api/auth/profile/", &access).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn reuse_of_a_middle_token_whose_child_was_used_revokes_the_login() {
    // GIVEN a first token presented again once (its first child superseded), then the live
    // child used
    let app = TestApp::spawn_with(&[("REFRESH_REUSE_GRACE_SECONDS", "0")]).await;
    let account = app.register().await;
    let (superseded, _) = pair(&refresh(&app, &account.refresh).await);
    let (live, _) = pair(&refresh(&app, &account.refresh).await);
    let (grandchild, _) = pair(&refresh(&app, &live).await);
    let (great_grandchild, _) = pair(&refresh(&app, &grandchild).await);

    // WHEN the live child, whose own child was used, comes back
    let r = refresh(&app, &live).await;

    // THEN the login ends
    assert_eq!(
        (r.status, &r.body),
        (StatusCode::UNAUTHORIZED, &blacklisted())
    );
    all_refused(
        &app,
        &[
            &account.refresh,
            &superseded,
            &live,
            &grandchild,
            &great_grandchild,
        ],
    )
    .await;
}

#[tokio::test]
async fn concurrent_presentations_past_the_grace_all_get_pairs_within_the_winners_grace() {
    // GIVEN a first token rotated once, and the grace over
    let app = TestApp::spawn_with(&[("REFRESH_REUSE_GRACE_SECONDS", "1")]).await;
    let account = app.register().await;
    let (superseded, _) = pair(&refresh(&app, &account.refresh).await);
    tokio::time::sleep(PAST_THE_GRACE).await;

    // WHEN three requests present it at once (the dashboard after an idle hour)
    let (a, b, c) = tokio::join!(
        refresh(&app, &account.refresh),
        refresh(&app, &account.refresh),
        refresh(&app, &account.refresh)
    );

    // THEN each gets a pair: one replaced the rotation, the others came within its grace
    let issued = [pair(&a).0, pair(&b).0, pair(&c).0];
    let mut expected: Vec<String> = issued.iter().map(|t| jti(&app, t)).collect();
    expected.sort();
    expected.dedup();
    assert_eq!(expected.len(), 3);
    // AND all three are the rotation's children; the earlier child is superseded
    assert_eq!(children(&app, &account.refresh).await, expected);
    assert_eq!(
        record(&app, &superseded).await,
        Some(TokenRecord::Superseded)
    );
    // AND each refreshes in turn
    let mut grandchildren = Vec::new();
    for token in &issued {
        grandchildren.push(pair(&refresh(&app, token).await).0);
    }

    // AND once they were used, the first token coming back past the grace is reuse
    tokio::time::sleep(PAST_THE_GRACE).await;
    let r = refresh(&app, &account.refresh).await;
    assert_eq!(
        (r.status, &r.body),
        (StatusCode::UNAUTHORIZED, &blacklisted())
    );
    let tokens: Vec<&String> = grandchildren.iter().collect();
    all_refused(&app, &tokens).await;
}

#[tokio::test]
async fn concurrent_presentations_without_a_grace_leave_one_live_branch() {
    // GIVEN no grace and a first token rotated once
    let app = TestApp::spawn_with(&[("REFRESH_REUSE_GRACE_SECONDS", "0")]).await;
    let account = app.register().await;
    let (superseded, _) = pair(&refresh(&app, &account.refresh).await);

    // WHEN four requests present it at once
    let answers =
        futures_util::future::join_all((0..4).map(|_| refresh(&app, &account.refresh))).await;

    // THEN each answer is a pair or `Token is blacklisted` (a lost race), none ends the
    // login, and the rotation has one child: a pair that was answered
    let mut winners = Vec::new();
    for r in &answers {
        match r.status {
            StatusCode::OK => winners.push(jti(&app, &pair(r).0)),
            _ => assert_eq!(
                (r.status, &r.body),
                (StatusCode::UNAUTHORIZED, &blacklisted())
            ),
        }
    }
    let live = children(&app, &account.refresh).await;
    assert_eq!(live.len(), 1, "{live:?}");
    assert!(winners.contains(&live[0]), "{winners:?} {live:?}");
    assert_eq!(
        app.ctx
            .ephemeral
            .token_record(&jti(&app, &superseded))
            .await
            .expect("read"),
        Some(TokenRecord::Superseded)
    );
    // AND the login lives on: the first token still gets a pair, which refreshes
    let (next, _) = pair(&refresh(&app, &account.refresh).await);
    let _ = pair(&refresh(&app, &next).await);
}
