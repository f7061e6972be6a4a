//! (Over 400 lines: test support, never deployed; Deepgram's pre-recorded wire protocol, its scripted failures and their tests in one place.)
//! A local stand-in for Deepgram's pre-recorded API (`POST /v1/listen` with a JSON `{"url"}`
//! body), speaking the documented wire protocol (shared/design/protocols.md §3.3 and §3.5;
//! Deepgram's docs pages `pre-recorded-audio`, `utterances`, `language-detection`, `errors`).
//!
//! What it really does, as Deepgram would:
//! - checks `Authorization: Token <key>` (401 `INVALID_AUTH` otherwise), the query parameters
//!   (400 `INVALID_QUERY_PARAMETER` for unknown names or non-boolean flags), `Content-Type:
//!   application/json` and the `{"url": "..."}` body;
//! - GETs the audio URL (so a presigned S3 URL must really be valid), answering 400
//!   `REMOTE_CONTENT_ERROR` when that fails and 400 "corrupt or unsupported data" when the bytes
//!   are not audio;
//! - reads the real duration of WAV audio from its header (`hound`); WebM, Ogg, MP3, MP4 and
//!   FLAC are recognised by their magic bytes and accepted with a duration of **0** (the fake
//!   does not decode them), anything else is refused;
//! - answers the documented response shape, honouring `utterances`, `diarize` /
//!   `diarize_model`, `punctuate` / `smart_format` and `detect_language`, with the text a test
//!   registered ([`FakeDeepgram::register_transcript`]) or [`DEFAULT_PHRASE`], spread evenly
//!   over the audio's duration; or, after [`FakeDeepgram::recognize_tone_speech`], the words
//!   it hears in WAV tone speech ([`crate::tone_speech`]) at their real times.
//!
//! What it does not do: recognise real speech, accept raw audio bodies (`Content-Type: audio/*`),
//! `callback`, or refuse non-public URLs (Deepgram requires publicly routable media URLs; the
//! fake must reach 127.0.0.1).

use std::collections::{HashMap, VecDeque};
use std::io::Cursor;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use anyhow::Context;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::fake_server::FakeServer;

/// The key [`FakeDeepgram::start`] accepts.
pub const DEFAULT_KEY: &str = "fake-deepgram-key";

/// What the fake "hears" in audio nobody registered a transcript for (speaker 0).
pub const DEFAULT_PHRASE: &str = "This is the fake Deepgram transcript.";

/// The language reported for `detect_language=true` when the transcript registered none.
pub const DEFAULT_DETECTED_LANGUAGE: &str = "en";

/// How long the fake waits for the audio URL to answer.
const FETCH_TIMEOUT: Duration = Duration::from_secs(30);

/// The confidence the fake gives every word, utterance and alternative.
const CONFIDENCE: f64 = 0.99;

/// The model UUID reported in `metadata.models` (the one in Deepgram's recorded nova-3 answers).
const MODEL_UUID: &str = "3b3aabe4-608a-46ac-9585-7960a25daf1a";

/// Query parameters Deepgram documents for `/v1/listen` (protocols.md §3.2 and §3.5).
const KNOWN_PARAMS: &[&str] = &[
    "model",
    "language",
    "detect_language",
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
    "utterances",
    "utt_split",
    "paragraphs",
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
    "alternatives",
    "filler_words",
    "summarize",
    "topics",
    "intents",
    "sentiment",
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
    "utterances",
    "paragraphs",
    "detect_entities",
    "filler_words",
    "topics",
    "intents",
    "sentiment",
];

/// One request as the fake received it, for assertions.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedRequest {
    /// `POST`, …
    pub method: String,
    /// `/v1/listen`, …
    pub path: String,
    /// Decoded query pairs, in order, repeats kept.
    pub query: Vec<(String, String)>,
    /// The `Authorization` header as sent.
    pub authorization: Option<String>,
    /// The `Content-Type` header as sent.
    pub content_type: Option<String>,
    /// The body, as UTF-8 (lossy).
    pub body: String,
}

