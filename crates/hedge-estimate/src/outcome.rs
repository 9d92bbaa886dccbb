//! What tuning returns: [`TuneOutcome`] with its notes and SBoN rows, the points of a curve and
//! the hold-out report.

use hedge_math::{MethodKind, Regime};

use crate::budget::Budget;
use crate::objective::Estimator;
use crate::spec::PLATEAU_TAIL;
use crate::verdict::{Evidence, Paired, Selected, Verdict};

/// Something about a tuning that its numbers alone do not say ([`TuneOutcome::notes`]); its
/// `Display` is the sentence the CLI prints.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum TuneNote {
    /// The range reached past the point where the data can no longer tell θ apart, and the search
    /// stopped there: with at most `m_max` responses per prompt, every θ ≥ `searched` leaves the
    /// ranks under a prompt's top one at most [`PLATEAU_TAIL`] together (BoN, BoP and the tilt: a
    /// bound that depends on `(m_max, θ)` only; SBoN: on the smallest gap `min_gap` between a
    /// prompt's distinct proxy scores and the largest `n`), so the estimated curve beyond is flat
    /// and the smaller θ wins the tie. [`TuneOutcome::range`] ends at `searched`.
    RangeClipped {
        /// The parameter's name (`"n"`, `"mu"`, `"lambda"`, `"beta"`).
        parameter: &'static str,
        /// The high end asked for.
        asked: f64,
        /// Where the search stopped.
        searched: f64,
        /// Most responses of a prompt.
        m_max: usize,
        /// SBoN: the smallest positive gap between two proxy scores of a prompt.
        min_gap: Option<f64>,
    },
}

/// A number as written in a sentence: plain, or in exponent form when very large or small.
fn short(x: f64) -> String {
    if x != 0.0 && (x.abs() >= 1e6 || x.abs() < 1e-4) {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}

impl std::fmt::Display for TuneNote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            TuneNote::RangeClipped {
                parameter,
                asked,
                searched,
                m_max,
                min_gap,
            } => {
                let (searched, asked) = (short(searched), short(asked));
                write!(f, "searched {parameter} up to {searched}, not {asked}: ")?;
                match min_gap {
                    Some(g) => write!(
                        f,
                        "with proxy scores of a prompt at least {} apart, every beta >= {searched} misses",
                        short(g)
                    )?,
                    None => write!(
                        f,
                        "with at most {m_max} responses per prompt, every {parameter} >= {searched} misses"
                    )?,
                }
                write!(
                    f,
                    " a prompt's top-ranked response with probability <= {PLATEAU_TAIL:e}, so the estimated curve is flat from there on (ties go to the smaller {parameter})"
                )
            }
        }
    }
}

/// SBoN: the tuned β for one `n` (serialised, feature `serde`, as one entry of `"per_n"`).
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct SbonRow {
    /// Candidates per request.
    pub n: u64,
    /// Tuned β (proxy scale).
    pub beta: f64,
    /// Regime of `f(β)` for this `n`.
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::wire::names::regime"))]
    pub regime: Regime,
    /// `f(β)`.
    pub expected_true_reward: f64,
    /// Its standard error across prompts.
    pub stderr: f64,
    /// The plug-in KL of SBoN(n, β)'s choice among each prompt's responses (see [`TuneOutcome::kl`]).
    pub kl: f64,
    /// Candidates drawn per request (`n`).
    pub expected_samples: f64,
}

