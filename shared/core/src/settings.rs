//! Plain settings, each read from the environment on its own, once per cold start. Core only
//! *parses*: fetching secrets is `meetin-aws`'s job. Each function composes the pieces it
//! needs, so a setting one function adds is never required by (or read at the cold start of)
//! another. Variable names are the SAM template's (README, "Configuration").

use std::fmt;
use std::time::Duration;

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

/// The DynamoDB table for ephemeral state (`EPHEMERAL_TABLE`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EphemeralTable(pub String);

impl Setting for EphemeralTable {
    fn from_lookup(lookup: Lookup<'_>) -> Result<Self, SettingsError> {
        required(lookup, "EPHEMERAL_TABLE").map(Self)
    }
}

/// The S3 bucket recordings are uploaded to (`RECORDINGS_BUCKET`), keys
/// `recordings/{meeting_id}/{uuid}{ext}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordingsBucket(pub String);

impl Setting for RecordingsBucket {
    fn from_lookup(lookup: Lookup<'_>) -> Result<Self, SettingsError> {
        required(lookup, "RECORDINGS_BUCKET").map(Self)
    }
}

/// The URL of the SQS queue transcription jobs go to (`TRANSCRIPTION_QUEUE_URL`; the SAM
/// template sets it from the queue's `Ref`, the local stack from [`TranscriptionQueueName`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TranscriptionQueueUrl(pub String);

impl Setting for TranscriptionQueueUrl {
    fn from_lookup(lookup: Lookup<'_>) -> Result<Self, SettingsError> {
        required(lookup, "TRANSCRIPTION_QUEUE_URL").map(Self)
    }
}

/// The transcription queue's name (`TRANSCRIPTION_QUEUE_NAME`): what the local stack creates
/// in the emulator and resolves to a URL with `GetQueueUrl`. Deployed functions read the URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TranscriptionQueueName(pub String);

impl Setting for TranscriptionQueueName {
    fn from_lookup(lookup: Lookup<'_>) -> Result<Self, SettingsError> {
        required(lookup, "TRANSCRIPTION_QUEUE_NAME").map(Self)
    }
}

/// The URL of the SQS queue minutes jobs go to (`MINUTES_QUEUE_URL`; the SAM template sets it
/// from the queue's `Ref`, the local stack from [`MinutesQueueName`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MinutesQueueUrl(pub String);

impl Setting for MinutesQueueUrl {
    fn from_lookup(lookup: Lookup<'_>) -> Result<Self, SettingsError> {
        required(lookup, "MINUTES_QUEUE_URL").map(Self)
    }
}

/// The minutes queue's name (`MINUTES_QUEUE_NAME`): what the local stack creates in the
/// emulator (with its `-dlq`) and resolves to a URL. Deployed functions read the URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MinutesQueueName(pub String);

impl Setting for MinutesQueueName {
    fn from_lookup(lookup: Lookup<'_>) -> Result<Self, SettingsError> {
        required(lookup, "MINUTES_QUEUE_NAME").map(Self)
    }
}

/// Where the recording worker finds Deepgram (docs: README, "Configuration").
///
/// - `DEEPGRAM_API_KEY`: the key itself (local runs);
/// - else `DEEPGRAM_SECRET_ID`: the Secrets Manager secret holding it (deployed; read once per
///   cold start), a plain string or a JSON object with `api_key`;
/// - `DEEPGRAM_BASE_URL`: another host (a regional one, or the local fake); default
///   `https://api.deepgram.com`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeepgramSettings {
    pub key: DeepgramKey,
    /// `DEEPGRAM_BASE_URL`, when set.
    pub base_url: Option<String>,
}

/// Where the Deepgram API key comes from.
#[derive(Clone, PartialEq, Eq)]
pub enum DeepgramKey {
    /// `DEEPGRAM_API_KEY`.
    Key(String),
    /// `DEEPGRAM_SECRET_ID`: a Secrets Manager secret id or ARN.
    Secret(String),
}

impl std::fmt::Debug for DeepgramKey {
    // The key never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Key(_) => f.write_str("Key(<redacted>)"),
            Self::Secret(id) => f.debug_tuple("Secret").field(id).finish(),
        }
    }
}

