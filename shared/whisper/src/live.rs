//! Live captions without a Deepgram key (issue 19): a meeting's audio as the browser sends it
//! (PCM16 little-endian, mono, 16 kHz) is cut at pauses into chunks of a few seconds
//! ([`PauseChunker`], pure arithmetic), and each chunk is transcribed by the embedded engine
//! ([`LiveWhisper`]); its sentences are the chunk's final results, in session time.
//!
//! ```text
//! each audio frame   chunker.push_pcm16le(&bytes)   -> 0..n Chunk       (microseconds)
//! each Chunk         live.transcribe(&chunk)         -> Vec<Segment>     (blocking, 1-2 s)
//! end of session     chunker.finish()                -> the last Chunk, if any
//! ```
//!
//! # How the chunker finds pauses
//!
//! The audio is read in frames of [`FRAME_MS`] (320 samples). A frame's level is its mean
//! square (shown in dB relative to a full-scale square wave: a full-scale sine is −3 dB,
//! digital silence −100 dB). The noise floor is the quietest frame of the last
//! [`ChunkerSettings::floor_window_ms`] (a sliding minimum, the frame itself included): it
//! follows the room down at once and up within that window. A frame is *speech* when it is
//! at least [`ChunkerSettings::margin_db`] above the floor and at least
//! [`ChunkerSettings::min_speech_dbfs`]; a *pause* is [`ChunkerSettings::pause_ms`] of frames
//! in a row that are not.
//!
//! - Before its first speech frame, a chunk keeps only its last
//!   [`ChunkerSettings::pre_roll_ms`] (the soft start of a word the level misses): silence
//!   costs no memory and no Whisper call, and the session clock still advances.
//! - A chunk holding at least [`ChunkerSettings::min_ms`] is cut as soon as it ends in a
//!   pause; it keeps that pause (a soft last consonant stays in), the next chunk starts right
//!   after it.
//! - A chunk reaching [`ChunkerSettings::max_ms`] without such a pause is cut in the middle
//!   of the quietest 100 ms of its last [`ChunkerSettings::search_ms`] (between words or
//!   syllables, most often); the rest starts the next chunk.
//! - A chunk with less than [`ChunkerSettings::min_speech_ms`] of speech frames (a click, a
//!   cough) is dropped.
//!
//! Memory: at most `max_ms` of samples (512 KB at the default) plus `floor_window_ms` of
//! levels, whatever is pushed.
//!
//! # Limits
//!
//! - It measures energy, not voices: sound that stands out from the floor (typing, music, a
//!   door, a second conversation) is "speech" and costs a Whisper call. Whisper's
//!   annotations for it (`[MUSIC]`) are dropped, but tiny.en sometimes invents words for
//!   noise.
//! - Steady noise becomes the floor within `floor_window_ms`: noise that starts mid-meeting
//!   (a fan) counts as speech until then, and is ignored after.
//! - Speech less than `margin_db` above the noise (a far or whispering voice in a loud room),
//!   or under `min_speech_dbfs`, is not heard as speech: it is transcribed only inside a
//!   chunk that other speech opened.
//! - A talker who never pauses for `pause_ms` gets a cut every `max_ms`, at a short gap
//!   between words when the last second holds one; else the quietest 100 ms can be a stop's
//!   silent closure inside a word ("up|date" in tests/live.rs), which Whisper then hears as
//!   two pieces.
//! - Each chunk is transcribed on its own: a sentence cut across two chunks becomes two
//!   segments, and tiny.en has no context from the chunk before.
//! - Latency: a chunk is ready `pause_ms` after its last word (plus the frame that brings
//!   it, 256 ms from the web client), or `max_ms` after it began; Whisper then takes 1.1 to
//!   1.4 s (tiny.en, 2 threads, whatever the chunk's length: whisper.cpp pads it to 30 s; up
//!   to 2.5 s on a busy machine), so captions come about 2 s after a sentence ends
//!   (tests/live.rs prints it). One engine transcribes one chunk at a time: a 2-core machine
//!   keeps up with about three talking meetings (a chunk every 4 s each); more fall behind.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::audio::SAMPLE_RATE;
use crate::{Segment, Spoken, WhisperEngine, WhisperError};

