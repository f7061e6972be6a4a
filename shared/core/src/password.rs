//! argon2id password hashing, off the async threads and bounded, and the password rules of
//! docs/api-decisions.md ("Accounts and tokens"; Django's validators: length, common,
//! numeric), reported as field errors.
//!
//! Each hash needs 19 MiB of working memory. At most [`Hasher::max_in_flight`] hashes run at
//! once (one fewer than the cores, at least one: more would only queue on the CPU and starve
//! the rest of the process), each in a buffer taken from a pool
//! of at most one buffer per slot, so memory stays at `slots × 19 MiB` whatever the load
//! instead of growing with every freed allocation that the allocator keeps; the buffers are
//! freed once hashing has been idle for [`IDLE_RELEASE`]. Callers beyond the bound wait up to the queue timeout, then get
//! [`PasswordError::Busy`].

mod rules;

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::Duration;

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::Semaphore;

pub use rules::{
    ENTIRELY_NUMERIC, MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS, TOO_COMMON, TOO_SHORT, check_rules,
    is_python_digits,
};

/// The `detail` of the 503 answered when hashing stays saturated past the queue timeout.
pub const BUSY_MESSAGE: &str = "The server is busy. Please try again in a few seconds.";

/// How long a login or registration waits for a hashing slot before [`PasswordError::Busy`].
/// Ten seconds is 300 hashes a core at release speed (about 35 ms each), well inside API
/// Gateway's 29 s, and still enough for unoptimized test builds.
pub const DEFAULT_QUEUE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why hashing or verifying did not give an answer.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// Every hashing slot stayed taken for the whole queue timeout: answered as
    /// `503 {"detail": BUSY_MESSAGE}`.
    #[error("password hashing is saturated")]
    Busy,
    /// argon2 refused its input, a stored hash does not parse, or the worker thread died:
    /// answered as the generic 500.
    #[error("password hashing failed: {0}")]
    Internal(String),
}

fn internal(err: impl std::fmt::Display) -> PasswordError {
    PasswordError::Internal(err.to_string())
}

/// The parameters of every new hash: argon2id v19, m=19456 KiB, t=2, p=1, 32-byte output
/// (the OWASP minimum, and the `argon2` crate's defaults).
fn new_hash_params() -> Params {
    Params::DEFAULT
}

/// A bounded set of hashing slots, each with a reusable 19 MiB buffer.
#[derive(Debug)]
pub struct Hasher {
    slots: Arc<Semaphore>,
    max_in_flight: usize,
    queue_timeout: Duration,
    /// Buffers of `Params::DEFAULT.block_count()` blocks; never more than `max_in_flight`.
    pool: Mutex<Vec<Vec<Block>>>,
    in_flight: AtomicUsize,
    peak_in_flight: AtomicUsize,
    /// Hashes finished so far: tells an idle release whether another hash ran meanwhile.
    generation: AtomicU64,
    /// How long the hasher stays idle before its buffers are freed ([`IDLE_RELEASE`]).
    idle_release: Duration,
}

/// How long hashing must be idle before the pooled buffers are freed.
pub const IDLE_RELEASE: Duration = Duration::from_secs(2);

impl Hasher {
    /// `max_in_flight` concurrent hashes (at least 1); others wait up to `queue_timeout`.
    pub fn new(max_in_flight: usize, queue_timeout: Duration) -> Self {
        let max_in_flight = max_in_flight.max(1);
        Self {
            slots: Arc::new(Semaphore::new(max_in_flight)),
            max_in_flight,
            queue_timeout,
            pool: Mutex::new(Vec::with_capacity(max_in_flight)),
            in_flight: AtomicUsize::new(0),
            peak_in_flight: AtomicUsize::new(0),
            generation: AtomicU64::new(0),
            idle_release: IDLE_RELEASE,
        }
    }

    /// The same, freeing the buffers after `idle` without hashing instead of [`IDLE_RELEASE`].
    pub fn with_idle_release(mut self, idle: Duration) -> Self {
        self.idle_release = idle;
        self
    }

