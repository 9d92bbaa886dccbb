//! A survey of one calibration set: every method tuned, the curves that show it, the
//! baselines, the proxy profile and where hacking starts — what `hedge report` draws and
//! writes to `summary.json`, decided here so that the report only renders.
//!
//! The curves' grids are numerical choices with these defaults (see [`SurveySpec`]):
//!
//! | method | grid | range drawn |
//! |---|---|---|
//! | BoN | every integer `n` of the range, or 80 even in `ln n` ([`hedge_math::grid::integers`]) | the tuning range |
//! | BoP | 80 points even in `ln(1 + μ)` ([`hedge_math::grid::LogGrid`]) | the tuning range |
//! | tilt | 80 points even in `ln(1 + λ)` | `[lo, min(hi, max(m_max, 2λ†))]`: about the KL of BoN's largest `n`, and well past the optimum |
//! | SBoN | 40 points even in `ln(1 + β)` for the tuned `n` and the largest others, at most three `n` | the tuning range |
//!
//! and each grid also holds the tuned parameter itself.

use hedge_math::MethodKind;
use hedge_math::grid::{LogGrid, integers, linear, with_extra};

use crate::budget::Budget;
use crate::error::Result;
use crate::objective::{Estimator, Objective};
use crate::outcome::{CurvePoint, TuneOutcome};
use crate::prepared::Prepared;
use crate::profile::{ProfileBin, quantile_profile};
use crate::report::{Checks, Source, TuneReport};
use crate::spec::TuneSpec;
use crate::tune::curve;
use crate::verdict::{DEFAULT_CONFIDENCE, Paired, Verdict};

/// Points of the BoP and tilt curves of a survey.
pub const SURVEY_POINTS: usize = 80;
/// Points of each SBoN curve of a survey (each costs a pass over every prompt).
pub const SURVEY_SBON_POINTS: usize = 40;
/// At most this many SBoN curves (the tuned `n` and the largest others).
pub const SURVEY_SBON_CURVES: usize = 3;
/// BoN curves list every integer `n` up to this many (plus 40), else this many even in `ln n`.
pub const SURVEY_BON_POINTS: usize = 80;
/// Points of the continuous curves of [`outcome_curves`].
pub const OUTCOME_POINTS: usize = 120;

/// A curve of `f(θ)` over a grid, with where the tuning range's ends sit in it.
#[derive(Debug, Clone, PartialEq)]
pub struct Curve {
    /// SBoN: the number of candidates of this curve.
    pub n: Option<u64>,
    /// The points, θ ascending.
    pub points: Vec<CurvePoint>,
    /// Index of the range's low end in `points`, when the curve starts there.
    pub lo: Option<usize>,
    /// Index of the range's high end in `points`, when the curve reaches it.
    pub hi: Option<usize>,
    /// `f(θ) − f(θ†)` at each point against the tuned optimum, paired on the same prompts
    /// (BoN, BoP and the tilt in a survey; empty otherwise).
    pub relative: Vec<RelativePoint>,
}

/// A point of a curve relative to the tuned optimum: `f(θ) − f(θ†)` with its paired standard error.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct RelativePoint {
    /// The parameter.
    pub theta: f64,
    /// Expected samples per request there.
    pub expected_samples: f64,
    /// `f(θ) − f(θ†)`, paired.
    #[cfg_attr(feature = "serde", serde(flatten))]
    pub paired: Paired,
}

impl Curve {
    /// The point at the range's low end.
    pub fn at_lo(&self) -> Option<&CurvePoint> {
        self.lo.and_then(|i| self.points.get(i))
    }
    /// The point at the range's high end.
    pub fn at_hi(&self) -> Option<&CurvePoint> {
        self.hi.and_then(|i| self.points.get(i))
    }
}

/// The curve of `o`'s method on `grid` plus the parameter `extra` (when inside the grid's span).
/// Every grid here starts at the range's low end (BoN: its first integer), so that end is
/// index 0; the high end is the last index when `reaches_hi` (the grid was built to end there).
fn grid_curve(
    data: &Prepared,
    o: &TuneOutcome,
    n: Option<u64>,
    grid: Vec<f64>,
    extra: f64,
    reaches_hi: bool,
) -> Result<Curve> {
    let (first, last) = (grid[0], grid[grid.len() - 1]);
    let thetas = with_extra(grid, first, last, &[extra]);
    let points = curve(data, o.method, &thetas, n, o.estimator)?;
    let hi = if reaches_hi { points.len().checked_sub(1) } else { None };
    Ok(Curve {
        n,
        points,
        lo: Some(0),
        hi,
        relative: Vec::new(),
    })
}

