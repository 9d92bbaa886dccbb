//! What continuous hedging shows: the JSON of `GET /v1/hedge/state` and its Prometheus metrics.
//! Neither carries a secret: the store's URL is shown through [`hedge_store::redact`].

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Value, json};

use super::Hedging;
use super::tuner::FAILED;
use crate::metrics::family;

impl Hedging {
    /// The state shown by `GET /v1/hedge/state`.
    pub async fn state(&self) -> Value {
        let current = self.current();
        let window = self.cfg.window;
        let from_store = self.store.run(move |s| Ok((s.counts()?, s.tunings()?))).await;
        let (counts, tunings) = match from_store {
            Ok((c, t)) => (Some(c), t),
            Err(_) => (None, Vec::new()),
        };
        let last = tunings.last();
        let history: Vec<Value> = tunings
            .iter()
            .map(|t| {
                json!({"round": t.round, "at_ms": t.at_ms, "theta": t.theta_tuned, "theta_before": t.theta_before,
                "adopted": t.adopted, "verdict": t.verdict, "replica": t.replica})
            })
            .collect();
        let c = &self.counters;
        let problems = self.health.problems();
        let replaced = c.store_replaced.load(Ordering::Relaxed);
        json!({
            "method": current.spec.kind.name(),
            "theta": current.spec.theta,
            "n": current.spec.n,
            "since_ms": current.since_ms,
            "source": current.source,
            "verdict": last.map(|t| t.verdict.clone()),
            "evidence": last.map(|t| t.evidence.clone()),
            "labelled_prompts": counts.map(|c| c.labelled),
            "labelled_in_window": counts.map(|c| c.labelled.min(window as u64)),
            "window": window,
            "retune_every": self.cfg.retune_every,
            "max_abs_reward": self.cfg.max_abs_reward,
            "last_tuning": last,
            "history": history,
            "tuning_failures": c.tuning_failures.load(Ordering::Relaxed),
            "last_failure": tunings.iter().rev().find(|t| t.verdict == FAILED)
                .map(|t| json!({"round": t.round, "at_ms": t.at_ms, "reason": t.reason})),
            "problems": problems,
            "store": {
                "url": hedge_store::redact(&self.cfg.store_url),
                "degraded": self.health.store_degraded(),
                "queue_depth": c.store_queue_depth.load(Ordering::Relaxed),
                "committed": c.store_committed.load(Ordering::Relaxed),
                "dropped": c.store_dropped.load(Ordering::Relaxed),
                "replaced": replaced,
                "last_replaced_at_ms": (replaced > 0).then(|| c.store_replaced_at_ms.load(Ordering::Relaxed)),
                "requests": counts.map(|c| c.requests),
            },
            "gold": {
                "rate": self.cfg.gold.as_ref().map(|g| g.rate),
                "sent": c.gold_sent.load(Ordering::Relaxed),
                "failed": c.gold_failed.load(Ordering::Relaxed),
                "rejected": c.gold_rejected.load(Ordering::Relaxed),
                "orphaned": c.gold_orphaned.load(Ordering::Relaxed),
                "dropped": c.gold_dropped.load(Ordering::Relaxed),
            },
            "replica": self.cfg.replica,
        })
    }

    /// The metrics of continuous hedging, in Prometheus text format.
    pub fn render_metrics(&self) -> String {
        let c = &self.counters;
        let current = self.current();
        let mut s = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, value: String| {
            family(&mut s, name, kind, help, &[(String::new(), value)]);
        };
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed).to_string();
        metric(
            "hedge_theta",
            "gauge",
            "The θ in force.",
            current.spec.theta.to_string(),
        );
        metric(
            "hedge_tunings_total",
            "counter",
            "Tunings this replica ran and recorded (failed ones included).",
            get(&c.tunings),
        );
        metric(
            "hedge_tuning_failures_total",
            "counter",
            "Tuning rounds that failed (e.g. an objective that is not finite); θ was kept.",
            get(&c.tuning_failures),
        );
        metric(
            "hedge_adoptions_total",
            "counter",
            "Tunings that changed θ.",
            get(&c.adoptions),
        );
        metric(
            "hedge_verdict_changes_total",
            "counter",
            "Tunings whose verdict differed from the previous one.",
            get(&c.verdict_changes),
        );
        metric(
            "hedge_calibration_requests_total",
            "counter",
            "Requests drawn for gold scoring.",
            get(&c.calibration_requests),
        );
        metric(
            "hedge_gold_sent_total",
            "counter",
            "Gold-scoring jobs started.",
            get(&c.gold_sent),
        );
        metric(
            "hedge_gold_failed_total",
            "counter",
            "Gold-scoring jobs given up (or not stored).",
            get(&c.gold_failed),
        );
        metric(
            "hedge_gold_rejected_total",
            "counter",
            "Gold-scoring jobs whose rewards were refused: not finite or beyond --max-abs-reward.",
            get(&c.gold_rejected),
        );
        metric(
            "hedge_gold_orphaned_total",
            "counter",
            "Gold-scoring jobs whose request the store no longer holds (its file was removed or replaced).",
            get(&c.gold_orphaned),
        );
        metric(
            "hedge_gold_dropped_total",
            "counter",
            "Gold-scoring jobs dropped: too many pending.",
            get(&c.gold_dropped),
        );
        metric(
            "hedge_gold_retries_total",
            "counter",
            "Gold-scoring attempts retried.",
            get(&c.gold_retries),
        );
        metric(
            "hedge_feedback_total",
            "counter",
            "Feedback labels stored.",
            get(&c.feedback),
        );
        metric(
            "hedge_store_queue_depth",
            "gauge",
            "Request records waiting for the store writer.",
            c.store_queue_depth.load(Ordering::Relaxed).to_string(),
        );
        metric(
            "hedge_store_committed_total",
            "counter",
            "Request records committed to the store.",
            get(&c.store_committed),
        );
        metric(
            "hedge_store_dropped_total",
            "counter",
            "Request records dropped (queue full, or the store failed).",
            get(&c.store_dropped),
        );
        metric(
            "hedge_store_errors_total",
            "counter",
            "Failed store writes (each batch is retried).",
            get(&c.store_errors),
        );
        metric(
            "hedge_store_replaced_total",
            "counter",
            "Times the store's SQLite file was found removed or replaced under the server (then re-created).",
            get(&c.store_replaced),
        );
        metric(
            "hedge_store_degraded",
            "gauge",
            "1 while the store is unreachable or the writer is failing.",
            u8::from(self.health.store_degraded()).to_string(),
        );
        s
    }
}
