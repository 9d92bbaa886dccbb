//! The OpenAI-compatible proxy behind `hedge serve`.
//!
//! Routes: `POST /v1/chat/completions`, `POST /v1/completions`, `POST /v1/hedge/feedback`,
//! `GET /v1/hedge/state`, `GET /health`, `GET /metrics`. With a key configured (`HEDGE_SERVE_API_KEY`)
//! every route but `/health` requires it as the bearer token; `/health` says only `ok` or `degraded` and
//! why, and never carries a secret (nor does any other route: store URLs are redacted).
//!
//! Before any request reaches a handler, the connection layer ([`conn`]) bounds what a slow or hostile
//! peer can hold: at most `max_connections` connections, headers within `header_timeout`. For each
//! generation request the proxy then
//! 1. checks the inbound bearer token (if one is configured), reads the body within `body_timeout` and
//!    `max_body_bytes` (HTTP 408 / 413 beyond), and only then takes one of the `max_concurrent` request
//!    slots (HTTP 503 when none is free), so a client that sends its body slowly holds no slot;
//! 2. parses it ([`parse_request`]) and decides the number of candidates `n` (BoN, SBoN: fixed; BoP:
//!    `1 + Poisson(μ)` from a seeded RNG, capped at the largest allowed n);
//! 3. generates the candidates upstream (one request with `n`, or requests of at most the `n` the server
//!    takes, see [`hedge_client::generate`]), scores them with the reward server (or, with a log-probability proxy
//!    ([`hedge_client::logprob`]), from the token log-probabilities the upstream is asked for: they are removed
//!    from the answer unless the client asked for log-probabilities itself), leaves out candidates whose
//!    generation or scoring failed, and chooses among the rest with [`hedge_math::select::Selector`], all
//!    within `request_timeout` (HTTP 504 beyond). Upstream answers are read up to
//!    [`hedge_client::ClientConfig::max_response_bytes`]. With no candidate left it answers HTTP 502 naming the
//!    failed stage and a request id (the upstream URL and error text go to the log under that id) —
//!    unless the upstream refused the request itself (every candidate failed with HTTP 400, 413 or 422,
//!    e.g. a prompt longer than the context): then that status and the upstream's message;
//! 4. answers in OpenAI format with one choice (the upstream's choice object, `index` 0), `usage` summed over
//!    every upstream request, and a `hedge` object ([`HedgeInfo`]). With `"stream": true` the chosen
//!    completion is sent as server-sent events in OpenAI's chunk format, ending with `data: [DONE]`.
//!
//! Every answer carries an `x-request-id` header; errors ([`ServeError`]) use OpenAI's shape with the same
//! id. The request's own `n` must be absent or 1 (the method decides n). When the request has a `seed`, the
//! draws (BoP's n, ties, SBoN's softmax) are a function of the server's `--seed` and the request seed, so
//! the whole answer is reproducible; the seed is passed upstream too. The upstream URL comes from the
//! configuration only; nothing in a request can change where the proxy connects.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

mod conn;
mod error;
mod request;
mod respond;

pub use error::{ServeError, Stage};
pub use request::{Incoming, parse_request};
pub use respond::HedgeInfo;

use crate::hedging::{FeedbackError, Hedging, HedgingConfig};
use crate::metrics::Metrics;
use hedge_client::generate::{ApiKind, Candidate, GenClient, Generation};
use hedge_client::http::Secret;
use hedge_client::method::MethodSpec;
#[cfg(doc)]
use hedge_client::score::Scorer;
use hedge_client::score::{MemberScores, Proxies};
use hedge_client::{NetError, Result};
use hedge_store::{Candidate as StoredCandidate, RequestRecord};

/// Largest value accepted for the connection and request limits (a sanity bound, far above what
/// one process serves).
pub const MAX_LIMIT: usize = 1 << 20;

