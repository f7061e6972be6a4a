//! Long recordings in windows (issue 18; docs/api-decisions.md, "Long recordings in windows").
//!
//! - **Split** (the recording's own job, once claimed and measured): its loudness gives the
//!   cuts ([`meetin_messages::transcript::windows::plan`]: about [`Worker::window_ms`] each, at
//!   the quietest point within a tenth of it, [`OVERLAP_MS`] of overlap); the plan is stored
//!   once (a redelivery finds it and keeps it); one decoding pass writes each window not yet
//!   transcribed as a WAV under `windows/{recording_id}/`, and a job is queued for each.
//! - **Window** (a job with `window`): that WAV is transcribed by the worker's engine and
//!   stored; the job that stores the last window merges them all into the recording's
//!   transcript in the same transaction ([`meetin_data::windows::finish`]) and deletes the
//!   window files.

use std::path::PathBuf;

use meetin_aws::JobQueue;
use meetin_data::windows::{self as stored, Finished, WindowState};
use meetin_messages::jobs::TranscribeRecording;
use meetin_messages::transcript::windows::{self, Window};
use meetin_vocab::RecordingStatus;
use meetin_worker::Outcome;
use tokio::sync::mpsc;

use crate::engines::{self, Stop};
use crate::storage::{self, Download, TempFile};
use crate::{Engine, Worker};

/// How far each window reaches into its neighbours' (ms): a word cut at a window's edge is
/// heard whole by the neighbour, whose own span holds it ([`windows::merge`]).
pub const OVERLAP_MS: i64 = 5_000;

/// The most windows a recording gets (migration 0008's check): a longer recording gets longer
/// windows.
const MAX_WINDOWS: i64 = 900;

/// The window length and the search range around each cut for a recording of `duration_ms`
/// with windows of about `window_ms`: longer windows past [`MAX_WINDOWS`], and a tenth of a
/// window (at most 30 s) to look for a pause in.
fn sizes(duration_ms: i64, window_ms: i64) -> (i64, i64) {
    let target = window_ms.max((duration_ms + MAX_WINDOWS - 1) / MAX_WINDOWS);
    (target, (target / 10).min(30_000))
}

/// Whether a recording of `duration_ms` gets more than one window ([`windows::plan`]'s rule),
/// so its loudness is worth decoding.
pub fn is_long(duration_ms: i64, window_ms: i64) -> bool {
    let (target, search) = sizes(duration_ms, window_ms);
    duration_ms > target + search
}

/// The windows of the recording whose loudness is `loudness` (one when it is short enough to
/// be transcribed whole).
pub fn plan(loudness: &meetin_whisper::Loudness, window_ms: i64) -> Vec<Window> {
    let duration_ms = loudness.duration_ms();
    let (target, search) = sizes(duration_ms, window_ms);
    windows::plan(duration_ms, target, OVERLAP_MS, search, |from, to| {
        loudness.quietest(from, to)
    })
}

/// Splits the claimed recording of `job`, downloaded to `file`, into `planned` windows and
/// queues a job for each not yet transcribed on `queue`. A redelivered split keeps the first
/// plan.
pub async fn split(
    worker: &Worker,
    queue: &JobQueue<TranscribeRecording>,
    job: &TranscribeRecording,
    file: &TempFile,
    planned: Vec<Window>,
    receive: u32,
) -> Result<Outcome, Stop> {
    let retry = |what: &str, err: &dyn std::fmt::Display| {
        engines::retry_or_fail(format!("{what}: {err}"), receive)
    };
    stored::plan(&worker.pool, job.recording_id, &planned)
        .await
        .map_err(|e| retry("storing the windows", &e))?;
    let planned = stored::planned(&worker.pool, job.recording_id)
        .await
        .map_err(|e| retry("reading the windows", &e))?;
    let ranges: Vec<(u64, u64)> = planned
        .iter()
        .map(|(w, _)| (ms(w.start_ms), ms(w.end_ms)))
        .collect();
    let dir = TempFile::dir(job.recording_id).map_err(|e| retry("a temporary directory", &e))?;
    // The cutting thread hands each finished window over; one waits, so at most the windows
    // being written and two finished ones are on disk.
    let (finished, mut uploads) = mpsc::channel::<(usize, PathBuf)>(1);
    let source = file.path().to_path_buf();
    let out = dir.path().to_path_buf();
    let max = worker.max_duration_ms;
    let cutting = tokio::task::spawn_blocking(move || {
        meetin_whisper::cut_file(&source, max, &ranges, &out, |i, path| {
            finished.blocking_send((i, path)).map_err(|_| {
                meetin_whisper::WhisperError::Io(std::io::Error::other("the upload stopped"))
            })
        })
    });
    let mut queued = 0;
    let mut failure = None;
    while let Some((i, path)) = uploads.recv().await {
        let (window, done) = planned[i];
        if done {
            let _ = std::fs::remove_file(&path);
            continue;
        }
        let key = storage::window_key(job.recording_id, window.index);
        if let Err(err) = storage::put_wav(worker, &key, &path).await {
            failure = Some(retry("storing a window", &err));
            break;
        }
        let _ = std::fs::remove_file(&path);
        let window_job = TranscribeRecording {
            window: Some(window.index),
            ..job.clone()
        };
        if let Err(err) = queue.send(&window_job).await {
            failure = Some(retry("queueing a window", &err));
            break;
        }
        queued += 1;
    }
    drop(uploads);
    match cutting.await {
        Ok(Ok(())) => {}
        Ok(Err(_)) if failure.is_some() => {}
        Ok(Err(err)) => return Err(engines::engine_stop(err, receive)),
        Err(join) => return Err(Stop::Fail(engines::thread_failure("cutting", &join))),
    }
    match failure {
        Some(stop) => Err(stop),
        None => Ok(Outcome::Split { jobs: queued }),
    }
}

