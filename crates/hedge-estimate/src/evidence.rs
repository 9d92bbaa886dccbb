//! Evidence for a verdict: paired differences between parameters, a test of hacking that
//! accounts for θ† having been chosen on the same data, and the cheapest θ within noise.
//!
//! # Paired differences
//!
//! Every estimate of `f(θ)` is a mean of per-prompt contributions `f_t(θ)`. Two parameters
//! evaluated on the same prompts differ by `D = (1/T) Σ_t d_t`, `d_t = f_t(θ₁) − f_t(θ₂)`, with
//! the paired standard error `se(D) = sd_t(d_t)/√T` ([`Paired`]). It is much smaller than the
//! standard errors of the two levels whenever the prompts' difficulty varies more than the
//! effect of θ, which is the rule: the level's standard error is the wrong yardstick for
//! "is θ₁ better than θ₂?".
//!
//! # The test of hacking (max-t prompt bootstrap)
//!
//! HedgeTune picks θ† as the maximiser of the estimated curve, so `f̂(θ†) − f̂(θ_hi)` is biased
//! upwards and its naive `z` is optimistic. On a grid `θ_1 … θ_G` of the range (containing θ†
//! and both ends), with `D_g = f(θ_g) − f(θ_ref)` and its paired standard error `s_g`:
//!
//! - the statistic is the largest studentised gap `M = max_g D̂_g / s_g`;
//! - its critical value `c` is the `level` quantile of the prompt bootstrap of the centred
//!   statistic `M* = max_g (D*_g − D̂_g)/s*_g` (prompts resampled with replacement,
//!   `s*_g` recomputed in every resample; resample `b` uses the ChaCha8 stream `b` of the seed);
//! - the null "no θ in the range beats θ_ref", `max_g D_g ≤ 0`, is rejected when `M > c`.
//!
//! Under the null every `D_g ≤ 0`, so `M ≤ max_g (D̂_g − D_g)/s_g`, whose `level` quantile `c`
//! estimates: the false-alarm rate is at most `1 − level` (asymptotically in the number of
//! prompts), whatever θ† the tuning picked — this is the step-down-free max-t test of
//! simultaneous inference, applied to one-sided hypotheses. With `θ_ref = θ_hi` it asks "is
//! there a decline after the peak?" (`loss_at_default`); with `θ_ref = θ_lo`, "does selecting
//! by the proxy help at all?" (`gain`). The two-sided version of the same bootstrap, `c₂` from
//! `max_g |D*_g − D̂_g|/s*_g`, gives simultaneous intervals `D_g ∈ D̂_g ± c₂ s_g`, hence the
//! interval `[max_g (D̂_g − c₂ s_g), max_g (D̂_g + c₂ s_g)]` for the population gap
//! `max_θ f(θ) − f(θ_ref)` (on the grid).
//!
//! # Computation
//!
//! For BoN, BoP and the tilt the per-prompt values of the whole grid come from one pass over the
//! rows ([`Objective::per_prompt_grid`]: per block of prompts with the same `m`, the product of
//! their ranked truths with the `m × G` table of weights `w_{m,k}(θ_g)`). The bootstrap's
//! count-weighted sums `Σ_t c_{b,t} d_{g,t}` and `Σ_t c_{b,t} d_{g,t}²` are, for a block of
//! resamples, the matrix product of their counts with the difference columns and their squares
//! ([`critical_values`]); the gain and the loss share the resamples (same seed, same counts).
//! Both equal the scalar sums up to the order of summation.
//!
//! # Verdict
//!
//! [`Verdict`] from the two tests: `hacking` when the decline after the peak is significant
//! (and either the rise before it is too, or the peak lies inside the range), `proxy_hurts`
//! when the decline is significant measured from θ_lo itself and selecting never helped
//! significantly, otherwise `inconclusive` when the estimated curve still loses at least one
//! paired standard error at θ_hi, and `no_hacking_detected` when it does not.

use hedge_math::MethodKind;
use hedge_math::grid::{LogGrid, integers, with_extra};
use rayon::prelude::*;

use crate::error::Result;
use crate::objective::{Objective, SCALE_ABOVE, gemm, kl_and_samples, max_abs, mean_of, power_of_two_scale, stderr_of};
use crate::outcome::TuneOutcome;
use crate::prepared::Prepared;
use crate::resample::resample_counts;
use crate::spec::TuneSpec;
use crate::verdict::{Evidence, Gap, Paired, Select, Selected, Verdict};