/// The length of the frames levels are measured on (ms).
pub const FRAME_MS: i64 = 20;

/// Samples in one frame (16 kHz).
const FRAME: usize = (SAMPLE_RATE as usize) * (FRAME_MS as usize) / 1000;

/// Frames in the stretch whose middle a forced cut takes (100 ms).
const QUIET_SPAN: usize = 5;

/// Levels are never below this (dB), so digital silence has a floor.
const MIN_LEVEL_DB: f32 = -100.0;

/// How the chunker cuts (defaults tuned on speech with tiny.en, see the module's docs).
/// Durations are rounded up to whole frames of [`FRAME_MS`].
#[derive(Debug, Clone, PartialEq)]
pub struct ChunkerSettings {
    /// The shortest chunk cut at a pause (ms): shorter ones wait for the next pause, as
    /// Whisper hears a few words better than one. Default 2,000.
    pub min_ms: u32,
    /// The longest chunk (ms): one without a pause is cut here, at the quietest point of its
    /// last `search_ms`. Bounds memory and the latency of a talker who never pauses. At least
    /// `min_ms` plus a frame. Default 8,000.
    pub max_ms: u32,
    /// The silence that ends a chunk (ms): longer than the silent stops inside words (under
    /// 150 ms), as short as the pause between two sentences. Default 340.
    pub pause_ms: u32,
    /// Where a forced cut looks for its quietest point: the chunk's last this many ms (at most
    /// `max_ms`). Default 1,000.
    pub search_ms: u32,
    /// The audio kept before a chunk's first speech frame (ms): the soft start of a word the
    /// level misses. Default 200.
    pub pre_roll_ms: u32,
    /// A chunk with less speech than this (ms of speech frames) is dropped: a click or a
    /// cough, not worth a Whisper call. Default 100.
    pub min_speech_ms: u32,
    /// How far above the noise floor a frame must be to be speech (dB). Default 10.
    pub margin_db: f32,
    /// The quietest a speech frame can be (dB relative to full scale), whatever the floor:
    /// hiss in digital silence is not speech. Default −50.
    pub min_speech_dbfs: f32,
    /// The noise floor is the quietest frame of this last stretch (ms): steady noise becomes
    /// the floor within it. Default 5,000.
    pub floor_window_ms: u32,
}

impl Default for ChunkerSettings {
    fn default() -> Self {
        Self {
            min_ms: 2_000,
            max_ms: 8_000,
            pause_ms: 340,
            search_ms: 1_000,
            pre_roll_ms: 200,
            min_speech_ms: 100,
            margin_db: 10.0,
            min_speech_dbfs: -50.0,
            floor_window_ms: 5_000,
        }
    }
}

/// Why a chunk ends where it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// At a pause of at least `pause_ms`, which it ends with.
    Pause,
    /// At `max_ms`, in the quietest 100 ms of its last `search_ms`.
    Forced,
    /// At [`PauseChunker::finish`].
    End,
}

/// A stretch of the session's audio to transcribe on its own.
#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    /// Session time of its first sample: ms since the first sample pushed into the chunker
    /// (whole frames of [`FRAME_MS`] unless [`PauseChunker::finish`] was called mid-frame).
    pub start_ms: i64,
    /// 16 kHz mono samples, −1..1.
    pub samples: Vec<f32>,
    /// Why it ends here.
    pub cut: Cut,
    /// How much of it was speech (ms of speech frames).
    pub speech_ms: i64,
}

impl Chunk {
    /// Its length (ms).
    pub fn duration_ms(&self) -> i64 {
        samples_to_ms(self.samples.len() as u64)
    }

    /// Session time just past its last sample (ms).
    pub fn end_ms(&self) -> i64 {
        self.start_ms + self.duration_ms()
    }
}

/// One measured frame of the current chunk.
#[derive(Debug, Clone, Copy)]
struct Frame {
    /// Mean square of its samples.
    power: f32,
    speech: bool,
}

