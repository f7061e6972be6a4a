//! Secrets Manager reads, done once per cold start by the configuration loader.

use aws_sdk_secretsmanager::Client;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("secret {id} could not be read: {source}")]
    Read {
        id: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("secret {id} has no string value")]
    NotAString { id: String },
}

/// The secret's string value (`SecretString`).
pub async fn secret_string(client: &Client, id: &str) -> Result<String, SecretError> {
    let output = client
        .get_secret_value()
        .secret_id(id)
        .send()
        .await
        .map_err(|err| SecretError::Read {
            id: id.to_owned(),
            source: aws_sdk_secretsmanager::error::DisplayErrorContext(err)
                .to_string()
                .into(),
        })?;
    output
        .secret_string
        .ok_or_else(|| SecretError::NotAString { id: id.to_owned() })
}
