//! Panelled Gauss–Legendre quadrature on `[0, 1]` with geometric grading.
//!
//! The chosen-quantile densities of greedy methods pile up in a layer of width
//! `~1/θ` next to `u = 1` (BoN at `n = 1e9`: width 1e-9), and BoN's score `ln u`
//! is singular at `u = 0`. Panels that halve their width towards an end resolve
//! every such scale with a fixed-order rule on each panel.

use std::sync::OnceLock;

/// A Gauss–Legendre rule mapped to `[0, 1]`: nodes and weights.
#[derive(Debug, Clone)]
pub struct UnitRule {
    /// Nodes in `(0, 1)`, ascending.
    pub nodes: Vec<f64>,
    /// Weights, summing to 1.
    pub weights: Vec<f64>,
}

impl UnitRule {
    fn from_table(table: &[(f64, f64)]) -> Self {
        Self {
            nodes: table.iter().map(|p| p.0).collect(),
            weights: table.iter().map(|p| p.1).collect(),
        }
    }
}

// The two rules as (node, weight) on `[0, 1]`, ascending by node.
//
// Where the digits come from: these are exactly the f64 values that hedge-math computed at
// run time up to commit 93f4c57, when it depended on the crate gauss-quad (0.3.2). That crate's
// `GaussLegendre::new(k)` gives the rule on `[-1, 1]` by Bogaert's method ("Iteration-free
// computation of Gauss-Legendre quadrature nodes and weights", SIAM J. Sci. Comput. 36 (2014);
// for k <= 100 its nodes are the cosines of tabulated angles, not a Golub-Welsch eigensolve).
// hedge-math mapped each pair to `[0, 1]` as `(0.5 * (x + 1.0), 0.5 * w)` in f64 and sorted by
// node. The tables were captured by a throwaway program built against commit 93f4c57 that printed
// `rule20()` and `rule16()` with `{:?}` (shortest round-trip decimal, which Rust parses back to the
// same bits). Keeping the digits keeps every number hedge computes bit-for-bit the same.
//
// Checked independently of gauss-quad by the tests below (exactness on monomials, symmetry, nodes
// as roots of the Legendre polynomial, weights by the Gauss-Legendre formula). Against 50-digit
// roots (mpmath) the nodes are within 1.8e-16 and the weights are the correctly rounded values.
const GL20: [(f64, f64); 20] = [
    (0.0034357004074525577, 0.008807003569576059),
    (0.018014036361043095, 0.02030071490019347),
    (0.04388278587433708, 0.031336024167054534),
    (0.08044151408889061, 0.04163837078835238),
    (0.12683404676992466, 0.05096505990862022),
    (0.1819731596367425, 0.059097265980759206),
    (0.24456649902458655, 0.06584431922458832),
    (0.3131469556422902, 0.07104805465919102),
    (0.3861070744291775, 0.07458649323630187),
    (0.46173673943325144, 0.07637669356536292),
    (0.5382632605667487, 0.07637669356536292),
    (0.6138929255708225, 0.07458649323630187),
    (0.6868530443577099, 0.07104805465919102),
    (0.7554335009754135, 0.06584431922458832),
    (0.8180268403632576, 0.059097265980759206),
    (0.8731659532300754, 0.05096505990862022),
    (0.9195584859111094, 0.04163837078835238),
    (0.956117214125663, 0.031336024167054534),
    (0.981985963638957, 0.02030071490019347),
    (0.9965642995925474, 0.008807003569576059),
];

const GL16: [(f64, f64); 16] = [
    (0.005299532504175031, 0.013576229705877048),
    (0.0277124884633837, 0.031126761969323947),
    (0.06718439880608412, 0.04757925584124639),
    (0.12229779582249845, 0.06231448562776694),
    (0.19106187779867817, 0.07479799440828837),
    (0.2709916111713865, 0.08457825969750127),
    (0.35919822461037065, 0.09130170752246179),
    (0.45249374508118134, 0.09472530522753425),
    (0.5475062549188187, 0.09472530522753425),
    (0.6408017753896295, 0.09130170752246179),
    (0.7290083888286136, 0.08457825969750127),
    (0.8089381222013219, 0.07479799440828837),
    (0.8777022041775016, 0.06231448562776694),
    (0.9328156011939159, 0.04757925584124639),
    (0.9722875115366163, 0.031126761969323947),
    (0.994700467495825, 0.013576229705877048),
];

/// The 20-point rule used on every panel of `[0, 1]` (exact for degree 39).
pub fn rule20() -> &'static UnitRule {
    static R: OnceLock<UnitRule> = OnceLock::new();
    R.get_or_init(|| UnitRule::from_table(&GL20))
}

