//! Entry point of the `live-bridge` Fargate service: wiring only.

// The start-up future nests deep (from_env, load, load_with, the joined secret reads): its
// layout needs more than the default 128 query levels. Compile time only.
#![recursion_limit = "256"]

use live_bridge::{Bridge, DEFAULT_PORT};
use meetin_data::PoolSettings;
use meetin_service::Deps;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    meetin_core::telemetry::init();
    let bridge = Bridge::from_env(PoolSettings::SERVICE).await?;
    let port = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(DEFAULT_PORT);
    let internal_port = std::env::var("INTERNAL_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(live_bridge::live::DEFAULT_INTERNAL_PORT);
    let listener = tokio::net::TcpListener::bind(("0.0.0.0", port)).await?;
    let internal = tokio::net::TcpListener::bind(("0.0.0.0", internal_port)).await?;
    tracing::info!(port, internal_port, task = %bridge.live.task.url, "live-bridge listening");
    let relay = live_bridge::server::serve(
        internal,
        live_bridge::server::http1(),
        live_bridge::internal_service(&bridge),
        live_bridge::server::terminated(),
        live_bridge::server::FARGATE_DRAIN,
    );
    let public = live_bridge::server::serve(
        listener,
        live_bridge::server::http1(),
        live_bridge::service(bridge),
        live_bridge::server::terminated(),
        live_bridge::server::FARGATE_DRAIN,
    );
    tokio::try_join!(relay, public)?;
    Ok(())
}
