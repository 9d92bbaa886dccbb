//! Behaviour tests of both backends: one suite ([`behaviour`]) and one reopen check ([`reopen`]), each
//! run against SQLite (in a temporary directory) and PostgreSQL; then what only one backend has: the
//! tuner lock shared by PostgreSQL connections, SQLite's durability when its writer is killed.
//!
//! **PostgreSQL.** `HEDGE_TEST_POSTGRES_URL` names a database whose role may create databases
//! (`CREATEDB`). Each test creates a database of its own, `hedge_t_<pid>_<n>`, and drops it at the
//! end (also when the test fails): tests run in parallel without seeing each other's tables, and the
//! advisory locks, which PostgreSQL scopes to a database, do not collide. The databases use ICU's
//! `en-US` collation where the server has ICU, under which `"a2" < "B1"`: the store must still order
//! ids bytewise, as SQLite does. `bash tests/pg.sh start` (from the workspace root) starts a
//! throw-away cluster and prints the `export` line. Without the variable the PostgreSQL tests fail,
//! saying so, unless `HEDGE_SKIP_POSTGRES=1` (then they print SKIPPED and pass).

#![cfg(any(feature = "sqlite", feature = "postgres"))]

use hedge_store::{
    Candidate, Counts, Replacement, RequestRecord, Round, SCHEMA_VERSION, Store, StoreError, TuningRecord, open,
    open_read_only,
};
use serde_json::json;

// ---------------------------------------------------------------------------------------------
// Fixtures

fn record(id: &str, at_ms: i64, proxies: &[Option<f64>], calibration: bool) -> RequestRecord {
    RequestRecord {
        id: id.into(),
        at_ms,
        model: (at_ms % 2 == 0).then(|| "m".to_string()),
        method: "bon".into(),
        theta: 4.0,
        n: proxies.len().min(2),
        chosen: 0,
        latency_ms: 12.5,
        replica: "a".into(),
        calibration,
        candidates: proxies
            .iter()
            .enumerate()
            .map(|(i, &proxy)| Candidate {
                proxy,
                text: (i == 0).then(|| format!("text of {id}")),
            })
            .collect(),
    }
}

fn tuning(round: i64, adopted: bool) -> TuningRecord {
    TuningRecord {
        round,
        at_ms: 1_000 + round,
        replica: if round % 2 == 0 { "a" } else { "b" }.into(),
        method: "sbon".into(),
        theta_before: 2.0,
        theta_tuned: 3.5 + round as f64,
        n: (round % 2 == 0).then_some(8),
        window_prompts: 100 + round as usize,
        window_end_ms: 900 + round,
        verdict: "hacking".into(),
        evidence: json!({"z_last": 1, "a_first": [1.5, null, "x"], "nested": {"k": true, "gain": -0.25}}),
        adopted,
        reason: format!("round {round}"),
    }
}

fn counts(store: &mut dyn Store) -> Counts {
    store.counts().unwrap()
}

fn ids(store: &mut dyn Store, since: Option<i64>, last: Option<usize>) -> Vec<String> {
    store.labelled(since, last).unwrap().into_iter().map(|l| l.id).collect()
}

// ---------------------------------------------------------------------------------------------
// The shared suite