/// Points of the evidence grid (BoN: at most this many integers; plus θ† and the ends).
pub const EVIDENCE_POINTS: usize = 33;
/// Points of SBoN's β grid (each costs an integral per prompt).
pub const SBON_EVIDENCE_POINTS: usize = 13;

/// One column of the evidence grid: a setting and its per-prompt values.
struct Column {
    theta: f64,
    n: Option<u64>,
    values: Vec<f64>,
}

/// The settings of the evidence grid: indices of θ_lo, θ_hi (the default) and θ† in `cols`.
struct Grid {
    cols: Vec<Column>,
    lo: usize,
    hi: usize,
    star: usize,
}

fn index_of(cols: &[Column], theta: f64, n: Option<u64>) -> usize {
    cols.iter().position(|c| c.theta == theta && c.n == n).unwrap_or(0)
}

/// The evidence grid of a tuned outcome: BoN's integers (at most [`EVIDENCE_POINTS`]), a log
/// grid of [`EVIDENCE_POINTS`] (SBoN: [`SBON_EVIDENCE_POINTS`] values of β at the tuned `n`),
/// each holding θ†; SBoN adds its default `(n_max, β_hi)`.
fn grid(data: &Prepared, spec: &TuneSpec, o: &TuneOutcome) -> Result<Grid> {
    let (lo, hi) = o.range;
    let thetas = match o.method {
        MethodKind::Bon => with_extra(integers(lo, hi, EVIDENCE_POINTS), lo, hi, &[o.theta]),
        MethodKind::Sbon => with_extra(LogGrid::new(lo, hi, SBON_EVIDENCE_POINTS).points(), lo, hi, &[o.theta]),
        _ => with_extra(LogGrid::new(lo, hi, EVIDENCE_POINTS).points(), lo, hi, &[o.theta]),
    };
    let obj = Objective::new(data, o.method, o.n, spec.get_estimator())?;
    let mut cols: Vec<Column> = thetas
        .iter()
        .zip(obj.per_prompt_grid(&thetas)?)
        .map(|(&theta, values)| Column { theta, n: o.n, values })
        .collect();
    let star = index_of(&cols, o.theta, o.n);
    let mut hi_idx = cols.len() - 1;
    if o.method == MethodKind::Sbon {
        let n_max = spec.resolve_n_grid(data)?.last().copied().unwrap_or(1);
        if Some(n_max) != o.n {
            let obj = Objective::new(data, MethodKind::Sbon, Some(n_max), spec.get_estimator())?;
            cols.push(Column {
                theta: hi,
                n: Some(n_max),
                values: obj.per_prompt(hi)?,
            });
            hi_idx = cols.len() - 1;
        }
    }
    Ok(Grid {
        cols,
        lo: 0,
        hi: hi_idx,
        star,
    })
}

/// The power of two the evidence grid's values are multiplied by before differences and sums
/// of squares are taken: 1 (no scaling: the plain arithmetic, bit for bit) unless some finite
/// value is beyond [`SCALE_ABOVE`] in magnitude (or all are below its inverse), where
/// `a − b`, `(a − b)²` or their sums over prompts could overflow (or underflow). Scaling by a
/// power of two is exact, so z-values and critical values do not change; differences,
/// standard errors and intervals are scaled back.
fn grid_scale(cols: &[Column]) -> f64 {
    let big = max_abs(cols.iter().flat_map(|c| c.values.iter().copied()));
    if big.is_finite() && big > 0.0 && !(1.0 / SCALE_ABOVE..=SCALE_ABOVE).contains(&big) {
        power_of_two_scale(big)
    } else {
        1.0
    }
}

/// Differences of every column against the reference column `r`, on values multiplied by
/// `scale` (a power of two; see [`grid_scale`]): `d[g][t]`.
fn differences(cols: &[Column], r: usize, scale: f64) -> Vec<Vec<f64>> {
    cols.iter()
        .map(|c| {
            let pairs = c.values.iter().zip(&cols[r].values);
            if scale == 1.0 {
                pairs.map(|(a, b)| a - b).collect()
            } else {
                pairs.map(|(a, b)| a * scale - b * scale).collect()
            }
        })
        .collect()
}

