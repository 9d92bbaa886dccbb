//! Exact plug-in Soft Best-of-n (math.md §3), without Monte Carlo.
//!
//! Drawing `n` candidates with replacement from a prompt's `m` responses and choosing
//! candidate `i` with probability `∝ exp(β s_i)` picks response `k` with probability
//!
//! `P(k) = (n/m) a_k ∫₀^∞ exp(−t a_k) φ(t)^{n−1} dt`, `φ(t) = (1/m) Σ_j exp(−t a_j)`,
//! `a_j = exp(β (s_j − max s))`
//!
//! (write the softmax denominator as `1/x = ∫₀^∞ e^{−tx} dt`). Responses with equal
//! proxies share `a_j` and are handled as one tie group of count `c_j`.
//!
//! # Numerics
//! With `x = ln t` and `y_j = t a_j = e^{x − x_j}`, `x_j = β (s_max − s_j) ≥ 0`, the
//! integrand of group `k` is `y_k e^{−y_k} Φ(x)` with `Φ = φ^{n−1}`. Each term of `φ` is a
//! smoothed step at `x_j`: `≈ c_j/m` for `x ≪ x_j` (deviation `y_j`) and `≈ 0` for
//! `x > x_j + 4` (below `e^{−54}`). Hence:
//!
//! - steps further apart than `40 + ln(n−1)` form separate *clusters* that do not interact
//!   (to ~1e-16): inside one, `φ = B + (1/m) Σ_{cluster} c_j e^{−y_j}` with `B` the share of
//!   responses below the cluster;
//! - a cluster's total probability is exactly `(B + C/m)^n − B^n` (the mass of `−d(φ^n)`),
//!   so a one-group cluster is closed-form (the Best-of-n limit, zero β-derivative), and a
//!   cluster with less than 1e-18 of mass gets its Best-of-n limit; powers of `k/m` are
//!   taken as `exp(n ln1p(−(m−k)/m))`, accurate for any n;
//! - other clusters are integrated upwards in `x` with 20-point Gauss–Legendre panels:
//!   before each step whose predecessors are dead, one panel in the local variable
//!   `t = e^{x − x_k} ∈ [previous end, t_b]`, where the integrand (`e^{−t}` times terms
//!   `e^{−t a_i/a_k}`, `a_i ≤ a_k`) is analytic and mild, with `t_b = min(2, 6/((n−1)ρ_k))`,
//!   `ρ_k = Σ_{i ≥ k} c_i a_i/a_k / (members at or below k)`, so that `φ^{n−1}` varies by at
//!   most `e^6` on it; then panels in `x` of width at most 5 around each step and 3 on its
//!   double-exponential right side (and likewise around the transition of `φ^{n−1}` at
//!   `x_k − ln((n−1)ρ_k)`), growing through exponential left tails;
//! - at a node only the groups with `x_j ∈ [x − 4, x + S]` are evaluated one by one
//!   (`S = max(8, (ln(n−1) + 35.1)/3)`, i.e. `y ≥ e^{−S}`); the groups beyond enter
//!   through scaled suffix sums of `c_j`, `c_j d_j`, `c_j r_j`, `c_j r_j d_j` times `y` and
//!   `y²` (the error `y³/6` is below 1e-16/(n−1)); [`sbon_choice_probabilities`], which
//!   needs every group separately, evaluates the full window `[x − 4, x + 36 + ln(n−1)]`;
//! - `1 − φ` is accumulated from `−expm1(−y)` when `n > 65`, so `φ^{n−1}` keeps its
//!   relative accuracy when `φ → 1`;
//! - integration of a cluster stops once the mass still to come, `φ^n − B^n`, is below
//!   1e-17.
//!
//! The probabilities sum to 1 within a few 1e-15 and agree with a brute-force
//! quadrature (panels of width 1/4 over the whole range) to ~5e-14 (tests).
//!
//! The β-derivative is analytic: `∂β a_j = (s_j − s_max) a_j = d_j a_j`, so
//! `∂β P(k) = (n/m) ∫ y_k e^{−y_k} Φ [d_k (1 − y_k) + (n−1) ∂βφ/φ] dx`,
//! `∂βφ = −(1/m) Σ_j c_j d_j y_j e^{−y_j}`.

use hedge_math::quad::rule20;

use crate::error::{EstimateError, Field, Result};
use crate::prepared::Prepared;

