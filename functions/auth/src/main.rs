//! Lambda entry point of the `auth` function: wiring only.

use meetin_data::PoolSettings;
use meetin_http::AppContext;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    meetin_core::telemetry::init();
    meetin_http::run_on_lambda_starting(|| async {
        // The state first, so its reads are on their way while the routes are built.
        let (state, routes) = tokio::join!(AppContext::from_env(PoolSettings::LAMBDA), async {
            auth::router()
        });
        Ok(meetin_http::finish_router(routes.with_state(state?)))
    })
    .await
}
