//! `meetin-bench`: what `make bench` runs. Everything happens on this machine:
//!
//! 1. the `auth` Lambda's cold start: `target/release/auth` is started against a Lambda
//!    Runtime API served by this program, timed from spawn to its first response, then
//!    invoked again warm; its peak RSS is read before it is killed;
//! 2. warm latency of `GET /api/auth/profile/` and `POST /api/auth/login/` through
//!    `target/release/meetin-local serve`;
//! 3. the size of `target/release/auth`.
//!
//! ```text
//! meetin-bench [--cold-starts 10] [--warm-invocations 20] [--warmup 20]
//!              [--profile-requests 500] [--login-requests 200] [--concurrency 8]
//!              [--phase-timeout-secs 180]
//! ```
//!
//! It expects PostgreSQL and the AWS emulator to be up and provisioned (`make setup`) and
//! the release binaries built (`make bench` does both).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail, ensure};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use reqwest::Url;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};
use tokio::sync::{Mutex, mpsc};
use tokio::task::{JoinHandle, JoinSet};
use uuid::Uuid;

const USAGE: &str = "usage: meetin-bench [--cold-starts 10] [--warm-invocations 20] [--warmup 20] \
[--profile-requests 500] [--login-requests 200] [--concurrency 8] [--phase-timeout-secs 180]";

/// The contract's limits (10 auth requests a minute per address, 120 requests a minute per
/// user) would throttle a benchmark after a few requests, so both processes get these.
const RAISED_RATE_LIMITS: [(&str, &str); 2] = [
    ("RATE_LIMIT_AUTH_PER_MINUTE", "1000000"),
    ("RATE_LIMIT_USER_PER_MINUTE", "1000000"),
];

const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:auth";
/// Placeholders in events/auth/profile.json.
const SAMPLE_TOKEN: &str = "REPLACE_WITH_ACCESS_TOKEN";
const SAMPLE_SOURCE_IP: &str = "203.0.113.10";
/// Passes the registration rules (length, zxcvbn strength).
const PASSWORD: &str = "plum-harbor-71-lantern";

/// How long a process may take to start and answer its first request.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// The function's timeout in template.yaml; also the deadline the Runtime API announces.
const INVOCATION_TIMEOUT: Duration = Duration::from_secs(10);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

// The client shares the 2 cores with the processes it measures: one thread keeps its
// share small, and a handful of concurrent requests need no more.
#[tokio::main(flavor = "current_thread")]
async fn main() {
    // The message alone (with its causes), not a backtrace: these failures are about setup.
    if let Err(err) = run().await {
        eprintln!("meetin-bench: {err:#}");
        std::process::exit(1);
    }
}