/// Everything the [`Store`] trait promises, on a fresh store.
fn behaviour(store: &mut dyn Store) {
    // Empty.
    assert_eq!(counts(store), Counts::default());
    assert!(store.labelled(None, None).unwrap().is_empty());
    assert!(store.tunings().unwrap().is_empty());
    assert_eq!(store.latest_adopted().unwrap(), None);
    assert_eq!(store.candidates_of("r1").unwrap(), None);
    store.log_requests(&[]).unwrap();

    // Logging; an id already there, in this batch or an earlier one, is ignored with its candidates.
    let r1 = record("r1", 10, &[Some(0.1), Some(0.7)], true);
    let mut r1_again = record("r1", 11, &[Some(9.0), Some(9.0), Some(9.0)], false);
    r1_again.model = Some("other".into());
    let r2 = record("r2", 12, &[Some(0.5), None, Some(f64::NAN), Some(0.9)], true);
    let r3 = record("r3", 13, &[Some(0.2)], false);
    store.log_requests(&[r1.clone(), r2.clone(), r1_again.clone()]).unwrap();
    store.log_requests(&[r1_again, r3]).unwrap();
    assert_eq!(store.candidates_of("r1").unwrap(), Some(2));
    assert_eq!(store.candidates_of("r2").unwrap(), Some(4));
    assert_eq!(store.candidates_of("r3").unwrap(), Some(1));
    assert_eq!(
        counts(store),
        Counts {
            requests: 3,
            calibration_requests: 2,
            labelled: 0,
            tunings: 0
        }
    );

    // Gold: every error is checked before anything is written.
    let unchanged = |store: &mut dyn Store, labelled: u64| {
        assert_eq!(store.labelled_count().unwrap(), labelled);
        assert_eq!(store.labelled(None, None).unwrap().len() as u64, labelled);
        assert_eq!(counts(store).labelled, labelled);
    };
    assert!(matches!(store.add_gold("nope", &[1.0], 5), Err(StoreError::UnknownRequest(id)) if id == "nope"));
    unchanged(store, 0);
    assert!(matches!(
        store.add_gold("r1", &[1.0, 2.0, 3.0], 5),
        Err(StoreError::WrongCount { id, expected: 2, got: 3 }) if id == "r1"
    ));
    assert!(matches!(
        store.add_gold("r1", &[1.0], 5),
        Err(StoreError::WrongCount {
            expected: 2,
            got: 1,
            ..
        })
    ));
    unchanged(store, 0);
    assert!(matches!(
        store.add_gold("r2", &[1.0, 2.0, f64::NAN, 4.0], 5),
        Err(StoreError::NonFinite { index: 2, .. })
    ));
    assert!(matches!(
        store.add_gold("r2", &[1.0, f64::INFINITY, 3.0, 4.0], 5),
        Err(StoreError::NonFinite { index: 1, value, .. }) if value == f64::INFINITY
    ));
    unchanged(store, 0);

    store.add_gold("r1", &[0.3, 0.2], 100).unwrap();
    unchanged(store, 1);
    assert!(matches!(store.add_gold("r1", &[0.5, 0.5], 101), Err(StoreError::AlreadyLabelled(id)) if id == "r1"));
    unchanged(store, 1);
    let l = store.labelled(None, None).unwrap();
    assert_eq!((l[0].id.as_str(), l[0].labelled_at_ms), ("r1", 100));
    assert_eq!(
        (&l[0].proxy, &l[0].gold, &l[0].index),
        (&vec![0.1, 0.7], &vec![0.3, 0.2], &vec![0, 1])
    );

    // Candidates without a proxy score (None, or NaN, which is stored as none) are left out with their gold.
    store.add_gold("r2", &[1.0, 2.0, 3.0, 4.0], 200).unwrap();
    let l = store.labelled(Some(200), None).unwrap();
    assert_eq!(l.len(), 1);
    assert_eq!(
        (&l[0].proxy, &l[0].gold, &l[0].index),
        (&vec![0.5, 0.9], &vec![1.0, 4.0], &vec![0, 3])
    );

    // A labelled request none of whose candidates has a proxy score is still a labelled prompt.
    store.log_requests(&[record("r0", 9, &[None, None], true)]).unwrap();
    store.add_gold("r0", &[0.0, 1.0], 50).unwrap();
    let l = store.labelled(None, Some(3)).unwrap();
    assert_eq!(
        (l[0].id.as_str(), l[0].proxy.len(), l[0].gold.len(), l[0].index.len()),
        ("r0", 0, 0, 0)
    );

    // Order: by labelled_at_ms, ties by id compared bytewise ("B1" < "a2" < "r2" < "r3").
    store.add_gold("r3", &[0.6], 150).unwrap();
    store
        .log_requests(&[
            record("a2", 14, &[Some(0.3)], true),
            record("B1", 15, &[Some(0.4)], true),
        ])
        .unwrap();
    store.add_gold("a2", &[0.1], 200).unwrap();
    store.add_gold("B1", &[0.1], 200).unwrap();
    assert_eq!(ids(store, None, None), ["r0", "r1", "r3", "B1", "a2", "r2"]);
    assert_eq!(ids(store, Some(150), None), ["r3", "B1", "a2", "r2"]);
    assert_eq!(ids(store, Some(151), None), ["B1", "a2", "r2"]);
    assert_eq!(ids(store, Some(201), None), Vec::<String>::new());
    assert_eq!(ids(store, None, Some(2)), ["a2", "r2"]);
    assert_eq!(ids(store, None, Some(4)), ["r3", "B1", "a2", "r2"]);
    assert_eq!(ids(store, Some(100), Some(10)), ["r1", "r3", "B1", "a2", "r2"]);
    assert_eq!(ids(store, Some(150), Some(2)), ["a2", "r2"]);
    assert_eq!(ids(store, None, Some(0)), Vec::<String>::new());
    let all = store.labelled(None, None).unwrap();
    assert!(all.windows(2).all(|w| w[0].labelled_at_ms <= w[1].labelled_at_ms));
    assert_eq!(store.labelled_count().unwrap(), 6);

    // Tunings: one per round, whoever records it first; read back oldest (lowest round) first.
    assert!(store.record_tuning(&tuning(2, false)).unwrap());
    assert!(store.record_tuning(&tuning(3, true)).unwrap());
    assert!(
        !store
            .record_tuning(&TuningRecord {
                replica: "late".into(),
                ..tuning(3, false)
            })
            .unwrap()
    );
    assert!(store.record_tuning(&tuning(1, true)).unwrap());
    assert_eq!(
        store.tunings().unwrap(),
        [tuning(1, true), tuning(2, false), tuning(3, true)]
    );
    assert_eq!(store.latest_adopted().unwrap(), Some(tuning(3, true)));
    assert!(store.record_tuning(&tuning(4, false)).unwrap());
    assert_eq!(
        store.latest_adopted().unwrap(),
        Some(tuning(3, true)),
        "not adopted: not the latest adopted"
    );
    // A NaN θ (a failed tuning) comes back as NaN.
    let failed = TuningRecord {
        theta_tuned: f64::NAN,
        n: None,
        evidence: json!(null),
        ..tuning(5, false)
    };
    assert!(store.record_tuning(&failed).unwrap());
    let back = store.tunings().unwrap().pop().unwrap();
    assert!(back.theta_tuned.is_nan());
    assert_eq!(
        TuningRecord {
            theta_tuned: 0.0,
            ..back
        },
        TuningRecord {
            theta_tuned: 0.0,
            ..failed
        }
    );

    assert_eq!(
        counts(store),
        Counts {
            requests: 6,
            calibration_requests: 5,
            labelled: 6,
            tunings: 5
        }
    );

    // The window of a round: the most recent `window_prompts` labelled at or before its end.
    let (t, window) = hedge_store::round_window(store, Round::Number(2)).unwrap();
    assert_eq!(t, tuning(2, false));
    assert_eq!(
        window.len(),
        6,
        "all six, labelled at 50..=200 ms, are before its end (902 ms)"
    );
    let wide = TuningRecord {
        window_prompts: 3,
        window_end_ms: 150,
        ..tuning(6, true)
    };
    assert!(store.record_tuning(&wide).unwrap());
    let (t, window) = hedge_store::round_window(store, Round::Last).unwrap();
    assert_eq!(t.round, 6);
    assert_eq!(
        window.iter().map(|l| l.id.as_str()).collect::<Vec<_>>(),
        ["r0", "r1", "r3"]
    );
    match hedge_store::round_window(store, Round::Number(999_999)) {
        Err(e @ StoreError::NoSuchTuning { recorded: 6, .. }) => {
            assert!(e.to_string().contains("round 999999"), "{e}")
        }
        other => panic!("{:?}", other.map(|(t, _)| t.round)),
    }

    // One connection: the lock is ours, and taking or releasing it twice is harmless.
    assert!(store.try_lock_tuner().unwrap());
    assert!(store.try_lock_tuner().unwrap());
    store.unlock_tuner().unwrap();
    store.unlock_tuner().unwrap();
    assert!(store.try_lock_tuner().unwrap());
    store.unlock_tuner().unwrap();
}

