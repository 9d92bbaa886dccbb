//! `hedge-load`: a bounded load driver for `hedge serve` (loopback only).
//!
//! Sends `--requests` chat requests from `--concurrency` concurrent clients and reports throughput, latency
//! percentiles, the latency added over `--baseline-ms` (the stand-ins' own latency), and how every request
//! ended: a valid answer (one choice and a `hedge` object), a clear error (an HTTP error with a JSON
//! `error.message`), or a failure (invalid answer, connection lost, no answer within `--timeout-secs`).
//! Exits with status 1 if any request failed or the added p99 exceeds `--max-added-p99-ms`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use serde_json::{Value, json};

/// Bounded load driver for `hedge serve`.
#[derive(Debug, Parser)]
#[command(name = "hedge-load", version)]
struct Args {
    /// Root URL of the proxy (loopback), e.g. http://127.0.0.1:8080.
    #[arg(long)]
    url: String,
    /// Requests in all.
    #[arg(long, default_value_t = 2000)]
    requests: usize,
    /// Concurrent clients.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Per-request timeout; a request without an answer by then counts as hung.
    #[arg(long, default_value_t = 30)]
    timeout_secs: u64,
    /// The stand-ins' own latency per proxied request, in milliseconds (generation + scoring).
    #[arg(long, default_value_t = 0.0)]
    baseline_ms: f64,
    /// Fail if the added p99 latency exceeds this many milliseconds.
    #[arg(long)]
    max_added_p99_ms: Option<f64>,
    /// Use /v1/completions instead of /v1/chat/completions.
    #[arg(long)]
    completions: bool,
    /// Requests sent first, at the same concurrency, and reported apart (connection set-up, an upstream's
    /// first n > 1 refusal); they must end like the others but do not count in the latency figures.
    #[arg(long, default_value_t = 0)]
    warmup: usize,
    /// Measure the stand-ins' own latency directly: this generation server (loopback) ...
    #[arg(long, requires = "direct_reward")]
    direct_llm: Option<String>,
    /// ... and this vLLM-pooling reward server: the same requests, at the same concurrency, doing what the
    /// proxy does upstream (one generation request with `n`, then one scoring request), without the proxy.
    /// The added latency is then the proxy's percentile minus the direct percentile.
    #[arg(long, requires = "direct_llm")]
    direct_reward: Option<String>,
    /// Candidates per direct request (the proxy's n).
    #[arg(long, default_value_t = 4)]
    direct_n: u64,
    /// Direct generation as n single requests (like the proxy in front of a server that refuses n > 1).
    #[arg(long)]
    direct_fanout: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Valid,
    ClearError(u16),
    Invalid,
    Lost,
    Hung,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> std::process::ExitCode {
    let a = Args::parse();
    let host_ok =
        a.url.starts_with("http://127.") || a.url.starts_with("http://localhost") || a.url.starts_with("http://[::1]");
    if !host_ok {
        eprintln!("hedge-load: only loopback URLs are allowed, got {}", a.url);
        return std::process::ExitCode::FAILURE;
    }
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(a.timeout_secs))
        .tcp_nodelay(true)
        .build()
        .expect("client");
    let path = if a.completions {
        "/v1/completions"
    } else {
        "/v1/chat/completions"
    };
    let url = format!("{}{}", a.url.trim_end_matches('/'), path);
    let mut warm_ok = true;
    if a.warmup > 0 {
        let t0 = Instant::now();
        let warm = run_batch(&client, &url, a.warmup, a.concurrency, a.completions, 1_000_000).await;
        let bad = warm
            .iter()
            .filter(|(o, _)| matches!(o, Outcome::Invalid | Outcome::Lost | Outcome::Hung))
            .count();
        let max = warm.iter().map(|(_, l)| *l).fold(0.0, f64::max);
        println!(
            "warm-up           {} requests in {:.2} s, {} failed, max latency {max:.1} ms (not counted below)",
            warm.len(),
            t0.elapsed().as_secs_f64(),
            bad
        );
        warm_ok = bad == 0 && warm.len() == a.warmup;
    }
    let mut baseline = None;
    if let (Some(llm), Some(rm)) = (&a.direct_llm, &a.direct_reward) {
        for u in [llm, rm] {
            if !(u.starts_with("http://127.") || u.starts_with("http://localhost")) {
                eprintln!("hedge-load: only loopback URLs are allowed, got {u}");
                return std::process::ExitCode::FAILURE;
            }
        }
        let t0 = Instant::now();
        let mut lat = run_direct(&client, llm, rm, a.requests, a.concurrency, a.direct_n, a.direct_fanout).await;
        lat.sort_by(f64::total_cmp);
        let (p50, p99) = (percentile(&lat, 50.0), percentile(&lat, 99.0));
        println!(
            "direct (no proxy) {} requests in {:.2} s: p50 {p50:.1} ms  p90 {:.1} ms  p99 {p99:.1} ms  max {:.1} ms",
            lat.len(),
            t0.elapsed().as_secs_f64(),
            percentile(&lat, 90.0),
            lat.last().copied().unwrap_or(f64::NAN)
        );
        baseline = Some((p50, p99));
    }
    let started = Instant::now();
    let results = run_batch(&client, &url, a.requests, a.concurrency, a.completions, 0).await;
    report(&a, results, started.elapsed().as_secs_f64(), warm_ok, baseline)
}

