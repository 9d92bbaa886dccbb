//! The SQLite backend (`sqlite:PATH`): one embedded file in WAL mode, created on first use.
//!
//! One process owns the file (`hedge serve` with its writer thread); other processes may read it
//! (`hedge export`) while it is being written, which WAL allows. Every write is one transaction,
//! started with `BEGIN IMMEDIATE` so that a reader never has to upgrade to a writer mid-transaction
//! (the one case where SQLite's busy handler cannot help and returns `SQLITE_BUSY` at once).

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};

use crate::{
    Counts, Labelled, Replacement, RequestRecord, Result, SCHEMA_VERSION, Shown, Store, StoreError, TuningRecord,
    check_gold, nan_to_null, to_i64,
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
    name: Shown,
    /// The database file and its identity when it was opened ([`Store::probe`]); `None` in memory.
    file: Option<(PathBuf, FileId)>,
}

/// Which file a path names: (device, inode) on Unix; elsewhere only that there is one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileId {
    #[cfg(unix)]
    dev: u64,
    #[cfg(unix)]
    ino: u64,
}

impl FileId {
    fn of(path: &Path) -> std::io::Result<FileId> {
        let meta = std::fs::metadata(path)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            Ok(FileId {
                dev: meta.dev(),
                ino: meta.ino(),
            })
        }
        #[cfg(not(unix))]
        {
            let _ = meta;
            Ok(FileId {})
        }
    }
}

/// What a step can fail with, before the store's name is attached: `?` works on both kinds.
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
    /// The error naming the store; SQLite's message may quote the path (and a URI's parameters), so
    /// it is cleaned of the URL's secrets.
    fn named(self, name: &Shown) -> StoreError {
        match self {
            Fail::Db(e) => StoreError::Backend {
                url: name.url.clone(),
                message: name.clean(&e.to_string()),
            },
            Fail::Data(message) => StoreError::Backend {
                url: name.url.clone(),
                message: name.clean(&message),
            },
            Fail::Store(e) => e,
        }
    }
}

impl SqliteStore {
    /// Open the file at `path` (creating it and its parent directory on first use), set the
    /// connection up and create or migrate the schema. `name` names the store in errors.
    pub(crate) fn open(path: &str, name: Shown) -> Result<Self> {
        // (A `file:` URI is the caller's own: SQLite resolves it; its "parent" is no directory to create.)
        let parent = Path::new(path)
            .parent()
            .filter(|d| !d.as_os_str().is_empty() && !path.starts_with("file:"));
        if let Some(dir) = parent {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Backend {
                url: name.url.clone(),
                message: name.clean(&format!("cannot create the directory {}: {e}", dir.display())),
            })?;
        }
        let mut conn = Connection::open(path).map_err(|e| Fail::from(e).named(&name))?;
        setup(&mut conn, &name.url).map_err(|e| e.named(&name))?;
        let file = identify(&conn, &name)?;
        Ok(SqliteStore { conn, name, file })
    }

    /// Open the existing file at `path` read-only, creating nothing (see [`crate::open_read_only`]
    /// for when it is opened immutable), and check its schema version without migrating.
    pub(crate) fn open_read_only(path: &str, name: Shown) -> Result<Self> {
        let uri_given = path.starts_with("file:");
        let not_found = |reason: String| StoreError::NotFound {
            url: name.url.clone(),
            reason: name.clean(&reason),
        };
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = if uri_given || path == ":memory:" {
            // The caller's own URI: its parameters are the caller's choice.
            Connection::open_with_flags(path, flags)
        } else {
            match std::fs::metadata(path) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(not_found(format!(
                        "no such file {path} (a store is created by hedge serve --store)"
                    )));
                }
                Err(e) => {
                    return Err(StoreError::Backend {
                        url: name.url.clone(),
                        message: name.clean(&format!("{path}: {e}")),
                    });
                }
                Ok(m) if m.is_dir() => return Err(not_found(format!("{path} is a directory, not a database file"))),
                Ok(_) => {}
            }
            // No -wal file: no connection has the database open, so nothing can be missed by reading
            // the file alone, and `immutable` spares creating -wal and -shm.
            let immutable = !Path::new(&format!("{path}-wal")).exists();
            Connection::open_with_flags(file_uri(path, immutable), flags)
        }
        .map_err(|e| Fail::from(e).named(&name))?;
        let setup = |conn: &Connection| -> std::result::Result<(), Fail> {
            conn.busy_timeout(BUSY_TIMEOUT)?;
            conn.pragma_update(None, "query_only", true)?;
            Ok(())
        };
        setup(&conn).map_err(|e| e.named(&name))?;
        check_version(&conn, &name.url).map_err(|e| e.named(&name))?;
        let file = identify(&conn, &name)?;
        Ok(SqliteStore { conn, name, file })
    }

    /// Run `f` on the connection, attaching the store's name to a database error.
    fn run<T>(&mut self, f: impl FnOnce(&mut Connection) -> std::result::Result<T, Fail>) -> Result<T> {
        f(&mut self.conn).map_err(|e| e.named(&self.name))
    }
}