/// Settings of the proxy (defaults in [`ServeConfig::new`]).
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// The method and its parameter.
    pub method: MethodSpec,
    /// Seed of the proxy's random draws.
    pub seed: u64,
    /// Largest number of candidates per request (BoP draws above it are cut down to it).
    pub max_n: u64,
    /// Largest request body, in bytes (HTTP 413 beyond).
    pub max_body_bytes: usize,
    /// Requests processed at once, counted from the moment their body is complete (HTTP 503 beyond).
    pub max_concurrent: usize,
    /// Client connections open at once (one more is closed at once).
    pub max_connections: usize,
    /// Bearer token clients must present, if any.
    pub api_key: Option<Secret>,
    /// Deadline of one request's generation and scoring together (HTTP 504 beyond).
    pub request_timeout: Duration,
    /// Deadline for a request's headers, from the connection's first byte or the previous answer.
    pub header_timeout: Duration,
    /// Deadline for a request's body, from its headers (HTTP 408 beyond).
    pub body_timeout: Duration,
    /// How long shutdown waits for requests in progress before dropping their connections.
    pub shutdown_timeout: Duration,
    /// Continuous hedging: a store, gold scoring, re-tuning (see [`crate::hedging`]); `None`: θ is fixed.
    pub hedging: Option<HedgingConfig>,
}

impl ServeConfig {
    /// Defaults: seed 0, n ≤ 64, 1 MiB bodies, 256 requests in flight, 1,024 connections, no token;
    /// deadlines 300 s per request, 10 s for headers, 30 s for a body, 30 s for shutdown.
    pub fn new(method: MethodSpec) -> Self {
        ServeConfig {
            method,
            seed: 0,
            max_n: 64,
            max_body_bytes: 1 << 20,
            max_concurrent: 256,
            max_connections: 1024,
            api_key: None,
            request_timeout: Duration::from_secs(300),
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            shutdown_timeout: Duration::from_secs(30),
            hedging: None,
        }
    }

    fn check(&self) -> Result<()> {
        let positive = [
            ("max_n", self.max_n as usize),
            ("max_concurrent", self.max_concurrent),
            ("max_connections", self.max_connections),
            ("max_body_bytes", self.max_body_bytes),
        ];
        for (name, v) in positive {
            if v == 0 {
                return Err(NetError::Config(format!("{name} must be positive")));
            }
        }
        for (name, v) in [
            ("max_concurrent", self.max_concurrent),
            ("max_connections", self.max_connections),
        ] {
            if v > MAX_LIMIT {
                return Err(NetError::Config(format!("{name} = {v} exceeds {MAX_LIMIT}")));
            }
        }
        if let Some(n) = self.method.fixed_n() {
            if n > self.max_n {
                return Err(NetError::Config(format!(
                    "{} with n = {n} exceeds the largest allowed n ({}); raise --max-n",
                    self.method.kind, self.max_n
                )));
            }
        }
        Ok(())
    }
}

struct AppState {
    cfg: ServeConfig,
    llm: GenClient,
    proxies: Proxies,
    rng: Mutex<ChaCha8Rng>,
    slots: Arc<Semaphore>,
    metrics: Arc<Metrics>,
    stopping: watch::Receiver<bool>,
    stop: watch::Sender<bool>,
    boot: u64,
    requests: AtomicU64,
    hedging: Option<Arc<Hedging>>,
}

impl AppState {
    /// `req-<boot>-<counter>`: unique within the process's life, to find a request in the log.
    fn request_id(&self) -> String {
        format!(
            "req-{:08x}-{:x}",
            self.boot,
            self.requests.fetch_add(1, Ordering::Relaxed)
        )
    }
}

/// The proxy: configuration plus its upstream clients.
#[derive(Clone)]
pub struct Proxy {
    state: Arc<AppState>,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy")
            .field("cfg", &self.state.cfg)
            .field("upstream", &self.state.llm.base())
            .finish()
    }
}

/// A proxy running on a background task (see [`Proxy::spawn`]).
#[derive(Debug)]
pub struct RunningProxy {
    /// The bound address.
    pub addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<()>>,
}

impl RunningProxy {
    /// `http://addr`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, lets requests in progress finish (at most the shutdown timeout), and waits.
    pub async fn stop(mut self) -> Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.task
            .await
            .map_err(|e| NetError::Config(format!("server task failed: {e}")))?
    }
}

impl Proxy {
    /// The method in force: the flags' until continuous hedging adopts (or resumes from the store)
    /// another θ.
    pub fn method_in_force(&self) -> MethodSpec {
        self.state.method()
    }

    /// Builds the proxy; checks the limits against the method. `proxies`: a reward server
    /// ([`hedge_client::RewardClient`]), a log-probability proxy ([`Scorer::logprob`]) or an ensemble of several
    /// ([`Proxies::ensemble`]).
    pub fn new(cfg: ServeConfig, llm: GenClient, proxies: impl Into<Proxies>) -> Result<Self> {
        if cfg.hedging.is_some() {
            return Err(NetError::Config("continuous hedging needs Proxy::start (async)".into()));
        }
        cfg.check()?;
        Self::build(cfg, llm, proxies.into(), None)
    }

