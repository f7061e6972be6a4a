//! The messages meetIN's deployables send one another, in one crate that producers and
//! consumers both depend on, so a renamed field breaks the build instead of a queue.
//!
//! | type | producers | consumers |
//! |---|---|---|
//! | [`jobs::TranscribeRecording`] | `meetings` (`recordings/{id}/complete/`) | `recording-worker` |
//! | [`jobs::GenerateMinutes`] | `transcription` (`minutes/generate/`) | `minutes-worker` |
//! | [`jobs::RunCopilot`] | `copilot` (`run/`), `meetings` (`live/stop/`), `live-bridge` | `copilot-worker` |
//! | [`socket::ClientMessage`] | browsers (and test clients) | `live-socket` (`$default`), `live-bridge` (legacy path) |
//! | [`socket::ServerMessage`] | `live-socket`, `live-bridge`, `minutes-worker`, `copilot-worker`, `copilot` | browsers |
//! | [`transcript::Segment`], [`transcript::Transcription`] | `meetin-deepgram`, `meetin-whisper`, `live-bridge` | `recording-worker`, `meetin-data` |
//!
//! Jobs travel as SQS message bodies ([`jobs::JobMessage::to_body`], [`jobs::parse`]); socket
//! messages as WebSocket text frames ([`socket::parse_client`], [`socket::ServerMessage::to_text`]),
//! pushed to API Gateway connections through `@connections` or written directly by the bridge.
//!
//! This crate holds data shapes only (serde, serde_json, uuid, chrono, and the contract's choice
//! lists from meetin-vocab): no worker or bridge ever imports an HTTP function, and none of them
//! needs AWS, SQL or a web framework to read these.

pub mod jobs;
pub mod socket;
pub mod transcript;

pub use jobs::{Job, JobMessage, JobParseError};
pub use socket::{ClientMessage, ClientMessageError, ServerMessage};
