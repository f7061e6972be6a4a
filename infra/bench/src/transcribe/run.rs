//! One measured run: a fresh queue, `N` workers polling it, the recording put and its job
//! sent, the database polled until the recording is `ready`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use meetin_aws::JobQueue;
use meetin_aws::aws_config::SdkConfig;
use meetin_aws::aws_sdk_s3::{self, primitives::ByteStream};
use meetin_aws::aws_sdk_sqs;
use meetin_data::PoolSettings;
use meetin_messages::jobs::{LanguagePreference, TranscribeRecording, parse_as};
use meetin_worker::Deps;
use meetin_worker::lambda_runtime::LambdaEvent;
use meetin_worker::sqs::SqsEvent;
use uuid::Uuid;

use super::Engine;
use super::audio::{self, Recording, Said};

/// How often the recording's status is read.
const POLL: Duration = Duration::from_millis(200);

/// What stays the same across runs: the database, the clients, a throwaway user and
/// organization (deleted with everything under them at the end).
pub struct Setup {
    pub settings: HashMap<String, String>,
    pool: sqlx::PgPool,
    sdk: SdkConfig,
    sqs: aws_sdk_sqs::Client,
    s3: aws_sdk_s3::Client,
    bucket: String,
    user: Uuid,
    org: Uuid,
    /// Names the run's queues.
    tag: String,
}

/// One measured run.
pub struct Row {
    pub engine_label: String,
    pub workers: usize,
    pub audio_ms: u64,
    /// Job sent → recording `ready`.
    pub wall: Duration,
    /// Job sent → the windows' plan stored (download, measure, loudness), to [`POLL`].
    pub planned_at: Option<Duration>,
    /// The recording's own job: planning, cutting, storing and queueing the windows.
    pub recording_job: Duration,
    pub windows: i64,
    /// Window jobs handled (more than `windows`: redeliveries).
    pub window_runs: usize,
    pub window_mean: Duration,
    pub window_max: Duration,
    pub segments: i64,
    /// How the transcript compares with what was said.
    pub check: String,
    pub peak_rss_kib: u64,
}

/// One job as a worker's handler ran it.
struct JobRun {
    /// `Some(None)`: the recording's job; `Some(Some(i))`: window `i`; `None`: unreadable.
    window: Option<Option<u32>>,
    took: Duration,
}

impl Setup {
    pub async fn new(settings: &HashMap<String, String>) -> anyhow::Result<Self> {
        let lookup = |name: &str| settings.get(name).cloned();
        let sdk = meetin_aws::sdk_config_from(&lookup).await?;
        let database_url = settings.get("DATABASE_URL").context("DATABASE_URL")?;
        let pool = sqlx::PgPool::connect(database_url).await?;
        let bucket = settings
            .get("RECORDINGS_BUCKET")
            .context("RECORDINGS_BUCKET is not set")?
            .clone();
        let (user, org) = crate::minutes::throwaway_org(&pool, "transcribe").await?;
        Ok(Self {
            settings: settings.clone(),
            sqs: aws_sdk_sqs::Client::new(&sdk),
            s3: meetin_aws::s3_client(&sdk),
            sdk,
            pool,
            bucket,
            user,
            org,
            tag: Uuid::new_v4().simple().to_string()[..12].to_owned(),
        })
    }

    /// Deletes the throwaway organization (its meetings, recordings, transcripts) and user.
    pub async fn clean_up(&self) {
        if let Err(err) = crate::minutes::delete_org(&self.pool, self.user, self.org).await {
            eprintln!("[bench] transcribe: cleaning up the database: {err:#}");
        }
    }

    /// `workers` copies of the worker with `settings` on a queue of their own, the recording
    /// at `file` transcribed once.
    pub async fn run(
        &self,
        engine: Engine,
        workers: usize,
        settings: &HashMap<String, String>,
        file: &Path,
        recording: &Recording,
    ) -> anyhow::Result<Row> {
        let queue_name = format!("meetin-bench-t-{}-{}-{workers}", self.tag, engine.name());
        let queue = meetin_test_support::ensure_transcription_queue(&self.sqs, &queue_name).await?;
        let mut settings = settings.clone();
        settings.insert("TRANSCRIPTION_QUEUE_URL".into(), queue.clone());
        let outcome = self
            .run_on(engine, workers, &settings, &queue, file, recording)
            .await;
        for name in [queue_name.clone(), format!("{queue_name}-dlq")] {
            if let Ok(url) = self.sqs.get_queue_url().queue_name(&name).send().await
                && let Some(url) = url.queue_url
            {
                let _ = self.sqs.delete_queue().queue_url(url).send().await;
            }
        }
        outcome
    }

