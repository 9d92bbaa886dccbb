//! The inference-time methods, described by the distribution of the chosen
//! response's proxy quantile `u ∈ [0, 1]` (math.md §1–2).
//!
//! | method | parameter | `F_θ(u)` | samples drawn |
//! |---|---|---|---|
//! | [`Bon`]  | `n ≥ 1` | `u^n` | `n` |
//! | [`Bop`]  | `μ ≥ 0` | `u e^{μ(u−1)}` | `1 + μ` |
//! | [`Tilt`] | `λ ≥ 0` | `(e^{λu}−1)/(e^λ−1)` | `λ/(1−e^{−λ})` (rejection sampling) |
//! | [`Sbon`] | `n ≥ 1, β ≥ 0` | exponential-integral formula | `n` |
//!
//! Every constructor validates its parameter and returns [`Error::InvalidParameter`]
//! (NaN, infinite, out of domain), in the style of `rand_distr`.

mod bon;
mod bop;
mod common;
mod sbon;
mod tilt;

pub use bon::Bon;
pub use bop::Bop;
pub use common::{MethodKind, QuantileMethod};
pub use sbon::Sbon;
pub use tilt::Tilt;

use crate::error::{Error, Result};

/// A method with its parameter: the closed set of methods `hedge` implements.
#[derive(Debug, Clone)]
pub enum Method {
    /// Best-of-n.
    Bon(Bon),
    /// Best-of-Poisson.
    Bop(Bop),
    /// Exponential tilt.
    Tilt(Tilt),
    /// Soft Best-of-n.
    Sbon(Sbon),
}

impl Method {
    /// Build a method from its kind and parameter; `n` is required for SBoN only.
    ///
    /// ```
    /// use hedge_math::{Method, MethodKind, QuantileMethod};
    /// let m = Method::new(MethodKind::Bon, 8.0, None).unwrap();
    /// assert!((m.as_dyn().kl() - 1.2044415416798).abs() < 1e-12);
    /// assert!(Method::new(MethodKind::Bop, -1.0, None).is_err());
    /// ```
    pub fn new(kind: MethodKind, theta: f64, n: Option<u64>) -> Result<Self> {
        Ok(match kind {
            MethodKind::Bon => Method::Bon(Bon::new(theta)?),
            MethodKind::Bop => Method::Bop(Bop::new(theta)?),
            MethodKind::Tilt => Method::Tilt(Tilt::new(theta)?),
            MethodKind::Sbon => {
                let n = n.ok_or(Error::InvalidParameter {
                    method: "sbon",
                    name: "n",
                    value: f64::NAN,
                    reason: "SBoN needs the number of candidates n",
                })?;
                Method::Sbon(Sbon::new(n, theta)?)
            }
        })
    }

    /// The method as a trait object.
    pub fn as_dyn(&self) -> &dyn QuantileMethod {
        match self {
            Method::Bon(m) => m,
            Method::Bop(m) => m,
            Method::Tilt(m) => m,
            Method::Sbon(m) => m,
        }
    }
}
