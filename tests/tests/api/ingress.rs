//! The streaming ingress (live-bridge) on the upload path of the public host: recordings past
//! API Gateway's limits are stored whole; a body that is not audio is refused on its first
//! KiB; an upload cut off or refused leaves no row and nothing in S3.

use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use http::{Method, Request, StatusCode, header};
use meetin_aws::aws_sdk_s3;
use meetin_test_support::fake_deepgram::sine_wav;
use serde_json::Value;
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::helpers::{TestApp, random_ip};
use crate::recordings::{meeting, multipart};

const BOUNDARY: &str = "meetin-ingress-boundary";

/// The multipart head of an `audio` field named `filename`.
fn part_head(filename: &str, content_type: &str) -> Vec<u8> {
    format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"audio\"; filename=\"{filename}\"\r\nContent-Type: {content_type}\r\n\r\n"
    )
    .into_bytes()
}

/// An upload request whose body the test feeds chunk by chunk (an `Err` cuts it off).
fn streamed(
    meeting: Uuid,
    token: &str,
    content_length: Option<u64>,
) -> (Request<Body>, mpsc::Sender<Result<Bytes, std::io::Error>>) {
    let (sender, receiver) = mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|item| (item, receiver))
    });
    let mut builder = Request::builder()
        .method(Method::POST)
        .uri(format!("/api/meetings/{meeting}/recordings/upload/"))
        .header(header::HOST, "testserver")
        .header(header::ORIGIN, "http://localhost:3000")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        );
    if let Some(length) = content_length {
        builder = builder.header(header::CONTENT_LENGTH, length);
    }
    let request = builder.body(Body::from_stream(stream)).expect("request");
    (request, sender)
}

async fn rows_of(app: &TestApp, meeting: Uuid) -> i64 {
    app.count(
        "SELECT count(*) FROM recordings WHERE meeting_id = $1",
        meeting,
    )
    .await
}

/// Objects and open multipart uploads under the meeting's prefix.
async fn stored_under(app: &TestApp, meeting: Uuid) -> (usize, usize) {
    let s3: &aws_sdk_s3::Client = &app.uploads.s3;
    let prefix = format!("recordings/{meeting}/");
    let objects = s3
        .list_objects_v2()
        .bucket(&app.uploads.bucket)
        .prefix(&prefix)
        .send()
        .await
        .expect("ListObjectsV2")
        .contents
        .unwrap_or_default()
        .len();
    let uploads = s3
        .list_multipart_uploads()
        .bucket(&app.uploads.bucket)
        .prefix(&prefix)
        .send()
        .await
        .expect("ListMultipartUploads")
        .uploads
        .unwrap_or_default()
        .len();
    (objects, uploads)
}

