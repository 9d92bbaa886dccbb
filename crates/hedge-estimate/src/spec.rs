//! What to tune and how: [`TuneSpec`], its defaults and the ranges and grids it resolves to on
//! a data set, and the tie rule of every tuning ([`best_of`]).

use hedge_math::{MethodKind, TuneOptions};

use crate::budget::{Budget, theta_for_samples};
use crate::error::{EstimateError, Result};
use crate::objective::Estimator;
use crate::prepared::Prepared;
use crate::verdict::{DEFAULT_CONFIDENCE, EVIDENCE_RESAMPLES, Select};

/// The one check of a confidence level (`--confidence`, `confidence=`): a level in `[0.5, 1)`.
/// The verdict's tests are one-sided at this level; below one half they would call noise a trend.
///
/// ```
/// assert_eq!(hedge_estimate::check_confidence(0.95).unwrap(), 0.95);
/// let e = hedge_estimate::check_confidence(1.0).unwrap_err();
/// assert_eq!(e.to_string(), "confidence must be a level in [0.5, 1), got 1");
/// ```
pub fn check_confidence(level: f64) -> Result<f64> {
    if (0.5..1.0).contains(&level) {
        Ok(level)
    } else {
        Err(EstimateError::OutOfDomain {
            name: "confidence",
            value: level,
            domain: CONFIDENCE_DOMAIN,
        })
    }
}

/// The one check of a held-out fraction (`--holdout`, `holdout=`): strictly between 0 and 1.
///
/// ```
/// assert_eq!(hedge_estimate::check_holdout(0.3).unwrap(), 0.3);
/// let e = hedge_estimate::check_holdout(1.5).unwrap_err();
/// assert_eq!(e.to_string(), "holdout must be a fraction strictly between 0 and 1, got 1.5");
/// ```
pub fn check_holdout(frac: f64) -> Result<f64> {
    if frac > 0.0 && frac < 1.0 {
        Ok(frac)
    } else {
        Err(EstimateError::OutOfDomain {
            name: "holdout",
            value: frac,
            domain: HOLDOUT_DOMAIN,
        })
    }
}

/// What [`check_confidence`] accepts, in words.
pub const CONFIDENCE_DOMAIN: &str = "a level in [0.5, 1)";
/// What [`check_holdout`] accepts, in words.
pub const HOLDOUT_DOMAIN: &str = "a fraction strictly between 0 and 1";

/// Default upper end of SBoN's β range (β is on the proxy's own scale).
pub const DEFAULT_SBON_BETA_MAX: f64 = 1e3;

/// Probability below which the ranks under a prompt's top one no longer count: past the θ where
/// the method leaves them at most this much together ([`hedge_math::tune::plateau`]), the estimated
/// curve is flat to within this fraction of the rewards' spread (below the rounding of an f64
/// reward, and far below the 1e-12 that ties two candidates), so the search stops there.
pub const PLATEAU_TAIL: f64 = 1e-18;

/// What to tune and how.
///
/// Defaults: the plug-in estimator; the range `[1, m_max]` for BoN (`[1, min m]` with
/// the unbiased estimator), `[0, m_max − 1]` for BoP, `[0, 10·m_max]` for the tilt and
/// `[0, 1e3]` for SBoN's β, where `m_max` is the largest number of responses of a
/// prompt; SBoN's `n` grid is the powers of two `2, 4, …, ≤ m_max`; the root finder scans
/// `f'` at 24 interior points (12 for SBoN, whose every evaluation integrates all prompts)
/// and solves to a relative 1e-13 in θ (1e-10 for SBoN's β), and values within a relative
/// 1e-12 are tied (the smaller θ, or the smaller SBoN `n`, wins).
///
/// ```
/// use hedge_estimate::{Estimator, TuneSpec};
/// use hedge_math::MethodKind;
/// let spec = TuneSpec::new(MethodKind::Sbon).n_grid([4, 16]).range(0.0, 50.0);
/// assert_eq!(spec.kind(), MethodKind::Sbon);
/// let spec = TuneSpec::new(MethodKind::Bon).estimator(Estimator::Unbiased);
/// assert_eq!(spec.get_estimator(), Estimator::Unbiased);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct TuneSpec {
    pub(crate) kind: MethodKind,
    pub(crate) range: Option<(f64, f64)>,
    pub(crate) n_grid: Option<Vec<u64>>,
    pub(crate) estimator: Estimator,
    pub(crate) scan_points: Option<usize>,
    pub(crate) xtol_rel: Option<f64>,
    pub(crate) tie_rel: f64,
    pub(crate) confidence: f64,
    pub(crate) select: Select,
    pub(crate) seed: u64,
    pub(crate) resamples: usize,
    pub(crate) budget: Budget,
}

