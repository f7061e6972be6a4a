//! SQS job bodies: what an HTTP function (or the bridge) queues and a worker Lambda reads.
//!
//! Each body is one JSON object with a `type` tag, a schema `version` and the job's fields, e.g.
//!
//! ```json
//! {"type":"generate_minutes","version":1,"meeting_id":"…","transcript_id":"…",
//!  "requested_by":"…","task_id":"…","output_language":"fr"}
//! ```
//!
//! Versioning: a worker reads exactly [`JobMessage::VERSION`] of each type and refuses any other
//! as poison, so a change that breaks old readers (a field renamed, removed, retyped or given a
//! new meaning) must bump the version and ship the worker first. Adding an optional field does
//! not: unknown fields are ignored.
//!
//! Every [`JobParseError`] is poison: the same bytes will fail the same way on every delivery,
//! so the worker should log it and let the message go to the DLQ rather than retry it.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// How many receives a job gets before SQS moves it to its queue's dead-letter queue: every
/// job queue's `maxReceiveCount` (template.yaml, and the local stack's queues). A worker that
/// sees the last receive of a job it would retry fails the job for good instead.
pub const MAX_RECEIVES: u32 = 3;

/// Transcribe an uploaded recording, or one window of a long one.
///
/// Producers: the upload and `complete` endpoints and `transcribe/` (contract §2.4), with no
/// `window`; the recording worker itself, one job per window of a long recording. Consumer:
/// `recording-worker` (contract §4.1 `transcribe_recording`, §4.2), which sets the recording
/// `processing`, then `ready` or `failed`; a long one it plans into windows and queues a job
/// for each, and the job of the last window in merges them (docs/api-decisions.md, "Long
/// recordings in windows"). Idempotency key: `recording_id` and `window` (the recording's
/// status and the window's stored transcription say whether the work is done).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TranscribeRecording {
    /// `recordings.id`.
    pub recording_id: Uuid,
    /// `meetings.id` of the recording's meeting.
    pub meeting_id: Uuid,
    /// `organizations.id` owning the meeting: the tenant every query of the worker is scoped to.
    pub organization_id: Uuid,
    /// S3 bucket holding the upload.
    pub bucket: String,
    /// S3 object key, the recording's `storage_key`: `recordings/{meeting_id}/{uuid}{ext}`
    /// (contract §1.2).
    pub key: String,
    /// The meeting's `language_preference`: Deepgram gets `language=en|fr`, or
    /// `detect_language=true` for `auto` (contract §4.2).
    pub language: LanguagePreference,
    /// The window of the recording this job transcribes (`recording_windows.window_index`,
    /// from 0), or absent for the recording itself. Optional, so version 1 readers and
    /// writers are unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<u32>,
}

/// Generate (or regenerate) a meeting's minutes from its transcript.
///
/// Producer: `POST /api/transcription/meetings/{meeting_id}/minutes/generate/` (contract §2.5),
/// which answers 202 `{"message": "Minutes generation started", "task_id": …}`. Consumer:
/// `minutes-worker` (contract §4.1 `generate_minutes`, §4.3), which stores the minutes, a
/// `minutes_versions` row created by `requested_by`, and the action items.
/// Idempotency key: `task_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenerateMinutes {
    /// `meetings.id`.
    pub meeting_id: Uuid,
    /// `transcripts.id` the minutes are built from (the newest when the request was made).
    pub transcript_id: Uuid,
    /// `users.id` of the member who asked; the new version's `created_by`.
    pub requested_by: Uuid,
    /// The `task_id` the 202 answer gave the client (a UUID rendered as a string there).
    pub task_id: Uuid,
    /// Language the minutes are written in (`minutes.output_language`, contract §1.3).
    pub output_language: OutputLanguage,
}

/// Run the copilot analysis over a meeting's final transcript segments.
///
/// Producers: the bridge (live, and post-meeting on stop), `POST .../live/stop/` (post-meeting)
/// and `POST /api/ai-copilot/meetings/{meeting_id}/run/` (manual) (contract §2.4, §2.6, §4.4
/// "Triggers"). Consumer: `copilot-worker` (contract §4.4), which fills the `copilot_runs` row
/// `run_id`, stores suggestions and pushes `copilot_suggestions_updated`.
/// Idempotency key: `run_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunCopilot {
    /// `meetings.id`.
    pub meeting_id: Uuid,
    /// What started the run; it decides which segments are analysed.
    pub trigger: CopilotTrigger,
    /// `copilot_runs.id` the producer chose; a redelivery finds the run finished and stops.
    pub run_id: Uuid,
}

