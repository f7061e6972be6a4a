//! Lambda entry point of the `migrate` function: wiring only. Any event runs the migrations
//! and answers `{"applied": [...], "version": n}`.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use meetin_aws::{AwsClients, AwsSettings};
use meetin_core::DatabaseTarget;

#[tokio::main]
async fn main() -> Result<(), Error> {
    meetin_core::telemetry::init();
    let target = DatabaseTarget::from_env()?;
    let aws = AwsClients::load(&AwsSettings::from_env()).await;
    let url = target.resolve(&aws.secrets).await?;
    lambda_runtime::run(service_fn(|_: LambdaEvent<serde_json::Value>| {
        let url = url.clone();
        async move {
            let report = migrate::migrate(&url).await?;
            tracing::info!(applied = ?report.applied, version = ?report.version, "migrations applied");
            Ok::<_, Error>(report)
        }
    }))
    .await
}