/// Cuts a session's audio into [`Chunk`]s at pauses (see the module's docs for the method).
/// Pure and cheap (a few operations a sample); one per session, fed in order.
#[derive(Debug)]
pub struct PauseChunker {
    settings: ChunkerSettings,
    min_frames: usize,
    max_frames: usize,
    pause_frames: usize,
    search_frames: usize,
    pre_roll_frames: usize,
    min_speech_frames: usize,
    floor_frames: u64,
    /// `margin_db` and `min_speech_dbfs` as power ratios.
    margin: f32,
    min_speech_power: f32,
    /// The current chunk's samples: whole frames, then part of the next.
    samples: Vec<f32>,
    /// The current chunk's whole frames.
    frames: Vec<Frame>,
    /// Session sample index of `samples[0]`.
    start: u64,
    /// Speech frames in `frames`, and non-speech frames at their end.
    speech_frames: usize,
    quiet_run: usize,
    /// Sliding minimum of frame powers: (frame number, power), increasing powers.
    floor: VecDeque<(u64, f32)>,
    frame_no: u64,
    /// The odd byte of a PCM16 stream split mid-sample.
    odd_byte: Option<u8>,
}

impl Default for PauseChunker {
    fn default() -> Self {
        Self::new(ChunkerSettings::default())
    }
}

impl PauseChunker {
    /// A chunker for one session, its clock at 0. Settings out of range are fitted:
    /// durations of at least a frame, `max_ms` above `min_ms`, `search_ms` within `max_ms`.
    pub fn new(settings: ChunkerSettings) -> Self {
        let frames = |ms: u32| (ms as usize).div_ceil(FRAME_MS as usize);
        let min_frames = frames(settings.min_ms).max(1);
        let max_frames = frames(settings.max_ms).max(min_frames + 1);
        let power = |db: f32| 10f32.powf(db / 10.0);
        Self {
            min_frames,
            max_frames,
            pause_frames: frames(settings.pause_ms).max(1),
            search_frames: frames(settings.search_ms).clamp(1, max_frames),
            pre_roll_frames: frames(settings.pre_roll_ms),
            min_speech_frames: frames(settings.min_speech_ms).max(1),
            floor_frames: frames(settings.floor_window_ms).max(1) as u64,
            margin: power(settings.margin_db.max(0.0)),
            min_speech_power: power(settings.min_speech_dbfs),
            settings,
            samples: Vec::new(),
            frames: Vec::new(),
            start: 0,
            speech_frames: 0,
            quiet_run: 0,
            floor: VecDeque::new(),
            frame_no: 0,
            odd_byte: None,
        }
    }

    /// The settings it was made with.
    pub fn settings(&self) -> &ChunkerSettings {
        &self.settings
    }

    /// Session time of everything pushed so far (ms).
    pub fn position_ms(&self) -> i64 {
        samples_to_ms(self.start + self.samples.len() as u64)
    }

    /// The audio held for the chunk being built (ms): never more than `max_ms` plus a frame.
    pub fn buffered_ms(&self) -> i64 {
        samples_to_ms(self.samples.len() as u64)
    }

    /// Adds 16 kHz mono PCM16 samples; returns the chunks they complete, in order (none for
    /// most calls). Any length, including none or part of a frame.
    pub fn push(&mut self, pcm: &[i16]) -> Vec<Chunk> {
        let mut out = Vec::new();
        let mut rest = pcm;
        while !rest.is_empty() {
            let frame_end = (self.frames.len() + 1) * FRAME;
            let take = (frame_end - self.samples.len()).min(rest.len());
            self.samples
                .extend(rest[..take].iter().map(|&s| f32::from(s) / 32_768.0));
            rest = &rest[take..];
            if self.samples.len() == frame_end {
                self.end_frame(&mut out);
            }
        }
        out
    }

    /// [`PauseChunker::push`] of PCM16 little-endian bytes, as the web client sends them
    /// (8,192-byte frames). A sample split across two calls is joined.
    pub fn push_pcm16le(&mut self, bytes: &[u8]) -> Vec<Chunk> {
        let mut pcm = Vec::with_capacity(bytes.len() / 2 + 1);
        let mut rest = bytes;
        if let Some(low) = self.odd_byte.take() {
            match rest.split_first() {
                Some((&high, tail)) => {
                    pcm.push(i16::from_le_bytes([low, high]));
                    rest = tail;
                }
                None => self.odd_byte = Some(low),
            }
        }
        let mut pairs = rest.chunks_exact(2);
        pcm.extend(pairs.by_ref().map(|p| i16::from_le_bytes([p[0], p[1]])));
        if let [last] = pairs.remainder() {
            self.odd_byte = Some(*last);
        }
        self.push(&pcm)
    }

