//! Lambda entry point of the `meetings` function: wiring only.

use meetin_data::PoolSettings;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    meetin_core::telemetry::init();
    meetin_http::run_function(
        || meetings::MeetingsState::from_env(PoolSettings::LAMBDA),
        meetings::router,
    )
    .await
}
