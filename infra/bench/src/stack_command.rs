//! `meetin-bench stack`: a local stack with raised rate limits and a registered user, for
//! scripts (`make fuzz`). It prints `ACCESS_TOKEN=<jwt>` on stdout once the stack answers,
//! then serves until SIGINT or SIGTERM and stops the stack.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, bail};
use meetin_test_support::stack::LocalStack;
use tokio::signal::unix::{SignalKind, signal};

use crate::{START_TIMEOUT, http_client, raised, repo_root, target_dir};

pub async fn run(mut args: impl Iterator<Item = String>) -> anyhow::Result<()> {
    let root = repo_root()?;
    let mut port: u16 = 8765;
    let mut binary = target_dir(&root).join("debug/meetin-local");
    let mut log: Option<PathBuf> = None;
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .with_context(|| format!("{flag} needs a value\n{}", crate::USAGE))?;
        match flag.as_str() {
            "--port" => port = value.parse().with_context(|| format!("--port {value:?}"))?,
            "--binary" => binary = value.into(),
            "--log" => log = Some(value.into()),
            other => bail!("unknown option {other:?}\n{}", crate::USAGE),
        }
    }
    // Registered before the stack starts, so a signal during start-up still stops it.
    let mut interrupt = signal(SignalKind::interrupt()).context("listening for SIGINT")?;
    let mut terminate = signal(SignalKind::terminate()).context("listening for SIGTERM")?;

    let env = raised(&meetin_test_support::local_settings(&root)?);
    let client = http_client()?;
    let mut stack = LocalStack::start(&binary, port, &env, log.as_deref())?;
    let ready = async {
        stack.wait_ready(&client, START_TIMEOUT).await?;
        let account = stack.register_user(&client, "fuzz").await?;
        let mut out = std::io::stdout().lock();
        writeln!(out, "ACCESS_TOKEN={}", account.access)?;
        out.flush().context("writing the token")?;
        anyhow::Ok(())
    };
    let outcome = tokio::select! {
        ready = ready => ready,
        _ = interrupt.recv() => Ok(()),
        _ = terminate.recv() => Ok(()),
    };
    if outcome.is_ok() {
        eprintln!(
            "[stack] serving on {}; stop with SIGINT or SIGTERM",
            stack.base_url()
        );
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
            // The stack dying is worth a non-zero exit, noticed by whoever waits on us.
            status = stack.exited() => bail!("meetin-local exited on its own ({status:?})"),
        }
    }
    stack.stop().await;
    outcome
}
