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
            status: "created",
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
