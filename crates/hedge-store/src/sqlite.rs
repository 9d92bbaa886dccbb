//! The SQLite backend (`sqlite:PATH`): one embedded file in WAL mode, created on first use.
//!
//! One process owns the file (`hedge serve` with its writer thread); other processes may read it
//! (`hedge export`) while it is being written, which WAL allows. Every write is one transaction,
//! started with `BEGIN IMMEDIATE` so that a reader never has to upgrade to a writer mid-transaction
//! (the one case where SQLite's busy handler cannot help and returns `SQLITE_BUSY` at once).

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::{
    Counts, Labelled, RequestRecord, Result, SCHEMA_VERSION, Store, StoreError, TuningRecord, check_gold, nan_to_null,
    to_i64,
};

/// How long a statement waits for another connection's write lock before failing with "database is locked".
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The table holding the schema version; it exists in every version, so it is created before migrating.
const META: &str = "CREATE TABLE IF NOT EXISTS hedge_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;";

/// Migration steps: `STEPS[v]` takes a store from schema version `v` to `v + 1` (version 0: only
/// `hedge_meta`, or nothing). Version 2 is added by appending a step and bumping [`SCHEMA_VERSION`].
const STEPS: &[&str] = &[V1];
const _: () = assert!(
    STEPS.len() == SCHEMA_VERSION as usize,
    "one migration step per schema version"
);

/// Schema version 1; the same logical schema as the PostgreSQL backend's (`pg.rs`). Tables are
/// `STRICT` (types enforced). Floats are nullable because a NaN is stored as NULL (`nan_to_null`).
/// Booleans are integers 0/1; `evidence` is JSON text.
const V1: &str = "
CREATE TABLE requests (
    id TEXT PRIMARY KEY,
    at_ms INTEGER NOT NULL,
    model TEXT,
    method TEXT NOT NULL,
    theta REAL,
    n INTEGER NOT NULL,
    chosen INTEGER NOT NULL,
    latency_ms REAL,
    replica TEXT NOT NULL,
    calibration INTEGER NOT NULL,
    labelled_at_ms INTEGER
) STRICT;
CREATE INDEX requests_labelled ON requests (labelled_at_ms, id);
CREATE TABLE candidates (
    request_id TEXT NOT NULL REFERENCES requests (id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    proxy REAL,
    gold REAL,
    text TEXT,
    PRIMARY KEY (request_id, idx)
) STRICT;
CREATE TABLE tunings (
    round INTEGER NOT NULL UNIQUE,
    at_ms INTEGER NOT NULL,
    replica TEXT NOT NULL,
    method TEXT NOT NULL,
    theta_before REAL,
    theta_tuned REAL,
    n INTEGER,
    window_prompts INTEGER NOT NULL,
    window_end_ms INTEGER NOT NULL,
    verdict TEXT NOT NULL,
    evidence TEXT NOT NULL,
    adopted INTEGER NOT NULL,
    reason TEXT NOT NULL
) STRICT;
";

/// Columns of `tunings` in [`TuningRecord`]'s field order (read by [`tuning_of_row`]).
const TUNING_COLUMNS: &str = "round, at_ms, replica, method, theta_before, theta_tuned, n, window_prompts, \
                              window_end_ms, verdict, evidence, adopted, reason";

/// A store in one SQLite file.
pub(crate) struct SqliteStore {
    conn: Connection,
    url: String,
}

/// What a step can fail with, before the store's URL is attached: `?` works on both kinds.
enum Fail {
    Db(rusqlite::Error),
    Store(StoreError),
    /// Data in the file that this build cannot read back (a negative count, bad JSON).
    Data(String),
}

impl From<rusqlite::Error> for Fail {
    fn from(e: rusqlite::Error) -> Self {
        Fail::Db(e)
    }
}

impl From<StoreError> for Fail {
    fn from(e: StoreError) -> Self {
        Fail::Store(e)
    }
}

impl Fail {
    fn with_url(self, url: &str) -> StoreError {
        match self {
            Fail::Db(e) => StoreError::Backend {
                url: url.to_string(),
                message: e.to_string(),
            },
            Fail::Data(message) => StoreError::Backend {
                url: url.to_string(),
                message,
            },
            Fail::Store(e) => e,
        }
    }
}

impl SqliteStore {
    /// Open the file at `path` (creating it and its parent directory on first use), set the
    /// connection up and create or migrate the schema. `shown_url` names the store in errors.
    pub(crate) fn open(path: &str, shown_url: &str) -> Result<Self> {
        let url = shown_url.to_string();
        if path.is_empty() {
            return Err(StoreError::InvalidUrl {
                url,
                reason: "the path after sqlite: is empty".into(),
            });
        }
        if let Some(dir) = Path::new(path).parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Backend {
                url: url.clone(),
                message: format!("cannot create the directory {}: {e}", dir.display()),
            })?;
        }
        let mut conn = Connection::open(path).map_err(|e| Fail::from(e).with_url(&url))?;
        setup(&mut conn, &url).map_err(|e| e.with_url(&url))?;
        Ok(SqliteStore { conn, url })
    }

    /// Run `f` on the connection, attaching the store's URL to a database error.
    fn run<T>(&mut self, f: impl FnOnce(&mut Connection) -> std::result::Result<T, Fail>) -> Result<T> {
        f(&mut self.conn).map_err(|e| e.with_url(&self.url))
    }
}

