//! The OpenAI-compatible proxy behind `hedge serve`.
//!
//! Routes: `POST /v1/chat/completions`, `POST /v1/completions`, `GET /health`, `GET /metrics`.
//!
//! For each generation request the proxy
//! 1. checks the inbound bearer token (if one is configured), the concurrency limit (HTTP 503 beyond it)
//!    and the body size (HTTP 413 beyond it);
//! 2. decides the number of candidates `n` (BoN, SBoN: fixed; BoP: `1 + Poisson(μ)` from a seeded RNG,
//!    capped at the largest allowed n);
//! 3. generates the candidates upstream (one request with `n`, or requests of at most the `n` the server
//!    takes, see [`crate::generate`]), scores them with the reward server, leaves out candidates whose
//!    generation or scoring failed, and chooses among the rest with [`hedge_math::select::Selector`]. With
//!    none left it answers HTTP 502 with a JSON error — unless the upstream refused the request itself
//!    (every candidate failed with HTTP 400, 413 or 422, e.g. a prompt longer than the context): then that
//!    status and the upstream's message;
//! 4. answers in OpenAI format with one choice (the upstream's choice object, `index` 0), `usage` summed over
//!    every upstream request, and a `hedge` object: `method`, `theta`, `n` (candidates drawn), `scores`
//!    (proxy score per candidate in candidate order, `null` for a failed one) and `chosen_index`.
//!    With `"stream": true` the chosen completion is sent as server-sent events in OpenAI's chunk format
//!    (role, content, then a final chunk with `finish_reason` and the `hedge` object, a usage chunk if
//!    `stream_options.include_usage`), ending with `data: [DONE]`.
//!
//! The request's own `n` must be absent or 1 (the method decides n). When the request has a `seed`, the
//! draws (BoP's n, ties, SBoN's softmax) are a function of the server's `--seed` and the request seed, so
//! the whole answer is reproducible; the seed is passed upstream too. The upstream URL comes from the
//! configuration only; nothing in a request can change where the proxy connects.
//! Errors use OpenAI's shape: `{"error": {"message", "type", "code"}}`.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Map, Value, json};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::error::{NetError, Result};
use crate::generate::{ApiKind, GenClient};
use crate::http::Secret;
use crate::method::MethodSpec;
use crate::metrics::Metrics;
use crate::reward::{Prompt, RewardClient};

/// Settings of the proxy.
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
    /// Requests processed at once (HTTP 503 beyond).
    pub max_concurrent: usize,
    /// Bearer token clients must present, if any.
    pub api_key: Option<Secret>,
    /// Deadline of one request, generation and scoring together (HTTP 504 beyond).
    pub request_timeout: Duration,
}

impl ServeConfig {
    /// Defaults: seed 0, n ≤ 64, 1 MiB bodies, 256 concurrent requests, no token, 300 s deadline.
    pub fn new(method: MethodSpec) -> Self {
        ServeConfig {
            method,
            seed: 0,
            max_n: 64,
            max_body_bytes: 1 << 20,
            max_concurrent: 256,
            api_key: None,
            request_timeout: Duration::from_secs(300),
        }
    }
}

struct AppState {
    cfg: ServeConfig,
    llm: GenClient,
    reward: RewardClient,
    rng: Mutex<ChaCha8Rng>,
    limiter: Arc<Semaphore>,
    metrics: Metrics,
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

    /// Stops accepting, lets requests in progress finish, and waits.
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
    /// Builds the proxy; checks the limits against the method.
    pub fn new(cfg: ServeConfig, llm: GenClient, reward: RewardClient) -> Result<Self> {
        if cfg.max_n == 0 || cfg.max_concurrent == 0 || cfg.max_body_bytes == 0 {
            return Err(NetError::Config(
                "max_n, max_concurrent and max_body_bytes must be positive".into(),
            ));
        }
        if let Some(n) = cfg.method.fixed_n() {
            if n > cfg.max_n {
                return Err(NetError::Config(format!(
                    "{} with n = {n} exceeds the largest allowed n ({}); raise --max-n",
                    cfg.method.kind, cfg.max_n
                )));
            }
        }
        let state = AppState {
            rng: Mutex::new(ChaCha8Rng::seed_from_u64(cfg.seed)),
            limiter: Arc::new(Semaphore::new(cfg.max_concurrent)),
            metrics: Metrics::default(),
            cfg,
            llm,
            reward,
        };
        Ok(Proxy { state: Arc::new(state) })
    }

