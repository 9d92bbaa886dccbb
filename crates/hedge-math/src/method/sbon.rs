//! Soft Best-of-n.

use std::sync::Arc;

use super::common::{MethodKind, QuantileMethod};
use crate::error::{Error, Result};
use crate::quad::{integrate, rule16, unit_breaks};
use crate::special::{ein, ln_e1_from_ln, ln_expm1, ln_sub_exp, log_sum_exp};

/// Largest β accepted: the inner grid grows linearly in β.
pub const MAX_BETA: f64 = 1e5;

/// Soft Best-of-n: draw `n` candidates, choose candidate `i` with probability
/// `∝ exp(β s_i)`; when the proxy is the quantile itself, the chosen quantile has
///
/// `p(u) = n e^{βu} ∫₀^∞ exp(−t e^{βu}) φ(t)^{n−1} dt`,  `φ(t) = (E1(t) − E1(t e^β))/β`.
///
/// Implementation: with `t = e^{x+β}` this becomes
/// `p(u) = n ∫ g(x + β(u−1)) φ̃(x)^{n−1} dx`, `g(s) = e^{s − e^s}`,
/// `φ̃(x) = ∫₀¹ exp(−e^{x − β(1−v)}) dv`, integrated by 16-point Gauss–Legendre on unit
/// panels of `x ∈ [−50, β + 8]`, entirely in log space (no underflow at `β = 1e4`).
/// `φ̃` is evaluated by quadrature on its window where that is smooth, else from
/// `E1`/`Ein` differences that do not cancel. Normalised to ~1e-15.
///
/// `β = 0` (or `n = 1`) is the reference policy; `β → ∞` is Best-of-n.
///
/// ```
/// use hedge_math::{Sbon, QuantileMethod};
/// let m = Sbon::new(4, 5.0).unwrap();
/// let mass = hedge_math::quad::integrate(&hedge_math::quad::unit_breaks(0.1, false), |u| m.density(u));
/// assert!((mass - 1.0).abs() < 1e-12);
/// assert!(Sbon::new(0, 1.0).is_err());
/// ```
#[derive(Debug, Clone)]
pub struct Sbon {
    n: u64,
    beta: f64,
    grid: Arc<Grid>,
}

#[derive(Debug)]
struct Grid {
    x: Vec<f64>,
    lnw: Vec<f64>,
    /// `(n−1) ln φ̃(x)`.
    ln_phi_pow: Vec<f64>,
    /// `∂β ln φ̃(x)`.
    kappa: Vec<f64>,
}

impl Sbon {
    /// Soft Best-of-`n` with inverse temperature `beta`; `n ≥ 1`, `0 ≤ β ≤ 1e5`.
    pub fn new(n: u64, beta: f64) -> Result<Self> {
        if n == 0 {
            return Err(Error::InvalidParameter {
                method: "sbon",
                name: "n",
                value: 0.0,
                reason: "must be an integer >= 1",
            });
        }
        if !(beta.is_finite() && (0.0..=MAX_BETA).contains(&beta)) {
            return Err(Error::InvalidParameter {
                method: "sbon",
                name: "beta",
                value: beta,
                reason: "must be a finite number in [0, 1e5]",
            });
        }
        Ok(Self {
            n,
            beta,
            grid: Arc::new(Grid::new(n, beta)),
        })
    }

    /// Number of candidates.
    pub fn n(&self) -> u64 {
        self.n
    }

    /// Inverse temperature β.
    pub fn beta(&self) -> f64 {
        self.beta
    }

    fn nm1(&self) -> f64 {
        (self.n - 1) as f64
    }

    fn u_breaks(&self) -> Vec<f64> {
        unit_breaks((1.0 / self.n as f64).min(1.0 / (1.0 + self.beta)), false)
    }