/// Set the connection up, then create or migrate the schema.
fn setup(conn: &mut Connection, url: &str) -> std::result::Result<(), Fail> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // WAL: readers (`hedge export`) do not block the writer, and a commit appends to the log.
    // synchronous=NORMAL: in WAL mode a commit is then written to the log but the log is only
    // fsynced at checkpoints. A committed transaction survives the process dying (kill -9, a
    // panic, the OOM killer): the write is in the OS's page cache. That is the guarantee
    // `hedge serve` makes. A power loss or an OS crash may lose the last transactions (never
    // corrupt the file); `FULL` would fsync on every commit to cover that too, at a cost.
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") && !mode.eq_ignore_ascii_case("memory") {
        return Err(Fail::Data(format!(
            "cannot switch to WAL mode (journal_mode is {mode})"
        )));
    }
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    migrate(conn, url)
}

/// Create the schema, or migrate it from the stored version to [`SCHEMA_VERSION`], in one
/// `IMMEDIATE` transaction (two processes opening a new file at once take turns). A stored version
/// newer than this build's is [`StoreError::NewerSchema`], and nothing is changed.
fn migrate(conn: &mut Connection, url: &str) -> std::result::Result<(), Fail> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch(META)?;
    let stored: Option<String> = tx
        .query_row("SELECT value FROM hedge_meta WHERE key = 'schema_version'", [], |r| {
            r.get(0)
        })
        .optional()?;
    let found = match stored {
        None => 0,
        Some(v) => v
            .trim()
            .parse::<u32>()
            .map_err(|_| Fail::Data(format!("schema_version {v:?} is not a number")))?,
    };
    if found > SCHEMA_VERSION {
        return Err(Fail::Store(StoreError::NewerSchema {
            url: url.to_string(),
            found,
            supported: SCHEMA_VERSION,
        }));
    }
    for step in &STEPS[found as usize..] {
        tx.execute_batch(step)?;
    }
    if found < SCHEMA_VERSION {
        tx.execute(
            "INSERT INTO hedge_meta (key, value) VALUES ('schema_version', ?1) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [SCHEMA_VERSION.to_string()],
        )?;
    }
    tx.commit()?;
    Ok(())
}

/// A stored count or index back as `usize`.
fn to_usize(x: i64, what: &str) -> std::result::Result<usize, Fail> {
    usize::try_from(x).map_err(|_| Fail::Data(format!("{what} is {x}")))
}

/// The raw columns of a `tunings` row, in [`TUNING_COLUMNS`] order.
type TuningRow = (
    i64,
    i64,
    String,
    String,
    Option<f64>,
    Option<f64>,
    Option<i64>,
    i64,
    i64,
    String,
    String,
    bool,
    String,
);

fn tuning_of_row(row: TuningRow) -> std::result::Result<TuningRecord, Fail> {
    let (
        round,
        at_ms,
        replica,
        method,
        theta_before,
        theta_tuned,
        n,
        window_prompts,
        window_end_ms,
        verdict,
        evidence,
        adopted,
        reason,
    ) = row;
    Ok(TuningRecord {
        round,
        at_ms,
        replica,
        method,
        theta_before: theta_before.unwrap_or(f64::NAN),
        theta_tuned: theta_tuned.unwrap_or(f64::NAN),
        n: n.map(|n| u64::try_from(n).map_err(|_| Fail::Data(format!("tuning {round}: n is {n}"))))
            .transpose()?,
        window_prompts: to_usize(window_prompts, "window_prompts")?,
        window_end_ms,
        verdict,
        evidence: serde_json::from_str(&evidence)
            .map_err(|e| Fail::Data(format!("tuning {round}: evidence is not JSON: {e}")))?,
        adopted,
        reason,
    })
}

