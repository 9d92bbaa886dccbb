//! Stand-ins for the servers `hedge-net` talks to, for tests and benchmarks. Loopback only.
//!
//! One [`Standin`] serves, on `127.0.0.1` (port 0 → any free port, see [`Standin::addr`]):
//! - an OpenAI-compatible generation server: `POST /v1/completions` and `/v1/chat/completions`. It honours
//!   `n`, `seed` (choice `i` of a request with seed `s` is the text of seed `s + i`, so one request with
//!   `n` and `n` requests with seeds `s, s+1, …` give the same texts; as in llama.cpp, the seeds `-1` and
//!   `4294967295` mean "no seed": a fresh text each time), `temperature` (0 → every choice is
//!   the same greedy text), `max_tokens` (in words) and `stop`. The text is a deterministic function of
//!   the prompt and the seed ([`generate_text`]): 6 to 12 words, then `The answer is (X), i.e. \boxed{N}.`.
//!   The choices of one request (other than greedy ones) have different seeds, hence (barring a 64-bit hash
//!   collision) different texts;
//! - every reward API of `hedge-net`: vLLM `/pooling` and `/classify` (`input` or `messages`), SGLang's
//!   native `/classify` (`text`), TEI `/predict`, OpenRLHF `/get_reward`. The score is a deterministic
//!   function of the text, chosen by [`Scorer`]:
//!   - [`Scorer::Proxy`] and [`Scorer::Gold`] hash the whole scored text (prompt and response as sent): the gold
//!     reward agrees with the proxy at low scores and disagrees at the top, so that optimising the proxy too
//!     hard lowers the gold reward;
//!   - [`Scorer::Latent`] (a gold reward) and [`Scorer::Noisy`] (its proxy) follow the latent-quality model
//!     below, whose proxy noise can be switched while the stand-in runs (a drifting reward model).
//!
//! # The latent-quality model
//!
//! Every candidate text `t` has a latent quality `q(t) ~ N(0, 1)` ([`latent_quality`]: Box–Muller on two
//! independent 64-bit hashes of the text), and a proxy-noise draw `ε(t)` ([`proxy_noise_draw`]) from further
//! independent hashes, distributed as the stand-in's current [`ProxyNoise`]:
//! - `gaussian:S`: `ε = S·z`, `z ~ N(0, 1)`;
//! - `cauchy:S`: `ε = S·tan(π(u − ½))`, `u` uniform on the open interval (0, 1): no mean, so that the best of
//!   many candidates by the proxy is mostly the one with the largest noise (reward hacking: with `cauchy:3`, the
//!   mean `q` of the best by the proxy of n candidates taken at random among a prompt's 32 is 0.17–0.18 for
//!   n = 4–6, its peak, and 0.064 at n = 32);
//! - `student_t:DF:S`: `ε = S·T`, `T` Student-t with `DF > 0` degrees of freedom (Bailey's polar method;
//!   `DF = 1` is the Cauchy law, large `DF` approach the Gaussian).
//!
//! The gold route ([`Scorer::Latent`]) answers `q(t)`, the proxy route ([`Scorer::Noisy`]) `q(t) + ε(t)`
//! ([`noisy_score`]). Both are functions of the *candidate text as the generation stand-in produced it*, even
//! though a reward request carries the prompt too (`prompt + response` for a completion prompt, `role: content`
//! blocks for a conversation, a `messages` list, a TEI text pair): both read only the candidate's key
//! ([`candidate_key`]) — the text after the last `assistant: ` block of a rendered conversation, and of that
//! the last five words before `The answer is (` and everything from there on (the last five words if there
//! is no answer). Every generated text has at least six words, so the key never reaches into the prompt and
//! `latent_quality(prompt + text) == latent_quality(text)` for any prompt. The price: two texts that share
//! their key (their last five words and their answer; about one pair in 3·10⁷) share `q` and `ε`. A text cut
//! to fewer than six words (`max_tokens` < 6, an early `stop`) is read with what precedes it.
//!
//! The noise is set at start ([`StandinConfig::proxy_noise`], default `gaussian:0.7`), and while running by
//! [`Standin::set_proxy_noise`] or the admin route:
//! - `POST /admin/proxy-noise` with `{"kind": "gaussian" | "cauchy" | "student_t", "scale": S, "df": DF}`
//!   (`df` only for `student_t`; `scale` ≥ 0 and `df` > 0, finite) answers 200 with the new setting, e.g.
//!   `{"kind": "cauchy", "scale": 3.0}`; a bad body gets HTTP 400 and leaves the setting unchanged;
//! - `GET /admin/proxy-noise` answers the current setting.
//!
//! The admin route needs the bearer key if one is required, and has no latency nor injected failures. A
//! reward request reads the setting once, so all its texts are scored under the same noise.
//!
//! # Log-probabilities
//!
//! Asked for them, the generation routes return token log-probabilities ([`StandinConfig::logprobs`]): a
//! text's tokens are its words, each after the first with its leading space ([`tokens`]); token `i` of text
//! `t` is the most likely of its position, with probability `p = 0.3 + 0.65·u` (`u` a hash of `t` and `i`),
//! followed by alternatives `alt1, alt2, …` with probabilities `(1 − p)·2⁻ʲ` ([`token_logprobs`]), as many as
//! asked (at most 20). The formats:
//! - [`LogprobsFormat::OpenAi`] (default): chat `"logprobs": true, "top_logprobs": k` →
//!   `choices[].logprobs.content[] = {"token", "logprob", "bytes", "top_logprobs": [{"token", "logprob", "bytes"}]}`;
//!   completions `"logprobs": k` → `choices[].logprobs = {"tokens", "token_logprobs", "top_logprobs": [{token: logprob}], "text_offset"}`;
//! - [`LogprobsFormat::LlamaCpp`]: as llama.cpp's server, the `content[]` format on both routes; chat reads
//!   `logprobs`/`top_logprobs` (default 20), completions read only llama.cpp's own `"n_probs": k` (its
//!   `/v1/completions` ignores `"logprobs"`); an empty answer gets `"logprobs": null`;
//! - [`LogprobsFormat::Never`]: `"logprobs": null` whatever is asked (a server without log-probabilities).
//!
//! # Options
//!
//! Options ([`StandinConfig`]): latency, injected failures (HTTP 500 for a fraction of requests; a fraction of
//! the choices of an `n > 1` answer left out), refusing `n > 1` exactly like older llama.cpp servers
//! (HTTP 500 `{"error":{"code":500,"message":"Only one completion choice is allowed","type":"server_error"}}`),
//! taking `n` only up to a limit like current llama.cpp servers (`n` up to its slots `-np`, else HTTP 400
//! `{"error":{"code":400,"message":"Field 'n': Value must be between 1 <= value <= 4, but got 8","type":"invalid_request_error"}}`),
//! refusing prompts longer than a context like llama.cpp (HTTP 400 `exceed_context_size_error`),
//! odd text (control characters, RTL override, combining marks, emoji, raw invalid UTF-8 bytes and a lone
//! UTF-16 surrogate escape in the JSON), a required bearer key, and echoing the received `Authorization`
//! header in error bodies (to test that clients keep keys out of their errors).

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

