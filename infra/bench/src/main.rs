//! `meetin-bench`: what `make bench` runs. Everything happens on this machine:
//!
//! 1. cold starts through a Lambda Runtime API served by this program ([`cold_start`]): the
//!    `auth` function and a lambda_http "hello world" (`hello-lambda`, built in the same
//!    run), each timed from spawn to its first response, then invoked again warm;
//! 2. warm latency of `GET /api/auth/profile/` at 1, 16 and 64 connections, of
//!    `POST /api/auth/login/`, and of `GET /api/meetings/` (20 meetings, each with a live
//!    session, a recording and two speakers) at 1 and 16, through
//!    `target/release/meetin-local serve` ([`load`]);
//! 3. the DynamoDB calls per 1,000 profile requests, counted by a proxy between a second
//!    local stack and the emulator ([`counting_proxy`]);
//! 4. peak and idle RSS of a third local stack around 100 parallel logins ([`memory`]);
//! 5. the minutes worker's own time on 1-hour and 3-hour transcripts, with the LLM engine (a
//!    fake OpenAI answering at once) and the offline engine ([`minutes`]).
//!
//! `transcribe` (run by `make bench` after these) times a long recording's transcription in
//! windows with 1, 2 and 4 workers ([`transcribe`]); `live` (`make bench-live`) measures live
//! transcription: added latency, fan-out, the bridge's CPU and memory per session ([`live`]).
//!
//! ```text
//! meetin-bench [--cold-starts 10] [--warm-invocations 20] [--warmup 20]
//!              [--profile-requests 1000] [--login-requests 200] [--meetings-requests 1000]
//!              [--minutes-runs 3]
//!              [--connections 1,16,64]
//!              [--count-requests 1000] [--parallel-logins 100] [--idle-secs 5]
//!              [--phase-timeout-secs 180]
//! meetin-bench stack [--port 8765] [--binary target/debug/meetin-local] [--log FILE]
//! meetin-bench minutes [--minutes-runs 3]
//! meetin-bench transcribe [--minutes 60] [--workers 1,2,4] [--engines deepgram,whisper] …
//! meetin-bench live [--parts latency,fanout,sessions] [--listeners 100,1000] …
//! ```
//!
//! `stack` starts a local stack with raised rate limits, registers a user, prints
//! `ACCESS_TOKEN=<jwt>` on stdout and serves until SIGINT or SIGTERM (`make fuzz` uses it).
//!
//! It expects PostgreSQL and the AWS emulator to be up and provisioned (`make setup`) and
//! the release binaries built (`make bench` does both).

mod cold_start;
mod counting_proxy;
mod live;
mod load;
mod memory;
mod minutes;
mod paths;
mod report;
mod runtime_api;
mod stack_command;
mod transcribe;

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use meetin_test_support::stack::{Account, LocalStack, RAISED_RATE_LIMITS, free_port};

pub(crate) use paths::{Paths, repo_root, require_local_service, target_dir};

const USAGE: &str = "usage: meetin-bench [--cold-starts 10] [--warm-invocations 20] [--warmup 20] \
[--profile-requests 1000] [--login-requests 200] [--meetings-requests 1000] [--minutes-runs 3] [--connections 1,16,64] \
[--count-requests 1000] [--parallel-logins 100] [--idle-secs 5] [--phase-timeout-secs 180]
       meetin-bench stack [--port 8765] [--binary target/debug/meetin-local] [--log FILE]
       meetin-bench minutes [--minutes-runs 3]
       meetin-bench transcribe --help
       meetin-bench live --help";

/// How long a process may take to start and answer its first request.
const START_TIMEOUT: Duration = Duration::from_secs(30);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // The client shares the 2 cores with the processes it measures: one thread keeps its
    // share small. `transcribe` runs the workers in this process, `live` the live path (and
    // the sessions' feeders and fake Deepgram): the local stack's runtime.
    let runtime = match args.first().map(String::as_str) {
        Some("transcribe" | "live") => tokio::runtime::Builder::new_multi_thread(),
        _ => tokio::runtime::Builder::new_current_thread(),
    }
    .enable_all()
    .build()
    .expect("a Tokio runtime");
    let result = runtime.block_on(async {
        match args.first().map(String::as_str) {
            Some("stack") => stack_command::run(args.into_iter().skip(1)).await,
            Some("minutes") => minutes_only(args.into_iter().skip(1)).await,
            Some("transcribe") => transcribe::run(args.into_iter().skip(1)).await,
            Some("live") => live::run(args.into_iter().skip(1)).await,
            _ => run(args.into_iter()).await,
        }
    });
    // The message alone (with its causes), not a backtrace: these failures are about setup.
    if let Err(err) = result {
        eprintln!("meetin-bench: {err:#}");
        std::process::exit(1);
    }
}

