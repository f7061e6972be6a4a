//! One way to build a deployable's dependencies, once per cold start: every HTTP function's
//! state, every worker and the coming socket handlers and bridge implement [`Deps`], so
//! `main.rs`, the local stack and the tests all go through the same constructor
//! (zero2prod's `Application::build`; the Lambda runtime's "basic-shared-resource" example).

use std::future::Future;

use meetin_aws::aws_config::SdkConfig;
use meetin_core::settings::Lookup;
use meetin_data::PoolSettings;

/// A deployable's dependencies: clients, pools, keys and settings, built from settings.
///
/// Implementors write [`Deps::load_with`]; [`Deps::load`] and [`Deps::from_env`] are given.
/// Every setting is read through `lookup` with a `meetin_core::Setting` type, so a test or
/// the local stack can hand a map where AWS has the environment.
pub trait Deps: Sized + Send {
    /// Builds the dependencies from settings read through `lookup`, with the SDK
    /// configuration the caller loaded (the local stack shares one between its functions and
    /// workers: one HTTP client and trust store). Fails on a missing or invalid setting or an
    /// unreadable secret; a briefly unreachable database is left to the first request.
    fn load_with(
        lookup: Lookup<'_>,
        sdk: &SdkConfig,
        pool: PoolSettings,
    ) -> impl Future<Output = anyhow::Result<Self>> + Send;

    /// [`Deps::load_with`] with the SDK configuration the settings describe
    /// (`AWS_ENDPOINT_URL`, `AWS_REGION`).
    fn load(
        lookup: Lookup<'_>,
        pool: PoolSettings,
    ) -> impl Future<Output = anyhow::Result<Self>> + Send {
        async move {
            let sdk = meetin_aws::sdk_config_from(lookup).await?;
            Self::load_with(lookup, &sdk, pool).await
        }
    }

    /// [`Deps::load`] from the process environment (what `main.rs` calls).
    fn from_env(pool: PoolSettings) -> impl Future<Output = anyhow::Result<Self>> + Send {
        async move { Self::load(&|name| std::env::var(name).ok(), pool).await }
    }
}