/// Which reward function the reward routes compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scorer {
    /// The proxy reward: `4u − 2` for a hash `u ∈ [0, 1)` of the text.
    #[default]
    Proxy,
    /// The "true" reward: `u (1.3 − u)` plus a little noise: increasing in the proxy up to `u ≈ 0.65`,
    /// decreasing above (reward hacking).
    Gold,
    /// The latent quality `q ~ N(0, 1)` of the candidate ([`latent_quality`]): the gold reward of the
    /// latent-quality model.
    Latent,
    /// The latent quality plus the current proxy noise ([`noisy_score`]): the proxy reward of the
    /// latent-quality model.
    Noisy,
}

/// The law of the proxy noise of [`Scorer::Noisy`] (see the crate documentation).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ProxyNoise {
    /// `scale · z`, `z ~ N(0, 1)`.
    Gaussian {
        /// Standard deviation (≥ 0).
        scale: f64,
    },
    /// `scale · tan(π(u − ½))`, `u` uniform on (0, 1).
    Cauchy {
        /// Half-width at half-maximum, also the median of the noise's absolute value (≥ 0).
        scale: f64,
    },
    /// `scale · T`, `T` Student-t with `df` degrees of freedom.
    StudentT {
        /// Degrees of freedom (> 0).
        df: f64,
        /// Scale (≥ 0).
        scale: f64,
    },
}

impl Default for ProxyNoise {
    /// `gaussian:0.7`.
    fn default() -> Self {
        ProxyNoise::Gaussian { scale: 0.7 }
    }
}

/// A proxy-noise setting that is out of range or cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidNoise(pub String);

impl fmt::Display for InvalidNoise {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InvalidNoise {}

impl ProxyNoise {
    /// The name used by the admin route and the `--noise` flag: `gaussian`, `cauchy` or `student_t`.
    pub fn kind(&self) -> &'static str {
        match self {
            ProxyNoise::Gaussian { .. } => "gaussian",
            ProxyNoise::Cauchy { .. } => "cauchy",
            ProxyNoise::StudentT { .. } => "student_t",
        }
    }

    /// The scale.
    pub fn scale(&self) -> f64 {
        match *self {
            ProxyNoise::Gaussian { scale } | ProxyNoise::Cauchy { scale } | ProxyNoise::StudentT { scale, .. } => scale,
        }
    }

    /// The setting itself if its scale is finite and ≥ 0 and its degrees of freedom (Student-t) finite and > 0.
    pub fn validate(self) -> Result<ProxyNoise, InvalidNoise> {
        let scale = self.scale();
        if !(scale.is_finite() && scale >= 0.0) {
            return Err(InvalidNoise(format!(
                "the noise scale must be a finite number >= 0, got {scale}"
            )));
        }
        if let ProxyNoise::StudentT { df, .. } = self {
            if !(df.is_finite() && df > 0.0) {
                return Err(InvalidNoise(format!(
                    "the degrees of freedom must be a finite number > 0, got {df}"
                )));
            }
        }
        Ok(self)
    }

    /// The JSON form of the admin route: `{"kind": …, "scale": …}`, with `"df"` for Student-t.
    pub fn to_json(&self) -> Value {
        match *self {
            ProxyNoise::StudentT { df, scale } => json!({"kind": self.kind(), "scale": scale, "df": df}),
            _ => json!({"kind": self.kind(), "scale": self.scale()}),
        }
    }

    /// Reads the JSON form of the admin route (see [`ProxyNoise::to_json`]) and validates it. Fields other than
    /// `kind`, `scale` and `df` are refused; `df` is required for `student_t` and ignored otherwise.
    pub fn from_json(v: &Value) -> Result<ProxyNoise, InvalidNoise> {
        let Value::Object(m) = v else {
            return Err(InvalidNoise("the body must be a JSON object".into()));
        };
        if let Some(k) = m.keys().find(|k| !matches!(k.as_str(), "kind" | "scale" | "df")) {
            return Err(InvalidNoise(format!(
                "unknown field {k:?}; expected \"kind\", \"scale\" and (student_t) \"df\""
            )));
        }
        let number = |name: &str| -> Result<f64, InvalidNoise> {
            match m.get(name) {
                Some(Value::Number(x)) => x
                    .as_f64()
                    .ok_or_else(|| InvalidNoise(format!("\"{name}\" is not a number"))),
                Some(other) => Err(InvalidNoise(format!("\"{name}\" must be a number, got {other}"))),
                None => Err(InvalidNoise(format!("\"{name}\" is required"))),
            }
        };
        let noise = match m.get("kind").and_then(Value::as_str) {
            Some("gaussian") => ProxyNoise::Gaussian {
                scale: number("scale")?,
            },
            Some("cauchy") => ProxyNoise::Cauchy {
                scale: number("scale")?,
            },
            Some("student_t") => ProxyNoise::StudentT {
                df: number("df")?,
                scale: number("scale")?,
            },
            Some(other) => {
                return Err(InvalidNoise(format!(
                    "unknown noise kind {other:?}; expected \"gaussian\", \"cauchy\" or \"student_t\""
                )));
            }
            None => {
                return Err(InvalidNoise(
                    "\"kind\" is required: \"gaussian\", \"cauchy\" or \"student_t\"".into(),
                ));
            }
        };
        noise.validate()
    }
}

/// The `--noise` form: `gaussian:SCALE`, `cauchy:SCALE` or `student_t:DF:SCALE`.
impl fmt::Display for ProxyNoise {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ProxyNoise::StudentT { df, scale } => write!(f, "student_t:{df}:{scale}"),
            _ => write!(f, "{}:{}", self.kind(), self.scale()),
        }
    }
}

/// Reads the `--noise` form (see [`fmt::Display`]) and validates it.
impl FromStr for ProxyNoise {
    type Err = InvalidNoise;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = s.split(':').collect();
        let num = |p: &str, what: &str| -> Result<f64, InvalidNoise> {
            p.trim()
                .parse::<f64>()
                .map_err(|_| InvalidNoise(format!("{what} {p:?} in {s:?} is not a number")))
        };
        let noise = match parts.as_slice() {
            ["gaussian", scale] => ProxyNoise::Gaussian {
                scale: num(scale, "the scale")?,
            },
            ["cauchy", scale] => ProxyNoise::Cauchy {
                scale: num(scale, "the scale")?,
            },
            ["student_t", df, scale] => ProxyNoise::StudentT {
                df: num(df, "the degrees of freedom")?,
                scale: num(scale, "the scale")?,
            },
            _ => {
                return Err(InvalidNoise(format!(
                    "invalid noise {s:?}; expected gaussian:SCALE, cauchy:SCALE or student_t:DF:SCALE"
                )));
            }
        };
        noise.validate()
    }
}

