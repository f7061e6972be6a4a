//! Editing minutes (PUT/PATCH with `If-Match` / `version`), their versions and diffs, and the
//! action items: shapes, field errors, the minutes an item creates, `user_edited`, and tenant
//! isolation of every route.

use axum::body::Body;
use http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{Account, TestApp, TestResponse, random_ip};
use crate::meetings::{Team, team};
use crate::minutes::insert_transcript;
use crate::recordings::meeting;

const FORBIDDEN: &str = "You do not have permission to perform this action.";

fn stale(version: i32) -> Value {
    json!({"detail": format!(
        "The minutes changed since you read them (now version {version}). Reload them and apply your edit again."
    )})
}

fn minutes_path(m: Uuid) -> String {
    format!("/api/transcription/meetings/{m}/minutes/")
}

fn items_path(m: Uuid) -> String {
    format!("/api/transcription/meetings/{m}/action-items/")
}

fn item_path(m: Uuid, id: Uuid) -> String {
    format!("/api/transcription/meetings/{m}/action-items/{id}/")
}

fn id_of(body: &Value) -> Uuid {
    body["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("an id")
}

/// Minutes as a generation left them: version 1 with its version row.
async fn insert_minutes(app: &TestApp, meeting: Uuid, transcript: Uuid) -> Uuid {
    let id: Uuid = sqlx::query_scalar(
        "INSERT INTO minutes (meeting_id, transcript_id, content_json, content_md, \
                              output_language, generated_by_model, model_version) \
         VALUES ($1, $2, $3, '# Minutes', 'en', 'offline', '1.0') RETURNING id",
    )
    .bind(meeting)
    .bind(transcript)
    .bind(json!({"summary": "First", "key_points": ["a"], "decisions": []}))
    .fetch_one(&app.pool)
    .await
    .expect("minutes");
    sqlx::query(
        "INSERT INTO minutes_versions (minutes_id, content_json, content_md, source, version, \
                                       output_language, created_at) \
         SELECT id, content_json, content_md, 'generation', 1, output_language, \
                now() - interval '1 minute' FROM minutes WHERE id = $1",
    )
    .bind(id)
    .execute(&app.pool)
    .await
    .expect("version");
    id
}

/// A team, a meeting of its organization with a transcript and minutes at version 1.
async fn setup(app: &TestApp) -> (Team, Uuid, Uuid) {
    let t = team(app).await;
    let m = meeting(app, &t.admin).await;
    let transcript = insert_transcript(app, m, &[("Speaker 0", 0, "Hello.")]).await;
    let minutes = insert_minutes(app, m, transcript).await;
    (t, m, minutes)
}

/// `method path` with `body`, as `who`, with extra headers.
async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    body: Option<Value>,
    who: Option<&Account>,
    headers: &[(&str, &str)],
) -> TestResponse {
    let mut request: Request<Body> =
        TestApp::request(method, path, body.as_ref(), who.map(|a| a.access.as_str()));
    for (name, value) in headers {
        request.headers_mut().append(
            http::HeaderName::from_bytes(name.as_bytes()).expect("name"),
            value.parse().expect("value"),
        );
    }
    app.send(request, random_ip()).await
}

async fn minutes_row(app: &TestApp, m: Uuid) -> (i32, Value, String, String) {
    sqlx::query_as(
        "SELECT version, content_json, content_md, output_language FROM minutes \
         WHERE meeting_id = $1",
    )
    .bind(m)
    .fetch_one(&app.pool)
    .await
    .expect("minutes")
}

async fn version_count(app: &TestApp, minutes: Uuid) -> i64 {
    app.count(
        "SELECT count(*) FROM minutes_versions WHERE minutes_id = $1",
        minutes,
    )
    .await
}