    /// Builds the proxy; checks the limits against the method. With [`ServeConfig::hedging`], starts the
    /// store writer, reads θ from the store's latest adopted tuning, and starts the tuner.
    pub async fn start(cfg: ServeConfig, llm: GenClient, proxies: impl Into<Proxies>) -> Result<Self> {
        cfg.check()?;
        let hedging = match &cfg.hedging {
            Some(h) => {
                let hedging = Hedging::start(h.clone(), cfg.method, cfg.seed).await?;
                tokio::spawn(Arc::clone(&hedging).run_tuner());
                Some(hedging)
            }
            None => None,
        };
        Self::build(cfg, llm, proxies.into(), hedging)
    }

    fn build(cfg: ServeConfig, llm: GenClient, proxies: Proxies, hedging: Option<Arc<Hedging>>) -> Result<Self> {
        let (stop, stopping) = watch::channel(false);
        let boot = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) as u32 as u64;
        let state = AppState {
            rng: Mutex::new(ChaCha8Rng::seed_from_u64(cfg.seed)),
            slots: Arc::new(Semaphore::new(cfg.max_concurrent)),
            metrics: Arc::new(Metrics::default()),
            stopping,
            stop,
            boot,
            requests: AtomicU64::new(0),
            hedging,
            cfg,
            llm,
            proxies,
        };
        Ok(Proxy { state: Arc::new(state) })
    }

    /// The axum router (routes listed in the module documentation).
    pub fn router(&self) -> Router {
        Router::new()
            .route("/v1/chat/completions", post(chat))
            .route("/v1/completions", post(completions))
            .route("/v1/hedge/feedback", post(feedback))
            .route("/v1/hedge/state", get(state))
            .route("/health", get(health))
            .route("/metrics", get(metrics))
            .fallback(not_found)
            .with_state(Arc::clone(&self.state))
    }

    /// Serves on `listener` until `shutdown` resolves, then drains the connections (see [`conn`]).
    pub async fn serve(self, listener: TcpListener, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<()> {
        let st = &self.state;
        let limits = conn::ConnLimits {
            max_connections: st.cfg.max_connections,
            header_timeout: st.cfg.header_timeout,
            shutdown_timeout: st.cfg.shutdown_timeout,
        };
        conn::run(
            listener,
            self.router(),
            limits,
            Arc::clone(&st.metrics),
            st.stop.clone(),
            shutdown,
        )
        .await;
        if let Some(h) = &st.hedging {
            h.stop(Duration::from_secs(10)).await;
        }
        Ok(())
    }

    /// Serves on `listener` from a background task.
    pub fn spawn(self, listener: TcpListener) -> Result<RunningProxy> {
        let addr = listener.local_addr().map_err(|e| NetError::io("listener", e))?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(self.serve(listener, async move {
            let _ = rx.await;
        }));
        Ok(RunningProxy {
            addr,
            shutdown: Some(tx),
            task,
        })
    }
}

async fn not_found() -> Response {
    let body = json!({"error": {
        "message": "no such route; use /v1/chat/completions, /v1/completions, /health or /metrics",
        "type": "not_found",
        "code": 404,
    }});
    (StatusCode::NOT_FOUND, axum::Json(body)).into_response()
}

/// `GET /health`: `ok`, or `degraded` with the problems of continuous hedging (the store unreachable or
/// its file replaced, the writer dropping records, the last tuning round failed). Requests are answered
/// either way, with the θ in force.
async fn health(State(st): State<Arc<AppState>>) -> Response {
    let problems = st.hedging.as_ref().map(|h| h.health.problems()).unwrap_or_default();
    if problems.is_empty() {
        axum::Json(json!({"status": "ok"})).into_response()
    } else {
        axum::Json(json!({"status": "degraded", "problems": problems})).into_response()
    }
}

async fn metrics(State(st): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if let Err(e) = authorize(&st, &headers) {
        return e.into_response_with_id(&st.request_id());
    }
    let mut text = st.metrics.render();
    if let Some(h) = &st.hedging {
        text.push_str(&h.render_metrics());
    }
    let mut r = text.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    r
}

