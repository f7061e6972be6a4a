//! The pre-recorded response body (`ListenV1Response` in Deepgram's `openapi.yml`), limited to
//! the fields meetIN reads. Unknown fields (`paragraphs`, `summary`, `search`, …) are ignored, so
//! a request with more features still parses. Times are seconds from the start of the audio as
//! JSON numbers; confidences are floats in 0..=1.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// The whole 200 answer of `POST /v1/listen` (without `callback`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrerecordedResponse {
    /// About the request and the audio.
    pub metadata: Metadata,
    /// The transcription itself.
    pub results: Results,
}

/// `metadata`: `{transaction_key, request_id, sha256, created, duration, channels, models,
/// model_info}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    /// Deepgram's id for the request (a UUID on the real service; quote it to their support).
    pub request_id: String,
    /// SHA-256 of the audio Deepgram processed, lowercase hex.
    #[serde(default)]
    pub sha256: Option<String>,
    /// When Deepgram created the request, RFC 3339 (`"2025-07-22T16:56:41.450Z"`).
    #[serde(default)]
    pub created: Option<String>,
    /// Length of the audio in seconds (`17.566313`).
    pub duration: f64,
    /// Number of audio channels in the file.
    pub channels: u32,
    /// UUIDs of the models used.
    #[serde(default)]
    pub models: Vec<String>,
    /// Model UUID → name, version and architecture.
    #[serde(default)]
    pub model_info: HashMap<String, ModelInfo>,
}

/// One entry of `metadata.model_info`: `{"name":"general-nova-3","version":"2024-12-20.0","arch":"nova-3"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// Model name, e.g. `general-nova-3`.
    pub name: String,
    /// Model version, e.g. `2024-12-20.0`.
    pub version: String,
    /// Architecture, e.g. `nova-3`.
    pub arch: String,
}

/// `results`: one entry per audio channel, and utterances when `utterances=true` was asked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Results {
    /// One per channel (one for mono audio without `multichannel`).
    pub channels: Vec<Channel>,
    /// Present only with `utterances=true`; chronological, per channel.
    #[serde(default)]
    pub utterances: Vec<Utterance>,
}

/// `results.channels[i]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Channel {
    /// Transcript candidates, best first (one unless `alternatives=N` was asked).
    pub alternatives: Vec<Alternative>,
    /// BCP-47 tag of the dominant language, present only with `detect_language=true`.
    ///
    /// Deepgram puts it here, per channel (`results.channels[i].detected_language`, docs page
    /// `language-detection`), not under `metadata` or `results.metadata`: the original backend
    /// read `results.metadata.detected_language` and so always stored `"unknown"`
    /// (contract §4.2).
    #[serde(default)]
    pub detected_language: Option<String>,
    /// 0..=1 confidence in `detected_language` (absent for Whisper models).
    #[serde(default)]
    pub language_confidence: Option<f64>,
}

/// `results.channels[i].alternatives[j]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alternative {
    /// The whole channel's text (punctuated with `punctuate` / `smart_format`).
    pub transcript: String,
    /// 0..=1 overall confidence.
    pub confidence: f64,
    /// Every word with its timing.
    #[serde(default)]
    pub words: Vec<Word>,
}

/// One recognised word.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Word {
    /// Lowercase, unpunctuated (`"yep"`).
    pub word: String,
    /// Start in seconds.
    pub start: f64,
    /// End in seconds.
    pub end: f64,
    /// 0..=1.
    pub confidence: f64,
    /// Speaker number from 0, present with diarization.
    #[serde(default)]
    pub speaker: Option<u32>,
    /// 0..=1 confidence in `speaker` (pre-recorded diarization only).
    #[serde(default)]
    pub speaker_confidence: Option<f64>,
    /// The word as it should be displayed (`"Yep."`), present with `punctuate` / `smart_format`.
    #[serde(default)]
    pub punctuated_word: Option<String>,
}

/// `results.utterances[k]`: a stretch of speech by one speaker, split at pauses of `utt_split`
/// seconds (default 0.8).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Utterance {
    /// Start in seconds.
    pub start: f64,
    /// End in seconds.
    pub end: f64,
    /// 0..=1.
    pub confidence: f64,
    /// Audio channel index.
    pub channel: u32,
    /// The utterance's text.
    pub transcript: String,
    /// Its words.
    #[serde(default)]
    pub words: Vec<Word>,
    /// Speaker number from 0, present with diarization.
    #[serde(default)]
    pub speaker: Option<u32>,
    /// Deepgram's id for the utterance (a UUID).
    pub id: String,
}
