//! The PostgreSQL backend (`postgres://…`), for several `hedge serve` replicas sharing one store.
//!
//! It uses the synchronous [`postgres`] client, which drives its connection on a small tokio
//! runtime of its own and blocks on it: **a [`PgStore`] must not be used, nor dropped, on a thread
//! that is running an async runtime** (tokio panics: "Cannot start a runtime from within a
//! runtime"). `hedge serve` calls the store from its dedicated writer thread and from
//! `spawn_blocking`.
//!
//! The tables live in the URL's database, in the first schema of the role's `search_path`
//! (usually `public`); `options=-c%20search_path%3Dhedge` in the URL picks another schema. The
//! connection is plain TCP or a Unix socket (no TLS). A lost connection is reopened by the next call
//! (the call that met the loss fails), which also gives up the tuner lock.
//!
//! Both advisory-lock keys below are fixed 64-bit numbers: the ASCII bytes of a short tag, read
//! big-endian. Advisory locks are per database, so two hedge stores in different schemas of one
//! database share the tuner lock (one of them waits a round; nothing goes wrong).

use std::time::Duration;

use postgres::{Client, Config, GenericClient, NoTls, Row};

use crate::{
    Counts, Labelled, Replacement, RequestRecord, Result, SCHEMA_VERSION, Shown, Store, StoreError, TuningRecord,
    check_gold, nan_to_null, to_i64,
};

/// Session advisory lock held by the replica that tunes: `"hedge-tu"` = `0x6865_6467_652d_7475`.
const TUNER_LOCK_KEY: i64 = i64::from_be_bytes(*b"hedge-tu");

/// Transaction advisory lock taken while creating or migrating the schema (two replicas starting
/// at once would otherwise race on `CREATE TABLE`): `"hedge-mi"` = `0x6865_6467_652d_6d69`.
const MIGRATION_LOCK_KEY: i64 = i64::from_be_bytes(*b"hedge-mi");

/// Connect timeout used when the URL sets none (`connect_timeout=` in the URL overrides it).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The table holding the schema version; it exists in every version, so it is created before migrating.
const META: &str = "CREATE TABLE IF NOT EXISTS hedge_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);";

/// Migration steps: `STEPS[v]` takes a store from schema version `v` to `v + 1` (version 0: only
/// `hedge_meta`, or nothing). Version 2 is added by appending a step and bumping [`SCHEMA_VERSION`].
const STEPS: &[&str] = &[V1];
const _: () = assert!(
    STEPS.len() == SCHEMA_VERSION as usize,
    "one migration step per schema version"
);

/// Schema version 1; the same logical schema as the SQLite backend's (`sqlite.rs`). Ids use the "C"
/// collation so that ties in `labelled_at_ms` are broken in the same (byte) order as in SQLite.
/// Floats are nullable because a NaN is stored as NULL (`nan_to_null`), as SQLite must.
const V1: &str = r#"
CREATE TABLE requests (
    id TEXT COLLATE "C" PRIMARY KEY,
    at_ms BIGINT NOT NULL,
    model TEXT,
    method TEXT NOT NULL,
    theta DOUBLE PRECISION,
    n BIGINT NOT NULL,
    chosen BIGINT NOT NULL,
    latency_ms DOUBLE PRECISION,
    replica TEXT NOT NULL,
    calibration BOOLEAN NOT NULL,
    labelled_at_ms BIGINT
);
CREATE INDEX requests_labelled ON requests (labelled_at_ms, id);
CREATE TABLE candidates (
    request_id TEXT COLLATE "C" NOT NULL REFERENCES requests (id) ON DELETE CASCADE,
    idx BIGINT NOT NULL,
    proxy DOUBLE PRECISION,
    gold DOUBLE PRECISION,
    text TEXT,
    PRIMARY KEY (request_id, idx)
);
CREATE TABLE tunings (
    round BIGINT NOT NULL UNIQUE,
    at_ms BIGINT NOT NULL,
    replica TEXT NOT NULL,
    method TEXT NOT NULL,
    theta_before DOUBLE PRECISION,
    theta_tuned DOUBLE PRECISION,
    n BIGINT,
    window_prompts BIGINT NOT NULL,
    window_end_ms BIGINT NOT NULL,
    verdict TEXT NOT NULL,
    evidence JSONB NOT NULL,
    adopted BOOLEAN NOT NULL,
    reason TEXT NOT NULL
);
"#;

