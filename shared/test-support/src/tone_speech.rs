//! Tone speech: a synthetic language whose words are tone bursts, so a fake recognizer can hear
//! exactly which word was said, when, and by whom — in a whole recording or in any slice of it.
//! Tests compare "transcribed in one piece" with "transcribed in windows, then merged".
//!
//! - [`script`]: deterministic meeting-like speech (words, pauses, speaker turns) for a duration.
//! - [`render_wav`] / [`write_wav`]: 16 kHz mono PCM16 WAV of a script. Word `i` of [`WORDS`] is a
//!   sine at [`word_hz`]`(i)` (300–2160 Hz), its speaker a quieter simultaneous sine at
//!   [`SPEAKER_HZ`] (3000/3500/4000 Hz); 10 ms fades; faint −60 dBFS noise between words.
//! - [`recognize`]: energy segmentation in 10 ms frames, then Goertzel at the word and speaker
//!   frequencies; times within ±20 ms (in practice ~2 ms). A word clipped by the audio's start or
//!   end is dropped when what is left is shorter than [`CLIPPED_MIN_MS`], as a real recognizer
//!   loses a clipped word.
//! - [`crate::fake_deepgram::FakeDeepgram::recognize_tone_speech`] makes the fake Deepgram answer
//!   [`recognize`]'s words for WAV audio (`deepgram_turns` shapes them).

use std::fs::File;
use std::io::{BufWriter, Cursor, Seek, Write};
use std::path::Path;

use crate::fake_deepgram::{TimedWord, Turn};

mod recognize;
#[cfg(test)]
mod tests;

pub use recognize::{Recognized, recognize, recognize_wav};

/// The vocabulary: word `i` is a tone at [`word_hz`]`(i)`. Distinct lowercase real words.
pub const WORDS: [&str; 32] = [
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet",
    "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra", "tango",
    "uniform", "victor", "whiskey", "yankee", "zulu", "apple", "budget", "meeting", "review",
    "launch", "river", "summer",
];

/// The speaker tones (Hz) of speakers 0, 1 and 2, well above the word band.
pub const SPEAKER_HZ: [f64; 3] = [3000.0, 3500.0, 4000.0];

/// Sample rate of [`render_wav`] and [`write_wav`] (Hz).
pub const SAMPLE_RATE: u32 = 16_000;

/// Shortest and longest word [`script`] writes (ms).
pub const WORD_MS: (u32, u32) = (200, 450);

/// A burst cut by the audio's start or end is dropped when shorter than this (ms): 60 % of the
/// shortest word.
pub const CLIPPED_MIN_MS: u32 = WORD_MS.0 * 3 / 5;

/// Fade in and out of every word (ms), so its edges do not click.
const FADE_MS: u32 = 10;
/// Peak amplitudes (fractions of full scale) of the word and speaker tones, and of the noise.
const WORD_AMPLITUDE: f64 = 0.45;
const SPEAKER_AMPLITUDE: f64 = 0.15;
/// Uniform noise of this peak has an RMS of ~0.001 full scale: −60 dBFS.
const NOISE_PEAK: f64 = 0.0017;
/// Samples generated and written at a time by [`write_wav`].
const CHUNK_SAMPLES: usize = 4096;

/// The frequency (Hz) of word `text_index`: 300 Hz + 60 Hz · index.
pub fn word_hz(text_index: usize) -> f64 {
    300.0 + 60.0 * text_index as f64
}

/// One spoken word of a [`script`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Word {
    /// Index into [`WORDS`] (0..32).
    pub text_index: usize,
    /// Speaker 0..=2.
    pub speaker: u8,
    /// From the start of the audio (ms).
    pub start_ms: u32,
    /// Exclusive end (ms).
    pub end_ms: u32,
}

impl Word {
    /// Its text, from [`WORDS`].
    pub fn text(&self) -> &'static str {
        WORDS[self.text_index]
    }
}

/// A tiny deterministic generator (splitmix64): the same seed gives the same script on every
/// platform and `rand` version.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    pub(crate) fn range(&mut self, lo: u32, hi: u32) -> u32 {
        lo + (self.next_u64() % u64::from(hi - lo + 1)) as u32
    }
}

