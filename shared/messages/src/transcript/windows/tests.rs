use super::*;

const MINUTE: i64 = 60_000;

/// A meeting of `minutes`: a 2.5 s utterance every 3 s, speakers taking turns in threes.
fn meeting(minutes: i64) -> Transcription {
    let segments = (0..minutes * 20)
        .map(|i| {
            let start = i32::try_from(i * 3000).expect("ms");
            Segment {
                start_ms: start,
                end_ms: start + 2500,
                speaker_label: format!("Speaker {}", (i / 3) % 2),
                text: format!("utterance {i}"),
                confidence: Some(0.9),
            }
        })
        .collect();
    Transcription {
        language_detected: Some("en".into()),
        duration_ms: minutes * MINUTE,
        segments,
    }
}

/// The middle of the pause (2.5–3.0 s of each 3 s) nearest the middle of `from..=to`: the
/// quietest point an energy measure would find there.
fn nearest_pause(from: i64, to: i64) -> i64 {
    let middle = (from + to) / 2;
    middle / 3000 * 3000 + 2750
}

/// What an engine hears of `window`: the segments inside it, on its own clock, under labels
/// of its own (`rename`).
fn heard(truth: &Transcription, window: &Window, rename: &dyn Fn(&str) -> String) -> Transcription {
    let segments = truth
        .segments
        .iter()
        .filter(|s| {
            i64::from(s.start_ms) >= window.start_ms && i64::from(s.end_ms) <= window.end_ms
        })
        .map(|s| Segment {
            start_ms: s.start_ms - i32::try_from(window.start_ms).expect("ms"),
            end_ms: s.end_ms - i32::try_from(window.start_ms).expect("ms"),
            speaker_label: rename(&s.speaker_label),
            ..s.clone()
        })
        .collect();
    Transcription {
        language_detected: truth.language_detected.clone(),
        duration_ms: window.end_ms - window.start_ms,
        segments,
    }
}

#[test]
fn windows_cover_the_recording_cut_at_pauses_with_overlap() {
    let windows = plan(60 * MINUTE, 10 * MINUTE, 10_000, 30_000, nearest_pause);
    assert_eq!(windows.len(), 6, "{windows:?}");
    assert_eq!(windows[0].start_ms, 0);
    assert_eq!(windows[0].keep_from_ms, 0);
    assert_eq!(
        windows.last().map(|w| (w.end_ms, w.keep_to_ms)),
        Some((60 * MINUTE, 60 * MINUTE))
    );
    for pair in windows.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        assert_eq!(a.keep_to_ms, b.keep_from_ms, "spans meet");
        assert_eq!(a.end_ms, a.keep_to_ms + 10_000, "overlap after");
        assert_eq!(b.start_ms, b.keep_from_ms - 10_000, "overlap before");
        assert_eq!(a.keep_to_ms % 3000, 2750, "cut in a pause: {a:?}");
    }
    for w in &windows {
        assert!(
            w.end_ms - w.start_ms <= 10 * MINUTE + 30_000 + 20_000,
            "{w:?}"
        );
    }
    // A short recording is one window.
    assert_eq!(
        plan(5 * MINUTE, 10 * MINUTE, 10_000, 30_000, nearest_pause),
        vec![Window {
            index: 0,
            start_ms: 0,
            end_ms: 5 * MINUTE,
            keep_from_ms: 0,
            keep_to_ms: 5 * MINUTE
        }]
    );
}

#[test]
fn windows_merge_into_the_transcript_in_one_piece_whatever_their_labels_and_order() {
    let truth = meeting(45);
    let windows = plan(
        truth.duration_ms,
        10 * MINUTE,
        10_000,
        30_000,
        nearest_pause,
    );
    assert!(windows.len() >= 4);
    // Each window's engine names the speakers its own way.
    let namings: [&dyn Fn(&str) -> String; 3] = [
        &|l: &str| l.to_owned(),
        &|l: &str| {
            if l == "Speaker 0" {
                "Speaker 1".into()
            } else {
                "Speaker 0".into()
            }
        },
        &|l: &str| {
            if l == "Speaker 0" {
                "Speaker 7".into()
            } else {
                "Speaker 3".into()
            }
        },
    ];
    let mut parts: Vec<(Window, Transcription)> = windows
        .iter()
        .map(|w| (*w, heard(&truth, w, namings[w.index as usize % 3])))
        .collect();
    parts.reverse();
    let merged = merge(truth.duration_ms, parts);
    assert_eq!(
        merged.segments.len(),
        truth.segments.len(),
        "each utterance once"
    );
    assert_eq!(merged.segments, truth.segments);
    assert_eq!(merged.language_detected.as_deref(), Some("en"));
    assert_eq!(merged.duration_ms, truth.duration_ms);
}

#[test]
fn a_voice_not_heard_in_the_overlap_is_one_heard_before_unless_it_is_new() {
    let window = |index: u32, from: i64, to: i64| Window {
        index,
        start_ms: (from - 1000).max(0),
        end_ms: to + 1000,
        keep_from_ms: from,
        keep_to_ms: to,
    };
    let said = |start: i32, label: &str| Segment {
        start_ms: start,
        end_ms: start + 500,
        speaker_label: label.into(),
        text: "hello".into(),
        confidence: None,
    };
    let part = |segments| Transcription {
        language_detected: None,
        duration_ms: 0,
        segments,
    };
    let labels = |merged: &Transcription| -> Vec<String> {
        merged
            .segments
            .iter()
            .map(|s| s.speaker_label.clone())
            .collect()
    };
    // One voice, silent at the seam: still one speaker (the offline engine's single label).
    let merged = merge(
        20_000,
        vec![
            (window(0, 0, 10_000), part(vec![said(1000, "Speaker 0")])),
            (
                window(1, 10_000, 20_000),
                part(vec![said(4000, "Speaker 0")]),
            ),
        ],
    );
    assert_eq!(labels(&merged), ["Speaker 0", "Speaker 0"]);
    assert_eq!(merged.segments[1].start_ms, 9000 + 4000);
    // Two voices, only one heard in the overlap: the other is the one heard before, whatever
    // the window calls it.
    let merged = merge(
        30_000,
        vec![
            (
                window(0, 0, 10_000),
                part(vec![
                    said(1000, "Speaker 0"),
                    said(3000, "Speaker 1"),
                    said(9500, "Speaker 0"),
                ]),
            ),
            (
                window(1, 10_000, 20_000),
                // 9.5 s on the recording is 0.5 s here: "Speaker 1" here is "Speaker 0" there.
                part(vec![said(500, "Speaker 1"), said(5000, "Speaker 0")]),
            ),
        ],
    );
    assert_eq!(
        labels(&merged),
        ["Speaker 0", "Speaker 1", "Speaker 0", "Speaker 1"]
    );
    // A third voice while both earlier ones are heard in the overlap: a label of its own.
    let merged = merge(
        20_000,
        vec![
            (
                window(0, 0, 10_000),
                part(vec![
                    said(1000, "Speaker 1"),
                    said(9200, "Speaker 0"),
                    said(10_300, "Speaker 1"),
                ]),
            ),
            (
                window(1, 10_000, 20_000),
                // From 9 s on the recording, under labels of its own.
                part(vec![
                    said(200, "Speaker 0"),
                    said(1300, "Speaker 1"),
                    said(6000, "Speaker 2"),
                ]),
            ),
        ],
    );
    assert_eq!(
        labels(&merged),
        ["Speaker 0", "Speaker 1", "Speaker 0", "Speaker 2"]
    );
}