/// Columns of `tunings` in [`TuningRecord`]'s field order, as read by [`tuning_of_row`] (evidence as text).
const TUNING_SELECT: &str = "SELECT round, at_ms, replica, method, theta_before, theta_tuned, n, window_prompts, \
                             window_end_ms, verdict, evidence::text, adopted, reason FROM tunings";

/// A store in a PostgreSQL database (see the module documentation).
pub(crate) struct PgStore {
    client: Client,
    /// How to reconnect (the URL, password included).
    config: Config,
    name: Shown,
    /// Whether this session holds the tuner lock: session advisory locks stack, so a second
    /// `pg_try_advisory_lock` would need a second unlock; this keeps lock/unlock idempotent.
    tuner_locked: bool,
}

/// What a step can fail with, before the store's URL is attached: `?` works on both kinds.
enum Fail {
    Db(postgres::Error),
    Store(StoreError),
    /// Data in the database that this build cannot read back (a negative count, bad JSON).
    Data(String),
}

impl From<postgres::Error> for Fail {
    fn from(e: postgres::Error) -> Self {
        Fail::Db(e)
    }
}

impl From<StoreError> for Fail {
    fn from(e: StoreError) -> Self {
        Fail::Store(e)
    }
}

impl Fail {
    /// The error naming the store; the driver's and the server's messages are cleaned of the URL's
    /// secrets (a server may quote a connection parameter back).
    fn named(self, name: &Shown) -> StoreError {
        match self {
            Fail::Db(e) => StoreError::Backend {
                url: name.url.clone(),
                message: name.clean(&message(&e)),
            },
            Fail::Data(message) => StoreError::Backend {
                url: name.url.clone(),
                message: name.clean(&message),
            },
            Fail::Store(e) => e,
        }
    }
}

/// The error with its causes: `postgres::Error`'s own text is only its kind ("db error"); the
/// server's message (`ERROR: …`) and I/O errors are its sources.
pub(crate) fn message(e: &postgres::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text = format!("{text}: {s_text}");
        }
        source = s.source();
    }
    text
}

impl PgStore {
    /// Connect with `config` (parsed from the URL by `crate::parse`) and create or migrate the
    /// schema; with `read_only`, connect with read-only transactions and only check the schema
    /// version (nothing is created). `name` names the store in errors. Must not be called from a
    /// thread running an async runtime (module documentation).
    pub(crate) fn open(mut config: Config, name: Shown, read_only: bool) -> Result<Self> {
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("hedge");
        }
        if read_only {
            // Every transaction of the session read-only: the server refuses any write.
            let options = config.get_options().unwrap_or_default();
            config.options(format!("{options} -c default_transaction_read_only=on").trim_start());
        }
        let mut client = config.connect(NoTls).map_err(|e| Fail::from(e).named(&name))?;
        let ready = if read_only {
            check_version(&mut client, &name.url)
        } else {
            migrate(&mut client, &name.url)
        };
        ready.map_err(|e| e.named(&name))?;
        Ok(PgStore {
            client,
            config,
            name,
            tuner_locked: false,
        })
    }

    /// Run `f` on the connection (reopened first if it was lost), attaching the store's name to a
    /// database error.
    fn run<T>(&mut self, f: impl FnOnce(&mut Client) -> std::result::Result<T, Fail>) -> Result<T> {
        if self.client.is_closed() {
            self.client = self
                .config
                .connect(NoTls)
                .map_err(|e| Fail::from(e).named(&self.name))?;
            self.tuner_locked = false;
        }
        f(&mut self.client).map_err(|e| e.named(&self.name))
    }
}

/// Whether `hedge_meta` is in the schemas of the session's `search_path`.
fn has_meta(client: &mut impl GenericClient) -> std::result::Result<bool, Fail> {
    Ok(client
        .query_one("SELECT to_regclass('hedge_meta') IS NOT NULL", &[])?
        .try_get(0)?)
}

/// The schema version stored in `hedge_meta` (0 when none is).
fn stored_version(client: &mut impl GenericClient) -> std::result::Result<u32, Fail> {
    match client.query_opt("SELECT value FROM hedge_meta WHERE key = 'schema_version'", &[])? {
        None => Ok(0),
        Some(row) => {
            let v: String = row.try_get(0)?;
            v.trim()
                .parse::<u32>()
                .map_err(|_| Fail::Data(format!("schema_version {v:?} is not a number")))
        }
    }
}

