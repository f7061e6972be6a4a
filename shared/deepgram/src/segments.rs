//! From a [`PrerecordedResponse`] to the values of our rows: `transcripts.language_detected`
//! and `transcript_segments` (`start_ms`, `end_ms`, `speaker_label_raw`, `text`, `confidence`;
//! `is_final` is always true for batch segments).

use crate::response::{Alternative, PrerecordedResponse};

/// One utterance as a `transcript_segments` row: start and end rounded to ms, `"Speaker N"`
/// ([`speaker_label`]; `"Speaker 0"` when Deepgram gave no speaker), the text as Deepgram
/// punctuated it, and its confidence (`None` when outside 0..=1).
pub use meetin_messages::transcript::Segment;

/// Everything the worker stores from one response: `language_detected` from
/// `results.channels[0].detected_language` (only with `detect_language=true`), `duration_ms`
/// from `metadata.duration`.
pub use meetin_messages::transcript::Transcription;

/// The label of Deepgram's speaker `n`: `"Speaker n"`, the `speakers.label` and
/// `transcript_segments.speaker_label_raw` value.
pub fn speaker_label(speaker: u32) -> String {
    format!("Speaker {speaker}")
}

/// [`segments`] plus the detected language and the duration.
pub fn transcription(response: &PrerecordedResponse) -> Transcription {
    let language_detected = response
        .results
        .channels
        .iter()
        .find_map(|channel| channel.detected_language.clone())
        .filter(|tag| !tag.is_empty() && tag.len() <= 10);
    Transcription {
        language_detected,
        duration_ms: (response.metadata.duration.max(0.0) * 1000.0).round() as i64,
        segments: segments(response),
    }
}

/// The segments of a response:
///
/// - one per utterance when `results.utterances` has any (the normal case: we ask for
///   `utterances=true&diarize=true`);
/// - otherwise, per channel's best alternative, one per run of consecutive words by the same
///   speaker when the words carry speakers (the original backend's fallback, contract §4.2);
/// - otherwise one per channel spanning its words (0–0 ms when it has none).
///
/// Empty texts are skipped, so silence gives no segment. Sorted by start time.
pub fn segments(response: &PrerecordedResponse) -> Vec<Segment> {
    let mut out: Vec<Segment> = if response.results.utterances.is_empty() {
        response
            .results
            .channels
            .iter()
            .filter_map(|channel| channel.alternatives.first())
            .flat_map(alternative_segments)
            .collect()
    } else {
        response
            .results
            .utterances
            .iter()
            .filter_map(|u| {
                segment(
                    u.start,
                    u.end,
                    u.speaker.unwrap_or(0),
                    u.transcript.trim(),
                    u.confidence,
                )
            })
            .collect()
    };
    out.sort_by_key(|s| (s.start_ms, s.end_ms));
    out
}

fn alternative_segments(alternative: &Alternative) -> Vec<Segment> {
    let words = &alternative.words;
    if words.iter().any(|w| w.speaker.is_some()) {
        return words
            .chunk_by(|a, b| a.speaker == b.speaker)
            .filter_map(|run| {
                let text = run
                    .iter()
                    .map(|w| w.punctuated_word.as_deref().unwrap_or(&w.word))
                    .collect::<Vec<_>>()
                    .join(" ");
                let (first, last) = (run.first()?, run.last()?);
                segment(
                    first.start,
                    last.end,
                    first.speaker.unwrap_or(0),
                    &text,
                    alternative.confidence,
                )
            })
            .collect();
    }
    let (start, end) = match (words.first(), words.last()) {
        (Some(first), Some(last)) => (first.start, last.end),
        _ => (0.0, 0.0),
    };
    segment(
        start,
        end,
        0,
        alternative.transcript.trim(),
        alternative.confidence,
    )
    .into_iter()
    .collect()
}

fn segment(start: f64, end: f64, speaker: u32, text: &str, confidence: f64) -> Option<Segment> {
    if text.is_empty() {
        return None;
    }
    let start_ms = millis(start);
    Some(Segment {
        start_ms,
        end_ms: millis(end).max(start_ms),
        speaker_label: speaker_label(speaker),
        text: text.to_owned(),
        confidence: (0.0..=1.0).contains(&confidence).then_some(confidence),
    })
}