/// What started a copilot run (contract §4.4 "Triggers", §2.6 `run/`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CopilotTrigger {
    /// New final segments during a live session: incremental, over the last 50 final segments
    /// (`copilot_runs.mode = realtime_incremental`).
    Live,
    /// The live session ended: all final segments (`mode = post_meeting`).
    PostMeeting,
    /// A member called `run/`.
    Manual,
}

/// A meeting's `language_preference` (`"en"`, `"fr"` or `"auto"`) and a minutes
/// `output_language` (`"en"` or `"fr"`): the contract's lists, from the one vocabulary module.
pub use meetin_vocab::{LanguagePreference, OutputLanguage};

/// A job body of a known type and version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Job {
    /// `"type": "transcribe_recording"`.
    TranscribeRecording(TranscribeRecording),
    /// `"type": "generate_minutes"`.
    GenerateMinutes(GenerateMinutes),
    /// `"type": "run_copilot"`.
    RunCopilot(RunCopilot),
}

/// One job type: its tag, the schema version this build writes and reads, and its body.
pub trait JobMessage: Serialize + DeserializeOwned + Into<Job> {
    /// The `type` tag.
    const TYPE: &'static str;
    /// The schema `version` written and the only one accepted.
    const VERSION: u32;

    /// Takes this type out of a parsed [`Job`], or gives the job back if it is another type.
    fn from_job(job: Job) -> Result<Self, Job>;

    /// The SQS message body: this job's fields plus `type` and `version`.
    fn to_body(&self) -> String {
        // Cannot fail: every field is a string, UUID or unit enum, so the value is an object.
        let mut value = serde_json::to_value(self).expect("job types serialize to JSON objects");
        if let Value::Object(fields) = &mut value {
            fields.insert("type".to_owned(), Value::from(Self::TYPE));
            fields.insert("version".to_owned(), Value::from(Self::VERSION));
        }
        value.to_string()
    }
}

impl JobMessage for TranscribeRecording {
    const TYPE: &'static str = "transcribe_recording";
    const VERSION: u32 = 1;
    fn from_job(job: Job) -> Result<Self, Job> {
        match job {
            Job::TranscribeRecording(j) => Ok(j),
            other => Err(other),
        }
    }
}

impl JobMessage for GenerateMinutes {
    const TYPE: &'static str = "generate_minutes";
    const VERSION: u32 = 1;
    fn from_job(job: Job) -> Result<Self, Job> {
        match job {
            Job::GenerateMinutes(j) => Ok(j),
            other => Err(other),
        }
    }
}

impl JobMessage for RunCopilot {
    const TYPE: &'static str = "run_copilot";
    const VERSION: u32 = 1;
    fn from_job(job: Job) -> Result<Self, Job> {
        match job {
            Job::RunCopilot(j) => Ok(j),
            other => Err(other),
        }
    }
}

impl From<TranscribeRecording> for Job {
    fn from(job: TranscribeRecording) -> Self {
        Job::TranscribeRecording(job)
    }
}

impl From<GenerateMinutes> for Job {
    fn from(job: GenerateMinutes) -> Self {
        Job::GenerateMinutes(job)
    }
}

impl From<RunCopilot> for Job {
    fn from(job: RunCopilot) -> Self {
        Job::RunCopilot(job)
    }
}

impl Job {
    /// The `type` tag of this job.
    pub fn type_name(&self) -> &'static str {
        match self {
            Job::TranscribeRecording(_) => TranscribeRecording::TYPE,
            Job::GenerateMinutes(_) => GenerateMinutes::TYPE,
            Job::RunCopilot(_) => RunCopilot::TYPE,
        }
    }

    /// The SQS message body (see [`JobMessage::to_body`]).
    pub fn to_body(&self) -> String {
        match self {
            Job::TranscribeRecording(j) => j.to_body(),
            Job::GenerateMinutes(j) => j.to_body(),
            Job::RunCopilot(j) => j.to_body(),
        }
    }
}

