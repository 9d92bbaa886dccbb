//! End-to-end tests of the calibration-data commands: tune, curve, simulate gaussian, demo.

use std::path::PathBuf;

use assert_cmd::Command;
use predicates::str::contains;
use serde_json::Value;

fn hedge() -> Command {
    Command::cargo_bin("hedge").unwrap()
}

fn shared(rel: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data")
        .join(rel);
    assert!(
        p.exists(),
        "{} missing: the real-data tests need ../shared beside the repository",
        p.display()
    );
    p.to_string_lossy().into_owned()
}

fn json_of(args: &[&str]) -> Value {
    let out = hedge().args(args).assert().success().get_output().stdout.clone();
    serde_json::from_slice(&out).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out)))
}

#[test]
fn real_data_regimes_and_json_contract() {
    let realsumm = shared("realsumm/scores.csv");
    for method in ["bon", "bop", "tilt"] {
        let v = json_of(&[
            "tune",
            "--data",
            &realsumm,
            "--proxy-col",
            "proxy_rouge_1_precision",
            "--method",
            method,
            "--json",
        ]);
        assert_eq!(v["regime"], "hacking", "{method}: {v}");
        for key in [
            "method",
            "parameter",
            "theta",
            "regime",
            "expected_true_reward",
            "kl",
            "expected_samples",
            "prompts",
            "skipped_prompts",
            "estimator",
        ] {
            assert!(v.get(key).is_some(), "missing {key}");
        }
        assert_eq!(v["prompts"], 100);
        assert_eq!(v["estimator"], "plugin");
        let v = json_of(&[
            "tune",
            "--data",
            &realsumm,
            "--proxy-col",
            "proxy_rouge_2_recall",
            "--method",
            method,
            "--json",
        ]);
        assert_eq!(v["regime"], "increasing", "{method}: {v}");
    }
    let v = json_of(&[
        "tune",
        "--data",
        &shared("rewardmath/scores.csv"),
        "--proxy-col",
        "proxy_internlm2",
        "--method",
        "bon",
        "--json",
    ]);
    assert_eq!(v["regime"], "increasing");
    assert_eq!(v["theta"], 10.0);
    assert_eq!(v["parameter"], "n");
}

#[test]
fn holdout_and_bootstrap_are_seeded() {
    let realsumm = shared("realsumm/scores.csv");
    let args = [
        "tune",
        "--data",
        &realsumm,
        "--proxy-col",
        "proxy_rouge_1_precision",
        "--method",
        "bop",
        "--holdout",
        "0.3",
        "--bootstrap",
        "50",
        "--seed",
        "4",
        "--json",
    ];
    let a = json_of(&args);
    let b = json_of(&args);
    assert_eq!(a, b);
    let h = &a["holdout"];
    for key in [
        "prompts",
        "tuned_reward",
        "oracle_theta",
        "oracle_reward",
        "default_theta",
        "default_reward",
    ] {
        assert!(h.get(key).is_some(), "holdout.{key} missing");
    }
    assert_eq!(h["prompts"], 30);
    assert_eq!(h["default_theta"], 24.0);
    assert!(h["oracle_reward"].as_f64().unwrap() >= h["tuned_reward"].as_f64().unwrap() - 1e-12);
    let i = a["interval"].as_array().unwrap();
    assert!(i[0].as_f64().unwrap() <= i[1].as_f64().unwrap());
    assert_eq!(a["seed"], 4);
}