    async fn run_on(
        &self,
        engine: Engine,
        workers: usize,
        settings: &HashMap<String, String>,
        queue: &str,
        file: &Path,
        recording: &Recording,
    ) -> anyhow::Result<Row> {
        let lookup = |name: &str| settings.get(name).cloned();
        let mut copies = Vec::with_capacity(workers);
        for _ in 0..workers {
            copies.push(
                recording_worker::Worker::load_with(&lookup, &self.sdk, PoolSettings::LOCAL)
                    .await?,
            );
        }
        let engine_label = match (&copies[0].engine, engine) {
            (recording_worker::Engine::Whisper(whisper), _) => {
                format!(
                    "{} ({} threads each)",
                    whisper.english().provider(),
                    whisper.english().threads()
                )
            }
            _ => "fake Deepgram (tone speech)".to_owned(),
        };
        let (meeting, job) = self.upload(file, recording).await?;
        let runs: Arc<Mutex<Vec<JobRun>>> = Arc::default();
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let pollers: Vec<_> = copies
            .into_iter()
            .map(|worker| {
                let worker = Arc::new(worker);
                let runs = Arc::clone(&runs);
                let mut stopped = stopped.clone();
                tokio::spawn(meetin_local::workers::poll(
                    "recording-worker",
                    self.sqs.clone(),
                    queue.to_owned(),
                    move |event: LambdaEvent<SqsEvent>| {
                        let (worker, runs) = (Arc::clone(&worker), Arc::clone(&runs));
                        async move {
                            let window = (event.payload.records.first())
                                .and_then(|r| r.body.as_deref())
                                .and_then(|b| parse_as::<TranscribeRecording>(b).ok())
                                .map(|job| job.window);
                            let started = Instant::now();
                            let response =
                                meetin_worker::handle_batch(event, worker.as_ref()).await;
                            let took = started.elapsed();
                            lock(&runs).push(JobRun { window, took });
                            response
                        }
                    },
                    async move {
                        let _ = stopped.wait_for(|s| *s).await;
                    },
                ))
            })
            .collect();

        let measured = self.measure(queue, &job, recording).await;
        let _ = stop.send(true);
        for poller in pollers {
            // A poller stops at its next receive; one still in a job (a redelivered window)
            // is cut short.
            let abort = poller.abort_handle();
            if tokio::time::timeout(Duration::from_secs(15), poller)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
        let _ = self
            .s3
            .delete_object()
            .bucket(&self.bucket)
            .key(&job.key)
            .send()
            .await;
        let (wall, planned_at, peak_rss_kib) = measured?;

        let runs = std::mem::take(&mut *lock(&runs));
        let recording_job = (runs.iter())
            .filter(|r| r.window == Some(None))
            .map(|r| r.took)
            .sum();
        let windows: Vec<Duration> = (runs.iter())
            .filter(|r| matches!(r.window, Some(Some(_))))
            .map(|r| r.took)
            .collect();
        let (count, segments, check) = self
            .transcript(job.recording_id, meeting, recording)
            .await?;
        Ok(Row {
            engine_label,
            workers,
            audio_ms: recording.duration_ms,
            wall,
            planned_at,
            recording_job,
            windows: count,
            window_runs: windows.len(),
            window_mean: windows.iter().sum::<Duration>() / u32::try_from(windows.len().max(1))?,
            window_max: windows.iter().max().copied().unwrap_or_default(),
            segments,
            check,
            peak_rss_kib,
        })
    }

    /// A meeting, the recording's object and its `uploaded` row; answers the meeting and the
    /// job `complete/` would send.
    async fn upload(
        &self,
        file: &Path,
        recording: &Recording,
    ) -> anyhow::Result<(Uuid, TranscribeRecording)> {
        let meeting: Uuid = sqlx::query_scalar(
            "INSERT INTO meetings (organization_id, created_by_id, title) \
             VALUES ($1, $2, 'Bench transcription') RETURNING id",
        )
        .bind(self.org)
        .bind(self.user)
        .fetch_one(&self.pool)
        .await?;
        let key = format!("recordings/{meeting}/{}.wav", Uuid::new_v4());
        let started = Instant::now();
        self.s3
            .put_object()
            .bucket(&self.bucket)
            .key(&key)
            .content_type("audio/wav")
            .body(ByteStream::from_path(file).await?)
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("{}", aws_sdk_s3::error::DisplayErrorContext(e)))
            .with_context(|| format!("putting {key} into {}", self.bucket))?;
        eprintln!(
            "[bench] transcribe: {key} stored in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        let recording_id: Uuid = sqlx::query_scalar(
            "INSERT INTO recordings (meeting_id, storage_key, mime_type, size_bytes, status, \
                                     uploaded_at, queued_at) \
             VALUES ($1, $2, 'audio/wav', $3, 'uploaded', now(), now()) RETURNING id",
        )
        .bind(meeting)
        .bind(&key)
        .bind(i64::try_from(recording.bytes)?)
        .fetch_one(&self.pool)
        .await?;
        let job = TranscribeRecording {
            recording_id,
            meeting_id: meeting,
            organization_id: self.org,
            bucket: self.bucket.clone(),
            key,
            language: LanguagePreference::Auto,
            window: None,
        };
        Ok((meeting, job))
    }