/// Why a job body was refused. Every variant is poison: redelivering the same body cannot help.
#[derive(Debug)]
pub enum JobParseError {
    /// The body is not JSON at all.
    NotJson(serde_json::Error),
    /// The body is JSON but not an object.
    NotAnObject,
    /// The object has no string `type`.
    MissingType,
    /// The `type` names no job this build knows.
    UnknownType(String),
    /// A known `type` whose `version` is missing or not the one this build reads.
    UnsupportedVersion {
        /// The `type` tag.
        job_type: &'static str,
        /// The `version` found, as JSON (`null` when missing).
        found: Value,
        /// The version this build reads.
        supported: u32,
    },
    /// A known type and version whose fields are missing or mistyped.
    BadFields {
        /// The `type` tag.
        job_type: &'static str,
        /// serde's description, naming the field.
        source: serde_json::Error,
    },
    /// A valid job of another type than the queue carries (from [`parse_as`]).
    UnexpectedType {
        /// The type this worker takes.
        expected: &'static str,
        /// The type it got.
        found: &'static str,
    },
}

impl JobParseError {
    /// A short stable label for logs and metrics: `not_json`, `not_an_object`, `missing_type`,
    /// `unknown_type`, `unsupported_version`, `bad_fields` or `unexpected_type`.
    pub fn kind(&self) -> &'static str {
        match self {
            JobParseError::NotJson(_) => "not_json",
            JobParseError::NotAnObject => "not_an_object",
            JobParseError::MissingType => "missing_type",
            JobParseError::UnknownType(_) => "unknown_type",
            JobParseError::UnsupportedVersion { .. } => "unsupported_version",
            JobParseError::BadFields { .. } => "bad_fields",
            JobParseError::UnexpectedType { .. } => "unexpected_type",
        }
    }
}

impl fmt::Display for JobParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JobParseError::NotJson(e) => write!(f, "job body is not JSON: {e}"),
            JobParseError::NotAnObject => f.write_str("job body is not a JSON object"),
            JobParseError::MissingType => f.write_str("job body has no string `type`"),
            JobParseError::UnknownType(t) => write!(f, "unknown job type `{t}`"),
            JobParseError::UnsupportedVersion {
                job_type,
                found,
                supported,
            } => write!(
                f,
                "job `{job_type}` has version {found}; this build reads version {supported}"
            ),
            JobParseError::BadFields { job_type, source } => {
                write!(f, "job `{job_type}` has bad fields: {source}")
            }
            JobParseError::UnexpectedType { expected, found } => {
                write!(f, "this queue takes `{expected}` jobs, got `{found}`")
            }
        }
    }
}

impl std::error::Error for JobParseError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            JobParseError::NotJson(e) | JobParseError::BadFields { source: e, .. } => Some(e),
            _ => None,
        }
    }
}

/// Reads one SQS message body. Errors are all poison (see [`JobParseError`]).
pub fn parse(body: &str) -> Result<Job, JobParseError> {
    let value: Value = serde_json::from_str(body).map_err(JobParseError::NotJson)?;
    let Some(fields) = value.as_object() else {
        return Err(JobParseError::NotAnObject);
    };
    let Some(job_type) = fields.get("type").and_then(Value::as_str) else {
        return Err(JobParseError::MissingType);
    };
    match job_type {
        TranscribeRecording::TYPE => decode::<TranscribeRecording>(value).map(Job::from),
        GenerateMinutes::TYPE => decode::<GenerateMinutes>(value).map(Job::from),
        RunCopilot::TYPE => decode::<RunCopilot>(value).map(Job::from),
        other => Err(JobParseError::UnknownType(other.to_owned())),
    }
}

/// [`parse`] for a worker whose queue carries one job type: any other type is poison too.
pub fn parse_as<T: JobMessage>(body: &str) -> Result<T, JobParseError> {
    T::from_job(parse(body)?).map_err(|job| JobParseError::UnexpectedType {
        expected: T::TYPE,
        found: job.type_name(),
    })
}

fn decode<T: JobMessage>(value: Value) -> Result<T, JobParseError> {
    let found = value.get("version").cloned().unwrap_or(Value::Null);
    if found.as_u64() != Some(u64::from(T::VERSION)) {
        return Err(JobParseError::UnsupportedVersion {
            job_type: T::TYPE,
            found,
            supported: T::VERSION,
        });
    }
    serde_json::from_value(value).map_err(|source| JobParseError::BadFields {
        job_type: T::TYPE,
        source,
    })
}

#[cfg(test)]
mod tests;
