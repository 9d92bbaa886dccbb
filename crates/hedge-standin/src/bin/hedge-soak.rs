//! `hedge-soak`: the client side of `bench/soak.sh` (loopback only, bounded in time and count).
//!
//! Runs `--clients` concurrent chat clients against `hedge serve` for `--duration-secs` (at most
//! `--max-requests` requests in all) and, beside them, one feedback client that every `--feedback-every-ms`
//! posts a label to `POST /v1/hedge/feedback`: poisoned ones (huge, ±huge, just above / below
//! `--max-abs-reward`, numbers as strings, a wrong count, an unknown id, malformed JSON, an overflowing
//! literal, a duplicate) and valid ones, on the ids of real answers it just saw. It keeps going through
//! faults (a killed and restarted server, refused connections) and writes what happened to every request,
//! one line each, for the script to judge:
//!
//! - `--requests-out`: `sent_ms done_ms client outcome status id n calibration`, tab-separated, where
//!   outcome is `ok` (HTTP 200 with an `id` and a `hedge` object), `http` (another status, with a JSON
//!   `error.message`), `invalid` (an answer that is neither), `refused` (connection refused: nothing
//!   listening), `reset` (the connection broke before a full answer) or `timeout` (no answer within
//!   `--timeout-secs`: a hang). Times are ms since the Unix epoch.
//! - `--feedback-out`: `sent_ms done_ms kind expect outcome status id answered_ms error_type`, where expect
//!   is what a correct server answers (`200`, a 4xx, `reject` for any 4xx, or `any` when the server's
//!   `--max-abs-reward` is unknown) and answered_ms is when the labelled id was answered (0 for no real id).
//!
//! The bearer key, if any, is read from `HEDGE_SERVE_API_KEY` and never printed.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Parser;
use serde_json::{Value, json};

/// The client side of bench/soak.sh.
#[derive(Debug, Parser)]
#[command(name = "hedge-soak", version)]
struct Args {
    /// Root URL of `hedge serve` (loopback), e.g. http://127.0.0.1:8080.
    #[arg(long)]
    url: String,
    /// Concurrent chat clients.
    #[arg(long, default_value_t = 4)]
    clients: usize,
    /// How long to send requests, in seconds.
    #[arg(long, default_value_t = 600)]
    duration_secs: u64,
    /// Requests in all at most (every client stops when they are used up).
    #[arg(long, default_value_t = 1_000_000)]
    max_requests: usize,
    /// Per-request timeout; a request without an answer by then counts as a hang.
    #[arg(long, default_value_t = 60)]
    timeout_secs: u64,
    /// Pause of each client between its requests, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pause_ms: u64,
    /// One feedback label every this many milliseconds (0: none).
    #[arg(long, default_value_t = 500)]
    feedback_every_ms: u64,
    /// The server's --max-abs-reward, when it has one: labels beyond it must be refused, labels within it
    /// accepted. Without it, labels that are finite numbers may be accepted or refused.
    #[arg(long)]
    max_abs_reward: Option<f64>,
    /// Where the per-request lines go.
    #[arg(long)]
    requests_out: String,
    /// Where the per-feedback lines go.
    #[arg(long)]
    feedback_out: String,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// How one HTTP exchange ended.
struct Ended {
    outcome: &'static str,
    status: u16,
    body: Option<Value>,
}

fn classify(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "refused"
    } else {
        "reset"
    }
}

async fn post(client: &reqwest::Client, url: &str, key: &Option<String>, body: Vec<u8>) -> Ended {
    let mut req = client.post(url).header("content-type", "application/json").body(body);
    if let Some(k) = key {
        req = req.bearer_auth(k);
    }
    match req.send().await {
        Err(e) => Ended {
            outcome: classify(&e),
            status: 0,
            body: None,
        },
        Ok(r) => {
            let status = r.status().as_u16();
            match r.bytes().await {
                Err(e) => Ended {
                    outcome: classify(&e),
                    status,
                    body: None,
                },
                Ok(b) => {
                    let v: Option<Value> = serde_json::from_slice(&b).ok();
                    let outcome = match (&v, status) {
                        (Some(v), 200) if v["id"].is_string() && v["hedge"].is_object() => "ok",
                        (Some(v), 200) if v["stored"].is_number() => "ok",
                        (Some(v), s) if s != 200 && v["error"]["message"].is_string() => "http",
                        _ => "invalid",
                    };
                    Ended {
                        outcome,
                        status,
                        body: v,
                    }
                }
            }
        }
    }
}

/// Ids of recent ordinary (not calibration) answers, for the feedback client: (id, n, answered_ms).
type Recent = Arc<Mutex<VecDeque<(String, usize, u64)>>>;

