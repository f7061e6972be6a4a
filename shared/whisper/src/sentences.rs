//! From whisper.cpp's segments (phrases, each with its text tokens) to sentence-sized
//! [`Segment`]s: a sentence ends after `.`, `?` or `!` followed by a space, at a pause of
//! [`MAX_GAP_MS`] between phrases, or once it spans [`MAX_SENTENCE_MS`].
//!
//! Times: a sentence that starts (ends) where a phrase starts (ends) takes the phrase's time,
//! which whisper.cpp gets from its timestamp tokens; a cut inside a phrase takes the token's own
//! time (whisper.cpp's token timestamps, rougher). Starts never go back in time, ends never
//! precede starts, and nothing ends after the audio.

use crate::{SPEAKER_LABEL, Segment};

/// A pause between two phrases that ends a sentence (ms).
pub const MAX_GAP_MS: i64 = 2_000;

/// The longest sentence before it is cut at the next phrase end (ms).
pub const MAX_SENTENCE_MS: i64 = 30_000;

/// One text token of a phrase: its bytes (a token may hold part of a UTF-8 character), its
/// times in ms from the start of the audio, its probability.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub bytes: Vec<u8>,
    pub start_ms: i64,
    pub end_ms: i64,
    pub probability: f32,
}

/// One whisper.cpp segment, times in ms from the start of the audio.
#[derive(Debug, Clone, PartialEq)]
pub struct Phrase {
    pub start_ms: i64,
    pub end_ms: i64,
    pub tokens: Vec<Token>,
}

/// Builds sentences from phrases given in time order, possibly over several calls (one per
/// audio window).
#[derive(Debug, Default)]
pub struct Sentences {
    done: Vec<Segment>,
    current: Vec<Token>,
    /// The start of the current sentence when it began at a phrase start.
    current_start: Option<i64>,
    last_phrase_end: Option<i64>,
    last_start: i64,
}

