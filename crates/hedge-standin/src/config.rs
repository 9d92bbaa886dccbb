//! What a stand-in is told ([`StandinConfig`], [`Scorer`]) and what its routes share: the request counters
//! ([`Stats`]) and the current proxy noise.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use crate::logprobs::LogprobsFormat;
use crate::noise::{InvalidNoise, ProxyNoise};

/// Which reward function the reward routes compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scorer {
    /// The proxy reward: `4u − 2` for a hash `u ∈ [0, 1)` of the text.
    #[default]
    Proxy,
    /// The "true" reward: `u (1.3 − u)` plus a little noise: increasing in the proxy up to `u ≈ 0.65`,
    /// decreasing above (reward hacking).
    Gold,
    /// The latent quality `q ~ N(0, 1)` of the candidate ([`latent_quality`](crate::latent_quality)): the gold
    /// reward of the latent-quality model.
    Latent,
    /// The latent quality plus the current proxy noise ([`noisy_score`](crate::noisy_score)): the proxy reward of the
    /// latent-quality model.
    Noisy,
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
    /// The proxy noise of [`Scorer::Noisy`] at start (default `gaussian:0.7`); see
    /// [`Standin::set_proxy_noise`](crate::Standin::set_proxy_noise).
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
    /// Failure and drop draws made so far (the index of the next one).
    pub(crate) draws: AtomicU64,
    /// Choices generated without a seed so far (the next one's offset).
    pub(crate) unseeded: AtomicU64,
}

impl Stats {
    /// Reads a counter.
    pub fn get(c: &AtomicU64) -> u64 {
        c.load(Ordering::Relaxed)
    }
}

/// What the routes of one stand-in share.
pub(crate) struct Inner {
    pub(crate) cfg: StandinConfig,
    pub(crate) stats: Arc<Stats>,
    pub(crate) noise: SharedNoise,
}

/// The current proxy noise, shared by the routes and the [`Standin`](crate::Standin) handle.
pub(crate) type SharedNoise = Arc<RwLock<ProxyNoise>>;

pub(crate) fn read_noise(noise: &SharedNoise) -> ProxyNoise {
    *noise.read().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn write_noise(noise: &SharedNoise, new: ProxyNoise) -> Result<(), InvalidNoise> {
    let new = new.validate()?;
    *noise.write().unwrap_or_else(|e| e.into_inner()) = new;
    Ok(())
}
