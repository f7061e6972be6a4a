//! (Over 400 lines: test support, never deployed; OpenAI's and Azure's Chat Completions wire protocol and strict-schema checks, with their tests, in one place.)
//! A local stand-in for OpenAI's Chat Completions API and an Azure OpenAI resource, speaking
//! the documented wire protocol (shared/design/protocols.md §4; `openai/openai-openapi`
//! `openapi.yaml`: `CreateChatCompletionRequest`/`Response`, `ResponseFormatJsonSchema`,
//! `ErrorResponse`; Microsoft's Azure OpenAI structured-outputs page).
//!
//! Endpoints:
//! - `POST /v1/chat/completions` with `Authorization: Bearer <key>` (OpenAI; `model` required);
//! - `POST /openai/deployments/{deployment}/chat/completions?api-version=…` with
//!   `api-key: <key>` (Azure; `model` ignored). Any deployment is accepted unless
//!   [`FakeOpenAi::only_deployments`] named some (404 `DeploymentNotFound` for others).
//!
//! What it checks, as the services do, answering their error body
//! `{"error": {"message", "type", "param", "code"}}`:
//! - the key (401: OpenAI `invalid_api_key`; Azure its "Access denied" body);
//! - Azure: a dated `api-version` (400 when missing, 404 when not a known form), and for
//!   `response_format.type: "json_schema"` an `api-version` of at least `2024-08-01-preview`
//!   (400 with Azure's message "response_format value as json_schema is enabled only for api
//!   versions 2024-08-01-preview and later");
//! - the body: a JSON object, `model` (OpenAI), a non-empty `messages` array with known roles
//!   and content, `max_completion_tokens` / `max_tokens` ≥ 1, `temperature` in 0..=2,
//!   `response_format.type`, and for `json_schema` its `name` (`^[a-zA-Z0-9_-]{1,64}$`) and
//!   `schema`;
//! - with `strict: true`, the strict-mode rules with OpenAI's messages ("Invalid schema for
//!   response_format '…': In context=(…), …"): the root is `type: "object"`, every object has
//!   `additionalProperties: false` and lists every property in `required` (and nothing else),
//!   and no schema uses `default`.
//!
//! What it answers (once the request is valid): the documented `chat.completion` object with
//! the content a test queued ([`FakeOpenAi::push_content`]), or else a **minimal valid instance
//! of the request's schema** ([`minimal_instance`]: objects with every required property,
//! strings `""`, numbers `0` (or `minimum`), booleans `false`, arrays `[]` (or `minItems`
//! copies), enums and `const` their first value, nullable types and `anyOf` with a null branch
//! `null`). Without a `json_schema` it answers [`DEFAULT_TEXT`] (`{}` for `json_object`).
//! Usage is computed: `prompt_tokens` = ⌈request body chars / 4⌉, `completion_tokens` =
//! ⌈content chars / 4⌉. Content longer than `max_completion_tokens × 4` chars is cut there and
//! answered with `finish_reason: "length"`, as the real service stops at the cap.
//!
//! Scripted failures ([`FakeOpenAi::fail_next`]) apply to the next valid requests, after the
//! checks above. `model` in the answer echoes the request's (OpenAI) or is [`AZURE_MODEL`]
//! (Azure, whose deployments hide the model name from the request).
//!
//! What it does not do: generate text, stream, tools, images, audio, `n` > 1, rate limits of
//! its own, Entra ID tokens, or the Azure v1 (`/openai/v1/`) routes.

use std::collections::{HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::fake_server::FakeServer;

/// The key [`FakeOpenAi::start`] accepts, for both flavours.
pub const DEFAULT_KEY: &str = "fake-openai-key";

/// The `model` reported by Azure answers: Azure reports the deployment's model, which the
/// request does not name.
pub const AZURE_MODEL: &str = "gpt-4o-mini-2024-07-18";

/// The content answered when the request asks for plain text (no `response_format`).
pub const DEFAULT_TEXT: &str = "This is the fake OpenAI answer.";

/// The oldest Azure `api-version` accepting `json_schema` (protocols.md §4.4).
const MIN_JSON_SCHEMA_API_VERSION: (&str, bool) = ("2024-08-01", false);

/// Roles `messages[].role` may take (openapi.yaml `ChatCompletionRequestMessage`).
const ROLES: &[&str] = &[
    "system",
    "developer",
    "user",
    "assistant",
    "tool",
    "function",
];

/// A failure to answer instead of serving a valid request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// 429 `rate_limit_exceeded` (Azure: code `429`) with these `retry-after-ms` and
    /// `retry-after` (seconds) headers, each only when `Some`.
    RateLimited {
        /// `retry-after-ms`, milliseconds.
        retry_after_ms: Option<u64>,
        /// `retry-after`, whole seconds.
        retry_after_secs: Option<u64>,
    },
    /// 500 `server_error`, "The server had an error while processing your request."
    ServerError,
    /// 429 `insufficient_quota`, "You exceeded your current quota…".
    InsufficientQuota,
    /// 200 with `finish_reason: "length"` and the answer's JSON cut in half.
    Length,
    /// 200 with `content: null`, `refusal` this text, `finish_reason: "stop"`.
    Refusal(String),
    /// 200 with `finish_reason: "content_filter"` and the answer's JSON cut in half.
    ContentFilter,
}

