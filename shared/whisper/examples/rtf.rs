//! Real-time factor and peak memory of the Whisper engine (docs/benchmarks.md, "Whisper
//! (offline transcription)").
//!
//! ```text
//! cargo run --release -p meetin-whisper --example rtf -- [--minutes N] FILE...
//! ```
//!
//! Transcribes each FILE on its own, then, with `--minutes N`, a WAV of N minutes made by
//! repeating all the FILEs' decoded audio (written to the temporary directory, read back as a
//! file like the worker does). For each: audio length, wall time, the real-time factor (wall
//! time / audio length; 0.1 is ten times faster than real time), the peak RSS of the process
//! while transcribing it (VmHWM, reset before each run through /proc/self/clear_refs), and the
//! segment count. The model is `WHISPER_MODEL_PATH` or the provisioning cache.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use meetin_whisper::{SAMPLE_RATE, Transcription, WhisperEngine};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut minutes: Option<f64> = None;
    let mut files = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--minutes" => minutes = Some(args.next().ok_or("--minutes N")?.parse()?),
            "-h" | "--help" => {
                println!("usage: rtf [--minutes N] FILE...");
                return Ok(());
            }
            _ => files.push(PathBuf::from(arg)),
        }
    }
    if files.is_empty() {
        return Err("usage: rtf [--minutes N] FILE...".into());
    }
    let model = meetin_whisper::model_path(&|name| std::env::var(name).ok())
        .ok_or("set WHISPER_MODEL_PATH or HOME")?;
    let started = Instant::now();
    let engine = WhisperEngine::load(&model)?;
    println!(
        "model {} loaded in {:.2} s; RSS {} MB; {} threads",
        model.display(),
        started.elapsed().as_secs_f64(),
        rss_mb("VmRSS"),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("| input | audio (s) | wall (s) | RTF | x real time | peak RSS (MB) | segments |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for file in &files {
        run(&engine, file, &file.display().to_string())?;
    }
    if let Some(minutes) = minutes {
        let mut clips = Vec::new();
        for file in &files {
            clips.extend(meetin_whisper::decode(&std::fs::read(file)?)?);
        }
        let path = std::env::temp_dir().join(format!("meetin-rtf-{}.wav", std::process::id()));
        let total = (minutes * 60.0 * f64::from(SAMPLE_RATE)) as usize;
        write_wav(&path, clips.iter().copied().cycle().take(total))?;
        drop(clips);
        let result = run(
            &engine,
            &path,
            &format!("{minutes} min of the clips repeated (WAV)"),
        );
        std::fs::remove_file(&path)?;
        result?;
    }
    Ok(())
}

fn run(
    engine: &WhisperEngine,
    path: &Path,
    label: &str,
) -> Result<Transcription, Box<dyn std::error::Error>> {
    reset_peak_rss();
    let started = Instant::now();
    let t = engine.transcribe_file(path)?;
    let wall = started.elapsed().as_secs_f64();
    let audio = t.duration_ms as f64 / 1000.0;
    println!(
        "| {label} | {audio:.1} | {wall:.2} | {:.3} | {:.1} | {} | {} |",
        wall / audio,
        audio / wall,
        rss_mb("VmHWM"),
        t.segments.len()
    );
    std::io::stdout().flush()?;
    Ok(t)
}

fn write_wav(path: &Path, samples: impl Iterator<Item = f32>) -> Result<(), hound::Error> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: SAMPLE_RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec)?;
    for s in samples {
        w.write_sample((s.clamp(-1.0, 1.0) * f32::from(i16::MAX)) as i16)?;
    }
    w.finalize()
}

/// A line of /proc/self/status in MB (`VmRSS` now, `VmHWM` the peak).
fn rss_mb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}

/// Resets VmHWM to the current RSS (Linux: "5" to clear_refs).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}
