use rubato::Resampler;

use super::*;

const PHRASE_WAV: &[u8] = include_bytes!("../../../../tests/fixtures/audio/phrase.wav");

/// Every chunk of the stream, or its first error.
fn drain(max_duration_ms: u64) -> Result<u64, WhisperError> {
    let mut stream =
        AudioStream::open(Box::new(std::io::Cursor::new(PHRASE_WAV)), max_duration_ms)?;
    while stream.next_chunk()?.is_some() {}
    Ok(stream.samples_out)
}

#[test]
fn the_decoded_stream_stops_past_its_duration_limit() {
    // The 4.07 s phrase: whole within 5 s, refused within 2 s however its packets lie.
    let samples = drain(5_000).expect("decoded");
    assert!((64_000..=66_000).contains(&samples), "{samples}");
    assert!(matches!(
        drain(2_000),
        Err(WhisperError::TooLong { max_ms: 2_000 })
    ));
}

#[test]
fn the_resampler_works_at_a_rate_rounded_to_25_hz() {
    // 44,101 Hz is prime to 16,000; the resampler sizes itself for 44,100 Hz instead.
    let resample = Resample::new(44_101).expect("resampler");
    assert!(resample.out.len() < 1 << 16, "{}", resample.out.len());
    assert!((resample.inner.resample_ratio() - 16_000.0 / 44_100.0).abs() < 1e-9);
}
