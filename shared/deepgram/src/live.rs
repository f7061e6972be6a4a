//! Deepgram's live (streaming) API: one WebSocket `wss://api.deepgram.com/v1/listen?…` per
//! stream, raw PCM in binary frames, typed JSON messages back (protocols.md §3.2–3.4).
//!
//! ```text
//! LiveClient::connect(&LiveOptions::for_preference(pref))   (handshake: Authorization: Token)
//!     -> LiveConnection { sender, receiver, request_id }
//! sender.send_audio(pcm) / keep_alive() / finalize() / close_stream()      (one task)
//! receiver.next_event() -> Results | UtteranceEnd | SpeechStarted | Metadata | Closed (another)
//! final_segments(&results, offset_ms) -> Vec<Segment>                     (segments.rs)
//! ```
//!
//! Nothing here retries or reconnects: the bridge owns that, using
//! [`DeepgramError::is_retryable`] for a refused handshake and [`CloseInfo`] for a closed
//! socket. Nothing here logs (no key, no transcript text).

mod connection;
mod segments;
pub mod wire;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use meetin_vocab::LanguagePreference;
use url::Url;

use crate::client::{DEFAULT_MODEL, DeepgramError};
pub use connection::{
    ABNORMAL_CLOSE, CloseInfo, LiveConnection, LiveEvent, LiveReceiver, LiveSender,
};
pub use segments::final_segments;

/// Deepgram's live host. Regional hosts (`wss://api.eu.deepgram.com`, …) work the same.
pub const DEFAULT_LIVE_BASE_URL: &str = "wss://api.deepgram.com";

/// How long the handshake (TCP, TLS, HTTP upgrade) may take by default.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Which language Deepgram transcribes a live stream in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiveLanguage {
    /// `language=multi`: nova-3's code-switching mode, which recognises several languages
    /// (English and French among them) in one stream and tags each word with its `language`.
    /// Live streams have no `detect_language` (it is a pre-recorded feature; asyncapi.yml
    /// lists no such parameter for `/v1/listen` over WebSocket, protocols.md §3.2).
    Multi,
    /// `language=<BCP-47 tag>`, e.g. `en`, `fr`.
    Code(String),
}

/// The query of one live stream. [`Default`] is what the bridge sends: `model=nova-3`,
/// `encoding=linear16`, `sample_rate=16000`, `channels=1`, `diarize_model=latest`,
/// `punctuate`, `smart_format`, `interim_results=true`, `endpointing=300`,
/// `utterance_end_ms=1000`, `language=en`, no `vad_events`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveOptions {
    /// `model=…`; [`DEFAULT_MODEL`] (`nova-3`).
    pub model: String,
    /// `language=…`.
    pub language: LiveLanguage,
    /// `encoding=…` of the raw audio: `linear16` (PCM, 16-bit signed little-endian).
    pub encoding: String,
    /// `sample_rate=…` in Hz (16000: the browsers' chunks are PCM16 mono 16 kHz).
    pub sample_rate: u32,
    /// `channels=…`: 1 (mono).
    pub channels: u32,
    /// `diarize_model=…` (`Some("latest")`), or no diarization with `None`.
    ///
    /// Why not `diarize=true`, which the pre-recorded client still sends: asyncapi.yml and the
    /// docs page `diarization` both mark `diarize` deprecated in favour of `diarize_model`,
    /// which alone enables diarization; for streaming its values are `latest` (the newest GA
    /// streaming diarizer, v1 today) and `v1`, while `v2` is batch-only and refused on a
    /// stream. The fake live server accepts both spellings, as Deepgram does.
    pub diarize_model: Option<String>,
    /// `punctuate=true` and `smart_format=true` (`punctuated_word`, formatted numbers).
    pub punctuate: bool,
    /// `interim_results=…`: `Results` with `is_final: false` about every second while a
    /// window is open. Needed by `utterance_end_ms`.
    pub interim_results: bool,
    /// `endpointing=<ms>`: the pause that ends a window with `speech_final: true`
    /// (Deepgram's default is 10 ms; 300–500 ms suits conversation, §3.4), or
    /// `endpointing=false` with `None`.
    pub endpointing_ms: Option<u32>,
    /// `utterance_end_ms=<ms>`: an `UtteranceEnd` after this gap following the last word
    /// (≥ 1000 recommended, §3.4), or none with `None`.
    pub utterance_end_ms: Option<u32>,
    /// `vad_events=true`: `SpeechStarted` messages.
    pub vad_events: bool,
}

impl Default for LiveOptions {
    fn default() -> Self {
        Self {
            model: DEFAULT_MODEL.to_owned(),
            language: LiveLanguage::Code("en".to_owned()),
            encoding: "linear16".to_owned(),
            sample_rate: 16_000,
            channels: 1,
            diarize_model: Some("latest".to_owned()),
            punctuate: true,
            interim_results: true,
            endpointing_ms: Some(300),
            utterance_end_ms: Some(1000),
            vad_events: false,
        }
    }
}

