//! `meetin-bench live` (`make bench-live`): what live transcription (issue 19) adds and
//! sustains on this machine, with a Deepgram that answers every audio frame at once
//! (`FakeDeepgramLive::answer_every_frame`):
//!
//! 1. **added latency** ([`latency`]): an 8,192-byte chunk sent by the speaker → the
//!    `transcript_segment` of its words on a listener's socket, at real-time pace, through the
//!    API Gateway form (`audio_chunk` on `/ws`, `live-socket`, the relay) and the legacy
//!    binary form (the bridge's own socket), each to a listener of each kind;
//! 2. **fan-out** ([`fanout`]): one final to 100 and 1,000 listeners on `/ws` (first send →
//!    last receipt);
//! 3. **the bridge per session** ([`sessions`]): the release `live-bridge` binary as its own
//!    process serving 100 and 1,000 sessions fed at real-time pace through its relay API: its
//!    CPU time and RSS over a steady window, what it sustained, its DynamoDB calls.
//!
//! Parts 1 and 2 run the whole live path in this process ([`stack`]); part 3 needs
//! `target/release/live-bridge`. Everything uses the local settings with the benchmark's own
//! DynamoDB table, and throwaway organizations of the configured database (deleted after).
//!
//! ```text
//! meetin-bench live [--parts latency,fanout,sessions] [--chunks 250] [--warmup-chunks 10]
//!                   [--listeners 100,1000] [--segments 30] [--fanout-interval-ms 1000]
//!                   [--sessions 100,1000] [--warmup-secs 10] [--window-secs 30]
//!                   [--bridge target/release/live-bridge]
//! ```

mod fanout;
mod join;
mod latency;
mod sessions;
mod stack;

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{Context, bail, ensure};

use crate::load::{Stats, mib, ms};
use crate::{Paths, raised, require_local_service};

const USAGE: &str = "usage: meetin-bench live [--parts latency,fanout,sessions] [--chunks 250] \
[--warmup-chunks 10] [--listeners 100,1000] [--segments 30] [--fanout-interval-ms 1000] \
[--sessions 100,1000] [--warmup-secs 10] [--window-secs 30] [--bridge target/release/live-bridge]";

/// The DynamoDB table of every part (created at start).
const LIVE_EPHEMERAL_TABLE: &str = "meetin-bench-live-ephemeral";

/// The benchmark's parts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Part {
    Latency,
    Fanout,
    Sessions,
}

/// What `meetin-bench live` was asked for.
#[derive(Clone, Debug)]
struct Options {
    parts: Vec<Part>,
    /// Chunks counted per latency run (after `warmup_chunks`).
    chunks: usize,
    warmup_chunks: usize,
    listeners: Vec<usize>,
    /// Finals counted per fan-out run (after 3 not counted).
    segments: usize,
    fanout_interval: Duration,
    sessions: Vec<usize>,
    warmup: Duration,
    window: Duration,
    /// The bridge binary of the sessions part (default: the release build's).
    bridge: Option<std::path::PathBuf>,
}

