//! HedgeTune on calibration data: tuning, curves and honest hold-out reporting (math.md §4).

use std::cell::RefCell;

use hedge_math::tune::{bon_integer, hedge_tune};
use hedge_math::{MethodKind, Regime};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::budget::Budget;
use crate::error::{EstimateError, Result};
use crate::evidence::assess;
use crate::objective::{Estimator, Objective, kl_and_samples};
use crate::outcome::{CurvePoint, HoldoutReport, SbonRow, TuneNote, TuneOutcome};
use crate::prepared::Prepared;
use crate::spec::{DEFAULT_SBON_BETA_MAX, PLATEAU_TAIL, TuneSpec, best_of};
use crate::verdict::{Paired, Verdict};

/// Where the estimated curve of `spec` on `data` has gone flat (see [`PLATEAU_TAIL`]), rounded up
/// to three significant digits (BoN: an integer), with SBoN's smallest proxy gap; `None` when it
/// never does within f64 (the unbiased estimator, whose `n ≤ min m` anyway; SBoN on a prompt set
/// without two distinct scores, or `ns` empty).
///
/// - Plug-in: [`hedge_math::tune::plateau`] at the largest `m` (its weights `w_k(θ)` depend on
///   `(m, θ)` only, and the plateau grows with `m`).
/// - The paper's self-normalised weights `p_θ(k/m) / Σ_j p_θ(j/m)`: the same bound on each of the
///   `m − 1` lower ranks' density ratio, so the plateau of `PLATEAU_TAIL / (m − 1)`, one `n` later
///   for BoN (`p ∝ u^{n−1}`).
/// - SBoN (plug-in, β on the proxy's scale): among `n` draws, a candidate scoring at least `δ`
///   (the smallest gap between a prompt's distinct scores) under the draw's best is chosen with
///   probability at most `e^{−βδ}`, so all of them together at most `(n − 1) e^{−βδ}`, which is
///   `PLATEAU_TAIL` at `β = ln((n − 1)/PLATEAU_TAIL)/δ` (`n` the grid's largest; SBoN at β = ∞ is
///   BoN(n) with ties broken at random, which the estimator's tie averaging already is). Never
///   below [`DEFAULT_SBON_BETA_MAX`], so that the default range and smaller ones are searched as
///   they always were: with integer scores (gap 1) the curve is flat from β ≈ 43 on, and a root
///   the scan finds past that point is rounding noise (rewardmath's `proxy_gpt4o`, β ≈ 69).
fn plateau_of(data: &Prepared, spec: &TuneSpec, n_max: Option<u64>) -> Option<(f64, Option<f64>)> {
    let m = data.m_max();
    let kind = spec.kind;
    let p = match (kind, spec.estimator) {
        (_, Estimator::Unbiased) => return None,
        (MethodKind::Sbon, _) => {
            let n = n_max? as f64;
            let gap = (0..data.prompts())
                .flat_map(|t| data.sorted_proxy(t).windows(2).map(|w| w[1] - w[0]))
                .filter(|&g| g > 0.0)
                .fold(f64::INFINITY, f64::min);
            let beta = ((n - 1.0).max(1.0) / PLATEAU_TAIL).ln() / gap;
            // Never below the default range's end: ranges up to it search as they always have.
            return beta
                .is_finite()
                .then(|| (ceil_sig(beta, 3).max(DEFAULT_SBON_BETA_MAX), Some(gap)));
        }
        (_, Estimator::Plugin) => hedge_math::tune::plateau(kind, m, PLATEAU_TAIL)?,
        (_, Estimator::Paper) => {
            let p = hedge_math::tune::plateau(kind, m, PLATEAU_TAIL / (m.max(2) - 1) as f64)?;
            if kind == MethodKind::Bon { p + 1.0 } else { p }
        }
    };
    Some((if kind == MethodKind::Bon { p } else { ceil_sig(p, 3) }, None))
}

/// `x > 0` rounded up to `digits` significant digits (a readable end for a range).
fn ceil_sig(x: f64, digits: i32) -> f64 {
    if !(x.is_finite() && x > 0.0) {
        return x;
    }
    let scale = 10f64.powi(x.log10().floor() as i32 + 1 - digits);
    let r = (x / scale).ceil() * scale;
    // A scale like 1e-7 is not exact in binary: never round below x.
    if r >= x { r } else { x }
}

