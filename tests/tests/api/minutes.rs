//! Minutes: `minutes/generate/` → a task and a job on the minutes queue; the task status; the
//! minutes read; refusals and tenant scoping. (The worker's side is in `minutes_worker.rs`.)

use http::StatusCode;
use meetin_aws::aws_sdk_sqs;
use meetin_messages::jobs::{GenerateMinutes, OutputLanguage, parse_as};
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{TestApp, unique};
use crate::meetings::team;
use crate::recordings::meeting;

/// An app whose minutes queue is its own, so a test counts only its jobs.
pub(crate) async fn app_with_own_minutes_queue() -> (TestApp, String) {
    let shared = TestApp::spawn().await;
    let url = meetin_test_support::ensure_job_queue(
        shared.uploads.jobs.sqs(),
        &unique("meetin-test-mq-"),
    )
    .await
    .expect("queue");
    let app = TestApp::spawn_with(&[("MINUTES_QUEUE_URL", &url)]).await;
    (app, url)
}

/// Inserts a transcript of `meeting` with `lines` (speaker label, start s, text), each
/// speaker's row created; answers the transcript id.
pub(crate) async fn insert_transcript(
    app: &TestApp,
    meeting: Uuid,
    lines: &[(&str, u32, &str)],
) -> Uuid {
    let transcript: Uuid = sqlx::query_scalar(
        "INSERT INTO transcripts (meeting_id, provider, language_detected) \
         VALUES ($1, 'deepgram', 'en') RETURNING id",
    )
    .bind(meeting)
    .fetch_one(&app.pool)
    .await
    .expect("transcript");
    for (speaker, start_s, text) in lines {
        let speaker_id: Uuid = sqlx::query_scalar(
            "INSERT INTO speakers (meeting_id, label) VALUES ($1, $2) \
             ON CONFLICT (meeting_id, label) DO UPDATE SET label = EXCLUDED.label RETURNING id",
        )
        .bind(meeting)
        .bind(speaker)
        .fetch_one(&app.pool)
        .await
        .expect("speaker");
        let start = i32::try_from(*start_s).expect("start") * 1000;
        sqlx::query(
            "INSERT INTO transcript_segments (transcript_id, start_ms, end_ms, speaker_id, \
                 speaker_label_raw, text, confidence, is_final) \
             VALUES ($1, $2, $3, $4, $5, $6, 0.95, true)",
        )
        .bind(transcript)
        .bind(start)
        .bind(start + 4_000)
        .bind(speaker_id)
        .bind(speaker)
        .bind(text)
        .execute(&app.pool)
        .await
        .expect("segment");
    }
    transcript
}