/// The stored schema version, checked against this build's without changing anything (read-only
/// opens): no `hedge_meta` is [`StoreError::NotFound`], an older version [`StoreError::OlderSchema`],
/// a newer one [`StoreError::NewerSchema`].
fn check_version(client: &mut Client, url: &str) -> std::result::Result<(), Fail> {
    if !has_meta(client)? {
        return Err(Fail::Store(StoreError::NotFound {
            url: url.to_string(),
            reason: "the database has no table hedge_meta in its search_path: no hedge store here".into(),
        }));
    }
    let found = stored_version(client)?;
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

/// Create the schema, or migrate it from the stored version to [`SCHEMA_VERSION`], in one
/// transaction holding [`MIGRATION_LOCK_KEY`] (replicas opening at once take turns; DDL is
/// transactional in PostgreSQL, so a failed step leaves nothing behind). A stored version newer than
/// this build's is [`StoreError::NewerSchema`], and nothing is changed.
fn migrate(client: &mut Client, url: &str) -> std::result::Result<(), Fail> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK_KEY])?;
    tx.batch_execute(META)?;
    let found = stored_version(&mut tx)?;
    if found > SCHEMA_VERSION {
        return Err(Fail::Store(StoreError::NewerSchema {
            url: url.to_string(),
            found,
            supported: SCHEMA_VERSION,
        }));
    }
    for step in &STEPS[found as usize..] {
        tx.batch_execute(step)?;
    }
    if found < SCHEMA_VERSION {
        tx.execute(
            "INSERT INTO hedge_meta (key, value) VALUES ('schema_version', $1) \
             ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            &[&SCHEMA_VERSION.to_string()],
        )?;
    }
    tx.commit()?;
    Ok(())
}

/// A stored count or index back as `usize`.
fn to_usize(x: i64, what: &str) -> std::result::Result<usize, Fail> {
    usize::try_from(x).map_err(|_| Fail::Data(format!("{what} is {x}")))
}

/// A count (`count(*)` is a BIGINT, never negative).
fn count(
    client: &mut impl GenericClient,
    sql: &str,
    params: &[&(dyn postgres::types::ToSql + Sync)],
) -> std::result::Result<u64, Fail> {
    let n: i64 = client.query_one(sql, params)?.try_get(0)?;
    Ok(n.unsigned_abs())
}

fn tuning_of_row(row: &Row) -> std::result::Result<TuningRecord, Fail> {
    let round: i64 = row.try_get(0)?;
    let n: Option<i64> = row.try_get(6)?;
    let evidence: String = row.try_get(10)?;
    Ok(TuningRecord {
        round,
        at_ms: row.try_get(1)?,
        replica: row.try_get(2)?,
        method: row.try_get(3)?,
        theta_before: row.try_get::<_, Option<f64>>(4)?.unwrap_or(f64::NAN),
        theta_tuned: row.try_get::<_, Option<f64>>(5)?.unwrap_or(f64::NAN),
        n: n.map(|n| u64::try_from(n).map_err(|_| Fail::Data(format!("tuning {round}: n is {n}"))))
            .transpose()?,
        window_prompts: to_usize(row.try_get(7)?, "window_prompts")?,
        window_end_ms: row.try_get(8)?,
        verdict: row.try_get(9)?,
        evidence: serde_json::from_str(&evidence)
            .map_err(|e| Fail::Data(format!("tuning {round}: evidence is not JSON: {e}")))?,
        adopted: row.try_get(11)?,
        reason: row.try_get(12)?,
    })
}

impl Store for PgStore {
    fn url(&self) -> &str {
        &self.name.url
    }

    fn probe(&mut self) -> Result<()> {
        if self.run(has_meta)? {
            return Ok(());
        }
        Err(StoreError::Replaced {
            url: self.name.url.clone(),
            reason: Replacement::Removed,
        })
    }