    /// `ln p(u)` and `ψ(u)` in one pass over the inner grid.
    fn log_density_score(&self, u: f64) -> (f64, f64) {
        let u = u.clamp(0.0, 1.0);
        let g = &self.grid;
        let c = self.beta * (u - 1.0);
        let mut t = Vec::with_capacity(g.x.len());
        let mut m = f64::NEG_INFINITY;
        for i in 0..g.x.len() {
            let s = g.x[i] + c;
            let ti = g.lnw[i] + s - s.exp() + g.ln_phi_pow[i];
            m = m.max(ti);
            t.push(ti);
        }
        if m == f64::NEG_INFINITY {
            return (f64::NEG_INFINITY, 0.0);
        }
        let (mut p, mut sc) = (0.0, 0.0);
        let nm1 = self.nm1();
        for ((&ti, &xi), &kappa) in t.iter().zip(&g.x).zip(&g.kappa) {
            let w = (ti - m).exp();
            if w == 0.0 {
                continue;
            }
            let s = xi + c;
            p += w;
            sc += w * ((u - 1.0) * (1.0 - s.exp()) + nm1 * kappa);
        }
        ((self.n as f64).ln() + m + p.ln(), sc / p)
    }

    /// `ln I(x, u)` with `I = ∫₀^u g(x + β(v−1)) dv`, cancellation-free.
    fn ln_inner_cdf(&self, x: f64, u: f64) -> f64 {
        let b = self.beta;
        let lo = x - b;
        let bu = b * u;
        // L1 = ln((e^{βu} − 1)/β), → ln u as β → 0.
        let l1 = if bu < 1e-10 {
            u.ln() + 0.5 * bu
        } else {
            ln_expm1(bu) - b.ln()
        };
        let ln_y = if b == 0.0 { f64::NEG_INFINITY } else { lo + l1 + b.ln() };
        let y = ln_y.exp();
        let l2 = if y < 1e-8 {
            -0.5 * y
        } else {
            (-(-y).exp_m1()).ln() - ln_y
        };
        -lo.exp() + lo + l1 + l2
    }

    /// `∂β I(x, u)`.
    fn inner_cdf_derivative(&self, x: f64, u: f64, inner: f64) -> f64 {
        let b = self.beta;
        let g = |s: f64| (s - s.exp()).exp();
        let (lo, hi) = (x - b, x + b * (u - 1.0));
        let y = hi.exp() - lo.exp();
        if b <= 2.0 && y < 1.0 {
            let r = rule16();
            let mut s = 0.0;
            for (v, w) in r.nodes.iter().zip(&r.weights) {
                let v = v * u;
                let sv = x + b * (v - 1.0);
                s += w * (v - 1.0) * (1.0 - sv.exp()) * g(sv);
            }
            s * u
        } else {
            (g(lo) + (u - 1.0) * g(hi) - inner) / b
        }
    }
}

impl Grid {
    fn new(n: u64, beta: f64) -> Self {
        let r = rule16();
        let lo = -50.0;
        let hi = beta.ceil() + 8.0;
        let panels = (hi - lo) as usize;
        let cap = panels * r.nodes.len();
        let mut g = Grid {
            x: Vec::with_capacity(cap),
            lnw: Vec::with_capacity(cap),
            ln_phi_pow: Vec::with_capacity(cap),
            kappa: Vec::with_capacity(cap),
        };
        let nm1 = (n - 1) as f64;
        for p in 0..panels {
            let a = lo + p as f64;
            for (v, w) in r.nodes.iter().zip(&r.weights) {
                let x = a + v;
                let (ln_phi, kappa) = ln_phi_and_kappa(x, beta);
                g.x.push(x);
                g.lnw.push(w.ln());
                g.ln_phi_pow.push(if n == 1 { 0.0 } else { nm1 * ln_phi });
                g.kappa.push(kappa);
            }
        }
        g
    }
}

