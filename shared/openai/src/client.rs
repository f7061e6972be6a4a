//! One Structured Outputs call: the request body (protocols.md §4.1), the retry loop
//! (§4.3, [`crate::retry`]), and the reading of the answer (§4.2) into a JSON object or an
//! [`LlmError`].

mod wire;

use std::fmt;
use std::time::{Duration, SystemTime};

use reqwest::header::{self, HeaderValue};
use serde::Deserialize;
use serde_json::Value;
use url::Url;

use crate::provider::Provider;
use crate::retry::{self, RetryPolicy, Wait};
use wire::{
    ChatBody, ChatMessage, JsonSchemaFormat, ResponseFormat, local_error, read_completion,
    status_error, transport_error,
};

/// How long one attempt may take, connect to last byte of the answer: openai-python's
/// `DEFAULT_TIMEOUT` (600 s). Long minutes can take minutes to generate.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// One request for a JSON object matching `schema`: a system and a user message,
/// `response_format: {type: "json_schema", json_schema: {name, strict: true, schema}}`.
#[derive(Clone, Copy)]
pub struct StructuredRequest<'a> {
    /// The instructions (`role: system`).
    pub system: &'a str,
    /// The data, e.g. the transcript (`role: user`). Transcript text is data: the system
    /// message must say so; nothing here interprets it.
    pub user: &'a str,
    /// `json_schema.name`: `^[a-zA-Z0-9_-]{1,64}$`, e.g. `meeting_minutes` (openapi.yaml
    /// `ResponseFormatJsonSchema`); the service answers 400 otherwise.
    pub schema_name: &'a str,
    /// The JSON Schema of the answer, in the strict-mode subset: root `type: object`,
    /// `additionalProperties: false` and every property in `required` on every object, no
    /// `default`; optional values as `"type": ["string", "null"]` (protocols.md §4.1).
    pub schema: &'a Value,
    /// `max_completion_tokens`: the output cap in tokens (reasoning tokens included). An answer
    /// reaching it ends in [`LlmError::Truncated`]. gpt-4o / gpt-4o-mini allow up to 16,384.
    pub max_completion_tokens: u32,
    /// `temperature`, 0.0..=2.0; `None` leaves it out (the service default, 1). Some reasoning
    /// models accept only the default.
    pub temperature: Option<f32>,
}

impl fmt::Debug for StructuredRequest<'_> {
    // Prompts and transcripts never reach a log line through `{:?}`: sizes only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StructuredRequest")
            .field("system_chars", &self.system.chars().count())
            .field("user_chars", &self.user.chars().count())
            .field("schema_name", &self.schema_name)
            .field("max_completion_tokens", &self.max_completion_tokens)
            .field("temperature", &self.temperature)
            .finish_non_exhaustive()
    }
}

/// A successful answer.
#[derive(Debug, Clone, PartialEq)]
pub struct StructuredResponse {
    /// `choices[0].message.content` parsed: always a JSON object (strict mode makes it match
    /// the schema; the service guarantees that, this client does not re-validate).
    pub content: Value,
    /// The response's `model`: the exact model that answered, e.g. `gpt-4o-mini-2024-07-18`
    /// (on Azure the deployment's model, not the deployment name).
    pub model: String,
    /// Token counts the service billed.
    pub usage: Usage,
    /// `choices[0].finish_reason`: `stop` for every answer returned here.
    pub finish_reason: String,
}

/// Token counts (`usage`, openapi.yaml `CompletionUsage`); zero where the service sent none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct Usage {
    /// Tokens in the request (messages and schema).
    #[serde(default)]
    pub prompt_tokens: u64,
    /// Tokens generated (reasoning tokens included).
    #[serde(default)]
    pub completion_tokens: u64,
    /// `prompt_tokens + completion_tokens`.
    #[serde(default)]
    pub total_tokens: u64,
}

