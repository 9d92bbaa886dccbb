//! # hedge-estimate
//!
//! Estimating, from calibration data, the expected *true* reward of hacking-prone
//! inference-time methods — Best-of-n (BoN), Best-of-Poisson (BoP), the exponential
//! tilt and Soft Best-of-n (SBoN) — as a function of their parameter θ, and tuning θ
//! with HedgeTune (math.md §3–4). Pure computation: no file I/O, no printing.
//!
//! Calibration data: prompts `t = 1..T`, prompt `t` with `m_t` responses, each with a
//! proxy score `s` (what the method sees) and a true reward `r`, given as CSR arrays.
//!
//! - [`Prepared`]: the one data pass — sort by proxy, tie-average, pre-sum
//!   `R̄_{m,k} = (1/T) Σ_{t: m_t = m} r_{t,(k)}` so that later evaluations of BoN, BoP and
//!   the tilt cost `O(Σ distinct m)`.
//! - [`Estimator`]: plug-in (default, `f_t(θ) = Σ_k r_(k) [F_θ(k/m) − F_θ((k−1)/m)]`),
//!   unbiased BoN (`w_k = C(k−1, n−1)/C(m, n)`) and the paper's self-normalised
//!   estimator; exact plug-in SBoN ([`sbon_choice_probabilities`]).
//! - [`Objective`]: `f(θ)`, `f'(θ)`, per-prompt values and standard errors.
//! - [`tune`], [`curve`], [`holdout`], [`bootstrap`]: HedgeTune on data, curves, honest
//!   held-out reporting and a bootstrap interval for θ†.
//! - [`TuneReport`]: everything `hedge tune` reports (the outcome, hold-out, bootstrap), one
//!   typed value for the command line and the Python bindings alike.
//! - [`survey`]: every method tuned on one calibration set, with the curves, baselines, proxy
//!   profile and hacking threshold that `hedge report` shows.
//! - [`ensemble`]: several proxies combined into one (mean-z, min-z, uwo, rank-mean).
//! - [`compare`]: the leaderboard of proxies × methods on held-out prompts.
//! - [`adoption`]: whether a re-tuned θ† beats the θ in force (the rule of `hedge serve`).
//! - [`Budget`]: tuning under a cap on expected samples or a cost per sample.
//! - [`quantile_profile`]: the true reward along the proxy's ranking, `r(u)`, pooled over prompts.
//! - [`synth`]: seeded synthetic data (hackable Gaussian/Student-t, monotone, the toy).
//! - feature `serde`: `Serialize` for the results, which *is* the JSON contract of
//!   `hedge tune --json`, `hedge curve --json`, `hedge kl --json`, `hedge info --json`,
//!   `hedge demo --json` and `summary.json` (module `wire`).
//!
//! Results never depend on the number of rayon threads: every parallel step writes
//! per-prompt results that are reduced sequentially in prompt order.
//!
//! ```
//! use hedge_estimate::{synth, tune, Prepared, TuneSpec};
//! use hedge_math::{MethodKind, Regime};
//!
//! // The paper's toy problem: proxy = quantile u, true reward r(u) = u^12 (1 − u)/C + noise.
//! let s = synth::toy(400, 200, 42).unwrap();
//! let data = Prepared::new(&s.offsets, &s.proxy, &s.truth).unwrap();
//! let o = tune(&data, &TuneSpec::new(MethodKind::Bon)).unwrap();
//! assert_eq!(o.regime, Regime::Hacking);
//! // population optimum n† = √156 ≈ 12.49 (with m = 200 the plug-in's own target is 12.88)
//! let n_cont = o.theta_continuous.unwrap();
//! assert!((11.5..14.5).contains(&n_cont), "{n_cont}");
//! assert!(o.theta == n_cont.floor() || o.theta == n_cont.ceil());
//! ```

#![warn(missing_docs)]

pub mod adopt;
mod bootstrap;
mod budget;
pub mod compare;
pub mod ensemble;
mod error;
mod evidence;
mod objective;
mod outcome;
mod prepared;
mod profile;
mod report;
mod resample;
mod sbon;
mod spec;
mod summaries;
mod survey;
pub mod synth;
mod tune;
mod verdict;
#[cfg(feature = "serde")]
pub mod wire;

pub use adopt::{Adoption, AdoptionReason, adoption};
pub use bootstrap::bootstrap;
pub use budget::{Budget, samples_and_slope};
pub use error::{EstimateError, Field, Result};
pub use evidence::{EVIDENCE_POINTS, SBON_EVIDENCE_POINTS, versus};
pub use objective::{Estimate, Estimator, Objective};
pub use outcome::{CurvePoint, HoldoutReport, SbonRow, TuneNote, TuneOutcome};
pub use prepared::{Prepared, RankMeans};
pub use profile::{ProfileBin, quantile_profile};
pub use report::{BOOTSTRAP_LEVEL, BootstrapInterval, Checks, Columns, Source, TuneReport};
pub use sbon::sbon_choice_probabilities;
pub use spec::{
    CONFIDENCE_DOMAIN, DEFAULT_SBON_BETA_MAX, HOLDOUT_DOMAIN, PLATEAU_TAIL, TuneSpec, check_confidence, check_holdout,
};
pub use summaries::{
    ColumnStats, CurveReport, DEFAULT_SAME_KL_SBON_N, DemoCase, DemoMethod, DemoReport, FileSummary, KlReport, SameKl,
    ToyReport, Versus, curve_versus,
};
pub use survey::{
    Curve, DataSummary, MethodSurvey, OutcomeCurves, PROFILE_GAP_STDERRS, Profile, RelativePoint, Survey, SurveySpec,
    Threshold, outcome_curves, survey, survey_curves,
};
pub use tune::{curve, holdout, holdout_split, tune};
pub use verdict::{
    DEFAULT_CONFIDENCE, EVIDENCE_RESAMPLES, Evidence, Gap, Paired, READING_Z, Reading, Select, Selected, Verdict,
};

pub use hedge_math::{MethodKind, Regime};
