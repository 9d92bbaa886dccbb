//! `hedge serve`: the OpenAI-compatible best-of-n proxy. The server is `hedge_serve::Proxy`; this module
//! parses options, reads keys from the environment, binds the address and handles shutdown signals.

use clap::Args;
use hedge_client::http::{GOLD_KEY_ENV, SERVE_KEY_ENV, UPSTREAM_KEY_ENV};
use hedge_client::score::Proxies;
use hedge_client::{GenClient, MethodSpec, Secret};
use hedge_estimate::ensemble::EnsembleRule;
use hedge_serve::{GoldConfig, HedgingConfig, Proxy, ServeConfig};

use super::method_args::MethodArg;
use super::net_args::{HttpFlags, RewardApiArg, RewardFlags, init_logging};
use super::store_url::StoreUrl;
use super::values;
use crate::error::{CliError, Result};

/// The environment variables `hedge serve` reads (shown by `hedge serve --help`).
const ENVIRONMENT: &str = "\
Environment:
  HEDGE_SERVE_API_KEY     if set, clients must send it as their bearer token on every route but /health
                          (/v1/chat/completions, /v1/completions, /v1/hedge/feedback, /v1/hedge/state, /metrics)
  HEDGE_UPSTREAM_API_KEY  bearer token sent to --upstream
  HEDGE_REWARD_API_KEY    bearer token sent to --reward
  HEDGE_GOLD_API_KEY      bearer token sent to --gold
  HEDGE_LOG               log filter on stderr (default info; e.g. debug, hedge_serve=debug)
Keys are never printed, logged or served; store URLs are shown with their passwords redacted.";

