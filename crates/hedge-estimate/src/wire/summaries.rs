//! The JSON of `hedge curve --json`, `hedge kl --json`, `hedge info --json`, `hedge demo --json` and
//! `hedge simulate toy --json`:
//! [`crate::summaries`]'s results in contract order (absent options left out, NaN as `null`).

use hedge_math::MethodKind;
use serde::Serialize;
use serde::ser::Serializer;

use super::names::method;
use crate::objective::Estimator;
use crate::outcome::{CurvePoint, HoldoutReport};
use crate::summaries::{
    ColumnStats, CurveReport, DemoCase, DemoMethod, DemoReport, FileSummary, KlReport, SameKl, ToyReport, Versus,
};
use crate::survey::RelativePoint;

impl Serialize for CurveReport {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Wire<'a> {
            #[serde(serialize_with = "method")]
            method: MethodKind,
            parameter: &'static str,
            estimator: Estimator,
            data: &'a str,
            prompts: usize,
            skipped_prompts: usize,
            points: &'a [CurvePoint],
            #[serde(skip_serializing_if = "Option::is_none")]
            n: Option<u64>,
            #[serde(skip_serializing_if = "Option::is_none")]
            versus: Option<&'a Versus>,
        }
        Wire {
            method: self.method,
            parameter: self.method.parameter(),
            estimator: self.estimator,
            data: &self.source,
            prompts: self.prompts,
            skipped_prompts: self.skipped_prompts,
            points: &self.points,
            n: self.n,
            versus: self.versus.as_ref(),
        }
        .serialize(s)
    }
}

impl Serialize for Versus {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Wire<'a> {
            theta: f64,
            points: &'a [RelativePoint],
        }
        Wire {
            theta: self.theta,
            points: &self.points,
        }
        .serialize(s)
    }
}

impl Serialize for KlReport {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Wire<'a> {
            #[serde(serialize_with = "method")]
            method: MethodKind,
            parameter: &'static str,
            theta: f64,
            kl: f64,
            mean_quantile: f64,
            expected_samples: f64,
            same_kl: &'a [SameKl],
            #[serde(skip_serializing_if = "Option::is_none")]
            n: Option<u64>,
        }
        Wire {
            method: self.method,
            parameter: self.method.parameter(),
            theta: self.theta,
            kl: self.kl,
            mean_quantile: self.mean_quantile,
            expected_samples: self.expected_samples,
            same_kl: &self.same_kl,
            n: self.n,
        }
        .serialize(s)
    }
}

/// `theta` always (null when unreachable), `note` and `n` only when present.
impl Serialize for SameKl {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Wire<'a> {
            #[serde(serialize_with = "method")]
            method: MethodKind,
            parameter: &'static str,
            theta: Option<f64>,
            #[serde(skip_serializing_if = "Option::is_none")]
            note: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            n: Option<u64>,
        }
        Wire {
            method: self.method,
            parameter: self.method.parameter(),
            theta: self.theta,
            note: self.note.as_deref(),
            n: self.n,
        }
        .serialize(s)
    }
}

/// `"data"` first; the true-reward column as `"true"`.
impl Serialize for FileSummary {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Wire<'a> {
            data: &'a str,
            prompts: usize,
            rows: usize,
            rows_read: usize,
            skipped_prompts: usize,
            responses_min: usize,
            responses_max: usize,
            proxy: &'a ColumnStats,
            #[serde(rename = "true")]
            truth: &'a ColumnStats,
            load_seconds: f64,
        }
        Wire {
            data: &self.source,
            prompts: self.prompts,
            rows: self.rows,
            rows_read: self.rows_read,
            skipped_prompts: self.skipped_prompts,
            responses_min: self.responses_min,
            responses_max: self.responses_max,
            proxy: &self.proxy,
            truth: &self.truth,
            load_seconds: self.load_seconds,
        }
        .serialize(s)
    }
}

impl Serialize for ColumnStats {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Wire {
            min: f64,
            max: f64,
            mean: f64,
        }
        Wire {
            min: self.min,
            max: self.max,
            mean: self.mean,
        }
        .serialize(s)
    }
}

impl Serialize for DemoReport {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Wire<'a> {
            seed: u64,
            holdout: f64,
            cases: &'a [DemoCase],
        }
        Wire {
            seed: self.seed,
            holdout: self.holdout,
            cases: &self.cases,
        }
        .serialize(s)
    }
}

impl Serialize for DemoCase {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Wire<'a> {
            case: &'static str,
            description: &'static str,
            prompts: usize,
            responses: usize,
            results: &'a [DemoMethod],
        }
        Wire {
            case: self.case,
            description: self.description,
            prompts: self.prompts,
            responses: self.responses,
            results: &self.results,
        }
        .serialize(s)
    }
}

