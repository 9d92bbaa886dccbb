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
//! request path) and from blocking tasks. The schema is versioned ([`SCHEMA_VERSION`]); [`open`]
//! creates or migrates it, [`open_read_only`] (for `hedge export` and `--store` on the reading
//! commands) changes nothing and creates nothing. [`validate_url`] checks a URL without touching the
//! store (for the command line's parsers), and [`Store::probe`] tells a running server whether the
//! store it has open is still the one at its URL.
//!
//! **Secrets.** A URL can carry a password (in its userinfo, as a query parameter, in a `key=value`
//! connection string): every [`StoreError`] names the store by its [`redact`]ed URL, and driver
//! messages pass through [`redact_in`] before they become part of one.
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
mod redact;
#[cfg(feature = "sqlite")]
mod sqlite;

#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) use redact::Shown;
pub use redact::{SECRET_WORDS, redact, redact_in};

/// Version of the schema this build writes (stored in the table `hedge_meta`).
pub const SCHEMA_VERSION: u32 = 1;

/// Everything that can go wrong with a store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The URL names no store this build can open: an unknown scheme, an empty path, a PostgreSQL URL
    /// that does not parse. A usage error (the command line maps it to exit code 2); found by
    /// [`validate_url`] before anything is opened.
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
    /// The store is older than this build and was opened read-only ([`open_read_only`]), which does not
    /// migrate it.
    #[error(
        "store {url}: schema version {found} is older than this build's {supported}; open it once with `hedge serve --store` to migrate it"
    )]
    OlderSchema {
        /// The store's URL (credentials removed).
        url: String,
        /// Its schema version.
        found: u32,
        /// The version this build reads.
        supported: u32,
    },
    /// There is no store at the URL ([`open_read_only`] creates none): no such SQLite file, or a
    /// database without hedge's tables.
    #[error("store {url}: {reason}")]
    NotFound {
        /// The store's URL (credentials removed).
        url: String,
        /// What is missing (`no such file`, `no table hedge_meta: not a hedge store`).
        reason: String,
    },
    /// The store open is no longer the one at its URL ([`Store::probe`]): its SQLite file was removed or
    /// replaced by another file while it was open, so whatever is written now would be lost with the
    /// old file. Drop the store and [`open`] the URL again (which creates the schema afresh).
    #[error("store {url}: its database file was {reason} while it was open")]
    Replaced {
        /// The store's URL (credentials removed).
        url: String,
        /// What happened to the file.
        reason: Replacement,
    },
    /// No tuning of the round asked for ([`round_window`]): a round the store does not hold, or `last`
    /// in a store with no tuning yet.
    #[error("store {url}: no tuning of round {round} (the store holds {recorded} tunings)")]
    NoSuchTuning {
        /// The store's URL (credentials removed).
        url: String,
        /// The round asked for.
        round: Round,
        /// How many tunings the store holds.
        recorded: usize,
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

/// A tuning by its round ([`round_window`]): a round number, or the latest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Round {
    /// The latest tuning recorded.
    Last,
    /// The tuning of this round.
    Number(i64),
}

impl std::fmt::Display for Round {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Round::Last => f.write_str("last"),
            Round::Number(n) => write!(f, "{n}"),
        }
    }
}

impl std::str::FromStr for Round {
    type Err = String;

    /// `last` or a round number.
    ///
    /// ```
    /// use hedge_store::Round;
    /// assert_eq!("last".parse(), Ok(Round::Last));
    /// assert_eq!("12".parse(), Ok(Round::Number(12)));
    /// assert!("twelve".parse::<Round>().is_err());
    /// ```
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.trim() {
            "last" => Ok(Round::Last),
            t => t
                .parse()
                .map(Round::Number)
                .map_err(|_| format!("{s:?} is neither a round number nor `last`")),
        }
    }
}

/// The tuning of `round` and exactly the labelled prompts it ran on: the most recent
/// [`TuningRecord::window_prompts`] labelled at or before its [`TuningRecord::window_end_ms`], oldest
/// first (what `hedge export --round` writes, to reproduce a re-tuning of `hedge serve`).
/// [`StoreError::NoSuchTuning`] when the store holds no tuning of that round.
pub fn round_window(store: &mut dyn Store, round: Round) -> Result<(TuningRecord, Vec<Labelled>)> {
    let mut tunings = store.tunings()?;
    let recorded = tunings.len();
    let found = match round {
        Round::Last => tunings.pop(),
        Round::Number(r) => tunings.into_iter().find(|t| t.round == r),
    };
    let Some(tuning) = found else {
        return Err(StoreError::NoSuchTuning {
            url: store.url().to_string(),
            round,
            recorded,
        });
    };
    let mut all = store.labelled(None, None)?;
    all.retain(|p| p.labelled_at_ms <= tuning.window_end_ms);
    let skip = all.len().saturating_sub(tuning.window_prompts);
    let window = all.split_off(skip);
    Ok((tuning, window))
}

