//! whisper.cpp over the decoded audio, one window at a time.
//!
//! Whisper reads 30 s at once. The audio is cut into windows of [`WINDOW_MS`]; each goes
//! through `whisper_full` (greedy decoding, English, token timestamps). Unless it is the last,
//! the window's last phrase may be cut mid-word, so it is dropped and the next window starts
//! where that phrase started (or after the whole window when it holds a single phrase). So
//! memory holds one window of samples whatever the recording's length.

use std::ffi::c_int;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use symphonia::core::io::MediaSource;
use whisper_rs::{FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters};

use crate::audio::{AudioStream, SAMPLE_RATE};
use crate::diarize::{Diarizer, Turns};
use crate::sentences::{Phrase, Sentences, Token};
use crate::{LANGUAGES, Segment, Spoken, Transcription, WhisperError};

/// The window length: Whisper's input size (ms).
pub const WINDOW_MS: u64 = 30_000;
const WINDOW: usize = (WINDOW_MS * SAMPLE_RATE as u64 / 1000) as usize;

/// whisper.cpp ignores input under 1 s; shorter windows are padded with silence to this.
const MIN_INPUT: usize = SAMPLE_RATE as usize * 1_100 / 1000;

/// The next window starts no earlier than this far into the current one (samples), so each
/// window moves on.
const MIN_ADVANCE: usize = SAMPLE_RATE as usize * 5;

/// A window whose peak stays under this (about −60 dBFS) is silence: not sent to Whisper,
/// which tends to invent words for it.
const SILENCE_PEAK: f32 = 0.001;

/// The loaded model; one transcription runs at a time (each already uses every core).
pub struct WhisperEngine {
    ctx: WhisperContext,
    path: PathBuf,
    /// `tiny.en`, `base`, …: whisper.cpp's model type, `.en` for an English-only model.
    name: String,
    multilingual: bool,
    threads: c_int,
    running: Mutex<()>,
    max_duration_ms: u64,
}

impl std::fmt::Debug for WhisperEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WhisperEngine")
            .field("path", &self.path)
            .field("name", &self.name)
            .field("threads", &self.threads)
            .finish()
    }
}

impl WhisperEngine {
    /// Loads a whisper.cpp (ggml) model file, e.g. the `ggml-tiny.en.bin` that
    /// `infra/local/whisper-model.sh` provisions. Takes about a second; do it once per cold
    /// start. whisper.cpp's own log goes to `tracing`.
    ///
    /// Errors: [`WhisperError::ModelMissing`] (naming the script) when there is no file,
    /// [`WhisperError::ModelInvalid`] when whisper.cpp refuses it.
    pub fn load(model_path: impl AsRef<Path>) -> Result<Self, WhisperError> {
        let path = model_path.as_ref().to_path_buf();
        if !path.is_file() {
            return Err(WhisperError::ModelMissing { path });
        }
        whisper_rs::install_logging_hooks();
        let invalid = |reason: String| WhisperError::ModelInvalid {
            path: path.clone(),
            reason,
        };
        let path_str = path
            .to_str()
            .ok_or_else(|| invalid("the path is not UTF-8".into()))?;
        let mut params = WhisperContextParameters::default();
        params.use_gpu(false);
        let ctx = WhisperContext::new_with_params(path_str, params)
            .map_err(|e| invalid(e.to_string()))?;
        let threads = std::thread::available_parallelism()
            .map_or(2, std::num::NonZeroUsize::get)
            .min(8) as c_int;
        let multilingual = ctx.is_multilingual();
        let kind = ctx
            .model_type_readable_str_lossy()
            .map_or_else(|_| "unknown".to_owned(), |k| k.into_owned());
        let name = if multilingual {
            kind
        } else {
            format!("{kind}.en")
        };
        Ok(Self {
            ctx,
            path,
            name,
            multilingual,
            threads,
            running: Mutex::new(()),
            max_duration_ms: crate::DEFAULT_MAX_DURATION_MS,
        })
    }

    /// The longest audio this engine transcribes (ms; default
    /// [`crate::DEFAULT_MAX_DURATION_MS`]): past it, a transcription stops with
    /// [`WhisperError::TooLong`].
    #[must_use]
    pub fn with_max_duration_ms(mut self, max_duration_ms: u64) -> Self {
        self.max_duration_ms = max_duration_ms;
        self
    }