async fn run(args: impl Iterator<Item = String>) -> anyhow::Result<()> {
    let options = Options::parse(args)?;
    let paths = Paths::locate()?;
    let settings = meetin_test_support::local_settings(&paths.root)?;

    // Fail before measuring anything if a piece is missing.
    let auth_binary = paths.binary("auth")?;
    let hello_binary = paths.binary("hello-lambda")?;
    let local_binary = paths.binary("meetin-local")?;
    require_local_service(&settings, "DATABASE_URL", "PostgreSQL", 5432).await?;
    require_local_service(&settings, "AWS_ENDPOINT_URL", "the AWS emulator", 80).await?;

    report::print_header(&options);
    let client = http_client()?;
    let stack_env = raised(&settings);

    // The latency stack registers the user whose token every part uses (the functions and
    // the local stacks share the `meetin` database and the signing key in the emulator).
    let mut stack = start_stack(&local_binary, &paths, "meetin-local", &stack_env, &client).await?;
    let stack_log = |stack: &LocalStack| {
        format!(
            "the local stack (its log: {})",
            stack
                .log()
                .map_or_else(String::new, |l| l.display().to_string())
        )
    };
    let outcome = async {
        let account = stack
            .register_user(&client, "bench")
            .await
            .with_context(|| stack_log(&stack))?;
        let lambdas = cold_start::bench(
            &options,
            &paths,
            &stack_env,
            &account,
            &hello_binary,
            &auth_binary,
        )
        .await?;
        let meetings_account = stack
            .register_user(&client, "benchm")
            .await
            .with_context(|| stack_log(&stack))?;
        let database_url = settings
            .get("DATABASE_URL")
            .context("DATABASE_URL is not set")?;
        load::seed_meetings(database_url, &meetings_account).await?;
        let http = load::bench(
            &options,
            &client,
            &stack.base_url(),
            &account,
            &meetings_account,
        )
        .await
        .with_context(|| stack_log(&stack))?;
        anyhow::Ok((account, lambdas, http))
    }
    .await;
    stack.stop().await;
    let (account, lambdas, http) = outcome?;

    let counts = counting_proxy::bench(
        &options,
        &paths,
        &local_binary,
        &settings,
        &client,
        &account,
    )
    .await?;
    let memory = memory::bench(&options, &paths, &local_binary, &stack_env, &client).await?;
    let minutes = minutes::bench(&settings, options.minutes_runs).await?;

    report::print_lambdas(&options, &lambdas)?;
    report::print_http(&options, &http);
    report::print_counts(&options, &counts);
    report::print_memory(&options, &memory);
    minutes::print(&minutes);

    let failed = http.iter().map(|row| row.sample.errors).sum::<usize>() + memory.logins.errors;
    ensure!(
        failed == 0,
        "{failed} requests through the local stacks failed (see the tables above and {})",
        paths.logs.display()
    );
    Ok(())
}

/// `meetin-bench minutes [--minutes-runs 3]`: only the minutes worker's phase.
async fn minutes_only(args: impl Iterator<Item = String>) -> anyhow::Result<()> {
    let options = Options::parse(args)?;
    let paths = Paths::locate()?;
    let settings = meetin_test_support::local_settings(&paths.root)?;
    require_local_service(&settings, "DATABASE_URL", "PostgreSQL", 5432).await?;
    report::print_header(&options);
    let rows = minutes::bench(&settings, options.minutes_runs).await?;
    minutes::print(&rows);
    Ok(())
}

/// The settings with [`RAISED_RATE_LIMITS`] on top, in the benchmark's own ephemeral table.
fn raised(settings: &HashMap<String, String>) -> HashMap<String, String> {
    let mut env = settings.clone();
    env.extend(
        RAISED_RATE_LIMITS
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    // A table of its own (each stack creates it at start): the benchmark's thousands of
    // requests a minute from 127.0.0.1 would otherwise fill that address's windows in the
    // table `make dev` uses, and a `make dev` started right after would throttle at once.
    env.insert(
        "EPHEMERAL_TABLE".to_owned(),
        BENCH_EPHEMERAL_TABLE.to_owned(),
    );
    env
}

/// The ephemeral table of every process the benchmark starts.
const BENCH_EPHEMERAL_TABLE: &str = "meetin-bench-ephemeral";

/// Only ever 127.0.0.1: no proxy from the environment.
fn http_client() -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(REQUEST_TIMEOUT)
        .build()
        .context("building the HTTP client")
}

