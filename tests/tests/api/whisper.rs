//! Recordings transcribed by the embedded Whisper engine (`TRANSCRIPTION_PROVIDER=whisper`, the
//! model `infra/local/whisper-model.sh` provisions): real speech through upload → worker →
//! transcript, judged by its word error rate, timestamps in order and inside the audio; bad
//! audio as a `failed` recording with a clear reason, or an empty transcript; a French
//! meeting transcribed in French by the multilingual model; the engine choice and a missing
//! model at start.

use std::io::Cursor;

use http::StatusCode;
use meetin_messages::jobs::{JobMessage, LanguagePreference};
use meetin_test_support::speech::{audio_fixture_bytes, word_error_rate, word_overlap};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{Account, TestApp, random_ip};
use crate::recordings::{
    app_with_own_queue, initiate, meeting, multipart, put, set_language, status_of,
};
use crate::transcription::{
    failures, handle, job_for, record, start_poller, transcript_when_ready,
};

/// tests/fixtures/audio/librivox-0870.txt, a LibriVox reader (pocketsphinx-testdata).
const LIBRIVOX: &str = "and mister john dashwood had then leisure to consider how much \
    there might be prudently in his power to do for them";
/// tests/fixtures/audio/meeting.txt, spoken by espeak-ng.
const MEETING: &str = "Good morning everyone. Let's start the weekly planning meeting. \
    Thanks. The new release is ready for testing on Friday. \
    Great. Sarah will update the budget report by Monday. \
    I will send the meeting notes to the whole team today.";
/// tests/fixtures/audio/meeting-fr.txt, spoken by two Kokoro voices.
const MEETING_FR: &str = "Bonjour à tous. Commençons la réunion de planification de la semaine. \
    Merci. Nous avons décidé de reporter le lancement au mois prochain. \
    Très bien. Marie va préparer le budget d'ici vendredi. \
    Je vais envoyer le compte rendu à toute l'équipe demain.";
/// Word error rates tiny.en stays under on these clips (measured 0.00 and about 0.05; see
/// docs/benchmarks.md), with a margin.
const MAX_WER_HUMAN: f64 = 0.15;
const MAX_WER_SYNTHETIC: f64 = 0.25;