async fn chat(State(st): State<Arc<AppState>>, headers: HeaderMap, body: Body) -> Response {
    handle(st, ApiKind::Chat, headers, body).await
}

async fn completions(State(st): State<Arc<AppState>>, headers: HeaderMap, body: Body) -> Response {
    handle(st, ApiKind::Completions, headers, body).await
}

/// `POST /v1/hedge/feedback`: gold rewards for every candidate of a served request, from elsewhere.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct FeedbackBody {
    /// The response id the proxy returned.
    id: String,
    /// One true reward per candidate the store holds for it, in candidate order.
    rewards: Vec<f64>,
}

async fn feedback(State(st): State<Arc<AppState>>, headers: HeaderMap, body: Body) -> Response {
    let id = st.request_id();
    let result = async {
        authorize(&st, &headers)?;
        let h = st.hedging.as_ref().ok_or(ServeError::HedgingOff)?;
        let bytes = read_body(&st, &headers, body).await?;
        let fb: FeedbackBody = serde_json::from_slice(&bytes).map_err(|e| {
            ServeError::BadRequest(format!(
                "expected {{\"id\": \"<response id>\", \"rewards\": [numbers]}}: {e}"
            ))
        })?;
        let stored = h.feedback(fb.id.clone(), fb.rewards).await.map_err(|e| match e {
            FeedbackError::OutOfBounds(e) => ServeError::RewardOutOfBounds(e),
            FeedbackError::Store(e) => ServeError::from(e),
        })?;
        Ok::<_, ServeError>(axum::Json(json!({"id": fb.id, "stored": stored})).into_response())
    }
    .await;
    result.unwrap_or_else(|e| {
        st.metrics.feedback_rejected(e.reason());
        tracing::debug!(request_id = %id, error = %e, "feedback refused");
        e.into_response_with_id(&id)
    })
}

/// `GET /v1/hedge/state`: the method in force, the last tuning and its evidence, the history of θ.
async fn state(State(st): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let id = st.request_id();
    if let Err(e) = authorize(&st, &headers) {
        return e.into_response_with_id(&id);
    }
    match &st.hedging {
        Some(h) => axum::Json(h.state().await).into_response(),
        None => {
            let m = st.cfg.method;
            axum::Json(json!({"method": m.kind.name(), "theta": m.theta, "n": m.n, "source": "flags", "store": null}))
                .into_response()
        }
    }
}

fn endpoint_label(kind: ApiKind) -> &'static str {
    match kind {
        ApiKind::Chat => "chat",
        ApiKind::Completions => "completions",
    }
}

/// Counts a request as abandoned when dropped before it was disarmed (its future was dropped: the client
/// closed the connection before the answer was ready).
struct Abandoned(Option<Arc<Metrics>>);

impl Drop for Abandoned {
    fn drop(&mut self) {
        if let Some(m) = self.0.take() {
            m.abandoned();
        }
    }
}

/// A request slot, held from the complete body to the answer; keeps the in-flight gauge right on
/// every exit path.
struct Slot {
    _permit: OwnedSemaphorePermit,
    metrics: Arc<Metrics>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.metrics.in_flight(-1);
    }
}

/// One generation request, from the raw HTTP request to the response (success or error), with its
/// metrics and log line.
async fn handle(st: Arc<AppState>, kind: ApiKind, headers: HeaderMap, body: Body) -> Response {
    let started = Instant::now();
    let id = st.request_id();
    // Dropped with this future when the client goes away first: counted as abandoned.
    let mut abandoned = Abandoned(Some(Arc::clone(&st.metrics)));
    let answered = answer(&st, kind, &headers, body, started).await;
    abandoned.0 = None;
    let mut response = match answered {
        Ok(r) => r,
        Err(e) => {
            st.metrics.failure(e.reason());
            let status = e.status();
            if status.is_server_error() {
                tracing::warn!(request_id = %id, status = status.as_u16(), reason = e.reason(), error = %e, "request failed");
            } else {
                tracing::debug!(request_id = %id, status = status.as_u16(), reason = e.reason(), error = %e, "request refused");
            }
            let unread_body = matches!(e, ServeError::BodyTimeout(_) | ServeError::ShuttingDown);
            let mut r = e.into_response_with_id(&id);
            if unread_body {
                // The body was not read to its end: the connection cannot carry another request.
                r.headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            r
        }
    };
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", v);
    }
    st.metrics
        .request(endpoint_label(kind), response.status().as_u16(), started.elapsed());
    response
}

