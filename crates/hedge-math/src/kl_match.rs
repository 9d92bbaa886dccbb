//! Parameters of different methods that sit at the same KL from the reference:
//! the "exchange rate" between n, μ, λ and β.

use crate::error::{Error, Result};
use crate::method::{Bon, Bop, QuantileMethod, Sbon, Tilt};
use crate::tune::{TuneOptions, brent};

/// Largest β searched when matching an SBoN KL (its KL tends to BoN(n)'s as β → ∞).
pub const SBON_MATCH_MAX_BETA: f64 = 1e4;

/// Solve `kl(θ) = target` for an increasing `kl` with `kl(lo) = 0`, growing the
/// bracket geometrically from `start` up to `max`.
fn invert<F: FnMut(f64) -> Result<f64>>(
    method: &'static str,
    target: f64,
    lo: f64,
    start: f64,
    max: f64,
    mut kl: F,
) -> Result<f64> {
    if !(target.is_finite() && target >= 0.0) {
        return Err(Error::InvalidParameter {
            method,
            name: "kl",
            value: target,
            reason: "must be a finite number >= 0",
        });
    }
    if target == 0.0 {
        return Ok(lo);
    }
    let (mut a, mut b) = (lo, start);
    let mut kb = kl(b)?;
    while kb < target {
        if b >= max {
            return Err(Error::KlOutOfReach {
                method,
                kl: target,
                sup: kb,
            });
        }
        a = b;
        b = (b * 4.0).min(max);
        kb = kl(b)?;
    }
    let ka = kl(a)?;
    let mut err = None;
    let mut g = |t: f64| match kl(t) {
        Ok(v) => target - v,
        Err(e) => {
            err = Some(e);
            f64::NAN
        }
    };
    let opts = TuneOptions::default().xtol_rel(1e-14);
    let root = brent(&mut g, a, b, target - ka, target - kb, &opts);
    if let Some(e) = err {
        return Err(e);
    }
    root
}

/// Continuous `n ≥ 1` with `KL(BoN n) = kl`.
///
/// ```
/// let n = hedge_math::kl_match::bon_n_for_kl(1.2044415416798).unwrap();
/// assert!((n - 8.0).abs() < 1e-9);
/// ```
pub fn bon_n_for_kl(kl: f64) -> Result<f64> {
    invert("bon", kl, 1.0, 2.0, 1e300, |n| Ok(Bon::new(n)?.kl()))
}

/// `μ ≥ 0` with `KL(BoP μ) = kl`.
pub fn bop_mu_for_kl(kl: f64) -> Result<f64> {
    invert("bop", kl, 0.0, 1.0, 1e300, |m| Ok(Bop::new(m)?.kl()))
}

/// `λ ≥ 0` with `KL(tilt λ) = kl`.
pub fn tilt_lambda_for_kl(kl: f64) -> Result<f64> {
    invert("tilt", kl, 0.0, 1.0, 1e300, |l| Ok(Tilt::new(l)?.kl()))
}

/// `β ∈ [0, 1e4]` with `KL(SBoN n, β) = kl`; [`Error::KlOutOfReach`] when even
/// `β = 1e4` does not get there (the supremum is BoN(n)'s KL).
pub fn sbon_beta_for_kl(n: u64, kl: f64) -> Result<f64> {
    invert("sbon", kl, 0.0, 4.0, SBON_MATCH_MAX_BETA, |b| Ok(Sbon::new(n, b)?.kl()))
}
