//! Recordings becoming transcripts: the recording worker against the fake Deepgram (which
//! really fetches the presigned S3 URL), through the local stack's SQS poller or its handler
//! directly; `transcribe/`'s bounded wait; the transcript read; idempotency on redelivery;
//! poison and retried messages as batch item failures; tenant isolation of the routes.

use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use http::{Method, StatusCode};
use lambda_runtime::LambdaEvent;
use meetin_messages::jobs::{JobMessage, LanguagePreference, TranscribeRecording};
use meetin_test_support::fake_deepgram::{DEFAULT_KEY, FakeDeepgram, sha256_hex, sine_wav};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use uuid::Uuid;

use crate::helpers::{Account, TestApp, random_ip, unique};
use crate::meetings::team;
use crate::recordings::{
    app_with_own_queue, initiate, meeting, multipart, put, set_language, status_of,
};

/// Runs the local stack's poller for `worker` on `queue` until the guard is dropped.
pub(crate) struct Poller(Option<oneshot::Sender<()>>);

impl Drop for Poller {
    fn drop(&mut self) {
        if let Some(stop) = self.0.take() {
            let _ = stop.send(());
        }
    }
}

pub(crate) fn start_poller(app: &TestApp, worker: recording_worker::Worker, queue: &str) -> Poller {
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(meetin_local::workers::poll(
        "recording-worker",
        app.uploads.jobs.sqs().clone(),
        queue.to_owned(),
        move |event| {
            let worker = worker.clone();
            async move { meetin_worker::handle_batch(event, &worker).await }
        },
        async move {
            let _ = stopped.await;
        },
    ));
    Poller(Some(stop))
}

/// An SQS record as Lambda delivers it.
pub(crate) fn record(id: &str, body: &str, receive: u32) -> SqsMessage {
    let mut m = SqsMessage::default();
    m.message_id = Some(id.to_owned());
    m.body = Some(body.to_owned());
    m.attributes
        .insert("ApproximateReceiveCount".into(), receive.to_string());
    m
}

pub(crate) async fn handle(
    worker: &recording_worker::Worker,
    records: Vec<SqsMessage>,
) -> SqsBatchResponse {
    let mut event = SqsEvent::default();
    event.records = records;
    meetin_worker::handle_batch(LambdaEvent::new(event, Default::default()), worker)
        .await
        .expect("the handler answers")
}

pub(crate) fn failures(response: &SqsBatchResponse) -> Vec<String> {
    response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect()
}