/// Raw access to a backend's database, beside the store under test.
trait Backend {
    /// The store's URL, for [`open`].
    fn url(&self) -> String;
    /// The stored schema version.
    fn stored_version(&self) -> String;
    /// Overwrite the stored schema version.
    fn set_stored_version(&self, v: &str);
}

/// Reopening keeps the data and the schema version; a newer stored version refuses to open.
fn reopen(backend: &dyn Backend) {
    let url = backend.url();
    {
        let mut store = open(&url).unwrap();
        store
            .log_requests(&[record("r1", 1, &[Some(0.1), Some(0.7)], true)])
            .unwrap();
        store.add_gold("r1", &[0.3, 0.2], 100).unwrap();
        assert!(store.record_tuning(&tuning(1, true)).unwrap());
    }
    assert_eq!(backend.stored_version(), SCHEMA_VERSION.to_string());
    let mut store = open(&url).unwrap();
    assert_eq!(
        store.counts().unwrap(),
        Counts {
            requests: 1,
            calibration_requests: 1,
            labelled: 1,
            tunings: 1
        }
    );
    assert_eq!(store.labelled(None, None).unwrap()[0].gold, [0.3, 0.2]);
    assert_eq!(store.latest_adopted().unwrap(), Some(tuning(1, true)));
    assert!(matches!(
        store.add_gold("r1", &[0.3, 0.2], 100),
        Err(StoreError::AlreadyLabelled(_))
    ));
    drop(store);
    assert_eq!(backend.stored_version(), SCHEMA_VERSION.to_string());

    backend.set_stored_version(&(SCHEMA_VERSION + 1).to_string());
    match open(&url) {
        Err(StoreError::NewerSchema {
            url: shown,
            found,
            supported,
        }) => {
            assert_eq!((found, supported), (SCHEMA_VERSION + 1, SCHEMA_VERSION));
            assert_eq!(shown, hedge_store::redact(&url));
        }
        Err(e) => panic!("expected NewerSchema, got {e}"),
        Ok(_) => panic!("expected NewerSchema, the store opened"),
    }
    // Refusing changed nothing.
    assert_eq!(backend.stored_version(), (SCHEMA_VERSION + 1).to_string());
    backend.set_stored_version(&SCHEMA_VERSION.to_string());
    assert_eq!(open(&url).unwrap().counts().unwrap().labelled, 1);
}