/// Meeting-like speech filling `duration_ms`, the same for the same `(duration_ms, seed)`: 2 or
/// 3 speakers (ids from 0); words of 200–450 ms with 60–150 ms gaps, sentences of 4–14 words,
/// 400–1500 ms pauses between sentences (one in ten a long 2–4 s pause), the speaker changing
/// every 1–4 sentences; 300–1000 ms of silence first, and every word ends at least 100 ms before
/// `duration_ms`. Sorted by time, never overlapping.
pub fn script(duration_ms: u32, seed: u64) -> Vec<Word> {
    let mut rng = Rng::new(seed);
    let speakers = rng.range(2, 3);
    let mut speaker = rng.range(0, speakers - 1);
    let mut sentences_left = rng.range(1, 4);
    let mut t = rng.range(300, 1000);
    let mut words = Vec::new();
    loop {
        let n = rng.range(4, 14);
        for i in 0..n {
            let len = rng.range(WORD_MS.0, WORD_MS.1);
            if u64::from(t) + u64::from(len) + 100 > u64::from(duration_ms) {
                return words;
            }
            words.push(Word {
                text_index: rng.range(0, WORDS.len() as u32 - 1) as usize,
                speaker: speaker as u8,
                start_ms: t,
                end_ms: t + len,
            });
            t += len;
            if i + 1 < n {
                t += rng.range(60, 150);
            }
        }
        t = t.saturating_add(if rng.range(1, 10) == 1 {
            rng.range(2000, 4000)
        } else {
            rng.range(400, 1500)
        });
        sentences_left -= 1;
        if sentences_left == 0 {
            speaker = (speaker + rng.range(1, speakers - 1)) % speakers;
            sentences_left = rng.range(1, 4);
        }
    }
}

/// The WAV (16 kHz mono PCM16) of `words` over `duration_ms`; words past the end are cut.
pub fn render_wav(words: &[Word], duration_ms: u32) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    // Writing to memory cannot fail.
    stream_wav(&mut out, words, duration_ms).expect("writing a WAV to memory");
    out.into_inner()
}

/// [`render_wav`] into the file at `path`, generated and written 4096 samples at a time: memory
/// does not grow with the duration (a 60-minute file is 115 MB on disk).
pub fn write_wav(path: &Path, words: &[Word], duration_ms: u32) -> anyhow::Result<()> {
    let file = File::create(path)?;
    stream_wav(BufWriter::new(file), words, duration_ms)?;
    Ok(())
}

/// The WAV of `words` written to `out` in chunks of [`CHUNK_SAMPLES`].
fn stream_wav<W: Write + Seek>(out: W, words: &[Word], duration_ms: u32) -> hound::Result<()> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: SAMPLE_RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::new(out, spec)?;
    let mut samples = Samples::new(words, duration_ms);
    let mut chunk = Vec::with_capacity(CHUNK_SAMPLES);
    loop {
        chunk.clear();
        chunk.extend(samples.by_ref().take(CHUNK_SAMPLES));
        if chunk.is_empty() {
            break;
        }
        let mut sink = writer.get_i16_writer(chunk.len() as u32);
        for &sample in &chunk {
            sink.write_sample(sample);
        }
        sink.flush()?;
    }
    writer.finalize()
}

/// The samples of `words` at [`SAMPLE_RATE`], one at a time; holds only the words sounding now.
struct Samples<'a> {
    /// Sorted by start.
    pending: std::vec::IntoIter<&'a Word>,
    next: Option<&'a Word>,
    sounding: Vec<&'a Word>,
    n: u64,
    total: u64,
    noise: Rng,
}

impl<'a> Samples<'a> {
    fn new(words: &'a [Word], duration_ms: u32) -> Self {
        let mut sorted: Vec<&Word> = words.iter().collect();
        sorted.sort_by_key(|w| w.start_ms);
        let mut pending = sorted.into_iter();
        Self {
            next: pending.next(),
            pending,
            sounding: Vec::new(),
            n: 0,
            total: ms_to_samples(duration_ms),
            noise: Rng::new(0x5EED),
        }
    }
}

