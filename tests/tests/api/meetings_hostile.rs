//! Hostile and careless input on the meetings function (issue 16): empty uploads, NUL
//! characters, writes racing the meeting's deletion, bounded stored input and responses,
//! moving meetings between organizations, and uploads swapped after their check.

use std::future::Future;
use std::time::Duration;

use http::StatusCode;
use meetin_test_support::fake_deepgram::sine_wav;
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{Account, TestApp, TestResponse, random_ip};
use crate::recordings::{initiate, meeting, multipart, put, status_of};

const NO_MEETING: &str = "No Meeting matches the given query.";

/// Runs `request` while a transaction that deleted `meeting` is open, and commits the
/// deletion once the request's statement (its SQL contains `waits_on`) waits for it: the
/// deletion lands between the handler's access check and its write, as a concurrent
/// `DELETE /api/meetings/{id}/` can.
async fn racing_deletion(
    app: &TestApp,
    meeting: Uuid,
    waits_on: &str,
    request: impl Future<Output = TestResponse>,
) -> TestResponse {
    let mut tx = app.pool.begin().await.expect("begin");
    sqlx::query("DELETE FROM meetings WHERE id = $1")
        .bind(meeting)
        .execute(&mut *tx)
        .await
        .expect("delete");
    let pattern = format!("%{waits_on}%");
    let commit = async {
        let mut waited = false;
        for _ in 0..400 {
            let waiting: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
                 AND wait_event_type = 'Lock' AND query LIKE $1",
            )
            .bind(&pattern)
            .fetch_one(&app.pool)
            .await
            .expect("pg_stat_activity");
            if waiting > 0 {
                waited = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        tx.commit().await.expect("commit");
        waited
    };
    let (response, waited) = tokio::join!(request, commit);
    assert!(
        waited,
        "the request never waited on the deletion ({waits_on})"
    );
    response
}

fn assert_no_meeting(r: &TestResponse) {
    assert_eq!(
        (r.status, r.body["detail"].as_str()),
        (StatusCode::NOT_FOUND, Some(NO_MEETING)),
        "{r:?}"
    );
}

async fn objects_under(app: &TestApp, prefix: &str) -> usize {
    app.uploads
        .s3
        .list_objects_v2()
        .bucket(&app.uploads.bucket)
        .prefix(prefix)
        .send()
        .await
        .expect("list")
        .contents()
        .len()
}

async fn live_sessions_of(app: &TestApp, m: Uuid) -> i64 {
    app.count(
        "SELECT count(*) FROM live_sessions WHERE meeting_id = $1",
        m,
    )
    .await
}

// Item 5: 500s on bad input.

#[tokio::test]
async fn empty_uploads_are_400s_on_both_complete_paths_and_at_initiate() {
    let app = TestApp::spawn().await;
    let a = app.register().await;
    let m = meeting(&app, &a).await;
    let initiate_path = format!("/api/meetings/{m}/recordings/initiate/");
    for size in [json!(0), json!("0"), json!(0.0)] {
        let r = app
            .post(
                &initiate_path,
                json!({"filename": "a.wav", "size_bytes": size}),
                Some(&a.access),
            )
            .await;
        assert_eq!(
            (r.status, r.body["error"].as_str()),
            (
                StatusCode::BAD_REQUEST,
                Some("The submitted file is empty.")
            ),
            "{size}: {r:?}"
        );
    }
    assert_eq!(
        app.count("SELECT count(*) FROM recordings WHERE meeting_id = $1", m)
            .await,
        0
    );
    for complete in [
        "/api/recordings/{id}/complete/",
        "/api/meetings/recordings/{id}/complete/",
    ] {
        let (id, url, _) = initiate(&app, &a, m, json!({"filename": "a.wav"})).await;
        put(&url, "audio/wav", Vec::new()).await;
        let r = app
            .post(
                &complete.replace("{id}", &id.to_string()),
                json!({}),
                Some(&a.access),
            )
            .await;
        assert_eq!(
            (r.status, r.body["error"].as_str()),
            (
                StatusCode::BAD_REQUEST,
                Some("The submitted file is empty.")
            ),
            "{complete}: {r:?}"
        );
        assert_eq!(status_of(&app, id).await, "created");
    }
    // The direct upload too.
    let r = app
        .send(
            multipart(m, &a.access, "a.wav", "audio/wav", &[]),
            random_ip(),
        )
        .await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (
            StatusCode::BAD_REQUEST,
            Some("The submitted file is empty.")
        ),
        "{r:?}"
    );
}