/// Mean and standard error of the mean of `d` weighted by resample counts, by one scalar pass.
///
/// One pass of `Σ c·x` and `Σ c·x²`; if those overflow (finite `|x|` beyond ~1e154), the same
/// on `x` scaled by a power of two, scaled back. The bootstrap's fallback for the entries of its
/// matrix products that are not finite ([`critical_values`]).
fn weighted(d: &[f64], counts: &[u32], t: f64) -> (f64, f64) {
    let (mean, se, s2) = moments(d, counts, t, |x| x);
    if s2.is_finite() {
        return (mean, se);
    }
    let big = max_abs(d.iter().zip(counts).filter(|p| *p.1 > 0).map(|p| *p.0));
    if !big.is_finite() {
        return (mean, se);
    }
    let s = power_of_two_scale(big);
    let (mean, se, _) = moments(d, counts, t, |x| x * s);
    (mean / s, se / s)
}

/// [`weighted`]'s pass on `map(x)`: mean, standard error and `Σ c·map(x)²`.
#[inline(always)]
fn moments(d: &[f64], counts: &[u32], t: f64, map: impl Fn(f64) -> f64) -> (f64, f64, f64) {
    let (mut s1, mut s2) = (0.0, 0.0);
    for (&x, &c) in d.iter().zip(counts) {
        if c > 0 {
            let c = c as f64;
            let x = map(x);
            s1 += c * x;
            s2 += c * x * x;
        }
    }
    let mean = s1 / t;
    let var = ((s2 - t * mean * mean) / (t - 1.0)).max(0.0);
    (mean, (var / t).sqrt(), s2)
}

/// Observed means and paired standard errors of the difference columns (both overflow-safe:
/// [`mean_of`], [`stderr_of`]).
fn observed(d: &[Vec<f64>]) -> (Vec<f64>, Vec<f64>) {
    d.iter()
        .map(|x| (if x.is_empty() { 0.0 } else { mean_of(x) }, stderr_of(x)))
        .unzip()
}

/// The difference columns against one reference column, with their observed means and
/// paired standard errors.
struct Differences {
    d: Vec<Vec<f64>>,
    mean: Vec<f64>,
    se: Vec<f64>,
}

impl Differences {
    fn new(cols: &[Column], r: usize, scale: f64) -> Self {
        let d = differences(cols, r, scale);
        let (mean, se) = observed(&d);
        Self { d, mean, se }
    }

    /// The columns of the bootstrap: those with a positive standard error.
    fn live(&self) -> Vec<usize> {
        (0..self.d.len()).filter(|&g| self.se[g] > 0.0).collect()
    }
}

/// Resamples per block of the bootstrap's matrix products (fewer when `T` is large, so that a
/// block's counts take at most about [`BLOCK_COUNTS`] entries).
const RESAMPLE_BLOCK: usize = 64;
/// Counts per block of resamples (2^20: 12 MiB as `u32` and `f64`).
const BLOCK_COUNTS: usize = 1 << 20;