/// A group's full window reaches `x_j ≤ x + LEFT + ln(n−1)`, i.e. `y ≥ e^{−36}/(n−1)`
/// (a neglected term changes `φ^{n−1}` by a relative `(n−1) y`); steps further apart than
/// that plus [`RIGHT`] (in `x = ln t`) do not interact.
const LEFT: f64 = 36.0;
/// Right edge of a group's window: `y ≤ e^4` (`y e^{−y} < 3e-22`).
const RIGHT: f64 = 4.0;
/// Clusters with less total probability get their Best-of-n limit.
const NEGLIGIBLE: f64 = 1e-18;

/// `(k/m)^n` for integer counts `0 ≤ k ≤ m`, as `exp(n ln1p(−(m−k)/m))`: relative error
/// about `|ln (k/m)^n|·ε` instead of `n·ε` (which matters for large n).
fn frac_pow(k: f64, m: f64, n: u64) -> f64 {
    if k <= 0.0 {
        return 0.0;
    }
    (n as f64 * (-(m - k) / m).ln_1p()).exp()
}

/// `x^k` for `k ≤ 64` by binary exponentiation, inlined (the hot loop calls it once per node;
/// `f64::powi` is an out-of-line libcall).
#[inline(always)]
fn powi_small(x: f64, k: u64) -> f64 {
    let (mut base, mut k, mut acc) = (x, k, 1.0);
    while k > 0 {
        if k & 1 == 1 {
            acc *= base;
        }
        base *= base;
        k >>= 1;
    }
    acc
}

/// One prompt's tie groups, proxy descending.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Groups<'a> {
    /// Proxy of each group, descending.
    pub s: &'a [f64],
    /// Members of each group.
    pub c: &'a [f64],
    /// Sum of the members' true rewards (count × tie mean).
    pub cr: &'a [f64],
    /// Members of all lower groups.
    pub below: &'a [f64],
    /// Responses of the prompt.
    pub m: f64,
}

