//! Value parsers of numeric flags: every number a user can type is checked while the command line is
//! parsed, so that a bad one is a usage error (exit code 2) with a message naming the flag, never a
//! panic deep in the work (`Duration::from_secs_f64(1e20)`, a semaphore of 2^60 permits, a grid of 10^8
//! points).

use std::ops::RangeInclusive;
use std::time::Duration;

use clap::builder::RangedU64ValueParser;
use hedge_math::MethodKind;

use crate::error::{CliError, Result as CliResult};

/// Longest duration any `--*timeout` flag accepts: one week.
pub const MAX_SECONDS: f64 = 7.0 * 24.0 * 3600.0;
/// Largest count of things held at once (connections, requests in flight, concurrency).
pub const MAX_PARALLEL: u64 = 1 << 20;
/// Most points of a curve (`hedge curve --grid LO:HI:K`).
pub const MAX_GRID_POINTS: usize = 100_000;
/// Most bootstrap resamples.
pub const MAX_RESAMPLES: u64 = 1_000_000;
/// Most candidates of one request or prompt.
pub const MAX_CANDIDATES: u64 = 1_000_000;
/// Largest body or answer size in bytes: 1 GiB.
pub const MAX_BYTES: u64 = 1 << 30;
/// Most prompts of a synthetic set.
pub const MAX_PROMPTS: u64 = 100_000_000;
/// Most responses per prompt of a synthetic set.
pub const MAX_RESPONSES: u64 = 1_000_000;

fn number(s: &str) -> Result<f64, String> {
    s.trim().parse::<f64>().map_err(|_| format!("{s:?} is not a number"))
}

/// A positive number of seconds, at most a week.
pub fn seconds(s: &str) -> Result<f64, String> {
    let x = number(s)?;
    if x.is_finite() && x > 0.0 && x <= MAX_SECONDS {
        Ok(x)
    } else {
        Err(format!(
            "must be a positive number of seconds, at most {MAX_SECONDS} (a week)"
        ))
    }
}

/// Seconds checked by [`seconds`] as a [`Duration`].
pub fn duration(secs: f64) -> Duration {
    // `seconds` bounds the value, so the conversion cannot fail; a week is the fallback all the same.
    Duration::try_from_secs_f64(secs).unwrap_or(Duration::from_secs(MAX_SECONDS as u64))
}

/// A fraction strictly between 0 and 1 (`--holdout`): [`hedge_estimate::check_holdout`].
pub fn fraction(s: &str) -> Result<f64, String> {
    hedge_estimate::check_holdout(number(s)?).map_err(|_| format!("must be {}", hedge_estimate::HOLDOUT_DOMAIN))
}

/// A confidence level (`--confidence`): [`hedge_estimate::check_confidence`].
pub fn level(s: &str) -> Result<f64, String> {
    hedge_estimate::check_confidence(number(s)?).map_err(|_| format!("must be {}", hedge_estimate::CONFIDENCE_DOMAIN))
}

/// Any finite number.
pub fn finite(s: &str) -> Result<f64, String> {
    let x = number(s)?;
    if x.is_finite() {
        Ok(x)
    } else {
        Err("must be a finite number".into())
    }
}

/// A finite number ≥ 0.
pub fn non_negative(s: &str) -> Result<f64, String> {
    let x = number(s)?;
    if x.is_finite() && x >= 0.0 {
        Ok(x)
    } else {
        Err("must be a finite number >= 0".into())
    }
}

/// A finite number ≥ 1 (an expected number of samples).
pub fn at_least_one(s: &str) -> Result<f64, String> {
    let x = number(s)?;
    if x.is_finite() && x >= 1.0 {
        Ok(x)
    } else {
        Err("must be a finite number >= 1".into())
    }
}

/// A finite number > 0.
pub fn positive(s: &str) -> Result<f64, String> {
    let x = number(s)?;
    if x.is_finite() && x > 0.0 {
        Ok(x)
    } else {
        Err("must be a finite number > 0".into())
    }
}

