//! Lambda entry point of the `transcription` function: wiring only.

use meetin_data::PoolSettings;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    meetin_core::telemetry::init();
    let state = transcription::TranscriptionState::from_env(PoolSettings::LAMBDA).await?;
    meetin_http::run_on_lambda(transcription::app(state)).await
}
