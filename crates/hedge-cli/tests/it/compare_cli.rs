//! `hedge compare`, ensembles and budgets from the command line, on the shared real data.

use std::path::Path;
use std::time::Instant;

use assert_cmd::Command;
use serde_json::Value;

const REALSUMM: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/realsumm/scores.csv");
const REWARDMATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/data/rewardmath/scores.csv"
);

fn hedge() -> Command {
    Command::cargo_bin("hedge").unwrap()
}

fn shared(path: &str) -> &str {
    assert!(
        Path::new(path).exists(),
        "{path} missing: the real-data tests need ../shared beside the repository"
    );
    path
}

fn json_of(args: &[&str]) -> Value {
    let out = hedge().args(args).assert().success().get_output().stdout.clone();
    serde_json::from_slice(&out).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out)))
}

/// Every leaderboard row is what `hedge tune --holdout 0.5` says for that column (same seed),
/// on both shared sets, with every `proxy_` column found by prefix.
#[test]
fn leaderboard_agrees_with_per_column_tune() {
    for (path, columns) in [(REALSUMM, 14), (REWARDMATH, 15)] {
        let start = Instant::now();
        let c = json_of(&["compare", "--data", shared(path), "--seed", "5", "--json"]);
        eprintln!("compare on {path}: {:.2?} (debug build)", start.elapsed());
        let board = c["leaderboard"].as_array().unwrap();
        assert_eq!(board.len(), columns);
        assert_eq!(c["seed"], 5);
        let mut last = f64::INFINITY;
        for (i, e) in board.iter().enumerate() {
            assert_eq!(e["rank"], i + 1);
            let proxy = e["proxy"].as_str().unwrap();
            let t = json_of(&[
                "tune",
                "--data",
                path,
                "--proxy-col",
                proxy,
                "--method",
                "bon",
                "--holdout",
                "0.5",
                "--seed",
                "5",
                "--json",
            ]);
            assert_eq!(e["holdout"], t["holdout"], "{proxy}");
            let reward = e["holdout"]["tuned_reward"].as_f64().unwrap();
            assert!(reward <= last);
            last = reward;
            let lead = board[0]["holdout"]["tuned_reward"].as_f64().unwrap();
            let d = e["versus_leader"]["difference"].as_f64().unwrap();
            assert!((d - (reward - lead)).abs() < 1e-12, "{proxy}");
        }
    }
}

/// The shared sets' worst proxies: on rewardmath, BoN with grm_gemma falls below a random answer,
/// and compare's "most samples" column shows it.
#[test]
fn harmful_reward_models_are_visible() {
    let c = json_of(&[
        "compare",
        "--data",
        shared(REWARDMATH),
        "--proxy-cols",
        "proxy_internlm2,proxy_grm_gemma",
        "--json",
    ]);
    let board = c["leaderboard"].as_array().unwrap();
    assert_eq!(board[0]["proxy"], "proxy_internlm2");
    let gemma = &board[1];
    let random = c["random"].as_f64().unwrap();
    assert!(gemma["holdout"]["default_reward"].as_f64().unwrap() < random, "{gemma}");
    // The leader's lead is many paired standard errors.
    assert!(gemma["versus_leader"]["z"].as_f64().unwrap() < -3.0, "{gemma}");
}

