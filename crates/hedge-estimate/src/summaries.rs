//! The typed results of the small commands: `hedge curve` ([`CurveReport`]), `hedge kl`
//! ([`KlReport`]), `hedge info` ([`FileSummary`]), `hedge demo` ([`DemoReport`]) and `hedge simulate
//! toy` ([`ToyReport`]).
//! Serialised (feature `serde`) by `wire/summaries.rs`, which fixes their JSON field order.

use hedge_math::kl_match::{bon_n_for_kl, bop_mu_for_kl, sbon_beta_for_kl, tilt_lambda_for_kl};
use hedge_math::population::{PopulationOptimum, tune as population_tune};
use hedge_math::toy::{toy_c, toy_reward};
use hedge_math::{Method, MethodKind, TuneOptions};

use crate::error::Result;
use crate::objective::{Estimator, Objective};
use crate::outcome::{CurvePoint, HoldoutReport};
use crate::prepared::Prepared;
use crate::survey::{RelativePoint, relative_points};

/// What `hedge curve` reports: the points of [`curve`](fn@crate::curve) on one data set, and
/// with `--versus` every point against one parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct CurveReport {
    /// The method.
    pub method: MethodKind,
    /// The estimator of `f(θ)`.
    pub estimator: Estimator,
    /// Where the data came from (a path or a store).
    pub source: String,
    /// Prompts used.
    pub prompts: usize,
    /// Prompts skipped (a single response).
    pub skipped_prompts: usize,
    /// The curve.
    pub points: Vec<CurvePoint>,
    /// SBoN's number of candidates.
    pub n: Option<u64>,
    /// `--versus`: every point against one parameter.
    pub versus: Option<Versus>,
}

/// Every point of a curve against one parameter, paired on the same prompts:
/// `f(θ) − f(theta)` with its paired standard error.
#[derive(Debug, Clone, PartialEq)]
pub struct Versus {
    /// The reference parameter.
    pub theta: f64,
    /// One per point of the curve, in its order.
    pub points: Vec<RelativePoint>,
}

/// `hedge curve --versus`: every point of `points` (a [`curve`](fn@crate::curve) of `kind` with
/// `n` and `estimator` on `data`) against the parameter `theta`, paired on the same prompts:
/// `f(θ) − f(theta)` with its paired standard error.
///
/// # Errors
///
/// Those of [`Objective::new`] and [`Objective::per_prompt`] (e.g. a parameter outside the
/// method's domain).
pub fn curve_versus(
    data: &Prepared,
    kind: MethodKind,
    n: Option<u64>,
    estimator: Estimator,
    theta: f64,
    points: &[CurvePoint],
) -> Result<Versus> {
    let obj = Objective::new(data, kind, n, estimator)?;
    Ok(Versus {
        theta,
        points: relative_points(&obj, theta, points)?,
    })
}

/// What `hedge kl` reports: a method's KL to the reference, mean chosen quantile and cost, and the
/// other methods' parameters at the same KL.
#[derive(Debug, Clone, PartialEq)]
pub struct KlReport {
    /// The method.
    pub method: MethodKind,
    /// Its parameter.
    pub theta: f64,
    /// KL to the reference (nats).
    pub kl: f64,
    /// Mean chosen quantile.
    pub mean_quantile: f64,
    /// Candidates drawn per request.
    pub expected_samples: f64,
    /// The other methods at the same KL, in [`MethodKind::ALL`] order.
    pub same_kl: Vec<SameKl>,
    /// SBoN's number of candidates (SBoN only).
    pub n: Option<u64>,
}

/// Another method at the same KL.
#[derive(Debug, Clone, PartialEq)]
pub struct SameKl {
    /// The method.
    pub method: MethodKind,
    /// Its parameter at the same KL; `None` when it cannot reach it.
    pub theta: Option<f64>,
    /// Why `theta` is `None`.
    pub note: Option<String>,
    /// SBoN's number of candidates (SBoN only).
    pub n: Option<u64>,
}

/// The number of candidates of the SBoN listed beside another method by [`KlReport::of`] when no
/// `n` is given.
pub const DEFAULT_SAME_KL_SBON_N: u64 = 16;

impl KlReport {
    /// The report of `method` (of `kind`, at `theta`; `n` is SBoN's number of candidates, and for
    /// the other methods the n of the SBoN listed at the same KL, [`DEFAULT_SAME_KL_SBON_N`] when
    /// `None`).
    pub fn of(kind: MethodKind, theta: f64, n: Option<u64>, method: &Method) -> Self {
        let d = method.as_dyn();
        Self {
            method: kind,
            theta,
            kl: d.kl(),
            mean_quantile: d.mean_quantile(),
            expected_samples: d.expected_samples(),
            same_kl: same_kl(kind, d.kl(), n.unwrap_or(DEFAULT_SAME_KL_SBON_N)),
            n: n.filter(|_| kind == MethodKind::Sbon),
        }
    }
}

