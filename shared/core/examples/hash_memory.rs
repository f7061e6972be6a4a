//! Peak memory of 100 concurrent password verifications.
//! `cargo run -p meetin-core --example hash_memory -- pooled` (or `unbounded`, the old way:
//! every verification allocates its own 19 MiB on its own blocking thread).

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use meetin_core::password::Hasher;

/// The global hasher's bound (one slot per core) with a queue timeout long enough that no
/// verification is refused, so all 100 are measured.
fn hasher() -> &'static Hasher {
    static HASHER: std::sync::LazyLock<Hasher> = std::sync::LazyLock::new(|| {
        Hasher::new(
            Hasher::global().max_in_flight(),
            std::time::Duration::from_secs(3600),
        )
    });
    &HASHER
}

fn status(field: &str) -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .map(|l| l.split_whitespace().skip(1).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

#[tokio::main]
async fn main() {
    let mode = std::env::args().nth(1).unwrap_or_else(|| "pooled".into());
    let stored = Argon2::default()
        .hash_password(b"plum-harbor-71")
        .map(|h| h.to_string())
        .unwrap_or_default();
    println!(
        "{mode}: before VmHWM={} VmRSS={}",
        status("VmHWM"),
        status("VmRSS")
    );
    let started = std::time::Instant::now();
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let stored = stored.clone();
            let pooled = mode == "pooled";
            tokio::spawn(async move {
                if pooled {
                    hasher()
                        .verify("plum-harbor-71".into(), Some(stored))
                        .await
                        .unwrap_or(false)
                } else {
                    tokio::task::spawn_blocking(move || {
                        Argon2::default()
                            .verify_password(b"plum-harbor-71", stored.as_str())
                            .is_ok()
                    })
                    .await
                    .unwrap_or(false)
                }
            })
        })
        .collect();
    let mut ok = 0;
    for task in tasks {
        ok += usize::from(task.await.unwrap_or(false));
    }
    println!(
        "{mode}: {ok}/100 verified in {:.1}s; after VmHWM={} VmRSS={}",
        started.elapsed().as_secs_f64(),
        status("VmHWM"),
        status("VmRSS")
    );
    // The pool frees its buffers once hashing has been idle (password::IDLE_RELEASE).
    tokio::time::sleep(meetin_core::password::IDLE_RELEASE * 2).await;
    println!(
        "{mode}: idle {} s later VmRSS={}",
        (meetin_core::password::IDLE_RELEASE * 2).as_secs(),
        status("VmRSS")
    );
}