#[tokio::test]
async fn a_recording_past_api_gateways_limits_is_stored_whole() {
    let app = TestApp::spawn().await;
    let a = app.register().await;
    let m = meeting(&app, &a).await;
    // About 19 MiB of 16-bit mono WAV at 16 kHz: past Lambda's 6 MB and three S3 parts.
    let wav = sine_wav(10 * 60 * 1000, 16_000);
    assert!(
        wav.len() > 2 * meetin_aws::s3_upload::PART_BYTES,
        "{}",
        wav.len()
    );

    // Through API Gateway the function refuses it, pointing elsewhere.
    let r = app
        .send(
            multipart(m, &a.access, "long.wav", "audio/wav", &wav),
            random_ip(),
        )
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{r:?}");

    // Through the public host it is streamed in.
    let r = app
        .send_public(
            multipart(m, &a.access, "long.wav", "audio/wav", &wav),
            random_ip(),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    assert_eq!(r.body["status"], "uploaded");
    assert_eq!(r.body["mime_type"], "audio/wav");
    assert_eq!(r.body["size_bytes"].as_u64(), Some(wav.len() as u64));
    let key = r.body["storage_key"].as_str().expect("key").to_owned();
    assert!(
        key.starts_with(&format!("recordings/{m}/")) && key.ends_with(".wav"),
        "{key}"
    );
    let object = app
        .uploads
        .s3
        .get_object()
        .bucket(&app.uploads.bucket)
        .key(&key)
        .send()
        .await
        .expect("the object");
    let stored = object.body.collect().await.expect("bytes").into_bytes();
    assert!(stored.as_ref() == wav.as_slice(), "the stored bytes differ");
    assert_eq!(stored_under(&app, m).await, (1, 0));

    // The meeting lists it, as the frontend reads it.
    let detail = app.get(&format!("/api/meetings/{m}/"), &a.access).await;
    let recordings = detail.body["recordings"].as_array().expect("recordings");
    assert_eq!(recordings.len(), 1);
    assert_eq!(recordings[0]["id"], r.body["id"]);
}

#[tokio::test]
async fn a_body_that_is_not_audio_is_refused_on_its_first_kib() {
    let app = TestApp::spawn().await;
    let a = app.register().await;
    let m = meeting(&app, &a).await;
    // Declares 100 MB but sends one chunk of text and then nothing: the answer may not wait.
    let (request, sender) = streamed(m, &a.access, Some(100_000_000));
    let mut first = part_head("meeting.wav", "audio/wav");
    first.extend_from_slice(&[b'x'; 64 * 1024]);
    sender.send(Ok(Bytes::from(first))).await.expect("send");
    let r = tokio::time::timeout(
        Duration::from_secs(20),
        app.send_public(request, random_ip()),
    )
    .await
    .expect("answered before the rest of the body");
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{r:?}");
    assert_eq!(
        r.body["error"],
        meetin_core::media::content_mismatch(".wav", "audio/wav")
    );
    assert_eq!(
        r.headers
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .map(|v| v.as_bytes()),
        Some(&b"http://localhost:3000"[..]),
        "the page can read the refusal"
    );
    assert_eq!(rows_of(&app, m).await, 0);
    assert_eq!(stored_under(&app, m).await, (0, 0));
}

#[tokio::test]
async fn an_upload_cut_off_midway_leaves_no_row_and_no_object() {
    let app = TestApp::spawn().await;
    let a = app.register().await;
    let m = meeting(&app, &a).await;
    let wav = sine_wav(5 * 60 * 1000, 16_000);
    let (request, sender) = streamed(m, &a.access, None);
    let feeder = tokio::spawn(async move {
        sender
            .send(Ok(Bytes::from(part_head("cut.wav", "audio/wav"))))
            .await
            .ok();
        // More than one S3 part, so a multipart upload is open when the body breaks.
        for chunk in wav.chunks(256 * 1024).take(40) {
            if sender
                .send(Ok(Bytes::copy_from_slice(chunk)))
                .await
                .is_err()
            {
                return;
            }
        }
        let cut = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "client gone");
        sender.send(Err(cut)).await.ok();
    });
    let r = app.send_public(request, random_ip()).await;
    feeder.await.expect("feeder");
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{r:?}");
    assert_eq!(rows_of(&app, m).await, 0);
    assert_eq!(
        stored_under(&app, m).await,
        (0, 0),
        "aborted, nothing stored"
    );
}

#[tokio::test]
async fn the_ingress_refuses_as_the_function_does() {
    let app = TestApp::spawn().await;
    let a = app.register().await;
    let m = meeting(&app, &a).await;
    let wav = sine_wav(200, 16_000);

    // Declared past 500 MB: refused before a byte is read.
    let (request, _sender) = streamed(m, &a.access, Some(600_000_000));
    let r = app.send_public(request, random_ip()).await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some(meetin_core::media::TOO_LARGE)),
        "{r:?}"
    );

    // No credentials, a bad token; a viewer; an outsider; a malformed id; another method.
    let mut anonymous = multipart(m, &a.access, "a.wav", "audio/wav", &wav);
    anonymous.headers_mut().remove(header::AUTHORIZATION);
    let r = app.send_public(anonymous, random_ip()).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{r:?}");
    assert_eq!(
        r.headers
            .get(header::WWW_AUTHENTICATE)
            .map(|v| v.as_bytes()),
        Some(&b"Bearer realm=\"api\""[..])
    );
    // The headers every function's answer carries.
    for (name, value) in [
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("cache-control", "no-store"),
    ] {
        assert_eq!(
            r.headers.get(name).map(|v| v.as_bytes()),
            Some(value.as_bytes()),
            "{name}"
        );
    }
    assert!(r.headers.contains_key("x-request-id"));
    let r = app
        .send_public(
            multipart(m, "not-a-token", "a.wav", "audio/wav", &wav),
            random_ip(),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{r:?}");

    let viewer = app.register().await;
    app.add_member(&a, a.org_id, &viewer, "viewer").await;
    let r = app
        .send_public(
            multipart(m, &viewer.access, "a.wav", "audio/wav", &wav),
            random_ip(),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{r:?}");

    let outsider = app.register().await;
    let r = app
        .send_public(
            multipart(m, &outsider.access, "a.wav", "audio/wav", &wav),
            random_ip(),
        )
        .await;
    assert_eq!(
        (r.status, &r.body),
        (
            StatusCode::NOT_FOUND,
            &serde_json::json!({"detail": "No Meeting matches the given query."})
        )
    );

    let mut malformed = multipart(m, &a.access, "a.wav", "audio/wav", &wav);
    *malformed.uri_mut() = "/api/meetings/not-a-uuid/recordings/upload/"
        .parse()
        .expect("uri");
    let r = app.send_public(malformed, random_ip()).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{r:?}");

    let mut get = multipart(m, &a.access, "a.wav", "audio/wav", &wav);
    *get.method_mut() = Method::GET;
    let r = app.send_public(get, random_ip()).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{r:?}");

    // The contract's checks and strings, as the function answers them.
    for (filename, content_type, bytes, expected) in [
        (
            "a.txt",
            "audio/wav",
            wav.as_slice(),
            meetin_core::media::invalid_extension(),
        ),
        (
            "a.wav",
            "text/plain",
            wav.as_slice(),
            meetin_core::media::invalid_mime("text/plain"),
        ),
        (
            "a.wav",
            "audio/wav",
            &[][..],
            meetin_core::media::EMPTY.to_owned(),
        ),
    ] {
        let through_function = app
            .send(
                multipart(m, &a.access, filename, content_type, bytes),
                random_ip(),
            )
            .await;
        let through_ingress = app
            .send_public(
                multipart(m, &a.access, filename, content_type, bytes),
                random_ip(),
            )
            .await;
        assert_eq!(
            (
                through_ingress.status,
                through_ingress.body["error"].as_str()
            ),
            (StatusCode::BAD_REQUEST, Some(expected.as_str())),
            "{filename} {content_type}"
        );
        assert_eq!(through_ingress.body, through_function.body);
    }
    let mut no_file = TestApp::request(
        Method::POST,
        &format!("/api/meetings/{m}/recordings/upload/"),
        Some(&Value::Null),
        Some(&a.access),
    );
    no_file.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    let r = app.send_public(no_file, random_ip()).await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some(meetin_recordings::NO_AUDIO))
    );
    assert_eq!(rows_of(&app, m).await, 0);
    assert_eq!(stored_under(&app, m).await, (0, 0));
}