/// Why no JSON object came back. Messages hold the service's error message (≤ 300 characters),
/// never keys, prompts or transcript text.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    /// The model declined (`choices[0].message.refusal`, content null): the refusal text,
    /// at most 300 characters. Asking again with the same input will most likely do the same.
    #[error("the model refused: {0}")]
    Refused(String),
    /// `finish_reason: "length"`: the answer hit `max_completion_tokens` (or the context
    /// window) and its JSON is cut off. Retry with a smaller input or a bigger cap
    /// (protocols.md §4.2, §4.5).
    #[error("the answer was cut off at the token limit (finish_reason \"length\")")]
    Truncated,
    /// The content filter withheld the input or the answer: `finish_reason: "content_filter"`,
    /// or Azure's 400 with code `content_filter` (protocols.md §4.4).
    #[error("the content filter withheld the answer")]
    ContentFiltered,
    /// 429 with code `insufficient_quota`: the account is out of credit or over its monthly
    /// budget. Never retried (protocols.md §4.3). The service's message.
    #[error("insufficient quota: {0}")]
    InsufficientQuota(String),
    /// The service refused the request (a 4xx other than 408, 409, 429): bad key (401), no
    /// access (403), unknown model or deployment (404), invalid body or schema (400). Not
    /// retried: sending it again gives the same answer.
    #[error("the LLM service rejected the request ({status}{}): {message}", code.as_ref().map(|c| format!(", {c}")).unwrap_or_default())]
    Rejected {
        /// The HTTP status; 0 when the request could not even be built (a [`Provider`] URL
        /// that is not http(s), a key that is not a valid header value).
        status: u16,
        /// The error body's `code` (e.g. `invalid_api_key`, `DeploymentNotFound`), else its
        /// `type`.
        code: Option<String>,
        /// The error body's `message`, at most 300 characters.
        message: String,
    },
    /// Worth trying again later: 408, 409, 429 (rate limit), 5xx, a timeout or a transport
    /// error, still failing after the [`RetryPolicy`]'s retries, or a server-requested wait
    /// longer than `max_retry_after`.
    #[error("the LLM service is unavailable{}: {message}", status.map(|s| format!(" ({s})")).unwrap_or_default())]
    Unavailable {
        /// The HTTP status, or `None` when no answer arrived.
        status: Option<u16>,
        /// The error body's message, or the transport error, at most 300 characters.
        message: String,
    },
    /// A 2xx answer that is not a chat completion, or whose content is not a JSON object.
    #[error("the LLM answer could not be read: {0}")]
    Malformed(String),
}

impl LlmError {
    /// Whether the same request may succeed later ([`LlmError::Unavailable`] only): a worker
    /// lets its queue redeliver the job instead of failing it.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable { .. })
    }

    /// The HTTP status the service answered, if that is what failed.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Rejected { status, .. } => Some(*status).filter(|s| *s != 0),
            Self::Unavailable { status, .. } => *status,
            Self::InsufficientQuota(_) => Some(429),
            _ => None,
        }
    }
}

/// A chat-completions client for one [`Provider`]. Cheap to clone (the `reqwest::Client` is
/// shared); build one per cold start. Nothing here logs.
#[derive(Clone)]
pub struct ChatClient {
    provider: Provider,
    /// [`Provider`]'s chat-completions URL, built once.
    url: Url,
    http: reqwest::Client,
    retry: RetryPolicy,
    timeout: Duration,
}

