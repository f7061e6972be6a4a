//! Lambda entry point of `recording-worker`: wiring only.

use lambda_runtime::service_fn;
use meetin_data::PoolSettings;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    meetin_core::telemetry::init();
    let worker = recording_worker::Worker::from_env(PoolSettings::LAMBDA).await?;
    lambda_runtime::run(service_fn(|event| recording_worker::handle(event, &worker))).await
}
