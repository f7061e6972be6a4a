//! Per-frame features: MFCCs from a log-mel filterbank (25 ms Hamming frames every 10 ms,
//! pre-emphasis 0.97, 40 mel bands 100–7600 Hz, the pauses' mean spectrum subtracted, DCT-II),
//! and a speech gate on the frame's energy against an adaptive noise floor (the quietest
//! frame of the last 4 s). State: one frame of samples and ~400 floor candidates at most.

use std::collections::VecDeque;
use std::sync::Arc;

use realfft::{RealFftPlanner, RealToComplex, num_complex::Complex};

/// Samples per second of the input.
const RATE: usize = 16_000;
/// 25 ms.
const FRAME: usize = 400;
/// 10 ms.
const HOP: usize = 160;
/// Milliseconds per hop.
pub(crate) const HOP_MS: i64 = 10;
/// Milliseconds per frame.
pub(crate) const FRAME_MS: i64 = 25;
const FFT: usize = 512;
const BANDS: usize = 40;
/// Cepstra c1..=c19 (c0, the loudness, is left out: it says how loud, not who).
pub(crate) const DIM: usize = 19;
const PRE_EMPHASIS: f32 = 0.97;
const LOW_HZ: f32 = 100.0;
const HIGH_HZ: f32 = 7600.0;

/// Speech is at least this far above the noise floor (dB)...
const GATE_DB: f32 = 12.0;
/// ...and above this level (dBFS: digital silence and near-silence are never speech).
const ABSOLUTE_DB: f32 = -70.0;
/// The floor is the quietest frame of the last 4 s: speech has gaps between words far more
/// often than that, so the floor follows a noise that changes without ever rising to speech.
const FLOOR_FRAMES: usize = 400;

/// How fast the noise estimate follows the pauses' spectrum (per non-speech frame: ~0.2 s).
const NOISE_RATE: f32 = 0.05;
/// Spectral subtraction's factor and floor (Boll 1979; Berouti et al. 1979).
const OVER_SUBTRACTION: f32 = 2.0;
const NOISE_FLOOR: f32 = 0.05;

/// One 10 ms step's result.
pub(crate) struct Frame {
    pub speech: bool,
    pub mfcc: [f32; DIM],
}

/// Turns samples into [`Frame`]s, keeping only the last frame's worth of samples.
pub(crate) struct Frontend {
    fft: Arc<dyn RealToComplex<f32>>,
    window: Vec<f32>,
    /// (first bin, weights) per mel band.
    filters: Vec<(usize, Vec<f32>)>,
    /// DCT-II rows for c1..=c19, orthonormal.
    dct: Vec<[f32; BANDS]>,
    /// The samples of the next frame, as pushed.
    pending: VecDeque<f32>,
    /// The sample before `pending`'s first (pre-emphasis needs it).
    before: f32,
    input: Vec<f32>,
    spectrum: Vec<Complex<f32>>,
    scratch: Vec<Complex<f32>>,
    /// (frame index, energy dB), increasing energies: the sliding minimum's candidates.
    floor: VecDeque<(u64, f32)>,
    frames: u64,
    /// Each band's mean power in the pauses (the noise), once a pause was heard.
    noise: [f32; BANDS],
    heard_pause: bool,
}

impl Frontend {
    pub fn new() -> Self {
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(FFT);
        let window = (0..FRAME)
            .map(|i| 0.54 - 0.46 * (std::f32::consts::TAU * i as f32 / (FRAME - 1) as f32).cos())
            .collect();
        let mel = |hz: f32| 2595.0 * (1.0 + hz / 700.0).log10();
        let hz = |mel: f32| 700.0 * (10f32.powf(mel / 2595.0) - 1.0);
        let bin_hz = RATE as f32 / FFT as f32;
        let (lo, hi) = (mel(LOW_HZ), mel(HIGH_HZ));
        let edges: Vec<f32> = (0..BANDS + 2)
            .map(|i| hz(lo + (hi - lo) * i as f32 / (BANDS + 1) as f32) / bin_hz)
            .collect();
        let filters = (0..BANDS)
            .map(|b| {
                let (left, centre, right) = (edges[b], edges[b + 1], edges[b + 2]);
                let first = left.ceil() as usize;
                let last = (right.floor() as usize).min(FFT / 2);
                let weights = (first..=last)
                    .map(|k| {
                        let k = k as f32;
                        let w = if k <= centre {
                            (k - left) / (centre - left)
                        } else {
                            (right - k) / (right - centre)
                        };
                        w.max(0.0)
                    })
                    .collect();
                (first, weights)
            })
            .collect();
        let dct = (1..=DIM)
            .map(|c| {
                let mut row = [0f32; BANDS];
                for (b, v) in row.iter_mut().enumerate() {
                    *v = (2.0 / BANDS as f32).sqrt()
                        * (std::f32::consts::PI * c as f32 * (b as f32 + 0.5) / BANDS as f32).cos();
                }
                row
            })
            .collect();
        let input = fft.make_input_vec();
        let spectrum = fft.make_output_vec();
        let scratch = fft.make_scratch_vec();
        Self {
            fft,
            window,
            filters,
            dct,
            pending: VecDeque::with_capacity(FRAME + HOP),
            before: 0.0,
            input,
            spectrum,
            scratch,
            floor: VecDeque::new(),
            frames: 0,
            noise: [0.0; BANDS],
            heard_pause: false,
        }
    }

