//! Cutting a recording into the windows of a long one (issue 18): one decoding pass writes
//! each window as its own 16 kHz mono PCM16 WAV, the format every engine reads (Deepgram
//! fetches it; Whisper reads it without decoding what comes before).

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use crate::WhisperError;
use crate::audio::{AudioStream, SAMPLE_RATE};

type Writer = hound::WavWriter<BufWriter<File>>;

/// Writes the parts `ranges_ms` (`[start, end)` in ms from the recording's start, sorted by
/// start) of the recording at `path` as WAV files `window-{i}.wav` in `dir`, decoding it once
/// with the checks and errors of transcription (at most `max_duration_ms`). Each file goes to
/// `done(i, file)` as soon as it is complete, in order; `done` may move or remove it, and its
/// error stops the cut. Memory: one decoded chunk; disk: the windows still open (two where
/// windows overlap) plus what `done` keeps. A range past the audio's end ends where it does.
pub fn cut_file(
    path: &Path,
    max_duration_ms: u64,
    ranges_ms: &[(u64, u64)],
    dir: &Path,
    mut done: impl FnMut(usize, PathBuf) -> Result<(), WhisperError>,
) -> Result<(), WhisperError> {
    let file = File::open(path)?;
    let mut stream = AudioStream::open(Box::new(file), max_duration_ms)?;
    let samples = |ms: u64| ms.saturating_mul(u64::from(SAMPLE_RATE)) / 1000;
    let ranges: Vec<(u64, u64)> = ranges_ms
        .iter()
        .map(|&(from, to)| (samples(from), samples(to)))
        .collect();
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: SAMPLE_RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let file_of = |i: usize| dir.join(format!("window-{i}.wav"));
    // The windows being written, and the next one to open.
    let mut open: Vec<(usize, Writer)> = Vec::new();
    let mut next = 0;
    let mut position: u64 = 0;
    while let Some(chunk) = stream.next_chunk()? {
        let end = position + chunk.len() as u64;
        while next < ranges.len() && ranges[next].0 < end {
            open.push((
                next,
                hound::WavWriter::create(file_of(next), spec).map_err(io)?,
            ));
            next += 1;
        }
        for (i, writer) in &mut open {
            let (from, to) = ranges[*i];
            let first = from.saturating_sub(position).min(chunk.len() as u64) as usize;
            let last = to.saturating_sub(position).min(chunk.len() as u64) as usize;
            for &sample in chunk.get(first..last).unwrap_or(&[]) {
                writer.write_sample(pcm16(sample)).map_err(io)?;
            }
        }
        position = end;
        while let Some(at) = open.iter().position(|(i, _)| ranges[*i].1 <= position) {
            let (i, writer) = open.remove(at);
            writer.finalize().map_err(io)?;
            done(i, file_of(i))?;
        }
    }
    // The audio ended before these windows did (or began).
    for (i, writer) in open {
        writer.finalize().map_err(io)?;
        done(i, file_of(i))?;
    }
    for i in next..ranges.len() {
        hound::WavWriter::create(file_of(i), spec)
            .and_then(hound::WavWriter::finalize)
            .map_err(io)?;
        done(i, file_of(i))?;
    }
    Ok(())
}

/// A sample in [-1, 1] as PCM16.
fn pcm16(sample: f32) -> i16 {
    (sample.clamp(-1.0, 1.0) * f32::from(i16::MAX)) as i16
}

fn io(err: hound::Error) -> WhisperError {
    match err {
        hound::Error::IoError(e) => WhisperError::Io(e),
        other => WhisperError::Io(std::io::Error::other(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `seconds` of a 440 Hz tone whose amplitude encodes the second (0.1 × (s + 1) / n).
    fn numbered_wav(dir: &Path, seconds: u32) -> PathBuf {
        let path = dir.join("in.wav");
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 8_000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut writer = hound::WavWriter::create(&path, spec).expect("create");
        for i in 0..seconds * 8_000 {
            let t = f64::from(i) / 8_000.0;
            let amplitude = 0.05 * f64::from(i / 8_000 + 1);
            let s = amplitude * (t * 440.0 * std::f64::consts::TAU).sin();
            writer.write_sample((s * 32767.0) as i16).expect("write");
        }
        writer.finalize().expect("finalize");
        path
    }

    #[test]
    fn overlapping_windows_get_exactly_their_samples_in_order() {
        let dir = std::env::temp_dir().join(format!("meetin-cut-test-{}", std::process::id()));
        let out = dir.join("out");
        std::fs::create_dir_all(&out).expect("out");
        let input = numbered_wav(&dir, 10);
        let ranges = [(0, 4_000), (3_000, 7_500), (6_500, 10_000), (9_000, 12_000)];
        let mut seen = Vec::new();
        cut_file(&input, 60_000, &ranges, &out, |i, file| {
            let reader = hound::WavReader::open(&file).expect("wav");
            assert_eq!(reader.spec().sample_rate, SAMPLE_RATE);
            let samples: Vec<i16> = reader.into_samples().map(Result::unwrap).collect();
            seen.push((i, samples.len(), peak(&samples[samples.len() - 1600..])));
            std::fs::remove_file(file).expect("done may remove it");
            Ok(())
        })
        .expect("cut");
        let windows: Vec<usize> = seen.iter().map(|s| s.0).collect();
        assert_eq!(windows, [0, 1, 2, 3], "complete, in order");
        let lengths: Vec<usize> = seen.iter().map(|s| s.1).collect();
        // 16 kHz; the last window ends with the audio (10 s).
        assert_eq!(lengths, [64_000, 72_000, 56_000, 16_000]);
        // Each window ends in the second its range ends in (amplitude 0.05 × (s + 1)).
        let second_of = |peak: f32| (peak / 0.05).round() as i32 - 1;
        let ends: Vec<i32> = seen.iter().map(|s| second_of(s.2)).collect();
        assert_eq!(ends, [3, 7, 9, 9]);
        assert_eq!(std::fs::read_dir(&out).expect("out").count(), 0);
        std::fs::remove_dir_all(&dir).expect("clean up");
    }

    fn peak(samples: &[i16]) -> f32 {
        samples
            .iter()
            .map(|s| f32::from(s.unsigned_abs()) / 32767.0)
            .fold(0.0, f32::max)
    }
}
