//! # hedge-math
//!
//! The pure mathematics of hacking-aware inference-time alignment (Khalaf et al.,
//! "Inference-Time Reward Hacking in Large Language Models", NeurIPS 2025).
//! No I/O, no async: everything here is a function of its arguments (and, for
//! selection, of a caller-supplied RNG).
//!
//! - [`method`]: Best-of-n ([`Bon`]), Best-of-Poisson ([`Bop`]), the exponential tilt
//!   ([`Tilt`]) and Soft Best-of-n ([`Sbon`]) as distributions of the chosen proxy
//!   quantile: CDF, density, score, `∂θ CDF`, KL, mean quantile, expected samples.
//! - [`population`]: expected true reward `f(θ)` and `f'(θ)` for a curve `r(u)`.
//! - [`tune`]: HedgeTune's root finder, regimes and BoN's integer rule.
//! - [`grid`]: the parameter grids every scan, curve and resample shares.
//! - [`kl_match`]: the parameter of each method that reaches a given KL.
//! - [`select`]: choosing a candidate at inference time.
//! - [`special`], [`quad`]: exponential integrals and Gauss–Legendre panels.
//! - [`toy`]: the paper's analytic example.
//!
//! ```
//! use hedge_math::{Bop, QuantileMethod, population, toy};
//! let m = Bop::new(12.39983582227).unwrap();
//! let f = population::expected_reward(&m, &toy::toy_reward);
//! assert!((f - 0.6669311545806).abs() < 1e-12);
//! ```

#![warn(missing_docs)]

pub mod error;
pub mod grid;
pub mod kl_match;
pub mod method;
pub mod population;
pub mod quad;
pub mod select;
pub mod special;
pub mod toy;
pub mod tune;

pub use error::{Error, Result};
pub use method::{Bon, Bop, Method, MethodKind, QuantileMethod, Sbon, Tilt};
pub use tune::{Optimum, Regime, TuneOptions};
