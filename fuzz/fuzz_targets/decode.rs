//! Any bytes through the engine's decoding (demux, decode, downmix, resample to 16 kHz) and
//! its measuring pass, as an uploaded recording goes through the recording worker. It must
//! answer samples or a bad-audio error: libFuzzer reports a panic (even one meetin-whisper
//! would catch: libfuzzer-sys aborts in its panic hook), an allocation past
//! `-malloc_limit_mb`, a process past `-rss_limit_mb`, or a run past `-timeout` as a crash.
#![no_main]

use libfuzzer_sys::fuzz_target;

/// At most this many 16 kHz samples from a file of at most `-max_len` bytes: the seeds last
/// about 4 s, and a lie about the rate is refused, not believed.
const MAX_SAMPLES: usize = 16_000 * 60 * 60;

fuzz_target!(|data: &[u8]| {
    match meetin_whisper::decode(data) {
        Ok(samples) => assert!(samples.len() <= MAX_SAMPLES, "{} samples", samples.len()),
        Err(e) => assert!(e.is_bad_audio(), "{e:?}"),
    }
    if let Err(e) = meetin_whisper::measure(data, 4 * 3_600_000) {
        assert!(e.is_bad_audio(), "{e:?}");
    }
});