/// How the generation routes return log-probabilities (see the crate documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogprobsFormat {
    /// OpenAI's formats: `content[]` for chat, `tokens`/`token_logprobs`/`top_logprobs` for completions.
    #[default]
    OpenAi,
    /// llama.cpp's server: `content[]` on both routes; completions need `n_probs`.
    LlamaCpp,
    /// None ever: `"logprobs": null`.
    Never,
}

/// Behaviour of a stand-in.
#[derive(Debug, Clone, Default)]
pub struct StandinConfig {
    /// Added before every answer.
    pub latency: Duration,
    /// Fraction of requests answered with HTTP 500 (deterministic sequence).
    pub fail_rate: f64,
    /// Fraction of the choices of an `n > 1` generation answer left out.
    pub drop_rate: f64,
    /// Refuse `n ≠ 1` like older llama.cpp servers (HTTP 500).
    pub refuse_n: bool,
    /// Take `n` up to this and refuse a larger one like current llama.cpp servers (HTTP 400 naming the limit).
    pub max_n: Option<u64>,
    /// Refuse prompts of more words than this like llama.cpp (HTTP 400 `exceed_context_size_error`).
    pub context_words: Option<usize>,
    /// Emit odd text (see the crate documentation).
    pub odd_text: bool,
    /// The reward function.
    pub scorer: Scorer,
    /// The proxy noise of [`Scorer::Noisy`] at start (default `gaussian:0.7`); see [`Standin::set_proxy_noise`].
    pub proxy_noise: ProxyNoise,
    /// Bearer key every request must carry.
    pub require_key: Option<String>,
    /// Echo the received `Authorization` header in error bodies.
    pub echo_auth: bool,
    /// Seed of the failure draws.
    pub seed: u64,
    /// How log-probabilities are returned when asked for.
    pub logprobs: LogprobsFormat,
}

/// Request counters of a stand-in.
#[derive(Debug, Default)]
pub struct Stats {
    /// Generation requests (both routes).
    pub generation_requests: AtomicU64,
    /// Generation requests with `n > 1`.
    pub multi_n_requests: AtomicU64,
    /// Requests refused for their `n` (llama.cpp modes).
    pub refused_n: AtomicU64,
    /// Requests refused for a prompt longer than the context.
    pub refused_context: AtomicU64,
    /// Requests that carried `best_of`.
    pub best_of_seen: AtomicU64,
    /// Choices generated.
    pub choices: AtomicU64,
    /// Reward requests.
    pub reward_requests: AtomicU64,
    /// Texts scored.
    pub texts_scored: AtomicU64,
    /// Injected failures.
    pub injected_failures: AtomicU64,
    /// Requests refused for a missing or wrong key.
    pub unauthorized: AtomicU64,
    draws: AtomicU64,
    unseeded: AtomicU64,
}

impl Stats {
    /// Reads a counter.
    pub fn get(c: &AtomicU64) -> u64 {
        c.load(Ordering::Relaxed)
    }
}

struct Inner {
    cfg: StandinConfig,
    stats: Arc<Stats>,
    noise: SharedNoise,
}

/// The current proxy noise, shared by the routes and the [`Standin`] handle.
type SharedNoise = Arc<RwLock<ProxyNoise>>;

fn read_noise(noise: &SharedNoise) -> ProxyNoise {
    *noise.read().unwrap_or_else(|e| e.into_inner())
}

fn write_noise(noise: &SharedNoise, new: ProxyNoise) -> Result<(), InvalidNoise> {
    let new = new.validate()?;
    *noise.write().unwrap_or_else(|e| e.into_inner()) = new;
    Ok(())
}

