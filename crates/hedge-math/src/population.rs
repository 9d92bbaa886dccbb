//! Population expected true reward `f(θ) = ∫ r(u) p_θ(u) du` and its derivative
//! `f'(θ) = ∫ r(u) p_θ(u) ψ(u, θ) du` for a true-reward curve `r(u)` given in
//! quantile space (math.md §1).
//!
//! Integration is panelled 20-point Gauss–Legendre on panels graded towards
//! `u = 1` at the method's own scale (and towards 0 where the score is singular).

use crate::method::QuantileMethod;
use crate::quad::{integrate, unit_breaks};

/// Panel break points suited to `m`.
pub fn breaks_for(m: &dyn QuantileMethod) -> Vec<f64> {
    unit_breaks(m.scale(), m.singular_at_zero())
}

/// `f(θ) = ∫ r(u) p_θ(u) du`.
///
/// ```
/// use hedge_math::{Bon, population::expected_reward};
/// // E[u] under BoN(3) is 3/4.
/// let f = expected_reward(&Bon::new(3.0).unwrap(), &|u| u);
/// assert!((f - 0.75).abs() < 1e-14);
/// ```
pub fn expected_reward(m: &dyn QuantileMethod, r: &dyn Fn(f64) -> f64) -> f64 {
    integrate(&breaks_for(m), |u| {
        let ru = r(u);
        if ru == 0.0 { 0.0 } else { ru * m.density(u) }
    })
}

/// `f'(θ) = ∫ r(u) p_θ(u) ψ(u, θ) du`, the HedgeTune residual.
pub fn expected_reward_derivative(m: &dyn QuantileMethod, r: &dyn Fn(f64) -> f64) -> f64 {
    integrate(&breaks_for(m), |u| {
        let ru = r(u);
        if ru == 0.0 {
            return 0.0;
        }
        let (p, s) = m.density_and_score(u);
        if p == 0.0 { 0.0 } else { ru * p * s }
    })
}

use crate::error::Result;
use crate::method::{Method, MethodKind};
use crate::tune::{Regime, TuneOptions, bon_integer, hedge_tune};

/// The HedgeTune optimum of one method for a population curve `r(u)`.
#[derive(Debug, Clone, PartialEq)]
pub struct PopulationOptimum {
    /// Which method.
    pub kind: MethodKind,
    /// SBoN's number of candidates (None for the others).
    pub n: Option<u64>,
    /// The parameter to deploy (BoN: the integer n).
    pub theta: f64,
    /// The continuous root (equal to `theta` except for BoN).
    pub theta_continuous: f64,
    /// Regime of `f` on the range.
    pub regime: Regime,
    /// Expected true reward `f(θ)`.
    pub expected_true_reward: f64,
    /// KL to the reference at θ.
    pub kl: f64,
    /// Mean chosen quantile at θ.
    pub mean_quantile: f64,
    /// Expected candidates drawn at θ.
    pub expected_samples: f64,
}

/// HedgeTune on the population: maximise `f(θ) = ∫ r p_θ` over `θ ∈ [lo, hi]`
/// (BoN then applies the integer rule).
///
/// ```
/// use hedge_math::{MethodKind, Regime, TuneOptions, population::tune, toy::toy_reward};
/// let o = tune(MethodKind::Bon, None, 1.0, 1000.0, &toy_reward, &TuneOptions::default()).unwrap();
/// assert_eq!((o.theta, o.regime), (12.0, Regime::Hacking));
/// ```
pub fn tune(
    kind: MethodKind,
    n: Option<u64>,
    lo: f64,
    hi: f64,
    r: &(dyn Fn(f64) -> f64 + Sync),
    opts: &TuneOptions,
) -> Result<PopulationOptimum> {
    // Validate the range ends as parameters first, so errors name the method.
    let at = |t: f64| Method::new(kind, t, n);
    at(lo)?;
    at(hi)?;
    let f = |t: f64| at(t).map_or(f64::NAN, |m| expected_reward(m.as_dyn(), r));
    let df = |t: f64| at(t).map_or(f64::NAN, |m| expected_reward_derivative(m.as_dyn(), r));
    let o = hedge_tune(lo, hi, f, df, opts)?;
    let (theta, value) = if kind == MethodKind::Bon {
        let (n_int, v) = bon_integer(o.theta, lo, hi, 1e-12, f);
        (n_int as f64, v)
    } else {
        (o.theta, o.value)
    };
    let m = at(theta)?;
    let m = m.as_dyn();
    Ok(PopulationOptimum {
        kind,
        n,
        theta,
        theta_continuous: o.theta,
        regime: o.regime,
        expected_true_reward: value,
        kl: m.kl(),
        mean_quantile: m.mean_quantile(),
        expected_samples: m.expected_samples(),
    })
}