fn read_tuning(r: &rusqlite::Row<'_>) -> rusqlite::Result<TuningRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
        r.get(9)?,
        r.get(10)?,
        r.get(11)?,
        r.get(12)?,
    ))
}

impl Store for SqliteStore {
    fn url(&self) -> &str {
        &self.url
    }

    fn log_requests(&mut self, records: &[RequestRecord]) -> Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        self.run(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            {
                let mut request = tx.prepare_cached(
                    "INSERT INTO requests (id, at_ms, model, method, theta, n, chosen, latency_ms, replica, calibration) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT (id) DO NOTHING",
                )?;
                let mut candidate =
                    tx.prepare_cached("INSERT INTO candidates (request_id, idx, proxy, text) VALUES (?1, ?2, ?3, ?4)")?;
                for r in records {
                    let inserted = request.execute(params![
                        r.id,
                        r.at_ms,
                        r.model,
                        r.method,
                        nan_to_null(r.theta),
                        to_i64(r.n),
                        to_i64(r.chosen),
                        nan_to_null(r.latency_ms),
                        r.replica,
                        r.calibration,
                    ])?;
                    // Already logged (here or earlier in this batch): keep the first record and its candidates.
                    if inserted == 0 {
                        continue;
                    }
                    for (idx, c) in r.candidates.iter().enumerate() {
                        candidate.execute(params![r.id, to_i64(idx), c.proxy.and_then(nan_to_null), c.text])?;
                    }
                }
            }
            tx.commit()?;
            Ok(())
        })
    }

    fn add_gold(&mut self, id: &str, rewards: &[f64], at_ms: i64) -> Result<()> {
        self.run(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let labelled_at: Option<Option<i64>> = tx
                .query_row("SELECT labelled_at_ms FROM requests WHERE id = ?1", [id], |r| r.get(0))
                .optional()?;
            let Some(labelled_at) = labelled_at else {
                return Err(StoreError::UnknownRequest(id.to_string()).into());
            };
            let count: i64 = tx.query_row("SELECT count(*) FROM candidates WHERE request_id = ?1", [id], |r| {
                r.get(0)
            })?;
            check_gold(id, rewards, to_usize(count, "candidate count")?)?;
            if labelled_at.is_some() {
                return Err(StoreError::AlreadyLabelled(id.to_string()).into());
            }
            {
                let mut gold =
                    tx.prepare_cached("UPDATE candidates SET gold = ?3 WHERE request_id = ?1 AND idx = ?2")?;
                for (idx, g) in rewards.iter().enumerate() {
                    gold.execute(params![id, to_i64(idx), g])?;
                }
            }
            tx.execute(
                "UPDATE requests SET labelled_at_ms = ?2 WHERE id = ?1",
                params![id, at_ms],
            )?;
            tx.commit()?;
            Ok(())
        })
    }

    fn candidates_of(&mut self, id: &str) -> Result<Option<usize>> {
        self.run(|conn| {
            let count: Option<i64> = conn
                .query_row(
                    "SELECT (SELECT count(*) FROM candidates WHERE request_id = r.id) FROM requests AS r WHERE r.id = ?1",
                    [id],
                    |r| r.get(0),
                )
                .optional()?;
            count.map(|c| to_usize(c, "candidate count")).transpose()
        })
    }

    fn labelled(&mut self, since_ms: Option<i64>, last: Option<usize>) -> Result<Vec<Labelled>> {
        self.run(|conn| {
            // The most recent `last` labelled requests (LIMIT -1: all), then their candidates with a
            // proxy score, everything oldest first. LEFT JOIN keeps a labelled request none of whose
            // candidates has a proxy score (with empty vectors), so `labelled(None, None).len()` is
            // `labelled_count()`.
            let mut stmt = conn.prepare_cached(
                "SELECT r.id, r.labelled_at_ms, c.idx, c.proxy, c.gold \
                 FROM (SELECT id, labelled_at_ms FROM requests \
                       WHERE labelled_at_ms IS NOT NULL AND labelled_at_ms >= ?1 \
                       ORDER BY labelled_at_ms DESC, id DESC LIMIT ?2) AS r \
                 LEFT JOIN candidates AS c ON c.request_id = r.id AND c.proxy IS NOT NULL \
                 ORDER BY r.labelled_at_ms, r.id, c.idx",
            )?;
            let limit = last.map_or(-1, to_i64);
            let rows = stmt.query_map(params![since_ms.unwrap_or(i64::MIN), limit], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, Option<i64>>(2)?,
                    r.get::<_, Option<f64>>(3)?,
                    r.get::<_, Option<f64>>(4)?,
                ))
            })?;
            let mut out: Vec<Labelled> = Vec::new();
            for row in rows {
                let (id, labelled_at_ms, idx, proxy, gold) = row?;
                if out.last().is_none_or(|l| l.id != id) {
                    out.push(Labelled {
                        id,
                        labelled_at_ms,
                        proxy: vec![],
                        gold: vec![],
                        index: vec![],
                    });
                }
                let (Some(idx), Some(proxy)) = (idx, proxy) else {
                    continue;
                };
                let l = out.last_mut().expect("pushed above");
                l.index.push(to_usize(idx, "candidate index")?);
                l.proxy.push(proxy);
                l.gold.push(
                    gold.ok_or_else(|| Fail::Data(format!("labelled request {} has a candidate with no gold", l.id)))?,
                );
            }
            Ok(out)
        })
    }

    fn labelled_count(&mut self) -> Result<u64> {
        self.run(|conn| {
            let n: i64 = conn.query_row(
                "SELECT count(*) FROM requests WHERE labelled_at_ms IS NOT NULL",
                [],
                |r| r.get(0),
            )?;
            Ok(n.unsigned_abs())
        })
    }

    fn record_tuning(&mut self, t: &TuningRecord) -> Result<bool> {
        self.run(|conn| {
            let n = t.n.map(|n| i64::try_from(n).map_err(|_| Fail::Data(format!("tuning {}: n = {n} is too large", t.round)))).transpose()?;
            let evidence = serde_json::to_string(&t.evidence).map_err(|e| Fail::Data(e.to_string()))?;
            // The UNIQUE round decides, atomically: no check-then-insert race between writers.
            let inserted = conn.execute(
                &format!(
                    "INSERT INTO tunings ({TUNING_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) \
                     ON CONFLICT (round) DO NOTHING"
                ),
                params![
                    t.round,
                    t.at_ms,
                    t.replica,
                    t.method,
                    nan_to_null(t.theta_before),
                    nan_to_null(t.theta_tuned),
                    n,
                    to_i64(t.window_prompts),
                    t.window_end_ms,
                    t.verdict,
                    evidence,
                    t.adopted,
                    t.reason,
                ],
            )?;
            Ok(inserted == 1)
        })
    }

    fn tunings(&mut self) -> Result<Vec<TuningRecord>> {
        self.run(|conn| {
            // Rounds only grow (a round is a count of labelled prompts), so they order tunings even
            // when the replicas' clocks disagree.
            let mut stmt = conn.prepare_cached(&format!("SELECT {TUNING_COLUMNS} FROM tunings ORDER BY round"))?;
            let rows = stmt.query_map([], read_tuning)?;
            rows.map(|r| tuning_of_row(r?)).collect()
        })
    }

    fn latest_adopted(&mut self) -> Result<Option<TuningRecord>> {
        self.run(|conn| {
            let row = conn
                .query_row(
                    &format!("SELECT {TUNING_COLUMNS} FROM tunings WHERE adopted ORDER BY round DESC LIMIT 1"),
                    [],
                    read_tuning,
                )
                .optional()?;
            row.map(tuning_of_row).transpose()
        })
    }

    fn try_lock_tuner(&mut self) -> Result<bool> {
        // One process owns an SQLite store, so it is always the tuner.
        Ok(true)
    }

    fn unlock_tuner(&mut self) -> Result<()> {
        Ok(())
    }

    fn counts(&mut self) -> Result<Counts> {
        self.run(|conn| {
            let (requests, calibration_requests, labelled, tunings): (i64, i64, i64, i64) = conn.query_row(
                "SELECT (SELECT count(*) FROM requests), \
                        (SELECT count(*) FROM requests WHERE calibration), \
                        (SELECT count(*) FROM requests WHERE labelled_at_ms IS NOT NULL), \
                        (SELECT count(*) FROM tunings)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )?;
            Ok(Counts {
                requests: requests.unsigned_abs(),
                calibration_requests: calibration_requests.unsigned_abs(),
                labelled: labelled.unsigned_abs(),
                tunings: tunings.unsigned_abs(),
            })
        })
    }
}