/// One-sided and two-sided max-t critical values at `level` for each set of difference
/// columns (per set, columns with a zero or undefined standard error are left out; a set with
/// no such column, or fewer than two prompts, gets NaN).
///
/// Resample `b` draws the counts `c_{b,t}` of ChaCha8 stream `b` of `seed` (shared by every
/// set). Its mean and standard error of column `g` are
/// `D*_g = S1/T`, `s*_g = √(max(0, (S2 − T·D*_g²)/(T − 1))/T)` with `S1 = Σ_t c_{b,t} d_{g,t}`
/// and `S2 = Σ_t c_{b,t} d_{g,t}²`: for a block of resamples, all `S1` and `S2` of every set
/// are one matrix product `C·[D, D∘D]` (`C` the block's `B_b × T` counts, `D` the `T × G`
/// differences of the live columns). An entry whose product is not finite (sums of squares
/// beyond ~1e308) is recomputed by [`weighted`], which rescales by a power of two. The
/// statistics `max_g (D*_g − D̂_g)/s*_g` and `max_g |D*_g − D̂_g|/s*_g` (over columns with
/// `s*_g > 0`) of all resamples give the quantiles.
fn critical_values(sets: &[&Differences], level: f64, resamples: usize, seed: u64) -> Vec<(f64, f64)> {
    let none = (f64::NAN, f64::NAN);
    let t_count = sets.iter().find_map(|s| s.d.first()).map_or(0, Vec::len);
    let lives: Vec<Vec<usize>> = sets
        .iter()
        .map(|s| if t_count < 2 { Vec::new() } else { s.live() })
        .collect();
    // Columns of the product: per set, its live differences then their squares.
    let offsets: Vec<usize> = lives
        .iter()
        .scan(0, |k, l| {
            let o = *k;
            *k += 2 * l.len();
            Some(o)
        })
        .collect();
    let k_count: usize = lives.iter().map(|l| 2 * l.len()).sum();
    if k_count == 0 || resamples == 0 {
        return vec![none; sets.len()];
    }
    // X = [D, D∘D] of every set, row-major T × K.
    let mut x = vec![0.0; t_count * k_count];
    for ((set, live), &o) in sets.iter().zip(&lives).zip(&offsets) {
        let n = live.len();
        for (j, &g) in live.iter().enumerate() {
            for (t, &v) in set.d[g].iter().enumerate() {
                x[t * k_count + o + j] = v;
                x[t * k_count + o + n + j] = v * v;
            }
        }
    }
    let t = t_count as f64;
    let block = (BLOCK_COUNTS / t_count).clamp(1, RESAMPLE_BLOCK);
    let starts: Vec<usize> = (0..resamples).step_by(block).collect();
    // Per block: for every resample of the block, (one-sided, two-sided) statistic of each set.
    let stats: Vec<Vec<(f64, f64)>> = starts
        .par_iter()
        .map(|&b0| {
            let nb = block.min(resamples - b0);
            let mut counts = vec![0u32; nb * t_count];
            for (i, c) in counts.chunks_exact_mut(t_count).enumerate() {
                resample_counts(t_count, seed, b0 + i, c);
            }
            let cf: Vec<f64> = counts.iter().map(|&c| c as f64).collect();
            let mut sums = vec![0.0; nb * k_count];
            gemm(nb, t_count, k_count, &cf, &x, &mut sums);
            let mut out = Vec::with_capacity(nb * sets.len());
            for (c, row) in counts.chunks_exact(t_count).zip(sums.chunks_exact(k_count)) {
                for ((set, live), &o) in sets.iter().zip(&lives).zip(&offsets) {
                    let n = live.len();
                    let (mut one, mut two) = (f64::NEG_INFINITY, 0.0f64);
                    for (j, &g) in live.iter().enumerate() {
                        let (s1, s2) = (row[o + j], row[o + n + j]);
                        let (m, s) = if s1.is_finite() && s2.is_finite() {
                            let mean = s1 / t;
                            let var = ((s2 - t * mean * mean) / (t - 1.0)).max(0.0);
                            (mean, (var / t).sqrt())
                        } else {
                            weighted(&set.d[g], c, t)
                        };
                        if s > 0.0 {
                            let z = (m - set.mean[g]) / s;
                            one = one.max(z);
                            two = two.max(z.abs());
                        }
                    }
                    out.push((one, two));
                }
            }
            out
        })
        .collect();
    let quantile = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        let k = ((level * v.len() as f64).ceil() as usize).clamp(1, v.len().max(1)) - 1;
        v.get(k).copied().unwrap_or(f64::NAN)
    };
    let column = |i: usize, pick: fn(&(f64, f64)) -> f64| -> Vec<f64> {
        stats
            .iter()
            .flat_map(|blk| blk.iter().skip(i).step_by(sets.len()).map(pick))
            .collect()
    };
    (0..sets.len())
        .map(|i| {
            if lives[i].is_empty() {
                none
            } else {
                (quantile(column(i, |s| s.0)), quantile(column(i, |s| s.1)))
            }
        })
        .collect()
}

/// The gaps of θ† over the reference columns `refs`, each with its max-t test and simultaneous
/// interval; the references share the bootstrap's resamples (as they would with separate
/// bootstraps of the same seed).
fn gaps<const N: usize>(grid: &Grid, refs: [usize; N], spec: &TuneSpec) -> [Gap; N] {
    let scale = grid_scale(&grid.cols);
    let sets = refs.map(|r| Differences::new(&grid.cols, r, scale));
    let crit = critical_values(
        &sets.each_ref(),
        spec.get_confidence(),
        spec.get_resamples(),
        spec.get_seed(),
    );
    let mut i = 0;
    refs.map(|r| {
        let (c1, c2) = crit.get(i).copied().unwrap_or((f64::NAN, f64::NAN));
        let gap = finish_gap(grid, r, spec, &sets[i], scale, c1, c2);
        i += 1;
        gap
    })
}

