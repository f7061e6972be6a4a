//! The bridge's CPU and memory per session: the deployed `live-bridge` binary (release) as a
//! process of its own, serving N sessions at once, each fed audio at real-time pace (one
//! 8,192-byte chunk every 256 ms) through its relay API (`RelayClient::audio`, as
//! `live-socket` relays a speaker's chunk; the speaker's connection registered in the
//! meeting as `$connect` does, without the emulator's transactions (`join`), so its acknowledgements find it in the listener list), each
//! answered by the fake Deepgram live in this
//! process with a final per chunk (every chunk's final stored in PostgreSQL, acknowledged,
//! checkpointed). Its AWS calls go through a counting proxy to the emulator.
//!
//! Per N: a fresh process; its RSS once ready (idle); N sessions started 16 at a time; the
//! feeders staggered over the 256 ms; after a warm-up, a steady window in which its CPU time
//! (`/proc/<pid>/stat` utime + stime), its RSS, the chunks accepted, the relay calls'
//! latency, the frames Deepgram got, the finals stored and the DynamoDB calls are read. Each
//! session sends its next chunk on the next 256 ms tick after the last one was answered (a
//! tick missed is skipped): when the machine cannot keep up, fewer chunks are offered, and
//! the table says how many.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use base64::Engine as _;
use futures_util::StreamExt;
use meetin_aws::{Connection, Via};
use meetin_live::{AudioIn, RelayClient};
use meetin_test_support::fake_deepgram_live::FakeDeepgramLive;
use meetin_test_support::stack::free_port;
use uuid::Uuid;

use super::latency::{CHUNK_BYTES, CHUNK_MS};
use crate::counting_proxy::{CountingProxy, Counts};
use crate::memory::status_kib;

/// Sessions started at once.
const STARTING_AT_ONCE: usize = 16;

/// How long the bridge may take to answer `/health` on its relay port.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// One session count.
pub struct Row {
    pub sessions: usize,
    /// Sessions the bridge opened (the others' starts failed: `start_errors`).
    pub started: usize,
    pub start_errors: usize,
    pub started_in: Duration,
    pub window: Duration,
    /// Chunks the sessions would send in real time: `started` × 1000 / 256 a second.
    pub real_time_per_s: f64,
    /// Relay calls made in the window, per second, and those answered 202; calls that failed.
    pub sent_per_s: f64,
    pub accepted_per_s: f64,
    pub errors: u64,
    pub first_error: Option<String>,
    /// Relay call → answer, for every call of the window.
    pub relay: Vec<Duration>,
    /// Audio frames the fake Deepgram received, per second.
    pub deepgram_frames_per_s: f64,
    /// Final segments stored, per second.
    pub finals_per_s: f64,
    /// The bridge's CPU time in the window (s), this process's (the fake, the feeders), and
    /// the machine's busy fraction of all its cores.
    pub bridge_cpu: f64,
    pub bench_cpu: f64,
    pub machine_busy: f64,
    pub load_average: String,
    /// The bridge's VmRSS once ready with no session, at the end of the window, and its VmHWM.
    pub rss_idle_kib: u64,
    pub rss_loaded_kib: u64,
    pub hwm_kib: u64,
    /// The bridge's AWS calls in the window, by `X-Amz-Target`.
    pub aws_calls: Counts,
}

impl Row {
    /// CPU ms per session per second of audio.
    pub fn cpu_ms_per_session_second(&self) -> f64 {
        self.bridge_cpu * 1000.0 / self.window.as_secs_f64() / self.started.max(1) as f64
    }

    /// RSS added per session, in KiB.
    pub fn rss_per_session_kib(&self) -> f64 {
        self.rss_loaded_kib.saturating_sub(self.rss_idle_kib) as f64 / self.started.max(1) as f64
    }

    /// AWS calls per session per second.
    pub fn aws_per_session_second(&self) -> f64 {
        self.aws_calls.values().sum::<u64>() as f64
            / self.window.as_secs_f64()
            / self.started.max(1) as f64
    }
}

/// What the feeders count.
#[derive(Default)]
struct Feed {
    stop: AtomicBool,
    measuring: AtomicBool,
    sent: AtomicU64,
    accepted: AtomicU64,
    errors: AtomicU64,
    first_error: Mutex<Option<String>>,
    latencies: Mutex<Vec<Duration>>,
}