    /// Runs each transcription on `threads` threads (at least 1) instead of every core (up to
    /// 8): for a process holding several engines side by side (the local stack's worker
    /// copies), whose threads would otherwise outnumber the cores.
    #[must_use]
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.threads = c_int::try_from(threads.max(1)).unwrap_or(c_int::MAX);
        self
    }

    /// The threads each transcription runs on.
    pub fn threads(&self) -> usize {
        usize::try_from(self.threads).unwrap_or(1)
    }

    /// The model file this engine was loaded from.
    pub fn model_path(&self) -> &Path {
        &self.path
    }

    /// The model's name: `tiny.en`, `base`, … (whisper.cpp's model type, `.en` when it only
    /// knows English).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the model knows other languages than English (and can detect the language).
    pub fn is_multilingual(&self) -> bool {
        self.multilingual
    }

    /// `transcripts.provider` of what this engine makes: `whisper-tiny.en`, `whisper-base`, …
    /// (varchar 50).
    pub fn provider(&self) -> String {
        format!("whisper-{}", self.name)
    }

    /// What [`WhisperEngine::transcribe`] and the other methods without a language transcribe
    /// in: English for an English-only model, else the language detected.
    pub fn default_spoken(&self) -> Spoken {
        if self.multilingual {
            Spoken::Detect
        } else {
            Spoken::Known("en")
        }
    }

    /// Transcribes a whole recording held in memory (any format `audio.rs` reads). CPU-bound
    /// for about a tenth of the audio's length on 2 cores: call it from a blocking thread.
    ///
    /// Bad audio gives an error for which [`WhisperError::is_bad_audio`] holds: empty, not a
    /// known container, no audio track, an unknown codec, nothing decodable. Silence or audio
    /// too short to hold a word gives a transcript without segments. A file cut short is
    /// transcribed up to the cut. Audio past [`WhisperEngine::with_max_duration_ms`] stops it
    /// with [`WhisperError::TooLong`], a bad-audio error too.
    pub fn transcribe(&self, audio: &[u8]) -> Result<Transcription, WhisperError> {
        self.transcribe_in(audio, self.default_spoken())
    }

    /// [`WhisperEngine::transcribe`] in `spoken`: a known language, or the one detected on
    /// the first window with sound ([`Spoken::Detect`], multilingual models only). Errors as
    /// there, and [`WhisperError::LanguageUnsupported`] for a language the model does not know.
    pub fn transcribe_in(
        &self,
        audio: &[u8],
        spoken: Spoken,
    ) -> Result<Transcription, WhisperError> {
        if audio.is_empty() {
            return Err(WhisperError::EmptyAudio);
        }
        self.transcribe_source_range(Box::new(Cursor::new(audio)), None, spoken)
    }

    /// [`WhisperEngine::transcribe`] reading from a file (a downloaded recording), so that not
    /// even the encoded audio needs to fit in memory.
    pub fn transcribe_file(&self, path: &Path) -> Result<Transcription, WhisperError> {
        self.transcribe_file_in(path, self.default_spoken())
    }

    /// [`WhisperEngine::transcribe_file`] in `spoken` ([`WhisperEngine::transcribe_in`]).
    pub fn transcribe_file_in(
        &self,
        path: &Path,
        spoken: Spoken,
    ) -> Result<Transcription, WhisperError> {
        let file = std::fs::File::open(path)?;
        if file.metadata()?.len() == 0 {
            return Err(WhisperError::EmptyAudio);
        }
        self.transcribe_source_range(Box::new(file), None, spoken)
    }

    /// [`WhisperEngine::transcribe_file`] of the part `from_ms..to_ms` of the recording (a
    /// window of a long one, `meetin_messages::transcript::windows`): times and duration on
    /// the window's clock, from `from_ms`. The audio before the window is decoded and skipped.
    pub fn transcribe_file_range(
        &self,
        path: &Path,
        from_ms: u64,
        to_ms: u64,
        spoken: Spoken,
    ) -> Result<Transcription, WhisperError> {
        let file = std::fs::File::open(path)?;
        if file.metadata()?.len() == 0 {
            return Err(WhisperError::EmptyAudio);
        }
        let samples = |ms: u64| ms.saturating_mul(u64::from(SAMPLE_RATE)) / 1000;
        self.transcribe_source_range(
            Box::new(file),
            Some((samples(from_ms), samples(to_ms))),
            spoken,
        )
    }

    /// `range`: the 16 kHz samples `[from, to)` to transcribe, else all of them.
    fn transcribe_source_range<'s>(
        &self,
        source: Box<dyn MediaSource + 's>,
        range: Option<(u64, u64)>,
        spoken: Spoken,
    ) -> Result<Transcription, WhisperError> {
        self.check_language(spoken)?;
        let mut stream = AudioStream::open(source, self.max_duration_ms)?;
        let (skip_to, stop_at) = range.unwrap_or((0, u64::MAX));
        // 16 kHz samples read from the stream so far, before the range's cut.
        let mut read: u64 = 0;
        let mut next_chunk =
            move |stream: &mut AudioStream<'_>| -> Result<Option<Vec<f32>>, WhisperError> {
                loop {
                    if read >= stop_at {
                        return Ok(None);
                    }
                    let Some(chunk) = stream.next_chunk()? else {
                        return Ok(None);
                    };
                    let (start, end) = (read, read + chunk.len() as u64);
                    read = end;
                    if end <= skip_to {
                        continue;
                    }
                    let from = usize::try_from(skip_to.saturating_sub(start)).unwrap_or(0);
                    let to = usize::try_from(stop_at.min(end) - start).unwrap_or(chunk.len());
                    // Whole chunks (every chunk of a whole recording) are handed on as they are.
                    if from == 0 && to == chunk.len() {
                        return Ok(Some(chunk));
                    }
                    return Ok(Some(chunk[from..to].to_vec()));
                }
            };
        // The voices, heard from the same samples as they go by (memory flat with length).
        let mut diarizer = Diarizer::new();
        let (sentences, language) = self.sentences(
            &mut || {
                let chunk = next_chunk(&mut stream)?;
                if let Some(chunk) = &chunk {
                    diarizer.push(chunk);
                }
                Ok(chunk)
            },
            spoken,
            Context::Whole,
        )?;
        if let Some(why) = &stream.cut_short {
            tracing::warn!(why, "the recording ended early; transcribed up to there");
        }
        let transcribed = match range {
            Some((from, to)) => stream.samples_out.min(to).saturating_sub(from),
            None => stream.samples_out,
        };
        let duration_ms = (transcribed * 1000 / u64::from(SAMPLE_RATE)) as i64;
        Ok(Transcription {
            language_detected: language.map(str::to_owned),
            duration_ms,
            segments: label_speakers(sentences.finish(duration_ms), &diarizer.finish()),
        })
    }

    /// Transcribes 16 kHz mono samples already in memory (-1..1; a live chunk,
    /// [`crate::live`]), through the same windows and sentences as a recording: times from
    /// the first sample, `duration_ms` the samples' length. CPU-bound (1 to 2 s for a window
    /// of up to 30 s on 2 cores, whatever its length, as whisper.cpp pads it to 30 s): call it
    /// from a blocking thread. No samples, or silence, give no segments.
    /// `spoken` as in [`WhisperEngine::transcribe_in`].
    pub fn transcribe_samples(
        &self,
        samples: &[f32],
        spoken: Spoken,
    ) -> Result<Transcription, WhisperError> {
        self.check_language(spoken)?;
        let mut pieces = samples.chunks(WINDOW);
        let (sentences, language) = self.sentences(
            &mut || Ok(pieces.next().map(<[f32]>::to_vec)),
            spoken,
            Context::Fitted,
        )?;
        let duration_ms = (samples.len() as u64 * 1000 / u64::from(SAMPLE_RATE)) as i64;
        Ok(Transcription {
            language_detected: language.map(str::to_owned),
            duration_ms,
            segments: sentences.finish(duration_ms),
        })
    }

    /// [`WhisperError::LanguageUnsupported`] when this model cannot transcribe `spoken`.
    fn check_language(&self, spoken: Spoken) -> Result<(), WhisperError> {
        match spoken {
            Spoken::Known("en") => Ok(()),
            Spoken::Known(language) if self.multilingual && LANGUAGES.contains(&language) => Ok(()),
            Spoken::Detect if self.multilingual => Ok(()),
            _ => Err(WhisperError::LanguageUnsupported {
                model: self.name.clone(),
                language: match spoken {
                    Spoken::Known(language) => language,
                    Spoken::Detect => "auto",
                },
            }),
        }
    }

    /// The language of `samples` (a window with sound) among [`LANGUAGES`]: Whisper's
    /// language detection over its first 30 s, the likeliest of ours.
    fn detect_language(
        &self,
        state: &mut whisper_rs::WhisperState,
        samples: &[f32],
    ) -> Result<&'static str, WhisperError> {
        let threads = self.threads();
        let engine = |e: whisper_rs::WhisperError| WhisperError::Engine(e.to_string());
        state.pcm_to_mel(samples, threads).map_err(engine)?;
        let (_, probabilities) = state.lang_detect(0, threads).map_err(engine)?;
        let probability = |language: &str| {
            whisper_rs::get_lang_id(language)
                .and_then(|id| usize::try_from(id).ok())
                .and_then(|id| probabilities.get(id).copied())
                .unwrap_or(0.0)
        };
        let best = LANGUAGES
            .iter()
            .copied()
            .max_by(|a, b| probability(a).total_cmp(&probability(b)))
            .unwrap_or("en");
        tracing::debug!(language = best, "language detected");
        Ok(best)
    }

    /// The sentences of the audio `next` hands out a piece at a time (16 kHz mono, `None` at
    /// its end), decoded in windows of [`WINDOW_MS`], times from its first sample, with the
    /// language they were decoded in (`None` when nothing had sound and it was to be
    /// detected). One transcription at a time per engine.
    fn sentences(
        &self,
        next: &mut dyn FnMut() -> Result<Option<Vec<f32>>, WhisperError>,
        spoken: Spoken,
        context: Context,
    ) -> Result<(Sentences, Option<&'static str>), WhisperError> {
        // A poisoned lock only means an earlier transcription panicked; the model is intact.
        let _running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        let mut state = self
            .ctx
            .create_state()
            .map_err(|e| WhisperError::Engine(e.to_string()))?;
        let mut sentences = Sentences::new();
        let mut window: Vec<f32> = Vec::with_capacity(WINDOW + SAMPLE_RATE as usize);
        let mut window_start: u64 = 0;
        let mut ended = false;
        let mut language = match spoken {
            Spoken::Known(language) => Some(language),
            Spoken::Detect => None,
        };
        loop {
            while !ended && window.len() < WINDOW {
                match next()? {
                    Some(chunk) => window.extend_from_slice(&chunk),
                    None => ended = true,
                }
            }
            if window.is_empty() {
                break;
            }
            let take = window.len().min(WINDOW);
            let last = ended && window.len() <= WINDOW;
            let offset_ms = (window_start * 1000 / u64::from(SAMPLE_RATE)) as i64;
            // Detected once, on the first window with sound, and kept: one language a
            // recording, as Deepgram's detection gives.
            if language.is_none() && has_sound(&window[..take]) {
                language = Some(self.detect_language(&mut state, &window[..take])?);
            }
            let mut phrases = match language {
                Some(language) => {
                    self.run_window(&mut state, &window[..take], offset_ms, language, context)?
                }
                None => Vec::new(),
            };
            let mut advance = take;
            // The last phrase may be cut by the window's end: do it again in the next one.
            let cut = phrases
                .last()
                .map_or(0, |p| ms_to_samples(p.start_ms - offset_ms));
            if !last && phrases.len() > 1 && (MIN_ADVANCE..take).contains(&cut) {
                phrases.pop();
                advance = cut;
            }
            for phrase in &phrases {
                sentences.push(phrase);
            }
            window.drain(..advance);
            window_start += advance as u64;
            if last {
                break;
            }
        }
        Ok((sentences, language))
    }

    /// One `whisper_full` over `samples`; the phrases with times from the start of the audio.
    fn run_window(
        &self,
        state: &mut whisper_rs::WhisperState,
        samples: &[f32],
        offset_ms: i64,
        language: &str,
        context: Context,
    ) -> Result<Vec<Phrase>, WhisperError> {
        if !has_sound(samples) {
            return Ok(Vec::new());
        }
        let padded;
        let input = if samples.len() < MIN_INPUT {
            padded = [samples, &vec![0.0; MIN_INPUT - samples.len()]].concat();
            &padded[..]
        } else {
            samples
        };
        let mut params = FullParams::new(SamplingStrategy::Greedy { best_of: 1 });
        params.set_n_threads(self.threads);
        if context == Context::Fitted {
            params.set_audio_ctx(fitted_audio_ctx(input.len()));
        }
        params.set_language(Some(language));
        params.set_translate(false);
        params.set_no_context(true);
        params.set_token_timestamps(true);
        params.set_suppress_blank(true);
        params.set_suppress_nst(true);
        params.set_print_special(false);
        params.set_print_progress(false);
        params.set_print_realtime(false);
        params.set_print_timestamps(false);
        state
            .full(params, input)
            .map_err(|e| WhisperError::Engine(e.to_string()))?;
        let eot = self.ctx.token_eot();
        let limit_ms = offset_ms + (samples.len() as i64 * 1000 / i64::from(SAMPLE_RATE));
        let at = |centiseconds: i64| (offset_ms + centiseconds * 10).min(limit_ms);
        let mut phrases = Vec::new();
        for segment in state.as_iter() {
            let mut tokens = Vec::new();
            for i in 0..segment.n_tokens() {
                let Some(token) = segment.get_token(i) else {
                    continue;
                };
                // Special tokens (end of text, timestamps, …) have ids from EOT up.
                if token.token_id() >= eot {
                    continue;
                }
                let data = token.token_data();
                let bytes = token
                    .to_bytes()
                    .map_err(|e| WhisperError::Engine(e.to_string()))?
                    .to_vec();
                tokens.push(Token {
                    bytes,
                    start_ms: at(data.t0),
                    end_ms: at(data.t1),
                    probability: data.p.clamp(0.0, 1.0),
                });
            }
            let start_ms = at(segment.start_timestamp());
            phrases.push(Phrase {
                start_ms,
                end_ms: at(segment.end_timestamp()).max(start_ms),
                tokens,
            });
        }
        Ok(phrases)
    }
}