impl Options {
    fn parse(mut args: impl Iterator<Item = String>) -> anyhow::Result<Self> {
        let mut options = Self {
            parts: vec![Part::Latency, Part::Fanout, Part::Sessions],
            chunks: 250,
            warmup_chunks: 10,
            listeners: vec![100, 1000],
            segments: 30,
            fanout_interval: Duration::from_millis(1000),
            sessions: vec![100, 1000],
            warmup: Duration::from_secs(10),
            window: Duration::from_secs(30),
            bridge: None,
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
            let list =
                |v: &str| -> anyhow::Result<Vec<usize>> { v.split(',').map(number).collect() };
            match flag.as_str() {
                "--parts" => {
                    options.parts = (value.split(','))
                        .map(|p| match p.trim() {
                            "latency" => Ok(Part::Latency),
                            "fanout" => Ok(Part::Fanout),
                            "sessions" => Ok(Part::Sessions),
                            other => bail!("--parts: {other:?} is not latency, fanout or sessions"),
                        })
                        .collect::<anyhow::Result<_>>()?;
                }
                "--chunks" => options.chunks = number(&value)?,
                "--warmup-chunks" => options.warmup_chunks = number(&value)?,
                "--listeners" => options.listeners = list(&value)?,
                "--segments" => options.segments = number(&value)?,
                "--fanout-interval-ms" => {
                    options.fanout_interval = Duration::from_millis(number(&value)? as u64);
                }
                "--sessions" => options.sessions = list(&value)?,
                "--warmup-secs" => options.warmup = Duration::from_secs(number(&value)? as u64),
                "--window-secs" => options.window = Duration::from_secs(number(&value)? as u64),
                "--bridge" => options.bridge = Some(value.into()),
                other => bail!("unknown option {other:?}\n{USAGE}"),
            }
        }
        ensure!(!options.parts.is_empty(), "--parts must name a part");
        ensure!(
            options.chunks >= 1 && options.segments >= 1,
            "--chunks and --segments must be at least 1"
        );
        ensure!(
            options.listeners.iter().all(|&n| (1..=1000).contains(&n)),
            "--listeners must be numbers from 1 to 1000 (the per-meeting cap)"
        );
        ensure!(
            options.sessions.iter().all(|&n| n >= 1),
            "--sessions must be numbers of at least 1"
        );
        ensure!(
            options.window >= Duration::from_secs(1),
            "--window-secs must be at least 1"
        );
        Ok(options)
    }
}

/// `meetin-bench live …`: the parts asked for, then their tables.
pub async fn run(args: impl Iterator<Item = String>) -> anyhow::Result<()> {
    let options = Options::parse(args)?;
    let paths = Paths::locate()?;
    let mut settings = raised(&meetin_test_support::local_settings(&paths.root)?);
    settings.insert("EPHEMERAL_TABLE".into(), LIVE_EPHEMERAL_TABLE.into());
    require_local_service(&settings, "DATABASE_URL", "PostgreSQL", 5432).await?;
    require_local_service(&settings, "AWS_ENDPOINT_URL", "the AWS emulator", 80).await?;
    let bridge_binary = match (&options.bridge, options.parts.contains(&Part::Sessions)) {
        (_, false) => None,
        (Some(path), true) => {
            ensure!(path.is_file(), "--bridge {}: no such file", path.display());
            Some(path.clone())
        }
        (None, true) => Some(paths.binary("live-bridge")?),
    };
    check_open_files(&options)?;
    // The in-process stack's warnings and errors (a refused `$connect`, a failed push) go to
    // a file, not among the tables.
    let log = paths.logs.join("live.log");
    let file =
        std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("warn"))
        .with_writer(std::sync::Mutex::new(file))
        .with_ansi(false)
        .try_init();

    println!("# meetIN benchmark: live transcription");
    println!();
    println!("{}", crate::report::machine_line());
    println!(
        "Options: --chunks {} --warmup-chunks {} --listeners {} --segments {} \
         --fanout-interval-ms {} --sessions {} --warmup-secs {} --window-secs {}",
        options.chunks,
        options.warmup_chunks,
        join(&options.listeners),
        options.segments,
        options.fanout_interval.as_millis(),
        join(&options.sessions),
        options.warmup.as_secs(),
        options.window.as_secs()
    );
    println!();

    let in_process =
        options.parts.contains(&Part::Latency) || options.parts.contains(&Part::Fanout);
    let stack = if in_process {
        Some(stack::Stack::start(&settings).await?)
    } else {
        None
    };
    // Each part's table is printed as soon as it is measured (a later part may fail or be
    // stopped).
    if let Some(stack) = &stack {
        if options.parts.contains(&Part::Latency) {
            let (rows, trips) = latency::bench(stack, options.chunks, options.warmup_chunks)
                .await
                .with_context(|| format!("the latency part (its log: {})", log.display()))?;
            print_latency(&options, &rows, &trips);
        }
        if options.parts.contains(&Part::Fanout) {
            let rows = fanout::bench(
                stack,
                &options.listeners,
                options.segments,
                3,
                options.fanout_interval,
            )
            .await
            .with_context(|| format!("the fan-out part (its log: {})", log.display()))?;
            print_fanout(&options, &rows);
        }
    }
    drop(stack);
    if let Some(binary) = &bridge_binary {
        let rows = sessions::bench(
            &settings,
            binary,
            &paths.logs,
            &options.sessions,
            options.warmup,
            options.window,
        )
        .await
        .context("the sessions part")?;
        print_sessions(&options, &rows);
    }
    Ok(())
}

