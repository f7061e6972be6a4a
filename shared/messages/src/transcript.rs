//! The transcript segment every engine returns and the data crate stores (issue 17): Deepgram's
//! pre-recorded utterances (`meetin-deepgram`), the embedded Whisper engine's sentences
//! (`meetin-whisper`) and, next, the live bridge's final results. One shape, so the recording
//! worker and the bridge store them alike (`meetin_data::transcripts`).

pub mod windows;

/// One `transcript_segments` row before it has a transcript or a speaker id. Values are
/// fitted to the table's checks by the engine that makes them.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Segment {
    /// Start in milliseconds from the start of the audio, at least 0.
    pub start_ms: i32,
    /// End in milliseconds, never before `start_ms`.
    pub end_ms: i32,
    /// `Speaker N` (at most 100 characters): the meeting's speaker row of that label is
    /// created when missing.
    pub speaker_label: String,
    /// The text, trimmed; never empty.
    pub text: String,
    /// 0..=1, or `None` when the engine gave none (or one outside that range).
    pub confidence: Option<f64>,
}

/// Everything one transcription of a recording gives.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Transcription {
    /// A BCP-47 tag such as `en` or `fr` when known (`transcripts.language_detected`, at most
    /// 10 characters: longer tags are not stored).
    pub language_detected: Option<String>,
    /// The audio's length in milliseconds.
    pub duration_ms: i64,
    /// In time order; empty when nothing was said.
    pub segments: Vec<Segment>,
}
