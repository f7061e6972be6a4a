//! AWS for every deployable: the SDK configuration built once per cold start, the DynamoDB
//! stores for ephemeral state, and the Secrets Manager reads.
//!
//! Every function and every test builds its clients from [`sdk_config`], so one endpoint
//! override (`AWS_ENDPOINT_URL`, the local AWS emulator) redirects all of them. A function
//! builds only the clients it uses (`aws_sdk_s3::Client::new(&sdk)`), so an S3 or SQS client
//! is never loaded at the cold start of a function that does not need one.

pub mod ephemeral;
pub mod login_failures;
pub mod rate_limit;
pub mod secrets;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use meetin_core::AwsSettings;

pub use ephemeral::{EphemeralStore, RevocationOutcome, StoreError, UserRevocation};
pub use rate_limit::{RateDecision, RateLimiter};

/// The SDK configuration: the Lambda role's credentials and region in AWS; the emulator's
/// endpoint, fixed test credentials and `us-east-1` (unless a region is set) locally.
pub async fn sdk_config(settings: &AwsSettings) -> SdkConfig {
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
    loader.load().await
}

/// An S3 client for `sdk`: path-style addressing (`http://host/bucket/key`) when an endpoint
/// override is set, so URLs (presigned ones too) work against the emulator on 127.0.0.1, which
/// has no per-bucket host names; virtual-hosted style in AWS.
#[cfg(feature = "s3")]
pub fn s3_client(sdk: &SdkConfig) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::config::Builder::from(sdk)
        .force_path_style(sdk.endpoint_url().is_some())
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

pub use aws_config;
pub use aws_sdk_dynamodb;
#[cfg(feature = "s3")]
pub use aws_sdk_s3;
pub use aws_sdk_secretsmanager;
#[cfg(feature = "sqs")]
pub use aws_sdk_sqs;