/// One request as the fake received it, for assertions.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedChat {
    /// `POST`, …
    pub method: String,
    /// `/v1/chat/completions`, `/openai/deployments/<name>/chat/completions`, … (as sent,
    /// percent-encoding kept).
    pub path: String,
    /// Decoded query pairs, in order (`api-version` on Azure).
    pub query: Vec<(String, String)>,
    /// The `Authorization` header (OpenAI: `Bearer <key>`).
    pub authorization: Option<String>,
    /// The `api-key` header (Azure).
    pub api_key: Option<String>,
    /// The `Content-Type` header.
    pub content_type: Option<String>,
    /// The body parsed as JSON (`Value::Null` if it is not JSON).
    pub body: Value,
}

impl ReceivedChat {
    /// The first value of query parameter `name`.
    pub fn query_value(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The Azure deployment named in the path (percent-decoded), if this was an Azure request.
    pub fn deployment(&self) -> Option<String> {
        azure_deployment(&self.path)
    }
}

#[derive(Default)]
struct Recorded {
    /// Contents for the next answers, front first.
    contents: VecDeque<Value>,
    /// Failures for the next valid requests, front first.
    failures: VecDeque<Failure>,
    /// `None`: any deployment exists.
    deployments: Option<HashSet<String>>,
    requests: Vec<ReceivedChat>,
}

struct Shared {
    api_key: String,
    recorded: Mutex<Recorded>,
}

impl Shared {
    fn recorded(&self) -> MutexGuard<'_, Recorded> {
        crate::fake_server::lock(&self.recorded)
    }
}

/// A running fake OpenAI / Azure OpenAI on 127.0.0.1; stops when dropped.
pub struct FakeOpenAi {
    /// `http://127.0.0.1:<port>/v1`: the OpenAI base URL (`OPENAI_BASE_URL`).
    pub base_url: url::Url,
    /// `http://127.0.0.1:<port>/`: the Azure endpoint (`AZURE_OPENAI_ENDPOINT`).
    pub endpoint: url::Url,
    /// The only key it accepts (`Authorization: Bearer …` or `api-key: …`).
    pub api_key: String,
    shared: Arc<Shared>,
    _server: FakeServer,
}

impl FakeOpenAi {
    /// Starts a fake on a free port of 127.0.0.1 accepting [`DEFAULT_KEY`].
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), DEFAULT_KEY).await
    }

    /// Starts a fake on `addr` (port 0 = any free port) accepting `api_key`; the local stack
    /// can use this to put it on a known port.
    pub async fn start_on(addr: SocketAddr, api_key: impl Into<String>) -> anyhow::Result<Self> {
        let shared = Arc::new(Shared {
            api_key: api_key.into(),
            recorded: Mutex::default(),
        });
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(shared.clone());
        let server = FakeServer::start(addr, "the fake OpenAI", app).await?;
        Ok(Self {
            base_url: server.url("v1")?,
            endpoint: server.url("")?,
            api_key: shared.api_key.clone(),
            shared,
            _server: server,
        })
    }

    /// Queues `content` as the JSON of a next answer (serialized into `message.content`);
    /// answers take queued contents in order, then fall back to [`minimal_instance`]. Any JSON
    /// value works, so a test can also queue a non-object.
    pub fn push_content(&self, content: Value) {
        self.shared.recorded().contents.push_back(content);
    }

    /// Answers the next `n` valid requests with `failure` (after any failures already queued).
    /// [`Failure::Length`] and [`Failure::ContentFilter`] cut the content the request would
    /// have got, without consuming a queued one.
    pub fn fail_next(&self, failure: Failure, n: usize) {
        self.shared
            .recorded()
            .failures
            .extend(std::iter::repeat_n(failure, n));
    }

    /// From now on, only these Azure deployments exist; others answer 404
    /// `DeploymentNotFound`. By default any name is accepted.
    pub fn only_deployments<S: Into<String>>(&self, names: impl IntoIterator<Item = S>) {
        self.shared.recorded().deployments = Some(names.into_iter().map(Into::into).collect());
    }

    /// Every request received so far, oldest first, valid or not.
    pub fn requests(&self) -> Vec<ReceivedChat> {
        self.shared.recorded().requests.clone()
    }
}

/// Which API a request addressed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Flavour {
    OpenAi,
    Azure,
}

