//! The estimators of `f(θ)` and `f'(θ)` from prepared data (math.md §3).

use hedge_math::{Method, MethodKind, QuantileMethod};
use rayon::prelude::*;

use crate::error::{EstimateError, Result};
use crate::prepared::Prepared;
use crate::sbon::{SbonData, Workspace};

/// How `f(θ)` is estimated from a prompt's `m` responses (math.md §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Estimator {
    /// Plug-in (default): the prompt's responses are the reference distribution
    /// (sampling with replacement), so for a method with CDF `F_θ` of the chosen
    /// quantile, exactly `f_t(θ) = Σ_k r_(k) [F_θ(k/m) − F_θ((k−1)/m)]` and
    /// `f'_t(θ) = Σ_k r_(k) [∂θF_θ(k/m) − ∂θF_θ((k−1)/m)]`. Valid for any θ (n may exceed m);
    /// for SBoN the exact integral of [`crate::sbon_choice_probabilities`].
    #[default]
    Plugin,
    /// Unbiased Best-of-n without replacement (integer `n ≤ min m`):
    /// `f_t(n) = Σ_k r_(k) C(k−1, n−1) / C(m, n)`, weights computed in log space.
    /// BoN only; no derivative.
    Unbiased,
    /// The paper's self-normalised estimator (for comparison only): with `u_k = k/m`,
    /// `f̂_t(θ) = Σ_k r_(k) p_θ(u_k) / Σ_k p_θ(u_k)`, and the residual that HedgeTune
    /// root-finds is `R̂_t(θ) = Σ_k r_(k) ψ(u_k, θ) p_θ(u_k) / Σ_k p_θ(u_k)` (which is
    /// not the derivative of `f̂_t`). BoN, BoP and the tilt only.
    Paper,
}

impl Estimator {
    /// Lowercase name (`"plugin"`, `"unbiased"`, `"paper"`).
    pub fn name(self) -> &'static str {
        match self {
            Estimator::Plugin => "plugin",
            Estimator::Unbiased => "unbiased",
            Estimator::Paper => "paper",
        }
    }

    /// Parse a name (case-insensitive; `"plug-in"` also accepted).
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "plugin" | "plug-in" => Some(Estimator::Plugin),
            "unbiased" => Some(Estimator::Unbiased),
            "paper" => Some(Estimator::Paper),
            _ => None,
        }
    }
}

impl std::fmt::Display for Estimator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// An estimate of the expected true reward with its standard error across prompts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// `f(θ) = (1/T) Σ_t f_t(θ)`.
    pub value: f64,
    /// `sd_t(f_t(θ)) / √T` (sample standard deviation, `T − 1` denominator); NaN when `T < 2`.
    pub stderr: f64,
}

/// Values beyond this magnitude (2^480 ≈ 3.1e144), or below its inverse, are rescaled by a power
/// of two before squares and sums of squares are taken: below it a sum of up to 2^60 squared
/// differences cannot overflow, and every sum keeps its plain (bit-for-bit unchanged) form.
pub(crate) const SCALE_ABOVE: f64 = f64::from_bits((1023 + 480) << 52);

/// The largest `|v|` of `values` (0 for none; NaN propagates as NaN is ignored by `max`).
pub(crate) fn max_abs(values: impl IntoIterator<Item = f64>) -> f64 {
    values.into_iter().fold(0.0, |m, v| m.max(v.abs()))
}

/// An exact power of two `s` with `max_abs · s` in `[0.25, 2)` (1 for 0 or a non-finite
/// `max_abs`; at most 2^1000 for the tiniest values): multiplying by `s` and dividing back
/// loses no bit of a significand, so a statistic computed on scaled values is the unscaled one
/// in exact arithmetic — and z-values, ratios of two such, are unchanged.
pub(crate) fn power_of_two_scale(max_abs: f64) -> f64 {
    if !(max_abs.is_finite() && max_abs > 0.0) {
        return 1.0;
    }
    let e = max_abs.log2().floor() as i32;
    // 2^-e in two steps, so that 2^1023 < 1/2^-e never has to be formed for e = -1074.
    let e = (-e).clamp(-1074, 1000);
    let (a, b) = (e / 2, e - e / 2);
    2f64.powi(a) * 2f64.powi(b)
}