/// The stand-ins' own latency: generation (one request with n, or n single requests) then one scoring request.
async fn run_direct(
    client: &reqwest::Client,
    llm: &str,
    rm: &str,
    total: usize,
    concurrency: usize,
    n: u64,
    fanout: bool,
) -> Vec<f64> {
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (client, next) = (client.clone(), Arc::clone(&next));
        let gen_url = format!("{}/v1/chat/completions", llm.trim_end_matches('/'));
        let rm_url = format!("{}/pooling", rm.trim_end_matches('/'));
        workers.push(tokio::spawn(async move {
            let mut out = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let messages = json!([{"role": "user", "content": format!("Question {i}")}]);
                let t0 = Instant::now();
                let answers: Vec<Value> = if fanout {
                    let calls = (0..n).map(|_| {
                        let body = json!({"model": "m", "messages": messages, "max_tokens": 32, "n": 1});
                        let c = client.clone();
                        let u = gen_url.clone();
                        async move { c.post(&u).json(&body).send().await.ok()?.json::<Value>().await.ok() }
                    });
                    futures_util::future::join_all(calls)
                        .await
                        .into_iter()
                        .flatten()
                        .collect()
                } else {
                    let body = json!({"model": "m", "messages": messages, "max_tokens": 32, "n": n});
                    match client.post(&gen_url).json(&body).send().await {
                        Ok(r) => r.json::<Value>().await.into_iter().collect(),
                        Err(_) => Vec::new(),
                    }
                };
                let texts: Vec<String> = answers
                    .iter()
                    .flat_map(|a| a["choices"].as_array().cloned().unwrap_or_default())
                    .filter_map(|c| {
                        c.pointer("/message/content")
                            .and_then(Value::as_str)
                            .map(str::to_string)
                    })
                    .collect();
                let _ = client
                    .post(&rm_url)
                    .json(&json!({"input": texts, "use_activation": false}))
                    .send()
                    .await
                    .map(|r| r.bytes());
                out.push(t0.elapsed().as_secs_f64() * 1000.0);
            }
            out
        }));
    }
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await.expect("worker"));
    }
    all
}

