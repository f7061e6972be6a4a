//! The fake's recogniser and query checks without a socket (the client's tests in
//! `shared/deepgram/tests/live.rs` drive it over one).

use serde_json::Value;

use super::handshake::Features;
use super::transcriber::Transcriber;
use super::*;

const RATE: u32 = 16_000;

fn features(query: &str) -> Result<Features, String> {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    Features::from_query(&pairs)
}

fn transcriber(query: &str) -> Transcriber {
    let base = "model=nova-3&encoding=linear16&sample_rate=16000&interim_results=true";
    let features = features(&format!("{base}&{query}")).expect("a valid query");
    Transcriber::new(features, "req".into(), DEFAULT_SPEECH_RMS, false)
}

fn parsed(messages: Vec<String>) -> Vec<Value> {
    messages
        .iter()
        .map(|m| serde_json::from_str(m).expect("JSON"))
        .collect()
}

fn kinds(messages: &[Value]) -> Vec<String> {
    messages
        .iter()
        .map(|m| {
            let kind = m["type"].as_str().unwrap_or_default();
            match kind {
                "Results" if m["is_final"] == true => "final".to_owned(),
                "Results" => "interim".to_owned(),
                other => other.to_owned(),
            }
        })
        .collect()
}

/// Audio cut at odd byte counts (half samples, partial frames) gives the same messages as
/// whole frames.
#[test]
fn odd_chunks_give_the_same_messages() {
    let mut pcm = silence_pcm(200, RATE);
    pcm.extend(tone_pcm(1_300, RATE));
    pcm.extend(silence_pcm(500, RATE));
    let shared = Shared::new("k".into());
    let whole = transcriber("endpointing=300").push_audio(&pcm, &shared);
    let mut cut = transcriber("endpointing=300");
    let pieces: Vec<String> = pcm
        .chunks(333)
        .flat_map(|chunk| cut.push_audio(chunk, &shared))
        .collect();
    assert_eq!(kinds(&parsed(whole.clone())), ["interim", "final"]);
    assert_eq!(pieces, whole);
}

/// `vad_events` gives `SpeechStarted` at the speech; without endpointing nothing is final
/// until `Finalize`; `language=multi` tags words; speakers come from the script, the last one
/// repeating.
#[test]
fn speech_started_finalize_languages_and_speakers() {
    let shared = Shared::new("k".into());
    shared.recorded().phrases.push_back("un deux trois".into());
    shared.recorded().speakers.extend([2, 1]);
    let mut t = transcriber("vad_events=true&endpointing=false&language=multi&diarize=true");
    let mut pcm = silence_pcm(400, RATE);
    pcm.extend(tone_pcm(600, RATE));
    pcm.extend(silence_pcm(2_000, RATE));
    let messages = parsed(t.push_audio(&pcm, &shared));
    // Interim results every second from the speech's start, none final.
    assert_eq!(kinds(&messages), ["SpeechStarted", "interim", "interim"]);
    assert_eq!(messages[0]["timestamp"], 0.4);
    let finals = parsed(t.finalize());
    let last = finals.last().expect("a final");
    assert_eq!(
        (last["from_finalize"].clone(), last["speech_final"].clone()),
        (true.into(), false.into())
    );
    assert_eq!(
        (last["start"].clone(), last["duration"].clone()),
        (0.0.into(), 3.0.into())
    );
    let words = last["channel"]["alternatives"][0]["words"]
        .as_array()
        .expect("words");
    let speakers: Vec<_> = words.iter().map(|w| w["speaker"].as_u64()).collect();
    assert_eq!(speakers, [Some(2), Some(1), Some(1)]);
    assert!(words.iter().all(|w| w["language"] == "en"));
    assert_eq!(words[2]["end"], 1.0);
    // Nothing new since: Finalize has nothing to send.
    assert!(t.finalize().is_empty());
}

