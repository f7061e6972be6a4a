//! Where the benchmark finds the repository, its target directory and the release binaries,
//! and the check that a local service it needs is up.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use reqwest::Url;
use tokio::net::TcpStream;

pub(crate) struct Paths {
    pub root: PathBuf,
    pub(crate) release: PathBuf,
    /// The started processes' output, for when something fails.
    pub logs: PathBuf,
}

impl Paths {
    pub(crate) fn locate() -> anyhow::Result<Self> {
        let root = repo_root()?;
        let target = target_dir(&root);
        let logs = target.join("bench");
        std::fs::create_dir_all(&logs).with_context(|| format!("creating {}", logs.display()))?;
        Ok(Self {
            root,
            release: target.join("release"),
            logs,
        })
    }

    pub(crate) fn binary(&self, name: &str) -> anyhow::Result<PathBuf> {
        let path = self.release.join(name);
        ensure!(
            path.is_file(),
            "{} is missing: run `cargo build --release -p auth -p meetin-local -p meetin-bench` \
             (`make bench` does)",
            path.display()
        );
        Ok(path)
    }
}

pub(crate) fn repo_root() -> anyhow::Result<PathBuf> {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .context("finding the repository root")
}

pub(crate) fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
}

/// Fails, naming `make setup`, unless `key` of `settings` is a URL of this machine whose port
/// (`default_port` when it names none) accepts a connection within 2 s.
pub(crate) async fn require_local_service(
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