/// A read-only store reads what [`open`] wrote, refuses to write, and checks the schema version
/// without changing it: newer is [`StoreError::NewerSchema`], older [`StoreError::OlderSchema`].
fn read_only(backend: &dyn Backend) {
    let url = backend.url();
    {
        let mut store = open(&url).unwrap();
        store
            .log_requests(&[record("r1", 1, &[Some(0.1), Some(0.7)], true)])
            .unwrap();
        store.add_gold("r1", &[0.3, 0.2], 100).unwrap();
        assert!(store.record_tuning(&tuning(1, true)).unwrap());
    }
    let mut ro = open_read_only(&url).unwrap();
    assert_eq!(ro.url(), hedge_store::redact(&url));
    assert_eq!(ro.labelled(None, None).unwrap()[0].gold, [0.3, 0.2]);
    assert_eq!(ro.tunings().unwrap(), [tuning(1, true)]);
    assert_eq!(ro.counts().unwrap().labelled, 1);
    ro.probe().unwrap();
    match ro.log_requests(&[record("r2", 2, &[Some(0.1)], true)]) {
        Err(StoreError::Backend { url: shown, message }) => {
            assert_eq!(shown, hedge_store::redact(&url));
            assert!(message.contains("read"), "{message}");
        }
        other => panic!("a read-only store wrote: {other:?}"),
    }
    drop(ro);
    assert_eq!(open(&url).unwrap().counts().unwrap().requests, 1);

    for (stored, newer) in [(SCHEMA_VERSION + 1, true), (0, false)] {
        backend.set_stored_version(&stored.to_string());
        match open_read_only(&url) {
            Err(StoreError::NewerSchema { url: shown, found, .. }) if newer => {
                assert_eq!((shown, found), (hedge_store::redact(&url), stored));
            }
            Err(e @ StoreError::OlderSchema { .. }) if !newer => {
                assert!(e.to_string().contains(&hedge_store::redact(&url)), "{e}");
                assert!(e.to_string().contains("migrate"), "{e}");
            }
            Err(e) => panic!("stored version {stored}: {e}"),
            Ok(_) => panic!("stored version {stored}: opened"),
        }
        // Refusing changed nothing.
        assert_eq!(backend.stored_version(), stored.to_string());
    }
    backend.set_stored_version(&SCHEMA_VERSION.to_string());
    assert_eq!(open_read_only(&url).unwrap().counts().unwrap().labelled, 1);
}

/// Several processes (here threads) opening a new store at once all succeed.
fn concurrent_open(url: &str) {
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..4).map(|_| s.spawn(|| open(url).map(|_| ()))).collect();
        for h in handles {
            h.join().unwrap().unwrap();
        }
    });
    assert_eq!(open(url).unwrap().counts().unwrap(), Counts::default());
}

// ---------------------------------------------------------------------------------------------
// SQLite

#[cfg(feature = "sqlite")]
mod sqlite {
    use super::*;
    use std::io::{BufRead, BufReader};
    use std::path::PathBuf;
    use std::process::{Command, Stdio};

    struct Sqlite {
        _dir: tempfile::TempDir,
        path: PathBuf,
    }

    impl Sqlite {
        fn new() -> Self {
            let dir = tempfile::tempdir().unwrap();
            // A directory that does not exist yet: `open` creates it.
            let path = dir.path().join("sub/dir/hedge.db");
            Sqlite { _dir: dir, path }
        }
        fn raw(&self) -> rusqlite::Connection {
            rusqlite::Connection::open(&self.path).unwrap()
        }
    }

    impl Backend for Sqlite {
        fn url(&self) -> String {
            format!("sqlite:{}", self.path.display())
        }
        fn stored_version(&self) -> String {
            self.raw()
                .query_row("SELECT value FROM hedge_meta WHERE key = 'schema_version'", [], |r| {
                    r.get(0)
                })
                .unwrap()
        }
        fn set_stored_version(&self, v: &str) {
            self.raw()
                .execute("UPDATE hedge_meta SET value = ?1 WHERE key = 'schema_version'", [v])
                .unwrap();
        }
    }

    #[test]
    fn sqlite_behaviour() {
        let db = Sqlite::new();
        behaviour(&mut *open(&db.url()).unwrap());
        // The file is in WAL mode, and `sqlite://PATH` names the same file.
        let mode: String = db.raw().query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
        assert_eq!(mode, "wal");
        let url = format!("sqlite://{}", db.path.display());
        assert_eq!(open(&url).unwrap().labelled_count().unwrap(), 6);
    }

    #[test]
    fn sqlite_reopen() {
        reopen(&Sqlite::new());
    }

    #[test]
    fn sqlite_concurrent_open() {
        concurrent_open(&Sqlite::new().url());
    }

    #[test]
    fn sqlite_read_only() {
        read_only(&Sqlite::new());
    }

