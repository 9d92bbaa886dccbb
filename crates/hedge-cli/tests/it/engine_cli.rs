//! End-to-end tests of the engine commands: `simulate toy`, `kl`, `select`.

use assert_cmd::Command;
use serde_json::Value;

fn hedge() -> Command {
    Command::cargo_bin("hedge").unwrap()
}

fn json_of(args: &[&str]) -> Value {
    let out = hedge().args(args).assert().success().get_output().stdout.clone();
    serde_json::from_slice(&out).unwrap()
}

fn rel(a: f64, b: f64) -> f64 {
    ((a - b) / b).abs()
}

#[test]
fn every_command_has_help() {
    for args in [
        vec!["--help"],
        vec!["simulate", "--help"],
        vec!["simulate", "toy", "--help"],
        vec!["kl", "--help"],
        vec!["select", "--help"],
    ] {
        hedge()
            .args(&args)
            .assert()
            .success()
            .stdout(predicates::str::contains("Usage"));
    }
}

#[test]
fn toy_json_contract_and_values() {
    let v = json_of(&["simulate", "toy", "--json", "--sbon-n", "16"]);
    let results = v["results"].as_array().unwrap();
    let find = |m: &str| results.iter().find(|r| r["method"] == m).unwrap();
    let bon = find("bon");
    assert_eq!(bon["theta"].as_f64().unwrap(), 12.0);
    assert!(rel(bon["theta_continuous"].as_f64().unwrap(), 12.489995996797) < 1e-10);
    assert!(rel(bon["expected_true_reward"].as_f64().unwrap(), 0.6793891754584) < 1e-9);
    let bop = find("bop");
    assert!(rel(bop["theta"].as_f64().unwrap(), 12.39983582227) < 1e-9);
    assert!(rel(bop["expected_true_reward"].as_f64().unwrap(), 0.6669311545806) < 1e-9);
    assert!(rel(bop["kl"].as_f64().unwrap(), 1.601799847740) < 1e-9);
    let tilt = find("tilt");
    assert!(rel(tilt["theta"].as_f64().unwrap(), 13.52939575288) < 1e-9);
    assert!(rel(tilt["expected_true_reward"].as_f64().unwrap(), 0.6657978148251) < 1e-9);
    assert!(rel(tilt["kl"].as_f64().unwrap(), 1.604884123598) < 1e-9);
    let sbon = find("sbon");
    assert_eq!(sbon["n"].as_u64().unwrap(), 16);
    assert!((sbon["theta"].as_f64().unwrap() - 26.121).abs() < 2e-3);
    assert!((sbon["expected_true_reward"].as_f64().unwrap() - 0.700041).abs() < 1e-6);
    for r in results {
        assert!(r["kl"].as_f64().unwrap() > 0.0);
        assert_eq!(r["regime"], "hacking");
    }
}

#[test]
fn kl_reproduces_every_reference_value() {
    let cases: &[(&str, &str, f64)] = &[
        ("bon", "2", 0.1931471805599),
        ("bon", "8", 1.2044415416798),
        ("bon", "64", 3.1745080833597),
        ("bon", "1e6", 12.815511557964),
        ("bop", "1e-6", 1.66666583333e-13),
        ("bop", "0.1", 0.00158653416443),
        ("bop", "1", 0.107153583906737),
        ("bop", "3", 0.494574932549104),
        ("bop", "10", 1.40803238889292),
        ("bop", "50", 2.93222579976457),
        ("bop", "1000", 5.90875577931622),
        ("bop", "1e6", 12.8155115579648),
        ("tilt", "1e-6", 4.16666666667e-14),
        ("tilt", "1", 0.0406518522564),
        ("tilt", "5", 0.650116936415),
        ("tilt", "20", 1.99573231683838),
        ("tilt", "200", 4.29831736654804),
        ("tilt", "1e4", 8.21034037197618),
    ];
    for &(m, theta, kl) in cases {
        let v = json_of(&["kl", "--method", m, "--theta", theta, "--json"]);
        let got = v["kl"].as_f64().unwrap();
        assert!(rel(got, kl) < 1e-9, "{m} {theta}: {got} vs {kl}");
        assert!(v["mean_quantile"].as_f64().is_some() && v["expected_samples"].as_f64().is_some());
    }
    let v = json_of(&["kl", "--method", "bop", "--theta", "12.4", "--json"]);
    assert!(rel(v["mean_quantile"].as_f64().unwrap(), 0.925858453963393) < 1e-12);
    assert_eq!(v["expected_samples"].as_f64().unwrap(), 13.4);
}