/// A WAV of real speech about `bytes` long: the fixture phrase (8 kHz mono, 4.1 s) repeated.
fn long_speech_wav(bytes: usize) -> Vec<u8> {
    let phrase = meetin_test_support::speech::audio_fixture_bytes("phrase.wav");
    let mut reader = hound::WavReader::new(std::io::Cursor::new(phrase)).expect("phrase.wav");
    let spec = reader.spec();
    let samples: Vec<i16> = reader
        .samples::<i16>()
        .map(|s| s.expect("sample"))
        .collect();
    let mut out = std::io::Cursor::new(Vec::with_capacity(bytes + 64));
    let mut writer = hound::WavWriter::new(&mut out, spec).expect("writer");
    let per_sample = usize::from(spec.bits_per_sample / 8) * usize::from(spec.channels);
    'fill: loop {
        for s in &samples {
            if writer.len() as usize * per_sample >= bytes {
                break 'fill;
            }
            writer.write_sample(*s).expect("write");
        }
    }
    writer.finalize().expect("finalize");
    out.into_inner()
}

/// The peak resident set of process `pid` so far (VmHWM), in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

/// The `live-bridge` binary (make test builds it) on the app's database, bucket and table.
async fn start_bridge(app: &TestApp) -> (tokio::process::Child, u16) {
    let target: std::path::PathBuf = std::env::var("CARGO_TARGET_DIR")
        .map(Into::into)
        .unwrap_or_else(|_| crate::helpers::repo_root().join("target"));
    let port = meetin_test_support::stack::free_port().expect("port");
    let child = tokio::process::Command::new(target.join("debug/live-bridge"))
        .envs(&app.settings)
        .env("DATABASE_URL", &app.settings["TEST_DATABASE_URL"])
        .env("PORT", port.to_string())
        .env("RUST_LOG", "warn")
        .kill_on_drop(true)
        .spawn()
        .expect("start live-bridge (make test builds it: cargo build -p live-bridge)");
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if let Ok(r) = client
            .get(format!("http://127.0.0.1:{port}/health"))
            .send()
            .await
            && r.status() == StatusCode::OK
        {
            return (child, port);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("live-bridge did not answer /health in 20 s");
}

#[tokio::test]
async fn a_100_mb_recording_streams_through_the_service_in_bounded_memory_and_is_transcribed() {
    let (app, queue) = crate::recordings::app_with_own_queue().await;
    let a = app.register().await;
    let m = meeting(&app, &a).await;
    let (bridge, port) = start_bridge(&app).await;
    let pid = bridge.id().expect("pid");
    let idle_kib = peak_rss_kib(pid);

    // About 100 MB of speech (1 h 44 min at 8 kHz), sent as the frontend sends it.
    let wav = Bytes::from(long_speech_wav(100_000_000));
    let mut body = part_head("all-hands.wav", "audio/wav");
    body.extend_from_slice(&wav);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    let length = body.len();
    let body = Bytes::from(body);
    let chunks: Vec<Result<http_body::Frame<Bytes>, std::io::Error>> = (0..length)
        .step_by(64 * 1024)
        .map(|at| {
            Ok(http_body::Frame::data(
                body.slice(at..(at + 64 * 1024).min(length)),
            ))
        })
        .collect();
    let r = reqwest::Client::new()
        .post(format!(
            "http://127.0.0.1:{port}/api/meetings/{m}/recordings/upload/"
        ))
        .bearer_auth(&a.access)
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .header(header::CONTENT_LENGTH, length)
        .body(reqwest::Body::wrap(http_body_util::StreamBody::new(
            futures_util::stream::iter(chunks),
        )))
        .send()
        .await
        .expect("upload");
    assert_eq!(r.status(), StatusCode::CREATED);
    let recording: Value = r.json().await.expect("JSON");
    assert_eq!(recording["size_bytes"].as_u64(), Some(wav.len() as u64));

    // Its memory stayed far below the upload: one 8 MiB part and the parser's buffers.
    let peak_kib = peak_rss_kib(pid);
    println!("live-bridge peak RSS {peak_kib} KiB (idle {idle_kib} KiB) for {length} bytes");
    assert!(
        peak_kib < 96 * 1024,
        "live-bridge peaked at {peak_kib} KiB (idle {idle_kib} KiB) for a {} MB upload",
        length / 1_000_000
    );
    drop(bridge);

    // The stored recording is transcribed like any other, in windows of 10 minutes taken by
    // the stack's poller (Deepgram's fake fetches each).
    let deepgram = meetin_test_support::fake_deepgram::FakeDeepgram::start()
        .await
        .expect("fake Deepgram");
    let worker = app.worker(&deepgram, &deepgram.api_key).await;
    let _poller = crate::transcription::start_poller(&app, worker, &queue);
    let id: Uuid = recording["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("id");
    let job = crate::transcription::job_for(&app, id).await;
    app.uploads.jobs.send(&job).await.expect("queued");
    let transcript = crate::transcription::transcript_within(&app, &a, m, 600).await;
    let windows = app
        .count(
            "SELECT count(*) FROM recording_windows WHERE recording_id = $1",
            id,
        )
        .await;
    assert_eq!(windows, 11, "1 h 44 min in windows of about 10 min");
    assert_eq!(
        transcript["segments"].as_array().map(Vec::len),
        Some(11),
        "the fake's phrase once per window: {transcript}"
    );
    let status: String = sqlx::query_scalar("SELECT status FROM recordings WHERE id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .expect("status");
    assert_eq!(status, "ready");
}

#[tokio::test]
async fn uploads_past_the_tasks_limit_are_answered_503_at_once_and_stored_after() {
    // GIVEN a task that streams one upload at a time, with one in progress
    let app = TestApp::spawn_with(&[("MAX_CONCURRENT_UPLOADS", "1")]).await;
    let a = app.register().await;
    let m = meeting(&app, &a).await;
    let wav = sine_wav(2_000, 16_000);
    let (slow, sender) = streamed(m, &a.access, None);
    let first = app.send_public(slow, random_ip());
    let second = async {
        sender
            .send(Ok(Bytes::from(part_head("slow.wav", "audio/wav"))))
            .await
            .expect("head");
        sender
            .send(Ok(Bytes::copy_from_slice(&wav[..1024])))
            .await
            .expect("first KiB");
        // WHEN another upload comes meanwhile
        let mut busy = multipart(m, &a.access, "busy.wav", "audio/wav", &wav);
        busy.headers_mut().insert(
            header::ORIGIN,
            http::HeaderValue::from_static("http://localhost:3000"),
        );
        let r = app.send_public(busy, random_ip()).await;
        // (the first one then finishes)
        sender
            .send(Ok(Bytes::copy_from_slice(&wav[1024..])))
            .await
            .expect("rest");
        sender
            .send(Ok(Bytes::from(format!("\r\n--{BOUNDARY}--\r\n"))))
            .await
            .expect("end");
        drop(sender);
        r
    };
    let (first, busy) = tokio::join!(first, second);

    // THEN it is answered 503 at once, readable by the page, and nothing of it is stored
    assert_eq!(busy.status, StatusCode::SERVICE_UNAVAILABLE, "{busy:?}");
    assert_eq!(
        busy.body,
        serde_json::json!({"error": "Too many uploads are in progress. Please try again in a few seconds."})
    );
    assert_eq!(busy.headers[header::RETRY_AFTER], "5");
    assert_eq!(
        busy.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "http://localhost:3000"
    );
    assert_eq!(first.status, StatusCode::CREATED, "{first:?}");
    assert_eq!(rows_of(&app, m).await, 1, "the first one only");
    // AND once the first is done, the next one is taken
    let r = app
        .send_public(
            multipart(m, &a.access, "later.wav", "audio/wav", &wav),
            random_ip(),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    assert_eq!(rows_of(&app, m).await, 2);
}
