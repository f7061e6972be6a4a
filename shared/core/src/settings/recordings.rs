//! The recording pipeline's settings: the transcription engine, Deepgram's key, and the
//! bounds on a recording and on `transcribe/`'s wait.

use std::time::Duration;

use super::{Lookup, Setting, SettingsError, get};

/// How long `transcribe/` waits for the recording worker before answering 202
/// (`TRANSCRIBE_WAIT_SECONDS`, a whole number from 0 to 25; default 25): under API Gateway's
/// 30 s integration timeout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TranscribeWait(pub Duration);

impl TranscribeWait {
    /// The default and the longest wait.
    pub const MAX: Duration = Duration::from_secs(25);
}

impl Default for TranscribeWait {
    fn default() -> Self {
        Self(Self::MAX)
    }
}

impl Setting for TranscribeWait {
    fn from_lookup(lookup: Lookup<'_>) -> Result<Self, SettingsError> {
        let name = "TRANSCRIBE_WAIT_SECONDS";
        let Some(raw) = get(lookup, name) else {
            return Ok(Self::default());
        };
        match raw.trim().parse::<u64>() {
            Ok(seconds) if seconds <= Self::MAX.as_secs() => Ok(Self(Duration::from_secs(seconds))),
            _ => Err(SettingsError::Invalid {
                name,
                reason: format!("{raw:?} is not a whole number of seconds from 0 to 25"),
            }),
        }
    }
}

/// The longest recording transcribed (`MAX_RECORDING_DURATION_SECONDS`, a whole number of
/// seconds from 1 to 86,400, the `recordings.duration_ms` column's 24 h; default 4 hours).
/// A longer recording fails before either engine runs (docs/hostile-input.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MaxRecordingDuration(pub Duration);

impl MaxRecordingDuration {
    /// 4 hours, the default.
    pub const DEFAULT: Duration = Duration::from_secs(4 * 3600);

    /// The limit in ms, as the audio measure takes it.
    pub fn as_ms(self) -> u64 {
        u64::try_from(self.0.as_millis()).unwrap_or(u64::MAX)
    }
}

impl Default for MaxRecordingDuration {
    fn default() -> Self {
        Self(Self::DEFAULT)
    }
}

impl Setting for MaxRecordingDuration {
    fn from_lookup(lookup: Lookup<'_>) -> Result<Self, SettingsError> {
        let name = "MAX_RECORDING_DURATION_SECONDS";
        let Some(raw) = get(lookup, name) else {
            return Ok(Self::default());
        };
        match raw.trim().parse::<u64>() {
            Ok(seconds) if (1..=86_400).contains(&seconds) => {
                Ok(Self(Duration::from_secs(seconds)))
            }
            _ => Err(SettingsError::Invalid {
                name,
                reason: format!("{raw:?} is not a whole number of seconds from 1 to 86400"),
            }),
        }
    }
}

/// Where the recording worker finds Deepgram (docs: README, "Configuration").
///
/// - `DEEPGRAM_API_KEY`: the key itself (local runs);
/// - else `DEEPGRAM_SECRET_ID`: the Secrets Manager secret holding it (deployed; read once per
///   cold start), a plain string or a JSON object with `api_key`;
/// - `DEEPGRAM_BASE_URL`: another host (a regional one, or the local fake); default
///   `https://api.deepgram.com`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeepgramSettings {
    pub key: DeepgramKey,
    /// `DEEPGRAM_BASE_URL`, when set.
    pub base_url: Option<String>,
}

/// Where the Deepgram API key comes from.
#[derive(Clone, PartialEq, Eq)]
pub enum DeepgramKey {
    /// `DEEPGRAM_API_KEY`.
    Key(String),
    /// `DEEPGRAM_SECRET_ID`: a Secrets Manager secret id or ARN.
    Secret(String),
}

impl std::fmt::Debug for DeepgramKey {
    // The key never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Key(_) => f.write_str("Key(<redacted>)"),
            Self::Secret(id) => f.debug_tuple("Secret").field(id).finish(),
        }
    }
}

impl Setting for DeepgramSettings {
    fn from_lookup(lookup: Lookup<'_>) -> Result<Self, SettingsError> {
        let key = match (
            get(lookup, "DEEPGRAM_API_KEY"),
            get(lookup, "DEEPGRAM_SECRET_ID"),
        ) {
            (Some(key), _) => DeepgramKey::Key(key.trim().to_owned()),
            (None, Some(id)) => DeepgramKey::Secret(id),
            (None, None) => {
                return Err(SettingsError::Missing(
                    "DEEPGRAM_API_KEY or DEEPGRAM_SECRET_ID",
                ));
            }
        };
        Ok(Self {
            key,
            base_url: get(lookup, "DEEPGRAM_BASE_URL"),
        })
    }
}

