//! Long recordings in windows (issue 18, item 5): where a recording is cut so its windows can
//! be transcribed side by side, and how their transcriptions become one.
//!
//! [`plan`] cuts at the quietest point near each multiple of the target length and widens
//! every window by an overlap on both sides, so a word at a cut is heard whole by both
//! neighbours. [`merge`] keeps, of each window, the segments whose middle falls in its own span
//! (between its cuts), so each is kept exactly once; it shifts their times onto the recording
//! and maps each window's speaker labels onto the recording's by how long they speak at the
//! same time in the overlap they share with the window before. A label not heard in the
//! overlap is taken for a speaker already heard in the recording and not in this window's
//! overlap, the one heard last first, and is new only when there is none: one voice stays one
//! speaker across a silent seam. (Limit: two or more voices missing from an overlap are told
//! apart by recency alone, and a voice new to the recording is taken for an earlier one that
//! is absent from the window; engines give no voice prints to do better.)

use std::collections::BTreeMap;

use super::{Segment, Transcription};

/// One window of a recording, in ms from its start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// 0 for the first.
    pub index: u32,
    /// What the window's job transcribes: `[start_ms, end_ms)`.
    pub start_ms: i64,
    pub end_ms: i64,
    /// Its own span, between its cuts: `[keep_from_ms, keep_to_ms)`, the last one's
    /// `keep_to_ms` is the recording's end (inclusive).
    pub keep_from_ms: i64,
    pub keep_to_ms: i64,
}

/// The windows of a recording of `duration_ms`: about `target_ms` each, cut at
/// `quietest(from_ms, to_ms)` (the quietest point in that range, by the caller's measure of the
/// audio) within `search_ms` of each multiple of `target_ms`, widened by `overlap_ms` on each
/// side. One window when the recording is no longer than `target_ms + search_ms`.
pub fn plan(
    duration_ms: i64,
    target_ms: i64,
    overlap_ms: i64,
    search_ms: i64,
    quietest: impl Fn(i64, i64) -> i64,
) -> Vec<Window> {
    let target_ms = target_ms.max(1);
    let mut cuts = vec![0];
    let mut next = target_ms;
    while next + search_ms < duration_ms {
        let previous = *cuts.last().unwrap_or(&0);
        let from = (next - search_ms).max(previous + 1);
        let to = (next + search_ms).min(duration_ms - 1);
        let cut = quietest(from, to).clamp(from, to);
        cuts.push(cut);
        next = cut + target_ms;
    }
    cuts.push(duration_ms);
    cuts.windows(2)
        .enumerate()
        .map(|(i, pair)| Window {
            index: u32::try_from(i).unwrap_or(u32::MAX),
            start_ms: (pair[0] - overlap_ms).max(0),
            end_ms: (pair[1] + overlap_ms).min(duration_ms),
            keep_from_ms: pair[0],
            keep_to_ms: pair[1],
        })
        .collect()
}

/// One transcription of the recording from its windows' (in any order), each with times
/// from its window's start and labels of its own. `duration_ms` is the recording's.
pub fn merge(duration_ms: i64, mut parts: Vec<(Window, Transcription)>) -> Transcription {
    parts.sort_by_key(|(w, _)| w.index);
    let last = parts.last().map(|(w, _)| w.index);
    let mut segments: Vec<Segment> = Vec::new();
    // The previous window's segments on the recording's clock, with recording-wide labels.
    let mut previous: Vec<Segment> = Vec::new();
    let mut next_label = 0u32;
    // The recording's labels, the one heard last first.
    let mut recent: Vec<String> = Vec::new();
    let mut language = None;
    for (window, transcription) in parts {
        language = language.or(transcription.language_detected);
        let shifted: Vec<Segment> = transcription
            .segments
            .into_iter()
            .map(|s| shift(s, window.start_ms))
            .collect();
        let labels = map_labels(&shifted, &previous, &recent, &mut next_label);
        let relabelled: Vec<Segment> = shifted
            .into_iter()
            .map(|mut s| {
                if let Some(label) = labels.get(&s.speaker_label) {
                    s.speaker_label.clone_from(label);
                }
                s
            })
            .collect();
        let is_last = Some(window.index) == last;
        segments.extend(
            relabelled
                .iter()
                .filter(|s| {
                    let middle = (i64::from(s.start_ms) + i64::from(s.end_ms)) / 2;
                    middle >= window.keep_from_ms && (middle < window.keep_to_ms || is_last)
                })
                .cloned(),
        );
        let mut by_end: Vec<&Segment> = relabelled.iter().collect();
        by_end.sort_by_key(|s| std::cmp::Reverse(s.end_ms));
        for s in by_end.into_iter().rev() {
            recent.retain(|l| *l != s.speaker_label);
            recent.insert(0, s.speaker_label.clone());
        }
        previous = relabelled;
    }
    segments.sort_by_key(|s| (s.start_ms, s.end_ms));
    Transcription {
        language_detected: language,
        duration_ms,
        segments,
    }
}

/// `segment` on the recording's clock (ms fit `i32`: 24 days).
fn shift(mut segment: Segment, by_ms: i64) -> Segment {
    let at = |ms: i32| i32::try_from(i64::from(ms) + by_ms).unwrap_or(i32::MAX);
    segment.start_ms = at(segment.start_ms);
    segment.end_ms = at(segment.end_ms);
    segment
}

/// This window's labels to the recording's: each to the label of the previous window it
/// speaks at the same time as for longest (greatest overlap first, one to one); the others, in
/// order of first appearance, to the labels of `recent` (the recording's, heard last first)
/// not yet taken, then to new `Speaker N` labels.
fn map_labels(
    window: &[Segment],
    previous: &[Segment],
    recent: &[String],
    next_label: &mut u32,
) -> BTreeMap<String, String> {
    let mut together: BTreeMap<(String, String), i64> = BTreeMap::new();
    for s in window {
        for p in previous {
            let shared = i64::from(s.end_ms.min(p.end_ms)) - i64::from(s.start_ms.max(p.start_ms));
            if shared > 0 {
                *together
                    .entry((s.speaker_label.clone(), p.speaker_label.clone()))
                    .or_default() += shared;
            }
        }
    }
    let mut pairs: Vec<((String, String), i64)> = together.into_iter().collect();
    pairs.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mut mapped: BTreeMap<String, String> = BTreeMap::new();
    for ((local, global), _) in pairs {
        if !mapped.contains_key(&local) && !mapped.values().any(|g| *g == global) {
            mapped.insert(local, global);
        }
    }
    let mut used: Vec<String> = previous.iter().map(|p| p.speaker_label.clone()).collect();
    used.extend(recent.iter().cloned());
    let mut by_start: Vec<&Segment> = window.iter().collect();
    by_start.sort_by_key(|s| (s.start_ms, s.end_ms));
    let mut local_labels: Vec<&str> = Vec::new();
    for s in by_start {
        if !local_labels.contains(&s.speaker_label.as_str()) {
            local_labels.push(&s.speaker_label);
        }
    }
    for local in local_labels {
        if mapped.contains_key(local) {
            continue;
        }
        if let Some(earlier) = recent.iter().find(|g| !mapped.values().any(|m| m == *g)) {
            mapped.insert(local.to_owned(), earlier.clone());
            continue;
        }
        let label = loop {
            let candidate = format!("Speaker {next_label}");
            *next_label += 1;
            if !used.contains(&candidate) && !mapped.values().any(|g| *g == candidate) {
                break candidate;
            }
        };
        mapped.insert(local.to_owned(), label);
    }
    mapped
}

#[cfg(test)]
mod tests;
