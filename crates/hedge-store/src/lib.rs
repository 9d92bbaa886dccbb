//! # hedge-store
//!
//! The calibration store behind `hedge serve`'s continuous hedging: every served request with its
//! candidates' proxy scores, the gold (true) rewards of the candidates of sampled requests when they
//! arrive, and the history of tunings of θ. One trait, [`Store`], with two backends chosen by URL
//! ([`open`]):
//!
//! - `sqlite:PATH` (default; embedded, WAL mode, created on first use);
//! - `postgres://…` / `postgresql://…`, for several replicas sharing one store (an advisory lock lets
//!   one replica tune at a time, [`Store::try_lock_tuner`]).
//!
//! The API is synchronous: `hedge serve` calls it from a dedicated writer thread (batched, off the
//! request path) and from blocking tasks. The schema is versioned ([`SCHEMA_VERSION`]); opening a store
//! creates or migrates it.
//!
//! A *labelled prompt* is a request every candidate of which has a gold reward: what HedgeTune needs
//! (the true reward of every candidate, not only the chosen one). Labelled prompts are ordered by when
//! their labels were completed ([`RequestRecord::id`] breaks ties), which is the order of
//! [`Store::labelled`] and of `hedge export`.
//!
//! ```
//! # #[cfg(feature = "sqlite")] {
//! use hedge_store::{open, Candidate, RequestRecord};
//! let dir = tempfile::tempdir().unwrap();
//! let url = format!("sqlite:{}", dir.path().join("hedge.db").display());
//! let mut store = open(&url).unwrap();
//! let r = RequestRecord {
//!     id: "cmpl-1".into(), at_ms: 1, model: Some("m".into()), method: "bon".into(), theta: 4.0, n: 2,
//!     chosen: 1, latency_ms: 12.5, replica: "a".into(), calibration: true,
//!     candidates: vec![Candidate { proxy: Some(0.1), text: None }, Candidate { proxy: Some(0.7), text: None }],
//! };
//! store.log_requests(&[r]).unwrap();
//! store.add_gold("cmpl-1", &[0.3, 0.2], 2).unwrap();
//! let rows = store.labelled(None, None).unwrap();
//! assert_eq!(rows.len(), 1);
//! assert_eq!(rows[0].gold, vec![0.3, 0.2]);
//! # }
//! ```

#![warn(missing_docs)]

use serde::Serialize;

#[cfg(feature = "postgres")]
mod pg;
#[cfg(feature = "sqlite")]
mod sqlite;

/// Version of the schema this build writes (stored in the table `hedge_meta`).
pub const SCHEMA_VERSION: u32 = 1;

/// Everything that can go wrong with a store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The URL names no store this build can open.
    #[error("invalid store URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL (credentials removed).
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// The database failed (connection lost, disk full, constraint, …).
    #[error("store {url}: {message}")]
    Backend {
        /// The store's URL (credentials removed).
        url: String,
        /// The backend's message.
        message: String,
    },
    /// The store was written by a newer schema than this build knows.
    #[error("store {url}: schema version {found} is newer than this build's {supported}; upgrade hedge")]
    NewerSchema {
        /// The store's URL.
        url: String,
        /// Its schema version.
        found: u32,
        /// The newest this build knows.
        supported: u32,
    },
    /// No request has this id.
    #[error("unknown request id {0:?}")]
    UnknownRequest(String),
    /// Gold rewards for a request that already has them.
    #[error("request {0:?} already has gold rewards")]
    AlreadyLabelled(String),
    /// Gold rewards whose number does not match the request's candidates.
    #[error("request {id:?} has {expected} candidates, got {got} rewards")]
    WrongCount {
        /// The request.
        id: String,
        /// Its number of candidates.
        expected: usize,
        /// Rewards given.
        got: usize,
    },
    /// A gold reward that is NaN or infinite.
    #[error("reward {index} of request {id:?} is not finite: {value}")]
    NonFinite {
        /// The request.
        id: String,
        /// Which reward.
        index: usize,
        /// Its value.
        value: f64,
    },
}

/// Result alias.
pub type Result<T> = std::result::Result<T, StoreError>;

