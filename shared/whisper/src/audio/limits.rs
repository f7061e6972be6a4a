use symphonia::core::codecs::audio::AudioCodecParameters;

use crate::WhisperError;

/// The lowest sample rate (Hz): narrow-band telephone audio.
pub const MIN_SAMPLE_RATE: u32 = 8_000;
/// The highest sample rate (Hz): studio audio.
pub const MAX_SAMPLE_RATE: u32 = 192_000;
/// The most channels (7.1 surround).
pub const MAX_CHANNELS: usize = 8;
/// The most bits per sample (32-bit PCM or float).
pub const MAX_BITS_PER_SAMPLE: u32 = 32;
/// The most frames one packet may declare or decode to: about 5.5 s at 48 kHz, far above
/// every codec's frame (AAC 1,024, MP3 1,152, Opus 5,760, FLAC 65,535), so a decoded buffer
/// holds at most 8 MiB of `f32` samples.
pub const MAX_FRAMES_PER_PACKET: u64 = 1 << 18;
/// The resampler works at the rate rounded to a multiple of this (Hz), so its FFT sizes
/// (rate ÷ gcd(rate, 16,000) ≤ 7,680) stay small whatever the rate; every standard rate
/// is a multiple of it, and another is off by at most 0.16 %.
pub const RATE_STEP: u32 = 25;

/// Refuses what a track declares outside these limits (an absent value is checked when the
/// decoder makes it).
pub(super) fn check_declared(params: &AudioCodecParameters) -> Result<(), WhisperError> {
    if let Some(rate) = params.sample_rate {
        check_rate(rate)?;
    }
    if let Some(channels) = &params.channels {
        check_channels(channels.count())?;
    }
    for bits in [params.bits_per_sample, params.bits_per_coded_sample]
        .into_iter()
        .flatten()
    {
        if bits == 0 || bits > MAX_BITS_PER_SAMPLE {
            return Err(out_of_range("bits per sample", bits, "1 to 32"));
        }
    }
    for frames in [params.max_frames_per_packet, params.frames_per_block]
        .into_iter()
        .flatten()
    {
        if frames == 0 || frames > MAX_FRAMES_PER_PACKET {
            return Err(out_of_range("frames per packet", frames, "1 to 262,144"));
        }
    }
    Ok(())
}

pub(super) fn check_rate(rate: u32) -> Result<(), WhisperError> {
    if (MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE).contains(&rate) {
        Ok(())
    } else {
        Err(out_of_range("a sample rate", rate, "8,000 to 192,000 Hz"))
    }
}

pub(super) fn check_channels(channels: usize) -> Result<(), WhisperError> {
    if (1..=MAX_CHANNELS).contains(&channels) {
        Ok(())
    } else {
        Err(out_of_range("channels", channels, "1 to 8"))
    }
}

pub(super) fn out_of_range(what: &str, value: impl std::fmt::Display, range: &str) -> WhisperError {
    WhisperError::OutOfRange(format!("{what} of {value}, where recordings use {range}"))
}