fn ms_to_samples(ms: u32) -> u64 {
    u64::from(ms) * u64::from(SAMPLE_RATE) / 1000
}

impl Iterator for Samples<'_> {
    type Item = i16;

    fn next(&mut self) -> Option<i16> {
        if self.n >= self.total {
            return None;
        }
        let n = self.n;
        self.n += 1;
        while let Some(word) = self.next.filter(|w| ms_to_samples(w.start_ms) <= n) {
            self.sounding.push(word);
            self.next = self.pending.next();
        }
        self.sounding.retain(|w| ms_to_samples(w.end_ms) > n);
        let noise = (self.noise.next_u64() as f64 / u64::MAX as f64 * 2.0 - 1.0) * NOISE_PEAK;
        let mut value = noise;
        for word in &self.sounding {
            let (start, end) = (ms_to_samples(word.start_ms), ms_to_samples(word.end_ms));
            let fade = ms_to_samples(FADE_MS).min((end - start) / 2).max(1);
            let edge = (n - start).min(end - 1 - n);
            let envelope = if edge < fade {
                0.5 - 0.5 * (std::f64::consts::PI * edge as f64 / fade as f64).cos()
            } else {
                1.0
            };
            let t = (n - start) as f64 / f64::from(SAMPLE_RATE);
            let tone = |hz: f64, amplitude: f64| amplitude * (std::f64::consts::TAU * hz * t).sin();
            let speaker = SPEAKER_HZ[usize::from(word.speaker).min(SPEAKER_HZ.len() - 1)];
            value += envelope
                * (tone(word_hz(word.text_index), WORD_AMPLITUDE)
                    + tone(speaker, SPEAKER_AMPLITUDE));
        }
        Some((value.clamp(-1.0, 1.0) * f64::from(i16::MAX)) as i16)
    }
}

/// What the fake Deepgram answers for `recognized` (one request's words): speakers renumbered
/// 0, 1, 2… in order of first appearance, as Deepgram's per-request diarization labels are
/// arbitrary; an utterance per speaker turn (when `by_speaker`, i.e. diarization was asked
/// for) and wherever the silence between two words is at least `split_gap_ms` (Deepgram's
/// `utt_split`, 800 ms by default); each utterance's first word capitalised, its last followed
/// by a period.
pub(crate) fn deepgram_turns(
    recognized: &[Recognized],
    split_gap_ms: u32,
    by_speaker: bool,
) -> Vec<Turn> {
    let mut labels: Vec<u8> = Vec::new();
    let mut turns: Vec<Turn> = Vec::new();
    let mut previous: Option<&Recognized> = None;
    for word in recognized {
        let label = match labels.iter().position(|&s| s == word.speaker) {
            Some(i) => i,
            None => {
                labels.push(word.speaker);
                labels.len() - 1
            }
        } as u32;
        let split = previous.is_none_or(|p| {
            (by_speaker && p.speaker != word.speaker)
                || word.start_ms.saturating_sub(p.end_ms) >= split_gap_ms
        });
        if split {
            turns.push(Turn {
                speaker: label,
                start: 0.0,
                end: 0.0,
                words: Vec::new(),
            });
        }
        if let Some(turn) = turns.last_mut() {
            turn.words.push(TimedWord {
                token: word.text.clone(),
                start: f64::from(word.start_ms) / 1000.0,
                end: f64::from(word.end_ms) / 1000.0,
            });
        }
        previous = Some(word);
    }
    for turn in &mut turns {
        if let Some(first) = turn.words.first_mut() {
            let mut chars = first.token.chars();
            first.token = chars
                .next()
                .map(|c| c.to_uppercase().chain(chars).collect())
                .unwrap_or_default();
        }
        if let Some(last) = turn.words.last_mut() {
            last.token.push('.');
        }
        turn.start = turn.words.first().map_or(0.0, |w| w.start);
        turn.end = turn.words.last().map_or(0.0, |w| w.end);
    }
    turns
}