/// Each of `counts` in a fresh bridge process.
pub async fn bench(
    settings: &HashMap<String, String>,
    binary: &Path,
    logs: &Path,
    counts: &[usize],
    warmup: Duration,
    window: Duration,
) -> anyhow::Result<Vec<Row>> {
    let database_url = settings.get("DATABASE_URL").context("DATABASE_URL")?;
    let lookup = |name: &str| settings.get(name).cloned();
    let sdk = meetin_test_support::provision_local(&lookup, database_url).await?;
    let table = settings.get("EPHEMERAL_TABLE").context("EPHEMERAL_TABLE")?;
    let dynamodb = meetin_aws::aws_sdk_dynamodb::Client::new(&sdk);
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(4)
        .connect(database_url)
        .await
        .context("connecting to the database")?;
    let emulator = settings
        .get("AWS_ENDPOINT_URL")
        .context("AWS_ENDPOINT_URL")?;
    let mut rows = Vec::new();
    for &n in counts {
        let (owner, org) = crate::minutes::throwaway_org(&pool, "live-sessions").await?;
        let outcome = run(
            settings,
            binary,
            logs,
            emulator,
            &Db {
                pool: &pool,
                dynamodb: &dynamodb,
                table,
            },
            owner,
            org,
            n,
            warmup,
            window,
        )
        .await
        .with_context(|| format!("{n} sessions"));
        if let Err(err) = crate::minutes::delete_org(&pool, owner, org).await {
            eprintln!("[bench] live: cleaning up the database: {err:#}");
        }
        rows.push(outcome?);
    }
    pool.close().await;
    Ok(rows)
}

/// Where the sessions' rows and speakers' connections go.
struct Db<'a> {
    pool: &'a sqlx::PgPool,
    dynamodb: &'a meetin_aws::aws_sdk_dynamodb::Client,
    table: &'a str,
}

#[allow(clippy::too_many_arguments)]
async fn run(
    settings: &HashMap<String, String>,
    binary: &Path,
    logs: &Path,
    emulator: &str,
    db: &Db<'_>,
    owner: Uuid,
    org: Uuid,
    n: usize,
    warmup: Duration,
    window: Duration,
) -> anyhow::Result<Row> {
    let fake = FakeDeepgramLive::start().await?;
    fake.answer_every_frame(true);
    let proxy = CountingProxy::start(emulator).await?;
    let internal_port = free_port()?;
    let relay_url = format!("http://127.0.0.1:{internal_port}");
    let mut env = settings.clone();
    for (name, value) in [
        ("AWS_ENDPOINT_URL", proxy.url.clone()),
        ("DEEPGRAM_API_KEY", fake.api_key.clone()),
        ("DEEPGRAM_LIVE_URL", fake.base_url.to_string()),
        ("PORT", free_port()?.to_string()),
        ("INTERNAL_PORT", internal_port.to_string()),
        ("BRIDGE_TASK_URL", relay_url.clone()),
    ] {
        env.insert(name.to_owned(), value);
    }
    // No WebSocket API: these sessions have no listeners to push to.
    env.remove("WEBSOCKET_CALLBACK_URL");
    let log = logs.join(format!("live-bridge-{n}.log"));
    let log_file =
        std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
    let mut child = tokio::process::Command::new(binary)
        .env_clear()
        .envs(&env)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .stdout(log_file.try_clone()?)
        .stderr(log_file)
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {}", binary.display()))?;
    let pid = child.id().context("the bridge exited at once")?;
    let relay = RelayClient::new();
    let outcome = measure(
        &relay, &relay_url, &fake, &proxy, db, pid, owner, org, n, warmup, window,
    )
    .await
    .with_context(|| format!("the bridge's log: {}", log.display()));
    let _ = child.kill().await;
    outcome
}