/// Receives the pieces of the SBoN integral.
pub(crate) trait Sink {
    /// Whether every group of the window `[x − 4, x + 36 + ln(n−1)]` must be evaluated
    /// individually (per-group results); otherwise groups with `y < e^{−S}` (`S ≈ 12–16`)
    /// enter through quadratic suffix sums and only the totals in `tail` are reported.
    const EXACT: bool;
    /// Group `j` (all members together) is chosen with probability `mass`, with zero β-derivative.
    fn closed(&mut self, g: &Groups<'_>, j: usize, mass: f64);
    /// A quadrature node. With [`Sink::EXACT`]: for groups `j0 .. j0 + y.len()`, each
    /// member's probability gains `scale · y e` and its β-derivative
    /// `scale · y e (d (1 − y) + l)`. Otherwise `y`, `e` are not filled and
    /// `sums = (Σ_j cr_j y_j e_j, Σ_j cr_j d_j y_j (1 − y_j) e_j)` over all groups of the
    /// cluster (suffix sums included): `Σ r P` gains `scale · sums.0` and `Σ r ∂P` gains
    /// `scale · (sums.1 + l · sums.0)`.
    #[allow(clippy::too_many_arguments)]
    fn node(&mut self, g: &Groups<'_>, j0: usize, y: &[f64], e: &[f64], scale: f64, l: f64, sums: (f64, f64));
}

/// Scratch buffers of the kernel.
#[derive(Debug, Default)]
pub(crate) struct Workspace {
    xi: Vec<f64>,
    a: Vec<f64>,
    shift: Vec<f64>,
    rho: Vec<f64>,
    y: Vec<f64>,
    e: Vec<f64>,
    /// Per group of the cluster: `c`, `c d`, `cr`, `cr d` with `d = s − s_max`.
    cw: [Vec<f64>; 4],
    /// Scaled suffix sums `Σ_{i ≥ k} v_i ρ_i^p`, `ρ_i = e^{−(ξ_i − ξ_k)}`, for
    /// `v = c, c d, cr, cr d` and `p = 1, 2`.
    suf: [Vec<f64>; 8],
}

/// `(e^{−y}, 1 − e^{−y})`, each with full relative accuracy, for `y ≥ 0`.
#[inline]
fn exp_neg(y: f64) -> (f64, f64) {
    if y < 0.5 {
        let o = -(-y).exp_m1();
        (1.0 - o, o)
    } else {
        let e = (-y).exp();
        (e, 1.0 - e)
    }
}

/// Run the SBoN integral of one prompt into `sink`.
pub(crate) fn kernel<S: Sink>(g: &Groups<'_>, n: u64, beta: f64, ws: &mut Workspace, sink: &mut S) {
    let len = g.s.len();
    let m = g.m;
    if n <= 1 || len == 1 {
        for j in 0..len {
            sink.closed(g, j, g.c[j] / m);
        }
        return;
    }
    let left = LEFT + ((n - 1) as f64).ln();
    let gap = left + RIGHT;
    let mut j1 = 0;
    while j1 < len {
        let mut j2 = j1;
        while j2 + 1 < len && beta * (g.s[j2] - g.s[j2 + 1]) < gap {
            j2 += 1;
        }
        let mass = frac_pow(g.below[j1] + g.c[j1], m, n) - frac_pow(g.below[j2], m, n);
        if j1 == j2 {
            sink.closed(g, j1, mass);
        } else if mass < NEGLIGIBLE {
            for k in j1..=j2 {
                sink.closed(g, k, frac_pow(g.below[k] + g.c[k], m, n) - frac_pow(g.below[k], m, n));
            }
        } else {
            cluster(g, j1, j2, n, beta, left, ws, sink);
        }
        j1 = j2 + 1;
    }
}

/// Widest panel starting at `p` that resolves a smoothed step at `x` (the bump
/// `y e^{−y}`, `y = e^{x' − x}`, or a transition `exp(−A e^{x'})` centred at `x`): zones
/// (relative to `x`) `(−left, −16]`, `(−16, −4]`, `(−4, 1]`, `(1, 4]` allow widths 24, 12,
/// [`CORE`], [`RIGHT_W`]; elsewhere the step does not constrain. A panel that reaches into
/// a finer zone either stops at its edge or respects its limit, whichever is wider.
#[inline]
fn step_width(p: f64, x: f64, left: f64) -> f64 {
    const LIMITS: [f64; 6] = [f64::INFINITY, 24.0, 12.0, CORE, RIGHT_W, f64::INFINITY];
    let bounds = [x - left, x - 16.0, x - 4.0, x + 1.0, x + 4.0];
    let mut z = 0;
    while z < 5 && p >= bounds[z] {
        z += 1;
    }
    let mut w = LIMITS[z];
    for (k, &b) in bounds.iter().enumerate().skip(z) {
        if p + w <= b {
            break;
        }
        w = f64::max(b - p, w.min(LIMITS[k + 1]));
    }
    w
}

/// Panel width (20-point Gauss–Legendre) around the peak of a step.
const CORE: f64 = 5.0;
/// Panel width on the double-exponential right side of a step.
const RIGHT_W: f64 = 3.0;

/// Upper bound on remaining cluster mass below which integration stops.
const TRUNCATE: f64 = 1e-17;

/// Integrates one cluster of steps, groups `j1 ..= j2`, into `sink` (see the module docs).
///
/// Kept whole on purpose: this is the kernel's hot loop (`node` runs 20 times per panel, for every
/// prompt of every evaluation). `node` reads about ten per-cluster constants (`b`, `nm1`, `small_n`,
/// `pref`, `wr`, …) and disjoint borrows of the workspace filled by the set-up above it, and it shares
/// the sliding window `lo`/`hi` and `phi_last` with the walk over `x`, whose truncation test reads
/// `phi_last` after every panel. Split into functions, all of this would travel as a struct of a dozen
/// borrowed fields, the innermost loop's speed would depend on cross-function inlining, and the rewrite
/// would risk reordering floating-point operations whose results must stay bit-identical. The comments
/// inside mark the phases (set-up, one node, the walk over `x`).
#[allow(clippy::too_many_arguments)]
fn cluster<S: Sink>(
    g: &Groups<'_>,
    j1: usize,
    j2: usize,
    n: u64,
    beta: f64,
    left: f64,
    ws: &mut Workspace,
    sink: &mut S,
) {
    let len = j2 - j1 + 1;
    let m = g.m;
    let b = g.below[j2] / m;
    let nm1 = (n - 1) as f64;
    let small_n = n - 1 <= 64;
    let pref = n as f64 / m;
    let smax = g.s[0];
    let b_pow = frac_pow(g.below[j2], m, n);
    // Exact window to the right (y ≥ e^{−wr}); beyond it, quadratic suffix sums whose
    // error y³/6 stays below 1e-16/(n−1).
    let wr = if S::EXACT {
        left
    } else {
        ((nm1.ln() + 35.1) / 3.0).max(8.0)
    };

    ws.xi.clear();
    ws.a.clear();
    for k in 0..len {
        let xi = beta * (g.s[j1] - g.s[j1 + k]);
        ws.xi.push(xi);
        ws.a.push((-xi).exp());
    }
    // Relative weight of the terms of φ that switch off at or right after step k,
    // ρ_k = Σ_{i ≥ k} c_i a_i/a_k / (members at or below k): φ^{n−1} falls by e^{−1} where
    // (n−1) ρ_k e^{x − x_k} ≈ 1, i.e. at x_k − L_k with L_k = ln((n−1) ρ_k) when positive.
    let mut acc = 0.0;
    ws.shift.resize(len, 0.0);
    ws.rho.resize(len, 0.0);
    for k in (0..len).rev() {
        if k + 1 < len {
            acc *= (ws.xi[k] - ws.xi[k + 1]).exp();
        }
        acc += g.c[j1 + k];
        let rho = acc / (g.below[j1 + k] + g.c[j1 + k]);
        ws.rho[k] = rho;
        let ratio = nm1 * rho;
        ws.shift[k] = if ratio > 1.0 { ratio.ln() } else { 0.0 };
    }
    if !S::EXACT {
        for v in ws.suf.iter_mut() {
            v.clear();
            v.resize(len + 1, 0.0);
        }
        for k in (0..len).rev() {
            let j = j1 + k;
            let (r1, r2) = if k + 1 < len {
                let r = (ws.xi[k] - ws.xi[k + 1]).exp();
                (r, r * r)
            } else {
                (0.0, 0.0)
            };
            let d = g.s[j] - smax;
            let vals = [
                g.c[j],
                g.c[j],
                g.c[j] * d,
                g.c[j] * d,
                g.cr[j],
                g.cr[j],
                g.cr[j] * d,
                g.cr[j] * d,
            ];
            for (i, v) in vals.iter().enumerate() {
                let r = if i % 2 == 0 { r1 } else { r2 };
                ws.suf[i][k] = v + r * ws.suf[i][k + 1];
            }
        }
    }
    ws.y.resize(len, 0.0);
    ws.e.resize(len, 0.0);
    for v in ws.cw.iter_mut() {
        v.clear();
    }
    for k in 0..len {
        let j = j1 + k;
        let d = g.s[j] - smax;
        ws.cw[0].push(g.c[j]);
        ws.cw[1].push(g.c[j] * d);
        ws.cw[2].push(g.cr[j]);
        ws.cw[3].push(g.cr[j] * d);
    }
    let Workspace {
        xi,
        a,
        shift,
        rho,
        y,
        e,
        cw,
        suf,
    } = ws;
    let rule = rule20();
    let (mut lo, mut hi) = (0usize, 0usize);
    let mut phi_last = 1.0;

    // One node at x (t = e^x, given when x ≤ 700 − wr) with weight w in x.
    let mut node =
        |x: f64, t: Option<f64>, w: f64, lo: &mut usize, hi: &mut usize, phi_last: &mut f64, sink: &mut S| {
            while *lo < len && xi[*lo] < x - RIGHT {
                *lo += 1;
            }
            if *hi < *lo {
                *hi = *lo;
            }
            while *hi < len && xi[*hi] <= x + wr {
                *hi += 1;
            }
            let (lo, hi) = (*lo, *hi);
            if lo >= len {
                *phi_last = b;
                return;
            }
            let (mut s0, mut s1, mut so) = (0.0, 0.0, 0.0);
            let (mut r, mut rd) = (0.0, 0.0);
            for k in lo..hi {
                let yk = match t {
                    Some(t) => t * a[k],
                    None => (x - xi[k]).exp(),
                };
                let (ek, ok) = if small_n {
                    let ek = (-yk).exp();
                    (ek, 1.0 - ek)
                } else {
                    exp_neg(yk)
                };
                let ye = yk * ek;
                s0 += cw[0][k] * ek;
                so += cw[0][k] * ok;
                s1 += cw[1][k] * ye;
                if S::EXACT {
                    y[k] = yk;
                    e[k] = ek;
                } else {
                    r += cw[2][k] * ye;
                    rd += cw[3][k] * ye * (1.0 - yk);
                }
            }
            if hi < len {
                let count = g.below[j1 + hi] + g.c[j1 + hi] - g.below[j2];
                if S::EXACT {
                    s0 += count;
                } else {
                    let u = match t {
                        Some(t) if xi[hi] < 700.0 => t * a[hi],
                        _ => (x - xi[hi]).exp(),
                    };
                    let u2 = u * u;
                    let o_suf = u * suf[0][hi] - 0.5 * u2 * suf[1][hi];
                    s0 += count - o_suf;
                    so += o_suf;
                    s1 += u * suf[2][hi] - u2 * suf[3][hi];
                    r += u * suf[4][hi] - u2 * suf[5][hi];
                    rd += u * suf[6][hi] - 2.0 * u2 * suf[7][hi];
                }
            }
            let dead = m - g.below[j1 + lo] - g.c[j1 + lo];
            let omega = (dead + so) / m;
            let phi = if omega < 0.5 { 1.0 - omega } else { b + s0 / m };
            *phi_last = phi;
            if phi <= 0.0 {
                return;
            }
            let big_phi = if small_n {
                powi_small(phi, n - 1)
            } else {
                let ln_phi = if omega < 0.5 { (-omega).ln_1p() } else { phi.ln() };
                (nm1 * ln_phi).exp()
            };
            if big_phi == 0.0 {
                return;
            }
            let l = nm1 * (-s1 / m) / phi;
            sink.node(g, j1 + lo, &y[lo..hi], &e[lo..hi], pref * w * big_phi, l, (r, rd));
        };

    // Walk x = ln t upwards. Before each step k whose predecessors are all dead
    // (x ≥ x_{k−1} + 4), one panel in the local t = e^{x − x_k} covers [previous end,
    // x_k + ln t_b]: there the integrand is analytic and mild in t (e^{−t} times terms
    // e^{−t a_i/a_k}, a_i ≤ a_k), with t_b = min(2, 6/((n−1)ρ_k)) so that φ^{n−1} varies by
    // at most e^6. The rest of each step is covered by panels in x sized by
    // [`step_width`] for the steps and their φ^{n−1} transitions.
    let end = xi[len - 1] + RIGHT;
    let mut p = f64::NEG_INFINITY;
    let mut k = 0usize;
    while p < end {
        while k < len && xi[k] + RIGHT <= p {
            k += 1;
        }
        if k == len {
            break;
        }
        let tb = f64::min(2.0, 6.0 / (nm1 * rho[k]));
        let xb = xi[k] + tb.ln();
        if p < xb - 1e-9 {
            let ta = if p == f64::NEG_INFINITY { 0.0 } else { (p - xi[k]).exp() };
            let h = tb - ta;
            let inv_a = 1.0 / a[k];
            for (nu, om) in rule.nodes.iter().zip(&rule.weights) {
                let t = ta + h * nu;
                let x = xi[k] + t.ln();
                // x ≤ x_k + ln 2, so every active group has a normal a_i.
                let tt = if xi[k] + 1.0 + wr < 700.0 {
                    Some(t * inv_a)
                } else {
                    None
                };
                node(x, tt, om * h / t, &mut lo, &mut hi, &mut phi_last, sink);
            }
            p = xb;
        } else {
            // Stop at x_k + 4 only if the next step then starts with a t panel.
            let stop = if k + 1 < len && xi[k + 1] + f64::min(2.0, 6.0 / (nm1 * rho[k + 1])).ln() > xi[k] + RIGHT {
                xi[k] + RIGHT
            } else {
                end
            };
            let mut w = (stop - p).min(24.0);
            let mut j = k;
            while j < len && xi[j] - left < p + w {
                w = w.min(step_width(p, xi[j], left));
                if shift[j] > 0.0 {
                    w = w.min(step_width(p, xi[j] - shift[j], left));
                }
                j += 1;
            }
            // A panel may overshoot a zone edge by a hair rather than stall on rounding.
            let w = w.max(1e-9 * (1.0 + p.abs()));
            for (nu, om) in rule.nodes.iter().zip(&rule.weights) {
                let x = p + w * nu;
                let t = if x + wr < 700.0 { Some(x.exp()) } else { None };
                node(x, t, w * om, &mut lo, &mut hi, &mut phi_last, sink);
            }
            p += w;
            if stop - p < 1e-9 {
                p = stop;
            }
        }
        // The cluster mass still to come is φ^n − B^n.
        if phi_last < 1.0 && (n as f64 * phi_last.ln()).exp() - b_pow < TRUNCATE {
            break;
        }
    }
}

/// Accumulates `f_t = Σ_k r_k P(k)` and `f'_t`.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct RewardSink {
    pub f: f64,
    pub d: f64,
}

impl Sink for RewardSink {
    const EXACT: bool = false;
    #[inline]
    fn closed(&mut self, g: &Groups<'_>, j: usize, mass: f64) {
        self.f += g.cr[j] / g.c[j] * mass;
    }
    #[inline]
    fn node(&mut self, _g: &Groups<'_>, _j0: usize, _y: &[f64], _e: &[f64], scale: f64, l: f64, sums: (f64, f64)) {
        self.f += scale * sums.0;
        self.d += scale * (sums.1 + l * sums.0);
    }
}

/// Accumulates each group's total probability and its β-derivative.
#[derive(Debug, Default, Clone)]
pub(crate) struct ProbSink {
    pub p: Vec<f64>,
    pub dp: Vec<f64>,
}

impl Sink for ProbSink {
    const EXACT: bool = true;
    fn closed(&mut self, _g: &Groups<'_>, j: usize, mass: f64) {
        self.p[j] += mass;
    }
    fn node(&mut self, g: &Groups<'_>, j0: usize, y: &[f64], e: &[f64], scale: f64, l: f64, _tail: (f64, f64)) {
        let smax = g.s[0];
        for i in 0..y.len() {
            let j = j0 + i;
            let v = g.c[j] * scale * y[i] * e[i];
            self.p[j] += v;
            self.dp[j] += v * ((g.s[j] - smax) * (1.0 - y[i]) + l);
        }
    }
}

/// Tie groups of every prompt of a [`Prepared`] set, proxy descending (CSR).
#[derive(Debug, Clone)]
pub(crate) struct SbonData {
    offsets: Vec<usize>,
    s: Vec<f64>,
    c: Vec<f64>,
    cr: Vec<f64>,
    below: Vec<f64>,
    m: Vec<f64>,
}

/// Append the groups of one ascending-sorted prompt (truths tie-averaged) in descending order.
fn push_groups(
    proxy: &[f64],
    truth: &[f64],
    s: &mut Vec<f64>,
    c: &mut Vec<f64>,
    cr: &mut Vec<f64>,
    below: &mut Vec<f64>,
) {
    let mut hi = proxy.len();
    while hi > 0 {
        let mut lo = hi - 1;
        while lo > 0 && proxy[lo - 1] == proxy[hi - 1] {
            lo -= 1;
        }
        let cnt = (hi - lo) as f64;
        s.push(proxy[hi - 1]);
        c.push(cnt);
        cr.push(cnt * truth[hi - 1]);
        below.push(lo as f64);
        hi = lo;
    }
}

impl SbonData {
    pub(crate) fn new(p: &Prepared) -> Self {
        let t_count = p.prompts();
        let mut d = SbonData {
            offsets: Vec::with_capacity(t_count + 1),
            s: Vec::new(),
            c: Vec::new(),
            cr: Vec::new(),
            below: Vec::new(),
            m: Vec::with_capacity(t_count),
        };
        d.offsets.push(0);
        for t in 0..t_count {
            push_groups(
                p.sorted_proxy(t),
                p.ranked_truth(t),
                &mut d.s,
                &mut d.c,
                &mut d.cr,
                &mut d.below,
            );
            d.offsets.push(d.s.len());
            d.m.push(p.responses(t) as f64);
        }
        d
    }