/// An OpenAI error answer `{"error": {"message", "type", "param", "code"}}`.
fn error(
    status: StatusCode,
    message: &str,
    kind: Option<&str>,
    param: Option<&str>,
    code: Option<&str>,
) -> ErrorReply {
    ErrorReply(
        status,
        json!({"error": {"message": message, "type": kind, "param": param, "code": code}}),
    )
}

/// OpenAI's 400 `invalid_request_error`.
fn invalid(message: &str, param: Option<&str>, code: Option<&str>) -> ErrorReply {
    error(
        StatusCode::BAD_REQUEST,
        message,
        Some("invalid_request_error"),
        param,
        code,
    )
}

/// Azure's own error shape: `{"error": {"code", "message"}}`.
fn azure_error(status: StatusCode, code: &str, message: &str) -> ErrorReply {
    ErrorReply(status, json!({"error": {"code": code, "message": message}}))
}

/// An error answer: its status and JSON body (kept small, unlike a `Response`).
struct ErrorReply(StatusCode, Value);

impl IntoResponse for ErrorReply {
    fn into_response(self) -> Response {
        (self.0, axum::Json(self.1)).into_response()
    }
}

/// `/openai/deployments/{deployment}/chat/completions` → the decoded deployment name.
fn azure_deployment(path: &str) -> Option<String> {
    let rest = path.strip_prefix("/openai/deployments/")?;
    let name = rest.strip_suffix("/chat/completions")?;
    if name.is_empty() || name.contains('/') {
        return None;
    }
    Some(
        percent_encoding::percent_decode_str(name)
            .decode_utf8_lossy()
            .into_owned(),
    )
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let text_header = |name: &str| {
        headers
            .get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    };
    let request = ReceivedChat {
        method: method.to_string(),
        path: uri.path().to_owned(),
        query: url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect(),
        authorization: text_header("authorization"),
        api_key: text_header("api-key"),
        content_type: text_header("content-type"),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    };
    shared.recorded().requests.push(request.clone());
    let body_chars = String::from_utf8_lossy(&body).chars().count();
    let mut response =
        serve(&shared, &method, &request, body_chars).unwrap_or_else(IntoResponse::into_response);
    let request_id = format!("req_{}", hex::encode(rand::random::<[u8; 16]>()));
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

fn serve(
    shared: &Shared,
    method: &Method,
    request: &ReceivedChat,
    body_chars: usize,
) -> Result<Response, ErrorReply> {
    let flavour = if request.path == "/v1/chat/completions" {
        Flavour::OpenAi
    } else if let Some(deployment) = azure_deployment(&request.path) {
        check_azure(shared, request, &deployment)?;
        Flavour::Azure
    } else if request.path.starts_with("/v1/") {
        return Err(invalid(
            &format!("Invalid URL ({method} {})", request.path),
            None,
            None,
        ));
    } else {
        return Err(azure_error(
            StatusCode::NOT_FOUND,
            "404",
            "Resource not found",
        ));
    };
    if method != Method::POST {
        return Err(invalid(
            &format!("Invalid URL ({method} {})", request.path),
            None,
            None,
        ));
    }
    if flavour == Flavour::OpenAi {
        let expected = format!("Bearer {}", shared.api_key);
        match request.authorization.as_deref() {
            None => {
                return Err(error(
                    StatusCode::UNAUTHORIZED,
                    "You didn't provide an API key. You need to provide your API key in an \
                     Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                    Some("invalid_request_error"),
                    None,
                    None,
                ));
            }
            Some(given) if given != expected => {
                let key = given.strip_prefix("Bearer ").unwrap_or(given);
                return Err(error(
                    StatusCode::UNAUTHORIZED,
                    &format!(
                        "Incorrect API key provided: {}. You can find your API key at \
                         https://platform.openai.com/account/api-keys.",
                        mask(key)
                    ),
                    Some("invalid_request_error"),
                    None,
                    Some("invalid_api_key"),
                ));
            }
            Some(_) => {}
        }
    }
    let chat = validate(flavour, request)?;
    Ok(answer(shared, flavour, &chat, body_chars))
}

/// Azure's checks before the body: `api-version`, the key, the deployment.
fn check_azure(
    shared: &Shared,
    request: &ReceivedChat,
    deployment: &str,
) -> Result<(), ErrorReply> {
    let Some(version) = request.query_value("api-version") else {
        return Err(azure_error(
            StatusCode::BAD_REQUEST,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        ));
    };
    if api_version_key(version).is_none() {
        return Err(azure_error(
            StatusCode::NOT_FOUND,
            "404",
            "Resource not found",
        ));
    }
    if request.api_key.as_deref() != Some(shared.api_key.as_str()) {
        return Err(azure_error(
            StatusCode::UNAUTHORIZED,
            "401",
            "Access denied due to invalid subscription key or wrong API endpoint. Make sure to \
             provide a valid key for an active subscription and use a correct regional API \
             endpoint for your resource.",
        ));
    }
    let exists = shared
        .recorded()
        .deployments
        .as_ref()
        .is_none_or(|names| names.contains(deployment));
    if !exists {
        return Err(azure_error(
            StatusCode::NOT_FOUND,
            "DeploymentNotFound",
            "The API deployment for this resource does not exist. If you created the \
             deployment within the last 5 minutes, please wait a moment and try again.",
        ));
    }
    Ok(())
}

/// `YYYY-MM-DD[-preview]` → `(date, is_ga)`, ordered as Azure versions are.
fn api_version_key(version: &str) -> Option<(&str, bool)> {
    let (date, ga) = match version.strip_suffix("-preview") {
        Some(date) => (date, false),
        None => (version, true),
    };
    let b = date.as_bytes();
    let shaped = b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        });
    shaped.then_some((date, ga))
}

