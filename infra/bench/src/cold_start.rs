//! Cold starts through the local Runtime API ([`crate::runtime_api`]): the `auth` function
//! and the lambda_http "hello world" (`hello-lambda`), each started `--cold-starts` times
//! with the same event (events/auth/profile.json) and the same environment, timed from
//! spawn to the first response, then invoked `--warm-invocations` more times.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use meetin_test_support::stack::Account;
use serde_json::{Value, json};
use tokio::process::{Child, Command};
use uuid::Uuid;

use crate::load::{Stats, ms};
use crate::runtime_api::{INVOCATION_TIMEOUT, RuntimeApi, epoch_ms};
use crate::{Options, Paths, START_TIMEOUT, memory};

/// Placeholders in events/auth/profile.json.
const SAMPLE_TOKEN: &str = "REPLACE_WITH_ACCESS_TOKEN";
const SAMPLE_SOURCE_IP: &str = "203.0.113.10";

/// A started function with its output in a log file; killed when dropped.
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

    async fn stop(&mut self) {
        // Already gone is fine: all that matters is that it is not left running.
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }
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

/// One cold start and the warm invocations after it.
pub struct ColdStart {
    /// spawn → first `GET /next`: process start, configuration, AWS clients, the secret.
    pub init: Duration,
    /// first `GET /next` → its response: the first request, which opens the DB connection.
    pub first_invocation: Duration,
    /// spawn → first response.
    pub total: Duration,
    /// event handed to a waiting `GET /next` → its response, one per warm invocation.
    pub warm: Vec<Duration>,
    /// VmHWM after the warm invocations, in KiB.
    pub peak_rss_kib: u64,
}

/// The runs of one function binary.
pub struct LambdaResults {
    /// `auth` or `hello-lambda`.
    pub name: &'static str,
    pub binary: PathBuf,
    pub runs: Vec<ColdStart>,
}

/// The hello world first, then `auth`; both get `env` and the Lambda variables.
pub async fn bench(
    options: &Options,
    paths: &Paths,
    env: &HashMap<String, String>,
    account: &Account,
    hello: &Path,
    auth: &Path,
) -> anyhow::Result<Vec<LambdaResults>> {
    let event = ProfileEvent::load(&paths.root, &account.access)?;
    let base_ip = u32::from(Uuid::new_v4().as_bytes()[0]) << 8;
    let mut results = Vec::with_capacity(2);
    for (name, binary) in [("hello-lambda", hello), ("auth", auth)] {
        let mut runs = Vec::with_capacity(options.cold_starts);
        for run in 1..=options.cold_starts {
            let result = cold_start(
                name,
                run,
                options,
                paths,
                binary,
                env,
                &event,
                source_ip(base_ip, run),
            )
            .await?;
            eprintln!(
                "[bench] {name} cold start {run}/{}: {:.1} ms (init {:.1} ms), warm p50 {:.2} ms",
                options.cold_starts,
                ms(result.total),
                ms(result.init),
                Stats::of(&result.warm).map_or(0.0, |s| ms(s.p50)),
            );
            runs.push(result);
        }
        results.push(LambdaResults {
            name,
            binary: binary.to_path_buf(),
            runs,
        });
    }
    Ok(results)
}

#[allow(clippy::too_many_arguments)] // one call site; a struct would only rename them
async fn cold_start(
    name: &str,
    run: usize,
    options: &Options,
    paths: &Paths,
    binary: &Path,
    env: &HashMap<String, String>,
    event: &ProfileEvent,
    ip: String,
) -> anyhow::Result<ColdStart> {
    let mut api = RuntimeApi::start(name).await?;
    // Queued before the process exists, so its first GET /next is answered at once.
    let (first_id, _) = api.queue(event.render(&ip)?)?;

    let mut command = Command::new(binary);
    command
        .envs(env)
        .env("AWS_LAMBDA_RUNTIME_API", api.addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", name)
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
        .env(
            "AWS_LAMBDA_LOG_STREAM_NAME",
            format!("bench/[$LATEST]{run}"),
        )
        .env("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
        .env("AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH", "true");
    let log = paths.logs.join(format!("{name}-cold-start-{run}.log"));
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
            peak_rss_kib: memory::status_kib(pid, "VmHWM")?,
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
    measured.with_context(|| {
        format!(
            "{name} cold start {run} (its log: {})",
            process.log.display()
        )
    })
}

fn require_ok(response: &Value) -> anyhow::Result<()> {
    ensure!(
        response["statusCode"] == json!(200),
        "the function answered {response}"
    );
    Ok(())
}
