//! Continuous hedging, end to end: `hedge serve --store … --gold …` in front of stand-ins whose proxy drifts.
//!
//! - Drift: BoN with a monotone proxy (Gaussian noise) climbs to the top of the range; after the proxy
//!   turns heavy-tailed (Cauchy noise, scale 3: best-of-n peaks near n ≈ 6 and is below half of that at
//!   n = 32) θ comes down to the peak within the re-tunings that replace the window; no request fails;
//!   `hedge export` of the last window, tuned offline, gives the θ the server adopted.
//! - No drift: starting at the top of the range under a monotone proxy, ten re-tunings adopt nothing.
//! - `kill -9`: every record the server counted as committed is in the store; a restart resumes θ.
//! - Two replicas on one PostgreSQL store (in `.ci/run`, which starts a throw-away cluster): exactly one
//!   tunes per round, and both serve the same θ within `--poll`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hedge_standin::{ProxyNoise, Scorer, Standin, StandinConfig};
use serde_json::{Value, json};

struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `hedge serve` with `args`, waiting for its "listening on" line.
fn serve(args: &[String]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hedge"))
        .arg("serve")
        .args(args)
        .args(["--listen", "127.0.0.1:0"])
        .env("HEDGE_LOG", "warn")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if !sent {
                if let Some(rest) = line.split("listening on ").nth(1) {
                    let url = rest.split(';').next().unwrap_or("").trim().to_string();
                    let _ = tx.send(url);
                    sent = true;
                }
            }
            if !sent || line.contains("panicked") || line.contains("ERROR") {
                eprintln!("serve: {line}");
            }
        }
    });
    let url = rx.recv_timeout(Duration::from_secs(60)).expect("hedge serve starts");
    Server { child, url }
}

struct Stands {
    llm: Standin,
    proxy: Standin,
    gold: Standin,
}

async fn stands(noise: ProxyNoise) -> Stands {
    let start = |cfg| async move { Standin::start(cfg).await.unwrap() };
    Stands {
        llm: start(StandinConfig::default()).await,
        proxy: start(StandinConfig {
            scorer: Scorer::Noisy,
            proxy_noise: noise,
            ..Default::default()
        })
        .await,
        gold: start(StandinConfig {
            scorer: Scorer::Latent,
            ..Default::default()
        })
        .await,
    }
}

