//! Every command (`hedge --help`: simulate toy and gaussian, demo, tune, curve, report, compare,
//! export, info, kl, select, collect, serve), its numeric flags given absurd values (0, −1, ±inf,
//! NaN, 1e20, 1e308, integers past 2^64, the empty string): the command must end with a clear
//! message and exit code 0, 1 or 2 — never a panic (exit code 101, "panicked"), never a hang.
//!
//! The exit codes are the README's: 2 for a usage error (flags that do not fit, a value out of its
//! domain: [`out_of_domain_values_are_usage_errors`]), 1 for what depends on the data, the files or
//! the servers ([`data_dependent_failures_exit_1`]).
//!
//! Commands that would otherwise start serving or collecting are pointed at what fails right after
//! the arguments are checked: `serve` listens on an address that cannot be bound, `collect` reads a
//! prompts file that does not exist.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BAD: [&str; 10] = [
    "0",
    "-1",
    "NaN",
    "inf",
    "-inf",
    "1e20",
    "1e308",
    "18446744073709551616",
    "340282366920938463463374607431768211457",
    "",
];

const REALSUMM: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/realsumm/scores.csv");

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

/// `args` split on whitespace, with `{d}`, `{d2}`, `{one}`, `{one2}`, `{empty}`, `{header}`,
/// `{single}`, `{s}`, `{bad}` and `{o}` replaced by the paths of [`Files`], and `''` by an empty
/// argument.
fn argv(args: &str, f: &Files) -> Vec<String> {
    args.split_whitespace()
        .map(|a| {
            if a == "''" {
                return String::new();
            }
            a.replace("{d}", &f.path("d.csv"))
                .replace("{d2}", &f.path("d2.csv"))
                .replace("{one}", &f.path("one.csv"))
                .replace("{one2}", &f.path("one2.csv"))
                .replace("{empty}", &f.path("empty.csv"))
                .replace("{header}", &f.path("header.csv"))
                .replace("{single}", &f.path("single.csv"))
                .replace("{s}", &f.path("s.jsonl"))
                .replace("{bad}", &f.path("bad.jsonl"))
                .replace("{o}", &f.path("o"))
        })
        .collect()
}

/// The inputs of the sweeps, in a temporary directory: `d.csv` (6 prompts × 4 responses, column
/// `proxy`), `d2.csv` (the same with two proxy columns, `proxy_a` and `proxy_b`), `one.csv` and
/// `one2.csv` (a single prompt), `empty.csv` (no bytes), `header.csv` (a header, no rows),
/// `single.csv` (every prompt a single response), `s.jsonl` (one line of scores), `bad.jsonl` (a
/// line without scores) and `o/` (for outputs).
struct Files(tempfile::TempDir);

impl Files {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
        let (mut d, mut d2) = (
            String::from("prompt_id,proxy,true\n"),
            String::from("prompt_id,proxy_a,proxy_b,true\n"),
        );
        for p in 0..6 {
            for r in 0..4 {
                let (x, y) = ((p * 7 + r * 3) % 5, (r * 5 + p) % 4);
                d.push_str(&format!("p{p},{x},{y}\n"));
                d2.push_str(&format!("p{p},{x},{},{y}\n", (x * 3 + r) % 7));
            }
        }
        write("d.csv", &d);
        write("d2.csv", &d2);
        write("one.csv", "prompt_id,proxy,true\np0,0.1,1\np0,0.2,0\np0,0.3,1\n");
        write(
            "one2.csv",
            "prompt_id,proxy_a,proxy_b,true\np0,0.1,3,1\np0,0.2,2,0\np0,0.3,1,1\n",
        );
        write("empty.csv", "");
        write("header.csv", "prompt_id,proxy,true\n");
        write("single.csv", "prompt_id,proxy,true\np0,0.1,1\np1,0.2,0\np2,0.3,1\n");
        write("s.jsonl", "{\"id\": 1, \"scores\": [0.1, 0.5, 0.2]}\n");
        write("bad.jsonl", "{\"id\": 1}\n");
        std::fs::create_dir(dir.path().join("o")).unwrap();
        Files(dir)
    }

    fn path(&self, name: &str) -> String {
        self.0.path().join(name).to_str().unwrap().to_string()
    }
}

