//! Idempotent creation of what the stack needs on this machine: the PostgreSQL database
//! (migrated), the DynamoDB table and the secrets in the AWS emulator. Names come from the
//! same variables the SAM template sets.

use anyhow::Context;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    TimeToLiveSpecification,
};
use meetin_aws::aws_config::SdkConfig;
use meetin_aws::ephemeral::{PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE};
use meetin_core::settings::Lookup;
use meetin_core::{AwsSettings, EphemeralTable, JwtSettings, Setting};
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
    Ok(sdk)
}
