//! Everything `hedge tune` reports, as one typed value: [`TuneReport`].
//!
//! The command line and the Python bindings both build it with [`TuneReport::compute`] and
//! serialise it (feature `serde`) into the `hedge tune --json` object; neither reads numbers
//! back out of JSON.

use hedge_math::MethodKind;

use crate::bootstrap::bootstrap;
use crate::error::Result;
use crate::outcome::{HoldoutReport, TuneOutcome};
use crate::prepared::Prepared;
use crate::spec::TuneSpec;
use crate::tune::{holdout, tune};

/// Confidence level of the bootstrap percentile interval.
pub const BOOTSTRAP_LEVEL: f64 = 0.95;

/// The columns a calibration set was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Columns {
    /// The prompt id column.
    pub prompt: String,
    /// The proxy reward column.
    pub proxy: String,
    /// The true reward column (serialised as `"true"`).
    #[cfg_attr(feature = "serde", serde(rename = "true"))]
    pub truth: String,
}

/// Where a calibration set came from (serialised as `"data"` and `"columns"`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Source {
    /// The file (or `<stdin>`).
    pub data: String,
    /// Its columns.
    pub columns: Columns,
}

/// A bootstrap percentile interval of θ† ([`crate::bootstrap`]) at [`BOOTSTRAP_LEVEL`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BootstrapInterval {
    /// Number of prompt resamples.
    pub resamples: usize,
    /// Lower end.
    pub lo: f64,
    /// Upper end.
    pub hi: f64,
}

/// The checks a [`TuneReport`] runs besides tuning on all prompts (builder; by default none,
/// seed 0).
///
/// ```
/// use hedge_estimate::Checks;
/// let c = Checks::new().holdout(0.3).bootstrap(200).seed(7);
/// assert_eq!((c.get_holdout(), c.get_bootstrap(), c.get_seed()), (Some(0.3), Some(200), 7));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Checks {
    holdout: Option<f64>,
    bootstrap: Option<usize>,
    seed: u64,
}

impl Checks {
    /// No hold-out, no bootstrap, seed 0.
    pub fn new() -> Self {
        Self::default()
    }
    /// Hold out this fraction of prompts ([`crate::holdout`]; checked there: in `(0, 1)`,
    /// else [`crate::EstimateError::InvalidArgument`]). Default: none.
    pub fn holdout(mut self, frac: f64) -> Self {
        self.holdout = Some(frac);
        self
    }
    /// [`Self::holdout`] when `Some`.
    pub fn maybe_holdout(mut self, frac: Option<f64>) -> Self {
        self.holdout = frac;
        self
    }
    /// Bootstrap interval of θ† from this many prompt resamples ([`crate::bootstrap`]; at least
    /// one, else [`crate::EstimateError::InvalidArgument`]). Default: none.
    pub fn bootstrap(mut self, resamples: usize) -> Self {
        self.bootstrap = Some(resamples);
        self
    }
    /// [`Self::bootstrap`] when `Some`.
    pub fn maybe_bootstrap(mut self, resamples: Option<usize>) -> Self {
        self.bootstrap = resamples;
        self
    }
    /// Seed of the hold-out split and the bootstrap (default 0).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// The held-out fraction.
    pub fn get_holdout(&self) -> Option<f64> {
        self.holdout
    }
    /// The number of bootstrap resamples.
    pub fn get_bootstrap(&self) -> Option<usize> {
        self.bootstrap
    }
    /// The seed.
    pub fn get_seed(&self) -> u64 {
        self.seed
    }
}

/// Everything `hedge tune` reports: the outcome on all prompts, and optionally a hold-out
/// split ([`crate::holdout`]) and a bootstrap interval ([`crate::bootstrap`]), both made with
/// `seed`.
///
/// Serialised (feature `serde`) as the `hedge tune --json` object, in this order: the
/// outcome (`method`, `parameter`, `theta`, `regime`, `expected_true_reward`, `stderr`, `kl`,
/// `expected_samples`, `prompts`, `skipped_prompts`, `estimator`, `range`, `slope_lo`,
/// `slope_hi`, then `theta_continuous` for BoN and `n`, `per_n` for SBoN), the [`Source`]
/// when known (`data`, `columns`), `seed`, and when run `holdout`, `interval` and
/// `bootstrap`. JSON has no NaN: non-finite numbers are written as `null`.
///
/// ```
/// use hedge_estimate::{synth, Checks, TuneReport, TuneSpec};
/// use hedge_math::MethodKind;
/// let d = synth::toy(50, 20, 3).unwrap().prepare().unwrap();
/// let r = TuneReport::compute(&d, &TuneSpec::new(MethodKind::Bop), &Checks::new().holdout(0.3), |_| {}).unwrap();
/// assert_eq!(r.outcome.method, MethodKind::Bop);
/// assert_eq!(r.holdout.unwrap().prompts, 15);
/// assert!(r.bootstrap.is_none());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct TuneReport {
    /// [`crate::tune`] on all prompts.
    pub outcome: TuneOutcome,
    /// Prompts dropped for a single response: by the data pass, plus whatever the caller's
    /// loader dropped before it (add those to this field).
    pub skipped_prompts: usize,
    /// Where the data came from, when the caller knows (the CLI does; Python does not).
    pub source: Option<Source>,
    /// Seed of the hold-out split and the bootstrap.
    pub seed: u64,
    /// The hold-out check.
    pub holdout: Option<HoldoutReport>,
    /// The bootstrap interval.
    pub bootstrap: Option<BootstrapInterval>,
}

impl TuneReport {
    /// Tune `spec` on `data` and run `checks`. `progress` is called by the bootstrap with the
    /// number of resamples finished (see [`crate::bootstrap`]).
    pub fn compute<P: Fn(usize) + Sync>(
        data: &Prepared,
        spec: &TuneSpec,
        checks: &Checks,
        progress: P,
    ) -> Result<Self> {
        let outcome = tune(data, spec)?;
        let holdout = checks
            .holdout
            .map(|frac| holdout(data, spec, frac, checks.seed))
            .transpose()?;
        let bootstrap = match checks.bootstrap {
            Some(b) => {
                let (lo, hi) = bootstrap(data, spec, b, checks.seed, progress)?;
                Some(BootstrapInterval { resamples: b, lo, hi })
            }
            None => None,
        };
        Ok(Self {
            outcome,
            skipped_prompts: data.skipped_prompts(),
            source: None,
            seed: checks.seed,
            holdout,
            bootstrap,
        })
    }

    /// The same report, naming where the data came from.
    pub fn with_source(mut self, source: Option<Source>) -> Self {
        self.source = source;
        self
    }

    /// The method.
    pub fn method(&self) -> MethodKind {
        self.outcome.method
    }
}