impl Setting for DeepgramSettings {
    fn from_lookup(lookup: Lookup<'_>) -> Result<Self, SettingsError> {
        let key = match (
            get(lookup, "DEEPGRAM_API_KEY"),
            get(lookup, "DEEPGRAM_SECRET_ID"),
        ) {
            (Some(key), _) => DeepgramKey::Key(key.trim().to_owned()),
            (None, Some(id)) => DeepgramKey::Secret(id),
            (None, None) => {
                return Err(SettingsError::Missing(
                    "DEEPGRAM_API_KEY or DEEPGRAM_SECRET_ID",
                ));
            }
        };
        Ok(Self {
            key,
            base_url: get(lookup, "DEEPGRAM_BASE_URL"),
        })
    }
}

/// Which engine transcribes recordings (`TRANSCRIPTION_PROVIDER`: `deepgram` or `whisper`,
/// any case). Unset or blank: Deepgram when a key is configured (`DEEPGRAM_API_KEY` or
/// `DEEPGRAM_SECRET_ID`), else the embedded Whisper engine (meetin-whisper), whose model file is
/// `WHISPER_MODEL_PATH` (default: the cache `infra/local/whisper-model.sh` fills).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TranscriptionProvider {
    /// Deepgram's pre-recorded API ([`DeepgramSettings`] must be set).
    Deepgram,
    /// Whisper tiny.en, run in the worker (English only, one speaker).
    Whisper,
}

impl Setting for TranscriptionProvider {
    fn from_lookup(lookup: Lookup<'_>) -> Result<Self, SettingsError> {
        match get(lookup, "TRANSCRIPTION_PROVIDER") {
            Some(v) => match v.trim().to_ascii_lowercase().as_str() {
                "deepgram" => Ok(Self::Deepgram),
                "whisper" => Ok(Self::Whisper),
                other => Err(SettingsError::Invalid {
                    name: "TRANSCRIPTION_PROVIDER",
                    reason: format!("{other:?} is neither \"deepgram\" nor \"whisper\""),
                }),
            },
            None if DeepgramSettings::from_lookup(lookup).is_ok() => Ok(Self::Deepgram),
            None => Ok(Self::Whisper),
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

/// Requests per minute, per scope. Defaults: docs/api-decisions.md ("Rate limits").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimits {
    /// register and login together, per client IP (`RATE_LIMIT_AUTH_PER_MINUTE`)
    pub auth_per_minute: u32,
    /// token refreshes, per client IP, in a bucket of their own so a client looping on a
    /// failed refresh cannot lock its user out of logging in (`RATE_LIMIT_REFRESH_PER_MINUTE`)
    pub refresh_per_minute: u32,
    /// other unauthenticated requests, per client IP (`RATE_LIMIT_ANON_PER_MINUTE`)
    pub anon_per_minute: u32,
    /// authenticated requests, per user (`RATE_LIMIT_USER_PER_MINUTE`)
    pub user_per_minute: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            auth_per_minute: 10,
            refresh_per_minute: 30,
            anon_per_minute: 30,
            user_per_minute: 120,
        }
    }
}

impl Setting for RateLimits {
    fn from_lookup(lookup: Lookup<'_>) -> Result<Self, SettingsError> {
        let defaults = Self::default();
        let rate = |name: &'static str, default: u32| match get(lookup, name) {
            None => Ok(default),
            Some(v) => match v.trim().parse::<u32>() {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(SettingsError::Invalid {
                    name,
                    reason: "expected a positive whole number of requests per minute".into(),
                }),
            },
        };
        Ok(Self {
            auth_per_minute: rate("RATE_LIMIT_AUTH_PER_MINUTE", defaults.auth_per_minute)?,
            refresh_per_minute: rate("RATE_LIMIT_REFRESH_PER_MINUTE", defaults.refresh_per_minute)?,
            anon_per_minute: rate("RATE_LIMIT_ANON_PER_MINUTE", defaults.anon_per_minute)?,
            user_per_minute: rate("RATE_LIMIT_USER_PER_MINUTE", defaults.user_per_minute)?,
        })
    }
}

/// A whole number of seconds from `name`, `default` when unset; `min` is the least allowed.
fn seconds(
    lookup: Lookup<'_>,
    name: &'static str,
    default: u64,
    min: u64,
) -> Result<Duration, SettingsError> {
    match get(lookup, name) {
        None => Ok(Duration::from_secs(default)),
        Some(v) => match v.trim().parse::<u64>() {
            Ok(n) if n >= min => Ok(Duration::from_secs(n)),
            _ => Err(SettingsError::Invalid {
                name,
                reason: format!("expected a whole number of seconds, at least {min}"),
            }),
        },
    }
}