#[test]
fn curve_agrees_with_tune() {
    let realsumm = shared("realsumm/scores.csv");
    let t = json_of(&[
        "tune",
        "--data",
        &realsumm,
        "--proxy-col",
        "proxy_rouge_1_precision",
        "--method",
        "bop",
        "--json",
    ]);
    let theta = t["theta"].as_f64().unwrap();
    let c = json_of(&[
        "curve",
        "--data",
        &realsumm,
        "--proxy-col",
        "proxy_rouge_1_precision",
        "--method",
        "bop",
        "--theta",
        &format!("0,{theta},24"),
        "--json",
    ]);
    let pts = c["points"].as_array().unwrap();
    assert_eq!(pts.len(), 3);
    let f = |i: usize| pts[i]["expected_true_reward"].as_f64().unwrap();
    assert!((f(1) - t["expected_true_reward"].as_f64().unwrap()).abs() < 1e-12);
    assert!(f(1) > f(0) && f(1) > f(2), "the tuned point is the peak");
    for p in pts {
        for key in ["theta", "expected_true_reward", "stderr", "kl", "expected_samples"] {
            assert!(p.get(key).is_some());
        }
    }
    // CSV output has a header and one row per theta.
    let out = hedge()
        .args([
            "curve",
            "--data",
            &realsumm,
            "--proxy-col",
            "proxy_rouge_1_precision",
            "--method",
            "bon",
            "--grid",
            "1:25:25",
            "--csv",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let s = String::from_utf8(out).unwrap();
    assert_eq!(s.lines().count(), 26);
    assert!(s.starts_with("n,expected_true_reward,stderr,kl,expected_samples"));
}

#[test]
fn simulate_writes_files_tune_reads() {
    let dir = tempfile::tempdir().unwrap();
    for ext in ["csv", "jsonl", "parquet"] {
        let path = dir.path().join(format!("g.{ext}"));
        let p = path.to_str().unwrap();
        hedge()
            .args([
                "simulate",
                "gaussian",
                "--prompts",
                "300",
                "--responses",
                "32",
                "--seed",
                "9",
                "--out",
                p,
            ])
            .assert()
            .success()
            .stderr(contains("seed 9"));
        let v = json_of(&["tune", "--data", p, "--method", "bon", "--json"]);
        assert_eq!(v["prompts"], 300);
        assert_eq!(v["regime"], "hacking");
    }
    // Same seed, same bytes.
    let a = dir.path().join("a.csv");
    let b = dir.path().join("b.csv");
    for p in [&a, &b] {
        hedge()
            .args([
                "simulate",
                "gaussian",
                "--prompts",
                "20",
                "--responses",
                "5",
                "--seed",
                "1",
                "--out",
                p.to_str().unwrap(),
            ])
            .assert()
            .success();
    }
    assert_eq!(std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
}

#[test]
fn bad_input_names_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "bad.csv",
            "prompt_id,proxy,true\nq1,0.5,1\nq1,abc,0\n",
            &["bad.csv:3", "column \"proxy\"", "abc"],
        ),
        (
            "inf.csv",
            "prompt_id,proxy,true\nq1,0.5,1\nq1,0.2,inf\n",
            &["inf.csv:3", "column \"true\""],
        ),
        (
            "missing.csv",
            "prompt_id,score,true\nq1,0.5,1\n",
            &["missing.csv", "column \"proxy\"", "score"],
        ),
        ("empty.csv", "", &["empty.csv"]),
        (
            "bad.jsonl",
            "{\"prompt_id\": \"a\", \"proxy\": 1, \"true\": 0}\n{\"prompt_id\": \"a\", \"proxy\": null, \"true\": 1}\n",
            &["bad.jsonl:2", "column \"proxy\""],
        ),
        (
            "dup.csv",
            "prompt_id,response_id,proxy,true\nq1,0,0.5,1\nq1,1,0.4,0\nq2,0,0.1,0\nq1,1,0.3,1\n",
            &["dup.csv:5", "duplicate"],
        ),
    ];
    for (name, body, needles) in cases {
        let p = dir.path().join(name);
        std::fs::write(&p, body).unwrap();
        let out = hedge()
            .args(["tune", "--data", p.to_str().unwrap(), "--method", "bon"])
            .assert()
            .failure()
            .code(1)
            .get_output()
            .stderr
            .clone();
        let msg = String::from_utf8(out).unwrap();
        for n in *needles {
            assert!(msg.contains(n), "{name}: {msg:?} lacks {n:?}");
        }
    }
    hedge()
        .args(["tune", "--data", "/nonexistent/x.csv", "--method", "bon"])
        .assert()
        .failure()
        .stderr(contains("/nonexistent/x.csv"));
    let realsumm = shared("realsumm/scores.csv");
    hedge()
        .args(["tune", "--data", &realsumm, "--method", "bon", "--holdout", "1.5"])
        .assert()
        .failure()
        .stderr(contains("--holdout"));
    hedge()
        .args(["tune", "--data", &realsumm, "--method", "bon", "--n", "4"])
        .assert()
        .failure()
        .stderr(contains("sbon only"));
    hedge()
        .args(["tune", "--data", &realsumm, "--method", "bon", "--range", "9:1"])
        .assert()
        .code(2);
}

#[test]
fn single_response_prompts_are_skipped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("s.csv");
    std::fs::write(&p, "prompt_id,proxy,true\na,1,0\na,2,1\nb,1,1\nc,0.5,1\nc,0.1,0\n").unwrap();
    let v = json_of(&["tune", "--data", p.to_str().unwrap(), "--method", "bop", "--json"]);
    assert_eq!(v["prompts"], 2);
    assert_eq!(v["skipped_prompts"], 1);
}

#[test]
fn demo_runs_and_reports_every_method() {
    let v = json_of(&["demo", "--prompts", "400", "--responses", "64", "--json"]);
    let cases = v["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 2);
    for c in cases {
        let methods: Vec<&str> = c["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["method"].as_str().unwrap())
            .collect();
        assert_eq!(methods, ["bon", "bop", "tilt", "sbon"]);
    }
    let hacking = &cases[0]["results"][0];
    assert_eq!(hacking["tuned_regime"], "hacking");
    assert!(hacking["tuned_reward"].as_f64().unwrap() > hacking["default_reward"].as_f64().unwrap());
}