    /// Ends the session: the chunk being built, with the part of a frame not yet measured,
    /// unless it holds too little speech. The chunker starts empty again, its clock and noise
    /// floor going on.
    pub fn finish(&mut self) -> Option<Chunk> {
        self.odd_byte = None;
        let samples = std::mem::take(&mut self.samples);
        let speech = self.speech_frames;
        let start = self.start;
        self.start += samples.len() as u64;
        self.frames.clear();
        (self.speech_frames, self.quiet_run) = (0, 0);
        (speech >= self.min_speech_frames).then(|| Chunk {
            start_ms: samples_to_ms(start),
            samples,
            cut: Cut::End,
            speech_ms: speech as i64 * FRAME_MS,
        })
    }

    /// Measures the frame just completed at the end of `samples` and cuts where due.
    fn end_frame(&mut self, out: &mut Vec<Chunk>) {
        let frame = &self.samples[self.samples.len() - FRAME..];
        let power = frame.iter().map(|s| s * s).sum::<f32>() / FRAME as f32;
        let floor = self.floor_with(power);
        let speech = power >= floor * self.margin && power >= self.min_speech_power;
        self.frames.push(Frame { power, speech });
        if speech {
            self.speech_frames += 1;
            self.quiet_run = 0;
        } else {
            self.quiet_run += 1;
        }
        if self.speech_frames == 0 {
            self.trim_leading();
        } else if self.quiet_run >= self.pause_frames && self.frames.len() >= self.min_frames {
            self.cut(self.frames.len(), Cut::Pause, out);
        } else if self.frames.len() >= self.max_frames {
            let at = self.quietest_recent();
            self.cut(at, Cut::Forced, out);
        }
    }

    /// Adds a frame's power to the sliding minimum; the floor with it.
    fn floor_with(&mut self, power: f32) -> f32 {
        let power = power.max(10f32.powf(MIN_LEVEL_DB / 10.0));
        while self.floor.back().is_some_and(|&(_, p)| p >= power) {
            self.floor.pop_back();
        }
        self.floor.push_back((self.frame_no, power));
        while self
            .floor
            .front()
            .is_some_and(|&(n, _)| n + self.floor_frames <= self.frame_no)
        {
            self.floor.pop_front();
        }
        self.frame_no += 1;
        self.floor.front().map_or(power, |&(_, p)| p)
    }

    /// Before any speech, keeps only the pre-roll.
    fn trim_leading(&mut self) {
        let extra = self.frames.len().saturating_sub(self.pre_roll_frames);
        if extra > 0 {
            self.frames.drain(..extra);
            self.samples.drain(..extra * FRAME);
            self.start += (extra * FRAME) as u64;
        }
    }

    /// The number of frames up to and including the middle of the quietest [`QUIET_SPAN`]
    /// frames among the last `search_frames` (the latest of equally quiet ones).
    fn quietest_recent(&self) -> usize {
        let n = self.frames.len();
        let first = n - self.search_frames.min(n);
        let half = QUIET_SPAN / 2;
        let mut best = (f32::INFINITY, n);
        for middle in first..n {
            let span = middle.saturating_sub(half).max(first)..(middle + half + 1).min(n);
            let power = self.frames[span.clone()]
                .iter()
                .map(|f| f.power)
                .sum::<f32>()
                / span.len() as f32;
            if power <= best.0 {
                best = (power, middle + 1);
            }
        }
        best.1
    }

    /// Cuts the first `frames` frames off as a chunk (kept if it holds enough speech).
    fn cut(&mut self, frames: usize, cut: Cut, out: &mut Vec<Chunk>) {
        let rest = self.samples.split_off(frames * FRAME);
        let samples = std::mem::replace(&mut self.samples, rest);
        let speech = self.frames.drain(..frames).filter(|f| f.speech).count();
        let start = self.start;
        self.start += samples.len() as u64;
        self.speech_frames = self.frames.iter().filter(|f| f.speech).count();
        self.quiet_run = self.frames.iter().rev().take_while(|f| !f.speech).count();
        if self.speech_frames == 0 {
            self.trim_leading();
        }
        if speech >= self.min_speech_frames {
            out.push(Chunk {
                start_ms: samples_to_ms(start),
                samples,
                cut,
                speech_ms: speech as i64 * FRAME_MS,
            });
        }
    }
}