/// Result of [`tune`](fn@crate::tune).
#[derive(Debug, Clone, PartialEq)]
pub struct TuneOutcome {
    /// The method.
    pub method: MethodKind,
    /// Name of the parameter (`"n"`, `"mu"`, `"lambda"`, `"beta"`).
    pub parameter: &'static str,
    /// The tuned parameter; for BoN the integer `n` (see [`hedge_math::tune::bon_integer`]).
    pub theta: f64,
    /// BoN: the continuous root `n†` before the integer rule (`None` for the unbiased
    /// estimator, which searches integers only, and for other methods).
    pub theta_continuous: Option<f64>,
    /// SBoN: the chosen number of candidates.
    pub n: Option<u64>,
    /// Shape of `f` on the range (for SBoN, of the chosen `n`'s `f(β)`).
    pub regime: Regime,
    /// Estimated expected true reward `f(θ)`.
    pub expected_true_reward: f64,
    /// Its standard error across prompts (NaN with one prompt).
    pub stderr: f64,
    /// KL to the reference at θ: for BoN, BoP and the tilt the method's population KL
    /// (`QuantileMethod::kl` of `hedge-math`, exact for a continuous tie-free proxy); for
    /// SBoN, whose β is on the proxy's own scale where no closed form applies, the plug-in
    /// KL of its choice among each prompt's responses, averaged over prompts,
    /// `(1/T) Σ_t Σ_k P_t(k) ln(m_t P_t(k))`. NaN if unavailable.
    pub kl: f64,
    /// Candidates drawn per request on average at θ.
    pub expected_samples: f64,
    /// Prompts used (`T`).
    pub prompts: usize,
    /// Prompts skipped for having fewer than two responses.
    pub skipped_prompts: usize,
    /// The estimator.
    pub estimator: Estimator,
    /// The searched range: the spec's, or less of it when the data cannot tell its far end
    /// apart from nearer θ (see [`TuneNote::RangeClipped`]).
    pub range: (f64, f64),
    /// `f'` (or the paper's residual, or for the unbiased estimator the difference
    /// `f(n+1) − f(n)`) at the low end of the range.
    pub slope_lo: f64,
    /// The same at the high end.
    pub slope_hi: f64,
    /// SBoN: one row per `n` of the grid.
    pub sbon: Vec<SbonRow>,
    /// What the data say, with the uncertainty taken into account (always set by [`tune`](fn@crate::tune)).
    pub verdict: Option<Verdict>,
    /// The evidence behind the verdict (always set by [`tune`](fn@crate::tune)).
    pub evidence: Option<Evidence>,
    /// The θ to deploy under the spec's [`Select`](crate::Select) rule (always set by [`tune`](fn@crate::tune)).
    pub selected: Option<Selected>,
    /// The budget tuned under, when one was set ([`TuneSpec::max_samples`](crate::TuneSpec::max_samples),
    /// [`TuneSpec::cost_per_sample`](crate::TuneSpec::cost_per_sample)).
    pub budget: Option<Budget>,
    /// What the numbers alone do not say (e.g. [`TuneNote::RangeClipped`]); empty on ordinary ranges.
    pub notes: Vec<TuneNote>,
}

/// One point of [`curve`](fn@crate::curve) (serialised, feature `serde`, as one of the `"points"` of
/// `hedge curve --json`, in this field order; a NaN standard error or KL as `null`).
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct CurvePoint {
    /// Parameter.
    pub theta: f64,
    /// `f(θ)`.
    pub expected_true_reward: f64,
    /// Its standard error.
    pub stderr: f64,
    /// KL to the reference at θ (see [`TuneOutcome::kl`]).
    pub kl: f64,
    /// Candidates drawn per request.
    pub expected_samples: f64,
}

/// Result of [`holdout`](fn@crate::holdout): every reward is estimated on the held-out prompts.
///
/// Serialised (feature `serde`) as the `"holdout"` object of `hedge tune --json`, in this
/// field order; the three `*_n` fields only for SBoN.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct HoldoutReport {
    /// The held-out fraction asked for.
    pub fraction: f64,
    /// Held-out prompts.
    pub prompts: usize,
    /// Calibration prompts (the rest).
    pub calibration_prompts: usize,
    /// θ tuned on the calibration prompts (as selected by the spec's [`Select`](crate::Select) rule).
    pub tuned_theta: f64,
    /// Regime found on the calibration prompts.
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::wire::names::regime"))]
    pub tuned_regime: Regime,
    /// Verdict on the calibration prompts.
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::verdict::serialize_verdict"))]
    pub tuned_verdict: Verdict,
    /// Held-out `f` at the tuned θ.
    pub tuned_reward: f64,
    /// Its standard error.
    pub tuned_stderr: f64,
    /// θ tuned on the held-out prompts themselves (the oracle).
    pub oracle_theta: f64,
    /// Held-out `f` at the oracle θ.
    pub oracle_reward: f64,
    /// The untuned default: the largest θ of the range ("always use the most samples";
    /// BoN: its largest integer; SBoN: the largest `n` of the grid and the largest β).
    pub default_theta: f64,
    /// Held-out `f` at the default.
    pub default_reward: f64,
    /// Its standard error.
    pub default_stderr: f64,
    /// Held-out `f(tuned) − f(default)` on the same held-out prompts, with its paired standard error.
    pub tuned_vs_default: Paired,
    /// SBoN: `n` tuned on the calibration prompts.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub tuned_n: Option<u64>,
    /// SBoN: the oracle's `n`.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub oracle_n: Option<u64>,
    /// SBoN: the default's `n`.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub default_n: Option<u64>,
}
