//! The local stack's settings: infra/local/env, with the process environment taking
//! precedence (as `infra/local/load-env.sh` exports them for the shell).

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context;

pub fn local_settings(repo_root: &Path) -> anyhow::Result<HashMap<String, String>> {
    let file = repo_root.join("infra/local/env");
    let text =
        std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| {
            let key = k.trim().to_owned();
            let value = std::env::var(&key).unwrap_or_else(|_| v.trim().to_owned());
            (key, value)
        })
        .collect())
}
