//! Frames of speech kept as sufficient statistics (count, sums, sums of squares) of a
//! diagonal Gaussian, the Bayesian information criterion (BIC) for "one voice or two"
//! between two sets of frames, and the likelihood of frames under another set's Gaussian.

use super::features::DIM;

/// Variances never below this (cepstra are in nats of band power; a silent or constant band
/// would otherwise give a zero variance).
const MIN_VAR: f64 = 1e-3;

/// Frames of one or more stretches of speech.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Stats {
    pub n: f64,
    sum: [f64; DIM],
    sq: [f64; DIM],
}

impl Stats {
    pub fn new() -> Self {
        Self {
            n: 0.0,
            sum: [0.0; DIM],
            sq: [0.0; DIM],
        }
    }

    pub fn add(&mut self, x: &[f32; DIM]) {
        self.n += 1.0;
        for ((s, q), &v) in self.sum.iter_mut().zip(&mut self.sq).zip(x) {
            let v = f64::from(v);
            *s += v;
            *q += v * v;
        }
    }

    pub fn merge(&mut self, other: &Stats) {
        self.n += other.n;
        for i in 0..DIM {
            self.sum[i] += other.sum[i];
            self.sq[i] += other.sq[i];
        }
    }

    /// These frames less `other`'s (which must be among them).
    pub fn without(&self, other: &Stats) -> Stats {
        let mut s = self.clone();
        s.merge(&other.scaled(-1.0));
        s
    }

    fn scaled(&self, f: f64) -> Stats {
        let mut s = self.clone();
        s.n *= f;
        for i in 0..DIM {
            s.sum[i] *= f;
            s.sq[i] *= f;
        }
        s
    }

    fn mean_var(&self, i: usize) -> (f64, f64) {
        let mean = self.sum[i] / self.n;
        (mean, (self.sq[i] / self.n - mean * mean).max(MIN_VAR))
    }

    /// log |Σ| of the maximum-likelihood diagonal covariance.
    pub fn log_det(&self) -> f64 {
        (0..DIM).map(|i| self.mean_var(i).1.ln()).sum()
    }

    /// The log-likelihood of `frames` under this Gaussian, less its constant (nats).
    pub fn log_likelihood(&self, frames: &Stats) -> f64 {
        -0.5 * (0..DIM)
            .map(|i| {
                let (mean, var) = self.mean_var(i);
                let scatter = frames.sq[i] - 2.0 * mean * frames.sum[i] + frames.n * mean * mean;
                frames.n * var.ln() + scatter / var
            })
            .sum::<f64>()
    }

    /// ΔBIC of modelling `self` and `other` with one Gaussian rather than two (each with its
    /// own mean and diagonal covariance): the log-likelihood two gain, less `lambda` × ½ ×
    /// the extra parameters (2 × [`DIM`]) × ln n. Negative: one voice. Each side counts at
    /// most `cap` frames (its statistics scaled down): the gain grows with the frames and its
    /// penalty only with their log, so without a cap two long stretches of one voice saying
    /// different things would end up two speakers.
    pub fn delta_bic(&self, other: &Stats, lambda: f64, cap: f64) -> f64 {
        self.delta_bic_with(other, (self.log_det(), other.log_det()), lambda, cap)
    }

    /// [`Self::delta_bic`] given both sides' [`Self::log_det`] (scaling leaves it unchanged).
    pub fn delta_bic_with(
        &self,
        other: &Stats,
        log_dets: (f64, f64),
        lambda: f64,
        cap: f64,
    ) -> f64 {
        if self.n <= 0.0 || other.n <= 0.0 {
            return 0.0;
        }
        let a = self.scaled(self.n.min(cap) / self.n);
        let b = other.scaled(other.n.min(cap) / other.n);
        let mut joint = a.clone();
        joint.merge(&b);
        0.5 * (joint.n * joint.log_det() - a.n * log_dets.0 - b.n * log_dets.1)
            - lambda * 0.5 * 2.0 * DIM as f64 * joint.n.ln()
    }
}
