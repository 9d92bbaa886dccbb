//! Which proxy, which ensemble, which method: a leaderboard judged on held-out prompts.
//!
//! [`compare`] takes one calibration set with several proxy columns (same prompts, same
//! responses, same true rewards) and, for every proxy — each column, and each
//! [ensemble](crate::ensemble) of the columns — and every method:
//!
//! 1. splits the prompts once ([`crate::holdout_split`]: the same split for every row);
//! 2. tunes θ on the calibration prompts ([`crate::holdout`]; an ensemble's `λ` too, on the
//!    calibration prompts only);
//! 3. estimates on the held-out prompts the tuned θ's true reward (± standard error), the
//!    held-out oracle's and "most samples"' (the range's high end);
//! 4. sorts the rows by held-out tuned reward and gives each its paired difference to the
//!    leader on the same held-out prompts (± paired standard error), so that ties show as ties.
//!
//! The leader is chosen on the held-out prompts it is then compared on, so its lead is
//! slightly optimistic (the winner's curse); differences within about two paired standard
//! errors are not evidence of a better proxy.
//!
//! ```
//! use hedge_estimate::compare::{compare, CompareSpec, ProxyColumn};
//! use hedge_estimate::ensemble::EnsembleRule;
//! use hedge_estimate::synth;
//! let s = synth::toy(200, 16, 1).unwrap();
//! // a second, noisier copy of the proxy
//! let noisy: Vec<f64> = s.proxy.iter().enumerate().map(|(i, p)| p + 0.3 * ((i * 7919 % 101) as f64 / 101.0)).collect();
//! let cols = [ProxyColumn::new("clean", &s.proxy), ProxyColumn::new("noisy", &noisy)];
//! let c = compare(&s.offsets, &s.truth, &cols, &CompareSpec::new().ensembles([EnsembleRule::MeanZ])).unwrap();
//! assert_eq!(c.entries.len(), 3); // two columns and one ensemble, BoN
//! assert_eq!(c.entries[0].versus_leader.difference, 0.0);
//! assert!(c.entries.iter().all(|e| e.holdout.prompts == 100));
//! ```

use hedge_math::MethodKind;

use crate::budget::{Budget, samples_and_slope};
use crate::ensemble::{EnsembleRule, UWO_LAMBDAS, combine, tune_uwo};
use crate::error::{EstimateError, Result};
use crate::objective::Estimator;
use crate::outcome::HoldoutReport;
use crate::prepared::Prepared;
use crate::spec::TuneSpec;
use crate::tune::{curve, holdout_split, holdout_values};
use crate::verdict::{DEFAULT_CONFIDENCE, Paired};

/// Default held-out fraction of [`compare`].
pub const DEFAULT_COMPARE_HOLDOUT: f64 = 0.5;

/// One proxy column: its name and its scores, row-aligned with the truth.
#[derive(Debug, Clone, Copy)]
pub struct ProxyColumn<'a> {
    /// Column name.
    pub name: &'a str,
    /// Scores, one per row.
    pub scores: &'a [f64],
}

impl<'a> ProxyColumn<'a> {
    /// A named column.
    pub fn new(name: &'a str, scores: &'a [f64]) -> Self {
        Self { name, scores }
    }
}

/// What [`compare`] computes (builder).
///
/// Defaults: BoN only; no ensembles; half the prompts held out; seed 0 (of the split and of
/// the verdicts' bootstrap); confidence 0.95; no budget; `uwo`'s `λ` from [`UWO_LAMBDAS`].
#[derive(Debug, Clone, PartialEq)]
pub struct CompareSpec {
    methods: Vec<MethodKind>,
    ensembles: Vec<EnsembleRule>,
    holdout: f64,
    seed: u64,
    confidence: f64,
    budget: Budget,
    lambdas: Vec<f64>,
}

impl Default for CompareSpec {
    fn default() -> Self {
        Self {
            methods: vec![MethodKind::Bon],
            ensembles: Vec::new(),
            holdout: DEFAULT_COMPARE_HOLDOUT,
            seed: 0,
            confidence: DEFAULT_CONFIDENCE,
            budget: Budget::default(),
            lambdas: UWO_LAMBDAS.to_vec(),
        }
    }
}