/// The embedded engine for live chunks: each [`Chunk`] becomes final [`Segment`]s in session
/// time. Cheap to clone (the model is shared, loaded once; clones share the language);
/// whisper.cpp's threads are the engine's ([`WhisperEngine::with_threads`]), and one engine
/// transcribes one chunk at a time.
#[derive(Debug, Clone)]
pub struct LiveWhisper {
    engine: Arc<WhisperEngine>,
    /// The session's language: detected on the first chunk with words when it was
    /// [`Spoken::Detect`], then kept (one language a session, as for a recording).
    spoken: Arc<std::sync::Mutex<Spoken>>,
}

impl LiveWhisper {
    /// Live transcription with `engine`, which may also serve recordings, in its default
    /// language ([`WhisperEngine::default_spoken`]).
    pub fn new(engine: Arc<WhisperEngine>) -> Self {
        let spoken = engine.default_spoken();
        Self::in_language(engine, spoken)
    }

    /// Live transcription with `engine` in `spoken` (e.g. from
    /// [`crate::WhisperModels::for_preference`]).
    pub fn in_language(engine: Arc<WhisperEngine>, spoken: Spoken) -> Self {
        Self {
            engine,
            spoken: Arc::new(std::sync::Mutex::new(spoken)),
        }
    }

    /// The engine it transcribes with.
    pub fn engine(&self) -> &Arc<WhisperEngine> {
        &self.engine
    }

    /// The chunk's sentences, as the recording path makes them ([`crate::sentences`]: one
    /// speaker, [`crate::SPEAKER_LABEL`]; confidence the tokens' mean probability), in time
    /// order, times in session time (ms, offset by `chunk.start_ms`) within the chunk, each
    /// ending no later than the next starts. None for a chunk without words.
    ///
    /// Blocking and CPU-bound (1 to 2 s on 2 cores, see the module's limits): from
    /// async code, call it with `tokio::task::spawn_blocking`, or use
    /// [`LiveWhisper::transcribe_async`]. Errors: [`WhisperError::Engine`] when whisper.cpp
    /// fails.
    pub fn transcribe(&self, chunk: &Chunk) -> Result<Vec<Segment>, WhisperError> {
        // A poisoned lock only means a transcription panicked; the value is whole.
        let spoken = *self.spoken.lock().unwrap_or_else(|e| e.into_inner());
        let transcription = self.engine.transcribe_samples(&chunk.samples, spoken)?;
        if spoken == Spoken::Detect
            && let Some(language) = transcription
                .language_detected
                .as_deref()
                .and_then(|l| crate::LANGUAGES.iter().find(|known| **known == l))
        {
            *self.spoken.lock().unwrap_or_else(|e| e.into_inner()) = Spoken::Known(language);
        }
        let session =
            |ms: i32| (i64::from(ms) + chunk.start_ms).clamp(0, i64::from(i32::MAX)) as i32;
        let mut segments = transcription.segments;
        for segment in &mut segments {
            segment.start_ms = session(segment.start_ms);
            segment.end_ms = session(segment.end_ms);
        }
        // Whisper's token times can let a sentence end after the next one starts.
        for i in 1..segments.len() {
            let next_start = segments[i].start_ms;
            let previous = &mut segments[i - 1];
            previous.end_ms = previous.end_ms.min(next_start).max(previous.start_ms);
        }
        Ok(segments)
    }

    /// [`LiveWhisper::transcribe`] on tokio's blocking pool. A panic inside whisper.cpp's
    /// binding is [`WhisperError::Engine`].
    pub async fn transcribe_async(&self, chunk: Chunk) -> Result<Vec<Segment>, WhisperError> {
        let live = self.clone();
        tokio::task::spawn_blocking(move || live.transcribe(&chunk))
            .await
            .map_err(|e| WhisperError::Engine(format!("the transcription thread failed: {e}")))?
    }
}

fn samples_to_ms(samples: u64) -> i64 {
    i64::try_from(samples * 1000 / u64::from(SAMPLE_RATE)).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests;