/// Each sentence's speaker: the voice heard most during it ([`crate::diarize`]), numbered
/// `Speaker 0`, `Speaker 1`, … in order of first appearance in the sentences (a voice heard
/// only between sentences takes no number). With no turns, every sentence stays `Speaker 0`.
fn label_speakers(mut segments: Vec<Segment>, turns: &Turns) -> Vec<Segment> {
    let mut numbers: Vec<u32> = Vec::new();
    for segment in &mut segments {
        let Some(voice) = turns.speaker_in(i64::from(segment.start_ms), i64::from(segment.end_ms))
        else {
            continue;
        };
        let number = numbers.iter().position(|v| *v == voice).unwrap_or_else(|| {
            numbers.push(voice);
            numbers.len() - 1
        });
        segment.speaker_label = crate::diarize::label(u32::try_from(number).unwrap_or(u32::MAX));
    }
    segments
}

/// How much of its 30 s context the encoder reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Context {
    /// All of it, as Whisper was trained (recordings: accuracy first).
    Whole,
    /// The samples' length and a second more ([`fitted_audio_ctx`]): a few seconds of a live
    /// chunk are encoded in a fraction of the time, which keeps captions near real time.
    Fitted,
}

/// The encoder positions (whisper.cpp's `audio_ctx`, 1,500 for 30 s: one per 20 ms) that hold
/// `samples` and one more second, at most 1,500.
fn fitted_audio_ctx(samples: usize) -> c_int {
    let positions = samples.div_ceil(SAMPLE_RATE as usize / 50) + 50;
    c_int::try_from(positions.min(1_500)).unwrap_or(1_500)
}

/// Whether some sample reaches [`SILENCE_PEAK`].
fn has_sound(samples: &[f32]) -> bool {
    samples.iter().any(|s| s.abs() >= SILENCE_PEAK)
}

fn ms_to_samples(ms: i64) -> usize {
    (ms.max(0) as u64 * u64::from(SAMPLE_RATE) / 1000) as usize
}