async fn run() -> anyhow::Result<()> {
    let options = Options::parse(std::env::args().skip(1))?;
    let paths = Paths::locate()?;
    let settings = meetin_test_support::local_settings(&paths.root)?;

    // Fail before measuring anything if a piece is missing.
    let auth_binary = paths.binary("auth")?;
    let local_binary = paths.binary("meetin-local")?;
    require_local_service(&settings, "DATABASE_URL", "PostgreSQL", 5432).await?;
    require_local_service(&settings, "AWS_ENDPOINT_URL", "the AWS emulator", 80).await?;

    print_header(&options);

    let client = reqwest::Client::builder()
        .no_proxy() // only ever 127.0.0.1
        .timeout(REQUEST_TIMEOUT)
        .build()
        .context("building the HTTP client")?;

    // The local stack registers the user whose token both parts use (the auth Lambda and
    // the local stack share the `meetin` database and the signing key in the emulator).
    let mut stack = start_local_stack(&local_binary, &paths, &settings, &client).await?;
    let stack_log = || format!("the local stack (its log: {})", stack.process.log.display());
    let outcome = async {
        let account = register(&client, &stack.base)
            .await
            .with_context(stack_log)?;
        let lambda = bench_lambda(&options, &paths, &auth_binary, &settings, &account).await?;
        let http = bench_local_stack(&options, &client, &stack.base, &account)
            .await
            .with_context(stack_log)?;
        anyhow::Ok((lambda, http))
    }
    .await;
    stack.process.stop().await;
    let (lambda, http) = outcome?;

    print_lambda_report(&options, &lambda, &auth_binary)?;
    print_http_report(&options, &http);

    let failed: usize = http.iter().map(|row| row.sample.errors).sum();
    ensure!(
        failed == 0,
        "{failed} requests through the local stack failed (see the table above and {})",
        stack.process.log.display()
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Options, paths and settings

#[derive(Debug, Clone)]
struct Options {
    cold_starts: usize,
    warm_invocations: usize,
    warmup: usize,
    profile_requests: usize,
    login_requests: usize,
    concurrency: usize,
    phase_timeout: Duration,
}

impl Options {
    fn parse(mut args: impl Iterator<Item = String>) -> anyhow::Result<Self> {
        let mut options = Self {
            cold_starts: 10,
            warm_invocations: 20,
            warmup: 20,
            profile_requests: 500,
            login_requests: 200,
            concurrency: 8,
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
            let n: usize = value
                .parse()
                .with_context(|| format!("{flag} {value:?} is not a whole number"))?;
            match flag.as_str() {
                "--cold-starts" => options.cold_starts = n,
                "--warm-invocations" => options.warm_invocations = n,
                "--warmup" => options.warmup = n,
                "--profile-requests" => options.profile_requests = n,
                "--login-requests" => options.login_requests = n,
                "--concurrency" => options.concurrency = n,
                "--phase-timeout-secs" => options.phase_timeout = Duration::from_secs(n as u64),
                other => bail!("unknown option {other:?}\n{USAGE}"),
            }
        }
        ensure!(options.cold_starts >= 1, "--cold-starts must be at least 1");
        ensure!(options.concurrency >= 1, "--concurrency must be at least 1");
        ensure!(
            options.profile_requests >= 1 && options.login_requests >= 1,
            "--profile-requests and --login-requests must be at least 1"
        );
        Ok(options)
    }
}

struct Paths {
    root: PathBuf,
    release: PathBuf,
    /// The started processes' output, for when something fails.
    logs: PathBuf,
}

impl Paths {
    fn locate() -> anyhow::Result<Self> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .canonicalize()
            .context("finding the repository root")?;
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("target"));
        let logs = target.join("bench");
        std::fs::create_dir_all(&logs).with_context(|| format!("creating {}", logs.display()))?;
        Ok(Self {
            root,
            release: target.join("release"),
            logs,
        })
    }

    fn binary(&self, name: &str) -> anyhow::Result<PathBuf> {
        let path = self.release.join(name);
        ensure!(
            path.is_file(),
            "{} is missing: run `cargo build --release -p auth -p meetin-local` (`make bench` does)",
            path.display()
        );
        Ok(path)
    }
}

async fn require_local_service(
    settings: &HashMap<String, String>,
    key: &str,
    what: &str,
    default_port: u16,
) -> anyhow::Result<()> {
    let raw = settings
        .get(key)
        .with_context(|| format!("{key} is not set (infra/local/env or the environment)"))?;
    let url = Url::parse(raw).with_context(|| format!("{key} is not a URL"))?;
    let host = url.host_str().unwrap_or_default();
    ensure!(
        matches!(host, "127.0.0.1" | "localhost" | "[::1]"),
        "{key} points at {host:?}: the benchmark only runs against services on this machine"
    );
    let addr = format!("{host}:{}", url.port().unwrap_or(default_port));
    match tokio::time::timeout(Duration::from_secs(2), TcpStream::connect(&addr)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(err)) => bail!("{what} is down: {addr} ({key}) refused: {err}; run `make setup`"),
        Err(_) => bail!("{what} is down: {addr} ({key}) did not answer in 2 s; run `make setup`"),
    }
}

fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr().context("finding a free port")?.port())
}

fn epoch_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

// ---------------------------------------------------------------------------------------
// Started processes

/// A started binary with its output in a log file; killed when dropped.
struct Process {
    child: Child,
    log: PathBuf,
}

