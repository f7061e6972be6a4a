//! `meetin-bench transcribe`: the wall time of a long recording's transcription, from its job
//! being sent (what `complete/` and `transcribe/` do) to the recording `ready` with its
//! transcript, with 1, 2 and 4 copies of the recording worker polling its queue side by side
//! (the local stack's `WORKER_INSTANCES`, Lambda's concurrent invocations in AWS).
//!
//! Everything is the local stack's path, in this process: each copy is its own
//! `recording_worker::Worker` (its own engine) loaded through `Deps::load_with` from the local
//! settings, polling a queue of the run's own with `meetin_local::workers::poll` (one message
//! per receive). The recording is put into `RECORDINGS_BUCKET` under a `recordings/…` key with
//! an `uploaded` row in the `meetin` database, under a throwaway user and organization.
//!
//! Engines: the fake Deepgram of test-support hearing tone speech (so every word, time and
//! voice of the merged transcript is checked; the fake runs in this process and its
//! recognition is its CPU time), and the offline Whisper engine on real speech (the audio
//! fixtures repeated; its word error rate is reported).
//!
//! Measured per run: the wall time; when the windows were planned (download, measure,
//! loudness: the first `recording_windows` row, polled every 200 ms); how long the recording's
//! job took (that plus cutting, storing and queueing the windows); the window jobs run (a
//! redelivery shows as more runs than windows), their mean and longest; the segments; the
//! peak RSS of this process (VmHWM, reset before each run).

mod audio;
mod run;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use meetin_test_support::fake_deepgram::FakeDeepgram;
use uuid::Uuid;

use crate::load::mib;
use run::{Row, Setup};

const USAGE: &str = "usage: meetin-bench transcribe [--minutes 60] [--workers 1,2,4] \
[--engines deepgram,whisper] [--window-seconds 600] [--whisper-threads split|all]";

/// The transcription engines benchmarked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// The fake Deepgram of test-support, hearing tone speech.
    Deepgram,
    /// The embedded Whisper engine (tiny.en) on real speech.
    Whisper,
}

impl Engine {
    fn name(self) -> &'static str {
        match self {
            Self::Deepgram => "deepgram",
            Self::Whisper => "whisper",
        }
    }
}

/// How many threads each Whisper engine gets with `N` engines in the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhisperThreads {
    /// The cores shared out: `max(1, cores / N)` each (`WHISPER_THREADS`).
    Split,
    /// Every engine uses every core (the engine's default).
    All,
}

/// What `meetin-bench transcribe` was asked for.
#[derive(Debug, Clone)]
pub struct Options {
    /// Length of the recording (minutes; real speech is rounded to whole 34.7 s cycles).
    pub minutes: u32,
    /// Copies of the worker polling the queue, one run each.
    pub workers: Vec<usize>,
    pub engines: Vec<Engine>,
    /// `TRANSCRIPTION_WINDOW_SECONDS` of the workers.
    pub window_seconds: u64,
    pub whisper_threads: WhisperThreads,
}

impl Options {
    fn parse(mut args: impl Iterator<Item = String>) -> anyhow::Result<Self> {
        let mut options = Self {
            minutes: 60,
            workers: vec![1, 2, 4],
            engines: vec![Engine::Deepgram, Engine::Whisper],
            window_seconds: 600,
            whisper_threads: WhisperThreads::Split,
        };
        while let Some(flag) = args.next() {
            if flag == "-h" || flag == "--help" {
                println!("{USAGE}");
                std::process::exit(0);
            }
            let value = args
                .next()
                .with_context(|| format!("{flag} needs a value\n{USAGE}"))?;
            let number = |v: &str| -> anyhow::Result<u64> {
                v.trim()
                    .parse()
                    .with_context(|| format!("{flag} {v:?} is not a whole number"))
            };
            match flag.as_str() {
                "--minutes" => options.minutes = u32::try_from(number(&value)?)?,
                "--workers" => {
                    options.workers = (value.split(','))
                        .map(|v| Ok(usize::try_from(number(v)?)?))
                        .collect::<anyhow::Result<_>>()?;
                }
                "--engines" => {
                    options.engines = (value.split(','))
                        .map(|v| match v.trim() {
                            "deepgram" => Ok(Engine::Deepgram),
                            "whisper" => Ok(Engine::Whisper),
                            other => bail!("--engines: {other:?} is neither deepgram nor whisper"),
                        })
                        .collect::<anyhow::Result<_>>()?;
                }
                "--window-seconds" => options.window_seconds = number(&value)?,
                "--whisper-threads" => {
                    options.whisper_threads = match value.as_str() {
                        "split" => WhisperThreads::Split,
                        "all" => WhisperThreads::All,
                        other => bail!("--whisper-threads: {other:?} is neither split nor all"),
                    };
                }
                other => bail!("unknown option {other:?}\n{USAGE}"),
            }
        }
        ensure!(
            (1..=240).contains(&options.minutes),
            "--minutes must be from 1 to 240"
        );
        ensure!(
            !options.workers.is_empty() && options.workers.iter().all(|n| (1..=8).contains(n)),
            "--workers must be a list of numbers from 1 to 8 (WORKER_INSTANCES), such as 1,2,4"
        );
        ensure!(!options.engines.is_empty(), "--engines must name an engine");
        ensure!(
            (30..=1_800).contains(&options.window_seconds),
            "--window-seconds must be from 30 to 1800 (TRANSCRIPTION_WINDOW_SECONDS)"
        );
        Ok(options)
    }
}

