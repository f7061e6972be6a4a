//! Where an utterance's words come from: the script (a phrase spread evenly over the speech),
//! or, with tone speech, the words really heard in the audio at their real times.

use crate::tone_speech;

/// How much audio before an utterance the tone ear keeps, so a word's quiet fade-in (below the
/// detector's threshold) is not cut (seconds).
const LEAD_IN_S: f64 = 0.2;

/// One word as the fake reports it.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct HeardWord {
    /// As displayed (`punctuated_word`): `Hello,`.
    pub token: String,
    /// Seconds on the connection's clock.
    pub start: f64,
    pub end: f64,
    /// With diarization.
    pub speaker: Option<u32>,
}

/// The first `visible` (all with `None`) of `tokens`, spread evenly over `start..end`.
pub(super) fn scripted(
    tokens: &[String],
    speakers: &[u32],
    (start, end): (f64, f64),
    visible: Option<usize>,
) -> Vec<HeardWord> {
    let n = visible.unwrap_or(tokens.len()).min(tokens.len());
    let step = (end - start) / n.max(1) as f64;
    tokens
        .iter()
        .take(n)
        .enumerate()
        .map(|(k, token)| HeardWord {
            token: token.clone(),
            start: start + step * k as f64,
            end: start + step * (k + 1) as f64,
            speaker: speakers.get(k).copied(),
        })
        .collect()
}

/// The audio of the open window (first channel), for [`tone_speech::recognize`].
pub(super) struct ToneEar {
    sample_rate: u32,
    samples: Vec<i16>,
    /// Connection time of `samples[0]` (seconds).
    start: f64,
    /// Tone speakers in order of first appearance on this connection: Deepgram's live
    /// speaker numbers are per connection.
    labels: Vec<u8>,
}

impl ToneEar {
    pub(super) fn new(sample_rate: u32) -> Self {
        Self {
            sample_rate,
            samples: Vec::new(),
            start: 0.0,
            labels: Vec::new(),
        }
    }

    pub(super) fn push(&mut self, samples: impl Iterator<Item = i16>) {
        self.samples.extend(samples);
    }

    /// No utterance is open at `now`: keep only the lead-in.
    pub(super) fn idle(&mut self, now: f64) {
        let keep = (LEAD_IN_S * f64::from(self.sample_rate)) as usize;
        if self.samples.len() > keep {
            let drop = self.samples.len() - keep;
            self.samples.drain(..drop);
            self.start = now - keep as f64 / f64::from(self.sample_rate);
        }
    }

    /// The window closed at `now`: forget its audio.
    pub(super) fn clear(&mut self, now: f64) {
        self.samples.clear();
        self.start = now;
    }

    /// The words heard so far in the window: the first capitalised and the last followed by a
    /// period when `punctuate`, speakers numbered per connection when `diarize`.
    pub(super) fn hear(&mut self, punctuate: bool, diarize: bool) -> Vec<HeardWord> {
        let heard = tone_speech::recognize(&self.samples, self.sample_rate);
        let n = heard.len();
        heard
            .into_iter()
            .enumerate()
            .map(|(k, word)| {
                let label = match self.labels.iter().position(|&s| s == word.speaker) {
                    Some(i) => i,
                    None => {
                        self.labels.push(word.speaker);
                        self.labels.len() - 1
                    }
                } as u32;
                let mut token = word.text;
                if punctuate && k == 0 {
                    token = capitalised(&token);
                }
                if punctuate && k + 1 == n {
                    token.push('.');
                }
                HeardWord {
                    token,
                    start: self.start + f64::from(word.start_ms) / 1000.0,
                    end: self.start + f64::from(word.end_ms) / 1000.0,
                    speaker: diarize.then_some(label),
                }
            })
            .collect()
    }
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}
