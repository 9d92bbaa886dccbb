//! The JSON contracts (feature `serde`): `Serialize` for the typed results, with the field
//! names and order that `hedge tune --json`, `hedge curve --json`, `summary.json` and the
//! Python bindings have always had (the whole of `hedge curve`, `kl`, `info` and `demo`:
//! `wire/summaries.rs`). Library enums are written as their `name()` strings; serde_json writes
//! non-finite numbers as `null`.
//!
//! ```
//! use hedge_estimate::{synth, Checks, TuneReport, TuneSpec};
//! use hedge_math::MethodKind;
//! let d = synth::toy(50, 20, 3).unwrap().prepare().unwrap();
//! let report = TuneReport::compute(&d, &TuneSpec::new(MethodKind::Bop), &Checks::new(), |_| {}).unwrap();
//! let v = serde_json::to_value(&report).unwrap();
//! assert_eq!(v["method"], "bop");
//! assert_eq!(v["parameter"], "mu");
//! assert!(v.get("holdout").is_none());
//! ```

use hedge_math::{MethodKind, Regime};
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use crate::budget::Budget;
use crate::objective::Estimator;
use crate::outcome::{CurvePoint, HoldoutReport, SbonRow, TuneNote, TuneOutcome};
use crate::report::{BOOTSTRAP_LEVEL, Source, TuneReport};
use crate::survey::{Curve, MethodSurvey, Profile, Survey, Threshold};
use crate::verdict::{Evidence, Selected, Verdict};

pub(crate) mod names;
mod summaries;
use names::{method, regime};

impl Serialize for Estimator {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// The outcome's part of the `hedge tune --json` object.
#[derive(Serialize)]
struct Outcome<'a> {
    #[serde(serialize_with = "method")]
    method: MethodKind,
    parameter: &'static str,
    theta: f64,
    #[serde(serialize_with = "regime")]
    regime: Regime,
    expected_true_reward: f64,
    stderr: f64,
    kl: f64,
    expected_samples: f64,
    prompts: usize,
    skipped_prompts: usize,
    estimator: Estimator,
    range: [f64; 2],
    slope_lo: f64,
    slope_hi: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    theta_continuous: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    n: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    per_n: Option<&'a [SbonRow]>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_verdict")]
    verdict: Option<Verdict>,
    #[serde(skip_serializing_if = "Option::is_none")]
    evidence: Option<&'a Evidence>,
    #[serde(skip_serializing_if = "Option::is_none")]
    selected: Option<&'a Selected>,
    #[serde(skip_serializing_if = "Option::is_none")]
    budget: Option<Budget>,
    #[serde(skip_serializing_if = "<[_]>::is_empty", serialize_with = "notes")]
    notes: &'a [TuneNote],
}

/// [`TuneOutcome::notes`] as their sentences.
fn notes<S: Serializer>(n: &&[TuneNote], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(n.iter().map(|x| x.to_string()))
}

fn opt_verdict<S: Serializer>(v: &Option<Verdict>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => s.serialize_str(v.name()),
        None => s.serialize_none(),
    }
}

impl<'a> Outcome<'a> {
    fn new(o: &'a TuneOutcome, skipped_prompts: usize) -> Self {
        Self {
            method: o.method,
            parameter: o.parameter,
            theta: o.theta,
            regime: o.regime,
            expected_true_reward: o.expected_true_reward,
            stderr: o.stderr,
            kl: o.kl,
            expected_samples: o.expected_samples,
            prompts: o.prompts,
            skipped_prompts,
            estimator: o.estimator,
            range: [o.range.0, o.range.1],
            slope_lo: o.slope_lo,
            slope_hi: o.slope_hi,
            theta_continuous: o.theta_continuous,
            n: o.n,
            per_n: o.n.map(|_| o.sbon.as_slice()),
            verdict: o.verdict,
            evidence: o.evidence.as_ref(),
            selected: o.selected.as_ref(),
            budget: o.budget,
            notes: &o.notes,
        }
    }
}

