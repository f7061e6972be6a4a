//! Live captions without Deepgram on real speech: the committed fixtures (the espeak-ng
//! meeting and a LibriVox reader, tests/fixtures/audio) streamed as the web client sends
//! them, 8,192-byte PCM16 frames, through the chunker and the engine with the model
//! `infra/local/whisper-model.sh` provisions (these tests fail, naming the script, without it,
//! as every test of the engine does). Latency is printed, not asserted.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use meetin_test_support::speech::{audio_fixture_bytes, whisper_model, word_error_rate};
use meetin_whisper::live::{Chunk, ChunkerSettings, Cut, FRAME_MS, LiveWhisper, PauseChunker};
use meetin_whisper::{SAMPLE_RATE, Segment, WhisperEngine, decode};

/// The meeting's four lines (tests/fixtures/audio/meeting.txt, voices dropped).
const LINES: [&str; 4] = [
    "Good morning everyone. Let's start the weekly planning meeting.",
    "Thanks. The new release is ready for testing on Friday.",
    "Great. Sarah will update the budget report by Monday.",
    "I will send the meeting notes to the whole team today.",
];

/// What tiny.en must reach on the chunks: the bound of the whole-recording tests on this
/// synthetic speech (tests/transcribe.rs).
const MAX_WER: f64 = 0.25;

/// The web client's frame: 8,192 bytes, 4,096 samples, 256 ms.
const FRAME_BYTES: usize = 8_192;

fn live() -> &'static LiveWhisper {
    static LIVE: OnceLock<LiveWhisper> = OnceLock::new();
    LIVE.get_or_init(|| {
        let engine = WhisperEngine::load(whisper_model()).expect("the model loads");
        LiveWhisper::new(Arc::new(engine))
    })
}

fn pcm16(samples: &[f32]) -> Vec<i16> {
    samples
        .iter()
        .map(|s| (s.clamp(-1.0, 1.0) * f32::from(i16::MAX)) as i16)
        .collect()
}

fn fixture(name: &str) -> Vec<i16> {
    pcm16(&decode(&audio_fixture_bytes(name)).expect("decoded"))
}

/// White noise `db` loud (mean square, full scale 0 dB), from a fixed seed.
fn noise_bed(len: usize, db: f32) -> Vec<i16> {
    let amplitude = 10f32.powf(db / 20.0) * 3f32.sqrt() * 32_767.0;
    let mut seed = 5u32;
    (0..len)
        .map(|_| {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            ((f32::from((seed >> 16) as u16) / 32_767.5 - 1.0) * amplitude) as i16
        })
        .collect()
}

/// A chunk as cut during the stream, and how much audio past its end (ms) had been pushed
/// when it came out.
struct Cutting {
    chunk: Chunk,
    waited_ms: i64,
}

/// The session streamed in the web client's frames (as bytes), the chunks in order with the
/// audio pushed after each chunk's end before it came out.
fn stream(pcm: &[i16], settings: &ChunkerSettings) -> Vec<Cutting> {
    let bytes: Vec<u8> = pcm.iter().flat_map(|s| s.to_le_bytes()).collect();
    let mut chunker = PauseChunker::new(settings.clone());
    let mut out = Vec::new();
    for frame in bytes.chunks(FRAME_BYTES) {
        for chunk in chunker.push_pcm16le(frame) {
            let waited_ms = chunker.position_ms() - chunk.end_ms();
            out.push(Cutting { chunk, waited_ms });
        }
        assert!(
            chunker.buffered_ms() <= i64::from(settings.max_ms) + FRAME_MS,
            "{} ms held",
            chunker.buffered_ms()
        );
    }
    out.extend(chunker.finish().map(|chunk| Cutting {
        chunk,
        waited_ms: 0,
    }));
    out
}

/// Each chunk transcribed, with timings printed; the finals in session time. One session at
/// a time, as one meeting on its engine: the times are not another test's wait on the lock.
fn transcribe(cuttings: &[Cutting], settings: &ChunkerSettings) -> Vec<(Chunk, Vec<Segment>)> {
    static ONE_SESSION: Mutex<()> = Mutex::new(());
    let _alone = ONE_SESSION.lock().unwrap_or_else(|e| e.into_inner());
    let mut out = Vec::new();
    let mut whisper_total = 0.0;
    for Cutting { chunk, waited_ms } in cuttings {
        let started = Instant::now();
        let segments = live().transcribe(chunk).expect("transcribed");
        let whisper_ms = started.elapsed().as_secs_f64() * 1000.0;
        whisper_total += whisper_ms;
        // From the chunk's last speech: the pause waited for, the rest of the frame, Whisper.
        let pause = if chunk.cut == Cut::Pause {
            i64::from(settings.pause_ms)
        } else {
            0
        };
        let text: Vec<&str> = segments.iter().map(|s| s.text.as_str()).collect();
        println!(
            "{:>6}..{:>6} ms {:?} speech {:>4} ms | cut {:>3} ms after its end, Whisper {:>4.0} ms, \
             latency from its last speech {:>5.0} ms | {text:?}",
            chunk.start_ms,
            chunk.end_ms(),
            chunk.cut,
            chunk.speech_ms,
            waited_ms,
            whisper_ms,
            (pause + waited_ms) as f64 + whisper_ms,
        );
        out.push((chunk.clone(), segments));
    }
    let audio_ms = cuttings.last().map_or(0, |c| c.chunk.end_ms());
    println!(
        "{} chunks, Whisper {whisper_total:.0} ms for {audio_ms} ms of session ({:.2} of real time, {} threads)",
        cuttings.len(),
        whisper_total / audio_ms.max(1) as f64,
        live().engine().threads()
    );
    out
}