/// The gap over reference column `r` from its differences and critical values.
fn finish_gap(grid: &Grid, r: usize, spec: &TuneSpec, set: &Differences, scale: f64, c1: f64, c2: f64) -> Gap {
    let (mean, se) = (&set.mean, &set.se);
    let m = (0..set.d.len())
        .filter(|&g| se[g] > 0.0)
        .map(|g| mean[g] / se[g])
        .fold(f64::NEG_INFINITY, f64::max);
    let band = |sign: f64| {
        (0..set.d.len())
            .map(|g| mean[g] + sign * c2 * se[g].max(0.0))
            .fold(f64::NEG_INFINITY, f64::max)
    };
    let (lo, hi) = if c2.is_finite() {
        (band(-1.0) / scale, band(1.0) / scale)
    } else {
        (f64::NAN, f64::NAN)
    };
    let star = &grid.cols[grid.star].values;
    let reference = &grid.cols[r];
    Gap {
        theta: reference.theta,
        n: reference.n.filter(|_| spec.kind() == MethodKind::Sbon),
        paired: Paired::of(star, &reference.values),
        critical: c1,
        significant: c1.is_finite() && m > c1,
        interval: [lo, hi],
    }
}

/// The verdict from the two gaps (see the module docs).
fn verdict(grid: &Grid, gain: &Gap, loss: &Gap) -> Verdict {
    if loss.significant {
        // A significant decline: from θ_lo on, with no significant rise first, the proxy hurts.
        let from_lo = grid.star == grid.lo || from_lo_significant(grid, loss);
        return if !gain.significant && from_lo {
            Verdict::ProxyHurts
        } else {
            Verdict::Hacking
        };
    }
    if loss.paired.difference > 0.0 && loss.paired.z >= 1.0 {
        Verdict::Inconclusive
    } else {
        Verdict::NoHackingDetected
    }
}

/// Whether the decline measured from θ_lo itself, `f(θ_lo) − f(θ_hi)`, passes the loss test.
fn from_lo_significant(grid: &Grid, loss: &Gap) -> bool {
    let p = Paired::of(&grid.cols[grid.lo].values, &grid.cols[grid.hi].values);
    p.stderr > 0.0 && p.difference / p.stderr > loss.critical
}

/// Evidence, verdict and the selected θ of a tuned outcome.
pub(crate) fn assess(data: &Prepared, spec: &TuneSpec, o: &TuneOutcome) -> Result<(Evidence, Verdict, Selected)> {
    let level = crate::spec::check_confidence(spec.get_confidence())?;
    let grid = grid(data, spec, o)?;
    let [gain, loss] = gaps(&grid, [grid.lo, grid.hi], spec);
    let verdict = verdict(&grid, &gain, &loss);
    let t = data.prompts() as f64;
    let prompts_needed = (!loss.significant && loss.paired.difference > 0.0 && loss.paired.z > 0.0)
        .then(|| (t * (loss.critical / loss.paired.z).powi(2)).ceil())
        .filter(|x| x.is_finite())
        .map(|x| x.min(u64::MAX as f64) as u64);
    let evidence = Evidence {
        level,
        correction: "max-t prompt bootstrap",
        resamples: spec.get_resamples(),
        grid_points: grid.cols.len(),
        gain,
        loss_at_default: loss,
        hacking_significant: loss.significant,
        prompts_needed,
    };
    let selected = select(data, spec, o, &grid.cols[grid.star].values)?;
    Ok((evidence, verdict, selected))
}

/// Whether the tuned optimum beats a reference setting — typically the θ in force — once θ† having
/// been chosen on the same data is accounted for: the max-t test of the module docs with the reference
/// `(theta, n)` as `θ_ref` (added to the evidence grid when it is not on it). `gap.significant` is the
/// decision "some θ of the range is better than the reference at the spec's confidence level";
/// `gap.paired` is `f(θ†) − f(reference)`. This is the rule `hedge serve` re-tunes by: it adopts θ†
/// only when this gap is significant, so noise alone does not move θ.
///
/// ```
/// use hedge_estimate::{synth, tune, versus, TuneSpec};
/// use hedge_math::MethodKind;
/// let d = synth::toy(400, 25, 1).unwrap().prepare().unwrap();
/// let spec = TuneSpec::new(MethodKind::Bon);
/// let o = tune(&d, &spec).unwrap();
/// // The toy peaks inside the range: far from it, at n = 1, the optimum is clearly better...
/// assert!(versus(&d, &spec, &o, 1.0, None).unwrap().significant);
/// // ...and against itself there is nothing to gain.
/// assert!(!versus(&d, &spec, &o, o.theta, o.n).unwrap().significant);
/// ```
pub fn versus(data: &Prepared, spec: &TuneSpec, o: &TuneOutcome, theta: f64, n: Option<u64>) -> Result<Gap> {
    let mut grid = grid(data, spec, o)?;
    let n = if o.method == MethodKind::Sbon { n.or(o.n) } else { None };
    let r = match grid.cols.iter().position(|c| c.theta == theta && c.n == n) {
        Some(r) => r,
        None => {
            let obj = Objective::new(data, o.method, n, spec.get_estimator())?;
            grid.cols.push(Column {
                theta,
                n,
                values: obj.per_prompt(theta)?,
            });
            grid.cols.len() - 1
        }
    };
    let [gap] = gaps(&grid, [r], spec);
    Ok(gap)
}

