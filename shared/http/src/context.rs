//! What every HTTP function's handlers share, built once per cold start: the database pool,
//! the JWT keys, the ephemeral store, the rate limits and the account-security settings. A function that needs more (S3,
//! SQS, the socket push) keeps its own state holding an `AppContext` and implements
//! `FromRef<ItsState> for AppContext`, so the shared extractors work and no other function
//! loads those clients (docs/adding-a-function.md).

use std::sync::Arc;
use std::time::Duration;

use meetin_aws::{EphemeralStore, RateLimiter};
use meetin_core::jwt::JwtKeys;
use meetin_core::settings::Lookup;
use meetin_core::{
    AwsSettings, DatabaseTarget, EphemeralTable, JwtSettings, LoginBackoff, RateLimits,
    RefreshReuseGrace, Setting,
};
use meetin_data::{PgPool, PoolSettings};

/// How long a cold start waits for its first database connection before leaving it to the
/// first request: far longer than a TLS connection through RDS Proxy takes, short enough
/// that an unreachable database does not hold the start for the pool's acquire timeout.
pub const DB_WARM_UP_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Clone, Debug)]
pub struct AppContext {
    pub pool: PgPool,
    pub jwt: Arc<JwtKeys>,
    pub ephemeral: EphemeralStore,
    pub rate_limits: RateLimits,
    /// Built once per process: its clones share the reserved allowance.
    pub rate_limiter: RateLimiter,
    /// How long a just-rotated refresh token still gets a fresh pair.
    pub refresh_reuse_grace: RefreshReuseGrace,
    /// Per-account waits after failed password checks.
    pub login_backoff: LoginBackoff,
}

impl AppContext {
    /// A context with the default refresh grace and login backoff ([`AppContext::load`]
    /// reads them from settings).
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
            refresh_reuse_grace: RefreshReuseGrace::default(),
            login_backoff: LoginBackoff::default(),
        }
    }

    /// Reads this context's settings from the environment and its secrets from Secrets
    /// Manager, and opens the connections the first request needs, all at once (see
    /// [`AppContext::load`]).
    pub async fn from_env(pool_settings: PoolSettings) -> anyhow::Result<Self> {
        Self::load(&|name| std::env::var(name).ok(), pool_settings).await
    }

    /// [`AppContext::from_env`] with settings read through `lookup`.
    ///
    /// Three independent paths run concurrently, so a cold start waits for the slowest
    /// rather than their sum: the JWT key's secret; the database URL (a secret in AWS)
    /// followed by the first database connection; and a DynamoDB read that opens that
    /// connection. Only a missing setting or an unreadable secret fails; a database or
    /// DynamoDB that is briefly unreachable is logged, and the first request connects.
    pub async fn load(lookup: Lookup<'_>, pool_settings: PoolSettings) -> anyhow::Result<Self> {
        let aws = AwsSettings::from_lookup(lookup)?;
        let database = DatabaseTarget::from_lookup(lookup)?;
        let jwt = JwtSettings::from_lookup(lookup)?;
        let table = EphemeralTable::from_lookup(lookup)?;
        let rate_limits = RateLimits::from_lookup(lookup)?;
        let refresh_reuse_grace = RefreshReuseGrace::from_lookup(lookup)?;
        let login_backoff = LoginBackoff::from_lookup(lookup)?;
        let sdk = meetin_aws::sdk_config(&aws).await;
        let secrets = meetin_aws::aws_sdk_secretsmanager::Client::new(&sdk);
        let ephemeral =
            EphemeralStore::new(meetin_aws::aws_sdk_dynamodb::Client::new(&sdk), table.0);
        let database = async {
            let url = meetin_aws::secrets::database_url(&secrets, &database).await?;
            let pool = meetin_data::connect_lazy(&url, pool_settings)?;
            match tokio::time::timeout(DB_WARM_UP_TIMEOUT, meetin_data::pool::warm_up(&pool)).await
            {
                Ok(Ok(())) => {}
                Ok(Err(err)) => tracing::warn!(error = %err, "database warm-up failed"),
                Err(_) => {
                    tracing::warn!(timeout = ?DB_WARM_UP_TIMEOUT, "database warm-up timed out")
                }
            }
            anyhow::Ok(pool)
        };
        let (key, pool, ()) = tokio::try_join!(
            async { Ok(meetin_aws::secrets::jwt_signing_key(&secrets, &jwt).await?) },
            database,
            async {
                meetin_aws::warm_up_dynamodb(ephemeral.client(), ephemeral.table()).await;
                anyhow::Ok(())
            },
        )?;
        Ok(Self {
            refresh_reuse_grace,
            login_backoff,
            ..Self::new(pool, &key, ephemeral, rate_limits)
        })
    }
}
