//! What makes a crate an HTTP function: its state and its route table. The rest (the
//! stateless router a cold start builds beside its secret reads, the routes with their
//! state, the OpenAPI part, the Lambda entry point) is given, so a function's `lib.rs` is its
//! route table and `main.rs` is one line: `meetin_http::function::run::<my_function::Api>()`.
//! The local stack takes a list of these (docs/adding-a-function.md).

use std::future::Future;

use axum::Router;
use meetin_aws::aws_config::SdkConfig;
use meetin_core::settings::Lookup;
use meetin_data::PoolSettings;
use utoipa::openapi::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::{AppContext, Deps};

/// An HTTP function: a Lambda behind API Gateway's HTTP API serving [`HttpFunction::api`].
pub trait HttpFunction {
    /// The name it is deployed and logged under (the SAM resource's, lower-case).
    const NAME: &'static str;

    /// What its handlers take; [`AppContext`] must be reachable from it (`FromRef`).
    type State: Clone + Send + Sync + 'static;

    /// Its state from the shared context plus what only this function needs (clients of
    /// `sdk`, settings read through `lookup`). In AWS the context is the function's own; the
    /// local stack and the tests share one between their functions, as one process.
    fn state(
        app: AppContext,
        lookup: Lookup<'_>,
        sdk: &SdkConfig,
    ) -> impl Future<Output = anyhow::Result<Self::State>> + Send;

    /// The route table: paths, handlers and their OpenAPI operations.
    fn api() -> OpenApiRouter<Self::State>;

    /// The routes before their state is attached (a cold start builds them while its secrets
    /// are read).
    fn router() -> Router<Self::State> {
        crate::api::stateless(Self::api())
    }

    /// The routes with `state`, ready to merge (the local stack) or to finish
    /// ([`crate::finish_router`], what Lambda serves).
    fn routes(state: Self::State) -> Router {
        Self::router().with_state(state)
    }

    /// Its part of the OpenAPI document.
    fn openapi() -> OpenApi {
        crate::api::document(Self::api())
    }
}

/// `F`'s state from settings read through `lookup`: the shared context ([`Deps`]) and then
/// [`HttpFunction::state`].
pub async fn load<F: HttpFunction>(
    lookup: Lookup<'_>,
    sdk: &SdkConfig,
    pool: PoolSettings,
) -> anyhow::Result<F::State> {
    let app = AppContext::load_with(lookup, sdk, pool).await?;
    F::state(app, lookup, sdk).await
}

/// The Lambda entry point of `F` (its `main.rs`): the state from the environment, loaded
/// beside the runtime's first poll ([`crate::run_function`]).
pub async fn run<F: HttpFunction>() -> Result<(), lambda_http::Error> {
    crate::run_function(
        || async {
            let env = |name: &str| std::env::var(name).ok();
            let sdk = meetin_aws::sdk_config_from(&env).await?;
            load::<F>(&env, &sdk, PoolSettings::LAMBDA).await
        },
        F::router,
    )
    .await
}
