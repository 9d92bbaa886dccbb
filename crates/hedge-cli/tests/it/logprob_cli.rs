//! `hedge collect --proxy …` and `hedge serve --proxy …` as processes, against the stand-in generation
//! server on loopback (no reward server): the log-probability proxies' values as computed by hand from the
//! stand-in's known token log-probabilities, and the usage errors.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hedge_standin::{StandinConfig, ThreadStandin, token_logprobs, tokens};
use serde_json::{Value, json};

fn hedge() -> Command {
    Command::new(env!("CARGO_BIN_EXE_hedge"))
}

/// (mean, sum, self-certainty with top `k`) of a stand-in text, by hand.
fn by_hand(text: &str, k: usize) -> (f64, f64, f64) {
    let t = tokens(text).len();
    let (mut sum, mut kl) = (0.0, 0.0);
    for i in 0..t {
        let (lp, top) = token_logprobs(text, i, k);
        sum += lp;
        let total: f64 = top.iter().map(|(_, l)| l.exp()).sum();
        let kk = top.len() as f64;
        kl += -kk.ln() - top.iter().map(|(_, l)| (l.exp() / total).ln()).sum::<f64>() / kk;
    }
    (sum / t as f64, sum, kl / t as f64)
}

fn write_prompts(path: &std::path::Path) {
    let mut text = String::new();
    for i in 0..6 {
        if i % 2 == 0 {
            text.push_str(&format!(
                "{{\"id\": \"c{i}\", \"messages\": [{{\"role\": \"user\", \"content\": \"What is {i} + {i}?\"}}], \"reference\": \"{}\"}}\n",
                i % 5
            ));
        } else {
            text.push_str(&format!(
                "{{\"id\": \"p{i}\", \"prompt\": \"Q{i}: \", \"reference\": \"{}\"}}\n",
                i % 5
            ));
        }
    }
    std::fs::write(path, text).unwrap();
}