/// Whether a sum of squares `ss` of values that are not all equal fell to zero or into the
/// subnormals (values below ~1e-154 square to nothing): the plain formula is then not to be
/// trusted.
fn underflowed(ss: f64, values: &[f64]) -> bool {
    ss < f64::MIN_POSITIVE && values.iter().any(|&v| v != values[0])
}

/// Mean of `values` (NaN for none). The plain sequential sum when it is finite (bit-for-bit
/// the old result); when finite values overflow it (|values| near `f64::MAX`), the mean of
/// values scaled by a power of two, scaled back — finite, since a mean of finite values is.
pub(crate) fn mean_of(values: &[f64]) -> f64 {
    let t = values.len() as f64;
    let mean = values.iter().sum::<f64>() / t;
    if mean.is_finite() || values.is_empty() {
        return mean;
    }
    let big = max_abs(values.iter().copied());
    if !big.is_finite() {
        return mean; // a non-finite input: its NaN or infinity is the answer
    }
    let s = power_of_two_scale(big);
    values.iter().map(|v| v * s).sum::<f64>() / t / s
}

/// Standard error of the mean of per-prompt values (sequential: deterministic); NaN with
/// fewer than two values.
///
/// The plain two-pass formula `sqrt(Σ (v − v̄)² / (T − 1)) / √T` whenever its sums stay finite
/// and normal (bit-for-bit the old result). For finite values whose sums would overflow
/// (|v| near `f64::MAX`: `v − v̄` or its square is infinite) or underflow (|v| below ~1e-154),
/// the same formula on the values scaled by a power of two, scaled back. Finite for any finite
/// values: the standard error is at most `max |v| / √(T − 1)`.
pub(crate) fn stderr_of(values: &[f64]) -> f64 {
    let t = values.len();
    if t < 2 {
        return f64::NAN;
    }
    let plain = |values: &[f64]| {
        let mean = values.iter().sum::<f64>() / t as f64;
        let ss: f64 = values.iter().map(|v| (v - mean) * (v - mean)).sum();
        (ss, (ss / (t - 1) as f64).sqrt() / (t as f64).sqrt())
    };
    let (ss, se) = plain(values);
    if ss.is_finite() && !underflowed(ss, values) {
        return se;
    }
    let big = max_abs(values.iter().copied());
    if !big.is_finite() {
        return se; // a non-finite input
    }
    let s = power_of_two_scale(big);
    let scaled: Vec<f64> = values.iter().map(|v| v * s).collect();
    plain(&scaled).1 / s
}

/// Rows (responses) of ranked truths per block of [`Objective::per_prompt_grid`]'s products
/// (2^16 values, 512 KiB: a block and its share of the output stay in cache).
const GRID_BLOCK_ROWS: usize = 1 << 16;