impl TuneSpec {
    /// Tune `kind` with every default.
    pub fn new(kind: MethodKind) -> Self {
        Self {
            kind,
            range: None,
            n_grid: None,
            estimator: Estimator::Plugin,
            scan_points: None,
            xtol_rel: None,
            tie_rel: 1e-12,
            confidence: DEFAULT_CONFIDENCE,
            select: Select::Peak,
            seed: 0,
            resamples: EVIDENCE_RESAMPLES,
            budget: Budget::default(),
        }
    }
    /// Only θ whose expected samples per request are at most `b` (default: no limit): the
    /// range's high end is lowered to it (BoN `⌊b⌋`, BoP `b − 1`, the tilt's `λ` with
    /// `λ/(1 − e^{−λ}) = b`) and SBoN's `n` grid keeps the `n ≤ b`. Checked by [`tune`](fn@crate::tune):
    /// finite and ≥ 1, and some θ of the range must fit.
    pub fn max_samples(mut self, b: f64) -> Self {
        self.budget.max_samples = Some(b);
        self
    }
    /// Sets or clears [`TuneSpec::max_samples`].
    pub fn maybe_max_samples(mut self, b: Option<f64>) -> Self {
        self.budget.max_samples = b;
        self
    }
    /// Maximise `f(θ) − c · E[samples](θ)` instead of `f(θ)` (default 0): the price of one
    /// more sample in units of true reward. θ and the regime are those of the penalised
    /// objective; the reported `f`, KL and samples are unpenalised. Checked by [`tune`](fn@crate::tune):
    /// finite and ≥ 0.
    pub fn cost_per_sample(mut self, c: f64) -> Self {
        self.budget.cost_per_sample = c;
        self
    }
    /// The budget.
    pub fn get_budget(&self) -> Budget {
        self.budget
    }
    /// Search θ in `[lo, hi]` instead of the default range.
    pub fn range(mut self, lo: f64, hi: f64) -> Self {
        self.range = Some((lo, hi));
        self
    }
    /// SBoN: tune β for this one `n`.
    pub fn n(mut self, n: u64) -> Self {
        self.n_grid = Some(vec![n]);
        self
    }
    /// SBoN: tune β for each `n` of the grid, then keep the best `(n, β)`.
    pub fn n_grid(mut self, ns: impl Into<Vec<u64>>) -> Self {
        self.n_grid = Some(ns.into());
        self
    }
    /// The estimator (default [`Estimator::Plugin`]).
    pub fn estimator(mut self, e: Estimator) -> Self {
        self.estimator = e;
        self
    }
    /// Interior points at which `f'` is scanned for sign changes (default 24; 12 for SBoN).
    pub fn scan_points(mut self, k: usize) -> Self {
        self.scan_points = Some(k.max(1));
        self
    }
    /// Relative tolerance on θ of the root (default 1e-13; 1e-10 for SBoN).
    pub fn xtol_rel(mut self, tol: f64) -> Self {
        self.xtol_rel = Some(tol);
        self
    }
    /// Relative difference in `f` under which two candidates tie (default 1e-12).
    pub fn tie_rel(mut self, tol: f64) -> Self {
        self.tie_rel = tol;
        self
    }
    /// Confidence level of the verdict's tests and intervals (default 0.95; checked by
    /// [`tune`](fn@crate::tune): in `[0.5, 1)`, else [`EstimateError::InvalidArgument`]).
    pub fn confidence(mut self, level: f64) -> Self {
        self.confidence = level;
        self
    }
    /// Which θ to deploy (default [`Select::Peak`]); see [`TuneOutcome::selected`](crate::TuneOutcome::selected).
    pub fn select(mut self, rule: Select) -> Self {
        self.select = rule;
        self
    }
    /// Seed of the evidence's prompt bootstrap (default 0).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// Prompt resamples of the evidence's bootstrap (default [`EVIDENCE_RESAMPLES`], at least 1).
    pub fn resamples(mut self, b: usize) -> Self {
        self.resamples = b.max(1);
        self
    }
    /// The method.
    pub fn kind(&self) -> MethodKind {
        self.kind
    }
    /// The estimator.
    pub fn get_estimator(&self) -> Estimator {
        self.estimator
    }
    /// The confidence level.
    pub fn get_confidence(&self) -> f64 {
        self.confidence
    }
    /// The selection rule.
    pub fn get_select(&self) -> Select {
        self.select
    }
    /// The seed of the evidence's bootstrap.
    pub fn get_seed(&self) -> u64 {
        self.seed
    }
    /// The evidence's resamples.
    pub fn get_resamples(&self) -> usize {
        self.resamples
    }

