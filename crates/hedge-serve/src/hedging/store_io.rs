//! The two threads that reach the store: the [`StoreThread`] (one job at a time: gold labels, feedback,
//! the tuner's reads and writes, health probes) and the batching [`StoreWriter`] of request records.
//!
//! Each owns one connection and reopens it when it was lost. Before and after every batch the writer
//! probes the store ([`hedge_store::Store::probe`]): an SQLite file that was removed or replaced under the
//! running server is noticed, reported ([`Health`], `hedge_store_replaced_total`, a log line), re-created
//! with the schema, and the batch is written there (writing a batch twice is harmless: ids already present
//! are ignored). Only a batch committed in the instant between its closing probe and the file's removal can
//! be lost with the file.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::time::{Duration, Instant};

use hedge_store::{RequestRecord, Store, StoreError};
use tokio::sync::oneshot;

use super::counters::{Counters, now_ms};
use super::health::{Health, Part};

/// A job for the store thread.
type Job = Box<dyn FnOnce(&mut Option<Box<dyn Store>>) + Send>;

/// Open the store at `url` into `store` when it is closed; reports the outcome to `health` under `part`.
fn ensure_open(url: &str, store: &mut Option<Box<dyn Store>>, health: &Health, part: Part) {
    if store.is_some() {
        return;
    }
    match hedge_store::open(url) {
        Ok(s) => *store = Some(s),
        Err(e) => {
            health.set(part, format!("store unreachable: {e}"));
            tracing::warn!(error = %e, "store unreachable");
        }
    }
}

/// Whether an error means the connection is no good any more (it is dropped and reopened).
fn connection_lost(e: &StoreError) -> bool {
    matches!(e, StoreError::Backend { .. } | StoreError::Replaced { .. })
}

/// Note a store whose file was removed or replaced: say so in `/health`, log it, and flag it for the
/// tuner, which carries θ over. It is counted by the store thread only: that thread probes before every
/// job, and the tuner gives it one every poll, so it notices each replacement of the file it holds once,
/// whether or not the writer (which re-creates the file on its own) noticed it first.
fn note_replaced(e: &StoreError, counters: &Counters, health: &Health, part: Part) {
    health.set(
        Part::Replaced,
        format!("{e}; re-created it with an empty schema (records written before are not in the new file)"),
    );
    if part == Part::Store {
        counters.store_replaced.fetch_add(1, Ordering::Relaxed);
        counters.store_replaced_at_ms.store(now_ms(), Ordering::Relaxed);
    }
    counters.store_replaced_flag.store(true, Ordering::Relaxed);
    tracing::error!(error = %e, thread = part.name(), "the store's file is no longer the one open: re-creating it");
}

/// A thread that owns one store connection and runs jobs on it, one at a time, reconnecting when the
/// connection was lost. Every job starts with a probe ([`Store::probe`]): a job never reads from or
/// writes to a file that was removed or replaced; the store is re-created first.
#[derive(Clone)]
pub(crate) struct StoreThread {
    jobs: std::sync::mpsc::Sender<Job>,
}

impl StoreThread {
    pub(crate) fn start(url: String, counters: Arc<Counters>, health: Arc<Health>) -> std::io::Result<Self> {
        let (jobs, rx) = std::sync::mpsc::channel::<Job>();
        std::thread::Builder::new().name("hedge-store".into()).spawn(move || {
            let mut store: Option<Box<dyn Store>> = None;
            for job in rx {
                ensure_open(&url, &mut store, &health, Part::Store);
                if let Some(Err(e @ StoreError::Replaced { .. })) = store.as_deref_mut().map(|s| s.probe()) {
                    note_replaced(&e, &counters, &health, Part::Store);
                    store = None;
                    ensure_open(&url, &mut store, &health, Part::Store);
                }
                job(&mut store);
            }
        })?;
        Ok(Self { jobs })
    }

    /// Run `f` on the store; an error when the store is unreachable (or `f` failed: then, when the
    /// connection itself is lost, it is dropped and reopened for the next job).
    pub(crate) async fn run<T: Send + 'static>(
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
            if out.as_ref().err().is_some_and(connection_lost) {
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

    /// Probe the store (re-opening it when needed, re-creating it when its file was removed or replaced)
    /// and bring `/health` up to date: called on every poll, so a store that recovered is reported healthy
    /// within one poll, and one whose file vanished is noticed within one poll.
    pub(crate) async fn probe(&self, health: &Arc<Health>) {
        match self.run(|s| s.probe()).await {
            Ok(()) => health.clear(Part::Store),
            Err(e) => {
                health.set(Part::Store, format!("store unreachable: {e}"));
                tracing::debug!(error = %e, "store probe failed");
            }
        }
    }
}

pub(crate) enum WriterMsg {
    Record(Box<RequestRecord>),
    Flush(oneshot::Sender<()>),
}

/// The batching writer of request records.
pub(crate) struct StoreWriter {
    pub(crate) tx: SyncSender<WriterMsg>,
}

/// Most records committed in one transaction.
const BATCH: usize = 256;
/// Longest a record waits for its batch to fill.
const BATCH_WAIT: Duration = Duration::from_millis(20);

impl StoreWriter {
    pub(crate) fn start(
        url: String,
        capacity: usize,
        counters: Arc<Counters>,
        health: Arc<Health>,
    ) -> std::io::Result<Self> {
        let (tx, rx) = std::sync::mpsc::sync_channel(capacity);
        std::thread::Builder::new()
            .name("hedge-store-writer".into())
            .spawn(move || writer_loop(url, rx, counters, health))?;
        Ok(Self { tx })
    }
}

/// Commit `batch` on an open store, probing before and after: a file removed or replaced is noticed, the
/// store re-created, and the batch written (again) into the new file.
fn commit(
    url: &str,
    store: &mut Option<Box<dyn Store>>,
    batch: &[RequestRecord],
    counters: &Counters,
    health: &Health,
) -> hedge_store::Result<()> {
    // At most two re-creations in one commit: a file removed twice within one batch is not a race to win.
    for _ in 0..3 {
        ensure_open(url, store, health, Part::Writer);
        let Some(s) = store.as_deref_mut() else {
            return Err(StoreError::Backend {
                url: "store".into(),
                message: "unreachable".into(),
            });
        };
        let result = s.probe().and_then(|()| s.log_requests(batch)).and_then(|()| s.probe());
        match result {
            Err(e @ StoreError::Replaced { .. }) => {
                note_replaced(&e, counters, health, Part::Writer);
                *store = None;
            }
            other => return other,
        }
    }
    Err(StoreError::Backend {
        url: "store".into(),
        message: "the database file keeps being replaced".into(),
    })
}

/// The writer thread: batches of records, each committed in one transaction, retried three times over
/// about 3 s when the store fails, then dropped (counted).
fn writer_loop(url: String, rx: Receiver<WriterMsg>, counters: Arc<Counters>, health: Arc<Health>) {
    let mut store: Option<Box<dyn Store>> = None;
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
                match commit(&url, &mut store, &batch, &counters, &health) {
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
                std::thread::sleep(Duration::from_millis(250 << attempt));
            }
            if done {
                counters
                    .store_committed
                    .fetch_add(batch.len() as u64, Ordering::Relaxed);
                health.clear(Part::Writer);
            } else {
                health.set(
                    Part::Writer,
                    format!(
                        "a batch of {} records could not be written and was dropped",
                        batch.len()
                    ),
                );
                counters.store_dropped.fetch_add(batch.len() as u64, Ordering::Relaxed);
            }
        }
        for ack in flushes {
            let _ = ack.send(());
        }
    }
}