/// Continuous HedgeTune of one objective on `[lo, hi]`, with `f` served from the
/// evaluations of `f'` where possible.
fn tune_continuous(obj: &Objective<'_>, lo: f64, hi: f64, spec: &TuneSpec) -> Result<hedge_math::Optimum> {
    let cache: RefCell<Vec<(u64, f64, f64)>> = RefCell::new(Vec::new());
    let err: RefCell<Option<EstimateError>> = RefCell::new(None);
    let eval = |t: f64| -> (f64, f64) {
        if let Some(&(_, f, d)) = cache.borrow().iter().find(|c| c.0 == t.to_bits()) {
            return (f, d);
        }
        match obj.value_and_slope(t) {
            Ok((f, d)) => {
                // With a cost per sample the root finder works on f − C·S(θ).
                let (p, dp) = spec.budget.penalty(obj.kind(), t, obj.n());
                let (f, d) = (f - p, d - dp);
                cache.borrow_mut().push((t.to_bits(), f, d));
                (f, d)
            }
            Err(e) => {
                err.borrow_mut().get_or_insert(e);
                (f64::NAN, f64::NAN)
            }
        }
    };
    let res = hedge_tune(lo, hi, |t| eval(t).0, |t| eval(t).1, &spec.options());
    if let Some(e) = err.into_inner() {
        return Err(e);
    }
    Ok(res?)
}

/// `f(n) − C·n` at every integer of the range (unbiased estimator): (n, value) pairs.
fn integer_values(obj: &Objective<'_>, lo: f64, hi: f64, budget: &Budget) -> Result<Vec<(f64, f64)>> {
    let (a, b) = (lo.ceil() as u64, hi.floor() as u64);
    (a..=b)
        .map(|n| {
            let t = n as f64;
            Ok((t, obj.value(t)? - budget.penalty(obj.kind(), t, None).0))
        })
        .collect()
}

/// Tune one non-SBoN method, or SBoN at one `n`: (θ, θ_cont, regime, slopes).
fn tune_one(obj: &Objective<'_>, lo: f64, hi: f64, spec: &TuneSpec) -> Result<(f64, Option<f64>, Regime, f64, f64)> {
    if obj.estimator() == Estimator::Unbiased {
        let vals = integer_values(obj, lo, hi, &spec.budget)?;
        let (theta, _) = best_of(&vals, spec.tie_rel);
        let k = vals.len();
        let (d_lo, d_hi) = if k >= 2 {
            (vals[1].1 - vals[0].1, vals[k - 1].1 - vals[k - 2].1)
        } else {
            (0.0, 0.0)
        };
        let interior = theta > vals[0].0 && theta < vals[k - 1].0;
        let regime = if interior {
            Regime::Hacking
        } else {
            Regime::from_end_slopes(d_lo, d_hi)
        };
        return Ok((theta, None, regime, d_lo, d_hi));
    }
    let o = tune_continuous(obj, lo, hi, spec)?;
    if obj.kind() == MethodKind::Bon {
        let err: RefCell<Option<EstimateError>> = RefCell::new(None);
        let (n, _) = bon_integer(o.theta, lo, hi, spec.tie_rel, |n| {
            obj.value(n)
                .map(|f| f - spec.budget.penalty(MethodKind::Bon, n, None).0)
                .unwrap_or_else(|e| {
                    err.borrow_mut().get_or_insert(e);
                    f64::NAN
                })
        });
        if let Some(e) = err.into_inner() {
            return Err(e);
        }
        if (n as f64) < lo || (n as f64) > hi {
            return Err(EstimateError::InvalidRange {
                parameter: "n",
                lo,
                hi,
                reason: "no integer n in range",
            });
        }
        return Ok((n as f64, Some(o.theta), o.regime, o.slope_lo, o.slope_hi));
    }
    Ok((o.theta, None, o.regime, o.slope_lo, o.slope_hi))
}