/// `sk-abc…wxyz` the way OpenAI masks a wrong key in its 401 message.
fn mask(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() <= 8 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 7))
}

/// What a valid request asks for.
struct Chat {
    model: String,
    max_completion_tokens: Option<u64>,
    format: Format,
}

enum Format {
    Text,
    JsonObject,
    JsonSchema(Value),
}

/// The body checks, in the order the services report them.
fn validate(flavour: Flavour, request: &ReceivedChat) -> Result<Chat, ErrorReply> {
    let Some(body) = request.body.as_object() else {
        return Err(invalid(
            "We could not parse the JSON body of your request. (HINT: This likely means you \
             aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, \
             but what was sent was not valid JSON.)",
            None,
            None,
        ));
    };
    let model = match (flavour, body.get("model")) {
        (Flavour::Azure, _) => AZURE_MODEL.to_owned(),
        (Flavour::OpenAi, Some(Value::String(model))) if !model.is_empty() => model.clone(),
        (Flavour::OpenAi, _) => {
            return Err(invalid("you must provide a model parameter", None, None));
        }
    };
    check_messages(body.get("messages"))?;
    let mut max_completion_tokens = None;
    for name in ["max_completion_tokens", "max_tokens"] {
        match body.get(name) {
            None | Some(Value::Null) => {}
            Some(value) => match value.as_i64() {
                Some(n) if n >= 1 => max_completion_tokens = Some(n.unsigned_abs()),
                Some(n) => {
                    return Err(invalid(
                        &format!(
                            "Invalid '{name}': integer below minimum value. Expected a value \
                             >= 1, but got {n} instead."
                        ),
                        Some(name),
                        Some("integer_below_min_value"),
                    ));
                }
                None => {
                    return Err(invalid(
                        &format!(
                            "Invalid type for '{name}': expected an integer, but got {} instead.",
                            json_kind(value)
                        ),
                        Some(name),
                        Some("invalid_type"),
                    ));
                }
            },
        }
    }
    match body.get("temperature") {
        None | Some(Value::Null) => {}
        Some(value) => match value.as_f64() {
            Some(t) if t > 2.0 => {
                return Err(invalid(
                    &format!(
                        "Invalid 'temperature': decimal above maximum value. Expected a value \
                         <= 2, but got {t} instead."
                    ),
                    Some("temperature"),
                    Some("decimal_above_max_value"),
                ));
            }
            Some(t) if t < 0.0 => {
                return Err(invalid(
                    &format!(
                        "Invalid 'temperature': decimal below minimum value. Expected a value \
                         >= 0, but got {t} instead."
                    ),
                    Some("temperature"),
                    Some("decimal_below_min_value"),
                ));
            }
            Some(_) => {}
            None => {
                return Err(invalid(
                    &format!(
                        "Invalid type for 'temperature': expected a decimal, but got {} instead.",
                        json_kind(value)
                    ),
                    Some("temperature"),
                    Some("invalid_type"),
                ));
            }
        },
    }
    let format = check_response_format(flavour, request, body.get("response_format"))?;
    Ok(Chat {
        model,
        max_completion_tokens,
        format,
    })
}

fn check_messages(messages: Option<&Value>) -> Result<(), ErrorReply> {
    let messages = match messages {
        None | Some(Value::Null) => {
            return Err(invalid(
                "Missing required parameter: 'messages'.",
                Some("messages"),
                Some("missing_required_parameter"),
            ));
        }
        Some(Value::Array(messages)) => messages,
        Some(other) => {
            return Err(invalid(
                &format!(
                    "Invalid type for 'messages': expected an array of objects, but got {} \
                     instead.",
                    json_kind(other)
                ),
                Some("messages"),
                Some("invalid_type"),
            ));
        }
    };
    if messages.is_empty() {
        return Err(invalid(
            "Invalid 'messages': empty array. Expected an array with minimum length 1, but got \
             an empty array instead.",
            Some("messages"),
            Some("empty_array"),
        ));
    }
    for (i, message) in messages.iter().enumerate() {
        let role = message.get("role").and_then(Value::as_str);
        let Some(role) = role else {
            let param = format!("messages[{i}].role");
            return Err(invalid(
                &format!("Missing required parameter: '{param}'."),
                Some(&param),
                Some("missing_required_parameter"),
            ));
        };
        if !ROLES.contains(&role) {
            let param = format!("messages[{i}].role");
            return Err(invalid(
                &format!(
                    "Invalid value: '{role}'. Supported values are: 'system', 'assistant', \
                     'user', 'function', 'tool', and 'developer'."
                ),
                Some(&param),
                Some("invalid_value"),
            ));
        }
        // An assistant message may carry tool calls instead of content.
        if role != "assistant" && message.get("content").is_none_or(Value::is_null) {
            let param = format!("messages[{i}].content");
            return Err(invalid(
                &format!("Missing required parameter: '{param}'."),
                Some(&param),
                Some("missing_required_parameter"),
            ));
        }
    }
    Ok(())
}