#[allow(clippy::too_many_arguments)]
async fn measure(
    relay: &RelayClient,
    relay_url: &str,
    fake: &FakeDeepgramLive,
    proxy: &CountingProxy,
    db: &Db<'_>,
    pid: u32,
    owner: Uuid,
    org: Uuid,
    n: usize,
    warmup: Duration,
    window: Duration,
) -> anyhow::Result<Row> {
    let pool = db.pool;
    wait_ready(relay_url).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_idle_kib = status_kib(pid, "VmRSS")?;

    let meetings: Vec<Uuid> = sqlx::query_scalar(
        "INSERT INTO meetings (organization_id, created_by_id, title) \
         SELECT $1, $2, 'Bench live ' || g FROM generate_series(1, $3) g RETURNING id",
    )
    .bind(org)
    .bind(owner)
    .bind(i64::try_from(n)?)
    .fetch_all(pool)
    .await
    .context("inserting the meetings")?;
    let started_at = Instant::now();
    let starts: Vec<(Uuid, anyhow::Result<Uuid>)> = futures_util::stream::iter(meetings)
        .map(|meeting| async move {
            let session = super::stack::start_session(pool, relay, relay_url, owner, meeting).await;
            (meeting, session)
        })
        .buffer_unordered(STARTING_AT_ONCE)
        .collect()
        .await;
    let started_in = started_at.elapsed();
    let mut sessions = Vec::new();
    let mut start_errors = 0;
    let mut first_start_error = None;
    for (meeting, session) in starts {
        match session {
            Ok(session) => sessions.push((meeting, session)),
            Err(err) => {
                start_errors += 1;
                first_start_error.get_or_insert_with(|| format!("{err:#}"));
            }
        }
    }
    eprintln!(
        "[bench] live sessions: {} of {n} started in {:.1} s{}",
        sessions.len(),
        started_in.as_secs_f64(),
        first_start_error.map_or_else(String::new, |e| format!(" (first failure: {e})"))
    );
    if sessions.is_empty() {
        bail!("no session started");
    }
    let registered: Vec<anyhow::Result<()>> =
        futures_util::stream::iter(sessions.iter().enumerate())
            .map(|(i, &(meeting, _))| async move {
                let connection = Connection {
                    id: speaker_connection(i),
                    meeting,
                    user: owner,
                    via: Via::ApiGateway,
                    connected_at_ms: chrono::Utc::now().timestamp_millis(),
                    token_expires_at: None,
                };
                // Without the emulator's transactions (`join`), as the fan-out's listeners.
                super::join::register_plainly(db.dynamodb, db.table, &connection).await
            })
            .buffer_unordered(STARTING_AT_ONCE)
            .collect()
            .await;
    registered
        .into_iter()
        .collect::<anyhow::Result<Vec<()>>>()?;

    let pcm = meetin_test_support::fake_deepgram_live::tone_pcm(256, 16_000);
    debug_assert_eq!(pcm.len(), CHUNK_BYTES);
    let data = base64::engine::general_purpose::STANDARD.encode(&pcm);
    let feed = Arc::new(Feed::default());
    let period = Duration::from_millis(CHUNK_MS as u64);
    let mut feeders = Vec::with_capacity(sessions.len());
    for (i, &(meeting, session)) in sessions.iter().enumerate() {
        let chunk = AudioIn {
            meeting_id: meeting,
            session_id: session,
            connection_id: speaker_connection(i),
            user_id: owner,
            stream: Some("mic".to_owned()),
            seq: 0,
            data: data.clone(),
            take_over_from: None,
        };
        // Staggered over the period, so the chunks come evenly rather than in bursts.
        let offset = period.mul_f64(i as f64 / sessions.len() as f64);
        feeders.push(tokio::spawn(speak(
            relay.clone(),
            relay_url.to_owned(),
            chunk,
            offset,
            Arc::clone(&feed),
        )));
    }
    tokio::time::sleep(warmup).await;

    let frames_before = audio_frames(fake);
    let finals_before = finals(pool, org).await?;
    let calls_before = proxy.snapshot();
    let (sent_before, accepted_before, errors_before) = (
        feed.sent.load(Ordering::Relaxed),
        feed.accepted.load(Ordering::Relaxed),
        feed.errors.load(Ordering::Relaxed),
    );
    let bridge_before = cpu_seconds(pid)?;
    let bench_before = cpu_seconds(std::process::id())?;
    let machine_before = machine_ticks()?;
    feed.measuring.store(true, Ordering::Relaxed);
    let opened = Instant::now();
    tokio::time::sleep(window).await;
    let bridge_cpu = cpu_seconds(pid)? - bridge_before;
    let bench_cpu = cpu_seconds(std::process::id())? - bench_before;
    let machine_after = machine_ticks()?;
    feed.measuring.store(false, Ordering::Relaxed);
    let window = opened.elapsed();
    let rss_loaded_kib = status_kib(pid, "VmRSS")?;
    let hwm_kib = status_kib(pid, "VmHWM")?;
    // Counted when sent and when answered: a call in flight at either end of the window is
    // in one count and not the other.
    let sent = feed.sent.load(Ordering::Relaxed) - sent_before;
    let accepted = feed.accepted.load(Ordering::Relaxed) - accepted_before;
    let errors = feed.errors.load(Ordering::Relaxed) - errors_before;
    let calls_after = proxy.snapshot();
    let frames = audio_frames(fake) - frames_before;
    feed.stop.store(true, Ordering::Relaxed);
    let finals_after = finals(pool, org).await?;
    for feeder in &feeders {
        feeder.abort();
    }

    let secs = window.as_secs_f64();
    let busy = machine_after.0.saturating_sub(machine_before.0) as f64;
    let total = machine_after.1.saturating_sub(machine_before.1) as f64;
    let aws_calls: Counts = calls_after
        .iter()
        .map(|(k, v)| (k.clone(), v - calls_before.get(k).copied().unwrap_or(0)))
        .filter(|(_, v)| *v > 0)
        .collect();
    let latencies = std::mem::take(
        &mut *feed
            .latencies
            .lock()
            .unwrap_or_else(PoisonError::into_inner),
    );
    let first_error = feed
        .first_error
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    Ok(Row {
        sessions: n,
        started: sessions.len(),
        start_errors,
        started_in,
        window,
        real_time_per_s: sessions.len() as f64 * 1000.0 / CHUNK_MS as f64,
        sent_per_s: sent as f64 / secs,
        accepted_per_s: accepted as f64 / secs,
        errors,
        first_error,
        relay: latencies,
        deepgram_frames_per_s: frames as f64 / secs,
        finals_per_s: (finals_after - finals_before) as f64 / secs,
        bridge_cpu,
        bench_cpu,
        machine_busy: busy / total.max(1.0),
        load_average: crate::live::load_average(),
        rss_idle_kib,
        rss_loaded_kib,
        hwm_kib,
        aws_calls,
    })
}