/// A running stand-in.
#[derive(Debug)]
pub struct Standin {
    addr: SocketAddr,
    stats: Arc<Stats>,
    noise: SharedNoise,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Standin {
    /// Starts on `127.0.0.1` with a free port.
    pub async fn start(cfg: StandinConfig) -> std::io::Result<Standin> {
        Self::start_on("127.0.0.1:0", cfg).await
    }

    /// Starts on `addr` (which must be a loopback address).
    pub async fn start_on(addr: &str, cfg: StandinConfig) -> std::io::Result<Standin> {
        let initial_noise = cfg
            .proxy_noise
            .validate()
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        if !addr.ip().is_loopback() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "stand-ins listen on loopback addresses only",
            ));
        }
        let stats = Arc::new(Stats::default());
        let noise = Arc::new(RwLock::new(initial_noise));
        let app = router(Arc::new(Inner {
            cfg,
            stats: Arc::clone(&stats),
            noise: Arc::clone(&noise),
        }));
        use axum::serve::ListenerExt;
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(Standin {
            addr,
            stats,
            noise,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The request counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The current proxy noise of [`Scorer::Noisy`].
    pub fn proxy_noise(&self) -> ProxyNoise {
        read_noise(&self.noise)
    }

    /// Switches the proxy noise of [`Scorer::Noisy`] (as `POST /admin/proxy-noise` does); requests that
    /// arrive afterwards are scored under the new noise. Refuses (and keeps the current one) an invalid setting.
    pub fn set_proxy_noise(&self, noise: ProxyNoise) -> Result<(), InvalidNoise> {
        write_noise(&self.noise, noise)
    }

    /// Stops the server.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for Standin {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A stand-in running on its own thread and runtime, for synchronous tests.
#[derive(Debug)]
pub struct ThreadStandin {
    url: String,
    stats: Arc<Stats>,
    noise: SharedNoise,
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ThreadStandin {
    /// Starts a stand-in on a background thread.
    pub fn start(cfg: StandinConfig) -> std::io::Result<ThreadStandin> {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            rt.block_on(async move {
                match Standin::start(cfg).await {
                    Ok(s) => {
                        let _ = ready_tx.send(Ok((s.url(), Arc::clone(&s.stats), Arc::clone(&s.noise))));
                        let _ = tokio::task::spawn_blocking(move || stop_rx.recv()).await;
                        s.stop().await;
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                    }
                }
            });
        });
        let (url, stats, noise) = ready_rx
            .recv()
            .map_err(|_| std::io::Error::other("stand-in thread died"))??;
        Ok(ThreadStandin {
            url,
            stats,
            noise,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The request counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The current proxy noise of [`Scorer::Noisy`].
    pub fn proxy_noise(&self) -> ProxyNoise {
        read_noise(&self.noise)
    }

    /// Switches the proxy noise (see [`Standin::set_proxy_noise`]).
    pub fn set_proxy_noise(&self, noise: ProxyNoise) -> Result<(), InvalidNoise> {
        write_noise(&self.noise, noise)
    }
}

impl Drop for ThreadStandin {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn router(inner: Arc<Inner>) -> Router {
    Router::new()
        .route("/v1/completions", post(completions))
        .route("/v1/chat/completions", post(chat))
        .route("/pooling", post(pooling))
        .route("/classify", post(classify))
        .route("/predict", post(predict))
        .route("/get_reward", post(get_reward))
        .route("/admin/proxy-noise", get(get_proxy_noise).post(set_proxy_noise))
        .route("/health", get(|| async { "ok" }))
        .with_state(inner)
}

/// 64-bit FNV-1a followed by a splitmix64 finaliser.
pub fn hash64(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in *p {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        h ^= 0xff;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

fn unit(h: u64) -> f64 {
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// The proxy score of a text.
pub fn proxy_score(text: &str) -> f64 {
    4.0 * unit(hash64(&[text.as_bytes()])) - 2.0
}

/// The gold ("true") score of a text.
pub fn gold_score(text: &str) -> f64 {
    let u = unit(hash64(&[text.as_bytes()]));
    let noise = unit(hash64(&[b"noise", text.as_bytes()])) - 0.5;
    u * (1.3 - u) + 0.05 * noise
}

/// Where the answer sentence of a generated text begins.
const ANSWER_MARK: &str = "The answer is (";
/// What precedes the assistant's answer in a rendered conversation (`role: content` blocks).
const ASSISTANT_MARK: &str = "assistant: ";
/// Words of a candidate's key before its answer sentence: one less than the fewest words of a generated text,
/// so that the key never begins with a word glued to the prompt.
const KEY_WORDS: usize = 5;

/// The part of a scored text the latent-quality model reads: the same for a candidate text alone and for the
/// candidate rendered after any prompt (see the crate documentation).
///
/// First the text after the last `assistant: ` that begins the text or follows a blank line (a rendered
/// conversation); of that, the last five words before the last `The answer is (` and everything from there on,
/// or, without an answer sentence, the last five space-separated pieces; the whole (rest of the) text if it
/// has fewer.
///
/// ```
/// use hedge_standin::{candidate_key, generate_text};
/// let t = generate_text("Q: 1+1? A:", 7, None, false);
/// assert_eq!(candidate_key(&t), candidate_key(&format!("Q: 1+1? A:{t}")));
/// assert_eq!(candidate_key(&t), candidate_key(&format!("user: hi\n\nassistant: {t}")));
/// assert!(candidate_key(&t).ends_with("}."));
/// ```
pub fn candidate_key(text: &str) -> &str {
    let text = text
        .rmatch_indices(ASSISTANT_MARK)
        .find(|&(i, _)| i == 0 || text[..i].ends_with("\n\n"))
        .map_or(text, |(i, m)| &text[i + m.len()..]);
    // Spaces counted back from the answer: the one right before it, then one per word.
    let (body, spaces) = match text.rfind(ANSWER_MARK) {
        Some(a) => (&text[..a], KEY_WORDS + 1),
        None => (text, KEY_WORDS),
    };
    match body.rmatch_indices(' ').nth(spaces - 1) {
        Some((i, _)) => &text[i + 1..],
        None => text,
    }
}

/// A uniform number on the open interval (0, 1): never exactly 0 or 1.
fn open_unit(h: u64) -> f64 {
    ((h >> 11) as f64 + 0.5) / (1u64 << 53) as f64
}

/// The `k`-th uniform of stream `tag` of a candidate key: an independent 64-bit hash each.
fn key_uniform(tag: &[u8], key: &str, k: u64) -> f64 {
    open_unit(hash64(&[tag, key.as_bytes(), &k.to_le_bytes()]))
}

/// A standard normal number from stream `tag` of a key (Box–Muller on its uniforms 0 and 1).
fn key_normal(tag: &[u8], key: &str) -> f64 {
    let u1 = key_uniform(tag, key, 0);
    let u2 = key_uniform(tag, key, 1);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// The latent quality `q ~ N(0, 1)` of a candidate text: the gold score of [`Scorer::Latent`].
///
/// A deterministic function of the candidate's key ([`candidate_key`]), so also of a prompt and candidate
/// rendered together: Box–Muller on two independent 64-bit hashes of the key.
pub fn latent_quality(text: &str) -> f64 {
    key_normal(b"hedge-standin latent quality", candidate_key(text))
}

/// The proxy-noise draw of a candidate text under `noise` (see [`ProxyNoise`]); independent of
/// [`latent_quality`]. A deterministic function of the candidate's key ([`candidate_key`]), drawn from hashes
/// of its own for each law.
pub fn proxy_noise_draw(text: &str, noise: ProxyNoise) -> f64 {
    let key = candidate_key(text);
    match noise {
        ProxyNoise::Gaussian { scale } => scale * key_normal(b"hedge-standin gaussian noise", key),
        ProxyNoise::Cauchy { scale } => {
            let u = key_uniform(b"hedge-standin cauchy noise", key, 0);
            scale * (std::f64::consts::PI * (u - 0.5)).tan()
        }
        ProxyNoise::StudentT { df, scale } => scale * student_t(df, key),
    }
}

/// A Student-t number with `df` degrees of freedom from a key: Bailey's polar method (1994), with the
/// rejection loop drawing pairs of uniforms from the key's stream in order.
fn student_t(df: f64, key: &str) -> f64 {
    const TAG: &[u8] = b"hedge-standin student-t noise";
    // Each pair is accepted with probability π/4: 200 pairs all fail with probability < 1e-130.
    for k in 0..200u64 {
        let u = 2.0 * key_uniform(TAG, key, 2 * k) - 1.0;
        let v = 2.0 * key_uniform(TAG, key, 2 * k + 1) - 1.0;
        let w = u * u + v * v;
        if w > 0.0 && w <= 1.0 {
            return u * (df * (w.powf(-2.0 / df) - 1.0) / w).sqrt();
        }
    }
    0.0
}

/// The proxy score of [`Scorer::Noisy`]: `latent_quality(text) + proxy_noise_draw(text, noise)`.
pub fn noisy_score(text: &str, noise: ProxyNoise) -> f64 {
    latent_quality(text) + proxy_noise_draw(text, noise)
}

const WORDS: [&str; 24] = [
    "the",
    "model",
    "thinks",
    "carefully",
    "about",
    "numbers",
    "and",
    "then",
    "writes",
    "a",
    "short",
    "answer",
    "with",
    "some",
    "extra",
    "words",
    "that",
    "may",
    "please",
    "reward",
    "models",
    "quite",
    "a",
    "lot",
];

/// Private-use markers replaced in the raw JSON by an invalid UTF-8 byte and a lone surrogate escape.
const MARK_BAD_BYTE: char = '\u{E000}';
const MARK_SURROGATE: char = '\u{E001}';

/// The generated text for a prompt and an effective seed.
pub fn generate_text(prompt: &str, seed: u64, max_words: Option<u64>, odd: bool) -> String {
    let h = hash64(&[prompt.as_bytes(), &seed.to_le_bytes()]);
    let count = 6 + (h % 7) as usize;
    let mut words: Vec<String> = (0..count)
        .map(|i| {
            WORDS[(hash64(&[&h.to_le_bytes(), &(i as u64).to_le_bytes()]) % WORDS.len() as u64) as usize].to_string()
        })
        .collect();
    let answer = (h >> 8) % 5;
    let letter = (b'A' + answer as u8) as char;
    words.push(format!("The answer is ({letter}), i.e. \\boxed{{{answer}}}."));
    if odd {
        words.push(format!("nul\u{0} tab\t cr\r\n zwsp\u{200b} rtl\u{202e}olleh\u{202c} e\u{301} 🦀 \"q\" \\ bad{MARK_BAD_BYTE} half{MARK_SURROGATE}"));
    }
    if let Some(m) = max_words {
        words.truncate(m.max(1) as usize);
    }
    words.join(" ")
}

fn json_response(status: StatusCode, v: &Value) -> Response {
    let mut text = v.to_string();
    if text.contains(MARK_BAD_BYTE) || text.contains(MARK_SURROGATE) {
        text = text.replace(MARK_SURROGATE, "\\ud83d");
        let bytes: Vec<u8> = text.split(MARK_BAD_BYTE).collect::<Vec<_>>().join("\u{1}").into_bytes();
        let bytes: Vec<u8> = bytes.into_iter().map(|b| if b == 1 { 0xff } else { b }).collect();
        return (status, [(header::CONTENT_TYPE, "application/json")], bytes).into_response();
    }
    (status, [(header::CONTENT_TYPE, "application/json")], text).into_response()
}

fn error(status: StatusCode, kind: &str, message: String) -> Response {
    json_response(
        status,
        &json!({"error": {"code": status.as_u16(), "message": message, "type": kind}}),
    )
}

/// The received `Authorization` header as error bodies echo it (empty unless configured).
fn auth_echo(inner: &Inner, headers: &HeaderMap) -> String {
    if inner.cfg.echo_auth {
        format!(" (received {:?})", auth_header(headers))
    } else {
        String::new()
    }
}

fn auth_header(headers: &HeaderMap) -> &str {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// The refusal of a request without the required key, if it is one.
fn check_key(inner: &Inner, headers: &HeaderMap) -> Option<Response> {
    let key = inner.cfg.require_key.as_ref()?;
    if auth_header(headers) != format!("Bearer {key}") {
        inner.stats.unauthorized.fetch_add(1, Ordering::Relaxed);
        return Some(error(
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            format!("invalid API key{}", auth_echo(inner, headers)),
        ));
    }
    None
}

/// Common gate: latency, key check, injected failures.
async fn gate(inner: &Inner, headers: &HeaderMap) -> Option<Response> {
    if !inner.cfg.latency.is_zero() {
        tokio::time::sleep(inner.cfg.latency).await;
    }
    if let Some(r) = check_key(inner, headers) {
        return Some(r);
    }
    let echo = auth_echo(inner, headers);
    if inner.cfg.fail_rate > 0.0 {
        let k = inner.stats.draws.fetch_add(1, Ordering::Relaxed);
        if unit(hash64(&[b"fail", &inner.cfg.seed.to_le_bytes(), &k.to_le_bytes()])) < inner.cfg.fail_rate {
            inner.stats.injected_failures.fetch_add(1, Ordering::Relaxed);
            return Some(error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                format!("injected failure{echo}"),
            ));
        }
    }
    None
}

#[allow(clippy::result_large_err)]
fn parse_body(body: &Bytes) -> Result<serde_json::Map<String, Value>, Response> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "the body must be a JSON object".into(),
        )),
    }
}

async fn completions(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> Response {
    generation(&inner, &headers, &body, false).await
}

async fn chat(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> Response {
    generation(&inner, &headers, &body, true).await
}

async fn generation(inner: &Inner, headers: &HeaderMap, body: &Bytes, chat: bool) -> Response {
    let st = &inner.stats;
    st.generation_requests.fetch_add(1, Ordering::Relaxed);
    if let Some(r) = gate(inner, headers).await {
        return r;
    }
    let req = match parse_body(body) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let n = match requested_n(inner, &req) {
        Ok(n) => n,
        Err(r) => return r,
    };
    let prompt = match request_prompt(&req, chat) {
        Ok(p) => p,
        Err(r) => return r,
    };
    if let Some(r) = refuse_long_prompt(inner, &prompt) {
        return r;
    }
    let sampling = Sampling::of(&req);
    let model = req
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or("standin")
        .to_string();
    let asked = LogprobRequest::of(&req, chat, inner.cfg.logprobs);
    let (choices, completion_tokens) = generate_choices(inner, &prompt, n, &sampling, chat, asked);
    let prompt_tokens = prompt.split_whitespace().count() as u64;
    let v = json!({
        "id": format!("standin-{}", st.generation_requests.load(Ordering::Relaxed)),
        "object": if chat { "chat.completion" } else { "text_completion" },
        "created": 0,
        "model": model,
        "choices": choices,
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens, "total_tokens": prompt_tokens + completion_tokens},
    });
    json_response(StatusCode::OK, &v)
}

/// The request's `n` (default 1), or the refusal of `best_of` or of an `n` out of range, as the
/// configured server would answer.
// The error is the finished HTTP answer, built at most once per request.
#[allow(clippy::result_large_err)]
fn requested_n(inner: &Inner, req: &serde_json::Map<String, Value>) -> Result<u64, Response> {
    let st = &inner.stats;
    if req.contains_key("best_of") {
        st.best_of_seen.fetch_add(1, Ordering::Relaxed);
        return Err(error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "Unsupported param: best_of".into(),
        ));
    }
    let n = req.get("n").and_then(Value::as_u64).unwrap_or(1);
    if n > 1 {
        st.multi_n_requests.fetch_add(1, Ordering::Relaxed);
    }
    if inner.cfg.refuse_n && n != 1 {
        st.refused_n.fetch_add(1, Ordering::Relaxed);
        // llama.cpp's server: a std::runtime_error in the OpenAI-compat parsing → HTTP 500 server_error.
        return Err(error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "Only one completion choice is allowed".into(),
        ));
    }
    if let Some(k) = inner.cfg.max_n {
        if n == 0 || n > k {
            st.refused_n.fetch_add(1, Ordering::Relaxed);
            // llama.cpp's server (n_cmpl, alias n, limited to its slots) → HTTP 400, body as llama.cpp writes it.
            return Err(error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                format!("Field 'n': Value must be between 1 <= value <= {k}, but got {n}"),
            ));
        }
    }
    if n == 0 || n > 128 {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            format!("n = {n} is out of range"),
        ));
    }
    Ok(n)
}

/// The prompt text: the chat messages' contents joined by newlines, or the completion prompt.
// The error is the finished HTTP answer, built at most once per request.
#[allow(clippy::result_large_err)]
fn request_prompt(req: &serde_json::Map<String, Value>, chat: bool) -> Result<String, Response> {
    if chat {
        match req.get("messages").and_then(Value::as_array) {
            Some(m) => Ok(m
                .iter()
                .filter_map(|m| m.get("content").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join("\n")),
            None => Err(error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                "\"messages\" is required".into(),
            )),
        }
    } else {
        match req.get("prompt") {
            Some(Value::String(p)) => Ok(p.clone()),
            Some(Value::Array(a)) if a.len() == 1 => Ok(a[0].as_str().unwrap_or_default().to_string()),
            _ => Err(error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                "\"prompt\" is required".into(),
            )),
        }
    }
}