impl fmt::Debug for ChatClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChatClient")
            .field("provider", &self.provider)
            .field("retry", &self.retry)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl ChatClient {
    /// A client for `provider` over `http` (its connect timeout applies; openai-python uses
    /// 5 s), with [`RetryPolicy::default`] and [`DEFAULT_TIMEOUT`] per attempt.
    pub fn new(provider: Provider, http: reqwest::Client) -> Self {
        Self {
            url: provider.chat_url(),
            provider,
            http,
            retry: RetryPolicy::default(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// The same client with another retry policy.
    pub fn with_retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The same client with another per-attempt timeout (connect to last byte of the answer);
    /// retries get their own.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// What minutes record as `generated_by_model`: the OpenAI model (`gpt-4o-mini`) or
    /// `azure:<deployment>`.
    pub fn model_label(&self) -> String {
        self.provider.model_label()
    }

    /// The provider requests go to.
    pub fn provider(&self) -> &Provider {
        &self.provider
    }

    /// The URL requests go to (`…/chat/completions`, with `api-version` on Azure).
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// Asks for one JSON object matching `request.schema` and returns it parsed, retrying
    /// retryable failures under the [`RetryPolicy`] (protocols.md §4.3):
    ///
    /// - 408, 409, 429 and ≥ 500 answers, timeouts and transport errors are retried, unless
    ///   `x-should-retry: false`; any other status is retried only with `x-should-retry: true`.
    ///   429 `insufficient_quota` is never retried;
    /// - the wait is `retry-after-ms`, else `retry-after` (seconds or HTTP-date), when
    ///   0 < value ≤ `max_retry_after` (a longer one returns [`LlmError::Unavailable`] at once),
    ///   else `min(base × 2^n, cap) × jitter(0.75..=1.0)` for retry `n` = 0, 1, …;
    /// - the same body is sent each time.
    ///
    /// A 200 answer with `finish_reason` `length` is [`LlmError::Truncated`], `content_filter`
    /// [`LlmError::ContentFiltered`], a `refusal` [`LlmError::Refused`], content that is not a
    /// JSON object [`LlmError::Malformed`]; none of these is retried here.
    pub async fn structured(
        &self,
        request: &StructuredRequest<'_>,
    ) -> Result<StructuredResponse, LlmError> {
        let body = self.body(request)?;
        let mut retries_done = 0;
        loop {
            let (error, retry_after) = match self.attempt(&body).await {
                Outcome::Final(result) => return result,
                Outcome::Retry { error, retry_after } => (error, retry_after),
            };
            if retries_done >= self.retry.max_retries {
                return Err(error);
            }
            match retry::wait(&self.retry, retry_after, retries_done) {
                Wait::For(delay) => tokio::time::sleep(delay).await,
                Wait::TooLong => return Err(error),
            }
            retries_done += 1;
        }
    }

    /// The JSON body, serialized once and sent as it is on every attempt.
    fn body(&self, request: &StructuredRequest<'_>) -> Result<Vec<u8>, LlmError> {
        let model = match &self.provider {
            Provider::OpenAi { model, .. } => Some(model.as_str()),
            // The deployment fixes the model; Azure ignores `model` (protocols.md §4.4).
            Provider::Azure { .. } => None,
        };
        let body = ChatBody {
            model,
            messages: [
                ChatMessage {
                    role: "system",
                    content: request.system,
                },
                ChatMessage {
                    role: "user",
                    content: request.user,
                },
            ],
            max_completion_tokens: request.max_completion_tokens,
            temperature: request.temperature,
            response_format: ResponseFormat {
                kind: "json_schema",
                json_schema: JsonSchemaFormat {
                    name: request.schema_name,
                    strict: true,
                    schema: request.schema,
                },
            },
        };
        serde_json::to_vec(&body).map_err(|e| local_error(format!("serializing the body: {e}")))
    }

    async fn attempt(&self, body: &[u8]) -> Outcome {
        let mut builder = self
            .http
            .post(self.url.clone())
            .header(header::CONTENT_TYPE, "application/json")
            .body(body.to_vec())
            .timeout(self.timeout);
        builder = match &self.provider {
            Provider::OpenAi { api_key, .. } => builder.bearer_auth(api_key),
            Provider::Azure { api_key, .. } => match HeaderValue::from_str(api_key) {
                Ok(mut value) => {
                    value.set_sensitive(true);
                    builder.header("api-key", value)
                }
                Err(_) => {
                    return Outcome::Final(Err(local_error(
                        "the API key is not a valid header value".into(),
                    )));
                }
            },
        };
        let response = match builder.send().await {
            Ok(response) => response,
            Err(error) if error.is_builder() => {
                return Outcome::Final(Err(local_error(format!(
                    "the request could not be built: {}",
                    error.without_url()
                ))));
            }
            Err(error) => return Outcome::retry(transport_error(error), None),
        };
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = match response.bytes().await {
            Ok(bytes) => bytes,
            Err(error) => return Outcome::retry(transport_error(error), None),
        };
        if (200..300).contains(&status) {
            return Outcome::Final(read_completion(&bytes));
        }
        let error = status_error(status, &bytes);
        if matches!(
            error,
            LlmError::InsufficientQuota(_) | LlmError::ContentFiltered
        ) {
            return Outcome::Final(Err(error));
        }
        let retry =
            retry::should_retry_header(&headers).unwrap_or_else(|| retry::retryable_status(status));
        if retry {
            let retry_after = retry::retry_after_secs(&headers, SystemTime::now());
            Outcome::retry(error, retry_after)
        } else {
            Outcome::Final(Err(error))
        }
    }
}

enum Outcome {
    Final(Result<StructuredResponse, LlmError>),
    /// Send again (within the policy) after the server's wait in seconds, if it named one.
    Retry {
        error: LlmError,
        retry_after: Option<f64>,
    },
}

impl Outcome {
    fn retry(error: LlmError, retry_after: Option<f64>) -> Self {
        Self::Retry { error, retry_after }
    }
}

#[cfg(test)]
mod tests;
