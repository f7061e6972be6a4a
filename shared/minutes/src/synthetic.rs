//! A deterministic synthetic transcript, for benchmarks and tests (not for production use).

use uuid::Uuid;

use crate::types::Line;

const SPEAKERS: [&str; 4] = ["Alice Martin", "Bob Chen", "Claire Dubois", "David Okafor"];

const FILLER: [&str; 12] = [
    "I went through the numbers again this morning and the trend is roughly what we expected last month.",
    "From the customer side the feedback has been mostly positive, although onboarding still takes too long.",
    "We should double check the dependencies before we commit to anything, there are a few moving parts.",
    "The staging environment was flaky yesterday afternoon, but it recovered after the database restart.",
    "Marketing asked whether the new pricing page could go live together with the mobile release.",
    "I think the support backlog is under control now that the two new people are fully onboarded.",
    "Let me share my screen so everyone can see the dashboard with the weekly active users.",
    "The vendor contract renews in the spring and legal wants a summary of the changes well before that.",
    "Performance on the search endpoint improved a lot after the index change, p95 is under two hundred ms.",
    "We had three incidents this sprint, all minor, and the postmortems are written up in the wiki.",
    "Hiring is still slow for the backend role, we have two candidates in the final round next week.",
    "The design team shared new mockups for the settings screen and they look much cleaner than before.",
];

/// A transcript of `hours` hours: one line every 8 s (6.5 s of speech each), four speakers in
/// turn, ~100-character sentences (about 16k estimated tokens per hour once rendered, as
/// protocols.md §4.5 estimates for real speech). Every 9th line is a decision ("We decided to
/// adopt proposal N.") and every 13th (not 9th) an action item ("I'll prepare report N by
/// Friday."), N being the line's index, so every item is distinct. Segment ids are
/// `Uuid::from_u128(index + 1)`.
pub fn synthetic_transcript(hours: f64) -> Vec<Line> {
    let count = (hours.max(0.0) * 3600.0 / 8.0).round() as usize;
    (0..count)
        .map(|i| {
            let text = if i % 9 == 4 {
                format!("Given the numbers, we decided to adopt proposal {i}.")
            } else if i % 13 == 7 {
                format!("I'll prepare report {i} by Friday.")
            } else {
                FILLER[(i * 7 + i / 5) % FILLER.len()].to_string()
            };
            let start_ms = i as i64 * 8_000;
            Line {
                segment_id: Uuid::from_u128(i as u128 + 1),
                start_ms,
                end_ms: start_ms + 6_500,
                speaker: SPEAKERS[i % SPEAKERS.len()].to_string(),
                text,
            }
        })
        .collect()
}

/// How many decisions and action items [`synthetic_transcript`] of this many lines holds.
pub fn synthetic_item_counts(lines: usize) -> (usize, usize) {
    let decisions = (0..lines).filter(|i| i % 9 == 4).count();
    let actions = (0..lines).filter(|i| i % 9 != 4 && i % 13 == 7).count();
    (decisions, actions)
}
