//! Lambda entry point of `minutes-worker`: wiring only.

// The start-up future nests deep (from_env, load, load_with, the joined secret reads): its
// layout needs more than the default 128 query levels. Compile time only.
#![recursion_limit = "256"]

#[tokio::main]
async fn main() -> Result<(), meetin_worker::lambda_runtime::Error> {
    meetin_core::telemetry::init();
    meetin_worker::run::<minutes_worker::Worker>().await
}
