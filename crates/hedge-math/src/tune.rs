//! HedgeTune: find the parameter that maximises the expected true reward by
//! locating the sign change of `f'` (math.md §4).
//!
//! For BoN, BoP and the tilt, `f'` changes sign at most once (the score is increasing
//! in `u`), so its signs at the two ends of the range give the [`Regime`]. The search
//! scans `f'` on a grid (uniform in `ln(1 + θ − lo)`), refines every `+ → −` change
//! with Brent's method, and keeps the best candidate among those roots and the ends,
//! so data whose `f` is not unimodal still gets the global best of what was found.

use crate::error::{Error, Result};
use crate::grid::LogGrid;
use crate::method::MethodKind;

/// Shape of `f` on the range, from the signs of `f'` at its ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Regime {
    /// `f' > 0` at both ends: no hacking within the range; the largest θ is best.
    Increasing,
    /// `f' > 0` at the low end, `< 0` at the high end: a peak θ† (the hacking threshold).
    Hacking,
    /// `f' < 0` then `> 0`: a valley; the best θ is one of the ends.
    Valley,
    /// `f' ≤ 0` at both ends: the proxy hurts; the smallest θ is best.
    Decreasing,
}

impl Regime {
    /// Lowercase name used in JSON (`"increasing"`, `"hacking"`, `"valley"`, `"decreasing"`).
    pub fn name(self) -> &'static str {
        match self {
            Regime::Increasing => "increasing",
            Regime::Hacking => "hacking",
            Regime::Valley => "valley",
            Regime::Decreasing => "decreasing",
        }
    }

    /// Regime from the signs of `f'` at the low and high ends (zero counts as "not increasing").
    pub fn from_end_slopes(d_lo: f64, d_hi: f64) -> Self {
        match (d_lo > 0.0, d_hi > 0.0) {
            (true, true) => Regime::Increasing,
            (true, false) => Regime::Hacking,
            (false, true) => Regime::Valley,
            (false, false) => Regime::Decreasing,
        }
    }
}

impl std::fmt::Display for Regime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Settings of the HedgeTune search.
#[derive(Debug, Clone)]
pub struct TuneOptions {
    scan_points: usize,
    xtol_rel: f64,
    max_iter: usize,
    tie_rel: f64,
}

impl Default for TuneOptions {
    fn default() -> Self {
        Self {
            scan_points: 24,
            xtol_rel: 1e-13,
            max_iter: 200,
            tie_rel: 1e-12,
        }
    }
}

impl TuneOptions {
    /// Default options.
    pub fn new() -> Self {
        Self::default()
    }
    /// Interior points at which `f'` is scanned for sign changes (default 24). With 0,
    /// only the two ends are looked at: a root is sought only when `f'(lo) > 0 ≥ f'(hi)`.
    pub fn scan_points(mut self, k: usize) -> Self {
        self.scan_points = k;
        self
    }
    /// Relative tolerance on θ for the root (default 1e-13).
    pub fn xtol_rel(mut self, tol: f64) -> Self {
        self.xtol_rel = tol;
        self
    }
    /// Largest number of Brent iterations per root (default 200).
    pub fn max_iter(mut self, n: usize) -> Self {
        self.max_iter = n;
        self
    }
    /// Relative difference in `f` below which two candidates tie and the smaller θ wins
    /// (default 1e-12).
    pub fn tie_rel(mut self, tol: f64) -> Self {
        self.tie_rel = tol;
        self
    }
}

/// Result of a HedgeTune search.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Optimum {
    /// The chosen parameter (continuous).
    pub theta: f64,
    /// `f(θ)` there.
    pub value: f64,
    /// The regime on the range.
    pub regime: Regime,
    /// `f'` at the low end.
    pub slope_lo: f64,
    /// `f'` at the high end.
    pub slope_hi: f64,
}

fn finite(theta: f64, v: f64) -> Result<f64> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(Error::NonFiniteObjective { theta })
    }
}