/// BoN's curve at its integers over the whole range (every integer, or [`SURVEY_BON_POINTS`] even in `ln n`).
fn bon_curve(data: &Prepared, o: &TuneOutcome) -> Result<Curve> {
    grid_curve(
        data,
        o,
        None,
        integers(o.range.0, o.range.1, SURVEY_BON_POINTS),
        o.theta,
        true,
    )
}

/// Which SBoN `n` a survey draws: the tuned one and the largest others, at most `k`, ascending.
fn sbon_curve_ns(o: &TuneOutcome, k: usize) -> Vec<u64> {
    let mut ns: Vec<u64> = o.sbon.iter().map(|r| r.n).collect();
    ns.sort_unstable();
    let mut pick: Vec<u64> = o.n.into_iter().collect();
    for &n in ns.iter().rev() {
        if pick.len() >= k {
            break;
        }
        if !pick.contains(&n) {
            pick.push(n);
        }
    }
    pick.sort_unstable();
    pick
}

/// The curves of one method in a survey (see the module docs for the grids).
pub fn survey_curves(data: &Prepared, o: &TuneOutcome) -> Result<Vec<Curve>> {
    let (lo, hi) = o.range;
    let theta = o.theta;
    let mut curves = match o.method {
        MethodKind::Bon => vec![bon_curve(data, o)?],
        MethodKind::Bop => vec![grid_curve(
            data,
            o,
            None,
            LogGrid::new(lo, hi, SURVEY_POINTS).points(),
            theta,
            true,
        )?],
        MethodKind::Tilt => {
            let cap = (data.m_max() as f64).max(2.0 * theta);
            let top = hi.min(cap).max(lo);
            let grid = LogGrid::new(lo, top, SURVEY_POINTS).points();
            vec![grid_curve(data, o, None, grid, theta, hi <= cap)?]
        }
        MethodKind::Sbon => sbon_curve_ns(o, SURVEY_SBON_CURVES)
            .into_iter()
            .map(|n| {
                let beta = o.sbon.iter().find(|r| r.n == n).map_or(f64::NAN, |r| r.beta);
                grid_curve(
                    data,
                    o,
                    Some(n),
                    LogGrid::new(lo, hi, SURVEY_SBON_POINTS).points(),
                    beta,
                    true,
                )
            })
            .collect::<Result<_>>()?,
    };
    if o.method != MethodKind::Sbon {
        let obj = Objective::new(data, o.method, None, o.estimator)?;
        for c in &mut curves {
            c.relative = relative_points(&obj, theta, &c.points)?;
        }
    }
    Ok(curves)
}

/// `f(θ) − f(reference)` at each point's θ, paired on the same prompts: the per-prompt values of
/// `obj` at θ against those at `reference` ([`Paired::of`]). Behind a survey's
/// `relative_to_optimum` and `hedge curve --versus` ([`crate::curve_versus`]).
pub(crate) fn relative_points(
    obj: &Objective<'_>,
    reference: f64,
    points: &[CurvePoint],
) -> Result<Vec<RelativePoint>> {
    let base = obj.per_prompt(reference)?;
    points
        .iter()
        .map(|p| {
            let paired = Paired::of(&obj.per_prompt(p.theta)?, &base);
            Ok(RelativePoint {
                theta: p.theta,
                expected_samples: p.expected_samples,
                paired,
            })
        })
        .collect()
}

/// The curves a plot of one tuning outcome shows (`hedge tune --plot`), and how far they go.
#[derive(Debug, Clone, PartialEq)]
pub struct OutcomeCurves {
    /// One curve, or one per SBoN `n` of the grid.
    pub curves: Vec<Curve>,
    /// `Some(top)` when the curves stop at `top` short of the range's high end because the
    /// optimum sits in the first eighth of a wide range (not for BoN): they then go to
    /// `lo + 4 (θ† − lo)`.
    pub zoomed_to: Option<f64>,
}

