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

/// The settings the stack's functions read: the environment, plus the transcription queue's
/// URL (resolved from `TRANSCRIPTION_QUEUE_NAME` unless `TRANSCRIPTION_QUEUE_URL` is set) and,
/// with no Deepgram key configured, the fake Deepgram's URL and key.
struct StackSettings {
    queue_url: String,
    minutes_queue_url: String,
    fake_deepgram: Option<(String, String)>,
}

impl StackSettings {
    fn get(&self, name: &str) -> Option<String> {
        match (name, &self.fake_deepgram) {
            ("TRANSCRIPTION_QUEUE_URL", _) => Some(self.queue_url.clone()),
            ("MINUTES_QUEUE_URL", _) => Some(self.minutes_queue_url.clone()),
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
    let queue_url = meetin_test_support::transcription_queue_url(&env, &sdk).await?;
    let minutes_queue_url = meetin_test_support::minutes_queue_url(&env, &sdk).await?;
    // The engine the worker will choose (TRANSCRIPTION_PROVIDER, else Deepgram with a key,
    // else the embedded Whisper). Deepgram asked for without a key: the test-support fake,
    // which speaks its pre-recorded protocol and fetches the presigned URL, stands in.
    let provider = TranscriptionProvider::from_env()?;
    let fake = if provider == TranscriptionProvider::Deepgram && !real_deepgram_configured() {
        Some(FakeDeepgram::start().await?)
    } else {
        None
    };
    let settings = StackSettings {
        queue_url: queue_url.clone(),
        minutes_queue_url: minutes_queue_url.clone(),
        fake_deepgram: fake
            .as_ref()
            .map(|f| (f.base_url.to_string(), f.api_key.clone())),
    };
    let lookup = |name: &str| settings.get(name);
    let state = meetings::MeetingsState::load_with(&lookup, &sdk, PoolSettings::LOCAL).await?;
    let transcription_state = transcription::TranscriptionState {
        app: state.app.clone(),
        jobs: transcription::MinutesJobs::new(
            state.uploads.jobs.sqs().clone(),
            minutes_queue_url.clone(),
        ),
    };
    let mut worker =
        recording_worker::Worker::load_with(&lookup, &sdk, PoolSettings::LOCAL).await?;
    worker.retries.backoff = LOCAL_RETRY_BACKOFF;
    let worker_engine = worker.engine.clone();
    let mut minutes = minutes_worker::Worker::load_with(&lookup, &sdk, PoolSettings::LOCAL).await?;
    minutes.retries.backoff = LOCAL_RETRY_BACKOFF;
    let minutes_engine = match &minutes.engine {
        minutes_worker::Engine::Llm(_) => {
            format!("{} (an LLM key is configured)", minutes.engine.model())
        }
        minutes_worker::Engine::Offline(_) => format!(
            "OFFLINE ({}): no OPENAI_API_KEY or AZURE_OPENAI_*; deterministic minutes from cue phrases. Set a key for LLM minutes.",
            minutes.engine.model()
        ),
    };
    let minutes = std::sync::Arc::new(minutes);
    let ctx = state.app.clone();
    let cors = CorsOrigins::from_env()?;
    let aws = AwsSettings::from_env()?;
    let app = meetin_local::app(state, transcription_state, &cors);

    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}; is another `make dev` running?"))?;
    let poller = tokio::spawn(meetin_local::workers::poll(
        "recording-worker",
        worker.retries.sqs.clone(),
        queue_url.clone(),
        move |event| {
            let worker = worker.clone();
            async move { recording_worker::handle(event, &worker).await }
        },
        std::future::pending(),
    ));
    let minutes_poller = tokio::spawn(meetin_local::workers::poll(
        "minutes-worker",
        minutes.retries.sqs.clone(),
        minutes_queue_url.clone(),
        move |event| {
            let minutes = minutes.clone();
            async move { minutes_worker::handle(event, &minutes).await }
        },
        std::future::pending(),
    ));
    println!("meetIN local stack on http://localhost:{port}");
    println!("  http      every HTTP function at its production path (GET / answers)");
    println!(
        "  aws       {} (table {})",
        aws.endpoint_url.as_deref().unwrap_or("real AWS"),
        ctx.ephemeral.table()
    );
    println!("  workers   recording-worker on {queue_url}");
    println!("            minutes-worker on {minutes_queue_url}");
    println!("  minutes   {minutes_engine}");
    match (&worker_engine, &fake) {
        (recording_worker::Engine::Whisper(_), _) => println!(
            "  transcribe  WHISPER tiny.en, offline in the worker (no DEEPGRAM_API_KEY): English, one speaker. Set DEEPGRAM_API_KEY for Deepgram (diarization, languages)."
        ),
        (_, Some(fake)) => println!(
            "  transcribe  FAKE Deepgram (TRANSCRIPTION_PROVIDER=deepgram, no key): the test-support fake at {}; it answers a fixed phrase.",
            fake.base_url
        ),
        (_, None) => println!(
            "  transcribe  Deepgram, the real API ({})",
            std::env::var("DEEPGRAM_BASE_URL")
                .unwrap_or_else(|_| meetin_deepgram::DEFAULT_BASE_URL.to_owned())
        ),
    }
    println!("  cors      {}", cors.0.join(", "));
    println!("  Ctrl-C stops it.");
    meetin_local::http::serve(listener, app, shutdown()).await?;
    poller.abort();
    minutes_poller.abort();
    ctx.pool.close().await;
    println!("meetIN local stack stopped");
    Ok(())
}

/// The first retry's delay of a local worker (30 s in AWS).
const LOCAL_RETRY_BACKOFF: std::time::Duration = std::time::Duration::from_secs(2);

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
