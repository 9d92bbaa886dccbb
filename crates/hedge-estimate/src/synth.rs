//! Seeded synthetic calibration data (pure: the same arguments give the same arrays,
//! whatever the number of threads).
//!
//! Prompt `t` draws from its own ChaCha8 stream (`ChaCha8Rng::seed_from_u64(seed)` with
//! stream `t`), so prompts are generated in parallel and a prompt's rows do not depend
//! on how many prompts are generated.

use hedge_math::toy::toy_reward;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Bernoulli, Distribution, Normal, StandardNormal, StudentT};
use rayon::prelude::*;

use crate::error::{EstimateError, Result};
use crate::prepared::Prepared;

/// Default scale of the proxy noise in [`gaussian`].
pub const DEFAULT_NOISE_SCALE: f64 = 0.7;
/// Default degrees of freedom of the Student-t proxy noise in [`gaussian`].
pub const DEFAULT_DF: f64 = 2.5;
/// Default Gaussian noise on the toy true reward in [`toy`].
pub const DEFAULT_TOY_NOISE: f64 = 0.1;

/// Most rows a generator makes: 2^29 (8.6 GB of proxy and true rewards).
pub const MAX_ROWS: usize = 1 << 29;

/// Calibration data in CSR form: prompt `t` owns rows `offsets[t]..offsets[t+1]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Synthetic {
    /// `T + 1` offsets.
    pub offsets: Vec<usize>,
    /// Proxy scores.
    pub proxy: Vec<f64>,
    /// True rewards.
    pub truth: Vec<f64>,
}

impl Synthetic {
    /// [`Prepared::new`] on these arrays.
    pub fn prepare(&self) -> Result<Prepared> {
        Prepared::new(&self.offsets, &self.proxy, &self.truth)
    }

    /// Number of prompts.
    pub fn prompts(&self) -> usize {
        self.offsets.len() - 1
    }
}

/// Fill `prompts × responses` rows, each prompt from its own stream.
fn generate<F>(prompts: usize, responses: usize, seed: u64, row: F) -> Result<Synthetic>
where
    F: Fn(&mut ChaCha8Rng) -> (f64, f64) + Sync,
{
    let rows = prompts
        .checked_mul(responses)
        .filter(|&r| r <= MAX_ROWS)
        .ok_or(EstimateError::InvalidArgument {
            name: "prompts * responses",
            value: prompts as f64 * responses as f64,
            reason: "too many rows (at most 2^29, about 8.6 GB of proxy and true rewards)",
        })?;
    let offsets: Vec<usize> = (0..=prompts).map(|t| t * responses).collect();
    let mut proxy = vec![0.0; rows];
    let mut truth = vec![0.0; rows];
    if responses > 0 {
        proxy
            .par_chunks_mut(responses)
            .zip(truth.par_chunks_mut(responses))
            .enumerate()
            .for_each(|(t, (p, r))| {
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                rng.set_stream(t as u64);
                for (pi, ri) in p.iter_mut().zip(r.iter_mut()) {
                    (*pi, *ri) = row(&mut rng);
                }
            });
    }
    Ok(Synthetic { offsets, proxy, truth })
}

fn check_scale(noise_scale: f64) -> Result<()> {
    if noise_scale.is_finite() && noise_scale >= 0.0 {
        Ok(())
    } else {
        Err(EstimateError::InvalidArgument {
            name: "noise_scale",
            value: noise_scale,
            reason: "must be a finite number >= 0",
        })
    }
}

/// Hackable data: true reward `~ N(0, 1)`, proxy `= true + noise_scale · ε` with
/// `ε ~ Student-t(df)` (defaults [`DEFAULT_NOISE_SCALE`] = 0.7, [`DEFAULT_DF`] = 2.5).
/// The heavy tail makes the very top proxy scores mostly noise, so the true reward of
/// best-of-n first rises and then falls.
///
/// ```
/// let s = hedge_estimate::synth::gaussian(3, 4, 0.7, 2.5, 1).unwrap();
/// assert_eq!((s.offsets.len(), s.proxy.len()), (4, 12));
/// assert_eq!(s, hedge_estimate::synth::gaussian(3, 4, 0.7, 2.5, 1).unwrap());
/// ```
pub fn gaussian(prompts: usize, responses: usize, noise_scale: f64, df: f64, seed: u64) -> Result<Synthetic> {
    check_scale(noise_scale)?;
    let t = StudentT::new(df).map_err(|_| EstimateError::InvalidArgument {
        name: "df",
        value: df,
        reason: "must be a finite number > 0",
    })?;
    generate(prompts, responses, seed, |rng| {
        let r: f64 = rng.sample(StandardNormal);
        let e: f64 = t.sample(rng);
        (r + noise_scale * e, r)
    })
}

/// Monotone data: true reward `~ N(0, 1)`, proxy `= true + noise_scale · ε`,
/// `ε ~ N(0, 1)`: with light-tailed noise the true reward of best-of-n keeps increasing.
pub fn gaussian_monotone(prompts: usize, responses: usize, noise_scale: f64, seed: u64) -> Result<Synthetic> {
    check_scale(noise_scale)?;
    generate(prompts, responses, seed, |rng| {
        let r: f64 = rng.sample(StandardNormal);
        let e: f64 = rng.sample(StandardNormal);
        (r + noise_scale * e, r)
    })
}

