//! Whether a re-tuned θ† should replace the θ in force (the rule of `hedge serve`'s re-tuning).
//!
//! Every round `hedge serve` tunes θ on a window of gold-labelled prompts. Noise alone moves
//! the estimated optimum θ† from window to window, so θ† is adopted only when the data show
//! that *it* beats the θ in force, with the choice of θ† on the same data accounted for:
//!
//! - θ† is not the θ in force;
//! - its own paired gain over the θ in force is positive, `D̂ = f̂(θ†) − f̂(θ_force) > 0`;
//! - its own paired `z = D̂ / se(D̂)` exceeds `c`, the one-sided max-t critical value at the
//!   spec's confidence level (the prompt bootstrap of [`versus`], whose grid holds θ†):
//!   `c` is the level quantile of `max_g (D*_g − D̂_g)/s*_g` over the grid, so the chance that
//!   *any* θ of the range, θ† included, clears it when none beats the θ in force is at most
//!   `1 − level`.
//!
//! The max-t test of [`versus`] alone ("some θ of the grid beats the θ in force",
//! `Gap::significant`) is not the rule: a θ near the θ in force with a small, consistent gain can
//! clear the bar while θ†, with a larger but noisier gain, does not — adopting θ† then was the
//! bug this module fixes. Every number of the decision must be finite: a non-finite difference,
//! standard error, `z` or critical value means "not adopted", and a non-finite objective (true
//! rewards too large for the sums over prompts) is a failed round, [`Adoption::failed`].

use hedge_math::MethodKind;

use crate::error::{EstimateError, Result};
use crate::evidence::versus;
use crate::outcome::TuneOutcome;
use crate::prepared::Prepared;
use crate::spec::TuneSpec;
use crate::tune::tune;
use crate::verdict::{Gap, Verdict};

/// Why θ† was or was not adopted (see [`Adoption`]; its `Display` is the whole sentence).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AdoptionReason {
    /// Adopted: θ†'s own paired gain over the θ in force is positive and its `z` exceeds the
    /// selection-corrected critical value.
    Beats,
    /// θ† is the θ in force: nothing to adopt.
    InForce,
    /// θ† does not gain over the θ in force on these prompts (`difference ≤ 0`).
    NoGain,
    /// θ† gains, but its `z` does not exceed the critical value: within noise.
    NotSignificant,
    /// A number of the test (difference, standard error, `z` or critical value) is not finite,
    /// e.g. a zero standard error: no evidence either way.
    NotFinite,
    /// The estimated objective is not finite (true rewards too large for the sums over
    /// prompts): the round failed; see [`Adoption::failed`].
    ObjectiveNotFinite,
}

impl AdoptionReason {
    /// `"beats"`, `"in_force"`, `"no_gain"`, `"not_significant"`, `"not_finite"` or
    /// `"objective_not_finite"`.
    pub fn name(self) -> &'static str {
        match self {
            AdoptionReason::Beats => "beats",
            AdoptionReason::InForce => "in_force",
            AdoptionReason::NoGain => "no_gain",
            AdoptionReason::NotSignificant => "not_significant",
            AdoptionReason::NotFinite => "not_finite",
            AdoptionReason::ObjectiveNotFinite => "objective_not_finite",
        }
    }
}

