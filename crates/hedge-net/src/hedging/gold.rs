//! Ground truth: the gold scorer of calibration requests, and labels from `POST /v1/hedge/feedback`.
//!
//! Every reward is checked against [`HedgingConfig::max_abs_reward`](super::HedgingConfig) before it is
//! stored: a label is a vote in the next tuning, and one absurd value (1e308) must not be able to swing it.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use hedge_store::StoreError;

use super::{GoldConfig, Hedging, now_ms};
use crate::reward::Prompt;

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

impl Hedging {
    /// Gold-score every candidate of a calibration request after its answer was sent (spawned; counted).
    pub fn score_gold(self: &Arc<Self>, id: String, prompt: Prompt, texts: Vec<String>) {
        let (Some(g), Some(slots)) = (self.cfg.gold.clone(), self.gold_slots.clone()) else {
            return;
        };
        if self.gold_pending.fetch_add(1, Ordering::Relaxed) >= g.queue as u64 {
            self.gold_pending.fetch_sub(1, Ordering::Relaxed);
            self.counters.gold_dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let me = Arc::clone(self);
        tokio::spawn(async move {
            let _slot = slots.acquire_owned().await;
            me.counters.gold_sent.fetch_add(1, Ordering::Relaxed);
            let scored = me.gold_with_retries(&g, &prompt, &texts).await;
            match scored.map(|r| (check_rewards(&r, me.cfg.max_abs_reward), r)) {
                Some((Ok(()), rewards)) => {
                    // The record may still be in the writer's queue.
                    me.flush(Duration::from_secs(5)).await;
                    let stored = me.store.run(move |s| s.add_gold(&id, &rewards, now_ms())).await;
                    match stored {
                        Ok(()) => {}
                        // The record went with a store file that was removed (hedge_store_replaced_total).
                        Err(StoreError::UnknownRequest(id)) => {
                            me.counters.gold_orphaned.fetch_add(1, Ordering::Relaxed);
                            tracing::warn!(request = %id, "gold rewards for a request the store no longer holds");
                        }
                        Err(e) => {
                            me.counters.gold_failed.fetch_add(1, Ordering::Relaxed);
                            tracing::warn!(error = %e, "gold rewards could not be stored");
                        }
                    }
                }
                Some((Err(e), _)) => {
                    me.counters.gold_rejected.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(request = %id, error = %e, "the gold scorer's rewards were refused");
                }
                None => {
                    me.counters.gold_failed.fetch_add(1, Ordering::Relaxed);
                }
            }
            me.gold_pending.fetch_sub(1, Ordering::Relaxed);
        });
    }

    /// The gold scores of every text, retried with backoff for up to `retry_for`.
    async fn gold_with_retries(&self, g: &GoldConfig, prompt: &Prompt, texts: &[String]) -> Option<Vec<f64>> {
        let start = Instant::now();
        let mut wait = Duration::from_millis(500);
        loop {
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            let scores: Result<Vec<f64>, _> = g.client.score(prompt, &refs).await.into_iter().collect();
            match scores {
                Ok(s) => return Some(s),
                Err(e) if start.elapsed() + wait < g.retry_for => {
                    self.counters.gold_retries.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(error = %e, ?wait, "gold scoring failed; retrying");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(15));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "gold scoring failed; giving up");
                    return None;
                }
            }
        }
    }

    /// Store gold rewards from `POST /v1/hedge/feedback`, each checked against the bound first (nothing
    /// is stored on error).
    pub(crate) async fn feedback(&self, id: String, rewards: Vec<f64>) -> Result<usize, FeedbackError> {
        check_rewards(&rewards, self.cfg.max_abs_reward).map_err(FeedbackError::OutOfBounds)?;
        self.flush(Duration::from_secs(5)).await;
        let n = rewards.len();
        self.store
            .run(move |s| s.add_gold(&id, &rewards, now_ms()))
            .await
            .map_err(FeedbackError::Store)?;
        self.counters.feedback.fetch_add(1, Ordering::Relaxed);
        Ok(n)
    }
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
