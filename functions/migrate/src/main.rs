//! Lambda entry point of the `migrate` function: wiring only. Any event runs the migrations
//! and answers `{"applied": [...], "version": n}`.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use meetin_core::{AwsSettings, DatabaseTarget, Setting};

#[tokio::main]
async fn main() -> Result<(), Error> {
    meetin_core::telemetry::init();
    let target = DatabaseTarget::from_env()?;
    let sdk = meetin_aws::sdk_config(&AwsSettings::from_env()?).await;
    let secrets = meetin_aws::aws_sdk_secretsmanager::Client::new(&sdk);
    let url = meetin_aws::secrets::database_url(&secrets, &target).await?;
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