#[tokio::test]
async fn a_nul_in_the_live_config_is_a_field_error() {
    let app = TestApp::spawn().await;
    let a = app.register().await;
    let m = meeting(&app, &a).await;
    let path = format!("/api/meetings/{m}/live/start/");
    for config in [
        json!({"language": "en\u{0}"}),
        json!({"a\u{0}": 1}),
        json!({"nested": [{"deep": ["x", "\u{0}"]}]}),
    ] {
        let r = app
            .post(&path, json!({ "config": config }), Some(&a.access))
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{config}: {r:?}");
        assert_eq!(
            r.body,
            json!({"config": ["Null characters are not allowed."]}),
            "{config}"
        );
    }
    assert_eq!(live_sessions_of(&app, m).await, 0);
    // Escaped NULs elsewhere are only text to JSON: still a plain start.
    let r = app
        .post(
            &path,
            json!({"config": {"language": "en", "note": "\\u0000"}}),
            Some(&a.access),
        )
        .await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{r:?}");
    assert_eq!(
        r.body["error"],
        "Failed to start live session. Please try again."
    );
    assert_eq!(live_sessions_of(&app, m).await, 1);
}

async fn speaker(app: &TestApp, m: Uuid) -> Uuid {
    sqlx::query_scalar(
        "INSERT INTO speakers (meeting_id, label) VALUES ($1, 'Speaker 0') RETURNING id",
    )
    .bind(m)
    .fetch_one(&app.pool)
    .await
    .expect("speaker")
}

#[tokio::test]
async fn writes_racing_the_meetings_deletion_are_its_404() {
    let app = TestApp::spawn().await;
    let a: Account = app.register().await;

    // initiate: the insert's foreign key finds the meeting gone.
    let m = meeting(&app, &a).await;
    let r = racing_deletion(
        &app,
        m,
        "INSERT INTO recordings",
        app.post(
            &format!("/api/meetings/{m}/recordings/initiate/"),
            json!({"filename": "a.wav"}),
            Some(&a.access),
        ),
    )
    .await;
    assert_no_meeting(&r);
    assert_eq!(
        app.count("SELECT count(*) FROM recordings WHERE meeting_id = $1", m)
            .await,
        0
    );

    // upload: the same, and the object it stored is removed.
    let m = meeting(&app, &a).await;
    let wav = sine_wav(50, 8_000);
    let r = racing_deletion(
        &app,
        m,
        "INSERT INTO recordings",
        app.send(
            multipart(m, &a.access, "a.wav", "audio/wav", &wav),
            random_ip(),
        ),
    )
    .await;
    assert_no_meeting(&r);
    assert_eq!(objects_under(&app, &format!("recordings/{m}/")).await, 0);

    // live start.
    let m = meeting(&app, &a).await;
    let r = racing_deletion(
        &app,
        m,
        "INSERT INTO live_sessions",
        app.post(
            &format!("/api/meetings/{m}/live/start/"),
            json!({"config": {}}),
            Some(&a.access),
        ),
    )
    .await;
    assert_no_meeting(&r);
    assert_eq!(live_sessions_of(&app, m).await, 0);

    // speaker rename: the update finds the speaker deleted with its meeting.
    let m = meeting(&app, &a).await;
    speaker(&app, m).await;
    let r = racing_deletion(
        &app,
        m,
        "UPDATE speakers",
        app.patch(
            &format!("/api/meetings/{m}/speakers/Speaker%200/"),
            json!({"display_name": "Ann"}),
            &a.access,
        ),
    )
    .await;
    assert_no_meeting(&r);
}

/// The data functions read a deleted meeting as "nothing written", never an error.
#[tokio::test]
async fn data_writes_under_a_deleted_meeting_write_nothing() {
    let app = TestApp::spawn().await;
    let a = app.register().await;
    let m = meeting(&app, &a).await;
    speaker(&app, m).await;
    assert!(
        meetin_data::meetings::delete(&app.pool, a.id, m)
            .await
            .expect("delete")
    );
    let created = meetin_data::recordings::create(
        &app.pool,
        a.id,
        &meetin_data::recordings::NewRecording {
            meeting_id: m,
            storage_key: &format!("recordings/{m}/{}.wav", Uuid::new_v4()),
            mime_type: "audio/wav",
            size_bytes: None,
            status: meetin_vocab::RecordingStatus::Created,
        },
    )
    .await
    .expect("no error");
    assert_eq!(created, None);
    let started =
        meetin_data::live_sessions::record_failed_start(&app.pool, a.id, m, &json!({}), "none")
            .await;
    assert!(
        matches!(
            started,
            Err(meetin_data::live_sessions::LiveError::NotFound)
        ),
        "{started:?}"
    );
    let renamed = meetin_data::speakers::rename(&app.pool, a.id, m, "Speaker 0", "Ann")
        .await
        .expect("no error");
    assert_eq!(renamed, None);
}

