//! From an uploaded file to 16 kHz mono `f32` samples, a chunk at a time, so a long recording
//! never sits decoded in memory.
//!
//! Demuxing and decoding are symphonia's (pure Rust): WAV (PCM, ADPCM), MP3, M4A/MP4/MOV
//! (AAC-LC; a video's sound track too), AAC in ADTS, Ogg (Vorbis, FLAC or Opus), FLAC,
//! WebM/Matroska (Opus, Vorbis). Opus, which symphonia does not decode, is libopus through
//! `symphonia-adapter-libopus` (built from source with cmake). Not read: other codecs in those
//! containers (e.g. ALAC, AC-3), and a cut-short WebM written with sizes and cues (as ffmpeg
//! writes it: symphonia refuses it as damaged); browsers' MediaRecorder WebM, without them,
//! decodes up to any cut.
//! The container is recognised from the bytes, not from a name or MIME type. Channels are
//! averaged to mono; the rate is converted to 16 kHz by rubato's FFT resampler.
//!
//! Hostile input (issue 16): what a file declares (rate, channels, bits, frames per packet) is
//! checked against [`limits`] before anything is sized from it, every decoded buffer again,
//! the resampler's size is bounded whatever the rate, a panic in a demuxer or decoder is the
//! file's fault ([`WhisperError::Undecodable`]), and a stream longer than its
//! `max_duration_ms` ends with [`WhisperError::TooLong`]. [`measure`] finds a recording's
//! length from its packets alone (no decoding), before any transcription is paid for.

mod resample;

use std::io::ErrorKind;
use std::panic::{AssertUnwindSafe, catch_unwind};

use symphonia::core::codecs::CodecParameters;
use symphonia::core::codecs::audio::{AudioDecoder, AudioDecoderOptions};
use symphonia::core::codecs::registry::CodecRegistry;
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, TrackType};
use symphonia::core::io::{MediaSource, MediaSourceStream, MediaSourceStreamOptions};
use symphonia::core::meta::MetadataOptions;
use symphonia::core::units::{TimeBase, Timestamp};

use crate::WhisperError;
use limits::{check_channels, check_declared, check_rate, out_of_range};
use resample::{Resample, downmix};

/// Whisper's input rate (samples per second).
pub const SAMPLE_RATE: u32 = 16_000;

/// Consecutive undecodable packets after which a stream is given up on.
const MAX_BAD_PACKETS: u32 = 64;

/// What a recording may declare, checked before anything is sized from it: the range real
/// recordings use. Anything outside is refused as [`WhisperError::OutOfRange`].
pub mod limits;

/// The default longest recording transcribed: 4 hours (ms).
pub const DEFAULT_MAX_DURATION_MS: u64 = 4 * 3_600_000;

/// symphonia's codecs plus libopus for Opus.
static CODECS: std::sync::LazyLock<CodecRegistry> = std::sync::LazyLock::new(|| {
    let mut registry = CodecRegistry::new();
    symphonia::default::register_enabled_codecs(&mut registry);
    registry.register_audio_decoder::<symphonia_adapter_libopus::OpusDecoder>();
    registry
});

/// A decoded, downmixed and resampled audio stream.
pub(crate) struct AudioStream<'s> {
    format: Box<dyn FormatReader + 's>,
    decoder: Box<dyn AudioDecoder>,
    track_id: u32,
    /// Set from the first decoded buffer.
    source_rate: Option<u32>,
    resampler: Option<Resample>,
    interleaved: Vec<f32>,
    bad_packets: u32,
    decoded_frames: u64,
    ended: bool,
    /// 16 kHz samples handed out so far.
    pub(crate) samples_out: u64,
    /// Why the stream ended early (a cut file), for the log.
    pub(crate) cut_short: Option<String>,
    /// The most 16 kHz samples handed out before [`WhisperError::TooLong`].
    max_samples: u64,
    max_duration_ms: u64,
}

impl<'s> AudioStream<'s> {
    /// Probes `source` for a container, checks what its first audio track declares and opens
    /// its decoder; the stream ends with [`WhisperError::TooLong`] past `max_duration_ms`.
    pub(crate) fn open(
        source: Box<dyn MediaSource + 's>,
        max_duration_ms: u64,
    ) -> Result<Self, WhisperError> {
        let OpenTrack {
            format,
            track_id,
            decoder,
            ..
        } = open_track(source)?;
        Ok(Self {
            format,
            decoder,
            track_id,
            source_rate: None,
            resampler: None,
            interleaved: Vec::new(),
            bad_packets: 0,
            decoded_frames: 0,
            ended: false,
            samples_out: 0,
            cut_short: None,
            max_samples: max_duration_ms.saturating_mul(u64::from(SAMPLE_RATE)) / 1000,
            max_duration_ms,
        })
    }