/// Uploads a WAV through `upload/`; answers (recording id, its key).
async fn upload_wav(app: &TestApp, who: &Account, meeting: Uuid, wav: &[u8]) -> (Uuid, String) {
    let r = app
        .send(
            multipart(meeting, &who.access, "standup.wav", "audio/wav", wav),
            random_ip(),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    (
        r.body["id"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .expect("id"),
        r.body["storage_key"].as_str().expect("key").to_owned(),
    )
}

/// The job `complete` would queue for a recording.
pub(crate) async fn job_for(app: &TestApp, recording: Uuid) -> TranscribeRecording {
    let (meeting, org, key): (Uuid, Uuid, String) = sqlx::query_as(
        "SELECT r.meeting_id, m.organization_id, r.storage_key FROM recordings r \
         JOIN meetings m ON m.id = r.meeting_id WHERE r.id = $1",
    )
    .bind(recording)
    .fetch_one(&app.pool)
    .await
    .expect("recording");
    TranscribeRecording {
        recording_id: recording,
        meeting_id: meeting,
        organization_id: org,
        bucket: app.uploads.bucket.clone(),
        key,
        language: LanguagePreference::Auto,
        window: None,
    }
}

async fn transcripts_of(app: &TestApp, recording: Uuid) -> i64 {
    app.count(
        "SELECT count(*) FROM transcripts WHERE recording_id = $1",
        recording,
    )
    .await
}

/// Reads the transcript until it has segments (the worker runs beside the test).
pub(crate) async fn transcript_when_ready(app: &TestApp, who: &Account, meeting: Uuid) -> Value {
    transcript_within(app, who, meeting, 120).await
}

/// [`transcript_when_ready`] waiting up to `seconds` (long recordings, in windows, beside the
/// whole suite on 2 cores).
pub(crate) async fn transcript_within(
    app: &TestApp,
    who: &Account,
    meeting: Uuid,
    seconds: u32,
) -> Value {
    let path = format!("/api/transcription/meetings/{meeting}/transcript/");
    // A bound, not a timing: Whisper on a loaded 2-core machine can take a while. Once a
    // second keeps the polls (60 a minute) under the per-user limit of 120.
    for _ in 0..seconds {
        let r = app.get(&path, &who.access).await;
        assert_eq!(r.status, StatusCode::OK, "{r:?}");
        if r.body["segments"].as_array().is_some_and(|s| !s.is_empty()) {
            return r.body;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    panic!("no transcript after {seconds} s");
}

#[tokio::test]
async fn presigned_upload_is_transcribed_by_the_worker_and_read_back() {
    // GIVEN the stack's worker polling the app's own queue, and a fake Deepgram that "hears"
    // two speakers in this WAV
    let (app, queue) = app_with_own_queue().await;
    let deepgram = FakeDeepgram::start().await.expect("fake Deepgram");
    let _poller = start_poller(&app, app.worker(&deepgram, DEFAULT_KEY).await, &queue);
    let a = app.register().await;
    let m = meeting(&app, &a).await;
    let wav = sine_wav(3_000, 16_000);
    deepgram.register_transcript_in(
        sha256_hex(&wav),
        "fr",
        [
            (0, "Bonjour à tous, on commence."),
            (1, "Merci, je présente le budget."),
        ],
    );

    // WHEN the file goes up through a presigned PUT and is completed
    let (id, url, _) = initiate(
        &app,
        &a,
        m,
        json!({"filename": "standup.wav", "content_type": "audio/wav", "size_bytes": wav.len()}),
    )
    .await;
    put(&url, "audio/wav", wav.clone()).await;
    let r = app
        .post(
            &format!("/api/recordings/{id}/complete/"),
            json!({}),
            Some(&a.access),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");

    // THEN the transcript is readable, in the contract's shape, segments by start
    let t = transcript_when_ready(&app, &a, m).await;
    assert_eq!(t["meeting"], json!(m));
    assert_eq!(t["recording"], json!(id));
    assert_eq!(t["live_session"], Value::Null);
    assert_eq!(t["provider"], "deepgram");
    assert_eq!(t["language_detected"], "fr", "read from the channel");
    let segments = t["segments"].as_array().expect("segments");
    let texts: Vec<&str> = segments.iter().filter_map(|s| s["text"].as_str()).collect();
    assert_eq!(
        texts,
        [
            "Bonjour à tous, on commence.",
            "Merci, je présente le budget."
        ]
    );
    let labels: Vec<&str> = segments
        .iter()
        .filter_map(|s| s["speaker_label"].as_str())
        .collect();
    assert_eq!(labels, ["Speaker 0", "Speaker 1"]);
    let mut last_start = -1;
    for s in segments {
        let (start, end) = (
            s["start_ms"].as_i64().expect("start"),
            s["end_ms"].as_i64().expect("end"),
        );
        assert!(start >= last_start && end >= start && end <= 3_000, "{s}");
        last_start = start;
        assert_eq!(s["is_final"], true);
        assert!(s["speaker"].as_str().is_some(), "{s}");
        assert_eq!(s["speaker_label_raw"], s["speaker_label"]);
        assert!(
            s["confidence"]
                .as_f64()
                .is_some_and(|c| (0.0..=1.0).contains(&c))
        );
        for key in ["id", "speaker_display_name", "created_at"] {
            assert!(s.get(key).is_some(), "{key} missing in {s}");
        }
    }
    // AND the recording is ready with the audio's duration, and the meeting lists the speakers
    assert_eq!(status_of(&app, id).await, "ready");
    let r = app.get(&format!("/api/meetings/{m}/"), &a.access).await;
    let rec = &r.body["recordings"][0];
    assert_eq!(
        (rec["status"].as_str(), rec["duration_ms"].as_i64()),
        (Some("ready"), Some(3_000))
    );
    let speakers: Vec<&str> = r.body["speakers"]
        .as_array()
        .expect("speakers")
        .iter()
        .filter_map(|s| s["label"].as_str())
        .collect();
    assert_eq!(speakers, ["Speaker 0", "Speaker 1"]);

    // AND Deepgram was asked as documented: a presigned URL of the object, the features,
    // language detection for an `auto` meeting, the key as a Token
    let requests = deepgram.requests();
    assert_eq!(requests.len(), 1);
    let q = &requests[0];
    assert_eq!((q.method.as_str(), q.path.as_str()), ("POST", "/v1/listen"));
    assert_eq!(q.authorization.as_deref(), Some("Token fake-deepgram-key"));
    for (name, value) in [
        ("model", "nova-3"),
        ("diarize", "true"),
        ("utterances", "true"),
        ("punctuate", "true"),
        ("smart_format", "true"),
        ("detect_language", "true"),
    ] {
        assert_eq!(q.query_value(name), Some(value), "{name}");
    }
    assert_eq!(q.query_value("language"), None);
    let audio_url = q.json()["url"].as_str().expect("url").to_owned();
    assert!(audio_url.contains("X-Amz-Signature="), "a presigned GET");
}

#[tokio::test]
async fn direct_upload_then_transcribe_answers_the_segments() {
    let (app, queue) = app_with_own_queue().await;
    let deepgram = FakeDeepgram::start().await.expect("fake Deepgram");
    let _poller = start_poller(&app, app.worker(&deepgram, DEFAULT_KEY).await, &queue);
    let a = app.register().await;
    let m = meeting(&app, &a).await;
    // An English meeting: Deepgram gets `language=en`.
    set_language(&app, &a, m, "en").await;
    let wav = sine_wav(2_000, 16_000);
    deepgram.register_transcript(
        sha256_hex(&wav),
        [(0, "Hello team."), (1, "Hi, ready to start.")],
    );
    let (id, _) = upload_wav(&app, &a, m, &wav).await;
    assert_eq!(status_of(&app, id).await, "uploaded");

    let path = format!("/api/meetings/{m}/recordings/{id}/transcribe/");
    let r = app.post(&path, json!({}), Some(&a.access)).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["status"], "completed");
    let transcript_id = r.body["transcript_id"]
        .as_str()
        .expect("transcript_id")
        .to_owned();
    let segments = r.body["segments"].as_array().expect("segments");
    assert_eq!(segments.len(), 2);
    assert_eq!(
        segments[0].as_object().map(|o| {
            let mut keys: Vec<&str> = o.keys().map(String::as_str).collect();
            keys.sort_unstable();
            keys
        }),
        Some(vec![
            "confidence",
            "end_ms",
            "id",
            "is_final",
            "speaker_display_name",
            "speaker_label",
            "start_ms",
            "text"
        ])
    );
    assert_eq!(segments[0]["text"], "Hello team.");
    assert_eq!(segments[1]["speaker_label"], "Speaker 1");
    assert_eq!(deepgram.requests()[0].query_value("language"), Some("en"));

    // A renamed speaker shows by name; transcribing again answers the same transcript and
    // asks Deepgram nothing more.
    let r = app
        .patch(
            &format!("/api/meetings/{m}/speakers/Speaker%201/"),
            json!({"display_name": "Bea"}),
            &a.access,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let r = app.post(&path, json!({}), Some(&a.access)).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["transcript_id"], json!(transcript_id));
    assert_eq!(r.body["segments"][1]["speaker_display_name"], "Bea");
    assert_eq!(transcripts_of(&app, id).await, 1);
    assert_eq!(deepgram.requests().len(), 1);
}

#[tokio::test]
async fn transcribe_waits_a_bounded_time_and_refuses_what_cannot_be_transcribed() {
    // No worker runs and the wait is 0 s: the job stays queued.
    let (app, _queue) = app_with_own_queue().await;
    let app = TestApp::spawn_with(&[
        (
            "TRANSCRIPTION_QUEUE_URL",
            app.settings["TRANSCRIPTION_QUEUE_URL"].as_str(),
        ),
        ("TRANSCRIBE_WAIT_SECONDS", "0"),
    ])
    .await;
    let a = app.register().await;
    let m = meeting(&app, &a).await;
    let (id, _) = upload_wav(&app, &a, m, &sine_wav(500, 8_000)).await;
    let r = app
        .post(
            &format!("/api/meetings/{m}/recordings/{id}/transcribe/"),
            json!({}),
            Some(&a.access),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{r:?}");
    assert_eq!(r.body["status"], "processing");
    assert_eq!(r.body["recording_id"], json!(id));

    // A recording whose file never arrived
    let (created, _, _) = initiate(&app, &a, m, json!({})).await;
    let r = app
        .post(
            &format!("/api/meetings/{m}/recordings/{created}/transcribe/"),
            json!({}),
            Some(&a.access),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{r:?}");
    assert_eq!(r.body, json!({"error": meetings::transcribe::NOT_UPLOADED}));
    assert_eq!(status_of(&app, created).await, "created");

    // Another meeting's recording, and ids that are not ids
    let other = meeting(&app, &a).await;
    let r = app
        .post(
            &format!("/api/meetings/{other}/recordings/{id}/transcribe/"),
            json!({}),
            Some(&a.access),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{r:?}");
    assert_eq!(
        r.body,
        json!({"detail": "No Recording matches the given query."})
    );
    let r = app
        .post(
            &format!("/api/meetings/{m}/recordings/nope/transcribe/"),
            json!({}),
            Some(&a.access),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{r:?}");
}

#[tokio::test]
async fn a_redelivered_job_creates_one_transcript() {
    let app = TestApp::spawn().await;
    let deepgram = FakeDeepgram::start().await.expect("fake Deepgram");
    let worker = app.worker(&deepgram, DEFAULT_KEY).await;
    let a = app.register().await;
    let m = meeting(&app, &a).await;
    let (id, _) = upload_wav(&app, &a, m, &sine_wav(1_000, 16_000)).await;
    let body = job_for(&app, id).await.to_body();

    let first = handle(&worker, vec![record("m-1", &body, 1)]).await;
    assert!(failures(&first).is_empty());
    // The same message again (SQS delivers at least once), and a duplicate job
    let again = handle(
        &worker,
        vec![record("m-1", &body, 2), record("m-2", &body, 1)],
    )
    .await;
    assert!(failures(&again).is_empty());

    assert_eq!(transcripts_of(&app, id).await, 1);
    assert_eq!(
        app.count(
            "SELECT count(*) FROM transcript_segments s JOIN transcripts t ON t.id = s.transcript_id \
             WHERE t.recording_id = $1",
            id
        )
        .await,
        1,
        "the fixed phrase, once"
    );
    assert_eq!(
        deepgram.requests().len(),
        1,
        "a ready recording is not sent again"
    );
    assert_eq!(status_of(&app, id).await, "ready");
}

#[tokio::test]
async fn a_poison_message_is_a_batch_item_failure_and_fails_only_itself() {
    let app = TestApp::spawn().await;
    let deepgram = FakeDeepgram::start().await.expect("fake Deepgram");
    let worker = app.worker(&deepgram, DEFAULT_KEY).await;
    let a = app.register().await;
    let m = meeting(&app, &a).await;
    let (id, _) = upload_wav(&app, &a, m, &sine_wav(1_000, 16_000)).await;
    let good = job_for(&app, id).await.to_body();
    let mut wrong_version: Value = serde_json::from_str(&good).expect("json");
    wrong_version["version"] = json!(2);

    let response = handle(
        &worker,
        vec![
            record("poison-1", "not a job", 1),
            record("good", &good, 1),
            record("poison-2", &wrong_version.to_string(), 1),
            record("poison-3", r#"{"type":"generate_minutes","version":1}"#, 1),
        ],
    )
    .await;
    assert_eq!(failures(&response), ["poison-1", "poison-2", "poison-3"]);
    assert_eq!(status_of(&app, id).await, "ready");
}

#[tokio::test]
async fn a_poison_message_reaches_the_dead_letter_queue_after_three_receives() {
    let (app, queue) = app_with_own_queue().await;
    let deepgram = FakeDeepgram::start().await.expect("fake Deepgram");
    let _poller = start_poller(&app, app.worker(&deepgram, DEFAULT_KEY).await, &queue);
    let sqs = app.uploads.jobs.sqs();
    sqs.send_message()
        .queue_url(&queue)
        .message_body("not a job")
        .send()
        .await
        .expect("send");
    let dlq = format!("{queue}-dlq");
    for _ in 0..60 {
        let out = sqs
            .receive_message()
            .queue_url(&dlq)
            .wait_time_seconds(1)
            .send()
            .await
            .expect("receive");
        if let Some(m) = out.messages.unwrap_or_default().first() {
            assert_eq!(m.body(), Some("not a job"));
            return;
        }
    }
    panic!("the poison message never reached {dlq}");
}

#[tokio::test]
async fn deepgram_refusals_fail_at_once_and_outages_are_retried_then_given_up() {
    let app = TestApp::spawn().await;
    let deepgram = FakeDeepgram::start().await.expect("fake Deepgram");
    let worker = app.worker(&deepgram, DEFAULT_KEY).await;
    let a = app.register().await;
    let m = meeting(&app, &a).await;

    // A 503 is retried (a batch item failure; the recording stays processing), then succeeds.
    let (id, _) = upload_wav(&app, &a, m, &sine_wav(1_000, 16_000)).await;
    let body = job_for(&app, id).await.to_body();
    deepgram.fail_next(1, 503);
    let r = handle(&worker, vec![record("r", &body, 1)]).await;
    assert_eq!(failures(&r), ["r"]);
    assert_eq!(status_of(&app, id).await, "processing");
    // A second job for it (first delivery) leaves it to the run that holds it.
    let asked = deepgram.requests().len();
    let r = handle(&worker, vec![record("dup", &body, 1)]).await;
    assert!(failures(&r).is_empty());
    assert_eq!(deepgram.requests().len(), asked, "no second Deepgram call");
    assert_eq!(status_of(&app, id).await, "processing");
    // The same message redelivered takes it on.
    let r = handle(&worker, vec![record("r", &body, 2)]).await;
    assert!(failures(&r).is_empty());
    assert_eq!(status_of(&app, id).await, "ready");

    // A 429 on the last receive fails the recording for good, with the reason.
    let (id, _) = upload_wav(&app, &a, m, &sine_wav(1_000, 16_000)).await;
    let body = job_for(&app, id).await.to_body();
    deepgram.fail_next(1, 429);
    let r = handle(&worker, vec![record("r", &body, 3)]).await;
    assert!(failures(&r).is_empty(), "nothing left to retry");
    assert_eq!(status_of(&app, id).await, "failed");
    let reason: String = sqlx::query_scalar("SELECT failure_reason FROM recordings WHERE id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .expect("reason");
    assert!(
        reason.contains("429") && reason.contains("gave up after 3 attempts"),
        "{reason}"
    );

    // A refusal (a wrong key: 401) fails at once, on the first receive.
    let wrong_key = app.worker(&deepgram, "not-the-key").await;
    let (id, _) = upload_wav(&app, &a, m, &sine_wav(1_000, 16_000)).await;
    let body = job_for(&app, id).await.to_body();
    let r = handle(&wrong_key, vec![record("r", &body, 1)]).await;
    assert!(failures(&r).is_empty());
    assert_eq!(status_of(&app, id).await, "failed");
    assert_eq!(transcripts_of(&app, id).await, 0);

    // transcribe/ on a failed recording queues it again and waits; when it fails again during
    // the wait (set here as the worker would), the answer is the contract's 500.
    sqlx::query("UPDATE recordings SET status = 'failed' WHERE id = $1")
        .bind(id)
        .execute(&app.pool)
        .await
        .expect("fail");
    let quick = TestApp::spawn_with(&[("TRANSCRIBE_WAIT_SECONDS", "1")]).await;
    let path = format!("/api/meetings/{m}/recordings/{id}/transcribe/");
    let pool = app.pool.clone();
    let failer = tokio::spawn(async move {
        // The worker's refusal, arriving while transcribe/ waits.
        tokio::time::sleep(Duration::from_millis(300)).await;
        sqlx::query("UPDATE recordings SET status = 'failed' WHERE id = $1")
            .bind(id)
            .execute(&pool)
            .await
            .expect("fail");
    });
    let r = quick.post(&path, json!({}), Some(&a.access)).await;
    failer.await.expect("failer");
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{r:?}");
    assert_eq!(
        r.body,
        json!({"error": "Transcription failed. Please try again."})
    );
}

#[tokio::test]
async fn the_transcript_read_without_a_transcript_and_for_outsiders() {
    let app = TestApp::spawn().await;
    let a = app.register().await;
    let m = meeting(&app, &a).await;
    let path = format!("/api/transcription/meetings/{m}/transcript/");
    let r = app.get(&path, &a.access).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(
        r.body,
        json!({"segments": [], "message": "No transcript available"})
    );
    let outsider = app.register().await;
    let r = app.get(&path, &outsider.access).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{r:?}");
    assert_eq!(
        r.body,
        json!({"detail": "No Meeting matches the given query."})
    );
    let r = app
        .get(
            &format!("/api/transcription/meetings/{}/transcript/", unique("x")),
            &a.access,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{r:?}");
}

/// The recording and transcript routes × {admin, member, viewer, outsider, anonymous}.
#[tokio::test]
async fn tenant_isolation_matrix_of_recordings_and_transcripts() {
    let (app, queue) = app_with_own_queue().await;
    let deepgram = FakeDeepgram::start().await.expect("fake Deepgram");
    let _poller = start_poller(&app, app.worker(&deepgram, DEFAULT_KEY).await, &queue);
    let t = team(&app).await;
    let callers: [(&str, Option<&str>); 5] = [
        ("admin", Some(&t.admin.access)),
        ("member", Some(&t.member.access)),
        ("viewer", Some(&t.viewer.access)),
        ("outsider", Some(&t.outsider.access)),
        ("anonymous", None),
    ];
    use StatusCode as S;
    let (ok, nf, fb, ua) = (S::OK, S::NOT_FOUND, S::FORBIDDEN, S::UNAUTHORIZED);
    let m = meeting(&app, &t.admin).await;
    let wav = sine_wav(500, 8_000);
    for (i, (who, token)) in callers.iter().enumerate() {
        // Fresh recordings per caller: one uploaded directly, two initiated and PUT.
        let (uploaded, _) = upload_wav(&app, &t.admin, m, &wav).await;
        let mut initiated = Vec::new();
        for _ in 0..2 {
            let (id, url, _) = initiate(
                &app,
                &t.admin,
                m,
                json!({"filename": "a.wav", "content_type": "audio/wav", "size_bytes": wav.len()}),
            )
            .await;
            put(&url, "audio/wav", wav.clone()).await;
            initiated.push(id);
        }
        let routes: Vec<(Method, String, [S; 5])> = vec![
            (
                Method::POST,
                format!("/api/meetings/{m}/recordings/initiate/"),
                [ok, ok, fb, nf, ua],
            ),
            (
                Method::POST,
                format!("/api/recordings/{}/complete/", initiated[0]),
                [ok, ok, fb, nf, ua],
            ),
            (
                Method::POST,
                format!("/api/meetings/recordings/{}/complete/", initiated[1]),
                [ok, ok, fb, nf, ua],
            ),
            (
                Method::POST,
                format!("/api/meetings/{m}/recordings/{uploaded}/transcribe/"),
                [ok, ok, fb, nf, ua],
            ),
            (
                Method::GET,
                format!("/api/transcription/meetings/{m}/transcript/"),
                [ok, ok, ok, nf, ua],
            ),
        ];
        for (method, path, expected) in routes {
            let r = app
                .call(method.clone(), &path, Some(json!({})), *token)
                .await;
            assert_eq!(r.status, expected[i], "{who} {method} {path}: {r:?}");
        }
        // The multipart upload
        let r = match token {
            Some(token) => {
                app.send(multipart(m, token, "b.wav", "audio/wav", &wav), random_ip())
                    .await
            }
            None => {
                app.call(
                    Method::POST,
                    &format!("/api/meetings/{m}/recordings/upload/"),
                    None,
                    None,
                )
                .await
            }
        };
        let expected = [S::CREATED, S::CREATED, fb, nf, ua][i];
        assert_eq!(r.status, expected, "{who} upload: {r:?}");
    }
    // Nobody outside the organization changed anything: only the writers' recordings exist.
    let recordings = app
        .count("SELECT count(*) FROM recordings WHERE meeting_id = $1", m)
        .await;
    // 3 per caller made by the admin, plus initiate and upload by admin and member.
    assert_eq!(recordings, 5 * 3 + 2 * 2);
}
