//! The verdict and its evidence as values: paired differences ([`Paired`]), the selection rule
//! ([`Select`]) and what it selected, the [`Verdict`] and the gaps behind it. How they are
//! computed is the business of the evidence module (the max-t prompt bootstrap).

use crate::error::Result;
use crate::objective::{Objective, max_abs, power_of_two_scale, stderr_of};

/// Default confidence level of the verdict (`--confidence`).
pub const DEFAULT_CONFIDENCE: f64 = 0.95;
/// Prompt resamples of the max-t bootstrap.
pub const EVIDENCE_RESAMPLES: usize = 1000;

/// `f(θ₁) − f(θ₂)` on the same prompts, with its paired standard error.
///
/// ```
/// use hedge_estimate::Paired;
/// // per-prompt values of two settings on four prompts
/// let p = Paired::of(&[0.5, 0.7, 0.2, 0.9], &[0.4, 0.6, 0.2, 0.7]);
/// assert!((p.difference - 0.1).abs() < 1e-15);
/// assert!((p.stderr - (0.02f64 / 3.0).sqrt() / 2.0).abs() < 1e-15);
/// assert!((p.z - p.difference / p.stderr).abs() < 1e-12);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Paired {
    /// `(1/T) Σ_t (f_t(θ₁) − f_t(θ₂))`.
    pub difference: f64,
    /// `sd_t(f_t(θ₁) − f_t(θ₂)) / √T` (`T − 1` denominator); NaN with fewer than two prompts.
    pub stderr: f64,
    /// `difference / stderr` (NaN when the standard error is 0 or NaN).
    pub z: f64,
}

/// How far, in paired standard errors, a difference must be from zero for the report's plain
/// reading ([`Paired::reading`]) to call it a difference: the usual two-standard-error rule (about
/// 95 % two-sided for one comparison). The tuned verdicts use the max-t critical value instead.
pub const READING_Z: f64 = 2.0;

/// A paired difference read at the fixed [`READING_Z`] rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    /// `z ≥ READING_Z`: the first is clearly higher.
    Above,
    /// `z ≤ −READING_Z`: the first is clearly lower.
    Below,
    /// `|z| < READING_Z`, or `z` is not finite (no spread, fewer than two prompts).
    WithinNoise,
}

impl Paired {
    /// The difference read at the fixed two-standard-error rule ([`READING_Z`]).
    ///
    /// ```
    /// use hedge_estimate::{Paired, Reading};
    /// let p = Paired { difference: -0.03, stderr: 0.01, z: -3.0 };
    /// assert_eq!(p.reading(), Reading::Below);
    /// assert_eq!(Paired { z: 1.9, ..p }.reading(), Reading::WithinNoise);
    /// assert_eq!(Paired { z: f64::NAN, ..p }.reading(), Reading::WithinNoise);
    /// ```
    pub fn reading(&self) -> Reading {
        if !self.z.is_finite() || self.z.abs() < READING_Z {
            Reading::WithinNoise
        } else if self.z > 0.0 {
            Reading::Above
        } else {
            Reading::Below
        }
    }

    /// The paired difference of per-prompt values `a` and `b` (same prompts, same order;
    /// the shorter length is used).
    ///
    /// Overflow-safe: when finite values are so large (near `f64::MAX`) that a difference
    /// `a_t − b_t`, its sum or its square overflows, everything is computed on the values
    /// scaled by a power of two and scaled back. `z` is then always finite (or NaN for a zero
    /// standard error), and `difference` and `stderr` are finite unless their exact value
    /// exceeds `f64::MAX` (e.g. `Paired::of(&[1e308], &[-1e308])`, whose difference is 2e308).
    /// Otherwise the result is bit-for-bit the plain formula's.
    ///
    /// ```
    /// use hedge_estimate::Paired;
    /// let p = Paired::of(&[1e308, -1e308, 1e308], &[-1e308, 1e308, 0.0]);
    /// assert!((p.difference - 1e308 / 3.0).abs() < 1e294);
    /// assert!(p.stderr.is_finite() && p.z.is_finite());
    /// ```
    pub fn of(a: &[f64], b: &[f64]) -> Self {
        let t = a.len().min(b.len());
        let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
        let difference = d.iter().sum::<f64>() / t.max(1) as f64;
        let stderr = stderr_of(&d);
        if !(difference.is_finite() && (stderr.is_finite() || t < 2)) {
            let big = max_abs(a[..t].iter().chain(&b[..t]).copied());
            if big.is_finite() {
                return Self::scaled(&a[..t], &b[..t], power_of_two_scale(big));
            }
        }
        let z = if stderr > 0.0 { difference / stderr } else { f64::NAN };
        Self { difference, stderr, z }
    }

    /// [`Paired::of`] on `a·s` and `b·s` (`s` a power of two), reported on the original scale.
    fn scaled(a: &[f64], b: &[f64], s: f64) -> Self {
        let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| x * s - y * s).collect();
        let difference = d.iter().sum::<f64>() / d.len().max(1) as f64;
        let stderr = stderr_of(&d);
        let z = if stderr > 0.0 { difference / stderr } else { f64::NAN };
        Self {
            difference: difference / s,
            stderr: stderr / s,
            z,
        }
    }
}

