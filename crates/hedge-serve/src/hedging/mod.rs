//! Continuous hedging: `hedge serve` keeps θ right while traffic and reward models drift.
//!
//! Three parts, all off the request path:
//! - **the log** ([`store_io`]): every served request (id, time, model, method, θ, n, every candidate's
//!   proxy score, the chosen index, latency; texts with `store_text`) goes into a bounded queue; a writer
//!   thread commits them in batches. When the queue is full the record is dropped and counted: a request
//!   is never delayed or failed for the log's sake;
//! - **ground truth**: a sampled share (`gold rate`) of requests draws `calibration_n` candidates (the
//!   answer is still chosen among the first `n` the method draws on its own), and after the answer is
//!   sent every candidate is scored by the gold scorer, asynchronously, with bounded concurrency and
//!   retries within `gold_retry_for`; labels from elsewhere arrive by `POST /v1/hedge/feedback`;
//! - **the tuner** ([`tuner`]): every `retune_every` newly labelled prompts (a *round*), HedgeTune runs
//!   on the most recent `window` labelled prompts, and θ† is adopted only when its own paired gain over the
//!   θ in force is positive and clears the critical value of the max-t test at `confidence`
//!   ([`hedge_estimate::adoption`]), which accounts for θ† having been chosen on the same window — so noise
//!   does not move θ. Every tuning is recorded in the store, adopted, kept or failed, with why. θ is
//!   swapped atomically (a request reads it once).
//!   With PostgreSQL, one replica tunes per round (an advisory lock, and a round is recorded once) and every
//!   replica adopts the newest accepted θ within `poll`.
//!
//! Every reward — from the gold scorer or from feedback — is checked against `max_abs_reward` before it is
//! stored ([`gold`]), so no single label can swing a tuning.
//!
//! The store is reached from dedicated threads only (its PostgreSQL client runs a runtime of its own).
//! When it is unreachable, `serve` keeps answering with its last θ, `/health` says `degraded` with the
//! reason ([`health`]), and the metrics count the failures. An SQLite file removed or replaced under the
//! running server is noticed within one poll (and before every batch the writer commits), reported, and
//! re-created. `GET /v1/hedge/state` and the metrics are rendered by [`state`].

mod bounds;
mod counters;
mod gold;
mod health;
mod state;
mod store_io;
mod tuner;

pub(crate) use bounds::FeedbackError;
pub use bounds::{RewardOutOfBounds, check_rewards};
pub(crate) use counters::{Counters, now_ms};
pub(crate) use health::Health;
use store_io::{StoreThread, StoreWriter, WriterMsg};

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::TrySendError;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use hedge_math::MethodKind;
use hedge_store::{RequestRecord, TuningRecord};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::sync::{Semaphore, oneshot};

use hedge_client::method::MethodSpec;
use hedge_client::reward::RewardClient;

/// The gold scorer: a reward server whose score is the true reward.
#[derive(Debug, Clone)]
pub struct GoldConfig {
    /// Its client.
    pub client: RewardClient,
    /// Share of requests whose candidates are all gold-scored (0 to 1).
    pub rate: f64,
    /// Candidates a calibration request draws.
    pub calibration_n: usize,
    /// Gold-scoring jobs running at once.
    pub concurrency: usize,
    /// Gold-scoring jobs waiting or running at most (more are dropped and counted).
    pub queue: usize,
    /// How long a failing job is retried before it is given up (and counted).
    pub retry_for: Duration,
}

/// Settings of continuous hedging (`Debug` shows the store URL redacted).
#[derive(Clone)]
pub struct HedgingConfig {
    /// The store's URL (`sqlite:PATH` or `postgres://…`).
    pub store_url: String,
    /// This replica's name (recorded with its requests and tunings).
    pub replica: String,
    /// Keep the candidates' texts in the store.
    pub store_text: bool,
    /// Records waiting for the writer at most (more are dropped and counted).
    pub queue: usize,
    /// The gold scorer, if any.
    pub gold: Option<GoldConfig>,
    /// Re-tune every this many newly labelled prompts.
    pub retune_every: u64,
    /// Tune on the most recent this many labelled prompts.
    pub window: usize,
    /// Confidence level of the adoption test.
    pub confidence: f64,
    /// How often the tuner looks at the store (new labels, θ adopted by other replicas) and probes it.
    pub poll: Duration,
    /// Largest absolute value of a gold reward (gold scorer or feedback); beyond it, or not finite, a label
    /// is refused.
    pub max_abs_reward: f64,
}

/// Default bound on the absolute value of a reward (`--max-abs-reward`): the same bound the calibration
/// files are read with, so what the loop stores can be exported and tuned offline.
pub const DEFAULT_MAX_ABS_REWARD: f64 = hedge_data::DEFAULT_MAX_ABS_REWARD;

impl std::fmt::Debug for HedgingConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HedgingConfig")
            .field("store_url", &hedge_store::redact(&self.store_url))
            .field("replica", &self.replica)
            .field("store_text", &self.store_text)
            .field("queue", &self.queue)
            .field("gold", &self.gold)
            .field("retune_every", &self.retune_every)
            .field("window", &self.window)
            .field("confidence", &self.confidence)
            .field("poll", &self.poll)
            .field("max_abs_reward", &self.max_abs_reward)
            .finish()
    }
}

