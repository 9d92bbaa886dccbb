//! Choosing a response at inference time from candidate proxy scores.
//!
//! All randomness comes from the caller's RNG, so a seeded RNG reproduces every choice.

use rand::Rng;
use rand_distr::{Distribution, Poisson};

use crate::error::{Error, Result};
use crate::method::MethodKind;

fn check_scores(scores: &[f64]) -> Result<()> {
    if scores.is_empty() {
        return Err(Error::EmptyScores);
    }
    if let Some((index, &value)) = scores.iter().enumerate().find(|(_, s)| !s.is_finite()) {
        return Err(Error::NonFiniteScore { index, value });
    }
    Ok(())
}

/// Index of the highest score; ties are broken uniformly at random.
///
/// ```
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(7);
/// assert_eq!(hedge_math::select::argmax(&[0.1, 0.9, 0.3], &mut rng).unwrap(), 1);
/// ```
pub fn argmax<R: Rng + ?Sized>(scores: &[f64], rng: &mut R) -> Result<usize> {
    check_scores(scores)?;
    let mut best = 0;
    let mut ties = 1u64;
    for (i, &s) in scores.iter().enumerate().skip(1) {
        if s > scores[best] {
            best = i;
            ties = 1;
        } else if s == scores[best] {
            // Reservoir sampling over the tied maxima.
            ties += 1;
            if rng.random_range(0..ties) == 0 {
                best = i;
            }
        }
    }
    Ok(best)
}

/// Soft Best-of-n: index `i` with probability `exp(β s_i) / Σ_j exp(β s_j)`,
/// computed as `exp(β (s_i − max s))` so no score scale overflows.
pub fn softmax<R: Rng + ?Sized>(scores: &[f64], beta: f64, rng: &mut R) -> Result<usize> {
    check_scores(scores)?;
    if !(beta.is_finite() && beta >= 0.0) {
        return Err(Error::InvalidParameter {
            method: "sbon",
            name: "beta",
            value: beta,
            reason: "must be a finite number >= 0",
        });
    }
    let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let weights: Vec<f64> = scores.iter().map(|&s| (beta * (s - max)).exp()).collect();
    let total: f64 = weights.iter().sum();
    let mut target = rng.random::<f64>() * total;
    for (i, w) in weights.iter().enumerate() {
        if target < *w {
            return Ok(i);
        }
        target -= w;
    }
    // Rounding left a sliver: the last candidate with positive weight.
    Ok(weights.iter().rposition(|&w| w > 0.0).unwrap_or(0))
}

/// Draw Best-of-Poisson's number of candidates, `1 + Poisson(μ)` (1 when `μ = 0`).
pub fn draw_poisson_n<R: Rng + ?Sized>(mu: f64, rng: &mut R) -> Result<u64> {
    if !(mu.is_finite() && mu >= 0.0) {
        return Err(Error::InvalidParameter {
            method: "bop",
            name: "mu",
            value: mu,
            reason: "must be a finite number >= 0",
        });
    }
    if mu == 0.0 {
        return Ok(1);
    }
    let p = Poisson::new(mu).map_err(|_| Error::InvalidParameter {
        method: "bop",
        name: "mu",
        value: mu,
        reason: "must be a finite number >= 0",
    })?;
    Ok(1 + p.sample(rng) as u64)
}

/// An inference-time selection rule with its parameter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Selector {
    /// Best-of-n.
    Bon {
        /// Candidates per request.
        n: u64,
    },
    /// Best-of-Poisson: `n = 1 + Poisson(μ)` drawn before generation.
    Bop {
        /// Poisson mean.
        mu: f64,
    },
    /// Soft Best-of-n.
    Sbon {
        /// Candidates per request.
        n: u64,
        /// Inverse temperature on the proxy's own scale.
        beta: f64,
    },
}

impl Selector {
    /// Build from a method name and parameter: `bon` takes an integer `n = θ ≥ 1`,
    /// `bop` `μ = θ ≥ 0`, `sbon` `β = θ ≥ 0` plus `n`; `tilt` is not a sampler.
    pub fn new(kind: MethodKind, theta: f64, n: Option<u64>) -> Result<Self> {
        match kind {
            MethodKind::Bon => {
                if !(theta.is_finite() && theta >= 1.0 && theta.fract() == 0.0 && theta <= u32::MAX as f64) {
                    return Err(Error::InvalidParameter {
                        method: "bon",
                        name: "n",
                        value: theta,
                        reason: "must be an integer >= 1",
                    });
                }
                Ok(Selector::Bon { n: theta as u64 })
            }
            MethodKind::Bop => {
                if !(theta.is_finite() && theta >= 0.0) {
                    return Err(Error::InvalidParameter {
                        method: "bop",
                        name: "mu",
                        value: theta,
                        reason: "must be a finite number >= 0",
                    });
                }
                Ok(Selector::Bop { mu: theta })
            }
            MethodKind::Sbon => {
                if !(theta.is_finite() && theta >= 0.0) {
                    return Err(Error::InvalidParameter {
                        method: "sbon",
                        name: "beta",
                        value: theta,
                        reason: "must be a finite number >= 0",
                    });
                }
                let n = n.filter(|&n| n >= 1).ok_or(Error::InvalidParameter {
                    method: "sbon",
                    name: "n",
                    value: n.map_or(f64::NAN, |n| n as f64),
                    reason: "SBoN needs an integer number of candidates n >= 1",
                })?;
                Ok(Selector::Sbon { n, beta: theta })
            }
            MethodKind::Tilt => Err(Error::NotASampler { method: "tilt" }),
        }
    }

    /// How many candidates to generate for the next request (BoP draws it here).
    pub fn draw_n<R: Rng + ?Sized>(&self, rng: &mut R) -> Result<u64> {
        match *self {
            Selector::Bon { n } | Selector::Sbon { n, .. } => Ok(n),
            Selector::Bop { mu } => draw_poisson_n(mu, rng),
        }
    }

    /// Choose among the given candidates' scores.
    pub fn choose<R: Rng + ?Sized>(&self, scores: &[f64], rng: &mut R) -> Result<usize> {
        match *self {
            Selector::Bon { .. } | Selector::Bop { .. } => argmax(scores, rng),
            Selector::Sbon { beta, .. } => softmax(scores, beta, rng),
        }
    }
}
