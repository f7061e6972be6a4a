//! Idempotent creation of what the stack needs on this machine: the PostgreSQL database
//! (migrated), the DynamoDB table, the secrets, the recordings bucket and the transcription
//! queue (with its dead-letter queue) in the AWS emulator. Names come from the same variables
//! the SAM template sets (`TRANSCRIPTION_QUEUE_NAME` locally, where the template sets the URL).

use anyhow::Context;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    TimeToLiveSpecification,
};
use meetin_aws::aws_config::SdkConfig;
use meetin_aws::aws_sdk_s3;
use meetin_aws::aws_sdk_sqs;
use meetin_aws::ephemeral::{PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE};
use meetin_core::settings::Lookup;
use meetin_core::{AwsSettings, EphemeralTable, JwtSettings, RecordingsBucket, Setting};
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};

/// Creates the database named in `url` if it does not exist, then applies migrations.
pub async fn ensure_database(url: &str) -> anyhow::Result<()> {
    let options: PgConnectOptions = url.parse().context("database URL")?;
    let name = options.get_database().unwrap_or("postgres").to_owned();
    let mut admin = PgConnection::connect_with(&options.clone().database("postgres"))
        .await
        .with_context(|| {
            format!(
                "connecting to PostgreSQL at {}:{}",
                options.get_host(),
                options.get_port()
            )
        })?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(&name)
            .fetch_one(&mut admin)
            .await?;
    if !exists {
        // Identifiers cannot be bound; the name comes from our own configuration.
        let quoted = name.replace('"', "\"\"");
        let created = sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{quoted}\"")))
            .execute(&mut admin)
            .await;
        // A concurrent creator (another test binary) may have won; that is fine.
        if let Err(err) = created
            && !err.to_string().contains("already exists")
        {
            return Err(err).context("creating the database");
        }
    }
    admin.close().await.ok();
    let mut conn = PgConnection::connect_with(&options).await?;
    meetin_data::MIGRATOR
        .run(&mut conn)
        .await
        .context("applying migrations")?;
    conn.close().await.ok();
    Ok(())
}

/// The ephemeral-state table: `pk`/`sk` strings, on-demand billing, TTL on `expires_at`.
pub async fn ensure_ephemeral_table(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
) -> anyhow::Result<()> {
    let key = |name: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
    };
    let attr = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
    };
    let created = client
        .create_table()
        .table_name(table)
        .key_schema(key(PARTITION_KEY, KeyType::Hash)?)
        .key_schema(key(SORT_KEY, KeyType::Range)?)
        .attribute_definitions(attr(PARTITION_KEY)?)
        .attribute_definitions(attr(SORT_KEY)?)
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await;
    match created {
        Ok(_) => {
            client
                .update_time_to_live()
                .table_name(table)
                .time_to_live_specification(
                    TimeToLiveSpecification::builder()
                        .enabled(true)
                        .attribute_name(TTL_ATTRIBUTE)
                        .build()?,
                )
                .send()
                .await
                .context("enabling TTL")?;
            Ok(())
        }
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_resource_in_use_exception()) =>
        {
            Ok(())
        }
        Err(err) => Err(anyhow::anyhow!(
            aws_sdk_dynamodb::error::DisplayErrorContext(err)
        ))
        .with_context(|| format!("creating table {table}")),
    }
}

/// Creates the secret with a random value unless it exists.
pub async fn ensure_secret(
    client: &aws_sdk_secretsmanager::Client,
    id: &str,
) -> anyhow::Result<()> {
    let existing = client.describe_secret().secret_id(id).send().await;
    match existing {
        Ok(_) => Ok(()),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            let value = hex::encode(rand::random::<[u8; 32]>());
            client
                .create_secret()
                .name(id)
                .secret_string(value)
                .send()
                .await
                .map_err(|e| anyhow::anyhow!(aws_sdk_secretsmanager::error::DisplayErrorContext(e)))
                .with_context(|| format!("creating secret {id}"))?;
            Ok(())
        }
        Err(err) => Err(anyhow::anyhow!(
            aws_sdk_secretsmanager::error::DisplayErrorContext(err)
        ))
        .with_context(|| format!("reading secret {id}")),
    }
}

/// An SDK error with its whole chain (the service's code and message), for `anyhow`.
fn sdk_error<E: std::error::Error + Send + Sync + 'static>(err: E) -> anyhow::Error {
    anyhow::anyhow!("{}", aws_sdk_sqs::error::DisplayErrorContext(err))
}

/// How many receives a transcription job gets before SQS moves it to the dead-letter queue
/// (the template's `maxReceiveCount`).
pub const TRANSCRIPTION_MAX_RECEIVES: u32 = meetin_messages::jobs::MAX_RECEIVES;

