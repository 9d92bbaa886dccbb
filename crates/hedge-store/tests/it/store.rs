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

// SQLite: store/sqlite.rs
#[cfg(feature = "sqlite")]
mod sqlite;

// PostgreSQL: store/pg.rs
#[cfg(feature = "postgres")]
mod pg;