    /// Sends `job` and reads the recording every [`POLL`] until it is `ready`: the wall time,
    /// when its windows were planned, and the peak RSS meanwhile (KiB).
    async fn measure(
        &self,
        queue: &str,
        job: &TranscribeRecording,
        recording: &Recording,
    ) -> anyhow::Result<(Duration, Option<Duration>, u64)> {
        // Bound: as long as the audio (Whisper alone on 2 cores takes about an eighth).
        let bound = Duration::from_millis(recording.duration_ms.max(600_000));
        audio::reset_peak_rss();
        let started = Instant::now();
        JobQueue::<TranscribeRecording>::new(self.sqs.clone(), queue)
            .send(job)
            .await?;
        let mut planned_at = None;
        loop {
            let (status, reason, windows): (String, Option<String>, i64) = sqlx::query_as(
                "SELECT r.status, r.failure_reason, \
                        (SELECT count(*) FROM recording_windows w WHERE w.recording_id = r.id) \
                 FROM recordings r WHERE r.id = $1",
            )
            .bind(job.recording_id)
            .fetch_one(&self.pool)
            .await?;
            if windows > 0 && planned_at.is_none() {
                planned_at = Some(started.elapsed());
            }
            match status.as_str() {
                "ready" => return Ok((started.elapsed(), planned_at, audio::status_kib("VmHWM"))),
                "failed" => bail!("the recording failed: {}", reason.unwrap_or_default()),
                _ if started.elapsed() > bound => {
                    bail!(
                        "the recording is still {status} after {} s",
                        bound.as_secs()
                    )
                }
                _ => tokio::time::sleep(POLL).await,
            }
        }
    }

    /// The windows and segments of the recording's transcript, and how it compares with what
    /// was said.
    async fn transcript(
        &self,
        recording: Uuid,
        meeting: Uuid,
        said: &Recording,
    ) -> anyhow::Result<(i64, i64, String)> {
        let windows: i64 =
            sqlx::query_scalar("SELECT count(*) FROM recording_windows WHERE recording_id = $1")
                .bind(recording)
                .fetch_one(&self.pool)
                .await?;
        let texts: Vec<String> = sqlx::query_scalar(
            "SELECT s.text FROM transcript_segments s JOIN transcripts t ON t.id = s.transcript_id \
             WHERE t.recording_id = $1 AND t.meeting_id = $2 ORDER BY s.start_ms, s.end_ms",
        )
        .bind(recording)
        .bind(meeting)
        .fetch_all(&self.pool)
        .await?;
        let heard = texts.join(" ");
        let check = match &said.said {
            Said::Tones(script) => {
                let said: Vec<&str> = script.iter().map(|w| w.text()).collect();
                let heard = meetin_test_support::speech::words(&heard);
                if heard == said {
                    format!("all {} words, in order", said.len())
                } else {
                    let wer = meetin_test_support::speech::word_error_rate(
                        &said.join(" "),
                        &heard.join(" "),
                    );
                    format!("{} of {} words; WER {wer:.3}", heard.len(), said.len())
                }
            }
            Said::Text(text) => format!(
                "WER {:.3}",
                meetin_test_support::speech::word_error_rate(text, &heard)
            ),
        };
        Ok((windows, i64::try_from(texts.len())?, check))
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
