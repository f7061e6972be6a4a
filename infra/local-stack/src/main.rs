//! `meetin-local`: runs the whole product on this machine.
//!
//! ```text
//! meetin-local [serve] [--port 8000]   provision, then serve http://localhost:8000
//! meetin-local provision               create the database and the emulator's resources
//! meetin-local openapi                 print the OpenAPI document
//! ```

use std::net::SocketAddr;

use anyhow::Context;
use meetin_core::{
    AwsSettings, CorsOrigins, DatabaseTarget, DeepgramSettings, EphemeralTable, JwtSettings,
    Setting, TranscriptionProvider,
};
use meetin_data::PoolSettings;
use meetin_http::{AppContext, Deps};
use meetin_test_support::fake_deepgram::FakeDeepgram;

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

/// The settings the stack's functions and workers read: the environment, plus each job
/// queue's URL (resolved from `*_QUEUE_NAME` unless the URL is set) and, with no Deepgram key
/// configured, the fake Deepgram's URL and key.
struct StackSettings {
    queue_urls: Vec<(String, String)>,
    fake_deepgram: Option<(String, String)>,
    /// `BRIDGE_URL`, `BRIDGE_TASK_URL` and `WEBSOCKET_CALLBACK_URL`, unless set: the bridge's
    /// relay port and the stack's own `@connections`, from the ports bound.
    live_urls: Vec<(&'static str, String)>,
}

impl StackSettings {
    fn get(&self, name: &str) -> Option<String> {
        if let Some((_, url)) = self.queue_urls.iter().find(|(var, _)| var == name) {
            return Some(url.clone());
        }
        if let Some((_, url)) = self.live_urls.iter().find(|(var, _)| *var == name) {
            return std::env::var(name).ok().or_else(|| Some(url.clone()));
        }
        match (name, &self.fake_deepgram) {
            ("DEEPGRAM_BASE_URL", Some((url, _))) => Some(url.clone()),
            ("DEEPGRAM_API_KEY", Some((_, key))) => Some(key.clone()),
            _ => std::env::var(name).ok(),
        }
    }
}

/// Whether a real Deepgram is configured (`DEEPGRAM_API_KEY` or `DEEPGRAM_SECRET_ID`).
fn real_deepgram_configured() -> bool {
    DeepgramSettings::from_env().is_ok()
}

async fn serve(port: u16) -> anyhow::Result<()> {
    provision().await?;
    let sdk = meetin_aws::sdk_config(&AwsSettings::from_env()?).await;
    let env = |name: &str| std::env::var(name).ok();
    let queue_urls = meetin_test_support::job_queue_urls(&env, &sdk).await?;
    // The engine the recording worker will choose (TRANSCRIPTION_PROVIDER, else Deepgram with
    // a key, else the embedded Whisper). Deepgram asked for without a key: the test-support
    // fake, which speaks its pre-recorded protocol and fetches the presigned URL, stands in.
    let provider = TranscriptionProvider::from_env()?;
    let fake = if provider == TranscriptionProvider::Deepgram && !real_deepgram_configured() {
        Some(FakeDeepgram::start().await?)
    } else {
        None
    };
    // The bridge's relay port: `INTERNAL_PORT`, else any free one (two stacks on one
    // machine, as the rate-limit test runs, must not collide).
    let internal_port = std::env::var("INTERNAL_PORT")
        .ok()
        .and_then(|p| p.parse::<u16>().ok())
        .unwrap_or(0);
    let internal = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], internal_port)))
        .await
        .with_context(|| format!("binding the bridge's relay port {internal_port}"))?;
    let relay_addr = internal.local_addr()?;
    let settings = StackSettings {
        queue_urls,
        fake_deepgram: fake
            .as_ref()
            .map(|f| (f.base_url.to_string(), f.api_key.clone())),
        live_urls: vec![
            ("BRIDGE_URL", format!("http://{relay_addr}")),
            ("BRIDGE_TASK_URL", format!("http://{relay_addr}")),
            ("WEBSOCKET_CALLBACK_URL", format!("http://127.0.0.1:{port}")),
        ],
    };
    let lookup = |name: &str| settings.get(name);
    let ctx = AppContext::load_with(&lookup, &sdk, PoolSettings::LOCAL).await?;
    let cors = CorsOrigins::from_env()?;
    let aws = AwsSettings::from_env()?;
    let app = meetin_local::app(&ctx, &lookup, &sdk, &cors).await?;
    // Live transcription with no Deepgram key: the embedded Whisper engine (the bridge picks
    // it when the model is there), else the test-support fake live server, said in the banner.
    let whisper_model = meetin_whisper::model_path(&lookup).filter(|p| p.is_file());
    let fake_live = if real_deepgram_configured() || whisper_model.is_some() {
        None
    } else {
        Some(meetin_test_support::fake_deepgram_live::FakeDeepgramLive::start().await?)
    };
    let engine = fake_live.as_ref().map(|fake| {
        live_bridge::live::engine::Engine::Deepgram(meetin_deepgram::live::LiveClient::new(
            fake.base_url.clone(),
            fake.api_key.clone(),
        ))
    });
    // The upload path goes to the Fargate service's ingress, as CloudFront sends it in AWS.
    let bridge =
        live_bridge::Bridge::with_context(ctx.service.clone(), &lookup, &sdk, engine).await?;
    let callback = meetin_core::WebSocketCallbackUrl::from_lookup(&lookup)?;
    let sockets =
        live_socket::Sockets::with_context(ctx.service.clone(), &lookup, &sdk, &callback.0)?;
    let relay = live_bridge::internal_service(&bridge);
    let relay_task = tokio::spawn(async move {
        let _ = live_bridge::server::serve(
            internal,
            live_bridge::server::http1(),
            relay,
            std::future::pending(),
            std::time::Duration::from_secs(1),
        )
        .await;
    });
    let app = meetin_local::public_app(app, bridge).merge(meetin_local::socket_api(
        sockets,
        meetin_local::sockets::SocketLimits::API_GATEWAY,
    ));
    let mut workers = Vec::new();
    for worker in meetin_local::workers::WORKERS {
        workers.push(worker.start(&lookup, &sdk).await?);
    }

    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}; is another `make dev` running?"))?;
    println!("meetIN local stack on http://localhost:{port}");
    let names: Vec<&str> = meetin_local::FUNCTIONS.iter().map(|f| f.name).collect();
    println!(
        "  http      {} at their production paths (GET / answers)",
        names.join(", ")
    );
    println!(
        "  ingress   POST /api/meetings/{{id}}/recordings/upload/ by live-bridge (the Fargate service's code): streamed to S3, up to 500 MB"
    );
    println!(
        "  aws       {} (table {})",
        aws.endpoint_url.as_deref().unwrap_or("real AWS"),
        ctx.ephemeral.table()
    );
    for running in &workers {
        println!("  worker    {} on {}", running.name, running.queue_url);
        println!("            {}", running.description);
    }
    if let Some(fake) = &fake {
        println!(
            "  transcribe  FAKE Deepgram (TRANSCRIPTION_PROVIDER=deepgram, no key): the test-support fake at {}; it answers a fixed phrase.",
            fake.base_url
        );
    }
    println!(
        "  live      ws://localhost:{port}/ws?meeting_id=&token= (API Gateway's WebSocket API: live-socket's handler, @connections) and ws://localhost:{port}/ws/meetings/{{id}}/live/?token= (the frontend's, binary audio, by live-bridge); the bridge's relay on {relay_addr}"
    );
    if real_deepgram_configured() {
        println!(
            "  live      Deepgram live (DEEPGRAM_API_KEY): nova-3, diarization, interim results"
        );
    } else if let Some(model) = &whisper_model {
        let multilingual = meetin_whisper::multilingual_model_path(&lookup)
            .filter(|p| p.is_file())
            .map_or_else(
                || "missing: run infra/local/whisper-model.sh".to_owned(),
                |p| p.display().to_string(),
            );
        println!(
            "  live      embedded Whisper (no DEEPGRAM_API_KEY): en {}, fr and auto {multilingual}; audio cut at pauses, each chunk's words sent as finals (one speaker, no interims). Set DEEPGRAM_API_KEY for Deepgram.",
            model.display()
        );
    }
    if let Some(fake) = &fake_live {
        println!(
            "  live      FAKE Deepgram live (no DEEPGRAM_API_KEY): the test-support fake at {}; it answers tone speech, else a fixed phrase. Set DEEPGRAM_API_KEY for real captions.",
            fake.base_url
        );
    }
    println!("  cors      {}", cors.0.join(", "));
    println!("  Ctrl-C stops it.");
    meetin_local::http::serve(listener, app, shutdown()).await?;
    for running in workers {
        running.task.abort();
    }
    relay_task.abort();
    ctx.pool.close().await;
    println!("meetIN local stack stopped");
    // Now, not when the runtime drops: that waits for blocking threads, and a Whisper window
    // runs on one for minutes. What it was doing is redelivered to the next run.
    std::process::exit(0)
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
