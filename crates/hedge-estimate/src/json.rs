//! The `hedge tune --json` contract (feature `json`): one place that turns tuning
//! results into JSON, shared by the command line and the Python bindings so that both
//! print exactly the same object.
//!
//! The object has, in this order: the outcome ([`outcome_json`]), any caller context
//! (the CLI adds `"data"` and `"columns"`), `"seed"`, and when requested `"holdout"`
//! ([`holdout_json`]), `"interval"` and `"bootstrap"`. JSON has no NaN: non-finite
//! standard errors, KLs and slopes are written as `null` ([`nan_null`]).
//!
//! ```
//! use hedge_estimate::json::TuneReport;
//! use hedge_estimate::{synth, tune, TuneSpec};
//! use hedge_math::MethodKind;
//! let d = synth::toy(50, 20, 3).unwrap().prepare().unwrap();
//! let outcome = tune(&d, &TuneSpec::new(MethodKind::Bop)).unwrap();
//! let report = TuneReport { outcome, skipped_prompts: 0, seed: 0, holdout: None, bootstrap: None };
//! let v = report.to_json(serde_json::Map::new());
//! assert_eq!(v["method"], "bop");
//! assert_eq!(v["parameter"], "mu");
//! assert!(v.get("holdout").is_none());
//! ```

use serde_json::{Map, Value, json};

use crate::tune::{HoldoutReport, TuneOutcome};

/// Confidence level of the bootstrap percentile interval.
pub const BOOTSTRAP_LEVEL: f64 = 0.95;

/// JSON has no NaN: a finite number, or `null`.
pub fn nan_null(x: f64) -> Value {
    if x.is_finite() { json!(x) } else { Value::Null }
}

/// The JSON of a [`TuneOutcome`]; `skipped_prompts` counts every prompt dropped for a
/// single response (by the loader and by the data pass).
pub fn outcome_json(o: &TuneOutcome, skipped_prompts: usize) -> Value {
    let mut v = json!({
        "method": o.method.name(),
        "parameter": o.parameter,
        "theta": o.theta,
        "regime": o.regime.name(),
        "expected_true_reward": o.expected_true_reward,
        "stderr": nan_null(o.stderr),
        "kl": nan_null(o.kl),
        "expected_samples": o.expected_samples,
        "prompts": o.prompts,
        "skipped_prompts": skipped_prompts,
        "estimator": o.estimator.name(),
        "range": [o.range.0, o.range.1],
        "slope_lo": nan_null(o.slope_lo),
        "slope_hi": nan_null(o.slope_hi),
    });
    if let Some(t) = o.theta_continuous {
        v["theta_continuous"] = json!(t);
    }
    if let Some(n) = o.n {
        v["n"] = json!(n);
        v["per_n"] = json!(
            o.sbon
                .iter()
                .map(|r| json!({
                    "n": r.n, "beta": r.beta, "regime": r.regime.name(),
                    "expected_true_reward": r.expected_true_reward, "stderr": nan_null(r.stderr),
                    "kl": nan_null(r.kl), "expected_samples": r.expected_samples,
                }))
                .collect::<Vec<_>>()
        );
    }
    v
}

/// The JSON of a [`HoldoutReport`] made with held-out fraction `frac`.
pub fn holdout_json(h: &HoldoutReport, frac: f64) -> Value {
    let mut v = json!({
        "fraction": frac,
        "prompts": h.prompts,
        "calibration_prompts": h.calibration_prompts,
        "tuned_theta": h.tuned_theta,
        "tuned_regime": h.tuned_regime.name(),
        "tuned_reward": h.tuned_reward,
        "tuned_stderr": nan_null(h.tuned_stderr),
        "oracle_theta": h.oracle_theta,
        "oracle_reward": h.oracle_reward,
        "default_theta": h.default_theta,
        "default_reward": h.default_reward,
        "default_stderr": nan_null(h.default_stderr),
    });
    for (k, n) in [("tuned_n", h.tuned_n), ("oracle_n", h.oracle_n), ("default_n", h.default_n)] {
        if let Some(n) = n {
            v[k] = json!(n);
        }
    }
    v
}

/// A bootstrap percentile interval of θ† ([`crate::bootstrap`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BootstrapInterval {
    /// Number of prompt resamples.
    pub resamples: usize,
    /// Lower end.
    pub lo: f64,
    /// Upper end.
    pub hi: f64,
}

/// Everything `hedge tune` reports: the outcome on all prompts, and optionally a hold-out
/// split ([`crate::holdout`]) and a bootstrap interval ([`crate::bootstrap`]), both made
/// with `seed`.
#[derive(Debug, Clone, PartialEq)]
pub struct TuneReport {
    /// [`crate::tune`] on all prompts.
    pub outcome: TuneOutcome,
    /// Prompts dropped for a single response, by the loader and the data pass together.
    pub skipped_prompts: usize,
    /// Seed of the hold-out split and the bootstrap.
    pub seed: u64,
    /// The held-out fraction and the report.
    pub holdout: Option<(f64, HoldoutReport)>,
    /// The bootstrap interval.
    pub bootstrap: Option<BootstrapInterval>,
}

impl TuneReport {
    /// The `hedge tune --json` object. `context` (e.g. the data file and columns) is
    /// inserted after the outcome's keys, before `"seed"`.
    pub fn to_json(&self, context: Map<String, Value>) -> Value {
        let mut v = outcome_json(&self.outcome, self.skipped_prompts);
        for (k, x) in context {
            v[k] = x;
        }
        v["seed"] = json!(self.seed);
        if let Some((frac, h)) = &self.holdout {
            v["holdout"] = holdout_json(h, *frac);
        }
        if let Some(b) = &self.bootstrap {
            v["interval"] = json!([b.lo, b.hi]);
            v["bootstrap"] = json!({"resamples": b.resamples, "level": BOOTSTRAP_LEVEL});
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{TuneSpec, holdout, synth, tune};
    use hedge_math::MethodKind;

    #[test]
    fn key_order_and_nulls() {
        let d = synth::toy(40, 16, 5).unwrap().prepare().unwrap();
        let spec = TuneSpec::new(MethodKind::Sbon).n_grid([2, 4]);
        let outcome = tune(&d, &spec).unwrap();
        let h = holdout(&d, &spec, 0.25, 3).unwrap();
        let report = TuneReport {
            outcome,
            skipped_prompts: 2,
            seed: 3,
            holdout: Some((0.25, h)),
            bootstrap: Some(BootstrapInterval { resamples: 10, lo: 1.0, hi: 2.0 }),
        };
        let mut ctx = Map::new();
        ctx.insert("data".into(), json!("x.csv"));
        let v = report.to_json(ctx);
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "method",
                "parameter",
                "theta",
                "regime",
                "expected_true_reward",
                "stderr",
                "kl",
                "expected_samples",
                "prompts",
                "skipped_prompts",
                "estimator",
                "range",
                "slope_lo",
                "slope_hi",
                "n",
                "per_n",
                "data",
                "seed",
                "holdout",
                "interval",
                "bootstrap"
            ]
        );
        assert_eq!(v["per_n"].as_array().unwrap().len(), 2);
        assert_eq!(v["holdout"]["fraction"], 0.25);
        assert!(v["holdout"].get("tuned_n").is_some());
        assert_eq!(v["bootstrap"]["level"], 0.95);
        assert_eq!(nan_null(f64::NAN), Value::Null);
    }
}