/// What became of a store's file ([`StoreError::Replaced`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Replacement {
    /// No file is at the path any more (`rm store.db*`).
    Removed,
    /// Another file is at the path (another device and inode: moved over, restored from a backup).
    ReplacedByAnotherFile,
}

impl std::fmt::Display for Replacement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Replacement::Removed => "removed",
            Replacement::ReplacedByAnotherFile => "replaced by another file",
        })
    }
}

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

    /// Whether the store open is still the one at its URL, and reachable; cheap enough to call on every
    /// poll of a long-running server.
    ///
    /// - SQLite: the database file's (device, inode) recorded at open is compared with the file now
    ///   at the path (on other systems than Unix: only that a file is there). A file removed or
    ///   replaced is [`StoreError::Replaced`] (the connection still writes into the old, unlinked
    ///   file, so its records would be lost): drop the store and [`open`] the URL again.
    /// - PostgreSQL: one round trip (reconnecting first if the connection was lost) that also checks
    ///   that the table `hedge_meta` is still there; a dropped schema is [`StoreError::Replaced`]
    ///   ([`Replacement::Removed`]) as well, and a lost connection a [`StoreError::Backend`].
    /// - A store in memory is always fine.
    fn probe(&mut self) -> Result<()>;
}

/// Where a store URL points, once checked.
enum Target {
    /// `sqlite:PATH`: the path (a leading `//` removed).
    #[cfg(feature = "sqlite")]
    Sqlite(String),
    /// `postgres://…` / `postgresql://…`, parsed.
    #[cfg(feature = "postgres")]
    Postgres(Box<postgres::Config>),
}

/// The URL schemes a store can have, for messages.
const EXPECTED: &str = "expected sqlite:PATH or postgres://USER@HOST:PORT/DB";

/// Check `url` and say where it points, without opening anything.
fn parse(url: &str) -> Result<Target> {
    let invalid = |reason: String| StoreError::InvalidUrl {
        url: redact(url),
        reason: redact_in(&reason, url),
    };
    if let Some(path) = url.strip_prefix("sqlite:") {
        let path = path.strip_prefix("//").unwrap_or(path);
        if path.is_empty() {
            return Err(invalid("the path after sqlite: is empty".into()));
        }
        if path.contains('\0') {
            return Err(invalid("the path contains a NUL byte".into()));
        }
        #[cfg(feature = "sqlite")]
        return Ok(Target::Sqlite(path.to_string()));
        #[cfg(not(feature = "sqlite"))]
        return Err(invalid("this build has no SQLite support".into()));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        #[cfg(feature = "postgres")]
        {
            let config: postgres::Config = url.parse().map_err(|e: postgres::Error| invalid(pg::message(&e)))?;
            if config.get_hosts().is_empty() && config.get_hostaddrs().is_empty() {
                return Err(invalid(
                    "no host (postgres://USER@HOST:PORT/DB, or ?host=/run/postgresql for a Unix socket)".into(),
                ));
            }
            if config.get_user().is_none() {
                return Err(invalid("no user (postgres://USER@HOST:PORT/DB)".into()));
            }
            return Ok(Target::Postgres(Box::new(config)));
        }
        #[cfg(not(feature = "postgres"))]
        return Err(invalid("this build has no PostgreSQL support".into()));
    }
    let scheme = match url.find("://") {
        Some(i) if i > 0 => format!("unknown scheme {:?}; ", &url[..i]),
        _ => String::new(),
    };
    Err(invalid(format!("{scheme}{EXPECTED}")))
}

/// Check a store URL without opening anything: its scheme (`sqlite:` or `postgres://` /
/// `postgresql://`), a non-empty SQLite path, and, for PostgreSQL, that the driver parses it (options,
/// ports, percent-escapes) and that it names a host and a user. [`StoreError::InvalidUrl`] (with the
/// URL [`redact`]ed) otherwise: a usage error, for the command line's `value_parser`s. [`open`] and
/// [`open_read_only`] make the same checks first.
///
/// ```
/// use hedge_store::{validate_url, StoreError};
/// assert!(validate_url("sqlite:/var/lib/hedge/store.db").is_ok());
/// assert!(validate_url("postgres://hedge@db:5432/hedge?sslmode=disable").is_ok());
/// assert!(matches!(validate_url("mysql://x"), Err(StoreError::InvalidUrl { .. })));
/// assert!(matches!(validate_url("postgres://hedge@db:port/h"), Err(StoreError::InvalidUrl { .. })));
/// // The message never shows a password.
/// let e = validate_url("postgres://hedge@db/h?password=s3cret&port=x").unwrap_err();
/// assert!(!e.to_string().contains("s3cret"));
/// ```
pub fn validate_url(url: &str) -> Result<()> {
    parse(url).map(|_| ())
}

