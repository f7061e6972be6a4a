use http::StatusCode;
use serde_json::json;
use uuid::Uuid;

use crate::helpers::TestApp;

fn org_path(id: Uuid) -> String {
    format!("/api/auth/organizations/{id}/")
}

fn members_path(org: Uuid) -> String {
    format!("/api/auth/organizations/{org}/members/")
}

fn member_path(org: Uuid, membership: Uuid) -> String {
    format!("/api/auth/organizations/{org}/members/{membership}/")
}

#[tokio::test]
async fn list_create_and_administer_an_organization() {
    let app = TestApp::spawn().await;
    let admin = app.register().await;

    // GIVEN the registration organization in the list
    let r = app.get("/api/auth/organizations/", &admin.access).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["count"], 1);
    assert_eq!(
        (r.body["next"].clone(), r.body["previous"].clone()),
        (json!(null), json!(null))
    );
    let org = &r.body["results"][0];
    assert_eq!(org["name"], format!("{}'s Organization", admin.email));
    assert_eq!(org["owner"]["id"], admin.id.to_string());
    assert_eq!(org["member_count"], 1);

    // WHEN creating another
    let created = app
        .post(
            "/api/auth/organizations/",
            json!({"name": "  Acme Research "}),
            Some(&admin.access),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
    assert_eq!(created.body["name"], "Acme Research");
    assert_eq!(created.body["member_count"], 1);
    let id: Uuid = created.body["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("id");

    // THEN its admin reads, replaces, patches and deletes it
    let detail = app.get(&org_path(id), &admin.access).await;
    assert_eq!(detail.body["owner"]["email"], admin.email);
    let put = app
        .put(&org_path(id), json!({"name": "Acme Labs"}), &admin.access)
        .await;
    assert_eq!(
        (put.status, put.body["name"].clone()),
        (StatusCode::OK, json!("Acme Labs"))
    );
    let put_empty = app.put(&org_path(id), json!({}), &admin.access).await;
    assert_eq!(put_empty.body, json!({"name": ["This field is required."]}));
    let patch = app
        .patch(&org_path(id), json!({"name": "Acme"}), &admin.access)
        .await;
    assert_eq!(patch.body["name"], "Acme");
    let patch_nothing = app.patch(&org_path(id), json!({}), &admin.access).await;
    assert_eq!(
        (patch_nothing.status, patch_nothing.body["name"].clone()),
        (StatusCode::OK, json!("Acme"))
    );
    let deleted = app.delete(&org_path(id), &admin.access).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.count("SELECT count(*) FROM organizations WHERE id = $1", id)
            .await,
        0
    );
    assert_eq!(
        app.count(
            "SELECT count(*) FROM organization_members WHERE organization_id = $1",
            id
        )
        .await,
        0
    );
    assert_eq!(
        app.get(&org_path(id), &admin.access).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn organization_detail_is_404_for_everyone_but_its_admins() {
    let app = TestApp::spawn().await;
    let admin = app.register().await;
    let member = app.register().await;
    let viewer = app.register().await;
    let stranger = app.register().await;
    app.add_member(&admin, admin.org_id, &member, "member")
        .await;
    app.add_member(&admin, admin.org_id, &viewer, "viewer")
        .await;
    let not_found = json!({"detail": "No Organization matches the given query."});

    for caller in [&member, &viewer, &stranger] {
        let r = app.get(&org_path(admin.org_id), &caller.access).await;
        assert_eq!(
            (r.status, r.body.clone()),
            (StatusCode::NOT_FOUND, not_found.clone())
        );
        let r = app
            .patch(
                &org_path(admin.org_id),
                json!({"name": "Taken"}),
                &caller.access,
            )
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        let r = app
            .put(
                &org_path(admin.org_id),
                json!({"name": "Taken"}),
                &caller.access,
            )
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        let r = app.delete(&org_path(admin.org_id), &caller.access).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
    }
    let name: String = sqlx::query_scalar("SELECT name FROM organizations WHERE id = $1")
        .bind(admin.org_id)
        .fetch_one(&app.pool)
        .await
        .expect("still there");
    assert_eq!(name, format!("{}'s Organization", admin.email));

    // Members see the organization in their list, with its member count
    let r = app.get("/api/auth/organizations/", &viewer.access).await;
    let listed: Vec<&str> = r.body["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter_map(|o| o["id"].as_str())
        .collect();
    assert!(listed.contains(&admin.org_id.to_string().as_str()));
    let org = r.body["results"]
        .as_array()
        .expect("results")
        .iter()
        .find(|o| o["id"] == admin.org_id.to_string())
        .cloned();
    assert_eq!(org.expect("listed")["member_count"], 3);
}

fn sorted_keys(body: &serde_json::Value) -> Vec<String> {
    let mut keys: Vec<String> = body.as_object().expect("object").keys().cloned().collect();
    keys.sort_unstable();
    keys
}

#[tokio::test]
async fn adding_a_member_invites_by_email_or_id_and_others_get_403() {
    let app = TestApp::spawn().await;
    let admin = app.register().await;
    let bob = app.register().await;
    let carol = app.register().await;
    let invitations = "SELECT count(*) FROM organization_invitations WHERE organization_id = $1";
    let memberships = "SELECT count(*) FROM organization_members WHERE organization_id = $1";

    // By email, default role: 201 with a pending invitation, and no membership yet
    let r = app
        .post(
            &members_path(admin.org_id),
            json!({"email": bob.email}),
            Some(&admin.access),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    assert_eq!(
        sorted_keys(&r.body),
        [
            "created_at",
            "email",
            "expires_at",
            "id",
            "invited_by",
            "organization",
            "organization_name",
            "responded_at",
            "role",
            "state",
            "user_id"
        ]
    );
    assert_eq!(r.body["state"], "pending");
    assert_eq!(r.body["role"], "member");
    assert_eq!(r.body["email"], bob.email);
    assert_eq!(r.body["user_id"], json!(null));
    assert_eq!(r.body["invited_by"], admin.email);
    assert_eq!(r.body["organization"], admin.org_id.to_string());
    let created: chrono::DateTime<chrono::Utc> = r.body["created_at"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("created_at");
    let expires: chrono::DateTime<chrono::Utc> = r.body["expires_at"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("expires_at");
    assert_eq!(expires - created, chrono::Duration::days(7));
    assert_eq!(app.count(memberships, admin.org_id).await, 1);

    // By id, as viewer: the invitation names the id, not the account's e-mail
    let r = app
        .post(
            &members_path(admin.org_id),
            json!({"user_id": carol.id, "role": "viewer"}),
            Some(&admin.access),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    assert_eq!(
        (
            r.body["role"].clone(),
            r.body["user_id"].clone(),
            r.body["email"].clone()
        ),
        (json!("viewer"), json!(carol.id), json!(null))
    );
    assert_eq!(app.count(memberships, admin.org_id).await, 1);

    // Members and viewers cannot invite, nor can strangers
    let member = app.register().await;
    let viewer = app.register().await;
    app.add_member(&admin, admin.org_id, &member, "member")
        .await;
    app.add_member(&admin, admin.org_id, &viewer, "viewer")
        .await;
    let forbidden = json!({"detail": "Only organization admins can add members."});
    for caller in [&member, &viewer, &bob] {
        let r = app
            .post(
                &members_path(admin.org_id),
                json!({"email": "someone@example.com"}),
                Some(&caller.access),
            )
            .await;
        assert_eq!(
            (r.status, r.body.clone()),
            (StatusCode::FORBIDDEN, forbidden.clone())
        );
    }

    // Refusals write nothing; an existing member is refused whatever the case of the address
    let before = app.count(invitations, admin.org_id).await;
    let already =
        json!({"non_field_errors": ["This user is already a member of this organization."]});
    let cases = [
        (json!({"email": member.email}), already.clone()),
        (
            json!({"email": member.email.to_uppercase()}),
            already.clone(),
        ),
        (json!({"user_id": viewer.id}), already.clone()),
        (json!({"email": admin.email}), already.clone()),
        (
            json!({"user_id": "not-a-uuid"}),
            json!({"user_id": ["Must be a valid UUID."]}),
        ),
        (
            json!({"email": "not-an-email"}),
            json!({"email": ["Enter a valid email address."]}),
        ),
        (
            json!({"email": carol.email, "role": "owner"}),
            json!({"role": ["\"owner\" is not a valid choice."]}),
        ),
        (
            json!({}),
            json!({"non_field_errors": ["Provide the user's email or user_id."]}),
        ),
        (
            json!({"email": carol.email, "user_id": carol.id}),
            json!({"non_field_errors": ["Provide the user's email or user_id, not both."]}),
        ),
    ];
    for (body, expected) in cases {
        let r = app
            .post(
                &members_path(admin.org_id),
                body.clone(),
                Some(&admin.access),
            )
            .await;
        assert_eq!(
            (r.status, r.body.clone()),
            (StatusCode::BAD_REQUEST, expected),
            "{body}"
        );
    }
    assert_eq!(app.count(invitations, admin.org_id).await, before);
    assert_eq!(app.count(memberships, admin.org_id).await, 3);
}

/// Member add no longer tells who has an account: an unknown address or id gets the answer a
/// registered one gets.
#[tokio::test]
async fn inviting_reveals_nothing_about_which_accounts_exist() {
    let app = TestApp::spawn().await;
    let admin = app.register().await;
    let known = app.register().await;
    let unknown_email = format!("{}@example.com", crate::helpers::unique("nobody"));
    let mut answers = Vec::new();
    for body in [
        json!({"email": known.email}),
        json!({"email": unknown_email}),
        json!({"user_id": known.id}),
        json!({"user_id": Uuid::new_v4()}),
    ] {
        let r = app
            .post(
                &members_path(admin.org_id),
                body.clone(),
                Some(&admin.access),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{body}: {r:?}");
        answers.push((
            sorted_keys(&r.body),
            r.body["state"].clone(),
            r.body["role"].clone(),
        ));
    }
    assert!(answers.windows(2).all(|w| w[0] == w[1]), "{answers:?}");
    // And the admin's list shows all four alike, as pending
    let r = app.get(&members_path(admin.org_id), &admin.access).await;
    let states: Vec<&str> = r.body["invitations"]
        .as_array()
        .expect("invitations")
        .iter()
        .filter_map(|i| i["state"].as_str())
        .collect();
    assert_eq!(states, ["pending"; 4]);
}

#[tokio::test]
async fn members_list_for_members_and_an_empty_page_for_strangers() {
    let app = TestApp::spawn().await;
    let admin = app.register().await;
    let viewer = app.register().await;
    let stranger = app.register().await;
    app.add_member(&admin, admin.org_id, &viewer, "viewer")
        .await;

    let r = app.get(&members_path(admin.org_id), &viewer.access).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["count"], 2);
    let roles: Vec<&str> = r.body["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter_map(|m| m["role"].as_str())
        .collect();
    assert_eq!(roles, ["admin", "viewer"]);

    let r = app.get(&members_path(admin.org_id), &stranger.access).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.body,
        json!({"count": 0, "next": null, "previous": null, "results": []})
    );
}

#[tokio::test]
async fn roles_change_and_members_leave_but_the_last_admin_stays() {
    let app = TestApp::spawn().await;
    let admin = app.register().await;
    let bob = app.register().await;
    let bob_membership = app.add_member(&admin, admin.org_id, &bob, "member").await;
    let admin_membership = app.membership_id(admin.org_id, admin.id).await;

    // The last admin can be neither demoted nor removed
    let r = app
        .patch(
            &member_path(admin.org_id, admin_membership),
            json!({"role": "member"}),
            &admin.access,
        )
        .await;
    assert_eq!(
        (r.status, r.body.clone()),
        (
            StatusCode::BAD_REQUEST,
            json!({"role": ["The organization's last admin cannot be demoted."]})
        )
    );
    let r = app
        .delete(&member_path(admin.org_id, admin_membership), &admin.access)
        .await;
    assert_eq!(
        (r.status, r.body.clone()),
        (
            StatusCode::BAD_REQUEST,
            json!({"error": "The organization's last admin cannot be removed."})
        )
    );

    // A member cannot change roles or remove anyone
    let r = app
        .patch(
            &member_path(admin.org_id, bob_membership),
            json!({"role": "admin"}),
            &bob.access,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .delete(&member_path(admin.org_id, admin_membership), &bob.access)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // Bad role, missing role, unknown membership
    let r = app
        .patch(
            &member_path(admin.org_id, bob_membership),
            json!({"role": "boss"}),
            &admin.access,
        )
        .await;
    assert_eq!(r.body, json!({"role": ["\"boss\" is not a valid choice."]}));
    let r = app
        .patch(
            &member_path(admin.org_id, bob_membership),
            json!({}),
            &admin.access,
        )
        .await;
    assert_eq!(r.body, json!({"role": ["This field is required."]}));
    let r = app
        .patch(
            &member_path(admin.org_id, Uuid::new_v4()),
            json!({"role": "viewer"}),
            &admin.access,
        )
        .await;
    assert_eq!(
        (r.status, r.body.clone()),
        (
            StatusCode::NOT_FOUND,
            json!({"detail": "No OrganizationMember matches the given query."})
        )
    );

    // Promote bob; now the first admin may step down, and bob may remove them
    let r = app
        .patch(
            &member_path(admin.org_id, bob_membership),
            json!({"role": "admin"}),
            &admin.access,
        )
        .await;
    assert_eq!(
        (r.status, r.body["role"].clone()),
        (StatusCode::OK, json!("admin"))
    );
    let r = app
        .patch(
            &member_path(admin.org_id, admin_membership),
            json!({"role": "viewer"}),
            &admin.access,
        )
        .await;
    assert_eq!(
        (r.status, r.body["role"].clone()),
        (StatusCode::OK, json!("viewer"))
    );
    let r = app
        .delete(&member_path(admin.org_id, admin_membership), &bob.access)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.count(
            "SELECT count(*) FROM organization_members WHERE organization_id = $1",
            admin.org_id
        )
        .await,
        1
    );
}

#[tokio::test]
async fn concurrent_demotions_cannot_leave_an_organization_without_an_admin() {
    let app = TestApp::spawn().await;
    let first = app.register().await;
    let second = app.register().await;
    let second_membership = app.add_member(&first, first.org_id, &second, "admin").await;
    let first_membership = app.membership_id(first.org_id, first.id).await;

    // Each admin demotes the other at the same time, several rounds.
    let demote_second = member_path(first.org_id, second_membership);
    let demote_first = member_path(first.org_id, first_membership);
    for _ in 0..5 {
        let a = app.patch(&demote_second, json!({"role": "member"}), &first.access);
        let b = app.patch(&demote_first, json!({"role": "member"}), &second.access);
        let (a, b) = tokio::join!(a, b);
        let admins = app
            .count("SELECT count(*) FROM organization_members WHERE organization_id = $1 AND role = 'admin'", first.org_id)
            .await;
        assert_eq!(admins, 1, "exactly one demotion wins: {a:?} / {b:?}");
        let ok = [a.status, b.status]
            .iter()
            .filter(|s| **s == StatusCode::OK)
            .count();
        assert!(ok <= 1, "{a:?} / {b:?}");
        // Restore both admins for the next round.
        sqlx::query("UPDATE organization_members SET role = 'admin' WHERE organization_id = $1")
            .bind(first.org_id)
            .execute(&app.pool)
            .await
            .expect("restore");
    }
}

#[tokio::test]
async fn lists_paginate_with_absolute_links() {
    let app = TestApp::spawn().await;
    let admin = app.register().await;
    for i in 0..21 {
        let r = app
            .post(
                "/api/auth/organizations/",
                json!({"name": format!("Org {i:02}")}),
                Some(&admin.access),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED);
    }
    let first = app.get("/api/auth/organizations/", &admin.access).await;
    assert_eq!(first.body["count"], 22);
    assert_eq!(first.body["results"].as_array().map(Vec::len), Some(20));
    assert_eq!(
        first.body["next"],
        "http://testserver/api/auth/organizations/?page=2"
    );
    assert_eq!(first.body["previous"], json!(null));
    let second = app
        .get("/api/auth/organizations/?page=2", &admin.access)
        .await;
    assert_eq!(second.body["results"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        (second.body["next"].clone(), second.body["previous"].clone()),
        (
            json!(null),
            json!("http://testserver/api/auth/organizations/")
        )
    );
    let last = app
        .get("/api/auth/organizations/?page=last", &admin.access)
        .await;
    assert_eq!(last.body["results"], second.body["results"]);
    for bad in ["3", "0", "abc"] {
        let r = app
            .get(
                &format!("/api/auth/organizations/?page={bad}"),
                &admin.access,
            )
            .await;
        assert_eq!(
            (r.status, r.body.clone()),
            (StatusCode::NOT_FOUND, json!({"detail": "Invalid page."}))
        );
    }
}

#[tokio::test]
async fn members_leave_but_the_last_admin_cannot() {
    let app = TestApp::spawn().await;
    let admin = app.register().await;
    let bob = app.register().await;
    let stranger = app.register().await;
    app.add_member(&admin, admin.org_id, &bob, "viewer").await;
    let leave = format!("/api/auth/organizations/{}/leave/", admin.org_id);
    let not_found = json!({"detail": "No Organization matches the given query."});

    // The last admin cannot leave
    let r = app.post(&leave, json!({}), Some(&admin.access)).await;
    assert_eq!(
        (r.status, r.body.clone()),
        (
            StatusCode::BAD_REQUEST,
            json!({"error": "The organization's last admin cannot leave."})
        )
    );

    // A viewer leaves: the membership is gone, and with it the organization from their list
    let r = app.post(&leave, json!({}), Some(&bob.access)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{r:?}");
    assert_eq!(
        app.count(
            "SELECT count(*) FROM organization_members WHERE user_id = $1",
            bob.id
        )
        .await,
        1
    );
    let r = app.get("/api/auth/organizations/", &bob.access).await;
    assert_eq!(r.body["count"], 1);
    assert_eq!(r.body["results"][0]["id"], bob.org_id.to_string());
    let r = app.get(&members_path(admin.org_id), &bob.access).await;
    assert_eq!(r.body["count"], 0);

    // Leaving again, a stranger leaving, and an unknown organization are 404
    for (caller, path) in [
        (&bob, leave.clone()),
        (&stranger, leave.clone()),
        (
            &bob,
            format!("/api/auth/organizations/{}/leave/", Uuid::new_v4()),
        ),
    ] {
        let r = app.post(&path, json!({}), Some(&caller.access)).await;
        assert_eq!(
            (r.status, r.body.clone()),
            (StatusCode::NOT_FOUND, not_found.clone())
        );
    }

    // With a second admin, the first may leave, even as the owner
    let second = app.register().await;
    app.add_member(&admin, admin.org_id, &second, "admin").await;
    let r = app.post(&leave, json!({}), Some(&admin.access)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{r:?}");
    let r = app.post(&leave, json!({}), Some(&second.access)).await;
    assert_eq!(
        r.body,
        json!({"error": "The organization's last admin cannot leave."})
    );
}

/// A client that acts in "the first organization" acts in one the caller owns: owned ones
/// first by creation, then the others by when the caller joined them, whatever their names.
#[tokio::test]
async fn a_users_own_organizations_come_first_then_the_others_by_join_time() {
    let app = TestApp::spawn().await;
    // Both older than the victim's account
    let attacker = app.register().await;
    let other = app.register().await;
    let victim = app.register().await;
    let renamed = format!("{}'s Organization", victim.email);
    let r = app
        .patch(
            &org_path(attacker.org_id),
            json!({"name": renamed}),
            &attacker.access,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let created = app
        .post(
            "/api/auth/organizations/",
            json!({"name": "Victim Two"}),
            Some(&victim.access),
        )
        .await;
    let second_own = created.body["id"].as_str().expect("id").to_owned();

    // The victim joins `other`'s organization first, then the attacker's
    app.add_member(&other, other.org_id, &victim, "member")
        .await;
    app.add_member(&attacker, attacker.org_id, &victim, "member")
        .await;

    let r = app.get("/api/auth/organizations/", &victim.access).await;
    let ids: Vec<&str> = r.body["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter_map(|o| o["id"].as_str())
        .collect();
    assert_eq!(
        ids,
        [
            victim.org_id.to_string().as_str(),
            second_own.as_str(),
            other.org_id.to_string().as_str(),
            attacker.org_id.to_string().as_str(),
        ]
    );
}