    /// The next 16 kHz mono samples (possibly none for one packet), or `None` at the end.
    /// A stream that ends in the middle (a cut upload) ends there, with what was decoded.
    /// Past the stream's duration limit: [`WhisperError::TooLong`]. A panic in symphonia or
    /// the resampler (a crafted file) ends the stream with [`WhisperError::Undecodable`].
    pub(crate) fn next_chunk(&mut self) -> Result<Option<Vec<f32>>, WhisperError> {
        if self.ended {
            return Ok(None);
        }
        let next = guarded("decoding", || self.next_chunk_unguarded());
        match &next {
            Err(_) => self.ended = true,
            Ok(_) if self.samples_out > self.max_samples => {
                self.ended = true;
                return Err(WhisperError::TooLong {
                    max_ms: self.max_duration_ms,
                });
            }
            Ok(_) => {}
        }
        next
    }

    fn next_chunk_unguarded(&mut self) -> Result<Option<Vec<f32>>, WhisperError> {
        loop {
            if self.ended {
                return Ok(None);
            }
            let packet = match self.format.next_packet() {
                Ok(Some(packet)) => packet,
                Ok(None) => return self.finish(None),
                Err(SymphoniaError::IoError(e)) if e.kind() == ErrorKind::UnexpectedEof => {
                    return self.finish(Some(format!("cut short: {e}")));
                }
                Err(SymphoniaError::ResetRequired) => {
                    return self.finish(Some("the track list changed".into()));
                }
                Err(e) if self.decoded_frames > 0 => {
                    return self.finish(Some(format!("unreadable after the start: {e}")));
                }
                Err(e) => return Err(WhisperError::Undecodable(e.to_string())),
            };
            if packet.track_id != self.track_id {
                continue;
            }
            let buffer = match self.decoder.decode(&packet) {
                Ok(buffer) => buffer,
                // A damaged packet: symphonia's advice is to skip it and go on.
                Err(SymphoniaError::DecodeError(_) | SymphoniaError::IoError(_)) => {
                    self.bad_packets += 1;
                    if self.bad_packets >= MAX_BAD_PACKETS {
                        return Err(WhisperError::Undecodable(format!(
                            "{MAX_BAD_PACKETS} undecodable packets in a row"
                        )));
                    }
                    continue;
                }
                Err(e) => return Err(WhisperError::Undecodable(e.to_string())),
            };
            self.bad_packets = 0;
            let rate = buffer.spec().rate();
            let channels = buffer.spec().channels().count().max(1);
            let frames = buffer.frames();
            if frames == 0 {
                continue;
            }
            // What the decoder made, checked before it is copied: a decoder may not honour
            // what the container declared.
            check_rate(rate)?;
            check_channels(channels)?;
            if frames as u64 > limits::MAX_FRAMES_PER_PACKET {
                return Err(out_of_range(
                    "frames in one packet",
                    frames,
                    "at most 262,144",
                ));
            }
            buffer.copy_to_vec_interleaved::<f32>(&mut self.interleaved);
            match self.source_rate {
                None => {
                    self.source_rate = Some(rate);
                    if rate != SAMPLE_RATE {
                        self.resampler = Some(Resample::new(rate)?);
                    }
                }
                Some(first) if first != rate => {
                    return Err(WhisperError::Undecodable(format!(
                        "the sample rate changed from {first} to {rate} Hz"
                    )));
                }
                Some(_) => {}
            }
            self.decoded_frames += frames as u64;
            let mono = downmix(&self.interleaved, channels);
            let out = match &mut self.resampler {
                Some(resampler) => resampler.push(&mono)?,
                None => mono,
            };
            self.samples_out += out.len() as u64;
            return Ok(Some(out));
        }
    }

    fn finish(&mut self, cut: Option<String>) -> Result<Option<Vec<f32>>, WhisperError> {
        self.ended = true;
        self.cut_short = cut;
        if self.decoded_frames == 0 {
            return match self.cut_short.take() {
                Some(why) => Err(WhisperError::Undecodable(format!(
                    "no audio decoded ({why})"
                ))),
                None => Ok(None),
            };
        }
        let tail = match &mut self.resampler {
            Some(resampler) => resampler.finish()?,
            None => Vec::new(),
        };
        self.samples_out += tail.len() as u64;
        Ok(Some(tail))
    }
}

/// A recording's length, found by [`measure`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Measured {
    /// The end of the audio track's last packet (ms from the start).
    pub duration_ms: u64,
}

