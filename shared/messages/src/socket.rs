//! Live-socket frames (contract §3 "WebSocket protocol", decision 7): JSON text frames tagged by
//! `type`, client → server ([`ClientMessage`]) and server → client ([`ServerMessage`]).
//!
//! Both sockets speak them: the API Gateway WebSocket API (`?meeting_id=&token=`, audio as
//! base64 `audio_chunk` text frames since API Gateway rejects binary frames with close code 1003)
//! and the bridge's legacy path `/ws/meetings/{id}/live/?token=` (raw binary PCM frames, which
//! are not messages and never reach [`parse_client`]).
//!
//! Size limits on API Gateway (protocols §2.3): a frame is at most 32 KB and a message at most
//! [`MAX_MESSAGE_BYTES`]; a larger one closes the connection with 1009, `@connections` posts
//! included.

use meetin_vocab::drf;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

/// Largest message API Gateway carries, in bytes (128 KB, protocols §2.3).
pub const MAX_MESSAGE_BYTES: usize = 128 * 1024;

/// `error` message when audio arrives with no `active` live session (contract §3); also the
/// answer to a `stop` control then.
pub const NO_ACTIVE_SESSION: &str = "No active transcription session";

/// Longest `stream` name of an `audio_chunk`, in characters.
pub const MAX_STREAM_CHARS: usize = 64;

/// `error` message for a failure inside the server while handling a frame (contract §3).
pub const PROCESSING_FAILED: &str = "An error occurred processing your message";

/// A frame a client sends (contract §3 "Client → server messages").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// `{"type":"audio_chunk","seq":n,"data":"<base64>","stream":"…"}` (decision 7): `data`
    /// is base64 of 16-bit signed little-endian PCM, mono, 16 kHz; the frontend's frames are
    /// 4096 samples (8192 bytes, 256 ms). `seq` counts from 0 per audio stream so the bridge
    /// restores the order API Gateway's concurrent invocations lose. `stream` (optional, at
    /// most [`MAX_STREAM_CHARS`] characters) names the stream: a client that reconnects sends
    /// the same name and resends from its last acknowledged `seq` + 1 ([`ServerMessage::AudioAck`]);
    /// without it each connection is its own stream. The bridge decodes `data`.
    AudioChunk {
        /// Position of this chunk in its stream, from 0.
        seq: u64,
        /// Base64 PCM (not decoded here).
        data: String,
        /// The client's name for the stream; `None`: the connection's own.
        stream: Option<String>,
    },
    /// `{"type":"resume","after_segment_id":"…"}` or `{"type":"resume","after_ms":n}`: a
    /// reconnecting listener asks for the final segments it missed (those after that segment,
    /// or starting at or after that time; all of them with neither), sent before new ones.
    Resume {
        /// The last final segment the client has.
        after_segment_id: Option<Uuid>,
        /// Session time in ms: segments starting at or after it.
        after_ms: Option<i64>,
    },
    /// `{"type":"control","control":"start"|"stop"}`.
    Control {
        /// What the client asks for.
        control: Control,
    },
    /// `{"type":"speaker_mapping","speaker_label":…,"display_name":…}`: names a diarized
    /// speaker of the meeting; answered by a `speaker_updated` broadcast to every listener.
    SpeakerMapping {
        /// `speakers.label`, e.g. `"Speaker 0"`; 1..=100 characters.
        speaker_label: String,
        /// New `speakers.display_name`; 1..=255 characters.
        display_name: String,
    },
}

/// The `control` of a control frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Control {
    /// Sessions start over REST; the reply says so (`use_api_to_start`).
    Start,
    /// Ends the meeting's active live session, as `POST .../live/stop/` does.
    Stop,
}

/// The `status` of a `control_response`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ControlStatus {
    /// Reply to `start` (contract §3): `"use_api_to_start"`.
    UseApiToStart,
    /// Reply to `stop` once the session has ended: `"stopped"` (the original never got there).
    Stopped,
}

