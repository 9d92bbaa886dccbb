//! The tuner: every `retune_every` newly labelled prompts (a *round*), HedgeTune on the most recent
//! `window` labelled prompts and the decision to adopt its θ† ([`hedge_estimate::adoption`]): θ† is
//! adopted only when its *own* paired gain over the θ in force is positive and clears the critical value
//! of the max-t test, which accounts for θ† having been chosen on the same window. Every round is
//! recorded, adopted, kept or failed, with exactly the numbers the decision used.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use hedge_estimate::{Prepared, TuneSpec};
use hedge_store::TuningRecord;
use serde_json::json;

use super::Hedging;
use super::counters::now_ms;
use super::health::Part;
use hedge_client::method::MethodSpec;

/// The verdict recorded for a round that could not be tuned.
pub(crate) const FAILED: &str = "failed";
/// The verdict of the record that carries the θ in force into a re-created store.
pub(crate) const CARRIED_OVER: &str = "carried_over";
/// The round of that record (tuning rounds start at 1).
pub(crate) const CARRY_OVER_ROUND: i64 = 0;

impl Hedging {
    /// The tuner loop (see the module documentation); runs until the process ends. Every `poll` it
    /// probes the store, adopts θ tuned by another replica, and runs a round when one is due.
    pub async fn run_tuner(self: Arc<Self>) {
        let mut last_round = -1i64;
        // Whether the last poll found the store replaced: its notice in /health lasts one more poll.
        let mut replaced_last_poll = false;
        loop {
            self.store.probe(&self.health).await;
            if self.counters.store_replaced_flag.swap(false, Ordering::Relaxed) {
                // A new file: its labels count from 0 again, its rounds from 1.
                self.carry_over().await;
                last_round = -1;
                replaced_last_poll = true;
            } else if replaced_last_poll {
                self.health.clear(Part::Replaced);
                replaced_last_poll = false;
            }
            self.adopt_latest().await;
            match self.store.run(|s| s.labelled_count()).await {
                Ok(count) => {
                    let round = (count / self.cfg.retune_every.max(1)) as i64;
                    if round >= 1 && round > last_round {
                        self.tune_round(round).await;
                        last_round = round;
                    }
                }
                Err(e) => tracing::debug!(error = %e, "tuner: store unreachable"),
            }
            tokio::time::sleep(self.cfg.poll).await;
        }
    }