/// Open the store at `url` (`sqlite:PATH` or `postgres://…`), creating it (an SQLite file and its
/// directory, or the tables) or migrating its schema: for `hedge serve`, which writes. A URL that
/// does not pass [`validate_url`] is [`StoreError::InvalidUrl`]; a store written by a newer build is
/// [`StoreError::NewerSchema`].
pub fn open(url: &str) -> Result<Box<dyn Store>> {
    match parse(url)? {
        #[cfg(feature = "sqlite")]
        Target::Sqlite(path) => Ok(Box::new(sqlite::SqliteStore::open(&path, Shown::new(url))?)),
        #[cfg(feature = "postgres")]
        Target::Postgres(config) => Ok(Box::new(pg::PgStore::open(*config, Shown::new(url), false)?)),
    }
}

/// Open the store at `url` for reading only (`hedge export`, `--store` on `tune`, `curve`, `report`,
/// `info`): nothing is created, migrated or written.
///
/// - SQLite: the file must exist ([`StoreError::NotFound`] otherwise; no directory or file is
///   created). It is opened read-only. When no `PATH-wal` file is next to it (no connection has it
///   open, the usual case for a stopped server) it is opened *immutable*, which creates no `-wal` or
///   `-shm` file either: SQLite would otherwise create both, since a WAL reader needs the shared
///   index, and leave them behind. When a `-wal` file is there (a server is writing, or one was
///   killed), the reader joins the writer through the existing files (SQLite may create a missing
///   `-shm`). The one race: a writer that starts while an immutable reader is reading, and
///   checkpoints into the file during that read, can make the read fail ("database disk image is
///   malformed"); run the command again.
/// - PostgreSQL: connects with read-only transactions and creates no table; a database without
///   hedge's tables is [`StoreError::NotFound`].
///
/// Either way a schema older than this build's is [`StoreError::OlderSchema`] (open it once with
/// [`open`] to migrate it), a newer one [`StoreError::NewerSchema`], and every error names the store
/// by its [`redact`]ed URL. The store's writing methods fail with [`StoreError::Backend`].
///
/// ```
/// # #[cfg(feature = "sqlite")] {
/// use hedge_store::{open, open_read_only, StoreError};
/// let dir = tempfile::tempdir().unwrap();
/// let url = format!("sqlite:{}", dir.path().join("none/hedge.db").display());
/// assert!(matches!(open_read_only(&url), Err(StoreError::NotFound { .. })));
/// assert!(!dir.path().join("none").exists(), "nothing was created");
/// open(&url).unwrap();
/// assert_eq!(open_read_only(&url).unwrap().labelled_count().unwrap(), 0);
/// # }
/// ```
pub fn open_read_only(url: &str) -> Result<Box<dyn Store>> {
    match parse(url)? {
        #[cfg(feature = "sqlite")]
        Target::Sqlite(path) => Ok(Box::new(sqlite::SqliteStore::open_read_only(&path, Shown::new(url))?)),
        #[cfg(feature = "postgres")]
        Target::Postgres(config) => Ok(Box::new(pg::PgStore::open(*config, Shown::new(url), true)?)),
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
        assert!(matches!(open("mysql://x"), Err(StoreError::InvalidUrl { .. })));
        assert!(check_gold("r", &[1.0, f64::NAN], 2).is_err());
        assert!(check_gold("r", &[1.0], 2).is_err());
        assert!(check_gold("r", &[1.0, 2.0], 2).is_ok());
    }

    /// Every URL that is not a store is a usage error found before anything runs, and its message
    /// shows no secret.
    #[test]
    fn validation() {
        for ok in [
            "sqlite:x.db",
            "sqlite:/tmp/x.db",
            "sqlite:///tmp/x.db",
            "postgres://hedge@db/h",
            "postgresql://hedge:pw@db:5433/h?sslmode=disable&application_name=x",
            "postgres://hedge@%2Frun%2Fpostgresql/h",
            "postgres://hedge@/h?host=/run/postgresql",
        ] {
            assert!(validate_url(ok).is_ok(), "{ok}: {:?}", validate_url(ok));
        }
        for (bad, says) in [
            ("mysql://x", "unknown scheme \"mysql\""),
            ("", "expected sqlite:PATH"),
            ("store.db", "expected sqlite:PATH"),
            ("host=h user=u password=s3cret", "expected sqlite:PATH"),
            ("sqlite:", "empty"),
            ("sqlite://", "empty"),
            ("sqlite:a\0b", "NUL"),
            ("postgres://hedge@db:port/h", "port"),
            ("postgres://hedge@db/h?sslmode=maybe&password=s3cret", "sslmode"),
            ("postgres://hedge:s3cret@db/h?nonsense=1", "nonsense"),
            ("postgres://hedge:s3cret@db/h?password", "unterminated"),
            ("postgres://db/h?password=s3cret", "no user"),
            ("postgres://hedge:s3cret@/h", "no host"),
        ] {
            match validate_url(bad) {
                Err(e @ StoreError::InvalidUrl { .. }) => {
                    let text = e.to_string();
                    assert!(text.contains(says), "{bad:?}: {text}");
                    assert!(!text.contains("s3cret"), "{bad:?}: {text}");
                }
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }
}
