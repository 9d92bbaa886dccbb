//! Ground truth: the gold scorer of calibration requests, and labels from `POST /v1/hedge/feedback`.
//!
//! Every reward is checked against `HedgingConfig::max_abs_reward` ([`super::bounds`]) before it is
//! stored: a label is a vote in the next tuning, and one absurd value (1e308) must not be able to swing it.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use hedge_store::StoreError;

use super::bounds::{FeedbackError, check_rewards};
use super::counters::now_ms;
use super::{GoldConfig, Hedging};
use hedge_client::reward::Prompt;

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