/// The recordings bucket: private (all public access blocked), with the CORS rule a browser's
/// presigned `PUT` needs (any origin, `PUT`, any header; the signature is the guard).
pub async fn ensure_recordings_bucket(
    client: &aws_sdk_s3::Client,
    name: &str,
) -> anyhow::Result<()> {
    use aws_sdk_s3::types::{CorsConfiguration, CorsRule, PublicAccessBlockConfiguration};
    if client.head_bucket().bucket(name).send().await.is_err() {
        let created = client.create_bucket().bucket(name).send().await;
        if let Err(err) = created {
            let service = err.as_service_error();
            let exists = service.is_some_and(|e| {
                e.is_bucket_already_owned_by_you() || e.is_bucket_already_exists()
            });
            if !exists {
                return Err(sdk_error(err)).with_context(|| format!("creating bucket {name}"));
            }
        }
    }
    client
        .put_public_access_block()
        .bucket(name)
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .block_public_policy(true)
                .ignore_public_acls(true)
                .restrict_public_buckets(true)
                .build(),
        )
        .send()
        .await
        .map_err(|e| anyhow::anyhow!(aws_sdk_s3::error::DisplayErrorContext(e)))
        .with_context(|| format!("blocking public access to {name}"))?;
    let rule = CorsRule::builder()
        .allowed_methods("PUT")
        .allowed_origins("*")
        .allowed_headers("*")
        .expose_headers("ETag")
        .max_age_seconds(3600)
        .build()?;
    client
        .put_bucket_cors()
        .bucket(name)
        .cors_configuration(CorsConfiguration::builder().cors_rules(rule).build()?)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!(aws_sdk_s3::error::DisplayErrorContext(e)))
        .with_context(|| format!("setting CORS on {name}"))?;
    Ok(())
}

/// The job queue `name` and its dead-letter queue `{name}-dlq` (a job moves there after
/// [`TRANSCRIPTION_MAX_RECEIVES`] receives, as every queue of the template); answers the
/// queue's URL. Idempotent: `CreateQueue` with the same attributes returns the existing queue.
pub async fn ensure_job_queue(client: &aws_sdk_sqs::Client, name: &str) -> anyhow::Result<String> {
    use aws_sdk_sqs::types::QueueAttributeName;
    let dlq_name = format!("{name}-dlq");
    let dlq_url = client
        .create_queue()
        .queue_name(&dlq_name)
        .send()
        .await
        .map_err(sdk_error)
        .with_context(|| format!("creating queue {dlq_name}"))?
        .queue_url
        .context("CreateQueue answered no URL")?;
    let dlq_arn = client
        .get_queue_attributes()
        .queue_url(&dlq_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(sdk_error)
        .with_context(|| format!("reading the ARN of {dlq_name}"))?
        .attributes
        .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
        .context("GetQueueAttributes answered no QueueArn")?;
    let redrive = serde_json::json!({
        "deadLetterTargetArn": dlq_arn,
        "maxReceiveCount": TRANSCRIPTION_MAX_RECEIVES,
    })
    .to_string();
    let url = client
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .map_err(sdk_error)
        .with_context(|| format!("creating queue {name}"))?
        .queue_url
        .context("CreateQueue answered no URL")?;
    // Set apart from CreateQueue so an existing queue gets the policy too.
    client
        .set_queue_attributes()
        .queue_url(&url)
        .attributes(QueueAttributeName::RedrivePolicy, redrive)
        .send()
        .await
        .map_err(sdk_error)
        .with_context(|| format!("setting the redrive policy of {name}"))?;
    Ok(url)
}

/// [`ensure_job_queue`] for the transcription queue.
pub async fn ensure_transcription_queue(
    client: &aws_sdk_sqs::Client,
    name: &str,
) -> anyhow::Result<String> {
    ensure_job_queue(client, name).await
}

/// The job queues of the stack, by the prefix of their settings: locally `{P}_QUEUE_NAME`
/// names the queue to create, deployed functions read `{P}_QUEUE_URL` (the template's
/// `Ref`). A new worker's queue is one more entry here and one in `template.yaml`.
pub const JOB_QUEUES: &[&str] = &["TRANSCRIPTION", "MINUTES"];

/// `{P}_QUEUE_URL` and its value for each of [`JOB_QUEUES`]: the setting when set, else the
/// URL of the queue `{P}_QUEUE_NAME`, created (with its dead-letter queue) if missing. The
/// local stack and the tests add these to the settings their functions and workers read.
pub async fn job_queue_urls(
    lookup: Lookup<'_>,
    sdk: &SdkConfig,
) -> anyhow::Result<Vec<(String, String)>> {
    let client = aws_sdk_sqs::Client::new(sdk);
    let mut urls = Vec::with_capacity(JOB_QUEUES.len());
    for prefix in JOB_QUEUES {
        let url_var = format!("{prefix}_QUEUE_URL");
        let url = match lookup(&url_var).filter(|u| !u.trim().is_empty()) {
            Some(url) => url,
            None => {
                let name_var = format!("{prefix}_QUEUE_NAME");
                let name = lookup(&name_var)
                    .filter(|n| !n.trim().is_empty())
                    .with_context(|| format!("{name_var} or {url_var} must be set"))?;
                ensure_job_queue(&client, &name).await?
            }
        };
        urls.push((url_var, url));
    }
    Ok(urls)
}

/// Everything the configured stack needs, in the database and the emulator; answers the SDK
/// configuration it built for that.
pub async fn provision_local(lookup: Lookup<'_>, database_url: &str) -> anyhow::Result<SdkConfig> {
    let aws = AwsSettings::from_lookup(lookup)?;
    let table = EphemeralTable::from_lookup(lookup)?;
    let jwt = JwtSettings::from_lookup(lookup)?;
    let sdk = meetin_aws::sdk_config(&aws).await;
    ensure_database(database_url).await?;
    ensure_ephemeral_table(&aws_sdk_dynamodb::Client::new(&sdk), &table.0).await?;
    ensure_secret(&aws_sdk_secretsmanager::Client::new(&sdk), &jwt.secret_id).await?;
    let bucket = RecordingsBucket::from_lookup(lookup)?;
    ensure_recordings_bucket(&meetin_aws::s3_client(&sdk), &bucket.0).await?;
    job_queue_urls(lookup, &sdk).await?;
    Ok(sdk)
}
