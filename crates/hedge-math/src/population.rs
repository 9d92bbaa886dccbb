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
