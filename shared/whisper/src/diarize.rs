//! Who spoke when, without any service: classical speaker diarization over the same 16 kHz
//! mono samples Whisper decodes, so that the embedded engine can label sentences
//! `Speaker 0`, `Speaker 1`… as Deepgram's path does.
//!
//! ```text
//! push(samples)   25 ms frames every 10 ms: 19 MFCCs (log-mel, 40 bands) + frame energy
//!                 speech gate: energy ≥ 12 dB over the quietest frame of the last 4 s, ≥ -55 dBFS
//!                 speech cut into segments at pauses ≥ 200 ms, at most 2 s each; per segment
//!                 only sufficient statistics (count, sum, sum of squares: a diagonal Gaussian)
//!                 past MAX_SEGMENTS: the two most alike neighbours merged (memory stays flat)
//! finish()        agglomerative clustering of the segments of ≥ 0.4 s of speech: the pair with
//!                 the lowest ΔBIC merged until every ΔBIC is positive (BIC stopping rule)
//!                 voices with < 1.5 s of speech in all folded into their nearest voice
//!                 shorter segments take the nearer (by ΔBIC) of their neighbours' speakers
//!                 consecutive segments of one speaker joined into turns; speakers numbered
//!                 by first appearance
//! ```
//!
//! One voice staying one speaker comes first: the BIC penalty is weighted up (λ > 1) and the
//! likelihood term is computed as if a merge had at most [`FRAME_CAP`] frames, so two long
//! stretches of one voice saying different things do not become two speakers; the price is
//! that two similar voices (same sex, same accent) may be one.
//!
//! Limits (what this classical method cannot do): overlapping speech goes to one speaker;
//! a turn change without a pause of 200 ms is found only at the next 2 s segment boundary;
//! someone heard for less than 1.5 s in all is merged into another voice; loud music or
//! steady noise in speech pauses shifts the speech gate; the same person on two microphones
//! (or after a big change of room) may be two speakers. Labels are consistent within one
//! [`Diarizer`] only.
//!
//! Cost: one 512-point FFT, 40 bands and a 19×40 DCT per 10 ms (about 0.001× real time), then
//! a clustering of at most [`MAX_SEGMENTS`] segments at `finish`. Memory: about 400 bytes per
//! segment, whatever the length: 2 s segments make ~0.7 MB per hour of speech up to the cap
//! of [`MAX_SEGMENTS`] (~0.8 MB), reached after ~70 minutes of continuous speech.

mod cluster;
mod features;
mod gauss;

use features::{Frame, Frontend, HOP_MS};
use gauss::Stats;

/// The most segments kept: beyond, the two most alike neighbours are merged into one.
pub const MAX_SEGMENTS: usize = 2000;
/// A merge's likelihood term counts at most this many frames (30 s of speech).
pub const FRAME_CAP: f64 = 3000.0;

/// A pause this long (10 ms frames) ends a segment.
const PAUSE_FRAMES: u32 = 20;
/// A segment is cut after this many frames even without a pause (2 s).
const MAX_SEGMENT_FRAMES: i64 = 200;
/// Segments with fewer speech frames are too short to be clustered (0.4 s).
const MIN_CLUSTER_FRAMES: f64 = 40.0;
/// A voice with less speech in all is folded into its nearest (1.5 s).
const MIN_SPEAKER_FRAMES: f64 = 150.0;
/// The BIC penalty's weight.
const LAMBDA: f64 = 2.0;

/// One stretch of speech: frames `first..=last`.
struct Segment {
    first: i64,
    last: i64,
    stats: Stats,
}

/// Speaker diarization of one recording, fed as it is decoded.
///
/// Input: 16 kHz mono samples in -1..1, pushed in pieces of any size, in order (NaN counts
/// as silence, values past full scale as full scale).
pub struct Diarizer {
    frontend: Frontend,
    segmenter: Segmenter,
}

/// Speech frames into segments.
struct Segmenter {
    frames: i64,
    open: Option<Segment>,
    pause: u32,
    segments: Vec<Segment>,
}

impl Default for Diarizer {
    fn default() -> Self {
        Self::new()
    }
}

impl Diarizer {
    pub fn new() -> Self {
        Self {
            frontend: Frontend::new(),
            segmenter: Segmenter {
                frames: 0,
                open: None,
                pause: 0,
                segments: Vec::new(),
            },
        }
    }

    /// Feeds the next samples (any count, including none).
    pub fn push(&mut self, samples: &[f32]) {
        let segmenter = &mut self.segmenter;
        self.frontend.push(samples, |frame| segmenter.frame(frame));
    }

}

impl Segmenter {
    fn frame(&mut self, frame: Frame) {
        let i = self.frames;
        self.frames += 1;
        if frame.speech {
            self.pause = 0;
            let open = self.open.get_or_insert_with(|| Segment {
                first: i,
                last: i,
                stats: Stats::new(),
            });
            open.last = i;
            open.stats.add(&frame.mfcc);
            if i - open.first + 1 >= std::env::var("DIAR_MAXSEG").ok().and_then(|v| v.parse().ok()).unwrap_or(MAX_SEGMENT_FRAMES) {
                self.close();
            }
        } else if self.open.is_some() {
            self.pause += 1;
            if self.pause >= PAUSE_FRAMES {
                self.close();
            }
        }
    }

    fn close(&mut self) {
        if let Some(segment) = self.open.take() {
            self.segments.push(segment);
            if self.segments.len() > MAX_SEGMENTS {
                merge_closest_neighbours(&mut self.segments);
            }
        }
    }

}