/// llama.cpp's refusal of a prompt longer than the configured context, if it is.
fn refuse_long_prompt(inner: &Inner, prompt: &str) -> Option<Response> {
    let ctx = inner.cfg.context_words?;
    let words = prompt.split_whitespace().count();
    if words > ctx {
        inner.stats.refused_context.fetch_add(1, Ordering::Relaxed);
        let v = json!({"error": {"code": 400, "type": "exceed_context_size_error", "n_prompt_tokens": words, "n_ctx": ctx,
            "message": format!("request ({words} tokens) exceeds the available context size ({ctx} tokens), try increasing it")}});
        return Some(json_response(StatusCode::BAD_REQUEST, &v));
    }
    None
}

/// The sampling fields of a generation request.
struct Sampling {
    /// `temperature` 0: every choice is the same text.
    greedy: bool,
    /// `seed`, unless absent or llama.cpp's "random seed".
    seed: Option<u64>,
    /// `max_tokens`, counted in words.
    max_words: Option<u64>,
    /// `stop`: a string or a list.
    stops: Vec<String>,
}

impl Sampling {
    fn of(req: &serde_json::Map<String, Value>) -> Self {
        let greedy = req.get("temperature").and_then(Value::as_f64) == Some(0.0);
        // llama.cpp: -1 (as an unsigned 32-bit number, 4294967295) is its "random seed".
        let seed = req
            .get("seed")
            .and_then(|s| s.as_u64().or_else(|| s.as_i64().map(|x| x as u64)))
            .filter(|&s| s != u64::MAX && s != u64::from(u32::MAX));
        let max_words = req.get("max_tokens").and_then(Value::as_u64);
        let stops: Vec<String> = match req.get("stop") {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(a)) => a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect(),
            _ => Vec::new(),
        };
        Sampling {
            greedy,
            seed,
            max_words,
            stops,
        }
    }
}