/// Which θ to deploy once the curve is known (`--select`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Select {
    /// The peak θ† itself (default).
    #[default]
    Peak,
    /// The one-standard-error rule: the smallest θ whose `f` is within one paired standard
    /// error of the peak's (for SBoN, the smallest `n` whose tuned `f` is).
    OneSe,
}

impl Select {
    /// `"peak"` or `"one-se"`.
    pub fn name(self) -> &'static str {
        match self {
            Select::Peak => "peak",
            Select::OneSe => "one-se",
        }
    }
    /// Parse a name (`"peak"`, `"one-se"`; `"one_se"` and `"1se"` too).
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "peak" => Some(Select::Peak),
            "one-se" | "one_se" | "1se" => Some(Select::OneSe),
            _ => None,
        }
    }
}

/// What the data say about the tuned curve (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// The true reward significantly declines after an interior peak.
    Hacking,
    /// Nothing in the range is significantly better than the most selection (`θ_hi`), and the
    /// estimated curve does not lose a standard error there.
    NoHackingDetected,
    /// The true reward significantly declines from the smallest θ on: selecting by this proxy
    /// hurts.
    ProxyHurts,
    /// The estimated curve turns down, but the decline is within noise on these prompts.
    Inconclusive,
}

impl Verdict {
    /// `"hacking"`, `"no_hacking_detected"`, `"proxy_hurts"` or `"inconclusive"`.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Hacking => "hacking",
            Verdict::NoHackingDetected => "no_hacking_detected",
            Verdict::ProxyHurts => "proxy_hurts",
            Verdict::Inconclusive => "inconclusive",
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The tuned optimum against a reference setting (θ_lo or θ_hi), with the max-t test.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Gap {
    /// The reference parameter.
    pub theta: f64,
    /// SBoN: the reference's number of candidates.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub n: Option<u64>,
    /// `f(θ†) − f(reference)` with its paired standard error and naive `z`.
    #[cfg_attr(feature = "serde", serde(flatten))]
    pub paired: Paired,
    /// Critical value of the one-sided max-t test at the level.
    pub critical: f64,
    /// Whether some θ of the grid beats the reference beyond the critical value.
    pub significant: bool,
    /// Simultaneous interval (at the level) of `max_θ f(θ) − f(reference)`.
    pub interval: [f64; 2],
}

/// The evidence behind a [`Verdict`] (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Evidence {
    /// Confidence level of the tests and intervals.
    pub level: f64,
    /// How θ† having been chosen on the same data is accounted for.
    pub correction: &'static str,
    /// Prompt resamples of the bootstrap.
    pub resamples: usize,
    /// Parameters on the grid of the test.
    pub grid_points: usize,
    /// What tuning buys over the smallest θ: `f(θ†) − f(θ_lo)`.
    pub gain: Gap,
    /// What "use the most samples" loses: `f(θ†) − f(θ_hi)` (SBoN: against its untuned default,
    /// the largest `n` and β).
    pub loss_at_default: Gap,
    /// Whether the decline after the peak is distinguishable from noise at the level.
    pub hacking_significant: bool,
    /// About how many calibration prompts would make the observed loss significant at the level
    /// (`T · (c / z)²`, with the naive `z` of the loss and the critical value `c`); `None` when it
    /// already is or when there is no loss to detect.
    pub prompts_needed: Option<u64>,
}

/// The θ to deploy under the [`Select`] rule.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Selected {
    /// The rule.
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::verdict::serialize_select"))]
    pub rule: Select,
    /// The parameter.
    pub theta: f64,
    /// SBoN: its number of candidates.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub n: Option<u64>,
    /// `f` there.
    pub expected_true_reward: f64,
    /// Its standard error.
    pub stderr: f64,
    /// Expected samples per request there.
    pub expected_samples: f64,
    /// Expected samples saved against the peak.
    pub samples_saved: f64,
    /// `f(θ†) − f(selected)`, paired.
    pub below_peak: Paired,
}

impl Objective<'_> {
    /// `f(θ₁) − f(θ₂)` on the same prompts, with its paired standard error.
    ///
    /// ```
    /// use hedge_estimate::{synth, Estimator, Objective};
    /// use hedge_math::MethodKind;
    /// let d = synth::toy(200, 50, 1).unwrap().prepare().unwrap();
    /// let f = Objective::new(&d, MethodKind::Bon, None, Estimator::Plugin).unwrap();
    /// let p = f.paired(12.0, 1.0).unwrap();
    /// assert!((p.difference - (f.value(12.0).unwrap() - f.value(1.0).unwrap())).abs() < 1e-12);
    /// assert!(p.stderr < f.estimate(12.0).unwrap().stderr);
    /// ```
    pub fn paired(&self, theta_a: f64, theta_b: f64) -> Result<Paired> {
        Ok(Paired::of(&self.per_prompt(theta_a)?, &self.per_prompt(theta_b)?))
    }
}

/// A [`Verdict`] as its name (the `serialize_with` helper of the typed results, feature `serde`).
#[cfg(feature = "serde")]
pub(crate) fn serialize_verdict<S: serde::Serializer>(v: &Verdict, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(v.name())
}

/// A [`Select`] rule as its name (the `serialize_with` helper of the typed results, feature `serde`).
#[cfg(feature = "serde")]
pub(crate) fn serialize_select<S: serde::Serializer>(r: &Select, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(r.name())
}
