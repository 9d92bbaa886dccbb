//! The JSON contracts pinned against the files of an earlier version (`tests/golden/`, made at
//! commit 93f4c57 by the commands of `tests/golden/manifest.txt`, on the shared real data).
//!
//! - Every key of the old objects is still there, in the same order, with the same value (floats
//!   bit for bit), except for these deliberate changes:
//! - Keys added by later versions ([`ADDED_KEYS`]): the verdict with its evidence and the selected
//!   θ (`verdict`, `evidence`, `selected`), the hold-out's `tuned_verdict` and paired
//!   `tuned_vs_default`, the report's `relative_to_optimum` curves, `best_method` and `versus_best`.
//! - Values that now follow the verdict rather than the shape of the curve ([`CHANGED`]): the
//!   report's verdict sentences, its hacking threshold (only a significant decline marks one)
//!   and its list of files (one more plot).
//! - The parameter grids of curves now come from one
//!   definition (`hedge_math::grid`), which puts a grid's last point exactly on the range's end
//!   (it could miss it by an ulp) and spaces log grids as `(span·i)/(k − 1)` (the old curves used
//!   `span·(i/(k − 1))`): so inside a curve's `points` a θ may move by a few ulps (and the
//!   values there by as little), and a point that sat an ulp below the range's end and next to
//!   the tuned θ = that end has merged with it.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

const RS: &str = "../../../shared/data/realsumm/scores.csv";
const RM: &str = "../../../shared/data/rewardmath/scores.csv";

/// Keys later versions added to the objects (counted as added only where the old object lacks them).
const ADDED_KEYS: &[&str] = &[
    "verdict",
    "evidence",
    "selected",
    "tuned_verdict",
    "tuned_vs_default",
    "relative_to_optimum",
    "best_method",
    "versus_best",
];

/// Top-level keys of `summary.json` whose values changed on purpose.
const CHANGED: &[&str] = &["verdict", "hacking_threshold", "files"];

fn hedge() -> Command {
    Command::new(env!("CARGO_BIN_EXE_hedge"))
}

/// Run one manifest line; the JSON it printed (or the `summary.json` it wrote).
fn run(args: &str) -> String {
    let out_dir = tempfile::tempdir().unwrap();
    let out_path = out_dir.path().to_str().unwrap().to_string();
    let argv: Vec<String> = args
        .split_whitespace()
        .map(|a| match a {
            "RS" => RS.to_string(),
            "RM" => RM.to_string(),
            "OUT" => out_path.clone(),
            a => a.to_string(),
        })
        .collect();
    let o = hedge().args(&argv).output().unwrap();
    assert!(
        o.status.success(),
        "hedge {args}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    if argv[0] == "report" {
        std::fs::read_to_string(out_dir.path().join("summary.json")).unwrap()
    } else {
        String::from_utf8(o.stdout).unwrap()
    }
}

fn rel(a: f64, b: f64) -> f64 {
    if a == b {
        0.0
    } else {
        (a - b).abs() / a.abs().max(b.abs())
    }
}

/// Old curve points against new: every new point matches an old one (θ within 1e-14
/// relative, values within 1e-12, KL 1e-12), and an old point without a match sat within
/// 1e-14 of the new grid's last θ (the end now exact).
fn compare_points(path: &str, old: &[Value], new: &[Value], errs: &mut Vec<String>) {
    let theta = |p: &Value| p["theta"].as_f64().unwrap();
    let last = new.last().map(theta).unwrap_or(f64::NAN);
    let mut j = 0;
    for (i, o) in old.iter().enumerate() {
        let t = theta(o);
        if j < new.len() && rel(t, theta(&new[j])) <= 1e-14 {
            for key in ["expected_true_reward", "stderr", "kl", "expected_samples"] {
                let (a, b) = (&o[key], &new[j][key]);
                let ok = match (a.as_f64(), b.as_f64()) {
                    (Some(x), Some(y)) => rel(x, y) <= 1e-12,
                    _ => a == b,
                };
                if !ok {
                    errs.push(format!("{path}[{i}].{key}: {a} -> {b}"));
                }
            }
            j += 1;
        } else if !(rel(t, last) <= 1e-14 && j == new.len()) {
            errs.push(format!("{path}[{i}]: θ = {t} has no counterpart"));
        }
    }
    if j != new.len() {
        errs.push(format!("{path}: {} new points have no counterpart", new.len() - j));
    }
}

fn compare(path: &str, old: &Value, new: &Value, errs: &mut Vec<String>) {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let kept: Vec<&String> = b
                .keys()
                .filter(|k| a.contains_key(*k) || !ADDED_KEYS.contains(&k.as_str()))
                .collect();
            let olds: Vec<&String> = a.keys().collect();
            if kept != olds {
                errs.push(format!("{path}: keys {olds:?} -> {kept:?}"));
            }
            for (k, v) in a {
                if let Some(w) = b.get(k) {
                    let p = format!("{path}.{k}");
                    if path.starts_with("report_") && !path.contains('.') && CHANGED.contains(&k.as_str()) {
                        continue;
                    }
                    if k == "points" && (path.contains(".curves") || path.starts_with("curve_")) {
                        compare_points(&p, v.as_array().unwrap(), w.as_array().unwrap(), errs);
                    } else {
                        compare(&p, v, w, errs);
                    }
                }
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                compare(&format!("{path}[{i}]"), x, y, errs);
            }
        }
        (a, b) if a == b => {}
        (a, b) => errs.push(format!("{path}: {a} -> {b}")),
    }
}

#[test]
fn json_contracts_match_the_previous_version() {
    let dir = Path::new("tests/golden");
    let manifest = std::fs::read_to_string(dir.join("manifest.txt")).unwrap();
    let mut checked = 0;
    let mut errs = Vec::new();
    for line in manifest.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let (name, args) = line.split_once('\t').unwrap();
        let old_text = std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap();
        let new_text = run(args);
        let old: Value = serde_json::from_str(&old_text).unwrap();
        let new: Value = serde_json::from_str(&new_text).unwrap();
        compare(name, &old, &new, &mut errs);
        checked += 1;
    }
    assert_eq!(checked, 19);
    assert!(errs.is_empty(), "{} differences:\n{}", errs.len(), errs.join("\n"));
}
