//! One implementation of "start a local stack process and register a user", shared by the
//! integration tests, `meetin-bench` and `make fuzz` (through `meetin-bench stack`).
//!
//! A [`LocalStack`] is `meetin-local serve --port N` started with the settings it is given
//! (usually [`crate::local_settings`], plus overrides such as [`RAISED_RATE_LIMITS`]); it is
//! killed when dropped.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use serde_json::{Value, json};
use tokio::process::{Child, Command};

/// The contract's limits (10 auth requests and 30 anonymous requests a minute per address,
/// 120 requests a minute per user) would throttle a benchmark or a fuzzer after a few
/// requests; these settings raise all three. The check itself still runs on every request.
pub const RAISED_RATE_LIMITS: [(&str, &str); 5] = [
    // The memory benchmark logs one account in 100 times at once; each attempt counts
    // toward the per-account backoff until it has been verified.
    ("LOGIN_FAILURES_BEFORE_BACKOFF", "1000000"),
    ("RATE_LIMIT_AUTH_PER_MINUTE", "1000000"),
    ("RATE_LIMIT_REFRESH_PER_MINUTE", "1000000"),
    ("RATE_LIMIT_ANON_PER_MINUTE", "1000000"),
    ("RATE_LIMIT_USER_PER_MINUTE", "1000000"),
];

/// The password of every [`Account`] registered here; it passes the registration rules
/// (length, not numeric, not in the common-password list).
pub const PASSWORD: &str = "plum-harbor-71-lantern";

/// How long [`LocalStack::wait_ready`] waits between two probes of `GET /`.
const PROBE_INTERVAL: Duration = Duration::from_millis(100);

/// A free TCP port on 127.0.0.1 (the OS's choice; free when asked, not reserved).
pub fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr().context("finding a free port")?.port())
}

/// A running `meetin-local serve` process on 127.0.0.1; killed when dropped.
pub struct LocalStack {
    child: Child,
    port: u16,
    /// Where its stdout and stderr go; `None` discards them.
    log: Option<PathBuf>,
}

/// A user registered through `POST /api/auth/register/` of a [`LocalStack`].
#[derive(Debug, Clone)]
pub struct Account {
    /// `bench…@example.com`-style: `{username}@example.com`.
    pub email: String,
    /// `{prefix}` followed by 12 random hex digits.
    pub username: String,
    /// Always [`PASSWORD`].
    pub password: String,
    /// `tokens.access` of the register response (a JWT).
    pub access: String,
    /// `tokens.refresh` of the register response (a JWT).
    pub refresh: String,
}

impl LocalStack {
    /// Spawns `binary serve --port {port}` with the current environment plus `env` (its
    /// values win), its output appended to `log` or discarded. Returns at once: call
    /// [`LocalStack::wait_ready`] before sending requests.
    pub fn start(
        binary: &Path,
        port: u16,
        env: &HashMap<String, String>,
        log: Option<&Path>,
    ) -> anyhow::Result<Self> {
        ensure!(
            binary.is_file(),
            "{} is missing: build it with `cargo build -p meetin-local` (add --release for \
             target/release)",
            binary.display()
        );
        let (stdout, stderr) = match log {
            Some(path) => {
                let file = std::fs::File::create(path)
                    .with_context(|| format!("creating {}", path.display()))?;
                let copy = file.try_clone().context("opening the log twice")?;
                (Stdio::from(file), Stdio::from(copy))
            }
            None => (Stdio::null(), Stdio::null()),
        };
        let child = Command::new(binary)
            .args(["serve", "--port", &port.to_string()])
            .envs(env)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        Ok(Self {
            child,
            port,
            log: log.map(Path::to_path_buf),
        })
    }

    /// Polls `GET /` until it answers 2xx; returns how long that took. Fails at once if the
    /// process exits, and after `within`.
    pub async fn wait_ready(
        &mut self,
        client: &reqwest::Client,
        within: Duration,
    ) -> anyhow::Result<Duration> {
        let started = Instant::now();
        let url = format!("{}/", self.base_url());
        loop {
            if let Some(status) = self.child.try_wait().context("checking meetin-local")? {
                bail!(
                    "meetin-local exited ({status}) before answering{}",
                    self.log_hint()
                );
            }
            if client
                .get(&url)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return Ok(started.elapsed());
            }
            ensure!(
                started.elapsed() < within,
                "meetin-local did not answer on {url} within {within:?}{}",
                self.log_hint()
            );
            tokio::time::sleep(PROBE_INTERVAL).await;
        }
    }

    /// Registers a fresh user `{prefix}{12 hex digits}` with [`PASSWORD`] (it stays in the
    /// stack's database); fails unless the answer is 201 with both tokens.
    pub async fn register_user(
        &self,
        client: &reqwest::Client,
        prefix: &str,
    ) -> anyhow::Result<Account> {
        let username = format!("{prefix}{}", hex::encode(rand::random::<[u8; 6]>()));
        let email = format!("{username}@example.com");
        let response = client
            .post(format!("{}/api/auth/register/", self.base_url()))
            .json(
                &json!({"email": email, "username": username, "password": PASSWORD,
                          "first_name": "Local", "last_name": "Stack"}),
            )
            .send()
            .await
            .context("registering a user")?;
        let status = response.status();
        let body: Value = response
            .json()
            .await
            .context("reading the register response")?;
        ensure!(
            status == reqwest::StatusCode::CREATED,
            "registering a user: {status} {body}"
        );
        let token = |kind: &str| {
            body["tokens"][kind]
                .as_str()
                .map(str::to_owned)
                .with_context(|| format!("the register response has no tokens.{kind}: {body}"))
        };
        Ok(Account {
            access: token("access")?,
            refresh: token("refresh")?,
            email,
            username,
            password: PASSWORD.to_owned(),
        })
    }

    /// `http://127.0.0.1:{port}`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The process id, while it runs (for /proc/{pid}/status).
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// The file its output goes to, if any.
    pub fn log(&self) -> Option<&Path> {
        self.log.as_deref()
    }

    /// Waits until the process exits on its own (cancel-safe: drop the future to stop
    /// waiting).
    pub async fn exited(&mut self) -> anyhow::Result<std::process::ExitStatus> {
        self.child.wait().await.context("waiting for meetin-local")
    }

    /// Kills the process and waits for it; already gone is fine.
    pub async fn stop(&mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }

    fn log_hint(&self) -> String {
        self.log
            .as_ref()
            .map_or_else(String::new, |l| format!("; see {}", l.display()))
    }
}
