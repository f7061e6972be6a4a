//! Lambda entry point of `minutes-worker`: wiring only.

use lambda_runtime::service_fn;
use meetin_data::PoolSettings;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    meetin_core::telemetry::init();
    let worker = minutes_worker::Worker::from_env(PoolSettings::LAMBDA).await?;
    lambda_runtime::run(service_fn(|event| minutes_worker::handle(event, &worker))).await
}
