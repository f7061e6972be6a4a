//! The meetings function: meetings, live sessions over REST, speaker names; tenant scoping
//! and viewers' read-only access on every route; the list's bounded statements.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use http::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{Account, TestApp};

/// An organization with one account of each role, and an outsider (admin of their own).
pub(crate) struct Team {
    pub(crate) admin: Account,
    pub(crate) member: Account,
    pub(crate) viewer: Account,
    pub(crate) outsider: Account,
    pub(crate) org: Uuid,
}

pub(crate) async fn team(app: &TestApp) -> Team {
    let admin = app.register().await;
    let member = app.register().await;
    let viewer = app.register().await;
    let outsider = app.register().await;
    let org = admin.org_id;
    app.add_member(&admin, org, &member, "member").await;
    app.add_member(&admin, org, &viewer, "viewer").await;
    Team {
        admin,
        member,
        viewer,
        outsider,
        org,
    }
}

/// Creates a meeting through the API; answers its id.
async fn create_meeting(app: &TestApp, who: &Account, org: Uuid, title: &str) -> Uuid {
    let r = app
        .post(
            "/api/meetings/",
            json!({"title": title, "organization": org}),
            Some(&who.access),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    id_of(&r.body)
}

fn id_of(body: &Value) -> Uuid {
    body["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("an id")
}

/// Inserts a meeting with SQL, `age_secs` seconds old.
async fn insert_meeting(app: &TestApp, org: Uuid, by: Uuid, title: &str, age_secs: i64) -> Uuid {
    sqlx::query_scalar(
        "INSERT INTO meetings (organization_id, created_by_id, title, created_at) \
         VALUES ($1, $2, $3, now() - $4 * interval '1 second') RETURNING id",
    )
    .bind(org)
    .bind(by)
    .bind(title)
    .bind(age_secs as f64)
    .fetch_one(&app.pool)
    .await
    .expect("meeting")
}

async fn insert_speaker(app: &TestApp, meeting: Uuid, label: &str) -> Uuid {
    sqlx::query_scalar("INSERT INTO speakers (meeting_id, label) VALUES ($1, $2) RETURNING id")
        .bind(meeting)
        .bind(label)
        .fetch_one(&app.pool)
        .await
        .expect("speaker")
}

async fn insert_active_session(app: &TestApp, meeting: Uuid) -> Uuid {
    sqlx::query_scalar(
        "INSERT INTO live_sessions (meeting_id, status, provider_session_id) \
         VALUES ($1, 'active', gen_random_uuid()::text) RETURNING id",
    )
    .bind(meeting)
    .fetch_one(&app.pool)
    .await
    .expect("live session")
}

async fn insert_recording(app: &TestApp, meeting: Uuid) -> Uuid {
    sqlx::query_scalar(
        "INSERT INTO recordings (meeting_id, storage_key, status, size_bytes) \
         VALUES ($1, 'recordings/' || $1 || '/' || gen_random_uuid() || '.webm', 'uploaded', 1234) \
         RETURNING id",
    )
    .bind(meeting)
    .fetch_one(&app.pool)
    .await
    .expect("recording")
}

fn keys(body: &Value) -> Vec<String> {
    let mut keys: Vec<String> = body
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    keys.sort();
    keys
}

#[tokio::test]
async fn create_answers_the_reduced_shape_with_defaults() {
    let app = TestApp::spawn().await;
    let ann = app.register().await;
    let r = app
        .post(
            "/api/meetings/",
            json!({"title": "  Weekly sync ", "organization": ann.org_id}),
            Some(&ann.access),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    assert_eq!(
        keys(&r.body),
        [
            "description",
            "id",
            "language_preference",
            "organization",
            "scheduled_at",
            "title"
        ]
    );
    assert_eq!(r.body["title"], "Weekly sync");
    assert_eq!(r.body["organization"], json!(ann.org_id));
    assert_eq!(r.body["description"], "");
    assert_eq!(r.body["language_preference"], "auto");
    assert_eq!(r.body["scheduled_at"], Value::Null);
    let by: Uuid = sqlx::query_scalar("SELECT created_by_id FROM meetings WHERE id = $1")
        .bind(id_of(&r.body))
        .fetch_one(&app.pool)
        .await
        .expect("row");
    assert_eq!(by, ann.id);

    let r = app
        .post(
            "/api/meetings/",
            json!({"title": "Planning", "organization": ann.org_id, "language_preference": "fr",
                   "description": "Q3", "scheduled_at": "2026-03-01T10:30:00+02:00"}),
            Some(&ann.access),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    assert_eq!(r.body["language_preference"], "fr");
    assert_eq!(r.body["scheduled_at"], "2026-03-01T08:30:00Z");
}

#[tokio::test]
async fn create_refuses_bad_input_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let ann = app.register().await;
    let bob = app.register().await;
    let unknown = Uuid::new_v4();
    let cases = [
        (
            json!({"title": "x", "organization": bob.org_id}),
            json!({"organization": ["You don't have access to this organization"]}),
        ),
        (
            json!({"title": "x", "organization": unknown}),
            json!({"organization": [format!("Invalid pk \"{unknown}\" - object does not exist.")]}),
        ),
        (
            json!({"title": "x", "organization": ann.org_id, "language_preference": "xx"}),
            json!({"language_preference": ["\"xx\" is not a valid choice."]}),
        ),
        (
            json!({}),
            json!({"organization": ["This field is required."], "title": ["This field is required."]}),
        ),
        (
            json!({"title": "x".repeat(501), "organization": ann.org_id, "scheduled_at": "soon"}),
            json!({"title": ["Ensure this field has no more than 500 characters."],
                   "scheduled_at": ["Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."]}),
        ),
        (
            json!({"title": " ", "organization": "nope"}),
            json!({"title": ["This field may not be blank."], "organization": ["“nope” is not a valid UUID."]}),
        ),
        (
            json!({"title": "x", "organization": 5}),
            json!({"organization": ["Incorrect type. Expected pk value, received int."]}),
        ),
    ];
    for (body, expected) in cases {
        let r = app
            .post("/api/meetings/", body.clone(), Some(&ann.access))
            .await;
        assert_eq!(
            (r.status, &r.body),
            (StatusCode::BAD_REQUEST, &expected),
            "{body}"
        );
    }
    let written = app
        .count(
            "SELECT count(*) FROM meetings WHERE created_by_id = $1",
            ann.id,
        )
        .await;
    assert_eq!(written, 0);
}

#[tokio::test]
async fn detail_carries_the_nested_lists_even_when_empty() {
    let app = TestApp::spawn().await;
    let ann = app.register().await;
    let id = create_meeting(&app, &ann, ann.org_id, "Kickoff").await;
    let r = app.get(&format!("/api/meetings/{id}/"), &ann.access).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(
        keys(&r.body),
        [
            "created_at",
            "created_by",
            "description",
            "id",
            "language_preference",
            "live_sessions",
            "organization",
            "organization_name",
            "recordings",
            "scheduled_at",
            "speakers",
            "title",
            "updated_at"
        ]
    );
    assert_eq!(r.body["live_sessions"], json!([]));
    assert_eq!(r.body["recordings"], json!([]));
    assert_eq!(r.body["speakers"], json!([]));
    assert_eq!(r.body["created_by"], json!(ann.email));
    assert_eq!(
        r.body["organization_name"],
        json!(format!("{}'s Organization", ann.email))
    );
    let list = app.get("/api/meetings/", &ann.access).await;
    assert_eq!(list.body["results"][0], r.body);
}

#[tokio::test]
async fn another_organizations_meeting_does_not_exist() {
    let app = TestApp::spawn().await;
    let ann = app.register().await;
    let bob = app.register().await;
    let id = create_meeting(&app, &ann, ann.org_id, "Private").await;
    let no_match = json!({"detail": "No Meeting matches the given query."});
    let path = format!("/api/meetings/{id}/");
    for r in [
        app.get(&path, &bob.access).await,
        app.patch(&path, json!({"title": "mine"}), &bob.access)
            .await,
        app.put(
            &path,
            json!({"title": "mine", "organization": bob.org_id}),
            &bob.access,
        )
        .await,
        app.delete(&path, &bob.access).await,
    ] {
        assert_eq!((r.status, &r.body), (StatusCode::NOT_FOUND, &no_match));
    }
    let r = app.get("/api/meetings/", &bob.access).await;
    assert_eq!(r.body["count"], 0);
    let r = app.get("/api/meetings/not-a-uuid/", &ann.access).await;
    assert_eq!(
        (r.status, r.body),
        (StatusCode::NOT_FOUND, json!({"detail": "Not found."}))
    );
    let title: String = sqlx::query_scalar("SELECT title FROM meetings WHERE id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .expect("row");
    assert_eq!(title, "Private");
}

#[tokio::test]
async fn the_list_is_paginated_20_a_page_newest_first() {
    let app = TestApp::spawn().await;
    let ann = app.register().await;
    let mut ids = Vec::new();
    for age in 0..21 {
        ids.push(insert_meeting(&app, ann.org_id, ann.id, &format!("M{age}"), age).await);
    }
    let r = app.get("/api/meetings/", &ann.access).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["count"], 21);
    assert_eq!(r.body["previous"], Value::Null);
    assert_eq!(r.body["next"], "http://testserver/api/meetings/?page=2");
    let page1: Vec<Value> = r.body["results"].as_array().expect("results").clone();
    assert_eq!(page1.len(), 20);
    // ids were inserted newest first.
    let shown: Vec<Uuid> = page1.iter().map(id_of).collect();
    assert_eq!(shown, ids[..20]);
    let r = app.get("/api/meetings/?page=2", &ann.access).await;
    assert_eq!(r.body["results"].as_array().map(Vec::len), Some(1));
    assert_eq!(id_of(&r.body["results"][0]), ids[20]);
    assert_eq!(r.body["previous"], "http://testserver/api/meetings/");
    let r = app.get("/api/meetings/?page=3", &ann.access).await;
    assert_eq!(
        (r.status, r.body),
        (StatusCode::NOT_FOUND, json!({"detail": "Invalid page."}))
    );
}

#[tokio::test]
async fn put_and_patch_change_the_meeting() {
    let app = TestApp::spawn().await;
    let t = team(&app).await;
    let id = create_meeting(&app, &t.member, t.org, "Draft").await;
    let path = format!("/api/meetings/{id}/");

    let r = app
        .patch(
            &path,
            json!({"title": "Final", "scheduled_at": "2026-04-01 09:00"}),
            &t.member.access,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["title"], "Final");
    assert_eq!(r.body["scheduled_at"], "2026-04-01T09:00:00Z");
    assert_eq!(r.body["speakers"], json!([]));

    let r = app
        .patch(&path, json!({"scheduled_at": null}), &t.admin.access)
        .await;
    assert_eq!(
        (r.status, &r.body["scheduled_at"]),
        (StatusCode::OK, &Value::Null)
    );
    assert_eq!(r.body["title"], "Final");

    let r = app
        .patch(&path, json!({"language_preference": "de"}), &t.admin.access)
        .await;
    assert_eq!(
        (r.status, r.body),
        (
            StatusCode::BAD_REQUEST,
            json!({"language_preference": ["\"de\" is not a valid choice."]})
        )
    );
    let r = app
        .put(&path, json!({"description": "only"}), &t.admin.access)
        .await;
    assert_eq!(
        (r.status, r.body),
        (
            StatusCode::BAD_REQUEST,
            json!({"organization": ["This field is required."], "title": ["This field is required."]})
        )
    );
    let r = app
        .patch(
            &path,
            json!({"organization": t.outsider.org_id}),
            &t.admin.access,
        )
        .await;
    assert_eq!(
        (r.status, r.body),
        (
            StatusCode::BAD_REQUEST,
            json!({"organization": ["You don't have access to this organization"]})
        )
    );
    // A member may not move it out of the organization (issue 16): only its admin may.
    let body =
        json!({"title": "Moved", "organization": t.member.org_id, "language_preference": "en"});
    let r = app.put(&path, body.clone(), &t.member.access).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{r:?}");
    // Moving it to another of the caller's organizations, as the admin of the first.
    app.add_member(&t.member, t.member.org_id, &t.admin, "member")
        .await;
    let r = app.put(&path, body, &t.admin.access).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["organization"], json!(t.member.org_id));
    assert_eq!(r.body["language_preference"], "en");
    assert_eq!(r.body["description"], "");
    // Now outside the first organization: its viewer no longer sees it.
    let r = app.get(&path, &t.viewer.access).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn delete_cascades_to_everything_in_the_meeting() {
    let app = TestApp::spawn().await;
    let ann = app.register().await;
    let id = create_meeting(&app, &ann, ann.org_id, "Doomed").await;
    insert_active_session(&app, id).await;
    let recording = insert_recording(&app, id).await;
    let speaker = insert_speaker(&app, id, "Speaker 0").await;
    let transcript: Uuid = sqlx::query_scalar(
        "INSERT INTO transcripts (meeting_id, recording_id) VALUES ($1, $2) RETURNING id",
    )
    .bind(id)
    .bind(recording)
    .fetch_one(&app.pool)
    .await
    .expect("transcript");
    sqlx::query(
        "INSERT INTO transcript_segments (transcript_id, start_ms, end_ms, speaker_id, text) \
         VALUES ($1, 0, 1000, $2, 'hello')",
    )
    .bind(transcript)
    .bind(speaker)
    .execute(&app.pool)
    .await
    .expect("segment");

    let r = app
        .delete(&format!("/api/meetings/{id}/"), &ann.access)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{r:?}");
    for sql in [
        "SELECT count(*) FROM meetings WHERE id = $1",
        "SELECT count(*) FROM live_sessions WHERE meeting_id = $1",
        "SELECT count(*) FROM recordings WHERE meeting_id = $1",
        "SELECT count(*) FROM speakers WHERE meeting_id = $1",
        "SELECT count(*) FROM transcripts WHERE meeting_id = $1",
    ] {
        assert_eq!(app.count(sql, id).await, 0, "{sql}");
    }
    assert_eq!(
        app.count(
            "SELECT count(*) FROM transcript_segments WHERE transcript_id = $1",
            transcript
        )
        .await,
        0
    );
    let r = app.get(&format!("/api/meetings/{id}/"), &ann.access).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn viewers_read_but_never_change() {
    let app = TestApp::spawn().await;
    let t = team(&app).await;
    let id = create_meeting(&app, &t.admin, t.org, "Board").await;
    let speaker = insert_speaker(&app, id, "Speaker 0").await;
    let forbidden = json!({"detail": "You do not have permission to perform this action."});
    let v = &t.viewer.access;
    let path = format!("/api/meetings/{id}/");

    assert_eq!(app.get("/api/meetings/", v).await.body["count"], 1);
    assert_eq!(app.get(&path, v).await.status, StatusCode::OK);
    let writes = [
        app.post(
            "/api/meetings/",
            json!({"title": "Mine", "organization": t.org}),
            Some(v),
        )
        .await,
        app.put(&path, json!({"title": "Mine", "organization": t.org}), v)
            .await,
        app.patch(&path, json!({"title": "Mine"}), v).await,
        app.delete(&path, v).await,
        app.post(&format!("{path}live/start/"), json!({}), Some(v))
            .await,
        app.call(Method::POST, &format!("{path}live/stop/"), None, Some(v))
            .await,
        app.patch(
            &format!("{path}speakers/{speaker}/"),
            json!({"display_name": "Eve"}),
            v,
        )
        .await,
    ];
    for r in writes {
        assert_eq!((r.status, &r.body), (StatusCode::FORBIDDEN, &forbidden));
    }
    // A member moving a meeting into an organization where they are a viewer is refused too.
    let own = create_meeting(&app, &t.viewer, t.viewer.org_id, "Own").await;
    let r = app
        .patch(
            &format!("/api/meetings/{own}/"),
            json!({"organization": t.org}),
            v,
        )
        .await;
    assert_eq!((r.status, &r.body), (StatusCode::FORBIDDEN, &forbidden));

    assert_eq!(
        app.count(
            "SELECT count(*) FROM meetings WHERE organization_id = $1",
            t.org
        )
        .await,
        1
    );
    let title: String = sqlx::query_scalar("SELECT title FROM meetings WHERE id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .expect("row");
    assert_eq!(title, "Board");
    assert_eq!(
        app.count(
            "SELECT count(*) FROM live_sessions WHERE meeting_id = $1",
            id
        )
        .await,
        0
    );
    let name: Option<String> =
        sqlx::query_scalar("SELECT display_name FROM speakers WHERE id = $1")
            .bind(speaker)
            .fetch_one(&app.pool)
            .await
            .expect("speaker");
    assert_eq!(name, None);
}

#[tokio::test]
async fn speakers_are_renamed_by_id_or_by_label() {
    let app = TestApp::spawn().await;
    let ann = app.register().await;
    let id = create_meeting(&app, &ann, ann.org_id, "Interview").await;
    let s0 = insert_speaker(&app, id, "Speaker 0").await;
    let s1 = insert_speaker(&app, id, "Speaker 1").await;
    let base = format!("/api/meetings/{id}/speakers");

    let r = app
        .patch(
            &format!("{base}/{s0}/"),
            json!({"display_name": " Ann "}),
            &ann.access,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(keys(&r.body), ["created_at", "display_name", "id", "label"]);
    assert_eq!(
        (&r.body["id"], &r.body["label"], &r.body["display_name"]),
        (&json!(s0), &json!("Speaker 0"), &json!("Ann"))
    );

    // The frontend puts the label in the path, URL-encoded.
    let r = app
        .patch(
            &format!("{base}/Speaker%201/"),
            json!({"display_name": "Bob"}),
            &ann.access,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(
        (&r.body["id"], &r.body["display_name"]),
        (&json!(s1), &json!("Bob"))
    );

    let r = app
        .patch(
            &format!("{base}/{s0}/"),
            json!({"display_name": "x".repeat(256)}),
            &ann.access,
        )
        .await;
    assert_eq!(
        (r.status, r.body),
        (
            StatusCode::BAD_REQUEST,
            json!({"error": "Display name too long"})
        )
    );
    let r = app
        .patch(
            &format!("{base}/{s0}/"),
            json!({"display_name": "é".repeat(255)}),
            &ann.access,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "255 characters fit: {r:?}");
    for body in [
        json!({}),
        json!({"display_name": ""}),
        json!({"display_name": "   "}),
    ] {
        let r = app
            .patch(&format!("{base}/Speaker%201/"), body.clone(), &ann.access)
            .await;
        assert_eq!(
            (r.status, &r.body["display_name"]),
            (StatusCode::OK, &json!("Bob")),
            "{body}"
        );
    }
    let r = app
        .patch(
            &format!("{base}/Speaker%209/"),
            json!({"display_name": "Z"}),
            &ann.access,
        )
        .await;
    assert_eq!(
        (r.status, r.body),
        (
            StatusCode::NOT_FOUND,
            json!({"detail": "No Speaker matches the given query."})
        )
    );
    // A speaker of another meeting is not this meeting's.
    let other = create_meeting(&app, &ann, ann.org_id, "Other").await;
    let r = app
        .patch(
            &format!("/api/meetings/{other}/speakers/{s0}/"),
            json!({"display_name": "Z"}),
            &ann.access,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    let names: Vec<Option<String>> = sqlx::query_scalar(
        "SELECT display_name FROM speakers WHERE meeting_id = $1 ORDER BY label",
    )
    .bind(id)
    .fetch_all(&app.pool)
    .await
    .expect("speakers");
    assert_eq!(names, [Some("é".repeat(255)), Some("Bob".into())]);
}

#[tokio::test]
async fn live_sessions_follow_the_contracts_state_machine() {
    let app = TestApp::spawn().await;
    let ann = app.register().await;
    let id = create_meeting(&app, &ann, ann.org_id, "Standup").await;
    let live = format!("/api/meetings/{id}/live");
    let status_path = format!("{live}/status/");
    let stop_path = format!("{live}/stop/");
    let status = || app.get(&status_path, &ann.access);
    let stop = || app.call(Method::POST, &stop_path, None, Some(&ann.access));

    let r = status().await;
    assert_eq!(
        (r.status, r.body),
        (
            StatusCode::NOT_FOUND,
            json!({"status": "no_active_session"})
        )
    );
    let r = stop().await;
    assert_eq!(
        (r.status, r.body),
        (
            StatusCode::NOT_FOUND,
            json!({"error": "No active live session"})
        )
    );

    // No transcription backend yet: the start fails honestly and is recorded.
    let r = app
        .post(
            &format!("{live}/start/"),
            json!({"config": {"diarize": true}}),
            Some(&ann.access),
        )
        .await;
    assert_eq!(
        (r.status, r.body),
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"error": "Failed to start live session. Please try again."})
        )
    );
    let meeting = app.get(&format!("/api/meetings/{id}/"), &ann.access).await;
    let sessions = meeting.body["live_sessions"].as_array().expect("sessions");
    assert_eq!(sessions.len(), 1);
    let failed = &sessions[0];
    assert_eq!(
        keys(failed),
        [
            "config_json",
            "ended_at",
            "error_message",
            "id",
            "provider",
            "provider_session_id",
            "started_at",
            "status"
        ]
    );
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["provider"], "deepgram");
    assert_eq!(failed["config_json"], json!({"diarize": true}));
    assert!(
        failed["error_message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
    assert_eq!(status().await.status, StatusCode::NOT_FOUND);

    let r = app
        .post(
            &format!("{live}/start/"),
            json!({"config": [1]}),
            Some(&ann.access),
        )
        .await;
    assert_eq!(
        (r.status, r.body),
        (
            StatusCode::BAD_REQUEST,
            json!({"config": ["Expected a dictionary of items but got type \"list\"."]})
        )
    );

    // An active session (as the live-transcription path will make it).
    let active = insert_active_session(&app, id).await;
    let r = status().await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(
        (&r.body["id"], &r.body["status"]),
        (&json!(active), &json!("active"))
    );
    assert_eq!(r.body["ended_at"], Value::Null);
    let r = app
        .post(&format!("{live}/start/"), json!({}), Some(&ann.access))
        .await;
    assert_eq!(
        (r.status, r.body),
        (
            StatusCode::BAD_REQUEST,
            json!({"error": "Live session already active"})
        )
    );
    let r = stop().await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(
        (&r.body["id"], &r.body["status"]),
        (&json!(active), &json!("ended"))
    );
    assert!(r.body["ended_at"].is_string());
    assert_eq!(status().await.status, StatusCode::NOT_FOUND);
    assert_eq!(stop().await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.count(
            "SELECT count(*) FROM live_sessions WHERE meeting_id = $1 AND status = 'failed'",
            id
        )
        .await,
        1,
        "the refused start recorded nothing"
    );
}

/// Every route × {admin, member, viewer, outsider, anonymous}: the expected status.
#[tokio::test]
async fn tenant_isolation_matrix() {
    let app = TestApp::spawn().await;
    let t = team(&app).await;
    let callers: [(&str, Option<&str>); 5] = [
        ("admin", Some(&t.admin.access)),
        ("member", Some(&t.member.access)),
        ("viewer", Some(&t.viewer.access)),
        ("outsider", Some(&t.outsider.access)),
        ("anonymous", None),
    ];
    // Expected status per caller, in the order above.
    use StatusCode as S;
    const OK: S = S::OK;
    const NF: S = S::NOT_FOUND;
    const FB: S = S::FORBIDDEN;
    const UA: S = S::UNAUTHORIZED;
    for (who, token) in callers {
        let i = callers.iter().position(|(w, _)| *w == who).expect("caller");
        // A fresh meeting per caller: each may delete it.
        let id = insert_meeting(&app, t.org, t.admin.id, "Matrix", 0).await;
        let speaker = insert_speaker(&app, id, "Speaker 0").await;
        let m = format!("/api/meetings/{id}/");
        let routes: Vec<(Method, String, Option<Value>, [S; 5])> = vec![
            (
                Method::GET,
                "/api/meetings/".into(),
                None,
                [OK, OK, OK, OK, UA],
            ),
            (
                Method::POST,
                "/api/meetings/".into(),
                Some(json!({"title": "New", "organization": t.org})),
                [S::CREATED, S::CREATED, FB, S::BAD_REQUEST, UA],
            ),
            (Method::GET, m.clone(), None, [OK, OK, OK, NF, UA]),
            (
                Method::PUT,
                m.clone(),
                Some(json!({"title": "Put", "organization": t.org})),
                [OK, OK, FB, NF, UA],
            ),
            (
                Method::PATCH,
                m.clone(),
                Some(json!({"title": "Patched"})),
                [OK, OK, FB, NF, UA],
            ),
            (
                Method::PATCH,
                format!("{m}speakers/{speaker}/"),
                Some(json!({"display_name": "Ann"})),
                [OK, OK, FB, NF, UA],
            ),
            (
                Method::PATCH,
                format!("{m}speakers/Speaker%200/"),
                Some(json!({"display_name": "Ann"})),
                [OK, OK, FB, NF, UA],
            ),
            // No active session: status and stop are 404 for those who may ask.
            (
                Method::GET,
                format!("{m}live/status/"),
                None,
                [NF, NF, NF, NF, UA],
            ),
            (
                Method::POST,
                format!("{m}live/stop/"),
                None,
                [NF, NF, FB, NF, UA],
            ),
            (
                Method::POST,
                format!("{m}live/start/"),
                Some(json!({})),
                [
                    S::INTERNAL_SERVER_ERROR,
                    S::INTERNAL_SERVER_ERROR,
                    FB,
                    NF,
                    UA,
                ],
            ),
            (
                Method::DELETE,
                m.clone(),
                None,
                [S::NO_CONTENT, S::NO_CONTENT, FB, NF, UA],
            ),
        ];
        for (method, path, body, expected) in routes {
            let r = app.call(method.clone(), &path, body, token).await;
            assert_eq!(r.status, expected[i], "{who} {method} {path}: {r:?}");
            if r.status == NF && path.contains(&id.to_string()) && who == "outsider" {
                assert_eq!(
                    r.body,
                    json!({"detail": "No Meeting matches the given query."})
                );
            }
        }
        let left = app
            .count("SELECT count(*) FROM meetings WHERE id = $1", id)
            .await;
        assert_eq!(
            left,
            i64::from(i >= 2),
            "{who}: the meeting is deleted only by writers"
        );
    }
    // The outsider's own organization saw nothing either.
    let r = app.get("/api/meetings/", &t.outsider.access).await;
    assert_eq!(r.body["count"], 0);
}

/// Counts the statements sqlx runs (its `sqlx::query` events) while a future runs.
struct StatementCounter(Arc<AtomicUsize>);

impl tracing::Subscriber for StatementCounter {
    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        metadata.target() == "sqlx::query"
    }
    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(tracing::level_filters::LevelFilter::TRACE)
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        if event.metadata().target() == "sqlx::query" {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// The statements one list request makes in the data crate (what the handler calls).
async fn list_statements(app: &TestApp, caller: Uuid) -> (usize, usize) {
    use tracing::instrument::WithSubscriber;
    let counter = Arc::new(AtomicUsize::new(0));
    let dispatch = tracing::Dispatch::new(StatementCounter(counter.clone()));
    let pool = app.pool.clone();
    let rows = async move {
        let count = meetin_data::meetings::count_visible(&pool, caller)
            .await
            .expect("count");
        let rows = meetin_data::meetings::list_visible(&pool, caller, 20, 0)
            .await
            .expect("page");
        assert_eq!(count as usize, rows.len());
        rows.len()
    }
    .with_subscriber(dispatch)
    .await;
    (rows, counter.load(Ordering::SeqCst))
}

#[tokio::test]
async fn the_list_runs_five_statements_whatever_the_page_size() {
    let app = TestApp::spawn().await;
    let ann = app.register().await;
    let bob = app.register().await;
    let mut expected = Vec::new();
    for age in 0..20 {
        let id = insert_meeting(&app, ann.org_id, ann.id, &format!("N{age}"), age).await;
        let session = insert_active_session(&app, id).await;
        let recording = insert_recording(&app, id).await;
        let s0 = insert_speaker(&app, id, "Speaker 0").await;
        let s1 = insert_speaker(&app, id, "Speaker 1").await;
        expected.push((id, session, recording, [s0, s1]));
    }
    let one = insert_meeting(&app, bob.org_id, bob.id, "Solo", 0).await;
    insert_speaker(&app, one, "Speaker 0").await;

    // Warm the pool so connecting is not counted.
    list_statements(&app, bob.id).await;
    assert_eq!(list_statements(&app, bob.id).await, (1, 5));
    // 1 count + 1 page + 3 nested lists (= ANY of the page's ids).
    assert_eq!(list_statements(&app, ann.id).await, (20, 5));

    let r = app.get("/api/meetings/", &ann.access).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let results = r.body["results"].as_array().expect("results");
    assert_eq!(results.len(), 20);
    for (meeting, (id, session, recording, speakers)) in results.iter().zip(&expected) {
        assert_eq!(id_of(meeting), *id);
        let ids = |key: &str| -> Vec<Uuid> {
            meeting[key]
                .as_array()
                .expect(key)
                .iter()
                .map(id_of)
                .collect()
        };
        assert_eq!(ids("live_sessions"), [*session]);
        assert_eq!(ids("recordings"), [*recording]);
        assert_eq!(ids("speakers"), *speakers);
        assert_eq!(meeting["live_sessions"][0]["status"], "active");
        assert_eq!(meeting["recordings"][0]["status"], "uploaded");
        assert_eq!(meeting["recordings"][0]["size_bytes"], 1234);
        assert_eq!(meeting["speakers"][1]["label"], "Speaker 1");
    }
}