impl CompareSpec {
    /// Every default.
    pub fn new() -> Self {
        Self::default()
    }
    /// The methods (default BoN; duplicates dropped).
    pub fn methods(mut self, kinds: impl IntoIterator<Item = MethodKind>) -> Self {
        self.methods = distinct(kinds);
        self
    }
    /// Ensembles of all the columns to add as proxies (default none; duplicates dropped).
    pub fn ensembles(mut self, rules: impl IntoIterator<Item = EnsembleRule>) -> Self {
        self.ensembles = distinct(rules);
        self
    }
    /// Held-out fraction of the prompts (default 0.5; in `(0, 1)`).
    pub fn holdout(mut self, frac: f64) -> Self {
        self.holdout = frac;
        self
    }
    /// Seed of the split and of the verdicts' bootstrap (default 0).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// Confidence level of the verdicts (default 0.95).
    pub fn confidence(mut self, level: f64) -> Self {
        self.confidence = level;
        self
    }
    /// Tune every row under this budget (default none; see [`TuneSpec::max_samples`] and
    /// [`TuneSpec::cost_per_sample`]).
    pub fn budget(mut self, budget: Budget) -> Self {
        self.budget = budget;
        self
    }
    /// The `λ` values tried for `uwo` (default [`UWO_LAMBDAS`]).
    pub fn lambdas(mut self, lambdas: impl Into<Vec<f64>>) -> Self {
        self.lambdas = lambdas.into();
        self
    }
    /// The tuning spec of one method under this comparison's settings.
    pub fn tune_spec(&self, kind: MethodKind) -> TuneSpec {
        let mut spec = TuneSpec::new(kind)
            .seed(self.seed)
            .confidence(self.confidence)
            .maybe_max_samples(self.budget.max_samples);
        if self.budget.cost_per_sample != 0.0 {
            spec = spec.cost_per_sample(self.budget.cost_per_sample);
        }
        spec
    }
}

/// The items in first-seen order, without repeats.
pub(crate) fn distinct<T: PartialEq>(items: impl IntoIterator<Item = T>) -> Vec<T> {
    let mut out: Vec<T> = Vec::new();
    for x in items {
        if !out.contains(&x) {
            out.push(x);
        }
    }
    out
}

/// One row of the leaderboard: a proxy and a method.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The column name, or the ensemble's name (`mean-z(a,b,…)`).
    pub proxy: String,
    /// The ensemble's rule (`None`: a single column).
    pub rule: Option<EnsembleRule>,
    /// The ensemble's members (empty for a single column).
    pub members: Vec<String>,
    /// `uwo`'s `λ`, tuned on the calibration prompts.
    pub lambda: Option<f64>,
    /// The method.
    pub method: MethodKind,
    /// Tuned on the calibration prompts, judged on the held-out ones.
    pub holdout: HoldoutReport,
    /// Expected samples per request at the tuned θ.
    pub expected_samples: f64,
    /// This row's held-out tuned reward minus the leader's, paired on the held-out prompts.
    pub versus_leader: Paired,
    /// On the Pareto frontier of (held-out tuned reward ↑, expected samples ↓): no other row
    /// has at least its reward with at most its samples, and one of the two strictly.
    pub pareto: bool,
}

impl Entry {
    /// Held-out true reward of the tuned θ.
    pub fn reward(&self) -> f64 {
        self.holdout.tuned_reward
    }
    /// Whether the row is an ensemble.
    pub fn is_ensemble(&self) -> bool {
        self.rule.is_some()
    }
}

