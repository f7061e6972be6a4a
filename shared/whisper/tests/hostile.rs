//! The hostile corpus (meetin_test_support::hostile, issue 16) through decoding and
//! measuring, each case under an allocator cap of its own: each is refused with a bad-audio
//! reason (or, where the lie is one a decoder rightly ignores, decodes only the audio really
//! there), never panics, and never allocates more than a fixed budget.

use std::alloc::System;
use std::io::Write;
use std::sync::Mutex;

use meetin_test_support::hostile::{Expect, corpus};
use meetin_whisper::{SAMPLE_RATE, WhisperError, decode, measure};

/// What decoding or measuring one hostile file may allocate above what was live before
/// (bytes): the allocator refuses more, which aborts this test binary (naming the case on
/// stderr) instead of letting the machine swap as the issue's 3.4 GB resampler did.
const BUDGET: usize = 64 << 20;

#[global_allocator]
static ALLOCATOR: cap::Cap<System> = cap::Cap::new(System, usize::MAX);

/// One case at a time, so the budget is that case's.
static SERIAL: Mutex<()> = Mutex::new(());

/// Runs `f` with at most [`BUDGET`] more bytes live at once than before it; names `what` on
/// stderr first (uncaptured, so it survives an abort).
fn within_budget<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let _ = writeln!(std::io::stderr(), "hostile case: {what}");
    ALLOCATOR
        .set_limit(ALLOCATOR.allocated() + BUDGET)
        .expect("a limit above what is live");
    let out = f();
    ALLOCATOR.set_limit(usize::MAX).expect("no limit");
    out
}

fn ms(samples: &[f32]) -> u64 {
    samples.len() as u64 * 1000 / u64::from(SAMPLE_RATE)
}

#[test]
fn every_hostile_recording_is_refused_or_read_for_what_it_holds_within_the_budget() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let cases = corpus();
    assert!(cases.len() > 80, "the corpus has {} cases", cases.len());
    let mut failures = Vec::new();
    let mut refused = 0;
    for case in &cases {
        let decoded = within_budget(&case.name, || decode(&case.bytes));
        let measured = within_budget(&case.name, || measure(&case.bytes, 4 * 3_600_000));
        let verdict = match (&decoded, case.expect) {
            (Err(e), _) if e.is_bad_audio() => {
                refused += 1;
                Ok(())
            }
            (Err(e), _) => Err(format!("not a bad-audio error: {e:?}")),
            (Ok(_), Expect::Refused) => Err("decoded, but must be refused".to_owned()),
            (Ok(samples), Expect::RefusedOrAtMost { max_ms }) if ms(samples) > max_ms => Err(
                format!("decoded {} ms, more than the file holds", ms(samples)),
            ),
            (Ok(_), _) => Ok(()),
        };
        let measured_ok = match &measured {
            Ok(m) => m.duration_ms <= case.measure_max_ms || decoded.is_err(),
            Err(e) => e.is_bad_audio(),
        };
        if let Err(why) = verdict {
            failures.push(format!("{}: {why}", case.name));
        }
        if !measured_ok {
            failures.push(format!("{}: measured {measured:?}", case.name));
        }
        eprintln!(
            "{:<55} {}",
            case.name,
            match &decoded {
                Ok(s) => format!("decoded {} ms", ms(s)),
                Err(e) => e.to_string(),
            }
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Most lies are refused outright, not merely survived.
    assert!(
        refused * 2 > cases.len(),
        "{refused} of {} refused",
        cases.len()
    );
}

#[test]
fn the_issues_wav_bombs_are_refused_before_anything_is_sized_from_them() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let wav = meetin_test_support::speech::audio_fixture_bytes("phrase.wav");
    for rate in [4_294_967_295u32, 1_000_003, 4_000_001, 8] {
        let mut b = wav.clone();
        b[24..28].copy_from_slice(&rate.to_le_bytes());
        // Far under the 3.4 GB the resampler took for 4,294,967,295 Hz: 1 MiB.
        ALLOCATOR
            .set_limit(ALLOCATOR.allocated() + (1 << 20))
            .expect("limit");
        let result = decode(&b);
        ALLOCATOR.set_limit(usize::MAX).expect("no limit");
        match result {
            Err(WhisperError::OutOfRange(why)) => {
                assert!(why.contains(&rate.to_string()), "{why}");
            }
            other => panic!("{rate} Hz: {other:?}"),
        }
    }
}

