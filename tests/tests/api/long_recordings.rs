//! Long recordings transcribed in windows, side by side (issue 18, item 5): the recording's job
//! plans the windows at its silences and queues one job per window; the stack's poller takes
//! them; the last one in merges them into the one transcript. Judged against the same audio
//! transcribed in one piece: words, order, times, speakers; each window stored once; a
//! redelivered job of either kind changes nothing; the window files are gone after the merge.

use http::StatusCode;
use meetin_messages::jobs::JobMessage;
use meetin_test_support::speech::{audio_fixture_bytes, word_error_rate};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{Account, TestApp};
use crate::recordings::{app_with_own_queue, initiate, meeting, put, set_language};
use crate::transcription::{start_poller, transcript_within};

/// Uploads `wav` through a presigned PUT and `complete/` (which queues its job); answers the
/// recording id.
pub(crate) async fn upload_long(app: &TestApp, who: &Account, meeting: Uuid, wav: Vec<u8>) -> Uuid {
    let (id, url, _) = initiate(
        app,
        who,
        meeting,
        json!({"filename": "all-hands.wav", "content_type": "audio/wav", "size_bytes": wav.len()}),
    )
    .await;
    put(&url, "audio/wav", wav).await;
    let r = app
        .post(
            &format!("/api/recordings/{id}/complete/"),
            json!({}),
            Some(&who.access),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    id
}

/// tests/fixtures/audio: meeting.txt, librivox-0870.txt and the phrase (their README).
const SCRIPT: &str = "Good morning everyone. Let's start the weekly planning meeting. \
    Thanks. The new release is ready for testing on Friday. \
    Great. Sarah will update the budget report by Monday. \
    I will send the meeting notes to the whole team today. \
    and mister john dashwood had then leisure to consider how much \
    there might be prudently in his power to do for them \
    Thanks. The new release is ready for testing on Friday.";

/// Real speech at 16 kHz, `cycles` times (34.7 s each): the fixtures (a four-line meeting, a
/// LibriVox reader, a phrase) one after the other, each followed by 1.5 s of silence. Answers
/// the WAV, what is said, and its length in ms.
fn speech_wav(cycles: usize) -> (Vec<u8>, String, i64) {
    let clips: Vec<Vec<f32>> = ["meeting.webm", "librivox-0870.flac", "phrase.flac"]
        .iter()
        .map(|name| meetin_whisper::decode(&audio_fixture_bytes(name)).expect(name))
        .collect();
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut out = std::io::Cursor::new(Vec::new());
    let mut writer = hound::WavWriter::new(&mut out, spec).expect("writer");
    for clip in clips.iter().cycle().take(cycles * clips.len()) {
        for &s in clip.iter().chain(std::iter::repeat_n(&0.0, 24_000)) {
            writer
                .write_sample((s.clamp(-1.0, 1.0) * 32767.0) as i16)
                .expect("write");
        }
    }
    let duration_ms = i64::from(writer.len()) / 16;
    writer.finalize().expect("finalize");
    let said = vec![SCRIPT; cycles].join(" ");
    (out.into_inner(), said, duration_ms)
}

/// The segments' texts joined, and checks every segment lies inside the audio, in order.
fn text_in_order(transcript: &Value, duration_ms: i64) -> String {
    let segments = transcript["segments"].as_array().expect("segments");
    let mut last = (-1, -1);
    let mut text = Vec::new();
    for s in segments {
        let (start, end) = (
            s["start_ms"].as_i64().expect("start"),
            s["end_ms"].as_i64().expect("end"),
        );
        assert!(start <= end && end <= duration_ms, "{s}");
        assert!(
            (start, end) >= last,
            "segments in order: {s} after {last:?}"
        );
        last = (start, end);
        text.push(s["text"].as_str().expect("text").to_owned());
    }
    text.join(" ")
}

async fn rows(app: &TestApp, sql: &'static str, recording: Uuid) -> i64 {
    app.count(sql, recording).await
}

#[tokio::test]
async fn whisper_transcribes_a_long_recording_in_windows_as_in_one_piece() {
    // GIVEN 3 minutes of speech and workers that cut anything over a minute into windows
    let (app, queue) = app_with_own_queue().await;
    let worker = app
        .whisper_worker(&[("TRANSCRIPTION_WINDOW_SECONDS", "60")])
        .await;
    let one_piece = match &worker.engine {
        recording_worker::Engine::Whisper(models) => std::sync::Arc::clone(models.english()),
        other => panic!("{other:?}"),
    };
    let _poller = start_poller(&app, worker, &queue);
    let a = app.register().await;
    let m = meeting(&app, &a).await;
    // An English meeting: tiny.en, the model the one-piece transcription uses.
    set_language(&app, &a, m, "en").await;
    let (wav, said, duration_ms) = speech_wav(5);

    // WHEN it is uploaded and completed
    let id = upload_long(&app, &a, m, wav.clone()).await;

    // THEN its transcript is merged from its windows, in order, inside the audio
    let transcript = transcript_within(&app, &a, m, 600).await;
    let windowed = text_in_order(&transcript, duration_ms);
    assert_eq!(transcript["provider"], "whisper-tiny.en");
    let windows = rows(
        &app,
        "SELECT count(*) FROM recording_windows WHERE recording_id = $1 AND transcription IS NOT NULL",
        id,
    )
    .await;
    assert_eq!(windows, 3, "three windows of about a minute, each stored");
    // AND it is as faithful to what was said as the same engine in one piece (tiny.en's
    // guesses vary with where its 30 s inputs start, so the two differ in a few words)
    let path = std::env::temp_dir().join(format!("meetin-one-piece-{id}.wav"));
    std::fs::write(&path, &wav).expect("write");
    let whole = tokio::task::spawn_blocking({
        let path = path.clone();
        move || one_piece.transcribe_file(&path)
    })
    .await
    .expect("thread")
    .expect("one piece");
    std::fs::remove_file(&path).expect("clean up");
    let whole: Vec<String> = whole.segments.into_iter().map(|s| s.text).collect();
    let whole = whole.join(" ");
    let (wer_windowed, wer_whole) = (
        word_error_rate(&said, &windowed),
        word_error_rate(&said, &whole),
    );
    println!(
        "WER windowed {wer_windowed:.3}, one piece {wer_whole:.3}; windowed vs one piece {:.3}",
        word_error_rate(&whole, &windowed)
    );
    assert!(
        wer_windowed <= 0.12 && wer_windowed <= wer_whole + 0.03,
        "windowed WER {wer_windowed:.3} (one piece {wer_whole:.3}):\n{windowed}\n---\n{whole}"
    );
    // AND the window files are gone
    let listed = app
        .uploads
        .s3
        .list_objects_v2()
        .bucket(&app.uploads.bucket)
        .prefix(format!("windows/{id}/"))
        .send()
        .await
        .expect("list");
    assert_eq!(listed.key_count(), Some(0), "{listed:?}");
}

/// A job body of `job` for window `index`.
fn window_body(job: &meetin_messages::jobs::TranscribeRecording, index: u32) -> String {
    meetin_messages::jobs::TranscribeRecording {
        window: Some(index),
        ..job.clone()
    }
    .to_body()
}

/// (start, end, label, words) of each segment of the transcript of `recording`, by start.
async fn segments_of(app: &TestApp, recording: Uuid) -> Vec<(i32, i32, String, Vec<String>)> {
    let rows: Vec<(i32, i32, String, String)> = sqlx::query_as(
        "SELECT s.start_ms, s.end_ms, sp.label, s.text FROM transcript_segments s \
         JOIN transcripts t ON t.id = s.transcript_id JOIN speakers sp ON sp.id = s.speaker_id \
         WHERE t.recording_id = $1 ORDER BY s.start_ms, s.end_ms",
    )
    .bind(recording)
    .fetch_all(&app.pool)
    .await
    .expect("segments");
    rows.into_iter()
        .map(|(start, end, label, text)| {
            (start, end, label, meetin_test_support::speech::words(&text))
        })
        .collect()
}

/// `(window, transcribed_at)` of each window of `recording`.
async fn windows_of(app: &TestApp, recording: Uuid) -> Vec<(i32, Option<String>)> {
    sqlx::query_as(
        "SELECT window_index, transcribed_at::text FROM recording_windows \
         WHERE recording_id = $1 ORDER BY window_index",
    )
    .bind(recording)
    .fetch_all(&app.pool)
    .await
    .expect("windows")
}

#[tokio::test]
async fn windows_merge_into_the_one_piece_transcript_and_redelivered_jobs_change_nothing() {
    use crate::transcription::{failures, handle, job_for, record};
    use meetin_test_support::fake_deepgram::{DEFAULT_KEY, FakeDeepgram};
    use meetin_test_support::tone_speech;

    // GIVEN 6 minutes of a meeting whose every word, time and voice the fake Deepgram hears
    // exactly (tone speech), a worker cutting it into 1-minute windows and one that does not
    let (app, _queue) = app_with_own_queue().await;
    let deepgram = FakeDeepgram::start().await.expect("fake Deepgram");
    deepgram.recognize_tone_speech(true);
    let windowed = app
        .worker_with(
            &deepgram,
            DEFAULT_KEY,
            &[("TRANSCRIPTION_WINDOW_SECONDS", "60")],
        )
        .await;
    let whole = app.worker(&deepgram, DEFAULT_KEY).await;
    let a = app.register().await;
    let duration_ms = 6 * 60_000;
    let script = tone_speech::script(duration_ms, 18);
    let wav = tone_speech::render_wav(&script, duration_ms);
    let (m1, m2) = (meeting(&app, &a).await, meeting(&app, &a).await);
    let (split_id, whole_id) = (
        upload_long(&app, &a, m1, wav.clone()).await,
        upload_long(&app, &a, m2, wav).await,
    );
    // (Nobody polls the queue: the test delivers each job itself, as SQS would, twice.)
    let job = job_for(&app, whole_id).await;
    assert!(failures(&handle(&whole, vec![record("w", &job.to_body(), 1)]).await).is_empty());
    let one_piece = segments_of(&app, whole_id).await;
    assert_eq!(deepgram.requests().len(), 1);

    // WHEN the recording's job runs: windows planned and queued, nothing transcribed yet
    let job = job_for(&app, split_id).await;
    assert!(failures(&handle(&windowed, vec![record("s", &job.to_body(), 1)]).await).is_empty());
    let planned = windows_of(&app, split_id).await;
    assert!((5..=7).contains(&planned.len()), "{planned:?}");
    let n = u32::try_from(planned.len()).expect("windows");
    assert_eq!(deepgram.requests().len(), 1, "only windows are sent");
    // AND window 0 runs, then runs again (a redelivery): stored once, sent once
    let first = handle(&windowed, vec![record("w0", &window_body(&job, 0), 1)]).await;
    assert!(failures(&first).is_empty());
    let stored = windows_of(&app, split_id).await[0].1.clone();
    assert!(stored.is_some());
    let again = handle(&windowed, vec![record("w0", &window_body(&job, 0), 2)]).await;
    assert!(failures(&again).is_empty());
    assert_eq!(windows_of(&app, split_id).await[0].1, stored, "unchanged");
    assert_eq!(deepgram.requests().len(), 2);
    // AND the recording's job is redelivered: the plan stays, window 0 is not queued again
    let redelivered = handle(&windowed, vec![record("s", &job.to_body(), 2)]).await;
    assert!(failures(&redelivered).is_empty());
    let replanned = windows_of(&app, split_id).await;
    assert_eq!(replanned.len(), planned.len());
    assert_eq!(replanned[0].1, stored);
    // AND the other windows run side by side in one batch, as SQS hands them over
    let batch: Vec<_> = (1..n)
        .map(|i| record(&format!("w{i}"), &window_body(&job, i), 1))
        .collect();
    assert!(failures(&handle(&windowed, batch).await).is_empty());
    assert_eq!(
        deepgram.requests().len(),
        1 + n as usize,
        "each window sent once"
    );

    // THEN the transcript is the one-piece transcript: every word once, in order, at its time,
    // each voice under one label
    let merged = segments_of(&app, split_id).await;
    let words = |segments: &[(i32, i32, String, Vec<String>)]| -> Vec<String> {
        segments.iter().flat_map(|s| s.3.clone()).collect()
    };
    let said: Vec<String> = script.iter().map(|w| w.text().to_owned()).collect();
    assert_eq!(
        words(&one_piece),
        said,
        "the fake hears every word in one piece"
    );
    assert_eq!(
        words(&merged),
        said,
        "every word once, in order, in windows"
    );
    let overlap = 1.0
        - meetin_test_support::speech::word_error_rate(
            &words(&one_piece).join(" "),
            &words(&merged).join(" "),
        );
    assert!(overlap >= 0.98, "word overlap {overlap}");
    let mut last = (0, 0);
    for (start, end, _, _) in &merged {
        assert!((*start, *end) >= last && start <= end && *end <= duration_ms as i32);
        last = (*start, *end);
    }
    // Each segment's voice is one of the script's, and each label is always the same voice.
    let mut voice_of: std::collections::BTreeMap<String, u8> = Default::default();
    for (start, end, label, _) in &merged {
        let voices: Vec<u8> = script
            .iter()
            .filter(|w| w.start_ms + 20 >= *start as u32 && w.end_ms <= *end as u32 + 20)
            .map(|w| w.speaker)
            .collect();
        assert!(
            !voices.is_empty() && voices.iter().all(|v| *v == voices[0]),
            "{start}..{end}: {voices:?}"
        );
        let voice = voice_of.entry(label.clone()).or_insert(voices[0]);
        assert_eq!(*voice, voices[0], "{label} is one voice");
    }
    let distinct: std::collections::BTreeSet<u8> = voice_of.values().copied().collect();
    assert_eq!(
        distinct.len(),
        voice_of.len(),
        "each voice under one label: {voice_of:?}"
    );
    // The very segments of one piece: same utterances, labels, and times within 20 ms.
    assert_eq!(merged.len(), one_piece.len());
    for (w, o) in merged.iter().zip(&one_piece) {
        assert!(
            (w.0 - o.0).abs() <= 20 && (w.1 - o.1).abs() <= 20 && w.2 == o.2 && w.3 == o.3,
            "windowed {w:?} vs one piece {o:?}"
        );
    }
    assert_eq!(status_of_recording(&app, split_id).await, "ready");

    // AND a late redelivery of the last window changes nothing
    let late = handle(
        &windowed,
        vec![record("late", &window_body(&job, n - 1), 2)],
    )
    .await;
    assert!(failures(&late).is_empty());
    assert_eq!(segments_of(&app, split_id).await, merged);
    assert_eq!(
        rows(
            &app,
            "SELECT count(*) FROM transcripts WHERE recording_id = $1",
            split_id
        )
        .await,
        1
    );
    assert_eq!(deepgram.requests().len(), 1 + n as usize);
}

async fn status_of_recording(app: &TestApp, id: Uuid) -> String {
    crate::recordings::status_of(app, id).await
}
