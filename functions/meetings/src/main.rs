//! Lambda entry point of the `meetings` function: wiring only.

use meetin_data::PoolSettings;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    meetin_core::telemetry::init();
    meetin_http::run_on_lambda_starting(|| async {
        // The state first, so its reads are on their way while the routes are built.
        let (state, routes) = tokio::join!(
            meetings::MeetingsState::from_env(PoolSettings::LAMBDA),
            async { meetings::router() }
        );
        Ok(meetin_http::finish_router(routes.with_state(state?)))
    })
    .await
}