    /// The names in `dir`, sorted.
    fn listing(dir: &std::path::Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// `open_read_only` creates no directory, no database file and no -wal or -shm file, whether the
    /// store is missing, closed, or open in a writer.
    #[test]
    fn sqlite_read_only_creates_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let missing = format!("sqlite:{}/no-such-dir/x.db", dir.path().display());
        match open_read_only(&missing) {
            Err(StoreError::NotFound { url, reason }) => {
                assert_eq!(url, missing);
                assert!(reason.contains("no such file"), "{reason}");
            }
            other => panic!("{:?}", other.map(|_| ())),
        }
        let missing_file = format!("sqlite:{}/x.db", dir.path().display());
        assert!(matches!(
            open_read_only(&missing_file),
            Err(StoreError::NotFound { .. })
        ));
        assert!(listing(dir.path()).is_empty());

        // A closed store (its writer gone: SQLite removed the -wal and -shm files).
        let path = dir.path().join("x.db");
        {
            let mut store = open(&missing_file).unwrap();
            store
                .log_requests(&[record("r1", 1, &[Some(0.1), Some(0.2)], true)])
                .unwrap();
            store.add_gold("r1", &[1.0, 2.0], 5).unwrap();
        }
        assert_eq!(listing(dir.path()), ["x.db"]);
        {
            let mut ro = open_read_only(&missing_file).unwrap();
            assert_eq!(ro.labelled_count().unwrap(), 1);
            assert_eq!(ro.labelled(None, None).unwrap().len(), 1);
            assert_eq!(listing(dir.path()), ["x.db"], "while reading");
            ro.probe().unwrap();
        }
        assert_eq!(listing(dir.path()), ["x.db"], "after reading");

        // A store open in a writer: the reader sees what it committed, through the writer's files.
        let mut writer = open(&missing_file).unwrap();
        writer
            .log_requests(&[record("r2", 2, &[Some(0.3), Some(0.4)], true)])
            .unwrap();
        writer.add_gold("r2", &[1.0, 2.0], 6).unwrap();
        let during = listing(dir.path());
        assert_eq!(during, ["x.db", "x.db-shm", "x.db-wal"]);
        let mut ro = open_read_only(&missing_file).unwrap();
        assert_eq!(ro.labelled_count().unwrap(), 2);
        writer
            .log_requests(&[record("r3", 3, &[Some(0.3), Some(0.4)], true)])
            .unwrap();
        writer.add_gold("r3", &[1.0, 2.0], 7).unwrap();
        assert_eq!(ro.labelled_count().unwrap(), 3, "a later commit is seen");
        assert_eq!(listing(dir.path()), during);
        drop(ro);
        drop(writer);
        assert_eq!(listing(dir.path()), ["x.db"]);
        assert!(path.exists());
    }

    #[test]
    fn sqlite_read_only_not_a_store() {
        let dir = tempfile::tempdir().unwrap();
        // An SQLite database without hedge's tables.
        let other = dir.path().join("other.db");
        rusqlite::Connection::open(&other)
            .unwrap()
            .execute_batch("CREATE TABLE t (x)")
            .unwrap();
        match open_read_only(&format!("sqlite:{}", other.display())) {
            Err(StoreError::NotFound { reason, .. }) => assert!(reason.contains("hedge_meta"), "{reason}"),
            other => panic!("{:?}", other.map(|_| ())),
        }
        // A file that is not a database, and a directory.
        let text = dir.path().join("text.db");
        std::fs::write(
            &text,
            "not a database, not at all, no: just text, long enough to be read",
        )
        .unwrap();
        assert!(matches!(
            open_read_only(&format!("sqlite:{}", text.display())),
            Err(StoreError::Backend { .. })
        ));
        assert!(matches!(
            open_read_only(&format!("sqlite:{}", dir.path().display())),
            Err(StoreError::NotFound { .. })
        ));
        assert_eq!(listing(dir.path()), ["other.db", "text.db"]);
    }

    /// A store whose file is removed or replaced while open says so ([`Store::probe`]); reopening the
    /// URL creates a fresh store that works.
    #[test]
    fn sqlite_probe() {
        let db = Sqlite::new();
        let url = db.url();
        let mut store = open(&url).unwrap();
        store.log_requests(&[record("r1", 1, &[Some(0.1)], true)]).unwrap();
        store.probe().unwrap();
        // `rm store.db*`
        let dir = db.path.parent().unwrap();
        for name in listing(dir) {
            std::fs::remove_file(dir.join(name)).unwrap();
        }
        match store.probe() {
            Err(
                e @ StoreError::Replaced {
                    reason: Replacement::Removed,
                    ..
                },
            ) => {
                assert_eq!(
                    e.to_string(),
                    format!("store {url}: its database file was removed while it was open")
                );
            }
            other => panic!("{other:?}"),
        }
        // Reopened: an empty store with the schema, at the same path.
        let mut store = open(&url).unwrap();
        store.probe().unwrap();
        assert_eq!(store.counts().unwrap(), Counts::default());
        store.log_requests(&[record("r2", 2, &[Some(0.1)], true)]).unwrap();
        assert_eq!(open_read_only(&url).unwrap().counts().unwrap().requests, 1);

        // Another file moved over it (a backup restored).
        let other = Sqlite::new();
        open(&other.url()).unwrap();
        std::fs::rename(&other.path, &db.path).unwrap();
        assert!(matches!(
            store.probe(),
            Err(StoreError::Replaced {
                reason: Replacement::ReplacedByAnotherFile,
                ..
            })
        ));
        assert_eq!(
            Replacement::ReplacedByAnotherFile.to_string(),
            "replaced by another file"
        );
        // A read-only store notices as well.
        let mut ro = open_read_only(&url).unwrap();
        ro.probe().unwrap();
        std::fs::remove_file(&db.path).unwrap();
        assert!(matches!(
            ro.probe(),
            Err(StoreError::Replaced {
                reason: Replacement::Removed,
                ..
            })
        ));
    }

