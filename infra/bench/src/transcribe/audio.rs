//! The recordings the transcription benchmark sends, written to files a chunk at a time (an
//! hour of 16 kHz mono PCM16 is 115 MB; it is never held in memory).

use std::path::Path;

use anyhow::Context;
use meetin_test_support::speech::audio_fixture;
use meetin_test_support::tone_speech::{self, Word};

/// What a recording says, for checking its transcript.
pub enum Said {
    /// Tone speech: the words at their times ([`tone_speech::script`]).
    Tones(Vec<Word>),
    /// Real speech: what the reader and voices say, in order.
    Text(String),
}

/// A recording on disk.
pub struct Recording {
    pub duration_ms: u64,
    pub bytes: u64,
    pub said: Said,
}

/// Tone speech of `minutes` (the fake Deepgram hears every word of it).
pub fn tones(path: &Path, minutes: u32) -> anyhow::Result<Recording> {
    let duration_ms = minutes * 60_000;
    let script = tone_speech::script(duration_ms, 60);
    tone_speech::write_wav(path, &script, duration_ms)?;
    Ok(Recording {
        duration_ms: u64::from(duration_ms),
        bytes: std::fs::metadata(path)?.len(),
        said: Said::Tones(script),
    })
}

/// The clips of real speech one cycle holds, and what each says: the espeak-ng meeting (four
/// lines), the LibriVox reader, the meeting's second line alone (tests/fixtures/audio).
const CLIPS: [&str; 3] = ["meeting.webm", "librivox-0870.flac", "phrase.flac"];

/// Silence after each clip (samples at 16 kHz): 1.5 s, a pause Whisper hears as one.
const PAUSE: usize = 24_000;

/// Real speech of about `minutes`: whole cycles of [`CLIPS`] (34.7 s each, as the API test of
/// long recordings), decoded once and written cycle after cycle.
pub fn speech(path: &Path, minutes: u32) -> anyhow::Result<Recording> {
    let clips = CLIPS
        .iter()
        .map(|name| {
            let bytes = std::fs::read(audio_fixture(name))
                .with_context(|| format!("reading tests/fixtures/audio/{name}"))?;
            meetin_whisper::decode(&bytes).with_context(|| format!("decoding {name}"))
        })
        .collect::<anyhow::Result<Vec<Vec<f32>>>>()?;
    let cycle: usize = clips.iter().map(|c| c.len() + PAUSE).sum();
    let rate = meetin_whisper::SAMPLE_RATE as usize;
    let cycles = ((minutes as usize * 60 * rate) as f64 / cycle as f64)
        .round()
        .max(1.0) as usize;
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: meetin_whisper::SAMPLE_RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut writer = hound::WavWriter::new(file, spec)?;
    for clip in clips.iter().cycle().take(cycles * clips.len()) {
        for &s in clip.iter().chain(std::iter::repeat_n(&0.0, PAUSE)) {
            writer.write_sample((s.clamp(-1.0, 1.0) * 32767.0) as i16)?;
        }
    }
    let duration_ms = u64::from(writer.len()) * 1000 / rate as u64;
    writer.finalize()?;
    let once = script_of_a_cycle()?;
    Ok(Recording {
        duration_ms,
        bytes: std::fs::metadata(path)?.len(),
        said: Said::Text(vec![once; cycles].join(" ")),
    })
}

/// What one cycle of [`CLIPS`] says, from the fixtures' transcriptions.
fn script_of_a_cycle() -> anyhow::Result<String> {
    let read = |name: &str| {
        std::fs::read_to_string(audio_fixture(name))
            .with_context(|| format!("reading tests/fixtures/audio/{name}"))
    };
    // meeting.txt: `voice|text` per line; the phrase is its second line.
    let lines: Vec<String> = read("meeting.txt")?
        .lines()
        .filter_map(|l| l.split_once('|').map(|(_, text)| text.trim().to_owned()))
        .collect();
    let phrase = lines
        .get(1)
        .cloned()
        .context("meeting.txt has no second line")?;
    Ok(format!(
        "{} {} {phrase}",
        lines.join(" "),
        read("librivox-0870.txt")?.trim()
    ))
}

/// A line of /proc/self/status in KiB (`VmHWM`: the peak RSS since the last reset).
pub fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

/// Sets VmHWM back to the current RSS (Linux: "5" to clear_refs), so each run's peak is its own.
pub fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}
