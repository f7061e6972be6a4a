//! Downmixing to mono and resampling to [`SAMPLE_RATE`], a chunk at a time.

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Indexing, Resampler};

use super::{SAMPLE_RATE, limits};
use crate::WhisperError;

/// Input frames per resampler call: about 21 ms at 48 kHz.
const RESAMPLER_CHUNK: usize = 1024;

/// The average of the channels of interleaved samples.
pub(super) fn downmix(interleaved: &[f32], channels: usize) -> Vec<f32> {
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
pub(super) struct Resample {
    pub(super) inner: Fft<f32>,
    pub(super) pending: Vec<f32>,
    pub(super) out: Vec<f32>,
    /// Output frames still to drop (the resampler's delay).
    pub(super) skip: usize,
    pub(super) frames_in: u64,
    pub(super) frames_out: u64,
}

impl Resample {
    /// `rate` within [`limits`]; the resampler works at it rounded to [`limits::RATE_STEP`].
    pub(super) fn new(rate: u32) -> Result<Self, WhisperError> {
        let step = limits::RATE_STEP;
        let snapped = (rate + step / 2) / step * step;
        let inner = Fft::<f32>::new(
            snapped as usize,
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

    pub(super) fn push(&mut self, input: &[f32]) -> Result<Vec<f32>, WhisperError> {
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
    pub(super) fn finish(&mut self) -> Result<Vec<f32>, WhisperError> {
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