impl ReceivedRequest {
    /// The first value of query parameter `name`.
    pub fn query_value(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON (`Value::Null` if it is not).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

/// What the fake says for one audio.
#[derive(Debug, Clone)]
struct Script {
    language: String,
    turns: Vec<(u32, String)>,
}

#[derive(Default)]
struct Recorded {
    /// Keyed by lowercase SHA-256 hex of the audio bytes, or by a marker found in the URL path.
    scripts: HashMap<String, Script>,
    /// Statuses to answer instead of serving, one request each, front first.
    failures: VecDeque<u16>,
    requests: Vec<ReceivedRequest>,
    /// WAV audio is recognised as tone speech instead of answering a script.
    tone_speech: bool,
}

struct Shared {
    api_key: String,
    http: reqwest::Client,
    recorded: Mutex<Recorded>,
}

impl Shared {
    fn recorded(&self) -> MutexGuard<'_, Recorded> {
        crate::fake_server::lock(&self.recorded)
    }
}

/// A running fake Deepgram on 127.0.0.1; stops when dropped.
pub struct FakeDeepgram {
    /// `http://127.0.0.1:<port>/`: give it to `DeepgramClient::new` as the base URL.
    pub base_url: reqwest::Url,
    /// The only key it accepts (`Authorization: Token <api_key>`).
    pub api_key: String,
    shared: Arc<Shared>,
    _server: FakeServer,
}

impl FakeDeepgram {
    /// Starts a fake on a free port of 127.0.0.1 accepting [`DEFAULT_KEY`].
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), DEFAULT_KEY).await
    }

    /// Starts a fake on `addr` (port 0 = any free port) accepting `api_key`; the local stack
    /// uses this to put it on a known port.
    pub async fn start_on(addr: SocketAddr, api_key: impl Into<String>) -> anyhow::Result<Self> {
        let shared = Arc::new(Shared {
            api_key: api_key.into(),
            http: reqwest::Client::builder()
                .timeout(FETCH_TIMEOUT)
                .build()
                .context("building the fake Deepgram's HTTP client")?,
            recorded: Mutex::default(),
        });
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(shared.clone());
        let server = FakeServer::start(addr, "the fake Deepgram", app).await?;
        Ok(Self {
            base_url: server.url("")?,
            api_key: shared.api_key.clone(),
            shared,
            _server: server,
        })
    }

    /// Makes audio matching `key` "say" `turns` (speaker number, text), language
    /// [`DEFAULT_DETECTED_LANGUAGE`]. `key` matches when it equals the lowercase SHA-256 hex of
    /// the fetched bytes ([`sha256_hex`]) or occurs in the audio URL's path (e.g. an S3 key).
    pub fn register_transcript<S: Into<String>>(
        &self,
        key: impl Into<String>,
        turns: impl IntoIterator<Item = (u32, S)>,
    ) {
        self.register_transcript_in(key, DEFAULT_DETECTED_LANGUAGE, turns);
    }

    /// [`Self::register_transcript`], reporting `language` (a BCP-47 tag such as `fr`) as
    /// `detected_language` when the request has `detect_language=true`.
    pub fn register_transcript_in<S: Into<String>>(
        &self,
        key: impl Into<String>,
        language: &str,
        turns: impl IntoIterator<Item = (u32, S)>,
    ) {
        let script = Script {
            language: language.to_owned(),
            turns: turns.into_iter().map(|(s, t)| (s, t.into())).collect(),
        };
        self.shared.recorded().scripts.insert(key.into(), script);
    }

    /// When `on`, WAV audio is answered with the words [`crate::tone_speech::recognize`] hears
    /// in it, at their times, instead of a registered or default script (other containers keep
    /// the script). Speakers are numbered 0, 1, 2… per request in order of first appearance (as
    /// Deepgram's diarization labels are arbitrary per request); utterances split at a speaker
    /// change (with diarization) and at silences of at least `utt_split` seconds (default 0.8,
    /// as Deepgram's); each utterance's first word capitalised and its last ending in a period.
    pub fn recognize_tone_speech(&self, on: bool) {
        self.shared.recorded().tone_speech = on;
    }

    /// Answers the next `n` requests with `status` (429 or 5xx; any status works) and
    /// Deepgram's documented error body for it, before checking anything else, as an overloaded
    /// service would.
    pub fn fail_next(&self, n: usize, status: u16) {
        self.shared
            .recorded()
            .failures
            .extend(std::iter::repeat_n(status, n));
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<ReceivedRequest> {
        self.shared.recorded().requests.clone()
    }
}