/// The id of session `i`'s speaker connection.
fn speaker_connection(i: usize) -> String {
    format!("bench-speaker-{i}")
}

/// One session's speaker: a chunk on each 256 ms tick, the next once the last was answered.
async fn speak(
    relay: RelayClient,
    relay_url: String,
    mut chunk: AudioIn,
    offset: Duration,
    feed: Arc<Feed>,
) {
    tokio::time::sleep(offset).await;
    let mut tick = tokio::time::interval(Duration::from_millis(CHUNK_MS as u64));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    while !feed.stop.load(Ordering::Relaxed) {
        tick.tick().await;
        let measuring = feed.measuring.load(Ordering::Relaxed);
        let sent = Instant::now();
        feed.sent.fetch_add(1, Ordering::Relaxed);
        match relay.audio(&relay_url, &chunk).await {
            Ok(()) => {
                feed.accepted.fetch_add(1, Ordering::Relaxed);
                if measuring {
                    feed.latencies
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(sent.elapsed());
                }
                chunk.seq += 1;
            }
            Err(err) => {
                feed.errors.fetch_add(1, Ordering::Relaxed);
                feed.first_error
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .get_or_insert_with(|| err.to_string());
                // A refused chunk is sent again; an unreachable bridge is not waited for.
            }
        }
    }
}

async fn wait_ready(relay_url: &str) -> anyhow::Result<()> {
    let client = crate::http_client()?;
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        if let Ok(answer) = client.get(format!("{relay_url}/health")).send().await
            && answer.status().is_success()
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("the bridge did not answer {relay_url}/health in {READY_TIMEOUT:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Audio frames the fake has received on every connection.
fn audio_frames(fake: &FakeDeepgramLive) -> u64 {
    fake.connections().iter().map(|c| c.audio_frames).sum()
}

/// Final segments stored in the organization's meetings.
async fn finals(pool: &sqlx::PgPool, org: Uuid) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM transcript_segments s \
         JOIN transcripts t ON t.id = s.transcript_id \
         JOIN meetings m ON m.id = t.meeting_id WHERE m.organization_id = $1",
    )
    .bind(org)
    .fetch_one(pool)
    .await?)
}

/// Clock ticks per second of /proc's CPU times (`getconf CLK_TCK`, 100 on Linux).
fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// User + system CPU time of process `pid` so far, in seconds (`/proc/<pid>/stat`).
pub fn cpu_seconds(pid: u32) -> anyhow::Result<f64> {
    let file = format!("/proc/{pid}/stat");
    let stat = std::fs::read_to_string(&file).with_context(|| format!("reading {file}"))?;
    // Fields after the command name (which may hold spaces, in parentheses): state is
    // field 3, utime 14, stime 15.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .context("no command name in /proc/<pid>/stat")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| -> anyhow::Result<u64> {
        fields
            .get(i)
            .and_then(|v| v.parse().ok())
            .with_context(|| format!("field {} of {file}", i + 3))
    };
    Ok((tick(11)? + tick(12)?) as f64 / clock_ticks())
}

/// The machine's (busy, total) CPU ticks so far, all cores (`/proc/stat`).
fn machine_ticks() -> anyhow::Result<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").context("reading /proc/stat")?;
    let line = stat.lines().next().context("an empty /proc/stat")?;
    let ticks: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest times are inside user).
    let total: u64 = ticks.iter().take(8).sum();
    let idle = ticks.get(3).copied().unwrap_or(0) + ticks.get(4).copied().unwrap_or(0);
    Ok((total - idle, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_spent_cpu_and_the_machine_has_ticks() {
        let spin = Instant::now();
        while spin.elapsed() < Duration::from_millis(30) {}
        assert!(cpu_seconds(std::process::id()).expect("/proc/self/stat") > 0.0);
        let (busy, total) = machine_ticks().expect("/proc/stat");
        assert!(busy > 0 && total > busy);
    }
}