pub(crate) async fn minutes_jobs(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<GenerateMinutes> {
    let mut found = Vec::new();
    loop {
        let out = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .expect("receive");
        let messages = out.messages.unwrap_or_default();
        if messages.is_empty() {
            return found;
        }
        for m in messages {
            found.push(
                parse_as::<GenerateMinutes>(m.body().unwrap_or_default()).expect("a minutes job"),
            );
        }
    }
}

#[tokio::test]
async fn generate_queues_one_job_and_the_task_reads_queued() {
    let (app, queue) = app_with_own_minutes_queue().await;
    let a = app.register().await;
    let m = meeting(&app, &a).await;
    let transcript = insert_transcript(&app, m, &[("Speaker 0", 0, "Hello.")]).await;

    let r = app
        .post(
            &format!("/api/transcription/meetings/{m}/minutes/generate/"),
            json!({"output_language": "fr"}),
            Some(&a.access),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{r:?}");
    assert_eq!(r.body["message"], "Minutes generation started");
    let task: Uuid = r.body["task_id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("task_id");

    let jobs = minutes_jobs(app.uploads.jobs.sqs(), &queue).await;
    assert_eq!(jobs.len(), 1);
    assert_eq!(
        (
            jobs[0].task_id,
            jobs[0].meeting_id,
            jobs[0].transcript_id,
            jobs[0].requested_by
        ),
        (task, m, transcript, a.id)
    );
    assert_eq!(jobs[0].output_language, OutputLanguage::Fr);

    let r = app
        .get(&format!("/api/transcription/tasks/{task}/"), &a.access)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["status"], "queued");
    assert_eq!(r.body["meeting"], json!(m));
    assert_eq!(r.body["minutes"], json!(null));
    assert_eq!(r.body["output_language"], "fr");

    // No minutes yet: 404, not an empty record (the original's get-or-create).
    let r = app
        .get(
            &format!("/api/transcription/meetings/{m}/minutes/"),
            &a.access,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{r:?}");
    assert_eq!(
        r.body,
        json!({"detail": "No Minutes matches the given query."})
    );
}

#[tokio::test]
async fn generate_refusals() {
    let (app, queue) = app_with_own_minutes_queue().await;
    let t = team(&app).await;
    let m = meeting(&app, &t.admin).await;
    let path = format!("/api/transcription/meetings/{m}/minutes/generate/");

    // No transcript: the contract's 400.
    let r = app.post(&path, json!({}), Some(&t.admin.access)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{r:?}");
    assert_eq!(
        r.body,
        json!({"error": "No transcript available for this meeting"})
    );

    insert_transcript(&app, m, &[("Speaker 0", 0, "Hello.")]).await;
    // A language that is not en or fr: a field error.
    let r = app
        .post(
            &path,
            json!({"output_language": "auto"}),
            Some(&t.admin.access),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{r:?}");
    assert_eq!(
        r.body,
        json!({"output_language": ["\"auto\" is not a valid choice."]})
    );
    // A viewer: 403; an outsider: 404; nobody: 401.
    let r = app.post(&path, json!({}), Some(&t.viewer.access)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{r:?}");
    let r = app.post(&path, json!({}), Some(&t.outsider.access)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{r:?}");
    let r = app.post(&path, json!({}), None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{r:?}");
    assert!(
        minutes_jobs(app.uploads.jobs.sqs(), &queue)
            .await
            .is_empty()
    );
    assert_eq!(
        app.count(
            "SELECT count(*) FROM minutes_tasks WHERE meeting_id = $1",
            m
        )
        .await,
        0
    );

    // The member's task is readable by the viewer, not by the outsider.
    let r = app.post(&path, json!({}), Some(&t.member.access)).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{r:?}");
    let task = r.body["task_id"].as_str().expect("task").to_owned();
    let task_path = format!("/api/transcription/tasks/{task}/");
    assert_eq!(
        app.get(&task_path, &t.viewer.access).await.status,
        StatusCode::OK
    );
    let r = app.get(&task_path, &t.outsider.access).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{r:?}");
    assert_eq!(
        r.body,
        json!({"detail": "No Task matches the given query."})
    );
    let r = app
        .get("/api/transcription/tasks/not-a-task/", &t.admin.access)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{r:?}");
    // The default language of an `auto` meeting is English.
    let jobs = minutes_jobs(app.uploads.jobs.sqs(), &queue).await;
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].output_language, OutputLanguage::En);
}

/// `minutes/generate/`, the task status and the minutes read × {admin, member, viewer,
/// outsider, anonymous}.
#[tokio::test]
async fn tenant_isolation_of_generation_and_reading() {
    let (app, _queue) = app_with_own_minutes_queue().await;
    let t = team(&app).await;
    let m = meeting(&app, &t.admin).await;
    let transcript = insert_transcript(&app, m, &[("Speaker 0", 0, "Hello.")]).await;
    sqlx::query(
        "INSERT INTO minutes (meeting_id, transcript_id, content_json, content_md) \
         VALUES ($1, $2, '{\"summary\": \"Hi\"}', '# Hi')",
    )
    .bind(m)
    .bind(transcript)
    .execute(&app.pool)
    .await
    .expect("minutes");
    let r = app
        .post(
            &format!("/api/transcription/meetings/{m}/minutes/generate/"),
            json!({}),
            Some(&t.admin.access),
        )
        .await;
    let task = r.body["task_id"].as_str().expect("task").to_owned();
    use StatusCode as S;
    let callers: [(&str, Option<&str>); 5] = [
        ("admin", Some(&t.admin.access)),
        ("member", Some(&t.member.access)),
        ("viewer", Some(&t.viewer.access)),
        ("outsider", Some(&t.outsider.access)),
        ("anonymous", None),
    ];
    let routes: [(http::Method, String, [S; 5]); 4] = [
        (
            http::Method::POST,
            format!("/api/transcription/meetings/{m}/minutes/generate/"),
            [
                S::ACCEPTED,
                S::ACCEPTED,
                S::FORBIDDEN,
                S::NOT_FOUND,
                S::UNAUTHORIZED,
            ],
        ),
        (
            http::Method::GET,
            format!("/api/transcription/meetings/{m}/minutes/"),
            [S::OK, S::OK, S::OK, S::NOT_FOUND, S::UNAUTHORIZED],
        ),
        (
            http::Method::GET,
            format!("/api/transcription/tasks/{task}/"),
            [S::OK, S::OK, S::OK, S::NOT_FOUND, S::UNAUTHORIZED],
        ),
        (
            http::Method::GET,
            format!("/api/transcription/meetings/{m}/transcript/"),
            [S::OK, S::OK, S::OK, S::NOT_FOUND, S::UNAUTHORIZED],
        ),
    ];
    for (i, (who, token)) in callers.iter().enumerate() {
        for (method, path, expected) in &routes {
            let body = (*method == http::Method::POST).then(|| json!({}));
            let r = app.call(method.clone(), path, body, *token).await;
            assert_eq!(r.status, expected[i], "{who} {method} {path}: {r:?}");
        }
    }
    // No refused call made a task, and the admin's and the member's answered the setup's
    // pending one (issue 16: one generation at a time).
    assert_eq!(
        app.count(
            "SELECT count(*) FROM minutes_tasks WHERE meeting_id = $1",
            m
        )
        .await,
        1
    );
}