/// Options of `hedge serve`.
///
/// Serves /v1/chat/completions and /v1/completions: each request draws n candidates from --upstream,
/// scores them with --reward (or a built-in log-probability proxy, --proxy) and answers with the one the method chooses (plus a "hedge" object with
/// method, theta, n, scores and chosen_index). Also /health and /metrics (Prometheus).
/// Keys: HEDGE_UPSTREAM_API_KEY and HEDGE_REWARD_API_KEY are sent upstream as bearer tokens; if
/// HEDGE_SERVE_API_KEY is set, clients must send it as their bearer token.
#[derive(Debug, Args)]
#[command(after_help = ENVIRONMENT)]
pub struct ServeArgs {
    /// Root URL of the OpenAI-compatible generation server (e.g. http://127.0.0.1:8000; /v1/... is appended).
    #[arg(long)]
    pub upstream: String,
    /// Model name sent upstream, replacing the request's "model".
    #[arg(long)]
    pub model: Option<String>,
    #[command(flatten)]
    pub reward: RewardFlags,
    /// Combine several proxies (repeated --reward, --proxy) per request into one score: mean-z, min-z, uwo
    /// (mean minus --ensemble-lambda times the spread) or rank-mean, on the within-request scale of each member.
    #[arg(long, value_parser = ensemble_rule, value_name = "RULE")]
    pub ensemble: Option<EnsembleRule>,
    /// λ ≥ 0 of --ensemble uwo.
    #[arg(long, default_value_t = 0.0, requires = "ensemble", allow_negative_numbers = true, value_parser = values::non_negative, value_name = "L")]
    pub ensemble_lambda: f64,
    /// The method: bon, bop or sbon (tilt is not a sampler).
    #[arg(
        long,
        value_enum,
        required_unless_present = "from_tune",
        conflicts_with = "from_tune",
        requires = "theta"
    )]
    pub method: Option<MethodArg>,
    /// Its parameter: n (bon), μ (bop) or β (sbon, on the reward model's own scale).
    #[arg(long, allow_negative_numbers = true, value_parser = values::finite)]
    pub theta: Option<f64>,
    /// Candidates for sbon.
    #[arg(long, value_parser = values::count_u64(1..=values::MAX_CANDIDATES))]
    pub n: Option<u64>,
    /// Take method, theta (and n for sbon) from the JSON printed by `hedge tune --json`.
    #[arg(long, conflicts_with_all = ["theta", "n"])]
    pub from_tune: Option<String>,
    /// Address to listen on (HOST:PORT; port 0 picks a free port, printed on stderr).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Seed of the proxy's random draws (BoP's n, ties, SBoN); a request's own "seed" makes its answer reproducible.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Largest number of candidates per request (BoP draws above it are cut down to it).
    #[arg(long, default_value_t = 64, value_parser = values::count_u64(1..=values::MAX_CANDIDATES))]
    pub max_n: u64,
    /// Largest request body in bytes (HTTP 413 beyond).
    #[arg(long, default_value_t = 1 << 20, value_parser = values::count(1..=values::MAX_BYTES))]
    pub max_body_bytes: usize,
    /// Requests processed at once, counted from the moment their body is complete (HTTP 503 beyond).
    #[arg(long, default_value_t = 256, value_parser = values::count(1..=values::MAX_PARALLEL))]
    pub max_concurrent: usize,
    /// Client connections open at once, idle or not (one more is closed at once).
    #[arg(long, default_value_t = 1024, value_parser = values::count(1..=values::MAX_PARALLEL))]
    pub max_connections: usize,
    /// Deadline of one request, generation and scoring together, in seconds (HTTP 504 beyond).
    #[arg(long, default_value_t = 300.0, value_parser = values::seconds, value_name = "SECS")]
    pub request_timeout: f64,
    /// Deadline for a request's headers, in seconds (the connection is closed beyond).
    #[arg(long, default_value_t = 10.0, value_parser = values::seconds, value_name = "SECS")]
    pub header_timeout: f64,
    /// Deadline for a request's body once its headers are in, in seconds (HTTP 408 beyond).
    #[arg(long, default_value_t = 30.0, value_parser = values::seconds, value_name = "SECS")]
    pub body_timeout: f64,
    /// On SIGINT/SIGTERM, how long requests in progress may take to finish, in seconds.
    #[arg(long, default_value_t = 30.0, value_parser = values::seconds, value_name = "SECS")]
    pub shutdown_timeout: f64,
    /// Timeout of one upstream HTTP attempt, in seconds.
    #[arg(long, default_value_t = 120.0, value_parser = values::seconds, value_name = "SECS")]
    pub timeout: f64,
    /// Attempts per upstream HTTP request (retries on 429, 5xx and connection errors, with backoff).
    #[arg(long, default_value_t = 3, value_parser = values::count_u32(1..=100))]
    pub max_attempts: u32,
    /// Upstream HTTP requests in flight to each server at once.
    #[arg(long, default_value_t = 1024, value_parser = values::count(1..=values::MAX_PARALLEL))]
    pub max_in_flight: usize,
    /// Largest answer read from an upstream (generation or reward) server, in bytes (HTTP 502 beyond).
    #[arg(long, default_value_t = hedge_client::http::DEFAULT_MAX_RESPONSE_BYTES, value_parser = values::count(1..=values::MAX_BYTES))]
    pub max_upstream_bytes: usize,
    /// Texts per reward request.
    #[arg(long, default_value_t = 64, value_parser = values::count(1..=values::MAX_CANDIDATES))]
    pub batch_size: usize,
    #[command(flatten)]
    pub hedging: HedgingFlags,
}