/// Maximise `f` on `[lo, hi]` through the sign changes of its derivative `df`.
///
/// ```
/// use hedge_math::tune::{hedge_tune, Regime, TuneOptions};
/// // f(θ) = θ e^{−θ/5} peaks at θ = 5.
/// let f = |t: f64| t * (-t / 5.0).exp();
/// let df = |t: f64| (1.0 - t / 5.0) * (-t / 5.0).exp();
/// let o = hedge_tune(0.0, 100.0, f, df, &TuneOptions::default()).unwrap();
/// assert_eq!(o.regime, Regime::Hacking);
/// assert!((o.theta - 5.0).abs() < 1e-10);
/// ```
pub fn hedge_tune<F, D>(lo: f64, hi: f64, mut f: F, mut df: D, opts: &TuneOptions) -> Result<Optimum>
where
    F: FnMut(f64) -> f64,
    D: FnMut(f64) -> f64,
{
    if !(lo.is_finite() && hi.is_finite()) {
        return Err(Error::InvalidRange {
            lo,
            hi,
            reason: "ends must be finite",
        });
    }
    if lo > hi {
        return Err(Error::InvalidRange {
            lo,
            hi,
            reason: "low end above high end",
        });
    }
    if lo == hi {
        let v = finite(lo, f(lo))?;
        let d = finite(lo, df(lo))?;
        return Ok(Optimum {
            theta: lo,
            value: v,
            regime: Regime::from_end_slopes(d, d),
            slope_lo: d,
            slope_hi: d,
        });
    }
    let k = opts.scan_points;
    let grid = LogGrid::new(lo, hi, k + 2);
    let mut thetas = Vec::with_capacity(k + 2);
    thetas.push(lo);
    thetas.extend((1..=k).map(|i| grid.theta(i)).filter(|&t| t > lo && t < hi));
    thetas.push(hi);
    let mut slopes = Vec::with_capacity(thetas.len());
    for &t in &thetas {
        slopes.push(finite(t, df(t))?);
    }
    let (slope_lo, slope_hi) = (slopes[0], *slopes.last().unwrap_or(&slopes[0]));
    let regime = Regime::from_end_slopes(slope_lo, slope_hi);

    let mut candidates = vec![lo];
    for i in 0..thetas.len() - 1 {
        let (a, b, da, db) = (thetas[i], thetas[i + 1], slopes[i], slopes[i + 1]);
        if da > 0.0 && db <= 0.0 {
            let root = if db == 0.0 {
                b
            } else {
                brent(&mut df, a, b, da, db, opts)?
            };
            candidates.push(root);
        }
    }
    candidates.push(hi);
    let mut best: Option<(f64, f64)> = None;
    for &t in &candidates {
        let v = finite(t, f(t))?;
        best = match best {
            Some((bt, bv)) if v <= bv + opts.tie_rel * bv.abs() => Some((bt, bv)),
            _ => Some((t, v)),
        };
    }
    let (theta, value) = best.expect("at least two candidates");
    let regime = if theta > lo && theta < hi {
        Regime::Hacking
    } else {
        regime
    };
    Ok(Optimum {
        theta,
        value,
        regime,
        slope_lo,
        slope_hi,
    })
}

/// Brent's root finder on a bracket with `fa > 0 ≥ fb` (or any sign change).
pub(crate) fn brent<D: FnMut(f64) -> f64>(
    df: &mut D,
    a0: f64,
    b0: f64,
    fa0: f64,
    fb0: f64,
    opts: &TuneOptions,
) -> Result<f64> {
    let (mut a, mut b, mut fa, mut fb) = (a0, b0, fa0, fb0);
    let (mut c, mut fc) = (a, fa);
    let (mut d, mut e) = (b - a, b - a);
    for _ in 0..opts.max_iter {
        if (fb > 0.0) == (fc > 0.0) {
            c = a;
            fc = fa;
            d = b - a;
            e = d;
        }
        if fc.abs() < fb.abs() {
            a = b;
            b = c;
            c = a;
            fa = fb;
            fb = fc;
            fc = fa;
        }
        let tol = 2.0 * f64::EPSILON * b.abs() + 0.5 * opts.xtol_rel * b.abs().max(1e-300);
        let m = 0.5 * (c - b);
        if m.abs() <= tol || fb == 0.0 {
            return Ok(b);
        }
        if e.abs() >= tol && fa.abs() > fb.abs() {
            let s = fb / fa;
            let (mut p, mut q);
            if a == c {
                p = 2.0 * m * s;
                q = 1.0 - s;
            } else {
                let qq = fa / fc;
                let r = fb / fc;
                p = s * (2.0 * m * qq * (qq - r) - (b - a) * (r - 1.0));
                q = (qq - 1.0) * (r - 1.0) * (s - 1.0);
            }
            if p > 0.0 {
                q = -q;
            } else {
                p = -p;
            }
            if 2.0 * p < (3.0 * m * q - (tol * q).abs()).min((e * q).abs()) {
                e = d;
                d = p / q;
            } else {
                d = m;
                e = m;
            }
        } else {
            d = m;
            e = m;
        }
        a = b;
        fa = fb;
        b += if d.abs() > tol { d } else { tol.copysign(m) };
        fb = finite(b, df(b))?;
    }
    Ok(b)
}