async fn run_batch(
    client: &reqwest::Client,
    url: &str,
    total: usize,
    concurrency: usize,
    completions: bool,
    offset: usize,
) -> Vec<(Outcome, f64)> {
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (client, url, next) = (client.clone(), url.to_string(), Arc::clone(&next));
        workers.push(tokio::spawn(async move {
            let mut out: Vec<(Outcome, f64)> = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let i = i + offset;
                let body = if completions {
                    json!({"model": "m", "prompt": format!("Question {i}: "), "max_tokens": 32})
                } else {
                    json!({"model": "m", "messages": [{"role": "user", "content": format!("Question {i}")}], "max_tokens": 32})
                };
                let t0 = Instant::now();
                let outcome = match client.post(&url).json(&body).send().await {
                    Err(e) if e.is_timeout() => Outcome::Hung,
                    Err(_) => Outcome::Lost,
                    Ok(resp) => {
                        let status = resp.status().as_u16();
                        match resp.bytes().await {
                            Err(e) if e.is_timeout() => Outcome::Hung,
                            Err(_) => Outcome::Lost,
                            Ok(b) => {
                                let v: Value = serde_json::from_slice(&b).unwrap_or(Value::Null);
                                if status == 200 {
                                    let text = if completions { v.pointer("/choices/0/text") } else { v.pointer("/choices/0/message/content") };
                                    let ok = text.is_some_and(Value::is_string)
                                        && v.pointer("/choices").and_then(Value::as_array).is_some_and(|c| c.len() == 1)
                                        && v.pointer("/hedge/chosen_index").is_some_and(Value::is_u64);
                                    if ok { Outcome::Valid } else { Outcome::Invalid }
                                } else if v.pointer("/error/message").is_some_and(Value::is_string) {
                                    Outcome::ClearError(status)
                                } else {
                                    Outcome::Invalid
                                }
                            }
                        }
                    }
                };
                out.push((outcome, t0.elapsed().as_secs_f64() * 1000.0));
            }
            out
        }));
    }
    let mut results = Vec::new();
    for w in workers {
        results.extend(w.await.expect("worker"));
    }
    results
}

fn report(
    a: &Args,
    results: Vec<(Outcome, f64)>,
    wall: f64,
    warm_ok: bool,
    baseline: Option<(f64, f64)>,
) -> std::process::ExitCode {
    let count = |f: &dyn Fn(Outcome) -> bool| results.iter().filter(|(o, _)| f(*o)).count();
    let valid = count(&|o| o == Outcome::Valid);
    let clear = count(&|o| matches!(o, Outcome::ClearError(_)));
    let invalid = count(&|o| o == Outcome::Invalid);
    let lost = count(&|o| o == Outcome::Lost);
    let hung = count(&|o| o == Outcome::Hung);
    let mut statuses: std::collections::BTreeMap<u16, usize> = Default::default();
    for (o, _) in &results {
        if let Outcome::ClearError(s) = o {
            *statuses.entry(*s).or_default() += 1;
        }
    }
    let mut ok_lat: Vec<f64> = results
        .iter()
        .filter(|(o, _)| *o == Outcome::Valid)
        .map(|(_, l)| *l)
        .collect();
    ok_lat.sort_by(f64::total_cmp);
    let (p50, p90, p99, max) = (
        percentile(&ok_lat, 50.0),
        percentile(&ok_lat, 90.0),
        percentile(&ok_lat, 99.0),
        ok_lat.last().copied().unwrap_or(f64::NAN),
    );
    println!(
        "requests          {} sent, {} answered in {:.2} s",
        a.requests,
        results.len(),
        wall
    );
    println!("throughput        {:.1} requests/s", results.len() as f64 / wall);
    println!("valid answers     {valid}");
    println!("clear errors      {clear} {statuses:?}");
    println!("invalid answers   {invalid}");
    println!("lost (conn.)      {lost}");
    println!("hung (>{}s)       {hung}", a.timeout_secs);
    println!("latency (valid)   p50 {p50:.1} ms  p90 {p90:.1} ms  p99 {p99:.1} ms  max {max:.1} ms");
    let added_p99 = p99 - a.baseline_ms;
    println!(
        "added over the nominal {:.0} ms: p50 {:.1} ms  p99 {:.1} ms",
        a.baseline_ms,
        p50 - a.baseline_ms,
        added_p99
    );
    let added_p99 = match baseline {
        Some((b50, b99)) => {
            println!(
                "added over direct: p50 {:.1} ms  p99 {:.1} ms (proxy percentile minus direct percentile)",
                p50 - b50,
                p99 - b99
            );
            p99 - b99
        }
        None => added_p99,
    };
    let mut ok = warm_ok && invalid == 0 && lost == 0 && hung == 0 && results.len() == a.requests;
    if let Some(limit) = a.max_added_p99_ms {
        #[allow(clippy::neg_cmp_op_on_partial_ord)] // NaN (no valid answer) must fail too
        if !(added_p99 < limit) {
            println!("FAIL: added p99 {added_p99:.1} ms is not under {limit} ms");
            ok = false;
        }
    }
    println!("{}", if ok { "RESULT: ok" } else { "RESULT: FAIL" });
    if ok {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}
