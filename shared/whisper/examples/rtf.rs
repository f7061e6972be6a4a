//! Real-time factor, peak memory and word error rate of the Whisper engine (docs/benchmarks.md,
//! "Whisper (offline transcription)"; `make bench-whisper`).
//!
//! ```text
//! cargo run --release -p meetin-whisper --example rtf -- [--model PATH]... [--threads N]
//!     [--minutes N] [--long-wav PATH] [--results PATH] FILE...
//! ```
//!
//! For each model (`--model`, repeatable; else `WHISPER_MODEL_PATH` or the provisioning
//! cache's English model), loaded on its own: transcribes each FILE, then, with `--minutes N`,
//! a WAV of N minutes (16 kHz mono) of the FILEs' decoded audio repeated, whole clips only,
//! the rest silence (read back as a file like the worker does; written once to `--long-wav`,
//! kept with its reference text beside it for faster-whisper's run, else to the temporary
//! directory and removed). Each row: audio length, wall time, the real-time factor (wall time
//! / audio length; 0.1 is ten times faster than real time), the peak RSS of the process while
//! transcribing it (VmHWM, reset before each run through /proc/self/clear_refs), the CPU time
//! of all its threads (which ggml's spin-waiting threads inflate on a busy machine), the segment
//! count and the word error rate against the known text: the `.txt` beside the audio file,
//! one line per utterance, the text after the last `|` (`meeting.txt` names voices that way).
//! `--results PATH` appends each row as tab-separated values (engine, input file name, audio s,
//! wall s, RTF, peak RSS MB, WER) for `infra/local/faster_whisper_bench.py --compare`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use meetin_test_support::speech::word_error_rate;
use meetin_whisper::{SAMPLE_RATE, WhisperEngine};

const USAGE: &str = "usage: rtf [--model PATH]... [--threads N] [--minutes N] [--long-wav PATH] \
                     [--results PATH] FILE...";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut models = Vec::new();
    let mut threads: Option<usize> = None;
    let mut minutes: Option<f64> = None;
    let mut long_wav: Option<PathBuf> = None;
    let mut results: Option<PathBuf> = None;
    let mut files = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--model" => models.push(PathBuf::from(value("--model")?)),
            "--threads" => threads = Some(value("--threads")?.parse()?),
            "--minutes" => minutes = Some(value("--minutes")?.parse()?),
            "--long-wav" => long_wav = Some(PathBuf::from(value("--long-wav")?)),
            "--results" => results = Some(PathBuf::from(value("--results")?)),
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            _ => files.push(PathBuf::from(arg)),
        }
    }
    if files.is_empty() {
        return Err(USAGE.into());
    }
    if models.is_empty() {
        models.push(
            meetin_whisper::model_path(&|name| std::env::var(name).ok())
                .ok_or("set WHISPER_MODEL_PATH or HOME")?,
        );
    }
    let mut inputs: Vec<(PathBuf, String, String)> = files
        .iter()
        .map(|f| Ok((f.clone(), label(f), reference(f)?)))
        .collect::<Result<_, std::io::Error>>()?;
    let long = match minutes {
        Some(minutes) => {
            let keep = long_wav.is_some();
            let path = long_wav.unwrap_or_else(|| {
                std::env::temp_dir().join(format!("meetin-rtf-{}.wav", std::process::id()))
            });
            let text = write_long_wav(&path, &files, minutes)?;
            inputs.push((
                path.clone(),
                format!("{minutes} min of the clips repeated (WAV)"),
                text,
            ));
            Some((path, keep))
        }
        None => None,
    };
    let mut results = match results {
        Some(path) => Some(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)?,
        ),
        None => None,
    };

    println!(
        "| engine | input | audio (s) | wall (s) | CPU (s) | RTF | x real time | peak RSS (MB) | segments | WER |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for model in &models {
        let started = Instant::now();
        let mut engine = WhisperEngine::load(model)?;
        if let Some(threads) = threads {
            engine = engine.with_threads(threads);
        }
        let name = format!("whisper.cpp {}, {} threads", label(model), engine.threads());
        eprintln!(
            "{name}: loaded in {:.2} s; RSS {} MB",
            started.elapsed().as_secs_f64(),
            rss_mb("VmRSS")
        );
        for (path, input, text) in &inputs {
            reset_peak_rss();
            let cpu_before = cpu_seconds();
            let started = Instant::now();
            let t = engine.transcribe_file(path)?;
            let wall = started.elapsed().as_secs_f64();
            let cpu = cpu_seconds() - cpu_before;
            let audio = t.duration_ms as f64 / 1000.0;
            let hypothesis: Vec<&str> = t.segments.iter().map(|s| s.text.as_str()).collect();
            let wer = word_error_rate(text, &hypothesis.join(" "));
            let peak = rss_mb("VmHWM");
            println!(
                "| {name} | {input} | {audio:.1} | {wall:.2} | {cpu:.1} | {:.3} | {:.1} | {peak} | {} | {wer:.3} |",
                wall / audio,
                audio / wall,
                t.segments.len()
            );
            std::io::stdout().flush()?;
            if let Some(out) = results.as_mut() {
                writeln!(
                    out,
                    "{name}\t{}\t{audio:.1}\t{wall:.2}\t{:.4}\t{peak}\t{wer:.4}",
                    label(path),
                    wall / audio
                )?;
            }
        }
    }
    if let Some((path, false)) = long {
        std::fs::remove_file(path.with_extension("txt"))?;
        std::fs::remove_file(&path)?;
    }
    Ok(())
}