/// BoN's integer rule: evaluate `f` at `⌊n†⌋` and `⌈n†⌉` (clamped to `[lo, hi]`)
/// and keep the better; on a tie (relative difference ≤ `tie_rel`) the smaller `n`,
/// which draws fewer samples. Returns `(n, f(n))`.
///
/// ```
/// use hedge_math::tune::bon_integer;
/// // f(12) == f(13) exactly: the smaller n wins.
/// let f = |n: f64| n / ((n + 12.0) * (n + 13.0));
/// assert_eq!(bon_integer(156f64.sqrt(), 1.0, 100.0, 1e-12, f).0, 12);
/// ```
pub fn bon_integer<F: FnMut(f64) -> f64>(n_cont: f64, lo: f64, hi: f64, tie_rel: f64, mut f: F) -> (u64, f64) {
    let lo_i = lo.ceil().max(1.0);
    let hi_i = hi.floor().max(lo_i);
    let a = n_cont.floor().clamp(lo_i, hi_i);
    let b = n_cont.ceil().clamp(lo_i, hi_i);
    let fa = f(a);
    if a == b {
        return (a as u64, fa);
    }
    let fb = f(b);
    if fb > fa + tie_rel * fa.abs() {
        (b as u64, fb)
    } else {
        (a as u64, fa)
    }
}

/// Where a method choosing among `m` equally likely responses (drawn with replacement, as the
/// plug-in estimator of math.md §3 treats a prompt's responses) has all but settled on the
/// top-ranked one: the smallest θ (an integer for BoN) with `F_θ(1 − 1/m) ≤ tail`, that is, every
/// rank but the top one together chosen with probability at most `tail`. `None` for SBoN, whose β
/// lives on the proxy's own scale.
///
/// `F_θ(u)` falls as θ grows for every `u < 1`, so on `[plateau, ∞)` the plug-in weights
/// `w_k(θ) = F_θ(k/m) − F_θ((k−1)/m)` give the ranks below the top at most `tail` together, and the
/// estimate `f(θ) = Σ_k r_(k) w_k(θ)` stays within `tail · (max r − min r)` of the top rank's reward:
/// no θ beyond the plateau can be told apart from it. The weights depend on `(m, θ)` only, and the
/// plateau grows with `m`, so the plateau of a data set's largest `m` holds for all its prompts.
///
/// - BoN: `(1 − 1/m)^n ≤ tail`, `n = ⌈ln tail / ln(1 − 1/m)⌉` (about `m · ln(1/tail)`).
/// - BoP: `F_μ(u) = u e^{μ(u−1)} ≤ e^{−μ/m}`, so `μ = m · ln(1/tail)`.
/// - tilt: `F_λ(u) = (e^{λu} − 1)/(e^λ − 1) ≤ e^{−λ(1−u)}`, so `λ = m · ln(1/tail)`.
///
/// The BoP and tilt bounds `e^{−θ/m}` also bound the density ratio `p_θ(u)/p_θ(1)` below the top
/// rank, and BoN's `(1 − 1/m)^{n−1}` is one `n` further on: the self-normalised (paper's) weights
/// settle at the plateau of `tail / (m − 1)`, one more `n` for BoN. With `m ≤ 1` there is only
/// the top rank: the plateau is the low end of the domain. `tail` outside `(0, 1)`: `None`.
///
/// ```
/// use hedge_math::MethodKind;
/// use hedge_math::tune::plateau;
/// // 25 responses: BoN with n ≥ 1016 misses the best one with probability ≤ 1e-18.
/// let n = plateau(MethodKind::Bon, 25, 1e-18).unwrap();
/// assert_eq!(n, 1016.0);
/// assert!((24f64 / 25.0).powf(n) <= 1e-18 && (24f64 / 25.0).powf(n - 1.0) > 1e-18);
/// assert!((plateau(MethodKind::Bop, 25, 1e-18).unwrap() - 25.0 * 1e18f64.ln()).abs() < 1e-9);
/// assert_eq!(plateau(MethodKind::Sbon, 25, 1e-18), None);
/// ```
pub fn plateau(kind: MethodKind, m: usize, tail: f64) -> Option<f64> {
    if !(tail > 0.0 && tail < 1.0) {
        return None;
    }
    let low = if kind == MethodKind::Bon { 1.0 } else { 0.0 };
    if m <= 1 {
        return (kind != MethodKind::Sbon).then_some(low);
    }
    let mf = m as f64;
    match kind {
        MethodKind::Bon => Some((tail.ln() / (-1.0 / mf).ln_1p()).ceil().max(low)),
        MethodKind::Bop | MethodKind::Tilt => Some(mf * -tail.ln()),
        MethodKind::Sbon => None,
    }
}