/// The `n` choices of an answer (some left out by the configured drop rate) and their words in all.
fn generate_choices(
    inner: &Inner,
    prompt: &str,
    n: u64,
    sampling: &Sampling,
    chat: bool,
    asked: Option<LogprobRequest>,
) -> (Vec<Value>, u64) {
    let st = &inner.stats;
    let mut choices = Vec::new();
    let mut completion_tokens = 0u64;
    for i in 0..n {
        if n > 1 && drops_choice(inner) {
            continue;
        }
        let eff = if sampling.greedy {
            0
        } else {
            match sampling.seed {
                Some(s) => s.wrapping_add(i),
                None => 0x5eed_0000_0000 + st.unseeded.fetch_add(1, Ordering::Relaxed),
            }
        };
        let (text, finish) = choice_text(prompt, eff, sampling, inner.cfg.odd_text);
        completion_tokens += text.split_whitespace().count() as u64;
        st.choices.fetch_add(1, Ordering::Relaxed);
        let logprobs = asked.map_or(Value::Null, |a| a.render(&text));
        choices.push(if chat {
            json!({"index": i, "message": {"role": "assistant", "content": text}, "logprobs": logprobs, "finish_reason": finish})
        } else {
            json!({"index": i, "text": text, "logprobs": logprobs, "finish_reason": finish})
        });
    }
    (choices, completion_tokens)
}

/// The tokens of a generated text: its words, each after the first with its leading space (they
/// concatenate to the text).
pub fn tokens(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, _) in text.match_indices(' ') {
        if i > start {
            out.push(&text[start..i]);
            start = i;
        }
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

/// Largest number of top log-probabilities per token the stand-in returns.
pub const MAX_TOP_LOGPROBS: usize = 20;

/// Token `i` of `text` with its log-probability, and its position's top `k` log-probabilities (`k` at
/// most [`MAX_TOP_LOGPROBS`]): the token itself with `p = 0.3 + 0.65·u`, then `alt1, alt2, …` with
/// `(1 − p)·2⁻ʲ`.
pub fn token_logprobs(text: &str, i: usize, k: usize) -> (f64, Vec<(String, f64)>) {
    let p = 0.3 + 0.65 * unit(hash64(&[b"logprob", text.as_bytes(), &(i as u64).to_le_bytes()]));
    let token = tokens(text).get(i).map_or(String::new(), |t| t.to_string());
    let mut top = Vec::new();
    for j in 0..k.min(MAX_TOP_LOGPROBS) {
        if j == 0 {
            top.push((token.clone(), p.ln()));
        } else {
            top.push((format!("alt{j}"), ((1.0 - p) * 0.5f64.powi(j as i32)).ln()));
        }
    }
    (p.ln(), top)
}

/// What a generation request asked for: top log-probabilities per token and the format to answer in.
#[derive(Debug, Clone, Copy)]
struct LogprobRequest {
    top: usize,
    /// `content[]` (chat, llama.cpp) rather than OpenAI's legacy completions format.
    content: bool,
    /// llama.cpp: `null` for an answer without tokens.
    null_when_empty: bool,
}

impl LogprobRequest {
    fn of(req: &serde_json::Map<String, Value>, chat: bool, format: LogprobsFormat) -> Option<Self> {
        let num = |k: &str| req.get(k).and_then(Value::as_u64);
        let llama = format == LogprobsFormat::LlamaCpp;
        let top = match (format, chat) {
            (LogprobsFormat::Never, _) => return None,
            (_, true) => {
                if req.get("logprobs").and_then(Value::as_bool) != Some(true) {
                    return None;
                }
                num("top_logprobs").unwrap_or(if llama { 20 } else { 0 })
            }
            (LogprobsFormat::OpenAi, false) => num("logprobs")?,
            (LogprobsFormat::LlamaCpp, false) => num("n_probs").filter(|&k| k > 0)?,
        };
        Some(LogprobRequest {
            top: (top as usize).min(MAX_TOP_LOGPROBS),
            content: chat || llama,
            null_when_empty: llama,
        })
    }

    /// The `logprobs` object of a choice with `text`.
    fn render(self, text: &str) -> Value {
        let toks = tokens(text);
        if toks.is_empty() && self.null_when_empty {
            return Value::Null;
        }
        let entries: Vec<(f64, Vec<(String, f64)>)> =
            (0..toks.len()).map(|i| token_logprobs(text, i, self.top)).collect();
        if self.content {
            let content: Vec<Value> = toks
                .iter()
                .zip(&entries)
                .map(|(t, (lp, top))| {
                    let top: Vec<Value> = top
                        .iter()
                        .map(|(t, l)| json!({"token": t, "logprob": l, "bytes": t.as_bytes()}))
                        .collect();
                    json!({"token": t, "logprob": lp, "bytes": t.as_bytes(), "top_logprobs": top})
                })
                .collect();
            json!({"content": content})
        } else {
            let mut offset = 0;
            let offsets: Vec<usize> = toks
                .iter()
                .map(|t| {
                    let o = offset;
                    offset += t.len();
                    o
                })
                .collect();
            let top: Vec<Value> = entries
                .iter()
                .map(|(_, top)| Value::Object(top.iter().map(|(t, l)| (t.clone(), json!(l))).collect()))
                .collect();
            let lps: Vec<f64> = entries.iter().map(|(lp, _)| *lp).collect();
            json!({"tokens": toks, "token_logprobs": lps, "top_logprobs": top, "text_offset": offsets})
        }
    }
}

/// Whether the next choice is left out (an injected failure); draws only with a drop rate.
fn drops_choice(inner: &Inner) -> bool {
    if inner.cfg.drop_rate > 0.0 {
        let k = inner.stats.draws.fetch_add(1, Ordering::Relaxed);
        if unit(hash64(&[b"drop", &inner.cfg.seed.to_le_bytes(), &k.to_le_bytes()])) < inner.cfg.drop_rate {
            inner.stats.injected_failures.fetch_add(1, Ordering::Relaxed);
            return true;
        }
    }
    false
}

/// The text of one choice with effective seed `eff`, cut before the stop strings it contains, and its
/// finish reason (`"length"` if `max_tokens` cut it, else `"stop"`).
fn choice_text(prompt: &str, eff: u64, sampling: &Sampling, odd: bool) -> (String, &'static str) {
    let max_words = sampling.max_words;
    let mut text = generate_text(prompt, eff, max_words, odd);
    let mut finish = if max_words.is_some_and(|m| (m as usize) < text.split(' ').count()) {
        "length"
    } else {
        "stop"
    };
    for s in &sampling.stops {
        if let Some(at) = text.find(s.as_str()).filter(|_| !s.is_empty()) {
            text.truncate(at);
            finish = "stop";
        }
    }
    (text, finish)
}

/// The reward function of one reward request: the scorer and the proxy noise read when the request came in.
struct Scoring<'a> {
    inner: &'a Inner,
    noise: ProxyNoise,
}

