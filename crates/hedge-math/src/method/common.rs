//! What the four methods share: [`MethodKind`], the [`QuantileMethod`] trait, the parameter check
//! behind every constructor and Horner's rule. A leaf: the method files and `mod.rs` import it, it
//! imports none of them.

use crate::error::{Error, Result};

/// Which method, without its parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MethodKind {
    /// Best-of-n.
    Bon,
    /// Best-of-Poisson.
    Bop,
    /// The KL-optimal exponential tilt of the quantile (a reference frontier).
    Tilt,
    /// Soft Best-of-n.
    Sbon,
}

impl MethodKind {
    /// All methods, in the order reports list them.
    pub const ALL: [MethodKind; 4] = [MethodKind::Bon, MethodKind::Bop, MethodKind::Tilt, MethodKind::Sbon];

    /// Short lowercase name used on the command line and in JSON (`"bon"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            MethodKind::Bon => "bon",
            MethodKind::Bop => "bop",
            MethodKind::Tilt => "tilt",
            MethodKind::Sbon => "sbon",
        }
    }

    /// Name of the tuned parameter (`"n"`, `"mu"`, `"lambda"`, `"beta"`).
    pub fn parameter(self) -> &'static str {
        match self {
            MethodKind::Bon => "n",
            MethodKind::Bop => "mu",
            MethodKind::Tilt => "lambda",
            MethodKind::Sbon => "beta",
        }
    }

    /// Parse a method name (case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "bon" => Some(MethodKind::Bon),
            "bop" => Some(MethodKind::Bop),
            "tilt" => Some(MethodKind::Tilt),
            "sbon" => Some(MethodKind::Sbon),
            _ => None,
        }
    }

    /// Whether the method can choose a response at inference time.
    pub fn is_sampler(self) -> bool {
        !matches!(self, MethodKind::Tilt)
    }
}

impl std::fmt::Display for MethodKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A method at a fixed parameter, seen through its chosen-quantile distribution.
///
/// All functions take `u ∈ [0, 1]` (values outside are clamped) and never return NaN
/// for a valid method; at the ends they may return `±∞` where the mathematics does
/// (e.g. BoN's score `1/n + ln u` at `u = 0`).
pub trait QuantileMethod: Send + Sync {
    /// Which method this is.
    fn kind(&self) -> MethodKind;
    /// The tuned parameter θ (`n`, `μ`, `λ` or `β`).
    fn theta(&self) -> f64;
    /// CDF `F_θ(u)` of the chosen quantile.
    fn cdf(&self, u: f64) -> f64;
    /// Density `p_θ(u)`.
    fn density(&self, u: f64) -> f64 {
        self.log_density(u).exp()
    }
    /// `ln p_θ(u)`.
    fn log_density(&self, u: f64) -> f64;
    /// Score `ψ(u, θ) = ∂θ ln p_θ(u)`.
    fn score(&self, u: f64) -> f64;
    /// `∂θ F_θ(u)`.
    fn cdf_derivative(&self, u: f64) -> f64;
    /// Density and score together (one pass for methods where both are costly).
    fn density_and_score(&self, u: f64) -> (f64, f64) {
        (self.density(u), self.score(u))
    }
    /// `KL(p_θ ‖ Uniform) = ∫ p ln p`, in nats.
    fn kl(&self) -> f64;
    /// Mean chosen quantile `E_θ[u]`.
    fn mean_quantile(&self) -> f64;
    /// Expected number of candidates drawn per selection.
    fn expected_samples(&self) -> f64;
    /// Width of the layer near `u = 1` where the density lives (guides quadrature).
    fn scale(&self) -> f64;
    /// Whether the density or score is singular at `u = 0` (guides quadrature).
    fn singular_at_zero(&self) -> bool {
        false
    }
}

/// Check that `value` is finite and `≥ min`.
pub(crate) fn check(
    method: &'static str,
    name: &'static str,
    value: f64,
    min: f64,
    reason: &'static str,
) -> Result<()> {
    if value.is_finite() && value >= min {
        Ok(())
    } else {
        Err(Error::InvalidParameter {
            method,
            name,
            value,
            reason,
        })
    }
}

/// Evaluate a power series `Σ c_k x^k` (Horner).
pub(crate) fn horner(coeffs: &[f64], x: f64) -> f64 {
    coeffs.iter().rev().fold(0.0, |acc, &c| acc * x + c)
}
