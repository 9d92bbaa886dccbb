//! End-to-end tests of `hedge collect` and `hedge serve` as processes, against stand-ins on loopback.

use std::collections::{BTreeSet, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hedge_standin::{Scorer, StandinConfig, ThreadStandin};
use serde_json::Value;

fn hedge() -> Command {
    Command::new(env!("CARGO_BIN_EXE_hedge"))
}

fn write_prompts(path: &Path, count: usize) {
    let mut text = String::new();
    for i in 0..count {
        if i % 3 == 0 {
            text.push_str(&format!("{{\"id\": \"chat-{i}\", \"messages\": [{{\"role\": \"user\", \"content\": \"Question {i}?\"}}], \"reference\": \"{}\"}}\n", i % 5));
        } else {
            text.push_str(&format!(
                "{{\"id\": \"p{i}\", \"prompt\": \"Question {i}: \", \"reference\": \"{}\"}}\n",
                i % 5
            ));
        }
    }
    std::fs::write(path, text).unwrap();
}

fn collect_cmd(prompts: &Path, out: &Path, llm: &str, rm: &str, gold: &str) -> Command {
    let mut c = hedge();
    c.args([
        "collect",
        "--prompts",
        prompts.to_str().unwrap(),
        "--llm",
        llm,
        "--model",
        "m",
        "--n",
        "3",
    ])
    .args([
        "--reward",
        rm,
        "--reward-api",
        "vllm-pooling",
        "--gold",
        gold,
        "--gold-api",
        "tei",
    ])
    .args([
        "--out",
        out.to_str().unwrap(),
        "--seed",
        "5",
        "--concurrency",
        "2",
        "--temperature",
        "0.8",
        "--max-tokens",
        "40",
    ])
    .arg("--quiet");
    c
}

fn row_set(path: &Path) -> (Vec<String>, BTreeSet<String>) {
    let text = std::fs::read_to_string(path).unwrap();
    let lines: Vec<String> = text.lines().map(str::to_string).collect();
    let set = lines.iter().cloned().collect();
    (lines, set)
}

#[test]
fn new_commands_have_help() {
    for cmd in ["collect", "serve"] {
        let out = hedge().args([cmd, "--help"]).output().unwrap();
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("Usage") && text.contains("--reward-api"), "{text}");
    }
}

#[test]
fn collect_survives_sigkill_and_resumes_without_duplicates_or_losses() {
    let llm = ThreadStandin::start(StandinConfig {
        latency: Duration::from_millis(25),
        ..Default::default()
    })
    .unwrap();
    let rm = ThreadStandin::start(StandinConfig {
        scorer: Scorer::Proxy,
        ..Default::default()
    })
    .unwrap();
    let gold = ThreadStandin::start(StandinConfig {
        scorer: Scorer::Gold,
        ..Default::default()
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let prompts = dir.path().join("prompts.jsonl");
    write_prompts(&prompts, 60);

    // An uninterrupted run, for reference.
    let reference = dir.path().join("reference.jsonl");
    let out = collect_cmd(&prompts, &reference, llm.url(), rm.url(), gold.url())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(
        summary.contains("prompts    60 (0 already done, 60 completed now, 0 failed)"),
        "{summary}"
    );
    assert!(summary.contains("responses  180 written"), "{summary}");
    let (ref_lines, ref_set) = row_set(&reference);
    assert_eq!(ref_lines.len(), 180);

    // Interrupted runs: SIGKILL at different points, then a final run to completion.
    let target = dir.path().join("killed.jsonl");
    let mut kills = 0;
    for stop_after_lines in [10, 70, 130] {
        let mut child = collect_cmd(&prompts, &target, llm.url(), rm.url(), gold.url())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let lines = std::fs::read(&target)
                .map(|b| b.iter().filter(|&&c| c == b'\n').count())
                .unwrap_or(0);
            if lines >= stop_after_lines || Instant::now() > deadline {
                break;
            }
            if child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            kills += 1;
        }
        child.wait().unwrap();
    }
    assert!(kills >= 2, "the runs finished before they could be killed");
    let out = collect_cmd(&prompts, &target, llm.url(), rm.url(), gold.url())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(summary.contains("already done"), "{summary}");

    let (lines, set) = row_set(&target);
    let keys: Vec<(String, u64)> = lines
        .iter()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (
                v["prompt_id"].as_str().unwrap().to_string(),
                v["response_id"].as_u64().unwrap(),
            )
        })
        .collect();
    let unique: HashSet<_> = keys.iter().collect();
    assert_eq!(unique.len(), keys.len(), "duplicate rows");
    assert_eq!(lines.len(), ref_lines.len(), "missing rows");
    assert_eq!(set, ref_set, "rows differ from the uninterrupted run");

    // A completed output loads with hedge-data's defaults; a rerun does nothing.
    let cal = hedge_data::load(target.to_str().unwrap(), &hedge_data::LoadOptions::new()).unwrap();
    assert_eq!((cal.num_prompts(), cal.num_rows()), (60, 180));
    let out = collect_cmd(&prompts, &target, llm.url(), rm.url(), gold.url())
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("60 already done, 0 completed now"));
}

