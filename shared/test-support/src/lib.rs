//! Helpers for the local stack and the tests, never linked into a deployed function:
//! creating the local databases and the emulator's resources, idempotently; a fake Deepgram
//! pre-recorded API ([`fake_deepgram`]) and live API ([`fake_deepgram_live`]); a fake OpenAI / Azure OpenAI Chat Completions API
//! ([`fake_openai`]); real speech fixtures and the word error rate ([`speech`]).

pub mod fake_deepgram;
pub mod fake_deepgram_live;
pub mod fake_openai;
pub mod fake_server;
pub mod hostile;
pub mod provision;
pub mod settings;
pub mod speech;
pub mod stack;
pub mod tone_speech;

pub use provision::{
    JOB_QUEUES, ensure_database, ensure_ephemeral_table, ensure_job_queue,
    ensure_recordings_bucket, ensure_secret, ensure_transcription_queue, job_queue_urls,
    provision_local,
};
pub use settings::local_settings;
