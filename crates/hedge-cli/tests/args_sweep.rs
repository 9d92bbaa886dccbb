//! Every numeric flag of every command, given absurd values (0, −1, NaN, inf, 1e20, 2^64): the
//! command must end with a clear message and exit code 0, 1 or 2 — never a panic (exit code 101,
//! "panicked"), never a hang. Out-of-domain values are usage errors (exit code 2).
//!
//! Commands that would otherwise start serving or collecting are pointed at what fails right after
//! the arguments are checked: `serve` listens on an address that cannot be bound, `collect` reads a
//! prompts file that does not exist.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BAD: [&str; 6] = ["0", "-1", "NaN", "inf", "1e20", "18446744073709551616"];

fn hedge() -> Command {
    Command::new(env!("CARGO_BIN_EXE_hedge"))
}

/// Runs `args`, killing it after `limit`; (exit code, stderr).
fn run(args: &[String], limit: Duration) -> (Option<i32>, String) {
    let mut child = hedge()
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            return (status.code(), String::from_utf8_lossy(&out.stderr).into_owned());
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("hedge {} did not finish within {limit:?}", args.join(" "));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

struct Case {
    base: Vec<String>,
    flags: Vec<&'static str>,
}

fn case(base: &str, flags: &[&'static str]) -> Case {
    Case {
        base: base.split_whitespace().map(String::from).collect(),
        flags: flags.to_vec(),
    }
}

#[test]
fn absurd_numbers_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d.csv");
    let mut csv = String::from("prompt_id,proxy,true\n");
    for p in 0..6 {
        for r in 0..4 {
            csv.push_str(&format!("p{p},{},{}\n", (p * 7 + r * 3) % 5, (r * 5 + p) % 4));
        }
    }
    std::fs::write(&data, csv).unwrap();
    let scores = dir.path().join("s.jsonl");
    std::fs::write(&scores, "{\"id\": 1, \"scores\": [0.1, 0.5, 0.2]}\n").unwrap();
    let d = data.to_str().unwrap();
    let out = dir.path().join("o");
    let o = out.to_str().unwrap();
    let s = scores.to_str().unwrap();
    let serve = "serve --upstream http://127.0.0.1:9 --reward http://127.0.0.1:9 --reward-api tei --listen 256.0.0.1:1";
    let collect = format!(
        "collect --prompts {o}/none.jsonl --llm http://127.0.0.1:9 --model m --reward http://127.0.0.1:9 --reward-api tei --verifier exact --out {o}/c.jsonl"
    );
    let cases = [
        case(
            &format!("tune --data {d} --method bop"),
            &["--holdout", "--bootstrap", "--seed", "--confidence"],
        ),
        case(&format!("tune --data {d} --method sbon"), &["--n", "--n-grid"]),
        case(&format!("tune --data {d} --method bon --range"), &["{}:3", "1:{}"]),
        case(&format!("curve --data {d} --method bon --theta 1,2"), &["--versus"]),
        case(
            &format!("curve --data {d} --method bon"),
            &["--theta", "--grid 1:3:{}", "--grid {}:3:4"],
        ),
        case(&format!("curve --data {d} --method sbon --theta 1"), &["--n"]),
        case(
            &format!("report --data {d} --methods bon --out {o}/r"),
            &["--holdout", "--seed", "--bins", "--confidence"],
        ),
        case(
            "demo --prompts 20 --responses 4",
            &["--prompts", "--responses", "--holdout", "--seed"],
        ),
        case(
            &format!("simulate gaussian --prompts 5 --responses 3 --out {o}/g.csv"),
            &["--prompts", "--responses", "--noise", "--df", "--seed"],
        ),
        case("simulate toy --sbon-n 4", &["--max-theta", "--sbon-n"]),
        case("kl --method bop --theta 1", &["--theta"]),
        case("kl --method sbon --theta 1", &["--n"]),
        case(
            &format!("select --method bon --theta 2 --input {s}"),
            &["--theta", "--seed"],
        ),
        case(&format!("select --method sbon --theta 2 --input {s}"), &["--n"]),
        case(
            &format!("{serve} --method bon --theta 4"),
            &[
                "--seed",
                "--max-n",
                "--max-body-bytes",
                "--max-concurrent",
                "--max-connections",
                "--request-timeout",
                "--header-timeout",
                "--body-timeout",
                "--shutdown-timeout",
                "--timeout",
                "--max-attempts",
                "--max-in-flight",
                "--max-upstream-bytes",
                "--batch-size",
                "--top-logprobs",
            ],
        ),
        case(
            &format!("{serve} --method bon --theta 4 --proxy logprob-mean --ensemble uwo"),
            &["--ensemble-lambda"],
        ),
        case(&format!("{serve} --method bop"), &["--theta"]),
        case(&format!("{serve} --method sbon --theta 1"), &["--n"]),
        case(
            &collect,
            &[
                "--n",
                "--seed",
                "--concurrency",
                "--temperature",
                "--max-tokens",
                "--top-p",
                "--timeout",
                "--max-attempts",
                "--batch-size",
                "--max-in-flight",
                "--max-upstream-bytes",
                "--top-logprobs",
            ],
        ),
    ];
    let mut runs = 0;
    let mut usage_errors = 0;
    for c in &cases {
        for flag in &c.flags {
            for bad in BAD {
                let mut args = c.base.clone();
                if flag.contains("{}") {
                    args.extend(flag.replace("{}", bad).split_whitespace().map(String::from));
                } else {
                    args.push(flag.to_string());
                    args.push(bad.to_string());
                }
                if c.base[0] == "collect" && *flag != "--n" {
                    args.extend(["--n".into(), "2".into()]);
                }
                let (code, stderr) = run(&args, Duration::from_secs(60));
                let shown = args.join(" ");
                assert!(!stderr.contains("panicked"), "hedge {shown} panicked:\n{stderr}");
                assert!(
                    matches!(code, Some(0..=2)),
                    "hedge {shown}: exit code {code:?}\n{stderr}"
                );
                if code == Some(2) {
                    usage_errors += 1;
                    assert!(
                        stderr.contains("error") || stderr.contains("hedge:"),
                        "hedge {shown}: no message\n{stderr}"
                    );
                }
                runs += 1;
            }
        }
    }
    assert_eq!(runs, cases.iter().map(|c| c.flags.len()).sum::<usize>() * BAD.len());
    eprintln!("{runs} runs, {usage_errors} usage errors");
    // Most of these values are out of their flag's domain.
    assert!(usage_errors * 10 > runs * 6, "{usage_errors} usage errors of {runs}");
}

#[test]
fn serve_timeout_1e20_is_a_usage_error() {
    let args: Vec<String> = "serve --upstream http://127.0.0.1:9 --reward http://127.0.0.1:9 --reward-api tei --method bon --theta 4 --timeout 1e20"
        .split_whitespace()
        .map(String::from)
        .collect();
    let (code, stderr) = run(&args, Duration::from_secs(30));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("--timeout") && stderr.contains("positive number of seconds"),
        "{stderr}"
    );
    // A flag value out of the engine's domain is a usage error too.
    let (code, stderr) = run(
        &[
            "kl".into(),
            "--method".into(),
            "bop".into(),
            "--theta".into(),
            "-1".into(),
        ],
        Duration::from_secs(30),
    );
    assert_eq!(code, Some(2), "{stderr}");
}
