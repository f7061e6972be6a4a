//! The dependencies of every handler, built once per cold start.

use std::sync::Arc;

use meetin_aws::{AwsClients, EphemeralStore};
use meetin_core::jwt::JwtKeys;
use meetin_core::{Config, Secrets};
use meetin_data::{PgPool, PoolSettings};

#[derive(Clone, Debug)]
pub struct AppContext {
    pub config: Arc<Config>,
    pub pool: PgPool,
    pub jwt: Arc<JwtKeys>,
    pub ephemeral: EphemeralStore,
    pub aws: AwsClients,
}

impl AppContext {
    /// Reads configuration and secrets and builds the clients; no database connection is
    /// opened until the first query.
    pub async fn load(config: Config, pool_settings: PoolSettings) -> anyhow::Result<Self> {
        let aws = AwsClients::load(&config.aws).await;
        let secrets = Secrets::load(&config, &aws.secrets).await?;
        let pool = meetin_data::connect_lazy(&secrets.database_url, pool_settings)?;
        Ok(Self::new(config, pool, &secrets, aws))
    }

    pub async fn from_env(pool_settings: PoolSettings) -> anyhow::Result<Self> {
        Self::load(Config::from_env()?, pool_settings).await
    }

    pub fn new(config: Config, pool: PgPool, secrets: &Secrets, aws: AwsClients) -> Self {
        Self {
            ephemeral: EphemeralStore::new(aws.dynamodb.clone(), config.ephemeral_table.clone()),
            jwt: Arc::new(JwtKeys::new(&secrets.jwt_signing_key)),
            config: Arc::new(config),
            pool,
            aws,
        }
    }
}