/// Ensembles get rows, uwo's λ is reported, the summary compares the best ensemble with the best
/// single proxy, and the Pareto plot is written.
#[test]
fn ensembles_rank_with_the_columns() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("compare-plot");
    std::fs::create_dir_all(&dir).unwrap();
    let plot = dir.join("pareto.png");
    let _ = std::fs::remove_file(&plot);
    let c = json_of(&[
        "compare",
        "--data",
        shared(REALSUMM),
        "--proxy-cols",
        "proxy_bert_recall_score,proxy_rouge_1_precision,proxy_js-2",
        "--ensemble",
        "mean-z,min-z,uwo,rank-mean",
        "--methods",
        "bon,bop",
        "--plot",
        plot.to_str().unwrap(),
        "--json",
    ]);
    let board = c["leaderboard"].as_array().unwrap();
    assert_eq!(board.len(), 14);
    let uwo: Vec<&Value> = board.iter().filter(|e| e["ensemble"] == "uwo").collect();
    assert_eq!(uwo.len(), 2);
    assert!(uwo.iter().all(|e| e["lambda"].as_f64().unwrap() >= 0.0));
    assert_eq!(
        board.iter().find(|e| e["ensemble"] == "mean-z").unwrap()["members"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let g = &c["ensemble_vs_single"];
    assert!(
        g["difference"].is_number() && g["stderr"].as_f64().unwrap() > 0.0,
        "{g}"
    );
    assert!(std::fs::metadata(&plot).unwrap().len() > 1000);
    // The table names the comparison.
    let out = hedge()
        .args([
            "compare",
            "--data",
            REALSUMM,
            "--proxy-cols",
            "proxy_js-2,proxy_mover_score",
        ])
        .args(["--ensemble", "min-z"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains("Best ensemble min-z(proxy_js-2,proxy_mover_score)"),
        "{text}"
    );
}

/// `--max-samples 4` on realsumm/BoN: the best n ≤ 4, by brute force over `hedge curve`.
#[test]
fn max_samples_four_gives_the_best_n_up_to_four() {
    for proxy in ["proxy_bert_recall_score", "proxy_rouge_1_precision"] {
        let t = json_of(&[
            "tune",
            "--data",
            shared(REALSUMM),
            "--proxy-col",
            proxy,
            "--method",
            "bon",
            "--max-samples",
            "4",
            "--json",
        ]);
        let c = json_of(&[
            "curve",
            "--data",
            REALSUMM,
            "--proxy-col",
            proxy,
            "--method",
            "bon",
            "--theta",
            "1,2,3,4",
            "--json",
        ]);
        let pts = c["points"].as_array().unwrap();
        let best = pts
            .iter()
            .max_by(|a, b| {
                a["expected_true_reward"]
                    .as_f64()
                    .unwrap()
                    .total_cmp(&b["expected_true_reward"].as_f64().unwrap())
            })
            .unwrap();
        assert_eq!(t["theta"], best["theta"], "{proxy}");
        assert!(t["theta"].as_f64().unwrap() <= 4.0);
        assert_eq!(t["budget"]["max_samples"], 4.0);
        assert_eq!(t["range"][1], 4.0);
    }
    // compare too
    let c = json_of(&[
        "compare",
        "--data",
        REALSUMM,
        "--max-samples",
        "4",
        "--methods",
        "bon,bop",
        "--json",
    ]);
    for e in c["leaderboard"].as_array().unwrap() {
        assert!(e["expected_samples"].as_f64().unwrap() <= 4.0 + 1e-9, "{e}");
    }
}

/// `--proxy-cols a,b --ensemble RULE` on tune and curve select by the ensemble.
#[test]
fn tune_and_curve_accept_an_ensemble() {
    let t = json_of(&[
        "tune",
        "--data",
        shared(REALSUMM),
        "--proxy-cols",
        "proxy_bert_recall_score,proxy_js-2",
        "--ensemble",
        "rank-mean",
        "--method",
        "bon",
        "--json",
    ]);
    assert_eq!(t["columns"]["proxy"], "rank-mean(proxy_bert_recall_score,proxy_js-2)");
    let c = json_of(&[
        "curve",
        "--data",
        REALSUMM,
        "--proxy-cols",
        "proxy_bert_recall_score,proxy_js-2",
        "--ensemble",
        "rank-mean",
        "--method",
        "bon",
        "--theta",
        &t["theta"].to_string(),
        "--json",
    ]);
    assert_eq!(c["points"][0]["expected_true_reward"], t["expected_true_reward"]);
    let u = json_of(&[
        "tune",
        "--data",
        REALSUMM,
        "--proxy-cols",
        "proxy_bert_recall_score,proxy_js-2",
        "--ensemble",
        "uwo",
        "--method",
        "bon",
        "--holdout",
        "0.5",
        "--json",
    ]);
    assert!(
        u["columns"]["proxy"]
            .as_str()
            .unwrap()
            .starts_with("uwo(proxy_bert_recall_score,proxy_js-2) (λ = ")
    );
}

/// Bad flags are usage errors (exit 2) with a message; a missing column prefix (exit 1) names the file's columns.
#[test]
fn bad_flags_are_clear_errors() {
    for (args, needle) in [
        (
            vec!["compare", "--data", REALSUMM, "--ensemble", "median"],
            "unknown ensemble rule",
        ),
        (vec!["compare", "--data", REALSUMM, "--max-samples", "0.5"], ">= 1"),
        (vec!["compare", "--data", REALSUMM, "--cost-per-sample", "-1"], ">= 0"),
        (vec!["compare", "--data", REALSUMM, "--holdout", "1"], "--holdout"),
        (vec!["compare", "--data", "-"], "standard input"),
        (
            vec![
                "tune",
                "--data",
                REALSUMM,
                "--method",
                "bon",
                "--proxy-cols",
                "proxy_js-2",
            ],
            "--ensemble",
        ),
    ] {
        let out = hedge().args(&args).assert().code(2).get_output().stderr.clone();
        let err = String::from_utf8_lossy(&out);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    // A prefix no column has depends on the file: a data error (exit 1), naming the columns.
    let out = hedge()
        .args(["compare", "--data", REALSUMM, "--proxy-prefix", "nope_"])
        .assert()
        .code(1)
        .get_output()
        .stderr
        .clone();
    let err = String::from_utf8_lossy(&out);
    assert!(
        err.contains("no column starts with") && err.contains("proxy_bert_recall_score"),
        "{err}"
    );
    let out = hedge()
        .args(["compare", "--data", REALSUMM, "--proxy-cols", "proxy_js-2,proxy_nope"])
        .assert()
        .failure()
        .get_output()
        .stderr
        .clone();
    let err = String::from_utf8_lossy(&out);
    assert!(
        err.contains("proxy_nope") && err.contains("proxy_bert_f_score"),
        "{err}"
    );
}
