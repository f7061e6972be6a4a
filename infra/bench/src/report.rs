//! The report on stdout, in Markdown ready for docs/benchmarks.md.

use std::time::Duration;

use anyhow::Context;
use meetin_test_support::stack::RAISED_RATE_LIMITS;

use crate::Options;
use crate::cold_start::{ColdStart, LambdaResults};
use crate::counting_proxy::{CountResults, Counts};
use crate::load::{HttpRow, Stats, mib, ms};
use crate::memory::{MemoryResults, Reading};

/// Where and how this ran, for the record.
pub fn print_header(options: &Options) {
    println!("# meetIN benchmark");
    println!();
    println!("{}", machine_line());
    println!(
        "Rate limits raised for the benchmark in every process: {} (the contract's limits \
         would throttle it).",
        RAISED_RATE_LIMITS
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "Options: --cold-starts {} --warm-invocations {} --warmup {} --profile-requests {} \
         --login-requests {} --connections {} --count-requests {} --parallel-logins {} \
         --idle-secs {} --phase-timeout-secs {}",
        options.cold_starts,
        options.warm_invocations,
        options.warmup,
        options.profile_requests,
        options.login_requests,
        options
            .connections
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(","),
        options.count_requests,
        options.parallel_logins,
        options.idle.as_secs(),
        options.phase_timeout.as_secs()
    );
    println!();
}

/// The date, the machine (architecture, CPU model, cores, memory), the compiler and the load
/// average at the start, on one line.
pub fn machine_line() -> String {
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
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| {
            let mut fields = l.split_whitespace();
            Some(format!(
                "{} {} {}",
                fields.next()?,
                fields.next()?,
                fields.next()?
            ))
        })
        .unwrap_or_else(|| "unknown".to_owned());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find_map(|l| l.strip_prefix("model name")?.split_once(':'))
                .map(|(_, m)| format!(" ({})", m.trim()))
        })
        .unwrap_or_default();
    format!(
        "{}; {}{model}, {cpus} CPUs, {memory}, {rustc}, release profile; load average at the \
         start: {load}",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        std::env::consts::ARCH,
    )
}

/// One duration of a cold start, such as its init.
type Measure = fn(&ColdStart) -> Duration;

fn column(runs: &[ColdStart], f: Measure) -> Vec<Duration> {
    runs.iter().map(f).collect()
}

fn median(samples: &[Duration]) -> Duration {
    Stats::of(samples).map_or(Duration::ZERO, |s| s.p50)
}

/// One table per function, then the auth/hello ratios of the medians.
pub fn print_lambdas(options: &Options, results: &[LambdaResults]) -> anyhow::Result<()> {
    for result in results {
        print_lambda(options, result)?;
    }
    let find = |name| results.iter().find(|r| r.name == name);
    let (Some(auth), Some(hello)) = (find("auth"), find("hello-lambda")) else {
        return Ok(());
    };
    println!("### auth against the lambda_http hello world (medians)");
    println!();
    println!("| measure | hello-lambda | auth | auth / hello |");
    println!("|---|---:|---:|---:|");
    let rows: [(&str, Measure); 3] = [
        ("init: spawn → first GET /next", |r| r.init),
        ("first invocation: GET /next → response", |r| {
            r.first_invocation
        }),
        ("cold start: spawn → first response", |r| r.total),
    ];
    for (label, f) in rows {
        let (h, a) = (
            median(&column(&hello.runs, f)),
            median(&column(&auth.runs, f)),
        );
        println!(
            "| {label} | {:.2} ms | {:.2} ms | {:.1}× |",
            ms(h),
            ms(a),
            ms(a) / ms(h).max(f64::EPSILON)
        );
    }
    let warm = |r: &LambdaResults| -> Vec<Duration> {
        r.runs.iter().flat_map(|c| c.warm.iter().copied()).collect()
    };
    let (h, a) = (median(&warm(hello)), median(&warm(auth)));
    println!(
        "| warm invocation: event → response | {:.2} ms | {:.2} ms | {:.1}× |",
        ms(h),
        ms(a),
        ms(a) / ms(h).max(f64::EPSILON)
    );
    let rss = |r: &LambdaResults| {
        let mut v: Vec<u64> = r.runs.iter().map(|c| c.peak_rss_kib).collect();
        v.sort_unstable();
        v.get((v.len().max(1) - 1) / 2).copied().unwrap_or(0)
    };
    let (h, a) = (rss(hello), rss(auth));
    println!(
        "| peak RSS (VmHWM) | {:.1} MiB | {:.1} MiB | {:.1}× |",
        mib(h * 1024),
        mib(a * 1024),
        a as f64 / (h as f64).max(1.0)
    );
    let size = |r: &LambdaResults| std::fs::metadata(&r.binary).map_or(0, |m| m.len());
    let (h, a) = (size(hello), size(auth));
    println!(
        "| binary size | {:.2} MiB | {:.2} MiB | {:.1}× |",
        mib(h),
        mib(a),
        a as f64 / (h as f64).max(1.0)
    );
    println!();
    Ok(())
}

