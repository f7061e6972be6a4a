//! Typed configuration: plain settings from the environment, keys from Secrets Manager.
//! Both are read once per cold start.

use std::fmt;

use meetin_aws::AwsSettings;
use meetin_aws::secrets::secret_string;

/// Where the database is. Locally a URL; in AWS an RDS-style secret (host, port, username,
/// password, dbname), with `DB_HOST` naming the RDS Proxy endpoint when there is one.
#[derive(Clone)]
pub enum DatabaseTarget {
    Url(String),
    Secret {
        secret_id: String,
        host_override: Option<String>,
    },
}

impl fmt::Debug for DatabaseTarget {
    // The URL may carry a password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Url(_) => f.write_str("DatabaseTarget::Url(..)"),
            Self::Secret {
                secret_id,
                host_override,
            } => f
                .debug_struct("DatabaseTarget::Secret")
                .field("secret_id", secret_id)
                .field("host_override", host_override)
                .finish(),
        }
    }
}

impl DatabaseTarget {
    /// `DATABASE_URL`, else `DB_SECRET_ID` (with an optional `DB_HOST`).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        match (get("DATABASE_URL"), get("DB_SECRET_ID")) {
            (Some(url), _) => Ok(Self::Url(url)),
            (None, Some(secret_id)) => Ok(Self::Secret {
                secret_id,
                host_override: get("DB_HOST"),
            }),
            (None, None) => Err(ConfigError::Missing("DATABASE_URL or DB_SECRET_ID")),
        }
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// The connection URL, reading the secret when there is one.
    pub async fn resolve(
        &self,
        client: &meetin_aws::aws_sdk_secretsmanager::Client,
    ) -> Result<String, meetin_aws::secrets::SecretError> {
        match self {
            Self::Url(url) => Ok(url.clone()),
            Self::Secret {
                secret_id,
                host_override,
            } => {
                let raw = secret_string(client, secret_id).await?;
                rds_secret_url(&raw, host_override.as_deref()).ok_or_else(|| {
                    meetin_aws::secrets::SecretError::NotAString {
                        id: secret_id.clone(),
                    }
                })
            }
        }
    }
}

