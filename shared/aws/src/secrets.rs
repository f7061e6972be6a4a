//! Secrets Manager reads, done once per cold start by the functions that need them.

use aws_sdk_secretsmanager::Client;
use meetin_core::{DatabaseTarget, DeepgramKey, JwtSettings};

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
    #[error("secret {id} is not valid: {reason}")]
    Invalid { id: String, reason: &'static str },
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

/// The connection URL: `DATABASE_URL` as given, or built (TLS required) from the RDS secret.
pub async fn database_url(client: &Client, target: &DatabaseTarget) -> Result<String, SecretError> {
    match target {
        DatabaseTarget::Url(url) => Ok(url.clone()),
        DatabaseTarget::Secret {
            secret_id,
            host_override,
        } => {
            let raw = secret_string(client, secret_id).await?;
            DatabaseTarget::url_from_rds_secret(&raw, host_override.as_deref()).ok_or_else(|| {
                SecretError::Invalid {
                    id: secret_id.clone(),
                    reason: "not an RDS secret (host, username, password)",
                }
            })
        }
    }
}

/// HS256 needs a key at least this long to mean something.
pub const MIN_JWT_KEY_BYTES: usize = 32;

/// The JWT signing key (at least [`MIN_JWT_KEY_BYTES`] bytes).
pub async fn jwt_signing_key(client: &Client, jwt: &JwtSettings) -> Result<Vec<u8>, SecretError> {
    let key = secret_string(client, &jwt.secret_id).await?;
    if key.len() < MIN_JWT_KEY_BYTES {
        return Err(SecretError::Invalid {
            id: jwt.secret_id.clone(),
            reason: "the signing key must be at least 32 bytes",
        });
    }
    Ok(key.into_bytes())
}

/// The Deepgram API key: `DEEPGRAM_API_KEY` as given, or the secret `DEEPGRAM_SECRET_ID`,
/// whose value is the key itself or a JSON object `{"api_key": "..."}`.
pub async fn deepgram_api_key(client: &Client, key: &DeepgramKey) -> Result<String, SecretError> {
    let (id, raw) = match key {
        DeepgramKey::Key(key) => return Ok(key.clone()),
        DeepgramKey::Secret(id) => (id, secret_string(client, id).await?),
    };
    let key = match serde_json::from_str::<serde_json::Value>(&raw) {
        Ok(serde_json::Value::Object(fields)) => fields
            .get("api_key")
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned),
        _ => Some(raw),
    };
    key.map(|k| k.trim().to_owned())
        .filter(|k| !k.is_empty())
        .ok_or_else(|| SecretError::Invalid {
            id: id.clone(),
            reason: "no Deepgram API key (a string, or JSON with api_key)",
        })
}

/// A secret whose value is a JSON object of strings (e.g. `{"OPENAI_API_KEY": "..."}`), as a
/// map; non-string values are skipped.
pub async fn json_fields(
    client: &Client,
    id: &str,
) -> Result<std::collections::HashMap<String, String>, SecretError> {
    let raw = secret_string(client, id).await?;
    match serde_json::from_str::<serde_json::Value>(&raw) {
        Ok(serde_json::Value::Object(fields)) => Ok(fields
            .into_iter()
            .filter_map(|(k, v)| Some((k, v.as_str()?.to_owned())))
            .collect()),
        _ => Err(SecretError::Invalid {
            id: id.to_owned(),
            reason: "not a JSON object of strings",
        }),
    }
}