/// The 16-point rule used for Soft Best-of-n's inner integrals.
pub fn rule16() -> &'static UnitRule {
    static R: OnceLock<UnitRule> = OnceLock::new();
    R.get_or_init(|| UnitRule::from_table(&GL16))
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

    // The tables above are checked here against properties that define a Gauss–Legendre rule,
    // not against the crate they were captured from. Largest deviations seen with the tables as
    // committed: monomials 9.4e-16 relative, |P_k/P_k'| 3.7e-16, weights against the formula
    // 8.3e-15 relative (nodes next to ±1, where t = 2x - 1 loses digits); symmetry and the sum
    // of the weights are exact.

    /// The rules and their orders `k`.
    fn rules() -> [(usize, &'static UnitRule); 2] {
        [(20, rule20()), (16, rule16())]
    }

    /// Neumaier's compensated sum.
    fn compensated_sum(terms: impl IntoIterator<Item = f64>) -> f64 {
        let (mut s, mut c) = (0.0_f64, 0.0_f64);
        for x in terms {
            let t = s + x;
            c += if s.abs() >= x.abs() { (s - t) + x } else { (x - t) + s };
            s = t;
        }
        s + c
    }

    /// `(P_k(t), P_{k-1}(t))` by the three-term recurrence `(n+1) P_{n+1} = (2n+1) t P_n - n P_{n-1}`.
    fn legendre(k: usize, t: f64) -> (f64, f64) {
        let (mut prev, mut cur) = (1.0, t);
        for n in 1..k {
            let next = ((2 * n + 1) as f64 * t * cur - n as f64 * prev) / (n + 1) as f64;
            (prev, cur) = (cur, next);
        }
        (cur, prev)
    }

    /// `P_k'(t) = k (t P_k(t) - P_{k-1}(t)) / (t^2 - 1)` for `|t| < 1`.
    fn legendre_derivative(k: usize, t: f64) -> f64 {
        let (p, p_prev) = legendre(k, t);
        k as f64 * (t * p - p_prev) / (t * t - 1.0)
    }

    #[test]
    fn tables_have_k_nodes_and_k_weights() {
        for (k, r) in rules() {
            assert_eq!(r.nodes.len(), k);
            assert_eq!(r.weights.len(), k);
        }
    }

    #[test]
    fn rules_integrate_monomials_exactly_up_to_degree_2k_minus_1() {
        // ∫_0^1 x^d dx = 1/(d+1) for d = 0..=2k-1, summed with compensation.
        for (k, r) in rules() {
            for d in 0..2 * k as i32 {
                let q = compensated_sum(r.nodes.iter().zip(&r.weights).map(|(x, w)| w * x.powi(d)));
                let exact = 1.0 / f64::from(d + 1);
                let rel = ((q - exact) / exact).abs();
                assert!(
                    rel < 4e-15,
                    "k = {k}, d = {d}: {q:e} vs {exact:e}, relative error {rel:e}"
                );
            }
        }
    }

    #[test]
    fn nodes_ascend_strictly_inside_unit_interval_and_are_symmetric() {
        for (k, r) in rules() {
            let x = &r.nodes;
            assert!(x[0] > 0.0 && x[k - 1] < 1.0, "k = {k}: nodes leave (0, 1)");
            for i in 1..k {
                assert!(x[i] > x[i - 1], "k = {k}: nodes {} and {i} not ascending", i - 1);
            }
            for i in 0..k {
                let dev = (x[i] + x[k - 1 - i] - 1.0).abs();
                assert!(dev <= f64::EPSILON, "k = {k}, i = {i}: x_i + x_(k-1-i) - 1 = {dev:e}");
            }
        }
    }

    #[test]
    fn weights_are_positive_symmetric_and_sum_to_one() {
        for (k, r) in rules() {
            let w = &r.weights;
            for i in 0..k {
                assert!(w[i] > 0.0, "k = {k}, i = {i}: weight {}", w[i]);
                let dev = (w[i] - w[k - 1 - i]).abs();
                assert!(
                    dev <= f64::EPSILON * w[i],
                    "k = {k}, i = {i}: w_i - w_(k-1-i) = {dev:e}"
                );
            }
            let s = compensated_sum(w.iter().copied());
            assert!((s - 1.0).abs() < 1e-15, "k = {k}: weights sum to 1 + {:e}", s - 1.0);
        }
    }

    #[test]
    fn nodes_are_roots_of_the_legendre_polynomial() {
        // t = 2x - 1 must be a root of P_k: the Newton step |P_k(t) / P_k'(t)|, the distance to the
        // nearest root to first order, must be a few ulps of 1. With k distinct, ascending nodes this
        // accounts for all k roots of P_k.
        for (k, r) in rules() {
            for (i, &x) in r.nodes.iter().enumerate() {
                let t = 2.0 * x - 1.0;
                let step = (legendre(k, t).0 / legendre_derivative(k, t)).abs();
                assert!(
                    step < 1e-15,
                    "k = {k}, i = {i}: node {x} is {step:e} from a root of P_k(2x - 1)"
                );
            }
        }
    }

    #[test]
    fn weights_match_the_gauss_legendre_formula() {
        // On [-1, 1], w_i = 2 / ((1 - t_i^2) P_k'(t_i)^2); on [0, 1] half of that.
        for (k, r) in rules() {
            for (i, (&x, &w)) in r.nodes.iter().zip(&r.weights).enumerate() {
                let t = 2.0 * x - 1.0;
                let dp = legendre_derivative(k, t);
                let formula = 1.0 / ((1.0 - t * t) * dp * dp);
                let rel = ((w - formula) / formula).abs();
                assert!(
                    rel < 3e-14,
                    "k = {k}, i = {i}: weight {w:e} vs formula {formula:e}, relative {rel:e}"
                );
            }
        }
    }

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
