//! Decoding without the model: every container the engine reads, resampling to 16 kHz mono
//! (checked on tones), and bad input as errors, never a panic.

use std::io::Cursor;

use meetin_test_support::speech::audio_fixture_bytes;
use meetin_whisper::{SAMPLE_RATE, WhisperError, decode};

/// The phrase fixtures last 4.07 s (ffprobe); each format pads or trims a few ms.
const PHRASE_SECONDS: f64 = 4.07;

fn seconds(samples: &[f32]) -> f64 {
    samples.len() as f64 / f64::from(SAMPLE_RATE)
}

fn rms(samples: &[f32]) -> f64 {
    (samples.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>() / samples.len() as f64).sqrt()
}

/// A WAV of a `hz` sine at `rate` with `channels` identical channels, `secs` long.
fn tone(rate: u32, channels: u16, hz: f64, secs: f64) -> Vec<u8> {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut out = Cursor::new(Vec::new());
    let mut w = hound::WavWriter::new(&mut out, spec).expect("wav writer");
    let frames = (f64::from(rate) * secs) as usize;
    for i in 0..frames {
        let v = (std::f64::consts::TAU * hz * i as f64 / f64::from(rate)).sin() * 0.5;
        for _ in 0..channels {
            w.write_sample((v * f64::from(i16::MAX)) as i16)
                .expect("sample");
        }
    }
    w.finalize().expect("finalize");
    out.into_inner()
}

/// The frequency of a tone, from its rising zero crossings over the middle of the signal.
fn frequency(samples: &[f32]) -> f64 {
    let middle = &samples[samples.len() / 10..samples.len() * 9 / 10];
    let rising = middle
        .windows(2)
        .filter(|w| w[0] < 0.0 && w[1] >= 0.0)
        .count();
    rising as f64 / seconds(middle)
}

#[test]
fn every_supported_container_decodes_to_the_phrase_at_16_khz() {
    for name in [
        "phrase.wav",  // PCM 8 kHz mono
        "phrase.mp3",  // MP3 44.1 kHz stereo
        "phrase.m4a",  // AAC-LC in MP4, 48 kHz
        "phrase.ogg",  // Vorbis in Ogg, 44.1 kHz
        "phrase.opus", // Opus in Ogg (libopus), 48 kHz
        "phrase.flac", // FLAC 16 kHz
        "phrase.webm", // Opus in WebM (libopus), 48 kHz stereo
        "phrase.aac",  // AAC-LC in ADTS, 44.1 kHz
        "phrase.mp4",  // H.264 video with an AAC sound track
    ] {
        let samples = decode(&audio_fixture_bytes(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let secs = seconds(&samples);
        assert!(
            (secs - PHRASE_SECONDS).abs() < 0.08,
            "{name}: {secs:.3} s, expected about {PHRASE_SECONDS} s"
        );
        assert!(
            rms(&samples) > 0.02,
            "{name}: no signal ({})",
            rms(&samples)
        );
        assert!(
            samples.iter().all(|s| s.is_finite() && s.abs() <= 1.5),
            "{name}"
        );
    }
}

#[test]
fn resampling_keeps_the_pitch_and_the_length() {
    for (rate, channels) in [
        (44_100, 2),
        (48_000, 1),
        (22_050, 1),
        (8_000, 1),
        (16_000, 2),
    ] {
        let samples = decode(&tone(rate, channels, 440.0, 2.0)).expect("a tone decodes");
        assert!(
            (seconds(&samples) - 2.0).abs() < 0.002,
            "{rate} Hz: {} s",
            seconds(&samples)
        );
        let hz = frequency(&samples);
        assert!((hz - 440.0).abs() < 2.0, "{rate} Hz x{channels}: {hz} Hz");
        assert!(
            (rms(&samples) - 0.5 / 2f64.sqrt()).abs() < 0.02,
            "{rate} Hz: level"
        );
    }
}

#[test]
fn bad_audio_is_an_error_that_blames_the_audio() {
    let wav = audio_fixture_bytes("phrase.wav");
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        (
            "text",
            b"this is not audio at all, just words in a file".repeat(50),
        ),
        ("zeros", vec![0; 10_000]),
        ("png", {
            let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
            png.resize(4_000, 7);
            png
        }),
        ("wav header only", wav[..44].to_vec()),
        ("wav cut inside the header", wav[..20].to_vec()),
    ];
    for (what, bytes) in cases {
        match decode(&bytes) {
            Err(e) => assert!(e.is_bad_audio(), "{what}: {e:?} should blame the audio"),
            Ok(samples) => assert!(
                samples.is_empty(),
                "{what}: decoded {} samples",
                samples.len()
            ),
        }
    }
    assert!(matches!(decode(&[]), Err(WhisperError::EmptyAudio)));
}

#[test]
fn a_file_cut_short_decodes_up_to_the_cut() {
    for name in [
        "phrase.wav",
        "phrase.mp3",
        "phrase.webm",
        "phrase.ogg",
        "phrase.flac",
    ] {
        let bytes = audio_fixture_bytes(name);
        let half = &bytes[..bytes.len() / 2];
        let samples = decode(half).unwrap_or_else(|e| panic!("{name} cut in half: {e}"));
        let secs = seconds(&samples);
        assert!(
            (0.5..3.5).contains(&secs),
            "{name} cut in half: {secs:.2} s of {PHRASE_SECONDS}"
        );
    }
}

#[test]
fn the_quietest_point_of_real_speech_is_its_pause() {
    // The phrase (4.1 s of speech), 3 s of silence, the phrase again.
    let phrase = meetin_test_support::speech::audio_fixture_bytes("phrase.wav");
    let mut reader = hound::WavReader::new(std::io::Cursor::new(phrase)).expect("phrase.wav");
    let spec = reader.spec();
    let samples: Vec<i16> = reader
        .samples::<i16>()
        .map(|s| s.expect("sample"))
        .collect();
    let path = std::env::temp_dir().join(format!("meetin-loudness-{}.wav", std::process::id()));
    let mut writer = hound::WavWriter::create(&path, spec).expect("writer");
    let silence = spec.sample_rate as usize * 3 * usize::from(spec.channels);
    for s in samples
        .iter()
        .chain(std::iter::repeat_n(&0, silence))
        .chain(&samples)
    {
        writer.write_sample(*s).expect("write");
    }
    writer.finalize().expect("finalize");
    let loudness = meetin_whisper::loudness_file(&path, 60_000).expect("loudness");
    std::fs::remove_file(&path).ok();
    let speech_ms = (samples.len() as i64 * 1000) / i64::from(spec.sample_rate);
    assert!((loudness.duration_ms() - (2 * speech_ms + 3000)).abs() <= 200);
    let cut = loudness.quietest(0, loudness.duration_ms());
    assert!(
        (speech_ms..=speech_ms + 3000).contains(&cut),
        "cut at {cut} ms, the pause is {speech_ms}..{} ms",
        speech_ms + 3000
    );
}
