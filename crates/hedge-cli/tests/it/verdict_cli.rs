//! The verdict from the command line: the checks, end to end.
//!
//! - On monotone data (`hedge simulate gaussian --monotone --prompts 100 --responses 25`, seeds
//!   1–40), where the true reward of every method keeps rising, `hedge tune` says `hacking` (or
//!   `proxy_hurts`) for at most 4 seeds per method: a test calibrated at 5 % exceeds 4 of 40 with
//!   probability below 5 %. (Before the verdict existed, SBoN's regime said "hacking" for 28.)
//! - On RealSumm with ROUGE-1 precision, BoN's decline after n = 5 is within noise: the evidence
//!   carries the paired numbers and the verdict is not `hacking`.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

const REALSUMM: &str = "../../../shared/data/realsumm/scores.csv";

fn hedge() -> Command {
    Command::new(env!("CARGO_BIN_EXE_hedge"))
}

fn json(args: &[&str]) -> Value {
    let o = hedge().args(args).output().unwrap();
    assert!(
        o.status.success(),
        "hedge {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

fn close(v: &Value, x: f64, tol: f64) -> bool {
    v.as_f64().is_some_and(|y| (y - x).abs() <= tol)
}

#[test]
fn realsumm_rouge_1_precision_decline_is_within_noise() {
    let t = json(&[
        "tune",
        "--data",
        REALSUMM,
        "--proxy-col",
        "proxy_rouge_1_precision",
        "--method",
        "bon",
        "--json",
    ]);
    assert_eq!(t["theta"], 5.0);
    assert_eq!(t["regime"], "hacking", "the estimated curve still peaks at n = 5");
    assert_ne!(t["verdict"], "hacking");
    assert_eq!(t["verdict"], "inconclusive");
    let e = &t["evidence"];
    let loss = &e["loss_at_default"];
    assert_eq!(loss["theta"], 25.0);
    assert!(close(&loss["difference"], 0.0117, 5e-5), "{loss}");
    assert!(close(&loss["stderr"], 0.0088, 5e-5), "{loss}");
    assert!(close(&loss["z"], 1.33, 0.01), "{loss}");
    assert_eq!(loss["significant"], false);
    let gain = &e["gain"];
    assert_eq!(gain["theta"], 1.0);
    assert!(close(&gain["difference"], 0.0167, 5e-5), "{gain}");
    assert!(close(&gain["stderr"], 0.0059, 5e-5), "{gain}");
    assert_eq!(gain["significant"], true);
    assert_eq!(e["hacking_significant"], false);
    assert_eq!(e["level"], 0.95);
    // About (c · sd / loss)² prompts: more than the 100 there are.
    let needed = e["prompts_needed"].as_u64().unwrap();
    assert!((150..400).contains(&needed), "{needed}");
    // A lower confidence level is a weaker test; the corrected one still fails here (z = 1.33).
    let t80 = json(&[
        "tune",
        "--data",
        REALSUMM,
        "--proxy-col",
        "proxy_rouge_1_precision",
        "--method",
        "bon",
        "--confidence",
        "0.8",
        "--json",
    ]);
    assert!(t80["evidence"]["loss_at_default"]["critical"].as_f64().unwrap() < loss["critical"].as_f64().unwrap());
}

#[test]
fn one_se_selection_is_deployable() {
    let t = json(&[
        "tune",
        "--data",
        REALSUMM,
        "--proxy-col",
        "proxy_rouge_1_precision",
        "--method",
        "bon",
        "--select",
        "one-se",
        "--json",
    ]);
    let s = &t["selected"];
    assert_eq!(s["rule"], "one-se");
    let n = s["theta"].as_f64().unwrap();
    assert!(n < 5.0, "one-se picks fewer samples than the peak: {n}");
    // Within one paired SE of the peak, and n − 1 is not.
    let below = &s["below_peak"];
    assert!(below["difference"].as_f64().unwrap() <= below["stderr"].as_f64().unwrap());
    assert_eq!(s["samples_saved"].as_f64().unwrap(), 5.0 - n);
    let v = json(&[
        "curve",
        "--data",
        REALSUMM,
        "--proxy-col",
        "proxy_rouge_1_precision",
        "--method",
        "bon",
        "--theta",
        &format!("{}", n - 1.0),
        "--versus",
        "5",
        "--json",
    ]);
    let p = &v["versus"]["points"][0];
    assert!(
        -p["difference"].as_f64().unwrap() > p["stderr"].as_f64().unwrap(),
        "{p}"
    );
}

#[test]
fn monotone_data_rarely_says_hacking() {
    let dir = tempfile::tempdir().unwrap();
    let mut alarms = [0usize; 4];
    let methods = ["bon", "bop", "tilt", "sbon"];
    for seed in 1..=40 {
        let data = dir.path().join(format!("m{seed}.csv"));
        let o = hedge()
            .args([
                "simulate",
                "gaussian",
                "--monotone",
                "--prompts",
                "100",
                "--responses",
                "25",
                "--seed",
            ])
            .arg(seed.to_string())
            .arg("--out")
            .arg(&data)
            .output()
            .unwrap();
        assert!(o.status.success());
        let data = data.to_str().unwrap();
        for (i, m) in methods.iter().enumerate() {
            let t = json(&["tune", "--data", data, "--method", m, "--json"]);
            if matches!(t["verdict"].as_str(), Some("hacking" | "proxy_hurts")) {
                alarms[i] += 1;
            }
        }
    }
    for (m, a) in methods.iter().zip(alarms) {
        assert!(a <= 4, "{m}: {a} of 40 monotone data sets said hacking");
    }
    assert!(Path::new(REALSUMM).exists());
}