/// Requests per minute, per scope. Defaults are the contract's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimits {
    /// register, login and refresh together, per client IP
    pub auth_per_minute: u32,
    /// other unauthenticated requests, per client IP
    pub anon_per_minute: u32,
    /// authenticated requests, per user
    pub user_per_minute: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            auth_per_minute: 10,
            anon_per_minute: 30,
            user_per_minute: 120,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Config {
    pub database: DatabaseTarget,
    pub aws: AwsSettings,
    /// DynamoDB table for ephemeral state (`EPHEMERAL_TABLE`).
    pub ephemeral_table: String,
    /// Secrets Manager id of the JWT signing key (`JWT_SECRET_ID`).
    pub jwt_secret_id: String,
    /// Browser origins allowed by CORS (`CORS_ALLOWED_ORIGINS`, comma-separated).
    pub cors_allowed_origins: Vec<String>,
    pub rate_limits: RateLimits,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0} must be set")]
    Missing(&'static str),
    #[error("{name} is not valid: {reason}")]
    Invalid { name: &'static str, reason: String },
    #[error(transparent)]
    Secret(#[from] meetin_aws::secrets::SecretError),
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup`, so tests can configure without touching the process
    /// environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let required = |name: &'static str| get(name).ok_or(ConfigError::Missing(name));

        let database = DatabaseTarget::from_lookup(&lookup)?;
        let defaults = RateLimits::default();
        let rate = |name: &'static str, default: u32| -> Result<u32, ConfigError> {
            match get(name) {
                None => Ok(default),
                Some(v) => match v.trim().parse::<u32>() {
                    Ok(n) if n > 0 => Ok(n),
                    _ => Err(ConfigError::Invalid {
                        name,
                        reason: "expected a positive whole number of requests per minute".into(),
                    }),
                },
            }
        };
        Ok(Self {
            database,
            aws: AwsSettings {
                endpoint_url: get("AWS_ENDPOINT_URL"),
                region: get("AWS_REGION").or_else(|| get("AWS_DEFAULT_REGION")),
            },
            ephemeral_table: required("EPHEMERAL_TABLE")?,
            jwt_secret_id: required("JWT_SECRET_ID")?,
            cors_allowed_origins: get("CORS_ALLOWED_ORIGINS")
                .map(|v| {
                    v.split(',')
                        .map(|o| o.trim().trim_end_matches('/').to_owned())
                        .filter(|o| !o.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            rate_limits: RateLimits {
                auth_per_minute: rate("RATE_LIMIT_AUTH_PER_MINUTE", defaults.auth_per_minute)?,
                anon_per_minute: rate("RATE_LIMIT_ANON_PER_MINUTE", defaults.anon_per_minute)?,
                user_per_minute: rate("RATE_LIMIT_USER_PER_MINUTE", defaults.user_per_minute)?,
            },
        })
    }
}

/// Key material, fetched from Secrets Manager once per cold start.
#[derive(Clone)]
pub struct Secrets {
    pub jwt_signing_key: Vec<u8>,
    /// Resolved database URL (from `DATABASE_URL`, or built from the RDS secret).
    pub database_url: String,
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secrets { .. }")
    }
}

/// The JWT key must be long enough for HS256 to mean something.
const MIN_JWT_KEY_BYTES: usize = 32;

impl Secrets {
    pub async fn load(
        config: &Config,
        client: &meetin_aws::aws_sdk_secretsmanager::Client,
    ) -> Result<Self, ConfigError> {
        let (jwt, database_url) = tokio::try_join!(
            secret_string(client, &config.jwt_secret_id),
            config.database.resolve(client),
        )?;
        if jwt.len() < MIN_JWT_KEY_BYTES {
            return Err(ConfigError::Invalid {
                name: "JWT signing key",
                reason: format!("must be at least {MIN_JWT_KEY_BYTES} bytes"),
            });
        }
        Ok(Self {
            jwt_signing_key: jwt.into_bytes(),
            database_url,
        })
    }
}

/// Builds a TLS-required URL from an RDS-managed secret's JSON.
fn rds_secret_url(raw: &str, host_override: Option<&str>) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(raw).ok()?;
    let text = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_owned);
    let host = host_override.map(str::to_owned).or_else(|| text("host"))?;
    let port = v
        .get("port")
        .and_then(|p| p.as_u64().or_else(|| p.as_str()?.parse().ok()));
    let mut url = url::Url::parse(&format!("postgres://{host}")).ok()?;
    url.set_username(&text("username")?).ok()?;
    url.set_password(Some(&text("password")?)).ok()?;
    url.set_port(Some(u16::try_from(port.unwrap_or(5432)).ok()?))
        .ok()?;
    url.set_path(&text("dbname").unwrap_or_else(|| "meetin".into()));
    url.set_query(Some("sslmode=require"));
    Some(url.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn defaults_are_the_contracts_rate_limits() {
        let cfg = Config::from_lookup(lookup(&[
            ("DATABASE_URL", "postgres://localhost/x"),
            ("EPHEMERAL_TABLE", "t"),
            ("JWT_SECRET_ID", "s"),
        ]))
        .expect("valid config");
        assert_eq!(
            cfg.rate_limits,
            RateLimits {
                auth_per_minute: 10,
                anon_per_minute: 30,
                user_per_minute: 120
            }
        );
        assert!(cfg.cors_allowed_origins.is_empty());
    }

    #[test]
    fn missing_and_invalid_settings_are_named() {
        let err = Config::from_lookup(lookup(&[("EPHEMERAL_TABLE", "t"), ("JWT_SECRET_ID", "s")]))
            .expect_err("no database");
        assert_eq!(err.to_string(), "DATABASE_URL or DB_SECRET_ID must be set");
        let err = Config::from_lookup(lookup(&[
            ("DATABASE_URL", "postgres://x"),
            ("EPHEMERAL_TABLE", "t"),
            ("JWT_SECRET_ID", "s"),
            ("RATE_LIMIT_AUTH_PER_MINUTE", "ten"),
        ]))
        .expect_err("bad rate");
        assert!(
            err.to_string()
                .starts_with("RATE_LIMIT_AUTH_PER_MINUTE is not valid")
        );
    }

    #[test]
    fn cors_origins_are_trimmed_and_split() {
        let cfg = Config::from_lookup(lookup(&[
            ("DATABASE_URL", "postgres://x"),
            ("EPHEMERAL_TABLE", "t"),
            ("JWT_SECRET_ID", "s"),
            (
                "CORS_ALLOWED_ORIGINS",
                " http://localhost:3000/ , https://app.example.com,,",
            ),
        ]))
        .expect("valid config");
        assert_eq!(
            cfg.cors_allowed_origins,
            ["http://localhost:3000", "https://app.example.com"]
        );
    }

    #[test]
    fn rds_secret_becomes_a_tls_url_with_escaped_password() {
        let url = rds_secret_url(
            r#"{"username":"meetin","password":"p@ss/w:rd","host":"db.internal","port":5432,"dbname":"meetin"}"#,
            Some("proxy.internal"),
        )
        .expect("url");
        assert_eq!(
            url,
            "postgres://meetin:p%40ss%2Fw%3Ard@proxy.internal:5432/meetin?sslmode=require"
        );
    }
}
