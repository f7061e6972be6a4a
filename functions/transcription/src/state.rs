//! The `transcription` function's state: the shared [`AppContext`] plus the minutes queue
//! (built by [`crate::Api`]'s `HttpFunction::state`).

use axum::extract::FromRef;
use meetin_aws::JobQueue;
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
