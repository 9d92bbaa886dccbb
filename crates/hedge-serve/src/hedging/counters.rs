//! The clock and the counters of continuous hedging (a leaf: the threads and the tuner share them).

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64};
use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Counters of continuous hedging (rendered into `/metrics`).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub store_queue_depth: AtomicI64,
    pub store_dropped: AtomicU64,
    pub store_committed: AtomicU64,
    pub store_errors: AtomicU64,
    pub store_replaced: AtomicU64,
    pub store_replaced_at_ms: AtomicI64,
    /// Set by a store thread that found the file replaced; taken by the tuner.
    pub store_replaced_flag: AtomicBool,
    pub gold_sent: AtomicU64,
    pub gold_failed: AtomicU64,
    pub gold_dropped: AtomicU64,
    pub gold_retries: AtomicU64,
    pub gold_rejected: AtomicU64,
    pub gold_orphaned: AtomicU64,
    pub feedback: AtomicU64,
    pub tunings: AtomicU64,
    pub tuning_failures: AtomicU64,
    pub adoptions: AtomicU64,
    pub verdict_changes: AtomicU64,
    pub calibration_requests: AtomicU64,
}