fn args(s: &Stands, store: &str, theta: u32, extra: &[&str]) -> Vec<String> {
    let mut a: Vec<String> = [
        "--upstream",
        &s.llm.url(),
        "--reward",
        &s.proxy.url(),
        "--reward-api",
        "tei",
        "--gold",
        &s.gold.url(),
        "--gold-api",
        "tei",
        "--method",
        "bon",
        "--theta",
        &theta.to_string(),
        "--max-n",
        "32",
        "--calibration-n",
        "32",
        "--gold-rate",
        "1.0",
        "--retune-every",
        "100",
        "--window",
        "400",
        "--poll",
        "0.2",
        "--store",
        store,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    // `extra` holds flag-value pairs; a flag already set gets the new value.
    for pair in extra.chunks(2) {
        match a.iter().position(|x| x == pair[0]) {
            Some(i) if pair.len() == 2 => a[i + 1] = pair[1].to_string(),
            _ => a.extend(pair.iter().map(|s| s.to_string())),
        }
    }
    a
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

/// `count` chat requests, 8 at a time; every one must be answered 200.
async fn traffic(url: &str, count: usize, tag: &str) {
    let c = client();
    let mut done = 0;
    while done < count {
        let k = (count - done).min(8);
        let calls = (0..k).map(|i| {
            let c = c.clone();
            let body = json!({"messages": [{"role": "user", "content": format!("{tag} question {}", done + i)}]});
            let url = format!("{url}/v1/chat/completions");
            async move { c.post(url).json(&body).send().await.map(|r| r.status().as_u16()) }
        });
        for status in futures_util::future::join_all(calls).await {
            assert_eq!(status.ok(), Some(200), "a request failed during {tag}");
        }
        done += k;
    }
}

/// The server's Prometheus metrics page, as text.
async fn fetch_metrics(url: &str) -> String {
    get(url, "/metrics", None).await.1
}

async fn state(url: &str) -> Value {
    serde_json::from_str(&get(url, "/v1/hedge/state", None).await.1).unwrap()
}

/// Wait until the state says `labelled` prompts are labelled and every round up to them is tuned.
async fn settle(url: &str, labelled: u64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let s = state(url).await;
        let have = s["labelled_prompts"].as_u64().unwrap_or(0);
        // The latest round tuned (a round whose labels arrive faster than the tuner polls is skipped:
        // the next one tunes on the most recent window anyway).
        let round = s["history"]
            .as_array()
            .and_then(|h| h.last())
            .and_then(|t| t["round"].as_u64())
            .unwrap_or(0);
        if have >= labelled && round >= labelled / 100 {
            return s;
        }
        assert!(Instant::now() < deadline, "not settled: {s}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn rounds(s: &Value) -> Vec<(i64, f64, f64, bool)> {
    s["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["round"].as_i64().unwrap(),
                t["theta_before"].as_f64().unwrap(),
                t["theta"].as_f64().unwrap(),
                t["adopted"].as_bool().unwrap(),
            )
        })
        .collect()
}

fn hedge(args: &[&str]) -> Value {
    let o = Command::new(env!("CARGO_BIN_EXE_hedge")).args(args).output().unwrap();
    assert!(
        o.status.success(),
        "hedge {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn theta_follows_the_drifting_proxy() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("hedge.db").display());
    let s = stands(ProxyNoise::Gaussian { scale: 0.5 }).await;
    let server = serve(&args(&s, &store, 16, &[]));

    // Monotone proxy: θ rises to the top of the range (n = 32).
    traffic(&server.url, 600, "monotone").await;
    let st = settle(&server.url, 600).await;
    assert_eq!(st["theta"], 32.0, "{st}");
    let before = rounds(&st);
    assert!(before.iter().any(|r| r.3 && r.2 == 32.0), "{before:?}");

    // The proxy turns heavy-tailed: θ comes down to the peak within the rounds that replace the window.
    s.proxy.set_proxy_noise(ProxyNoise::Cauchy { scale: 3.0 }).unwrap();
    let switch_round = before.last().unwrap().0;
    // A round at a time until θ is adopted at the peak: θ† must clear the bar on its own (its paired
    // gain over θ = 32 on a 400-prompt window has z ≈ 2 against a critical value ≈ 1.9), so the round
    // it first does varies; the window is all Cauchy from round switch + 4 on.
    let mut st = Value::Null;
    for k in 1..=16u64 {
        traffic(&server.url, 100, &format!("cauchy {k}")).await;
        st = settle(&server.url, 600 + 100 * k).await;
        if (3.0..=12.0).contains(&st["theta"].as_f64().unwrap()) {
            break;
        }
    }
    let after = rounds(&st);
    let theta = st["theta"].as_f64().unwrap();
    assert!(
        (3.0..=12.0).contains(&theta),
        "θ = {theta} after 16 rounds of Cauchy noise: {after:?}; last: {}",
        st["last_tuning"]["reason"]
    );
    let first_peak = after
        .iter()
        .find(|r| r.0 > switch_round && r.3 && (3.0..=12.0).contains(&r.2))
        .unwrap();
    // Every adoption after the switch went down, towards the peak: no step back up.
    assert!(
        after.iter().filter(|r| r.0 > switch_round && r.3).all(|r| r.2 < r.1),
        "{after:?}"
    );
    eprintln!(
        "θ reached the peak at round {} (switch after round {switch_round})",
        first_peak.0
    );
    let metrics = fetch_metrics(&server.url).await;
    assert!(metrics.contains("hedge_store_dropped_total 0"), "{metrics}");
    assert!(metrics.contains("hedge_gold_failed_total 0"), "{metrics}");

    // The last window, exported and tuned offline, gives the θ the server adopted.
    let out = dir.path().join("window.csv");
    hedge(&[
        "export",
        "--store",
        &store,
        "--round",
        "last",
        "--out",
        out.to_str().unwrap(),
    ]);
    let t = hedge(&["tune", "--data", out.to_str().unwrap(), "--method", "bon", "--json"]);
    let last = after.last().unwrap();
    let in_force = if last.3 { last.2 } else { last.1 };
    assert_eq!(
        t["theta"].as_f64().unwrap(),
        last.2,
        "offline θ† vs the last round's {last:?}"
    );
    assert_eq!(in_force, theta);
    // `hedge report --store` draws θ over time.
    let report = dir.path().join("report");
    hedge(&[
        "report",
        "--store",
        &store,
        "--methods",
        "bon",
        "--out",
        report.to_str().unwrap(),
    ]);
    assert!(report.join("theta_over_time.svg").is_file());
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_drift_no_flapping() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("hedge.db").display());
    let s = stands(ProxyNoise::Gaussian { scale: 0.5 }).await;
    let server = serve(&args(&s, &store, 32, &[]));
    // A round at a time, so that none is skipped however busy the machine is.
    let mut st = Value::Null;
    for k in 1..=10 {
        traffic(&server.url, 100, &format!("steady {k}")).await;
        st = settle(&server.url, 100 * k).await;
    }
    let r = rounds(&st);
    assert!(r.len() >= 10 && r.last().unwrap().0 >= 10, "{r:?}");
    assert!(r.iter().all(|t| !t.3), "θ moved without a drift: {r:?}");
    assert_eq!(st["theta"], 32.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_keeps_committed_records_and_restart_resumes_theta() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("hedge.db").display());
    let s = stands(ProxyNoise::Gaussian { scale: 0.5 }).await;
    let mut server = serve(&args(&s, &store, 16, &[]));
    traffic(&server.url, 250, "before").await;
    let st = settle(&server.url, 200).await;
    let theta = st["theta"].as_f64().unwrap();
    let restart_theta = if theta == 4.0 { 8 } else { 4 };
    let metrics = fetch_metrics(&server.url).await;
    let committed: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("hedge_store_committed_total "))
        .and_then(|v| v.parse().ok())
        .unwrap();
    server.child.kill().unwrap(); // SIGKILL
    server.child.wait().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_hedge"))
        .args(["info", "--store", &store])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let requests = hedge_store::open(&store).unwrap().counts().unwrap().requests;
    assert!(
        requests >= committed && committed >= 250,
        "{requests} in the store, {committed} acknowledged"
    );
    // A restart serves the θ in force from the store, not the flags'.
    let server = serve(&args(&s, &store, restart_theta, &[]));
    let st = state(&server.url).await;
    assert_eq!(st["theta"].as_f64().unwrap(), theta, "{st}");
    assert_eq!(st["source"], "store");
}