/// HedgeTune on calibration data: the parameter that maximises the estimated expected
/// true reward, with its regime (math.md §1, §4).
///
/// BoN, BoP, tilt: `f'` is scanned for sign changes and refined by Brent's method
/// ([`hedge_math::tune::hedge_tune`]); BoN then applies the integer rule (`⌊n†⌋` vs `⌈n†⌉`,
/// the smaller on a tie) and reports both. With the unbiased estimator every integer
/// `n` of the range is evaluated and the best kept (smaller on ties); its regime comes
/// from the differences at the two ends. SBoN: β is tuned for each `n` of the grid and
/// the best `(n, β)` kept (smaller `n` on ties); the per-`n` table is in
/// [`TuneOutcome::sbon`].
///
/// ```
/// use hedge_estimate::{synth, tune, TuneSpec};
/// use hedge_math::{MethodKind, Regime};
/// let d = synth::toy(200, 100, 1).unwrap().prepare().unwrap();
/// let o = tune(&d, &TuneSpec::new(MethodKind::Bop)).unwrap();
/// assert_eq!(o.regime, Regime::Hacking);
/// assert!(o.theta > 5.0 && o.theta < 30.0, "{}", o.theta);
/// ```
pub fn tune(data: &Prepared, spec: &TuneSpec) -> Result<TuneOutcome> {
    let mut o = tune_shape(data, spec)?;
    let (evidence, verdict, selected) = assess(data, spec, &o)?;
    (o.evidence, o.verdict, o.selected) = (Some(evidence), Some(verdict), Some(selected));
    Ok(o)
}

/// [`tune`] without the evidence (the oracle of [`holdout`], the bootstrap's choice of `n`).
pub(crate) fn tune_shape(data: &Prepared, spec: &TuneSpec) -> Result<TuneOutcome> {
    let (lo, asked_hi) = spec.resolve_range(data)?;
    let ns = spec.resolve_n_grid(data)?;
    let (hi, note) = match plateau_of(data, spec, ns.last().copied()) {
        Some((p, min_gap)) if p < asked_hi => {
            let searched = p.max(lo);
            let note = TuneNote::RangeClipped {
                parameter: spec.kind.parameter(),
                asked: asked_hi,
                searched,
                m_max: data.m_max(),
                min_gap,
            };
            (searched, Some(note))
        }
        _ => (asked_hi, None),
    };
    let base = |theta: f64, n: Option<u64>, regime: Regime, est: crate::Estimate, kl: f64, samples: f64| TuneOutcome {
        method: spec.kind,
        parameter: spec.kind.parameter(),
        theta,
        theta_continuous: None,
        n,
        regime,
        expected_true_reward: est.value,
        stderr: est.stderr,
        kl,
        expected_samples: samples,
        prompts: data.prompts(),
        skipped_prompts: data.skipped_prompts(),
        estimator: spec.estimator,
        range: (lo, hi),
        slope_lo: f64::NAN,
        slope_hi: f64::NAN,
        sbon: Vec::new(),
        verdict: None,
        evidence: None,
        selected: None,
        budget: spec.budget.is_set().then_some(spec.budget),
        notes: note.into_iter().collect(),
    };
    if spec.kind == MethodKind::Sbon {
        let mut rows: Vec<SbonRow> = Vec::with_capacity(ns.len());
        let mut slopes = Vec::with_capacity(ns.len());
        for &n in &ns {
            let obj = Objective::new(data, MethodKind::Sbon, Some(n), spec.estimator)?;
            let (beta, _, regime, s_lo, s_hi) = tune_one(&obj, lo, hi, spec)?;
            let est = obj.estimate(beta)?;
            let (kl, samples) = kl_and_samples(&obj, beta);
            rows.push(SbonRow {
                n,
                beta,
                regime,
                expected_true_reward: est.value,
                stderr: est.stderr,
                kl,
                expected_samples: samples,
            });
            slopes.push((s_lo, s_hi));
        }
        let mut bi = 0;
        let net = |r: &SbonRow| r.expected_true_reward - spec.budget.penalty(MethodKind::Sbon, r.beta, Some(r.n)).0;
        for i in 1..rows.len() {
            let (v, bv) = (net(&rows[i]), net(&rows[bi]));
            if v > bv + spec.tie_rel * bv.abs() {
                bi = i;
            }
        }
        let r = rows[bi];
        let est = crate::Estimate {
            value: r.expected_true_reward,
            stderr: r.stderr,
        };
        let mut out = base(r.beta, Some(r.n), r.regime, est, r.kl, r.expected_samples);
        (out.slope_lo, out.slope_hi) = slopes[bi];
        out.sbon = rows;
        return Ok(out);
    }
    let obj = Objective::new(data, spec.kind, None, spec.estimator)?;
    let (theta, theta_cont, regime, s_lo, s_hi) = tune_one(&obj, lo, hi, spec)?;
    let est = obj.estimate(theta)?;
    let (kl, samples) = kl_and_samples(&obj, theta);
    let mut out = base(theta, None, regime, est, kl, samples);
    out.theta_continuous = theta_cont;
    (out.slope_lo, out.slope_hi) = (s_lo, s_hi);
    Ok(out)
}