/// `path` as an SQLite URI (`file:`, percent-escaped) for a read-only connection, `immutable` or not.
fn file_uri(path: &str, immutable: bool) -> String {
    let mut uri = String::from(if path.starts_with('/') { "file://" } else { "file:" });
    for b in path.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' | b':' | b'+' | b',' | b'=' => {
                uri.push(char::from(b))
            }
            _ => uri.push_str(&format!("%{b:02X}")),
        }
    }
    uri.push_str(if immutable { "?mode=ro&immutable=1" } else { "?mode=ro" });
    uri
}

/// The database file of `conn` and its identity now (`None` for a database in memory).
fn identify(conn: &Connection, name: &Shown) -> Result<Option<(PathBuf, FileId)>> {
    let Some(path) = conn.path().filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    let path = PathBuf::from(path);
    let id = FileId::of(&path).map_err(|e| StoreError::Backend {
        url: name.url.clone(),
        message: name.clean(&format!("{}: {e}", path.display())),
    })?;
    Ok(Some((path, id)))
}

/// The stored schema version, checked against this build's without changing anything (read-only
/// opens): no `hedge_meta` is [`StoreError::NotFound`], an older version [`StoreError::OlderSchema`],
/// a newer one [`StoreError::NewerSchema`].
fn check_version(conn: &Connection, url: &str) -> std::result::Result<(), Fail> {
    let has_meta: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'hedge_meta')",
        [],
        |r| r.get(0),
    )?;
    if !has_meta {
        return Err(Fail::Store(StoreError::NotFound {
            url: url.to_string(),
            reason: "the file has no table hedge_meta: not a hedge store".into(),
        }));
    }
    let found = stored_version(conn)?;
    version_fits(found, url)
}

/// The schema version stored in `hedge_meta` (0 when none is).
fn stored_version(conn: &Connection) -> std::result::Result<u32, Fail> {
    let stored: Option<String> = conn
        .query_row("SELECT value FROM hedge_meta WHERE key = 'schema_version'", [], |r| {
            r.get(0)
        })
        .optional()?;
    match stored {
        None => Ok(0),
        Some(v) => v
            .trim()
            .parse::<u32>()
            .map_err(|_| Fail::Data(format!("schema_version {v:?} is not a number"))),
    }
}

/// A stored version this build reads as it is: [`SCHEMA_VERSION`].
fn version_fits(found: u32, url: &str) -> std::result::Result<(), Fail> {
    match found.cmp(&SCHEMA_VERSION) {
        std::cmp::Ordering::Equal => Ok(()),
        std::cmp::Ordering::Greater => Err(Fail::Store(StoreError::NewerSchema {
            url: url.to_string(),
            found,
            supported: SCHEMA_VERSION,
        })),
        std::cmp::Ordering::Less => Err(Fail::Store(StoreError::OlderSchema {
            url: url.to_string(),
            found,
            supported: SCHEMA_VERSION,
        })),
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
    let found = stored_version(&tx)?;
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
        &self.name.url
    }

    fn probe(&mut self) -> Result<()> {
        let Some((path, id)) = &self.file else {
            return Ok(());
        };
        let reason = match FileId::of(path) {
            Ok(now) if now == *id => return Ok(()),
            Ok(_) => Replacement::ReplacedByAnotherFile,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Replacement::Removed,
            Err(e) => {
                return Err(StoreError::Backend {
                    url: self.name.url.clone(),
                    message: self.name.clean(&format!("{}: {e}", path.display())),
                });
            }
        };
        Err(StoreError::Replaced {
            url: self.name.url.clone(),
            reason,
        })
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
