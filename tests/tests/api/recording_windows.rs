//! The windows of a long recording in the database (issue 18; migration 0008): planned once,
//! each transcription stored once (a redelivered window job changes nothing), handed back
//! whole only when the last is in.

use meetin_data::windows;
use meetin_messages::transcript::windows::{Window, merge, plan};
use meetin_messages::transcript::{Segment, Transcription};
use meetin_test_support::fake_deepgram::sine_wav;

use crate::helpers::{TestApp, random_ip};
use crate::recordings::{meeting, multipart};

/// What an engine might hear in `window`: one utterance in the middle of its own span.
fn heard(window: &Window, text: &str) -> Transcription {
    let middle = (window.keep_from_ms + window.keep_to_ms) / 2 - window.start_ms;
    let start = i32::try_from(middle).expect("ms");
    Transcription {
        language_detected: Some("en".into()),
        duration_ms: window.end_ms - window.start_ms,
        segments: vec![Segment {
            start_ms: start,
            end_ms: start + 2000,
            speaker_label: "Speaker 0".into(),
            text: text.into(),
            confidence: Some(0.9),
        }],
    }
}

#[tokio::test]
async fn windows_are_planned_once_stored_once_and_handed_back_when_all_are_in() {
    let app = TestApp::spawn().await;
    let a = app.register().await;
    let m = meeting(&app, &a).await;
    let r = app
        .send(
            multipart(m, &a.access, "long.wav", "audio/wav", &sine_wav(200, 8000)),
            random_ip(),
        )
        .await;
    let recording: uuid::Uuid = r.body["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("id");
    let duration_ms = 30 * 60_000;
    let planned = plan(duration_ms, 10 * 60_000, 5_000, 30_000, |from, to| {
        (from + to) / 2
    });
    assert_eq!(planned.len(), 3);

    assert_eq!(
        windows::plan(&app.pool, recording, &planned)
            .await
            .expect("plan"),
        3
    );
    // Planned again (a redelivered job): nothing new.
    assert_eq!(
        windows::plan(&app.pool, recording, &planned)
            .await
            .expect("again"),
        0
    );

    let mut conn = app.pool.acquire().await.expect("connection");
    assert!(
        windows::all_transcribed(&mut conn, recording)
            .await
            .expect("read")
            .is_none()
    );
    for w in &planned[..2] {
        let stored = windows::store(
            &app.pool,
            recording,
            w.index,
            &heard(w, &format!("window {}", w.index)),
        )
        .await
        .expect("store");
        assert!(stored);
    }
    assert!(
        windows::all_transcribed(&mut conn, recording)
            .await
            .expect("read")
            .is_none(),
        "one window is missing"
    );
    let last = planned[2];
    assert!(
        windows::store(&app.pool, recording, 2, &heard(&last, "window 2"))
            .await
            .expect("store")
    );
    // A redelivered window job stores nothing over what is there.
    assert!(
        !windows::store(&app.pool, recording, 2, &heard(&last, "again"))
            .await
            .expect("again")
    );

    let parts = windows::all_transcribed(&mut conn, recording)
        .await
        .expect("read")
        .expect("all in");
    assert_eq!(parts.iter().map(|(w, _)| *w).collect::<Vec<_>>(), planned);
    let merged = merge(duration_ms, parts);
    let texts: Vec<&str> = merged.segments.iter().map(|s| s.text.as_str()).collect();
    assert_eq!(texts, ["window 0", "window 1", "window 2"]);

    // They go with their recording.
    drop(conn);
    sqlx::query("DELETE FROM recordings WHERE id = $1")
        .bind(recording)
        .execute(&app.pool)
        .await
        .expect("delete");
    assert_eq!(
        app.count(
            "SELECT count(*) FROM recording_windows WHERE recording_id = $1",
            recording
        )
        .await,
        0
    );
}
