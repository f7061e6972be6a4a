//! `recording-worker`: the SQS consumer of `transcribe_recording` jobs (contract §4.1, §4.2;
//! docs/api-decisions.md, "Recording transcription").
//!
//! For each record of an SQS event (the skeleton, [`meetin_worker::handle_batch`]), on its own (one bad body never fails its neighbours):
//!
//! 1. parse the body as a [`TranscribeRecording`]; a body that cannot be one is **poison**: it is
//!    reported as a batch item failure (with the retry backoff) and reaches the dead-letter
//!    queue after [`MAX_RECEIVES`] receives;
//! 2. claim the recording (`uploaded` → `processing`, or `processing` again on a redelivery);
//!    a recording already `ready` or `failed`, another job's `processing`, or one gone with its
//!    meeting ends the job with nothing to do;
//! 3. stream the object from S3 to a temporary file and **measure** it (meetin-whisper reads
//!    its packets, no decoding): what it declares must be plausible audio (rate, channels,
//!    bits) and it must last at most [`Worker::max_duration_ms`]
//!    (`MAX_RECORDING_DURATION_SECONDS`, 4 hours by default); otherwise it fails at once,
//!    before any transcription is paid for;
//! 4. transcribe it with the [`Engine`] the settings chose (`TRANSCRIPTION_PROVIDER`):
//!    - **Deepgram**: send its pre-recorded API a presigned S3 GET URL of the object (nova-3,
//!      diarization, utterances, punctuation, smart formatting, the meeting's language or
//!      language detection);
//!    - **Whisper** (meetin-whisper, tiny.en, offline): transcribe the file on a blocking
//!      thread, stopping past the same duration; English only, one speaker;
//! 5. store the transcript, one segment per utterance (Deepgram) or sentence (Whisper) and the
//!    meeting's missing `Speaker N` rows, and set the recording `ready`, in one transaction;
//!    the unique transcript per recording makes a redelivered job store nothing twice.
//!
//! Failures: audio that cannot be read (empty, not a known format, implausible, undecodable,
//! a demuxer or decoder panicking on it) or is too long, a Deepgram refusal (4xx but 408 and
//! 429) or an unreadable answer, and for Whisper a meeting not in English, set the recording
//! `failed` with the reason at once: such poison is never retried. A 408, 429, 5xx, a timeout, an S3 or
//! database error, or a Whisper engine failure is **retried**: the record is reported failed
//! and made visible again after an exponential backoff ([`Retries::backoff`] ×
//! 2^(receive − 1)); on its last receive the recording is set `failed` instead, so nobody
//! waits on a job that went to the dead-letter queue. A run that dies (out of memory, timed
//! out, killed) leaves the recording `processing`: the queue's redelivery, or `transcribe/`
//! once the claim is older than the worker's longest run, takes it again, and a claim past
//! [`transcripts::MAX_TRANSCRIPTION_ATTEMPTS`] fails it instead.

mod deps;

use std::path::{Path, PathBuf};
use std::time::Duration;

use meetin_aws::aws_sdk_s3;
use meetin_aws::aws_sdk_s3::presigning::PresigningConfig;
use meetin_data::transcripts::{self, Claim, NewRecordingTranscript};
use meetin_deepgram::{DeepgramClient, DeepgramError, PrerecordedOptions};
use meetin_messages::jobs::{MAX_RECEIVES, TranscribeRecording};
use meetin_messages::transcript::Transcription;
use meetin_vocab::{LanguagePreference, RecordingStatus};
use meetin_whisper::{WhisperEngine, WhisperError};
use meetin_worker::{Concurrency, Retries, SqsWorker};
use std::sync::Arc;
use uuid::Uuid;

pub use deps::{Engine, Worker};
pub use meetin_worker::Outcome;

/// How long the presigned GET URL Deepgram fetches the audio with is valid. Deepgram fetches
/// it when the request arrives; the margin covers a slow start.
pub const PRESIGNED_GET_TTL: Duration = Duration::from_secs(900);

/// `transcripts.provider` of what Deepgram transcribed.
pub const PROVIDER: &str = "deepgram";

/// `transcripts.provider` of what the embedded Whisper engine transcribed.
pub const WHISPER_PROVIDER: &str = meetin_whisper::PROVIDER;

impl SqsWorker for Worker {
    const NAME: &'static str = "recording-worker";
    /// Every record at once: each waits on S3 and Deepgram (Whisper runs one at a time).
    const CONCURRENCY: Concurrency = Concurrency::Concurrent;
    type Job = TranscribeRecording;

    fn retries(&self) -> &Retries {
        &self.retries
    }

