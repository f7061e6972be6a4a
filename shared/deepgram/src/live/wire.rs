//! The live WebSocket's messages, as JSON text frames (protocols.md §3.2, from Deepgram's
//! `asyncapi.yml` channel `/v1/listen`, the Rust SDK's `stream_response.rs` and the Python SDK's
//! recorded fixtures). Times are seconds on the connection's own clock, which starts at 0 when
//! the socket opens (a reconnection starts it again at 0); confidences are floats in 0..=1.
//!
//! Fields the spec marks required but meetIN never reads (`metadata` of a `Results`, `sha256`,
//! `created`, …) are optional here: a transcript must not be lost because Deepgram left out a
//! field we do not use.

use serde::{Deserialize, Serialize};

/// A control message the client sends as a text frame (asyncapi.yml `ListenV1Finalize`,
/// `ListenV1CloseStream`, `ListenV1KeepAlive`). Audio goes as binary frames, never as this.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ClientMessage {
    /// `{"type":"KeepAlive"}`: keeps the socket open while no audio flows (the 10 s rule,
    /// protocols.md §3.3). No reply.
    KeepAlive,
    /// `{"type":"Finalize"}`: transcribe what is buffered now; the resulting `Results` may
    /// carry `from_finalize: true` ("not guaranteed" when little audio is buffered).
    Finalize {
        /// Only this channel (`"channel": 0`); all channels when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        channel: Option<u32>,
    },
    /// `{"type":"CloseStream"}`: finish, send the last `Results`, a [`MetadataMessage`], then
    /// close (1000).
    CloseStream,
}

/// A message Deepgram sends (all text frames), told apart by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ServerMessage {
    /// A transcript of a stretch of audio, interim or final.
    Results(Box<ResultsMessage>),
    /// The summary sent after `CloseStream`, just before the close.
    Metadata(MetadataMessage),
    /// A gap of `utterance_end_ms` after the last word (needs `interim_results=true`).
    UtteranceEnd(UtteranceEnd),
    /// Speech began (only with `vad_events=true`).
    SpeechStarted(SpeechStarted),
    /// A `type` this crate does not know (Deepgram may add some); its content is dropped.
    #[serde(other)]
    Unknown,
}

/// `{"type":"Results", …}` (asyncapi.yml `ListenV1Results`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultsMessage {
    /// `[channel index, number of channels]`, e.g. `[0, 1]` for mono audio.
    pub channel_index: Vec<u32>,
    /// Length of the audio window this result covers, in seconds.
    pub duration: f64,
    /// Start of that window, in seconds on the connection's clock.
    pub start: f64,
    /// `true`: this window's text will not change any more (store it); `false`: an interim
    /// guess that a later `Results` of the same window replaces (show it, never store it).
    #[serde(default)]
    pub is_final: bool,
    /// `true`: an endpoint (a pause of `endpointing` ms) ends the window; the speaker finished a
    /// thought. Implies `is_final`.
    #[serde(default)]
    pub speech_final: bool,
    /// `true` when a `Finalize` message produced this result. Optional in the spec, always
    /// present in the Rust SDK's type.
    #[serde(default)]
    pub from_finalize: bool,
    /// The transcript candidates.
    pub channel: ResultsChannel,
    /// Which request and model produced it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<ResultsMetadata>,
}

/// `Results.channel`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultsChannel {
    /// Candidates, best first (one unless `alternatives=N` was asked).
    pub alternatives: Vec<LiveAlternative>,
}

/// `Results.channel.alternatives[i]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveAlternative {
    /// The window's text (punctuated with `punctuate` / `smart_format`); empty for silence.
    pub transcript: String,
    /// 0..=1.
    pub confidence: f64,
    /// Each word with its timing.
    #[serde(default)]
    pub words: Vec<LiveWord>,
    /// BCP-47 tags of the languages heard, with `language=multi`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub languages: Vec<String>,
}

/// One word of a live `Results`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveWord {
    /// Lowercase, unpunctuated (`"for"`).
    pub word: String,
    /// Start in seconds on the connection's clock.
    pub start: f64,
    /// End in seconds on the connection's clock.
    pub end: f64,
    /// 0..=1.
    pub confidence: f64,
    /// As displayed (`"For"`), with `punctuate` / `smart_format`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub punctuated_word: Option<String>,
    /// Speaker number from 0, with diarization. (Live words carry no `speaker_confidence`.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speaker: Option<u32>,
    /// BCP-47 tag of the word's language, with `language=multi`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

/// `Results.metadata`: `{request_id, model_info{name,version,arch}, model_uuid}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultsMetadata {
    /// The connection's request id (the `dg-request-id` of the handshake).
    pub request_id: String,
    /// Name, version and architecture of the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_info: Option<crate::response::ModelInfo>,
    /// The model's UUID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_uuid: Option<String>,
}

/// `{"type":"Metadata", …}`: `{transaction_key, request_id, sha256, created, duration,
/// channels}` (docs page `close-stream`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetadataMessage {
    /// The connection's request id, for Deepgram's support.
    pub request_id: String,
    /// Always `"deprecated"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_key: Option<String>,
    /// SHA-256 of the audio received, lowercase hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// When the request was created, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// Seconds of audio received on this connection.
    pub duration: f64,
    /// Audio channels (0 when no audio arrived).
    pub channels: u32,
}

/// `{"type":"UtteranceEnd","channel":[0,1],"last_word_end":2.395}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UtteranceEnd {
    /// `[channel index, number of channels]`.
    pub channel: Vec<u32>,
    /// End of the last word before the gap, in seconds on the connection's clock.
    pub last_word_end: f64,
}

/// `{"type":"SpeechStarted","channel":[0],"timestamp":0.0}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpeechStarted {
    /// `[channel index, …]`.
    pub channel: Vec<u32>,
    /// Where speech began, in seconds on the connection's clock.
    pub timestamp: f64,
}

#[cfg(test)]
mod tests;