#[test]
fn collect_reports_failed_prompts_with_exit_code_1() {
    let llm = ThreadStandin::start(StandinConfig {
        fail_rate: 1.0,
        ..Default::default()
    })
    .unwrap();
    let rm = ThreadStandin::start(StandinConfig::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let prompts = dir.path().join("prompts.jsonl");
    write_prompts(&prompts, 2);
    let out = hedge()
        .args([
            "collect",
            "--prompts",
            prompts.to_str().unwrap(),
            "--llm",
            llm.url(),
            "--model",
            "m",
            "--n",
            "2",
        ])
        .args([
            "--reward",
            rm.url(),
            "--reward-api",
            "openrlhf",
            "--verifier",
            "exact",
            "--max-attempts",
            "1",
            "--quiet",
        ])
        .args(["--out", dir.path().join("o.jsonl").to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("hedge: 2 prompt(s) got no usable response; rerun the same command to retry them"),
        "{err}"
    );
    assert!(err.contains("HTTP 500"), "the failures are logged: {err}");
}

fn http_post(addr: &str, path: &str, body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(s, "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let status = resp.split(' ').nth(1).unwrap().parse().unwrap();
    let body = resp
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

#[test]
fn serve_answers_then_stops_on_sigterm() {
    let llm = ThreadStandin::start(StandinConfig {
        refuse_n: true,
        ..Default::default()
    })
    .unwrap();
    let rm = ThreadStandin::start(StandinConfig::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let tune = dir.path().join("tune.json");
    std::fs::write(
        &tune,
        r#"{"method": "sbon", "theta": 1.5, "n": 3, "expected_true_reward": 0.7}"#,
    )
    .unwrap();
    let mut child = hedge()
        .args([
            "serve",
            "--upstream",
            llm.url(),
            "--reward",
            rm.url(),
            "--reward-api",
            "sglang",
        ])
        .args(["--from-tune", tune.to_str().unwrap(), "--listen", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|r| r.split(';').next())
        .expect(&line)
        .to_string();
    assert!(line.contains("method sbon theta 1.5 n 3"), "{line}");

    let (status, body) = http_post(
        &addr,
        "/v1/chat/completions",
        r#"{"messages": [{"role": "user", "content": "hi"}], "seed": 3}"#,
    );
    // A chunked or plain body: find the JSON object.
    let json_start = body.find('{').unwrap();
    let json_end = body.rfind('}').unwrap();
    let v: Value = serde_json::from_str(&body[json_start..=json_end]).unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(v["hedge"]["method"], "sbon");
    assert_eq!(v["hedge"]["n"], 3);

    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "hedge serve did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
}

#[test]
fn serve_refuses_tilt_and_bad_urls_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let tune = dir.path().join("tune.json");
    std::fs::write(&tune, r#"{"method": "tilt", "theta": 13.5}"#).unwrap();
    let out = hedge()
        .args([
            "serve",
            "--upstream",
            "http://127.0.0.1:9",
            "--reward",
            "http://127.0.0.1:9",
            "--reward-api",
            "tei",
        ])
        .args(["--from-tune", tune.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "a usage error");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a sampler"), "{err}");

    let out = hedge()
        .args([
            "serve",
            "--upstream",
            "http://127.0.0.1:9/v1",
            "--reward",
            "http://127.0.0.1:9",
            "--reward-api",
            "tei",
        ])
        .args(["--method", "bon", "--theta", "4"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("hedge appends /v1/... itself"), "{err}");

    let out = hedge()
        .args([
            "serve",
            "--upstream",
            "http://127.0.0.1:9",
            "--reward",
            "http://127.0.0.1:9",
            "--reward-api",
            "tei",
        ])
        .args(["--method", "tilt", "--theta", "4"])
        .output()
        .unwrap();
    // A method that cannot be served is a flag out of its domain: a usage error.
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn keys_from_the_environment_never_reach_output_or_logs() {
    const KEY: &str = "sk-cli-SECRET-31337";
    // The servers require the key, fail every request and echo the Authorization header they received.
    let echo = StandinConfig {
        require_key: Some(KEY.into()),
        echo_auth: true,
        fail_rate: 1.0,
        ..Default::default()
    };
    let llm = ThreadStandin::start(echo.clone()).unwrap();
    let rm = ThreadStandin::start(echo).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let prompts = dir.path().join("prompts.jsonl");
    write_prompts(&prompts, 2);
    let out = hedge()
        .env("HEDGE_UPSTREAM_API_KEY", KEY)
        .env("HEDGE_REWARD_API_KEY", KEY)
        .env("HEDGE_LOG", "trace")
        .args([
            "collect",
            "--prompts",
            prompts.to_str().unwrap(),
            "--llm",
            llm.url(),
            "--model",
            "m",
            "--n",
            "2",
        ])
        .args([
            "--reward",
            rm.url(),
            "--reward-api",
            "tei",
            "--verifier",
            "exact",
            "--max-attempts",
            "2",
            "--quiet",
        ])
        .args(["--out", dir.path().join("o.jsonl").to_str().unwrap()])
        .output()
        .unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        all.contains("[redacted]"),
        "the echoed key was seen and redacted: {all}"
    );
    assert!(!all.contains(KEY), "{all}");
}