/// `UtteranceEnd` comes `utterance_end_ms` after the last word only if speech does not
/// resume first.
#[test]
fn utterance_end_waits_for_a_real_gap() {
    let shared = Shared::new("k".into());
    let mut t = transcriber("endpointing=300&utterance_end_ms=1000");
    let mut pcm = tone_pcm(500, RATE);
    pcm.extend(silence_pcm(800, RATE)); // final at 0.8 s, gap 0.8 s < 1 s
    pcm.extend(tone_pcm(500, RATE)); // speech again at 1.3 s
    pcm.extend(silence_pcm(1_100, RATE)); // final at 2.1 s, UtteranceEnd at 2.8 s
    let messages = parsed(t.push_audio(&pcm, &shared));
    assert_eq!(
        kinds(&messages),
        ["interim", "final", "interim", "final", "UtteranceEnd"]
    );
    assert_eq!(messages[4]["last_word_end"], 1.8);
    assert_eq!(messages[3]["start"], 0.8);
}

/// Stereo: 20 ms frames hold both channels, so times stay right; `Metadata` reports the
/// audio's duration and channels.
#[test]
fn stereo_timing_and_metadata() {
    let shared = Shared::new("k".into());
    let features = features("encoding=linear16&sample_rate=16000&channels=2").expect("valid");
    let mut t = Transcriber::new(features, "req".into(), DEFAULT_SPEECH_RMS, false);
    // 1 s of the same tone on both channels, interleaved.
    let stereo: Vec<u8> = tone_pcm(1_000, RATE)
        .chunks_exact(2)
        .flat_map(|s| [s[0], s[1], s[0], s[1]])
        .collect();
    assert!(t.push_audio(&stereo, &shared).is_empty()); // no interim results asked
    let messages = parsed(t.close());
    assert_eq!(kinds(&messages), ["final", "Metadata"]);
    assert_eq!(messages[0]["channel_index"], serde_json::json!([0, 2]));
    let words = messages[0]["channel"]["alternatives"][0]["words"]
        .as_array()
        .expect("words");
    assert_eq!(words.last().expect("a word")["end"], 1.0);
    assert_eq!(
        (
            messages[1]["duration"].clone(),
            messages[1]["channels"].clone()
        ),
        (1.0.into(), 2.into())
    );
}

/// What Deepgram refuses, and what the fake cannot serve.
#[test]
fn query_checks() {
    assert!(features("encoding=linear16&sample_rate=16000&diarize_model=v1").is_ok());
    let refused = [
        (
            "encoding=linear16&sample_rate=16000&bogus=1",
            "unknown field `bogus`",
        ),
        (
            "encoding=linear16&sample_rate=16000&punctuate=yes",
            "expected `true` or `false`",
        ),
        (
            "encoding=linear16&sample_rate=16000&endpointing=soon",
            "expected an integer",
        ),
        (
            "encoding=linear16&sample_rate=16000&diarize_model=v2",
            "not available for streaming",
        ),
        ("encoding=linear16", "sample_rate is required"),
        ("encoding=opus&sample_rate=48000", "only encoding=linear16"),
        ("sample_rate=16000", "encoding=linear16"),
    ];
    for (query, expected) in refused {
        let error = features(query).err().unwrap_or_default();
        assert!(error.contains(expected), "{query}: {error}");
    }
}

