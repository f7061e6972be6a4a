//! Lambda entry point of the `transcription` function: wiring only.

use meetin_data::PoolSettings;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    meetin_core::telemetry::init();
    meetin_http::run_on_lambda_starting(|| async {
        Ok(transcription::app(
            transcription::TranscriptionState::from_env(PoolSettings::LAMBDA).await?,
        ))
    })
    .await
}
