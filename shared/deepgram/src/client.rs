//! The HTTP side: one `POST /v1/listen?…` with `Authorization: Token <key>` and the JSON body
//! `{"url": "<presigned GET>"}` (protocols.md §3.5), and the split of failures into "fail the
//! job" and "try again later" (§3.3, docs page `errors`).

use std::fmt;
use std::time::Duration;

use meetin_vocab::LanguagePreference;
use serde::Deserialize;
use url::Url;

use crate::response::PrerecordedResponse;

/// Deepgram's API host. Regional hosts (`https://api.eu.deepgram.com`, …) work the same.
pub const DEFAULT_BASE_URL: &str = "https://api.deepgram.com";

/// The model the worker asks for (`model=nova-3`).
pub const DEFAULT_MODEL: &str = "nova-3";

/// How long one request may take, answer included: Deepgram cancels pre-recorded processing
/// after 10 minutes with a 504 (docs page `pre-recorded-audio`), so waiting longer is useless;
/// the worker Lambda's own timeout must exceed this.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// The longest Deepgram error message kept in a [`DeepgramError`], in characters.
const MAX_MESSAGE_CHARS: usize = 300;

/// Which language Deepgram transcribes in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Language {
    /// `detect_language=true`: Deepgram picks the dominant language and reports it in
    /// `results.channels[i].detected_language`.
    Detect,
    /// `language=<BCP-47 tag>`, e.g. `en`, `fr`.
    Code(String),
}

/// The knobs of one transcription request. The features meetIN always needs (`diarize`,
/// `utterances`, `punctuate`, `smart_format`) are not optional.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrerecordedOptions {
    /// `model=…`; [`DEFAULT_MODEL`] by default.
    pub model: String,
    /// `language=…` or `detect_language=true`.
    pub language: Language,
}

impl Default for PrerecordedOptions {
    fn default() -> Self {
        Self {
            model: DEFAULT_MODEL.to_owned(),
            language: Language::Detect,
        }
    }
}

impl PrerecordedOptions {
    /// Options for a meeting's `language_preference` (`"auto"`, `"en"`, `"fr"`): `"auto"` or an
    /// empty string detects the language, anything else is sent as `language=`.
    pub fn for_language(preference: &str) -> Self {
        let preference = preference.trim();
        let language = if preference.is_empty() || preference.eq_ignore_ascii_case("auto") {
            Language::Detect
        } else {
            Language::Code(preference.to_owned())
        };
        Self {
            language,
            ..Self::default()
        }
    }

    /// Options for a meeting's typed `language_preference`: `auto` detects the language, `en`
    /// and `fr` are sent as `language=` (contract §4.2).
    pub fn for_preference(preference: LanguagePreference) -> Self {
        let language = match preference {
            LanguagePreference::Auto => Language::Detect,
            LanguagePreference::En | LanguagePreference::Fr => {
                Language::Code(preference.as_str().to_owned())
            }
        };
        Self {
            language,
            ..Self::default()
        }
    }

    /// The query string pairs, in the order sent.
    fn query_pairs(&self) -> Vec<(&str, &str)> {
        let mut pairs = vec![
            ("model", self.model.as_str()),
            // `diarize` is documented as deprecated in favour of `diarize_model`, and still
            // accepted; the contract and the original backend use it.
            ("diarize", "true"),
            ("utterances", "true"),
            ("punctuate", "true"),
            ("smart_format", "true"),
        ];
        match &self.language {
            Language::Detect => pairs.push(("detect_language", "true")),
            Language::Code(code) => pairs.push(("language", code.as_str())),
        }
        pairs
    }
}

/// Why a transcription did not come back.
#[derive(Debug, thiserror::Error)]
pub enum DeepgramError {
    /// Deepgram refused the request (4xx other than 408 and 429): bad key, unreadable or
    /// unreachable audio, bad parameters, no credits. Sending it again will not help; fail the
    /// recording.
    #[error("Deepgram rejected the request ({status}): {message}")]
    Rejected {
        /// The HTTP status, 400..=499.
        status: u16,
        /// `err_code` (or `category`) of the error body, e.g. `INVALID_AUTH`, `Bad Request`.
        code: Option<String>,
        /// `err_msg` (or `message`) of the error body, at most 300 characters.
        message: String,
        /// `request_id` of the error body, for Deepgram's support.
        request_id: Option<String>,
    },
    /// Worth trying again later: 408, 429 (rate limit: Deepgram recommends exponential
    /// backoff), 5xx (504 = processing took over 10 minutes), timeouts, connection failures,
    /// a body cut off mid-way.
    #[error("Deepgram unavailable{}: {message}", status.map(|s| format!(" ({s})")).unwrap_or_default())]
    Retryable {
        /// The HTTP status, or `None` when no answer arrived.
        status: Option<u16>,
        /// What went wrong (the error body's message, or the transport error).
        message: String,
    },
    /// A 2xx answer whose body is not the documented response: our types and Deepgram's disagree,
    /// and asking again would give the same body. Live: a text frame that is not a documented
    /// message, or a URL or key that cannot make a handshake request.
    #[error("Deepgram's answer could not be read: {0}")]
    Malformed(String),
}