/// Lowercase hex SHA-256 of `bytes`: the key [`FakeDeepgram::register_transcript`] matches, and
/// what the fake reports as `metadata.sha256`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A mono 16-bit PCM WAV file of `duration_ms` milliseconds at `sample_rate` Hz holding a
/// 440 Hz sine at half scale, for tests that need real audio.
pub fn sine_wav(duration_ms: u32, sample_rate: u32) -> Vec<u8> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut out = Cursor::new(Vec::new());
    // Writing to a Vec cannot fail for I/O reasons, and this spec is valid.
    let mut writer = hound::WavWriter::new(&mut out, spec).expect("valid WAV spec");
    let samples = u64::from(sample_rate) * u64::from(duration_ms) / 1000;
    for n in 0..samples {
        let t = n as f64 / f64::from(sample_rate);
        let value = (t * 440.0 * std::f64::consts::TAU).sin() * f64::from(i16::MAX) * 0.5;
        writer
            .write_sample(value as i16)
            .expect("writing to memory");
    }
    writer.finalize().expect("writing to memory");
    out.into_inner()
}

/// A Deepgram-shaped error answer: `{"err_code","err_msg","request_id"}` and a `dg-request-id`
/// header.
fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    with_request_id(
        (
            status,
            axum::Json(json!({"err_code": code, "err_msg": message, "request_id": request_id})),
        )
            .into_response(),
        &request_id,
    )
}

fn with_request_id(mut response: Response, request_id: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(request_id) {
        response.headers_mut().insert("dg-request-id", value);
    }
    response
}