/// A number in [0, 1].
pub fn unit_interval(s: &str) -> Result<f64, String> {
    let x = number(s)?;
    if (0.0..=1.0).contains(&x) {
        Ok(x)
    } else {
        Err("must be in [0, 1]".into())
    }
}

/// A probability in (0, 1].
pub fn probability(s: &str) -> Result<f64, String> {
    let x = number(s)?;
    if x > 0.0 && x <= 1.0 {
        Ok(x)
    } else {
        Err("must be in (0, 1]".into())
    }
}

/// The parameter θ of `kind` as given by `flag` (`--theta`, `--versus`, `--grid`), checked against
/// the method's domain once the method is known (clap's parser sees one flag at a time): BoN's n a
/// finite number ≥ 1, BoP's μ, the tilt's λ and SBoN's β (on the scores' own scale) finite numbers ≥ 0.
/// Otherwise a usage error (exit code 2) naming the flag, before any data is read or server contacted.
/// `hedge curve`, `kl` and `select` call it, and so can `serve`.
///
/// Only the domain shared by every use is checked: BoN's n is an integer where candidates are drawn
/// (`select`, `serve`: their selector says so), and the unbiased estimator wants an integer n up to
/// the smallest prompt (the estimator says so).
pub fn theta_for(kind: MethodKind, flag: &str, theta: f64) -> CliResult<f64> {
    let min = if kind == MethodKind::Bon { 1.0 } else { 0.0 };
    if theta.is_finite() && theta >= min {
        return Ok(theta);
    }
    Err(CliError::Usage(format!(
        "{flag} {theta}: {}'s {} must be a finite number >= {min}",
        kind.name(),
        kind.parameter()
    )))
}

/// A `usize` in `range` (parse errors, negatives and out-of-range values are usage errors).
pub fn count(range: RangeInclusive<u64>) -> RangedU64ValueParser<usize> {
    RangedU64ValueParser::<usize>::new().range(range)
}

/// A `u64` in `range`.
pub fn count_u64(range: RangeInclusive<u64>) -> RangedU64ValueParser<u64> {
    RangedU64ValueParser::<u64>::new().range(range)
}

/// A `u32` in `range`.
pub fn count_u32(range: RangeInclusive<u64>) -> RangedU64ValueParser<u32> {
    RangedU64ValueParser::<u32>::new().range(range)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds() {
        for bad in ["0", "-1", "NaN", "inf", "1e20", "x"] {
            assert!(seconds(bad).is_err(), "{bad}");
        }
        assert_eq!(seconds("2.5"), Ok(2.5));
        assert_eq!(duration(2.5), Duration::from_millis(2500));
        assert!(fraction("1").is_err() && fraction("NaN").is_err() && fraction("0.3").is_ok());
        assert!(level("0.95").is_ok() && level("1").is_err() && level("0.4").is_err());
        assert!(finite("-1e300").is_ok() && finite("-inf").is_err());
        assert!(non_negative("-0.1").is_err() && probability("0").is_err() && probability("1").is_ok());
    }

    #[test]
    fn theta_domains() {
        let code = |k, t| theta_for(k, "--theta", t).map_err(|e| e.exit_code());
        assert_eq!(code(MethodKind::Bon, 1.0), Ok(1.0));
        assert_eq!(code(MethodKind::Bon, 0.0), Err(2));
        assert_eq!(code(MethodKind::Bop, 0.0), Ok(0.0));
        assert_eq!(code(MethodKind::Sbon, 1e300), Ok(1e300));
        for bad in [-1.0, f64::NAN, f64::INFINITY, -0.5] {
            for kind in MethodKind::ALL {
                assert_eq!(code(kind, bad), Err(2), "{kind} {bad}");
            }
        }
        let msg = theta_for(MethodKind::Sbon, "--versus", -1.0).unwrap_err().to_string();
        assert_eq!(msg, "--versus -1: sbon's beta must be a finite number >= 0");
    }
}
