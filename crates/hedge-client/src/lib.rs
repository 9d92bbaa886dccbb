//! The clients of the servers hedge works with, and what is built from them alone.
//!
//! - [`generate`]: an OpenAI-compatible generation client (chat and legacy completions, `n` or the n = 1
//!   fallback); [`reward`]: the five reward-model APIs; [`logprob`]: proxies computed from the generation
//!   server's own token log-probabilities; [`score`]: a candidate's proxy from any of these or an ensemble;
//!   [`verify`]: verifiers of reference answers.
//! - [`collect`]: calibration data for tuning: `n` responses per prompt with their proxy and true rewards,
//!   appended resumably to a file that [`hedge_data::load`] reads.
//!
//! The proxy that serves the tuned method in front of these servers is the crate `hedge-serve`.
//!
//! The clients ([`GenClient`], [`RewardClient`]) share one HTTP layer ([`http`]): server roots from the
//! configuration only, bearer keys from environment variables ([`Secret`], never printed), bounded
//! concurrency, per-attempt timeouts, and retries with exponential backoff and jitter on 429, 5xx and
//! connection errors. Every failure is a [`NetError`].

#![warn(missing_docs)]

pub mod collect;
mod error;
pub mod generate;
pub mod http;
pub mod logprob;
pub mod method;
pub mod prompts;
pub mod reward;
pub mod score;
pub mod verify;

pub use collect::{CollectOptions, CollectSummary, Progress, TrueReward, collect};
pub use error::{NetError, Result};
pub use generate::{ApiKind, Candidate, GenClient, Generation, Usage};
pub use http::{ClientConfig, RetryPolicy, Secret};
pub use logprob::LogprobProxy;
pub use method::MethodSpec;
pub use prompts::{PromptRecord, read_prompts};
pub use reward::{Prompt, RewardApi, RewardClient, RewardConfig};
pub use score::Scorer;
pub use verify::Verifier;