/// The fan-out part holds two sockets per listener in this process (client and server) and
/// the sessions part two per session (relay, Deepgram): fail early, naming `ulimit -n`.
fn check_open_files(options: &Options) -> anyhow::Result<()> {
    let need = 256
        + 3 * options
            .listeners
            .iter()
            .chain(&options.sessions)
            .copied()
            .max()
            .unwrap_or(0);
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let soft = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse::<usize>().ok());
    if let Some(soft) = soft
        && soft < need
    {
        bail!(
            "this run needs about {need} open files and the limit is {soft}: raise it first \
             (`ulimit -n {}`)",
            need.next_power_of_two()
        );
    }
    Ok(())
}

/// The load average now (1, 5, 15 minutes).
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".to_owned())
}

fn join(numbers: &[usize]) -> String {
    numbers
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// `p50 / p99 / max` of a sample, in ms.
fn percentiles(sample: &[Duration]) -> String {
    match Stats::of(sample) {
        Some(s) => format!("{:.1} / {:.1} / {:.1}", ms(s.p50), ms(s.p99), ms(s.max)),
        None => "–".to_owned(),
    }
}

fn print_latency(options: &Options, rows: &[latency::Row], trips: &latency::RoundTrips) {
    println!(
        "## Added latency: chunk sent → its final on a listener ({} chunks at real-time pace \
         after {} not counted; Deepgram answering each frame at once)",
        options.chunks, options.warmup_chunks
    );
    println!();
    println!(
        "| speaker sends on | listener on | n | p50 / p99 / max ms | missing | speaker errors |"
    );
    println!("|---|---|---:|---:|---:|---:|");
    for row in rows {
        println!(
            "| {} | {} | {} | {} | {} | {}{} |",
            row.speaker.label(),
            row.listener_label(),
            row.latencies.len(),
            percentiles(&row.latencies),
            row.missing,
            row.errors,
            row.first_error
                .as_ref()
                .map_or_else(String::new, |e| format!(" (first: {e})"))
        );
    }
    println!();
    println!(
        "Round trips alone, in the same run ({} each, p50 / p99 / max ms): a DynamoDB \
         `GetItem` on the emulator {}; PostgreSQL `SELECT 1` {}.",
        latency::ROUND_TRIPS,
        percentiles(&trips.dynamodb),
        percentiles(&trips.postgres)
    );
    println!();
}

fn print_fanout(options: &Options, rows: &[fanout::Row]) {
    println!(
        "## Fan-out: one final to every listener on `/ws` ({} finals each, one at a time, at \
         most one every {} ms; chunk relayed to the bridge → receipts)",
        options.segments,
        options.fanout_interval.as_millis()
    );
    println!();
    println!(
        "| listeners | members | joined in s (retried) | list read alone p50 / max ms | finals \
         that read the list | chunk → first p50 / p99 / max ms | chunk → last p50 / p99 / max ms \
         | first → last p50 / p99 / max ms | chunk → last, list in hand, p50 / p99 / max ms | \
         incomplete |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for row in rows {
        let (cached, reread) = row.cached();
        println!(
            "| {} | {} | {:.1} ({}) | {} | {reread} of {} | {} | {} | {} | {} | {} |",
            row.listeners,
            fanout::members_for(row.listeners),
            row.joined_in.as_secs_f64(),
            row.connect_retries,
            Stats::of(&row.list_read).map_or_else(
                || "–".to_owned(),
                |s| format!("{:.1} / {:.1}", ms(s.p50), ms(s.max))
            ),
            row.first.len(),
            percentiles(&row.first),
            percentiles(&row.last),
            percentiles(&row.spread),
            percentiles(&cached),
            row.incomplete
        );
    }
    println!();
}

fn print_sessions(options: &Options, rows: &[sessions::Row]) {
    println!(
        "## The bridge per session: `{}` (its own process) fed at real-time pace through its \
         relay API ({} s window after {} s of warm-up)",
        options.bridge.as_ref().map_or_else(
            || "target/release/live-bridge".to_owned(),
            |b| b.display().to_string()
        ),
        options.window.as_secs(),
        options.warmup.as_secs()
    );
    println!();
    println!(
        "| sessions | started (in s) | chunks/s real time | sent/s | accepted/s | relay p50 / p99 \
         / max ms | errors | Deepgram frames/s | finals stored/s |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for row in rows {
        println!(
            "| {} | {}{} ({:.1}) | {:.0} | {:.0} | {:.0} | {} | {}{} | {:.0} | {:.0} |",
            row.sessions,
            row.started,
            if row.start_errors > 0 {
                format!(", {} failed", row.start_errors)
            } else {
                String::new()
            },
            row.started_in.as_secs_f64(),
            row.real_time_per_s,
            row.sent_per_s,
            row.accepted_per_s,
            percentiles(&row.relay),
            row.errors,
            row.first_error
                .as_ref()
                .map_or_else(String::new, |e| format!(" ({e})")),
            row.deepgram_frames_per_s,
            row.finals_per_s,
        );
    }
    println!();
    println!(
        "| sessions | bridge CPU, % of one core | CPU ms per session-second | CPU µs per chunk \
         | RSS idle → loaded MiB (peak) | RSS per session KiB | AWS calls/s (per session) | \
         machine busy | bench process CPU % | load average |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    for row in rows {
        let secs = row.window.as_secs_f64();
        println!(
            "| {} | {:.0} | {:.2} | {:.0} | {:.1} → {:.1} ({:.1}) | {:.0} | {:.0} ({:.2}) | {:.0} % | {:.0} | {} |",
            row.sessions,
            row.bridge_cpu / secs * 100.0,
            row.cpu_ms_per_session_second(),
            row.bridge_cpu * 1e6 / (row.accepted_per_s * secs).max(1.0),
            mib(row.rss_idle_kib * 1024),
            mib(row.rss_loaded_kib * 1024),
            mib(row.hwm_kib * 1024),
            row.rss_per_session_kib(),
            row.aws_calls.values().sum::<u64>() as f64 / secs,
            row.aws_per_session_second(),
            row.machine_busy * 100.0,
            row.bench_cpu / secs * 100.0,
            row.load_average,
        );
    }
    println!();
    for row in rows {
        let calls: HashMap<&str, f64> = row
            .aws_calls
            .iter()
            .map(|(k, v)| (k.as_str(), *v as f64 / row.window.as_secs_f64()))
            .collect();
        let mut calls: Vec<(&str, f64)> = calls.into_iter().collect();
        calls.sort_by(|a, b| b.1.total_cmp(&a.1));
        println!(
            "AWS calls/s at {} sessions: {}",
            row.sessions,
            calls
                .iter()
                .map(|(k, v)| format!("{k} {v:.0}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    println!();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> anyhow::Result<Options> {
        Options::parse(args.iter().map(|a| (*a).to_owned()))
    }

    #[test]
    fn options_default_to_the_issue_s_counts_and_refuse_past_the_cap() {
        let options = parse(&[]).expect("defaults");
        assert_eq!(options.listeners, [100, 1000]);
        assert_eq!(options.sessions, [100, 1000]);
        assert_eq!(options.parts.len(), 3);
        let options = parse(&["--parts", "fanout", "--listeners", "10,20"]).expect("valid");
        assert_eq!(
            (options.parts, options.listeners),
            (vec![Part::Fanout], vec![10, 20])
        );
        assert!(parse(&["--listeners", "1001"]).is_err());
        assert!(parse(&["--parts", "everything"]).is_err());
        assert!(parse(&["--chunks"]).is_err());
    }
}