fn check_response_format(
    flavour: Flavour,
    request: &ReceivedChat,
    format: Option<&Value>,
) -> Result<Format, ErrorReply> {
    let Some(format) = format.filter(|f| !f.is_null()) else {
        return Ok(Format::Text);
    };
    let kind = format.get("type").and_then(Value::as_str);
    match kind {
        Some("text") => return Ok(Format::Text),
        Some("json_object") => return Ok(Format::JsonObject),
        Some("json_schema") => {}
        Some(other) => {
            return Err(invalid(
                &format!(
                    "Invalid value: '{other}'. Supported values are: 'json_object', \
                     'json_schema', and 'text'."
                ),
                Some("response_format.type"),
                Some("invalid_value"),
            ));
        }
        None => {
            return Err(invalid(
                "Missing required parameter: 'response_format.type'.",
                Some("response_format.type"),
                Some("missing_required_parameter"),
            ));
        }
    }
    if flavour == Flavour::Azure {
        let too_old = request
            .query_value("api-version")
            .and_then(api_version_key)
            .is_some_and(|key| key < MIN_JSON_SCHEMA_API_VERSION);
        if too_old {
            return Err(invalid(
                "response_format value as json_schema is enabled only for api versions \
                 2024-08-01-preview and later",
                Some("response_format"),
                None,
            ));
        }
    }
    let Some(json_schema) = format.get("json_schema").and_then(Value::as_object) else {
        return Err(invalid(
            "Missing required parameter: 'response_format.json_schema'.",
            Some("response_format.json_schema"),
            Some("missing_required_parameter"),
        ));
    };
    let Some(name) = json_schema.get("name").and_then(Value::as_str) else {
        return Err(invalid(
            "Missing required parameter: 'response_format.json_schema.name'.",
            Some("response_format.json_schema.name"),
            Some("missing_required_parameter"),
        ));
    };
    let length = name.chars().count();
    if length > 64 {
        return Err(invalid(
            &format!(
                "Invalid 'response_format.json_schema.name': string too long. Expected a string \
                 with maximum length 64, but got a string with length {length} instead."
            ),
            Some("response_format.json_schema.name"),
            Some("string_above_max_length"),
        ));
    }
    let valid_name = length > 0
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !valid_name {
        return Err(invalid(
            "Invalid 'response_format.json_schema.name': string does not match pattern. \
             Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'.",
            Some("response_format.json_schema.name"),
            Some("invalid_value"),
        ));
    }
    let schema = match json_schema.get("schema") {
        None | Some(Value::Null) => json!({"type": "object", "properties": {}}),
        Some(schema) if schema.is_object() => schema.clone(),
        Some(other) => {
            return Err(invalid(
                &format!(
                    "Invalid type for 'response_format.json_schema.schema': expected an object, \
                     but got {} instead.",
                    json_kind(other)
                ),
                Some("response_format.json_schema.schema"),
                Some("invalid_type"),
            ));
        }
    };
    if json_schema.get("strict").and_then(Value::as_bool) == Some(true)
        && let Err(why) = check_strict(&schema)
    {
        return Err(invalid(
            &format!("Invalid schema for response_format '{name}': {why}"),
            Some("response_format"),
            None,
        ));
    }
    Ok(Format::JsonSchema(schema))
}

/// The strict-mode rules (protocols.md §4.1): root `type: "object"`; on every object
/// `additionalProperties: false` and `required` = every key of `properties`; no `default`.
/// The error reads like OpenAI's, e.g. `In context=('properties', 'items'), 'additionalProperties'
/// is required to be supplied and to be false.`
pub fn check_strict(schema: &Value) -> Result<(), String> {
    let root_type = schema.get("type");
    if root_type.and_then(Value::as_str) != Some("object") {
        let got = root_type.map_or_else(|| "None".to_owned(), |t| t.to_string());
        return Err(format!(
            "schema must be a JSON Schema of 'type: \"object\"', got 'type: {got}'."
        ));
    }
    check_strict_at(schema, &mut Vec::new())
}