    pub(crate) fn prompts(&self) -> usize {
        self.m.len()
    }

    pub(crate) fn groups(&self, t: usize) -> Groups<'_> {
        let r = self.offsets[t]..self.offsets[t + 1];
        Groups {
            s: &self.s[r.clone()],
            c: &self.c[r.clone()],
            cr: &self.cr[r.clone()],
            below: &self.below[r],
            m: self.m[t],
        }
    }

    /// `(f_t, f'_t)` of prompt `t`.
    pub(crate) fn prompt(&self, t: usize, n: u64, beta: f64, ws: &mut Workspace) -> (f64, f64) {
        let mut sink = RewardSink::default();
        kernel(&self.groups(t), n, beta, ws, &mut sink);
        (sink.f, sink.d)
    }
}

fn check_sbon(n: u64, beta: f64) -> Result<()> {
    if n == 0 {
        return Err(EstimateError::MissingN);
    }
    check_beta(beta)
}

/// SBoN's β must be finite and non-negative.
pub(crate) fn check_beta(beta: f64) -> Result<()> {
    if !(beta.is_finite() && beta >= 0.0) {
        return Err(EstimateError::Math(hedge_math::Error::InvalidParameter {
            method: "sbon",
            name: "beta",
            value: beta,
            reason: "must be a finite number >= 0",
        }));
    }
    Ok(())
}