/// Parse → draw n → generate and score → choose → respond (→ log, gold-score).
async fn answer(
    st: &AppState,
    kind: ApiKind,
    headers: &HeaderMap,
    body: Body,
    started: Instant,
) -> std::result::Result<Response, ServeError> {
    authorize(st, headers)?;
    let bytes = read_body(st, headers, body).await?;
    let _slot = take_slot(st)?;
    let req = parse_request(kind, &bytes)?;
    let mut rng = request_rng(st, req.seed);
    let method = st.method();
    let selector = method.selector();
    let drawn = selector.draw_n(&mut rng)?;
    let n = if drawn > st.cfg.max_n {
        st.metrics.bop_capped();
        st.cfg.max_n
    } else {
        drawn
    } as usize;
    // A calibration request draws more candidates; the answer is still chosen among the first n.
    let (total, calibration) = st.hedging.as_ref().map_or((n, false), |h| h.candidates_for(n));
    let (generation, scores, members) = generate_and_score(st, &req, total).await?;
    let (usable, per_candidate) = usable_candidates(st, &generation, scores, total)?;
    let eligible: Vec<(&Candidate, f64)> = match usable.iter().filter(|(c, _)| c.index < n).count() {
        0 => usable.clone(),
        _ => usable.iter().copied().filter(|(c, _)| c.index < n).collect(),
    };
    let values: Vec<f64> = eligible.iter().map(|(_, s)| *s).collect();
    let chosen = eligible[selector.choose(&values, &mut rng)?].0;
    let shown = as_shown(st, &req, chosen);
    let chosen = shown.as_ref().unwrap_or(chosen);
    let hedge = HedgeInfo {
        method: method.kind.name(),
        theta: method.theta,
        n: total,
        scores: per_candidate,
        chosen_index: chosen.index,
        calibration,
        members: members.map(|m| spread_members(m, &generation, total)),
    };
    let id = response_id(kind);
    let response = reply(st, &req, &generation, chosen, &hedge, &id);
    if let Some(h) = &st.hedging {
        log_and_label(h, &req, &generation, &hedge, &id, started);
    }
    Ok(response)
}

/// The method in force: the store's latest adopted θ under continuous hedging, else the flags'.
impl AppState {
    fn method(&self) -> MethodSpec {
        self.hedging.as_ref().map_or(self.cfg.method, |h| h.current().spec)
    }
}

/// A unique response id (`chatcmpl-hedge-…`, `cmpl-hedge-…`), by which feedback names the request. It
/// is drawn from the process's own generator, not the request's seeded draws, so seeded answers stay
/// reproducible while their ids stay unique.
fn response_id(kind: ApiKind) -> String {
    let bits: u64 = rand::random();
    match kind {
        ApiKind::Chat => format!("chatcmpl-hedge-{bits:016x}"),
        ApiKind::Completions => format!("cmpl-hedge-{bits:016x}"),
    }
}

/// Log the served request and, for a calibration request, gold-score all its candidates.
fn log_and_label(
    h: &Arc<Hedging>,
    req: &Incoming,
    generation: &Generation,
    hedge: &HedgeInfo,
    id: &str,
    started: Instant,
) {
    // The candidates that were generated, in order (those whose generation failed have no text to label).
    let generated: Vec<&Candidate> = generation.candidates.iter().filter_map(|c| c.as_ref().ok()).collect();
    let chosen = generated
        .iter()
        .position(|c| c.index == hedge.chosen_index)
        .unwrap_or(0);
    let candidates = generated
        .iter()
        .map(|c| StoredCandidate {
            proxy: hedge.scores.get(c.index).copied().flatten(),
            text: h.cfg.store_text.then(|| c.text.clone()),
        })
        .collect();
    h.log(RequestRecord {
        id: id.to_string(),
        at_ms: crate::hedging::now_ms(),
        model: generation.model.clone(),
        method: hedge.method.to_string(),
        theta: hedge.theta,
        n: hedge.n,
        chosen,
        latency_ms: started.elapsed().as_secs_f64() * 1e3,
        replica: h.cfg.replica.clone(),
        calibration: hedge.calibration,
        candidates,
    });
    if hedge.calibration {
        let texts = generated.iter().map(|c| c.text.clone()).collect();
        h.score_gold(id.to_string(), req.prompt.clone(), texts);
    }
}

