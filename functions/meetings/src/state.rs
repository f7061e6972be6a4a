//! The `meetings` function's state: the shared [`AppContext`] plus what only recordings need,
//! the S3 bucket and the transcription queue (built by [`crate::Api`]'s `HttpFunction::state`).

use std::time::Duration;

use axum::extract::FromRef;
use meetin_aws::aws_config::SdkConfig;
use meetin_aws::{JobQueue, aws_sdk_s3, aws_sdk_sqs};
use meetin_core::settings::Lookup;
use meetin_core::{
    RecordingsBucket, Setting, SettingsError, TranscribeWait, TranscriptionQueueUrl,
};
use meetin_http::AppContext;
use meetin_messages::jobs::TranscribeRecording;

/// The router's state.
#[derive(Clone)]
pub struct MeetingsState {
    pub app: AppContext,
    pub uploads: Uploads,
    pub bridge: LiveBridge,
}

impl FromRef<MeetingsState> for LiveBridge {
    fn from_ref(state: &MeetingsState) -> Self {
        state.bridge.clone()
    }
}

/// The live bridge fleet, which `live/start/` and `live/stop/` drive.
#[derive(Clone, Debug)]
pub struct LiveBridge {
    /// The fleet's private address (`BRIDGE_URL`); `None`: no live backend, a start fails.
    pub url: Option<String>,
    pub relay: meetin_live::RelayClient,
    /// Which task serves a meeting's session.
    pub routes: meetin_aws::LiveRoutes,
}

impl LiveBridge {
    /// The fleet named by `BRIDGE_URL`, the routes in the context's ephemeral table.
    pub fn load(lookup: Lookup<'_>, app: &AppContext) -> Self {
        Self {
            url: lookup("BRIDGE_URL")
                .map(|u| u.trim().trim_end_matches('/').to_owned())
                .filter(|u| !u.is_empty()),
            relay: meetin_live::RelayClient::new(),
            routes: meetin_aws::LiveRoutes::new(
                app.service.ephemeral.client().clone(),
                app.service.ephemeral.table(),
            ),
        }
    }
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
    /// How long `transcribe/` waits for the worker ([`TranscribeWait`]: under API
    /// Gateway's 30 s integration timeout).
    pub transcribe_wait: Duration,
}

impl Uploads {
    /// The bucket and its client as the shared upload code takes them.
    pub fn store(&self) -> meetin_recordings::RecordingStore {
        meetin_recordings::RecordingStore {
            s3: self.s3.clone(),
            bucket: self.bucket.clone(),
        }
    }

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
            transcribe_wait: TranscribeWait::from_lookup(lookup)?.0,
        })
    }
}
