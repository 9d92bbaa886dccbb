//! `hedge serve`: the tuned inference-time method as an OpenAI-compatible endpoint.
//!
//! - [`serve`]: a proxy that draws candidates from a generation server, scores them with a reward-model
//!   server — or by a proxy computed from the generation server's own token log-probabilities — and
//!   returns the one chosen by the tuned method (BoN, BoP or SBoN). The clients it uses are the crate
//!   `hedge-client`'s.
//! - [`hedging`]: continuous hedging: every served request logged to a calibration store, gold labels, and
//!   θ re-tuned on them with its own evidence bar.
//! - [`metrics`]: the Prometheus metrics of both.

#![warn(missing_docs)]

pub mod hedging;
pub mod metrics;
pub mod serve;

pub use hedging::{GoldConfig, HedgingConfig};
pub use serve::{Proxy, RunningProxy, ServeConfig};