/// Continuous hedging: the store, gold scoring and re-tuning (all need `--store`).
#[derive(Debug, Args)]
pub struct HedgingFlags {
    /// Calibration store: `sqlite:PATH` (created on first use) or `postgres://USER@HOST:PORT/DB` (shared by
    /// several replicas). Every served request is logged there; with --gold, labelled prompts re-tune θ.
    #[arg(long, value_name = "URL", value_parser = StoreUrl)]
    pub store: Option<String>,
    /// Keep the candidates' texts in the store (for labelling them elsewhere and sending POST /v1/hedge/feedback).
    #[arg(long, requires = "store")]
    pub store_text: bool,
    /// This replica's name in the store (default: host name and process id).
    #[arg(long, requires = "store")]
    pub replica: Option<String>,
    /// Request records waiting for the store at most; more are dropped and counted, never delaying a request.
    #[arg(long, default_value_t = 10_000, value_parser = values::count(1..=values::MAX_PARALLEL))]
    pub store_queue: usize,
    /// Root URL of a gold reward server (a larger reward model, a judge) whose score is the true reward.
    #[arg(long, requires_all = ["store", "gold_api"], value_name = "URL")]
    pub gold: Option<String>,
    /// API of the gold reward server.
    #[arg(long, value_enum, requires = "gold")]
    pub gold_api: Option<RewardApiArg>,
    /// "model" field sent to the gold reward server, if it needs one.
    #[arg(long, requires = "gold")]
    pub gold_model: Option<String>,
    /// Share of requests whose candidates are all gold-scored, after the answer is sent.
    #[arg(long, default_value_t = 0.02, value_parser = values::unit_interval)]
    pub gold_rate: f64,
    /// Candidates a request drawn for gold scoring generates (default and largest: --max-n); the answer is
    /// still chosen among the first n the method draws.
    #[arg(long, value_parser = values::count(1..=values::MAX_CANDIDATES))]
    pub calibration_n: Option<usize>,
    /// Largest absolute value of a gold reward (gold scorer or POST /v1/hedge/feedback); a label beyond it,
    /// or not finite, is refused (HTTP 422 for feedback; counted in hedge_gold_rejected_total for the scorer).
    #[arg(long, default_value_t = hedge_serve::hedging::DEFAULT_MAX_ABS_REWARD, value_parser = values::positive, value_name = "X")]
    pub max_abs_reward: f64,
    /// Gold-scoring jobs running at once.
    #[arg(long, default_value_t = 4, value_parser = values::count(1..=values::MAX_PARALLEL))]
    pub gold_concurrency: usize,
    /// Gold-scoring jobs pending at most; more are dropped and counted.
    #[arg(long, default_value_t = 1024, value_parser = values::count(1..=values::MAX_PARALLEL))]
    pub gold_queue: usize,
    /// How long a failing gold-scoring job is retried, in seconds, before it is given up and counted.
    #[arg(long, default_value_t = 60.0, value_parser = values::seconds, value_name = "SECS")]
    pub gold_retry_for: f64,
    /// Re-tune every this many newly labelled prompts.
    #[arg(long, default_value_t = 200, value_parser = values::count_u64(1..=1_000_000_000))]
    pub retune_every: u64,
    /// Re-tune on the most recent this many labelled prompts.
    #[arg(long, default_value_t = 2000, value_parser = values::count(2..=10_000_000))]
    pub window: usize,
    /// Confidence level at which a re-tuned θ must beat the θ in force to be adopted.
    #[arg(long, default_value_t = hedge_estimate::DEFAULT_CONFIDENCE, value_parser = values::level, value_name = "LEVEL")]
    pub confidence: f64,
    /// How often the tuner looks at the store (new labels; θ adopted by another replica), in seconds.
    #[arg(long, default_value_t = 5.0, value_parser = values::seconds, value_name = "SECS")]
    pub poll: f64,
}

impl HedgingFlags {
    /// The hedging configuration, when `--store` is given.
    fn config(&self, http: &HttpFlags, max_n: u64, batch_size: usize) -> Result<Option<HedgingConfig>> {
        let Some(url) = &self.store else {
            return Ok(None);
        };
        if let Some(c) = self.calibration_n.filter(|&c| c as u64 > max_n) {
            return Err(CliError::Usage(format!(
                "--calibration-n {c} exceeds --max-n {max_n}: a calibration request draws at most --max-n candidates"
            )));
        }
        let replica = self.replica.clone().unwrap_or_else(|| {
            let host = std::fs::read_to_string("/etc/hostname")
                .map(|h| h.trim().to_string())
                .unwrap_or_default();
            format!(
                "{}-{}",
                if host.is_empty() { "hedge" } else { &host },
                std::process::id()
            )
        });
        let mut cfg = HedgingConfig::new(url.clone(), replica);
        cfg.store_text = self.store_text;
        cfg.queue = self.store_queue;
        cfg.retune_every = self.retune_every;
        cfg.window = self.window;
        cfg.confidence = self.confidence;
        cfg.poll = values::duration(self.poll);
        cfg.max_abs_reward = self.max_abs_reward;
        if let (Some(gold), Some(api)) = (&self.gold, self.gold_api) {
            cfg.gold = Some(GoldConfig {
                client: http.reward(gold, GOLD_KEY_ENV, api, self.gold_model.clone(), batch_size)?,
                rate: self.gold_rate,
                calibration_n: self.calibration_n.unwrap_or(max_n as usize),
                concurrency: self.gold_concurrency,
                queue: self.gold_queue,
                retry_for: values::duration(self.gold_retry_for),
            });
        }
        Ok(Some(cfg))
    }
}