impl DeepgramError {
    /// Whether the job should be retried (redelivered) rather than failed now.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Retryable { .. })
    }

    /// The HTTP status Deepgram answered, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Rejected { status, .. } => Some(*status),
            Self::Retryable { status, .. } => *status,
            Self::Malformed(_) => None,
        }
    }
}

/// Deepgram's REST error bodies come in two documented shapes (docs page `errors`):
/// `{"err_code","err_msg","request_id"}` and `{"category","message","details","request_id"}`;
/// the documented 503 body spells the first key `error_code`.
#[derive(Deserialize, Default)]
struct ErrorBody {
    #[serde(alias = "category", alias = "error_code")]
    err_code: Option<String>,
    #[serde(alias = "message")]
    err_msg: Option<String>,
    details: Option<String>,
    request_id: Option<String>,
}

/// A client for `POST /v1/listen` with a remote URL. Cheap to clone (the `reqwest::Client` is
/// shared); build one per cold start.
#[derive(Clone)]
pub struct DeepgramClient {
    /// The listen endpoint, `<base>/v1/listen`.
    endpoint: Url,
    api_key: String,
    http: reqwest::Client,
    timeout: Duration,
}

impl fmt::Debug for DeepgramClient {
    // The key never reaches a log line, even through `{:?}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeepgramClient")
            .field("endpoint", &self.endpoint.as_str())
            .field("api_key", &"<redacted>")
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl DeepgramClient {
    /// A client for the Deepgram API at `base_url` (usually [`DEFAULT_BASE_URL`]; a fake's
    /// address in tests), authenticating with `api_key`, timing out after [`DEFAULT_TIMEOUT`].
    pub fn new(base_url: Url, api_key: String, http: reqwest::Client) -> Self {
        let mut base = base_url;
        // `join` replaces the last path segment unless the base path ends with a slash.
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let endpoint = base.join("v1/listen").unwrap_or(base);
        Self {
            endpoint,
            api_key,
            http,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// The same client with another per-request timeout (connect to last byte of the answer).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The endpoint requests go to: `<base>/v1/listen`.
    pub fn endpoint(&self) -> &Url {
        &self.endpoint
    }

    /// Transcribes the audio Deepgram can GET at `audio_url` (a presigned S3 URL): sends
    /// `POST <base>/v1/listen?model=<model>&diarize=true&utterances=true&punctuate=true&smart_format=true&language=<code>`
    /// (or `&detect_language=true`), `Authorization: Token <key>`, body `{"url": audio_url}`,
    /// and waits for the whole answer (synchronous mode, no `callback`).
    pub async fn transcribe_url(
        &self,
        audio_url: &str,
        options: &PrerecordedOptions,
    ) -> Result<PrerecordedResponse, DeepgramError> {
        let mut url = self.endpoint.clone();
        url.query_pairs_mut().extend_pairs(options.query_pairs());
        let response = self
            .http
            .post(url)
            .header(
                reqwest::header::AUTHORIZATION,
                format!("Token {}", self.api_key),
            )
            .json(&serde_json::json!({ "url": audio_url }))
            .timeout(self.timeout)
            .send()
            .await
            .map_err(transport_error)?;
        let status = response.status();
        let body = response.bytes().await.map_err(transport_error)?;
        if status.is_success() {
            return serde_json::from_slice(&body)
                .map_err(|e| DeepgramError::Malformed(e.to_string()));
        }
        Err(status_error(status.as_u16(), &body))
    }
}

/// No (complete) answer: always worth another try. The URL is dropped from the message: it
/// holds only our query, but a log line has no use for it.
fn transport_error(error: reqwest::Error) -> DeepgramError {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    DeepgramError::Retryable {
        status: None,
        message: format!("{kind}: {}", error.without_url()),
    }
}

pub(crate) fn status_error(status: u16, body: &[u8]) -> DeepgramError {
    let parsed: ErrorBody = serde_json::from_slice(body).unwrap_or_default();
    let mut message = match (parsed.err_msg, parsed.details) {
        (Some(msg), Some(details)) => format!("{msg} {details}"),
        (Some(msg), None) => msg,
        (None, Some(details)) => details,
        (None, None) => String::from_utf8_lossy(body).trim().to_owned(),
    };
    if let Some((cut, _)) = message.char_indices().nth(MAX_MESSAGE_CHARS) {
        message.truncate(cut);
    }
    match status {
        408 | 429 | 500..=599 => DeepgramError::Retryable {
            status: Some(status),
            message,
        },
        _ => DeepgramError::Rejected {
            status,
            code: parsed.err_code,
            message,
            request_id: parsed.request_id,
        },
    }
}

#[cfg(test)]
mod tests;
