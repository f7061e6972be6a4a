//! The HTTP load generator: `count` requests from `n` kept-alive connections at once,
//! timed per request, and nearest-rank percentiles ([`Stats`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use axum::http::StatusCode;
use meetin_test_support::stack::Account;
use serde_json::json;
use tokio::task::JoinSet;

use crate::Options;

/// The requests the benchmark sends.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Call {
    Profile,
    Login,
    /// `GET /api/meetings/`: a page of [`SEEDED_MEETINGS`] meetings, each with a live session,
    /// a recording and two speakers.
    Meetings,
}

/// How many meetings the meetings-list phase's user has.
pub const SEEDED_MEETINGS: i64 = 20;

impl Call {
    pub fn label(self) -> &'static str {
        match self {
            Self::Profile => "GET /api/auth/profile/",
            Self::Login => "POST /api/auth/login/",
            Self::Meetings => "GET /api/meetings/ (20 meetings)",
        }
    }
}

/// Everything a request needs, prepared once so the timed part is the request.
pub struct Target {
    pub client: reqwest::Client,
    pub profile_url: String,
    pub login_url: String,
    pub login_body: String,
    pub access: String,
    pub meetings_url: String,
    /// The meetings user's token.
    pub meetings_access: String,
}

impl Target {
    /// The requests of `account` against the local stack at `base` (the meetings list too).
    pub fn new(client: &reqwest::Client, base: &str, account: &Account) -> Self {
        Self {
            client: client.clone(),
            profile_url: format!("{base}/api/auth/profile/"),
            login_url: format!("{base}/api/auth/login/"),
            login_body: json!({"email": account.email, "password": account.password}).to_string(),
            access: account.access.clone(),
            meetings_url: format!("{base}/api/meetings/"),
            meetings_access: account.access.clone(),
        }
    }

    /// One request, body read to the end; `Ok` only for 200.
    async fn send(&self, call: Call) -> anyhow::Result<()> {
        let request = match call {
            Call::Profile => self.client.get(&self.profile_url).bearer_auth(&self.access),
            Call::Login => self
                .client
                .post(&self.login_url)
                .header("content-type", "application/json")
                .body(self.login_body.clone()),
            Call::Meetings => self
                .client
                .get(&self.meetings_url)
                .bearer_auth(&self.meetings_access),
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

/// The outcome of one phase of [`measure`].
#[derive(Default)]
pub struct Sample {
    /// One per request answered 200, sent → body read.
    pub latencies: Vec<Duration>,
    pub errors: usize,
    pub first_error: Option<String>,
    pub elapsed: Duration,
    /// The phase timeout ended it before `count` requests.
    pub cut_short: bool,
}

impl Sample {
    fn merge(&mut self, other: Sample) {
        self.latencies.extend(other.latencies);
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }

    /// Requests answered 200 per second of the phase.
    pub fn per_second(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }
}

/// `count` requests from `workers` connections at once (1 = one after the other), stopped
/// at `timeout` whatever the count.
pub async fn measure(
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

/// One phase through the latency stack.
pub struct HttpRow {
    pub call: Call,
    pub concurrency: usize,
    pub sample: Sample,
}

/// Gives `account` (a fresh user, alone in its organization) [`SEEDED_MEETINGS`] meetings,
/// each with an ended live session, a ready recording and speakers 0 and 1, in one statement.
pub async fn seed_meetings(database_url: &str, account: &Account) -> anyhow::Result<()> {
    let pool = sqlx::PgPool::connect(database_url)
        .await
        .context("connecting to the database to seed meetings")?;
    let seeded: i64 = sqlx::query_scalar(
        "WITH u AS (SELECT id FROM users WHERE email = $1), \
              o AS (SELECT organization_id AS id FROM organization_members \
                    WHERE user_id = (SELECT id FROM u) LIMIT 1), \
              m AS (INSERT INTO meetings (organization_id, created_by_id, title) \
                    SELECT o.id, u.id, 'Bench meeting ' || g FROM o, u, generate_series(1, $2) g \
                    RETURNING id), \
              l AS (INSERT INTO live_sessions (meeting_id, status, ended_at) \
                    SELECT id, 'ended', now() FROM m), \
              r AS (INSERT INTO recordings (meeting_id, storage_key, mime_type, status, size_bytes) \
                    SELECT id, 'recordings/' || id || '/bench.wav', 'audio/wav', 'ready', 64044 \
                    FROM m), \
              s AS (INSERT INTO speakers (meeting_id, label) \
                    SELECT id, 'Speaker ' || n FROM m, generate_series(0, 1) n) \
         SELECT count(*) FROM m",
    )
    .bind(&account.email)
    .bind(SEEDED_MEETINGS)
    .fetch_one(&pool)
    .await
    .context("seeding the meetings")?;
    pool.close().await;
    ensure!(
        seeded == SEEDED_MEETINGS,
        "seeded {seeded} meetings, not {SEEDED_MEETINGS}"
    );
    Ok(())
}

/// Warm-up, then the profile at each of `--connections` in turn, login at 1 connection, and
/// the meetings list (seeded for `meetings_account`) at 1 and 16 connections.
pub async fn bench(
    options: &Options,
    client: &reqwest::Client,
    base: &str,
    account: &Account,
    meetings_account: &Account,
) -> anyhow::Result<Vec<HttpRow>> {
    let target = Arc::new(Target {
        meetings_access: meetings_account.access.clone(),
        ..Target::new(client, base, account)
    });
    // Warm the connection, the pool and the caches; a failure here means a broken setup.
    for call in [Call::Profile, Call::Login, Call::Meetings] {
        let warmup = measure(&target, call, options.warmup, 1, options.phase_timeout).await?;
        if let Some(err) = warmup.first_error {
            bail!("warming up {}: {err}", call.label());
        }
    }
    let mut plan: Vec<_> = (options.connections.iter())
        .map(|&c| (Call::Profile, options.profile_requests, c))
        .collect();
    plan.push((Call::Login, options.login_requests, 1));
    plan.extend([1, 16].map(|c| (Call::Meetings, options.meetings_requests, c)));
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

/// Nearest-rank percentiles of a sample of durations.
#[derive(Clone, Copy)]
pub struct Stats {
    pub n: usize,
    pub min: Duration,
    pub p50: Duration,
    pub p90: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl Stats {
    /// `None` for an empty sample.
    pub fn of(samples: &[Duration]) -> Option<Self> {
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

/// The duration in milliseconds.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Bytes in MiB.
pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}