    /// The axum router (routes listed in the module documentation).
    pub fn router(&self) -> Router {
        Router::new()
            .route("/v1/chat/completions", post(chat))
            .route("/v1/completions", post(completions))
            .route("/health", get(health))
            .route("/metrics", get(metrics))
            .fallback(not_found)
            .with_state(Arc::clone(&self.state))
    }

    /// Serves on `listener` until `shutdown` resolves, then finishes the requests in progress.
    pub async fn serve(self, listener: TcpListener, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<()> {
        use axum::serve::ListenerExt;
        let addr = listener.local_addr().map_err(|e| NetError::io("listener", e))?;
        // Answers are small writes: without TCP_NODELAY, Nagle's algorithm meeting the client's delayed
        // ACK can hold a response back for tens of milliseconds.
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        axum::serve(listener, self.router())
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(|e| NetError::io(format!("http://{addr}"), e))
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

fn error_body(status: StatusCode, kind: &str, message: impl Into<String>) -> Response {
    let body = json!({"error": {"message": message.into(), "type": kind, "code": status.as_u16()}});
    (status, axum::Json(body)).into_response()
}

async fn not_found() -> Response {
    error_body(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such route; use /v1/chat/completions, /v1/completions, /health or /metrics",
    )
}

async fn health() -> Response {
    axum::Json(json!({"status": "ok"})).into_response()
}

async fn metrics(State(st): State<Arc<AppState>>) -> Response {
    let mut r = st.metrics.render().into_response();
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

fn endpoint_label(kind: ApiKind) -> &'static str {
    match kind {
        ApiKind::Chat => "chat",
        ApiKind::Completions => "completions",
    }
}

struct InFlight<'a>(&'a Metrics);
impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight(-1);
    }
}

async fn handle(st: Arc<AppState>, kind: ApiKind, headers: HeaderMap, body: Body) -> Response {
    let started = Instant::now();
    let response = process(&st, kind, &headers, body).await;
    let response = match response {
        Ok(r) => r,
        Err((status, reason, kind_name, message)) => {
            st.metrics.failure(reason);
            if status.is_server_error() {
                tracing::warn!(status = status.as_u16(), reason, %message, "request failed");
            } else {
                tracing::debug!(status = status.as_u16(), reason, %message, "request refused");
            }
            let mut r = error_body(status, kind_name, message);
            match status {
                StatusCode::SERVICE_UNAVAILABLE => {
                    r.headers_mut()
                        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                }
                StatusCode::UNAUTHORIZED => {
                    r.headers_mut()
                        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                }
                _ => {}
            }
            r
        }
    };
    st.metrics
        .request(endpoint_label(kind), response.status().as_u16(), started.elapsed());
    response
}

type Refusal = (StatusCode, &'static str, &'static str, String);

/// A failure of the engine itself (HTTP 500): not the client's fault, not the upstream's.
fn internal(e: hedge_math::Error) -> Refusal {
    refuse(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "server_error",
        e.to_string(),
    )
}

fn refuse(status: StatusCode, reason: &'static str, kind: &'static str, message: impl Into<String>) -> Refusal {
    (status, reason, kind, message.into())
}

fn authorized(key: &Secret, headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let value = value.trim();
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => key.matches(token.trim()),
        _ => false,
    }
}

fn request_seed(v: &Value) -> Option<u64> {
    v.as_u64().or_else(|| v.as_i64().map(|x| x as u64))
}

