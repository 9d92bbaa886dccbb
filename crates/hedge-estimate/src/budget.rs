//! Compute budgets for tuning: a cap on expected samples per request, a cost per sample, and the
//! expected samples `S(θ)` of each method.

use hedge_math::MethodKind;

use crate::error::{EstimateError, Result};

/// A compute budget for tuning (see [`TuneSpec::max_samples`](crate::TuneSpec::max_samples) and [`TuneSpec::cost_per_sample`](crate::TuneSpec::cost_per_sample)).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Budget {
    /// Only θ with at most this many expected samples per request.
    pub max_samples: Option<f64>,
    /// Maximise `f(θ) − C · E[samples](θ)` with this `C` (0: no cost).
    pub cost_per_sample: f64,
}

impl Budget {
    /// Whether either limit is set.
    pub fn is_set(&self) -> bool {
        self.max_samples.is_some() || self.cost_per_sample != 0.0
    }

    /// The penalised objective at θ: `(C · S(θ), C · S'(θ))` for `kind` (SBoN: `n` samples, flat in β).
    pub(crate) fn penalty(&self, kind: MethodKind, theta: f64, n: Option<u64>) -> (f64, f64) {
        let c = self.cost_per_sample;
        if c == 0.0 {
            return (0.0, 0.0);
        }
        let (s, ds) = samples_and_slope(kind, theta, n);
        (c * s, c * ds)
    }

    pub(crate) fn check(&self) -> Result<()> {
        if let Some(b) = self.max_samples
            && !(b.is_finite() && b >= 1.0)
        {
            return Err(EstimateError::InvalidArgument {
                name: "max_samples",
                value: b,
                reason: "must be finite and >= 1 (one sample is the least any method draws)",
            });
        }
        let c = self.cost_per_sample;
        if !(c.is_finite() && c >= 0.0) {
            return Err(EstimateError::InvalidArgument {
                name: "cost_per_sample",
                value: c,
                reason: "must be finite and >= 0",
            });
        }
        Ok(())
    }
}

/// Expected samples per request `S(θ)` and `dS/dθ`: BoN `n` (1), BoP `1 + μ` (1), SBoN `n`
/// (0: β does not change the draw), the tilt (as rejection sampling) `λ / (1 − e^{−λ})`, whose
/// slope `(1 − e^{−λ} − λ e^{−λ}) / (1 − e^{−λ})²` is `1/2 + λ/6 + O(λ³)` near 0.
pub fn samples_and_slope(kind: MethodKind, theta: f64, n: Option<u64>) -> (f64, f64) {
    match kind {
        MethodKind::Bon => (theta, 1.0),
        MethodKind::Bop => (1.0 + theta, 1.0),
        MethodKind::Sbon => (n.unwrap_or(1) as f64, 0.0),
        MethodKind::Tilt => {
            let l = theta;
            if l < 1e-4 {
                (1.0 + l / 2.0 + l * l / 12.0, 0.5 + l / 6.0)
            } else {
                let d = -(-l).exp_m1(); // 1 − e^{−λ}
                let e = (-l).exp();
                (l / d, (d - l * e) / (d * d))
            }
        }
    }
}

/// The largest θ of `kind` with at most `b ≥ 1` expected samples (SBoN: infinite; its `n` grid
/// is capped instead).
pub(crate) fn theta_for_samples(kind: MethodKind, b: f64) -> f64 {
    match kind {
        MethodKind::Bon => b.floor(),
        MethodKind::Bop => b - 1.0,
        MethodKind::Sbon => f64::INFINITY,
        MethodKind::Tilt => {
            // S(λ) ∈ [λ, λ + 1] and increasing: bisect on [b − 1, b].
            let (mut lo, mut hi) = ((b - 1.0).max(0.0), b);
            for _ in 0..200 {
                let mid = 0.5 * (lo + hi);
                if samples_and_slope(kind, mid, None).0 <= b {
                    lo = mid;
                } else {
                    hi = mid;
                }
                if hi - lo <= 1e-15 * hi.max(1.0) {
                    break;
                }
            }
            lo
        }
    }
}