fn corrupt() -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "Bad Request",
        "Bad Request: failed to process audio: corrupt or unsupported data",
    )
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let text_header = |name: header::HeaderName| {
        headers
            .get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    };
    let request = ReceivedRequest {
        method: method.to_string(),
        path: uri.path().to_owned(),
        query: url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect(),
        authorization: text_header(header::AUTHORIZATION),
        content_type: text_header(header::CONTENT_TYPE),
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    let failure = {
        let mut recorded = shared.recorded();
        recorded.requests.push(request.clone());
        recorded.failures.pop_front()
    };
    if let Some(status) = failure {
        return injected_failure(status);
    }
    if request.path != "/v1/listen" {
        return error(StatusCode::NOT_FOUND, "NOT_FOUND", "Not found.");
    }
    if method != Method::POST {
        return error(
            StatusCode::METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            "Method not allowed.",
        );
    }
    if request.authorization.as_deref() != Some(&format!("Token {}", shared.api_key)) {
        return error(
            StatusCode::UNAUTHORIZED,
            "INVALID_AUTH",
            "Invalid credentials.",
        );
    }
    let features = match Features::from_query(&request.query) {
        Ok(features) => features,
        Err(message) => {
            return error(
                StatusCode::BAD_REQUEST,
                "INVALID_QUERY_PARAMETER",
                &format!("Failed to deserialize query parameters: {message}"),
            );
        }
    };
    let is_json = request
        .content_type
        .as_deref()
        .is_some_and(|ct| ct.trim_start().starts_with("application/json"));
    if !is_json {
        // What Deepgram answers for a URL body sent without the JSON content type (docs `errors`).
        return corrupt();
    }
    let Ok(payload) = serde_json::from_slice::<Value>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "Bad Request",
            "Content-type was application/json, but we could not process the JSON payload.",
        );
    };
    let Some(audio_url) = payload.get("url").and_then(Value::as_str) else {
        let request_id = uuid::Uuid::new_v4().to_string();
        return with_request_id(
            (
                StatusCode::BAD_REQUEST,
                axum::Json(json!({
                    "category": "INVALID_JSON",
                    "message": "Invalid JSON submitted.",
                    "details": "Json deserialize error: missing field `url`",
                    "request_id": request_id,
                })),
            )
                .into_response(),
            &request_id,
        );
    };
    let audio = match fetch(&shared.http, audio_url).await {
        Ok(bytes) => bytes,
        Err(message) => return error(StatusCode::BAD_REQUEST, "REMOTE_CONTENT_ERROR", &message),
    };
    let Some(info) = probe(&audio) else {
        return corrupt();
    };
    let sha256 = sha256_hex(&audio);
    let request_id = uuid::Uuid::new_v4().to_string();
    let tone_speech = shared.recorded().tone_speech && audio.starts_with(b"RIFF");
    if tone_speech {
        let audio = audio.clone();
        let Ok(Ok(heard)) =
            tokio::task::spawn_blocking(move || crate::tone_speech::recognize_wav(&audio)).await
        else {
            return corrupt();
        };
        let split_ms = (features.utt_split * 1000.0).round() as u32;
        let turns = crate::tone_speech::deepgram_turns(&heard, split_ms, features.diarize);
        let body = response_body(
            &features,
            &turns,
            DEFAULT_DETECTED_LANGUAGE,
            &info,
            &sha256,
            &request_id,
        );
        return with_request_id(axum::Json(body).into_response(), &request_id);
    }
    let script = {
        let recorded = shared.recorded();
        let path = url::Url::parse(audio_url)
            .map(|u| u.path().to_owned())
            .unwrap_or_default();
        recorded.scripts.get(&sha256).cloned().or_else(|| {
            recorded
                .scripts
                .iter()
                .find(|(marker, _)| !marker.is_empty() && path.contains(marker.as_str()))
                .map(|(_, script)| script.clone())
        })
    }
    .unwrap_or_else(|| Script {
        language: DEFAULT_DETECTED_LANGUAGE.to_owned(),
        turns: vec![(0, DEFAULT_PHRASE.to_owned())],
    });
    let turns = spread(&script, info.duration);
    let body = response_body(
        &features,
        &turns,
        &script.language,
        &info,
        &sha256,
        &request_id,
    );
    with_request_id(axum::Json(body).into_response(), &request_id)
}

/// The documented bodies for the statuses a test injects (docs page `errors`; the 503 body
/// really spells its first key `error_code`).
fn injected_failure(status: u16) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    match status.as_u16() {
        429 => error(
            status,
            "TOO_MANY_REQUESTS",
            "Too many requests. Please try again later",
        ),
        503 => {
            let request_id = uuid::Uuid::new_v4().to_string();
            with_request_id(
                (
                    status,
                    axum::Json(json!({
                        "error_code": "Service Unavailable",
                        "err_msg": "Please try again later",
                        "request_id": request_id,
                    })),
                )
                    .into_response(),
                &request_id,
            )
        }
        _ => error(
            status,
            status.canonical_reason().unwrap_or("Error"),
            "Please try again later.",
        ),
    }
}

/// The request's feature flags that change the answer's shape.
struct Features {
    model: String,
    utterances: bool,
    diarize: bool,
    punctuate: bool,
    detect_language: bool,
    /// `utt_split`: the silence (s) that ends an utterance; Deepgram's default 0.8.
    utt_split: f64,
}

