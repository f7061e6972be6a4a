//! Speakers told apart in transcripts with no key: the engine labels each sentence with the
//! voice heard most during it (meetin_whisper::diarize), `Speaker 0`, `Speaker 1`, … in order
//! of first appearance. Two voices get two labels on the right sentences; one voice stays
//! `Speaker 0`. Judged on the share of the scripted speech time (NAME.turns.txt) that lies
//! in a sentence labelled with its speaker, labels mapped to the script's speakers by the
//! best one-to-one assignment.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use meetin_test_support::speech::{audio_fixture_bytes, fixture_turns, whisper_model};
use meetin_whisper::{Transcription, WhisperEngine};

fn engine() -> &'static WhisperEngine {
    static ENGINE: OnceLock<WhisperEngine> = OnceLock::new();
    ENGINE.get_or_init(|| WhisperEngine::load(whisper_model()).expect("the model loads"))
}

fn transcribe(name: &str) -> Transcription {
    engine()
        .transcribe(&audio_fixture_bytes(name))
        .expect("transcribed")
}

fn labels(t: &Transcription) -> BTreeSet<String> {
    t.segments.iter().map(|s| s.speaker_label.clone()).collect()
}

/// The share of the scripted speech time covered by a sentence whose label maps to the
/// turn's speaker, under the better of the two one-to-one mappings of two speakers.
fn right_share(t: &Transcription, turns: &[(i64, i64, usize)]) -> f64 {
    // overlap[truth speaker][label number], in ms
    let mut overlap = [[0i64; 2]; 2];
    let total: i64 = turns.iter().map(|(s, e, _)| e - s).sum();
    for segment in &t.segments {
        let Some(number) = segment
            .speaker_label
            .strip_prefix("Speaker ")
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| *n < 2)
        else {
            continue;
        };
        for &(start, end, speaker) in turns {
            let shared =
                end.min(i64::from(segment.end_ms)) - start.max(i64::from(segment.start_ms));
            if shared > 0 {
                overlap[speaker][number] += shared;
            }
        }
    }
    let straight = overlap[0][0] + overlap[1][1];
    let crossed = overlap[0][1] + overlap[1][0];
    straight.max(crossed) as f64 / total as f64
}

#[test]
fn two_voices_get_two_labels_on_the_right_sentences() {
    for name in ["two-voices-mf", "two-voices-mm"] {
        let t = transcribe(&format!("{name}.webm"));
        let share = right_share(&t, &fixture_turns(&format!("{name}.turns.txt")));
        eprintln!(
            "{name}: {share:.3} of the speech time labelled right; {:?}",
            labels(&t)
        );
        for s in &t.segments {
            eprintln!(
                "  {} [{}–{}] {}",
                s.speaker_label, s.start_ms, s.end_ms, s.text
            );
        }
        assert_eq!(
            labels(&t),
            BTreeSet::from(["Speaker 0".to_owned(), "Speaker 1".to_owned()]),
            "{name}"
        );
        assert!(share >= 0.9, "{name}: {share:.3}");
        assert_eq!(
            t.segments[0].speaker_label, "Speaker 0",
            "numbered by first appearance"
        );
    }
}

#[test]
fn one_voice_stays_one_speaker() {
    for name in [
        "librivox-0870.flac",
        "librivox-reader.webm",
        "monologue.webm",
        "phrase.wav",
    ] {
        let t = transcribe(name);
        assert!(!t.segments.is_empty(), "{name}");
        assert_eq!(
            labels(&t),
            BTreeSet::from(["Speaker 0".to_owned()]),
            "{name}: {:?}",
            t.segments
        );
    }
}