impl std::fmt::Display for AdoptionReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The decision of [`adoption`] with exactly the numbers it used. `Display` gives it as one
/// sentence, e.g. "θ† = 10 beats θ = 16 by 0.0123 ± 0.0051 (paired z = 2.41 > 1.88, corrected
/// for the choice of θ†)". Serialised (feature `serde`) with `reason` as its name, the
/// sentence as `"message"`, the outcome's `"evidence"`, and non-finite numbers as `null`.
#[derive(Debug, Clone, PartialEq)]
pub struct Adoption {
    /// Whether θ† replaces the θ in force: `reason == AdoptionReason::Beats`.
    pub adopted: bool,
    /// Why.
    pub reason: AdoptionReason,
    /// The method.
    pub method: MethodKind,
    /// θ†, the tuned parameter (NaN when the objective is not finite).
    pub theta: f64,
    /// SBoN: θ†'s number of candidates.
    pub n: Option<u64>,
    /// The θ in force.
    pub theta_in_force: f64,
    /// SBoN: the number of candidates in force (the one given, else θ†'s).
    pub n_in_force: Option<u64>,
    /// `f̂(θ†)`, the estimated expected true reward at θ†.
    pub expected_true_reward: f64,
    /// θ†'s paired gain over the θ in force, `f̂(θ†) − f̂(θ_force)` (NaN when not computed).
    pub difference: f64,
    /// Its paired standard error.
    pub stderr: f64,
    /// `difference / stderr`.
    pub z: f64,
    /// The one-sided max-t critical value at `confidence`, corrected for θ† having been chosen
    /// on the same prompts.
    pub critical: f64,
    /// The confidence level.
    pub confidence: f64,
    /// Whether some θ of the evidence grid beats the θ in force beyond `critical` (the max-t
    /// test, `Gap::significant`): necessary for adoption, not sufficient.
    pub some_theta_better: bool,
    /// The verdict of the tuning.
    pub verdict: Option<Verdict>,
    /// Prompts of the window.
    pub prompts: usize,
    /// The tuning (`None` only when the objective is not finite and tuning was skipped).
    pub outcome: Option<TuneOutcome>,
    /// The max-t gap against the θ in force ([`versus`]; `None` when not computed).
    pub versus: Option<Gap>,
}

impl Adoption {
    /// Whether the round failed — the objective is not finite — rather than decided: the
    /// caller records and counts it like a tuning error.
    pub fn failed(&self) -> bool {
        self.reason == AdoptionReason::ObjectiveNotFinite
    }

    /// The first of difference, standard error, z and critical value that is not finite.
    fn non_finite(&self) -> Option<(&'static str, f64)> {
        [
            ("difference", self.difference),
            ("standard error", self.stderr),
            ("z", self.z),
            ("critical value", self.critical),
        ]
        .into_iter()
        .find(|p| !p.1.is_finite())
    }
}

/// A parameter as it reads in a sentence: `10`, or `2.5 (n = 8)` for SBoN.
fn setting(theta: f64, n: Option<u64>) -> String {
    match n {
        Some(n) => format!("{theta} (n = {n})"),
        None => format!("{theta}"),
    }
}

/// A reward difference: 4 decimals, or 4 significant digits in scientific notation when that
/// would hide it (below 1e-3) or when it is large (1e5 and beyond).
fn amount(x: f64) -> String {
    let a = x.abs();
    if x == 0.0 || !x.is_finite() || (1e-3..1e5).contains(&a) {
        format!("{x:.4}")
    } else {
        format!("{x:.3e}")
    }
}

impl std::fmt::Display for Adoption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let star = setting(self.theta, self.n);
        let force = setting(self.theta_in_force, self.n_in_force);
        let (d, se) = (amount(self.difference), amount(self.stderr));
        let (z, c) = (self.z, self.critical);
        match self.reason {
            AdoptionReason::Beats => write!(
                f,
                "θ† = {star} beats θ = {force} by {d} ± {se} (paired z = {z:.2} > {c:.2}, corrected for the choice of θ†)"
            ),
            AdoptionReason::InForce => write!(f, "θ† = {star} is the θ in force"),
            AdoptionReason::NoGain => write!(
                f,
                "θ† = {star} does not beat θ = {force}: {d} ± {se} (paired z = {z:.2}; needs a gain and z > {c:.2})"
            ),
            AdoptionReason::NotSignificant => write!(
                f,
                "θ† = {star} is not significantly better than θ = {force}: {d} ± {se} (paired z = {z:.2} ≤ {c:.2}, corrected for the choice of θ†)"
            ),
            AdoptionReason::NotFinite => {
                let (what, v) = self.non_finite().unwrap_or(("z", self.z));
                write!(
                    f,
                    "θ† = {star} against θ = {force}: the paired {what} is not finite ({v}; {d} ± {se}, z = {z:.2}, critical value {c:.2}), θ kept"
                )
            }
            AdoptionReason::ObjectiveNotFinite => write!(
                f,
                "the objective is not finite (f̂(θ†) = {}; true rewards too large for the sums over prompts): θ = {force} kept",
                self.expected_true_reward
            ),
        }
    }
}

