//! Panelled Gauss–Legendre quadrature on `[0, 1]` with geometric grading.
//!
//! The chosen-quantile densities of greedy methods pile up in a layer of width
//! `~1/θ` next to `u = 1` (BoN at `n = 1e9`: width 1e-9), and BoN's score `ln u`
//! is singular at `u = 0`. Panels that halve their width towards an end resolve
//! every such scale with a fixed-order rule on each panel.

use std::num::NonZeroUsize;
use std::sync::OnceLock;

use gauss_quad::legendre::GaussLegendre;

/// A Gauss–Legendre rule mapped to `[0, 1]`: nodes and weights.
#[derive(Debug, Clone)]
pub struct UnitRule {
    /// Nodes in `(0, 1)`, ascending.
    pub nodes: Vec<f64>,
    /// Weights, summing to 1.
    pub weights: Vec<f64>,
}

impl UnitRule {
    fn new(order: usize) -> Self {
        let gl = GaussLegendre::new(NonZeroUsize::new(order).expect("order > 0"));
        let mut pairs: Vec<(f64, f64)> = gl.iter().map(|(x, w)| (0.5 * (x + 1.0), 0.5 * w)).collect();
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
        Self {
            nodes: pairs.iter().map(|p| p.0).collect(),
            weights: pairs.iter().map(|p| p.1).collect(),
        }
    }
}

/// The 20-point rule used on every panel of `[0, 1]` (exact for degree 39).
pub fn rule20() -> &'static UnitRule {
    static R: OnceLock<UnitRule> = OnceLock::new();
    R.get_or_init(|| UnitRule::new(20))
}

/// The 16-point rule used for Soft Best-of-n's inner integrals.
pub fn rule16() -> &'static UnitRule {
    static R: OnceLock<UnitRule> = OnceLock::new();
    R.get_or_init(|| UnitRule::new(16))
}

/// Break points of `[0, 1]`: geometric towards 1 down to a panel width of
/// `top_scale · 2^-12` (at most 2^-52), and towards 0 down to 2^-60 when `grade_bottom`.
pub fn unit_breaks(top_scale: f64, grade_bottom: bool) -> Vec<f64> {
    let mut b = vec![0.0];
    if grade_bottom {
        for j in (2..=60).rev() {
            b.push(f64::powi(2.0, -j));
        }
    } else {
        b.push(0.25);
    }
    b.push(0.5);
    let scale = top_scale.clamp(f64::MIN_POSITIVE, 1.0);
    let depth = ((-scale.log2()).ceil() as i32 + 12).clamp(3, 52);
    for j in 2..=depth {
        b.push(1.0 - f64::powi(2.0, -j));
    }
    b.push(1.0);
    b
}

/// Nodes and weights of the composite rule on the given break points.
pub fn composite(breaks: &[f64], rule: &UnitRule) -> (Vec<f64>, Vec<f64>) {
    let mut xs = Vec::with_capacity(breaks.len() * rule.nodes.len());
    let mut ws = Vec::with_capacity(xs.capacity());
    for pair in breaks.windows(2) {
        let (a, h) = (pair[0], pair[1] - pair[0]);
        for (x, w) in rule.nodes.iter().zip(&rule.weights) {
            xs.push(a + h * x);
            ws.push(h * w);
        }
    }
    (xs, ws)
}

/// `∫ f` over the panels given by `breaks`, 20-point Gauss–Legendre on each.
pub fn integrate<F: FnMut(f64) -> f64>(breaks: &[f64], mut f: F) -> f64 {
    let r = rule20();
    let mut total = 0.0;
    for pair in breaks.windows(2) {
        let (a, h) = (pair[0], pair[1] - pair[0]);
        let mut s = 0.0;
        for (x, w) in r.nodes.iter().zip(&r.weights) {
            s += w * f(a + h * x);
        }
        total += h * s;
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_normalised() {
        for r in [rule20(), rule16()] {
            let s: f64 = r.weights.iter().sum();
            assert!((s - 1.0).abs() < 1e-15);
        }
    }

    #[test]
    fn graded_panels_resolve_thin_layers() {
        // ∫ n u^(n-1) = 1, and ∫ ln u = -1. Nodes near 1 are rounded to ~1e-16
        // absolutely, which costs ~n·1e-16 relatively: 1e-7 at n = 1e9.
        for (n, tol) in [(1e4, 1e-13), (1e6, 1e-11), (1e9, 1e-8)] {
            let v = integrate(&unit_breaks(1.0 / n, false), |u| n * (u.ln() * (n - 1.0)).exp());
            assert!((v - 1.0).abs() < tol, "{v}");
        }
        let v = integrate(&unit_breaks(1.0, true), f64::ln);
        assert!((v + 1.0).abs() < 1e-13, "{v}");
    }
}