#[derive(Serialize)]
struct BootstrapMeta {
    resamples: usize,
    level: f64,
}

impl Serialize for TuneReport {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Wire<'a> {
            #[serde(flatten)]
            outcome: Outcome<'a>,
            #[serde(flatten)]
            source: Option<&'a Source>,
            seed: u64,
            #[serde(skip_serializing_if = "Option::is_none")]
            holdout: Option<&'a HoldoutReport>,
            #[serde(skip_serializing_if = "Option::is_none")]
            interval: Option<[f64; 2]>,
            #[serde(skip_serializing_if = "Option::is_none")]
            bootstrap: Option<BootstrapMeta>,
        }
        Wire {
            outcome: Outcome::new(&self.outcome, self.skipped_prompts),
            source: self.source.as_ref(),
            seed: self.seed,
            holdout: self.holdout.as_ref(),
            interval: self.bootstrap.map(|b| [b.lo, b.hi]),
            bootstrap: self.bootstrap.map(|b| BootstrapMeta {
                resamples: b.resamples,
                level: BOOTSTRAP_LEVEL,
            }),
        }
        .serialize(s)
    }
}

/// `{"n": …, "points": […]}` of one SBoN curve.
#[derive(Serialize)]
struct NCurve<'a> {
    n: Option<u64>,
    points: &'a [CurvePoint],
}

/// A method's entry of `"curves"`: `{"parameter", "points"}`, or for SBoN `{"parameter", "curves"}`.
struct MethodCurves<'a>(&'a MethodSurvey);

impl Serialize for MethodCurves<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let kind = self.0.kind();
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("parameter", kind.parameter())?;
        if kind == MethodKind::Sbon {
            let curves: Vec<NCurve<'_>> = self
                .0
                .curves
                .iter()
                .map(|c: &Curve| NCurve {
                    n: c.n,
                    points: &c.points,
                })
                .collect();
            m.serialize_entry("curves", &curves)?;
        } else if let Some(c) = self.0.curves.first() {
            m.serialize_entry("points", &c.points)?;
            if !c.relative.is_empty() {
                m.serialize_entry("relative_to_optimum", &c.relative)?;
            }
        }
        m.end()
    }
}

/// A map from method names to `f(method)`, in survey order.
struct ByMethod<'a, T, F: Fn(&'a MethodSurvey) -> T>(&'a [MethodSurvey], F);

impl<'a, T: Serialize, F: Fn(&'a MethodSurvey) -> T> Serialize for ByMethod<'a, T, F> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for ms in self.0 {
            m.serialize_entry(ms.kind().name(), &(self.1)(ms))?;
        }
        m.end()
    }
}

impl Serialize for Threshold {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Wire {
            #[serde(serialize_with = "method")]
            method: MethodKind,
            theta: f64,
            theta_continuous: Option<f64>,
            kl: f64,
            expected_samples: f64,
        }
        Wire {
            method: self.method,
            theta: self.theta,
            theta_continuous: self.theta_continuous,
            kl: self.kl,
            expected_samples: self.expected_samples,
        }
        .serialize(s)
    }
}

impl Serialize for Profile {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("bins", &self.bins)?;
        m.serialize_entry("points", &self.points)?;
        m.end()
    }
}