/// Exact plug-in Soft Best-of-n choice probabilities of one prompt's responses and their
/// β-derivatives, in the order given: drawing `n` candidates with replacement from the
/// `m` responses and choosing candidate `i` with probability `∝ exp(β s_i)` returns
/// response `k` with probability
/// `P(k) = (n/m) a_k ∫₀^∞ exp(−t a_k) φ(t)^{n−1} dt`, `φ(t) = (1/m) Σ_j exp(−t a_j)`,
/// `a_j = exp(β (s_j − max s))`; responses with equal scores get equal probabilities.
/// The probabilities sum to 1 within ~1e-14.
///
/// ```
/// let (p, _) = hedge_estimate::sbon_choice_probabilities(&[0.3, 1.0, 0.3, -2.0], 4, 2.0).unwrap();
/// assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-13);
/// assert_eq!(p[0], p[2]);
/// assert!(p[1] > p[0] && p[0] > p[3]);
/// ```
pub fn sbon_choice_probabilities(proxy: &[f64], n: u64, beta: f64) -> Result<(Vec<f64>, Vec<f64>)> {
    check_sbon(n, beta)?;
    if proxy.is_empty() {
        return Err(EstimateError::EmptyData { prompts: 1, skipped: 1 });
    }
    if let Some((row, &value)) = proxy.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(EstimateError::NonFinite {
            prompt: 0,
            row,
            field: Field::Proxy,
            value,
        });
    }
    let mut order: Vec<usize> = (0..proxy.len()).collect();
    order.sort_by(|&a, &b| proxy[a].total_cmp(&proxy[b]));
    let sorted: Vec<f64> = order.iter().map(|&i| proxy[i]).collect();
    let zeros = vec![0.0; sorted.len()];
    let (mut s, mut c, mut cr, mut below) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    push_groups(&sorted, &zeros, &mut s, &mut c, &mut cr, &mut below);
    let g = Groups {
        s: &s,
        c: &c,
        cr: &cr,
        below: &below,
        m: sorted.len() as f64,
    };
    let mut sink = ProbSink {
        p: vec![0.0; s.len()],
        dp: vec![0.0; s.len()],
    };
    kernel(&g, n, beta, &mut Workspace::default(), &mut sink);
    // Map groups (descending) back to ranks, then to the input order.
    let (mut p, mut dp) = (vec![0.0; proxy.len()], vec![0.0; proxy.len()]);
    for j in 0..s.len() {
        let lo = below[j] as usize;
        let cnt = c[j] as usize;
        for &i in &order[lo..lo + cnt] {
            p[i] = sink.p[j] / c[j];
            dp[i] = sink.dp[j] / c[j];
        }
    }
    Ok((p, dp))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hedge_math::quad::rule16;

    /// Reference: uniform panels of width 1/4 on a wide range, every group at every node.
    pub(super) fn reference(proxy: &[f64], n: u64, beta: f64) -> (Vec<f64>, Vec<f64>) {
        let m = proxy.len() as f64;
        let smax = proxy.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let smin = proxy.iter().copied().fold(f64::INFINITY, f64::min);
        let (lo, hi) = (-60.0 - (n as f64).ln(), beta * (smax - smin) + 8.0);
        let h = 0.25;
        let panels = ((hi - lo) / h).ceil() as usize;
        let r = rule16();
        let (mut p, mut dp) = (vec![0.0; proxy.len()], vec![0.0; proxy.len()]);
        for i in 0..panels {
            for (nu, om) in r.nodes.iter().zip(&r.weights) {
                let x = lo + h * (i as f64 + nu);
                let w = h * om;
                let ys: Vec<f64> = proxy.iter().map(|&s| (x + beta * (s - smax)).exp()).collect();
                let phi: f64 = ys.iter().map(|y| (-y).exp()).sum::<f64>() / m;
                // y e^{-y} underflows to 0 long before y overflows to inf,
                // where the product would be inf·0 = NaN: cut it off there.
                let ye = |y: f64| if y > 800.0 { 0.0 } else { y * (-y).exp() };
                let dphi: f64 = -proxy.iter().zip(&ys).map(|(&s, &y)| (s - smax) * ye(y)).sum::<f64>() / m;
                let nm1 = (n - 1) as f64;
                let big = phi.powf(nm1);
                if phi == 0.0 || big == 0.0 {
                    continue;
                }
                let l = nm1 * dphi / phi;
                for k in 0..proxy.len() {
                    if ys[k] > 800.0 {
                        continue;
                    }
                    let ye = ye(ys[k]);
                    p[k] += (n as f64 / m) * w * big * ye;
                    dp[k] += (n as f64 / m) * w * big * ye * ((proxy[k] - smax) * (1.0 - ys[k]) + l);
                }
            }
        }
        (p, dp)
    }

    #[test]
    fn matches_reference_integral() {
        let proxy = [0.0, 0.3, 0.31, 0.5, 0.5, 1.2, 2.0, 2.05, -1.0, 0.7];
        for n in [2u64, 3, 16, 100] {
            for beta in [0.0, 0.5, 3.0, 20.0, 60.0, 200.0] {
                let (p, dp) = sbon_choice_probabilities(&proxy, n, beta).unwrap();
                let (rp, rdp) = reference(&proxy, n, beta);
                let sum: f64 = p.iter().sum();
                let dsum: f64 = dp.iter().sum();
                assert!((sum - 1.0).abs() < 1e-13, "n={n} beta={beta}: sum {sum}");
                assert!(dsum.abs() < 1e-12, "n={n} beta={beta}: dsum {dsum}");
                for k in 0..proxy.len() {
                    assert!(
                        (p[k] - rp[k]).abs() < 1e-13,
                        "n={n} beta={beta} k={k}: {} vs {}",
                        p[k],
                        rp[k]
                    );
                    assert!(
                        (dp[k] - rdp[k]).abs() < 1e-11 * (1.0 + rdp[k].abs()),
                        "n={n} beta={beta} k={k}: d {} vs {}",
                        dp[k],
                        rdp[k]
                    );
                }
            }
        }
    }
}