/// `ln φ̃(x)` and `κ = ∂β ln φ̃(x)`, where `φ̃(x) = ∫₀¹ h(x − β(1−v)) dv`, `h(s) = exp(−e^s)`.
fn ln_phi_and_kappa(x: f64, beta: f64) -> (f64, f64) {
    let z2 = x.exp();
    let z1 = (x - beta).exp();
    let d = z2 * (-(-beta).exp_m1()); // e^x − e^{x−β}: e-folds of h across the window
    if beta <= 2.0 && d < 1.0 {
        // Smooth window: Gauss–Legendre over v.
        let r = rule16();
        let mut omega = 0.0;
        let mut lnh = [0.0; 16];
        let mut lnk = [0.0; 16];
        for (k, (v, w)) in r.nodes.iter().zip(&r.weights).enumerate() {
            let s = x - beta * (1.0 - v);
            let es = s.exp();
            omega += w * (-(-es).exp_m1());
            lnh[k] = w.ln() - es;
            lnk[k] = w.ln() + (1.0 - v).ln() + s - es;
        }
        let ln_phi = if x < 0.0 { (-omega).ln_1p() } else { log_sum_exp(&lnh) };
        (ln_phi, (log_sum_exp(&lnk) - ln_phi).exp())
    } else if x <= 0.0 {
        // z1 < z2 ≤ 1, z1/z2 = e^{−β} ≤ e^{−2}: 1 − φ̃ = (Ein(z2) − Ein(z1))/β.
        let omega = (ein(z2) - ein(z1)) / beta;
        let ln_phi = (-omega).ln_1p();
        let kappa = (omega - (-(-z1).exp_m1())) / (beta * ln_phi.exp());
        (ln_phi, kappa.max(0.0))
    } else {
        // β φ̃ = E1(z1) − E1(z2), z2 − z1 ≥ 0.86 or ≥ 1: no catastrophic cancellation.
        let a = ln_e1_from_ln(x - beta);
        let b = ln_e1_from_ln(x);
        let ln_phi = ln_sub_exp(a, b) - beta.ln();
        if ln_phi == f64::NEG_INFINITY {
            return (ln_phi, 0.0);
        }
        let kappa = ((-z1 - ln_phi).exp() - 1.0) / beta;
        (ln_phi, kappa.max(0.0))
    }
}

impl QuantileMethod for Sbon {
    fn kind(&self) -> MethodKind {
        MethodKind::Sbon
    }
    fn theta(&self) -> f64 {
        self.beta
    }
    fn cdf(&self, u: f64) -> f64 {
        let u = u.clamp(0.0, 1.0);
        if u == 0.0 {
            return 0.0;
        }
        let g = &self.grid;
        let t: Vec<f64> = (0..g.x.len())
            .map(|i| g.lnw[i] + self.ln_inner_cdf(g.x[i], u) + g.ln_phi_pow[i])
            .collect();
        ((self.n as f64).ln() + log_sum_exp(&t)).exp().min(1.0)
    }
    fn log_density(&self, u: f64) -> f64 {
        self.log_density_score(u).0
    }
    fn score(&self, u: f64) -> f64 {
        self.log_density_score(u).1
    }
    fn density_and_score(&self, u: f64) -> (f64, f64) {
        let (lp, s) = self.log_density_score(u);
        (lp.exp(), s)
    }
    fn cdf_derivative(&self, u: f64) -> f64 {
        let u = u.clamp(0.0, 1.0);
        if u == 0.0 || u == 1.0 {
            return 0.0;
        }
        let g = &self.grid;
        let nm1 = self.nm1();
        let mut s = 0.0;
        for i in 0..g.x.len() {
            let w = (g.lnw[i] + g.ln_phi_pow[i]).exp();
            if w == 0.0 {
                continue;
            }
            let inner = self.ln_inner_cdf(g.x[i], u).exp();
            s += w * (self.inner_cdf_derivative(g.x[i], u, inner) + nm1 * g.kappa[i] * inner);
        }
        self.n as f64 * s
    }
    fn kl(&self) -> f64 {
        if self.n == 1 || self.beta == 0.0 {
            return 0.0;
        }
        integrate(&self.u_breaks(), |u| {
            let lp = self.log_density(u);
            if lp == f64::NEG_INFINITY { 0.0 } else { lp.exp() * lp }
        })
        .max(0.0)
    }
    fn mean_quantile(&self) -> f64 {
        if self.n == 1 || self.beta == 0.0 {
            return 0.5;
        }
        integrate(&self.u_breaks(), |u| u * self.density(u))
    }
    fn expected_samples(&self) -> f64 {
        self.n as f64
    }
    fn scale(&self) -> f64 {
        (1.0 / self.n as f64).min(1.0 / (1.0 + self.beta))
    }
}
