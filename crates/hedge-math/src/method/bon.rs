//! Best-of-n.

use super::common::{MethodKind, QuantileMethod, check};
use crate::error::Result;

/// Best-of-n: draw `n` candidates, keep the highest proxy score.
///
/// `F(u) = u^n`, `p(u) = n u^{n−1}`, `ψ = 1/n + ln u`, `∂n F = u^n ln u`,
/// `KL = ln n − (n−1)/n`, `E[u] = n/(n+1)`.
/// `n` is real-valued (`n ≥ 1`) so that HedgeTune can root-find in it;
/// the deployed `n` is an integer (see [`crate::tune::bon_integer`]).
///
/// ```
/// use hedge_math::{Bon, QuantileMethod};
/// let m = Bon::new(2.0).unwrap();
/// assert!((m.kl() - 0.1931471805599453).abs() < 1e-15);
/// assert_eq!(m.cdf(0.5), 0.25);
/// assert!(Bon::new(0.5).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bon {
    n: f64,
}

impl Bon {
    /// Best-of-`n`; `n` must be finite and `≥ 1`.
    pub fn new(n: f64) -> Result<Self> {
        check("bon", "n", n, 1.0, "must be a finite number >= 1")?;
        Ok(Self { n })
    }

    /// The number of candidates.
    pub fn n(&self) -> f64 {
        self.n
    }
}

/// `(n−1) ln u`, 0 when `n = 1` (also at `u = 0`).
fn pow_log(n_minus_1: f64, u: f64) -> f64 {
    if n_minus_1 == 0.0 { 0.0 } else { n_minus_1 * u.ln() }
}

impl QuantileMethod for Bon {
    fn kind(&self) -> MethodKind {
        MethodKind::Bon
    }
    fn theta(&self) -> f64 {
        self.n
    }
    fn cdf(&self, u: f64) -> f64 {
        let u = u.clamp(0.0, 1.0);
        (self.n * u.ln()).exp()
    }
    fn log_density(&self, u: f64) -> f64 {
        let u = u.clamp(0.0, 1.0);
        self.n.ln() + pow_log(self.n - 1.0, u)
    }
    fn score(&self, u: f64) -> f64 {
        1.0 / self.n + u.clamp(0.0, 1.0).ln()
    }
    fn cdf_derivative(&self, u: f64) -> f64 {
        let u = u.clamp(0.0, 1.0);
        if u == 0.0 || u == 1.0 {
            return 0.0;
        }
        let l = u.ln();
        (self.n * l).exp() * l
    }
    fn kl(&self) -> f64 {
        // ln n − (n−1)/n; with ε = n − 1 small: Σ_{k≥2} (−1)^k (k−1)/k ε^k.
        let e = self.n - 1.0;
        if e < 0.1 {
            let mut sum = 0.0;
            let mut p = -e;
            for k in 2..=20 {
                p *= -e;
                sum += p * ((k - 1) as f64 / k as f64);
            }
            sum
        } else {
            e.ln_1p() - e / self.n
        }
    }
    fn mean_quantile(&self) -> f64 {
        self.n / (self.n + 1.0)
    }
    fn expected_samples(&self) -> f64 {
        self.n
    }
    fn scale(&self) -> f64 {
        1.0 / self.n
    }
    fn singular_at_zero(&self) -> bool {
        true
    }
}
