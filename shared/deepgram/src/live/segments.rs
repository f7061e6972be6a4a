//! From a final live `Results` to `transcript_segments` rows, on the meeting's clock.

use meetin_messages::transcript::Segment;

use super::wire::{LiveWord, ResultsMessage};
use crate::segments::speaker_label;

/// The segments of one `Results` (its best alternative), `offset_ms` milliseconds added to
/// every time: the bridge passes where this connection's clock 0 falls in the meeting, since a
/// reconnection restarts Deepgram's clock at 0.
///
/// - Words with speakers (diarization): one segment per run of consecutive words by the same
///   speaker, `"Speaker N"`, from the run's first word's start to its last word's end.
/// - Words without speakers: one segment, `"Speaker 0"`, spanning the words.
/// - A transcript without words: one segment over the window (`start` .. `start + duration`).
///
/// Text is the words' `punctuated_word` (else `word`) joined by spaces, or the transcript;
/// empty texts give no segment, so silence gives none. The confidence is the alternative's.
/// Meant for final results (`is_final: true`): an interim one converts the same way, for
/// display, but must not be stored.
pub fn final_segments(results: &ResultsMessage, offset_ms: i64) -> Vec<Segment> {
    let Some(alternative) = results.channel.alternatives.first() else {
        return Vec::new();
    };
    let confidence = (0.0..=1.0)
        .contains(&alternative.confidence)
        .then_some(alternative.confidence);
    let make = |start: f64, end: f64, speaker: u32, text: String| {
        let text = text.trim().to_owned();
        if text.is_empty() {
            return None;
        }
        let start_ms = at(start, offset_ms);
        Some(Segment {
            start_ms,
            end_ms: at(end, offset_ms).max(start_ms),
            speaker_label: speaker_label(speaker),
            text,
            confidence,
        })
    };
    let words = &alternative.words;
    if words.is_empty() {
        return make(
            results.start,
            results.start + results.duration,
            0,
            alternative.transcript.clone(),
        )
        .into_iter()
        .collect();
    }
    words
        .chunk_by(|a, b| a.speaker == b.speaker)
        .filter_map(|run| {
            let (first, last) = (run.first()?, run.last()?);
            make(
                first.start,
                last.end,
                first.speaker.unwrap_or(0),
                run.iter().map(display).collect::<Vec<_>>().join(" "),
            )
        })
        .collect()
}

fn display(word: &LiveWord) -> &str {
    word.punctuated_word.as_deref().unwrap_or(&word.word)
}

/// `seconds` on the connection's clock plus `offset_ms`, in whole milliseconds, rounded,
/// clamped to `0..=i32::MAX` (NaN → 0).
fn at(seconds: f64, offset_ms: i64) -> i32 {
    let ms = (seconds * 1000.0).round() + offset_ms as f64;
    if ms.is_nan() {
        return 0;
    }
    ms.clamp(0.0, f64::from(i32::MAX)) as i32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::wire::ServerMessage;

    fn results(json: &str) -> ResultsMessage {
        match serde_json::from_str(json).expect("parses") {
            ServerMessage::Results(r) => *r,
            other => panic!("not a Results: {other:?}"),
        }
    }

    /// The recorded message (no speakers): one segment, offset added.
    #[test]
    fn recorded_results_give_one_segment_shifted_by_the_offset() {
        let r = results(include_str!(
            "../../tests/fixtures/python-sdk-live-testing-123-results.json"
        ));
        assert_eq!(
            final_segments(&r, 60_000),
            vec![Segment {
                start_ms: 61_220, // 1.22 s + 60 s
                end_ms: 63_640,   // 3.6399999 s + 60 s
                speaker_label: "Speaker 0".into(),
                text: "Testing. 123. Testing. 123.".into(),
                confidence: Some(0.987885),
            }]
        );
    }

    /// Diarized words split where the speaker changes, even back to an earlier speaker.
    #[test]
    fn speaker_changes_split_segments() {
        let r = results(
            r#"{"type":"Results","channel_index":[0,1],"duration":3.0,"start":10.0,"is_final":true,
                "channel":{"alternatives":[{"transcript":"hi there. hello! ok","confidence":0.9,"words":[
                  {"word":"hi","start":10.1,"end":10.3,"confidence":0.9,"speaker":0,"punctuated_word":"Hi"},
                  {"word":"there","start":10.3,"end":10.6,"confidence":0.9,"speaker":0,"punctuated_word":"there."},
                  {"word":"hello","start":11.0,"end":11.4,"confidence":0.9,"speaker":1,"punctuated_word":"Hello!"},
                  {"word":"ok","start":12.0,"end":12.2,"confidence":0.9,"speaker":0}]}]}}"#,
        );
        let got: Vec<_> = final_segments(&r, 0)
            .into_iter()
            .map(|s| (s.start_ms, s.end_ms, s.speaker_label, s.text))
            .collect();
        assert_eq!(
            got,
            vec![
                (10_100, 10_600, "Speaker 0".into(), "Hi there.".into()),
                (11_000, 11_400, "Speaker 1".into(), "Hello!".into()),
                (12_000, 12_200, "Speaker 0".into(), "ok".into()),
            ]
        );
    }

    /// Silence (empty transcript, no words) gives nothing; a transcript without words spans
    /// the window; a negative offset cannot take a time below 0.
    #[test]
    fn silence_and_wordless_windows() {
        let silent = results(
            r#"{"type":"Results","channel_index":[0,1],"duration":1.0,"start":2.0,"is_final":true,
                "channel":{"alternatives":[{"transcript":"","confidence":0.0,"words":[]}]}}"#,
        );
        assert_eq!(final_segments(&silent, 0), vec![]);
        let wordless = results(
            r#"{"type":"Results","channel_index":[0,1],"duration":1.5,"start":2.0,"is_final":true,
                "channel":{"alternatives":[{"transcript":" yes ","confidence":1.5}]}}"#,
        );
        assert_eq!(
            final_segments(&wordless, -2_500),
            vec![Segment {
                start_ms: 0,
                end_ms: 1_000,
                speaker_label: "Speaker 0".into(),
                text: "yes".into(),
                confidence: None,
            }]
        );
    }
}