/// `summary.json` of `hedge report`, less what only the command line knows (`generator`,
/// `verdict`, `files`): `data`, `estimator`, `seed`, `holdout_fraction`, `methods` (each the
/// `hedge tune --json` object), `curves` (with `relative_to_optimum` for BoN, BoP and the tilt),
/// `proxy_profile`, `hacking_threshold`, `best_method` and `versus_best` (each method's optimum
/// minus the best one's, paired).
impl Serialize for Survey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct PerPrompt {
            min: usize,
            max: usize,
        }
        #[derive(Serialize)]
        struct Data<'a> {
            #[serde(skip_serializing_if = "Option::is_none")]
            source: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            columns: Option<&'a crate::report::Columns>,
            prompts: usize,
            skipped_prompts: usize,
            responses: usize,
            responses_per_prompt: PerPrompt,
            random_response_reward: f64,
            random_response_stderr: f64,
        }
        #[derive(Serialize)]
        struct Wire<'a, M: Serialize, C: Serialize, V: Serialize> {
            data: Data<'a>,
            estimator: Estimator,
            seed: u64,
            holdout_fraction: Option<f64>,
            methods: M,
            curves: C,
            proxy_profile: &'a Profile,
            hacking_threshold: Option<&'a Threshold>,
            best_method: &'static str,
            versus_best: V,
        }
        let d = &self.data;
        Wire {
            data: Data {
                source: self.source.as_ref().map(|x| x.data.as_str()),
                columns: self.source.as_ref().map(|x| &x.columns),
                prompts: d.prompts,
                skipped_prompts: d.skipped_prompts,
                responses: d.responses,
                responses_per_prompt: PerPrompt {
                    min: d.m_min,
                    max: d.m_max,
                },
                random_response_reward: self.random.expected_true_reward,
                random_response_stderr: self.random.stderr,
            },
            estimator: Estimator::Plugin,
            seed: self.seed,
            holdout_fraction: self.holdout_fraction,
            methods: ByMethod(&self.methods, |m| &m.report),
            curves: ByMethod(&self.methods, MethodCurves),
            proxy_profile: &self.profile,
            hacking_threshold: self.threshold.as_ref(),
            best_method: self.methods.get(self.best).map_or("", |m| m.kind().name()),
            versus_best: ByMethod(&self.methods, |m| m.versus_best),
        }
        .serialize(s)
    }
}

/// One leaderboard row of `hedge compare --json` (and `summary.json`'s `"leaderboard"`).
#[derive(Serialize)]
struct WireEntry<'a> {
    rank: usize,
    proxy: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    ensemble: Option<&'static str>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    members: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    lambda: Option<f64>,
    #[serde(serialize_with = "method")]
    method: MethodKind,
    parameter: &'static str,
    expected_samples: f64,
    pareto: bool,
    versus_leader: &'a crate::verdict::Paired,
    holdout: &'a HoldoutReport,
}

impl Serialize for crate::compare::Comparison {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Gain<'a> {
            ensemble: &'a str,
            ensemble_method: &'static str,
            single: &'a str,
            single_method: &'static str,
            #[serde(flatten)]
            paired: &'a crate::verdict::Paired,
        }
        #[derive(Serialize)]
        struct Wire<'a> {
            seed: u64,
            holdout_fraction: f64,
            prompts: usize,
            skipped_prompts: usize,
            responses: usize,
            held_out_prompts: usize,
            calibration_prompts: usize,
            random: f64,
            budget: &'a Budget,
            leaderboard: Vec<WireEntry<'a>>,
            ensemble_vs_single: Option<Gain<'a>>,
        }
        Wire {
            seed: self.seed,
            holdout_fraction: self.holdout_fraction,
            prompts: self.prompts,
            skipped_prompts: self.skipped_prompts,
            responses: self.responses,
            held_out_prompts: self.held_out_prompts,
            calibration_prompts: self.calibration_prompts,
            random: self.random,
            budget: &self.budget,
            leaderboard: self
                .entries
                .iter()
                .enumerate()
                .map(|(i, e)| WireEntry {
                    rank: i + 1,
                    proxy: &e.proxy,
                    ensemble: e.rule.map(|r| r.name()),
                    members: &e.members,
                    lambda: e.lambda,
                    method: e.method,
                    parameter: e.method.parameter(),
                    expected_samples: e.expected_samples,
                    pareto: e.pareto,
                    versus_leader: &e.versus_leader,
                    holdout: &e.holdout,
                })
                .collect(),
            ensemble_vs_single: self.ensemble_vs_single.as_ref().map(|g| Gain {
                ensemble: &self.entries[g.ensemble].proxy,
                ensemble_method: self.entries[g.ensemble].method.name(),
                single: &self.entries[g.single].proxy,
                single_method: self.entries[g.single].method.name(),
                paired: &g.paired,
            }),
        }
        .serialize(s)
    }
}

