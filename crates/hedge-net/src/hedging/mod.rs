//! Continuous hedging: `hedge serve` keeps θ right while traffic and reward models drift.
//!
//! Three parts, all off the request path:
//! - **the log** ([`StoreWriter`]): every served request (id, time, model, method, θ, n, every candidate's
//!   proxy score, the chosen index, latency; texts with `store_text`) goes into a bounded queue; a writer
//!   thread commits them in batches. When the queue is full the record is dropped and counted: a request
//!   is never delayed or failed for the log's sake;
//! - **ground truth**: a sampled share (`gold rate`) of requests draws `calibration_n` candidates (the
//!   answer is still chosen among the first `n` the method draws on its own), and after the answer is
//!   sent every candidate is scored by the gold scorer, asynchronously, with bounded concurrency and
//!   retries within `gold_retry_for`; labels from elsewhere arrive by `POST /v1/hedge/feedback`;
//! - **the tuner** ([`Hedging::run_tuner`]): every `retune_every` newly labelled prompts (a *round*),
//!   HedgeTune runs on the most recent `window` labelled prompts, and θ† is adopted only when it beats the
//!   θ in force significantly at `confidence` — the max-t test of [`hedge_estimate::versus`], which
//!   accounts for θ† having been chosen on the same window — so noise does not move θ. Every tuning is
//!   recorded in the store, adopted or not, with why. θ is swapped atomically (a request reads it once).
//!   With PostgreSQL, one replica tunes per round (an advisory lock, and a round is recorded once) and every
//!   replica adopts the newest accepted θ within `poll`.
//!
//! The store is reached from dedicated threads only (its PostgreSQL client runs a runtime of its own).
//! When it is unreachable, `serve` keeps answering with its last θ, `/health` says `degraded`, and the
//! metrics count the failures.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hedge_estimate::{Prepared, TuneSpec, tune, versus};
use hedge_math::MethodKind;
use hedge_store::{RequestRecord, Store, StoreError, TuningRecord};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};
use tokio::sync::{Semaphore, oneshot};

use crate::method::MethodSpec;
use crate::reward::{Prompt, RewardClient};

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

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

/// Settings of continuous hedging.
#[derive(Debug, Clone)]
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
    /// How often the tuner looks at the store (new labels, θ adopted by other replicas).
    pub poll: Duration,
}

impl HedgingConfig {
    /// Defaults: no gold scorer, texts not kept, a queue of 10,000 records, re-tune every 200 labelled
    /// prompts on the last 2,000, confidence 0.95, poll every 5 s.
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

/// Counters of continuous hedging (rendered into `/metrics`).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub store_queue_depth: AtomicI64,
    pub store_dropped: AtomicU64,
    pub store_committed: AtomicU64,
    pub store_errors: AtomicU64,
    pub gold_sent: AtomicU64,
    pub gold_failed: AtomicU64,
    pub gold_dropped: AtomicU64,
    pub gold_retries: AtomicU64,
    pub feedback: AtomicU64,
    pub tunings: AtomicU64,
    pub adoptions: AtomicU64,
    pub verdict_changes: AtomicU64,
    pub calibration_requests: AtomicU64,
}

/// A job for the store thread.
type Job = Box<dyn FnOnce(&mut Option<Box<dyn Store>>) + Send>;

/// A thread that owns one store connection and runs jobs on it, one at a time, reconnecting when the
/// connection was lost.
#[derive(Clone)]
struct StoreThread {
    jobs: std::sync::mpsc::Sender<Job>,
}

impl StoreThread {
    fn start(url: String, degraded: Arc<AtomicBool>) -> Self {
        let (jobs, rx) = std::sync::mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("hedge-store".into())
            .spawn(move || {
                let mut store: Option<Box<dyn Store>> = None;
                for job in rx {
                    if store.is_none() {
                        match hedge_store::open(&url) {
                            Ok(s) => store = Some(s),
                            Err(e) => {
                                degraded.store(true, Ordering::Relaxed);
                                tracing::warn!(error = %e, "store unreachable");
                            }
                        }
                    }
                    job(&mut store);
                }
            })
            .expect("a thread can be spawned");
        Self { jobs }
    }

    /// Run `f` on the store; `None` when the store is unreachable (or `f` failed: then the
    /// connection is dropped and reopened for the next job).
    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn Store) -> hedge_store::Result<T> + Send + 'static,
    ) -> std::result::Result<T, StoreError> {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |store| {
            let out = match store.as_deref_mut() {
                Some(s) => f(s),
                None => Err(StoreError::Backend {
                    url: "store".into(),
                    message: "unreachable".into(),
                }),
            };
            if matches!(out, Err(StoreError::Backend { .. })) {
                *store = None;
            }
            let _ = tx.send(out);
        });
        if self.jobs.send(job).is_err() {
            return Err(StoreError::Backend {
                url: "store".into(),
                message: "the store thread stopped".into(),
            });
        }
        rx.await.unwrap_or_else(|_| {
            Err(StoreError::Backend {
                url: "store".into(),
                message: "job lost".into(),
            })
        })
    }
}