    /// No error of a store shows a secret its URL carries (SQLite paths can hold URI parameters).
    #[test]
    fn sqlite_errors_show_no_secret() {
        let dir = tempfile::tempdir().unwrap();
        for url in [
            format!("sqlite:{}/none/x.db?key=S3CRETKEY", dir.path().display()),
            format!("sqlite:{}/none/x.db?mode=ro&password=S3CRETKEY", dir.path().display()),
        ] {
            let e = match open_read_only(&url) {
                Err(e) => e,
                Ok(_) => panic!("opened {url}"),
            };
            let text = format!("{e} {e:?}");
            assert!(!text.contains("S3CRETKEY"), "{text}");
            assert!(text.contains(&dir.path().display().to_string()), "{text}");
        }
    }

    #[test]
    fn sqlite_bad_paths() {
        assert!(matches!(open("sqlite:"), Err(StoreError::InvalidUrl { .. })));
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        std::fs::write(&file, "not a directory").unwrap();
        let url = format!("sqlite:{}/hedge.db", file.display());
        assert!(matches!(open(&url), Err(StoreError::Backend { .. })));
        // A file that is not a database.
        let url = format!("sqlite:{}", file.display());
        assert!(matches!(open(&url), Err(StoreError::Backend { .. })));
    }

    /// Selects the writer mode of [`crash_writer_child`]: the database path.
    const WRITER_ENV: &str = "HEDGE_STORE_CRASH_WRITER";
    const BATCH: usize = 50;

    /// Not a test on its own: the child process of [`sqlite_survives_kill`] (which runs this test
    /// binary with [`WRITER_ENV`] set). Logs batches of requests, labels the first of each, and
    /// prints `committed N` after each; it returns at once when the variable is unset.
    #[test]
    fn crash_writer_child() {
        let Ok(path) = std::env::var(WRITER_ENV) else { return };
        let mut store = open(&format!("sqlite:{path}")).unwrap();
        for batch in 0..20_000 {
            let records: Vec<_> = (0..BATCH)
                .map(|i| {
                    record(
                        &format!("b{batch}-{i}"),
                        batch,
                        &[Some(0.5), Some(i as f64)],
                        i % 2 == 0,
                    )
                })
                .collect();
            store.log_requests(&records).unwrap();
            store.add_gold(&format!("b{batch}-0"), &[1.0, 2.0], batch).unwrap();
            println!("committed {batch}");
        }
    }

    /// A writer killed with SIGKILL loses no transaction it reported as committed, and leaves no
    /// half-written batch (WAL with synchronous=NORMAL).
    #[test]
    fn sqlite_survives_kill() {
        use std::os::unix::process::ExitStatusExt;

        let db = Sqlite::new();
        open(&db.url()).unwrap(); // created by the parent: the child's first batch is not also the schema
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "store::sqlite::crash_writer_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(WRITER_ENV, &db.path)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let (mut last, mut killed) = (None, false);
        // Read every line: those printed before the kill are still in the pipe.
        for line in stdout.lines() {
            let Some(n) = line
                .unwrap()
                .strip_prefix("committed ")
                .map(|n| n.parse::<usize>().unwrap())
            else {
                continue;
            };
            last = Some(n);
            if n == 40 && !killed {
                child.kill().unwrap(); // SIGKILL
                killed = true;
            }
        }
        let status = child.wait().unwrap();
        assert!(killed, "the writer stopped before its 40th batch: {status}");
        assert_eq!(status.signal(), Some(9), "{status}");
        let last = last.unwrap();

        let integrity: String = db.raw().query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
        assert_eq!(integrity, "ok");
        let mut store = open(&db.url()).unwrap();
        let c = store.counts().unwrap();
        // Every reported batch, and at most one more that committed before it could be reported.
        let batches = c.requests as usize / BATCH;
        assert_eq!(c.requests as usize % BATCH, 0, "a half-written batch: {c:?}");
        assert!(
            batches == last + 1 || batches == last + 2,
            "reported {last}, found {c:?}"
        );
        assert_eq!(c.calibration_requests as usize, batches * BATCH / 2);
        assert!((last + 1..=batches).contains(&(c.labelled as usize)), "{c:?}");
        for batch in 0..=last {
            for i in [0, BATCH - 1] {
                assert_eq!(
                    store.candidates_of(&format!("b{batch}-{i}")).unwrap(),
                    Some(2),
                    "b{batch}-{i}"
                );
            }
        }
        let labelled = store.labelled(None, None).unwrap();
        assert!(
            labelled
                .iter()
                .take(last + 1)
                .enumerate()
                .all(|(b, l)| l.id == format!("b{b}-0"))
        );
    }
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

#[cfg(feature = "postgres")]
mod pg {
    use super::*;
    use std::io::Write;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, Instant};

    const URL_ENV: &str = "HEDGE_TEST_POSTGRES_URL";
    const SKIP_ENV: &str = "HEDGE_SKIP_POSTGRES";