#[tokio::test]
async fn put_and_patch_write_a_version_each() {
    let app = TestApp::spawn().await;
    let (t, m, minutes) = setup(&app).await;
    let before: chrono::DateTime<chrono::Utc> =
        sqlx::query_scalar("SELECT updated_at FROM minutes WHERE id = $1")
            .bind(minutes)
            .fetch_one(&app.pool)
            .await
            .expect("updated_at");

    let r = app.get(&minutes_path(m), &t.viewer.access).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.headers[header::ETAG], "\"1\"");

    // PUT by a member: the three writable fields; unknown and read-only keys are ignored.
    let content = json!({"summary": "Edited", "key_points": ["a", "b"], "decisions": []});
    let r = app
        .put(
            &minutes_path(m),
            json!({"content_json": content, "content_md": "  # Edited  ", "output_language": "fr",
                   "id": Uuid::new_v4(), "generated_by_model": "me"}),
            &t.member.access,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.headers[header::ETAG], "\"2\"");
    assert_eq!(r.body["version"], 2);
    assert_eq!(r.body["id"], json!(minutes));
    assert_eq!(r.body["meeting"], json!(m));
    assert_eq!(r.body["content_json"], content);
    assert_eq!(r.body["content_md"], "# Edited", "trimmed, as DRF does");
    assert_eq!(r.body["output_language"], "fr");
    assert_eq!(r.body["generated_by_model"], "offline");
    assert_eq!(r.body["action_items"], json!([]));
    let keys: Vec<&str> = r
        .body
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys.len(), 12, "the GET shape: {keys:?}");
    let after: chrono::DateTime<chrono::Utc> =
        sqlx::query_scalar("SELECT updated_at FROM minutes WHERE id = $1")
            .bind(minutes)
            .fetch_one(&app.pool)
            .await
            .expect("updated_at");
    assert!(after > before);

    // The version row: who, when, what.
    let (version, source, by, json_v, md, lang, at): (
        i32,
        String,
        Option<Uuid>,
        Value,
        String,
        String,
        chrono::DateTime<chrono::Utc>,
    ) = sqlx::query_as(
        "SELECT version, source, created_by_id, content_json, content_md, output_language, \
                created_at FROM minutes_versions WHERE minutes_id = $1 ORDER BY version DESC \
         LIMIT 1",
    )
    .bind(minutes)
    .fetch_one(&app.pool)
    .await
    .expect("version row");
    assert_eq!(
        (
            version,
            source.as_str(),
            by,
            &json_v,
            md.as_str(),
            lang.as_str()
        ),
        (2, "edit", Some(t.member.id), &content, "# Edited", "fr")
    );
    assert!((at - after).num_seconds().abs() < 5);

    // PATCH by the admin with the ETag it read: only content_md changes.
    let r = send(
        &app,
        Method::PATCH,
        &minutes_path(m),
        Some(json!({"content_md": "# Patched"})),
        Some(&t.admin),
        &[("if-match", "\"2\"")],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.headers[header::ETAG], "\"3\"");
    assert_eq!(r.body["content_json"], content);
    assert_eq!(r.body["content_md"], "# Patched");
    assert_eq!(r.body["output_language"], "fr");
    assert_eq!(
        minutes_row(&app, m).await,
        (3, content.clone(), "# Patched".into(), "fr".into())
    );
    assert_eq!(version_count(&app, minutes).await, 3);

    // The body's `version` works as If-Match does.
    let r = app
        .patch(
            &minutes_path(m),
            json!({"output_language": "en", "version": 3}),
            &t.member.access,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["version"], 4);

    // Nothing writable given: nothing written, no version.
    let r = app
        .put(&minutes_path(m), json!({"version": 4}), &t.member.access)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["version"], 4);
    assert_eq!(version_count(&app, minutes).await, 4);

    // Field errors, all at once; nothing written.
    let r = app
        .patch(
            &minutes_path(m),
            json!({"content_json": ["x"], "output_language": "de", "content_md": null, "version": "v"}),
            &t.member.access,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{r:?}");
    assert_eq!(
        r.body,
        json!({
            "content_json": ["Expected a dictionary of items but got type \"list\"."],
            "content_md": ["This field may not be null."],
            "output_language": ["\"de\" is not a valid choice."],
            "version": ["A valid integer is required."]
        })
    );
    let r = app
        .patch(
            &minutes_path(m),
            json!({"content_json": {"summary": "a\u{0}b"}}),
            &t.member.access,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{r:?}");
    assert_eq!(
        r.body,
        json!({"content_json": ["Null characters are not allowed."]})
    );
    assert_eq!(minutes_row(&app, m).await.0, 4);
    assert_eq!(version_count(&app, minutes).await, 4);
}

#[tokio::test]
async fn a_stale_edit_writes_nothing_and_the_newer_one_survives() {
    let app = TestApp::spawn().await;
    let (t, m, minutes) = setup(&app).await;
    // Both read version 1; the admin saves first.
    let r = send(
        &app,
        Method::PATCH,
        &minutes_path(m),
        Some(json!({"content_md": "# Admin's"})),
        Some(&t.admin),
        &[("If-Match", "\"1\"")],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let newer = minutes_row(&app, m).await;
    assert_eq!(newer.0, 2);

    // The member's edit from version 1: 412 with If-Match, 409 with `version`.
    let r = send(
        &app,
        Method::PATCH,
        &minutes_path(m),
        Some(json!({"content_md": "# Member's"})),
        Some(&t.member),
        &[("If-Match", "\"1\"")],
    )
    .await;
    assert_eq!(r.status, StatusCode::PRECONDITION_FAILED, "{r:?}");
    assert_eq!(r.body, stale(2));
    assert_eq!(r.headers[header::ETAG], "\"2\"");
    let r = app
        .put(
            &minutes_path(m),
            json!({"content_md": "# Member's", "version": 1}),
            &t.member.access,
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{r:?}");
    assert_eq!(r.body, stale(2));
    // A weak tag never matches (strong comparison); a current If-Match with a stale
    // `version` is still a 409.
    let r = send(
        &app,
        Method::PATCH,
        &minutes_path(m),
        Some(json!({"content_md": "# Member's"})),
        Some(&t.member),
        &[("If-Match", "W/\"2\"")],
    )
    .await;
    assert_eq!(r.status, StatusCode::PRECONDITION_FAILED, "{r:?}");
    let r = send(
        &app,
        Method::PATCH,
        &minutes_path(m),
        Some(json!({"content_md": "# Member's", "version": 1})),
        Some(&t.member),
        &[("If-Match", "\"2\"")],
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{r:?}");
    // A stale If-Match is checked before the body.
    let r = send(
        &app,
        Method::PATCH,
        &minutes_path(m),
        Some(json!({"output_language": "xx"})),
        Some(&t.member),
        &[("If-Match", "\"1\"")],
    )
    .await;
    assert_eq!(r.status, StatusCode::PRECONDITION_FAILED, "{r:?}");
    assert_eq!(minutes_row(&app, m).await, newer, "nothing written");
    assert_eq!(version_count(&app, minutes).await, 2);

    // Reloaded: the member's edit applies on top.
    let r = send(
        &app,
        Method::PATCH,
        &minutes_path(m),
        Some(json!({"content_md": "# Member's"})),
        Some(&t.member),
        &[("If-Match", "\"2\"")],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["version"], 3);
    // `*` matches any current minutes.
    let r = send(
        &app,
        Method::PATCH,
        &minutes_path(m),
        Some(json!({"content_md": "# Any"})),
        Some(&t.member),
        &[("If-Match", "*")],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["version"], 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_two_concurrent_edits_from_one_version_exactly_one_wins() {
    let app = TestApp::spawn().await;
    let (t, m, minutes) = setup(&app).await;
    for round in 1..=5 {
        let tag = format!("\"{round}\"");
        let edit = |who: &Account, text: &str| {
            let mut request = TestApp::request(
                Method::PATCH,
                &minutes_path(m),
                Some(&json!({"content_md": text})),
                Some(&who.access),
            );
            request
                .headers_mut()
                .insert(header::IF_MATCH, tag.parse().expect("tag"));
            app.send(request, random_ip())
        };
        let (a, b) = tokio::join!(edit(&t.admin, "# A"), edit(&t.member, "# B"));
        let mut statuses = [a.status, b.status];
        statuses.sort();
        assert_eq!(
            statuses,
            [StatusCode::OK, StatusCode::PRECONDITION_FAILED],
            "round {round}: {a:?} / {b:?}"
        );
        let (winner, loser) = if a.status == StatusCode::OK {
            (a, b)
        } else {
            (b, a)
        };
        assert_eq!(loser.body, stale(round + 1));
        let row = minutes_row(&app, m).await;
        assert_eq!(row.0, round + 1);
        assert_eq!(json!(row.2), winner.body["content_md"]);
        assert_eq!(version_count(&app, minutes).await, i64::from(round) + 1);
    }
}

#[tokio::test]
async fn versions_list_newest_first_with_their_authors() {
    let app = TestApp::spawn().await;
    let (t, m, minutes) = setup(&app).await;
    let path = format!("/api/transcription/meetings/{m}/minutes/versions/");
    for (who, md) in [(&t.member, "# Two"), (&t.admin, "# Three")] {
        let r = app
            .patch(&minutes_path(m), json!({"content_md": md}), &who.access)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{r:?}");
    }
    let r = app.get(&path, &t.viewer.access).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["count"], 3);
    assert_eq!(r.body["next"], json!(null));
    assert_eq!(r.body["previous"], json!(null));
    let results = r.body["results"].as_array().expect("results");
    let versions: Vec<i64> = results
        .iter()
        .map(|v| v["version"].as_i64().expect("version"))
        .collect();
    assert_eq!(versions, [3, 2, 1]);
    let newest = &results[0];
    let mut keys: Vec<&str> = newest
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "content_json",
            "created_at",
            "created_by",
            "created_by_email",
            "id",
            "output_language",
            "source",
            "version"
        ],
        "no content_md in the list (issue 16: the page stays under 6 MB)"
    );
    assert_eq!(newest["source"], "edit");
    assert_eq!(newest["created_by"], json!(t.admin.id));
    assert_eq!(newest["created_by_email"], json!(t.admin.email));
    // The detail route answers the version with its content_md.
    let r = app
        .get(
            &format!("{path}{}/", newest["id"].as_str().expect("id")),
            &t.viewer.access,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let mut detail = r.body.clone();
    assert_eq!(detail["content_md"], "# Three");
    detail.as_object_mut().expect("object").remove("content_md");
    assert_eq!(&detail, newest);
    let elsewhere = meeting(&app, &t.admin).await;
    let r = app
        .get(
            &format!(
                "/api/transcription/meetings/{elsewhere}/minutes/versions/{}/",
                newest["id"].as_str().expect("id")
            ),
            &t.viewer.access,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{r:?}");
    assert_eq!(
        r.body,
        json!({"detail": "No MinutesVersion matches the given query."})
    );
    let r = app
        .get(
            &format!("{path}{}/", newest["id"].as_str().expect("id")),
            &t.outsider.access,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{r:?}");
    assert_eq!(newest["output_language"], "en");
    assert_eq!(newest["content_json"]["summary"], "First");
    assert_eq!(results[1]["created_by_email"], json!(t.member.email));
    assert_eq!(results[2]["source"], "generation");
    assert_eq!(results[2]["created_by"], json!(null));
    assert_eq!(results[2]["created_by_email"], json!(null));
    let created: Vec<chrono::DateTime<chrono::Utc>> = results
        .iter()
        .map(|v| {
            v["created_at"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .expect("created_at")
        })
        .collect();
    assert!(created[0] >= created[1] && created[1] > created[2]);
    assert_eq!(version_count(&app, minutes).await, 3);

    // A meeting without minutes: an empty page.
    let other = meeting(&app, &t.admin).await;
    let r = app
        .get(
            &format!("/api/transcription/meetings/{other}/minutes/versions/"),
            &t.member.access,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(
        r.body,
        json!({"count": 0, "next": null, "previous": null, "results": []})
    );
    let r = app.get(&format!("{path}?page=2"), &t.viewer.access).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{r:?}");
    assert_eq!(r.body, json!({"detail": "Invalid page."}));
}

async fn version_ids(app: &TestApp, minutes: Uuid) -> Vec<Uuid> {
    sqlx::query_scalar("SELECT id FROM minutes_versions WHERE minutes_id = $1 ORDER BY version")
        .bind(minutes)
        .fetch_all(&app.pool)
        .await
        .expect("versions")
}

#[tokio::test]
async fn the_diff_lists_the_fields_that_differ() {
    let app = TestApp::spawn().await;
    let (t, m, minutes) = setup(&app).await;
    let r = app
        .put(
            &minutes_path(m),
            json!({"content_json": {"summary": "Second", "key_points": ["a"], "next_steps": ["ship"]},
                   "output_language": "fr"}),
            &t.member.access,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let ids = version_ids(&app, minutes).await;
    let diff = |a: Uuid, b: Uuid| {
        format!("/api/transcription/meetings/{m}/minutes/versions/{a}/diff/{b}/")
    };
    let r = app.get(&diff(ids[0], ids[1]), &t.viewer.access).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(
        r.body,
        json!({
            "from": {"id": ids[0], "version": 1},
            "to": {"id": ids[1], "version": 2},
            "changes": [
                {"field": "content_json.decisions", "from": [], "to": null},
                {"field": "content_json.next_steps", "from": null, "to": ["ship"]},
                {"field": "content_json.summary", "from": "First", "to": "Second"},
                {"field": "output_language", "from": "en", "to": "fr"}
            ]
        })
    );
    // Backwards, and a version against itself.
    let r = app.get(&diff(ids[1], ids[0]), &t.member.access).await;
    assert_eq!(r.body["changes"][2]["from"], "Second");
    let r = app.get(&diff(ids[1], ids[1]), &t.member.access).await;
    assert_eq!(r.body["changes"], json!([]));

    // A version of another meeting's minutes, or no version: 404.
    let other = meeting(&app, &t.admin).await;
    let transcript = insert_transcript(&app, other, &[("Speaker 0", 0, "Hi.")]).await;
    let other_minutes = insert_minutes(&app, other, transcript).await;
    let foreign = version_ids(&app, other_minutes).await[0];
    for path in [diff(ids[0], foreign), diff(Uuid::new_v4(), ids[0])] {
        let r = app.get(&path, &t.admin.access).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{r:?}");
        assert_eq!(
            r.body,
            json!({"detail": "No MinutesVersion matches the given query."})
        );
    }
    let r = app
        .get(
            &format!(
                "/api/transcription/meetings/{m}/minutes/versions/nope/diff/{}/",
                ids[0]
            ),
            &t.admin.access,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{r:?}");
    assert_eq!(r.body, json!({"detail": "Not found."}));
}

#[tokio::test]
async fn action_items_crud() {
    let app = TestApp::spawn().await;
    let (t, m, minutes) = setup(&app).await;
    let segment = Uuid::new_v4();

    // Defaults.
    let r = app
        .post(
            &items_path(m),
            json!({"title": "  Write the report "}),
            Some(&t.member.access),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    let first = id_of(&r.body);
    assert_eq!(r.body["title"], "Write the report");
    assert_eq!(r.body["description"], "");
    assert_eq!(r.body["assignee"], json!(null));
    assert_eq!(r.body["assignee_email"], json!(null));
    assert_eq!(r.body["due_date"], json!(null));
    assert_eq!(r.body["priority"], "medium");
    assert_eq!(r.body["status"], "open");
    assert_eq!(r.body["source_segment_ids"], json!([]));
    assert_eq!(r.body["meeting"], json!(m));
    assert_eq!(r.body["minutes"], json!(minutes));

    // Every field; the assignee may be any member of the organization, a viewer too.
    let r = app
        .post(
            &items_path(m),
            json!({"title": "Book the room", "description": "Tuesday", "assignee": t.viewer.id,
                   "due_date": "2026-03-09", "priority": "high", "status": "in_progress",
                   "source_segment_ids": [segment.to_string().to_uppercase()],
                   "meeting": Uuid::new_v4(), "minutes": Uuid::new_v4()}),
            Some(&t.admin.access),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    let second = id_of(&r.body);
    assert_eq!(r.body["assignee"], json!(t.viewer.id));
    assert_eq!(r.body["assignee_email"], json!(t.viewer.email));
    assert_eq!(r.body["due_date"], "2026-03-09");
    assert_eq!(r.body["priority"], "high");
    assert_eq!(r.body["status"], "in_progress");
    assert_eq!(r.body["source_segment_ids"], json!([segment]));
    assert_eq!(r.body["meeting"], json!(m), "the server's");
    assert_eq!(r.body["minutes"], json!(minutes));

    // List (any role), oldest first; detail.
    let r = app.get(&items_path(m), &t.viewer.access).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["count"], 2);
    assert_eq!(r.body["results"][0]["id"], json!(first));
    assert_eq!(r.body["results"][1]["id"], json!(second));
    let r = app.get(&item_path(m, second), &t.viewer.access).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["title"], "Book the room");
    // The minutes carry them.
    let r = app.get(&minutes_path(m), &t.viewer.access).await;
    assert_eq!(r.body["action_items"].as_array().map(Vec::len), Some(2));

    // PUT needs a title; fields left out keep their values.
    let r = app
        .put(
            &item_path(m, second),
            json!({"status": "done"}),
            &t.member.access,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{r:?}");
    assert_eq!(r.body, json!({"title": ["This field is required."]}));
    let r = app
        .put(
            &item_path(m, second),
            json!({"title": "Book the big room", "status": "done", "assignee": null}),
            &t.member.access,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["title"], "Book the big room");
    assert_eq!(r.body["status"], "done");
    assert_eq!(r.body["assignee"], json!(null));
    assert_eq!(r.body["description"], "Tuesday");
    assert_eq!(r.body["due_date"], "2026-03-09");
    // PATCH: the fields given; `null` clears the date.
    let r = app
        .patch(
            &item_path(m, second),
            json!({"due_date": null, "priority": "low", "assignee": t.member.id}),
            &t.admin.access,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["due_date"], json!(null));
    assert_eq!(r.body["priority"], "low");
    assert_eq!(r.body["assignee_email"], json!(t.member.email));
    assert_eq!(r.body["title"], "Book the big room");

    // DELETE: 204, then 404.
    let r = app.delete(&item_path(m, first), &t.member.access).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{r:?}");
    assert_eq!(r.text, "");
    for r in [
        app.get(&item_path(m, first), &t.member.access).await,
        app.delete(&item_path(m, first), &t.member.access).await,
        app.patch(&item_path(m, first), json!({}), &t.member.access)
            .await,
        app.put(
            &item_path(m, first),
            json!({"title": "x"}),
            &t.member.access,
        )
        .await,
    ] {
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{r:?}");
        assert_eq!(
            r.body,
            json!({"detail": "No ActionItem matches the given query."})
        );
    }
    // An item of another meeting (visible to the caller) is not under this one.
    let other = meeting(&app, &t.admin).await;
    for r in [
        app.get(&item_path(other, second), &t.admin.access).await,
        app.patch(
            &item_path(other, second),
            json!({"title": "x"}),
            &t.admin.access,
        )
        .await,
        app.delete(&item_path(other, second), &t.admin.access).await,
    ] {
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{r:?}");
        assert_eq!(
            r.body,
            json!({"detail": "No ActionItem matches the given query."})
        );
    }
    assert_eq!(
        app.count("SELECT count(*) FROM action_items WHERE meeting_id = $1", m)
            .await,
        1
    );
}

#[tokio::test]
async fn action_item_field_errors() {
    let app = TestApp::spawn().await;
    let (t, m, _) = setup(&app).await;
    let post = |body: Value| {
        let app = &app;
        let token = t.member.access.clone();
        async move { app.post(&items_path(m), body, Some(&token)).await }
    };
    let unknown = Uuid::new_v4();
    let cases: Vec<(Value, Value)> = vec![
        (json!({}), json!({"title": ["This field is required."]})),
        (
            json!({"title": "   "}),
            json!({"title": ["This field may not be blank."]}),
        ),
        (
            json!({"title": null}),
            json!({"title": ["This field may not be null."]}),
        ),
        (
            json!({"title": "x".repeat(501)}),
            json!({"title": ["Ensure this field has no more than 500 characters."]}),
        ),
        (
            json!({"title": "t", "priority": "urgent"}),
            json!({"priority": ["\"urgent\" is not a valid choice."]}),
        ),
        (
            json!({"title": "t", "status": "closed"}),
            json!({"status": ["\"closed\" is not a valid choice."]}),
        ),
        (
            json!({"title": "t", "due_date": "09/03/2026"}),
            json!({"due_date": ["Date has wrong format. Use one of these formats instead: YYYY-MM-DD."]}),
        ),
        (
            json!({"title": "t", "due_date": "2026-02-30"}),
            json!({"due_date": ["Date has wrong format. Use one of these formats instead: YYYY-MM-DD."]}),
        ),
        (
            json!({"title": "t", "assignee": t.outsider.id}),
            json!({"assignee": [format!("Invalid pk \"{}\" - object does not exist.", t.outsider.id)]}),
        ),
        (
            json!({"title": "t", "assignee": "nobody"}),
            json!({"assignee": ["“nobody” is not a valid UUID."]}),
        ),
        (
            json!({"title": "t", "assignee": 5}),
            json!({"assignee": ["Incorrect type. Expected pk value, received int."]}),
        ),
        (
            json!({"title": "t", "source_segment_ids": "abc"}),
            json!({"source_segment_ids": ["Expected a list of items but got type \"str\"."]}),
        ),
        (
            json!({"title": "t", "source_segment_ids": ["abc"]}),
            json!({"source_segment_ids": ["Must be a valid UUID."]}),
        ),
        (
            json!({"title": "t", "description": "a\u{0}b"}),
            json!({"description": ["Null characters are not allowed."]}),
        ),
        // Every error at once; an unknown id is echoed as sent.
        (
            json!({"priority": "x", "status": "y", "due_date": 20260309, "assignee": unknown.to_string().to_uppercase()}),
            json!({
                "title": ["This field is required."],
                "priority": ["\"x\" is not a valid choice."],
                "status": ["\"y\" is not a valid choice."],
                "due_date": ["Date has wrong format. Use one of these formats instead: YYYY-MM-DD."],
                "assignee": [format!("Invalid pk \"{}\" - object does not exist.", unknown.to_string().to_uppercase())]
            }),
        ),
    ];
    for (body, expected) in cases {
        let r = post(body.clone()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body} → {r:?}");
        assert_eq!(r.body, expected, "{body}");
    }
    // A body that is not an object.
    let r = post(json!([1])).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{r:?}");
    assert_eq!(
        r.body,
        json!({"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]})
    );
    assert_eq!(
        app.count("SELECT count(*) FROM action_items WHERE meeting_id = $1", m)
            .await,
        0,
        "nothing written"
    );

    // The same rules on PATCH and PUT.
    let r = post(json!({"title": "t"})).await;
    let id = id_of(&r.body);
    let r = app
        .patch(
            &item_path(m, id),
            json!({"title": "", "assignee": t.outsider.id, "status": "DONE"}),
            &t.member.access,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{r:?}");
    assert_eq!(
        r.body,
        json!({
            "title": ["This field may not be blank."],
            "assignee": [format!("Invalid pk \"{}\" - object does not exist.", t.outsider.id)],
            "status": ["\"DONE\" is not a valid choice."]
        })
    );
    let r = app.get(&item_path(m, id), &t.member.access).await;
    assert_eq!(r.body["status"], "open", "nothing written");
}

#[tokio::test]
async fn an_item_on_a_meeting_without_minutes_creates_them() {
    let app = TestApp::spawn().await;
    let t = team(&app).await;
    let r = app
        .post(
            "/api/meetings/",
            json!({"title": "Réunion", "organization": t.org, "language_preference": "fr"}),
            Some(&t.admin.access),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    let m = id_of(&r.body);
    let older = insert_transcript(&app, m, &[("Speaker 0", 0, "Bonjour.")]).await;
    sqlx::query("UPDATE transcripts SET created_at = now() - interval '1 hour' WHERE id = $1")
        .bind(older)
        .execute(&app.pool)
        .await
        .expect("older");
    let newest = insert_transcript(&app, m, &[("Speaker 0", 0, "Salut.")]).await;

    let r = app
        .post(
            &items_path(m),
            json!({"title": "Envoyer le compte rendu"}),
            Some(&t.member.access),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    let (minutes, transcript, content_json, content_md, language, version): (
        Uuid,
        Uuid,
        Value,
        String,
        String,
        i32,
    ) = sqlx::query_as(
        "SELECT id, transcript_id, content_json, content_md, output_language, version \
         FROM minutes WHERE meeting_id = $1",
    )
    .bind(m)
    .fetch_one(&app.pool)
    .await
    .expect("the minutes were created");
    assert_eq!(
        (
            transcript,
            &content_json,
            content_md.as_str(),
            language.as_str(),
            version
        ),
        (newest, &json!({}), "", "fr", 1)
    );
    assert_eq!(r.body["minutes"], json!(minutes));
    // Version 1 is recorded, by the member.
    let r = app
        .get(
            &format!("/api/transcription/meetings/{m}/minutes/versions/"),
            &t.viewer.access,
        )
        .await;
    assert_eq!(r.body["count"], 1, "{r:?}");
    assert_eq!(r.body["results"][0]["version"], 1);
    assert_eq!(r.body["results"][0]["source"], "edit");
    assert_eq!(r.body["results"][0]["created_by"], json!(t.member.id));
    // The minutes read as they are, with the item; a second item reuses them.
    let r = app.get(&minutes_path(m), &t.viewer.access).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.headers[header::ETAG], "\"1\"");
    assert_eq!(r.body["content_json"], json!({}));
    assert_eq!(
        r.body["action_items"][0]["title"],
        "Envoyer le compte rendu"
    );
    let r = app
        .post(
            &items_path(m),
            json!({"title": "Deux"}),
            Some(&t.admin.access),
        )
        .await;
    assert_eq!(r.body["minutes"], json!(minutes));
    assert_eq!(
        app.count("SELECT count(*) FROM minutes WHERE meeting_id = $1", m)
            .await,
        1
    );
    assert_eq!(version_count(&app, minutes).await, 1);

    // A meeting in `auto` gets English minutes.
    let auto = meeting(&app, &t.admin).await;
    insert_transcript(&app, auto, &[("Speaker 0", 0, "Hi.")]).await;
    let r = app
        .post(
            &items_path(auto),
            json!({"title": "One"}),
            Some(&t.member.access),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    let language: String =
        sqlx::query_scalar("SELECT output_language FROM minutes WHERE meeting_id = $1")
            .bind(auto)
            .fetch_one(&app.pool)
            .await
            .expect("minutes");
    assert_eq!(language, "en");
}

#[tokio::test]
async fn an_item_without_minutes_or_transcript_is_a_400() {
    let app = TestApp::spawn().await;
    let t = team(&app).await;
    let m = meeting(&app, &t.admin).await;
    let r = app
        .post(
            &items_path(m),
            json!({"title": "Nothing to hang it on"}),
            Some(&t.member.access),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{r:?}");
    assert_eq!(
        r.body,
        json!({"error": "No transcript available for this meeting"})
    );
    assert_eq!(
        app.count("SELECT count(*) FROM minutes WHERE meeting_id = $1", m)
            .await,
        0
    );
    assert_eq!(
        app.count("SELECT count(*) FROM action_items WHERE meeting_id = $1", m)
            .await,
        0
    );
    // Field errors come first.
    let r = app
        .post(&items_path(m), json!({}), Some(&t.member.access))
        .await;
    assert_eq!(r.body, json!({"title": ["This field is required."]}));
}

async fn edited(app: &TestApp, id: Uuid) -> (bool, Option<String>) {
    sqlx::query_as("SELECT user_edited, generated_key FROM action_items WHERE id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .expect("item")
}

async fn generated_item(app: &TestApp, m: Uuid, minutes: Uuid, key: &str) -> Uuid {
    sqlx::query_scalar(
        "INSERT INTO action_items (meeting_id, minutes_id, title, generated_key) \
         VALUES ($1, $2, $3, $3) RETURNING id",
    )
    .bind(m)
    .bind(minutes)
    .bind(key)
    .fetch_one(&app.pool)
    .await
    .expect("generated item")
}

#[tokio::test]
async fn user_writes_mark_items_user_edited_and_keep_their_key() {
    let app = TestApp::spawn().await;
    let (t, m, minutes) = setup(&app).await;
    let patched = generated_item(&app, m, minutes, "ship the report").await;
    let replaced = generated_item(&app, m, minutes, "call the client").await;
    let untouched = generated_item(&app, m, minutes, "book a room").await;
    assert_eq!(
        edited(&app, patched).await,
        (false, Some("ship the report".into()))
    );

    let r = app
        .patch(
            &item_path(m, patched),
            json!({"status": "done"}),
            &t.member.access,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(
        edited(&app, patched).await,
        (true, Some("ship the report".into()))
    );
    let r = app
        .put(
            &item_path(m, replaced),
            json!({"title": "Call the client today"}),
            &t.admin.access,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(
        edited(&app, replaced).await,
        (true, Some("call the client".into()))
    );
    let r = app
        .post(
            &items_path(m),
            json!({"title": "Mine"}),
            Some(&t.member.access),
        )
        .await;
    assert_eq!(edited(&app, id_of(&r.body)).await, (true, None));
    // Reads and refused writes change nothing.
    app.get(&item_path(m, untouched), &t.member.access).await;
    let r = app
        .patch(
            &item_path(m, untouched),
            json!({"status": "done"}),
            &t.viewer.access,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{r:?}");
    let r = app
        .patch(
            &item_path(m, untouched),
            json!({"priority": "?"}),
            &t.member.access,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{r:?}");
    assert_eq!(
        edited(&app, untouched).await,
        (false, Some("book a room".into()))
    );
}

/// One route under test: how to call it, and whether it writes.
struct Route {
    method: Method,
    path: String,
    body: Option<Value>,
    writes: bool,
}

#[tokio::test]
async fn every_route_is_scoped_to_the_meeting_organization() {
    let app = TestApp::spawn().await;
    let (t, m, minutes) = setup(&app).await;
    let versions = version_ids(&app, minutes).await;
    // An item for each caller that may delete one.
    let mut items = Vec::new();
    for _ in 0..3 {
        let r = app
            .post(
                &items_path(m),
                json!({"title": "Item"}),
                Some(&t.admin.access),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
        items.push(id_of(&r.body));
    }
    let item = items[0];
    let routes = |deletable: Uuid| {
        vec![
            Route {
                method: Method::PUT,
                path: minutes_path(m),
                body: Some(json!({"content_md": "# Put"})),
                writes: true,
            },
            Route {
                method: Method::PATCH,
                path: minutes_path(m),
                body: Some(json!({"content_md": "# Patch"})),
                writes: true,
            },
            Route {
                method: Method::GET,
                path: format!("/api/transcription/meetings/{m}/minutes/versions/"),
                body: None,
                writes: false,
            },
            Route {
                method: Method::GET,
                path: format!(
                    "/api/transcription/meetings/{m}/minutes/versions/{}/",
                    versions[0]
                ),
                body: None,
                writes: false,
            },
            Route {
                method: Method::GET,
                path: format!(
                    "/api/transcription/meetings/{m}/minutes/versions/{}/diff/{}/",
                    versions[0], versions[0]
                ),
                body: None,
                writes: false,
            },
            Route {
                method: Method::GET,
                path: items_path(m),
                body: None,
                writes: false,
            },
            Route {
                method: Method::POST,
                path: items_path(m),
                body: Some(json!({"title": "New"})),
                writes: true,
            },
            Route {
                method: Method::GET,
                path: item_path(m, item),
                body: None,
                writes: false,
            },
            Route {
                method: Method::PUT,
                path: item_path(m, item),
                body: Some(json!({"title": "Put"})),
                writes: true,
            },
            Route {
                method: Method::PATCH,
                path: item_path(m, item),
                body: Some(json!({"status": "done"})),
                writes: true,
            },
            Route {
                method: Method::DELETE,
                path: item_path(m, deletable),
                body: None,
                writes: true,
            },
        ]
    };
    let snapshot = |app: &TestApp| {
        let pool = app.pool.clone();
        async move {
            let row: (i32, String, i64, i64, i64) = sqlx::query_as(
                "SELECT mi.version, mi.content_md, \
                        (SELECT count(*) FROM minutes_versions v WHERE v.minutes_id = mi.id), \
                        (SELECT count(*) FROM action_items a WHERE a.meeting_id = mi.meeting_id), \
                        (SELECT count(*) FROM action_items a \
                          WHERE a.meeting_id = mi.meeting_id AND a.user_edited \
                            AND a.updated_at > a.created_at) \
                 FROM minutes mi WHERE mi.meeting_id = $1",
            )
            .bind(m)
            .fetch_one(&pool)
            .await
            .expect("snapshot");
            row
        }
    };

    // Refused: nothing written.
    let before = snapshot(&app).await;
    let anonymous: Option<&Account> = None;
    for (who, read, write, detail) in [
        (
            Some(&t.viewer),
            StatusCode::OK,
            StatusCode::FORBIDDEN,
            json!({"detail": FORBIDDEN}),
        ),
        (
            Some(&t.outsider),
            StatusCode::NOT_FOUND,
            StatusCode::NOT_FOUND,
            json!({"detail": "No Meeting matches the given query."}),
        ),
        (
            anonymous,
            StatusCode::UNAUTHORIZED,
            StatusCode::UNAUTHORIZED,
            json!({"detail": "Authentication credentials were not provided."}),
        ),
    ] {
        for route in routes(items[2]) {
            let r = send(
                &app,
                route.method.clone(),
                &route.path,
                route.body,
                who,
                &[],
            )
            .await;
            let expected = if route.writes { write } else { read };
            assert_eq!(
                r.status, expected,
                "{} {} → {r:?}",
                route.method, route.path
            );
            if expected != StatusCode::OK {
                assert_eq!(r.body, detail, "{} {}", route.method, route.path);
            }
        }
    }
    assert_eq!(
        snapshot(&app).await,
        before,
        "refused requests wrote nothing"
    );

    // Admins and members: everything.
    for (who, deletable) in [(&t.admin, items[1]), (&t.member, items[2])] {
        for route in routes(deletable) {
            let r = send(
                &app,
                route.method.clone(),
                &route.path,
                route.body,
                Some(who),
                &[],
            )
            .await;
            let expected = match route.method {
                Method::POST => StatusCode::CREATED,
                Method::DELETE => StatusCode::NO_CONTENT,
                _ => StatusCode::OK,
            };
            assert_eq!(
                r.status, expected,
                "{} {} → {r:?}",
                route.method, route.path
            );
        }
    }
    let after = snapshot(&app).await;
    assert_eq!(after.0, before.0 + 4, "two minutes edits each");
    assert_eq!(after.2, before.2 + 4);
    assert_eq!(after.3, before.3, "two created, two deleted");
}