impl HedgingConfig {
    /// Defaults: no gold scorer, texts not kept, a queue of 10,000 records, re-tune every 200 labelled
    /// prompts on the last 2,000, confidence 0.95, poll every 5 s, rewards bounded by ±1e6.
    pub fn new(store_url: impl Into<String>, replica: impl Into<String>) -> Self {
        Self {
            store_url: store_url.into(),
            replica: replica.into(),
            store_text: false,
            queue: 10_000,
            gold: None,
            retune_every: 200,
            window: 2000,
            confidence: 0.95,
            poll: Duration::from_secs(5),
            max_abs_reward: DEFAULT_MAX_ABS_REWARD,
        }
    }
}

/// The method in force, swapped atomically as a whole.
#[derive(Debug, Clone)]
pub(crate) struct Current {
    pub spec: MethodSpec,
    /// When it came into force, ms since the epoch.
    pub since_ms: i64,
    /// `"flags"` (the command line) or `"store"` (a tuning).
    pub source: &'static str,
}

/// Continuous hedging of one running proxy (see the module documentation).
pub(crate) struct Hedging {
    pub cfg: HedgingConfig,
    current: RwLock<Arc<Current>>,
    writer: StoreWriter,
    store: StoreThread,
    pub counters: Arc<Counters>,
    pub health: Arc<Health>,
    gold_slots: Option<Arc<Semaphore>>,
    gold_pending: AtomicU64,
    rng: Mutex<ChaCha8Rng>,
    last_verdict: Mutex<Option<String>>,
}

impl Hedging {
    /// Starts the writer and store threads; θ from the store's latest adopted tuning when there is one,
    /// else `spec`.
    pub async fn start(cfg: HedgingConfig, spec: MethodSpec, seed: u64) -> hedge_client::Result<Arc<Self>> {
        let counters = Arc::new(Counters::default());
        let health = Arc::new(Health::default());
        let thread = |e: std::io::Error| hedge_client::NetError::io("a store thread", e);
        let writer = StoreWriter::start(
            cfg.store_url.clone(),
            cfg.queue,
            Arc::clone(&counters),
            Arc::clone(&health),
        )
        .map_err(thread)?;
        let store =
            StoreThread::start(cfg.store_url.clone(), Arc::clone(&counters), Arc::clone(&health)).map_err(thread)?;
        let gold_slots = cfg
            .gold
            .as_ref()
            .map(|g| Arc::new(Semaphore::new(g.concurrency.max(1))));
        let h = Hedging {
            current: RwLock::new(Arc::new(Current {
                spec,
                since_ms: now_ms(),
                source: "flags",
            })),
            writer,
            store,
            counters,
            health,
            gold_slots,
            gold_pending: AtomicU64::new(0),
            rng: Mutex::new(ChaCha8Rng::seed_from_u64(seed ^ 0x6f6c_6467)),
            last_verdict: Mutex::new(None),
            cfg,
        };
        match h.store.run(|s| s.latest_adopted()).await {
            Ok(Some(t)) => {
                if let Some(spec) = h.spec_of(&t) {
                    tracing::info!(theta = t.theta_tuned, round = t.round, "resuming θ from the store");
                    h.swap(spec, "store");
                }
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "store unreachable at start: serving with θ from the flags"),
        }
        Ok(Arc::new(h))
    }

    /// The method in force (a snapshot: a request reads it once).
    pub fn current(&self) -> Arc<Current> {
        Arc::clone(&self.current.read().unwrap_or_else(|e| e.into_inner()))
    }

    fn swap(&self, spec: MethodSpec, source: &'static str) {
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(Current {
            spec,
            since_ms: now_ms(),
            source,
        });
    }

    fn spec_of(&self, t: &TuningRecord) -> Option<MethodSpec> {
        let kind = MethodKind::parse(&t.method)?;
        MethodSpec::new(kind, t.theta_tuned, t.n).ok()
    }

    /// Candidates to draw for a request whose method drew `n`: `calibration_n` (at least `n`) for a
    /// sampled share of requests, else `n`.
    pub fn candidates_for(&self, n: usize) -> (usize, bool) {
        match &self.cfg.gold {
            Some(g) if g.rate > 0.0 => {
                let u: f64 = self.rng.lock().unwrap_or_else(|e| e.into_inner()).random();
                if u < g.rate {
                    self.counters.calibration_requests.fetch_add(1, Ordering::Relaxed);
                    (g.calibration_n.max(n), true)
                } else {
                    (n, false)
                }
            }
            _ => (n, false),
        }
    }

    /// Queue a served request for the log (dropped and counted when the queue is full).
    pub fn log(&self, record: RequestRecord) {
        match self.writer.tx.try_send(WriterMsg::Record(Box::new(record))) {
            Ok(()) => {
                self.counters.store_queue_depth.fetch_add(1, Ordering::Relaxed);
            }
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.counters.store_dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Wait (at most `limit`) until every record queued so far is committed (or given up).
    pub async fn flush(&self, limit: Duration) {
        let (ack, done) = oneshot::channel();
        let tx = self.writer.tx.clone();
        let sent = tokio::task::spawn_blocking(move || tx.send(WriterMsg::Flush(ack)).is_ok());
        if tokio::time::timeout(limit, sent).await.ok().and_then(|r| r.ok()) == Some(true) {
            let _ = tokio::time::timeout(limit, done).await;
        }
    }

    /// Stop: wait until the writer has committed what is queued (at most `limit`).
    pub async fn stop(&self, limit: Duration) {
        self.flush(limit).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_redacts_the_store_url() {
        let cfg = HedgingConfig::new("postgres://hedge:pw-SECRET@db/x?password=q-SECRET", "a");
        let shown = format!("{cfg:?}");
        assert!(!shown.contains("SECRET") && shown.contains("db/x"), "{shown}");
    }
}
