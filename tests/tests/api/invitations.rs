//! Nobody is put into an organization without consent: adding a member invites them, and the
//! invitee alone sees, accepts or declines the invitation.

use http::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{Account, PASSWORD, TestApp, unique};

fn members_path(org: Uuid) -> String {
    format!("/api/auth/organizations/{org}/members/")
}

fn accept_path(invitation: Uuid) -> String {
    format!("/api/auth/invitations/{invitation}/accept/")
}

fn decline_path(invitation: Uuid) -> String {
    format!("/api/auth/invitations/{invitation}/decline/")
}

const MY_INVITATIONS: &str = "/api/auth/invitations/";

fn no_invitation() -> Value {
    json!({"detail": "No Invitation matches the given query."})
}

fn ids(page: &Value, key: &str) -> Vec<String> {
    page[key]
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|o| o["id"].as_str().map(str::to_owned))
        .collect()
}

/// Registers an account with `email`, through the API.
async fn register_as(app: &TestApp, email: &str) -> Account {
    let username = unique("inv");
    let r = app
        .post(
            "/api/auth/register/",
            json!({"email": email, "username": username, "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    let id: Uuid = r.body["user"]["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("id");
    Account {
        id,
        email: r.body["user"]["email"].as_str().expect("email").into(),
        username,
        access: r.body["tokens"]["access"].as_str().expect("access").into(),
        refresh: r.body["tokens"]["refresh"]
            .as_str()
            .expect("refresh")
            .into(),
        org_id: sqlx::query_scalar("SELECT id FROM organizations WHERE owner_id = $1")
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .expect("org"),
    }
}

/// What `caller` can see of and do in `org` without being a member: nothing.
async fn assert_outside(app: &TestApp, caller: &Account, org: Uuid) {
    let r = app.get("/api/auth/organizations/", &caller.access).await;
    assert!(
        !ids(&r.body, "results").contains(&org.to_string()),
        "listed: {r:?}"
    );
    let r = app
        .get(&format!("/api/auth/organizations/{org}/"), &caller.access)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app.get(&members_path(org), &caller.access).await;
    assert_eq!(
        r.body,
        json!({"count": 0, "next": null, "previous": null, "results": []})
    );
    let r = app
        .post(
            &members_path(org),
            json!({"email": "x@example.com"}),
            Some(&caller.access),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .post(
            &format!("/api/auth/organizations/{org}/leave/"),
            json!({}),
            Some(&caller.access),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        meetin_data::access::role_in(&app.pool, org, caller.id)
            .await
            .expect("query"),
        None
    );
}

#[tokio::test]
async fn invitees_registered_or_not_get_nothing_until_they_accept() {
    let app = TestApp::spawn().await;
    let admin = app.register().await;
    let bob = app.register().await;
    // GIVEN an invitation to a registered user and one to an address with no account, typed
    // in another case than the account will later be registered with
    let carol_local = unique("carol");
    let invited_address = format!("{}@Example.COM", carol_local.to_uppercase());
    let to_bob = app
        .invite(
            &admin,
            admin.org_id,
            json!({"email": bob.email, "role": "viewer"}),
        )
        .await;
    let to_carol = app
        .invite(&admin, admin.org_id, json!({"email": invited_address}))
        .await;

    // THEN bob sees the invitation but not the organization
    assert_outside(&app, &bob, admin.org_id).await;
    let r = app.get(MY_INVITATIONS, &bob.access).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["count"], 1);
    let shown = &r.body["results"][0];
    assert_eq!(shown["id"], to_bob.to_string());
    assert_eq!(shown["organization"], admin.org_id.to_string());
    assert_eq!(
        shown["organization_name"],
        format!("{}'s Organization", admin.email)
    );
    assert_eq!(shown["role"], "viewer");
    assert_eq!(shown["state"], "pending");
    assert_eq!(shown["invited_by"], admin.email);

    // AND whoever registers the invited address claims its invitation, and is outside too
    let carol = register_as(&app, &format!("{carol_local}@example.com")).await;
    assert_outside(&app, &carol, admin.org_id).await;
    let r = app.get(MY_INVITATIONS, &carol.access).await;
    assert_eq!(ids(&r.body, "results"), [to_carol.to_string()]);
    // Stored normalized as account e-mails are: the domain lowercased, the local part as typed
    assert_eq!(
        r.body["results"][0]["email"],
        format!("{}@example.com", carol_local.to_uppercase())
    );

    // AND the admin sees both invitations as pending beside the one real membership
    let r = app.get(&members_path(admin.org_id), &admin.access).await;
    assert_eq!(r.body["count"], 1);
    let pending: Vec<(String, String)> = r.body["invitations"]
        .as_array()
        .expect("invitations")
        .iter()
        .map(|i| {
            (
                i["id"].as_str().unwrap_or_default().to_owned(),
                i["state"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        pending,
        [
            (to_carol.to_string(), "pending".to_owned()),
            (to_bob.to_string(), "pending".to_owned())
        ]
    );

    // WHEN each accepts
    let r = app
        .post(&accept_path(to_carol), json!({}), Some(&carol.access))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    assert_eq!(
        (r.body["role"].clone(), r.body["user"]["id"].clone()),
        (json!("member"), json!(carol.id))
    );
    let r = app
        .post(&accept_path(to_bob), json!({}), Some(&bob.access))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    assert_eq!(r.body["role"], "viewer");
    assert_eq!(r.body["user_email"], bob.email);

    // THEN they are members with the invited roles, and the invitations are answered
    for (account, role) in [(&bob, "viewer"), (&carol, "member")] {
        let r = app.get("/api/auth/organizations/", &account.access).await;
        assert!(ids(&r.body, "results").contains(&admin.org_id.to_string()));
        let r = app.get(&members_path(admin.org_id), &account.access).await;
        assert_eq!(r.body["count"], 3);
        assert!(r.body.get("invitations").is_none(), "admins only: {r:?}");
        let member = r.body["results"]
            .as_array()
            .expect("results")
            .iter()
            .find(|m| m["user"]["id"] == json!(account.id))
            .cloned()
            .expect("listed");
        assert_eq!(member["role"], role);
        let r = app.get(MY_INVITATIONS, &account.access).await;
        assert_eq!(r.body["count"], 0);
    }
    let r = app.get(&members_path(admin.org_id), &admin.access).await;
    assert_eq!(r.body["invitations"], json!([]));
    let r = app
        .post(&accept_path(to_bob), json!({}), Some(&bob.access))
        .await;
    assert_eq!(
        (r.status, r.body.clone()),
        (
            StatusCode::BAD_REQUEST,
            json!({"error": "This invitation is no longer pending."})
        )
    );
}

#[tokio::test]
async fn a_declined_invitation_grants_nothing_and_the_admin_sees_it_declined() {
    let app = TestApp::spawn().await;
    let admin = app.register().await;
    let bob = app.register().await;
    let invitation = app
        .invite(&admin, admin.org_id, json!({"email": bob.email}))
        .await;

    let r = app
        .post(&decline_path(invitation), json!({}), Some(&bob.access))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["state"], "declined");
    assert!(r.body["responded_at"].is_string());

    assert_outside(&app, &bob, admin.org_id).await;
    assert_eq!(app.get(MY_INVITATIONS, &bob.access).await.body["count"], 0);
    let r = app.get(&members_path(admin.org_id), &admin.access).await;
    assert_eq!(r.body["invitations"][0]["id"], invitation.to_string());
    assert_eq!(r.body["invitations"][0]["state"], "declined");
    for path in [accept_path(invitation), decline_path(invitation)] {
        let r = app.post(&path, json!({}), Some(&bob.access)).await;
        assert_eq!(
            (r.status, r.body.clone()),
            (
                StatusCode::BAD_REQUEST,
                json!({"error": "This invitation is no longer pending."})
            )
        );
    }

    // Inviting again after a refusal is a new invitation, which bob may accept
    let again = app
        .invite(&admin, admin.org_id, json!({"email": bob.email}))
        .await;
    assert_ne!(again, invitation);
    let r = app
        .post(&accept_path(again), json!({}), Some(&bob.access))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
}

#[tokio::test]
async fn expired_invitations_cannot_be_answered_and_inviting_again_renews_them() {
    let app = TestApp::spawn().await;
    let admin = app.register().await;
    let bob = app.register().await;
    let invitation = app
        .invite(&admin, admin.org_id, json!({"email": bob.email}))
        .await;
    sqlx::query(
        "UPDATE organization_invitations SET expires_at = now() - interval '1 second' WHERE id = $1",
    )
    .bind(invitation)
    .execute(&app.pool)
    .await
    .expect("expire");

    assert_eq!(app.get(MY_INVITATIONS, &bob.access).await.body["count"], 0);
    for path in [accept_path(invitation), decline_path(invitation)] {
        let r = app.post(&path, json!({}), Some(&bob.access)).await;
        assert_eq!(
            (r.status, r.body.clone()),
            (
                StatusCode::BAD_REQUEST,
                json!({"error": "This invitation has expired."})
            )
        );
    }
    assert_outside(&app, &bob, admin.org_id).await;
    let r = app.get(&members_path(admin.org_id), &admin.access).await;
    assert_eq!(r.body["invitations"][0]["state"], "expired");

    // Inviting the address again renews the same invitation, with the new role
    let r = app
        .post(
            &members_path(admin.org_id),
            json!({"email": bob.email, "role": "admin"}),
            Some(&admin.access),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(
        (
            r.body["id"].clone(),
            r.body["state"].clone(),
            r.body["role"].clone()
        ),
        (json!(invitation), json!("pending"), json!("admin"))
    );
    let r = app
        .post(&accept_path(invitation), json!({}), Some(&bob.access))
        .await;
    assert_eq!(
        (r.status, r.body["role"].clone()),
        (StatusCode::CREATED, json!("admin"))
    );
}

#[tokio::test]
async fn inviting_a_pending_address_again_renews_its_invitation() {
    let app = TestApp::spawn().await;
    let admin = app.register().await;
    let second_admin = app.register().await;
    app.add_member(&admin, admin.org_id, &second_admin, "admin")
        .await;
    let bob = app.register().await;
    let first = app
        .invite(
            &admin,
            admin.org_id,
            json!({"email": bob.email, "role": "viewer"}),
        )
        .await;
    let r = app
        .post(
            &members_path(admin.org_id),
            json!({"email": bob.email.to_uppercase(), "role": "member"}),
            Some(&second_admin.access),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    assert_eq!(r.body["id"], first.to_string());
    assert_eq!(r.body["role"], "member");
    assert_eq!(r.body["invited_by"], second_admin.email);
    assert_eq!(
        app.count(
            "SELECT count(*) FROM organization_invitations WHERE organization_id = $1 AND state = 'pending'",
            admin.org_id
        )
        .await,
        1
    );
    let r = app.get(MY_INVITATIONS, &bob.access).await;
    assert_eq!(ids(&r.body, "results"), [first.to_string()]);
    let r = app
        .post(&accept_path(first), json!({}), Some(&bob.access))
        .await;
    assert_eq!(r.body["role"], "member");
}

#[tokio::test]
async fn only_the_invitee_sees_accepts_or_declines_an_invitation() {
    let app = TestApp::spawn().await;
    let admin = app.register().await;
    let bob = app.register().await;
    let stranger = app.register().await;
    let invitation = app
        .invite(&admin, admin.org_id, json!({"email": bob.email}))
        .await;

    assert_eq!(
        app.get(MY_INVITATIONS, &stranger.access).await.body["count"],
        0
    );
    assert_eq!(
        app.get(MY_INVITATIONS, &admin.access).await.body["count"],
        0
    );
    for caller in [&stranger, &admin] {
        for path in [accept_path(invitation), decline_path(invitation)] {
            let r = app.post(&path, json!({}), Some(&caller.access)).await;
            assert_eq!(
                (r.status, r.body.clone()),
                (StatusCode::NOT_FOUND, no_invitation())
            );
        }
    }
    let r = app
        .post(&accept_path(Uuid::new_v4()), json!({}), Some(&bob.access))
        .await;
    assert_eq!(
        (r.status, r.body.clone()),
        (StatusCode::NOT_FOUND, no_invitation())
    );
    let r = app
        .post(
            "/api/auth/invitations/not-an-id/accept/",
            json!({}),
            Some(&bob.access),
        )
        .await;
    assert_eq!(
        (r.status, r.body.clone()),
        (StatusCode::NOT_FOUND, json!({"detail": "Not found."}))
    );
    let r = app
        .call(http::Method::GET, MY_INVITATIONS, None, None)
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // Nothing the others did changed it
    let r = app.get(MY_INVITATIONS, &bob.access).await;
    assert_eq!(r.body["results"][0]["state"], "pending");
}

#[tokio::test]
async fn invitations_by_account_id_reach_that_account_and_accepting_closes_the_others() {
    let app = TestApp::spawn().await;
    let admin = app.register().await;
    let bob = app.register().await;
    let by_id = app
        .invite(
            &admin,
            admin.org_id,
            json!({"user_id": bob.id, "role": "viewer"}),
        )
        .await;
    let by_email = app
        .invite(&admin, admin.org_id, json!({"email": bob.email}))
        .await;
    let r = app.get(MY_INVITATIONS, &bob.access).await;
    assert_eq!(
        ids(&r.body, "results"),
        [by_id.to_string(), by_email.to_string()]
    );
    assert_eq!(r.body["results"][0]["user_id"], json!(bob.id));

    let r = app
        .post(&accept_path(by_id), json!({}), Some(&bob.access))
        .await;
    assert_eq!(
        (r.status, r.body["role"].clone()),
        (StatusCode::CREATED, json!("viewer"))
    );
    // The other invitation to bob is closed: not shown, not answerable
    assert_eq!(app.get(MY_INVITATIONS, &bob.access).await.body["count"], 0);
    let r = app
        .post(&accept_path(by_email), json!({}), Some(&bob.access))
        .await;
    assert_eq!(
        r.body,
        json!({"error": "This invitation is no longer pending."})
    );
    let r = app.get(&members_path(admin.org_id), &admin.access).await;
    assert_eq!(r.body["invitations"], json!([]));
    assert_eq!(r.body["count"], 2);
}