/// `C = A·B` for row-major `A` (`rows × inner`), `B` (`inner × cols`) and `C` (`rows × cols`),
/// by `matrixmultiply::dgemm` (blocked, SIMD chosen at run time; each entry of `C` is summed in
/// an order that depends only on `inner`, so a row's result does not depend on the other rows).
/// A slice shorter than its shape (never, by construction) leaves `C` as NaN rather than reading
/// out of bounds.
pub(crate) fn gemm(rows: usize, inner: usize, cols: usize, a: &[f64], b: &[f64], c: &mut [f64]) {
    let fits = |len: usize, r: usize, k: usize| r.checked_mul(k).is_some_and(|n| n <= len);
    if !(fits(a.len(), rows, inner) && fits(b.len(), inner, cols) && fits(c.len(), rows, cols)) {
        debug_assert!(false, "gemm: slices shorter than their shapes");
        c.fill(f64::NAN);
        return;
    }
    if rows == 0 || cols == 0 {
        return;
    }
    if inner == 0 {
        c[..rows * cols].fill(0.0);
        return;
    }
    // SAFETY: dgemm reads a[i·inner + k] (i < rows, k < inner), b[k·cols + j] (j < cols) and
    // writes c[i·cols + j]: every index is below rows·inner ≤ a.len(), inner·cols ≤ b.len() and
    // rows·cols ≤ c.len() (checked above). `c` is a unique borrow, so it aliases neither input;
    // with β = 0 its previous contents are not read. The strides are lengths of allocations,
    // at most isize::MAX, so the casts are lossless.
    unsafe {
        matrixmultiply::dgemm(
            rows,
            inner,
            cols,
            1.0,
            a.as_ptr(),
            inner as isize,
            1,
            b.as_ptr(),
            cols as isize,
            1,
            0.0,
            c.as_mut_ptr(),
            cols as isize,
            1,
        );
    }
}

/// `ln k!` for `k = 0..=max`.
fn ln_factorials(max: usize) -> Vec<f64> {
    let mut lf = Vec::with_capacity(max + 1);
    lf.push(0.0);
    let mut acc = 0.0;
    for k in 1..=max {
        acc += (k as f64).ln();
        lf.push(acc);
    }
    lf
}

/// The objective `θ ↦ f(θ)` (and `f'(θ)`) of one method and estimator on prepared data.
///
/// For BoN, BoP and the tilt every estimator is linear in the rank-ordered rewards with
/// weights that depend only on `(k, m, θ)`, so [`value`](Self::value) and
/// [`slope`](Self::slope) cost `O(Σ distinct m)` through [`Prepared::rank_means`];
/// [`per_prompt`](Self::per_prompt) and [`estimate`](Self::estimate) (which adds the
/// standard error) cost one `O(rows)` pass. For SBoN every call integrates each prompt
/// (in parallel; results independent of the thread count).
///
/// ```
/// use hedge_estimate::{Estimator, Objective, Prepared};
/// use hedge_math::MethodKind;
/// let p = Prepared::new(&[0, 3], &[0.1, 0.2, 0.3], &[0.0, 1.0, 2.0]).unwrap();
/// let f = Objective::new(&p, MethodKind::Bon, None, Estimator::Plugin).unwrap();
/// // BoN(2) from 3 responses with replacement: P(rank k) = (k² − (k−1)²)/9.
/// assert!((f.value(2.0).unwrap() - (0.0 * 1.0 + 1.0 * 3.0 + 2.0 * 5.0) / 9.0).abs() < 1e-15);
/// ```
#[derive(Debug, Clone)]
pub struct Objective<'a> {
    data: &'a Prepared,
    kind: MethodKind,
    n: u64,
    estimator: Estimator,
    lnfact: Vec<f64>,
    sbon: Option<SbonData>,
}

impl<'a> Objective<'a> {
    /// The objective of `kind` under `estimator`; `n` (candidates) is required for SBoN
    /// and ignored otherwise. SBoN supports the plug-in estimator only, the unbiased
    /// estimator BoN only.
    pub fn new(data: &'a Prepared, kind: MethodKind, n: Option<u64>, estimator: Estimator) -> Result<Self> {
        match (kind, estimator) {
            (MethodKind::Sbon, Estimator::Plugin) => {}
            (MethodKind::Sbon, e) => {
                return Err(EstimateError::Unsupported {
                    estimator: e.name(),
                    method: kind,
                });
            }
            (MethodKind::Bon, Estimator::Unbiased) => {}
            (_, Estimator::Unbiased) => {
                return Err(EstimateError::Unsupported {
                    estimator: "unbiased",
                    method: kind,
                });
            }
            _ => {}
        }
        let n = if kind == MethodKind::Sbon {
            match n {
                Some(n) if n >= 1 => n,
                _ => return Err(EstimateError::MissingN),
            }
        } else {
            0
        };
        let lnfact = if estimator == Estimator::Unbiased {
            ln_factorials(data.m_max())
        } else {
            Vec::new()
        };
        let sbon = (kind == MethodKind::Sbon).then(|| SbonData::new(data));
        Ok(Self {
            data,
            kind,
            n,
            estimator,
            lnfact,
            sbon,
        })
    }