// Item 10 (initiate's fields).

#[tokio::test]
async fn initiate_refuses_non_integer_sizes_and_nul_file_names_as_field_errors() {
    let app = TestApp::spawn().await;
    let a = app.register().await;
    let m = meeting(&app, &a).await;
    let path = format!("/api/meetings/{m}/recordings/initiate/");
    for (body, errors) in [
        (
            json!({"filename": "a.wav", "size_bytes": true}),
            json!({"size_bytes": ["A valid integer is required."]}),
        ),
        (
            json!({"filename": "a.wav", "size_bytes": 1024.5}),
            json!({"size_bytes": ["A valid integer is required."]}),
        ),
        (
            json!({"filename": "a\u{0}.wav"}),
            json!({"filename": ["Null characters are not allowed."]}),
        ),
        (
            json!({"filename": "a\u{0}.wav", "size_bytes": "many"}),
            json!({
                "filename": ["Null characters are not allowed."],
                "size_bytes": ["A valid integer is required."],
            }),
        ),
    ] {
        let r = app.post(&path, body.clone(), Some(&a.access)).await;
        assert_eq!(
            (r.status, &r.body),
            (StatusCode::BAD_REQUEST, &errors),
            "{body}"
        );
    }
    assert_eq!(
        app.count("SELECT count(*) FROM recordings WHERE meeting_id = $1", m)
            .await,
        0
    );
    // Integers as DRF reads them still pass.
    let (id, _, _) = initiate(
        &app,
        &a,
        m,
        json!({"filename": "a.wav", "size_bytes": "2048"}),
    )
    .await;
    let size: Option<i64> = sqlx::query_scalar("SELECT size_bytes FROM recordings WHERE id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .expect("row");
    assert_eq!(size, Some(2048));
}

// Item 6: bounded stored input and responses.

/// Lambda's response limit (6 MB) with room for the envelope's headers.
const LAMBDA_RESPONSE_LIMIT: usize = 6_000_000;

/// The bytes Lambda would carry for `r`: API Gateway's proxy response is JSON whose `body` is
/// the response text as a JSON string (so every `"` and `\` of the body is escaped again).
fn lambda_payload_bytes(r: &TestResponse) -> usize {
    let headers: usize = r
        .headers
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 6)
        .sum();
    serde_json::to_string(&r.text).expect("json").len() + headers + 64
}