/// Tone speech: every scripted word is heard once, at its time (within 20 ms), in a final per
/// sentence (pauses of 400 ms or more; words are 60–150 ms apart), speakers numbered in order
/// of appearance.
#[test]
fn tone_speech_is_heard_word_for_word() {
    use crate::tone_speech;
    let script = tone_speech::script(30_000, 7);
    let wav = tone_speech::render_wav(&script, 30_000);
    let pcm: Vec<u8> = hound::WavReader::new(std::io::Cursor::new(wav))
        .expect("a WAV")
        .into_samples::<i16>()
        .flat_map(|s| s.expect("a sample").to_le_bytes())
        .collect();
    let shared = Shared::new("k".into());
    let features = features(
        "encoding=linear16&sample_rate=16000&endpointing=300&punctuate=true&diarize_model=latest",
    )
    .expect("valid");
    let mut t = Transcriber::new(features, "req".into(), DEFAULT_SPEECH_RMS, true);
    let mut messages = Vec::new();
    for chunk in pcm.chunks(3_200) {
        messages.extend(parsed(t.push_audio(chunk, &shared)));
    }
    messages.extend(parsed(t.close()));
    let finals: Vec<&Value> = messages.iter().filter(|m| m["is_final"] == true).collect();
    let sentences = 1 + script
        .windows(2)
        .filter(|w| w[1].start_ms - w[0].end_ms >= 300)
        .count();
    assert_eq!(finals.len(), sentences);
    let heard: Vec<&Value> = finals
        .iter()
        .flat_map(|f| {
            f["channel"]["alternatives"][0]["words"]
                .as_array()
                .expect("words")
        })
        .collect();
    assert_eq!(heard.len(), script.len());
    let mut labels: Vec<u8> = Vec::new();
    for (said, got) in script.iter().zip(&heard) {
        assert_eq!(got["word"], said.text());
        let ms = |v: &Value| (v.as_f64().expect("a time") * 1000.0).round() as i64;
        assert!(
            (ms(&got["start"]) - i64::from(said.start_ms)).abs() <= 20,
            "{got} vs {said:?}"
        );
        assert!(
            (ms(&got["end"]) - i64::from(said.end_ms)).abs() <= 20,
            "{got} vs {said:?}"
        );
        if !labels.contains(&said.speaker) {
            labels.push(said.speaker);
        }
        let label = labels.iter().position(|&s| s == said.speaker);
        assert_eq!(got["speaker"].as_u64(), label.map(|l| l as u64));
    }
    // Punctuated like the pre-recorded fake: capitalised first word, period after the last.
    let transcript = finals[0]["channel"]["alternatives"][0]["transcript"]
        .as_str()
        .expect("text");
    assert!(transcript.ends_with('.') && transcript.starts_with(char::is_uppercase));
}

/// Answering every frame: one final per frame, at once, whose window is exactly the frame
/// (silence too), words of the script spread over it; nothing left for `Finalize` or
/// `CloseStream` but `Metadata`.
#[test]
fn every_frame_is_answered_at_once_with_a_final_of_that_frame() {
    let shared = Shared::new("k".into());
    shared.recorded().phrases.push_back("one two".into());
    let mut t =
        transcriber("endpointing=300&punctuate=true&diarize=true").answering_every_frame(true);
    let mut pcm = silence_pcm(256, RATE);
    pcm.extend(tone_pcm(256, RATE));
    pcm.extend(silence_pcm(128, RATE));
    let mut finals = Vec::new();
    for frame in [&pcm[..8192], &pcm[8192..16_384], &pcm[16_384..]] {
        let answered = parsed(t.push_audio(frame, &shared));
        assert_eq!(kinds(&answered), ["final"], "{answered:?}");
        finals.extend(answered);
    }
    let windows: Vec<(f64, f64)> = finals
        .iter()
        .map(|f| {
            (
                f["start"].as_f64().unwrap_or(-1.0),
                f["duration"].as_f64().unwrap_or(-1.0),
            )
        })
        .collect();
    assert_eq!(windows, [(0.0, 0.256), (0.256, 0.256), (0.512, 0.128)]);
    assert!(finals.iter().all(|f| f["speech_final"] == true));
    let first = &finals[0]["channel"]["alternatives"][0];
    assert_eq!(first["transcript"], "one two");
    let words = first["words"].as_array().expect("words");
    assert_eq!(
        (
            words[0]["start"].clone(),
            words[1]["end"].clone(),
            words[1]["speaker"].clone()
        ),
        (0.0.into(), 0.256.into(), 0.into())
    );
    assert_eq!(
        finals[1]["channel"]["alternatives"][0]["transcript"], DEFAULT_PHRASE,
        "the script ran out"
    );
    assert!(t.finalize().is_empty());
    let closing = parsed(t.close());
    assert_eq!(kinds(&closing), ["Metadata"]);
    assert_eq!(closing[0]["duration"], 0.64);
}