/// The curves of [`OutcomeCurves`]: BoN at its integers ([`hedge_math::grid::integers`], 80),
/// SBoN 40 points even in `ln(1 + β)` per `n` of the grid, the others [`OUTCOME_POINTS`] evenly
/// spaced; every grid holds the tuned parameter. Uses the outcome's own estimator.
pub fn outcome_curves(data: &Prepared, o: &TuneOutcome) -> Result<OutcomeCurves> {
    let (lo, hi) = o.range;
    let theta = o.theta;
    let zoom = theta > lo && theta < hi && theta - lo < (hi - lo) / 8.0 && o.method != MethodKind::Bon;
    let top = if zoom { lo + 4.0 * (theta - lo) } else { hi };
    let curves = match o.method {
        MethodKind::Bon => vec![bon_curve(data, o)?],
        MethodKind::Sbon => o
            .sbon
            .iter()
            .map(|r| {
                grid_curve(
                    data,
                    o,
                    Some(r.n),
                    LogGrid::new(lo, top, SURVEY_SBON_POINTS).points(),
                    r.beta,
                    !zoom,
                )
            })
            .collect::<Result<_>>()?,
        _ => vec![grid_curve(
            data,
            o,
            None,
            linear(lo, top, OUTCOME_POINTS),
            theta,
            !zoom,
        )?],
    };
    Ok(OutcomeCurves {
        curves,
        zoomed_to: zoom.then_some(top),
    })
}

/// What a survey computes (builder).
///
/// Defaults: BoN, BoP, the tilt and SBoN, in that order; no hold-out; seed 0 (of the hold-out
/// split and of the verdicts' bootstrap); confidence 0.95; 20 bins of the proxy profile (at
/// most the largest number of responses of a prompt are used). Always the plug-in estimator.
///
/// ```
/// use hedge_estimate::{SurveySpec, synth, survey};
/// use hedge_math::MethodKind;
/// let d = synth::toy(60, 16, 1).unwrap().prepare().unwrap();
/// let s = survey(&d, &SurveySpec::new().methods([MethodKind::Bon, MethodKind::Bop]).bins(8)).unwrap();
/// assert_eq!(s.methods.len(), 2);
/// assert_eq!(s.methods[0].curves[0].at_hi().unwrap().theta, 16.0);
/// assert_eq!(s.profile.bins, 8);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SurveySpec {
    methods: Vec<MethodKind>,
    checks: Checks,
    bins: usize,
    confidence: f64,
    budget: Budget,
}

impl Default for SurveySpec {
    fn default() -> Self {
        Self {
            methods: MethodKind::ALL.to_vec(),
            checks: Checks::new(),
            bins: 20,
            confidence: DEFAULT_CONFIDENCE,
            budget: Budget::default(),
        }
    }
}

impl SurveySpec {
    /// Every default.
    pub fn new() -> Self {
        Self::default()
    }
    /// The methods, in this order (duplicates are dropped).
    pub fn methods(mut self, kinds: impl IntoIterator<Item = MethodKind>) -> Self {
        self.methods = crate::compare::distinct(kinds);
        self
    }
    /// Hold out this fraction of prompts for every method (default: none).
    pub fn holdout(mut self, frac: Option<f64>) -> Self {
        self.checks = self.checks.maybe_holdout(frac);
        self
    }
    /// Seed of the hold-out split (default 0).
    pub fn seed(mut self, seed: u64) -> Self {
        self.checks = self.checks.seed(seed);
        self
    }
    /// Bins of the proxy profile (default 20; [`crate::quantile_profile`] refuses 0).
    pub fn bins(mut self, bins: usize) -> Self {
        self.bins = bins;
        self
    }
    /// Confidence level of every method's verdict (default 0.95; see [`TuneSpec::confidence`]).
    pub fn confidence(mut self, level: f64) -> Self {
        self.confidence = level;
        self
    }
    /// Tune every method under this budget (default none; see [`TuneSpec::max_samples`] and
    /// [`TuneSpec::cost_per_sample`]).
    pub fn budget(mut self, budget: Budget) -> Self {
        self.budget = budget;
        self
    }
}