/// `meetin-local serve` on a free port, its output in `target/bench/{name}.log`, answering.
async fn start_stack(
    binary: &Path,
    paths: &Paths,
    name: &str,
    env: &HashMap<String, String>,
    client: &reqwest::Client,
) -> anyhow::Result<LocalStack> {
    let log = paths.logs.join(format!("{name}.log"));
    let mut stack = LocalStack::start(binary, free_port()?, env, Some(&log))?;
    let took = stack.wait_ready(client, START_TIMEOUT).await?;
    eprintln!(
        "[bench] {name} answering on {} after {} ms",
        stack.base_url(),
        took.as_millis()
    );
    Ok(stack)
}

/// A user for a part that needs its own (the `meetin` dev database keeps it).
async fn register(stack: &LocalStack, client: &reqwest::Client) -> anyhow::Result<Account> {
    stack.register_user(client, "bench").await
}

// ---------------------------------------------------------------------------------------
// Options, paths and settings

#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub cold_starts: usize,
    pub warm_invocations: usize,
    pub warmup: usize,
    pub profile_requests: usize,
    pub login_requests: usize,
    /// Requests per meetings-list phase.
    pub meetings_requests: usize,
    /// Minutes jobs per engine and transcript length.
    pub minutes_runs: usize,
    /// Concurrent connections of the profile phases, in order.
    pub connections: Vec<usize>,
    /// Profile requests through the counting proxy.
    pub count_requests: usize,
    pub parallel_logins: usize,
    /// How long after the parallel logins the idle RSS is read.
    pub idle: Duration,
    pub phase_timeout: Duration,
}

impl Options {
    fn parse(mut args: impl Iterator<Item = String>) -> anyhow::Result<Self> {
        let mut options = Self {
            cold_starts: 10,
            warm_invocations: 20,
            warmup: 20,
            profile_requests: 1000,
            login_requests: 200,
            meetings_requests: 1000,
            minutes_runs: 3,
            connections: vec![1, 16, 64],
            count_requests: 1000,
            parallel_logins: 100,
            idle: Duration::from_secs(5),
            phase_timeout: Duration::from_secs(180),
        };
        while let Some(flag) = args.next() {
            if flag == "-h" || flag == "--help" {
                println!("{USAGE}");
                std::process::exit(0);
            }
            let value = args
                .next()
                .with_context(|| format!("{flag} needs a value\n{USAGE}"))?;
            let number = |v: &str| -> anyhow::Result<usize> {
                v.trim()
                    .parse()
                    .with_context(|| format!("{flag} {v:?} is not a whole number"))
            };
            match flag.as_str() {
                "--cold-starts" => options.cold_starts = number(&value)?,
                "--warm-invocations" => options.warm_invocations = number(&value)?,
                "--warmup" => options.warmup = number(&value)?,
                "--profile-requests" => options.profile_requests = number(&value)?,
                "--login-requests" => options.login_requests = number(&value)?,
                "--meetings-requests" => options.meetings_requests = number(&value)?,
                "--minutes-runs" => options.minutes_runs = number(&value)?.max(1),
                "--connections" => {
                    options.connections = value.split(',').map(number).collect::<Result<_, _>>()?;
                }
                "--count-requests" => options.count_requests = number(&value)?,
                "--parallel-logins" => options.parallel_logins = number(&value)?,
                "--idle-secs" => options.idle = Duration::from_secs(number(&value)? as u64),
                "--phase-timeout-secs" => {
                    options.phase_timeout = Duration::from_secs(number(&value)? as u64);
                }
                other => bail!("unknown option {other:?}\n{USAGE}"),
            }
        }
        ensure!(options.cold_starts >= 1, "--cold-starts must be at least 1");
        ensure!(
            !options.connections.is_empty() && options.connections.iter().all(|&c| c >= 1),
            "--connections must be a list of numbers of at least 1, such as 1,16,64"
        );
        ensure!(
            options.profile_requests >= 1
                && options.login_requests >= 1
                && options.count_requests >= 1
                && options.parallel_logins >= 1,
            "--profile-requests, --login-requests, --count-requests and --parallel-logins \
             must be at least 1"
        );
        Ok(options)
    }
}