    /// After the store was re-created (its file removed or replaced), record the θ in force in it as round
    /// [`CARRY_OVER_ROUND`], so that a restart resumes it rather than the flags' θ. Only a θ that came from
    /// the store (an adopted tuning) is carried over; nothing is recorded when a round 0 is already there.
    async fn carry_over(&self) {
        let current = self.current();
        if current.source != "store" {
            return;
        }
        let spec = current.spec;
        let record = TuningRecord {
            round: CARRY_OVER_ROUND,
            at_ms: current.since_ms,
            replica: self.cfg.replica.clone(),
            method: spec.kind.name().into(),
            theta_before: spec.theta,
            theta_tuned: spec.theta,
            n: spec.n,
            window_prompts: 0,
            window_end_ms: 0,
            verdict: CARRIED_OVER.into(),
            evidence: json!({"carried_over": true}),
            adopted: true,
            reason: format!(
                "θ = {} was in force when the store was re-created (its file was removed or replaced); carried over",
                spec.theta
            ),
        };
        match self.store.run(move |s| s.record_tuning(&record)).await {
            Ok(true) => tracing::warn!(theta = spec.theta, "θ in force carried over into the re-created store"),
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "θ in force could not be carried over into the re-created store"),
        }
    }

    /// Adopt the newest accepted θ of the store (another replica's tuning) when it differs.
    async fn adopt_latest(&self) {
        let Ok(Some(t)) = self.store.run(|s| s.latest_adopted()).await else {
            return;
        };
        let current = self.current();
        if (t.theta_tuned, t.n) != (current.spec.theta, current.spec.n) && current.since_ms <= t.at_ms {
            if let Some(spec) = self.spec_of(&t) {
                tracing::info!(theta = t.theta_tuned, round = t.round, replica = %t.replica, "adopting θ tuned by the store's latest round");
                self.swap(spec, "store");
            }
        }
    }

    /// One round: lock, check it is not done, tune on the window, record, adopt, unlock.
    async fn tune_round(&self, round: i64) {
        let locked = self.store.run(|s| s.try_lock_tuner()).await.unwrap_or(false);
        if !locked {
            return;
        }
        let window = self.cfg.window;
        let done = self
            .store
            .run(move |s| Ok(s.tunings()?.iter().any(|t| t.round >= round)))
            .await
            .unwrap_or(true);
        let labelled = if done {
            None
        } else {
            self.store.run(move |s| s.labelled(None, Some(window))).await.ok()
        };
        if let Some(prompts) = labelled.filter(|p| !p.is_empty()) {
            let current = self.current();
            let cfg = (self.cfg.replica.clone(), self.cfg.confidence);
            let spec = current.spec;
            let record = tokio::task::spawn_blocking(move || tune_window(round, &prompts, &spec, cfg))
                .await
                .unwrap_or_else(|e| failed_round(round, &current.spec, &self.cfg.replica, 0, format!("{e}")));
            self.record(record).await;
        }
        let _ = self.store.run(|s| s.unlock_tuner()).await;
    }

    async fn record(&self, record: TuningRecord) {
        let rec = record.clone();
        if !self.store.run(move |s| s.record_tuning(&rec)).await.unwrap_or(false) {
            return;
        }
        self.counters.tunings.fetch_add(1, Ordering::Relaxed);
        if record.verdict == FAILED {
            self.counters.tuning_failures.fetch_add(1, Ordering::Relaxed);
            self.health
                .set(Part::Tuner, format!("round {} failed: {}", record.round, record.reason));
            tracing::warn!(round = record.round, reason = %record.reason, "tuning failed; θ kept");
            return;
        }
        self.health.clear(Part::Tuner);
        let mut last = self.last_verdict.lock().unwrap_or_else(|e| e.into_inner());
        if last.as_deref().is_some_and(|v| v != record.verdict) {
            self.counters.verdict_changes.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(from = last.as_deref().unwrap_or(""), to = %record.verdict, round = record.round, "the verdict changed");
        }
        *last = Some(record.verdict.clone());
        drop(last);
        if record.adopted {
            if let Some(spec) = self.spec_of(&record) {
                self.counters.adoptions.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(from = record.theta_before, to = record.theta_tuned, round = record.round, reason = %record.reason, "θ adopted");
                self.swap(spec, "store");
            }
        } else {
            tracing::info!(theta = record.theta_before, tuned = record.theta_tuned, round = record.round, reason = %record.reason, "θ kept");
        }
    }
}

/// The record of a round that could not be tuned: θ kept, the reason recorded.
fn failed_round(round: i64, current: &MethodSpec, replica: &str, window: usize, reason: String) -> TuningRecord {
    TuningRecord {
        round,
        at_ms: now_ms(),
        replica: replica.to_string(),
        method: current.kind.name().into(),
        theta_before: current.theta,
        theta_tuned: current.theta,
        n: current.n,
        window_prompts: window,
        window_end_ms: 0,
        verdict: FAILED.into(),
        evidence: json!({"error": reason}),
        adopted: false,
        reason,
    }
}

