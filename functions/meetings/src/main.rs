//! Lambda entry point of the `meetings` function: wiring only.

// The start-up future nests deep (state, context, service context, three joined loads):
// its layout needs more than the default 128 query levels. Compile time only.
#![recursion_limit = "256"]

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    meetin_core::telemetry::init();
    meetin_http::function::run::<meetings::Api>().await
}
