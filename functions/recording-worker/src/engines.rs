//! The two engines over one audio object or file, and how their errors end a job.

use std::path::Path;
use std::sync::Arc;

use meetin_deepgram::{DeepgramClient, DeepgramError, PrerecordedOptions};
use meetin_messages::jobs::MAX_RECEIVES;
use meetin_messages::transcript::Transcription;
use meetin_vocab::LanguagePreference;
use meetin_whisper::{WhisperError, WhisperModels};

use crate::{Worker, storage};

/// Why a transcription stopped short of a transcript.
pub enum Stop {
    /// Worth another delivery.
    Retry(String),
    /// Set the recording `failed` with this reason.
    Fail(String),
}

/// The stop for an engine error: bad audio fails at once, a read or engine failure is retried.
pub fn engine_stop(err: WhisperError, receive: u32) -> Stop {
    match err {
        err if err.is_bad_audio() => Stop::Fail(err.to_string()),
        err @ (WhisperError::Io(_) | WhisperError::Engine(_)) => {
            retry_or_fail(err.to_string(), receive)
        }
        err => Stop::Fail(err.to_string()),
    }
}

/// A blocking thread that panicked: the recording made our code fail, and would again.
pub fn thread_failure(what: &str, join: &tokio::task::JoinError) -> String {
    tracing::error!(error = %join, what, "the transcription thread failed");
    format!("the recording could not be processed ({what} failed on it)")
}

/// Retry while receives remain, else fail saying how many attempts were made.
pub fn retry_or_fail(what: String, receive: u32) -> Stop {
    if receive < MAX_RECEIVES {
        Stop::Retry(what)
    } else {
        Stop::Fail(format!("{what} (gave up after {receive} attempts)"))
    }
}

/// Deepgram's pre-recorded API over a presigned GET URL of `key`.
pub async fn with_deepgram(
    client: &DeepgramClient,
    worker: &Worker,
    key: &str,
    language: LanguagePreference,
    receive: u32,
) -> Result<Transcription, Stop> {
    let url = storage::presigned_get(worker, key)
        .await
        .map_err(|e| Stop::Retry(format!("presigning the audio URL: {e}")))?;
    let response = match client
        .transcribe_url(&url, &PrerecordedOptions::for_preference(language))
        .await
    {
        Ok(response) => response,
        Err(err) if err.is_retryable() && receive < MAX_RECEIVES => {
            return Err(Stop::Retry(format!("Deepgram: {err}")));
        }
        Err(err) => return Err(Stop::Fail(failure_reason(&err, receive))),
    };
    Ok(meetin_deepgram::transcription(&response))
}

/// Whisper: the model for the meeting's `language` over a downloaded file on a blocking
/// thread (where the multilingual model is loaded at its first use).
pub async fn with_whisper(
    models: &Arc<WhisperModels>,
    language: LanguagePreference,
    path: &Path,
    receive: u32,
) -> Result<Transcription, Stop> {
    let models = Arc::clone(models);
    let path = path.to_path_buf();
    let result = tokio::task::spawn_blocking(move || {
        let (engine, spoken) = models.for_preference(language)?;
        engine.transcribe_file_in(&path, spoken)
    })
    .await;
    match result {
        Ok(Ok(transcription)) => Ok(transcription),
        Ok(Err(err)) => Err(engine_stop(err, receive)),
        Err(join) => Err(Stop::Fail(thread_failure("transcribing", &join))),
    }
}

/// The reason stored on a recording whose transcription failed for good.
fn failure_reason(err: &DeepgramError, receive: u32) -> String {
    if err.is_retryable() {
        format!("{err} (gave up after {receive} attempts)")
    } else {
        err.to_string()
    }
}