/// How long after a refresh token's latest rotation presenting it again gets a fresh pair in
/// the same family even when a token issued from it was used (after it, only while none was)
/// (`REFRESH_REUSE_GRACE_SECONDS`, default 30 s; 0 disables). Covers a client firing two
/// requests at once with one expired access token (docs/api-decisions.md, "Accounts and
/// tokens").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RefreshReuseGrace(pub Duration);

impl Default for RefreshReuseGrace {
    fn default() -> Self {
        Self(Duration::from_secs(30))
    }
}

impl Setting for RefreshReuseGrace {
    fn from_lookup(lookup: Lookup<'_>) -> Result<Self, SettingsError> {
        seconds(lookup, "REFRESH_REUSE_GRACE_SECONDS", 30, 0).map(Self)
    }
}

/// Per-account backoff on password guessing (docs/api-decisions.md, "Rate limits"): after
/// `free_failures` unsuccessful attempts in a row, each next attempt must wait `first_delay`,
/// doubling with every further failure, at most `max_delay`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoginBackoff {
    /// Unsuccessful attempts answered without delay (`LOGIN_FAILURES_BEFORE_BACKOFF`, 5).
    pub free_failures: u32,
    /// The wait after the last free failure (`LOGIN_BACKOFF_FIRST_SECONDS`, 60 s).
    pub first_delay: Duration,
    /// The longest wait, and so the longest an owner is kept out by one lock
    /// (`LOGIN_BACKOFF_MAX_SECONDS`, 900 s).
    pub max_delay: Duration,
}

impl Default for LoginBackoff {
    fn default() -> Self {
        Self {
            free_failures: 5,
            first_delay: Duration::from_secs(60),
            max_delay: Duration::from_secs(900),
        }
    }
}

impl LoginBackoff {
    /// The wait imposed after `failures` unsuccessful attempts in a row (zero while free).
    pub fn delay_after(&self, failures: u32) -> Duration {
        let Some(extra) = failures.checked_sub(self.free_failures) else {
            return Duration::ZERO;
        };
        let factor = 1u32.checked_shl(extra).unwrap_or(u32::MAX);
        self.first_delay
            .checked_mul(factor)
            .unwrap_or(self.max_delay)
            .min(self.max_delay)
    }
}

impl Setting for LoginBackoff {
    fn from_lookup(lookup: Lookup<'_>) -> Result<Self, SettingsError> {
        let defaults = Self::default();
        let free_failures = match get(lookup, "LOGIN_FAILURES_BEFORE_BACKOFF") {
            None => defaults.free_failures,
            Some(v) => match v.trim().parse::<u32>() {
                Ok(n) if n > 0 => n,
                _ => {
                    return Err(SettingsError::Invalid {
                        name: "LOGIN_FAILURES_BEFORE_BACKOFF",
                        reason: "expected a positive whole number of attempts".into(),
                    });
                }
            },
        };
        let first_delay = seconds(lookup, "LOGIN_BACKOFF_FIRST_SECONDS", 60, 1)?;
        let max_delay = seconds(lookup, "LOGIN_BACKOFF_MAX_SECONDS", 900, 1)?;
        if max_delay < first_delay {
            return Err(SettingsError::Invalid {
                name: "LOGIN_BACKOFF_MAX_SECONDS",
                reason: "must be at least LOGIN_BACKOFF_FIRST_SECONDS".into(),
            });
        }
        Ok(Self {
            free_failures,
            first_delay,
            max_delay,
        })
    }
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
    fn the_transcription_provider_is_deepgram_with_a_key_whisper_without_or_as_chosen() {
        let provider = |pairs: &[(&str, &str)]| TranscriptionProvider::from_lookup(&lookup(pairs));
        assert_eq!(provider(&[]).ok(), Some(TranscriptionProvider::Whisper));
        assert_eq!(
            provider(&[("DEEPGRAM_API_KEY", "k")]).ok(),
            Some(TranscriptionProvider::Deepgram)
        );
        assert_eq!(
            provider(&[("DEEPGRAM_SECRET_ID", "s"), ("TRANSCRIPTION_PROVIDER", " ")]).ok(),
            Some(TranscriptionProvider::Deepgram)
        );
        assert_eq!(
            provider(&[
                ("DEEPGRAM_API_KEY", "k"),
                ("TRANSCRIPTION_PROVIDER", "Whisper")
            ])
            .ok(),
            Some(TranscriptionProvider::Whisper)
        );
        assert_eq!(
            provider(&[("TRANSCRIPTION_PROVIDER", "deepgram")]).ok(),
            Some(TranscriptionProvider::Deepgram)
        );
        let err = provider(&[("TRANSCRIPTION_PROVIDER", "vosk")]).expect_err("unknown engine");
        assert_eq!(
            err.to_string(),
            "TRANSCRIPTION_PROVIDER is not valid: \"vosk\" is neither \"deepgram\" nor \"whisper\""
        );
    }