/// The estimated expected true reward (with standard error, KL and expected samples)
/// at each θ; `n` is required for SBoN.
///
/// ```
/// use hedge_estimate::{curve, synth, Estimator};
/// use hedge_math::MethodKind;
/// let d = synth::toy(50, 20, 3).unwrap().prepare().unwrap();
/// let c = curve(&d, MethodKind::Bon, &[1.0, 4.0, 16.0], None, Estimator::Plugin).unwrap();
/// assert_eq!(c.len(), 3);
/// assert!(c[1].expected_true_reward > c[0].expected_true_reward);
/// ```
pub fn curve(
    data: &Prepared,
    kind: MethodKind,
    thetas: &[f64],
    n: Option<u64>,
    estimator: Estimator,
) -> Result<Vec<CurvePoint>> {
    let obj = Objective::new(data, kind, n, estimator)?;
    thetas
        .iter()
        .map(|&theta| {
            let est = obj.estimate(theta)?;
            let (kl, expected_samples) = kl_and_samples(&obj, theta);
            Ok(CurvePoint {
                theta,
                expected_true_reward: est.value,
                stderr: est.stderr,
                kl,
                expected_samples,
            })
        })
        .collect()
}

/// Honest reporting (math.md §4): split the prompts at random (seeded) into a held-out
/// fraction `frac` (at least one prompt each side) and calibration prompts, tune on the
/// calibration prompts, and estimate on the held-out prompts the tuned θ, the oracle θ
/// (tuned on the held-out prompts themselves) and the untuned default (the largest θ of
/// the range). Ranges and SBoN's `n` grid are resolved on the whole data set, so all
/// three use the same search space.
///
/// ```
/// use hedge_estimate::{holdout, synth, TuneSpec};
/// use hedge_math::MethodKind;
/// let d = synth::toy(100, 50, 2).unwrap().prepare().unwrap();
/// let h = holdout(&d, &TuneSpec::new(MethodKind::Bon), 0.3, 7).unwrap();
/// assert_eq!(h.prompts + h.calibration_prompts, 100);
/// assert!(h.oracle_reward >= h.tuned_reward - 1e-12);
/// ```
pub fn holdout(data: &Prepared, spec: &TuneSpec, frac: f64, seed: u64) -> Result<HoldoutReport> {
    Ok(holdout_values(data, spec, frac, seed)?.0)
}

/// The split of [`holdout`]: `(held-out, calibration)` prompt indices into `0..prompts`, each
/// ascending. `round(frac · prompts)` prompts (at least one each side) are held out, chosen
/// by a seeded shuffle: the same `(prompts, frac, seed)` always give the same split, so data
/// sets with the same prompts (e.g. one per proxy column of a file) split alike.
///
/// ```
/// let (held, cal) = hedge_estimate::holdout_split(10, 0.3, 7).unwrap();
/// assert_eq!((held.len(), cal.len()), (3, 7));
/// assert_eq!(hedge_estimate::holdout_split(10, 0.3, 7).unwrap().0, held);
/// ```
pub fn holdout_split(prompts: usize, frac: f64, seed: u64) -> Result<(Vec<usize>, Vec<usize>)> {
    let t = prompts;
    crate::spec::check_holdout(frac)?;
    if t < 2 {
        return Err(EstimateError::InvalidArgument {
            name: "prompts",
            value: t as f64,
            reason: "a hold-out split needs at least 2 prompts",
        });
    }
    let h = ((frac * t as f64).round() as usize).clamp(1, t - 1);
    let mut perm: Vec<usize> = (0..t).collect();
    perm.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let mut held = perm[..h].to_vec();
    let mut cal = perm[h..].to_vec();
    held.sort_unstable();
    cal.sort_unstable();
    Ok((held, cal))
}