/// Which engine transcribes recordings (`TRANSCRIPTION_PROVIDER`: `deepgram` or `whisper`,
/// any case). Unset or blank: Deepgram when a key is configured (`DEEPGRAM_API_KEY` or
/// `DEEPGRAM_SECRET_ID`), else the embedded Whisper engine (meetin-whisper), whose model files
/// are `WHISPER_MODEL_PATH` and `WHISPER_MULTILINGUAL_MODEL_PATH` (default: the cache
/// `infra/local/whisper-model.sh` fills).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TranscriptionProvider {
    /// Deepgram's pre-recorded API ([`DeepgramSettings`] must be set).
    Deepgram,
    /// Whisper, run in the worker: tiny.en for English, base for French and detection.
    Whisper,
}

impl Setting for TranscriptionProvider {
    fn from_lookup(lookup: Lookup<'_>) -> Result<Self, SettingsError> {
        match get(lookup, "TRANSCRIPTION_PROVIDER") {
            Some(v) => match v.trim().to_ascii_lowercase().as_str() {
                "deepgram" => Ok(Self::Deepgram),
                "whisper" => Ok(Self::Whisper),
                other => Err(SettingsError::Invalid {
                    name: "TRANSCRIPTION_PROVIDER",
                    reason: format!("{other:?} is neither \"deepgram\" nor \"whisper\""),
                }),
            },
            None if DeepgramSettings::from_lookup(lookup).is_ok() => Ok(Self::Deepgram),
            None => Ok(Self::Whisper),
        }
    }
}

/// How long each window of a long recording is, about (`TRANSCRIPTION_WINDOW_SECONDS`, a whole
/// number of seconds from 30 to 1,800; default 600): a recording longer than a window and a
/// tenth is transcribed in windows, side by side (issue 18; docs/api-decisions.md, "Long
/// recordings in windows"). 10 minutes keeps the slowest engine (Whisper on one Lambda vCPU,
/// about a third of real time) far inside a worker's 15 minutes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TranscriptionWindow(pub Duration);

impl TranscriptionWindow {
    /// 10 minutes, the default.
    pub const DEFAULT: Duration = Duration::from_secs(600);

    /// The length in ms.
    pub fn as_ms(self) -> i64 {
        i64::try_from(self.0.as_millis()).unwrap_or(i64::MAX)
    }
}

impl Default for TranscriptionWindow {
    fn default() -> Self {
        Self(Self::DEFAULT)
    }
}

impl Setting for TranscriptionWindow {
    fn from_lookup(lookup: Lookup<'_>) -> Result<Self, SettingsError> {
        let name = "TRANSCRIPTION_WINDOW_SECONDS";
        let Some(raw) = get(lookup, name) else {
            return Ok(Self::default());
        };
        match raw.trim().parse::<u64>() {
            Ok(seconds) if (30..=1_800).contains(&seconds) => {
                Ok(Self(Duration::from_secs(seconds)))
            }
            _ => Err(SettingsError::Invalid {
                name,
                reason: format!("{raw:?} is not a whole number of seconds from 30 to 1800"),
            }),
        }
    }
}

/// How many threads each Whisper engine uses (`WHISPER_THREADS`, a whole number from 1 to 8;
/// unset: the engine's default, every core up to 8). Lambda runs one engine per instance; the
/// local stack runs `WORKER_INSTANCES` engines in one process, and ggml's threads spin at
/// their barriers, so engines that each take every core slow each other down: there
/// `cores / instances` each is the fair share.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WhisperThreads(pub Option<u8>);

impl Setting for WhisperThreads {
    fn from_lookup(lookup: Lookup<'_>) -> Result<Self, SettingsError> {
        let name = "WHISPER_THREADS";
        let Some(raw) = get(lookup, name) else {
            return Ok(Self::default());
        };
        match raw.trim().parse::<u8>() {
            Ok(threads) if (1..=8).contains(&threads) => Ok(Self(Some(threads))),
            _ => Err(SettingsError::Invalid {
                name,
                reason: format!("{raw:?} is not a whole number from 1 to 8"),
            }),
        }
    }
}