fn method(args: &ServeArgs) -> Result<MethodSpec> {
    if let Some(path) = &args.from_tune {
        let text = std::fs::read_to_string(path).map_err(|e| CliError::io(path, e))?;
        return Ok(MethodSpec::from_tune_json(&text, path)?);
    }
    let (Some(m), Some(theta)) = (args.method, args.theta) else {
        return Err(CliError::Net(hedge_client::NetError::Config(
            "give --method and --theta, or --from-tune".into(),
        )));
    };
    // θ on the command line out of its method's domain is a usage error (exit 2).
    MethodSpec::new(m.into(), theta, args.n).map_err(|e| CliError::Usage(format!("--theta {theta}: {e}")))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: finishing requests in progress");
}

/// `--ensemble RULE`.
fn ensemble_rule(s: &str) -> std::result::Result<EnsembleRule, String> {
    EnsembleRule::parse(s).ok_or_else(|| {
        let names: Vec<&str> = EnsembleRule::ALL.iter().map(|r| r.name()).collect();
        format!("unknown ensemble rule {s:?}; expected one of {}", names.join(", "))
    })
}

/// One proxy, or with --ensemble several combined.
fn proxies(args: &ServeArgs, http: &HttpFlags) -> Result<Proxies> {
    let mut members = http.proxies(&args.reward, args.batch_size)?;
    match args.ensemble {
        Some(rule) => Ok(Proxies::ensemble(members, rule, args.ensemble_lambda)?),
        None if members.len() == 1 => Ok(members.remove(0).into()),
        None => Err(CliError::Usage(format!(
            "{} proxies given: combine them with --ensemble RULE (mean-z, min-z, uwo, rank-mean), or give one",
            members.len()
        ))),
    }
}

/// Run `hedge serve` until SIGINT or SIGTERM.
pub fn run(args: &ServeArgs) -> Result<()> {
    init_logging("info");
    let method = method(args)?;
    let cfg = ServeConfig {
        method,
        seed: args.seed,
        max_n: args.max_n,
        max_body_bytes: args.max_body_bytes,
        max_concurrent: args.max_concurrent,
        max_connections: args.max_connections,
        api_key: Secret::from_env(SERVE_KEY_ENV),
        request_timeout: values::duration(args.request_timeout),
        header_timeout: values::duration(args.header_timeout),
        body_timeout: values::duration(args.body_timeout),
        shutdown_timeout: values::duration(args.shutdown_timeout),
        hedging: None,
    };
    let http = HttpFlags {
        timeout: args.timeout,
        max_attempts: args.max_attempts,
        max_in_flight: args.max_in_flight,
        max_response_bytes: args.max_upstream_bytes,
    };
    let mut cfg = cfg;
    cfg.hedging = args.hedging.config(&http, args.max_n, args.batch_size)?;
    let llm = GenClient::new(&http.client(&args.upstream, UPSTREAM_KEY_ENV), args.model.clone())?;
    let scorer = proxies(args, &http)?;
    let auth = if cfg.api_key.is_some() {
        "bearer token required"
    } else {
        "no inbound token"
    };
    let (base, proxy_name) = (llm.base().to_string(), scorer.describe());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::io("<tokio runtime>", e))?;
    runtime.block_on(async {
        let proxy = Proxy::start(cfg, llm, scorer).await?;
        // The θ in force: the flags', or the one resumed from the store.
        let m = proxy.method_in_force();
        let summary = format!(
            "method {} theta {}{}; upstream {base}; proxy {proxy_name}; {auth}",
            m.kind,
            m.theta,
            m.n.map(|n| format!(" n {n}")).unwrap_or_default(),
        );
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .map_err(|e| CliError::io(&args.listen, e))?;
        let addr = listener.local_addr().map_err(|e| CliError::io(&args.listen, e))?;
        eprintln!("hedge serve: listening on http://{addr}; {summary}");
        proxy.serve(listener, shutdown_signal()).await?;
        Ok(())
    })
}