    /// The process-wide hasher: one slot per core but one (at least one), and
    /// [`DEFAULT_QUEUE_TIMEOUT`]. Hashing is pure CPU: with every core hashing, a burst of
    /// logins would stall every other request of the process, and each slot holds 19 MiB.
    /// (A Lambda environment serves one request at a time, so there one hash runs anyway.)
    pub fn global() -> &'static Hasher {
        static GLOBAL: LazyLock<Hasher> = LazyLock::new(|| {
            let cores = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
            Hasher::new(cores.saturating_sub(1), DEFAULT_QUEUE_TIMEOUT)
        });
        &GLOBAL
    }

    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight
    }

    /// The most hashes that ever ran at once in this hasher.
    pub fn peak_in_flight(&self) -> usize {
        self.peak_in_flight.load(Ordering::SeqCst)
    }

    /// Runs `work` on a blocking thread once a slot is free, with a pooled buffer.
    async fn run<T: Send + 'static>(
        &'static self,
        work: impl FnOnce(&mut Vec<Block>) -> Result<T, PasswordError> + Send + 'static,
    ) -> Result<T, PasswordError> {
        let permit = tokio::time::timeout(self.queue_timeout, self.slots.clone().acquire_owned())
            .await
            .map_err(|_| PasswordError::Busy)?
            .map_err(internal)?;
        tokio::task::spawn_blocking(move || {
            // The permit moves here, so a caller that gives up does not free the slot early.
            let _permit = permit;
            let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.peak_in_flight.fetch_max(now, Ordering::SeqCst);
            let mut memory = self
                .pool
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .pop()
                .unwrap_or_default();
            let result = work(&mut memory);
            if memory.len() == new_hash_params().block_count() {
                self.pool
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(memory);
            }
            let busy = self.in_flight.fetch_sub(1, Ordering::SeqCst) > 1;
            let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
            result.map(|value| (value, busy, generation))
        })
        .await
        .map_err(internal)?
        .map(|(value, busy, generation)| {
            if !busy {
                self.release_when_idle(generation);
            }
            value
        })
    }

    /// Frees the pooled buffers when no hash ran for [`Hasher::idle_release`] after the one
    /// that ended as `generation`: a burst of logins leaves no 19 MiB buffers behind. (glibc
    /// serves blocks this large with `mmap`, so freeing them returns the memory.)
    fn release_when_idle(&'static self, generation: u64) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let wait = self.idle_release;
        runtime.spawn(async move {
            tokio::time::sleep(wait).await;
            if self.generation.load(Ordering::SeqCst) == generation
                && self.in_flight.load(Ordering::SeqCst) == 0
            {
                self.pool
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clear();
            }
        });
    }

    /// How many buffers are pooled now.
    pub fn pooled_buffers(&self) -> usize {
        self.pool
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// A PHC-format argon2id hash (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`, 16-byte
    /// random salt, 32-byte output).
    pub async fn hash(&'static self, password: String) -> Result<String, PasswordError> {
        self.run(move |memory| {
            let params = new_hash_params();
            let salt_bytes: [u8; 16] = rand::random();
            let salt = Salt::new(&salt_bytes).map_err(internal)?;
            let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
            compute(
                Algorithm::Argon2id,
                Version::V0x13,
                &params,
                password.as_bytes(),
                &salt,
                &mut out,
                memory,
            )?;
            let phc = PasswordHash {
                algorithm: Algorithm::Argon2id.ident(),
                version: Some(Version::V0x13.into()),
                params: ParamsString::try_from(&params).map_err(internal)?,
                salt: Some(salt),
                hash: Some(Output::new(&out).map_err(internal)?),
            };
            Ok(phc.to_string())
        })
        .await
    }

    /// Whether `password` matches `stored_hash` (any argon2 PHC string); `None` verifies
    /// against a decoy of the same cost and returns false, so the time taken does not tell
    /// whether the account exists.
    pub async fn verify(
        &'static self,
        password: String,
        stored_hash: Option<String>,
    ) -> Result<bool, PasswordError> {
        self.run(move |memory| {
            let known = stored_hash.is_some();
            let parsed = match &stored_hash {
                Some(stored) => PasswordHash::new(stored).map_err(internal)?,
                None => DECOY_HASH.clone(),
            };
            let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
                return Err(internal("stored hash has no salt or output"));
            };
            let algorithm = Algorithm::try_from(parsed.algorithm.as_str()).map_err(internal)?;
            let version = match parsed.version {
                Some(v) => Version::try_from(v).map_err(internal)?,
                None => Version::default(),
            };
            let params = Params::try_from(&parsed).map_err(internal)?;
            let mut out = vec![0u8; expected.len()];
            compute(
                algorithm,
                version,
                &params,
                password.as_bytes(),
                salt,
                &mut out,
                memory,
            )?;
            // `Output`'s equality is constant-time.
            let matches = Output::new(&out).map_err(internal)? == *expected;
            Ok(known && matches)
        })
        .await
    }
}

/// Computes the raw argon2 output into `out`, in `memory` resized to the cost's block count
/// (kept for reuse when it is the usual 19 MiB).
fn compute(
    algorithm: Algorithm,
    version: Version,
    params: &Params,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
    memory: &mut Vec<Block>,
) -> Result<(), PasswordError> {
    memory.resize(params.block_count(), Block::new());
    Argon2::new(algorithm, version, params.clone())
        .hash_password_into_with_memory(password, salt, out, memory.as_mut_slice())
        .map_err(internal)
}

/// A well-formed argon2id hash with the usual cost but random salt and output: no password
/// matches it, and checking one against it costs what checking a real hash costs.
static DECOY_HASH: LazyLock<PasswordHash> = LazyLock::new(|| {
    let salt: [u8; 16] = rand::random();
    let output: [u8; 32] = rand::random();
    let params = new_hash_params();
    PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).unwrap_or_default(),
        salt: Salt::new(&salt).ok(),
        hash: Output::new(&output).ok(),
    }
});

/// [`Hasher::hash`] on the process-wide hasher.
pub async fn hash(password: String) -> Result<String, PasswordError> {
    Hasher::global().hash(password).await
}

/// [`Hasher::verify`] on the process-wide hasher.
pub async fn verify(password: String, stored_hash: Option<String>) -> Result<bool, PasswordError> {
    Hasher::global().verify(password, stored_hash).await
}

#[cfg(test)]
mod tests;
