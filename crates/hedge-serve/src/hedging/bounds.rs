//! The bound on a gold reward (`--max-abs-reward`) and why feedback is refused (a leaf).
//!
//! A label is a vote in the next tuning: one absurd value (1e308) must not be able to swing it, so every
//! reward is checked against the bound before it is stored.

use hedge_store::StoreError;

/// A reward that cannot be stored: not finite, or beyond the bound.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("reward {index} is {}, beyond the bound of ±{} (--max-abs-reward)", show(*.value), show(*.bound))]
pub struct RewardOutOfBounds {
    /// Which reward (0-based, in candidate order).
    pub index: usize,
    /// Its value.
    pub value: f64,
    /// The bound.
    pub bound: f64,
}

/// A number as people read it: plain when moderate, in scientific notation when huge or tiny.
fn show(x: f64) -> String {
    if x != 0.0 && x.is_finite() && !(1e-4..1e7).contains(&x.abs()) {
        format!("{x:e}")
    } else {
        x.to_string()
    }
}

/// The first reward of `rewards` that is not finite or whose absolute value exceeds `bound`.
pub fn check_rewards(rewards: &[f64], bound: f64) -> Result<(), RewardOutOfBounds> {
    match rewards.iter().position(|r| !(r.abs() <= bound)) {
        Some(index) => Err(RewardOutOfBounds {
            index,
            value: rewards[index],
            bound,
        }),
        None => Ok(()),
    }
}

/// Why feedback was refused.
#[derive(Debug)]
pub(crate) enum FeedbackError {
    /// A reward out of bounds (HTTP 422).
    OutOfBounds(RewardOutOfBounds),
    /// The store refused it or failed.
    Store(StoreError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewards_are_bounded() {
        assert!(check_rewards(&[0.0, -1e6, 1e6], 1e6).is_ok());
        let e = check_rewards(&[0.0, 1e308, 1.0], 1e6).unwrap_err();
        assert_eq!((e.index, e.value), (1, 1e308));
        assert_eq!(
            e.to_string(),
            "reward 1 is 1e308, beyond the bound of ±1000000 (--max-abs-reward)"
        );
        assert_eq!(check_rewards(&[f64::NAN], 1e6).unwrap_err().index, 0);
        assert_eq!(check_rewards(&[1.0, f64::NEG_INFINITY], 1e6).unwrap_err().index, 1);
        assert_eq!(check_rewards(&[-1_000_000.5], 1e6).unwrap_err().index, 0);
    }
}