#[test]
fn an_odd_but_plausible_rate_resamples_in_little_memory() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // 191,999 Hz is prime to 16,000: without rounding the FFT resampler sizes itself by it.
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 191_999,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut out = std::io::Cursor::new(Vec::new());
    let mut w = hound::WavWriter::new(&mut out, spec).expect("writer");
    for i in 0..191_999u32 {
        let v = (std::f64::consts::TAU * 440.0 * f64::from(i) / 191_999.0).sin() * 8000.0;
        w.write_sample(v as i16).expect("sample");
    }
    w.finalize().expect("finalize");
    let bytes = out.into_inner();
    // Within 16 MiB, though the input alone is 375 KiB and the output 62 KiB.
    ALLOCATOR
        .set_limit(ALLOCATOR.allocated() + (16 << 20))
        .expect("limit");
    let samples = decode(&bytes);
    ALLOCATOR.set_limit(usize::MAX).expect("no limit");
    let samples = samples.expect("a plausible rate decodes");
    // One second in, one second (16,000 samples) out.
    assert!(
        (15_900..=16_100).contains(&samples.len()),
        "{}",
        samples.len()
    );
}

#[test]
fn a_recording_longer_than_the_limit_is_refused_by_its_measure() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    for fixture in ["phrase.webm", "phrase.wav", "phrase.m4a", "phrase.mp3"] {
        let bytes = meetin_test_support::speech::audio_fixture_bytes(fixture);
        let measured = measure(&bytes, 60_000).expect("measured");
        assert!(
            (3_900..=4_400).contains(&measured.duration_ms),
            "{fixture}: {measured:?}"
        );
        match measure(&bytes, 2_000) {
            Err(e @ WhisperError::TooLong { max_ms: 2_000 }) => {
                assert_eq!(
                    e.to_string(),
                    "the recording is longer than the 2 seconds allowed"
                );
            }
            other => panic!("{fixture}: {other:?}"),
        }
    }
}

#[test]
fn every_hostile_recording_is_measured_for_loudness_and_cut_into_windows_within_the_budget() {
    // What the recording worker runs on a long recording before any engine: the loudness
    // (a full decode) and the windows (a second one, writing WAVs), from a file on disk.
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = std::env::temp_dir().join(format!("meetin-hostile-cut-{}", std::process::id()));
    let out = dir.join("windows");
    std::fs::create_dir_all(&out).expect("dir");
    let input = dir.join("input");
    let mut failures = Vec::new();
    for case in &corpus() {
        std::fs::write(&input, &case.bytes).expect("write");
        let loudness = within_budget(&case.name, || {
            meetin_whisper::loudness_file(&input, 4 * 3_600_000)
        });
        let windows = [(0, 2_000), (1_500, 4_000), (3_500, 3_600_000)];
        let cut = within_budget(&case.name, || {
            meetin_whisper::cut_file(&input, 4 * 3_600_000, &windows, &out, |_, file| {
                std::fs::remove_file(file).map_err(WhisperError::Io)
            })
        });
        for (what, result) in [("loudness", loudness.map(drop)), ("cut", cut)] {
            if let Err(e) = result
                && !e.is_bad_audio()
            {
                failures.push(format!(
                    "{}: {what}: not a bad-audio error: {e:?}",
                    case.name
                ));
            }
        }
    }
    std::fs::remove_dir_all(&dir).expect("clean up");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