#[test]
fn absurd_numbers_never_panic() {
    let files = Files::new();
    let d = files.path("d.csv");
    let d2 = files.path("d2.csv");
    let o = files.path("o");
    let s = files.path("s.jsonl");
    let (d, d2, o, s) = (d.as_str(), d2.as_str(), o.as_str(), s.as_str());
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
        case(&format!("tune --data {d} --method bop --range"), &["{}:3", "0:{}"]),
        case(&format!("tune --data {d} --method tilt --range"), &["0:{}"]),
        case(&format!("tune --data {d} --method sbon --n 2 --range"), &["0:{}"]),
        case(
            &format!("tune --data {d} --method bon"),
            &["--max-samples", "--cost-per-sample"],
        ),
        case(
            &format!("tune --data {d} --method bon --estimator unbiased --range"),
            &["1:{}"],
        ),
        case(&format!("curve --data {d} --method bon --theta 1,2"), &["--versus"]),
        case(
            &format!("curve --data {d} --method bon"),
            &["--theta", "--grid 1:3:{}", "--grid {}:3:4", "--grid 1:{}:4"],
        ),
        case(
            &format!("curve --data {d} --method bop"),
            &["--theta", "--grid 0:{}:5 --log"],
        ),
        case(&format!("curve --data {d} --method tilt"), &["--theta"]),
        case(&format!("curve --data {d} --method sbon --n 2"), &["--theta"]),
        case(&format!("curve --data {d} --method sbon --theta 1"), &["--n"]),
        case(
            &format!("curve --data {d} --method bon --estimator unbiased"),
            &["--theta"],
        ),
        case(
            &format!("report --data {d} --methods bon --out {o}/r"),
            &[
                "--holdout",
                "--seed",
                "--bins",
                "--confidence",
                "--max-samples",
                "--cost-per-sample",
            ],
        ),
        case(
            &format!("compare --data {d2} --methods bon,bop"),
            &[
                "--holdout",
                "--seed",
                "--confidence",
                "--max-samples",
                "--cost-per-sample",
            ],
        ),
        case(
            &format!("compare --data {d2} --proxy-cols proxy_a,proxy_b --ensemble uwo"),
            &["--holdout"],
        ),
        case("info --data", &["{}"]),
        case(&format!("info --data {d}"), &["--last"]),
        case(
            &format!("export --store sqlite:{o}/none.db --out {o}/e.csv"),
            &["--since", "--last", "--round"],
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
        case("kl --method bon", &["--theta"]),
        case("kl --method tilt", &["--theta"]),
        case("kl --method sbon --n 4", &["--theta"]),
        case("kl --method sbon --theta 1", &["--n"]),
        case(
            &format!("select --method bon --theta 2 --input {s}"),
            &["--theta", "--seed"],
        ),
        case(&format!("select --method bop --input {s}"), &["--theta"]),
        case(&format!("select --method sbon --n 2 --input {s}"), &["--theta"]),
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

/// Runs each command line (see [`argv`]) and checks its exit code; every mismatch is listed.
fn expect_codes(files: &Files, lines: &[&str], want: i32) {
    let mut wrong = Vec::new();
    for line in lines {
        let args = argv(line, files);
        let (code, stderr) = run(&args, Duration::from_secs(60));
        assert!(!stderr.contains("panicked"), "hedge {line} panicked:\n{stderr}");
        assert!(
            stderr.contains("error") || stderr.contains("hedge:"),
            "hedge {line}: no message\n{stderr}"
        );
        if code != Some(want) {
            wrong.push(format!(
                "hedge {line}: exit code {code:?}, not {want}: {}",
                stderr.trim()
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {}:\n{}",
        wrong.len(),
        lines.len(),
        wrong.join("\n")
    );
}

/// A value out of its flag's domain, or flags that do not fit, on every command: exit code 2.
#[test]
fn out_of_domain_values_are_usage_errors() {
    let serve = "serve --upstream http://127.0.0.1:9 --reward http://127.0.0.1:9 --reward-api tei --listen 256.0.0.1:1";
    let collect = "collect --prompts {o}/none.jsonl --llm http://127.0.0.1:9 --model m --reward http://127.0.0.1:9 --reward-api tei --verifier exact --out {o}/c.jsonl";
    let lines: Vec<String> = [
        // tune
        "tune --data {d} --method bon --range 0:3",
        "tune --data {d} --method bon --range 1:1e309",
        "tune --data {d} --method bon --range 5:1",
        "tune --data {d} --method bop --range -1:3",
        "tune --data {d} --method bon --range 1:",
        "tune --data {d} --method bon --holdout 0",
        "tune --data {d} --method bon --holdout 1",
        "tune --data {d} --method bon --holdout NaN",
        "tune --data {d} --method bon --confidence 1",
        "tune --data {d} --method bon --bootstrap 0",
        "tune --data {d} --method bon --max-samples 0.5",
        "tune --data {d} --method bon --cost-per-sample -1",
        "tune --data {d} --method bon --n 4",
        "tune --data {d} --method sbon --n 0",
        "tune --data {d} --method sbon --n-grid 2,0",
        "tune --data {d} --method bon --seed -1",
        "tune --data {d} --method bon --estimator unbiased --range 1.5:1.7",
        "tune --data {d} --method bop --estimator unbiased",
        "tune --data {d} --method nope",
        // curve
        "curve --data {d} --method bon --theta 0",
        "curve --data {d} --method bon --theta 0.5",
        "curve --data {d} --method sbon --n 16 --theta -1",
        "curve --data {d} --method bop --theta -1",
        "curve --data {d} --method tilt --theta NaN",
        "curve --data {d} --method bon --theta 1e309",
        "curve --data {d} --method bon --grid 0:3:4",
        "curve --data {d} --method bop --grid -1:3:4 --log",
        "curve --data {d} --method bon --grid 1:3:0",
        "curve --data {d} --method bon --grid 1:3:1000001",
        "curve --data {d} --method bon --theta 2 --versus 0",
        "curve --data {d} --method sbon --n 2 --theta 1 --versus -1",
        "curve --data {d} --method sbon --theta 1",
        "curve --data {d} --method bon --theta 2 --n 4",
        "curve --data {d} --method bon --estimator unbiased --theta 2.5",
        // report
        "report --data {d} --out {o}/r --bins 0",
        "report --data {d} --out {o}/r --holdout 1.5",
        "report --data {d} --out {o}/r --confidence 0.2",
        "report --data {d} --out {o}/r --max-samples 0",
        // compare
        "compare --data {d2} --holdout 0",
        "compare --data {d2} --confidence 2",
        "compare --data {d2} --max-samples 0",
        "compare --data {d2} --cost-per-sample inf",
        // kl
        "kl --method bon --theta 0",
        "kl --method bop --theta -1",
        "kl --method tilt --theta inf",
        "kl --method sbon --theta 1",
        "kl --method sbon --n 4 --theta -1",
        "kl --method bon --theta ''",
        // select
        "select --method bon --theta 0 --input {s}",
        "select --method bon --theta 2.5 --input {s}",
        "select --method tilt --theta 1 --input {s}",
        "select --method bop --theta NaN --input {s}",
        "select --method bop --theta -1 --input {s}",
        "select --method sbon --theta 1 --input {s}",
        "select --method sbon --n 2 --theta -1 --input {s}",
        // info and export
        "info --data {d} --format xyz",
        "info --data {d} --last 5",
        "tune --data {d} --method bon --last 5",
        "serve --upstream http://127.0.0.1:9 --reward http://127.0.0.1:9 --reward-api tei --method bon --theta 4 --store mysql://x",
        "serve --upstream http://127.0.0.1:9 --reward http://127.0.0.1:9 --reward-api tei --method bon --theta 0",
        "serve --upstream http://127.0.0.1:9 --reward http://127.0.0.1:9 --reward-api tei --method bon --theta 4 --max-abs-reward 0",
        "tune --store mysql://x --method bon",
        "export --store ftp://x --out {o}/x.csv",
        "info",
        "export --out {o}/e.csv",
        "export --store sqlite:{o}/none.db --out {o}/e.csv --since -1",
        "export --store sqlite:{o}/none.db --out {o}/e.csv --last 0",
        // demo and simulate
        "demo --prompts 1",
        "demo --responses 0",
        "demo --holdout 1",
        "simulate toy --max-theta 0",
        "simulate toy --sbon-n 0",
        "simulate gaussian --prompts 0 --out {o}/g.csv",
        "simulate gaussian --noise -1 --out {o}/g.csv",
        "simulate gaussian --df 0 --out {o}/g.csv",
    ]
    .into_iter()
    .map(String::from)
    .chain(
        [
            "--method bon --theta 0",
            "--method bon --theta 2.5",
            "--method bop --theta -1",
            "--method tilt --theta 1",
            "--method sbon --theta 1 --n 0",
            "--method sbon --theta -1 --n 2",
            "--method bon --theta 4 --timeout 1e20",
        ]
        .map(|f| format!("{serve} {f}")),
    )
    .chain(
        [
            "--n 0",
            "--n 2 --temperature -1",
            "--n 2 --timeout 0",
            "--n 2 --concurrency 0",
        ]
        .map(|f| format!("{collect} {f}")),
    )
    .collect();
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    expect_codes(&Files::new(), &lines, 2);
}

/// What only the data (or a missing file) can cause: exit code 1, even where the flags alone are fine.
#[test]
fn data_dependent_failures_exit_1() {
    let files = Files::new();
    expect_codes(
        &files,
        &[
            // A hold-out split of a single prompt cannot be made.
            "tune --data {one} --method bon --holdout 0.3",
            "tune --data {one} --method bop --holdout 0.5 --seed 3",
            "report --data {one} --out {o}/r1 --holdout 0.3",
            "compare --data {one2}",
            "tune --data {one2} --proxy-cols proxy_a,proxy_b --ensemble uwo --holdout 0.3 --method bon",
            // No usable rows.
            "curve --data {empty} --method bon --theta 2",
            "curve --data {header} --method bon --theta 2",
            "tune --data {single} --method bon",
            "info --data {empty}",
            "tune --data {header} --method bop",
            // Files and columns that are not there.
            "tune --data {o}/missing.csv --method bon",
            "tune --data {d} --proxy-col nope --method bon",
            "compare --data {d} --proxy-prefix nope_",
            // A bad input line.
            "select --method bon --theta 2 --input {bad}",
            "select --method bon --theta 2 --input {o}/missing.jsonl",
            // A store that is not there (opened read-only).
            "export --store sqlite:{o}/none.db --out {o}/e.csv",
        ],
        1,
    );
}

/// The tuned optimum of realsumm's ROUGE-1 precision on ranges up to 1e308 is the one of sensible
/// ranges (BoN's scan once put its first interior point at n ≈ 25 000 and returned n = 1), with a
/// note saying where the search stopped.
#[test]
fn huge_ranges_find_the_peak_of_sensible_ones() {
    let tuned = |method: &str, range: &str| -> serde_json::Value {
        let o = hedge()
            .args([
                "tune",
                "--data",
                REALSUMM,
                "--proxy-col",
                "proxy_rouge_1_precision",
                "--json",
            ])
            .args(["--method", method, "--range", range])
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{method} {range}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        serde_json::from_slice(&o.stdout).unwrap()
    };
    for (method, sensible, huge) in [
        ("bon", "1:25", ["1:1e4", "1:1e100", "1:1e110", "1:1e300", "1:1e308"]),
        ("bop", "0:24", ["0:1e5", "0:1e100", "0:1e110", "0:1e300", "0:1e308"]),
        ("tilt", "0:250", ["0:1e5", "0:1e100", "0:1e110", "0:1e300", "0:1e308"]),
    ] {
        let base = tuned(method, sensible);
        let t0 = base["theta"].as_f64().unwrap();
        assert!(base.get("notes").is_none(), "{method} {sensible}: {base}");
        assert_eq!(base["regime"], "hacking");
        if method == "bon" {
            assert_eq!(t0, 5.0);
        }
        for range in huge {
            let v = tuned(method, range);
            let t = v["theta"].as_f64().unwrap();
            let close = if method == "bon" {
                t == t0
            } else {
                (t - t0).abs() <= 1e-9 * t0
            };
            assert!(close, "{method} {range}: {t} vs {t0} on {sensible}");
            assert_eq!(v["regime"], base["regime"], "{method} {range}");
            let note = v["notes"][0].as_str().unwrap_or_default();
            assert!(note.starts_with("searched "), "{method} {range}: {v}");
        }
    }
}