/// One method of a [`Survey`]: its tuning report and its curves.
#[derive(Debug, Clone, PartialEq)]
pub struct MethodSurvey {
    /// The same report as `hedge tune --json` for this method.
    pub report: TuneReport,
    /// One curve (SBoN: one per `n` drawn).
    pub curves: Vec<Curve>,
    /// `f` at this method's optimum minus `f` at the best method's ([`Survey::best`]), paired on
    /// the same prompts.
    pub versus_best: Paired,
}

impl MethodSurvey {
    /// The method.
    pub fn kind(&self) -> MethodKind {
        self.report.outcome.method
    }
    /// The tuned outcome on all prompts.
    pub fn outcome(&self) -> &TuneOutcome {
        &self.report.outcome
    }
}

/// The calibration set in numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataSummary {
    /// Prompts used.
    pub prompts: usize,
    /// Prompts dropped for a single response.
    pub skipped_prompts: usize,
    /// Responses (rows) used.
    pub responses: usize,
    /// Fewest responses of a prompt.
    pub m_min: usize,
    /// Most responses of a prompt.
    pub m_max: usize,
}

/// The proxy profile `r(u)` ([`crate::quantile_profile`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// Bins used.
    pub bins: usize,
    /// The non-empty bins, ascending in `u`.
    pub points: Vec<ProfileBin>,
}

/// How many of the top bin's standard errors the peak bin of a [`Profile`] must beat it by for
/// [`Profile::peak_resolved`]: a fixed two-standard-error rule (not the `--confidence` level).
pub const PROFILE_GAP_STDERRS: f64 = crate::verdict::READING_Z;

impl Profile {
    /// Whether the profile shows the true reward falling at the proxy's top: the peak bin
    /// ([`Profile::peak`]) lies below the top bin ([`Profile::top`]) in `u`, and its mean true
    /// reward exceeds the top bin's by more than [`PROFILE_GAP_STDERRS`] times the top bin's
    /// standard error (by more than 0 when that standard error is not finite). `false` for an
    /// empty profile.
    pub fn peak_resolved(&self) -> bool {
        let (Some(top), Some(peak)) = (self.top(), self.peak()) else {
            return false;
        };
        let gap = peak.mean_true_reward - top.mean_true_reward;
        let resolved = gap
            > if top.stderr.is_finite() {
                PROFILE_GAP_STDERRS * top.stderr
            } else {
                0.0
            };
        peak.quantile < top.quantile && resolved
    }
    /// The top bin (the proxy's favourite responses).
    pub fn top(&self) -> Option<&ProfileBin> {
        self.points.last()
    }
    /// The bin with the highest mean true reward (the top bin on a tie).
    pub fn peak(&self) -> Option<&ProfileBin> {
        let top = self.top()?;
        Some(
            self.points
                .iter()
                .fold(top, |b, p| if p.mean_true_reward > b.mean_true_reward { p } else { b }),
        )
    }
}

/// Where hacking starts: the peak of BoN when its verdict is [`Verdict::Hacking`] (a decline
/// after the peak that is significant, see [`crate::Evidence`]), else of the first other method
/// (not SBoN, whose β has no common scale) with that verdict.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Threshold {
    /// Index of the method in [`Survey::methods`].
    pub index: usize,
    /// The method.
    pub method: MethodKind,
    /// Its tuned parameter.
    pub theta: f64,
    /// BoN: the continuous root `n†`.
    pub theta_continuous: Option<f64>,
    /// KL to the reference there.
    pub kl: f64,
    /// Expected samples there.
    pub expected_samples: f64,
}

impl Threshold {
    /// Expected samples where hacking starts: BoN's continuous root, else the expected samples.
    pub fn samples(&self) -> f64 {
        match (self.method, self.theta_continuous) {
            (MethodKind::Bon, Some(c)) => c,
            _ => self.expected_samples,
        }
    }
}

/// Everything `hedge report` shows about a calibration set ([`survey`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Survey {
    /// Where the data came from, when known.
    pub source: Option<Source>,
    /// The data in numbers.
    pub data: DataSummary,
    /// Seed of the hold-out split.
    pub seed: u64,
    /// The held-out fraction, if any.
    pub holdout_fraction: Option<f64>,
    /// Every method, in the spec's order.
    pub methods: Vec<MethodSurvey>,
    /// A random response (BoN at n = 1): the baseline every method starts from.
    pub random: CurvePoint,
    /// The proxy profile.
    pub profile: Profile,
    /// Where hacking starts, if any method's decline after its peak is significant.
    pub threshold: Option<Threshold>,
    /// Index in [`Survey::methods`] of the method whose optimum has the largest estimated `f`.
    pub best: usize,
}

