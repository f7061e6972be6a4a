//! The `meetings` function's state: the shared [`AppContext`] plus what only recordings need,
//! the S3 bucket and the transcription queue.

use std::time::Duration;

use axum::extract::FromRef;
use meetin_aws::aws_config::SdkConfig;
use meetin_aws::{JobQueue, aws_sdk_s3, aws_sdk_sqs};
use meetin_core::settings::Lookup;
use meetin_core::{RecordingsBucket, Setting, SettingsError, TranscriptionQueueUrl};
use meetin_http::AppContext;
use meetin_messages::jobs::TranscribeRecording;

/// The router's state.
#[derive(Clone)]
pub struct MeetingsState {
    pub app: AppContext,
    pub uploads: Uploads,
}

impl FromRef<MeetingsState> for AppContext {
    fn from_ref(state: &MeetingsState) -> Self {
        state.app.clone()
    }
}

/// Where recordings go and where their transcription is queued.
#[derive(Clone, Debug)]
pub struct Uploads {
    /// Path-style against an endpoint override (see `meetin_aws::s3_client`).
    pub s3: aws_sdk_s3::Client,
    /// `RECORDINGS_BUCKET`.
    pub bucket: String,
    /// `TRANSCRIPTION_QUEUE_URL`: where the recording worker's jobs go.
    pub jobs: JobQueue<TranscribeRecording>,
    /// How long `transcribe/` waits for the worker (`TRANSCRIBE_WAIT_SECONDS`, 0..=25,
    /// default [`DEFAULT_TRANSCRIBE_WAIT`]): under API Gateway's 30 s integration timeout.
    pub transcribe_wait: Duration,
}

/// `transcribe/`'s default wait.
pub const DEFAULT_TRANSCRIBE_WAIT: Duration = Duration::from_secs(25);

/// `TRANSCRIBE_WAIT_SECONDS`, 0..=25.
fn transcribe_wait(lookup: Lookup<'_>) -> Result<Duration, SettingsError> {
    let Some(raw) = lookup("TRANSCRIBE_WAIT_SECONDS").filter(|v| !v.trim().is_empty()) else {
        return Ok(DEFAULT_TRANSCRIBE_WAIT);
    };
    match raw.trim().parse::<u64>() {
        Ok(seconds) if seconds <= DEFAULT_TRANSCRIBE_WAIT.as_secs() => {
            Ok(Duration::from_secs(seconds))
        }
        _ => Err(SettingsError::Invalid {
            name: "TRANSCRIBE_WAIT_SECONDS",
            reason: format!("{raw:?} is not a whole number of seconds from 0 to 25"),
        }),
    }
}

impl Uploads {
    /// The clients for `sdk` and the bucket and queue named by the settings
    /// (`RECORDINGS_BUCKET`, `TRANSCRIPTION_QUEUE_URL`, `TRANSCRIBE_WAIT_SECONDS`).
    pub fn load(lookup: Lookup<'_>, sdk: &SdkConfig) -> Result<Self, SettingsError> {
        Ok(Self {
            s3: meetin_aws::s3_client(sdk),
            bucket: RecordingsBucket::from_lookup(lookup)?.0,
            jobs: JobQueue::new(
                aws_sdk_sqs::Client::new(sdk),
                TranscriptionQueueUrl::from_lookup(lookup)?.0,
            ),
            transcribe_wait: transcribe_wait(lookup)?,
        })
    }
}

impl MeetingsState {
    /// The shared context and the upload clients, from settings read through `lookup`.
    pub async fn load(
        lookup: Lookup<'_>,
        pool_settings: meetin_data::PoolSettings,
    ) -> anyhow::Result<Self> {
        let sdk = meetin_aws::sdk_config_from(lookup).await?;
        Self::load_with(lookup, &sdk, pool_settings).await
    }

    /// [`MeetingsState::load`] with an SDK configuration the caller already loaded (the
    /// local stack shares one between its functions and workers).
    pub async fn load_with(
        lookup: Lookup<'_>,
        sdk: &meetin_aws::aws_config::SdkConfig,
        pool_settings: meetin_data::PoolSettings,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            uploads: Uploads::load(lookup, sdk)?,
            app: AppContext::load_with(lookup, sdk, pool_settings).await?,
        })
    }

    /// [`MeetingsState::load`] from the process environment.
    pub async fn from_env(pool_settings: meetin_data::PoolSettings) -> anyhow::Result<Self> {
        Self::load(&|name| std::env::var(name).ok(), pool_settings).await
    }
}
