//! The upgrade request: scripted refusals, path, `Authorization`, query (protocols.md §3.2:
//! a refused handshake is an HTTP 4xx/5xx with `dg-request-id` and `dg-error` headers).

use serde_json::json;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request};
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode, header};

use super::{ConnectionRecord, Shared};

/// Query parameters Deepgram documents for the live `/v1/listen` (asyncapi.yml, §3.2).
const KNOWN_PARAMS: &[&str] = &[
    "model",
    "language",
    "encoding",
    "sample_rate",
    "channels",
    "multichannel",
    "diarize",
    "diarize_model",
    "punctuate",
    "smart_format",
    "numerals",
    "profanity_filter",
    "dictation",
    "interim_results",
    "endpointing",
    "utterance_end_ms",
    "vad_events",
    "redact",
    "keyterm",
    "keywords",
    "replace",
    "search",
    "extra",
    "tag",
    "detect_entities",
    "callback",
    "callback_method",
    "mip_opt_out",
    "version",
];

/// Parameters whose value must be `true` or `false`.
const BOOLEAN_PARAMS: &[&str] = &[
    "multichannel",
    "diarize",
    "punctuate",
    "smart_format",
    "numerals",
    "profanity_filter",
    "dictation",
    "interim_results",
    "vad_events",
    "detect_entities",
];

/// What the query asks for, as far as the fake's answers depend on it.
#[derive(Debug, Clone)]
pub(super) struct Features {
    pub model: String,
    pub sample_rate: u32,
    pub channels: u32,
    pub diarize: bool,
    pub punctuate: bool,
    pub interim_results: bool,
    /// `None` with `endpointing=false`.
    pub endpointing_ms: Option<u32>,
    pub utterance_end_ms: Option<u32>,
    pub vad_events: bool,
    /// `language=multi`: words and alternatives carry languages.
    pub multi: bool,
}

/// A refusal: status, `err_code`, message (also the `dg-error` header).
pub(super) type Refusal = (u16, &'static str, String);

/// Records the attempt as connection `index` and decides: the features to serve it with, or
/// the refusal. Scripted refusals come first, as an overloaded service's would.
pub(super) fn check(shared: &Shared, request: &Request) -> (usize, Result<Features, Refusal>) {
    let query: Vec<(String, String)> = request
        .uri()
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let authorization = request
        .headers()
        .get(header::AUTHORIZATION)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let mut recorded = shared.recorded();
    let scripted = recorded.refusals.pop_front();
    let outcome = match scripted {
        Some(status) => Err((status, code_for(status), scripted_message(status))),
        None if request.uri().path() != "/v1/listen" => {
            Err((404, "NOT_FOUND", "Not found.".to_owned()))
        }
        None if authorization.as_deref() != Some(&format!("Token {}", shared.api_key)) => {
            Err((401, "INVALID_AUTH", "Invalid credentials.".to_owned()))
        }
        None => Features::from_query(&query).map_err(|message| {
            (
                400,
                "INVALID_QUERY_PARAMETER",
                format!("Failed to deserialize query parameters: {message}"),
            )
        }),
    };
    recorded.connections.push(ConnectionRecord {
        path: request.uri().path().to_owned(),
        query,
        authorization,
        refused: outcome.as_ref().err().map(|(status, _, _)| *status),
        ..ConnectionRecord::default()
    });
    (recorded.connections.len() - 1, outcome)
}

fn code_for(status: u16) -> &'static str {
    match status {
        401 => "INVALID_AUTH",
        402 => "ASR_PAYMENT_REQUIRED",
        403 => "INSUFFICIENT_PERMISSIONS",
        429 => "TOO_MANY_REQUESTS",
        400..=499 => "Bad Request",
        _ => "Service Unavailable",
    }
}

fn scripted_message(status: u16) -> String {
    match status {
        401 => "Invalid credentials.".to_owned(),
        429 => "Too many requests. Please try again later".to_owned(),
        _ => "Please try again later.".to_owned(),
    }
}

/// The refused upgrade as Deepgram answers it: the status, `dg-error` and `dg-request-id`
/// headers, and a REST-style error body.
pub(super) fn refusal_response(
    (status, code, message): Refusal,
    request_id: &str,
) -> ErrorResponse {
    let body = json!({"err_code": code, "err_msg": message, "request_id": request_id}).to_string();
    let mut response = ErrorResponse::new(Some(body));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    // Messages are ASCII; a header that would not be is left out.
    if let Ok(value) = HeaderValue::from_str(&message) {
        headers.insert("dg-error", value);
    }
    if let Ok(value) = HeaderValue::from_str(request_id) {
        headers.insert("dg-request-id", value);
    }
    response
}

impl Features {
    pub(super) fn from_query(query: &[(String, String)]) -> Result<Self, String> {
        for (name, value) in query {
            if !KNOWN_PARAMS.contains(&name.as_str()) {
                return Err(format!("unknown field `{name}`"));
            }
            if BOOLEAN_PARAMS.contains(&name.as_str()) && value != "true" && value != "false" {
                return Err(format!(
                    "invalid value `{value}` for `{name}`, expected `true` or `false`"
                ));
            }
        }
        let value = |name: &str| {
            query
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let flag = |name: &str| value(name) == Some("true");
        let number = |name: &str| -> Result<Option<u32>, String> {
            value(name)
                .map(|v| {
                    v.parse::<u32>().map_err(|_| {
                        format!("invalid value `{v}` for `{name}`, expected an integer")
                    })
                })
                .transpose()
        };
        match value("encoding") {
            Some("linear16") => {}
            Some(other) => {
                return Err(format!(
                    "the fake decodes only encoding=linear16, not `{other}`"
                ));
            }
            None => return Err("the fake needs raw audio: encoding=linear16".to_owned()),
        }
        let sample_rate = number("sample_rate")?
            .filter(|rate| *rate > 0)
            .ok_or("sample_rate is required with encoding")?;
        let endpointing_ms = match value("endpointing") {
            Some("false") => None,
            // Deepgram's default (§3.4).
            None => Some(10),
            Some(_) => number("endpointing")?,
        };
        let diarize_model = value("diarize_model");
        if let Some(model) = diarize_model
            && !matches!(model, "latest" | "v1")
        {
            return Err(format!(
                "diarize_model `{model}` is not available for streaming (latest, v1)"
            ));
        }
        Ok(Self {
            model: value("model").unwrap_or("nova-3").to_owned(),
            sample_rate,
            channels: number("channels")?.unwrap_or(1).max(1),
            diarize: flag("diarize") || diarize_model.is_some(),
            punctuate: flag("punctuate") || flag("smart_format"),
            interim_results: flag("interim_results"),
            endpointing_ms,
            utterance_end_ms: number("utterance_end_ms")?,
            vad_events: flag("vad_events"),
            multi: value("language") == Some("multi"),
        })
    }
}