impl Process {
    fn spawn(mut command: Command, log: PathBuf) -> anyhow::Result<Self> {
        let out =
            std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let err = out.try_clone().context("opening the log twice")?;
        let child = command
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {:?}", command.as_std().get_program()))?;
        Ok(Self { child, log })
    }

    fn pid(&self) -> anyhow::Result<u32> {
        self.child.id().context("the process has already exited")
    }

    /// Fails if the process has exited (it should serve until killed).
    fn require_running(&mut self) -> anyhow::Result<()> {
        match self.child.try_wait().context("checking the process")? {
            Some(status) => bail!("it exited ({status}); see {}", self.log.display()),
            None => Ok(()),
        }
    }

    async fn stop(&mut self) {
        // Already gone is fine: all that matters is that it is not left running.
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }
}

struct LocalStack {
    process: Process,
    base: String,
}

async fn start_local_stack(
    binary: &Path,
    paths: &Paths,
    settings: &HashMap<String, String>,
    client: &reqwest::Client,
) -> anyhow::Result<LocalStack> {
    let port = free_port()?;
    let mut command = Command::new(binary);
    command
        .args(["serve", "--port", &port.to_string()])
        .envs(settings)
        .envs(RAISED_RATE_LIMITS);
    let mut process = Process::spawn(command, paths.logs.join("meetin-local.log"))?;
    let base = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    loop {
        process
            .require_running()
            .context("meetin-local did not start")?;
        if client
            .get(format!("{base}/"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            eprintln!(
                "[bench] local stack answering on {base} after {} ms",
                started.elapsed().as_millis()
            );
            return Ok(LocalStack { process, base });
        }
        ensure!(
            started.elapsed() < START_TIMEOUT,
            "meetin-local did not answer on {base} within {START_TIMEOUT:?}; see {}",
            process.log.display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

struct Account {
    email: String,
    access: String,
}

/// A fresh user for this run (it stays in the `meetin` dev database).
async fn register(client: &reqwest::Client, base: &str) -> anyhow::Result<Account> {
    let username = format!("bench{}", &Uuid::new_v4().simple().to_string()[..12]);
    let email = format!("{username}@example.com");
    let response = client
        .post(format!("{base}/api/auth/register/"))
        .json(
            &json!({"email": email, "username": username, "password": PASSWORD,
                      "first_name": "Bench", "last_name": "Mark"}),
        )
        .send()
        .await
        .context("registering the benchmark user")?;
    let status = response.status();
    let body: Value = response
        .json()
        .await
        .context("reading the register response")?;
    ensure!(
        status == StatusCode::CREATED,
        "registering the benchmark user: {status} {body}"
    );
    let access = body["tokens"]["access"]
        .as_str()
        .context("the register response has no tokens.access")?
        .to_owned();
    Ok(Account { email, access })
}

// ---------------------------------------------------------------------------------------
// Part 1: the auth Lambda through a local Runtime API

/// One event waiting for the function's `GET /next`.
struct Invocation {
    request_id: String,
    event: String,
}

/// What the function did on the Runtime API, stamped on arrival.
enum Signal {
    /// `GET /next`: the function is ready for an event (the first one ends init).
    Polled(Instant),
    Response {
        request_id: String,
        at: Instant,
        body: Bytes,
    },
    InvocationError {
        request_id: String,
        body: Bytes,
    },
    InitError(Bytes),
}

struct RuntimeState {
    events: Mutex<mpsc::UnboundedReceiver<Invocation>>,
    signals: mpsc::UnboundedSender<Signal>,
}

/// The Lambda Runtime API (2018-06-01) for one function process.
struct RuntimeApi {
    addr: SocketAddr,
    events: mpsc::UnboundedSender<Invocation>,
    signals: mpsc::UnboundedReceiver<Signal>,
    server: JoinHandle<()>,
}

impl RuntimeApi {
    async fn start() -> anyhow::Result<Self> {
        let (events, events_rx) = mpsc::unbounded_channel();
        let (signals_tx, signals) = mpsc::unbounded_channel();
        let state = Arc::new(RuntimeState {
            events: Mutex::new(events_rx),
            signals: signals_tx,
        });
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next_invocation))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(invocation_response),
            )
            .route(
                "/2018-06-01/runtime/invocation/{id}/error",
                post(invocation_error),
            )
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(state);
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the Runtime API")?;
        let addr = listener.local_addr().context("the Runtime API's address")?;
        let server = tokio::spawn(async move {
            if let Err(err) = axum::serve(listener, app).await {
                eprintln!("[bench] the Runtime API stopped: {err}");
            }
        });
        Ok(Self {
            addr,
            events,
            signals,
            server,
        })
    }

    /// Queues `event` for the function's next `GET /next`; returns its request id and when.
    fn queue(&self, event: String) -> anyhow::Result<(String, Instant)> {
        let request_id = Uuid::new_v4().to_string();
        let invocation = Invocation {
            request_id: request_id.clone(),
            event,
        };
        let at = Instant::now();
        self.events
            .send(invocation)
            .map_err(|_| anyhow::anyhow!("the Runtime API has stopped"))?;
        Ok((request_id, at))
    }

    async fn signal(&mut self, within: Duration) -> anyhow::Result<Signal> {
        tokio::time::timeout(within, self.signals.recv())
            .await
            .map_err(|_| anyhow::anyhow!("the function did nothing for {within:?}"))?
            .context("the Runtime API has stopped")
    }

    /// Waits for the function to ask for an event.
    async fn polled(&mut self, within: Duration) -> anyhow::Result<Instant> {
        match self.signal(within).await? {
            Signal::Polled(at) => Ok(at),
            other => Err(other.into_error()),
        }
    }

    /// Waits for the response to `request_id`: when it arrived, and the API Gateway
    /// response's JSON.
    async fn response(
        &mut self,
        request_id: &str,
        within: Duration,
    ) -> anyhow::Result<(Instant, Value)> {
        loop {
            match self.signal(within).await? {
                Signal::Response {
                    request_id: id,
                    at,
                    body,
                } if id == request_id => {
                    let json: Value = serde_json::from_slice(&body)
                        .context("the function's response is not JSON")?;
                    return Ok((at, json));
                }
                Signal::Polled(_) => {}
                other => return Err(other.into_error()),
            }
        }
    }
}

impl Signal {
    /// What was not expected, as the benchmark's error: the function failed.
    fn into_error(self) -> anyhow::Error {
        match self {
            Self::InitError(body) => {
                anyhow::anyhow!("init error: {}", String::from_utf8_lossy(&body))
            }
            Self::InvocationError { request_id, body } => anyhow::anyhow!(
                "invocation {request_id} failed: {}",
                String::from_utf8_lossy(&body)
            ),
            Self::Response { request_id, .. } => {
                anyhow::anyhow!("a response to {request_id}, which was not asked for")
            }
            Self::Polled(_) => anyhow::anyhow!("an unexpected GET /next"),
        }
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn next_invocation(State(state): State<Arc<RuntimeState>>) -> Response {
    let _ = state.signals.send(Signal::Polled(Instant::now()));
    let Some(invocation) = state.events.lock().await.recv().await else {
        // The benchmark is done with this process.
        return StatusCode::GONE.into_response();
    };
    let deadline = epoch_ms() + INVOCATION_TIMEOUT.as_millis() as u64;
    let trace = format!(
        "Root=1-{:08x}-{};Parent={};Sampled=0",
        deadline / 1000,
        &Uuid::new_v4().simple().to_string()[..24],
        &Uuid::new_v4().simple().to_string()[..16]
    );
    (
        [
            ("content-type", "application/json".to_owned()),
            ("lambda-runtime-aws-request-id", invocation.request_id),
            ("lambda-runtime-deadline-ms", deadline.to_string()),
            (
                "lambda-runtime-invoked-function-arn",
                FUNCTION_ARN.to_owned(),
            ),
            ("lambda-runtime-trace-id", trace),
        ],
        invocation.event,
    )
        .into_response()
}

async fn invocation_response(
    State(state): State<Arc<RuntimeState>>,
    UrlPath(request_id): UrlPath<String>,
    body: Bytes,
) -> impl IntoResponse {
    let at = Instant::now();
    let _ = state.signals.send(Signal::Response {
        request_id,
        at,
        body,
    });
    accepted()
}

async fn invocation_error(
    State(state): State<Arc<RuntimeState>>,
    UrlPath(request_id): UrlPath<String>,
    body: Bytes,
) -> impl IntoResponse {
    let _ = state
        .signals
        .send(Signal::InvocationError { request_id, body });
    accepted()
}

async fn init_error(State(state): State<Arc<RuntimeState>>, body: Bytes) -> impl IntoResponse {
    let _ = state.signals.send(Signal::InitError(body));
    accepted()
}

fn accepted() -> impl IntoResponse {
    (StatusCode::ACCEPTED, axum::Json(json!({"status": "OK"})))
}

/// events/auth/profile.json with the benchmark user's token.
struct ProfileEvent(String);

impl ProfileEvent {
    fn load(root: &Path, access: &str) -> anyhow::Result<Self> {
        let file = root.join("events/auth/profile.json");
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("reading {}", file.display()))?;
        ensure!(
            text.contains(SAMPLE_TOKEN) && text.contains(SAMPLE_SOURCE_IP),
            "{} no longer has {SAMPLE_TOKEN} and {SAMPLE_SOURCE_IP} to replace",
            file.display()
        );
        serde_json::from_str::<Value>(&text)
            .with_context(|| format!("parsing {}", file.display()))?;
        Ok(Self(text.replace(SAMPLE_TOKEN, access)))
    }

    /// The event as API Gateway would send it now from `source_ip`.
    fn render(&self, source_ip: &str) -> anyhow::Result<String> {
        let mut event: Value = serde_json::from_str(&self.0.replace(SAMPLE_SOURCE_IP, source_ip))?;
        event["requestContext"]["requestId"] = json!(Uuid::new_v4().to_string());
        event["requestContext"]["timeEpoch"] = json!(epoch_ms());
        Ok(event.to_string())
    }
}

/// A distinct address per cold start, in 198.18.0.0/15 (reserved for benchmarks).
fn source_ip(base: u32, run: usize) -> String {
    let n = (base + run as u32) % (1 << 17);
    format!(
        "198.{}.{}.{}",
        18 + (n >> 16),
        (n >> 8) & 0xff,
        (n & 0xff).max(1)
    )
}

struct ColdStart {
    /// spawn → first `GET /next`: process start, configuration, AWS clients, the secret.
    init: Duration,
    /// first `GET /next` → its response: the first request, which opens the DB connection.
    first_invocation: Duration,
    /// spawn → first response.
    total: Duration,
    warm: Vec<Duration>,
    peak_rss_kib: u64,
}

struct LambdaResults {
    runs: Vec<ColdStart>,
}

async fn bench_lambda(
    options: &Options,
    paths: &Paths,
    binary: &Path,
    settings: &HashMap<String, String>,
    account: &Account,
) -> anyhow::Result<LambdaResults> {
    let event = ProfileEvent::load(&paths.root, &account.access)?;
    let base_ip = u32::from(Uuid::new_v4().as_bytes()[0]) << 8;
    let mut runs = Vec::with_capacity(options.cold_starts);
    for run in 1..=options.cold_starts {
        let result = cold_start(run, options, paths, binary, settings, &event, base_ip).await?;
        eprintln!(
            "[bench] auth cold start {run}/{}: {:.1} ms (init {:.1} ms), warm p50 {:.2} ms",
            options.cold_starts,
            ms(result.total),
            ms(result.init),
            Stats::of(&result.warm).map_or(0.0, |s| ms(s.p50)),
        );
        runs.push(result);
    }
    Ok(LambdaResults { runs })
}

async fn cold_start(
    run: usize,
    options: &Options,
    paths: &Paths,
    binary: &Path,
    settings: &HashMap<String, String>,
    event: &ProfileEvent,
    base_ip: u32,
) -> anyhow::Result<ColdStart> {
    let mut api = RuntimeApi::start().await?;
    let ip = source_ip(base_ip, run);
    // Queued before the process exists, so its first GET /next is answered at once.
    let (first_id, _) = api.queue(event.render(&ip)?)?;

    let mut command = Command::new(binary);
    command
        .envs(settings)
        .envs(RAISED_RATE_LIMITS)
        .env("AWS_LAMBDA_RUNTIME_API", api.addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "auth")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/auth")
        .env(
            "AWS_LAMBDA_LOG_STREAM_NAME",
            format!("bench/[$LATEST]{run}"),
        )
        .env("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
        .env("AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH", "true");
    let log = paths.logs.join(format!("auth-cold-start-{run}.log"));
    let started = Instant::now();
    let mut process = Process::spawn(command, log)?;
    let pid = process.pid()?;

    let invocations = async {
        let polled = api.polled(START_TIMEOUT).await?;
        let (responded, response) = api.response(&first_id, START_TIMEOUT).await?;
        require_ok(&response)?;
        let mut warm = Vec::with_capacity(options.warm_invocations);
        for _ in 0..options.warm_invocations {
            api.polled(INVOCATION_TIMEOUT).await?;
            let (id, sent) = api.queue(event.render(&ip)?)?;
            let (at, response) = api.response(&id, INVOCATION_TIMEOUT).await?;
            require_ok(&response)?;
            warm.push(at - sent);
        }
        anyhow::Ok(ColdStart {
            init: polled - started,
            first_invocation: responded - polled,
            total: responded - started,
            warm,
            peak_rss_kib: peak_rss_kib(pid)?,
        })
    };
    // A function that dies is reported at once rather than after the timeouts.
    let measured = tokio::select! {
        measured = invocations => measured,
        status = process.child.wait() => match status {
            Ok(status) => Err(anyhow::anyhow!("the function exited ({status})")),
            Err(err) => Err(anyhow::Error::new(err).context("waiting for the function")),
        },
    };
    process.stop().await;
    measured.with_context(|| format!("auth cold start {run} (its log: {})", process.log.display()))
}

fn require_ok(response: &Value) -> anyhow::Result<()> {
    ensure!(
        response["statusCode"] == json!(200),
        "the function answered {response}"
    );
    Ok(())
}

/// The process's peak resident set (VmHWM), in KiB.
fn peak_rss_kib(pid: u32) -> anyhow::Result<u64> {
    let file = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&file).with_context(|| format!("reading {file}"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .with_context(|| format!("no VmHWM in {file}"))
}

// ---------------------------------------------------------------------------------------
// Part 2: warm requests through the local stack

#[derive(Clone, Copy, PartialEq, Eq)]
enum Call {
    Profile,
    Login,
}

impl Call {
    fn label(self) -> &'static str {
        match self {
            Self::Profile => "GET /api/auth/profile/",
            Self::Login => "POST /api/auth/login/",
        }
    }
}

/// Everything a request needs, prepared once so the timed part is the request.
struct Target {
    client: reqwest::Client,
    profile_url: String,
    login_url: String,
    login_body: String,
    access: String,
}

impl Target {
    /// One request, body read to the end; `Ok` only for 200.
    async fn send(&self, call: Call) -> anyhow::Result<()> {
        let request = match call {
            Call::Profile => self.client.get(&self.profile_url).bearer_auth(&self.access),
            Call::Login => self
                .client
                .post(&self.login_url)
                .header("content-type", "application/json")
                .body(self.login_body.clone()),
        };
        let response = request.send().await?;
        let status = response.status();
        let body = response.bytes().await?;
        ensure!(
            status == StatusCode::OK,
            "{status} {}",
            String::from_utf8_lossy(&body[..body.len().min(300)])
        );
        Ok(())
    }
}

#[derive(Default)]
struct Sample {
    latencies: Vec<Duration>,
    errors: usize,
    first_error: Option<String>,
    elapsed: Duration,
    /// The phase timeout ended it before `count` requests.
    cut_short: bool,
}

impl Sample {
    fn merge(&mut self, other: Sample) {
        self.latencies.extend(other.latencies);
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }

    fn per_second(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }
}

/// `count` requests from `workers` connections at once (1 = one after the other), stopped
/// at `timeout` whatever the count.
async fn measure(
    target: &Arc<Target>,
    call: Call,
    count: usize,
    workers: usize,
    timeout: Duration,
) -> anyhow::Result<Sample> {
    let issued = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = started + timeout;
    let mut tasks = JoinSet::new();
    for _ in 0..workers {
        let target = Arc::clone(target);
        let issued = Arc::clone(&issued);
        tasks.spawn(async move {
            let mut part = Sample::default();
            while Instant::now() < deadline && issued.fetch_add(1, Ordering::Relaxed) < count {
                let sent = Instant::now();
                match target.send(call).await {
                    Ok(()) => part.latencies.push(sent.elapsed()),
                    Err(err) => {
                        part.errors += 1;
                        part.first_error.get_or_insert_with(|| format!("{err:#}"));
                    }
                }
            }
            part
        });
    }
    let mut sample = Sample::default();
    while let Some(part) = tasks.join_next().await {
        sample.merge(part.context("a request worker panicked")?);
    }
    sample.elapsed = started.elapsed();
    sample.cut_short = sample.latencies.len() + sample.errors < count;
    Ok(sample)
}

struct HttpRow {
    call: Call,
    concurrency: usize,
    sample: Sample,
}

async fn bench_local_stack(
    options: &Options,
    client: &reqwest::Client,
    base: &str,
    account: &Account,
) -> anyhow::Result<Vec<HttpRow>> {
    let target = Arc::new(Target {
        client: client.clone(),
        profile_url: format!("{base}/api/auth/profile/"),
        login_url: format!("{base}/api/auth/login/"),
        login_body: json!({"email": account.email, "password": PASSWORD}).to_string(),
        access: account.access.clone(),
    });
    // Warm the connection, the pool and the caches; a failure here means a broken setup.
    for call in [Call::Profile, Call::Login] {
        let warmup = measure(&target, call, options.warmup, 1, options.phase_timeout).await?;
        if let Some(err) = warmup.first_error {
            bail!("warming up {}: {err}", call.label());
        }
    }
    let plan = [
        (Call::Profile, options.profile_requests, 1),
        (Call::Login, options.login_requests, 1),
        (Call::Profile, options.profile_requests, options.concurrency),
    ];
    let mut rows = Vec::with_capacity(plan.len());
    for (call, count, concurrency) in plan {
        let sample = measure(&target, call, count, concurrency, options.phase_timeout).await?;
        eprintln!(
            "[bench] {} ×{count} at concurrency {concurrency}: {:.1} req/s",
            call.label(),
            sample.per_second()
        );
        rows.push(HttpRow {
            call,
            concurrency,
            sample,
        });
    }
    Ok(rows)
}

// ---------------------------------------------------------------------------------------
// Statistics and the report

#[derive(Clone, Copy)]
struct Stats {
    n: usize,
    min: Duration,
    p50: Duration,
    p90: Duration,
    p99: Duration,
    max: Duration,
}

impl Stats {
    fn of(samples: &[Duration]) -> Option<Self> {
        let mut sorted = samples.to_vec();
        sorted.sort_unstable();
        let n = sorted.len();
        if n == 0 {
            return None;
        }
        // Nearest rank: the smallest sample with at least p% of the samples at or below it.
        let rank = |p: f64| sorted[((p / 100.0 * n as f64).ceil() as usize).clamp(1, n) - 1];
        Some(Self {
            n,
            min: *sorted.first()?,
            p50: rank(50.0),
            p90: rank(90.0),
            p99: rank(99.0),
            max: *sorted.last()?,
        })
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// Where and how this ran, for the record.
fn print_header(options: &Options) {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        })
        .map_or("unknown".to_owned(), |kib| {
            format!("{:.1} GiB", mib(kib * 1024) / 1024.0)
        });
    let rustc = std::process::Command::new("rustc")
        .arg("-V")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "rustc (unknown version)".to_owned());
    println!("# meetIN benchmark");
    println!();
    println!(
        "{}; {}, {cpus} CPUs, {memory}, {rustc}, release profile",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        std::env::consts::ARCH,
    );
    println!(
        "Rate limits raised for the benchmark in both processes: {} (the contract's 10/min and \
         120/min would throttle it).",
        RAISED_RATE_LIMITS
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "Options: --cold-starts {} --warm-invocations {} --warmup {} --profile-requests {} \
         --login-requests {} --concurrency {} --phase-timeout-secs {}",
        options.cold_starts,
        options.warm_invocations,
        options.warmup,
        options.profile_requests,
        options.login_requests,
        options.concurrency,
        options.phase_timeout.as_secs()
    );
    println!();
}

fn print_lambda_report(
    options: &Options,
    results: &LambdaResults,
    binary: &Path,
) -> anyhow::Result<()> {
    let column =
        |f: fn(&ColdStart) -> Duration| -> Vec<Duration> { results.runs.iter().map(f).collect() };
    let warm: Vec<Duration> = results
        .runs
        .iter()
        .flat_map(|r| r.warm.iter().copied())
        .collect();
    println!(
        "## auth Lambda through a local Runtime API (GET /api/auth/profile/, {} cold starts, \
         {} warm invocations each)",
        options.cold_starts, options.warm_invocations
    );
    println!();
    println!("| measure | n | min ms | median ms | p90 ms | p99 ms | max ms |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let rows = [
        ("cold start: spawn → first response", column(|r| r.total)),
        ("  init: spawn → first GET /next", column(|r| r.init)),
        (
            "  first invocation: GET /next → response",
            column(|r| r.first_invocation),
        ),
        ("warm invocation: event → response", warm),
    ];
    for (label, samples) in rows {
        if let Some(s) = Stats::of(&samples) {
            println!(
                "| {label} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
                s.n,
                ms(s.min),
                ms(s.p50),
                ms(s.p90),
                ms(s.p99),
                ms(s.max)
            );
        }
    }
    println!();
    let mut rss: Vec<u64> = results.runs.iter().map(|r| r.peak_rss_kib).collect();
    rss.sort_unstable();
    if let (Some(min), Some(max)) = (rss.first(), rss.last()) {
        let median = rss[(rss.len() - 1) / 2];
        println!(
            "Peak RSS (VmHWM) of the auth process after its warm invocations: min {:.1} MiB, \
             median {:.1} MiB, max {:.1} MiB",
            mib(min * 1024),
            mib(median * 1024),
            mib(max * 1024)
        );
    }
    let size = std::fs::metadata(binary)
        .with_context(|| format!("reading the size of {}", binary.display()))?
        .len();
    println!(
        "Binary size: {} is {size} bytes ({:.2} MiB)",
        binary.display(),
        mib(size)
    );
    println!();
    Ok(())
}

fn print_http_report(options: &Options, rows: &[HttpRow]) {
    println!(
        "## Local stack (meetin-local serve on 127.0.0.1, keep-alive, after {} warm-up requests \
         per endpoint)",
        options.warmup
    );
    println!();
    println!("| request | concurrency | n | errors | p50 ms | p90 ms | p99 ms | max ms | req/s |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for row in rows {
        let s = &row.sample;
        let cells = Stats::of(&s.latencies).map_or("| – | – | – | –".to_owned(), |st| {
            format!(
                "| {:.2} | {:.2} | {:.2} | {:.2}",
                ms(st.p50),
                ms(st.p90),
                ms(st.p99),
                ms(st.max)
            )
        });
        println!(
            "| {} | {} | {} | {} {cells} | {:.1} |",
            row.call.label(),
            row.concurrency,
            s.latencies.len(),
            s.errors,
            s.per_second()
        );
    }
    for row in rows {
        if row.sample.cut_short {
            println!(
                "Note: {} at concurrency {} stopped at the phase timeout ({} s).",
                row.call.label(),
                row.concurrency,
                options.phase_timeout.as_secs()
            );
        }
        if let Some(err) = &row.sample.first_error {
            println!(
                "First error of {} at concurrency {}: {err}",
                row.call.label(),
                row.concurrency
            );
        }
    }
}