/// HedgeTune on the window for the method in force, and the decision to adopt its θ† (a failed round when
/// the window cannot be tuned, e.g. an objective that is not finite).
pub(crate) fn tune_window(
    round: i64,
    prompts: &[hedge_store::Labelled],
    current: &MethodSpec,
    (replica, confidence): (String, f64),
) -> TuningRecord {
    let mut offsets = vec![0];
    let (mut proxy, mut gold) = (Vec::new(), Vec::new());
    for p in prompts {
        proxy.extend_from_slice(&p.proxy);
        gold.extend_from_slice(&p.gold);
        offsets.push(proxy.len());
    }
    let window_end_ms = prompts.last().map_or(0, |p| p.labelled_at_ms);
    let fail = |reason: String| {
        let mut r = failed_round(round, current, &replica, prompts.len(), reason);
        r.window_end_ms = window_end_ms;
        r
    };
    let data = match Prepared::new(&offsets, &proxy, &gold) {
        Ok(d) => d,
        Err(e) => return fail(e.to_string()),
    };
    let mut spec = TuneSpec::new(current.kind).confidence(confidence).seed(round as u64);
    if let Some(n) = current.n {
        spec = spec.n(n);
    }
    let a = match hedge_estimate::adoption(&data, &spec, current.theta, current.n) {
        Ok(a) if a.failed() => return fail(a.to_string()),
        Ok(a) => a,
        Err(e) => return fail(e.to_string()),
    };
    TuningRecord {
        round,
        at_ms: now_ms(),
        replica,
        method: current.kind.name().into(),
        theta_before: current.theta,
        theta_tuned: a.theta,
        n: a.n,
        window_prompts: data.prompts(),
        window_end_ms,
        verdict: a.verdict.map_or("inconclusive", |v| v.name()).into(),
        evidence: json!({
            "evidence": a.outcome.as_ref().map(|o| o.evidence),
            "versus_current": a.versus,
            "adoption": a,
            "expected_true_reward": a.expected_true_reward,
        }),
        adopted: a.adopted,
        reason: a.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hedge_math::MethodKind;

    /// The window of a synthetic population, as the store would return it.
    fn window(prompts: usize, responses: usize, seed: u64) -> Vec<hedge_store::Labelled> {
        let s = hedge_estimate::synth::toy(prompts, responses, seed).unwrap();
        (0..prompts)
            .map(|t| {
                let rows = s.offsets[t]..s.offsets[t + 1];
                hedge_store::Labelled {
                    id: format!("p{t}"),
                    labelled_at_ms: t as i64,
                    proxy: s.proxy[rows.clone()].to_vec(),
                    gold: s.truth[rows.clone()].to_vec(),
                    index: (0..rows.len()).collect(),
                }
            })
            .collect()
    }

    fn bon(theta: f64) -> MethodSpec {
        MethodSpec::new(MethodKind::Bon, theta, None).unwrap()
    }

    #[test]
    fn adopted_rounds_carry_their_own_significant_gain() {
        let w = window(200, 16, 7);
        // Far below the toy's peak (n ≈ 13): the tuned θ clears the bar on its own and is adopted.
        let r = tune_window(1, &w, &bon(1.0), ("a".into(), 0.95));
        assert!(r.adopted, "{}", r.reason);
        let a = &r.evidence["adoption"];
        let (d, z, c) = (
            a["difference"].as_f64().unwrap(),
            a["z"].as_f64().unwrap(),
            a["critical"].as_f64().unwrap(),
        );
        assert!(d > 0.0 && z > c, "{a}");
        // The reason quotes exactly the numbers of the decision.
        assert!(
            r.reason.contains(&format!("{z:.2}")) && r.reason.contains(&format!("{c:.2}")),
            "{}",
            r.reason
        );
    }

    #[test]
    fn one_label_at_the_bound_does_not_move_theta() {
        let clean = window(200, 16, 11);
        let tuned = tune_window(1, &clean, &bon(1.0), ("a".into(), 0.95)).theta_tuned;
        let before = tune_window(2, &clean, &bon(tuned), ("a".into(), 0.95));
        assert!(!before.adopted, "{}", before.reason);
        // One prompt whose labels are the largest allowed values, highest proxy worst: it pulls
        // towards n = 1 as hard as one label can.
        let poisons: [fn(usize, usize) -> f64; 2] = [|_, _| 1e6, |rank, m| if rank + 1 == m { -1e6 } else { 1e6 }];
        for poison in poisons {
            let mut w = clean.clone();
            let p = &mut w[0];
            let mut order: Vec<usize> = (0..p.proxy.len()).collect();
            order.sort_by(|&a, &b| p.proxy[a].total_cmp(&p.proxy[b]));
            let m = order.len();
            for (rank, &i) in order.iter().enumerate() {
                p.gold[i] = poison(rank, m);
            }
            let r = tune_window(3, &w, &bon(tuned), ("a".into(), 0.95));
            assert!(
                !r.adopted,
                "one label moved θ {tuned} → {}: {}",
                r.theta_tuned, r.reason
            );
            assert_ne!(r.verdict, FAILED, "{}", r.reason);
        }
    }

    #[test]
    fn a_window_that_cannot_be_tuned_is_a_failed_round() {
        // One prompt with one response: nothing to tune on.
        let w = vec![hedge_store::Labelled {
            id: "p".into(),
            labelled_at_ms: 5,
            proxy: vec![0.5],
            gold: vec![0.1],
            index: vec![0],
        }];
        let r = tune_window(4, &w, &bon(8.0), ("a".into(), 0.95));
        assert_eq!(r.verdict, FAILED);
        assert!(!r.adopted && r.theta_tuned == 8.0 && r.window_end_ms == 5, "{r:?}");
        assert!(!r.reason.is_empty());
    }
}