fn check_strict_at(schema: &Value, context: &mut Vec<String>) -> Result<(), String> {
    let Some(node) = schema.as_object() else {
        return Ok(());
    };
    let here = |context: &[String], rule: &str| {
        let items: Vec<String> = context.iter().map(|c| format!("'{c}'")).collect();
        let tuple = match items.len() {
            1 => format!("({},)", items[0]),
            _ => format!("({})", items.join(", ")),
        };
        format!("In context={tuple}, {rule}")
    };
    if node.contains_key("default") {
        return Err(here(context, "'default' is not permitted."));
    }
    let is_object = match node.get("type") {
        Some(Value::String(t)) => t == "object",
        Some(Value::Array(types)) => types.iter().any(|t| t == "object"),
        _ => node.contains_key("properties"),
    };
    if is_object {
        if node.get("additionalProperties") != Some(&Value::Bool(false)) {
            return Err(here(
                context,
                "'additionalProperties' is required to be supplied and to be false.",
            ));
        }
        let empty = Map::new();
        let properties = node
            .get("properties")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let required: Vec<&str> = node
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if let Some(missing) = properties.keys().find(|k| !required.contains(&k.as_str())) {
            return Err(here(
                context,
                &format!(
                    "'required' is required to be supplied and to be an array including every \
                     key in properties. Missing '{missing}'."
                ),
            ));
        }
        if let Some(extra) = required.iter().find(|k| !properties.contains_key(**k)) {
            return Err(here(
                context,
                &format!("Extra required key '{extra}' supplied."),
            ));
        }
        for (key, property) in properties {
            context.extend(["properties".to_owned(), key.clone()]);
            check_strict_at(property, context)?;
            context.truncate(context.len() - 2);
        }
    }
    if let Some(items) = node.get("items") {
        context.push("items".to_owned());
        check_strict_at(items, context)?;
        context.pop();
    }
    for keyword in ["anyOf", "allOf"] {
        if let Some(branches) = node.get(keyword).and_then(Value::as_array) {
            for (i, branch) in branches.iter().enumerate() {
                context.extend([keyword.to_owned(), i.to_string()]);
                check_strict_at(branch, context)?;
                context.truncate(context.len() - 2);
            }
        }
    }
    for keyword in ["$defs", "definitions"] {
        if let Some(defs) = node.get(keyword).and_then(Value::as_object) {
            for (name, def) in defs {
                context.extend([keyword.to_owned(), name.clone()]);
                check_strict_at(def, context)?;
                context.truncate(context.len() - 2);
            }
        }
    }
    Ok(())
}

/// The smallest value valid against `schema` (see the module docs): what the fake answers
/// when no content is queued. `$ref`s to `#/$defs/…` and `#/definitions/…` are followed.
pub fn minimal_instance(schema: &Value) -> Value {
    instance(schema, schema, 0)
}

fn instance(root: &Value, schema: &Value, depth: usize) -> Value {
    // A recursive schema (a `$ref` cycle through required properties) ends in null.
    if depth > 32 {
        return Value::Null;
    }
    let Some(node) = schema.as_object() else {
        return Value::Null;
    };
    if let Some(target) = node.get("$ref").and_then(Value::as_str) {
        let resolved = if target == "#" {
            Some(root)
        } else {
            target
                .strip_prefix('#')
                .and_then(|pointer| root.pointer(pointer))
        };
        return resolved.map_or(Value::Null, |s| instance(root, s, depth + 1));
    }
    if let Some(value) = node.get("const") {
        return value.clone();
    }
    let types: Vec<&str> = match node.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(types)) => types.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let null_branch = node
        .get("anyOf")
        .and_then(Value::as_array)
        .is_some_and(|branches| {
            branches
                .iter()
                .any(|b| b.get("type") == Some(&json!("null")))
        });
    if types.contains(&"null") || null_branch {
        return Value::Null;
    }
    if let Some(first) = node
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|values| values.first())
    {
        return first.clone();
    }
    if let Some(first) = node
        .get("anyOf")
        .and_then(Value::as_array)
        .and_then(|branches| branches.first())
    {
        return instance(root, first, depth + 1);
    }
    let kind = types
        .first()
        .copied()
        .unwrap_or(if node.contains_key("properties") {
            "object"
        } else {
            ""
        });
    match kind {
        "object" => {
            let properties = node.get("properties").and_then(Value::as_object);
            let required = node
                .get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).collect::<Vec<_>>())
                .unwrap_or_default();
            let object: Map<String, Value> = required
                .into_iter()
                .map(|name| {
                    let property = properties.and_then(|p| p.get(name));
                    let value = property.map_or(Value::Null, |p| instance(root, p, depth + 1));
                    (name.to_owned(), value)
                })
                .collect();
            Value::Object(object)
        }
        "array" => {
            let count = node.get("minItems").and_then(Value::as_u64).unwrap_or(0);
            let item = node
                .get("items")
                .map_or(Value::Null, |items| instance(root, items, depth + 1));
            Value::Array((0..count.min(100)).map(|_| item.clone()).collect())
        }
        "string" => Value::String(String::new()),
        "integer" => {
            let min = node.get("minimum").and_then(Value::as_i64).unwrap_or(0);
            json!(min.max(0))
        }
        "number" => {
            let min = node.get("minimum").and_then(Value::as_f64).unwrap_or(0.0);
            json!(min.max(0.0))
        }
        "boolean" => Value::Bool(false),
        _ => Value::Null,
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// ⌈chars / 4⌉: OpenAI's rule of thumb of about 4 characters a token.
fn tokens(chars: usize) -> u64 {
    chars.div_ceil(4) as u64
}

