//! The `transcription` function's state: the shared [`AppContext`] plus the minutes queue.

use axum::extract::FromRef;
use meetin_aws::{JobQueue, aws_sdk_sqs};
use meetin_core::settings::Lookup;
use meetin_core::{MinutesQueueUrl, Setting};
use meetin_http::AppContext;
use meetin_messages::jobs::GenerateMinutes;

/// The router's state.
#[derive(Clone)]
pub struct TranscriptionState {
    pub app: AppContext,
    pub jobs: MinutesJobs,
}

impl FromRef<TranscriptionState> for AppContext {
    fn from_ref(state: &TranscriptionState) -> Self {
        state.app.clone()
    }
}

/// Where `generate_minutes` jobs go: `MINUTES_QUEUE_URL`.
pub type MinutesJobs = JobQueue<GenerateMinutes>;

impl TranscriptionState {
    /// The shared context and the minutes queue, from settings read through `lookup`
    /// (`MINUTES_QUEUE_URL` and what [`AppContext::load`] reads).
    pub async fn load(
        lookup: Lookup<'_>,
        pool_settings: meetin_data::PoolSettings,
    ) -> anyhow::Result<Self> {
        let aws = meetin_core::AwsSettings::from_lookup(lookup)?;
        let sdk = meetin_aws::sdk_config(&aws).await;
        Ok(Self {
            jobs: MinutesJobs::new(
                aws_sdk_sqs::Client::new(&sdk),
                MinutesQueueUrl::from_lookup(lookup)?.0,
            ),
            app: AppContext::load_with(lookup, &sdk, pool_settings).await?,
        })
    }

    /// [`TranscriptionState::load`] from the process environment.
    pub async fn from_env(pool_settings: meetin_data::PoolSettings) -> anyhow::Result<Self> {
        Self::load(&|name| std::env::var(name).ok(), pool_settings).await
    }
}
