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
//!    - **Whisper** (meetin-whisper, offline): transcribe the file on a blocking thread,
//!      stopping past the same duration, with tiny.en for an `en` meeting and the
//!      multilingual base model for `fr` (in French) and `auto` (English or French,
//!      detected);
//!    - **a long recording** (over [`Worker::window_ms`], `TRANSCRIPTION_WINDOW_SECONDS`):
//!      cut into overlapping windows at its silences, each queued as its own job (`window`
//!      set) for the fleet to take side by side; the job of the last window merges them (the
//!      `windows` module);
//! 5. store the transcript, one segment per utterance (Deepgram) or sentence (Whisper) and the
//!    meeting's missing `Speaker N` rows, and set the recording `ready`, in one transaction;
//!    the unique transcript per recording makes a redelivered job store nothing twice.
//!
//! Failures: audio that cannot be read (empty, not a known format, implausible, undecodable,
//! a demuxer or decoder panicking on it) or is too long, a Deepgram refusal (4xx but 408 and
//! 429) or an unreadable answer, set the recording
//! `failed` with the reason at once: such poison is never retried. A 408, 429, 5xx, a timeout, an S3 or
//! database error, or a Whisper engine failure is **retried**: the record is reported failed
//! and made visible again after an exponential backoff ([`Retries::backoff`] ×
//! 2^(receive − 1)); on its last receive the recording is set `failed` instead, so nobody
//! waits on a job that went to the dead-letter queue. A run that dies (out of memory, timed
//! out, killed) leaves the recording `processing`: the queue's redelivery, or `transcribe/`
//! once the claim is older than the worker's longest run, takes it again, and a claim past
//! [`transcripts::MAX_TRANSCRIPTION_ATTEMPTS`] fails it instead.

mod deps;
mod engines;
mod storage;
mod windows;

use meetin_data::transcripts::{self, Claim, NewRecordingTranscript};
use meetin_messages::jobs::TranscribeRecording;
use meetin_messages::transcript::Transcription;
use meetin_vocab::{LanguagePreference, RecordingStatus};
use meetin_worker::{Concurrency, Retries, SqsWorker};

pub use deps::{Engine, Worker};
pub use meetin_worker::Outcome;
pub use storage::{PRESIGNED_GET_TTL, window_key};
pub use windows::OVERLAP_MS;

use engines::Stop;
use storage::{Download, TempFile};

/// `transcripts.provider` of what Deepgram transcribed.
pub const PROVIDER: &str = "deepgram";

impl SqsWorker for Worker {
    const NAME: &'static str = "recording-worker";
    /// Every record at once: each waits on S3 and Deepgram (Whisper runs one at a time).
    const CONCURRENCY: Concurrency = Concurrency::Concurrent;
    type Job = TranscribeRecording;

    fn retries(&self) -> &Retries {
        &self.retries
    }

    fn describe(&self) -> String {
        let engine = match &self.engine {
            Engine::Whisper(models) => format!(
                "WHISPER, offline in the worker (no DEEPGRAM_API_KEY): {}. Set DEEPGRAM_API_KEY for Deepgram.",
                models.describe()
            ),
            Engine::Deepgram(client) => format!("Deepgram at {}", client.endpoint()),
        };
        format!(
            "{engine} Recordings over {} min are transcribed in windows, side by side.",
            self.window_ms / 60_000
        )
    }

    async fn run(&self, job: TranscribeRecording, receive: u32) -> Outcome {
        match job.window {
            Some(index) => windows::transcribe_window(self, &job, index, receive).await,
            None => transcribe(&job, receive, self).await,
        }
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
        Ok(Transcribed::Whole(transcription)) => transcription,
        Ok(Transcribed::Split(outcome)) => return outcome,
        Err(Stop::Retry(reason)) => return Outcome::Retry { reason },
        Err(Stop::Fail(reason)) => return fail(worker, job, &reason).await,
    };
    let stored = transcripts::store_recording_transcript(
        &worker.pool,
        job.organization_id,
        job.recording_id,
        &NewRecordingTranscript {
            provider: &worker.engine.provider(language),
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

/// What [`transcribe_object`] made of a recording.
enum Transcribed {
    /// Its transcription, in one piece.
    Whole(Transcription),
    /// Its windows were queued.
    Split(Outcome),
}

/// Step 3 and 4: the object to a temporary file (removed after), measured, then transcribed
/// by the worker's engine, or split into windows when it is long and the worker has its queue.
async fn transcribe_object(
    worker: &Worker,
    job: &TranscribeRecording,
    storage_key: &str,
    language: LanguagePreference,
    receive: u32,
) -> Result<Transcribed, Stop> {
    let file = TempFile::new(job.recording_id);
    match storage::download(worker, storage_key, file.path()).await {
        Ok(()) => {}
        Err(Download::Gone) => {
            return Err(Stop::Fail(
                "the uploaded recording is no longer in storage".into(),
            ));
        }
        Err(Download::Failed(e)) => {
            return Err(engines::retry_or_fail(
                format!("downloading the audio: {e}"),
                receive,
            ));
        }
    }
    let path = file.path().to_path_buf();
    let max = worker.max_duration_ms;
    let measured =
        tokio::task::spawn_blocking(move || meetin_whisper::measure_file(&path, max)).await;
    let measured = match measured {
        Ok(Ok(measured)) => measured,
        Ok(Err(err)) => return Err(engines::engine_stop(err, receive)),
        Err(join) => return Err(Stop::Fail(engines::thread_failure("measuring", &join))),
    };
    let duration_ms = i64::try_from(measured.duration_ms).unwrap_or(i64::MAX);
    if let Some(queue) = &worker.queue
        && windows::is_long(duration_ms, worker.window_ms)
    {
        let path = file.path().to_path_buf();
        let loudness =
            tokio::task::spawn_blocking(move || meetin_whisper::loudness_file(&path, max)).await;
        let planned = match loudness {
            Ok(Ok(loudness)) => windows::plan(&loudness, worker.window_ms),
            Ok(Err(err)) => return Err(engines::engine_stop(err, receive)),
            Err(join) => return Err(Stop::Fail(engines::thread_failure("measuring", &join))),
        };
        // The decoded length can fall short of the declared one (a file cut short).
        if planned.len() > 1 {
            return windows::split(worker, queue, job, &file, planned, receive)
                .await
                .map(Transcribed::Split);
        }
    }
    let transcription = match &worker.engine {
        Engine::Deepgram(client) => {
            drop(file);
            engines::with_deepgram(client, worker, storage_key, language, receive).await
        }
        Engine::Whisper(models) => {
            engines::with_whisper(models, language, file.path(), receive).await
        }
    };
    transcription.map(Transcribed::Whole)
}

/// Sets the recording of `job` `failed` with `reason`.
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