/// `"method"`, `"parameter"`, then the hold-out report's fields inline.
impl Serialize for DemoMethod {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Wire<'a> {
            #[serde(serialize_with = "method")]
            method: MethodKind,
            parameter: &'static str,
            #[serde(flatten)]
            holdout: &'a HoldoutReport,
        }
        Wire {
            method: self.method,
            parameter: self.method.parameter(),
            holdout: &self.holdout,
        }
        .serialize(s)
    }
}

impl Serialize for ToyReport {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Wire<'a> {
            problem: &'static str,
            true_reward: &'static str,
            c: f64,
            range: [f64; 2],
            results: Vec<Optimum<'a>>,
        }
        Wire {
            problem: "toy",
            true_reward: ToyReport::TRUE_REWARD,
            c: self.c,
            range: [0.0, self.max_theta],
            results: self.results.iter().map(Optimum).collect(),
        }
        .serialize(s)
    }
}

/// One population optimum of [`ToyReport`]: `theta_continuous` for BoN only, `n` for SBoN only.
struct Optimum<'a>(&'a hedge_math::population::PopulationOptimum);

impl Serialize for Optimum<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Wire {
            #[serde(serialize_with = "method")]
            method: MethodKind,
            parameter: &'static str,
            theta: f64,
            regime: &'static str,
            expected_true_reward: f64,
            kl: f64,
            mean_quantile: f64,
            expected_samples: f64,
            #[serde(skip_serializing_if = "Option::is_none")]
            theta_continuous: Option<f64>,
            #[serde(skip_serializing_if = "Option::is_none")]
            n: Option<u64>,
        }
        let o = self.0;
        Wire {
            method: o.kind,
            parameter: o.kind.parameter(),
            theta: o.theta,
            regime: o.regime.name(),
            expected_true_reward: o.expected_true_reward,
            kl: o.kl,
            mean_quantile: o.mean_quantile,
            expected_samples: o.expected_samples,
            theta_continuous: (o.kind == MethodKind::Bon).then_some(o.theta_continuous),
            n: o.n,
        }
        .serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::Paired;
    use crate::{TuneSpec, holdout, synth};

    fn keys(v: &serde_json::Value) -> Vec<&str> {
        v.as_object().unwrap().keys().map(String::as_str).collect()
    }

    fn point(theta: f64) -> CurvePoint {
        CurvePoint {
            theta,
            expected_true_reward: 0.5,
            stderr: f64::NAN,
            kl: 0.0,
            expected_samples: 1.0,
        }
    }

    #[test]
    fn curve_key_order_and_nulls() {
        let mut r = CurveReport {
            method: MethodKind::Bop,
            estimator: Estimator::Plugin,
            source: "x.csv".into(),
            prompts: 3,
            skipped_prompts: 1,
            points: vec![point(1.0)],
            n: None,
            versus: None,
        };
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(
            keys(&v),
            [
                "method",
                "parameter",
                "estimator",
                "data",
                "prompts",
                "skipped_prompts",
                "points"
            ]
        );
        assert_eq!(v["parameter"], "mu");
        assert_eq!(v["estimator"], "plugin");
        assert!(v["points"][0]["stderr"].is_null());
        r.method = MethodKind::Sbon;
        r.n = Some(4);
        r.versus = Some(Versus {
            theta: 2.0,
            points: vec![RelativePoint {
                theta: 1.0,
                expected_samples: 1.0,
                paired: Paired {
                    difference: 0.1,
                    stderr: f64::NAN,
                    z: f64::NAN,
                },
            }],
        });
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(
            keys(&v),
            [
                "method",
                "parameter",
                "estimator",
                "data",
                "prompts",
                "skipped_prompts",
                "points",
                "n",
                "versus"
            ]
        );
        assert_eq!(keys(&v["versus"]), ["theta", "points"]);
        assert_eq!(
            serde_json::to_string(&v["versus"]["points"][0]).unwrap(),
            r#"{"theta":1.0,"expected_samples":1.0,"difference":0.1,"stderr":null,"z":null}"#
        );
    }

    #[test]
    fn kl_key_order_and_nulls() {
        let m = hedge_math::Method::new(MethodKind::Bon, 1e9, None).unwrap();
        let r = KlReport::of(MethodKind::Bon, 1e9, None, &m);
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(
            keys(&v),
            [
                "method",
                "parameter",
                "theta",
                "kl",
                "mean_quantile",
                "expected_samples",
                "same_kl"
            ]
        );
        let same: Vec<Vec<&str>> = v["same_kl"].as_array().unwrap().iter().map(keys).collect();
        assert_eq!(
            same,
            [
                vec!["method", "parameter", "theta"],
                vec!["method", "parameter", "theta"],
                vec!["method", "parameter", "theta", "note", "n"],
            ]
        );
        // SBoN cannot reach this KL: its θ is written as null, with the reason.
        assert!(v["same_kl"][2]["theta"].is_null());
        assert_eq!(v["same_kl"][2]["n"], 16);
        let m = hedge_math::Method::new(MethodKind::Sbon, 5.0, Some(8)).unwrap();
        let v = serde_json::to_value(KlReport::of(MethodKind::Sbon, 5.0, Some(8), &m)).unwrap();
        assert_eq!(
            keys(&v),
            [
                "method",
                "parameter",
                "theta",
                "kl",
                "mean_quantile",
                "expected_samples",
                "same_kl",
                "n"
            ]
        );
        assert_eq!(v["parameter"], "beta");
        assert_eq!(keys(&v["same_kl"][0]), ["method", "parameter", "theta"]);
    }

    #[test]
    fn info_key_order_and_nulls() {
        let r = FileSummary {
            source: "x.csv".into(),
            prompts: 2,
            rows: 5,
            rows_read: 6,
            skipped_prompts: 1,
            responses_min: 2,
            responses_max: 3,
            proxy: ColumnStats::of(&[1.0, 2.0]),
            truth: ColumnStats::of(&[]),
            load_seconds: 0.5,
        };
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(
            keys(&v),
            [
                "data",
                "prompts",
                "rows",
                "rows_read",
                "skipped_prompts",
                "responses_min",
                "responses_max",
                "proxy",
                "true",
                "load_seconds"
            ]
        );
        assert_eq!(keys(&v["proxy"]), ["min", "max", "mean"]);
        // No values: ±∞ are written as null, the mean as 0.
        assert_eq!(
            serde_json::to_string(&v["true"]).unwrap(),
            r#"{"min":null,"max":null,"mean":0.0}"#
        );
    }

    #[test]
    fn demo_key_order_and_nulls() {
        let d = synth::toy(40, 8, 5).unwrap().prepare().unwrap();
        let bop = holdout(&d, &TuneSpec::new(MethodKind::Bop), 0.25, 1).unwrap();
        let sbon = holdout(&d, &TuneSpec::new(MethodKind::Sbon).n(4), 0.25, 1).unwrap();
        let r = DemoReport {
            seed: 1,
            holdout: 0.25,
            cases: vec![DemoCase {
                case: "c",
                description: "d",
                prompts: 40,
                responses: 8,
                results: vec![
                    DemoMethod {
                        method: MethodKind::Bop,
                        holdout: bop.clone(),
                    },
                    DemoMethod {
                        method: MethodKind::Sbon,
                        holdout: sbon.clone(),
                    },
                ],
            }],
        };
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(keys(&v), ["seed", "holdout", "cases"]);
        let case = &v["cases"][0];
        assert_eq!(keys(case), ["case", "description", "prompts", "responses", "results"]);
        let flat = |h: &HoldoutReport| {
            let mut k = vec!["method".to_string(), "parameter".into()];
            k.extend(serde_json::to_value(h).unwrap().as_object().unwrap().keys().cloned());
            k
        };
        let got: Vec<String> = case["results"][0].as_object().unwrap().keys().cloned().collect();
        assert_eq!(got, flat(&bop));
        let got: Vec<String> = case["results"][1].as_object().unwrap().keys().cloned().collect();
        assert_eq!(got, flat(&sbon));
        assert_eq!(case["results"][1]["parameter"], "beta");
    }

    #[test]
    fn toy_key_order() {
        let r = ToyReport::compute(100.0, &[4]).unwrap();
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(keys(&v), ["problem", "true_reward", "c", "range", "results"]);
        let base = [
            "method",
            "parameter",
            "theta",
            "regime",
            "expected_true_reward",
            "kl",
            "mean_quantile",
            "expected_samples",
        ];
        let with = |extra: &'static str| base.iter().copied().chain([extra]).collect::<Vec<_>>();
        assert_eq!(keys(&v["results"][0]), with("theta_continuous"));
        assert_eq!(keys(&v["results"][1]), base);
        assert_eq!(keys(&v["results"][2]), base);
        assert_eq!(keys(&v["results"][3]), with("n"));
        assert_eq!(v["range"], serde_json::json!([0.0, 100.0]));
    }
}
