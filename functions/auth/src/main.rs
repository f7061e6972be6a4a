//! Lambda entry point of the `auth` function: wiring only.

use meetin_data::PoolSettings;
use meetin_http::AppContext;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    meetin_core::telemetry::init();
    meetin_http::run_function(|| AppContext::from_env(PoolSettings::LAMBDA), auth::router).await
}
