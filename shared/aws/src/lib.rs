//! AWS clients built once per cold start, and the DynamoDB stores for ephemeral state.
//!
//! Every function and every test builds its clients here, so one endpoint override
//! (`AWS_ENDPOINT_URL`, the local AWS emulator) redirects all of them.

pub mod ephemeral;
pub mod rate_limit;
pub mod secrets;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;

pub use ephemeral::{EphemeralStore, RevocationOutcome, StoreError};
pub use rate_limit::{RateDecision, RateLimiter};

/// The AWS SDK configuration plus the clients the functions use, cheap to clone.
#[derive(Clone, Debug)]
pub struct AwsClients {
    pub sdk: SdkConfig,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
}

/// Where the clients connect. Production leaves `endpoint_url` empty and uses the Lambda
/// role's credentials; the local stack and tests point everything at the emulator.
#[derive(Clone, Debug, Default)]
pub struct AwsSettings {
    pub endpoint_url: Option<String>,
    pub region: Option<String>,
}

impl AwsSettings {
    pub fn from_env() -> Self {
        let non_empty = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        Self {
            endpoint_url: non_empty("AWS_ENDPOINT_URL"),
            region: non_empty("AWS_REGION").or_else(|| non_empty("AWS_DEFAULT_REGION")),
        }
    }
}

impl AwsClients {
    pub async fn load(settings: &AwsSettings) -> Self {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(region) = &settings.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(url) = &settings.endpoint_url {
            // The emulator accepts any credentials; fixed ones keep a developer's real
            // profile from ever being used against it.
            loader = loader
                .endpoint_url(url)
                .credentials_provider(Credentials::new("test", "test", None, None, "emulator"));
            if settings.region.is_none() {
                loader = loader.region(Region::new("us-east-1"));
            }
        }
        let sdk = loader.load().await;
        Self::from_sdk(sdk)
    }

    pub fn from_sdk(sdk: SdkConfig) -> Self {
        Self {
            dynamodb: aws_sdk_dynamodb::Client::new(&sdk),
            secrets: aws_sdk_secretsmanager::Client::new(&sdk),
            sdk,
        }
    }
}

pub use aws_sdk_dynamodb;
pub use aws_sdk_secretsmanager;