impl Survey {
    /// The method whose verdict leads: BoN when surveyed, else the first.
    pub fn primary(&self) -> usize {
        self.methods
            .iter()
            .position(|m| m.kind() == MethodKind::Bon)
            .unwrap_or(0)
    }

    /// Name the data's source (for every report too).
    pub fn with_source(mut self, source: Option<Source>) -> Self {
        for m in &mut self.methods {
            m.report.source = source.clone();
        }
        self.source = source;
        self
    }

    /// Add prompts a loader dropped before the data pass to every count of skipped prompts.
    pub fn add_skipped(mut self, skipped: usize) -> Self {
        self.data.skipped_prompts += skipped;
        for m in &mut self.methods {
            m.report.skipped_prompts += skipped;
        }
        self
    }
}

/// Where hacking starts (see [`Threshold`]).
fn threshold(methods: &[MethodSurvey]) -> Option<Threshold> {
    let hacking = |m: &MethodSurvey| m.outcome().verdict == Some(Verdict::Hacking);
    let index = methods
        .iter()
        .position(|m| m.kind() == MethodKind::Bon && hacking(m))
        .or_else(|| methods.iter().position(|m| hacking(m) && m.kind() != MethodKind::Sbon))?;
    let o = methods[index].outcome();
    Some(Threshold {
        index,
        method: o.method,
        theta: o.theta,
        theta_continuous: o.theta_continuous,
        kl: o.kl,
        expected_samples: o.expected_samples,
    })
}

/// Survey `data`: tune every method of `spec` (plug-in estimator, the default ranges), draw
/// its curves, the random-response baseline and the proxy profile, and find where hacking
/// starts. Each method's report is exactly what [`TuneReport::compute`] gives for
/// `TuneSpec::new(kind)` with the survey's hold-out and seed.
pub fn survey(data: &Prepared, spec: &SurveySpec) -> Result<Survey> {
    let mut methods = Vec::with_capacity(spec.methods.len());
    let mut optima = Vec::with_capacity(spec.methods.len());
    for &kind in &spec.methods {
        let mut tune_spec = TuneSpec::new(kind)
            .confidence(spec.confidence)
            .seed(spec.checks.get_seed())
            .maybe_max_samples(spec.budget.max_samples);
        if spec.budget.cost_per_sample != 0.0 {
            tune_spec = tune_spec.cost_per_sample(spec.budget.cost_per_sample);
        }
        let report = TuneReport::compute(data, &tune_spec, &spec.checks, |_| {})?;
        let curves = survey_curves(data, &report.outcome)?;
        let o = &report.outcome;
        optima.push(Objective::new(data, kind, o.n, o.estimator)?.per_prompt(o.theta)?);
        let none = Paired {
            difference: 0.0,
            stderr: 0.0,
            z: f64::NAN,
        };
        methods.push(MethodSurvey {
            report,
            curves,
            versus_best: none,
        });
    }
    let best = (0..methods.len()).fold(0, |b, i| {
        if methods[i].outcome().expected_true_reward > methods[b].outcome().expected_true_reward {
            i
        } else {
            b
        }
    });
    for (m, values) in methods.iter_mut().zip(&optima) {
        m.versus_best = Paired::of(values, &optima[best]);
    }
    let bins = spec.bins.min(data.m_max()).max(usize::from(spec.bins > 0));
    let profile = Profile {
        bins,
        points: quantile_profile(data, bins)?,
    };
    let random = curve(data, MethodKind::Bon, &[1.0], None, Estimator::Plugin)?[0];
    Ok(Survey {
        source: None,
        data: DataSummary {
            prompts: data.prompts(),
            skipped_prompts: data.skipped_prompts(),
            responses: data.rows(),
            m_min: data.m_min(),
            m_max: data.m_max(),
        },
        seed: spec.checks.get_seed(),
        holdout_fraction: spec.checks.get_holdout(),
        threshold: threshold(&methods),
        best,
        methods,
        random,
        profile,
    })
}