impl Features {
    fn from_query(query: &[(String, String)]) -> Result<Self, String> {
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
        let flag = |name: &str| query.iter().any(|(k, v)| k == name && v == "true");
        let value = |name: &str| {
            query
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        Ok(Self {
            model: value("model").unwrap_or("base").to_owned(),
            utterances: flag("utterances"),
            diarize: flag("diarize") || value("diarize_model").is_some(),
            punctuate: flag("punctuate") || flag("smart_format"),
            // `detect_language=en&detect_language=es` restricts the choice; any value but
            // `false` turns detection on.
            detect_language: query
                .iter()
                .any(|(k, v)| k == "detect_language" && v != "false"),
            utt_split: match value("utt_split") {
                Some(v) => v
                    .parse::<f64>()
                    .ok()
                    .filter(|s| s.is_finite() && *s >= 0.0)
                    .ok_or_else(|| format!("invalid value `{v}` for `utt_split`"))?,
                None => 0.8,
            },
        })
    }
}

/// GETs the media URL; the messages are the ones Deepgram documents for remote content.
async fn fetch(http: &reqwest::Client, audio_url: &str) -> Result<Bytes, String> {
    if reqwest::Url::parse(audio_url).is_err() {
        return Err("Could not parse URL as a URI.".into());
    }
    let response = http
        .get(audio_url)
        .send()
        .await
        .map_err(|_| "The remote server hosting the media failed to return valid data.")?;
    let status = response.status();
    if status.is_client_error() {
        return Err(format!(
            "The remote server hosting the media returned a client error: {status}."
        ));
    }
    if !status.is_success() {
        return Err("The remote server hosting the media failed to return valid data.".into());
    }
    response
        .bytes()
        .await
        .map_err(|_| "The remote server hosting the media failed to return valid data.".into())
}

/// What the fake knows of an audio file.
struct AudioInfo {
    /// Seconds; 0 for formats the fake does not decode.
    duration: f64,
    channels: u16,
}

/// WAV: duration from the header (samples per channel / sample rate). Other containers the
/// recordings may use are recognised by magic bytes with an unknown (0) duration; anything else
/// is not audio.
fn probe(bytes: &[u8]) -> Option<AudioInfo> {
    if bytes.starts_with(b"RIFF") {
        let reader = hound::WavReader::new(Cursor::new(bytes)).ok()?;
        let spec = reader.spec();
        return Some(AudioInfo {
            duration: f64::from(reader.duration()) / f64::from(spec.sample_rate),
            channels: spec.channels,
        });
    }
    let container = bytes.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) // WebM / Matroska (EBML)
        || bytes.starts_with(b"OggS")
        || bytes.starts_with(b"fLaC")
        || bytes.starts_with(b"ID3")
        || (bytes.len() > 1 && bytes[0] == 0xFF && bytes[1] & 0xE0 == 0xE0) // MPEG audio frame
        || bytes.get(4..8) == Some(b"ftyp"); // MP4 / M4A
    container.then_some(AudioInfo {
        duration: 0.0,
        channels: 1,
    })
}

/// A word as Deepgram writes it in `word`: lowercase, without punctuation.
fn bare(token: &str) -> String {
    token
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '\'')
        .flat_map(char::to_lowercase)
        .collect()
}

/// One utterance as the fake heard it.
pub(crate) struct Turn {
    /// The speaker label.
    pub(crate) speaker: u32,
    /// Seconds from the start of the audio.
    pub(crate) start: f64,
    pub(crate) end: f64,
    pub(crate) words: Vec<TimedWord>,
}

/// One word as the fake heard it.
pub(crate) struct TimedWord {
    /// As punctuated (`Hello,`); `word` is derived from it ([`bare`]).
    pub(crate) token: String,
    /// Seconds from the start of the audio.
    pub(crate) start: f64,
    pub(crate) end: f64,
}

