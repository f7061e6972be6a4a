//! Plain settings, each read from the environment on its own, once per cold start. Core only
//! *parses*: fetching secrets is `meetin-aws`'s job. Each function composes the pieces it
//! needs, so a setting one function adds is never required by (or read at the cold start of)
//! another. Variable names are the SAM template's (README, "Configuration").

use std::fmt;
use std::time::Duration;

mod limits;
mod recordings;

pub use limits::{LoginBackoff, RateLimits, RefreshReuseGrace};
pub use recordings::{
    DeepgramKey, DeepgramSettings, MaxRecordingDuration, TranscribeWait, TranscriptionProvider,
    TranscriptionWindow, WhisperThreads,
};

/// A missing or unreadable setting, named so the cold-start log says which.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("{0} must be set")]
    Missing(&'static str),
    #[error("{name} is not valid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

/// How settings are looked up: the process environment in functions, a map in tests.
pub type Lookup<'a> = &'a (dyn Fn(&str) -> Option<String> + Sync);

/// One piece of configuration, read through a [`Lookup`].
pub trait Setting: Sized {
    fn from_lookup(lookup: Lookup<'_>) -> Result<Self, SettingsError>;

    fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(&|name| std::env::var(name).ok())
    }
}

/// The value of `name`, unless unset or blank.
fn get(lookup: Lookup<'_>, name: &str) -> Option<String> {
    lookup(name).filter(|v| !v.trim().is_empty())
}

fn required(lookup: Lookup<'_>, name: &'static str) -> Result<String, SettingsError> {
    get(lookup, name).ok_or(SettingsError::Missing(name))
}

/// Where the AWS clients connect. Production leaves `endpoint_url` empty and uses the Lambda
/// role's credentials; the local stack and tests point everything at the emulator
/// (`AWS_ENDPOINT_URL`, `AWS_REGION` or `AWS_DEFAULT_REGION`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AwsSettings {
    pub endpoint_url: Option<String>,
    pub region: Option<String>,
}

impl AwsSettings {
    /// Whether connections to the AWS APIs start with a TLS handshake: always in AWS, and
    /// with an `https://` endpoint override; not with the local emulator's `http://` one.
    pub fn opens_with_tls(&self) -> bool {
        self.endpoint_url
            .as_deref()
            .is_none_or(|url| !url.trim_start().to_ascii_lowercase().starts_with("http://"))
    }
}

impl Setting for AwsSettings {
    fn from_lookup(lookup: Lookup<'_>) -> Result<Self, SettingsError> {
        Ok(Self {
            endpoint_url: get(lookup, "AWS_ENDPOINT_URL"),
            region: get(lookup, "AWS_REGION").or_else(|| get(lookup, "AWS_DEFAULT_REGION")),
        })
    }
}

/// Where the database is. Locally a URL (`DATABASE_URL`); in AWS an RDS-style secret
/// (`DB_SECRET_ID`: host, port, username, password, dbname), with `DB_HOST` naming the RDS
/// Proxy endpoint when there is one.
#[derive(Clone, PartialEq, Eq)]
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

impl Setting for DatabaseTarget {
    /// `DATABASE_URL`, else `DB_SECRET_ID` (with an optional `DB_HOST`).
    fn from_lookup(lookup: Lookup<'_>) -> Result<Self, SettingsError> {
        match (get(lookup, "DATABASE_URL"), get(lookup, "DB_SECRET_ID")) {
            (Some(url), _) => Ok(Self::Url(url)),
            (None, Some(secret_id)) => Ok(Self::Secret {
                secret_id,
                host_override: get(lookup, "DB_HOST"),
            }),
            (None, None) => Err(SettingsError::Missing("DATABASE_URL or DB_SECRET_ID")),
        }
    }
}

impl DatabaseTarget {
    /// A TLS-required connection URL from an RDS-managed secret's JSON (`host`, `port`,
    /// `username`, `password`, `dbname`); `None` when the JSON lacks what a URL needs.
    pub fn url_from_rds_secret(raw: &str, host_override: Option<&str>) -> Option<String> {
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
}

/// Secrets Manager id of the HS256 signing key (`JWT_SECRET_ID`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JwtSettings {
    pub secret_id: String,
}

impl Setting for JwtSettings {
    fn from_lookup(lookup: Lookup<'_>) -> Result<Self, SettingsError> {
        Ok(Self {
            secret_id: required(lookup, "JWT_SECRET_ID")?,
        })
    }
}