impl Sentences {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one phrase; one that says nothing (blank, or a non-speech annotation such as
    /// `[BLANK_AUDIO]`) counts as silence.
    pub fn push(&mut self, phrase: &Phrase) {
        let bytes: Vec<u8> = phrase
            .tokens
            .iter()
            .flat_map(|t| t.bytes.iter().copied())
            .collect();
        let text = String::from_utf8_lossy(&bytes);
        if text.trim().is_empty() || is_annotation(text.trim()) {
            return;
        }
        if let Some(end) = self.last_phrase_end
            && phrase.start_ms - end >= MAX_GAP_MS
        {
            self.close(Some(end));
        }
        let mut end_pending = false;
        for (i, token) in phrase.tokens.iter().enumerate() {
            if end_pending && token.bytes.first() == Some(&b' ') {
                let end = token.start_ms.clamp(phrase.start_ms, phrase.end_ms);
                self.close(Some(end));
            }
            if self.current.is_empty() {
                self.current_start = Some(if i == 0 {
                    phrase.start_ms
                } else {
                    token.start_ms.clamp(phrase.start_ms, phrase.end_ms)
                });
            }
            self.current.push(token.clone());
            end_pending = ends_sentence(&token.bytes);
        }
        self.last_phrase_end = Some(phrase.end_ms);
        let long = self
            .current_start
            .is_some_and(|start| phrase.end_ms - start >= MAX_SENTENCE_MS);
        if end_pending || long {
            self.close(Some(phrase.end_ms));
        }
    }

    /// The sentences, the unfinished one included, none ending after `duration_ms`.
    pub fn finish(mut self, duration_ms: i64) -> Vec<Segment> {
        let end = self.last_phrase_end;
        self.close(end);
        let cap = clamp_ms(duration_ms);
        for s in &mut self.done {
            s.end_ms = s.end_ms.min(cap);
            s.start_ms = s.start_ms.min(s.end_ms);
        }
        self.done
    }

    fn close(&mut self, end: Option<i64>) {
        let tokens = std::mem::take(&mut self.current);
        let start = self.current_start.take();
        if tokens.is_empty() {
            return;
        }
        let bytes: Vec<u8> = tokens
            .iter()
            .flat_map(|t| t.bytes.iter().copied())
            .collect();
        let text = String::from_utf8_lossy(&bytes).trim().to_owned();
        // Punctuation alone ("...", "?"), which Whisper writes for a tone or a noise, is no
        // sentence.
        if !text.chars().any(char::is_alphanumeric) || is_annotation(&text) {
            return;
        }
        let start = start
            .unwrap_or_else(|| tokens.first().map_or(0, |t| t.start_ms))
            .max(self.last_start);
        let end = end
            .unwrap_or_else(|| tokens.last().map_or(start, |t| t.end_ms))
            .max(start);
        self.last_start = start;
        let confidence =
            tokens.iter().map(|t| f64::from(t.probability)).sum::<f64>() / tokens.len() as f64;
        self.done.push(Segment {
            start_ms: clamp_ms(start),
            end_ms: clamp_ms(end),
            speaker_label: SPEAKER_LABEL.to_owned(),
            text,
            confidence: (0.0..=1.0).contains(&confidence).then_some(confidence),
        });
    }
}

/// Whether a token ends with sentence punctuation (`.`, `?`, `!`, possibly before a closing
/// quote or bracket).
fn ends_sentence(bytes: &[u8]) -> bool {
    let trimmed = bytes
        .iter()
        .rev()
        .copied()
        .find(|b| !matches!(b, b'"' | b'\'' | b')' | b']'));
    matches!(trimmed, Some(b'.' | b'?' | b'!'))
}

/// A non-speech annotation Whisper sometimes writes for silence or noise: the whole text in
/// brackets or parentheses (`[BLANK_AUDIO]`, `(music)`), or between asterisks.
fn is_annotation(text: &str) -> bool {
    let pairs = [('[', ']'), ('(', ')'), ('*', '*')];
    pairs
        .iter()
        .any(|(open, close)| text.starts_with(*open) && text.ends_with(*close) && text.len() > 1)
}

fn clamp_ms(ms: i64) -> i32 {
    ms.clamp(0, i64::from(i32::MAX)) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phrase(start: i64, end: i64, words: &[(&str, i64)]) -> Phrase {
        Phrase {
            start_ms: start,
            end_ms: end,
            tokens: words
                .iter()
                .map(|(w, t)| Token {
                    bytes: w.as_bytes().to_vec(),
                    start_ms: *t,
                    end_ms: *t + 100,
                    probability: 0.5,
                })
                .collect(),
        }
    }

    fn texts(segments: &[Segment]) -> Vec<(i32, i32, &str)> {
        segments
            .iter()
            .map(|s| (s.start_ms, s.end_ms, s.text.as_str()))
            .collect()
    }

    #[test]
    fn a_phrase_with_two_sentences_is_cut_at_the_second_ones_first_token() {
        let mut s = Sentences::new();
        s.push(&phrase(
            1_000,
            5_000,
            &[
                (" Hello", 1_000),
                (" all.", 1_500),
                (" Let", 3_000),
                ("'s go.", 3_500),
            ],
        ));
        assert_eq!(
            texts(&s.finish(10_000)),
            vec![(1_000, 3_000, "Hello all."), (3_000, 5_000, "Let's go.")]
        );
    }

    #[test]
    fn punctuation_alone_is_no_sentence() {
        let mut s = Sentences::new();
        s.push(&phrase(0, 1_000, &[(" ...", 0)]));
        s.push(&phrase(1_000, 2_000, &[(" ?", 1_000)]));
        s.push(&phrase(2_000, 3_000, &[(" Oui.", 2_000)]));
        assert_eq!(texts(&s.finish(3_000)), vec![(2_000, 3_000, "Oui.")]);
    }

    #[test]
    fn phrases_without_an_end_join_until_the_punctuation() {
        let mut s = Sentences::new();
        s.push(&phrase(0, 2_000, &[(" The budget", 0), (" is", 1_000)]));
        s.push(&phrase(2_000, 4_000, &[(" approved.", 2_000)]));
        s.push(&phrase(4_000, 6_000, &[(" Next", 4_000), (" item", 5_000)]));
        let out = s.finish(6_500);
        assert_eq!(
            texts(&out),
            vec![
                (0, 4_000, "The budget is approved."),
                (4_000, 6_000, "Next item")
            ]
        );
        assert_eq!(out[0].speaker_label, "Speaker 0");
        assert_eq!(out[0].confidence, Some(0.5));
    }

    #[test]
    fn a_decimal_point_does_not_end_a_sentence_and_a_pause_does() {
        let mut s = Sentences::new();
        s.push(&phrase(
            0,
            1_000,
            &[(" It costs 3", 0), (".", 500), ("5 euros", 600)],
        ));
        s.push(&phrase(4_000, 5_000, &[(" Fine", 4_000)]));
        assert_eq!(
            texts(&s.finish(5_000)),
            vec![(0, 1_000, "It costs 3.5 euros"), (4_000, 5_000, "Fine")]
        );
    }

    #[test]
    fn annotations_and_blank_text_are_dropped_and_ends_stay_within_the_audio() {
        let mut s = Sentences::new();
        s.push(&phrase(0, 1_000, &[(" [BLANK_AUDIO]", 0)]));
        s.push(&phrase(1_000, 2_000, &[(" ", 1_000)]));
        s.push(&phrase(2_000, 9_000, &[(" Done.", 2_000)]));
        assert_eq!(texts(&s.finish(8_000)), vec![(2_000, 8_000, "Done.")]);
    }

    #[test]
    fn a_character_split_across_tokens_is_whole_in_the_text() {
        let mut s = Sentences::new();
        let mut p = phrase(0, 1_000, &[(" caf", 0)]);
        let e_acute = "é".as_bytes();
        for (i, byte) in e_acute.iter().enumerate() {
            p.tokens.push(Token {
                bytes: vec![*byte],
                start_ms: 100 * i as i64,
                end_ms: 100,
                probability: 1.0,
            });
        }
        s.push(&p);
        assert_eq!(texts(&s.finish(1_000)), vec![(0, 1_000, "café")]);
    }

    #[test]
    fn a_long_run_without_punctuation_is_cut_at_a_phrase_end() {
        let mut s = Sentences::new();
        for i in 0..8 {
            s.push(&phrase(
                i * 5_000,
                i * 5_000 + 5_000,
                &[(" and so on", i * 5_000)],
            ));
        }
        let out = s.finish(40_000);
        assert_eq!(out.len(), 2);
        assert_eq!((out[0].start_ms, out[0].end_ms), (0, 30_000));
        assert_eq!((out[1].start_ms, out[1].end_ms), (30_000, 40_000));
    }
}