fn ms(ms: i64) -> u64 {
    u64::try_from(ms).unwrap_or(0)
}

/// The job of window `index` of `job`'s recording, on its `receive`-th delivery.
pub async fn transcribe_window(
    worker: &Worker,
    job: &TranscribeRecording,
    index: u32,
    receive: u32,
) -> Outcome {
    let state =
        match stored::state(&worker.pool, job.organization_id, job.recording_id, index).await {
            Ok(state) => state,
            Err(err) => {
                return Outcome::Retry {
                    reason: format!("reading the window: {err}"),
                };
            }
        };
    let (window, language, count) = match state {
        WindowState::Missing => {
            return Outcome::Skipped {
                why: "no such window",
            };
        }
        WindowState::Settled { status } => {
            return Outcome::Skipped {
                why: match status {
                    RecordingStatus::Ready => "already transcribed",
                    RecordingStatus::Failed => "already failed",
                    _ => "the recording is not being transcribed",
                },
            };
        }
        WindowState::Transcribed => {
            return Outcome::Skipped {
                why: "window already transcribed",
            };
        }
        WindowState::Pending {
            window,
            language_preference,
            windows,
        } => (window, language_preference, windows),
    };
    let key = storage::window_key(job.recording_id, index);
    let transcribed = match &worker.engine {
        Engine::Deepgram(client) => {
            engines::with_deepgram(client, worker, &key, language, receive).await
        }
        Engine::Whisper(models) => {
            let file = TempFile::new(job.recording_id);
            match storage::download(worker, &key, file.path()).await {
                Ok(()) => engines::with_whisper(models, language, file.path(), receive).await,
                Err(Download::Gone) => Err(engines::retry_or_fail(
                    "the window's audio is missing from storage".into(),
                    receive,
                )),
                Err(Download::Failed(e)) => Err(engines::retry_or_fail(
                    format!("downloading the window: {e}"),
                    receive,
                )),
            }
        }
    };
    let transcription = match transcribed {
        Ok(transcription) => transcription,
        Err(Stop::Retry(reason)) => return Outcome::Retry { reason },
        Err(Stop::Fail(reason)) => {
            let reason = format!("window {} of {count}: {reason}", index + 1);
            return crate::fail(worker, job, &reason).await;
        }
    };
    let finished = stored::finish(
        &worker.pool,
        job.organization_id,
        job.recording_id,
        window.index,
        &transcription,
        &worker.engine.provider(language),
        |parts| {
            let duration_ms = parts.last().map_or(0, |(w, _)| w.keep_to_ms);
            windows::merge(duration_ms, parts)
        },
    )
    .await;
    match finished {
        Ok(Finished::Merged { transcript }) => {
            storage::delete_windows(worker, job.recording_id, count).await;
            Outcome::Done { id: transcript }
        }
        Ok(Finished::Waiting { .. }) => Outcome::Done {
            id: job.recording_id,
        },
        Ok(Finished::Settled) => Outcome::Skipped {
            why: "the recording is no longer being transcribed",
        },
        Err(err) => Outcome::Retry {
            reason: format!("storing the window: {err}"),
        },
    }
}