    fn describe(&self) -> String {
        match &self.engine {
            Engine::Whisper(_) => "WHISPER tiny.en, offline in the worker (no DEEPGRAM_API_KEY): English, one speaker. Set DEEPGRAM_API_KEY for Deepgram (diarization, languages).".to_owned(),
            Engine::Deepgram(client) => format!("Deepgram at {}", client.endpoint()),
        }
    }

    async fn run(&self, job: TranscribeRecording, receive: u32) -> Outcome {
        transcribe(&job, receive, self).await
    }
}

/// Steps 2 to 4 for one job on its `receive`-th delivery.
async fn transcribe(job: &TranscribeRecording, receive: u32, worker: &Worker) -> Outcome {
    let retry = |what: &str, err: &dyn std::fmt::Display| Outcome::Retry {
        reason: format!("{what}: {err}"),
    };
    let claim = match transcripts::claim_recording(
        &worker.pool,
        job.organization_id,
        job.recording_id,
        receive > 1,
    )
    .await
    {
        Ok(claim) => claim,
        Err(err) => return retry("claiming the recording", &err),
    };
    let (storage_key, language) = match claim {
        Claim::Claimed { attempt, .. } if attempt > transcripts::MAX_TRANSCRIPTION_ATTEMPTS => {
            let runs = attempt - 1;
            return fail(
                worker,
                job,
                &format!(
                    "the transcription was started {runs} times and never finished (the worker ran out of memory or time on this recording)"
                ),
            )
            .await;
        }
        Claim::Claimed {
            storage_key,
            language_preference,
            ..
        } => (storage_key, language_preference),
        Claim::Missing => {
            return Outcome::Skipped {
                why: "no such recording",
            };
        }
        Claim::Settled { status } => {
            return Outcome::Skipped {
                why: match status {
                    RecordingStatus::Ready => "already transcribed",
                    RecordingStatus::Failed => "already failed",
                    RecordingStatus::Processing => "another run is transcribing it",
                    RecordingStatus::Created | RecordingStatus::Uploaded => "not uploaded",
                },
            };
        }
    };
    let transcribed = transcribe_object(worker, job, &storage_key, language, receive).await;
    let transcription = match transcribed {
        Ok(transcription) => transcription,
        Err(Stop::Retry(reason)) => return Outcome::Retry { reason },
        Err(Stop::Fail(reason)) => return fail(worker, job, &reason).await,
    };
    let stored = transcripts::store_recording_transcript(
        &worker.pool,
        job.organization_id,
        job.recording_id,
        &NewRecordingTranscript {
            provider: worker.engine.provider(),
            language_detected: transcription.language_detected.as_deref(),
            duration_ms: Some(transcription.duration_ms),
            segments: &transcription.segments,
        },
    )
    .await;
    match stored {
        Ok(Some((transcript_id, _))) => Outcome::Done { id: transcript_id },
        Ok(None) => Outcome::Skipped {
            why: "no such recording",
        },
        Err(err) => retry("storing the transcript", &err),
    }
}

/// Why a transcription stopped short of a transcript.
enum Stop {
    /// Worth another delivery.
    Retry(String),
    /// Set the recording `failed` with this reason.
    Fail(String),
}

/// Step 3 and 4: the object to a temporary file (removed after), measured, then transcribed
/// by the worker's engine.
async fn transcribe_object(
    worker: &Worker,
    job: &TranscribeRecording,
    storage_key: &str,
    language: LanguagePreference,
    receive: u32,
) -> Result<Transcription, Stop> {
    if let Engine::Whisper(_) = &worker.engine
        && !matches!(language, LanguagePreference::En | LanguagePreference::Auto)
    {
        let language = language.as_str();
        return Err(Stop::Fail(format!(
            "the offline transcription engine ({WHISPER_PROVIDER}) only transcribes English, and this meeting's language is {language:?}; configure Deepgram (DEEPGRAM_API_KEY) for other languages"
        )));
    }
    let file = TempFile::new(job.recording_id);
    match download(worker, storage_key, file.path()).await {
        Ok(()) => {}
        Err(Download::Gone) => {
            return Err(Stop::Fail(
                "the uploaded recording is no longer in storage".into(),
            ));
        }
        Err(Download::Failed(e)) => {
            return Err(retry_or_fail(
                format!("downloading the audio: {e}"),
                receive,
            ));
        }
    }
    let path = file.path().to_path_buf();
    let max = worker.max_duration_ms;
    let measured =
        tokio::task::spawn_blocking(move || meetin_whisper::measure_file(&path, max)).await;
    match measured {
        Ok(Ok(_)) => {}
        Ok(Err(err)) => return Err(engine_stop(err, receive)),
        Err(join) => return Err(Stop::Fail(thread_failure("measuring", &join))),
    }
    match &worker.engine {
        Engine::Deepgram(client) => {
            drop(file);
            with_deepgram(client, worker, storage_key, language, receive).await
        }
        Engine::Whisper(engine) => with_whisper(engine, &file, receive).await,
    }
}