impl Serialize for crate::adopt::AdoptionReason {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// [`crate::Adoption`]: its fields in order, the sentence as `"message"` after the reason, the
/// max-t gap as `"versus_in_force"` and the outcome's `"evidence"`.
impl Serialize for crate::adopt::Adoption {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Wire<'a> {
            adopted: bool,
            reason: crate::adopt::AdoptionReason,
            message: String,
            #[serde(serialize_with = "method")]
            method: MethodKind,
            parameter: &'static str,
            theta: f64,
            #[serde(skip_serializing_if = "Option::is_none")]
            n: Option<u64>,
            theta_in_force: f64,
            #[serde(skip_serializing_if = "Option::is_none")]
            n_in_force: Option<u64>,
            expected_true_reward: f64,
            difference: f64,
            stderr: f64,
            z: f64,
            critical: f64,
            confidence: f64,
            some_theta_better: bool,
            #[serde(serialize_with = "opt_verdict")]
            verdict: Option<Verdict>,
            prompts: usize,
            versus_in_force: Option<&'a crate::verdict::Gap>,
            evidence: Option<&'a Evidence>,
        }
        Wire {
            adopted: self.adopted,
            reason: self.reason,
            message: self.to_string(),
            method: self.method,
            parameter: self.method.parameter(),
            theta: self.theta,
            n: self.n,
            theta_in_force: self.theta_in_force,
            n_in_force: self.n_in_force,
            expected_true_reward: self.expected_true_reward,
            difference: self.difference,
            stderr: self.stderr,
            z: self.z,
            critical: self.critical,
            confidence: self.confidence,
            some_theta_better: self.some_theta_better,
            verdict: self.verdict,
            prompts: self.prompts,
            versus_in_force: self.versus.as_ref(),
            evidence: self.outcome.as_ref().and_then(|o| o.evidence.as_ref()),
        }
        .serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Checks, TuneSpec, synth};

    #[test]
    fn key_order_and_nulls() {
        let d = synth::toy(40, 16, 5).unwrap().prepare().unwrap();
        let spec = TuneSpec::new(MethodKind::Sbon).n_grid([2, 4]);
        let checks = Checks::new().holdout(0.25).bootstrap(3).seed(3);
        let mut report = TuneReport::compute(&d, &spec, &checks, |_| {}).unwrap();
        report.skipped_prompts += 2;
        let report = report.with_source(Some(Source {
            data: "x.csv".into(),
            columns: crate::report::Columns {
                prompt: "p".into(),
                proxy: "s".into(),
                truth: "r".into(),
            },
        }));
        let v = serde_json::to_value(&report).unwrap();
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
                "verdict",
                "evidence",
                "selected",
                "data",
                "columns",
                "seed",
                "holdout",
                "interval",
                "bootstrap"
            ]
        );
        assert_eq!(v["skipped_prompts"], 2);
        assert_eq!(v["columns"]["true"], "r");
        assert_eq!(v["per_n"].as_array().unwrap().len(), 2);
        assert_eq!(v["holdout"]["fraction"], 0.25);
        assert!(v["holdout"].get("tuned_n").is_some());
        assert_eq!(v["bootstrap"]["level"], 0.95);
        let nan = CurvePoint {
            theta: 1.0,
            expected_true_reward: 0.5,
            stderr: f64::NAN,
            kl: 0.0,
            expected_samples: 1.0,
        };
        assert_eq!(
            serde_json::to_string(&nan).unwrap(),
            r#"{"theta":1.0,"expected_true_reward":0.5,"stderr":null,"kl":0.0,"expected_samples":1.0}"#
        );
    }
}