/// The length of a recording from its audio track's packets alone (no decoding: a few
/// seconds for hours of audio), after the same checks of what it declares as transcription
/// makes. [`WhisperError::TooLong`] as soon as a packet ends past `max_duration_ms` (what a
/// header declares is not trusted either way: a cut upload declares more than it holds); the
/// other errors as [`crate::decode`]'s.
pub fn measure(
    source: Box<dyn MediaSource + '_>,
    max_duration_ms: u64,
) -> Result<Measured, WhisperError> {
    // The decoder is opened too, for its own checks of its configuration (e.g. Vorbis: at
    // most 32 channels), as transcription would meet them.
    let OpenTrack {
        mut format,
        track_id,
        time_base,
        ..
    } = open_track(source)?;
    let Some(time_base) = time_base else {
        return Err(WhisperError::Undecodable(
            "the audio track has no time base".into(),
        ));
    };
    let to_ms = |ts: i64| -> u64 {
        let ms = time_base
            .calc_time_saturating(Timestamp::new(ts))
            .as_millis();
        u64::try_from(ms.max(0)).unwrap_or(u64::MAX)
    };
    let too_long = WhisperError::TooLong {
        max_ms: max_duration_ms,
    };
    let mut end_ms = 0u64;
    let mut packets = 0u64;
    guarded("reading the packets", || {
        loop {
            let packet = match format.next_packet() {
                Ok(Some(packet)) => packet,
                Ok(None) => break,
                // A cut file: its length is what could be read.
                Err(SymphoniaError::IoError(e)) if e.kind() == ErrorKind::UnexpectedEof => break,
                Err(SymphoniaError::ResetRequired) => break,
                Err(_) if packets > 0 => break,
                Err(e) => return Err(WhisperError::Undecodable(e.to_string())),
            };
            if packet.track_id != track_id {
                continue;
            }
            packets += 1;
            let end = packet.pts.get().saturating_add_unsigned(packet.dur.get());
            end_ms = end_ms.max(to_ms(end));
            if end_ms > max_duration_ms {
                return Err(too_long);
            }
        }
        Ok(())
    })?;
    if packets == 0 {
        return Err(WhisperError::Undecodable("no audio packets".into()));
    }
    Ok(Measured {
        duration_ms: end_ms,
    })
}

/// A probed container, its default audio track (checked) and that track's decoder.
struct OpenTrack<'s> {
    format: Box<dyn FormatReader + 's>,
    track_id: u32,
    /// The track's time base, else one tick per sample.
    time_base: Option<TimeBase>,
    decoder: Box<dyn AudioDecoder>,
}

/// Probes `source`, checks what its default audio track declares and opens its decoder.
fn open_track<'s>(source: Box<dyn MediaSource + 's>) -> Result<OpenTrack<'s>, WhisperError> {
    let stream = MediaSourceStream::new(source, MediaSourceStreamOptions::default());
    if stream.byte_len() == Some(0) {
        return Err(WhisperError::EmptyAudio);
    }
    let format = guarded("reading the container", || {
        symphonia::default::get_probe()
            .probe(
                &Hint::new(),
                stream,
                FormatOptions::default(),
                MetadataOptions::default(),
            )
            .map_err(|e| WhisperError::UnsupportedContainer(e.to_string()))
    })?;
    let track = format
        .default_track(TrackType::Audio)
        .ok_or(WhisperError::NoAudioTrack)?;
    let Some(CodecParameters::Audio(params)) = &track.codec_params else {
        return Err(WhisperError::NoAudioTrack);
    };
    check_declared(params)?;
    let decoder = guarded("opening the decoder", || {
        CODECS
            .make_audio_decoder(params, &AudioDecoderOptions::default())
            .map_err(|e| WhisperError::UnsupportedCodec(e.to_string()))
    })?;
    let track_id = track.id;
    let time_base = track
        .time_base
        .or_else(|| params.sample_rate.and_then(TimeBase::try_from_recip));
    Ok(OpenTrack {
        format,
        track_id,
        time_base,
        decoder,
    })
}

/// Runs `f`, turning a panic (a demuxer or decoder tripping on a crafted file) into
/// [`WhisperError::Undecodable`]: the file's fault, never worth another try. Needs
/// `panic = "unwind"` (the workspace's release profile).
fn guarded<T>(stage: &str, f: impl FnOnce() -> Result<T, WhisperError>) -> Result<T, WhisperError> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| {
        Err(WhisperError::Undecodable(format!(
            "the decoder failed on this file while {stage}"
        )))
    })
}

#[cfg(test)]
mod tests;