#[test]
fn collect_with_two_logprob_proxies_and_no_reward_server() {
    let llm = ThreadStandin::start(StandinConfig::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let prompts = dir.path().join("p.jsonl");
    write_prompts(&prompts);
    let out = dir.path().join("o.jsonl");
    let o = hedge()
        .args(["collect", "--prompts", prompts.to_str().unwrap(), "--llm", llm.url()])
        .args(["--model", "m", "--n", "4", "--temperature", "0.8", "--seed", "3"])
        .args([
            "--proxy",
            "logprob-mean",
            "--proxy",
            "self-certainty",
            "--top-logprobs",
            "5",
        ])
        .args(["--verifier", "boxed", "--out", out.to_str().unwrap(), "--quiet"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rows: Vec<Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 24);
    for r in &rows {
        let (mean, _, sc) = by_hand(r["response"].as_str().unwrap(), 5);
        for (key, want) in [("proxy", mean), ("logprob_mean", mean), ("self_certainty", sc)] {
            let got = r[key].as_f64().unwrap();
            assert!((got - want).abs() < 1e-9, "{key}: {got} vs {want}");
        }
        assert!(r.get("logprob_sum").is_none());
    }
    // Calibration data for either proxy.
    for col in ["proxy", "self_certainty"] {
        let d = hedge_data::load(out.to_str().unwrap(), &hedge_data::LoadOptions::new().proxy_col(col));
        assert_eq!(d.map(|d| d.rows_read).ok(), Some(24), "{col}");
    }
}

#[test]
fn proxy_flags_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let prompts = dir.path().join("p.jsonl");
    write_prompts(&prompts);
    let out = dir.path().join("o.jsonl");
    let p = prompts.to_str().unwrap();
    let o = out.to_str().unwrap();
    let base_collect =
        format!("collect --prompts {p} --llm http://127.0.0.1:9 --model m --n 2 --verifier exact --out {o}");
    let base_serve = "serve --upstream http://127.0.0.1:9 --method bon --theta 2 --listen 256.0.0.1:1";
    for (args, needle) in [
        (base_collect.clone(), "--reward"),
        (
            format!("{base_collect} --proxy self-certainty --top-logprobs 1"),
            "between 2",
        ),
        (
            format!("{base_collect} --proxy logprob-mean --proxy logprob-mean"),
            "twice",
        ),
        (format!("{base_collect} --proxy entropy"), "invalid value"),
        (
            format!("{base_collect} --reward http://127.0.0.1:9 --proxy logprob-mean"),
            "--reward-api",
        ),
        (base_serve.to_string(), "--reward"),
        (
            format!("{base_serve} --proxy logprob-mean --reward http://127.0.0.1:9 --reward-api tei"),
            "--ensemble RULE",
        ),
        (
            format!("{base_serve} --proxy logprob-mean --proxy logprob-sum"),
            "--ensemble RULE",
        ),
        (
            format!("{base_serve} --proxy logprob-mean --ensemble mean-z"),
            "at least two",
        ),
        (
            format!("{base_serve} --proxy logprob-mean --proxy logprob-sum --ensemble median"),
            "unknown ensemble rule",
        ),
        (
            format!("{base_serve} --proxy logprob-mean --proxy logprob-sum --ensemble uwo --ensemble-lambda -1"),
            "--ensemble-lambda",
        ),
        (
            format!("{base_serve} --proxy logprob-mean --ensemble-lambda 1"),
            "--ensemble",
        ),
        (
            format!(
                "{base_serve} --reward http://127.0.0.1:9 --reward http://127.0.0.1:8 --reward-api tei --ensemble min-z"
            ),
            "one --reward-api per --reward",
        ),
        (
            format!(
                "{base_collect} --reward http://127.0.0.1:9 --reward-api tei --reward http://127.0.0.1:8 --reward-api tei"
            ),
            "one --reward server",
        ),
    ] {
        let r = hedge().args(args.split_whitespace()).output().unwrap();
        let err = String::from_utf8_lossy(&r.stderr);
        assert_eq!(r.status.code(), Some(2), "{args}: {err}");
        assert!(err.contains(needle), "{args}: {err}");
    }
}

#[test]
fn serve_with_self_certainty_reports_the_scores_it_chose_by() {
    let llm = ThreadStandin::start(StandinConfig::default()).unwrap();
    let mut child = hedge()
        .args([
            "serve",
            "--upstream",
            llm.url(),
            "--proxy",
            "self-certainty",
            "--top-logprobs",
            "3",
        ])
        .args(["--method", "bon", "--theta", "3", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    assert!(line.contains("proxy self-certainty (top 3)"), "{line}");
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|r| r.split(';').next())
        .expect(&line)
        .to_string();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = reqwest::Client::new();
    let post = |url: String, body: Value| {
        let client = client.clone();
        rt.block_on(async move {
            let r = client.post(url).json(&body).send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        })
    };
    let req = json!({"messages": [{"role": "user", "content": "What is 2 + 2?"}], "seed": 40, "temperature": 0.8});
    let (status, v) = post(format!("http://{addr}/v1/chat/completions"), req.clone());
    assert_eq!(status, 200, "{v}");
    let scores: Vec<f64> = v["hedge"]["scores"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_f64().unwrap())
        .collect();
    assert_eq!(scores.len(), 3);
    for (i, got) in scores.iter().enumerate() {
        let mut one = req.clone();
        one["seed"] = json!(40 + i);
        let (_, u) = post(format!("{}/v1/chat/completions", llm.url()), one);
        let text = u["choices"][0]["message"]["content"].as_str().unwrap();
        let want = by_hand(text, 3).2;
        assert!((got - want).abs() < 1e-9, "candidate {i}: {got} vs {want}");
    }
    let best = (0..3).max_by(|&a, &b| scores[a].total_cmp(&scores[b])).unwrap();
    assert_eq!(v["hedge"]["chosen_index"], best);
    assert_eq!(v["choices"][0]["logprobs"], Value::Null);

    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            assert!(s.success(), "{s:?}");
            break;
        }
        assert!(Instant::now() < deadline, "hedge serve did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
}
