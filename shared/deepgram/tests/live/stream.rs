//! Audio in, events out: interim and final results, Finalize, CloseStream, KeepAlive and the
//! idle close.

use std::time::Duration;

use meetin_deepgram::Segment;
use meetin_deepgram::live::wire::ResultsMessage;
use meetin_deepgram::live::{LiveEvent, LiveOptions, final_segments};
use meetin_test_support::fake_deepgram_live::{FakeDeepgramLive, silence_pcm, tone_pcm};
use meetin_vocab::LanguagePreference;

use super::{RATE, connect, events_until, is_final, results, send, word_times};

/// 0.5 s of silence, a 1.5 s tone, 1 s of silence: interim results, then a final ending at
/// the endpoint (speech end + 300 ms) with the scripted words and speakers spread over the
/// tone, then an UtteranceEnd 1000 ms after the last word.
#[tokio::test]
async fn speech_then_silence_gives_interims_then_a_final() {
    let fake = FakeDeepgramLive::start().await.expect("fake");
    fake.push_phrases(["Hello there, everyone."]);
    fake.push_speakers([0, 0, 1]);
    let mut c = connect(&fake, &LiveOptions::default()).await;
    let mut pcm = silence_pcm(500, RATE);
    pcm.extend(tone_pcm(1_500, RATE));
    pcm.extend(silence_pcm(1_000, RATE));
    send(&mut c, &pcm).await;

    let events = events_until(&mut c.receiver, |e| matches!(e, LiveEvent::UtteranceEnd(_))).await;
    let all = results(&events);
    let first_final = all.iter().position(|r| r.is_final).expect("a final");
    assert!(first_final >= 1, "interim results come first: {all:?}");
    assert!(
        all[..first_final]
            .iter()
            .all(|r| !r.is_final && r.start == 0.0)
    );
    let last = all[first_final];
    assert!(last.speech_final && !last.from_finalize);
    assert_eq!((last.start, last.duration), (0.0, 2.3));
    assert_eq!(
        last.channel.alternatives[0].transcript,
        "Hello there, everyone."
    );
    assert_eq!(word_times(last), vec![(0.5, 1.0), (1.0, 1.5), (1.5, 2.0)]);
    let LiveEvent::UtteranceEnd(end) = events.last().expect("events") else {
        panic!("UtteranceEnd last");
    };
    assert_eq!(end.last_word_end, 2.0);

    // The bridge's rows: split where the speaker changes, shifted by the reconnection offset.
    assert_eq!(
        final_segments(last, 60_000),
        vec![
            Segment {
                start_ms: 60_500,
                end_ms: 61_500,
                speaker_label: "Speaker 0".into(),
                text: "Hello there,".into(),
                confidence: Some(0.99),
            },
            Segment {
                start_ms: 61_500,
                end_ms: 62_000,
                speaker_label: "Speaker 1".into(),
                text: "everyone.".into(),
                confidence: Some(0.99),
            },
        ]
    );
    let record = &fake.connections()[0];
    assert_eq!(record.audio_bytes, 96_000); // 3 s × 32 000 bytes/s
    assert_eq!(record.audio_frames, 30);
    assert_eq!(record.query_value("diarize_model"), Some("latest"));
    assert_eq!(
        record.authorization.as_deref(),
        Some("Token fake-deepgram-live-key")
    );
}

/// A real speech clip (tests/fixtures/audio/phrase.wav, 8 kHz, doubled to 16 kHz): its pause
/// after "Thanks." is longer than the endpointing, so two utterances, each at its speech.
#[tokio::test]
async fn a_real_speech_clip_gives_one_final_per_utterance() {
    let fake = FakeDeepgramLive::start().await.expect("fake");
    fake.push_phrases(["Thanks.", "The new release is ready for testing on Friday."]);
    let options = LiveOptions {
        diarize_model: None,
        ..LiveOptions::default()
    };
    let mut c = connect(&fake, &options).await;
    let path = meetin_test_support::speech::audio_fixture("phrase.wav");
    let mut reader = hound::WavReader::open(&path).expect("phrase.wav");
    assert_eq!(reader.spec().sample_rate, 8_000);
    let pcm: Vec<u8> = reader
        .samples::<i16>()
        .map(|s| s.expect("a sample"))
        .flat_map(|s| [s, s])
        .flat_map(i16::to_le_bytes)
        .collect();
    send(&mut c, &pcm).await;
    send(&mut c, &silence_pcm(500, RATE)).await;

    let mut finals = Vec::new();
    while finals.len() < 2 {
        let events = events_until(&mut c.receiver, is_final).await;
        finals.extend(results(&events).into_iter().filter(|r| r.is_final).cloned());
    }
    let texts: Vec<_> = finals
        .iter()
        .map(|r| r.channel.alternatives[0].transcript.as_str())
        .collect();
    assert_eq!(
        texts,
        ["Thanks.", "The new release is ready for testing on Friday."]
    );
    // Speech measured on the clip in 20 ms frames: 0.10–0.38 s, then 0.98–3.68 s.
    let span = |r: &ResultsMessage| {
        let times = word_times(r);
        (times[0].0, times[times.len() - 1].1)
    };
    assert_eq!(span(&finals[0]), (0.1, 0.38));
    assert_eq!(span(&finals[1]), (0.98, 3.68));
    assert_eq!(finals[1].start, finals[0].start + finals[0].duration);
    assert!(
        finals
            .iter()
            .all(|r| r.channel.alternatives[0].words[0].speaker.is_none())
    );
}