/// The other methods' parameters at KL `kl` (SBoN at `sbon_n` candidates).
fn same_kl(kind: MethodKind, kl: f64, sbon_n: u64) -> Vec<SameKl> {
    MethodKind::ALL
        .into_iter()
        .filter(|&o| o != kind)
        .map(|other| {
            let found = match other {
                MethodKind::Bon => bon_n_for_kl(kl),
                MethodKind::Bop => bop_mu_for_kl(kl),
                MethodKind::Tilt => tilt_lambda_for_kl(kl),
                MethodKind::Sbon => sbon_beta_for_kl(sbon_n, kl),
            };
            let (theta, note) = match found {
                Ok(t) => (Some(t), None),
                Err(e) => (None, Some(e.to_string())),
            };
            SameKl {
                method: other,
                theta,
                note,
                n: (other == MethodKind::Sbon).then_some(sbon_n),
            }
        })
        .collect()
}

/// What `hedge info` reports about a loaded calibration file. Plain numbers, so that this crate
/// needs no file loader: the caller fills it from what it loaded.
#[derive(Debug, Clone, PartialEq)]
pub struct FileSummary {
    /// Where the data came from.
    pub source: String,
    /// Prompts kept.
    pub prompts: usize,
    /// Rows kept.
    pub rows: usize,
    /// Rows read.
    pub rows_read: usize,
    /// Prompts skipped (a single response).
    pub skipped_prompts: usize,
    /// Fewest responses of a prompt.
    pub responses_min: usize,
    /// Most responses of a prompt.
    pub responses_max: usize,
    /// The proxy column.
    pub proxy: ColumnStats,
    /// The true-reward column.
    pub truth: ColumnStats,
    /// Seconds spent loading.
    pub load_seconds: f64,
}

/// Smallest, largest and mean of a column.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ColumnStats {
    /// Smallest value (`+∞` for no values).
    pub min: f64,
    /// Largest value (`−∞` for no values).
    pub max: f64,
    /// Mean (0 for no values).
    pub mean: f64,
}

impl ColumnStats {
    /// The statistics of `xs`, in one pass.
    ///
    /// ```
    /// let s = hedge_estimate::ColumnStats::of(&[1.0, 3.0, 2.0]);
    /// assert_eq!((s.min, s.max, s.mean), (1.0, 3.0, 2.0));
    /// ```
    pub fn of(xs: &[f64]) -> Self {
        let (mut min, mut max, mut sum) = (f64::INFINITY, f64::NEG_INFINITY, 0.0);
        for &x in xs {
            min = min.min(x);
            max = max.max(x);
            sum += x;
        }
        Self {
            min,
            max,
            mean: sum / xs.len().max(1) as f64,
        }
    }
}

/// What `hedge demo` reports: every method's hold-out on each synthetic case.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoReport {
    /// The seed of the data and of the split.
    pub seed: u64,
    /// The held-out fraction.
    pub holdout: f64,
    /// The cases.
    pub cases: Vec<DemoCase>,
}

/// One synthetic case of [`DemoReport`].
#[derive(Debug, Clone, PartialEq)]
pub struct DemoCase {
    /// Its name.
    pub case: &'static str,
    /// What its data are.
    pub description: &'static str,
    /// Prompts.
    pub prompts: usize,
    /// Responses per prompt.
    pub responses: usize,
    /// One per method.
    pub results: Vec<DemoMethod>,
}

/// One method of a [`DemoCase`]: its hold-out report.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoMethod {
    /// The method.
    pub method: MethodKind,
    /// Its hold-out (the same object as `"holdout"` in `hedge tune --json`).
    pub holdout: HoldoutReport,
}

/// What `hedge simulate toy` reports: the paper's analytic example (true reward
/// `r(u) = u¹² (1 − u) / C` of the proxy quantile `u`), tuned on the population for every method.
#[derive(Debug, Clone, PartialEq)]
pub struct ToyReport {
    /// The normalising constant `C`.
    pub c: f64,
    /// The range searched for every method's parameter, `[0, max_theta]` (BoN from 1).
    pub max_theta: f64,
    /// BoN, BoP, the tilt, then SBoN for each requested `n`.
    pub results: Vec<PopulationOptimum>,
}

impl ToyReport {
    /// The formula of the toy's true reward, as the report names it.
    pub const TRUE_REWARD: &'static str = "r(u) = u^12 (1-u) / C";

    /// Tune BoN (on `[1, max_theta]`), BoP and the tilt (on `[0, max_theta]`), and SBoN for every
    /// `n` of `sbon_n` (β on `[0, max_theta]`) on the toy population.
    ///
    /// ```
    /// let r = hedge_estimate::ToyReport::compute(1000.0, &[16]).unwrap();
    /// assert_eq!(r.results.len(), 4);
    /// assert_eq!(r.results[0].theta, 12.0); // BoN's integer optimum of the toy
    /// ```
    ///
    /// # Errors
    ///
    /// Those of [`hedge_math::population::tune`] (e.g. `max_theta` below BoN's 1).
    pub fn compute(max_theta: f64, sbon_n: &[u64]) -> Result<Self> {
        let opts = TuneOptions::default();
        let hi = max_theta;
        let mut results = vec![
            population_tune(MethodKind::Bon, None, 1.0, hi, &toy_reward, &opts)?,
            population_tune(MethodKind::Bop, None, 0.0, hi, &toy_reward, &opts)?,
            population_tune(MethodKind::Tilt, None, 0.0, hi, &toy_reward, &opts)?,
        ];
        for &n in sbon_n {
            results.push(population_tune(MethodKind::Sbon, Some(n), 0.0, hi, &toy_reward, &opts)?);
        }
        Ok(Self {
            c: toy_c(),
            max_theta,
            results,
        })
    }
}