#[tokio::test]
async fn a_meetings_page_filled_to_every_cap_stays_under_lambdas_6_mb() {
    use meetin_data::meetings::{LIVE_SESSIONS_EMBEDDED, RECORDINGS_EMBEDDED, SPEAKERS_EMBEDDED};
    use meetings::json::{DESCRIPTION_MAX_CHARS, LIVE_CONFIG_MAX_BYTES, TITLE_MAX_CHARS};

    // About 150 requests of one user.
    let app = TestApp::spawn_with(&[("RATE_LIMIT_USER_PER_MINUTE", "100000")]).await;
    let a = app.register().await;
    // Every text the caps allow, made of the character JSON escapes to six bytes (seven in
    // Lambda's envelope).
    let worst = |n: usize| "\u{1}".repeat(n);
    sqlx::query("UPDATE organizations SET name = $2 WHERE id = $1")
        .bind(a.org_id)
        .bind(worst(255))
        .execute(&app.pool)
        .await
        .expect("organization name");
    let over = app
        .post(
            "/api/meetings/",
            json!({"organization": a.org_id, "title": "t", "description": worst(DESCRIPTION_MAX_CHARS + 1)}),
            Some(&a.access),
        )
        .await;
    assert_eq!(over.status, StatusCode::BAD_REQUEST, "{over:?}");
    // The largest config, of the character the envelope escapes twice (`"`: 2 bytes, then 4).
    let config = json!({ "a": "\"".repeat((LIVE_CONFIG_MAX_BYTES - 8) / 2) });
    assert_eq!(
        serde_json::to_vec(&config).expect("json").len(),
        LIVE_CONFIG_MAX_BYTES
    );
    let mut ids = Vec::new();
    for _ in 0..20 {
        let r = app
            .post(
                "/api/meetings/",
                json!({
                    "organization": a.org_id,
                    "title": worst(TITLE_MAX_CHARS),
                    "description": worst(DESCRIPTION_MAX_CHARS),
                }),
                Some(&a.access),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
        let m: Uuid = r.body["id"].as_str().expect("id").parse().expect("uuid");
        for _ in 0..=LIVE_SESSIONS_EMBEDDED {
            let r = app
                .post(
                    &format!("/api/meetings/{m}/live/start/"),
                    json!({ "config": config }),
                    Some(&a.access),
                )
                .await;
            // Recorded as a failed start (no backend yet), config and all.
            assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{r:?}");
        }
        ids.push(m);
    }
    let over = app
        .post(
            &format!("/api/meetings/{}/live/start/", ids[0]),
            json!({ "config": { "a": "\"".repeat(LIVE_CONFIG_MAX_BYTES / 2) } }),
            Some(&a.access),
        )
        .await;
    assert_eq!(over.status, StatusCode::BAD_REQUEST, "{over:?}");
    // Recordings as the server writes them (key and type are the server's), one over the cap;
    // speakers with the longest label and name the columns hold, one over the cap.
    sqlx::query(
        "INSERT INTO recordings (meeting_id, storage_key, mime_type, size_bytes, duration_ms, \
                                 status, uploaded_at) \
         SELECT m, 'recordings/' || m || '/' || gen_random_uuid() || '.webm', \
                'application/octet-stream', 524288000, 86400000, 'uploaded', now() \
         FROM unnest($1::uuid[]) AS m, generate_series(0, $2)",
    )
    .bind(&ids)
    .bind(RECORDINGS_EMBEDDED as i32)
    .execute(&app.pool)
    .await
    .expect("recordings");
    sqlx::query(
        "INSERT INTO speakers (meeting_id, label, display_name) \
         SELECT m, repeat(chr(1), 95) || lpad(i::text, 5, '0'), repeat(chr(1), 255) \
         FROM unnest($1::uuid[]) AS m, generate_series(0, $2) AS i",
    )
    .bind(&ids)
    .bind(SPEAKERS_EMBEDDED as i32)
    .execute(&app.pool)
    .await
    .expect("speakers");

    let r = app.get("/api/meetings/", &a.access).await;
    assert_eq!(r.status, StatusCode::OK);
    let results = r.body["results"].as_array().expect("results");
    assert_eq!(results.len(), 20);
    for m in results {
        assert_eq!(
            (
                m["live_sessions"].as_array().map(Vec::len),
                m["recordings"].as_array().map(Vec::len),
                m["speakers"].as_array().map(Vec::len),
            ),
            (
                Some(LIVE_SESSIONS_EMBEDDED as usize),
                Some(RECORDINGS_EMBEDDED as usize),
                Some(SPEAKERS_EMBEDDED as usize),
            )
        );
        assert_eq!(m["live_sessions"][0]["config_json"], config);
    }
    let payload = lambda_payload_bytes(&r);
    eprintln!(
        "a full meetings page: {payload} bytes in Lambda's envelope, {} of JSON",
        r.text.len()
    );
    assert!(
        payload < LAMBDA_RESPONSE_LIMIT,
        "the full page is {payload} bytes in Lambda's envelope ({} of JSON)",
        r.text.len()
    );
    // The worst case really was reached: a cap that allowed much more would show here.
    assert!(payload > LAMBDA_RESPONSE_LIMIT * 3 / 4, "{payload}");
    let detail = app
        .get(&format!("/api/meetings/{}/", ids[0]), &a.access)
        .await;
    assert_eq!(detail.status, StatusCode::OK);
    assert!(lambda_payload_bytes(&detail) < LAMBDA_RESPONSE_LIMIT / 20);
}

// Item 7: moving a meeting between organizations.

async fn organization_of(app: &TestApp, m: Uuid) -> Uuid {
    sqlx::query_scalar("SELECT organization_id FROM meetings WHERE id = $1")
        .bind(m)
        .fetch_one(&app.pool)
        .await
        .expect("meeting")
}

#[tokio::test]
async fn moving_a_meeting_needs_an_admin_where_it_leaves_and_write_where_it_goes() {
    let app = TestApp::spawn().await;
    let admin = app.register().await; // admin of the source organization
    let member = app.register().await; // a member there, admin of their own organization
    app.add_member(&admin, admin.org_id, &member, "member")
        .await;
    let m = meeting(&app, &admin).await;
    let forbidden = json!({"detail": "You do not have permission to perform this action."});

    // A member cannot take the meeting to their own organization, by PATCH or PUT.
    let r = app
        .patch(
            &format!("/api/meetings/{m}/"),
            json!({"organization": member.org_id}),
            &member.access,
        )
        .await;
    assert_eq!(
        (r.status, &r.body),
        (StatusCode::FORBIDDEN, &forbidden),
        "{r:?}"
    );
    let r = app
        .put(
            &format!("/api/meetings/{m}/"),
            json!({"organization": member.org_id, "title": "Mine now"}),
            &member.access,
        )
        .await;
    assert_eq!(
        (r.status, &r.body),
        (StatusCode::FORBIDDEN, &forbidden),
        "{r:?}"
    );
    assert_eq!(organization_of(&app, m).await, admin.org_id);
    let title: String = sqlx::query_scalar("SELECT title FROM meetings WHERE id = $1")
        .bind(m)
        .fetch_one(&app.pool)
        .await
        .expect("title");
    assert_eq!(title, "Rec");
    // Naming the meeting's own organization is no move: members still edit.
    let r = app
        .patch(
            &format!("/api/meetings/{m}/"),
            json!({"organization": admin.org_id, "title": "Renamed"}),
            &member.access,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");

    // An admin of the source who is only a viewer at the destination cannot.
    let other = app.register().await;
    app.add_member(&other, other.org_id, &admin, "viewer").await;
    let r = app
        .patch(
            &format!("/api/meetings/{m}/"),
            json!({"organization": other.org_id}),
            &admin.access,
        )
        .await;
    assert_eq!(
        (r.status, &r.body),
        (StatusCode::FORBIDDEN, &forbidden),
        "{r:?}"
    );
    assert_eq!(organization_of(&app, m).await, admin.org_id);

    // An admin of both moves it, with its recordings; the source's members lose it.
    let third = app.register().await;
    app.add_member(&third, third.org_id, &admin, "admin").await;
    let (recording, _, _) = initiate(&app, &admin, m, json!({})).await;
    let r = app
        .patch(
            &format!("/api/meetings/{m}/"),
            json!({"organization": third.org_id}),
            &admin.access,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["organization"], third.org_id.to_string());
    assert_eq!(organization_of(&app, m).await, third.org_id);
    assert_eq!(r.body["recordings"][0]["id"], recording.to_string());
    let r = app
        .get(&format!("/api/meetings/{m}/"), &member.access)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

/// The statement holds the rule too, whatever the handler checked.
#[tokio::test]
async fn the_update_statement_refuses_a_members_move() {
    let app = TestApp::spawn().await;
    let admin = app.register().await;
    let member = app.register().await;
    app.add_member(&admin, admin.org_id, &member, "member")
        .await;
    let m = meeting(&app, &admin).await;
    let changes = meetin_data::meetings::MeetingChanges {
        organization_id: Some(member.org_id),
        ..Default::default()
    };
    let moved = meetin_data::meetings::update(&app.pool, member.id, m, &changes)
        .await
        .expect("update");
    assert_eq!(moved, None);
    assert_eq!(organization_of(&app, m).await, admin.org_id);
}

// Item 9: what `complete` checked is what is transcribed.

/// The object's bytes, or `None` when there is none.
async fn object(app: &TestApp, key: &str) -> Option<Vec<u8>> {
    match app
        .uploads
        .s3
        .get_object()
        .bucket(&app.uploads.bucket)
        .key(key)
        .send()
        .await
    {
        Ok(o) => Some(o.body.collect().await.expect("bytes").into_bytes().to_vec()),
        Err(err) if err.as_service_error().is_some_and(|e| e.is_no_such_key()) => None,
        Err(err) => panic!("GET {key}: {err:?}"),
    }
}

#[tokio::test]
async fn a_put_after_complete_cannot_change_what_is_transcribed() {
    use meetings::recordings::upload_key;

    let app = TestApp::spawn().await;
    let a = app.register().await;
    let m = meeting(&app, &a).await;
    let good = sine_wav(300, 16_000);
    let (id, url, key) = initiate(
        &app,
        &a,
        m,
        json!({"filename": "a.wav", "content_type": "audio/wav", "size_bytes": good.len()}),
    )
    .await;
    // The URL is for the upload key; none is ever issued for the recording's key.
    assert!(key.starts_with(&format!("recordings/{m}/")), "{key}");
    assert!(
        url.contains(&upload_key(&key)) && !url.contains(&key),
        "{url}"
    );
    put(&url, "audio/wav", good.clone()).await;
    assert_eq!(object(&app, &key).await, None);

    let complete = format!("/api/recordings/{id}/complete/");
    let r = app.post(&complete, json!({}), Some(&a.access)).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["storage_key"], key);
    let stored: String = sqlx::query_scalar("SELECT storage_key FROM recordings WHERE id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .expect("row");
    assert_eq!(stored, key);
    assert_eq!(object(&app, &key).await.as_deref(), Some(good.as_slice()));
    assert_eq!(
        object(&app, &upload_key(&key)).await,
        None,
        "the upload is deleted"
    );

    // The URL still takes a PUT: other bytes of the same size (the same WAV header, other
    // samples) land at the upload key, never at the recording's.
    let mut other = good.clone();
    for b in other.iter_mut().skip(44) {
        *b = 0x55;
    }
    assert_ne!(other, good);
    put(&url, "audio/wav", other.clone()).await;
    assert_eq!(object(&app, &key).await.as_deref(), Some(good.as_slice()));
    // A complete again checks and queues what is stored, not the new upload.
    let r = app.post(&complete, json!({}), Some(&a.access)).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(object(&app, &key).await.as_deref(), Some(good.as_slice()));
    assert_eq!(
        object(&app, &upload_key(&key)).await.as_deref(),
        Some(other.as_slice()),
        "a stray upload stays for the lifecycle rule to expire"
    );
}

#[tokio::test]
async fn a_refused_complete_copies_nothing() {
    let app = TestApp::spawn().await;
    let a = app.register().await;
    let m = meeting(&app, &a).await;
    let (id, url, key) = initiate(&app, &a, m, json!({"filename": "a.wav"})).await;
    put(&url, "audio/wav", b"not a RIFF file at all".to_vec()).await;
    let r = app
        .post(
            &format!("/api/recordings/{id}/complete/"),
            json!({}),
            Some(&a.access),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{r:?}");
    assert_eq!(status_of(&app, id).await, "created");
    assert_eq!(object(&app, &key).await, None);
    // The upload stays: the client may PUT the right file and complete again.
    let good = sine_wav(100, 8_000);
    put(&url, "audio/wav", good.clone()).await;
    let r = app
        .post(
            &format!("/api/recordings/{id}/complete/"),
            json!({}),
            Some(&a.access),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(object(&app, &key).await.as_deref(), Some(good.as_slice()));
}

/// What `complete` reads as "the upload changed": S3's answer to a read whose `If-Match` names
/// another version, and to a copy of an upload that is gone.
#[tokio::test]
async fn s3_precondition_failures_read_as_a_changed_upload() {
    use meetings::recordings::upload_changed_under;

    let app = TestApp::spawn().await;
    let (s3, bucket) = (&app.uploads.s3, &app.uploads.bucket);
    let key = format!("uploads/{}/{}.wav", Uuid::new_v4(), Uuid::new_v4());
    s3.put_object()
        .bucket(bucket)
        .key(&key)
        .body(sine_wav(10, 8_000).into())
        .send()
        .await
        .expect("put");
    let err = s3
        .get_object()
        .bucket(bucket)
        .key(&key)
        .if_match("\"0123456789abcdef0123456789abcdef\"")
        .range("bytes=0-15")
        .send()
        .await
        .expect_err("another version");
    assert!(upload_changed_under(&err), "{err:?}");
    let err = s3
        .copy_object()
        .bucket(bucket)
        .key(format!("recordings/{}.wav", Uuid::new_v4()))
        .copy_source(format!("{bucket}/uploads/{}/gone.wav", Uuid::new_v4()))
        .send()
        .await
        .expect_err("no such upload");
    assert!(upload_changed_under(&err), "{err:?}");
    // Other failures are not.
    let err = s3
        .get_object()
        .bucket(format!("{bucket}-does-not-exist"))
        .key(&key)
        .send()
        .await
        .expect_err("no such bucket");
    assert!(!upload_changed_under(&err), "{err:?}");
}