fn print_lambda(options: &Options, results: &LambdaResults) -> anyhow::Result<()> {
    let runs = &results.runs;
    let warm: Vec<Duration> = runs.iter().flat_map(|r| r.warm.iter().copied()).collect();
    println!(
        "## {} through a local Runtime API (GET /api/auth/profile/ event, {} cold starts, \
         {} warm invocations each)",
        results.name, options.cold_starts, options.warm_invocations
    );
    println!();
    println!("| measure | n | min ms | median ms | p90 ms | p99 ms | max ms |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let rows = [
        (
            "cold start: spawn → first response",
            column(runs, |r| r.total),
        ),
        ("  init: spawn → first GET /next", column(runs, |r| r.init)),
        (
            "  first invocation: GET /next → response",
            column(runs, |r| r.first_invocation),
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
    let mut rss: Vec<u64> = runs.iter().map(|r| r.peak_rss_kib).collect();
    rss.sort_unstable();
    if let (Some(min), Some(max)) = (rss.first(), rss.last()) {
        let median = rss[(rss.len() - 1) / 2];
        println!(
            "Peak RSS (VmHWM) of the {} process after its warm invocations: min {:.1} MiB, \
             median {:.1} MiB, max {:.1} MiB",
            results.name,
            mib(min * 1024),
            mib(median * 1024),
            mib(max * 1024)
        );
    }
    let size = std::fs::metadata(&results.binary)
        .with_context(|| format!("reading the size of {}", results.binary.display()))?
        .len();
    println!(
        "Binary size: {} is {size} bytes ({:.2} MiB)",
        results.binary.display(),
        mib(size)
    );
    println!();
    Ok(())
}

pub fn print_http(options: &Options, rows: &[HttpRow]) {
    println!(
        "## Local stack (meetin-local serve on 127.0.0.1, keep-alive, after {} warm-up requests \
         per endpoint)",
        options.warmup
    );
    println!();
    println!("| request | connections | n | errors | p50 ms | p90 ms | p99 ms | max ms | req/s |");
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
                "Note: {} at {} connections stopped at the phase timeout ({} s).",
                row.call.label(),
                row.concurrency,
                options.phase_timeout.as_secs()
            );
        }
        if let Some(err) = &row.sample.first_error {
            println!(
                "First error of {} at {} connections: {err}",
                row.call.label(),
                row.concurrency
            );
        }
    }
    println!();
}

pub fn print_counts(options: &Options, counts: &CountResults) {
    println!(
        "## AWS calls of the local stack (counted by a proxy in front of the emulator, by \
         X-Amz-Target)"
    );
    println!();
    println!(
        "| operation | start-up | {} warm-up profile requests | per 1,000 profile requests (of {}) |",
        options.warmup, counts.profile_requests
    );
    println!("|---|---:|---:|---:|");
    let mut keys: Vec<&String> = counts
        .start_up
        .keys()
        .chain(counts.warmup.keys())
        .chain(counts.profile.keys())
        .collect();
    keys.sort_unstable();
    keys.dedup();
    let get = |c: &Counts, k: &String| c.get(k).copied().unwrap_or(0);
    let per_1000 = |n: u64| n as f64 * 1000.0 / counts.profile_requests.max(1) as f64;
    for key in &keys {
        println!(
            "| `{key}` | {} | {} | {:.1} |",
            get(&counts.start_up, key),
            get(&counts.warmup, key),
            per_1000(get(&counts.profile, key))
        );
    }
    let total: u64 = counts.profile.values().sum();
    let dynamodb: u64 = (counts.profile.iter())
        .filter(|(k, _)| k.starts_with("DynamoDB_"))
        .map(|(_, v)| v)
        .sum();
    println!("| **all DynamoDB** | | | **{:.1}** |", per_1000(dynamodb));
    if total != dynamodb {
        println!("| all AWS calls | | | {:.1} |", per_1000(total));
    }
    println!();
}

pub fn print_memory(options: &Options, memory: &MemoryResults) {
    let row = |label: &str, r: &Reading| {
        println!(
            "| {label} | {:.1} | {:.1} |",
            mib(r.rss_kib * 1024),
            mib(r.hwm_kib * 1024)
        );
    };
    println!(
        "## Memory of a fresh local stack around {} parallel logins (/proc/<pid>/status)",
        options.parallel_logins
    );
    println!();
    println!("| moment | VmRSS MiB | VmHWM (peak so far) MiB |");
    println!("|---|---:|---:|");
    row("after start-up and one registration", &memory.before);
    row("right after the last login answered", &memory.after);
    row(
        &format!("idle, {} s later", options.idle.as_secs()),
        &memory.idle,
    );
    println!();
    let logins = &memory.logins;
    let stats = Stats::of(&logins.latencies);
    println!(
        "The logins: {} answered 200, {} failed, in {:.0} ms; latency p50 {:.0} ms, max {:.0} ms.{}",
        logins.latencies.len(),
        logins.errors,
        ms(logins.elapsed),
        stats.map_or(0.0, |s| ms(s.p50)),
        stats.map_or(0.0, |s| ms(s.max)),
        logins
            .first_error
            .as_ref()
            .map_or_else(String::new, |e| format!(" First error: {e}"))
    );
    println!();
}
