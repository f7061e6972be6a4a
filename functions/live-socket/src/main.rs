//! Lambda entry point of `live-socket`: wiring only.

#![recursion_limit = "256"]

use lambda_runtime::{LambdaEvent, service_fn};
use live_socket::Sockets;
use meetin_data::PoolSettings;
use meetin_service::Deps;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    meetin_core::telemetry::init();
    let sockets = Sockets::from_env(PoolSettings::LAMBDA).await?;
    let sockets = &sockets;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<_>| async move {
        Ok::<_, lambda_runtime::Error>(live_socket::handle(sockets, event.payload).await)
    }))
    .await
}