    /// The URL of the database the tests create their databases from; `None` when skipped.
    fn admin_url(test: &str) -> Option<String> {
        match std::env::var(URL_ENV) {
            Ok(url) if !url.trim().is_empty() => Some(url.trim().to_string()),
            _ if std::env::var(SKIP_ENV).is_ok_and(|v| v == "1") => {
                // Past libtest's capture, so that the skip shows.
                let line = format!("\nSKIPPED pg::{test}: {URL_ENV} is not set and {SKIP_ENV}=1\n");
                let _ = std::io::stderr().lock().write_all(line.as_bytes());
                None
            }
            _ => panic!(
                "{URL_ENV} is not set: the PostgreSQL tests need a database whose role may create databases.\n\
                 Start a throw-away cluster and export its URL (from the workspace root):\n    \
                 eval \"$(bash tests/pg.sh start)\"\n\
                 (`bash tests/pg.sh stop` removes it), or set {SKIP_ENV}=1 to skip these tests."
            ),
        }
    }

    /// `url` naming database `db` instead (`postgres://u:p@h:port/old?x=y` → `…/db?x=y`).
    fn with_database(url: &str, db: &str) -> String {
        let start = url.find("://").map_or(0, |i| i + 3);
        let (head, rest) = url.split_at(start);
        let query = rest.find('?').map_or("", |q| &rest[q..]);
        let authority = &rest[..rest.find(['/', '?']).unwrap_or(rest.len())];
        format!("{head}{authority}/{db}{query}")
    }

    fn client(url: &str) -> postgres::Client {
        postgres::Client::connect(url, postgres::NoTls).unwrap_or_else(|e| panic!("cannot connect to {URL_ENV}: {e:?}"))
    }

    /// A database of this test's own, dropped when the test ends.
    struct PgDb {
        admin: String,
        name: String,
        url: String,
    }

    impl PgDb {
        /// `test`: the test's name, for the skip message.
        fn create(test: &str) -> Option<PgDb> {
            static NEXT: AtomicUsize = AtomicUsize::new(0);
            let admin = admin_url(test)?;
            let name = format!(
                "hedge_t_{}_{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            );
            let mut c = client(&admin);
            // Left over by a run that was killed with the same process id: start afresh.
            c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .unwrap();
            // ICU's en-US collation where the server has it (ids must still sort bytewise).
            let icu = format!("CREATE DATABASE {name} TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US'");
            if c.batch_execute(&icu).is_err() {
                c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
            }
            let url = with_database(&admin, &name);
            Some(PgDb { admin, name, url })
        }
    }

    impl Drop for PgDb {
        fn drop(&mut self) {
            if let Ok(mut c) = postgres::Client::connect(&self.admin, postgres::NoTls) {
                let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
            }
        }
    }

    impl Backend for PgDb {
        fn url(&self) -> String {
            self.url.clone()
        }
        fn stored_version(&self) -> String {
            client(&self.url)
                .query_one("SELECT value FROM hedge_meta WHERE key = 'schema_version'", &[])
                .unwrap()
                .get(0)
        }
        fn set_stored_version(&self, v: &str) {
            client(&self.url)
                .execute("UPDATE hedge_meta SET value = $1 WHERE key = 'schema_version'", &[&v])
                .unwrap();
        }
    }

    #[test]
    fn pg_behaviour() {
        let Some(db) = PgDb::create("pg_behaviour") else { return };
        behaviour(&mut *open(&db.url).unwrap());
    }

    #[test]
    fn pg_reopen() {
        let Some(db) = PgDb::create("pg_reopen") else { return };
        reopen(&db);
    }

    #[test]
    fn pg_concurrent_open() {
        let Some(db) = PgDb::create("pg_concurrent_open") else {
            return;
        };
        concurrent_open(&db.url);
    }

    #[test]
    fn pg_read_only() {
        let Some(db) = PgDb::create("pg_read_only") else { return };
        // A database without hedge's tables: not found, and no table created.
        match open_read_only(&db.url) {
            Err(StoreError::NotFound { url, reason }) => {
                assert_eq!(url, hedge_store::redact(&db.url));
                assert!(reason.contains("hedge_meta"), "{reason}");
            }
            other => panic!("{:?}", other.map(|_| ())),
        }
        let tables: i64 = client(&db.url)
            .query_one(
                "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')",
                &[],
            )
            .unwrap()
            .get(0);
        assert_eq!(tables, 0);
        read_only(&db);
    }

    /// A store whose tables were dropped under it says so; reopening creates them afresh.
    #[test]
    fn pg_probe() {
        let Some(db) = PgDb::create("pg_probe") else { return };
        let mut store = open(&db.url).unwrap();
        store.probe().unwrap();
        client(&db.url)
            .batch_execute("DROP TABLE candidates, requests, tunings, hedge_meta")
            .unwrap();
        assert!(matches!(
            store.probe(),
            Err(StoreError::Replaced {
                reason: Replacement::Removed,
                ..
            })
        ));
        let mut store = open(&db.url).unwrap();
        store.probe().unwrap();
        assert_eq!(store.counts().unwrap(), Counts::default());
        // A connection the server dropped: the probe reconnects (or reports the loss once).
        let kill = "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
                    WHERE datname = current_database() AND pid <> pg_backend_pid()";
        client(&db.url).query_one(kill, &[]).unwrap();
        if let Err(e) = store.probe() {
            assert!(matches!(e, StoreError::Backend { .. }), "{e}");
            store.probe().unwrap();
        }
    }

