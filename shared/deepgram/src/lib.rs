//! Deepgram's pre-recorded (batch) speech-to-text API, as the recording worker uses it: one
//! `POST /v1/listen` naming a presigned S3 GET URL, the typed JSON answer, and the mapping from
//! that answer to our `transcripts` / `transcript_segments` rows. And its live API, as the live
//! bridge uses it ([`live`]: the `/v1/listen` WebSocket).
//!
//! ```text
//! DeepgramClient::transcribe_url(url, &PrerecordedOptions::for_language("auto"))
//!     -> PrerecordedResponse             (response.rs: exactly the documented fields we read)
//!     -> transcription(&response)        (segments.rs: language, duration_ms, Vec<Segment>)
//! ```
//!
//! Sources for the wire shapes: Deepgram's `openapi.yml` (`deepgram/deepgram-api-specs`,
//! operation `transcribe`, schema `ListenV1Response`), the docs pages `pre-recorded-audio`,
//! `utterances`, `language-detection` and `errors` (developers.deepgram.com/docs/…), and
//! `shared/design/protocols.md` §3.3 and §3.5, which summarises them.
//!
//! Retrying is left to the caller: [`DeepgramError::is_retryable`] tells a worker whether to let
//! SQS redeliver the job (its visibility timeout is the backoff, its redrive policy the bound)
//! or to fail the recording at once. Nothing here logs: neither the API key, nor the audio URL
//! (a presigned URL is a bearer credential), nor transcript text.

mod client;
#[cfg(feature = "live")]
pub mod live;
mod response;
mod segments;

pub use client::{
    DEFAULT_BASE_URL, DEFAULT_MODEL, DEFAULT_TIMEOUT, DeepgramClient, DeepgramError, Language,
    PrerecordedOptions,
};
pub use response::{
    Alternative, Channel, Metadata, ModelInfo, PrerecordedResponse, Results, Utterance, Word,
};
pub use segments::{Segment, Transcription, segments, speaker_label, transcription};
