//! Hostile and careless recordings through the API and the recording worker (issue 16): the
//! hostile corpus uploaded and transcribed fails at once with a reason a user can read (never
//! retried, never a paid Deepgram call), a recording past the duration limit fails before
//! transcription, a run that died leaves nothing `processing` for good, and `transcribe/`
//! queues one job however often it is called. This binary runs under a memory cap
//! (main.rs, `memory_cap`).

use http::StatusCode;
use meetin_messages::jobs::JobMessage;
use meetin_test_support::fake_deepgram::{DEFAULT_KEY, FakeDeepgram, sine_wav};
use meetin_test_support::hostile::{Expect, corpus};
use meetin_test_support::speech::audio_fixture_bytes;
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{Account, TestApp};
use crate::recordings::{app_with_own_queue, jobs, meeting, status_of};
use crate::transcription::{failures, handle, job_for, record};
use crate::whisper::{failure_reason, upload};

async fn set_processing_since(app: &TestApp, id: Uuid, minutes_ago: i32, attempts: i32) {
    sqlx::query(
        "UPDATE recordings SET status = 'processing', \
                processing_started_at = now() - make_interval(mins => $2), \
                transcription_attempts = $3 WHERE id = $1",
    )
    .bind(id)
    .bind(minutes_ago)
    .bind(attempts)
    .execute(&app.pool)
    .await
    .expect("set processing");
}

/// The jobs waiting on `queue`.
async fn queued(app: &TestApp, queue: &str) -> usize {
    jobs(app.uploads.jobs.sqs(), queue).await.len()
}

#[tokio::test]
async fn every_refused_hostile_recording_fails_at_once_with_a_reason_and_no_paid_call() {
    let app = TestApp::spawn().await;
    let whisper = app.whisper_worker(&[]).await;
    let deepgram = FakeDeepgram::start().await.expect("fake Deepgram");
    let paid = app.worker(&deepgram, DEFAULT_KEY).await;
    let a = app.register().await;
    let m = meeting(&app, &a).await;
    let refused: Vec<_> = corpus()
        .into_iter()
        .filter(|c| c.expect == Expect::Refused)
        .collect();
    assert!(refused.len() >= 20, "{} cases", refused.len());
    for case in &refused {
        for (engine, worker) in [("whisper", &whisper), ("deepgram", &paid)] {
            let name = format!("{engine}: {}", case.name);
            let (extension, mime) = case.file_type();
            let file = format!("hostile.{extension}");
            let id = upload(&app, &a, m, &file, mime, &case.bytes).await;
            let job = job_for(&app, id).await.to_body();
            // The first receive: failed at once, nothing left for SQS to deliver again.
            let response = handle(worker, vec![record("h", &job, 1)]).await;
            assert_eq!(failures(&response), Vec::<String>::new(), "{name}: retried");
            assert_eq!(status_of(&app, id).await, "failed", "{name}");
            let reason = failure_reason(&app, id).await.expect("a reason");
            assert!(reason.starts_with("the recording"), "{name}: {reason}");
            assert!(!reason.contains("panicked"), "{name}: {reason}");
        }
    }
    assert!(
        deepgram.requests().is_empty(),
        "Deepgram was paid for a hostile file"
    );
}

#[tokio::test]
async fn a_recording_past_the_duration_limit_fails_before_transcription_with_the_limit() {
    let app = TestApp::spawn().await;
    let deepgram = FakeDeepgram::start().await.expect("fake Deepgram");
    let mut paid = app.worker(&deepgram, DEFAULT_KEY).await;
    paid.max_duration_ms = 3_000;
    let whisper = app
        .whisper_worker(&[("MAX_RECORDING_DURATION_SECONDS", "3")])
        .await;
    let a = app.register().await;
    let m = meeting(&app, &a).await;
    for (engine, worker) in [("deepgram", &paid), ("whisper", &whisper)] {
        // The 4.1 s phrase, as a browser's WebM.
        let id = upload(
            &app,
            &a,
            m,
            "long.webm",
            "audio/webm",
            &audio_fixture_bytes("phrase.webm"),
        )
        .await;
        let job = job_for(&app, id).await.to_body();
        let response = handle(worker, vec![record("long", &job, 1)]).await;
        assert!(failures(&response).is_empty(), "{engine}");
        assert_eq!(status_of(&app, id).await, "failed", "{engine}");
        assert_eq!(
            failure_reason(&app, id).await.as_deref(),
            Some("the recording is longer than the 3 seconds allowed"),
            "{engine}"
        );
    }
    assert!(deepgram.requests().is_empty());
    // Under the limit: transcribed as before.
    let id = upload(
        &app,
        &a,
        m,
        "short.wav",
        "audio/wav",
        &sine_wav(1_000, 16_000),
    )
    .await;
    let job = job_for(&app, id).await.to_body();
    handle(&paid, vec![record("short", &job, 1)]).await;
    assert_eq!(status_of(&app, id).await, "ready");
}

#[test]
fn the_duration_limit_setting_is_checked() {
    use meetin_core::{MaxRecordingDuration, Setting};
    let limit = |v: &str| {
        let v = v.to_owned();
        MaxRecordingDuration::from_lookup(&move |name| {
            (name == "MAX_RECORDING_DURATION_SECONDS").then(|| v.clone())
        })
        .map(|d| d.as_ms())
    };
    assert_eq!(limit("").expect("default"), 4 * 3_600_000);
    assert_eq!(limit("90").expect("90 s"), 90_000);
    for bad in ["0", "-1", "86401", "4h", "1.5"] {
        let err = limit(bad).expect_err(bad).to_string();
        assert!(err.contains("MAX_RECORDING_DURATION_SECONDS"), "{err}");
    }
}