/// A candidate setting for the one-SE rule: its per-prompt values and whether it is within
/// one paired standard error of the peak.
fn within_one_se(peak: &[f64], values: &[f64]) -> bool {
    let p = Paired::of(peak, values);
    p.difference <= if p.stderr.is_finite() { p.stderr } else { 0.0 }
}

/// The θ the [`Select`] rule deploys.
fn select(data: &Prepared, spec: &TuneSpec, o: &TuneOutcome, peak: &[f64]) -> Result<Selected> {
    let (theta, n) = match (spec.get_select(), o.method) {
        (Select::Peak, _) => {
            let none = Paired {
                difference: 0.0,
                stderr: 0.0,
                z: f64::NAN,
            };
            return Ok(Selected {
                rule: Select::Peak,
                theta: o.theta,
                n: o.n,
                expected_true_reward: o.expected_true_reward,
                stderr: o.stderr,
                expected_samples: o.expected_samples,
                samples_saved: 0.0,
                below_peak: none,
            });
        }
        (Select::OneSe, MethodKind::Sbon) => {
            let mut pick = (o.theta, o.n);
            for r in &o.sbon {
                let obj = Objective::new(data, MethodKind::Sbon, Some(r.n), spec.get_estimator())?;
                if within_one_se(peak, &obj.per_prompt(r.beta)?) {
                    pick = (r.beta, Some(r.n));
                    break;
                }
            }
            pick
        }
        (Select::OneSe, _) => (smallest_within_one_se(data, spec, o, peak)?, None),
    };
    let obj = Objective::new(data, o.method, n, spec.get_estimator())?;
    let est = obj.estimate(theta)?;
    let (_, samples) = kl_and_samples(&obj, theta);
    Ok(Selected {
        rule: Select::OneSe,
        theta,
        n,
        expected_true_reward: est.value,
        stderr: est.stderr,
        expected_samples: samples,
        samples_saved: o.expected_samples - samples,
        below_peak: Paired::of(peak, &obj.per_prompt(theta)?),
    })
}

/// The smallest θ in `[lo, θ†]` within one paired SE of the peak: BoN by bisection on the
/// integers, the others by bisection on θ to a relative 1e-9 (the condition holds at θ† and is
/// taken to switch once on the way down, as it does on a unimodal curve).
fn smallest_within_one_se(data: &Prepared, spec: &TuneSpec, o: &TuneOutcome, peak: &[f64]) -> Result<f64> {
    let obj = Objective::new(data, o.method, None, spec.get_estimator())?;
    let ok = |theta: f64| -> Result<bool> { Ok(within_one_se(peak, &obj.per_prompt(theta)?)) };
    let lo = o.range.0;
    if ok(lo)? {
        return Ok(if o.method == MethodKind::Bon {
            lo.ceil().max(1.0)
        } else {
            lo
        });
    }
    let (mut a, mut b) = (lo, o.theta);
    if o.method == MethodKind::Bon {
        let (mut a, mut b) = (a.ceil().max(1.0) as u64, b as u64);
        while b - a > 1 {
            let mid = a + (b - a) / 2;
            if ok(mid as f64)? { b = mid } else { a = mid }
        }
        return Ok(b as f64);
    }
    for _ in 0..200 {
        if b - a <= 1e-9 * b.abs().max(1e-12) {
            break;
        }
        let mid = 0.5 * (a + b);
        if ok(mid)? { b = mid } else { a = mid }
    }
    Ok(b)
}