/// Seconds to whole milliseconds, rounded; negative or NaN → 0, huge → `i32::MAX` (saturating
/// cast), about 596 hours.
fn millis(seconds: f64) -> i32 {
    (seconds * 1000.0).round().max(0.0) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> PrerecordedResponse {
        serde_json::from_str(json).expect("a documented response parses")
    }

    /// A response Deepgram really sent (fixtures/README.md): no utterances, no speakers, so one
    /// segment for the channel, spanning its first to its last word.
    #[test]
    fn recorded_response_without_utterances_gives_one_channel_segment() {
        let response = parse(include_str!(
            "../tests/fixtures/python-sdk-bueller-nova3-smart-format.json"
        ));
        assert_eq!(
            response.metadata.request_id,
            "b9c2dec0-9239-4d80-8a53-75bb357a05b1"
        );
        assert_eq!(response.metadata.channels, 1);
        assert_eq!(
            response.metadata.model_info["3b3aabe4-608a-46ac-9585-7960a25daf1a"].arch,
            "nova-3"
        );
        let words = &response.results.channels[0].alternatives[0].words;
        assert_eq!(words[0].punctuated_word.as_deref(), Some("Yep."));
        assert_eq!(words[0].speaker, None);

        let t = transcription(&response);
        assert_eq!(t.duration_ms, 17_566); // 17.566313 s
        assert_eq!(t.language_detected, None);
        assert_eq!(
            t.segments,
            vec![Segment {
                start_ms: 5_520,  // first word 5.52 s
                end_ms: 15_511,   // last word ends 15.5113125 s
                speaker_label: "Speaker 0".into(),
                text: "Yep. I said it before, and I'll say it again. Life moves pretty fast. You don't stop and look around once in a while, you could miss it.".into(),
                confidence: Some(0.9991429),
            }]
        );
    }

    /// The documentation's examples (fixtures/README.md): one segment per utterance, rounded to
    /// milliseconds, the language from `results.channels[0].detected_language`.
    #[test]
    fn documented_utterances_become_segments() {
        let response = parse(include_str!(
            "../tests/fixtures/deepgram-docs-utterances-language.json"
        ));
        let t = transcription(&response);
        assert_eq!(t.language_detected.as_deref(), Some("fr"));
        assert_eq!(t.duration_ms, 0);
        assert_eq!(
            t.segments,
            vec![
                Segment {
                    start_ms: 419, // 0.41874 s
                    end_ms: 5_425, // 5.42518 s
                    speaker_label: "Speaker 0".into(),
                    text: "four score and seven years ago, our fathers brought forth on this continent a new nation".into(),
                    confidence: Some(0.88211584),
                },
                Segment {
                    start_ms: 419, // 0.41915998 s
                    end_ms: 5_430, // 5.43012 s
                    speaker_label: "Speaker 0".into(), // no `speaker` without diarize
                    text: "four score and seven years ago our fathers brought forth on this continent a new nation".into(),
                    confidence: Some(0.88172823),
                },
            ]
        );
    }

    /// Without utterances but with diarized words, consecutive words of one speaker form a
    /// segment (the words are the documented shape; the values are made up).
    #[test]
    fn diarized_words_without_utterances_group_by_speaker() {
        let response = parse(
            r#"{"metadata":{"request_id":"r","duration":3.0,"channels":1},
                "results":{"channels":[{"alternatives":[{"transcript":"hello there. hi!","confidence":0.9,
                "words":[
                  {"word":"hello","start":0.1,"end":0.4,"confidence":0.9,"speaker":0,"punctuated_word":"Hello"},
                  {"word":"there","start":0.4,"end":0.9,"confidence":0.9,"speaker":0,"punctuated_word":"there."},
                  {"word":"hi","start":1.2,"end":1.5004,"confidence":0.9,"speaker":1,"punctuated_word":"Hi!"}]}]}]}}"#,
        );
        let got: Vec<_> = segments(&response)
            .into_iter()
            .map(|s| (s.start_ms, s.end_ms, s.speaker_label, s.text))
            .collect();
        assert_eq!(
            got,
            vec![
                (100, 900, "Speaker 0".into(), "Hello there.".into()),
                (1200, 1500, "Speaker 1".into(), "Hi!".into()),
            ]
        );
    }

    /// Silence: Deepgram answers an empty transcript and no words; we store no segment.
    #[test]
    fn empty_transcript_gives_no_segment() {
        let response = parse(
            r#"{"metadata":{"request_id":"r","duration":1.0,"channels":1},
                "results":{"channels":[{"alternatives":[{"transcript":"","confidence":0.0,"words":[]}]}],"utterances":[]}}"#,
        );
        assert_eq!(transcription(&response).segments, vec![]);
        assert_eq!(transcription(&response).duration_ms, 1000);
    }
}
