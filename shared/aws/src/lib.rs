//! AWS for every deployable: the SDK configuration built once per cold start, the DynamoDB
//! stores for ephemeral state, and the Secrets Manager reads.
//!
//! Every function and every test builds its clients from [`sdk_config`], so one endpoint
//! override (`AWS_ENDPOINT_URL`, the local AWS emulator) redirects all of them. A function
//! builds only the clients it uses (`aws_sdk_s3::Client::new(&sdk)`), so an S3 or SQS client
//! is never loaded at the cold start of a function that does not need one.

pub mod connections;
pub mod ephemeral;
#[cfg(feature = "sqs")]
pub mod job_queue;
pub mod live_routes;
pub mod login_failures;
#[cfg(feature = "push")]
pub mod push;
pub mod rate_limit;
pub mod rotation;
#[cfg(feature = "s3")]
pub mod s3_upload;
pub mod secrets;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_sdk_dynamodb::config::SharedHttpClient;
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};
use base64::Engine as _;
use meetin_core::AwsSettings;

pub use connections::{Connection, ConnectionStore, Via};
pub use ephemeral::{EphemeralStore, RevocationOutcome, StoreError, UserRevocation};
#[cfg(feature = "sqs")]
pub use job_queue::JobQueue;
pub use live_routes::{Checkpoint, Checkpointed, LiveRoutes, Route, Task};
#[cfg(feature = "push")]
pub use push::{Delivery, PushError, Pusher};
pub use rate_limit::{RateDecision, RateLimiter};
pub use rotation::{Claim, Rotated, SupersedeOutcome, TokenRecord};

/// [`sdk_config`] for the AWS settings read through `lookup` (`AWS_ENDPOINT_URL`,
/// `AWS_REGION`); what a function's `load` passes to its `load_with`.
pub async fn sdk_config_from(
    lookup: meetin_core::settings::Lookup<'_>,
) -> Result<SdkConfig, meetin_core::SettingsError> {
    use meetin_core::Setting;
    Ok(sdk_config(&AwsSettings::from_lookup(lookup)?).await)
}

/// The SDK configuration: the Lambda role's credentials and region in AWS; the emulator's
/// endpoint, fixed test credentials and `us-east-1` (unless a region is set) locally.
/// Every client built from it shares one HTTP client ([`http_client`]).
pub async fn sdk_config(settings: &AwsSettings) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).http_client(http_client());
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

/// The SDK's own HTTPS client (hyper, rustls on aws-lc), built once for all service
/// clients and trusting Mozilla's roots compiled into the binary (`webpki-root-certs`; the
/// database's TLS, through sqlx, trusts the same set from `webpki-roots`). AWS endpoints
/// chain to Amazon Trust Services roots, which the set holds.
///
/// Why not the default: each service client gets its own client, and the first reads the
/// system's CA files, on Debian the bundle and then every file of `/etc/ssl/certs` (the
/// same 145 roots twice, 9–19 ms at a cold start, measured), before its first request.
pub fn http_client() -> SharedHttpClient {
    let mut roots = TrustStore::empty().with_native_roots(false);
    for cert in webpki_root_certs::TLS_SERVER_ROOT_CERTS {
        // The SDK takes PEM; encoding 145 certificates takes well under a millisecond.
        let der = base64::engine::general_purpose::STANDARD.encode(cert.as_ref());
        roots.add_pem_certificate(format!(
            "-----BEGIN CERTIFICATE-----\n{der}\n-----END CERTIFICATE-----\n"
        ));
    }
    let context = TlsContext::builder().with_trust_store(roots).build();
    let builder = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc));
    match context {
        Ok(context) => builder.tls_context(context).build_https(),
        // `build` cannot fail today (1.5); should it, the SDK's default roots still work.
        Err(_) => builder.build_https(),
    }
}

/// Opens the connection to DynamoDB with one `GetItem` of a key that no store writes, so
/// the first request's DynamoDB call (the rate limit) finds it open and the SDK's endpoint
/// resolution and signing already done. Meant for a cold start, beside its other start-up
/// work; an error is only logged, since the first request simply connects again.
pub async fn warm_up_dynamodb(client: &aws_sdk_dynamodb::Client, table: &str) {
    use aws_sdk_dynamodb::types::AttributeValue;
    let read = client
        .get_item()
        .table_name(table)
        .key(
            ephemeral::PARTITION_KEY,
            AttributeValue::S("warm-up".to_owned()),
        )
        .key(ephemeral::SORT_KEY, AttributeValue::S("warm-up".to_owned()))
        .projection_expression(ephemeral::PARTITION_KEY)
        .send()
        .await;
    if let Err(err) = read {
        tracing::warn!(error = %aws_sdk_dynamodb::error::DisplayErrorContext(err), "DynamoDB warm-up failed");
    }
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
#[cfg(feature = "push")]
pub use aws_sdk_apigatewaymanagement;
pub use aws_sdk_dynamodb;
#[cfg(feature = "s3")]
pub use aws_sdk_s3;
pub use aws_sdk_secretsmanager;
#[cfg(feature = "sqs")]
pub use aws_sdk_sqs;