#[tokio::test]
async fn a_recording_abandoned_by_a_dead_run_is_taken_again_once_by_transcribe() {
    let (app, queue) = app_with_own_queue().await;
    let quick = TestApp::spawn_with(&[
        ("TRANSCRIPTION_QUEUE_URL", &queue),
        ("TRANSCRIBE_WAIT_SECONDS", "0"),
    ])
    .await;
    let deepgram = FakeDeepgram::start().await.expect("fake Deepgram");
    let worker = app.worker(&deepgram, DEFAULT_KEY).await;
    let a = app.register().await;
    let m = meeting(&app, &a).await;
    let id = upload(&app, &a, m, "s.wav", "audio/wav", &sine_wav(1_000, 16_000)).await;
    // A direct upload queues nothing: the frontend calls transcribe/.
    assert_eq!(queued(&app, &queue).await, 0);
    let path = format!("/api/meetings/{m}/recordings/{id}/transcribe/");

    // A run claimed it 5 minutes ago and is still within the worker's longest run: nothing
    // is queued, however often transcribe/ is called.
    set_processing_since(&app, id, 5, 1).await;
    for _ in 0..3 {
        let r = quick.post(&path, json!({}), Some(&a.access)).await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{r:?}");
    }
    assert_eq!(queued(&app, &queue).await, 0);

    // The run died 20 minutes ago (past the 16-minute limit): ten concurrent transcribe/
    // calls queue it once.
    set_processing_since(&app, id, 20, 1).await;
    let calls = (0..10).map(|_| quick.post(&path, json!({}), Some(&a.access)));
    for r in futures_util::future::join_all(calls).await {
        assert_eq!(r.status, StatusCode::ACCEPTED, "{r:?}");
    }
    assert_eq!(queued(&app, &queue).await, 1, "one job for ten calls");
    assert_eq!(status_of(&app, id).await, "uploaded");
    // The job transcribes it.
    let job = job_for(&app, id).await.to_body();
    let r = handle(&worker, vec![record("again", &job, 1)]).await;
    assert!(failures(&r).is_empty());
    assert_eq!(status_of(&app, id).await, "ready");
}

#[tokio::test]
async fn the_queues_redelivery_takes_an_abandoned_recording_once_and_a_fourth_run_fails_it() {
    let app = TestApp::spawn().await;
    let deepgram = FakeDeepgram::start().await.expect("fake Deepgram");
    let worker = app.worker(&deepgram, DEFAULT_KEY).await;
    let a = app.register().await;
    let m = meeting(&app, &a).await;

    // A first delivery finding it abandoned (claimed 20 minutes ago) takes it on; a second
    // one at the same moment finds it claimed.
    let id = upload(&app, &a, m, "s.wav", "audio/wav", &sine_wav(1_000, 16_000)).await;
    set_processing_since(&app, id, 20, 1).await;
    let job = job_for(&app, id).await.to_body();
    let r = handle(&worker, vec![record("x", &job, 1), record("y", &job, 1)]).await;
    assert!(failures(&r).is_empty());
    assert_eq!(status_of(&app, id).await, "ready");
    assert_eq!(deepgram.requests().len(), 1, "one run, one paid call");

    // Three runs died on it: the next claim fails it, with a reason, without a paid call.
    let id = upload(&app, &a, m, "k.wav", "audio/wav", &sine_wav(1_000, 16_000)).await;
    set_processing_since(&app, id, 20, 3).await;
    let job = job_for(&app, id).await.to_body();
    let r = handle(&worker, vec![record("z", &job, 2)]).await;
    assert!(failures(&r).is_empty());
    assert_eq!(status_of(&app, id).await, "failed");
    let reason = failure_reason(&app, id).await.expect("reason");
    assert!(
        reason.contains("started 3 times and never finished"),
        "{reason}"
    );
    assert_eq!(deepgram.requests().len(), 1);

    // A person asking again starts the count afresh.
    let quick = TestApp::spawn_with(&[("TRANSCRIBE_WAIT_SECONDS", "0")]).await;
    let r = quick
        .post(
            &format!("/api/meetings/{m}/recordings/{id}/transcribe/"),
            json!({}),
            Some(&a.access),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{r:?}");
    let attempts: i32 =
        sqlx::query_scalar("SELECT transcription_attempts FROM recordings WHERE id = $1")
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .expect("attempts");
    assert_eq!(attempts, 0);
}

#[tokio::test]
async fn transcribe_called_many_times_on_an_uploaded_recording_queues_one_job() {
    let (_, queue) = app_with_own_queue().await;
    let quick = TestApp::spawn_with(&[
        ("TRANSCRIPTION_QUEUE_URL", &queue),
        ("TRANSCRIBE_WAIT_SECONDS", "0"),
    ])
    .await;
    let a: Account = quick.register().await;
    let m = meeting(&quick, &a).await;
    let id = upload(
        &quick,
        &a,
        m,
        "s.wav",
        "audio/wav",
        &sine_wav(1_000, 16_000),
    )
    .await;
    let path = format!("/api/meetings/{m}/recordings/{id}/transcribe/");
    let calls = (0..20).map(|_| quick.post(&path, json!({}), Some(&a.access)));
    for r in futures_util::future::join_all(calls).await {
        assert_eq!(r.status, StatusCode::ACCEPTED, "{r:?}");
    }
    assert_eq!(queued(&quick, &queue).await, 1, "one job for twenty calls");
}