/// `script` spoken over `duration` seconds: turn `i` of `n` occupies the `i`-th `n`-th of the
/// duration, its words evenly spread inside it.
fn spread(script: &Script, duration: f64) -> Vec<Turn> {
    let turns: Vec<&(u32, String)> = script
        .turns
        .iter()
        .filter(|(_, text)| !text.trim().is_empty())
        .collect();
    let slot = if turns.is_empty() {
        0.0
    } else {
        duration / turns.len() as f64
    };
    turns
        .iter()
        .enumerate()
        .map(|(i, (speaker, text))| {
            let start = slot * i as f64;
            let end = start + slot;
            let tokens: Vec<&str> = text.split_whitespace().collect();
            let step = (end - start) / tokens.len() as f64;
            let words = tokens
                .iter()
                .enumerate()
                .map(|(k, token)| TimedWord {
                    token: (*token).to_owned(),
                    start: start + step * k as f64,
                    end: start + step * (k + 1) as f64,
                })
                .collect();
            Turn {
                speaker: *speaker,
                start,
                end,
                words,
            }
        })
        .collect()
}

/// The documented response (`ListenV1Response`) for `turns` heard in the audio.
fn response_body(
    features: &Features,
    turns: &[Turn],
    language: &str,
    info: &AudioInfo,
    sha256: &str,
    request_id: &str,
) -> Value {
    let mut all_words = Vec::new();
    let mut utterances = Vec::new();
    let mut texts = Vec::new();
    for turn in turns {
        let speaker = turn.speaker;
        let words: Vec<Value> = turn
            .words
            .iter()
            .map(|timed| {
                let mut word = json!({
                    "word": bare(&timed.token),
                    "start": timed.start,
                    "end": timed.end,
                    "confidence": CONFIDENCE,
                });
                if features.diarize {
                    word["speaker"] = json!(speaker);
                    word["speaker_confidence"] = json!(CONFIDENCE);
                }
                if features.punctuate {
                    word["punctuated_word"] = json!(timed.token);
                }
                word
            })
            .collect();
        let tokens = turn.words.iter().map(|w| {
            if features.punctuate {
                w.token.clone()
            } else {
                bare(&w.token)
            }
        });
        let transcript = tokens.collect::<Vec<_>>().join(" ");
        let mut utterance = json!({
            "start": turn.start,
            "end": turn.end,
            "confidence": CONFIDENCE,
            "channel": 0,
            "transcript": transcript,
            "words": words,
            "id": uuid::Uuid::new_v4().to_string(),
        });
        if features.diarize {
            utterance["speaker"] = json!(speaker);
        }
        texts.push(transcript);
        all_words.extend(words);
        utterances.push(utterance);
    }
    let mut channel = json!({
        "alternatives": [{
            "transcript": texts.join(" "),
            "confidence": if all_words.is_empty() { 0.0 } else { CONFIDENCE },
            "words": all_words,
        }],
    });
    if features.detect_language {
        channel["detected_language"] = json!(language);
        channel["language_confidence"] = json!(CONFIDENCE);
    }
    let mut results = json!({ "channels": [channel] });
    if features.utterances {
        results["utterances"] = json!(utterances);
    }
    json!({
        "metadata": {
            "transaction_key": "deprecated",
            "request_id": request_id,
            "sha256": sha256,
            "created": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "duration": info.duration,
            "channels": info.channels,
            "models": [MODEL_UUID],
            "model_info": {
                MODEL_UUID: {
                    "name": format!("general-{}", features.model),
                    "version": "2024-12-20.0",
                    "arch": features.model,
                },
            },
        },
        "results": results,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wav_duration_comes_from_the_header() {
        let info = probe(&sine_wav(1500, 16_000)).expect("a WAV is audio");
        assert!((info.duration - 1.5).abs() < 1e-9);
        assert_eq!(info.channels, 1);
    }

    #[test]
    fn text_and_truncated_wav_are_not_audio() {
        assert!(probe(b"hello, this is not audio").is_none());
        assert!(probe(b"").is_none());
        assert!(probe(b"RIFF\x10\x00\x00\x00WAVE").is_none());
        let webm = [0x1A, 0x45, 0xDF, 0xA3, 0x9F, 0x42, 0x86, 0x81];
        assert_eq!(probe(&webm).map(|i| i.duration), Some(0.0));
    }
}