/// `meetin-bench transcribe …`: every engine × worker count, then the table.
pub async fn run(args: impl Iterator<Item = String>) -> anyhow::Result<()> {
    let options = Options::parse(args)?;
    let root = crate::repo_root()?;
    let settings = meetin_test_support::local_settings(&root)?;
    crate::require_local_service(&settings, "DATABASE_URL", "PostgreSQL", 5432).await?;
    crate::require_local_service(&settings, "AWS_ENDPOINT_URL", "the AWS emulator", 80).await?;
    let dir = crate::target_dir(&root).join("bench");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;

    println!("# meetIN benchmark: long recordings");
    println!();
    println!("{}", crate::report::machine_line());
    println!(
        "Options: --minutes {} --workers {} --engines {} --window-seconds {} --whisper-threads {}",
        options.minutes,
        join(&options.workers),
        options
            .engines
            .iter()
            .map(|e| e.name())
            .collect::<Vec<_>>()
            .join(","),
        options.window_seconds,
        match options.whisper_threads {
            WhisperThreads::Split => "split",
            WhisperThreads::All => "all",
        }
    );
    println!();

    let setup = Setup::new(&settings).await?;
    let outcome = bench(&setup, &options, &dir).await;
    setup.clean_up().await;
    print(&options, &outcome?);
    Ok(())
}

async fn bench(
    setup: &Setup,
    options: &Options,
    dir: &std::path::Path,
) -> anyhow::Result<Vec<Row>> {
    let mut rows = Vec::new();
    for &engine in &options.engines {
        let file = Removed(dir.join(format!(
            "transcribe-{}-{}.wav",
            engine.name(),
            Uuid::new_v4().simple()
        )));
        let started = std::time::Instant::now();
        let recording = match engine {
            Engine::Deepgram => audio::tones(&file.0, options.minutes)?,
            Engine::Whisper => audio::speech(&file.0, options.minutes)?,
        };
        eprintln!(
            "[bench] transcribe: {} min of {} written to {} ({:.1} MiB) in {:.1} s",
            recording.duration_ms / 60_000,
            engine.name(),
            file.0.display(),
            mib(recording.bytes),
            started.elapsed().as_secs_f64()
        );
        let fake = match engine {
            Engine::Deepgram => {
                let fake = FakeDeepgram::start().await?;
                fake.recognize_tone_speech(true);
                Some(fake)
            }
            Engine::Whisper => None,
        };
        for &workers in &options.workers {
            let settings = worker_settings(setup, options, engine, workers, fake.as_ref());
            let row = setup
                .run(engine, workers, &settings, &file.0, &recording)
                .await
                .with_context(|| format!("{} with {workers} workers", engine.name()))?;
            eprintln!(
                "[bench] transcribe {} × {workers}: {:.1} s, {} windows, {} segments",
                engine.name(),
                row.wall.as_secs_f64(),
                row.windows,
                row.segments
            );
            rows.push(row);
        }
    }
    Ok(rows)
}

/// The local settings with the run's queue, window length and engine.
fn worker_settings(
    setup: &Setup,
    options: &Options,
    engine: Engine,
    workers: usize,
    fake: Option<&FakeDeepgram>,
) -> HashMap<String, String> {
    let mut settings = setup.settings.clone();
    settings.insert(
        "TRANSCRIPTION_WINDOW_SECONDS".into(),
        options.window_seconds.to_string(),
    );
    match (engine, fake) {
        (Engine::Deepgram, Some(fake)) => {
            settings.insert("TRANSCRIPTION_PROVIDER".into(), "deepgram".into());
            settings.insert("DEEPGRAM_API_KEY".into(), fake.api_key.clone());
            settings.insert("DEEPGRAM_BASE_URL".into(), fake.base_url.to_string());
        }
        _ => {
            settings.insert("TRANSCRIPTION_PROVIDER".into(), "whisper".into());
            let model = meetin_test_support::speech::whisper_model();
            settings.insert(
                "WHISPER_MODEL_PATH".into(),
                model.to_string_lossy().into_owned(),
            );
            settings.insert(
                "WHISPER_MULTILINGUAL_MODEL_PATH".into(),
                meetin_test_support::speech::whisper_multilingual_model()
                    .to_string_lossy()
                    .into_owned(),
            );
            if options.whisper_threads == WhisperThreads::Split {
                let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
                settings.insert(
                    "WHISPER_THREADS".into(),
                    (cores / workers).max(1).to_string(),
                );
            }
        }
    }
    settings
}

/// A file removed when dropped.
struct Removed(PathBuf);

impl Drop for Removed {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn join(numbers: &[usize]) -> String {
    numbers
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// The table for docs/benchmarks.md.
fn print(options: &Options, rows: &[Row]) {
    println!(
        "## Long recordings: transcription wall time (job sent → recording `ready`, windows of \
         {} s)",
        options.window_seconds
    );
    println!();
    println!(
        "| engine | workers | audio | wall s | × real time | windows | window jobs run | \
         planned at s | recording job s | window job mean / max s | segments | transcript | \
         peak RSS MiB |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|");
    for row in rows {
        println!(
            "| {} | {} | {:.1} min | {:.1} | {:.1} | {} | {} | {} | {:.1} | {:.1} / {:.1} | {} | {} | {:.0} |",
            row.engine_label,
            row.workers,
            row.audio_ms as f64 / 60_000.0,
            secs(row.wall),
            row.audio_ms as f64 / 1000.0 / secs(row.wall).max(f64::EPSILON),
            row.windows,
            row.window_runs,
            row.planned_at
                .map_or("–".to_owned(), |d| format!("{:.1}", secs(d))),
            secs(row.recording_job),
            secs(row.window_mean),
            secs(row.window_max),
            row.segments,
            row.check,
            mib(row.peak_rss_kib * 1024),
        );
    }
    println!();
}