/// One chat request through the proxy: its response id and number of candidates.
async fn one_served_request(url: &str) -> (String, usize) {
    let r: Value = client()
        .post(format!("{url}/v1/chat/completions"))
        .json(&json!({"messages": [{"role": "user", "content": "label me"}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (
        r["id"].as_str().unwrap().to_string(),
        r["hedge"]["n"].as_u64().unwrap() as usize,
    )
}

/// `POST /v1/hedge/feedback` with `body`: (status, body).
async fn feedback(url: &str, body: Value) -> (u16, String) {
    let r = client()
        .post(format!("{url}/v1/hedge/feedback"))
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feedback_is_validated_and_stored() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("hedge.db").display());
    let s = stands(ProxyNoise::Gaussian { scale: 0.5 }).await;
    let server = serve(&args(&s, &store, 4, &["--gold-rate", "0"]));
    let (id, n) = one_served_request(&server.url).await;
    let fb = |body: Value| feedback(&server.url, body);
    assert_eq!(fb(json!({"id": "nope", "rewards": vec![0.0; n]})).await.0, 404);
    let (status, body) = fb(json!({"id": id, "rewards": vec![0.0; n + 1]})).await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = fb(json!({"id": id, "rewards": "1"})).await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = fb(json!({"id": id, "rewards": vec![0.5; n]})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(fb(json!({"id": id, "rewards": vec![0.5; n]})).await.0, 409);
    let st = state(&server.url).await;
    assert_eq!(st["labelled_prompts"], 1);
    assert!(Path::new(&store["sqlite:".len()..]).is_file());
}

/// Two replicas on one PostgreSQL store. The URL comes from `HEDGE_TEST_POSTGRES_URL` (`.ci/run`
/// starts a throw-away cluster: `eval "$(bash tests/pg.sh start)"`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_share_one_postgres_store() {
    let Ok(base) = std::env::var("HEDGE_TEST_POSTGRES_URL") else {
        if std::env::var("HEDGE_SKIP_POSTGRES").as_deref() == Ok("1") {
            eprintln!("SKIPPED: HEDGE_SKIP_POSTGRES=1");
            return;
        }
        panic!(
            "HEDGE_TEST_POSTGRES_URL is not set: run `eval \"$(bash tests/pg.sh start)\"` first (.ci/run does), or set HEDGE_SKIP_POSTGRES=1"
        );
    };
    // A database of its own.
    let db = format!("hedge_replicas_{}", std::process::id());
    admin(
        &base,
        &[format!("DROP DATABASE IF EXISTS {db}"), format!("CREATE DATABASE {db}")],
    );
    let (prefix, _) = base.rsplit_once('/').unwrap();
    let store = format!("{prefix}/{db}");

    let s = stands(ProxyNoise::Gaussian { scale: 0.5 }).await;
    let a = serve(&args(&s, &store, 16, &["--replica", "a"]));
    let b = serve(&args(&s, &store, 16, &["--replica", "b"]));
    for round in 0..4 {
        traffic(&a.url, 60, &format!("a{round}")).await;
        traffic(&b.url, 60, &format!("b{round}")).await;
    }
    let st = settle(&a.url, 400).await;
    let history = rounds(&st);
    // Exactly one tuning per round, whichever replica ran it.
    let mut seen: Vec<i64> = history.iter().map(|r| r.0).collect();
    seen.dedup();
    assert_eq!(seen.len(), history.len(), "{history:?}");
    let mut tuned = 0;
    for server in [&a, &b] {
        let m = fetch_metrics(&server.url).await;
        tuned += m
            .lines()
            .find_map(|l| l.strip_prefix("hedge_tunings_total "))
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap();
    }
    assert_eq!(tuned, history.len(), "each round tuned by exactly one replica");
    // Both serve the same θ within the poll interval.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (ta, tb) = (
            state(&a.url).await["theta"].clone(),
            state(&b.url).await["theta"].clone(),
        );
        if ta == tb {
            break;
        }
        assert!(Instant::now() < deadline, "replicas disagree: {ta} vs {tb}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop((a, b));
    admin(&base, &[format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)")]);
}

/// Run SQL statements as the test role, on a plain thread (the synchronous client runs a runtime of its
/// own, which must not be started inside the test's).
fn admin(url: &str, sql: &[String]) {
    let (url, sql) = (url.to_string(), sql.to_vec());
    std::thread::spawn(move || {
        let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        for s in sql {
            c.batch_execute(&s).unwrap();
        }
    })
    .join()
    .unwrap();
}

/// Starts `hedge serve` with `args` and `env`, keeping every line it writes on stderr.
fn serve_logged(args: &[String], env: &[(&str, &str)]) -> (Server, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hedge"));
    cmd.arg("serve")
        .args(args)
        .args(["--listen", "127.0.0.1:0"])
        .env("HEDGE_LOG", "debug")
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    let kept = std::sync::Arc::clone(&lines);
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let url = line
                .split("listening on ")
                .nth(1)
                .map(|rest| rest.split(';').next().unwrap_or("").trim().to_string());
            // Kept before the URL is sent: the caller reads the banner from `lines` once it has the URL.
            kept.lock().unwrap().push(line);
            if let Some(url) = url {
                let _ = tx.send(url);
            }
        }
    });
    let url = rx.recv_timeout(Duration::from_secs(60)).expect("hedge serve starts");
    (Server { child, url }, lines)
}

/// GET `path` with an optional bearer token: (status, body).
async fn get(url: &str, path: &str, key: Option<&str>) -> (u16, String) {
    let mut r = client().get(format!("{url}{path}"));
    if let Some(k) = key {
        r = r.bearer_auth(k);
    }
    let r = r.send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// The value of an unlabelled metric (or one with exactly `labels`), if present.
fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poisoned_labels_are_refused_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("hedge.db").display());
    let s = stands(ProxyNoise::Gaussian { scale: 0.5 }).await;
    let server = serve(&args(&s, &store, 4, &["--gold-rate", "0", "--max-abs-reward", "1000"]));
    let (id, n) = one_served_request(&server.url).await;
    let fb = |body: Value| feedback(&server.url, body);
    // 1e308 and anything beyond the bound are refused, naming the value; nothing is stored.
    let (status, body) = fb(json!({"id": id, "rewards": vec![1e308; n]})).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("1e308") && body.contains("--max-abs-reward"), "{body}");
    let mut rewards = vec![0.5; n];
    rewards[n - 1] = -1000.5;
    let (status, body) = fb(json!({"id": id, "rewards": rewards})).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains(&format!("reward {}", n - 1)), "{body}");
    assert_eq!(fb(json!({"id": "nope", "rewards": vec![0.0; n]})).await.0, 404);
    assert_eq!(fb(json!({"id": id, "rewards": "x"})).await.0, 400);
    // The bound itself is allowed.
    let mut rewards = vec![1000.0; n];
    rewards[0] = -1000.0;
    let (status, body) = fb(json!({"id": id, "rewards": rewards})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(state(&server.url).await["labelled_prompts"], 1);
    let m = fetch_metrics(&server.url).await;
    for (reason, count) in [("reward_out_of_bounds", 2), ("unknown_request", 1), ("bad_request", 1)] {
        let line = format!("hedge_feedback_rejected_total{{reason=\"{reason}\"}} {count}");
        assert!(m.contains(&line), "{line} not in\n{m}");
    }
    assert_eq!(metric(&m, "hedge_feedback_total"), Some(1.0), "{m}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_store_is_noticed_reported_and_recreated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hedge.db");
    let store = format!("sqlite:{}", path.display());
    let s = stands(ProxyNoise::Gaussian { scale: 0.5 }).await;
    let server = serve(&args(&s, &store, 16, &["--poll", "0.5"]));
    traffic(&server.url, 250, "before").await;
    // Whether a round adopted a new θ by now depends on the noise; the carry-over below must hold
    // either way, so the restart's flag is chosen to differ from the θ in force.
    let theta = settle(&server.url, 200).await["theta"].as_f64().unwrap();
    let restart_theta = if theta == 4.0 { 8 } else { 4 };
    assert_eq!(
        get(&server.url, "/health", None).await,
        (200, r#"{"status":"ok"}"#.to_string())
    );
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        std::fs::remove_file(entry.unwrap().path()).unwrap();
    }
    // Within a poll /health says so, with the reason; then the store is back.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = None;
    while Instant::now() < deadline {
        let (_, body) = get(&server.url, "/health", None).await;
        if body.contains("degraded") {
            seen = Some(body);
            break;
        }
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    let seen = seen.expect("/health never said the store was replaced");
    assert!(seen.contains("removed") || seen.contains("replaced"), "{seen}");
    traffic(&server.url, 100, "after").await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while get(&server.url, "/health", None).await.1 != r#"{"status":"ok"}"# {
        assert!(
            Instant::now() < deadline,
            "/health stayed degraded after the store came back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let m = fetch_metrics(&server.url).await;
    assert_eq!(metric(&m, "hedge_store_replaced_total"), Some(1.0), "{m}");
    assert_eq!(metric(&m, "hedge_store_dropped_total"), Some(0.0), "{m}");
    // Every request answered after the removal is in the re-created file...
    let requests = hedge_store::open(&store).unwrap().counts().unwrap().requests;
    assert!(requests >= 100, "{requests} records in the re-created store");
    // ...and so is the θ in force: a restart resumes it, not the flags'.
    drop(server);
    let server = serve(&args(&s, &store, restart_theta, &[]));
    let st = state(&server.url).await;
    assert_eq!(st["theta"].as_f64().unwrap(), theta, "{st}");
    assert_eq!(st["source"], "store");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_stay_secret_and_the_key_guards_state_and_metrics() {
    let s = stands(ProxyNoise::Gaussian { scale: 0.5 }).await;
    // An unreachable PostgreSQL store whose URL carries passwords in every place a URL can.
    let store = "postgres://hedge:PW-userinfo@127.0.0.1:9/db?password=PW-query&application_name=soak";
    let key = "sk-serve-SECRET-2718";
    let (server, log) = serve_logged(
        &args(&s, store, 4, &["--gold-rate", "0", "--poll", "0.2"]),
        &[("HEDGE_SERVE_API_KEY", key)],
    );
    traffic_with_key(&server.url, key).await;
    // Every route but /health needs the key.
    for path in ["/metrics", "/v1/hedge/state"] {
        assert_eq!(get(&server.url, path, None).await.0, 401, "{path}");
        assert_eq!(get(&server.url, path, Some("wrong")).await.0, 401, "{path}");
    }
    let (status, health) = get(&server.url, "/health", None).await;
    assert_eq!(status, 200);
    let (status, state) = get(&server.url, "/v1/hedge/state", Some(key)).await;
    assert_eq!(status, 200, "{state}");
    assert!(state.contains("postgres://"), "{state}");
    let (status, metrics) = get(&server.url, "/metrics", Some(key)).await;
    assert_eq!(status, 200);
    tokio::time::sleep(Duration::from_millis(500)).await;
    drop(server);
    let log = log.lock().unwrap().join("\n");
    assert!(log.contains("store"), "{log}");
    for (what, text) in [
        ("state", &state),
        ("health", &health),
        ("metrics", &metrics),
        ("log", &log),
    ] {
        for secret in ["PW-userinfo", "PW-query", key] {
            assert!(!text.contains(secret), "{secret} in the {what}:\n{text}");
        }
    }
}

/// Four chat requests with the bearer token; each must be answered (the store being down does not matter).
async fn traffic_with_key(url: &str, key: &str) {
    for i in 0..4 {
        let r = client()
            .post(format!("{url}/v1/chat/completions"))
            .bearer_auth(key)
            .json(&json!({"messages": [{"role": "user", "content": format!("q {i}")}]}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_errors_of_continuous_hedging_exit_2() {
    let s = stands(ProxyNoise::Gaussian { scale: 0.5 }).await;
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("hedge.db").display());
    let cases: Vec<Vec<String>> = vec![
        args(&s, "mysql://x", 4, &[]),
        args(&s, "postgres://h:notaport/db", 4, &[]),
        args(&s, "postgres://h@db:port/x?password=S3CRET-parse", 4, &[]),
        args(&s, &store, 4, &["--max-n", "8", "--calibration-n", "5000"]),
        args(&s, &store, 0, &[]),
        args(&s, &store, 4, &["--max-abs-reward", "0"]),
        args(&s, &store, 4, &["--max-abs-reward", "inf"]),
    ];
    for a in cases {
        let o = Command::new(env!("CARGO_BIN_EXE_hedge"))
            .arg("serve")
            .args(&a)
            .args(["--listen", "127.0.0.1:0"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{a:?}: {err}");
        assert!(!err.contains("panicked") && !err.contains("listening"), "{err}");
        assert!(!err.contains("S3CRET"), "the password in the error: {err}");
    }
    assert!(
        !dir.path().join("hedge.db").exists(),
        "a refused start created the store"
    );
    let o = Command::new(env!("CARGO_BIN_EXE_hedge"))
        .args(["collect", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&o.stdout);
    for var in [
        "HEDGE_UPSTREAM_API_KEY",
        "HEDGE_REWARD_API_KEY",
        "HEDGE_GOLD_API_KEY",
        "HEDGE_LOG",
    ] {
        assert!(help.contains(var), "{var} not in collect --help");
    }
    // --help names the environment variables.
    let o = Command::new(env!("CARGO_BIN_EXE_hedge"))
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&o.stdout);
    for var in [
        "HEDGE_SERVE_API_KEY",
        "HEDGE_UPSTREAM_API_KEY",
        "HEDGE_REWARD_API_KEY",
        "HEDGE_GOLD_API_KEY",
        "HEDGE_LOG",
    ] {
        assert!(help.contains(var), "{var} not in serve --help");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_banner_shows_the_theta_in_force() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("hedge.db").display());
    let s = stands(ProxyNoise::Gaussian { scale: 0.5 }).await;
    let server = serve(&args(&s, &store, 16, &[]));
    traffic(&server.url, 250, "banner").await;
    let st = settle(&server.url, 200).await;
    let theta = st["theta"].as_f64().unwrap();
    drop(server);
    let (server, log) = serve_logged(&args(&s, &store, 4, &[]), &[]);
    let banner = log
        .lock()
        .unwrap()
        .iter()
        .find(|l| l.contains("listening on"))
        .cloned()
        .unwrap();
    assert!(
        banner.contains(&format!("theta {theta}")),
        "θ in force {theta}; banner: {banner}"
    );
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gold_rewards_beyond_the_bound_are_refused_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("hedge.db").display());
    let s = stands(ProxyNoise::Gaussian { scale: 0.5 }).await;
    // Latent-quality gold scores are N(0, 1): with a bound of 1e-9 every job has one beyond it.
    let server = serve(&args(
        &s,
        &store,
        4,
        &["--max-abs-reward", "1e-9", "--calibration-n", "8"],
    ));
    traffic(&server.url, 10, "gold").await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let m = fetch_metrics(&server.url).await;
        if metric(&m, "hedge_gold_rejected_total") == Some(10.0) {
            assert_eq!(metric(&m, "hedge_gold_failed_total"), Some(0.0), "{m}");
            break;
        }
        assert!(Instant::now() < deadline, "{m}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let st = state(&server.url).await;
    assert_eq!(st["labelled_prompts"], 0, "{st}");
    assert_eq!(st["gold"]["rejected"], 10, "{st}");
}