/// A frame the server pushes (contract §3 "Server → client messages").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// `{"type":"transcript_segment","data":{…}}`: a final result, already stored as a
    /// `transcript_segments` row. The frontend appends every one it gets.
    TranscriptSegment {
        /// The stored segment.
        data: TranscriptSegmentData,
    },
    /// `{"type":"transcript_interim","data":{…}}`: an interim result, replaced by later ones
    /// and never stored. Its own type so the existing frontend (which logs and skips unknown
    /// types) does not append it.
    TranscriptInterim {
        /// The provisional text.
        data: InterimSegmentData,
    },
    /// `{"type":"speaker_updated","speaker_label":…,"display_name":…}`.
    SpeakerUpdated {
        /// `speakers.label`.
        speaker_label: String,
        /// The new `speakers.display_name`.
        display_name: String,
    },
    /// `{"type":"session_status","status":…,"message":…}`.
    SessionStatus {
        /// The live session's state as listeners should see it.
        status: SessionStatus,
        /// A human-readable sentence.
        message: String,
    },
    /// `{"type":"control_response","control":…,"status":…}`.
    ControlResponse {
        /// The control answered.
        control: Control,
        /// The outcome.
        status: ControlStatus,
    },
    /// `{"type":"audio_ack","stream":…,"seq":n}`: every chunk of `stream` up to `seq` is
    /// transcribed and its finals stored; a client may drop them. Sent to the speaking
    /// connection at most about once a second.
    AudioAck {
        /// The stream's name (the client's, or the connection id when it gave none).
        stream: String,
        /// The last chunk safely transcribed.
        seq: u64,
    },
    /// `{"type":"audio_resend","stream":…,"from_seq":n}`: the bridge lost the chunks of
    /// `stream` from `from_seq` on (its task was replaced) and asks the client to send them
    /// again; a client that no longer has them goes on, and the gap is skipped.
    AudioResend {
        /// The stream's name.
        stream: String,
        /// The first chunk to send again.
        from_seq: u64,
    },
    /// `{"type":"error","message":…}`; see [`ClientMessageError::message`], [`NO_ACTIVE_SESSION`]
    /// and [`PROCESSING_FAILED`] for the strings.
    Error {
        /// One of the contract's error strings.
        message: String,
    },
    /// `{"type":"copilot_suggestions_updated","data":{"suggestions":[…],"meeting_id":…}}`
    /// (contract §3, the fixed forward of the orchestrator's group send).
    CopilotSuggestionsUpdated {
        /// The meeting's changed suggestions.
        data: CopilotSuggestionsUpdated,
    },
    /// `{"type":"copilot_suggestion_status_updated","data":{"suggestion_id","status","meeting_id"}}`.
    CopilotSuggestionStatusUpdated {
        /// The suggestion whose status changed.
        data: CopilotSuggestionStatusUpdated,
    },
    /// `{"type":"minutes_generated","data":{"meeting_id","minutes_id","task_id"}}`: the minutes
    /// job the 202 of `minutes/generate/` announced has stored its result (architecture
    /// "Minutes and copilot": the worker "tells connected clients"; not in the original).
    MinutesGenerated {
        /// Which minutes, and which request they answer.
        data: MinutesGenerated,
    },
}

impl ServerMessage {
    /// `{"type":"error","message":…}`.
    pub fn error(message: impl Into<String>) -> Self {
        ServerMessage::Error {
            message: message.into(),
        }
    }

    /// The text frame to send.
    pub fn to_text(&self) -> String {
        // Cannot fail: every map key is a string (serde_json writes a NaN confidence as null).
        serde_json::to_string(self).expect("server messages serialize")
    }
}

/// `data` of `transcript_segment`: the frontend's `TranscriptSegmentData` (contract §3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TranscriptSegmentData {
    /// `transcript_segments.id`.
    pub id: Uuid,
    /// `speakers.label`, e.g. `"Speaker 1"`.
    pub speaker_label: String,
    /// `speakers.display_name`, `null` until someone names the speaker.
    pub speaker_display_name: Option<String>,
    /// The words.
    pub text: String,
    /// Deepgram's confidence, 0..=1, or `null`.
    pub confidence: Option<f64>,
    /// Always `true` here: only final results are `transcript_segment`s.
    pub is_final: bool,
    /// Start, in ms from the start of the session's audio.
    pub start_ms: i32,
    /// End, in ms from the start of the session's audio.
    pub end_ms: i32,
    /// When the segment was stored (`created_at`), ISO-8601 UTC as the REST API renders it.
    pub timestamp: drf::DateTime,
}