    /// Two replicas contend for the tuner lock: exactly one holds it at a time; it passes on when
    /// released, and when the holder's connection closes.
    #[test]
    fn pg_tuner_lock() {
        let Some(db) = PgDb::create("pg_tuner_lock") else {
            return;
        };
        let mut a = open(&db.url).unwrap();
        let mut b = open(&db.url).unwrap();
        assert!(a.try_lock_tuner().unwrap());
        assert!(!b.try_lock_tuner().unwrap());
        assert!(a.try_lock_tuner().unwrap(), "the holder asking again still holds it");
        assert!(!b.try_lock_tuner().unwrap());

        a.unlock_tuner().unwrap();
        assert!(b.try_lock_tuner().unwrap());
        assert!(!a.try_lock_tuner().unwrap());
        b.unlock_tuner().unwrap();
        b.unlock_tuner().unwrap(); // harmless
        assert!(
            a.try_lock_tuner().unwrap(),
            "a lock taken twice is released by one unlock"
        );
        a.unlock_tuner().unwrap();

        // The holder goes away without unlocking: the server releases the lock once it sees the
        // connection closed (its backend exits shortly after the socket closes).
        assert!(b.try_lock_tuner().unwrap());
        drop(b);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !a.try_lock_tuner().unwrap() {
            assert!(
                Instant::now() < deadline,
                "the lock of a closed connection was not released"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A connection the server drops is reopened by the next call (the call that meets the loss
    /// fails), and the tuner lock that went with it is no longer claimed.
    #[test]
    fn pg_reconnects() {
        let Some(db) = PgDb::create("pg_reconnects") else {
            return;
        };
        let mut a = open(&db.url).unwrap();
        let mut b = open(&db.url).unwrap();
        a.log_requests(&[record("r1", 1, &[Some(0.1)], true)]).unwrap();
        assert!(a.try_lock_tuner().unwrap());
        // Terminate every connection to the test database but this one (a's and b's).
        let kill = "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
                    WHERE datname = current_database() AND pid <> pg_backend_pid()";
        let killed: i64 = client(&db.url).query_one(kill, &[]).unwrap().get(0);
        assert_eq!(killed, 2);
        let mut failures = 0;
        let n = loop {
            match a.candidates_of("r1") {
                Ok(n) => break n,
                Err(StoreError::Backend { .. }) if failures == 0 => failures += 1,
                Err(e) => panic!("no reconnection: {e}"),
            }
        };
        assert_eq!(n, Some(1));
        // a's lock went with its old connection: b (reconnecting too) can take it, a cannot.
        let deadline = Instant::now() + Duration::from_secs(10);
        while !b.try_lock_tuner().unwrap_or(false) {
            assert!(Instant::now() < deadline, "b never got the lock");
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(!a.try_lock_tuner().unwrap());
    }

    #[test]
    fn pg_errors_name_the_store_without_password() {
        let Some(db) = PgDb::create("pg_errors_name_the_store_without_password") else {
            return;
        };
        // A port nothing listens on (connection refused; 1 needs root to listen on).
        match open("postgres://hedge:s3cret@127.0.0.1:1/x") {
            Err(StoreError::Backend { url: shown, message }) => {
                assert_eq!(shown, "postgres://hedge:***@127.0.0.1:1/x");
                assert!(!message.contains("s3cret") && message.contains("connect"), "{message}");
            }
            Err(e) => panic!("expected a Backend error, got {e}"),
            Ok(_) => panic!("connected to port 1"),
        }
        // The password as a query parameter, and in a userinfo with `/` and `@` (encoded) in it.
        for url in [
            "postgres://hedge@127.0.0.1:1/x?password=s3cret",
            "postgres://hedge@127.0.0.1:1/x?sslmode=disable&pass%77ord=s3cret",
            "postgres://hedge:s3%2Fcr%40et@127.0.0.1:1/x",
        ] {
            for result in [open(url).map(|_| ()), open_read_only(url).map(|_| ())] {
                let e = result.unwrap_err();
                let text = format!("{e} {e:?}");
                assert!(
                    !text.contains("s3cret") && !text.contains("s3/cr@et") && !text.contains("s3%2Fcr"),
                    "{text}"
                );
                assert!(text.contains("127.0.0.1:1/x"), "{text}");
            }
        }
        // A database that does not exist: the server's own message comes through.
        let missing = with_database(&db.url, &format!("{}_missing", db.name));
        match open(&missing) {
            Err(StoreError::Backend { message, .. }) => assert!(message.contains("does not exist"), "{message}"),
            Err(e) => panic!("expected a Backend error, got {e}"),
            Ok(_) => panic!("opened a missing database"),
        }
    }

    #[test]
    fn database_urls() {
        assert_eq!(
            with_database("postgres://u:p@h:5/a?x=y", "b"),
            "postgres://u:p@h:5/b?x=y"
        );
        assert_eq!(with_database("postgres://u@h", "b"), "postgres://u@h/b");
    }
}
