//! Memory of a local stack process around `--parallel-logins` logins sent at once, read from
//! /proc/{pid}/status: VmHWM (peak resident set) and VmRSS (resident set now).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;

use crate::load::{Call, Sample, Target, measure};
use crate::{Options, Paths, register, start_stack};

/// `field` (such as `VmHWM` or `VmRSS`) of /proc/{pid}/status, in KiB.
pub fn status_kib(pid: u32, field: &str) -> anyhow::Result<u64> {
    let file = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&file).with_context(|| format!("reading {file}"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .with_context(|| format!("no {field} in {file}"))
}

/// VmRSS and VmHWM at one moment, in KiB.
#[derive(Clone, Copy)]
pub struct Reading {
    pub rss_kib: u64,
    pub hwm_kib: u64,
}

impl Reading {
    fn of(pid: u32) -> anyhow::Result<Self> {
        Ok(Self {
            rss_kib: status_kib(pid, "VmRSS")?,
            hwm_kib: status_kib(pid, "VmHWM")?,
        })
    }
}

/// What [`bench`] measured.
pub struct MemoryResults {
    /// After start-up and one registration, before the logins.
    pub before: Reading,
    /// Right after the last login answered; its VmHWM is the peak during the logins.
    pub after: Reading,
    /// `--idle-secs` later, with no requests in between.
    pub idle: Reading,
    /// The logins themselves (all sent at once, one connection each).
    pub logins: Sample,
}

/// A fresh local stack (so its peak belongs to this part), one user, then
/// `--parallel-logins` logins of that user at once.
pub async fn bench(
    options: &Options,
    paths: &Paths,
    binary: &Path,
    env: &HashMap<String, String>,
    client: &reqwest::Client,
) -> anyhow::Result<MemoryResults> {
    // The login path's memory: the recording worker's Whisper model (about 80 MiB, loaded at
    // start when no Deepgram key is set) is left out by asking for the (fake) Deepgram.
    let mut env = env.clone();
    env.insert("TRANSCRIPTION_PROVIDER".into(), "deepgram".into());
    let mut stack = start_stack(binary, paths, "meetin-local-memory", &env, client).await?;
    let outcome = async {
        let pid = stack.pid().context("the memory stack has exited")?;
        let account = register(&stack, client).await?;
        let base = stack.base_url();
        let target = Arc::new(Target::new(client, &base, &account));
        let before = Reading::of(pid)?;
        let n = options.parallel_logins;
        let logins = measure(&target, Call::Login, n, n, options.phase_timeout).await?;
        let after = Reading::of(pid)?;
        tokio::time::sleep(options.idle).await;
        let idle = Reading::of(pid)?;
        eprintln!(
            "[bench] {n} parallel logins: VmHWM {} KiB, VmRSS {} KiB after, {} KiB idle",
            after.hwm_kib, after.rss_kib, idle.rss_kib
        );
        anyhow::Ok(MemoryResults {
            before,
            after,
            idle,
            logins,
        })
    }
    .await;
    stack.stop().await;
    outcome.with_context(|| format!("the memory part (logs in {})", paths.logs.display()))
}