/// The stop for an engine error: bad audio fails at once, a read or engine failure is retried.
fn engine_stop(err: WhisperError, receive: u32) -> Stop {
    match err {
        err if err.is_bad_audio() => Stop::Fail(err.to_string()),
        err @ (WhisperError::Io(_) | WhisperError::Engine(_)) => {
            retry_or_fail(err.to_string(), receive)
        }
        err => Stop::Fail(err.to_string()),
    }
}

/// A blocking thread that panicked: the recording made our code fail, and would again.
fn thread_failure(what: &str, join: &tokio::task::JoinError) -> String {
    tracing::error!(error = %join, what, "the transcription thread failed");
    format!("the recording could not be processed ({what} failed on it)")
}

/// Retry while receives remain, else fail saying how many attempts were made.
fn retry_or_fail(what: String, receive: u32) -> Stop {
    if receive < MAX_RECEIVES {
        Stop::Retry(what)
    } else {
        Stop::Fail(format!("{what} (gave up after {receive} attempts)"))
    }
}

async fn with_deepgram(
    client: &DeepgramClient,
    worker: &Worker,
    storage_key: &str,
    language: LanguagePreference,
    receive: u32,
) -> Result<Transcription, Stop> {
    let url = presigned_get(worker, storage_key)
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

/// Whisper: the engine over the downloaded file on a blocking thread.
async fn with_whisper(
    engine: &Arc<WhisperEngine>,
    file: &TempFile,
    receive: u32,
) -> Result<Transcription, Stop> {
    let engine = Arc::clone(engine);
    let path = file.path().to_path_buf();
    let result = tokio::task::spawn_blocking(move || engine.transcribe_file(&path)).await;
    match result {
        Ok(Ok(transcription)) => Ok(transcription),
        Ok(Err(err)) => Err(engine_stop(err, receive)),
        Err(join) => Err(Stop::Fail(thread_failure("transcribing", &join))),
    }
}

/// A file under the temporary directory, removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new(recording: Uuid) -> Self {
        Self(std::env::temp_dir().join(format!(
            "meetin-recording-{recording}-{}",
            Uuid::new_v4().simple()
        )))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        // Never created (a failed download), or already gone: nothing to do.
        let _ = std::fs::remove_file(&self.0);
    }
}

enum Download {
    /// No such key (a recording deleted since): permanent.
    Gone,
    Failed(String),
}

/// Streams `key` of the worker's bucket into `path`, a chunk at a time.
async fn download(worker: &Worker, key: &str, path: &Path) -> Result<(), Download> {
    use tokio::io::AsyncWriteExt;
    let object = worker
        .s3
        .get_object()
        .bucket(&worker.bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| {
            if e.as_service_error().is_some_and(|s| s.is_no_such_key()) {
                Download::Gone
            } else {
                Download::Failed(aws_sdk_s3::error::DisplayErrorContext(e).to_string())
            }
        })?;
    let failed = |e: &dyn std::fmt::Display| Download::Failed(e.to_string());
    let mut file = tokio::fs::File::create(path)
        .await
        .map_err(|e| failed(&e))?;
    let mut body = object.body;
    while let Some(chunk) = body.try_next().await.map_err(|e| failed(&e))? {
        file.write_all(&chunk).await.map_err(|e| failed(&e))?;
    }
    file.flush().await.map_err(|e| failed(&e))?;
    Ok(())
}

/// The reason stored on a recording whose transcription failed for good.
fn failure_reason(err: &DeepgramError, receive: u32) -> String {
    if err.is_retryable() {
        format!("{err} (gave up after {receive} attempts)")
    } else {
        err.to_string()
    }
}

async fn fail(worker: &Worker, job: &TranscribeRecording, reason: &str) -> Outcome {
    match transcripts::fail_recording(&worker.pool, job.organization_id, job.recording_id, reason)
        .await
    {
        Ok(_) => Outcome::Failed {
            reason: reason.to_owned(),
        },
        Err(err) => Outcome::Retry {
            reason: format!("recording the failure: {err}"),
        },
    }
}

/// A GET URL of `key` in the worker's bucket, valid [`PRESIGNED_GET_TTL`].
async fn presigned_get(worker: &Worker, key: &str) -> anyhow::Result<String> {
    let presigned = worker
        .s3
        .get_object()
        .bucket(&worker.bucket)
        .key(key)
        .presigned(PresigningConfig::expires_in(PRESIGNED_GET_TTL)?)
        .await
        .map_err(|e| anyhow::anyhow!("{}", aws_sdk_s3::error::DisplayErrorContext(e)))?;
    Ok(presigned.uri().to_owned())
}