/// A setting that is one non-blank string read from one variable: the newtype, its
/// [`Setting`] (missing or blank: [`SettingsError::Missing`]) and `optional` (missing or
/// blank: `None`), so the variable's name is written once.
macro_rules! string_setting {
    ($(#[$doc:meta])* $name:ident = $var:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub struct $name(pub String);

        impl $name {
            #[doc = concat!("`", $var, "` when set and not blank.")]
            pub fn optional(lookup: Lookup<'_>) -> Option<Self> {
                get(lookup, $var).map(Self)
            }
        }

        impl Setting for $name {
            fn from_lookup(lookup: Lookup<'_>) -> Result<Self, SettingsError> {
                required(lookup, $var).map(Self)
            }
        }
    };
}

string_setting! {
    /// The DynamoDB table for ephemeral state (`EPHEMERAL_TABLE`).
    EphemeralTable = "EPHEMERAL_TABLE"
}

string_setting! {
    /// The S3 bucket recordings are uploaded to (`RECORDINGS_BUCKET`), keys
    /// `recordings/{meeting_id}/{uuid}{ext}`.
    RecordingsBucket = "RECORDINGS_BUCKET"
}

string_setting! {
    /// The URL of the SQS queue transcription jobs go to (`TRANSCRIPTION_QUEUE_URL`; the SAM
    /// template sets it from the queue's `Ref`, the local stack from the queue
    /// `TRANSCRIPTION_QUEUE_NAME` it creates).
    TranscriptionQueueUrl = "TRANSCRIPTION_QUEUE_URL"
}

string_setting! {
    /// The URL of the SQS queue minutes jobs go to (`MINUTES_QUEUE_URL`; the SAM template sets
    /// it from the queue's `Ref`, the local stack from the queue
    /// `MINUTES_QUEUE_NAME` it creates).
    MinutesQueueUrl = "MINUTES_QUEUE_URL"
}

string_setting! {
    /// The URL of the SQS queue copilot jobs go to (`COPILOT_QUEUE_URL`; optional until the
    /// copilot worker exists: without it the bridge's stop queues no post-meeting run).
    CopilotQueueUrl = "COPILOT_QUEUE_URL"
}

string_setting! {
    /// A Secrets Manager secret whose JSON object holds LLM settings by their variable names
    /// (`OPENAI_API_KEY`, `AZURE_OPENAI_*`), filling what the environment leaves unset
    /// (`LLM_SECRET_ID`; optional: without it the environment alone decides).
    LlmSecretId = "LLM_SECRET_ID"
}

/// The WebSocket API's callback URL, where pushes to its clients go (`WEBSOCKET_CALLBACK_URL`):
/// `https://{api-id}.execute-api.{region}.amazonaws.com/{stage}` in AWS (the SAM template
/// builds it from the API and its stage), the local stack's `http://127.0.0.1:8000` locally.
/// Required; an `http://` or `https://` URL, kept without a trailing `/`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebSocketCallbackUrl(pub String);

impl Setting for WebSocketCallbackUrl {
    fn from_lookup(lookup: Lookup<'_>) -> Result<Self, SettingsError> {
        let name = "WEBSOCKET_CALLBACK_URL";
        let raw = required(lookup, name)?;
        let url = raw.trim().trim_end_matches('/');
        let lower = url.to_ascii_lowercase();
        let rest = lower
            .strip_prefix("https://")
            .or_else(|| lower.strip_prefix("http://"));
        match rest {
            Some(host) if !host.is_empty() && !url.contains(char::is_whitespace) => {
                Ok(Self(url.to_owned()))
            }
            _ => Err(SettingsError::Invalid {
                name,
                reason: format!("{raw:?} is not an http:// or https:// URL"),
            }),
        }
    }
}

/// The first retry's delay of a queue worker's failed job (`RETRY_BACKOFF_SECONDS`, a whole
/// number from 0 to 900; default 30 s); each later receive doubles it, up to 900 s
/// (`meetin_worker::MAX_BACKOFF`). Locally 2 s (infra/local/env).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryBackoff(pub Duration);

impl Setting for RetryBackoff {
    fn from_lookup(lookup: Lookup<'_>) -> Result<Self, SettingsError> {
        let name = "RETRY_BACKOFF_SECONDS";
        let Some(raw) = get(lookup, name) else {
            return Ok(Self(Duration::from_secs(30)));
        };
        match raw.trim().parse::<u64>() {
            Ok(seconds) if seconds <= 900 => Ok(Self(Duration::from_secs(seconds))),
            _ => Err(SettingsError::Invalid {
                name,
                reason: format!("{raw:?} is not a whole number of seconds from 0 to 900"),
            }),
        }
    }
}

/// Browser origins allowed by CORS (`CORS_ALLOWED_ORIGINS`, comma-separated). API Gateway
/// applies them in AWS; only the local stack reads this.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CorsOrigins(pub Vec<String>);

impl Setting for CorsOrigins {
    fn from_lookup(lookup: Lookup<'_>) -> Result<Self, SettingsError> {
        Ok(Self(
            get(lookup, "CORS_ALLOWED_ORIGINS")
                .map(|v| {
                    v.split(',')
                        .map(|o| o.trim().trim_end_matches('/').to_owned())
                        .filter(|o| !o.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
        ))
    }
}

#[cfg(test)]
mod tests;