/// `Finalize` flushes speech that has not reached an endpoint; the stream stays open. (A
/// meeting in `auto`: `language=multi`, words tagged with their language.)
#[tokio::test]
async fn finalize_flushes_pending_speech() {
    let fake = FakeDeepgramLive::start().await.expect("fake");
    let options = LiveOptions::for_preference(LanguagePreference::Auto);
    let mut c = connect(&fake, &options).await;
    send(&mut c, &tone_pcm(800, RATE)).await;
    c.sender.finalize().await.expect("Finalize sent");
    let events = events_until(&mut c.receiver, is_final).await;
    let last = *results(&events).last().expect("a final");
    assert!(last.from_finalize && !last.speech_final);
    let times = word_times(last);
    assert_eq!((times[0].0, times[times.len() - 1].1), (0.0, 0.8));
    let words = &last.channel.alternatives[0].words;
    assert!(words.iter().all(|w| w.language.as_deref() == Some("en")));
    assert_eq!(fake.connections()[0].query_value("language"), Some("multi"));
    send(&mut c, &tone_pcm(100, RATE)).await;
    c.sender.keep_alive().await.expect("still open");
    let records = fake
        .wait_for(Duration::from_secs(5), |r| r[0].controls.len() == 2)
        .await;
    assert_eq!(records[0].controls, ["Finalize", "KeepAlive"]);
    c.sender.close().await.expect("closed");
    let events = events_until(&mut c.receiver, |e| matches!(e, LiveEvent::Closed(_))).await;
    assert!(matches!(events.last(), Some(LiveEvent::Closed(c)) if c.is_normal()));
    fake.wait_for(Duration::from_secs(5), |r| r[0].client_gone)
        .await;
}

/// `CloseStream`: the last final, `Metadata` (duration of the audio), close 1000, then
/// nothing. An empty buffer is never sent.
#[tokio::test]
async fn close_stream_gives_the_last_results_metadata_and_a_normal_close() {
    let fake = FakeDeepgramLive::start().await.expect("fake");
    let mut c = connect(&fake, &LiveOptions::default()).await;
    let request_id = c.request_id.clone().expect("dg-request-id");
    send(&mut c, &tone_pcm(400, RATE)).await;
    c.sender
        .send_audio(Vec::new())
        .await
        .expect("nothing to send");
    c.sender.close_stream().await.expect("CloseStream sent");
    let events = events_until(&mut c.receiver, |e| matches!(e, LiveEvent::Closed(_))).await;
    let n = events.len();
    assert!(n >= 3, "{events:?}");
    assert!(is_final(&events[n - 3]));
    let LiveEvent::Metadata(metadata) = &events[n - 2] else {
        panic!("Metadata before the close: {events:?}");
    };
    assert_eq!((metadata.duration, metadata.channels), (0.4, 1));
    assert_eq!(metadata.request_id, request_id);
    let LiveEvent::Closed(close) = &events[n - 1] else {
        unreachable!()
    };
    assert!(close.is_normal(), "{close:?}");
    assert!(c.receiver.next_event().await.is_none());
    let record = &fake.connections()[0];
    assert_eq!((record.empty_frames, record.audio_bytes), (0, 12_800));
    assert_eq!(record.controls, ["CloseStream"]);
    assert_eq!(record.closed_with, Some(1000));
}

/// KeepAlive holds a silent stream open past the idle timeout; without it, 1011 `NET-0001`.
#[tokio::test]
async fn keep_alive_holds_the_stream_and_silence_closes_it_with_net_0001() {
    let fake = FakeDeepgramLive::start().await.expect("fake");
    // Long enough to survive a loaded machine between two KeepAlives.
    fake.set_idle_timeout(Duration::from_millis(800));
    let mut c = connect(&fake, &LiveOptions::default()).await;
    for _ in 0..6 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        c.sender.keep_alive().await.expect("open while kept alive");
    }
    let events = events_until(&mut c.receiver, |e| matches!(e, LiveEvent::Closed(_))).await;
    let Some(LiveEvent::Closed(close)) = events.last() else {
        unreachable!()
    };
    assert_eq!((close.code, close.reason.as_str()), (1011, "NET-0001"));
    assert_eq!(fake.connections()[0].controls.len(), 6);
}