    /// The data.
    pub fn data(&self) -> &'a Prepared {
        self.data
    }

    /// The method.
    pub fn kind(&self) -> MethodKind {
        self.kind
    }

    /// The estimator.
    pub fn estimator(&self) -> Estimator {
        self.estimator
    }

    /// SBoN's number of candidates (`None` for other methods).
    pub fn n(&self) -> Option<u64> {
        (self.kind == MethodKind::Sbon).then_some(self.n)
    }

    /// The method at parameter θ from `hedge-math` (validates θ). For SBoN this is the
    /// quantile-scale method with the same `n` and β.
    pub fn method(&self, theta: f64) -> Result<Method> {
        if self.estimator == Estimator::Unbiased {
            self.check_unbiased(theta)?;
        }
        let n = (self.kind == MethodKind::Sbon).then_some(self.n);
        Ok(Method::new(self.kind, theta, n)?)
    }

    fn check_unbiased(&self, theta: f64) -> Result<u64> {
        if !(theta.is_finite() && theta >= 1.0 && theta.fract() == 0.0) {
            return Err(EstimateError::UnbiasedNeedsInteger { n: theta });
        }
        let m = self.data.m_min();
        if theta > m as f64 {
            return Err(EstimateError::NTooLarge {
                n: theta.min(u64::MAX as f64) as u64,
                m,
            });
        }
        Ok(theta as u64)
    }

    /// Fill `w` (and `dw`) with the weights of ranks `1..=m` at θ.
    fn weights(&self, q: &dyn QuantileMethod, m: usize, theta: f64, w: &mut [f64], mut dw: Option<&mut [f64]>) {
        let mf = m as f64;
        match self.estimator {
            Estimator::Plugin => {
                let (mut f_prev, mut d_prev) = (0.0, 0.0);
                for k in 1..=m {
                    let u = k as f64 / mf;
                    let f = if k == m { 1.0 } else { q.cdf(u) };
                    w[k - 1] = f - f_prev;
                    f_prev = f;
                    if let Some(dw) = dw.as_deref_mut() {
                        let d = if k == m { 0.0 } else { q.cdf_derivative(u) };
                        dw[k - 1] = d - d_prev;
                        d_prev = d;
                    }
                }
            }
            Estimator::Paper => {
                let mut mx = f64::NEG_INFINITY;
                for k in 1..=m {
                    let lp = q.log_density(k as f64 / mf);
                    w[k - 1] = lp;
                    mx = mx.max(lp);
                }
                let mut z = 0.0;
                for x in w.iter_mut().take(m) {
                    *x = (*x - mx).exp();
                    z += *x;
                }
                for k in 1..=m {
                    let p = w[k - 1] / z;
                    w[k - 1] = p;
                    if let Some(dw) = dw.as_deref_mut() {
                        dw[k - 1] = p * q.score(k as f64 / mf);
                    }
                }
            }
            Estimator::Unbiased => {
                // w_k = C(k−1, n−1) / C(m, n) for k ≥ n, normalised to sum 1 exactly.
                let n = theta as usize;
                let lf = &self.lnfact;
                let ln_cmn = lf[m] - lf[n] - lf[m - n];
                let mut z = 0.0;
                for k in 1..=m {
                    let v = if k < n {
                        0.0
                    } else {
                        (lf[k - 1] - lf[n - 1] - lf[k - n] - ln_cmn).exp()
                    };
                    w[k - 1] = v;
                    z += v;
                }
                for x in w.iter_mut().take(m) {
                    *x /= z;
                }
            }
        }
    }

    /// `f(θ)`.
    pub fn value(&self, theta: f64) -> Result<f64> {
        Ok(self.eval(theta, false)?.0)
    }

    /// `f'(θ)` for the plug-in estimator, the residual `R̂(θ)` for the paper's;
    /// [`EstimateError::NoDerivative`] for the unbiased one.
    pub fn slope(&self, theta: f64) -> Result<f64> {
        Ok(self.eval(theta, true)?.1)
    }

    /// `f(θ)` and [`slope`](Self::slope) together (one pass).
    pub fn value_and_slope(&self, theta: f64) -> Result<(f64, f64)> {
        self.eval(theta, true)
    }

    fn eval(&self, theta: f64, want_slope: bool) -> Result<(f64, f64)> {
        if want_slope && self.estimator == Estimator::Unbiased {
            return Err(EstimateError::NoDerivative { estimator: "unbiased" });
        }
        if self.kind == MethodKind::Sbon {
            let per = self.sbon_per_prompt(theta)?;
            let tf = per.len() as f64;
            let f = per.iter().map(|p| p.0).sum::<f64>() / tf;
            let d = per.iter().map(|p| p.1).sum::<f64>() / tf;
            if f.is_finite() && d.is_finite() {
                return Ok((f, d));
            }
            // Finite per-prompt values whose sum overflows: the overflow-safe mean.
            let (fs, ds): (Vec<f64>, Vec<f64>) = per.into_iter().unzip();
            return Ok((mean_of(&fs), mean_of(&ds)));
        }
        let method = self.method(theta)?;
        let q = method.as_dyn();
        let m_max = self.data.m_max();
        let mut w = vec![0.0; m_max];
        let mut dw = vec![0.0; if want_slope { m_max } else { 0 }];
        let (mut f, mut d) = (0.0, 0.0);
        for rm in self.data.rank_means() {
            let m = rm.m;
            self.weights(
                q,
                m,
                theta,
                &mut w[..m],
                if want_slope { Some(&mut dw[..m]) } else { None },
            );
            for (r, x) in rm.mean.iter().zip(&w[..m]) {
                f += r * x;
            }
            if want_slope {
                for (r, x) in rm.mean.iter().zip(&dw[..m]) {
                    d += r * x;
                }
            }
        }
        Ok((f, d))
    }

    fn sbon_per_prompt(&self, beta: f64) -> Result<Vec<(f64, f64)>> {
        crate::sbon::check_beta(beta)?;
        let sb = self.sbon.as_ref().ok_or(EstimateError::MissingN)?;
        let n = self.n;
        Ok((0..sb.prompts())
            .into_par_iter()
            .with_min_len(4)
            .map_init(Workspace::default, |ws, t| sb.prompt(t, n, beta, ws))
            .collect())
    }

    /// Per-prompt `f_t(θ)` (one `O(rows)` pass, parallel over prompts).
    pub fn per_prompt(&self, theta: f64) -> Result<Vec<f64>> {
        if self.kind == MethodKind::Sbon {
            return Ok(self.sbon_per_prompt(theta)?.into_iter().map(|p| p.0).collect());
        }
        let tables = self.weight_tables(theta)?;
        Ok(self.apply_tables(&tables.0, &tables.1))
    }

    /// Weights for every distinct `m` at θ: (ms ascending, weights).
    pub(crate) fn weight_tables(&self, theta: f64) -> Result<(Vec<usize>, Vec<Vec<f64>>)> {
        let method = self.method(theta)?;
        let q = method.as_dyn();
        let ms: Vec<usize> = self.data.rank_means().iter().map(|r| r.m).collect();
        let ws = ms
            .iter()
            .map(|&m| {
                let mut w = vec![0.0; m];
                self.weights(q, m, theta, &mut w, None);
                w
            })
            .collect();
        Ok((ms, ws))
    }

    /// Per-prompt slope weights for every distinct `m` at θ.
    pub(crate) fn slope_tables(&self, theta: f64) -> Result<Vec<Vec<f64>>> {
        if self.estimator == Estimator::Unbiased {
            return Err(EstimateError::NoDerivative { estimator: "unbiased" });
        }
        let method = self.method(theta)?;
        let q = method.as_dyn();
        Ok(self
            .data
            .rank_means()
            .iter()
            .map(|r| {
                let mut w = vec![0.0; r.m];
                let mut dw = vec![0.0; r.m];
                self.weights(q, r.m, theta, &mut w, Some(&mut dw));
                dw
            })
            .collect())
    }

    pub(crate) fn apply_tables(&self, ms: &[usize], ws: &[Vec<f64>]) -> Vec<f64> {
        let d = self.data;
        (0..d.prompts())
            .into_par_iter()
            .with_min_len(64)
            .map(|t| {
                let r = d.ranked_truth(t);
                let i = ms.binary_search(&r.len()).unwrap_or(0);
                r.iter().zip(&ws[i]).map(|(a, b)| a * b).sum::<f64>()
            })
            .collect()
    }

    /// Per-prompt values on a grid of parameters: `out[g][t] = f_t(θ_g)` (one column per θ, each
    /// as [`per_prompt`](Self::per_prompt) would return it).
    ///
    /// For BoN, BoP and the tilt (every estimator) the weights `w_{m,k}(θ)` depend only on
    /// `(m, k, θ)`, so with `W_m` the `m × G` table `W_m[k][g] = w_{m,k}(θ_g)` and `R` the
    /// `T_b × m` block of the ranked truths of `T_b` consecutive prompts with `m` responses,
    /// `f_t(θ_g) = Σ_k r_{t,(k)} w_{m,k}(θ_g)` for the whole block is the matrix product `R·W_m`:
    /// one pass over the rows for the whole grid (a dgemm per block, blocks in parallel), equal
    /// to [`per_prompt`](Self::per_prompt) up to the order of summation (a few ulps of
    /// `Σ_k |r_{t,(k)} w_{m,k}|`). The result does not depend on the number of threads. SBoN:
    /// [`per_prompt`](Self::per_prompt) at every θ.
    ///
    /// Errors as [`per_prompt`](Self::per_prompt) at the first invalid θ.
    ///
    /// ```
    /// use hedge_estimate::{synth, Estimator, Objective};
    /// use hedge_math::MethodKind;
    /// let p = synth::gaussian(50, 40, 0.7, 2.5, 0).unwrap().prepare().unwrap();
    /// let f = Objective::new(&p, MethodKind::Bop, None, Estimator::Plugin).unwrap();
    /// let grid = f.per_prompt_grid(&[0.0, 3.5, 20.0]).unwrap();
    /// let one = f.per_prompt(3.5).unwrap();
    /// assert!(grid[1].iter().zip(&one).all(|(a, b)| (a - b).abs() < 1e-12));
    /// ```
    pub fn per_prompt_grid(&self, thetas: &[f64]) -> Result<Vec<Vec<f64>>> {
        if self.kind == MethodKind::Sbon {
            return thetas.iter().map(|&theta| self.per_prompt(theta)).collect();
        }
        let methods = thetas
            .iter()
            .map(|&theta| self.method(theta))
            .collect::<Result<Vec<_>>>()?;
        let g_count = thetas.len();
        let data = self.data;
        let t_count = data.prompts();
        if g_count == 0 {
            return Ok(Vec::new());
        }
        // Blocks of consecutive prompts with the same m (at most GRID_BLOCK_ROWS rows, at least
        // one prompt), grouped by m so that each table W_m is built once.
        let ms: Vec<usize> = data.rank_means().iter().map(|r| r.m).collect();
        let mut groups: Vec<Vec<(usize, usize)>> = vec![Vec::new(); ms.len()];
        let mut t = 0;
        while t < t_count {
            let m = data.responses(t);
            let cap = (GRID_BLOCK_ROWS / m.max(1)).max(1);
            let mut end = t + 1;
            while end < t_count && end - t < cap && data.responses(end) == m {
                end += 1;
            }
            if let Ok(i) = ms.binary_search(&m) {
                groups[i].push((t, end));
            }
            t = end;
        }
        let blocks: Vec<(usize, Vec<f64>)> = groups
            .par_iter()
            .zip(&ms)
            .filter(|(blocks, _)| !blocks.is_empty())
            .flat_map(|(blocks, &m)| {
                let mut table = vec![0.0; m * g_count];
                let mut w = vec![0.0; m];
                for (g, (method, &theta)) in methods.iter().zip(thetas).enumerate() {
                    self.weights(method.as_dyn(), m, theta, &mut w, None);
                    for (k, &x) in w.iter().enumerate() {
                        table[k * g_count + g] = x;
                    }
                }
                blocks
                    .par_iter()
                    .map_init(Vec::new, |rows, &(t0, t1)| {
                        rows.clear();
                        for t in t0..t1 {
                            rows.extend_from_slice(data.ranked_truth(t));
                        }
                        let mut out = vec![0.0; (t1 - t0) * g_count];
                        gemm(t1 - t0, m, g_count, rows, &table, &mut out);
                        (t0, out)
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        let mut cols = vec![vec![0.0; t_count]; g_count];
        for (t0, out) in blocks {
            for (i, row) in out.chunks_exact(g_count).enumerate() {
                for (col, &x) in cols.iter_mut().zip(row) {
                    col[t0 + i] = x;
                }
            }
        }
        Ok(cols)
    }

    /// `f(θ)` with its standard error across prompts (one `O(rows)` pass).
    pub fn estimate(&self, theta: f64) -> Result<Estimate> {
        let per = self.per_prompt(theta)?;
        let value = if self.kind == MethodKind::Sbon {
            mean_of(&per)
        } else {
            self.value(theta)?
        };
        Ok(Estimate {
            value,
            stderr: stderr_of(&per),
        })
    }
}

/// KL and expected samples of the method at θ; NaN KL when `hedge-math` refuses θ.
///
/// SBoN's β lives on the proxy's own scale, where no closed form applies: its KL is
/// the plug-in one, the mean over prompts of `Σ_k P_t(k) ln(m_t P_t(k))` (the KL of
/// the choice distribution to the uniform reference over the prompt's responses).
pub(crate) fn kl_and_samples(obj: &Objective<'_>, theta: f64) -> (f64, f64) {
    if obj.kind() == MethodKind::Sbon {
        let n = obj.n().unwrap_or(1);
        let data = obj.data();
        // Per-prompt KLs in parallel, then summed in prompt order: the same total, bit for bit, as a
        // sequential loop.
        let per_prompt: Option<Vec<f64>> = (0..data.prompts())
            .into_par_iter()
            .with_min_len(16)
            .map(|t| {
                let proxy = data.sorted_proxy(t);
                let m = proxy.len() as f64;
                crate::sbon::sbon_choice_probabilities(proxy, n, theta)
                    .ok()
                    .map(|(p, _)| {
                        p.iter()
                            .filter(|&&q| q > 0.0)
                            .map(|&q| q * (m * q).ln())
                            .sum::<f64>()
                            .max(0.0)
                    })
            })
            .collect();
        let Some(per_prompt) = per_prompt else {
            return (f64::NAN, n as f64);
        };
        let total: f64 = per_prompt.iter().fold(0.0, |acc, &k| acc + k);
        return (total / data.prompts().max(1) as f64, n as f64);
    }
    match obj.method(theta) {
        Ok(m) => {
            let q = m.as_dyn();
            (q.kl(), q.expected_samples())
        }
        Err(_) => (f64::NAN, obj.n().map_or(f64::NAN, |n| n as f64)),
    }
}