/// The result of [`compare`].
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// Seed of the split.
    pub seed: u64,
    /// The held-out fraction.
    pub holdout_fraction: f64,
    /// Prompts used (with at least two responses).
    pub prompts: usize,
    /// Prompts dropped for a single response.
    pub skipped_prompts: usize,
    /// Responses used.
    pub responses: usize,
    /// Held-out prompts.
    pub held_out_prompts: usize,
    /// Calibration prompts.
    pub calibration_prompts: usize,
    /// A random response's mean true reward on the held-out prompts (the same for every proxy).
    pub random: f64,
    /// The budget every row was tuned under.
    pub budget: Budget,
    /// The rows, best held-out tuned reward first.
    pub entries: Vec<Entry>,
    /// The best ensemble minus the best single column (held-out tuned rewards, paired on the
    /// held-out prompts), when both kinds are present.
    pub ensemble_vs_single: Option<EnsembleGain>,
}

impl Comparison {
    /// The leader's (first entry's) scores, one per row of `columns` (the columns given to
    /// [`compare`], with its `offsets`): its own column, or for an ensemble the
    /// [`combine`]d columns with its tuned `λ`. Empty when no row or no column of that name.
    ///
    /// # Errors
    ///
    /// Those of [`combine`].
    pub fn leader_scores(&self, offsets: &[usize], columns: &[ProxyColumn<'_>]) -> Result<Vec<f64>> {
        let Some(lead) = self.entries.first() else {
            return Ok(Vec::new());
        };
        match lead.rule {
            None => Ok(columns
                .iter()
                .find(|c| c.name == lead.proxy)
                .map(|c| c.scores.to_vec())
                .unwrap_or_default()),
            Some(rule) => {
                let members: Vec<&[f64]> = columns.iter().map(|c| c.scores).collect();
                combine(rule, offsets, &members, lead.lambda.unwrap_or(0.0))
            }
        }
    }
}

/// How the best ensemble row does against the best single-column row.
#[derive(Debug, Clone, PartialEq)]
pub struct EnsembleGain {
    /// Index in [`Comparison::entries`] of the best ensemble.
    pub ensemble: usize,
    /// Index of the best single column.
    pub single: usize,
    /// Ensemble minus single.
    pub paired: Paired,
}

/// Columns must be row-aligned with the truth and have distinct names.
fn check_columns(truth: &[f64], columns: &[ProxyColumn<'_>]) -> Result<()> {
    if columns.is_empty() {
        return Err(EstimateError::InvalidArgument {
            name: "columns",
            value: 0.0,
            reason: "compare needs at least one proxy column",
        });
    }
    for c in columns {
        if c.scores.len() != truth.len() {
            return Err(EstimateError::LengthMismatch {
                proxy: c.scores.len(),
                truth: truth.len(),
            });
        }
    }
    for (i, c) in columns.iter().enumerate() {
        if columns[..i].iter().any(|d| d.name == c.name) {
            return Err(EstimateError::InvalidArgument {
                name: "columns",
                value: i as f64,
                reason: "two proxy columns have the same name",
            });
        }
    }
    Ok(())
}

/// One proxy to judge: its name, its scores, and how it was built.
struct Candidate {
    proxy: String,
    rule: Option<EnsembleRule>,
    members: Vec<String>,
    /// The scores; empty for `uwo`, whose scores depend on the λ chosen per method.
    scores: Vec<f64>,
}

/// The leaderboard of every proxy column and ensemble × method (see the module docs).
///
/// Errors: no column, a column not row-aligned with `truth`, duplicate names, malformed
/// offsets or non-finite values (as [`Prepared::new`]), fewer than two prompts, an ensemble of
/// fewer than two columns, and every error of [`crate::holdout`].
pub fn compare(
    offsets: &[usize],
    truth: &[f64],
    columns: &[ProxyColumn<'_>],
    spec: &CompareSpec,
) -> Result<Comparison> {
    check_columns(truth, columns)?;
    if !spec.ensembles.is_empty() && columns.len() < 2 {
        return Err(EstimateError::InvalidArgument {
            name: "columns",
            value: columns.len() as f64,
            reason: "an ensemble needs at least two proxy columns",
        });
    }
    let mut candidates: Vec<Candidate> = columns
        .iter()
        .map(|c| Candidate {
            proxy: c.name.to_string(),
            rule: None,
            members: Vec::new(),
            scores: c.scores.to_vec(),
        })
        .collect();
    let members: Vec<&[f64]> = columns.iter().map(|c| c.scores).collect();
    let names: Vec<String> = columns.iter().map(|c| c.name.to_string()).collect();
    for &rule in &spec.ensembles {
        // uwo's scores depend on λ, chosen per method below: none here.
        candidates.push(Candidate {
            // Short names: the members are listed in `members`.
            proxy: if names.len() <= 3 {
                format!("{rule}({})", names.join(","))
            } else {
                format!("{rule}(all {} columns)", names.len())
            },
            rule: Some(rule),
            members: names.clone(),
            scores: match rule {
                EnsembleRule::Uwo => Vec::new(),
                _ => combine(rule, offsets, &members, 0.0)?,
            },
        });
    }
    let first = Prepared::new(offsets, &candidates[0].scores, truth)?;
    let (held, cal) = holdout_split(first.prompts(), spec.holdout, spec.seed)?;
    let random =
        curve(&first.subset(&held)?, MethodKind::Bon, &[1.0], None, Estimator::Plugin)?[0].expected_true_reward;

    let mut rows: Vec<(Entry, Vec<f64>)> = Vec::new();
    for c in &candidates {
        for &kind in &spec.methods {
            let tspec = spec.tune_spec(kind);
            let (scores, lambda) = match c.rule {
                Some(EnsembleRule::Uwo) => {
                    let choice = tune_uwo(offsets, &members, truth, &tspec, Some(&cal), &spec.lambdas)?;
                    (
                        combine(EnsembleRule::Uwo, offsets, &members, choice.lambda)?,
                        Some(choice.lambda),
                    )
                }
                _ => (c.scores.clone(), None),
            };
            let data = Prepared::from_vecs(offsets.to_vec(), scores, truth.to_vec())?;
            let (report, values) = holdout_values(&data, &tspec, spec.holdout, spec.seed)?;
            let expected_samples = samples_and_slope(kind, report.tuned_theta, report.tuned_n).0;
            rows.push((
                Entry {
                    proxy: c.proxy.clone(),
                    rule: c.rule,
                    members: c.members.clone(),
                    lambda,
                    method: kind,
                    holdout: report,
                    expected_samples,
                    versus_leader: Paired {
                        difference: 0.0,
                        stderr: 0.0,
                        z: f64::NAN,
                    },
                    pareto: false,
                },
                values,
            ));
        }
    }
    // Best first; a stable sort keeps the input order on exact ties.
    rows.sort_by(|a, b| b.0.reward().total_cmp(&a.0.reward()));
    let leader = rows[0].1.clone();
    for (e, v) in &mut rows {
        e.versus_leader = Paired::of(v, &leader);
    }
    mark_pareto(&mut rows);
    let best_single = rows.iter().position(|r| !r.0.is_ensemble());
    let best_ensemble = rows.iter().position(|r| r.0.is_ensemble());
    let ensemble_vs_single = match (best_ensemble, best_single) {
        (Some(e), Some(s)) => Some(EnsembleGain {
            ensemble: e,
            single: s,
            paired: Paired::of(&rows[e].1, &rows[s].1),
        }),
        _ => None,
    };
    Ok(Comparison {
        seed: spec.seed,
        holdout_fraction: spec.holdout,
        prompts: first.prompts(),
        skipped_prompts: first.skipped_prompts(),
        responses: first.rows(),
        held_out_prompts: held.len(),
        calibration_prompts: cal.len(),
        random,
        budget: spec.budget,
        entries: rows.into_iter().map(|r| r.0).collect(),
        ensemble_vs_single,
    })
}

/// Marks the rows no other row dominates in (reward ↑, expected samples ↓).
fn mark_pareto(rows: &mut [(Entry, Vec<f64>)]) {
    let points: Vec<(f64, f64)> = rows.iter().map(|r| (r.0.reward(), r.0.expected_samples)).collect();
    for (i, r) in rows.iter_mut().enumerate() {
        let (f, s) = points[i];
        r.0.pareto = !points
            .iter()
            .enumerate()
            .any(|(j, &(g, t))| j != i && g >= f && t <= s && (g > f || t < s));
    }
}