/// The production kernel against the exact kernel and the brute-force reference integral, over random
/// prompts (sizes 5 to 200, near-ties and exact ties) and node counts up to 100,000.
#[cfg(test)]
mod agreement {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// `m` proxies on a grid of 1/8: exact ties, or with a small jitter (near-ties).
    fn proxies(rng: &mut rand_chacha::ChaCha8Rng, m: usize, jitter: bool) -> Vec<f64> {
        (0..m)
            .map(|_| {
                let x = (rng.random::<f64>() * 4.0 * 8.0).round() / 8.0;
                if jitter { x + rng.random::<f64>() * 0.01 } else { x }
            })
            .collect()
    }

    #[test]
    fn fast_path_matches_exact_kernel() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let (mut ef, mut ed) = (0.0f64, 0.0f64);
        for trial in 0..120 {
            let m = [5usize, 20, 64, 200][trial % 4];
            let proxy = proxies(&mut rng, m, trial % 8 < 4);
            let truth: Vec<f64> = (0..m).map(|_| rng.random::<f64>() * 2.0 - 0.5).collect();
            let prep = Prepared::new(&[0, m], &proxy, &truth).unwrap();
            let sd = SbonData::new(&prep);
            for n in [2u64, 4, 16, 64, 1000, 100000] {
                for beta in [0.0, 0.1, 1.0, 5.0, 15.0, 40.0, 100.0, 1000.0] {
                    let (f, d) = sd.prompt(0, n, beta, &mut Workspace::default());
                    let (p, dp) = sbon_choice_probabilities(prep.sorted_proxy(0), n, beta).unwrap();
                    let r = prep.ranked_truth(0);
                    let f2: f64 = p.iter().zip(r).map(|(a, b)| a * b).sum();
                    let d2: f64 = dp.iter().zip(r).map(|(a, b)| a * b).sum();
                    ef = ef.max((f - f2).abs());
                    ed = ed.max((d - d2).abs() / (1.0 + d2.abs()));
                    assert!((f - f2).abs() <= 1e-12, "m={m} n={n} beta={beta}: f {f} vs exact {f2}");
                    assert!(
                        (d - d2).abs() <= 1e-12 * (1.0 + d2.abs()),
                        "m={m} n={n} beta={beta}: d {d} vs {d2}"
                    );
                }
            }
        }
        // Measured: 5.3e-15 and 1.8e-15.
        assert!(ef < 1e-13 && ed < 1e-13, "{ef:e} {ed:e}");
    }

    #[test]
    fn probabilities_sum_to_one_with_ties() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        for trial in 0..120 {
            let m = [5usize, 20, 64, 200][trial % 4];
            let proxy = proxies(&mut rng, m, false);
            for n in [2u64, 4, 16, 64, 1000, 100000] {
                for beta in [0.0, 0.1, 1.0, 5.0, 15.0, 40.0, 100.0, 1000.0] {
                    let (p, _) = sbon_choice_probabilities(&proxy, n, beta).unwrap();
                    let e = (p.iter().sum::<f64>() - 1.0).abs();
                    assert!(e <= 1e-13, "m={m} n={n} beta={beta}: sum - 1 = {e:e}");
                }
            }
        }
    }

    #[test]
    fn exact_kernel_matches_the_reference_integral() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        for trial in 0..9 {
            let m = [5usize, 20, 64][trial % 3];
            let proxy = proxies(&mut rng, m, trial % 2 == 0);
            for n in [2u64, 4, 16, 64, 1000] {
                for beta in [0.0, 0.1, 1.0, 5.0, 15.0, 40.0, 100.0, 1000.0] {
                    let (p, dp) = sbon_choice_probabilities(&proxy, n, beta).unwrap();
                    let (rp, rdp) = super::tests::reference(&proxy, n, beta);
                    for k in 0..m {
                        assert!(
                            (p[k] - rp[k]).abs() <= 1e-12,
                            "m={m} n={n} beta={beta} k={k}: {} vs {}",
                            p[k],
                            rp[k]
                        );
                        let rel = (dp[k] - rdp[k]).abs() / (1.0 + rdp[k].abs());
                        assert!(rel <= 1e-12, "m={m} n={n} beta={beta} k={k}: d {} vs {}", dp[k], rdp[k]);
                    }
                }
            }
        }
    }
}
