//! Best-of-Poisson.

use super::common::{MethodKind, QuantileMethod, check, horner};
use crate::error::Result;
use crate::special::ei_scaled;

/// Best-of-Poisson: draw `n = 1 + Poisson(μ)` candidates, then Best-of-n.
///
/// `F(u) = u e^{μ(u−1)}`, `p(u) = (1+μu) e^{μ(u−1)}`, `ψ = u/(1+μu) + u − 1`,
/// `∂μ F = u(u−1) e^{μ(u−1)}`,
/// `KL = ln(1+μ) − 1 + e^{−(1+μ)} [Ei(1+μ) − Ei(1)] / μ`,
/// `E[u] = 1 − 1/μ + (1 − e^{−μ})/μ²`, samples drawn `1 + μ`.
///
/// The KL uses its Taylor series for `μ < 0.1` (the closed form cancels) and
/// `e^{−x}Ei(x)` in scaled form above (it would overflow for `μ > 700`).
///
/// ```
/// use hedge_math::{Bop, QuantileMethod};
/// let m = Bop::new(1.0).unwrap();
/// assert!((m.kl() - 0.107153583906737).abs() < 1e-15);
/// assert!((m.mean_quantile() - 0.632120558828558).abs() < 1e-15);
/// assert!(Bop::new(f64::NAN).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bop {
    mu: f64,
}

/// Taylor coefficients of the BoP KL in μ, from μ² on (exact rationals to 20 digits).
#[allow(clippy::excessive_precision)] // the digits as computed; the compiler rounds to the nearest f64
const KL_SERIES: [f64; 20] = [
    0.166_666_666_666_666_666_67,
    -0.083_333_333_333_333_333_333,
    0.033_333_333_333_333_333_333,
    -0.013_888_888_888_888_888_889,
    0.006_746_031_746_031_746_031_7,
    -0.003_819_444_444_444_444_444_4,
    0.002_408_509_700_176_366_843_0,
    -0.001_629_739_858_906_525_573_2,
    0.001_158_259_179_092_512_425_8,
    -0.000_854_097_355_833_466_944_58,
    0.000_648_450_379_353_157_130_93,
    -0.000_504_193_342_114_969_099_10,
    0.000_399_913_255_774_697_573_64,
    -0.000_322_613_626_104_966_217_40,
    0.000_264_075_311_339_507_816_71,
    -0.000_218_919_216_643_044_551_91,
    0.000_183_520_688_044_852_362_04,
    -0.000_155_374_864_811_599_343_25,
    0.000_132_712_086_294_286_685_52,
    -0.000_114_257_475_783_939_438_09,
];

/// `e^{−1} Ei(1)`.
#[allow(clippy::excessive_precision)] // the digits as computed; the compiler rounds to the nearest f64
const EI1_SCALED: f64 = 0.697_174_883_235_066_07;

impl Bop {
    /// Best-of-Poisson with mean extra draws `mu`; finite and `≥ 0`.
    pub fn new(mu: f64) -> Result<Self> {
        check("bop", "mu", mu, 0.0, "must be a finite number >= 0")?;
        Ok(Self { mu })
    }

    /// The Poisson mean μ.
    pub fn mu(&self) -> f64 {
        self.mu
    }
}

impl QuantileMethod for Bop {
    fn kind(&self) -> MethodKind {
        MethodKind::Bop
    }
    fn theta(&self) -> f64 {
        self.mu
    }
    fn cdf(&self, u: f64) -> f64 {
        let u = u.clamp(0.0, 1.0);
        u * (self.mu * (u - 1.0)).exp()
    }
    fn log_density(&self, u: f64) -> f64 {
        let u = u.clamp(0.0, 1.0);
        (self.mu * u).ln_1p() + self.mu * (u - 1.0)
    }
    fn score(&self, u: f64) -> f64 {
        let u = u.clamp(0.0, 1.0);
        u / (1.0 + self.mu * u) + u - 1.0
    }
    fn cdf_derivative(&self, u: f64) -> f64 {
        let u = u.clamp(0.0, 1.0);
        u * (u - 1.0) * (self.mu * (u - 1.0)).exp()
    }
    fn kl(&self) -> f64 {
        let mu = self.mu;
        if mu < 0.1 {
            mu * mu * horner(&KL_SERIES, mu)
        } else {
            let a = 1.0 + mu;
            // e^{−a}[Ei(a) − Ei(1)] = ei_scaled(a) − e^{−μ} e^{−1}Ei(1)
            let tail = ei_scaled(a) - (-mu).exp() * EI1_SCALED;
            (a.ln() - 1.0 + tail / mu).max(0.0)
        }
    }
    fn mean_quantile(&self) -> f64 {
        let mu = self.mu;
        if mu < 0.1 {
            // 1 + Σ_{k≥2} (−1)^{k+1} μ^{k−2} / k! = 1/2 + μ/6 − μ²/24 + ...
            let mut sum = 1.0;
            let mut fact = 1.0;
            let mut p = -1.0;
            for k in 2..=18 {
                fact *= k as f64;
                sum += p / fact;
                p *= -mu;
            }
            sum
        } else {
            1.0 - 1.0 / mu + (-(-mu).exp_m1()) / (mu * mu)
        }
    }
    fn expected_samples(&self) -> f64 {
        1.0 + self.mu
    }
    fn scale(&self) -> f64 {
        1.0 / (1.0 + self.mu)
    }
}