    pub(crate) fn get_tie_rel(&self) -> f64 {
        self.tie_rel
    }

    pub(crate) fn options(&self) -> TuneOptions {
        let sbon = self.kind == MethodKind::Sbon;
        TuneOptions::new()
            // The paper's estimator is tuned the paper's way: the regime from the residual's
            // signs at the two ends, a root only between a + and a − end (no interior scan).
            .scan_points(self.scan_points.unwrap_or(match (self.estimator, sbon) {
                (Estimator::Paper, _) => 0,
                (_, true) => 12,
                (_, false) => 24,
            }))
            .xtol_rel(self.xtol_rel.unwrap_or(if sbon { 1e-10 } else { 1e-13 }))
            .tie_rel(self.tie_rel)
    }

    /// The range on `data`: the explicit one (validated) or the default.
    pub fn resolve_range(&self, data: &Prepared) -> Result<(f64, f64)> {
        let parameter = self.kind.parameter();
        let m_max = data.m_max() as f64;
        let unbiased = self.estimator == Estimator::Unbiased;
        let (lo, hi) = match self.range {
            Some(r) => r,
            None => match self.kind {
                MethodKind::Bon if unbiased => (1.0, data.m_min() as f64),
                MethodKind::Bon => (1.0, m_max),
                MethodKind::Bop => (0.0, m_max - 1.0),
                MethodKind::Tilt => (0.0, 10.0 * m_max),
                MethodKind::Sbon => (0.0, DEFAULT_SBON_BETA_MAX),
            },
        };
        if !(lo.is_finite() && hi.is_finite()) {
            return Err(EstimateError::InvalidRange {
                parameter,
                lo,
                hi,
                reason: "ends must be finite",
            });
        }
        if lo > hi {
            return Err(EstimateError::InvalidRange {
                parameter,
                lo,
                hi,
                reason: "low end above high end",
            });
        }
        let min = if self.kind == MethodKind::Bon { 1.0 } else { 0.0 };
        if lo < min {
            return Err(EstimateError::InvalidRange {
                parameter,
                lo,
                hi,
                reason: if min == 1.0 {
                    "n must be >= 1"
                } else {
                    "the parameter must be >= 0"
                },
            });
        }
        self.budget.check()?;
        let hi = match self.budget.max_samples {
            Some(b) => {
                let cap = theta_for_samples(self.kind, b);
                if cap < lo {
                    return Err(EstimateError::InvalidRange {
                        parameter,
                        lo,
                        hi: cap,
                        reason: "no parameter of the range fits within --max-samples",
                    });
                }
                hi.min(cap)
            }
            None => hi,
        };
        if unbiased {
            if hi > data.m_min() as f64 {
                return Err(EstimateError::NTooLarge {
                    n: hi.floor() as u64,
                    m: data.m_min(),
                });
            }
            if lo.ceil() > hi.floor() {
                return Err(EstimateError::InvalidRange {
                    parameter,
                    lo,
                    hi,
                    reason: "no integer n in range",
                });
            }
        }
        Ok((lo, hi))
    }

    /// SBoN's `n` values on `data` (sorted, deduplicated); empty for other methods.
    pub fn resolve_n_grid(&self, data: &Prepared) -> Result<Vec<u64>> {
        if self.kind != MethodKind::Sbon {
            return Ok(Vec::new());
        }
        let mut ns = match &self.n_grid {
            Some(ns) => ns.clone(),
            None => {
                let mut v = Vec::new();
                let mut n = 2u64;
                while n <= data.m_max() as u64 {
                    v.push(n);
                    n *= 2;
                }
                if v.is_empty() {
                    v.push(1);
                }
                v
            }
        };
        if ns.is_empty() || ns.contains(&0) {
            return Err(EstimateError::MissingN);
        }
        ns.sort_unstable();
        ns.dedup();
        if let Some(b) = self.budget.max_samples {
            self.budget.check()?;
            ns.retain(|&n| n as f64 <= b);
            if ns.is_empty() {
                return Err(EstimateError::InvalidArgument {
                    name: "max_samples",
                    value: b,
                    reason: "below every n of SBoN's grid",
                });
            }
        }
        Ok(ns)
    }
}

/// Best of `(θ, f)` pairs: the largest `f`, the smaller θ on a relative tie.
pub(crate) fn best_of(values: &[(f64, f64)], tie_rel: f64) -> (f64, f64) {
    let mut best = values[0];
    for &(t, v) in &values[1..] {
        if v > best.1 + tie_rel * best.1.abs() {
            best = (t, v);
        }
    }
    best
}
