//! What every HTTP function's handlers share, built once per cold start: the service core's
//! context ([`ServiceContext`]: the database pool, the JWT keys, the ephemeral store, the
//! rate limits) and the account-security settings. A function that needs more (S3,
//! SQS, the socket push) keeps its own state holding an `AppContext` and implements
//! `FromRef<ItsState> for AppContext`, so the shared extractors work and no other function
//! loads those clients (docs/adding-a-function.md).

use std::ops::Deref;

use meetin_aws::EphemeralStore;
use meetin_core::settings::Lookup;
use meetin_core::{LoginBackoff, RateLimits, RefreshReuseGrace, Setting};
use meetin_data::{PgPool, PoolSettings};
pub use meetin_service::{DB_WARM_UP_TIMEOUT, DatabaseWarmUp, Deps, ServiceContext};

/// The service core's context and the settings only the HTTP functions read. Its service
/// fields read through it (`ctx.pool`, `ctx.jwt`, …: it derefs to [`ServiceContext`]).
#[derive(Clone, Debug)]
pub struct AppContext {
    /// The pool, JWT keys, ephemeral store, rate limits and the database warm-up.
    pub service: ServiceContext,
    /// How long a just-rotated refresh token still gets a fresh pair.
    pub refresh_reuse_grace: RefreshReuseGrace,
    /// Per-account waits after failed password checks.
    pub login_backoff: LoginBackoff,
}

impl Deref for AppContext {
    type Target = ServiceContext;

    fn deref(&self) -> &ServiceContext {
        &self.service
    }
}

impl AppContext {
    /// A context with the default refresh grace and login backoff (`Deps::load` reads them
    /// from settings).
    pub fn new(
        pool: PgPool,
        jwt_signing_key: &[u8],
        ephemeral: EphemeralStore,
        rate_limits: RateLimits,
    ) -> Self {
        Self {
            service: ServiceContext::new(pool, jwt_signing_key, ephemeral, rate_limits),
            refresh_reuse_grace: RefreshReuseGrace::default(),
            login_backoff: LoginBackoff::default(),
        }
    }
}

impl Deps for AppContext {
    /// The service context ([`ServiceContext`]'s `load_with`: the secret reads, the first
    /// database connection and the first DynamoDB connection run concurrently) and the
    /// account-security settings, with the SDK configuration the caller loaded for its own
    /// clients: a function state that also needs S3 or SQS shares one.
    async fn load_with(
        lookup: Lookup<'_>,
        sdk: &meetin_aws::aws_config::SdkConfig,
        pool_settings: PoolSettings,
    ) -> anyhow::Result<Self> {
        let refresh_reuse_grace = RefreshReuseGrace::from_lookup(lookup)?;
        let login_backoff = LoginBackoff::from_lookup(lookup)?;
        Ok(Self {
            service: ServiceContext::load_with(lookup, sdk, pool_settings).await?,
            refresh_reuse_grace,
            login_backoff,
        })
    }
}
