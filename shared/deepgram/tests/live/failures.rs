//! Refused handshakes, a dropped connection, and a reconnection's re-alignment.

use meetin_deepgram::live::{LiveClient, LiveEvent, LiveOptions, final_segments};
use meetin_deepgram::{DeepgramError, Segment};
use meetin_test_support::fake_deepgram_live::{FakeDeepgramLive, tone_pcm};

use super::{RATE, connect, events_until, results, send, stream_until_closed};

/// A wrong key: 401 with `dg-error`, not worth retrying. A bad query (v2 diarizer, refused on
/// streams): 400, not retryable either.
#[tokio::test]
async fn refused_handshakes_that_must_not_be_retried() {
    let fake = FakeDeepgramLive::start().await.expect("fake");
    let error = LiveClient::new(fake.base_url.clone(), "wrong".into())
        .connect(&LiveOptions::default())
        .await
        .expect_err("refused");
    assert!(!error.is_retryable());
    let DeepgramError::Rejected {
        status,
        message,
        request_id,
        code,
    } = error
    else {
        panic!("not Rejected: {error:?}");
    };
    assert_eq!((status, message.as_str()), (401, "Invalid credentials."));
    assert_eq!(code.as_deref(), Some("INVALID_AUTH"));
    assert!(request_id.is_some());

    let v2 = LiveOptions {
        diarize_model: Some("v2".into()),
        ..LiveOptions::default()
    };
    let error = LiveClient::new(fake.base_url.clone(), fake.api_key.clone())
        .connect(&v2)
        .await
        .expect_err("refused");
    assert_eq!((error.status(), error.is_retryable()), (Some(400), false));
    assert_eq!(
        fake.connections()
            .iter()
            .map(|c| c.refused)
            .collect::<Vec<_>>(),
        [Some(401), Some(400)]
    );
}

/// An unknown query parameter is refused with 400, as Deepgram does.
#[tokio::test]
async fn unknown_query_parameters_are_refused() {
    use tokio_tungstenite::tungstenite::{self, client::IntoClientRequest};
    let fake = FakeDeepgramLive::start().await.expect("fake");
    let url = format!(
        "{}v1/listen?encoding=linear16&sample_rate=16000&bogus=1",
        fake.base_url
    );
    let mut request = url.into_client_request().expect("request");
    let auth = format!("Token {}", fake.api_key).parse().expect("header");
    request.headers_mut().insert("authorization", auth);
    match tokio_tungstenite::connect_async(request).await {
        Err(tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 400);
            let dg_error = response.headers()["dg-error"].to_str().expect("ascii");
            assert!(dg_error.contains("unknown field `bogus`"), "{dg_error}");
        }
        other => panic!("not refused: {other:?}"),
    }
}

/// 429 and 503 refusals are retryable; the next attempt gets through.
#[tokio::test]
async fn rate_limits_and_outages_are_retryable() {
    let fake = FakeDeepgramLive::start().await.expect("fake");
    fake.refuse_next(1, 429);
    fake.refuse_next(1, 503);
    let client = LiveClient::new(fake.base_url.clone(), fake.api_key.clone());
    for expected in [429, 503] {
        let error = client
            .connect(&LiveOptions::default())
            .await
            .expect_err("refused");
        assert!(error.is_retryable(), "{error:?}");
        assert_eq!(error.status(), Some(expected));
    }
    assert!(client.connect(&LiveOptions::default()).await.is_ok());
}

/// A connection dropped after K audio bytes: the receiver reports an abnormal close (1006),
/// and a new connection works.
#[tokio::test]
async fn a_dropped_connection_is_an_abnormal_close() {
    let fake = FakeDeepgramLive::start().await.expect("fake");
    fake.drop_after_bytes(32_000);
    let mut c = connect(&fake, &LiveOptions::default()).await;
    let events = stream_until_closed(&mut c, &tone_pcm(2_000, RATE)).await;
    let Some(LiveEvent::Closed(close)) = events.last() else {
        unreachable!()
    };
    assert!(close.is_abnormal(), "{close:?}");
    let record = &fake.connections()[0];
    assert_eq!(
        (record.audio_bytes, record.closed_with),
        (32_000, Some(1006))
    );

    // The next connection was not scripted to drop.
    let mut again = connect(&fake, &LiveOptions::default()).await;
    send(&mut again, &tone_pcm(2_000, RATE)).await;
    again.sender.close_stream().await.expect("CloseStream");
    let events = events_until(&mut again.receiver, |e| matches!(e, LiveEvent::Closed(_))).await;
    assert!(matches!(events.last(), Some(LiveEvent::Closed(c)) if c.is_normal()));
}

/// Tone speech (`meetin_test_support::tone_speech`: words the fake really hears) over two
/// connections, the first dropped after 10 s of audio: resuming from the end of the last final
/// and passing that point as the second connection's offset puts every word once, at its time
/// in the meeting (within 20 ms), as the bridge's re-alignment must.
#[tokio::test]
async fn a_reconnection_offset_realigns_the_second_connections_clock() {
    use meetin_test_support::tone_speech;
    let fake = FakeDeepgramLive::start().await.expect("fake");
    fake.recognize_tone_speech(true);
    let script = tone_speech::script(20_000, 3);
    let pcm: Vec<u8> = hound::WavReader::new(std::io::Cursor::new(tone_speech::render_wav(
        &script, 20_000,
    )))
    .expect("a WAV")
    .into_samples::<i16>()
    .flat_map(|s| s.expect("a sample").to_le_bytes())
    .collect();
    let options = LiveOptions::default();
    let bytes_per_ms = options.bytes_per_second() / 1000;
    fake.drop_after_bytes(10_000 * bytes_per_ms);

    let mut first = connect(&fake, &options).await;
    let events = stream_until_closed(&mut first, &pcm).await;
    assert!(matches!(events.last(), Some(LiveEvent::Closed(c)) if c.is_abnormal()));
    let finals: Vec<_> = results(&events)
        .into_iter()
        .filter(|r| r.is_final)
        .collect();
    let last = finals.last().expect("finals before the drop");
    let resume_ms = ((last.start + last.duration) * 1000.0).round() as u64;
    let mut segments: Vec<Segment> = finals.iter().flat_map(|r| final_segments(r, 0)).collect();

    let mut second = connect(&fake, &options).await;
    send(&mut second, &pcm[(resume_ms * bytes_per_ms) as usize..]).await;
    second.sender.close_stream().await.expect("CloseStream");
    let events = events_until(&mut second.receiver, |e| matches!(e, LiveEvent::Closed(_))).await;
    segments.extend(
        results(&events)
            .into_iter()
            .filter(|r| r.is_final)
            .flat_map(|r| final_segments(r, resume_ms as i64)),
    );

    let mut said = script.iter();
    for segment in &segments {
        let words = meetin_test_support::speech::words(&segment.text);
        let run: Vec<_> = said.by_ref().take(words.len()).collect();
        let texts: Vec<_> = run.iter().map(|w| w.text()).collect();
        assert_eq!(words, texts, "{segment:?}");
        let (from, to) = (run[0], run[run.len() - 1]);
        assert!(
            (segment.start_ms - from.start_ms as i32).abs() <= 20,
            "{segment:?} {from:?}"
        );
        assert!(
            (segment.end_ms - to.end_ms as i32).abs() <= 20,
            "{segment:?} {to:?}"
        );
    }
    assert!(said.next().is_none(), "every word heard once");
    assert_eq!(fake.connections().len(), 2);
}
