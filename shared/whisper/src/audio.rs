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

use std::io::ErrorKind;

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Indexing, Resampler};
use symphonia::core::codecs::CodecParameters;
use symphonia::core::codecs::audio::{AudioDecoder, AudioDecoderOptions};
use symphonia::core::codecs::registry::CodecRegistry;
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, TrackType};
use symphonia::core::io::{MediaSource, MediaSourceStream, MediaSourceStreamOptions};
use symphonia::core::meta::MetadataOptions;

use crate::WhisperError;

/// Whisper's input rate (samples per second).
pub const SAMPLE_RATE: u32 = 16_000;

/// Input frames per resampler call: about 21 ms at 48 kHz.
const RESAMPLER_CHUNK: usize = 1024;

/// Consecutive undecodable packets after which a stream is given up on.
const MAX_BAD_PACKETS: u32 = 64;

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
}

impl<'s> AudioStream<'s> {
    /// Probes `source` for a container and opens its first audio track's decoder.
    pub(crate) fn open(source: Box<dyn MediaSource + 's>) -> Result<Self, WhisperError> {
        let stream = MediaSourceStream::new(source, MediaSourceStreamOptions::default());
        if stream.byte_len() == Some(0) {
            return Err(WhisperError::EmptyAudio);
        }
        let format = symphonia::default::get_probe()
            .probe(
                &Hint::new(),
                stream,
                FormatOptions::default(),
                MetadataOptions::default(),
            )
            .map_err(|e| WhisperError::UnsupportedContainer(e.to_string()))?;
        let track = format
            .default_track(TrackType::Audio)
            .ok_or(WhisperError::NoAudioTrack)?;
        let Some(CodecParameters::Audio(params)) = &track.codec_params else {
            return Err(WhisperError::NoAudioTrack);
        };
        let decoder = CODECS
            .make_audio_decoder(params, &AudioDecoderOptions::default())
            .map_err(|e| WhisperError::UnsupportedCodec(e.to_string()))?;
        let track_id = track.id;
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
        })
    }

    /// The next 16 kHz mono samples (possibly none for one packet), or `None` at the end.
    /// A stream that ends in the middle (a cut upload) ends there, with what was decoded.
    pub(crate) fn next_chunk(&mut self) -> Result<Option<Vec<f32>>, WhisperError> {
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
            buffer.copy_to_vec_interleaved::<f32>(&mut self.interleaved);
            match self.source_rate {
                None => {
                    if rate == 0 {
                        return Err(WhisperError::Undecodable("a sample rate of 0".into()));
                    }
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

/// The average of the channels of interleaved samples.
fn downmix(interleaved: &[f32], channels: usize) -> Vec<f32> {
    if channels == 1 {
        return interleaved.to_vec();
    }
    interleaved
        .chunks_exact(channels)
        .map(|frame| frame.iter().sum::<f32>() / channels as f32)
        .collect()
}

/// A streaming mono resampler to [`SAMPLE_RATE`]: rubato's FFT resampler fed fixed chunks,
/// its delay trimmed from the start and the output cut to `ceil(input × ratio)` at the end.
struct Resample {
    inner: Fft<f32>,
    pending: Vec<f32>,
    out: Vec<f32>,
    /// Output frames still to drop (the resampler's delay).
    skip: usize,
    frames_in: u64,
    frames_out: u64,
}

impl Resample {
    fn new(rate: u32) -> Result<Self, WhisperError> {
        let inner = Fft::<f32>::new(
            rate as usize,
            SAMPLE_RATE as usize,
            RESAMPLER_CHUNK,
            1,
            FixedSync::Input,
        )
        .map_err(|e| WhisperError::Undecodable(format!("resampling from {rate} Hz: {e}")))?;
        let skip = inner.output_delay();
        let out = vec![0.0; inner.output_frames_max()];
        Ok(Self {
            inner,
            pending: Vec::new(),
            out,
            skip,
            frames_in: 0,
            frames_out: 0,
        })
    }

    fn push(&mut self, input: &[f32]) -> Result<Vec<f32>, WhisperError> {
        self.frames_in += input.len() as u64;
        self.pending.extend_from_slice(input);
        let mut produced = Vec::new();
        let mut offset = 0;
        while self.pending.len() - offset >= self.inner.input_frames_next() {
            let used = self.run(offset, None, &mut produced)?;
            offset += used;
        }
        self.pending.drain(..offset);
        Ok(produced)
    }

    /// The rest: the pending input, then silence until the delayed output is all out.
    fn finish(&mut self) -> Result<Vec<f32>, WhisperError> {
        let expected = (self.frames_in as f64 * self.inner.resample_ratio()).ceil() as u64;
        let mut produced = Vec::new();
        let partial = self.pending.len();
        self.pending
            .resize(self.inner.input_frames_next().max(partial), 0.0);
        self.run(0, Some(partial), &mut produced)?;
        // Each call yields at least one output frame, so this ends.
        while self.frames_out + (produced.len() as u64) < expected {
            self.pending.clear();
            self.pending.resize(self.inner.input_frames_next(), 0.0);
            self.run(0, Some(0), &mut produced)?;
        }
        let keep = expected.saturating_sub(self.frames_out) as usize;
        produced.truncate(keep);
        self.frames_out += produced.len() as u64;
        self.pending.clear();
        Ok(produced)
    }

    /// One resampler call on `pending[offset..]`; appends the output past the delay.
    fn run(
        &mut self,
        offset: usize,
        partial: Option<usize>,
        produced: &mut Vec<f32>,
    ) -> Result<usize, WhisperError> {
        let error =
            |e: &dyn std::fmt::Display| WhisperError::Undecodable(format!("resampling: {e}"));
        let frames_in = self.pending.len() - offset;
        let input =
            InterleavedSlice::new(&self.pending[offset..], 1, frames_in).map_err(|e| error(&e))?;
        let out_len = self.out.len();
        let mut output =
            InterleavedSlice::new_mut(&mut self.out[..], 1, out_len).map_err(|e| error(&e))?;
        let indexing = Indexing {
            partial_len: partial,
            ..Indexing::default()
        };
        let (used, written) = self
            .inner
            .process_into_buffer(&input, &mut output, Some(&indexing))
            .map_err(|e| error(&e))?;
        let dropped = self.skip.min(written);
        self.skip -= dropped;
        let fresh = &self.out[dropped..written];
        if partial.is_none() {
            self.frames_out += fresh.len() as u64;
        }
        produced.extend_from_slice(fresh);
        Ok(used)
    }
}
