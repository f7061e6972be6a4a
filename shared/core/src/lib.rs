//! The domain core shared by every deployable. It stands on nothing of ours and on no AWS
//! SDK, database driver or web framework (`infra/ci/check-layering.sh` enforces it): plain
//! settings parsed from the environment, the tenant-access rule, refusals rendered in the
//! contract's shapes, tokens, password hashing, input validation, pagination and the small
//! domain values (roles; timestamps on the wire are `meetin_vocab::drf::DateTime`).

pub mod access;
pub mod jwt;
pub mod media;
pub mod pagination;
pub mod password;
pub mod refusal;
pub mod role;
pub mod settings;
pub mod telemetry;
pub mod validation;

pub use access::{Access, Denied};
pub use refusal::Refusal;
pub use role::Role;
pub use settings::{
    AwsSettings, CopilotQueueUrl, CorsOrigins, DatabaseTarget, DeepgramKey, DeepgramSettings,
    EphemeralTable, JwtSettings, LlmSecretId, LoginBackoff, MaxRecordingDuration, MinutesQueueUrl,
    RateLimits, RecordingsBucket, RefreshReuseGrace, RetryBackoff, Setting, SettingsError,
    TranscribeWait, TranscriptionProvider, TranscriptionQueueUrl, TranscriptionWindow,
    WebSocketCallbackUrl, WhisperThreads,
};