#[test]
fn kl_lists_same_kl_parameters() {
    let v = json_of(&["kl", "--method", "bon", "--theta", "8", "--json"]);
    let same = v["same_kl"].as_array().unwrap();
    let bop = same.iter().find(|e| e["method"] == "bop").unwrap()["theta"]
        .as_f64()
        .unwrap();
    let back = json_of(&["kl", "--method", "bop", "--theta", &bop.to_string(), "--json"]);
    assert!(rel(back["kl"].as_f64().unwrap(), 1.2044415416798) < 1e-10);
    let sbon = same.iter().find(|e| e["method"] == "sbon").unwrap();
    assert_eq!(sbon["n"], 16);
    assert!(sbon["theta"].as_f64().unwrap() > 0.0);
    // SBoN with n = 4 cannot reach BoN(8)'s KL: reported, not an error.
    let v = json_of(&["kl", "--method", "bon", "--theta", "8", "--n", "4", "--json"]);
    let sbon = v["same_kl"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["method"] == "sbon")
        .unwrap()
        .clone();
    assert!(sbon["theta"].is_null() && sbon["note"].as_str().unwrap().contains("cannot reach"));
}

#[test]
fn kl_rejects_invalid_parameters() {
    hedge()
        .args(["kl", "--method", "bop", "--theta", "-1"])
        .assert()
        .failure()
        .stderr(predicates::str::contains("mu = -1"));
    hedge()
        .args(["kl", "--method", "sbon", "--theta", "1"])
        .assert()
        .failure()
        .stderr(predicates::str::contains("needs"));
    hedge()
        .args(["kl", "--method", "nope", "--theta", "1"])
        .assert()
        .code(2);
}

#[test]
fn select_is_seeded_and_reports_bad_lines() {
    let input = "{\"id\": 1, \"scores\": [0.1, 0.9, 0.9, 0.2]}\n{\"id\": \"b\", \"scores\": [3, 1, 2]}\n";
    let a = hedge()
        .args(["select", "--method", "bop", "--theta", "3", "--seed", "7"])
        .write_stdin(input)
        .assert()
        .success();
    let b = hedge()
        .args(["select", "--method", "bop", "--theta", "3", "--seed", "7"])
        .write_stdin(input)
        .assert()
        .success();
    let out = String::from_utf8(a.get_output().stdout.clone()).unwrap();
    assert_eq!(out, String::from_utf8(b.get_output().stdout.clone()).unwrap());
    let lines: Vec<Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["id"], "b");
    assert_eq!(lines[0]["seed"], 7);

    let bad = "{\"id\": 1, \"scores\": [0.1, 0.9]}\nnot json\n";
    hedge()
        .args(["select", "--method", "bon", "--theta", "2"])
        .write_stdin(bad)
        .assert()
        .failure()
        .stdout("{\"id\":1,\"index\":1,\"n_used\":2,\"seed\":0}\n")
        .stderr(predicates::str::contains(
            "<stdin>:2: invalid JSON at column 2: expected ident",
        ));
    hedge()
        .args(["select", "--method", "tilt", "--theta", "2"])
        .write_stdin("")
        .assert()
        .failure()
        .stderr(predicates::str::contains("not a sampler"));
}