fn text(finals: &[(Chunk, Vec<Segment>)]) -> String {
    finals
        .iter()
        .flat_map(|(_, segments)| segments.iter().map(|s| s.text.as_str()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Finals in session order: each within its chunk, none before the previous one ends,
/// `Speaker 0`, not empty, confidence 0..=1.
fn assert_in_order(finals: &[(Chunk, Vec<Segment>)]) {
    let mut previous_end = 0;
    for (chunk, segments) in finals {
        for s in segments {
            assert!(!s.text.trim().is_empty(), "{s:?}");
            assert_eq!(s.speaker_label, "Speaker 0");
            assert!(s.confidence.is_some_and(|c| (0.0..=1.0).contains(&c)));
            assert!(s.start_ms <= s.end_ms, "{s:?}");
            assert!(
                s.start_ms >= previous_end,
                "{s:?} starts before {previous_end}"
            );
            assert!(
                i64::from(s.start_ms) >= chunk.start_ms && i64::from(s.end_ms) <= chunk.end_ms(),
                "{s:?} outside its chunk {}..{}",
                chunk.start_ms,
                chunk.end_ms()
            );
            previous_end = s.end_ms;
        }
    }
}

/// The session's pauses in the clean audio: runs of at least 200 ms of frames under −40 dB
/// (ms, start..end). Words have none so long: espeak-ng's stops are silent for under 100 ms.
fn pauses(pcm: &[i16]) -> Vec<(i64, i64)> {
    let frame = SAMPLE_RATE as usize / 50;
    let quiet: Vec<bool> = pcm
        .chunks(frame)
        .map(|f| {
            let power = f
                .iter()
                .map(|&s| (f32::from(s) / 32_768.0).powi(2))
                .sum::<f32>()
                / f.len() as f32;
            power < 1e-4
        })
        .collect();
    let mut runs = Vec::new();
    let mut start = None;
    for (i, q) in quiet.iter().chain(std::iter::once(&false)).enumerate() {
        match (q, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                if i - s >= 10 {
                    runs.push((s as i64 * 20, i as i64 * 20));
                }
                start = None;
            }
            _ => {}
        }
    }
    runs
}

#[test]
fn a_meeting_streamed_in_frames_is_cut_at_its_pauses_and_transcribed_in_order() {
    // The meeting, a human reader, the meeting again: 45 s, under a room's noise (−55 dB).
    let meeting = fixture("meeting.webm");
    let reader = fixture("librivox-0870.flac");
    let clean = [&meeting[..], &reader, &meeting].concat();
    let bed = noise_bed(clean.len(), -55.0);
    let session: Vec<i16> = clean
        .iter()
        .zip(&bed)
        .map(|(s, n)| s.saturating_add(*n))
        .collect();
    let settings = ChunkerSettings::default();
    let cuttings = stream(&session, &settings);

    // Cut at pauses only: every boundary in one of the clean audio's pauses.
    let pauses = pauses(&clean);
    for c in &cuttings {
        for at in [c.chunk.start_ms, c.chunk.end_ms()] {
            assert!(
                pauses
                    .iter()
                    .any(|(from, to)| (from - FRAME_MS..=to + FRAME_MS).contains(&at)),
                "a cut at {at} ms is not in a pause: {pauses:?}"
            );
        }
        assert_eq!(c.chunk.cut, Cut::Pause, "{} ms", c.chunk.start_ms);
        assert!(c.chunk.duration_ms() >= 2_000, "{} ms", c.chunk.start_ms);
    }
    // One chunk a line (their sentences' 360 ms pauses come before 2 s), one for the reader.
    assert_eq!(cuttings.len(), 9, "{pauses:?}");

    let finals = transcribe(&cuttings, &settings);
    let reference = [
        LINES.join(" "),
        String::from_utf8(audio_fixture_bytes("librivox-0870.txt")).expect("text"),
        LINES.join(" "),
    ]
    .join(" ");
    let wer = word_error_rate(&reference, &text(&finals));
    println!("WER {wer:.3}: {}", text(&finals));
    assert!(wer <= MAX_WER, "WER {wer:.3}: {}", text(&finals));
    // Each line in its own chunk, in order.
    for (i, line) in LINES.iter().enumerate() {
        for (chunk, segments) in [&finals[i], &finals[i + 5]] {
            let heard: Vec<&str> = segments.iter().map(|s| s.text.as_str()).collect();
            let wer = word_error_rate(line, &heard.join(" "));
            assert!(wer <= 0.5, "{} ms: {heard:?} for {line:?}", chunk.start_ms);
        }
    }
    assert_in_order(&finals);
}

#[test]
fn a_talker_who_never_pauses_is_cut_every_max_ms_at_the_quietest_point() {
    // The meeting with its pauses shortened to 100 ms of silence, twice: 28 s without a
    // pause. (espeak-ng leaves no silence between the words of a sentence.)
    let meeting = fixture("meeting.webm");
    let sample = |ms: i64| usize::try_from(ms).expect("ms") * SAMPLE_RATE as usize / 1000;
    let mut once = Vec::new();
    let mut gaps = Vec::new();
    let mut at = 0;
    for (from, to) in pauses(&meeting) {
        once.extend_from_slice(&meeting[sample(at).min(meeting.len())..sample(from)]);
        gaps.push(once.len() as i64 * 1000 / i64::from(SAMPLE_RATE));
        once.extend(std::iter::repeat_n(0, sample(100)));
        at = to;
    }
    once.extend_from_slice(&meeting[sample(at).min(meeting.len())..]);
    let once_ms = once.len() as i64 * 1000 / i64::from(SAMPLE_RATE);
    let gaps: Vec<i64> = [0, once_ms]
        .iter()
        .flat_map(|offset| gaps.iter().map(move |g| g + offset))
        .collect();
    let session = [&once[..], &once].concat();
    let settings = ChunkerSettings::default();
    let cuttings = stream(&session, &settings);
    for pair in cuttings.windows(2) {
        assert_eq!(pair[0].chunk.end_ms(), pair[1].chunk.start_ms, "no gap");
    }
    let mut forced = 0;
    for c in &cuttings {
        let (start, end) = (c.chunk.start_ms, c.chunk.end_ms());
        assert!(end - start <= 8_000, "{start}..{end}");
        if c.chunk.cut != Cut::Forced {
            continue;
        }
        forced += 1;
        assert!(end - start >= 7_000, "{start}..{end}");
        // Where the second searched holds a sentence's 100 ms gap, the cut is in it; else
        // it is the quietest 100 ms of speech (a stop's closure: it may split a word).
        let searched = start + 7_000..start + 8_000;
        if gaps.iter().any(|g| searched.contains(g)) {
            assert!(
                gaps.iter().any(|g| (*g..=g + 100).contains(&end)),
                "cut at {end}, gaps at {gaps:?}"
            );
        }
    }
    assert!(forced >= 3, "{forced} forced cuts");
    let finals = transcribe(&cuttings, &settings);
    let reference = [LINES.join(" "), LINES.join(" ")].join(" ");
    let wer = word_error_rate(&reference, &text(&finals));
    println!("WER {wer:.3} across forced cuts: {}", text(&finals));
    assert!(wer <= MAX_WER, "WER {wer:.3}: {}", text(&finals));
    assert_in_order(&finals);
}

#[test]
fn silence_and_noise_make_no_chunks_and_no_whisper_call() {
    let rate = SAMPLE_RATE as usize;
    let settings = ChunkerSettings::default();
    for (what, pcm) in [
        ("a minute of silence", vec![0i16; 60 * rate]),
        ("a minute of room noise", noise_bed(60 * rate, -55.0)),
        ("a minute of loud fan", noise_bed(60 * rate, -20.0)),
    ] {
        let cuttings = stream(&pcm, &settings);
        assert_eq!(cuttings.len(), 0, "{what}");
    }
}

#[tokio::test]
async fn the_async_convenience_gives_what_the_blocking_call_does() {
    let phrase = fixture("phrase.flac");
    let mut chunker = PauseChunker::default();
    let mut chunks = chunker.push(&[vec![0; 48_000], phrase].concat());
    chunks.extend(chunker.finish());
    assert_eq!(chunks.len(), 1);
    let chunk = chunks.remove(0);
    // 3 s of silence before it: the segments are in session time.
    let segments = live().transcribe_async(chunk.clone()).await.expect("async");
    assert!(segments[0].start_ms >= 2_800, "{segments:?}");
    assert_eq!(segments, live().transcribe(&chunk).expect("blocking"));
    let heard: Vec<&str> = segments.iter().map(|s| s.text.as_str()).collect();
    assert!(
        word_error_rate(LINES[1], &heard.join(" ")) <= 0.25,
        "{heard:?}"
    );
}