/// A file's name, for the tables.
fn label(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into(),
    )
}

/// The known text of an audio file: its `.txt` sibling's lines, each the text after its last `|`.
fn reference(audio: &Path) -> Result<String, std::io::Error> {
    let path = audio.with_extension("txt");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    Ok(text
        .lines()
        .map(|l| l.rsplit('|').next().unwrap_or(l).trim())
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n"))
}

/// Writes `minutes` of `files` repeated as a 16 kHz mono WAV at `path`: whole clips while they
/// fit, then silence, so its known text is exact; that text is also written beside it
/// (`.txt`) and returned.
fn write_long_wav(
    path: &Path,
    files: &[PathBuf],
    minutes: f64,
) -> Result<String, Box<dyn std::error::Error>> {
    let mut clips = Vec::new();
    for file in files {
        clips.push((
            meetin_whisper::decode(&std::fs::read(file)?)?,
            reference(file)?,
        ));
    }
    if clips.iter().all(|(samples, _)| samples.is_empty()) {
        return Err("the files hold no audio to repeat".into());
    }
    let total = (minutes * 60.0 * f64::from(SAMPLE_RATE)) as usize;
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: SAMPLE_RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec)?;
    let mut written = 0;
    let mut text = Vec::new();
    'fill: loop {
        for (samples, words) in &clips {
            if written + samples.len() > total {
                break 'fill;
            }
            for s in samples {
                w.write_sample((s.clamp(-1.0, 1.0) * f32::from(i16::MAX)) as i16)?;
            }
            written += samples.len();
            text.push(words.as_str());
        }
    }
    for _ in written..total {
        w.write_sample(0i16)?;
    }
    w.finalize()?;
    let text = text.join("\n");
    std::fs::write(path.with_extension("txt"), &text)?;
    Ok(text)
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

/// CPU time of the process, all threads, user and system (s): /proc/self/stat's utime and
/// stime, in clock ticks of 1/100 s (Linux's USER_HZ).
fn cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|stat| {
            // The fields after the command name, which is in parentheses.
            let rest = &stat[stat.rfind(')')? + 2..];
            let f: Vec<&str> = rest.split_whitespace().collect();
            Some(f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?)
        })
        .map_or(0.0, |ticks| ticks / 100.0)
}

/// Resets VmHWM to the current RSS (Linux: "5" to clear_refs).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}
