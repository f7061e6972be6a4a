//! Pushing to WebSocket clients through the API Gateway Management API (`@connections`):
//! `PostToConnection` sends one message, `DeleteConnection` disconnects (protocols.md §2.4;
//! API Gateway developer guide, "Use @connections commands in your backend service").
//!
//! The endpoint is the WebSocket API's callback URL, `https://{api-id}.execute-api.{region}
//! .amazonaws.com/{stage}` in AWS (`WEBSOCKET_CALLBACK_URL`,
//! [`meetin_core::WebSocketCallbackUrl`]); the local stack's own stand-in
//! (`meetin_local::sockets`) answers the same requests on `http://127.0.0.1:8000`.
//!
//! A connection that closed answers 410 `GoneException`: [`Delivery::Gone`], on which the
//! caller forgets the stored connection (`$disconnect` is best effort and may never have run).

use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_apigatewaymanagement::Client;
use aws_sdk_apigatewaymanagement::config::retry::RetryConfig;
use aws_sdk_apigatewaymanagement::config::timeout::TimeoutConfig;
use aws_sdk_apigatewaymanagement::error::{DisplayErrorContext, SdkError};
use aws_sdk_apigatewaymanagement::operation::delete_connection::DeleteConnectionError;
use aws_sdk_apigatewaymanagement::operation::post_to_connection::PostToConnectionError;
use aws_sdk_apigatewaymanagement::primitives::Blob;

/// Attempts of one request: the first and two retries. The SDK's standard retry classifies
/// `LimitExceededException` (429) as throttling, and retries 5xx answers and timeouts too;
/// `GoneException` and `PayloadTooLargeException` are final at once.
pub const MAX_ATTEMPTS: u32 = 3;

/// The first retry waits up to this long (full jitter), the second up to twice as long: a
/// caption is worth little once late.
pub const INITIAL_BACKOFF: Duration = Duration::from_millis(50);

/// How long one attempt may take before it counts as failed (and is retried): a stalled
/// endpoint must not hold a fan-out to every listener of a meeting.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);

/// What became of a message or a disconnect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Accepted by API Gateway (200 for a post, 204 for a delete).
    Delivered,
    /// The connection is closed or unknown (410 `GoneException`): forget it.
    Gone,
}

/// Why a push failed, for a connection that may still be open.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PushError {
    /// The message is over API Gateway's 128 KB message quota (413 `PayloadTooLargeException`).
    #[error("the message is over API Gateway's 128 KB limit")]
    TooLarge,
    /// Still throttled (429 `LimitExceededException`) after [`MAX_ATTEMPTS`] attempts: the
    /// account's API Gateway rate (10,000 requests/s per Region, shared with the HTTP API).
    #[error("throttled by API Gateway (LimitExceededException)")]
    Throttled,
    /// Anything else (403 `ForbiddenException` for a malformed id or a missing permission,
    /// the endpoint unreachable, …), with the SDK's whole error chain.
    #[error("@connections request failed: {0}")]
    Other(String),
}

/// A Management API client for one WebSocket API stage.
#[derive(Clone, Debug)]
pub struct Pusher {
    client: Client,
}

impl Pusher {
    /// A client of the callback `endpoint` (`https://{api-id}.execute-api.{region}
    /// .amazonaws.com/{stage}` in AWS, the local stack's `http://127.0.0.1:8000` locally),
    /// with `sdk`'s credentials and region (requests are SigV4-signed for `execute-api`).
    /// The endpoint replaces any override `sdk` has (the AWS emulator's).
    pub fn new(sdk: &SdkConfig, endpoint: &str) -> Self {
        let config = aws_sdk_apigatewaymanagement::config::Builder::from(sdk)
            .endpoint_url(endpoint)
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(MAX_ATTEMPTS)
                    .with_initial_backoff(INITIAL_BACKOFF),
            )
            .timeout_config(
                TimeoutConfig::builder()
                    .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                    .build(),
            )
            .build();
        Self {
            client: Client::from_conf(config),
        }
    }

    /// The SDK client, for the Management API calls this type does not wrap
    /// (`GetConnection`).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Sends `data` to `connection_id` as one message (`PostToConnection`); at most 128 KB
    /// (API Gateway splits it into frames of at most 32 KB).
    pub async fn post(
        &self,
        connection_id: &str,
        data: impl Into<Vec<u8>>,
    ) -> Result<Delivery, PushError> {
        let sent = self
            .client
            .post_to_connection()
            .connection_id(connection_id)
            .data(Blob::new(data))
            .send()
            .await;
        match sent {
            Ok(_) => Ok(Delivery::Delivered),
            Err(err) => match err.as_service_error() {
                Some(PostToConnectionError::GoneException(_)) => Ok(Delivery::Gone),
                Some(PostToConnectionError::PayloadTooLargeException(_)) => {
                    Err(PushError::TooLarge)
                }
                Some(PostToConnectionError::LimitExceededException(_)) => Err(PushError::Throttled),
                _ => Err(other(err)),
            },
        }
    }

    /// Closes `connection_id` (`DeleteConnection`); API Gateway then invokes `$disconnect`.
    pub async fn disconnect(&self, connection_id: &str) -> Result<Delivery, PushError> {
        let deleted = self
            .client
            .delete_connection()
            .connection_id(connection_id)
            .send()
            .await;
        match deleted {
            Ok(_) => Ok(Delivery::Delivered),
            Err(err) => match err.as_service_error() {
                Some(DeleteConnectionError::GoneException(_)) => Ok(Delivery::Gone),
                Some(DeleteConnectionError::LimitExceededException(_)) => Err(PushError::Throttled),
                _ => Err(other(err)),
            },
        }
    }
}

fn other<E, R>(err: SdkError<E, R>) -> PushError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    PushError::Other(DisplayErrorContext(err).to_string())
}