impl<'a> Scoring<'a> {
    fn of(inner: &'a Inner) -> Self {
        Scoring {
            inner,
            noise: read_noise(&inner.noise),
        }
    }

    fn score(&self, text: &str) -> f64 {
        self.inner.stats.texts_scored.fetch_add(1, Ordering::Relaxed);
        match self.inner.cfg.scorer {
            Scorer::Proxy => proxy_score(text),
            Scorer::Gold => gold_score(text),
            Scorer::Latent => latent_quality(text),
            Scorer::Noisy => noisy_score(text, self.noise),
        }
    }
}

async fn get_proxy_noise(State(inner): State<Arc<Inner>>, headers: HeaderMap) -> Response {
    if let Some(r) = check_key(&inner, &headers) {
        return r;
    }
    json_response(StatusCode::OK, &read_noise(&inner.noise).to_json())
}

async fn set_proxy_noise(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(r) = check_key(&inner, &headers) {
        return r;
    }
    let parsed = serde_json::from_slice::<Value>(&body)
        .map_err(|e| InvalidNoise(format!("the body is not JSON: {e}")))
        .and_then(|v| ProxyNoise::from_json(&v));
    match parsed.and_then(|noise| write_noise(&inner.noise, noise).map(|()| noise)) {
        Ok(noise) => json_response(StatusCode::OK, &noise.to_json()),
        Err(e) => error(StatusCode::BAD_REQUEST, "invalid_request_error", e.0),
    }
}