impl LiveOptions {
    /// The options for a meeting's `language_preference`: `en` and `fr` are sent as
    /// `language=`, `auto` as `language=multi` ([`LiveLanguage::Multi`]).
    pub fn for_preference(preference: LanguagePreference) -> Self {
        let language = match preference {
            LanguagePreference::Auto => LiveLanguage::Multi,
            LanguagePreference::En | LanguagePreference::Fr => {
                LiveLanguage::Code(preference.as_str().to_owned())
            }
        };
        Self {
            language,
            ..Self::default()
        }
    }

    /// The query string pairs, in the order sent.
    pub fn query_pairs(&self) -> Vec<(&'static str, String)> {
        let on = |b: bool| if b { "true" } else { "false" }.to_owned();
        let mut pairs = vec![
            ("model", self.model.clone()),
            (
                "language",
                match &self.language {
                    LiveLanguage::Multi => "multi".to_owned(),
                    LiveLanguage::Code(code) => code.clone(),
                },
            ),
            ("encoding", self.encoding.clone()),
            ("sample_rate", self.sample_rate.to_string()),
            ("channels", self.channels.to_string()),
        ];
        if let Some(model) = &self.diarize_model {
            pairs.push(("diarize_model", model.clone()));
        }
        if self.punctuate {
            pairs.push(("punctuate", on(true)));
            pairs.push(("smart_format", on(true)));
        }
        pairs.push(("interim_results", on(self.interim_results)));
        pairs.push((
            "endpointing",
            self.endpointing_ms
                .map_or_else(|| on(false), |ms| ms.to_string()),
        ));
        if let Some(ms) = self.utterance_end_ms {
            pairs.push(("utterance_end_ms", ms.to_string()));
        }
        if self.vad_events {
            pairs.push(("vad_events", on(true)));
        }
        pairs
    }

    /// Bytes of audio per second of this stream (16-bit samples): 32 000 for the default.
    pub fn bytes_per_second(&self) -> u64 {
        u64::from(self.sample_rate) * u64::from(self.channels) * 2
    }
}

/// A client for Deepgram's live endpoint. Cheap to clone (the TLS configuration, with
/// Mozilla's roots compiled in from `webpki-root-certs`, is built once and shared).
#[derive(Clone)]
pub struct LiveClient {
    /// `<base>/v1/listen`, scheme `ws` or `wss`.
    endpoint: Url,
    api_key: String,
    tls: Arc<rustls::ClientConfig>,
    connect_timeout: Duration,
}

impl fmt::Debug for LiveClient {
    // The key never reaches a log line, even through `{:?}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LiveClient")
            .field("endpoint", &self.endpoint.as_str())
            .field("api_key", &"<redacted>")
            .field("connect_timeout", &self.connect_timeout)
            .finish()
    }
}

impl LiveClient {
    /// A client for the live API at `base_url` ([`DEFAULT_LIVE_BASE_URL`]; the fake's
    /// `ws://127.0.0.1:<port>` in tests), authenticating with `api_key`. `http`/`https` bases
    /// are turned into `ws`/`wss`, so the pre-recorded client's base URL works too.
    pub fn new(base_url: Url, api_key: String) -> Self {
        let mut base = base_url;
        let scheme = match base.scheme() {
            "http" => Some("ws"),
            "https" => Some("wss"),
            _ => None,
        };
        if let Some(scheme) = scheme {
            // `set_scheme` refuses only between special and non-special schemes; these four
            // are all special.
            let _ = base.set_scheme(scheme);
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let endpoint = base.join("v1/listen").unwrap_or(base);
        Self {
            endpoint,
            api_key,
            tls: Arc::new(tls_config()),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
        }
    }

    /// The same client with another handshake timeout.
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The URL a stream with `options` opens: `<base>/v1/listen?<options>`.
    pub fn url(&self, options: &LiveOptions) -> Url {
        let mut url = self.endpoint.clone();
        url.query_pairs_mut().extend_pairs(options.query_pairs());
        url
    }

    /// Opens a stream: the WebSocket handshake with `Authorization: Token <key>`. A refusal
    /// (`401`, `400` for a bad query, `429`, `5xx`) is a [`DeepgramError`] whose
    /// [`DeepgramError::is_retryable`] tells the bridge whether to try again: 408, 429, 5xx,
    /// timeouts and network failures are retryable; other statuses are not. The error's
    /// message is Deepgram's `dg-error` header when it sent one.
    pub async fn connect(&self, options: &LiveOptions) -> Result<LiveConnection, DeepgramError> {
        connection::connect(
            self.url(options),
            &self.api_key,
            self.tls.clone(),
            self.connect_timeout,
        )
        .await
    }
}

/// rustls on aws-lc (reqwest's provider, so no second TLS stack) trusting Mozilla's roots, as
/// `meetin_aws::http_client` does: no CA files read at each connection.
fn tls_config() -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(webpki_root_certs::TLS_SERVER_ROOT_CERTS.iter().cloned());
    rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("aws-lc supports rustls' default protocol versions")
    .with_root_certificates(roots)
    .with_no_client_auth()
}

#[cfg(test)]
mod tests;