/// How the toy problem's true reward is drawn given the quantile `u`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ToyTruth {
    /// Exactly `r(u)`.
    Exact,
    /// `r(u) + σ·N(0, 1)`.
    Gaussian(f64),
    /// Bernoulli with mean `r(u)` (a 0/1 correctness label).
    Bernoulli,
}

/// The paper's toy problem (math.md §5): proxy `u ~ Uniform(0, 1)` (the quantile
/// itself) and true reward `r(u) + 0.1·N(0, 1)` with `r = hedge_math::toy::toy_reward`,
/// `r(u) = u^12 (1 − u)/C` (maximum 1).
pub fn toy(prompts: usize, responses: usize, seed: u64) -> Result<Synthetic> {
    toy_with(prompts, responses, ToyTruth::Gaussian(DEFAULT_TOY_NOISE), seed)
}

/// The toy problem with a chosen true-reward noise.
///
/// ```
/// use hedge_estimate::synth::{toy_with, ToyTruth};
/// let s = toy_with(2, 5, ToyTruth::Bernoulli, 9).unwrap();
/// assert!(s.truth.iter().all(|&r| r == 0.0 || r == 1.0));
/// assert!(s.proxy.iter().all(|&u| (0.0..1.0).contains(&u)));
/// ```
pub fn toy_with(prompts: usize, responses: usize, truth: ToyTruth, seed: u64) -> Result<Synthetic> {
    match truth {
        ToyTruth::Exact => generate(prompts, responses, seed, |rng| {
            let u: f64 = rng.random();
            (u, toy_reward(u))
        }),
        ToyTruth::Gaussian(sigma) => {
            let normal = Normal::new(0.0, sigma).map_err(|_| EstimateError::InvalidArgument {
                name: "sigma",
                value: sigma,
                reason: "must be a finite number >= 0",
            })?;
            if !(sigma.is_finite() && sigma >= 0.0) {
                return Err(EstimateError::InvalidArgument {
                    name: "sigma",
                    value: sigma,
                    reason: "must be a finite number >= 0",
                });
            }
            generate(prompts, responses, seed, |rng| {
                let u: f64 = rng.random();
                (u, toy_reward(u) + normal.sample(rng))
            })
        }
        ToyTruth::Bernoulli => generate(prompts, responses, seed, |rng| {
            let u: f64 = rng.random();
            let p = toy_reward(u).clamp(0.0, 1.0);
            let hit = Bernoulli::new(p).map(|b| b.sample(rng)).unwrap_or(false);
            (u, if hit { 1.0 } else { 0.0 })
        }),
    }
}

/// The toy problem's rank means with `m` responses: `ρ_k = E[r(U_(k))]`, `k = 1..m`, where
/// `U_(k) ~ Beta(k, m − k + 1)` is the `k`-th smallest of `m` uniform quantiles and
/// `r(u) = u^12 (1 − u)/C`; exactly `k(k+1)…(k+11) · (m − k + 1) / ((m+1)(m+2)…(m+13)) / C`.
/// With the toy's zero-mean noise these are the expectations of a prompt's rank-ordered true
/// rewards, so [`plugin_population`] on them is what the plug-in estimator estimates.
///
/// ```
/// let rho = hedge_estimate::synth::toy_rank_means(25);
/// assert_eq!(rho.len(), 25);
/// assert!(rho[24] < rho[23]); // the proxy's favourite is not the best: hacking
/// ```
pub fn toy_rank_means(m: usize) -> Vec<f64> {
    let mf = m as f64;
    let den: f64 = (1..=13).map(|j| mf + j as f64).product();
    (1..=m)
        .map(|k| {
            let k = k as f64;
            (0..12).map(|j| k + j as f64).product::<f64>() * (mf - k + 1.0) / den / hedge_math::toy::toy_c()
        })
        .collect()
}

/// The plug-in estimator's population value for a method at θ (BoN, BoP, tilt):
/// `f_m(θ) = Σ_k [F_θ(k/m) − F_θ((k−1)/m)] ρ_k`, given the rank means `ρ_k` of `m = ρ.len()`
/// responses (e.g. [`toy_rank_means`]). It differs from the method's population `f(θ)` with
/// an unlimited pool (`m → ∞`) because the plug-in draws with replacement from `m` responses.
///
/// ```
/// use hedge_estimate::synth::{plugin_population, toy_rank_means};
/// use hedge_math::MethodKind;
/// let rho = toy_rank_means(25);
/// let mean = rho.iter().sum::<f64>() / 25.0;
/// assert!((plugin_population(MethodKind::Bon, 1.0, &rho).unwrap() - mean).abs() < 1e-15);
/// ```
pub fn plugin_population(kind: hedge_math::MethodKind, theta: f64, rho: &[f64]) -> Result<f64> {
    let method = hedge_math::Method::new(kind, theta, None)?;
    let q = method.as_dyn();
    let m = rho.len();
    let mut prev = 0.0;
    Ok(rho
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let f = if i + 1 == m {
                1.0
            } else {
                q.cdf((i + 1) as f64 / m as f64)
            };
            let w = f - prev;
            prev = f;
            w * r
        })
        .sum())
}