fn authorize(st: &AppState, headers: &HeaderMap) -> std::result::Result<(), ServeError> {
    match &st.cfg.api_key {
        Some(key) if !authorized(key, headers) => Err(ServeError::Unauthorized),
        _ => Ok(()),
    }
}

/// The body, within the size cap and the body deadline; a shutdown stops the wait at once.
async fn read_body(st: &AppState, headers: &HeaderMap, body: Body) -> std::result::Result<Bytes, ServeError> {
    let limit = st.cfg.max_body_bytes;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(ServeError::BodyTooLarge { limit });
    }
    let mut stopping = st.stopping.clone();
    let read = tokio::time::timeout(st.cfg.body_timeout, axum::body::to_bytes(body, limit));
    tokio::select! {
        r = read => match r {
            Err(_) => Err(ServeError::BodyTimeout(st.cfg.body_timeout)),
            Ok(Ok(b)) => Ok(b),
            Ok(Err(e)) => {
                let inner = e.into_inner();
                if inner.is::<http_body_util::LengthLimitError>() {
                    Err(ServeError::BodyTooLarge { limit })
                } else {
                    Err(ServeError::BodyRead(inner.to_string()))
                }
            }
        },
        _ = stopping.wait_for(|&s| s) => Err(ServeError::ShuttingDown),
    }
}

fn take_slot(st: &AppState) -> std::result::Result<Slot, ServeError> {
    let permit = Arc::clone(&st.slots)
        .try_acquire_owned()
        .map_err(|_| ServeError::Overloaded {
            limit: st.cfg.max_concurrent,
        })?;
    st.metrics.in_flight(1);
    Ok(Slot {
        _permit: permit,
        metrics: Arc::clone(&st.metrics),
    })
}

/// The request's random draws: a stream of the server's seed chosen by the request's `seed`
/// (reproducible), else a fresh generator from the server's sequence.
fn request_rng(st: &AppState, seed: Option<u64>) -> ChaCha8Rng {
    match seed {
        Some(s) => {
            let mut r = ChaCha8Rng::seed_from_u64(st.cfg.seed);
            r.set_stream(s);
            r
        }
        None => {
            let sub: u64 = st.rng.lock().unwrap_or_else(|e| e.into_inner()).random();
            ChaCha8Rng::seed_from_u64(sub)
        }
    }
}

/// The chosen candidate as the client sees it: without the log-probabilities a log-probability proxy
/// asked for when the client did not ask for them (`None`: unchanged).
fn as_shown(st: &AppState, req: &Incoming, chosen: &Candidate) -> Option<Candidate> {
    let added = st.proxies.top_logprobs().is_some() && !hedge_client::logprob::requested_by_client(req.kind, &req.body);
    if !added || chosen.choice.get("logprobs").is_none_or(Value::is_null) {
        return None;
    }
    let mut c = chosen.clone();
    c.choice["logprobs"] = Value::Null;
    Some(c)
}

/// Each ensemble member's scores indexed by candidate (`members` holds one score per candidate that was
/// generated, in order; failed generations get `null`).
fn spread_members(members: Vec<MemberScores>, generation: &Generation, n: usize) -> Vec<MemberScores> {
    members
        .into_iter()
        .map(|m| {
            let mut scores = vec![None; n];
            let generated = generation.candidates.iter().filter_map(|c| c.as_ref().ok());
            for (c, s) in generated.zip(m.scores) {
                if let Some(slot) = scores.get_mut(c.index) {
                    *slot = s;
                }
            }
            MemberScores { scores, ..m }
        })
        .collect()
}

/// Candidates from the generation server, scored by the proxy (or each ensemble member, then combined),
/// within the request deadline.
#[allow(clippy::type_complexity)]
async fn generate_and_score(
    st: &AppState,
    req: &Incoming,
    n: usize,
) -> std::result::Result<(Generation, Vec<Result<f64>>, Option<Vec<MemberScores>>), ServeError> {
    // The stage running when the deadline passes (0: generation, 1: scoring), for the 504's message.
    let scoring = std::sync::atomic::AtomicBool::new(false);
    let work = async {
        let mut body = req.body.clone();
        if let Some(k) = st.proxies.top_logprobs() {
            hedge_client::logprob::request_logprobs(req.kind, &mut body, k);
        }
        let generation = st.llm.generate(req.kind, &body, n).await;
        scoring.store(true, Ordering::Relaxed);
        let ok: Vec<&Candidate> = generation.candidates.iter().filter_map(|c| c.as_ref().ok()).collect();
        let (scores, members) = st.proxies.score(&req.prompt, &ok, &st.llm.endpoint(req.kind)).await;
        (generation, scores, members)
    };
    tokio::time::timeout(st.cfg.request_timeout, work).await.map_err(|_| {
        let stage = if scoring.load(Ordering::Relaxed) {
            Stage::Scoring
        } else {
            Stage::Generation
        };
        ServeError::UpstreamTimeout {
            after: st.cfg.request_timeout,
            stage,
        }
    })
}