async fn process(
    st: &AppState,
    kind: ApiKind,
    headers: &HeaderMap,
    body: Body,
) -> std::result::Result<Response, Refusal> {
    if let Some(key) = &st.cfg.api_key {
        if !authorized(key, headers) {
            return Err(refuse(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "authentication_error",
                "missing or wrong bearer token",
            ));
        }
    }
    let Ok(_permit) = Arc::clone(&st.limiter).try_acquire_owned() else {
        return Err(refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "overloaded",
            "overloaded",
            format!(
                "the proxy is at its limit of {} concurrent requests; retry later",
                st.cfg.max_concurrent
            ),
        ));
    };
    st.metrics.in_flight(1);
    let _gauge = InFlight(&st.metrics);

    let too_large = || {
        refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            "invalid_request_error",
            format!("the request body exceeds {} bytes", st.cfg.max_body_bytes),
        )
    };
    if let Some(len) = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.parse::<u64>().ok())
    {
        if len > st.cfg.max_body_bytes as u64 {
            return Err(too_large());
        }
    }
    let bytes = match axum::body::to_bytes(body, st.cfg.max_body_bytes).await {
        Ok(b) => b,
        Err(e) => {
            let inner = e.into_inner();
            if inner.is::<http_body_util::LengthLimitError>() {
                return Err(too_large());
            }
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "invalid_request_error",
                format!("cannot read the body: {inner}"),
            ));
        }
    };
    let bad = |m: String| refuse(StatusCode::BAD_REQUEST, "bad_request", "invalid_request_error", m);
    let request: Map<String, Value> = match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(m)) => m,
        Ok(_) => return Err(bad("the body must be a JSON object".into())),
        Err(e) => return Err(bad(format!("invalid JSON: {e}"))),
    };
    let prompt = match kind {
        ApiKind::Chat => match request.get("messages") {
            Some(Value::Array(m)) if !m.is_empty() => Prompt::Messages(m.clone()),
            _ => return Err(bad("\"messages\" must be a non-empty array".into())),
        },
        ApiKind::Completions => match request.get("prompt") {
            Some(Value::String(p)) => Prompt::Text(p.clone()),
            Some(Value::Array(a)) if a.len() == 1 && a[0].is_string() => {
                Prompt::Text(a[0].as_str().unwrap_or_default().to_string())
            }
            Some(_) => return Err(bad("\"prompt\" must be one string (one prompt per request)".into())),
            None => return Err(bad("missing \"prompt\"".into())),
        },
    };
    match request.get("n") {
        None | Some(Value::Null) => {}
        Some(v) if v.as_u64() == Some(1) => {}
        Some(v) => {
            return Err(bad(format!(
                "\"n\" = {v}: the proxy returns one choice; the method decides how many candidates to draw"
            )));
        }
    }
    let stream = request.get("stream").and_then(Value::as_bool).unwrap_or(false);
    let include_usage = request
        .get("stream_options")
        .and_then(|o| o.get("include_usage"))
        .and_then(Value::as_bool)
        .unwrap_or(false);

    // The request's random draws.
    let mut rng = match request.get("seed").and_then(request_seed) {
        Some(s) => {
            let mut r = ChaCha8Rng::seed_from_u64(st.cfg.seed);
            r.set_stream(s);
            r
        }
        None => {
            let sub: u64 = st.rng.lock().unwrap_or_else(|e| e.into_inner()).random();
            ChaCha8Rng::seed_from_u64(sub)
        }
    };
    let selector = st.cfg.method.selector();
    let drawn = selector.draw_n(&mut rng).map_err(internal)?;
    let n = (if drawn > st.cfg.max_n {
        st.metrics.bop_capped();
        st.cfg.max_n
    } else {
        drawn
    }) as usize;

    let work = async {
        let generation = st.llm.generate(kind, &request, n).await;
        let ok: Vec<&crate::generate::Candidate> =
            generation.candidates.iter().filter_map(|c| c.as_ref().ok()).collect();
        let texts: Vec<&str> = ok.iter().map(|c| c.text.as_str()).collect();
        let scores = st.reward.score(&prompt, &texts).await;
        (generation, scores)
    };
    let (generation, scores) = match tokio::time::timeout(st.cfg.request_timeout, work).await {
        Ok(x) => x,
        Err(_) => {
            return Err(refuse(
                StatusCode::GATEWAY_TIMEOUT,
                "timeout",
                "upstream_timeout",
                format!("no answer within {:?}", st.cfg.request_timeout),
            ));
        }
    };

    // Scores per candidate (None = failed), the usable candidates, and the first failure.
    let mut per_candidate: Vec<Option<f64>> = vec![None; n];
    let mut usable: Vec<(usize, f64)> = Vec::new();
    let mut first_error: Option<String> = None;
    let mut gen_failed = 0;
    let mut score_failed = 0;
    let mut score_iter = scores.into_iter();
    for c in &generation.candidates {
        match c {
            Err(e) => {
                gen_failed += 1;
                first_error.get_or_insert_with(|| e.to_string());
            }
            Ok(c) => match score_iter.next() {
                Some(Ok(s)) => {
                    per_candidate[c.index] = Some(s);
                    usable.push((c.index, s));
                }
                Some(Err(e)) => {
                    score_failed += 1;
                    first_error.get_or_insert_with(|| e.to_string());
                }
                None => score_failed += 1,
            },
        }
    }
    st.metrics.candidates(usable.len(), gen_failed, score_failed);
    if usable.is_empty() {
        if let Some((status, message)) = upstream_refusal(&generation.candidates) {
            return Err(refuse(status, "upstream_refused", "invalid_request_error", message));
        }
        let first = first_error.unwrap_or_else(|| "no candidates".into());
        return Err(refuse(
            StatusCode::BAD_GATEWAY,
            "no_candidates",
            "upstream_error",
            NetError::NoCandidates { requested: n, first }.to_string(),
        ));
    }
    let values: Vec<f64> = usable.iter().map(|(_, s)| *s).collect();
    let pick = selector.choose(&values, &mut rng).map_err(internal)?;
    let chosen_index = usable[pick].0;
    let chosen = generation.candidates[chosen_index]
        .as_ref()
        .expect("usable candidates were generated");

    let mut choice = chosen.choice.clone();
    if let Some(obj) = choice.as_object_mut() {
        obj.insert("index".into(), Value::from(0u64));
    }
    let model = generation
        .model
        .clone()
        .or_else(|| st.llm.model().map(str::to_string))
        .or_else(|| request.get("model").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_default();
    let usage = json!({
        "prompt_tokens": generation.usage.prompt_tokens,
        "completion_tokens": generation.usage.completion_tokens,
        "total_tokens": generation.usage.total(),
    });
    let hedge = json!({
        "method": st.cfg.method.kind.name(),
        "theta": st.cfg.method.theta,
        "n": n,
        "scores": per_candidate,
        "chosen_index": chosen_index,
    });
    let created = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let id_bits: u64 = rng.random();
    let (id, object) = match kind {
        ApiKind::Chat => (format!("chatcmpl-hedge-{id_bits:016x}"), "chat.completion"),
        ApiKind::Completions => (format!("cmpl-hedge-{id_bits:016x}"), "text_completion"),
    };
    if !stream {
        let body = json!({
            "id": id, "object": object, "created": created, "model": model,
            "choices": [choice], "usage": usage, "hedge": hedge,
        });
        return Ok(axum::Json(body).into_response());
    }
    Ok(sse(kind, &id, created, &model, chosen, usage, hedge, include_usage))
}