/// The first `n` characters of `text`.
fn cut(text: &str, n: usize) -> String {
    text.chars().take(n).collect()
}

fn answer(shared: &Shared, flavour: Flavour, chat: &Chat, body_chars: usize) -> Response {
    let (failure, queued) = {
        let mut recorded = shared.recorded();
        let failure = recorded.failures.pop_front();
        // A 200 failure cuts the content the request would have got, leaving it queued for the
        // retry; an error status leaves it queued too.
        let queued = match failure {
            None => recorded.contents.pop_front(),
            Some(_) => recorded.contents.front().cloned(),
        };
        (failure, queued)
    };
    let content = match (&queued, &chat.format) {
        (Some(value), _) => value.to_string(),
        (None, Format::JsonSchema(schema)) => minimal_instance(schema).to_string(),
        (None, Format::JsonObject) => "{}".to_owned(),
        (None, Format::Text) => DEFAULT_TEXT.to_owned(),
    };
    let half = |text: &str| cut(text, text.chars().count() / 2);
    let (content, refusal, finish_reason) = match failure {
        Some(Failure::RateLimited {
            retry_after_ms,
            retry_after_secs,
        }) => return rate_limited(flavour, &chat.model, retry_after_ms, retry_after_secs),
        Some(Failure::ServerError) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The server had an error while processing your request. Sorry about that!",
                Some("server_error"),
                None,
                None,
            )
            .into_response();
        }
        Some(Failure::InsufficientQuota) => {
            return error(
                StatusCode::TOO_MANY_REQUESTS,
                "You exceeded your current quota, please check your plan and billing details. \
                 For more information on this error, read the docs: \
                 https://platform.openai.com/docs/guides/error-codes/api-errors.",
                Some("insufficient_quota"),
                None,
                Some("insufficient_quota"),
            )
            .into_response();
        }
        Some(Failure::Length) => (Some(half(&content)), None, "length"),
        Some(Failure::ContentFilter) => (Some(half(&content)), None, "content_filter"),
        Some(Failure::Refusal(text)) => (None, Some(text), "stop"),
        None => match chat.max_completion_tokens {
            Some(max) if tokens(content.chars().count()) > max => {
                let limit = usize::try_from(max.saturating_mul(4)).unwrap_or(usize::MAX);
                (Some(cut(&content, limit)), None, "length")
            }
            _ => (Some(content), None, "stop"),
        },
    };
    let prompt_tokens = tokens(body_chars);
    let completion_tokens = content.as_deref().map_or(
        refusal.as_deref().map_or(0, |r| tokens(r.chars().count())),
        |c| tokens(c.chars().count()),
    );
    let mut choice = json!({
        "index": 0,
        "message": {"role": "assistant", "content": content, "refusal": refusal, "annotations": []},
        "finish_reason": finish_reason,
        "logprobs": null,
    });
    let mut body = json!({
        "id": format!("chatcmpl-{}", hex::encode(rand::random::<[u8; 12]>())),
        "object": "chat.completion",
        "created": chrono::Utc::now().timestamp(),
        "model": chat.model,
        "choices": [],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0, "audio_tokens": 0,
                "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0
            },
        },
        "system_fingerprint": "fp_fake",
    });
    match flavour {
        Flavour::OpenAi => body["service_tier"] = json!("default"),
        Flavour::Azure => {
            // Azure annotates prompt and answer with its content filter's verdicts.
            let filtered = finish_reason == "content_filter";
            let verdict =
                |hit: bool| json!({"filtered": hit, "severity": if hit { "high" } else { "safe" }});
            let results = json!({
                "hate": verdict(false), "self_harm": verdict(false),
                "sexual": verdict(false), "violence": verdict(filtered),
            });
            body["prompt_filter_results"] =
                json!([{"prompt_index": 0, "content_filter_results": results.clone()}]);
            choice["content_filter_results"] = results;
        }
    }
    body["choices"] = json!([choice]);
    axum::Json(body).into_response()
}