/// The candidates generated and scored, with their scores, and each candidate's score (`None` for a
/// failed one); an error when none is left.
#[allow(clippy::type_complexity)]
fn usable_candidates<'g>(
    st: &AppState,
    generation: &'g Generation,
    scores: Vec<Result<f64>>,
    n: usize,
) -> std::result::Result<(Vec<(&'g Candidate, f64)>, Vec<Option<f64>>), ServeError> {
    let mut per_candidate: Vec<Option<f64>> = vec![None; n];
    let mut usable: Vec<(&Candidate, f64)> = Vec::new();
    let mut first: Option<(Stage, String)> = None;
    let (mut gen_failed, mut score_failed) = (0, 0);
    let mut score_iter = scores.into_iter();
    for c in &generation.candidates {
        match c {
            Err(e) => {
                gen_failed += 1;
                first.get_or_insert_with(|| (Stage::Generation, e.to_string()));
            }
            Ok(c) => match score_iter.next() {
                Some(Ok(s)) => {
                    if let Some(slot) = per_candidate.get_mut(c.index) {
                        *slot = Some(s);
                    }
                    usable.push((c, s));
                }
                Some(Err(e)) => {
                    score_failed += 1;
                    first.get_or_insert_with(|| (Stage::Scoring, e.to_string()));
                }
                None => score_failed += 1,
            },
        }
    }
    st.metrics.candidates(usable.len(), gen_failed, score_failed);
    if usable.is_empty() {
        if let Some(refused) = upstream_refusal(&generation.candidates) {
            return Err(refused);
        }
        let (stage, first) = first.unwrap_or((Stage::Generation, "no candidates".into()));
        return Err(ServeError::NoCandidates {
            requested: n,
            stage,
            first,
        });
    }
    Ok((usable, per_candidate))
}

/// The answer with the chosen candidate, as JSON or as server-sent events.
fn reply(
    st: &AppState,
    req: &Incoming,
    generation: &Generation,
    chosen: &Candidate,
    hedge: &HedgeInfo,
    id: &str,
) -> Response {
    let model = generation
        .model
        .clone()
        .or_else(|| st.llm.model().map(str::to_string))
        .or_else(|| req.body.get("model").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_default();
    let created = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let env = respond::Envelope {
        kind: req.kind,
        id,
        created,
        model: &model,
    };
    if req.stream {
        respond::events(&env, chosen, &generation.usage, hedge, req.include_usage)
    } else {
        respond::completion(&env, chosen, &generation.usage, hedge)
    }
}

/// When the upstream refused the request itself — every candidate failed with HTTP 400, 413 or 422, e.g.
/// llama.cpp's `exceed_context_size_error` for a prompt longer than its context — the client's error:
/// that status and the upstream's message, not a 502 (which clients retry, to the same refusal).
fn upstream_refusal(candidates: &[Result<Candidate>]) -> Option<ServeError> {
    let mut first = None;
    for c in candidates {
        match c {
            Err(NetError::Status {
                status: s @ (400 | 413 | 422),
                message,
                ..
            }) => {
                first.get_or_insert((*s, message.clone()));
            }
            _ => return None,
        }
    }
    let (status, message) = first?;
    Some(ServeError::UpstreamRefused { status, message })
}

fn authorized(key: &Secret, headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    match value.trim().split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => key.matches(token.trim()),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_parsing() {
        let key = Secret::new("tok").unwrap();
        let mut h = HeaderMap::new();
        assert!(!authorized(&key, &h));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer tok"));
        assert!(authorized(&key, &h));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("bearer  tok "));
        assert!(authorized(&key, &h));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic tok"));
        assert!(!authorized(&key, &h));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer tok2"));
        assert!(!authorized(&key, &h));
    }
}