struct Shared {
    client: reqwest::Client,
    base: String,
    key: Option<String>,
    deadline: Instant,
    budget: AtomicUsize,
    stop: AtomicBool,
    recent: Recent,
    out: Mutex<BufWriter<File>>,
}

async fn chat_client(s: Arc<Shared>, who: usize, pause: Duration) {
    let url = format!("{}/v1/chat/completions", s.base);
    let mut i = 0u64;
    while Instant::now() < s.deadline && !s.stop.load(Ordering::Relaxed) {
        if s.budget
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| b.checked_sub(1))
            .is_err()
        {
            break;
        }
        i += 1;
        let body = json!({"messages": [{"role": "user", "content": format!("soak client {who} question {i}")}]});
        let sent = now_ms();
        let e = post(&s.client, &url, &s.key, body.to_string().into_bytes()).await;
        let done = now_ms();
        let (id, n, calibration) = match &e.body {
            Some(v) if e.outcome == "ok" => (
                v["id"].as_str().unwrap_or("").to_string(),
                v["hedge"]["n"].as_u64().unwrap_or(0) as usize,
                v["hedge"]["calibration"].as_bool().unwrap_or(false),
            ),
            _ => (String::new(), 0, false),
        };
        if e.outcome == "ok" && !calibration && n > 0 {
            let mut r = s.recent.lock().unwrap_or_else(|p| p.into_inner());
            r.push_back((id.clone(), n, done));
            if r.len() > 1000 {
                r.pop_front();
            }
        }
        {
            let mut out = s.out.lock().unwrap_or_else(|p| p.into_inner());
            let _ = writeln!(
                out,
                "{sent}\t{done}\t{who}\t{}\t{}\t{}\t{n}\t{}",
                e.outcome,
                e.status,
                if id.is_empty() { "-" } else { &id },
                u8::from(calibration)
            );
        }
        // After a transport failure (server down), do not spin.
        if matches!(e.outcome, "refused" | "reset") {
            tokio::time::sleep(Duration::from_millis(100)).await;
        } else if !pause.is_zero() {
            tokio::time::sleep(pause).await;
        }
    }
}

/// The kinds of labels the feedback client posts, in turn.
const KINDS: &[&str] = &[
    "valid",
    "huge",
    "alt_huge",
    "above_max",
    "below_max",
    "nan_string",
    "wrong_count",
    "unknown_id",
    "malformed",
    "valid",
    "neg_above_max",
    "neg_below_max",
    "overflow_literal",
    "duplicate",
];

