//! The wire format of a chat completion: the request body, and the answer or error body read
//! into a [`StructuredResponse`] or an [`LlmError`] (protocols.md §4.1-§4.2).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{LlmError, StructuredResponse, Usage};
use crate::retry;

/// The longest service message kept in an [`LlmError`], in characters.
const MAX_MESSAGE_CHARS: usize = 300;

#[derive(Serialize)]
pub(super) struct ChatBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) model: Option<&'a str>,
    pub(super) messages: [ChatMessage<'a>; 2],
    pub(super) max_completion_tokens: u32,
    // Serialized as f32 (`0.3`, not `0.30000001192092896`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) temperature: Option<f32>,
    pub(super) response_format: ResponseFormat<'a>,
}

#[derive(Serialize)]
pub(super) struct ChatMessage<'a> {
    pub(super) role: &'static str,
    pub(super) content: &'a str,
}

#[derive(Serialize)]
pub(super) struct ResponseFormat<'a> {
    #[serde(rename = "type")]
    pub(super) kind: &'static str,
    pub(super) json_schema: JsonSchemaFormat<'a>,
}

#[derive(Serialize)]
pub(super) struct JsonSchemaFormat<'a> {
    pub(super) name: &'a str,
    pub(super) strict: bool,
    pub(super) schema: &'a Value,
}

/// The fields read from `CreateChatCompletionResponse` (openapi.yaml).
#[derive(Deserialize)]
pub(super) struct Completion {
    #[serde(default)]
    model: String,
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<Usage>,
}

#[derive(Deserialize)]
pub(super) struct Choice {
    message: Option<AssistantMessage>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct AssistantMessage {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    refusal: Option<String>,
}

/// `{"error": {"message", "type", "param", "code"}}` (openapi.yaml `ErrorResponse`); Azure
/// sends the same envelope, sometimes with only `code` and `message`, `code` at times a number.
#[derive(Deserialize, Default)]
pub(super) struct ErrorEnvelope {
    #[serde(default)]
    error: Option<ApiError>,
}

#[derive(Deserialize, Default)]
pub(super) struct ApiError {
    #[serde(default)]
    message: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    code: Option<Value>,
}

pub(super) fn read_completion(body: &[u8]) -> Result<StructuredResponse, LlmError> {
    let completion: Completion = serde_json::from_slice(body)
        .map_err(|e| LlmError::Malformed(format!("not a chat completion: {e}")))?;
    let Some(choice) = completion.choices.into_iter().next() else {
        return Err(LlmError::Malformed("no choices".into()));
    };
    let finish_reason = choice.finish_reason.unwrap_or_default();
    match finish_reason.as_str() {
        "length" => return Err(LlmError::Truncated),
        "content_filter" => return Err(LlmError::ContentFiltered),
        _ => {}
    }
    let message = choice
        .message
        .ok_or_else(|| LlmError::Malformed("no message".into()))?;
    if let Some(refusal) = message.refusal {
        return Err(LlmError::Refused(clip(refusal)));
    }
    let content = message
        .content
        .ok_or_else(|| LlmError::Malformed("no content".into()))?;
    // The error says where parsing stopped, never what the content says.
    let content: Value = serde_json::from_str(&content)
        .map_err(|e| LlmError::Malformed(format!("content is not JSON: {e}")))?;
    if !content.is_object() {
        return Err(LlmError::Malformed(format!(
            "content is a JSON {}, not an object",
            json_kind(&content)
        )));
    }
    Ok(StructuredResponse {
        content,
        model: completion.model,
        usage: completion.usage.unwrap_or_default(),
        finish_reason,
    })
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A non-2xx answer as an error; whether to retry it is decided by the caller.
pub(super) fn status_error(status: u16, body: &[u8]) -> LlmError {
    let error = serde_json::from_slice::<ErrorEnvelope>(body)
        .ok()
        .and_then(|e| e.error)
        .unwrap_or_default();
    let code = match error.code {
        Some(Value::String(code)) => Some(code),
        Some(Value::Number(code)) => Some(code.to_string()),
        _ => None,
    };
    let message = clip(
        error
            .message
            .unwrap_or_else(|| String::from_utf8_lossy(body).trim().to_owned()),
    );
    let is = |name: &str| code.as_deref() == Some(name) || error.kind.as_deref() == Some(name);
    if status == 429 && is("insufficient_quota") {
        return LlmError::InsufficientQuota(message);
    }
    if status == 400 && code.as_deref() == Some("content_filter") {
        return LlmError::ContentFiltered;
    }
    if retry::retryable_status(status) {
        LlmError::Unavailable {
            status: Some(status),
            message,
        }
    } else {
        LlmError::Rejected {
            status,
            code: code.or(error.kind),
            message,
        }
    }
}

/// No (complete) answer. The URL is dropped from the message (it holds no secret, but a log
/// line has no use for it).
pub(super) fn transport_error(error: reqwest::Error) -> LlmError {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    LlmError::Unavailable {
        status: None,
        message: clip(format!("{kind}: {}", error.without_url())),
    }
}

pub(super) fn local_error(message: String) -> LlmError {
    LlmError::Rejected {
        status: 0,
        code: None,
        message,
    }
}

fn clip(mut message: String) -> String {
    if let Some((cut, _)) = message.char_indices().nth(MAX_MESSAGE_CHARS) {
        message.truncate(cut);
    }
    message
}