    fn log_requests(&mut self, records: &[RequestRecord]) -> Result<()> {
        // The first record of each id (a later one with the same id is ignored, as in SQLite).
        let mut seen = std::collections::HashSet::new();
        let records: Vec<&RequestRecord> = records.iter().filter(|r| seen.insert(r.id.as_str())).collect();
        if records.is_empty() {
            return Ok(());
        }
        self.run(|client| {
            // Two statements per batch, whatever its size: the rows travel as arrays and `unnest`
            // turns them back into rows.
            let mut tx = client.transaction()?;
            let inserted = tx.query(
                "INSERT INTO requests (id, at_ms, model, method, theta, n, chosen, latency_ms, replica, calibration) \
                 SELECT * FROM unnest($1::text[], $2::int8[], $3::text[], $4::text[], $5::float8[], $6::int8[], \
                                      $7::int8[], $8::float8[], $9::text[], $10::bool[]) \
                 ON CONFLICT (id) DO NOTHING RETURNING id",
                &[
                    &records.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
                    &records.iter().map(|r| r.at_ms).collect::<Vec<_>>(),
                    &records.iter().map(|r| r.model.as_deref()).collect::<Vec<_>>(),
                    &records.iter().map(|r| r.method.as_str()).collect::<Vec<_>>(),
                    &records.iter().map(|r| nan_to_null(r.theta)).collect::<Vec<_>>(),
                    &records.iter().map(|r| to_i64(r.n)).collect::<Vec<_>>(),
                    &records.iter().map(|r| to_i64(r.chosen)).collect::<Vec<_>>(),
                    &records.iter().map(|r| nan_to_null(r.latency_ms)).collect::<Vec<_>>(),
                    &records.iter().map(|r| r.replica.as_str()).collect::<Vec<_>>(),
                    &records.iter().map(|r| r.calibration).collect::<Vec<_>>(),
                ],
            )?;
            // Candidates of the requests actually inserted (those already logged keep theirs).
            let new: std::collections::HashSet<String> = inserted
                .iter()
                .map(|row| row.try_get(0))
                .collect::<std::result::Result<_, _>>()?;
            let (mut ids, mut idxs, mut proxies, mut texts) = (vec![], vec![], vec![], vec![]);
            for r in records.iter().filter(|r| new.contains(&r.id)) {
                for (idx, c) in r.candidates.iter().enumerate() {
                    ids.push(r.id.as_str());
                    idxs.push(to_i64(idx));
                    proxies.push(c.proxy.and_then(nan_to_null));
                    texts.push(c.text.as_deref());
                }
            }
            if !ids.is_empty() {
                tx.execute(
                    "INSERT INTO candidates (request_id, idx, proxy, text) \
                     SELECT * FROM unnest($1::text[], $2::int8[], $3::float8[], $4::text[])",
                    &[&ids, &idxs, &proxies, &texts],
                )?;
            }
            tx.commit()?;
            Ok(())
        })
    }

    fn add_gold(&mut self, id: &str, rewards: &[f64], at_ms: i64) -> Result<()> {
        self.run(|client| {
            let mut tx = client.transaction()?;
            // FOR UPDATE: a second replica labelling the same request waits here, then sees it labelled.
            let Some(row) = tx.query_opt("SELECT labelled_at_ms FROM requests WHERE id = $1 FOR UPDATE", &[&id])?
            else {
                return Err(StoreError::UnknownRequest(id.to_string()).into());
            };
            let labelled_at: Option<i64> = row.try_get(0)?;
            let n = count(&mut tx, "SELECT count(*) FROM candidates WHERE request_id = $1", &[&id])?;
            check_gold(id, rewards, usize::try_from(n).unwrap_or(usize::MAX))?;
            if labelled_at.is_some() {
                return Err(StoreError::AlreadyLabelled(id.to_string()).into());
            }
            tx.execute(
                "UPDATE candidates SET gold = g.gold \
                 FROM unnest($2::float8[]) WITH ORDINALITY AS g (gold, ord) \
                 WHERE candidates.request_id = $1 AND candidates.idx = g.ord - 1",
                &[&id, &rewards],
            )?;
            tx.execute("UPDATE requests SET labelled_at_ms = $2 WHERE id = $1", &[&id, &at_ms])?;
            tx.commit()?;
            Ok(())
        })
    }

    fn candidates_of(&mut self, id: &str) -> Result<Option<usize>> {
        self.run(|client| {
            let row = client.query_opt(
                "SELECT (SELECT count(*) FROM candidates WHERE request_id = r.id) FROM requests AS r WHERE r.id = $1",
                &[&id],
            )?;
            row.map(|row| to_usize(row.try_get(0)?, "candidate count")).transpose()
        })
    }

