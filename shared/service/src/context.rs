//! What the service core needs, built once per cold start: the database pool, the JWT keys,
//! the ephemeral store, the rate limits and their limiter, and the first database
//! connection opening in the background.

use std::sync::Arc;
use std::time::Duration;

use meetin_aws::{EphemeralStore, RateLimiter};
use meetin_core::jwt::JwtKeys;
use meetin_core::settings::Lookup;
use meetin_core::{AwsSettings, DatabaseTarget, EphemeralTable, JwtSettings, RateLimits, Setting};
use meetin_data::{PgPool, PoolSettings};

use crate::Deps;

/// How long a cold start waits for its first database connection before leaving it to the
/// first request: far longer than a TLS connection through RDS Proxy takes, short enough
/// that an unreachable database does not hold the start for the pool's acquire timeout.
pub const DB_WARM_UP_TIMEOUT: Duration = Duration::from_secs(2);

/// The service core's dependencies. Cloning is cheap (reference counts), so a front end
/// keeps one per process and hands out clones.
#[derive(Clone, Debug)]
pub struct ServiceContext {
    pub pool: PgPool,
    pub jwt: Arc<JwtKeys>,
    pub ephemeral: EphemeralStore,
    pub rate_limits: RateLimits,
    /// Built once per process: its clones share the reserved allowance.
    pub rate_limiter: RateLimiter,
    /// The cold start's first database connection, opening in the background.
    pub database_warm_up: DatabaseWarmUp,
}

impl ServiceContext {
    /// A context whose database warm-up is already over (tests, tools).
    pub fn new(
        pool: PgPool,
        jwt_signing_key: &[u8],
        ephemeral: EphemeralStore,
        rate_limits: RateLimits,
    ) -> Self {
        Self {
            pool,
            jwt: Arc::new(JwtKeys::new(jwt_signing_key)),
            rate_limiter: RateLimiter::new(ephemeral.client().clone(), ephemeral.table()),
            ephemeral,
            rate_limits,
            database_warm_up: DatabaseWarmUp::done(),
        }
    }
}

impl Deps for ServiceContext {
    /// Reads this context's settings through `lookup` and its secrets from Secrets Manager
    /// with the SDK configuration (from `meetin_aws::sdk_config`) the caller loaded for its
    /// own clients, and opens the connections the first request needs.
    ///
    /// Three independent paths run concurrently, so a cold start waits for the slowest
    /// rather than their sum: the JWT key's secret; the database URL (a secret in AWS),
    /// after which the first database connection opens in the background
    /// ([`DatabaseWarmUp`]: it goes on beside the first request's rate-limit call); and a
    /// DynamoDB read that opens that connection (only where it opens with a TLS handshake:
    /// over plain HTTP to the local emulator there is nothing to save, and the extra call
    /// would queue behind the secret read in the emulator's one process). Only a missing
    /// setting or an unreadable secret fails; a database or DynamoDB that is briefly
    /// unreachable is logged, and the first request connects.
    async fn load_with(
        lookup: Lookup<'_>,
        sdk: &meetin_aws::aws_config::SdkConfig,
        pool_settings: PoolSettings,
    ) -> anyhow::Result<Self> {
        let aws = AwsSettings::from_lookup(lookup)?;
        let database = DatabaseTarget::from_lookup(lookup)?;
        let jwt = JwtSettings::from_lookup(lookup)?;
        let table = EphemeralTable::from_lookup(lookup)?;
        let rate_limits = RateLimits::from_lookup(lookup)?;
        let secrets = meetin_aws::aws_sdk_secretsmanager::Client::new(sdk);
        let started = std::time::Instant::now();
        let elapsed_ms = move || started.elapsed().as_secs_f64() * 1000.0;
        let database = async {
            let url = meetin_aws::secrets::database_url(&secrets, &database).await?;
            let pool = meetin_data::connect_lazy(&url, pool_settings)?;
            anyhow::Ok((DatabaseWarmUp::spawn(pool.clone(), started), pool))
        };
        let ((key, key_ms), (database_warm_up, pool), (ephemeral, dynamodb_ms)) = tokio::try_join!(
            async {
                let key = meetin_aws::secrets::jwt_signing_key(&secrets, &jwt).await?;
                anyhow::Ok((key, elapsed_ms()))
            },
            database,
            async {
                // Built once the secret reads are on their way: building a service client
                // takes 1–2 ms of CPU (measured).
                let client = meetin_aws::aws_sdk_dynamodb::Client::new(sdk);
                let ephemeral = EphemeralStore::new(client, table.0);
                if aws.opens_with_tls() {
                    meetin_aws::warm_up_dynamodb(ephemeral.client(), ephemeral.table()).await;
                }
                anyhow::Ok((ephemeral, elapsed_ms()))
            },
        )?;
        // Where a cold start's time went, measured from the start of the three parts.
        tracing::info!(key_ms, dynamodb_ms, "context loaded");
        Ok(Self {
            database_warm_up,
            ..Self::new(pool, &key, ephemeral, rate_limits)
        })
    }
}

/// The cold start's first database connection (TLS if the URL asks, PostgreSQL's start-up
/// and authentication, then the statement every authenticated request runs first), opened
/// in the background so it overlaps the secret reads and the first request's rate-limit
/// call. [`DatabaseWarmUp::wait`] before a request's first query keeps that request from
/// opening a second connection beside it. Gives up after [`DB_WARM_UP_TIMEOUT`].
#[derive(Clone, Debug)]
pub struct DatabaseWarmUp(tokio::sync::watch::Receiver<bool>);

impl DatabaseWarmUp {
    /// Already over (contexts built without a cold start: tests, tools).
    pub fn done() -> Self {
        Self(tokio::sync::watch::channel(true).1)
    }

    /// Starts warming `pool` up; `started` is when the cold start's work began (logged).
    pub fn spawn(pool: PgPool, started: std::time::Instant) -> Self {
        let (ended, receiver) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            match tokio::time::timeout(DB_WARM_UP_TIMEOUT, meetin_data::pool::warm_up(&pool)).await
            {
                Ok(Ok(())) => {
                    let database_ms = started.elapsed().as_secs_f64() * 1000.0;
                    tracing::info!(database_ms, "database connection ready");
                }
                Ok(Err(err)) => tracing::warn!(error = %err, "database warm-up failed"),
                Err(_) => {
                    tracing::warn!(timeout = ?DB_WARM_UP_TIMEOUT, "database warm-up timed out")
                }
            }
            // Nobody waiting is fine.
            let _ = ended.send(true);
        });
        Self(receiver)
    }

    /// Whether the warm-up has ended, connected or not.
    pub fn has_ended(&self) -> bool {
        *self.0.borrow()
    }

    /// Returns once the warm-up has ended, connected or not (at once ever after).
    pub async fn wait(&self) {
        let mut receiver = self.0.clone();
        // An error means the task ended without saying so (it panicked): nothing to wait for.
        let _ = receiver.wait_for(|ended| *ended).await;
    }
}
