//! Lambda entry point of `recording-worker`: wiring only.

use meetin_data::PoolSettings;
use meetin_worker::lambda_runtime::{self, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    meetin_core::telemetry::init();
    let worker = recording_worker::Worker::from_env(PoolSettings::LAMBDA).await?;
    lambda_runtime::run(service_fn(|event| recording_worker::handle(event, &worker))).await
}