    #[test]
    fn defaults_are_the_contracts_rate_limits() {
        let limits = RateLimits::from_lookup(&lookup(&[])).expect("defaults");
        assert_eq!(
            limits,
            RateLimits {
                auth_per_minute: 10,
                refresh_per_minute: 30,
                anon_per_minute: 30,
                user_per_minute: 120
            }
        );
        assert!(
            CorsOrigins::from_lookup(&lookup(&[]))
                .expect("cors")
                .0
                .is_empty()
        );
    }

    #[test]
    fn grace_and_backoff_read_seconds_and_double_up_to_the_cap() {
        let none = lookup(&[]);
        assert_eq!(
            RefreshReuseGrace::from_lookup(&none).expect("grace").0,
            Duration::from_secs(30)
        );
        let off = lookup(&[("REFRESH_REUSE_GRACE_SECONDS", "0")]);
        assert_eq!(
            RefreshReuseGrace::from_lookup(&off).expect("grace").0,
            Duration::ZERO
        );
        let bad = lookup(&[("REFRESH_REUSE_GRACE_SECONDS", "-1")]);
        assert!(RefreshReuseGrace::from_lookup(&bad).is_err());

        let backoff = LoginBackoff::from_lookup(&none).expect("backoff");
        assert_eq!(backoff, LoginBackoff::default());
        let secs = |failures| backoff.delay_after(failures).as_secs();
        assert_eq!(
            [0, 4, 5, 6, 7, 8, 9, 10, 40, u32::MAX].map(secs),
            [0, 0, 60, 120, 240, 480, 900, 900, 900, 900]
        );
        let inverted = lookup(&[
            ("LOGIN_BACKOFF_FIRST_SECONDS", "60"),
            ("LOGIN_BACKOFF_MAX_SECONDS", "10"),
        ]);
        assert!(LoginBackoff::from_lookup(&inverted).is_err());
    }

    #[test]
    fn missing_and_invalid_settings_are_named() {
        let err = DatabaseTarget::from_lookup(&lookup(&[])).expect_err("no database");
        assert_eq!(err.to_string(), "DATABASE_URL or DB_SECRET_ID must be set");
        let err = JwtSettings::from_lookup(&lookup(&[])).expect_err("no key id");
        assert_eq!(err.to_string(), "JWT_SECRET_ID must be set");
        let err = RateLimits::from_lookup(&lookup(&[("RATE_LIMIT_AUTH_PER_MINUTE", "ten")]))
            .expect_err("bad rate");
        assert!(
            err.to_string()
                .starts_with("RATE_LIMIT_AUTH_PER_MINUTE is not valid")
        );
    }

    #[test]
    fn database_target_prefers_the_url_and_keeps_it_out_of_debug() {
        let target = DatabaseTarget::from_lookup(&lookup(&[
            ("DATABASE_URL", "postgres://u:secret@h/db"),
            ("DB_SECRET_ID", "s"),
        ]))
        .expect("target");
        assert!(!format!("{target:?}").contains("secret"));
        let target =
            DatabaseTarget::from_lookup(&lookup(&[("DB_SECRET_ID", "s"), ("DB_HOST", "proxy")]))
                .expect("target");
        assert_eq!(
            target,
            DatabaseTarget::Secret {
                secret_id: "s".into(),
                host_override: Some("proxy".into())
            }
        );
    }

    #[test]
    fn cors_origins_are_trimmed_and_split() {
        let cors = CorsOrigins::from_lookup(&lookup(&[(
            "CORS_ALLOWED_ORIGINS",
            " http://localhost:3000/ , https://app.example.com,,",
        )]))
        .expect("cors");
        assert_eq!(cors.0, ["http://localhost:3000", "https://app.example.com"]);
    }

    #[test]
    fn rds_secret_becomes_a_tls_url_with_escaped_password() {
        let url = DatabaseTarget::url_from_rds_secret(
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
