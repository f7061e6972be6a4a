//! `meetin-local`: runs the whole product on this machine.
//!
//! ```text
//! meetin-local [serve] [--port 8000]   provision, then serve http://localhost:8000
//! meetin-local provision               create the database and the emulator's resources
//! meetin-local openapi                 print the OpenAPI document
//! ```

use std::net::SocketAddr;

use anyhow::Context;
use meetin_core::{AwsSettings, CorsOrigins, DatabaseTarget, EphemeralTable, JwtSettings, Setting};
use meetin_data::PoolSettings;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    meetin_core::telemetry::init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = args.first().map(String::as_str).unwrap_or("serve");
    match command {
        "openapi" => {
            print!("{}", meetin_local::openapi_json());
            Ok(())
        }
        "provision" => {
            provision().await?;
            println!(
                "provisioned: database, table {}, secret {}",
                EphemeralTable::from_env()?.0,
                JwtSettings::from_env()?.secret_id
            );
            Ok(())
        }
        "serve" => serve(port(&args)?).await,
        other => anyhow::bail!("unknown command {other:?}; expected serve, provision or openapi"),
    }
}

fn port(args: &[String]) -> anyhow::Result<u16> {
    match args.iter().position(|a| a == "--port") {
        Some(i) => args
            .get(i + 1)
            .context("--port needs a value")?
            .parse()
            .context("--port"),
        None => Ok(std::env::var("PORT")
            .ok()
            .and_then(|p| p.parse().ok())
            .unwrap_or(8000)),
    }
}

/// Creates what the stack needs in the database and the emulator.
async fn provision() -> anyhow::Result<()> {
    let url = match DatabaseTarget::from_env()? {
        DatabaseTarget::Url(url) => url,
        DatabaseTarget::Secret { .. } => anyhow::bail!("the local stack needs DATABASE_URL"),
    };
    meetin_test_support::provision_local(&|name| std::env::var(name).ok(), &url).await?;
    Ok(())
}

/// The meetings state; the transcription queue's URL resolved from its name
/// (`TRANSCRIPTION_QUEUE_NAME`) unless `TRANSCRIPTION_QUEUE_URL` is set.
async fn meetings_state() -> anyhow::Result<meetings::MeetingsState> {
    let env = |name: &str| std::env::var(name).ok();
    let sdk = meetin_aws::sdk_config(&AwsSettings::from_env()?).await;
    let queue_url = meetin_test_support::transcription_queue_url(&env, &sdk).await?;
    let lookup = |name: &str| {
        if name == "TRANSCRIPTION_QUEUE_URL" {
            Some(queue_url.clone())
        } else {
            std::env::var(name).ok()
        }
    };
    meetings::MeetingsState::load(&lookup, PoolSettings::LOCAL).await
}

async fn serve(port: u16) -> anyhow::Result<()> {
    provision().await?;
    let state = meetings_state().await?;
    let ctx = state.app.clone();
    let cors = CorsOrigins::from_env()?;
    let aws = AwsSettings::from_env()?;
    let app = meetin_local::app(state, &cors);

    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}; is another `make dev` running?"))?;
    println!("meetIN local stack on http://localhost:{port}");
    println!("  http      every HTTP function at its production path (GET / answers)");
    println!(
        "  aws       {} (table {})",
        aws.endpoint_url.as_deref().unwrap_or("real AWS"),
        ctx.ephemeral.table()
    );
    println!("  cors      {}", cors.0.join(", "));
    println!("  Ctrl-C stops it.");
    meetin_local::http::serve(listener, app, shutdown()).await?;
    ctx.pool.close().await;
    println!("meetIN local stack stopped");
    Ok(())
}

async fn shutdown() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return ctrl_c.await.unwrap_or(()),
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    ctrl_c.await.unwrap_or(());
}