    /// Feeds samples; calls `out` once per complete frame, in order.
    pub fn push(&mut self, samples: &[f32], mut out: impl FnMut(Frame)) {
        for &s in samples {
            // NaN and infinities are silence; clipping beyond full scale is full scale.
            let s = if s.is_finite() {
                s.clamp(-1.0, 1.0)
            } else {
                0.0
            };
            self.pending.push_back(s);
            if self.pending.len() == FRAME {
                out(self.frame());
                self.before = self.pending[HOP - 1];
                self.pending.drain(..HOP);
            }
        }
    }

    fn frame(&mut self) -> Frame {
        // The gate hears the signal as it is; the spectrum is pre-emphasised (the formants
        // above 1 kHz count as much as the louder ones below).
        let mut energy = 0f32;
        let mut previous = self.before;
        for ((x, &s), w) in self.input.iter_mut().zip(&self.pending).zip(&self.window) {
            energy += s * s;
            *x = (s - PRE_EMPHASIS * previous) * w;
            previous = s;
        }
        self.input[FRAME..].fill(0.0);
        let db = 10.0 * (energy / FRAME as f32 + 1e-12).log10();
        let speech = self.gate(db);

        let mut mfcc = [0f32; DIM];
        // The lengths are the plan's own, so this cannot fail; a frame of zeros if it did.
        if self
            .fft
            .process_with_scratch(&mut self.input, &mut self.spectrum, &mut self.scratch)
            .is_ok()
        {
            let mut bands = [0f32; BANDS];
            let learning = !speech;
            for ((band, (first, weights)), noise) in
                bands.iter_mut().zip(&self.filters).zip(&mut self.noise)
            {
                let power: f32 = weights
                    .iter()
                    .zip(&self.spectrum[*first..])
                    .map(|(w, c)| w * c.norm_sqr())
                    .sum();
                if learning {
                    *noise = if self.heard_pause {
                        *noise + NOISE_RATE * (power - *noise)
                    } else {
                        power
                    };
                }
                // Spectral subtraction: the noise's mean power out of each band (twice over,
                // as noise fluctuates), never below a twentieth of it; a floor so that
                // digital silence gives finite, equal cepstra rather than -inf.
                let clean = (power - OVER_SUBTRACTION * *noise).max(NOISE_FLOOR * *noise);
                *band = (clean + 1e-8).ln();
            }
            if learning {
                self.heard_pause = true;
            }
            for (c, row) in mfcc.iter_mut().zip(&self.dct) {
                *c = row.iter().zip(&bands).map(|(a, b)| a * b).sum();
            }
        }
        Frame { speech, mfcc }
    }

    /// Whether a frame of `db` is speech, updating the sliding minimum.
    fn gate(&mut self, db: f32) -> bool {
        let i = self.frames;
        self.frames += 1;
        while self.floor.back().is_some_and(|&(_, e)| e >= db) {
            self.floor.pop_back();
        }
        self.floor.push_back((i, db));
        while self
            .floor
            .front()
            .is_some_and(|&(j, _)| j + FLOOR_FRAMES as u64 <= i)
        {
            self.floor.pop_front();
        }
        let floor = self.floor.front().map_or(db, |&(_, e)| e);
        db > floor + GATE_DB && db > ABSOLUTE_DB
    }
}