/// Uploads `bytes` through `upload/`; answers the recording id.
pub(crate) async fn upload(
    app: &TestApp,
    who: &Account,
    meeting: Uuid,
    name: &str,
    mime: &str,
    bytes: &[u8],
) -> Uuid {
    let r = app
        .send(
            multipart(meeting, &who.access, name, mime, bytes),
            random_ip(),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    r.body["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("id")
}

fn joined_text(transcript: &Value) -> String {
    transcript["segments"]
        .as_array()
        .expect("segments")
        .iter()
        .filter_map(|s| s["text"].as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Every segment: `Speaker N`, in order, inside `duration_ms`, confidence 0..=1.
fn assert_segments_well_formed(transcript: &Value, duration_ms: i64) {
    let mut last_start = -1;
    for s in transcript["segments"].as_array().expect("segments") {
        let (start, end) = (
            s["start_ms"].as_i64().expect("start"),
            s["end_ms"].as_i64().expect("end"),
        );
        assert!(
            start >= last_start && end >= start && end <= duration_ms,
            "{s}"
        );
        last_start = start;
        assert!(
            s["speaker_label"]
                .as_str()
                .and_then(|l| l.strip_prefix("Speaker "))
                .is_some_and(|n| n.parse::<u32>().is_ok()),
            "{s}"
        );
        assert_eq!(s["is_final"], true);
        assert!(
            s["confidence"]
                .as_f64()
                .is_some_and(|c| (0.0..=1.0).contains(&c)),
            "{s}"
        );
    }
}

async fn recording_duration(app: &TestApp, id: Uuid) -> Option<i64> {
    sqlx::query_scalar::<_, Option<i32>>("SELECT duration_ms FROM recordings WHERE id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .expect("recording")
        .map(i64::from)
}

pub(crate) async fn failure_reason(app: &TestApp, id: Uuid) -> Option<String> {
    sqlx::query_scalar("SELECT failure_reason FROM recordings WHERE id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .expect("recording")
}

#[tokio::test]
async fn a_human_reader_uploaded_directly_becomes_a_transcript_through_transcribe() {
    // GIVEN the stack's worker with Whisper polling the app's own queue
    let (app, queue) = app_with_own_queue().await;
    let _poller = start_poller(&app, app.whisper_worker(&[]).await, &queue);
    let a = app.register().await;
    let m = meeting(&app, &a).await;
    // An English meeting: tiny.en, which answers within transcribe/'s wait even on a busy
    // machine.
    set_language(&app, &a, m, "en").await;
    // WHEN a LibriVox clip goes up through upload/ and transcribe/ is called
    let flac = audio_fixture_bytes("librivox-0870.flac");
    let id = upload(&app, &a, m, "reading.flac", "audio/flac", &flac).await;
    let path = format!("/api/meetings/{m}/recordings/{id}/transcribe/");
    let r = app.post(&path, json!({}), Some(&a.access)).await;
    // THEN the answer carries the words read, from one speaker, in order
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["status"], "completed", "{r:?}");
    let wer = word_error_rate(LIBRIVOX, &joined_text(&r.body));
    assert!(wer <= MAX_WER_HUMAN, "WER {wer:.3}: {}", r.body);
    // AND the transcript records its engine; the recording is ready with the audio's length
    let t = transcript_when_ready(&app, &a, m).await;
    assert_eq!(t["provider"], "whisper-tiny.en");
    assert_eq!(t["language_detected"], "en");
    assert_eq!(status_of(&app, id).await, "ready");
    let duration = recording_duration(&app, id).await.expect("a duration");
    assert!((duration - 7_100).abs() < 50, "{duration} ms");
    assert_segments_well_formed(&t, duration);
}

#[tokio::test]
async fn a_scripted_meeting_recorded_as_webm_goes_through_the_presigned_flow() {
    let (app, queue) = app_with_own_queue().await;
    let _poller = start_poller(&app, app.whisper_worker(&[]).await, &queue);
    let a = app.register().await;
    // A new meeting's language is `auto`: the multilingual model, detecting English.
    let m = meeting(&app, &a).await;
    // WHEN the browser's WebM/Opus recording goes up with a presigned PUT and is completed
    let webm = audio_fixture_bytes("meeting.webm");
    let (id, url, _) = initiate(
        &app,
        &a,
        m,
        json!({"filename": "meeting.webm", "content_type": "audio/webm", "size_bytes": webm.len()}),
    )
    .await;
    put(&url, "audio/webm", webm).await;
    let r = app
        .post(
            &format!("/api/recordings/{id}/complete/"),
            json!({}),
            Some(&a.access),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    // THEN the transcript holds the meeting's sentences
    let t = transcript_when_ready(&app, &a, m).await;
    let wer = word_error_rate(MEETING, &joined_text(&t));
    assert!(wer <= MAX_WER_SYNTHETIC, "WER {wer:.3}: {t}");
    let segments = t["segments"].as_array().expect("segments");
    assert!((3..=10).contains(&segments.len()), "sentence-sized: {t}");
    // 18.97 s as its packets declare; the decoder gives whole 20 ms Opus frames.
    assert_segments_well_formed(&t, 18_990);
    assert_eq!(t["provider"], "whisper-base");
    assert_eq!(t["language_detected"], "en");
    assert_eq!(status_of(&app, id).await, "ready");
}

/// A 16 kHz mono WAV of `samples`.
fn wav(samples: &[f32]) -> Vec<u8> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut out = Cursor::new(Vec::new());
    let mut w = hound::WavWriter::new(&mut out, spec).expect("wav writer");
    for s in samples {
        w.write_sample((s * f32::from(i16::MAX)) as i16)
            .expect("sample");
    }
    w.finalize().expect("finalize");
    out.into_inner()
}

#[tokio::test]
async fn bad_audio_fails_the_recording_with_a_reason_or_gives_an_empty_transcript() {
    let (app, _queue) = app_with_own_queue().await;
    let worker = app.whisper_worker(&[]).await;
    let a = app.register().await;
    let m = meeting(&app, &a).await;

    // Files the upload accepts (their first bytes look right) but that hold no audio.
    let mut junk_wav = b"RIFF\x24\x00\x00\x00WAVEjunk".to_vec();
    junk_wav.resize(2_000, 0x5a);
    let mut junk_webm = b"\x1a\x45\xdf\xa3".to_vec();
    junk_webm.resize(2_000, 0x42);
    let meeting_webm = audio_fixture_bytes("meeting.webm");
    let cases: Vec<(&str, &str, Vec<u8>, &str)> = vec![
        ("junk.wav", "audio/wav", junk_wav, "failed"),
        ("junk.webm", "audio/webm", junk_webm, "failed"),
        (
            "silence.wav",
            "audio/wav",
            wav(&vec![0.0; 16_000 * 5]),
            "ready",
        ),
        ("short.wav", "audio/wav", wav(&vec![0.0; 3_200]), "ready"),
        // The first fifth of a WebM: transcribed up to the cut.
        (
            "cut.webm",
            "audio/webm",
            meeting_webm[..meeting_webm.len() / 5].to_vec(),
            "ready",
        ),
    ];
    for (name, mime, bytes, expected) in cases {
        let id = upload(&app, &a, m, name, mime, &bytes).await;
        let job = job_for(&app, id).await.to_body();
        let response = handle(&worker, vec![record("m-1", &job, 1)]).await;
        assert_eq!(
            failures(&response),
            Vec::<String>::new(),
            "{name}: not retried"
        );
        assert_eq!(status_of(&app, id).await, expected, "{name}");
        let reason = failure_reason(&app, id).await;
        if expected == "failed" {
            let reason = reason.expect("a reason");
            assert!(
                reason.starts_with("the recording") && reason.contains("audio"),
                "{name}: {reason}"
            );
        } else {
            assert_eq!(reason, None, "{name}");
        }
    }
    // The silent and the 0.2 s recordings have transcripts without words.
    let empty: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM transcripts t JOIN recordings r ON r.id = t.recording_id \
         WHERE r.meeting_id = $1 AND NOT EXISTS \
           (SELECT 1 FROM transcript_segments s WHERE s.transcript_id = t.id)",
    )
    .bind(m)
    .fetch_one(&app.pool)
    .await
    .expect("count");
    assert_eq!(empty, 2);
}

#[tokio::test]
async fn a_french_meeting_is_transcribed_in_french_by_the_multilingual_model() {
    let (app, _queue) = app_with_own_queue().await;
    let worker = app.whisper_worker(&[]).await;
    let a = app.register().await;
    let m = meeting(&app, &a).await;
    set_language(&app, &a, m, "fr").await;
    let id = upload(
        &app,
        &a,
        m,
        "reunion.webm",
        "audio/webm",
        &audio_fixture_bytes("meeting-fr.webm"),
    )
    .await;
    let job = job_for(&app, id).await.to_body();
    let response = handle(&worker, vec![record("m-1", &job, 1)]).await;
    assert_eq!(failures(&response), Vec::<String>::new());
    assert_eq!(
        status_of(&app, id).await,
        "ready",
        "{:?}",
        failure_reason(&app, id).await
    );
    let t = transcript_when_ready(&app, &a, m).await;
    assert_eq!(t["provider"], "whisper-base");
    assert_eq!(t["language_detected"], "fr");
    let said = joined_text(&t);
    let overlap = word_overlap(MEETING_FR, &said);
    assert!(overlap >= 0.8, "word overlap {overlap:.2}: {said}");
}

#[tokio::test]
async fn two_voices_become_two_speakers_that_can_be_renamed() {
    let (app, _queue) = app_with_own_queue().await;
    let worker = app.whisper_worker(&[]).await;
    let a = app.register().await;
    let m = meeting(&app, &a).await;
    set_language(&app, &a, m, "en").await;
    // A man and a woman taking turns (tests/fixtures/audio/two-voices-mf.txt)
    let id = upload(
        &app,
        &a,
        m,
        "review.webm",
        "audio/webm",
        &audio_fixture_bytes("two-voices-mf.webm"),
    )
    .await;
    let job = job_for(&app, id).await.to_body();
    let response = handle(&worker, vec![record("m-1", &job, 1)]).await;
    assert_eq!(failures(&response), Vec::<String>::new());
    let t = transcript_when_ready(&app, &a, m).await;
    let label_of = |t: &Value, starts: &str| {
        t["segments"]
            .as_array()
            .expect("segments")
            .iter()
            .find(|s| s["text"].as_str().is_some_and(|x| x.starts_with(starts)))
            .map(|s| s["speaker_label"].clone())
            .unwrap_or_else(|| panic!("no sentence starting {starts:?}: {t}"))
    };
    // THEN the first voice is Speaker 0 and the second Speaker 1, on their own sentences
    assert_eq!(label_of(&t, "Good morning"), "Speaker 0");
    assert_eq!(label_of(&t, "No problem"), "Speaker 1");
    assert_eq!(label_of(&t, "Was that the event"), "Speaker 1");
    assert_eq!(label_of(&t, "Chicago"), "Speaker 0");
    // AND both are the meeting's speakers, which renaming names in the transcript
    let r = app
        .patch(
            &format!("/api/meetings/{m}/speakers/Speaker%201/"),
            json!({"display_name": "Maria"}),
            &a.access,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let t = transcript_when_ready(&app, &a, m).await;
    let names: std::collections::BTreeSet<String> = t["segments"]
        .as_array()
        .expect("segments")
        .iter()
        .map(|s| s["speaker_display_name"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(
        names,
        std::collections::BTreeSet::from([String::new(), "Maria".to_owned()]),
        "{t}"
    );
}

#[tokio::test]
async fn the_engine_follows_the_settings_and_a_missing_model_stops_the_start() {
    let app = TestApp::spawn().await;
    // With a Deepgram key and no choice: Deepgram (the Deepgram tests rely on it).
    let deepgram = meetin_test_support::fake_deepgram::FakeDeepgram::start()
        .await
        .expect("fake Deepgram");
    let worker = app
        .worker(&deepgram, meetin_test_support::fake_deepgram::DEFAULT_KEY)
        .await;
    assert_eq!(worker.engine.provider(LanguagePreference::En), "deepgram");
    // Chosen explicitly, even beside a key: Whisper.
    let worker = app.whisper_worker(&[("DEEPGRAM_API_KEY", "a-key")]).await;
    assert_eq!(
        worker.engine.provider(LanguagePreference::En),
        "whisper-tiny.en"
    );
    assert_eq!(
        worker.engine.provider(LanguagePreference::Fr),
        "whisper-base"
    );

    // No model file, English or multilingual: the worker does not start, and says how to get
    // one.
    let english = meetin_test_support::speech::whisper_model();
    let multilingual = meetin_test_support::speech::whisper_multilingual_model();
    for (english, multilingual, missing) in [
        (
            std::path::Path::new("/nonexistent/ggml-tiny.en.bin"),
            multilingual.as_path(),
            "/nonexistent/ggml-tiny.en.bin",
        ),
        (
            english.as_path(),
            std::path::Path::new("/nonexistent/ggml-base.bin"),
            "/nonexistent/ggml-base.bin",
        ),
    ] {
        let mut settings = app.settings.clone();
        settings.insert("TRANSCRIPTION_PROVIDER".into(), "whisper".into());
        settings.insert(
            "WHISPER_MODEL_PATH".into(),
            english.to_string_lossy().into_owned(),
        );
        settings.insert(
            "WHISPER_MULTILINGUAL_MODEL_PATH".into(),
            multilingual.to_string_lossy().into_owned(),
        );
        let lookup = |name: &str| settings.get(name).cloned();
        let Err(err) = <recording_worker::Worker as meetin_worker::Deps>::load(
            &lookup,
            meetin_data::PoolSettings::LOCAL,
        )
        .await
        else {
            panic!("a worker started without {missing}");
        };
        let message = format!("{err:#}");
        assert!(
            message.contains(missing) && message.contains("infra/local/whisper-model.sh"),
            "{message}"
        );
    }
}