    fn labelled(&mut self, since_ms: Option<i64>, last: Option<usize>) -> Result<Vec<Labelled>> {
        self.run(|client| {
            // As in SQLite: the most recent `last` labelled requests (LIMIT NULL: all), then their
            // candidates with a proxy score, oldest first; LEFT JOIN keeps a request with none.
            let rows = client.query(
                "SELECT r.id, r.labelled_at_ms, c.idx, c.proxy, c.gold \
                 FROM (SELECT id, labelled_at_ms FROM requests \
                       WHERE labelled_at_ms IS NOT NULL AND labelled_at_ms >= $1 \
                       ORDER BY labelled_at_ms DESC, id DESC LIMIT $2) AS r \
                 LEFT JOIN candidates AS c ON c.request_id = r.id AND c.proxy IS NOT NULL \
                 ORDER BY r.labelled_at_ms, r.id, c.idx",
                &[&since_ms.unwrap_or(i64::MIN), &last.map(to_i64)],
            )?;
            let mut out: Vec<Labelled> = Vec::new();
            for row in &rows {
                let id: &str = row.try_get(0)?;
                if out.last().is_none_or(|l| l.id != id) {
                    out.push(Labelled {
                        id: id.to_string(),
                        labelled_at_ms: row.try_get(1)?,
                        proxy: vec![],
                        gold: vec![],
                        index: vec![],
                    });
                }
                let (Some(idx), Some(proxy)) = (row.try_get::<_, Option<i64>>(2)?, row.try_get::<_, Option<f64>>(3)?)
                else {
                    continue;
                };
                let gold: Option<f64> = row.try_get(4)?;
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
        self.run(|client| {
            count(
                client,
                "SELECT count(*) FROM requests WHERE labelled_at_ms IS NOT NULL",
                &[],
            )
        })
    }

    fn record_tuning(&mut self, t: &TuningRecord) -> Result<bool> {
        self.run(|client| {
            let n = t
                .n
                .map(|n| i64::try_from(n).map_err(|_| Fail::Data(format!("tuning {}: n = {n} is too large", t.round))))
                .transpose()?;
            let evidence = serde_json::to_string(&t.evidence).map_err(|e| Fail::Data(e.to_string()))?;
            // The UNIQUE round decides, atomically: of two replicas recording a round, one wins.
            let inserted = client.execute(
                "INSERT INTO tunings (round, at_ms, replica, method, theta_before, theta_tuned, n, window_prompts, \
                                      window_end_ms, verdict, evidence, adopted, reason) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::text::jsonb, $12, $13) \
                 ON CONFLICT (round) DO NOTHING",
                &[
                    &t.round,
                    &t.at_ms,
                    &t.replica,
                    &t.method,
                    &nan_to_null(t.theta_before),
                    &nan_to_null(t.theta_tuned),
                    &n,
                    &to_i64(t.window_prompts),
                    &t.window_end_ms,
                    &t.verdict,
                    &evidence,
                    &t.adopted,
                    &t.reason,
                ],
            )?;
            Ok(inserted == 1)
        })
    }

    fn tunings(&mut self) -> Result<Vec<TuningRecord>> {
        self.run(|client| {
            // Rounds only grow (a round is a count of labelled prompts), so they order tunings even
            // when the replicas' clocks disagree.
            let rows = client.query(&format!("{TUNING_SELECT} ORDER BY round"), &[])?;
            rows.iter().map(tuning_of_row).collect()
        })
    }

    fn latest_adopted(&mut self) -> Result<Option<TuningRecord>> {
        self.run(|client| {
            let row = client.query_opt(
                &format!("{TUNING_SELECT} WHERE adopted ORDER BY round DESC LIMIT 1"),
                &[],
            )?;
            row.as_ref().map(tuning_of_row).transpose()
        })
    }

    fn try_lock_tuner(&mut self) -> Result<bool> {
        if self.tuner_locked && !self.client.is_closed() {
            return Ok(true);
        }
        let locked = self.run(|client| {
            let row = client.query_one("SELECT pg_try_advisory_lock($1)", &[&TUNER_LOCK_KEY])?;
            Ok(row.try_get::<_, bool>(0)?)
        })?;
        self.tuner_locked = locked;
        Ok(locked)
    }

    fn unlock_tuner(&mut self) -> Result<()> {
        if !self.tuner_locked {
            return Ok(());
        }
        self.tuner_locked = false;
        if self.client.is_closed() {
            // The lock went with the connection.
            return Ok(());
        }
        self.run(|client| {
            client.execute("SELECT pg_advisory_unlock($1)", &[&TUNER_LOCK_KEY])?;
            Ok(())
        })
    }

    fn counts(&mut self) -> Result<Counts> {
        self.run(|client| {
            let row = client.query_one(
                "SELECT (SELECT count(*) FROM requests), \
                        (SELECT count(*) FROM requests WHERE calibration), \
                        (SELECT count(*) FROM requests WHERE labelled_at_ms IS NOT NULL), \
                        (SELECT count(*) FROM tunings)",
                &[],
            )?;
            let get = |i: usize| row.try_get::<_, i64>(i).map(i64::unsigned_abs);
            Ok(Counts {
                requests: get(0)?,
                calibration_requests: get(1)?,
                labelled: get(2)?,
                tunings: get(3)?,
            })
        })
    }
}