/// One candidate of a served request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    /// Its proxy score (`None` when generation or scoring failed).
    pub proxy: Option<f64>,
    /// Its text, kept only with `--store-text`.
    pub text: Option<String>,
}

/// One served request, as logged.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequestRecord {
    /// The response id returned to the client (`chatcmpl-hedge-…`); feedback names it.
    pub id: String,
    /// When it was answered, milliseconds since the Unix epoch.
    pub at_ms: i64,
    /// The model that generated the candidates, if known.
    pub model: Option<String>,
    /// `"bon"`, `"bop"` or `"sbon"`.
    pub method: String,
    /// θ in force for this request.
    pub theta: f64,
    /// Candidates the method drew (the answer was chosen among the first `n`).
    pub n: usize,
    /// Index of the chosen candidate.
    pub chosen: usize,
    /// Time to answer, in milliseconds.
    pub latency_ms: f64,
    /// Which replica served it.
    pub replica: String,
    /// Drawn for calibration: `candidates` holds all `--calibration-n` of them (gold expected).
    pub calibration: bool,
    /// Every candidate drawn, in order (more than `n` for a calibration request).
    pub candidates: Vec<Candidate>,
}

/// A labelled prompt: a request whose every candidate has a gold reward.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Labelled {
    /// The request id (the prompt id of an export).
    pub id: String,
    /// When its labels were completed, ms since the Unix epoch.
    pub labelled_at_ms: i64,
    /// Proxy score of each candidate with one (candidates whose proxy failed are left out, with their gold).
    pub proxy: Vec<f64>,
    /// Gold reward of the same candidates.
    pub gold: Vec<f64>,
    /// Index of each kept candidate among the request's candidates.
    pub index: Vec<usize>,
}

/// One run of the tuner, adopted or not.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TuningRecord {
    /// Round number: `labelled prompts / retune_every` when it ran; unique (one tuning per round,
    /// whichever replica runs it).
    pub round: i64,
    /// When it ran, ms since the Unix epoch.
    pub at_ms: i64,
    /// Which replica ran it.
    pub replica: String,
    /// The method tuned.
    pub method: String,
    /// θ in force before.
    pub theta_before: f64,
    /// θ tuned on the window.
    pub theta_tuned: f64,
    /// SBoN's n (tuned), if any.
    pub n: Option<u64>,
    /// Labelled prompts in the window.
    pub window_prompts: usize,
    /// The last labelled prompt of the window (its `labelled_at_ms`), so an export can reproduce it.
    pub window_end_ms: i64,
    /// The verdict on the window.
    pub verdict: String,
    /// The evidence, as JSON (the `evidence` object of `hedge tune --json`, and the comparison with θ before).
    pub evidence: serde_json::Value,
    /// Whether θ was changed.
    pub adopted: bool,
    /// Why (adopted: the gain and its test; kept: why not).
    pub reason: String,
}

/// Counts of what a store holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Counts {
    /// Requests logged.
    pub requests: u64,
    /// Requests drawn for calibration.
    pub calibration_requests: u64,
    /// Labelled prompts.
    pub labelled: u64,
    /// Tunings recorded.
    pub tunings: u64,
}

/// A calibration store (see the crate documentation).
pub trait Store: Send {
    /// The store's URL, credentials removed (for messages).
    fn url(&self) -> &str;

    /// Append served requests (one transaction; ids already present are ignored).
    fn log_requests(&mut self, records: &[RequestRecord]) -> Result<()>;

    /// Record the gold rewards of every candidate of request `id` (one per candidate, in order), at
    /// time `at_ms`. Checks first and stores nothing on error: [`StoreError::UnknownRequest`],
    /// [`StoreError::WrongCount`], [`StoreError::NonFinite`], [`StoreError::AlreadyLabelled`].
    fn add_gold(&mut self, id: &str, rewards: &[f64], at_ms: i64) -> Result<()>;

    /// The number of candidates of request `id`, if it is logged.
    fn candidates_of(&mut self, id: &str) -> Result<Option<usize>>;

    /// Labelled prompts, oldest first, with labels completed at or after `since_ms` (all when `None`),
    /// the most recent `last` of them when given.
    fn labelled(&mut self, since_ms: Option<i64>, last: Option<usize>) -> Result<Vec<Labelled>>;