/// `data` of `transcript_interim`: the shape of [`TranscriptSegmentData`] without `id` and
/// `is_final`, since nothing is stored yet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InterimSegmentData {
    /// Provider label mapped to `"Speaker {n}"`.
    pub speaker_label: String,
    /// The speaker's display name if already known.
    pub speaker_display_name: Option<String>,
    /// The provisional words.
    pub text: String,
    /// 0..=1, or `null`.
    pub confidence: Option<f64>,
    /// Start, in ms from the start of the session's audio.
    pub start_ms: i32,
    /// End, in ms from the start of the session's audio.
    pub end_ms: i32,
    /// When the bridge received the result, ISO-8601 UTC.
    pub timestamp: drf::DateTime,
}

/// `session_status.status`. The frontend acts on `"disconnected"` only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    /// Audio is being transcribed.
    Active,
    /// The bridge lost Deepgram (or its task) and is resuming; audio is kept.
    Reconnecting,
    /// The session was stopped; no more segments will come.
    Ended,
    /// The session failed (`live_sessions.status = failed`).
    Failed,
    /// This connection will get nothing more (the frontend shows it as disconnected).
    Disconnected,
}

/// `data` of `copilot_suggestions_updated`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CopilotSuggestionsUpdated {
    /// The suggestions the run created or merged.
    pub suggestions: Vec<PushedSuggestion>,
    /// `meetings.id`.
    pub meeting_id: Uuid,
}

/// One suggestion in `copilot_suggestions_updated` (contract §3): a subset of the REST
/// Suggestion JSON, with `payload` for `payload_json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushedSuggestion {
    /// `copilot_suggestions.id`.
    pub id: Uuid,
    /// `action_item`, `decision`, `risk` or `question`.
    #[serde(rename = "type")]
    pub kind: SuggestionType,
    /// `proposed`, `accepted`, `rejected` or `edited`.
    pub status: SuggestionStatus,
    /// The LLM item (contract §4.4 output schema), as stored in `payload_json`.
    pub payload: Value,
    /// 0..=1, or `null`.
    pub confidence: Option<f64>,
    /// `created_at`, ISO-8601 UTC.
    pub created_at: drf::DateTime,
}

/// `data` of `copilot_suggestion_status_updated`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopilotSuggestionStatusUpdated {
    /// `copilot_suggestions.id`.
    pub suggestion_id: Uuid,
    /// Its new status.
    pub status: SuggestionStatus,
    /// `meetings.id`.
    pub meeting_id: Uuid,
}

/// `data` of `minutes_generated`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MinutesGenerated {
    /// `meetings.id`.
    pub meeting_id: Uuid,
    /// `minutes.id` (fetch it with `GET .../minutes/`).
    pub minutes_id: Uuid,
    /// The `task_id` of the 202 that asked for it.
    pub task_id: Uuid,
}

/// `copilot_suggestions.type` and `.status` (contract §1.5): the vocabulary's lists.
pub use meetin_vocab::{SuggestionStatus, SuggestionType};

/// Why a client text frame was refused; [`message`](Self::message) is the `error` to send back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientMessageError {
    /// Not JSON: `"Invalid message format"` (contract §3).
    InvalidFormat,
    /// JSON but not an object: `"An error occurred processing your message"` (contract §3).
    NotAnObject,
    /// `speaker_mapping` without a 1..=100-character `speaker_label`: `"Invalid speaker_label"`.
    InvalidSpeakerLabel,
    /// `speaker_mapping` without a 1..=255-character `display_name`: `"Invalid display_name"`.
    InvalidDisplayName,
    /// `audio_chunk` without a non-negative integer `seq`: `"Invalid seq"` (ours, same pattern).
    InvalidSeq,
    /// `audio_chunk` without a string `data`: `"Invalid data"` (ours, same pattern).
    InvalidData,
    /// `control` other than `"start"`/`"stop"`: `"Invalid control"` (ours, same pattern).
    InvalidControl,
    /// `audio_chunk` whose `stream` is not a 1..=64-character string: `"Invalid stream"`.
    InvalidStream,
    /// `resume` whose `after_segment_id` is not a uuid or `after_ms` not a non-negative
    /// integer: `"Invalid resume"`.
    InvalidResume,
}

