//! The live bridge's private relay API (issue 19): what the socket handlers (`live-socket`),
//! the meetings function (`live/start/`, `live/stop/`) and other bridge tasks ask a bridge
//! task over HTTP, inside the VPC (the tasks' security group admits only them; nothing of it
//! is on the public load balancer).
//!
//! | request                                   | body            | answer                                 |
//! |-------------------------------------------|-----------------|----------------------------------------|
//! | `POST /internal/live/sessions`            | [`StartSession`]| 201 `{}`; 503 [`Refused`] no engine    |
//! | `POST /internal/live/sessions/stop`       | [`StopSession`] | 200 `{}` once flushed and stored       |
//! | `POST /internal/live/audio`               | [`AudioIn`]     | 202 `{}`; 4xx [`Refused`]; 409 [`Moved`]|
//! | `POST /internal/live/resume`              | [`ResumeIn`]    | 202 `{}`                               |
//! | `POST /internal/live/push`                | [`PushIn`]      | 200 `{}`; 410 the socket is gone       |
//!
//! Every refusal's body is [`Refused`]: `{"error": <the contract's client message>}`.

pub mod reach;

use std::time::Duration;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Paths of the relay API.
pub mod paths {
    pub const START: &str = "/internal/live/sessions";
    pub const STOP: &str = "/internal/live/sessions/stop";
    pub const AUDIO: &str = "/internal/live/audio";
    pub const RESUME: &str = "/internal/live/resume";
    pub const PUSH: &str = "/internal/live/push";
}

/// Most live connections to one meeting (listeners and speaker), whichever way they connect:
/// past it a connect answers 429. The fan-out is measured at 1,000 (docs/benchmarks.md).
pub const MAX_CONNECTIONS_PER_MEETING: usize = 1_000;

/// Most live connections of one user to one meeting (tabs, devices).
pub const MAX_CONNECTIONS_PER_USER: usize = 5;

/// Open a session's stream on a task (the fleet's address picks one) and own it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartSession {
    pub session_id: Uuid,
}

/// Stop a session: Finalize and close its stream, store the last finals, tell listeners.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StopSession {
    pub meeting_id: Uuid,
    pub session_id: Uuid,
}

/// One audio chunk of a speaker, as the client sent it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AudioIn {
    pub meeting_id: Uuid,
    pub session_id: Uuid,
    /// The sending connection (API Gateway's id).
    pub connection_id: String,
    pub user_id: Uuid,
    /// The client's stream name, or `None` for the connection's own.
    pub stream: Option<String>,
    pub seq: u64,
    /// Base64 of PCM16 LE mono 16 kHz, as the client sent it.
    pub data: String,
    /// Set by the relay when the recorded owner did not answer: the receiving task takes the
    /// session over from that task id.
    pub take_over_from: Option<String>,
}

/// A reconnecting listener's request for the finals it missed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResumeIn {
    pub meeting_id: Uuid,
    pub session_id: Uuid,
    pub connection_id: String,
    pub after_segment_id: Option<Uuid>,
    pub after_ms: Option<i64>,
}

/// A message for a legacy socket held by the receiving task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushIn {
    pub connection_id: String,
    /// The text frame to send.
    pub text: String,
}

/// A refusal: the client-facing message (contract §3 strings).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refused {
    pub error: String,
}

/// 409: another task owns the session now; send there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Moved {
    pub owner_url: String,
}

/// How a relay call went wrong.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// No connection (refused, reset): the task is presumed dead.
    #[error("bridge task {url} unreachable: {message}")]
    Unreachable { url: String, message: String },
    /// Connected, but no answer in time: the task is alive and slow (not taken over).
    #[error("bridge task {url} did not answer in time")]
    TimedOut { url: String },
    /// The task refused; `error` is the message for the client.
    #[error("bridge refused ({status}): {error}")]
    Refused { status: u16, error: String },
    /// Another task owns the session.
    #[error("session moved to {0}")]
    Moved(String),
    /// The socket the push was for is gone.
    #[error("socket gone")]
    Gone,
}

/// How long a relay call may take: well under API Gateway's 29 s integration limit, above a
/// stop's flush ([`STOP_TIMEOUT`]).
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a stop may take (Finalize, the last finals, their storage): the keyless engine's
/// flush (20 s) and a margin, under API Gateway's 30 s integration limit for `live/stop/`.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(25);

/// The client of the relay API.
#[derive(Debug, Clone)]
pub struct RelayClient {
    http: reqwest::Client,
}

impl Default for RelayClient {
    fn default() -> Self {
        Self::new()
    }
}

impl RelayClient {
    pub fn new() -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(2))
            .pool_idle_timeout(Duration::from_secs(50))
            .build()
            .unwrap_or_default();
        Self { http }
    }

    async fn post<T: Serialize>(
        &self,
        base: &str,
        path: &str,
        body: &T,
        timeout: Duration,
    ) -> Result<(), RelayError> {
        let url = format!("{}{path}", base.trim_end_matches('/'));
        let answer = self
            .http
            .post(&url)
            .json(body)
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    RelayError::TimedOut {
                        url: base.to_owned(),
                    }
                } else {
                    RelayError::Unreachable {
                        url: base.to_owned(),
                        message: e.to_string(),
                    }
                }
            })?;
        let status = answer.status().as_u16();
        if answer.status().is_success() {
            return Ok(());
        }
        let text = answer.text().await.unwrap_or_default();
        match status {
            409 => match serde_json::from_str::<Moved>(&text) {
                Ok(moved) => Err(RelayError::Moved(moved.owner_url)),
                Err(_) => Err(RelayError::Refused {
                    status,
                    error: refused_message(&text),
                }),
            },
            410 => Err(RelayError::Gone),
            // A load balancer's answer for a target that stopped.
            502..=504 if serde_json::from_str::<Refused>(&text).is_err() => {
                Err(RelayError::Unreachable {
                    url: base.to_owned(),
                    message: format!("status {status}"),
                })
            }
            _ => Err(RelayError::Refused {
                status,
                error: refused_message(&text),
            }),
        }
    }

    /// Asks the fleet (`base`: the internal load balancer) to open and own `session`.
    pub async fn start(&self, base: &str, session: &StartSession) -> Result<(), RelayError> {
        self.post(base, paths::START, session, CALL_TIMEOUT * 3)
            .await
    }

    /// Asks the owner at `base` to stop its session, flushing its last finals.
    pub async fn stop(&self, base: &str, stop: &StopSession) -> Result<(), RelayError> {
        self.post(base, paths::STOP, stop, STOP_TIMEOUT).await
    }

    /// Relays one chunk to `base`.
    pub async fn audio(&self, base: &str, chunk: &AudioIn) -> Result<(), RelayError> {
        self.post(base, paths::AUDIO, chunk, CALL_TIMEOUT).await
    }

    /// Relays a listener's resume to `base`.
    pub async fn resume(&self, base: &str, resume: &ResumeIn) -> Result<(), RelayError> {
        self.post(base, paths::RESUME, resume, CALL_TIMEOUT).await
    }

    /// Sends `text` to a legacy socket held by the task at `base`.
    pub async fn push(&self, base: &str, push: &PushIn) -> Result<(), RelayError> {
        self.post(base, paths::PUSH, push, CALL_TIMEOUT).await
    }
}

fn refused_message(body: &str) -> String {
    serde_json::from_str::<Refused>(body)
        .map(|r| r.error)
        .unwrap_or_else(|_| "An error occurred processing your message".to_owned())
}