/// Renders chat messages the way a reward model's chat template would (simplified).
fn render_messages(m: &[Value]) -> String {
    m.iter()
        .map(|m| {
            format!(
                "{}: {}",
                m.get("role").and_then(Value::as_str).unwrap_or("user"),
                m.get("content").and_then(Value::as_str).unwrap_or("")
            )
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// Texts of a vLLM-style request: `input` (string or list) or `messages` (one conversation).
fn vllm_texts(req: &serde_json::Map<String, Value>) -> Option<Vec<String>> {
    if let Some(m) = req.get("messages").and_then(Value::as_array) {
        return Some(vec![render_messages(m)]);
    }
    match req.get("input")? {
        Value::String(s) => Some(vec![s.clone()]),
        Value::Array(a) => a.iter().map(|t| t.as_str().map(str::to_string)).collect(),
        _ => None,
    }
}

async fn reward_prelude(
    inner: &Inner,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<serde_json::Map<String, Value>, Response> {
    inner.stats.reward_requests.fetch_add(1, Ordering::Relaxed);
    if let Some(r) = gate(inner, headers).await {
        return Err(r);
    }
    parse_body(body)
}

async fn pooling(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> Response {
    let req = match reward_prelude(&inner, &headers, &body).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let sc = Scoring::of(&inner);
    let Some(texts) = vllm_texts(&req) else {
        return error(
            StatusCode::BAD_REQUEST,
            "BadRequestError",
            "\"input\" or \"messages\" is required".into(),
        );
    };
    let data: Vec<Value> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| json!({"index": i, "object": "pooling", "data": [sc.score(t)]}))
        .collect();
    json_response(
        StatusCode::OK,
        &json!({"id": "pool-standin", "object": "list", "created": 0, "model": "standin-rm", "data": data,
        "usage": {"prompt_tokens": 0, "total_tokens": 0}}),
    )
}

async fn classify(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> Response {
    let req = match reward_prelude(&inner, &headers, &body).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let sc = Scoring::of(&inner);
    if let Some(text) = req.get("text") {
        // SGLang native: {"text": str | [str]} → one object or a list of {"embedding": [score], ...}.
        return match text {
            Value::String(t) => json_response(
                StatusCode::OK,
                &json!({"text": t, "embedding": [sc.score(t)], "meta_info": {}}),
            ),
            Value::Array(a) => {
                let items: Vec<Value> = a
                    .iter()
                    .map(|t| {
                        let t = t.as_str().unwrap_or_default();
                        json!({"text": t, "embedding": [sc.score(t)], "meta_info": {"id": "standin"}})
                    })
                    .collect();
                json_response(StatusCode::OK, &Value::Array(items))
            }
            _ => error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                "\"text\" must be a string or a list".into(),
            ),
        };
    }
    let Some(texts) = vllm_texts(&req) else {
        return error(
            StatusCode::BAD_REQUEST,
            "BadRequestError",
            "\"input\", \"messages\" or \"text\" is required".into(),
        );
    };
    let data: Vec<Value> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| json!({"index": i, "label": "LABEL_0", "probs": [sc.score(t)], "num_classes": 1}))
        .collect();
    json_response(
        StatusCode::OK,
        &json!({"id": "classify-standin", "object": "list", "created": 0, "model": "standin-rm", "data": data,
        "usage": {"prompt_tokens": 0, "total_tokens": 0, "completion_tokens": 0, "prompt_tokens_details": null}}),
    )
}

async fn predict(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> Response {
    let req = match reward_prelude(&inner, &headers, &body).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let sc = Scoring::of(&inner);
    let pred = |t: &str| json!({"score": sc.score(t), "label": "LABEL_0"});
    match req.get("inputs") {
        Some(Value::String(t)) => json_response(StatusCode::OK, &json!([pred(t)])),
        Some(Value::Array(items)) if items.iter().all(Value::is_array) => {
            let mut rows = Vec::new();
            for it in items {
                let parts: Vec<&str> = it.as_array().into_iter().flatten().filter_map(Value::as_str).collect();
                if parts.is_empty() || parts.len() > 2 {
                    return error(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "validation",
                        "each batch item must be [text] or [text, text]".into(),
                    );
                }
                rows.push(json!([pred(&parts.join("\n"))]));
            }
            json_response(StatusCode::OK, &Value::Array(rows))
        }
        Some(Value::Array(pair)) if pair.len() == 2 && pair.iter().all(Value::is_string) => {
            // A bare pair of strings is one text pair, as in TEI.
            let t = format!(
                "{}\n{}",
                pair[0].as_str().unwrap_or_default(),
                pair[1].as_str().unwrap_or_default()
            );
            json_response(StatusCode::OK, &json!([pred(&t)]))
        }
        _ => error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
            "\"inputs\" must be a string, a pair or a batch".into(),
        ),
    }
}

async fn get_reward(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> Response {
    let req = match reward_prelude(&inner, &headers, &body).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let sc = Scoring::of(&inner);
    let Some(q) = req.get("query").and_then(Value::as_array) else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "\"query\" must be a list".into(),
        );
    };
    let rewards: Vec<f64> = q.iter().map(|t| sc.score(t.as_str().unwrap_or_default())).collect();
    json_response(StatusCode::OK, &json!({"rewards": rewards}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_deterministic_and_seed_dependent() {
        assert_eq!(generate_text("p", 1, None, false), generate_text("p", 1, None, false));
        assert_ne!(generate_text("p", 1, None, false), generate_text("p", 2, None, false));
        assert!(generate_text("p", 1, None, false).contains("\\boxed{"));
        assert_eq!(generate_text("p", 1, Some(2), false).split(' ').count(), 2);
    }

    #[test]
    fn gold_disagrees_with_proxy_at_the_top() {
        // Among many texts, the best by proxy is not the best by gold.
        let texts: Vec<String> = (0..2000).map(|i| format!("text {i}")).collect();
        let best_proxy = texts
            .iter()
            .max_by(|a, b| proxy_score(a).total_cmp(&proxy_score(b)))
            .unwrap();
        let best_gold = texts.iter().map(|t| gold_score(t)).fold(f64::MIN, f64::max);
        assert!(gold_score(best_proxy) < best_gold - 0.1);
    }

    #[test]
    fn tokens_concatenate_to_the_text() {
        for t in [
            "",
            "one",
            "a b  c",
            " lead",
            "trail ",
            &generate_text("p", 3, None, false),
        ] {
            assert_eq!(tokens(t).concat(), t, "{t:?}");
        }
        assert_eq!(tokens("The answer is"), vec!["The", " answer", " is"]);
    }

    #[test]
    fn logprobs_in_each_format() {
        let text = "The answer is";
        let m = |v: Value| v.as_object().unwrap().clone();
        // OpenAI chat: content[] with k alternatives, the sampled token first.
        let r = LogprobRequest::of(
            &m(json!({"logprobs": true, "top_logprobs": 3})),
            true,
            LogprobsFormat::OpenAi,
        )
        .unwrap();
        let v = r.render(text);
        let content = v["content"].as_array().unwrap();
        assert_eq!(content.len(), 3);
        let (lp, top) = token_logprobs(text, 1, 3);
        assert_eq!(content[1]["token"], " answer");
        assert_eq!(content[1]["logprob"], json!(lp));
        assert_eq!(content[1]["top_logprobs"][0]["logprob"], json!(lp));
        assert_eq!(content[1]["top_logprobs"].as_array().unwrap().len(), 3);
        let p = lp.exp();
        assert!((0.3..=0.95).contains(&p));
        assert!((top[2].1 - ((1.0 - p) / 4.0).ln()).abs() < 1e-12);
        // OpenAI completions: the legacy format.
        let r = LogprobRequest::of(&m(json!({"logprobs": 2})), false, LogprobsFormat::OpenAi).unwrap();
        let v = r.render(text);
        assert_eq!(v["tokens"], json!(["The", " answer", " is"]));
        assert_eq!(v["text_offset"], json!([0, 3, 10]));
        assert_eq!(v["token_logprobs"][1], json!(lp));
        assert_eq!(v["top_logprobs"][1][" answer"], json!(lp));
        // Not asked: nothing.
        assert!(LogprobRequest::of(&m(json!({})), true, LogprobsFormat::OpenAi).is_none());
        assert!(LogprobRequest::of(&m(json!({"logprobs": true})), true, LogprobsFormat::Never).is_none());
        // llama.cpp: completions read n_probs only, answer in content[]; empty answers get null.
        assert!(LogprobRequest::of(&m(json!({"logprobs": 5})), false, LogprobsFormat::LlamaCpp).is_none());
        let r = LogprobRequest::of(&m(json!({"n_probs": 5})), false, LogprobsFormat::LlamaCpp).unwrap();
        assert_eq!(r.render(text)["content"].as_array().unwrap().len(), 3);
        assert_eq!(r.render(""), Value::Null);
        let r = LogprobRequest::of(&m(json!({"logprobs": true})), true, LogprobsFormat::LlamaCpp).unwrap();
        assert_eq!(r.top, 20);
    }

    async fn body_bytes(r: Response) -> Vec<u8> {
        axum::body::to_bytes(r.into_body(), usize::MAX).await.unwrap().to_vec()
    }

    #[tokio::test]
    async fn odd_text_produces_invalid_utf8_and_a_lone_surrogate() {
        let t = generate_text("p", 1, None, true);
        let r = json_response(StatusCode::OK, &json!({"t": t}));
        assert_eq!(r.status(), StatusCode::OK);
        let raw = body_bytes(r).await;
        // One raw 0xFF byte: the body is not UTF-8.
        assert_eq!(raw.iter().filter(|&&b| b == 0xff).count(), 1);
        assert!(std::str::from_utf8(&raw).is_err());
        // A high surrogate escape with no low surrogate after it.
        let text = String::from_utf8_lossy(&raw);
        let at = text.find("\\ud83d").expect("a lone surrogate escape");
        assert!(!text[at + 6..].starts_with("\\ud"), "{}", &text[at..]);
        // Strict JSON parsers refuse it; the rest of the text is intact.
        assert!(serde_json::from_slice::<Value>(&raw).is_err());
        assert!(text.contains("🦀") && text.contains("rtl\u{202e}olleh"));
        // Plain text is plain JSON.
        let plain = body_bytes(json_response(
            StatusCode::OK,
            &json!({"t": generate_text("p", 1, None, false)}),
        ))
        .await;
        assert!(serde_json::from_slice::<Value>(&plain).is_ok());
    }
}
