//! The exponential tilt of the quantile: the KL-regularised optimum.

use super::common::{MethodKind, QuantileMethod, check, horner};
use crate::error::Result;

/// The tilted policy `π_ref e^{λu} / Z` in quantile space: the maximiser of
/// `E[u] − KL/λ`, i.e. the reward–KL frontier that BoP approximates.
///
/// `F(u) = (e^{λu}−1)/(e^λ−1)`, `p(u) = λ e^{λu}/(e^λ−1)`, `ψ = u − E_λ[u]`,
/// `E_λ[u] = 1/(1−e^{−λ}) − 1/λ`, `KL = λ E_λ[u] − ln((e^λ−1)/λ)`.
///
/// It is a frontier, not a sampler; its "expected samples" is the cost of exact
/// rejection sampling from the reference, `λ/(1−e^{−λ})` proposals.
/// Series are used for `λ < 0.5` and overflow-free forms above 1.
///
/// ```
/// use hedge_math::{Tilt, QuantileMethod};
/// assert!((Tilt::new(5.0).unwrap().kl() - 0.650116936415).abs() < 1e-12);
/// assert!((Tilt::new(1e4).unwrap().kl() - 8.21034037197618).abs() < 1e-13);
/// assert!(Tilt::new(-0.1).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tilt {
    lambda: f64,
}

/// `E_λ[u]` Taylor coefficients in λ (even powers beyond the first vanish).
#[allow(clippy::excessive_precision)] // the digits as computed; the compiler rounds to the nearest f64
const MEAN_SERIES: [f64; 16] = [
    0.5,
    0.083_333_333_333_333_333_333,
    0.0,
    -0.001_388_888_888_888_888_888_9,
    0.0,
    0.000_033_068_783_068_783_068_783,
    0.0,
    -8.267_195_767_195_767_195_8e-7,
    0.0,
    2.087_675_698_786_809_897_9e-8,
    0.0,
    -5.284_190_138_687_493_184_9e-10,
    0.0,
    1.338_253_653_068_467_883_3e-11,
    0.0,
    -3.389_680_296_322_582_866_8e-13,
];

/// KL Taylor coefficients in λ, from λ² on.
#[allow(clippy::excessive_precision)] // the digits as computed; the compiler rounds to the nearest f64
const KL_SERIES: [f64; 16] = [
    0.041_666_666_666_666_666_667,
    0.0,
    -0.001_041_666_666_666_666_666_7,
    0.0,
    0.000_027_557_319_223_985_890_653,
    0.0,
    -7.233_796_296_296_296_296_3e-7,
    0.0,
    1.878_908_128_908_128_908_1e-8,
    0.0,
    -4.843_840_960_463_535_419_4e-10,
    0.0,
    1.242_664_106_420_720_177_3e-11,
    0.0,
    -3.177_825_277_802_421_437_7e-13,
    0.0,
];

impl Tilt {
    /// The tilt with inverse temperature `lambda`; finite and `≥ 0`.
    pub fn new(lambda: f64) -> Result<Self> {
        check("tilt", "lambda", lambda, 0.0, "must be a finite number >= 0")?;
        Ok(Self { lambda })
    }

    /// The tilt parameter λ.
    pub fn lambda(&self) -> f64 {
        self.lambda
    }

    /// `1/(1 − e^{−λ})`, i.e. `E_λ[u] + 1/λ`.
    fn inv_one_minus_exp(&self) -> f64 {
        1.0 / (-(-self.lambda).exp_m1())
    }
}

/// Below this λ, [`Tilt`]'s CDF is its first-order series (`λu` could be subnormal).
const TINY_LAMBDA: f64 = 1e-150;
/// Below this λ, the CDF's derivative in λ is its series to first order (error `O(λ²)` < 1e-16).
const SMALL_LAMBDA: f64 = 1e-8;

/// `x e^x − (e^x − 1)`, accurate near 0.
fn q(x: f64) -> f64 {
    if x.abs() < 0.1 {
        // Σ_{k≥2} x^k (k−1)/k!
        let mut sum = 0.0;
        let mut p = x;
        let mut fact = 1.0;
        for k in 2..=16 {
            p *= x;
            fact *= k as f64;
            sum += p * ((k - 1) as f64) / fact;
        }
        sum
    } else {
        x * x.exp() - x.exp_m1()
    }
}

impl QuantileMethod for Tilt {
    fn kind(&self) -> MethodKind {
        MethodKind::Tilt
    }
    fn theta(&self) -> f64 {
        self.lambda
    }
    fn cdf(&self, u: f64) -> f64 {
        let (u, l) = (u.clamp(0.0, 1.0), self.lambda);
        if l < TINY_LAMBDA {
            // `F = u + λ(u² − u)/2 + O(λ²)`: exact to rounding here, where `λu` would be subnormal.
            u + l * 0.5 * (u * u - u)
        } else if l <= 1.0 {
            (l * u).exp_m1() / l.exp_m1()
        } else {
            (l * (u - 1.0)).exp() * (-(-l * u).exp_m1()) * self.inv_one_minus_exp()
        }
    }
    fn log_density(&self, u: f64) -> f64 {
        let (u, l) = (u.clamp(0.0, 1.0), self.lambda);
        if l == 0.0 {
            0.0
        } else if l <= 1.0 {
            (l / l.exp_m1()).ln() + l * u
        } else {
            l.ln() + l * (u - 1.0) - (-(-l).exp_m1()).ln()
        }
    }
    fn score(&self, u: f64) -> f64 {
        u.clamp(0.0, 1.0) - self.mean_quantile()
    }
    fn cdf_derivative(&self, u: f64) -> f64 {
        let (u, l) = (u.clamp(0.0, 1.0), self.lambda);
        if l < SMALL_LAMBDA {
            // `∂F/∂λ = (u² − u)/2 + λ u(2u − 1)(u − 1)/6 + O(λ²)`: the closed form divides by
            // `λ (e^λ − 1)`, which underflows to 0 below λ ≈ 1e-154.
            0.5 * (u * u - u) + l * u * (2.0 * u - 1.0) * (u - 1.0) / 6.0
        } else if l <= 1.0 {
            q(l * u) / (l * l.exp_m1()) - self.cdf(u) * self.mean_quantile()
        } else {
            (u * (l * (u - 1.0)).exp() - self.cdf(u)) * self.inv_one_minus_exp()
        }
    }
    fn kl(&self) -> f64 {
        let l = self.lambda;
        if l < 0.5 {
            l * l * horner(&KL_SERIES, l)
        } else {
            let big = if l > 700.0 { 0.0 } else { l / l.exp_m1() };
            (l.ln() - 1.0 + big - (-(-l).exp()).ln_1p()).max(0.0)
        }
    }
    fn mean_quantile(&self) -> f64 {
        let l = self.lambda;
        if l < 0.5 {
            horner(&MEAN_SERIES, l)
        } else {
            self.inv_one_minus_exp() - 1.0 / l
        }
    }
    fn expected_samples(&self) -> f64 {
        let l = self.lambda;
        if l == 0.0 { 1.0 } else { l * self.inv_one_minus_exp() }
    }
    fn scale(&self) -> f64 {
        1.0 / (1.0 + self.lambda)
    }
}
