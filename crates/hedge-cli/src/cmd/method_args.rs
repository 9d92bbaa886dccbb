//! The method flags and values shared by several commands: `--method`/`--theta`/`--n`
//! ([`MethodFlags`]), a method name ([`MethodArg`]), `--select` ([`SelectArg`]) and
//! `--estimator` ([`EstimatorArg`]). A leaf module, like `data_args`, `net_args`, `store_url`
//! and `values`: it imports no command module and not `cli.rs`.

use clap::ValueEnum;
use hedge_estimate::Estimator;
use hedge_math::MethodKind;

use super::values;

/// A method and its parameter: `--method M --theta θ [--n N]` (`hedge kl`, `hedge select`).
#[derive(Debug, Clone, clap::Args)]
pub struct MethodFlags {
    /// The method: bon (parameter n), bop (μ), tilt (λ) or sbon (β; needs --n). The tilt is not a
    /// sampler: `hedge select` refuses it.
    #[arg(long, value_enum)]
    pub method: MethodArg,
    /// Its parameter: n (bon), μ (bop), λ (tilt) or β (sbon, on the scores' own scale).
    #[arg(long, allow_negative_numbers = true, value_parser = values::finite)]
    pub theta: f64,
    /// Candidates for SBoN (required with --method sbon).
    #[arg(long, value_parser = values::count_u64(1..=values::MAX_CANDIDATES))]
    pub n: Option<u64>,
}

/// A method name on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MethodArg {
    /// Best-of-n (parameter n).
    Bon,
    /// Best-of-Poisson (parameter μ: n = 1 + Poisson(μ)).
    Bop,
    /// Exponential tilt, the KL-optimal frontier (parameter λ).
    Tilt,
    /// Soft Best-of-n (parameter β; needs --n).
    Sbon,
}

impl From<MethodArg> for MethodKind {
    fn from(m: MethodArg) -> Self {
        match m {
            MethodArg::Bon => MethodKind::Bon,
            MethodArg::Bop => MethodKind::Bop,
            MethodArg::Tilt => MethodKind::Tilt,
            MethodArg::Sbon => MethodKind::Sbon,
        }
    }
}

/// `--select`: which θ to deploy once the curve is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SelectArg {
    /// The peak θ† itself.
    Peak,
    /// The one-standard-error rule: the smallest θ whose true reward is within one paired standard error of the peak.
    OneSe,
}

impl From<SelectArg> for hedge_estimate::Select {
    fn from(s: SelectArg) -> Self {
        match s {
            SelectArg::Peak => hedge_estimate::Select::Peak,
            SelectArg::OneSe => hedge_estimate::Select::OneSe,
        }
    }
}

/// `--estimator` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EstimatorArg {
    /// Exact plug-in estimator (sampling with replacement from each prompt's responses); any θ.
    Plugin,
    /// Unbiased Best-of-n (without replacement; integer n up to the smallest prompt's size).
    Unbiased,
    /// The paper's self-normalised estimator (for comparison only).
    Paper,
}

impl From<EstimatorArg> for Estimator {
    fn from(e: EstimatorArg) -> Self {
        match e {
            EstimatorArg::Plugin => Estimator::Plugin,
            EstimatorArg::Unbiased => Estimator::Unbiased,
            EstimatorArg::Paper => Estimator::Paper,
        }
    }
}