impl ClientMessageError {
    /// The `message` of the `error` frame answering this refusal.
    pub fn message(self) -> &'static str {
        match self {
            ClientMessageError::InvalidFormat => "Invalid message format",
            ClientMessageError::NotAnObject => PROCESSING_FAILED,
            ClientMessageError::InvalidSpeakerLabel => "Invalid speaker_label",
            ClientMessageError::InvalidDisplayName => "Invalid display_name",
            ClientMessageError::InvalidSeq => "Invalid seq",
            ClientMessageError::InvalidData => "Invalid data",
            ClientMessageError::InvalidControl => "Invalid control",
            ClientMessageError::InvalidStream => "Invalid stream",
            ClientMessageError::InvalidResume => "Invalid resume",
        }
    }

    /// The `error` frame to send back.
    pub fn to_server_message(self) -> ServerMessage {
        ServerMessage::error(self.message())
    }
}

impl std::fmt::Display for ClientMessageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for ClientMessageError {}

/// Reads one client text frame. `Ok(None)` is an object whose `type` is missing or unknown,
/// which the contract ignores silently; a refusal carries the `error` message to answer with.
pub fn parse_client(text: &str) -> Result<Option<ClientMessage>, ClientMessageError> {
    let value: Value = serde_json::from_str(text).map_err(|_| ClientMessageError::InvalidFormat)?;
    let Value::Object(fields) = value else {
        return Err(ClientMessageError::NotAnObject);
    };
    let message = match fields.get("type").and_then(Value::as_str) {
        Some("audio_chunk") => ClientMessage::AudioChunk {
            seq: fields
                .get("seq")
                .and_then(Value::as_u64)
                .ok_or(ClientMessageError::InvalidSeq)?,
            data: string(&fields, "data", usize::MAX).ok_or(ClientMessageError::InvalidData)?,
            stream: match fields.get("stream") {
                None | Some(Value::Null) => None,
                Some(_) => Some(
                    string(&fields, "stream", MAX_STREAM_CHARS)
                        .filter(|s| !s.is_empty())
                        .ok_or(ClientMessageError::InvalidStream)?,
                ),
            },
        },
        Some("resume") => ClientMessage::Resume {
            after_segment_id: match fields.get("after_segment_id") {
                None | Some(Value::Null) => None,
                Some(v) => Some(
                    v.as_str()
                        .and_then(|s| Uuid::parse_str(s).ok())
                        .ok_or(ClientMessageError::InvalidResume)?,
                ),
            },
            after_ms: match fields.get("after_ms") {
                None | Some(Value::Null) => None,
                Some(v) => Some(
                    v.as_i64()
                        .filter(|ms| *ms >= 0)
                        .ok_or(ClientMessageError::InvalidResume)?,
                ),
            },
        },
        Some("control") => ClientMessage::Control {
            control: fields
                .get("control")
                .and_then(|c| Control::deserialize(c).ok())
                .ok_or(ClientMessageError::InvalidControl)?,
        },
        Some("speaker_mapping") => ClientMessage::SpeakerMapping {
            speaker_label: string(&fields, "speaker_label", 100)
                .filter(|s| !s.is_empty())
                .ok_or(ClientMessageError::InvalidSpeakerLabel)?,
            display_name: string(&fields, "display_name", 255)
                .filter(|s| !s.is_empty())
                .ok_or(ClientMessageError::InvalidDisplayName)?,
        },
        _ => return Ok(None),
    };
    Ok(Some(message))
}

/// A string field of at most `max_chars` characters.
fn string(fields: &Map<String, Value>, name: &str, max_chars: usize) -> Option<String> {
    let s = fields.get(name)?.as_str()?;
    (s.chars().count() <= max_chars).then(|| s.to_owned())
}

#[cfg(test)]
mod tests;
