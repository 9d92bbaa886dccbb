//! What `collect` and `serve` share: reward-API names, HTTP client settings from flags, logging.

use clap::ValueEnum;
use hedge_client::{ClientConfig, LogprobProxy, RetryPolicy, RewardApi, RewardClient, RewardConfig, Scorer, Secret};

use super::values;
use crate::error::{CliError, Result};

/// A reward-server API on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RewardApiArg {
    /// vLLM pooling API: POST /pooling (raw scores, "use_activation": false).
    VllmPooling,
    /// vLLM classification API: POST /classify (single-class reward models).
    VllmClassify,
    /// SGLang native POST /classify ({"text": [...]}, reward in "embedding").
    Sglang,
    /// Hugging Face text-embeddings-inference: POST /predict ("raw_scores": true).
    Tei,
    /// OpenRLHF serve_rm: POST /get_reward ({"query": [...]} → {"rewards": [...]}).
    Openrlhf,
}

impl From<RewardApiArg> for RewardApi {
    fn from(a: RewardApiArg) -> Self {
        match a {
            RewardApiArg::VllmPooling => RewardApi::VllmPooling,
            RewardApiArg::VllmClassify => RewardApi::VllmClassify,
            RewardApiArg::Sglang => RewardApi::Sglang,
            RewardApiArg::Tei => RewardApi::Tei,
            RewardApiArg::Openrlhf => RewardApi::Openrlhf,
        }
    }
}

/// A built-in proxy computed from the generation server's token log-probabilities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProxyArg {
    /// Mean log-probability of the answer's tokens.
    LogprobMean,
    /// Sum of the log-probabilities of the answer's tokens.
    LogprobSum,
    /// Mean over tokens of KL(uniform ‖ the token's top-k distribution, renormalised) (Kang et al. 2025).
    SelfCertainty,
}

impl From<ProxyArg> for LogprobProxy {
    fn from(p: ProxyArg) -> Self {
        match p {
            ProxyArg::LogprobMean => LogprobProxy::Mean,
            ProxyArg::LogprobSum => LogprobProxy::Sum,
            ProxyArg::SelfCertainty => LogprobProxy::SelfCertainty,
        }
    }
}

/// The proxy: reward servers (`--reward URL --reward-api API [--reward-model NAME]`, matched by position
/// when repeated) and/or built-in log-probability proxies (`--proxy NAME [--top-logprobs K]`).
#[derive(Debug, Clone, clap::Args)]
pub struct RewardFlags {
    /// Root URL of a proxy reward-model server (its API path is appended). Not needed with --proxy.
    /// `hedge serve --ensemble` takes several (each with its own --reward-api, matched by position).
    #[arg(long, required_unless_present = "proxy", requires = "reward_api", value_name = "URL")]
    pub reward: Vec<String>,
    /// API of the proxy reward server (one per --reward, in the same order).
    #[arg(long, value_enum, requires = "reward")]
    pub reward_api: Vec<RewardApiArg>,
    /// "model" field sent to the proxy reward server (vLLM, SGLang), if it needs one (one per --reward when
    /// there are several).
    #[arg(long, requires = "reward")]
    pub reward_model: Vec<String>,
    /// A built-in proxy from the generation server's own token log-probabilities, instead of a reward
    /// server: logprob-mean, logprob-sum or self-certainty (the server is asked for "logprobs").
    #[arg(long, value_enum, value_name = "NAME")]
    pub proxy: Vec<ProxyArg>,
    /// Top log-probabilities asked per generated token (self-certainty's k; at least 2 for it).
    #[arg(long, default_value_t = hedge_client::logprob::DEFAULT_TOP_LOGPROBS, value_parser = values::count_u32(1..=hedge_client::score::MAX_TOP_LOGPROBS as u64), value_name = "K")]
    pub top_logprobs: u32,
}

/// The HTTP settings of the `--timeout`, `--max-attempts` and `--max-in-flight` flags (their
/// defaults differ between `collect` and `serve`, so each command declares them itself).
#[derive(Debug, Clone, Copy)]
pub struct HttpFlags {
    /// Timeout of one attempt, in seconds.
    pub timeout: f64,
    /// Attempts per request.
    pub max_attempts: u32,
    /// Requests in flight to each server.
    pub max_in_flight: usize,
    /// Largest answer read from a server, in bytes.
    pub max_response_bytes: usize,
}

impl HttpFlags {
    /// The client settings for the server at `url`, its bearer token read from `key_env`.
    pub fn client(&self, url: &str, key_env: &str) -> ClientConfig {
        ClientConfig {
            base_url: url.to_string(),
            api_key: Secret::from_env(key_env),
            timeout: values::duration(self.timeout),
            max_in_flight: self.max_in_flight,
            retry: RetryPolicy {
                max_attempts: self.max_attempts,
                ..RetryPolicy::default()
            },
            max_response_bytes: self.max_response_bytes,
        }
    }

    /// The proxies of `flags`, in order: the reward servers (their key from `HEDGE_REWARD_API_KEY`), then
    /// each `--proxy`. `--reward-api` (and `--reward-model`, if given) must come once per `--reward`.
    pub fn proxies(&self, flags: &RewardFlags, batch_size: usize) -> Result<Vec<Scorer>> {
        let k = flags.reward.len();
        if flags.reward_api.len() != k || !(flags.reward_model.is_empty() || flags.reward_model.len() == k) {
            return Err(CliError::Usage(format!(
                "give one --reward-api{} per --reward, in the same order ({k} --reward, {} --reward-api, {} --reward-model)",
                if flags.reward_model.is_empty() {
                    ""
                } else {
                    " and one --reward-model"
                },
                flags.reward_api.len(),
                flags.reward_model.len()
            )));
        }
        let mut out = Vec::new();
        for (i, (url, api)) in flags.reward.iter().zip(&flags.reward_api).enumerate() {
            let key = hedge_client::http::REWARD_KEY_ENV;
            let model = flags.reward_model.get(i).cloned();
            out.push(Scorer::Reward(self.reward(url, key, *api, model, batch_size)?));
        }
        for p in &flags.proxy {
            out.push(Scorer::logprob((*p).into(), flags.top_logprobs)?);
        }
        Ok(out)
    }

    /// A client of the reward server at `url`.
    pub fn reward(
        &self,
        url: &str,
        key_env: &str,
        api: RewardApiArg,
        model: Option<String>,
        batch_size: usize,
    ) -> Result<RewardClient> {
        let cfg = RewardConfig {
            client: self.client(url, key_env),
            api: api.into(),
            model,
            batch_size,
        };
        Ok(RewardClient::new(&cfg)?)
    }
}

/// Logs to stderr; the level comes from `HEDGE_LOG` (e.g. `info`, `hedge_serve=debug`), else `default`.
pub fn init_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("HEDGE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