impl Diarizer {
    /// The speaker turns in time order, non-overlapping, in ms from the first sample pushed.
    /// No turns for silence, noise or nothing at all.
    pub fn finish(self) -> Turns {
        let mut segmenter = self.segmenter;
        segmenter.close();
        let segments = segmenter.segments;
        let labels = cluster(&segments);
        let mut turns: Vec<Turn> = Vec::new();
        let mut order: Vec<usize> = Vec::new();
        for (segment, label) in segments.iter().zip(labels) {
            let speaker = match order.iter().position(|&l| l == label) {
                Some(p) => p,
                None => {
                    order.push(label);
                    order.len() - 1
                }
            } as u32;
            let start_ms = segment.first * HOP_MS;
            let end_ms = segment.last * HOP_MS + features::FRAME as i64 * 1000 / features::RATE as i64;
            match turns.last_mut() {
                Some(last) if last.speaker == speaker => last.end_ms = end_ms,
                Some(last) => {
                    // Frames overlap by 15 ms: the earlier turn ends where this one starts.
                    last.end_ms = last.end_ms.min(start_ms);
                    turns.push(Turn { start_ms, end_ms, speaker });
                }
                None => turns.push(Turn { start_ms, end_ms, speaker }),
            }
        }
        Turns {
            turns,
            speakers: order.len() as u32,
        }
    }
}

/// Merges the two adjacent segments most alike (lowest ΔBIC) into one.
fn merge_closest_neighbours(segments: &mut Vec<Segment>) {
    let mut best: Option<(usize, f64)> = None;
    for i in 0..segments.len().saturating_sub(1) {
        let (a, b) = (&segments[i].stats, &segments[i + 1].stats);
        let d = a.delta_bic(b, LAMBDA, FRAME_CAP);
        if best.is_none_or(|(_, bd)| d < bd) {
            best = Some((i, d));
        }
    }
    if let Some((i, _)) = best {
        let next = segments.remove(i + 1);
        let kept = &mut segments[i];
        kept.last = next.last;
        kept.stats.merge(&next.stats);
    }
}

/// One label per segment (equal labels, same speaker).
fn cluster(segments: &[Segment]) -> Vec<usize> {
    let env = |k: &str, d: f64| std::env::var(k).ok().and_then(|v| v.parse().ok()).unwrap_or(d);
    let params = cluster::Params {
        lambda: env("DIAR_LAMBDA", LAMBDA),
        cap: env("DIAR_CAP", FRAME_CAP),
        min_speaker: MIN_SPEAKER_FRAMES,
    };
    let long: Vec<usize> = (0..segments.len())
        .filter(|&i| segments[i].stats.n >= MIN_CLUSTER_FRAMES)
        .collect();
    if long.is_empty() {
        // Too little speech to tell voices apart: all of it one speaker.
        return vec![0; segments.len()];
    }
    let items: Vec<Stats> = long.iter().map(|&i| segments[i].stats.clone()).collect();
    let found = cluster::cluster(&items, &params);
    let mut labels = vec![usize::MAX; segments.len()];
    for (&i, &l) in long.iter().zip(&found) {
        labels[i] = l;
    }
    let mut speakers: Vec<Stats> = Vec::new();
    for (item, &l) in items.iter().zip(&found) {
        if speakers.len() <= l {
            speakers.resize(l + 1, Stats::new());
        }
        speakers[l].merge(item);
    }
    // Short segments: the speaker of the previous or next long one whose Gaussian explains
    // them better.
    for i in 0..segments.len() {
        if labels[i] != usize::MAX {
            continue;
        }
        let prev = (0..i).rev().find(|&k| segments[k].stats.n >= MIN_CLUSTER_FRAMES);
        let next = (i + 1..segments.len()).find(|&k| segments[k].stats.n >= MIN_CLUSTER_FRAMES);
        labels[i] = [prev, next]
            .into_iter()
            .flatten()
            .map(|k| labels[k])
            .map(|l| (l, speakers[l].log_likelihood(&segments[i].stats)))
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map_or(0, |(l, _)| l);
    }
    labels
}

/// One speaker's stretch of the recording, ms from the first sample pushed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Turn {
    pub start_ms: i64,
    pub end_ms: i64,
    /// 0, 1, 2… in order of first appearance.
    pub speaker: u32,
}

/// What [`Diarizer::finish`] found: turns in time order, not overlapping.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Turns {
    turns: Vec<Turn>,
    speakers: u32,
}

impl Turns {
    pub fn as_slice(&self) -> &[Turn] {
        &self.turns
    }

    /// The speaker heard most in `[start_ms, end_ms)` if any turn overlaps it, else the
    /// nearest turn's (the earlier on a tie); `None` without turns.
    pub fn speaker_in(&self, start_ms: i64, end_ms: i64) -> Option<u32> {
        let mut heard = vec![0i64; self.speakers as usize];
        for t in &self.turns {
            let overlap = t.end_ms.min(end_ms) - t.start_ms.max(start_ms);
            if overlap > 0 {
                if let Some(h) = heard.get_mut(t.speaker as usize) {
                    *h += overlap;
                }
            }
        }
        let most = heard
            .iter()
            .enumerate()
            .filter(|(_, h)| **h > 0)
            .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(&a.0)));
        if let Some((speaker, _)) = most {
            return Some(speaker as u32);
        }
        self.turns
            .iter()
            .min_by_key(|t| {
                if t.end_ms <= start_ms {
                    start_ms - t.end_ms
                } else {
                    t.start_ms.saturating_sub(end_ms).max(0)
                }
            })
            .map(|t| t.speaker)
    }

    /// How many speakers (0 without turns).
    pub fn speakers(&self) -> u32 {
        self.speakers
    }
}

/// `Speaker {n}`, the label Deepgram's path gives.
pub fn label(speaker: u32) -> String {
    format!("Speaker {speaker}")
}