/// [`holdout`], with the tuned θ's per-prompt values on the held-out prompts (for paired
/// comparisons across proxies on the same prompts).
pub(crate) fn holdout_values(
    data: &Prepared,
    spec: &TuneSpec,
    frac: f64,
    seed: u64,
) -> Result<(HoldoutReport, Vec<f64>)> {
    let (held, cal) = holdout_split(data.prompts(), frac, seed)?;
    let (lo, hi) = spec.resolve_range(data)?;
    let ns = spec.resolve_n_grid(data)?;
    let mut resolved = spec.clone().range(lo, hi);
    if spec.kind == MethodKind::Sbon {
        resolved = resolved.n_grid(ns.clone());
    }
    let held = data.subset(&held)?;
    let cal = data.subset(&cal)?;

    let tuned = tune(&cal, &resolved)?;
    let oracle = tune_shape(&held, &resolved)?;
    let on_held = |theta: f64, n: Option<u64>| -> Result<(crate::Estimate, Vec<f64>)> {
        let obj = Objective::new(&held, spec.kind, n, spec.estimator)?;
        Ok((obj.estimate(theta)?, obj.per_prompt(theta)?))
    };
    // The calibration prompts' choice as it would be deployed (the spec's selection rule).
    let (tuned_theta, tuned_n) = tuned.selected.map_or((tuned.theta, tuned.n), |s| (s.theta, s.n));
    let (tuned_est, tuned_values) = on_held(tuned_theta, tuned_n)?;
    let (default_theta, default_n) = match spec.kind {
        MethodKind::Bon => (hi.floor(), None),
        MethodKind::Sbon => (hi, ns.last().copied()),
        _ => (hi, None),
    };
    let (default_est, default_values) = on_held(default_theta, default_n)?;
    let report = HoldoutReport {
        fraction: frac,
        prompts: held.prompts(),
        calibration_prompts: cal.prompts(),
        tuned_theta,
        tuned_n,
        tuned_regime: tuned.regime,
        tuned_verdict: tuned.verdict.unwrap_or(Verdict::Inconclusive),
        tuned_reward: tuned_est.value,
        tuned_stderr: tuned_est.stderr,
        oracle_theta: oracle.theta,
        oracle_n: oracle.n,
        oracle_reward: oracle.expected_true_reward,
        default_theta,
        default_n,
        default_reward: default_est.value,
        default_stderr: default_est.stderr,
        tuned_vs_default: Paired::of(&tuned_values, &default_values),
    };
    Ok((report, tuned_values))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth;
    use proptest::prelude::*;

    const REALSUMM: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/realsumm/scores.csv");

    /// One proxy column of a long CSV, grouped by `prompt_id` (order of first appearance).
    fn load(path: &str, proxy_col: &str) -> Prepared {
        let mut rdr = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("cannot open {path}: {e}"));
        let headers = rdr.headers().unwrap().clone();
        let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
        let (ip, it, is) = (col("prompt_id"), col("true"), col(proxy_col));
        let mut index = std::collections::HashMap::new();
        let mut prompts: Vec<Vec<(f64, f64)>> = Vec::new();
        for rec in rdr.records() {
            let rec = rec.unwrap();
            let i = *index.entry(rec[ip].to_string()).or_insert_with(|| {
                prompts.push(Vec::new());
                prompts.len() - 1
            });
            prompts[i].push((rec[is].parse().unwrap(), rec[it].parse().unwrap()));
        }
        let mut offsets = vec![0];
        let (mut proxy, mut truth) = (Vec::new(), Vec::new());
        for p in &prompts {
            proxy.extend(p.iter().map(|x| x.0));
            truth.extend(p.iter().map(|x| x.1));
            offsets.push(proxy.len());
        }
        Prepared::new(&offsets, &proxy, &truth).unwrap()
    }

    fn rel(a: f64, b: f64) -> f64 {
        if a == b {
            0.0
        } else {
            (a - b).abs() / a.abs().max(b.abs())
        }
    }

    /// The same optimum on a sensible range and on ranges up to 1e300 (which once missed the
    /// peak: BoN's scan put its first interior point at n ≈ 25 000, where `f'` underflowed to 0),
    /// and, where an unclipped search still works (up to 1e5), the same as that search.
    #[test]
    fn huge_ranges_find_the_peak_on_realsumm() {
        let d = load(REALSUMM, "proxy_rouge_1_precision");
        assert_eq!(d.m_max(), 25);
        let plugin = [1e4, 1e5, 1e20, 1e100, 1e110, 1e300];
        let cases = [
            (MethodKind::Bon, Estimator::Plugin, 1.0, Some(25.0)),
            (MethodKind::Bop, Estimator::Plugin, 0.0, Some(24.0)),
            (MethodKind::Tilt, Estimator::Plugin, 0.0, Some(250.0)),
            // The paper's residual is no derivative: its answer depends on the range's end.
            (MethodKind::Bon, Estimator::Paper, 1.0, None),
            (MethodKind::Bop, Estimator::Paper, 0.0, None),
            (MethodKind::Tilt, Estimator::Paper, 0.0, None),
        ];
        let same = |kind: MethodKind, a: f64, b: f64| {
            if kind == MethodKind::Bon {
                a == b
            } else {
                rel(a, b) < 1e-9
            }
        };
        for (kind, est, lo, sensible) in cases {
            let spec = TuneSpec::new(kind).estimator(est);
            let obj = Objective::new(&d, kind, None, est).unwrap();
            let base = sensible.map(|hi| tune_shape(&d, &spec.clone().range(lo, hi)).unwrap());
            if let Some(b) = &base {
                assert!(b.notes.is_empty(), "{kind}: {:?}", b.notes);
                assert_eq!(b.regime, Regime::Hacking, "{kind}");
            }
            for h in plugin {
                let o = tune_shape(&d, &spec.clone().range(lo, h)).unwrap();
                let what = format!("{kind} {est} [{lo}, {h}]: {}", o.theta);
                if let Some(b) = &base {
                    assert!(same(kind, o.theta, b.theta), "{what} vs {}", b.theta);
                    assert_eq!(o.regime, b.regime, "{what}");
                    assert!(rel(o.expected_true_reward, b.expected_true_reward) < 1e-12, "{what}");
                }
                if h <= 1e5 {
                    let (theta, ..) = tune_one(&obj, lo, h, &spec).unwrap();
                    assert!(same(kind, o.theta, theta), "{what} vs unclipped {theta}");
                }
                // The search stopped where the curve went flat, and says so.
                let [TuneNote::RangeClipped { asked, searched, .. }] = o.notes[..] else {
                    panic!("{what}: notes {:?}", o.notes);
                };
                assert_eq!((asked, o.range), (h, (lo, searched)), "{what}");
                assert!(searched < 1e4, "{what}: searched up to {searched}");
            }
        }
        // BoN: [1, 1016] is searched, and n = 1016 is as good as n = 1e110.
        let o = tune_shape(&d, &TuneSpec::new(MethodKind::Bon).range(1.0, 1e110)).unwrap();
        assert_eq!((o.theta, o.range), (5.0, (1.0, 1016.0)));
        let obj = Objective::new(&d, MethodKind::Bon, None, Estimator::Plugin).unwrap();
        let (at, far) = (obj.value(1016.0).unwrap(), obj.value(1e110).unwrap());
        assert!((at - far).abs() <= 1e-17, "{at} vs {far}");
    }

    /// SBoN's β is clipped by the proxy's smallest gap; the full verdict runs on the clipped range.
    #[test]
    fn huge_sbon_and_verdict_ranges() {
        let d = load(REALSUMM, "proxy_rouge_1_precision");
        let spec = TuneSpec::new(MethodKind::Sbon).n(8);
        let base = tune_shape(&d, &spec.clone().range(0.0, 1e3)).unwrap();
        let o = tune_shape(&d, &spec.clone().range(0.0, 1e300)).unwrap();
        assert!(rel(o.theta, base.theta) < 1e-6, "{} vs {}", o.theta, base.theta);
        assert!(matches!(o.notes[..], [TuneNote::RangeClipped { min_gap: Some(_), .. }]));
        let full = tune(&d, &TuneSpec::new(MethodKind::Bon).range(1.0, 1e300)).unwrap();
        assert_eq!(full.theta, 5.0);
        assert!(full.verdict.is_some() && full.notes.len() == 1);
        let text = full.notes[0].to_string();
        assert!(
            text.starts_with("searched n up to 1016, not 1e300: with at most 25 responses"),
            "{text}"
        );
    }

    #[test]
    fn ordinary_ranges_are_not_clipped() {
        let d = synth::toy(30, 8, 1).unwrap().prepare().unwrap();
        for kind in MethodKind::ALL {
            let o = tune_shape(&d, &TuneSpec::new(kind).n_grid([2, 4])).unwrap();
            assert!(o.notes.is_empty(), "{kind}: {:?}", o.notes);
        }
        // Integer scores (gap 1) leave SBoN flat from β ≈ 43 on, but the default range is searched whole.
        let offsets: Vec<usize> = (0..=20).map(|t| 8 * t).collect();
        let proxy: Vec<f64> = (0..160).map(|i| ((i * 7) % 10) as f64).collect();
        let truth: Vec<f64> = (0..160).map(|i| ((i * 3) % 4) as f64).collect();
        let ints = Prepared::new(&offsets, &proxy, &truth).unwrap();
        let o = tune_shape(&ints, &TuneSpec::new(MethodKind::Sbon).n(4)).unwrap();
        assert_eq!((o.range, o.notes.len()), ((0.0, 1e3), 0));
        let o = tune_shape(&ints, &TuneSpec::new(MethodKind::Sbon).n(4).range(0.0, 1e9)).unwrap();
        assert_eq!(o.range, (0.0, 1e3));
        // The unbiased estimator's n ≤ min m: never clipped.
        assert_eq!(
            plateau_of(&d, &TuneSpec::new(MethodKind::Bon).estimator(Estimator::Unbiased), None),
            None
        );
        assert_eq!(ceil_sig(1036.16, 3), 1040.0);
        assert_eq!(ceil_sig(4.4e-7, 3), 4.4e-7);
    }

    #[cfg(feature = "serde")]
    #[test]
    fn notes_are_the_last_key_of_the_outcome() {
        let d = synth::toy(30, 8, 1).unwrap().prepare().unwrap();
        let spec = TuneSpec::new(MethodKind::Bop).range(0.0, 1e200);
        let r = crate::TuneReport::compute(&d, &spec, &crate::Checks::new(), |_| {}).unwrap();
        let v = serde_json::to_value(&r).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        let i = keys.iter().position(|&k| k == "notes").unwrap();
        assert_eq!((keys[i - 1], keys[i + 1]), ("selected", "seed"), "{keys:?}");
        assert!(
            v["notes"][0]
                .as_str()
                .unwrap()
                .starts_with("searched mu up to 332, not 1e200")
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Widening a range whose optimum is interior by any power of ten (up to 1e300) keeps the
        /// optimum.
        #[test]
        fn widening_keeps_an_interior_peak(
            kind in prop_oneof![Just(MethodKind::Bon), Just(MethodKind::Bop), Just(MethodKind::Tilt)],
            prompts in 20usize..120,
            m in 4usize..60,
            seed in 0u64..1000,
            k in 1i32..=300,
        ) {
            let d = synth::toy(prompts, m, seed).unwrap().prepare().unwrap();
            let spec = TuneSpec::new(kind);
            let narrow = tune_shape(&d, &spec).unwrap();
            let (lo, hi) = narrow.range;
            prop_assume!(narrow.theta > lo && narrow.theta < hi);
            let wide_hi = (hi * 10f64.powi(k)).min(1e300);
            let wide = tune_shape(&d, &spec.clone().range(lo, wide_hi)).unwrap();
            if kind == MethodKind::Bon {
                prop_assert_eq!(wide.theta, narrow.theta);
            } else {
                prop_assert!(rel(wide.theta, narrow.theta) < 1e-9, "{} vs {}", wide.theta, narrow.theta);
            }
            prop_assert_eq!(wide.regime, Regime::Hacking);
        }
    }
}
