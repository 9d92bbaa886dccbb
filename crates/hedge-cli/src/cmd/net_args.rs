//! What `collect` and `serve` share: reward-API names, HTTP client settings from flags, logging.

use clap::ValueEnum;
use hedge_net::{ClientConfig, RetryPolicy, RewardApi, RewardClient, RewardConfig, Secret};

use super::values;
use crate::error::Result;

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

/// The proxy reward server: `--reward URL --reward-api API [--reward-model NAME]`.
#[derive(Debug, Clone, clap::Args)]
pub struct RewardFlags {
    /// Root URL of the proxy reward-model server (its API path is appended).
    #[arg(long)]
    pub reward: String,
    /// API of the proxy reward server.
    #[arg(long, value_enum)]
    pub reward_api: RewardApiArg,
    /// "model" field sent to the proxy reward server (vLLM, SGLang), if it needs one.
    #[arg(long)]
    pub reward_model: Option<String>,
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

    /// A client of the proxy reward server of `flags`, its key from `HEDGE_REWARD_API_KEY`.
    pub fn proxy_reward(&self, flags: &RewardFlags, batch_size: usize) -> Result<RewardClient> {
        let key = hedge_net::http::REWARD_KEY_ENV;
        self.reward(
            &flags.reward,
            key,
            flags.reward_api,
            flags.reward_model.clone(),
            batch_size,
        )
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

/// Logs to stderr; the level comes from `HEDGE_LOG` (e.g. `info`, `hedge_net=debug`), else `default`.
pub fn init_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("HEDGE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
