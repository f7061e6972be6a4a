//! Recordings: the presigned flow (initiate → a real HTTP PUT to S3 → complete → one job on
//! the queue), the direct multipart upload, every rejection as a 400 that leaves nothing
//! `uploaded`, and tenant scoping (an outsider's 404, a viewer's 403) on the new routes.

use axum::body::Body;
use http::{Method, Request, StatusCode, header};
use meetin_aws::aws_sdk_sqs;
use meetin_messages::jobs::{TranscribeRecording, parse_as};
use meetin_test_support::fake_deepgram::sine_wav;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{Account, TestApp, random_ip, unique};

/// An app whose transcription queue is its own, so a test counts only its jobs.
pub(crate) async fn app_with_own_queue() -> (TestApp, String) {
    let shared = TestApp::spawn().await;
    let sqs = shared.uploads.jobs.sqs().clone();
    let url = meetin_test_support::ensure_transcription_queue(&sqs, &unique("meetin-test-tq-"))
        .await
        .expect("queue");
    let app = TestApp::spawn_with(&[("TRANSCRIPTION_QUEUE_URL", &url)]).await;
    (app, url)
}

pub(crate) async fn meeting(app: &TestApp, who: &Account) -> Uuid {
    let r = app
        .post(
            "/api/meetings/",
            json!({"title": "Rec", "organization": who.org_id}),
            Some(&who.access),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    r.body["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("id")
}

/// Sets the meeting's `language_preference` (`en`, `fr` or `auto`) through the API, as its
/// member `who`.
pub(crate) async fn set_language(app: &TestApp, who: &Account, meeting: Uuid, language: &str) {
    let r = app
        .patch(
            &format!("/api/meetings/{meeting}/"),
            json!({"language_preference": language}),
            &who.access,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
}

pub(crate) async fn status_of(app: &TestApp, id: Uuid) -> String {
    sqlx::query_scalar("SELECT status FROM recordings WHERE id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .expect("recording")
}

/// Initiates; answers (recording id, upload URL, key).
pub(crate) async fn initiate(
    app: &TestApp,
    who: &Account,
    meeting: Uuid,
    body: Value,
) -> (Uuid, String, String) {
    let r = app
        .post(
            &format!("/api/meetings/{meeting}/recordings/initiate/"),
            body,
            Some(&who.access),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let id = r.body["recording_id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("recording_id");
    (
        id,
        r.body["upload_url"].as_str().expect("url").to_owned(),
        r.body["storage_key"].as_str().expect("key").to_owned(),
    )
}

pub(crate) async fn put(url: &str, content_type: &str, bytes: Vec<u8>) {
    let r = reqwest::Client::new()
        .put(url)
        .header("content-type", content_type)
        .body(bytes)
        .send()
        .await
        .expect("PUT");
    assert!(
        r.status().is_success(),
        "PUT {}: {}",
        r.status(),
        r.text().await.unwrap_or_default()
    );
}

/// The transcription jobs waiting on `url` (received, to come back after the queue's
/// visibility timeout).
pub(crate) async fn jobs(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<TranscribeRecording> {
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
                parse_as::<TranscribeRecording>(m.body().unwrap_or_default())
                    .expect("a transcription job"),
            );
        }
    }
}

#[tokio::test]
async fn presigned_put_then_complete_marks_uploaded_and_queues_one_job() {
    let (app, queue) = app_with_own_queue().await;
    let a = app.register().await;
    let m = meeting(&app, &a).await;
    let wav = sine_wav(300, 16_000);
    let (id, url, key) = initiate(
        &app,
        &a,
        m,
        json!({"filename": "standup.wav", "content_type": "audio/wav", "size_bytes": wav.len()}),
    )
    .await;
    assert!(
        key.starts_with(&format!("recordings/{m}/")) && key.ends_with(".wav"),
        "{key}"
    );
    assert_eq!(status_of(&app, id).await, "created");
    put(&url, "audio/wav", wav.clone()).await;

    let r = app
        .post(
            &format!("/api/recordings/{id}/complete/"),
            json!({"duration_ms": 300}),
            Some(&a.access),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["status"], "uploaded");
    assert_eq!(r.body["size_bytes"], wav.len());
    assert_eq!(r.body["mime_type"], "audio/wav");
    assert_eq!(status_of(&app, id).await, "uploaded");

    let queued = jobs(app.uploads.jobs.sqs(), &queue).await;
    assert_eq!(queued.len(), 1, "{queued:?}");
    assert_eq!(
        (
            queued[0].recording_id,
            queued[0].meeting_id,
            queued[0].organization_id
        ),
        (id, m, a.org_id)
    );
    assert_eq!(
        (queued[0].bucket.as_str(), queued[0].key.as_str()),
        (app.uploads.bucket.as_str(), key.as_str())
    );
}

#[tokio::test]
async fn both_complete_paths_and_the_default_webm() {
    let (app, queue) = app_with_own_queue().await;
    let a = app.register().await;
    let m = meeting(&app, &a).await;
    // No body: `.webm`, `audio/webm`, as the original.
    let (id, url, key) = initiate(&app, &a, m, json!({})).await;
    assert!(key.ends_with(".webm"), "{key}");
    let webm = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01webm-ish".to_vec();
    put(&url, "audio/webm", webm).await;
    let r = app
        .post(
            &format!("/api/meetings/recordings/{id}/complete/"),
            json!({}),
            Some(&a.access),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(status_of(&app, id).await, "uploaded");
    assert_eq!(jobs(app.uploads.jobs.sqs(), &queue).await.len(), 1);
}

/// Each case: what initiate declares, what is PUT (if anything), the complete body, and the
/// 400 text expected (from initiate when the PUT is `None` and the text starts with `@`).
#[tokio::test]
async fn rejections_are_400s_and_nothing_is_uploaded() {
    let (app, queue) = app_with_own_queue().await;
    let a = app.register().await;
    let m = meeting(&app, &a).await;
    let path = format!("/api/meetings/{m}/recordings/initiate/");
    // Refused at initiate: no row is written.
    for (body, error) in [
        (
            json!({"size_bytes": 524_288_001}),
            "File too large. Maximum size is 500MB.",
        ),
        (
            json!({"filename": "notes.txt"}),
            "Invalid file type. Allowed: .aac, .flac, .m4a, .mkv, .mov, .mp3, .mp4, .ogg, .wav, .webm",
        ),
        (
            json!({"filename": "a.wav", "content_type": "text/plain"}),
            "Invalid MIME type: text/plain",
        ),
    ] {
        let r = app.post(&path, body.clone(), Some(&a.access)).await;
        assert_eq!(
            (r.status, r.body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some(error)),
            "{body}"
        );
    }
    assert_eq!(
        app.count("SELECT count(*) FROM recordings WHERE meeting_id = $1", m)
            .await,
        0
    );

    let wav = sine_wav(100, 8_000);
    // Refused at complete: the row stays `created`.
    let missing = initiate(&app, &a, m, json!({"filename": "a.wav"})).await;
    let mismatch = initiate(
        &app,
        &a,
        m,
        json!({"filename": "a.wav", "size_bytes": wav.len() + 1}),
    )
    .await;
    put(&mismatch.1, "audio/wav", wav.clone()).await;
    let not_wav = initiate(&app, &a, m, json!({"filename": "a.wav"})).await;
    put(
        &not_wav.1,
        "audio/wav",
        b"this is not a RIFF file, just text".to_vec(),
    )
    .await;
    let said_other = initiate(&app, &a, m, json!({"filename": "a.wav"})).await;
    put(&said_other.1, "audio/wav", wav.clone()).await;
    for ((id, _, _), body, error) in [
        (
            missing,
            json!({}),
            "No uploaded file found for this recording".to_owned(),
        ),
        (
            mismatch,
            json!({}),
            format!(
                "Uploaded size ({} bytes) does not match the declared size ({} bytes)",
                wav.len(),
                wav.len() + 1
            ),
        ),
        (
            not_wav,
            json!({}),
            "File content does not match its type (.wav, audio/wav)".to_owned(),
        ),
        (
            said_other,
            json!({"size_bytes": 3}),
            format!(
                "Uploaded size ({} bytes) does not match the declared size (3 bytes)",
                wav.len()
            ),
        ),
    ] {
        let r = app
            .post(
                &format!("/api/recordings/{id}/complete/"),
                body,
                Some(&a.access),
            )
            .await;
        assert_eq!(
            (r.status, r.body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some(error.as_str())),
            "{r:?}"
        );
        assert_eq!(status_of(&app, id).await, "created");
    }
    assert_eq!(jobs(app.uploads.jobs.sqs(), &queue).await.len(), 0);
}

pub(crate) fn multipart(
    meeting: Uuid,
    token: &str,
    filename: &str,
    content_type: &str,
    bytes: &[u8],
) -> Request<Body> {
    let boundary = "meetin-test-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"audio\"; filename=\"{filename}\"\r\nContent-Type: {content_type}\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    Request::builder()
        .method(Method::POST)
        .uri(format!("/api/meetings/{meeting}/recordings/upload/"))
        .header(header::HOST, "testserver")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .header(header::CONTENT_LENGTH, body.len())
        .body(Body::from(body))
        .expect("request")
}

#[tokio::test]
async fn direct_upload_stores_the_file() {
    let app = TestApp::spawn().await;
    let a = app.register().await;
    let m = meeting(&app, &a).await;
    let wav = sine_wav(200, 16_000);
    let r = app
        .send(
            multipart(m, &a.access, "take1.WAV", "audio/wav", &wav),
            random_ip(),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    assert_eq!(
        (r.body["status"].as_str(), r.body["size_bytes"].as_u64()),
        (Some("uploaded"), Some(wav.len() as u64))
    );
    let key = r.body["storage_key"].as_str().expect("key");
    assert!(
        key.starts_with(&format!("recordings/{m}/")) && key.ends_with(".wav"),
        "{key}"
    );
    let object = app
        .uploads
        .s3
        .get_object()
        .bucket(&app.uploads.bucket)
        .key(key)
        .send()
        .await
        .expect("object in S3");
    assert_eq!(
        object
            .body
            .collect()
            .await
            .expect("bytes")
            .into_bytes()
            .as_ref(),
        wav.as_slice()
    );
}

#[tokio::test]
async fn direct_upload_refusals() {
    let app = TestApp::spawn().await;
    let a = app.register().await;
    let m = meeting(&app, &a).await;
    let wav = sine_wav(50, 8_000);
    for (name, mime, bytes, error) in [
        (
            "a.txt",
            "text/plain",
            wav.clone(),
            "Invalid file type. Allowed: .aac, .flac, .m4a, .mkv, .mov, .mp3, .mp4, .ogg, .wav, .webm",
        ),
        (
            "a.wav",
            "image/png",
            wav.clone(),
            "Invalid MIME type: image/png",
        ),
        (
            "a.mp3",
            "audio/mpeg",
            wav.clone(),
            "File content does not match its type (.mp3, audio/mpeg)",
        ),
    ] {
        let r = app
            .send(multipart(m, &a.access, name, mime, &bytes), random_ip())
            .await;
        assert_eq!(
            (r.status, r.body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some(error)),
            "{name}"
        );
    }
    // Not multipart at all.
    let r = app
        .post(
            &format!("/api/meetings/{m}/recordings/upload/"),
            json!({}),
            Some(&a.access),
        )
        .await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("No audio file provided"))
    );
    // Over what API Gateway and Lambda carry: 413 pointing to the presigned flow.
    let big = vec![0u8; meetings::recordings::DIRECT_UPLOAD_MAX_BYTES + 1];
    let r = app
        .send(
            multipart(m, &a.access, "big.wav", "audio/wav", &big),
            random_ip(),
        )
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{r:?}");
    assert!(
        r.body["error"]
            .as_str()
            .is_some_and(|e| e.contains("initiate")),
        "{r:?}"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM recordings WHERE meeting_id = $1", m)
            .await,
        0
    );
}

#[tokio::test]
async fn outsiders_get_404_and_viewers_403() {
    let app = TestApp::spawn().await;
    let admin = app.register().await;
    let viewer = app.register().await;
    let outsider = app.register().await;
    app.add_member(&admin, admin.org_id, &viewer, "viewer")
        .await;
    let m = meeting(&app, &admin).await;
    let (id, _, _) = initiate(&app, &admin, m, json!({})).await;
    let wav = sine_wav(50, 8_000);
    for (who, status) in [
        (&viewer, StatusCode::FORBIDDEN),
        (&outsider, StatusCode::NOT_FOUND),
    ] {
        for path in [
            format!("/api/meetings/{m}/recordings/initiate/"),
            format!("/api/recordings/{id}/complete/"),
            format!("/api/meetings/recordings/{id}/complete/"),
        ] {
            let r = app.post(&path, json!({}), Some(&who.access)).await;
            assert_eq!(r.status, status, "{path}: {r:?}");
        }
        let r = app
            .send(
                multipart(m, &who.access, "a.wav", "audio/wav", &wav),
                random_ip(),
            )
            .await;
        assert_eq!(r.status, status, "upload: {r:?}");
    }
    assert_eq!(status_of(&app, id).await, "created");
    assert_eq!(
        app.count("SELECT count(*) FROM recordings WHERE meeting_id = $1", m)
            .await,
        1
    );
}
