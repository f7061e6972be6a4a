//! Lambda entry point of the `transcription` function: wiring only.

use meetin_data::PoolSettings;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    meetin_core::telemetry::init();
    meetin_http::run_function(
        || transcription::TranscriptionState::from_env(PoolSettings::LAMBDA),
        transcription::router,
    )
    .await
}