enum WriterMsg {
    Record(Box<RequestRecord>),
    Flush(oneshot::Sender<()>),
}

/// The batching writer of request records.
struct StoreWriter {
    tx: SyncSender<WriterMsg>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

/// Most records committed in one transaction.
const BATCH: usize = 256;
/// Longest a record waits for its batch to fill.
const BATCH_WAIT: Duration = Duration::from_millis(20);

impl StoreWriter {
    fn start(url: String, capacity: usize, counters: Arc<Counters>, degraded: Arc<AtomicBool>) -> Self {
        let (tx, rx) = std::sync::mpsc::sync_channel(capacity);
        let thread = std::thread::Builder::new()
            .name("hedge-store-writer".into())
            .spawn(move || writer_loop(url, rx, counters, degraded))
            .expect("a thread can be spawned");
        Self {
            tx,
            thread: Mutex::new(Some(thread)),
        }
    }
}

/// The writer thread: batches of records, each committed in one transaction, retried three times over
/// about 3 s when the store fails, then dropped (counted).
fn writer_loop(url: String, rx: Receiver<WriterMsg>, counters: Arc<Counters>, degraded: Arc<AtomicBool>) {
    let mut store: Option<Box<dyn Store>> = None;
    let open = |store: &mut Option<Box<dyn Store>>| {
        if store.is_none() {
            match hedge_store::open(&url) {
                Ok(s) => *store = Some(s),
                Err(e) => {
                    degraded.store(true, Ordering::Relaxed);
                    tracing::warn!(error = %e, "store unreachable");
                }
            }
        }
    };
    loop {
        let mut batch: Vec<RequestRecord> = Vec::new();
        let mut flushes = Vec::new();
        match rx.recv() {
            Ok(WriterMsg::Record(r)) => batch.push(*r),
            Ok(WriterMsg::Flush(ack)) => flushes.push(ack),
            Err(_) => return,
        }
        let deadline = Instant::now() + BATCH_WAIT;
        while batch.len() < BATCH && flushes.is_empty() {
            match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(WriterMsg::Record(r)) => batch.push(*r),
                Ok(WriterMsg::Flush(ack)) => flushes.push(ack),
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        counters
            .store_queue_depth
            .fetch_sub(batch.len() as i64, Ordering::Relaxed);
        if !batch.is_empty() {
            let mut done = false;
            for attempt in 0..4 {
                open(&mut store);
                if let Some(s) = store.as_deref_mut() {
                    match s.log_requests(&batch) {
                        Ok(()) => {
                            done = true;
                            break;
                        }
                        Err(e) => {
                            counters.store_errors.fetch_add(1, Ordering::Relaxed);
                            tracing::warn!(error = %e, attempt, "store write failed");
                            store = None;
                        }
                    }
                }
                std::thread::sleep(Duration::from_millis(250 << attempt));
            }
            if done {
                counters
                    .store_committed
                    .fetch_add(batch.len() as u64, Ordering::Relaxed);
                degraded.store(false, Ordering::Relaxed);
            } else {
                degraded.store(true, Ordering::Relaxed);
                counters.store_dropped.fetch_add(batch.len() as u64, Ordering::Relaxed);
            }
        }
        for ack in flushes {
            let _ = ack.send(());
        }
    }
}

/// Continuous hedging of one running proxy (see the module documentation).
pub(crate) struct Hedging {
    pub cfg: HedgingConfig,
    current: RwLock<Arc<Current>>,
    writer: StoreWriter,
    store: StoreThread,
    pub counters: Arc<Counters>,
    pub degraded: Arc<AtomicBool>,
    gold_slots: Option<Arc<Semaphore>>,
    gold_pending: AtomicU64,
    rng: Mutex<ChaCha8Rng>,
    last_verdict: Mutex<Option<String>>,
}

impl Hedging {
    /// Starts the writer and store threads; θ from the store's latest adopted tuning when there is one,
    /// else `spec`.
    pub async fn start(cfg: HedgingConfig, spec: MethodSpec, seed: u64) -> crate::Result<Arc<Self>> {
        let counters = Arc::new(Counters::default());
        let degraded = Arc::new(AtomicBool::new(false));
        let writer = StoreWriter::start(
            cfg.store_url.clone(),
            cfg.queue,
            Arc::clone(&counters),
            Arc::clone(&degraded),
        );
        let store = StoreThread::start(cfg.store_url.clone(), Arc::clone(&degraded));
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
            degraded,
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
            match scored {
                Some(rewards) => {
                    // The record may still be in the writer's queue.
                    me.flush(Duration::from_secs(5)).await;
                    let stored = me.store.run(move |s| s.add_gold(&id, &rewards, now_ms())).await;
                    if let Err(e) = stored {
                        me.counters.gold_failed.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(error = %e, "gold rewards could not be stored");
                    }
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

    /// Store gold rewards from `POST /v1/hedge/feedback`.
    pub async fn feedback(&self, id: String, rewards: Vec<f64>) -> std::result::Result<usize, StoreError> {
        self.flush(Duration::from_secs(5)).await;
        let n = rewards.len();
        self.store.run(move |s| s.add_gold(&id, &rewards, now_ms())).await?;
        self.counters.feedback.fetch_add(1, Ordering::Relaxed);
        Ok(n)
    }

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
            "last_tuning": last,
            "history": history,
            "store": {
                "url": hedge_store::redact(&self.cfg.store_url),
                "degraded": self.degraded.load(Ordering::Relaxed),
                "queue_depth": c.store_queue_depth.load(Ordering::Relaxed),
                "committed": c.store_committed.load(Ordering::Relaxed),
                "dropped": c.store_dropped.load(Ordering::Relaxed),
                "requests": counts.map(|c| c.requests),
            },
            "gold": {
                "rate": self.cfg.gold.as_ref().map(|g| g.rate),
                "sent": c.gold_sent.load(Ordering::Relaxed),
                "failed": c.gold_failed.load(Ordering::Relaxed),
                "dropped": c.gold_dropped.load(Ordering::Relaxed),
            },
            "replica": self.cfg.replica,
        })
    }

    /// The tuner loop (see the module documentation); runs until the process ends.
    pub async fn run_tuner(self: Arc<Self>) {
        let mut last_round = -1i64;
        loop {
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
            let record = tokio::task::spawn_blocking(move || tune_window(round, &prompts, &current.spec, cfg)).await;
            match record {
                Ok(Ok(record)) => self.record(record).await,
                Ok(Err(e)) => tracing::warn!(error = %e, round, "tuning failed"),
                Err(e) => tracing::warn!(error = %e, round, "tuning task failed"),
            }
        }
        let _ = self.store.run(|s| s.unlock_tuner()).await;
    }

    async fn record(&self, record: TuningRecord) {
        let rec = record.clone();
        if self.store.run(move |s| s.record_tuning(&rec)).await.unwrap_or(false) {
            self.counters.tunings.fetch_add(1, Ordering::Relaxed);
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

    /// Stop the writer after it has committed what is queued (at most `limit`).
    pub async fn stop(&self, limit: Duration) {
        self.flush(limit).await;
        let handle = self.writer.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        drop(handle);
    }

    /// The metrics of continuous hedging, in Prometheus text format.
    pub fn render_metrics(&self) -> String {
        use std::fmt::Write as _;
        let c = &self.counters;
        let current = self.current();
        let mut s = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, value: String| {
            let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}");
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
            "Tunings this replica ran and recorded.",
            get(&c.tunings),
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
            "hedge_store_degraded",
            "gauge",
            "1 while the store is unreachable.",
            u8::from(self.degraded.load(Ordering::Relaxed)).to_string(),
        );
        s
    }
}

/// HedgeTune on the window for the method in force, and the decision to adopt its θ†.
fn tune_window(
    round: i64,
    prompts: &[hedge_store::Labelled],
    current: &MethodSpec,
    (replica, confidence): (String, f64),
) -> std::result::Result<TuningRecord, String> {
    let mut offsets = vec![0];
    let (mut proxy, mut gold) = (Vec::new(), Vec::new());
    for p in prompts {
        proxy.extend_from_slice(&p.proxy);
        gold.extend_from_slice(&p.gold);
        offsets.push(proxy.len());
    }
    let data = Prepared::new(&offsets, &proxy, &gold).map_err(|e| e.to_string())?;
    let mut spec = TuneSpec::new(current.kind).confidence(confidence).seed(round as u64);
    if let Some(n) = current.n {
        spec = spec.n(n);
    }
    let o = tune(&data, &spec).map_err(|e| e.to_string())?;
    let gap = versus(&data, &spec, &o, current.theta, current.n).map_err(|e| e.to_string())?;
    let moved = (o.theta, o.n) != (current.theta, current.n);
    let adopted = moved && gap.significant;
    let reason = if adopted {
        format!(
            "θ† = {} beats θ = {} by {:.4} ± {:.4} (paired; z = {:.2} > {:.2}, corrected for the choice of θ†)",
            o.theta, current.theta, gap.paired.difference, gap.paired.stderr, gap.paired.z, gap.critical
        )
    } else if !moved {
        format!("θ† = {} is the θ in force", o.theta)
    } else {
        format!(
            "θ† = {} is not significantly better than θ = {}: {:.4} ± {:.4} (paired; z = {:.2}, needs > {:.2})",
            o.theta, current.theta, gap.paired.difference, gap.paired.stderr, gap.paired.z, gap.critical
        )
    };
    let window_end_ms = prompts.last().map_or(0, |p| p.labelled_at_ms);
    Ok(TuningRecord {
        round,
        at_ms: now_ms(),
        replica,
        method: current.kind.name().into(),
        theta_before: current.theta,
        theta_tuned: o.theta,
        n: o.n,
        window_prompts: data.prompts(),
        window_end_ms,
        verdict: o.verdict.map_or("inconclusive", |v| v.name()).into(),
        evidence: json!({"evidence": o.evidence, "versus_current": gap, "expected_true_reward": o.expected_true_reward}),
        adopted,
        reason,
    })
}