async fn feedback_client(s: Arc<Shared>, every: Duration, max_abs: Option<f64>, path: String) {
    let url = format!("{}/v1/hedge/feedback", s.base);
    let mut out = match File::create(&path) {
        Ok(f) => BufWriter::new(f),
        Err(e) => {
            eprintln!("hedge-soak: {path}: {e}");
            return;
        }
    };
    let mut accepted: Vec<(String, usize, u64)> = Vec::new();
    let mut k = 0usize;
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while Instant::now() < s.deadline && !s.stop.load(Ordering::Relaxed) {
        tick.tick().await;
        let kind = KINDS[k % KINDS.len()];
        k += 1;
        // A real id: the newest ordinary answer not used yet (the duplicate kind reuses an accepted one).
        let real = if kind == "duplicate" {
            accepted.last().cloned()
        } else if kind == "unknown_id" || kind == "malformed" {
            None
        } else {
            s.recent.lock().unwrap_or_else(|p| p.into_inner()).pop_back()
        };
        let needs_real = !matches!(kind, "unknown_id" | "malformed");
        let Some((id, n, answered)) = real.or_else(|| (!needs_real).then(|| (String::new(), 0, 0))) else {
            continue; // no answer to label yet (the server may be down)
        };
        let limit = max_abs.unwrap_or(1e6);
        let filled = |x: f64| vec![x; n];
        let (body, expect): (String, String) = match kind {
            "valid" => {
                // Small rewards that depend on nothing: they add noise, not a trend.
                let r: Vec<f64> = (0..n).map(|i| ((i * 7 + k) % 11) as f64 / 10.0 - 0.5).collect();
                (json!({"id": id, "rewards": r}).to_string(), "200".into())
            }
            "huge" => (json!({"id": id, "rewards": filled(1e308)}).to_string(), "reject".into()),
            "alt_huge" => {
                let r: Vec<f64> = (0..n).map(|i| if i % 2 == 0 { 1e308 } else { -1e308 }).collect();
                (json!({"id": id, "rewards": r}).to_string(), "reject".into())
            }
            "above_max" => (
                json!({"id": id, "rewards": filled(limit * (1.0 + 1e-9))}).to_string(),
                "reject".into(),
            ),
            "neg_above_max" => (
                json!({"id": id, "rewards": filled(-limit * (1.0 + 1e-9))}).to_string(),
                "reject".into(),
            ),
            "below_max" => (
                json!({"id": id, "rewards": filled(limit * (1.0 - 1e-9))}).to_string(),
                "200".into(),
            ),
            "neg_below_max" => (
                json!({"id": id, "rewards": filled(-limit * (1.0 - 1e-9))}).to_string(),
                "200".into(),
            ),
            "nan_string" => {
                let r: Vec<&str> = (0..n).map(|_| "NaN").collect();
                (json!({"id": id, "rewards": r}).to_string(), "400".into())
            }
            "wrong_count" => (json!({"id": id, "rewards": vec![0.0; n + 1]}).to_string(), "422".into()),
            "unknown_id" => (
                json!({"id": format!("chatcmpl-hedge-soak-unknown-{k}"), "rewards": [0.0, 0.0]}).to_string(),
                "404".into(),
            ),
            "malformed" => ("{\"id\": \"x\", \"rewards\": [1, 2".to_string(), "400".into()),
            "overflow_literal" => {
                let r = vec!["1e309"; n].join(", ");
                (format!("{{\"id\": \"{id}\", \"rewards\": [{r}]}}"), "400".into())
            }
            _ /* duplicate */ => (json!({"id": id, "rewards": filled(0.0)}).to_string(), "409".into()),
        };
        // Without the server's limit, finite numbers may go either way.
        let expect = if expect == "reject" && max_abs.is_none() {
            "any".to_string()
        } else {
            expect
        };
        let sent = now_ms();
        let e = post(&s.client, &url, &s.key, body.into_bytes()).await;
        let done = now_ms();
        if e.status == 200 && needs_real && kind != "duplicate" {
            accepted.push((id.clone(), n, answered));
        }
        let etype = e
            .body
            .as_ref()
            .and_then(|v| v["error"]["type"].as_str().map(str::to_string))
            .unwrap_or_else(|| "-".into());
        let _ = writeln!(
            out,
            "{sent}\t{done}\t{kind}\t{expect}\t{}\t{}\t{}\t{answered}\t{etype}",
            e.outcome,
            e.status,
            if id.is_empty() { "-" } else { &id }
        );
    }
    let _ = out.flush();
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> std::process::ExitCode {
    let a = Args::parse();
    let base = a.url.trim_end_matches('/').to_string();
    if !(base.starts_with("http://127.") || base.starts_with("http://localhost")) {
        eprintln!("hedge-soak: only loopback URLs are allowed, got {base}");
        return std::process::ExitCode::FAILURE;
    }
    let out = match File::create(&a.requests_out) {
        Ok(f) => BufWriter::new(f),
        Err(e) => {
            eprintln!("hedge-soak: {}: {e}", a.requests_out);
            return std::process::ExitCode::FAILURE;
        }
    };
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(a.timeout_secs))
        .connect_timeout(Duration::from_secs(5))
        .tcp_nodelay(true)
        .build()
        .expect("client");
    let s = Arc::new(Shared {
        client,
        base,
        key: std::env::var("HEDGE_SERVE_API_KEY").ok().filter(|k| !k.is_empty()),
        deadline: Instant::now() + Duration::from_secs(a.duration_secs),
        budget: AtomicUsize::new(a.max_requests),
        stop: AtomicBool::new(false),
        recent: Arc::new(Mutex::new(VecDeque::new())),
        out: Mutex::new(out),
    });
    let mut tasks = Vec::new();
    for who in 0..a.clients.max(1) {
        tasks.push(tokio::spawn(chat_client(
            Arc::clone(&s),
            who,
            Duration::from_millis(a.pause_ms),
        )));
    }
    if a.feedback_every_ms > 0 {
        tasks.push(tokio::spawn(feedback_client(
            Arc::clone(&s),
            Duration::from_millis(a.feedback_every_ms),
            a.max_abs_reward,
            a.feedback_out.clone(),
        )));
    } else {
        let _ = File::create(&a.feedback_out);
    }
    // Stop early on SIGINT/SIGTERM (the script's cleanup), still writing what was seen.
    let stopper = {
        let s = Arc::clone(&s);
        tokio::spawn(async move {
            let _ = tokio::signal::ctrl_c().await;
            s.stop.store(true, Ordering::Relaxed);
        })
    };
    for t in tasks {
        let _ = t.await;
    }
    stopper.abort();
    let _ = s.out.lock().unwrap_or_else(|p| p.into_inner()).flush();
    std::process::ExitCode::SUCCESS
}
