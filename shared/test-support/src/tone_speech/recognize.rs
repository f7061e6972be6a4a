//! The tone-speech recognizer: bursts found by frame energy, their edges refined to the sample,
//! their word and speaker told apart by Goertzel filters at the vocabulary's frequencies.

use std::f64::consts::TAU;
use std::io::Cursor;

use super::{CLIPPED_MIN_MS, FADE_MS, SPEAKER_HZ, WORDS, Word, word_hz};

/// A 10 ms frame is part of a burst when its RMS is above 1 % of full scale (−40 dBFS; the
/// rendered noise is −60 dBFS, a word −7 dBFS).
const FRAME_RMS: f64 = 0.01 * i16::MAX as f64;
/// A burst's edges are its first and last samples above 1 % of full scale.
const EDGE_AMPLITUDE: u16 = (0.01 * i16::MAX as f64) as u16;
/// A burst starting or ending this close to the audio's start or end was cut by it (ms).
const CUT_MS: u64 = 5;
/// At most this much of a burst's middle is analysed (ms): 25 Hz resolution with a Hann window,
/// well under the 60 Hz between two words.
const ANALYSIS_MS: u64 = 100;

/// One word heard in tone speech.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recognized {
    /// The word, from [`WORDS`].
    pub text: String,
    /// From the start of the analysed samples (ms).
    pub start_ms: u32,
    /// Exclusive end (ms).
    pub end_ms: u32,
    /// The speaker id whose tone was heard (0..=2), not renumbered.
    pub speaker: u8,
}

impl From<&Word> for Recognized {
    /// What [`recognize`] should hear for a rendered `word`.
    fn from(word: &Word) -> Self {
        Self {
            text: word.text().to_owned(),
            start_ms: word.start_ms,
            end_ms: word.end_ms,
            speaker: word.speaker,
        }
    }
}

/// The words in mono `samples` at `sample_rate` (Hz), in time order. A burst touching the first
/// or last 5 ms of the samples was cut there; it is dropped when shorter than
/// [`CLIPPED_MIN_MS`], and otherwise reported with its clipped times.
pub fn recognize(samples: &[i16], sample_rate: u32) -> Vec<Recognized> {
    let rate = u64::from(sample_rate.max(1));
    let frame = (sample_rate as usize / 100).max(1);
    let loud: Vec<bool> = samples
        .chunks(frame)
        .map(|c| {
            let energy: f64 = c.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
            energy / c.len() as f64 > FRAME_RMS * FRAME_RMS
        })
        .collect();
    let above = |s: &i16| s.unsigned_abs() > EDGE_AMPLITUDE;
    let cut = (CUT_MS * rate / 1000) as usize;
    let ms = |n: usize| (n as u64 * 1000 + rate / 2) / rate;
    let mut heard = Vec::new();
    let mut f = 0;
    while f < loud.len() {
        if !loud[f] {
            f += 1;
            continue;
        }
        let first = f;
        while f < loud.len() && loud[f] {
            f += 1;
        }
        // The burst's edges, searched one frame either side of its loud frames.
        let lo = first.saturating_sub(1) * frame;
        let hi = ((f + 1) * frame).min(samples.len());
        let region = &samples[lo..hi];
        let (Some(start), Some(last)) = (
            region.iter().position(above),
            region.iter().rposition(above),
        ) else {
            continue;
        };
        let (start, end) = (lo + start, lo + last + 1);
        let clipped = start < cut || end + cut > samples.len();
        if clipped && ms(end - start) < u64::from(CLIPPED_MIN_MS) {
            continue;
        }
        let (word, speaker) = identify(&samples[start..end], sample_rate);
        heard.push(Recognized {
            text: WORDS[word].to_owned(),
            start_ms: ms(start) as u32,
            end_ms: ms(end) as u32,
            speaker,
        });
    }
    heard
}

/// [`recognize`] over a WAV file's bytes (its first channel; any sample format hound reads).
pub fn recognize_wav(wav: &[u8]) -> anyhow::Result<Vec<Recognized>> {
    let mut reader = hound::WavReader::new(Cursor::new(wav))?;
    let spec = reader.spec();
    let channels = usize::from(spec.channels.max(1));
    let samples: Vec<i16> = match spec.sample_format {
        hound::SampleFormat::Int => {
            let bits = i32::from(spec.bits_per_sample);
            reader
                .samples::<i32>()
                .step_by(channels)
                .map(|s| {
                    s.map(|v| {
                        if bits >= 16 {
                            (v >> (bits - 16)) as i16
                        } else {
                            (v << (16 - bits)) as i16
                        }
                    })
                })
                .collect::<Result<_, _>>()?
        }
        hound::SampleFormat::Float => reader
            .samples::<f32>()
            .step_by(channels)
            .map(|s| s.map(|v| (v.clamp(-1.0, 1.0) * f32::from(i16::MAX)) as i16))
            .collect::<Result<_, _>>()?,
    };
    Ok(recognize(&samples, spec.sample_rate))
}

/// The word index and speaker of one burst: the strongest of the vocabulary's and the speakers'
/// frequencies over (at most) its middle 100 ms, fades left out.
fn identify(burst: &[i16], sample_rate: u32) -> (usize, u8) {
    let rate = u64::from(sample_rate);
    let fade = ((u64::from(FADE_MS) * rate / 1000) as usize).min(burst.len() / 4);
    let interior = &burst[fade..burst.len() - fade];
    let width = ((ANALYSIS_MS * rate / 1000) as usize).min(interior.len());
    let skip = (interior.len() - width) / 2;
    let window = &interior[skip..skip + width];
    let denominator = (window.len().max(2) - 1) as f64;
    let windowed: Vec<f64> = window
        .iter()
        .enumerate()
        .map(|(i, &s)| f64::from(s) * (0.5 - 0.5 * (TAU * i as f64 / denominator).cos()))
        .collect();
    let strongest = |candidates: &mut dyn Iterator<Item = f64>| {
        candidates
            .map(|hz| goertzel(&windowed, sample_rate, hz))
            .enumerate()
            .fold(
                (0, f64::MIN),
                |best, (i, p)| if p > best.1 { (i, p) } else { best },
            )
            .0
    };
    let word = strongest(&mut (0..WORDS.len()).map(word_hz));
    let speaker = strongest(&mut SPEAKER_HZ.iter().copied());
    (word, speaker as u8)
}

/// The power of `samples` at `hz` (Goertzel).
fn goertzel(samples: &[f64], sample_rate: u32, hz: f64) -> f64 {
    let coefficient = 2.0 * (TAU * hz / f64::from(sample_rate)).cos();
    let (mut s1, mut s2) = (0.0, 0.0);
    for &x in samples {
        let s = x + coefficient * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    s1 * s1 + s2 * s2 - coefficient * s1 * s2
}