    /// The number of labelled prompts.
    fn labelled_count(&mut self) -> Result<u64>;

    /// Record a tuning. Returns `false` (and records nothing) when its round is already recorded.
    fn record_tuning(&mut self, t: &TuningRecord) -> Result<bool>;

    /// Every tuning, oldest first.
    fn tunings(&mut self) -> Result<Vec<TuningRecord>>;

    /// The most recent adopted tuning, if any.
    fn latest_adopted(&mut self) -> Result<Option<TuningRecord>>;

    /// Try to become the one tuner (PostgreSQL: a session advisory lock; SQLite: always true, one
    /// process). Released by [`Store::unlock_tuner`] or when the connection closes.
    fn try_lock_tuner(&mut self) -> Result<bool>;

    /// Release the tuner lock.
    fn unlock_tuner(&mut self) -> Result<()>;

    /// What the store holds.
    fn counts(&mut self) -> Result<Counts>;
}

/// Open (creating or migrating) the store at `url`: `sqlite:PATH` or `postgres://…`.
pub fn open(url: &str) -> Result<Box<dyn Store>> {
    let shown = redact(url);
    if let Some(path) = url.strip_prefix("sqlite:") {
        #[cfg(feature = "sqlite")]
        return Ok(Box::new(sqlite::SqliteStore::open(
            path.trim_start_matches("//"),
            &shown,
        )?));
        #[cfg(not(feature = "sqlite"))]
        return {
            let _ = path;
            Err(StoreError::InvalidUrl {
                url: shown,
                reason: "this build has no SQLite support".into(),
            })
        };
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        #[cfg(feature = "postgres")]
        return Ok(Box::new(pg::PgStore::open(url, &shown)?));
        #[cfg(not(feature = "postgres"))]
        return Err(StoreError::InvalidUrl {
            url: shown,
            reason: "this build has no PostgreSQL support".into(),
        });
    }
    Err(StoreError::InvalidUrl {
        url: shown,
        reason: "expected sqlite:PATH or postgres://USER@HOST:PORT/DB".into(),
    })
}

/// `url` with any password removed (`postgres://user:secret@host` → `postgres://user:***@host`).
pub fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let (scheme, rest) = url.split_at(scheme_end + 3);
    let host_end = rest.find('/').unwrap_or(rest.len());
    match rest[..host_end].rfind('@') {
        Some(at) => match rest[..at].find(':') {
            Some(colon) => format!("{scheme}{}:***{}", &rest[..colon], &rest[at..]),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// Checks shared by the backends before gold rewards are stored.
#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
pub(crate) fn check_gold(id: &str, rewards: &[f64], expected: usize) -> Result<()> {
    if rewards.len() != expected {
        return Err(StoreError::WrongCount {
            id: id.to_string(),
            expected,
            got: rewards.len(),
        });
    }
    if let Some((index, &value)) = rewards.iter().enumerate().find(|(_, r)| !r.is_finite()) {
        return Err(StoreError::NonFinite {
            id: id.to_string(),
            index,
            value,
        });
    }
    Ok(())
}

/// A float as both backends store it: NaN becomes NULL. SQLite cannot hold a NaN (it stores NULL
/// instead), so PostgreSQL is given the same NULL and the two backends read back the same thing. A
/// proxy score of NaN is thereby a failed score (`None`), which [`Store::labelled`] leaves out.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn nan_to_null(x: f64) -> Option<f64> {
    (!x.is_nan()).then_some(x)
}

/// A count or index as the backends store it (a signed 64-bit integer; saturates, never reached).
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn to_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            redact("postgres://hedge:s3cret@127.0.0.1:5433/db"),
            "postgres://hedge:***@127.0.0.1:5433/db"
        );
        assert_eq!(redact("postgres://hedge@127.0.0.1/db"), "postgres://hedge@127.0.0.1/db");
        assert_eq!(redact("sqlite:/tmp/x.db"), "sqlite:/tmp/x.db");
        assert!(matches!(open("mysql://x"), Err(StoreError::InvalidUrl { .. })));
        assert!(check_gold("r", &[1.0, f64::NAN], 2).is_err());
        assert!(check_gold("r", &[1.0], 2).is_err());
        assert!(check_gold("r", &[1.0, 2.0], 2).is_ok());
    }
}