/// Tune on `data` and decide whether θ† replaces the θ in force `(current_theta, current_n)`
/// (see the module docs): adopted only when θ† is not the θ in force, its own paired gain over
/// it is positive, and its own paired `z` exceeds the selection-corrected one-sided max-t
/// critical value at the spec's confidence level — and every one of those numbers is finite.
///
/// `current_n` is SBoN's number of candidates in force (ignored for other methods; `None`:
/// θ†'s). The spec's [`crate::Select`] rule is not applied: the candidate is the peak θ†.
/// Errors: those of [`tune`] and [`versus`], and [`EstimateError::InvalidArgument`] for a
/// `current_theta` that is not finite. True rewards too large for the sums (near `f64::MAX`)
/// are not an error: the result says [`AdoptionReason::ObjectiveNotFinite`].
///
/// ```
/// use hedge_estimate::{adoption, synth, AdoptionReason, TuneSpec};
/// use hedge_math::MethodKind;
/// // The toy peaks near n = 12: at n = 1 it is far from its optimum...
/// let d = synth::toy(400, 25, 1).unwrap().prepare().unwrap();
/// let spec = TuneSpec::new(MethodKind::Bon);
/// let a = adoption(&d, &spec, 1.0, None).unwrap();
/// assert!(a.adopted && a.reason == AdoptionReason::Beats);
/// assert!(a.difference > 0.0 && a.z > a.critical);
/// assert!(a.to_string().starts_with(&format!("θ† = {} beats θ = 1 by ", a.theta)));
/// // ...and once θ† is in force there is nothing to adopt.
/// let b = adoption(&d, &spec, a.theta, None).unwrap();
/// assert!(!b.adopted);
/// assert_eq!(b.reason, AdoptionReason::InForce);
/// ```
pub fn adoption(data: &Prepared, spec: &TuneSpec, current_theta: f64, current_n: Option<u64>) -> Result<Adoption> {
    if !current_theta.is_finite() {
        return Err(EstimateError::InvalidArgument {
            name: "current_theta",
            value: current_theta,
            reason: "the θ in force must be finite",
        });
    }
    let method = spec.kind();
    let sbon = method == MethodKind::Sbon;
    let mut a = Adoption {
        adopted: false,
        reason: AdoptionReason::ObjectiveNotFinite,
        method,
        theta: f64::NAN,
        n: None,
        theta_in_force: current_theta,
        n_in_force: current_n.filter(|_| sbon),
        expected_true_reward: f64::NAN,
        difference: f64::NAN,
        stderr: f64::NAN,
        z: f64::NAN,
        critical: f64::NAN,
        confidence: spec.get_confidence(),
        some_theta_better: false,
        verdict: None,
        prompts: data.prompts(),
        outcome: None,
        versus: None,
    };
    // BoN, BoP and the tilt evaluate f̂ from the rank means: true rewards near f64::MAX overflow
    // them, and tuning on infinities means nothing.
    if let Some(bad) = data
        .rank_means()
        .iter()
        .flat_map(|r| r.mean.iter().copied())
        .find(|x| !x.is_finite())
        .filter(|_| !sbon)
    {
        a.expected_true_reward = bad;
        return Ok(a);
    }
    let o = tune(data, spec)?;
    a.theta = o.theta;
    a.n = o.n;
    a.expected_true_reward = o.expected_true_reward;
    a.verdict = o.verdict;
    if sbon {
        a.n_in_force = current_n.or(o.n);
    }
    if !(o.theta.is_finite() && o.expected_true_reward.is_finite()) {
        a.outcome = Some(o);
        return Ok(a);
    }
    if (o.theta, o.n) == (current_theta, a.n_in_force) {
        a.reason = AdoptionReason::InForce;
        (a.difference, a.stderr) = (0.0, 0.0);
        a.outcome = Some(o);
        return Ok(a);
    }
    let gap = versus(data, spec, &o, current_theta, a.n_in_force)?;
    a.difference = gap.paired.difference;
    a.stderr = gap.paired.stderr;
    a.z = gap.paired.z;
    a.critical = gap.critical;
    a.some_theta_better = gap.significant;
    a.versus = Some(gap);
    a.outcome = Some(o);
    a.reason = if a.non_finite().is_some() {
        AdoptionReason::NotFinite
    } else if a.difference <= 0.0 {
        AdoptionReason::NoGain
    } else if a.z <= a.critical {
        AdoptionReason::NotSignificant
    } else {
        AdoptionReason::Beats
    };
    a.adopted = a.reason == AdoptionReason::Beats;
    Ok(a)
}