fn rate_limited(
    flavour: Flavour,
    model: &str,
    retry_after_ms: Option<u64>,
    retry_after_secs: Option<u64>,
) -> Response {
    let wait = retry_after_secs
        .or(retry_after_ms.map(|ms| ms.div_ceil(1000)))
        .unwrap_or(1);
    let mut response = match flavour {
        Flavour::OpenAi => error(
            StatusCode::TOO_MANY_REQUESTS,
            &format!(
                "Rate limit reached for {model} in organization org-fake on requests per min \
                 (RPM): Limit 3, Used 3, Requested 1. Please try again in {wait}s. Visit \
                 https://platform.openai.com/account/rate-limits to learn more."
            ),
            Some("requests"),
            Some("requests"),
            Some("rate_limit_exceeded"),
        ),
        Flavour::Azure => azure_error(
            StatusCode::TOO_MANY_REQUESTS,
            "429",
            &format!(
                "Requests to the ChatCompletions_Create Operation under Azure OpenAI API have \
                 exceeded call rate limit of your current OpenAI S0 pricing tier. Please retry \
                 after {wait} seconds."
            ),
        ),
    }
    .into_response();
    let headers = response.headers_mut();
    headers.insert(
        "x-ratelimit-remaining-requests",
        HeaderValue::from_static("0"),
    );
    if let Some(ms) = retry_after_ms {
        headers.insert("retry-after-ms", HeaderValue::from(ms));
    }
    if let Some(secs) = retry_after_secs {
        headers.insert("retry-after", HeaderValue::from(secs));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_instances() {
        let schema = json!({
            "type": "object",
            "properties": {
                "title": {"type": "string"},
                "count": {"type": "integer"},
                "score": {"type": "number", "minimum": 1.5},
                "done": {"type": "boolean"},
                "tags": {"type": "array", "items": {"type": "string"}},
                "two": {"type": "array", "minItems": 2, "items": {"$ref": "#/$defs/item"}},
                "note": {"type": ["string", "null"]},
                "maybe": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                "kind": {"type": "string", "enum": ["decision", "action"]},
                "fixed": {"const": 7},
                "unlisted": {"type": "string"},
            },
            "required": ["title", "count", "score", "done", "tags", "two", "note", "maybe", "kind", "fixed"],
            "additionalProperties": false,
            "$defs": {"item": {"type": "object", "properties": {"text": {"type": "string"}},
                               "required": ["text"], "additionalProperties": false}},
        });
        assert_eq!(
            minimal_instance(&schema),
            json!({
                "title": "", "count": 0, "score": 1.5, "done": false, "tags": [],
                "two": [{"text": ""}, {"text": ""}], "note": null, "maybe": null,
                "kind": "decision", "fixed": 7,
            })
        );
    }

    #[test]
    fn strict_rules_read_like_openai() {
        let ok = json!({"type": "object", "properties": {"a": {"type": "array", "items": {
            "type": "object", "properties": {"b": {"type": "string"}}, "required": ["b"],
            "additionalProperties": false}}}, "required": ["a"], "additionalProperties": false});
        assert_eq!(check_strict(&ok), Ok(()));
        let mut open = ok.clone();
        open["properties"]["a"]["items"]
            .as_object_mut()
            .expect("object")
            .remove("additionalProperties");
        assert_eq!(
            check_strict(&open),
            Err("In context=('properties', 'a', 'items'), 'additionalProperties' is required to be supplied and to be false.".into())
        );
        let mut optional = ok.clone();
        optional["required"] = json!([]);
        assert_eq!(
            check_strict(&optional),
            Err("In context=(), 'required' is required to be supplied and to be an array including every key in properties. Missing 'a'.".into())
        );
        let mut defaulted = ok.clone();
        defaulted["properties"]["a"]["items"]["properties"]["b"]["default"] = json!("x");
        assert_eq!(
            check_strict(&defaulted),
            Err("In context=('properties', 'a', 'items', 'properties', 'b'), 'default' is not permitted.".into())
        );
        assert!(
            check_strict(&json!({"type": "array"}))
                .expect_err("root must be an object")
                .starts_with("schema must be a JSON Schema of 'type: \"object\"'")
        );
    }

    #[test]
    fn azure_paths_and_versions() {
        assert_eq!(
            azure_deployment("/openai/deployments/minutes%204o/chat/completions").as_deref(),
            Some("minutes 4o")
        );
        assert_eq!(
            azure_deployment("/openai/deployments//chat/completions"),
            None
        );
        assert_eq!(azure_deployment("/v1/chat/completions"), None);
        assert!(api_version_key("2024-07-01-preview") < Some(MIN_JSON_SCHEMA_API_VERSION));
        assert!(api_version_key("2024-08-01-preview") >= Some(MIN_JSON_SCHEMA_API_VERSION));
        assert!(api_version_key("2024-10-21") >= Some(MIN_JSON_SCHEMA_API_VERSION));
        assert_eq!(api_version_key("latest"), None);
        assert_eq!(mask("sk-abcdefghijklmnop"), "sk-************mnop");
    }
}