/// When the upstream refused the request itself — every candidate failed with HTTP 400, 413 or 422, e.g.
/// llama.cpp's `exceed_context_size_error` for a prompt longer than its context — the client's error:
/// that status and the upstream's message, not a 502 (which clients retry, to the same refusal).
fn upstream_refusal(candidates: &[Result<crate::generate::Candidate>]) -> Option<(StatusCode, String)> {
    let mut first = None;
    for c in candidates {
        match c {
            Err(
                e @ NetError::Status {
                    status: s @ (400 | 413 | 422),
                    ..
                },
            ) => {
                first.get_or_insert((*s, e.to_string()));
            }
            _ => return None,
        }
    }
    let (status, message) = first?;
    Some((
        StatusCode::from_u16(status).ok()?,
        format!("the upstream server refused the request: {message}"),
    ))
}

#[allow(clippy::too_many_arguments)]
fn sse(
    kind: ApiKind,
    id: &str,
    created: u64,
    model: &str,
    chosen: &crate::generate::Candidate,
    usage: Value,
    hedge: Value,
    include_usage: bool,
) -> Response {
    let mut events: Vec<Value> = Vec::new();
    let finish = chosen.finish_reason.clone().map_or(Value::Null, Value::String);
    match kind {
        ApiKind::Chat => {
            let base = |choices: Value| json!({"id": id, "object": "chat.completion.chunk", "created": created, "model": model, "choices": choices});
            events.push(base(
                json!([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": null}]),
            ));
            if !chosen.text.is_empty() {
                events.push(base(
                    json!([{"index": 0, "delta": {"content": chosen.text}, "finish_reason": null}]),
                ));
            }
            let mut last = base(json!([{"index": 0, "delta": {}, "finish_reason": finish}]));
            last["hedge"] = hedge;
            events.push(last);
            if include_usage {
                let mut u = base(json!([]));
                u["usage"] = usage;
                events.push(u);
            }
        }
        ApiKind::Completions => {
            let base = |choices: Value| json!({"id": id, "object": "text_completion", "created": created, "model": model, "choices": choices});
            events.push(base(
                json!([{"index": 0, "text": chosen.text, "logprobs": null, "finish_reason": null}]),
            ));
            let mut last = base(json!([{"index": 0, "text": "", "logprobs": null, "finish_reason": finish}]));
            last["hedge"] = hedge;
            events.push(last);
            if include_usage {
                let mut u = base(json!([]));
                u["usage"] = usage;
                events.push(u);
            }
        }
    }
    let mut text = String::new();
    for e in events {
        text.push_str("data: ");
        text.push_str(&e.to_string());
        text.push_str("\n\n");
    }
    text.push_str("data: [DONE]\n\n");
    let mut r = text.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
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
