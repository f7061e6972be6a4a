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

#[tokio::test]
async fn admins_add_members_by_email_or_id_and_others_get_403() {
    let app = TestApp::spawn().await;
    let admin = app.register().await;
    let bob = app.register().await;
    let carol = app.register().await;
    let dave = app.register().await;

    // By email, default role
    let r = app
        .post(
            &members_path(admin.org_id),
            json!({"email": bob.email}),
            Some(&admin.access),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    assert_eq!(r.body["role"], "member");
    assert_eq!(r.body["user"]["id"], bob.id.to_string());
    assert_eq!(r.body["user_email"], bob.email);
    let mut keys: Vec<&str> = r
        .body
        .as_object()
        .expect("member")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["id", "joined_at", "role", "user", "user_email"]);

    // By id, as viewer
    let r = app
        .post(
            &members_path(admin.org_id),
            json!({"user_id": carol.id, "role": "viewer"}),
            Some(&admin.access),
        )
        .await;
    assert_eq!(
        (r.status, r.body["role"].clone()),
        (StatusCode::CREATED, json!("viewer"))
    );

    // Members and viewers cannot add
    let forbidden = json!({"detail": "Only organization admins can add members."});
    for caller in [&bob, &carol, &dave] {
        let r = app
            .post(
                &members_path(admin.org_id),
                json!({"email": dave.email}),
                Some(&caller.access),
            )
            .await;
        assert_eq!(
            (r.status, r.body.clone()),
            (StatusCode::FORBIDDEN, forbidden.clone())
        );
    }

    // Refusals write nothing
    let cases = [
        (
            json!({"email": "nobody-at-all@example.com"}),
            json!({"email": ["No user with this email address exists."]}),
        ),
        (
            json!({"user_id": Uuid::new_v4()}),
            json!({"user_id": ["No user with this id exists."]}),
        ),
        (
            json!({"user_id": "not-a-uuid"}),
            json!({"user_id": ["Must be a valid UUID."]}),
        ),
        (
            json!({"email": bob.email}),
            json!({"non_field_errors": ["This user is already a member of this organization."]}),
        ),
        (
            json!({"email": dave.email, "role": "owner"}),
            json!({"role": ["\"owner\" is not a valid choice."]}),
        ),
        (
            json!({}),
            json!({"non_field_errors": ["Provide the user's email or user_id."]}),
        ),
        (
            json!({"email": dave.email, "user_id": dave.id}),
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
    assert_eq!(
        app.count(
            "SELECT count(*) FROM organization_members WHERE organization_id = $1",
            admin.org_id
        )
        .await,
        3
    );
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
