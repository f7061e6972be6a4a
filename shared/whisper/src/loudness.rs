//! How loud a recording is over time, to cut a long recording where nobody speaks (issue 18:
//! windows transcribed in parallel, `meetin_messages::transcript::windows::plan`).

use std::path::Path;

use crate::WhisperError;
use crate::audio::{AudioStream, SAMPLE_RATE};

/// The length of one loudness frame, in ms.
pub const FRAME_MS: i64 = 100;

/// The stretch a pause must hold to count, in ms: the quietest point is the middle of the
/// quietest half second, not one quiet frame inside a word.
const PAUSE_MS: i64 = 500;

/// A recording's loudness: the RMS of its 16 kHz mono samples per [`FRAME_MS`] frame
/// (36,000 values an hour, 144 KB).
#[derive(Debug, Clone, PartialEq)]
pub struct Loudness {
    pub rms: Vec<f32>,
}

impl Loudness {
    /// The recording's length as measured, in ms.
    pub fn duration_ms(&self) -> i64 {
        i64::try_from(self.rms.len()).unwrap_or(i64::MAX) * FRAME_MS
    }

    /// The middle of the quietest [`PAUSE_MS`] stretch within `from_ms..=to_ms`, in ms
    /// (`from_ms` when the range is shorter than a stretch). Where several are about as quiet
    /// (a long silence), the middle of the longest run of them: the cut is kept away from
    /// the speech on either side.
    pub fn quietest(&self, from_ms: i64, to_ms: i64) -> i64 {
        let width = usize::try_from(PAUSE_MS / FRAME_MS).unwrap_or(1);
        let frame = |ms: i64| usize::try_from((ms / FRAME_MS).max(0)).unwrap_or(0);
        let (first, last) = (frame(from_ms), frame(to_ms).min(self.rms.len()));
        if last < first + width {
            return from_ms;
        }
        // The loudness of each stretch, by its first frame.
        let mut sums = Vec::with_capacity(last - width + 1 - first);
        let mut sum: f32 = self.rms[first..first + width].iter().sum();
        sums.push(sum);
        for start in first + 1..=last - width {
            sum += self.rms[start + width - 1] - self.rms[start - 1];
            sums.push(sum);
        }
        let quietest = sums.iter().copied().fold(f32::INFINITY, f32::min);
        let near = quietest + (quietest * 0.1).max(1e-4);
        let (mut best, mut best_len, mut run_start) = (0usize, 0usize, None);
        for (i, &s) in sums
            .iter()
            .chain(std::iter::once(&f32::INFINITY))
            .enumerate()
        {
            match (s <= near, run_start) {
                (true, None) => run_start = Some(i),
                (false, Some(start)) => {
                    if i - start > best_len {
                        (best, best_len) = (start, i - start);
                    }
                    run_start = None;
                }
                _ => {}
            }
        }
        let middle = first + best + best_len.saturating_sub(1) / 2;
        i64::try_from(middle).unwrap_or(0) * FRAME_MS + PAUSE_MS / 2
    }
}

/// The loudness of the recording at `path`, decoded a chunk at a time (memory: one chunk and
/// the frames), with the checks and errors of transcription, at most `max_duration_ms` of it.
pub fn loudness_file(path: &Path, max_duration_ms: u64) -> Result<Loudness, WhisperError> {
    let file = std::fs::File::open(path)?;
    let mut stream = AudioStream::open(Box::new(file), max_duration_ms)?;
    let per_frame = usize::try_from(i64::from(SAMPLE_RATE) * FRAME_MS / 1000).unwrap_or(1600);
    let (mut rms, mut squares, mut count) = (Vec::new(), 0f64, 0usize);
    while let Some(chunk) = stream.next_chunk()? {
        for sample in chunk {
            squares += f64::from(sample) * f64::from(sample);
            count += 1;
            if count == per_frame {
                rms.push((squares / count as f64).sqrt() as f32);
                (squares, count) = (0.0, 0);
            }
        }
    }
    if count > 0 {
        rms.push((squares / count as f64).sqrt() as f32);
    }
    Ok(Loudness { rms })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_quietest_point_is_the_middle_of_the_quietest_half_second() {
        // 10 s of sound with a 1 s pause at 6.0–7.0 s and one quiet frame at 2.0 s.
        let mut rms = vec![0.3f32; 100];
        rms[20] = 0.0;
        for frame in &mut rms[60..70] {
            *frame = 0.01;
        }
        let loudness = Loudness { rms };
        assert_eq!(loudness.duration_ms(), 10_000);
        let at = loudness.quietest(0, 10_000);
        assert!((6000..=7000).contains(&at), "{at}");
        // Outside the pause, the quietest stretch within the range.
        assert!((1800..=2500).contains(&loudness.quietest(0, 4000)));
        assert_eq!(
            loudness.quietest(3000, 3200),
            3000,
            "shorter than a stretch"
        );
    }
}
