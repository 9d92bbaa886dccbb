//! Deployment of hedge's inference-time methods against real servers.
//!
//! - [`serve`]: an OpenAI-compatible proxy that draws candidates from a generation server, scores them with
//!   a reward-model server — or by a proxy computed from the generation server's own token
//!   log-probabilities ([`logprob`]) — and returns the one chosen by the tuned method (BoN, BoP or SBoN).
//! - [`collect`]: calibration data for tuning: `n` responses per prompt with their proxy and true rewards,
//!   appended resumably to a file that [`hedge_data::load`] reads.
//!
//! The clients ([`GenClient`], [`RewardClient`]) share one HTTP layer ([`http`]): server roots from the
//! configuration only, bearer keys from environment variables ([`Secret`], never printed), bounded
//! concurrency, per-attempt timeouts, and retries with exponential backoff and jitter on 429, 5xx and
//! connection errors. Every failure is a [`NetError`].

#![warn(missing_docs)]

pub mod collect;
mod error;
pub mod generate;
pub mod hedging;
pub mod http;
pub mod logprob;
pub mod method;
pub mod metrics;
pub mod prompts;
pub mod reward;
pub mod score;
pub mod serve;
pub mod verify;

pub use collect::{CollectOptions, CollectSummary, Progress, TrueReward, collect};
pub use error::{NetError, Result};
pub use generate::{ApiKind, Candidate, GenClient, Generation, Usage};
pub use hedging::{GoldConfig, HedgingConfig};
pub use http::{ClientConfig, RetryPolicy, Secret};
pub use logprob::LogprobProxy;
pub use method::MethodSpec;
pub use prompts::{PromptRecord, read_prompts};
pub use reward::{Prompt, RewardApi, RewardClient, RewardConfig};
pub use score::Scorer;
pub use serve::{Proxy, RunningProxy, ServeConfig};
pub use verify::Verifier;
