//! `--store` on the commands that read a store (`export`, `info`, `tune`, `curve`, `report`):
//!
//! - they open it read-only: a missing store is an error naming it, and nothing is created (no
//!   directory, no database file, no `-wal` or `-shm`);
//! - an empty store's errors name the store (never `<memory>`);
//! - a URL that names no store is a usage error (exit 2) before anything runs, and no message shows a
//!   password; a failure that depends on the data (`export --round` of a round the store lacks) exits 1.

use std::path::Path;
use std::process::{Command, Output};

use hedge_store::{Candidate, RequestRecord, TuningRecord};

fn hedge(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hedge")).args(args).output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The names in `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Every reading command with `--store url`, its outputs in `out`.
fn readers(url: &str, out: &Path) -> Vec<Vec<String>> {
    let out = |name: &str| out.join(name).display().to_string();
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    vec![
        s(&["export", "--store", url, "--out", &out("a.csv")]),
        s(&["info", "--store", url]),
        s(&["tune", "--store", url, "--method", "bon"]),
        s(&["curve", "--store", url, "--method", "bon", "--theta", "1,2"]),
        s(&["report", "--store", url, "--methods", "bon", "--out", &out("report")]),
    ]
}

fn run(args: &[String]) -> Output {
    hedge(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

/// A labelled request with `k` candidates.
fn labelled(store: &mut dyn hedge_store::Store, id: &str, k: usize, at_ms: i64) {
    let r = RequestRecord {
        id: id.into(),
        at_ms,
        model: None,
        method: "bon".into(),
        theta: 2.0,
        n: k.min(2),
        chosen: 0,
        latency_ms: 1.0,
        replica: "a".into(),
        calibration: true,
        candidates: (0..k)
            .map(|i| Candidate {
                proxy: Some(i as f64 + at_ms as f64 / 100.0),
                text: None,
            })
            .collect(),
    };
    store.log_requests(&[r]).unwrap();
    let gold: Vec<f64> = (0..k).map(|i| (i * 7 % 5) as f64).collect();
    store.add_gold(id, &gold, at_ms).unwrap();
}

#[test]
fn a_missing_store_is_named_and_not_created() {
    let stores = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    for path in ["no-such-dir/x.db", "x.db"] {
        let url = format!("sqlite:{}", stores.path().join(path).display());
        for args in readers(&url, out.path()) {
            let o = run(&args);
            let err = stderr(&o);
            assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
            assert!(err.contains(&url) && err.contains("no such file"), "{args:?}: {err}");
            assert!(!err.contains("<memory>"), "{args:?}: {err}");
            assert!(
                listing(stores.path()).is_empty(),
                "{args:?} created {:?}",
                listing(stores.path())
            );
        }
    }
}

#[test]
fn an_empty_store_is_named_and_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("x.db").display());
    let mut store = hedge_store::open(&url).unwrap();
    drop(store);
    assert_eq!(listing(dir.path()), ["x.db"]);
    let before = std::fs::read(dir.path().join("x.db")).unwrap();
    for args in readers(&url, out.path()) {
        let o = run(&args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains(&format!("{url}: no data rows")), "{args:?}: {err}");
        assert!(!err.contains("<memory>"), "{args:?}: {err}");
        assert_eq!(listing(dir.path()), ["x.db"], "{args:?}");
    }
    assert_eq!(
        std::fs::read(dir.path().join("x.db")).unwrap(),
        before,
        "the file changed"
    );

    // Prompts with a single candidate only: the same.
    store = hedge_store::open(&url).unwrap();
    labelled(&mut *store, "r1", 1, 10);
    drop(store);
    let o = hedge(&["info", "--store", &url]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains(&format!("{url}: no prompt has two")), "{err}");
}

#[test]
fn info_names_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("x.db").display());
    let mut store = hedge_store::open(&url).unwrap();
    for i in 0..5 {
        labelled(&mut *store, &format!("r{i}"), 3, 10 + i);
    }
    drop(store);
    let o = hedge(&["info", "--store", &url, "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let info: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(info["data"], url.as_str());
    assert_eq!(info["prompts"], 5);
    let o = hedge(&["info", "--store", &url]);
    assert!(String::from_utf8_lossy(&o.stdout).starts_with(&format!("{url}\n")));
    assert_eq!(listing(dir.path()), ["x.db"]);
}

#[test]
fn urls_that_name_no_store_are_usage_errors() {
    let out = tempfile::tempdir().unwrap();
    for url in [
        "mysql://x",
        "x.db",
        "sqlite:",
        "postgres://hedge@db:port/h?password=S3CRETPW",
        "postgres://hedge:S3CRETPW@db/h?sslmode=maybe",
        "host=db user=hedge password=S3CRETPW",
        "postgres://db/h?password=S3CRETPW",
    ] {
        for args in readers(url, out.path()) {
            let o = run(&args);
            let err = stderr(&o);
            assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
            assert!(err.contains("invalid store URL"), "{args:?}: {err}");
            assert!(!err.contains("S3CRETPW"), "{args:?}: {err}");
        }
    }
    // Nothing written, but `report` creates its --out directory before it loads the data: only a
    // `value_parser` on `DataArgs::store` (as on `export --store`) refuses the URL before that.
    assert!(
        listing(out.path()).iter().all(|n| n == "report"),
        "{:?}",
        listing(out.path())
    );
}

#[test]
fn unreachable_postgres_shows_no_password() {
    let out = tempfile::tempdir().unwrap();
    // A port nothing listens on (1 needs root to listen on).
    for url in [
        "postgres://hedge:S3CRETPW@127.0.0.1:1/x",
        "postgres://hedge@127.0.0.1:1/x?password=S3CRETPW",
        "postgres://hedge:S3C%2FRETPW@127.0.0.1:1/x?connect_timeout=5",
    ] {
        for args in readers(url, out.path()) {
            let o = run(&args);
            let err = stderr(&o);
            assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
            assert!(err.contains("127.0.0.1:1/x"), "{args:?}: {err}");
            assert!(!err.contains("S3CRETPW") && !err.contains("RETPW"), "{args:?}: {err}");
        }
    }
}

#[test]
fn export_rounds() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("x.db").display());
    let out = dir.path().join("w.csv").display().to_string();
    let mut store = hedge_store::open(&url).unwrap();
    for i in 0..4 {
        labelled(&mut *store, &format!("r{i}"), 2, 10 * (i + 1));
    }

    // No tuning yet: `last` is a data failure.
    let o = hedge(&["export", "--store", &url, "--round", "last", "--out", &out]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("no tuning of round last"), "{}", stderr(&o));

    store
        .record_tuning(&TuningRecord {
            round: 1,
            at_ms: 35,
            replica: "a".into(),
            method: "bon".into(),
            theta_before: 1.0,
            theta_tuned: 2.0,
            n: None,
            window_prompts: 2,
            window_end_ms: 30,
            verdict: "ok".into(),
            evidence: serde_json::json!({}),
            adopted: true,
            reason: "test".into(),
        })
        .unwrap();
    drop(store);
    let o = hedge(&["export", "--store", &url, "--round", "999999", "--out", &out]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains(&url) && err.contains("no tuning of round 999999"), "{err}");
    // Not a round at all: a usage error.
    let o = hedge(&["export", "--store", &url, "--round", "twelve", "--out", &out]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    // Round 1 ran on the two prompts labelled by 30 ms: r1 and r2.
    for round in ["1", "last"] {
        let o = hedge(&["export", "--store", &url, "--round", round, "--out", &out]);
        assert!(o.status.success(), "{}", stderr(&o));
        let csv = std::fs::read_to_string(&out).unwrap();
        let prompts: std::collections::BTreeSet<&str> =
            csv.lines().skip(1).map(|l| l.split(',').next().unwrap()).collect();
        assert_eq!(prompts.into_iter().collect::<Vec<_>>(), ["r1", "r2"], "{csv}");
    }
    assert_eq!(listing(dir.path()), ["w.csv", "x.db"]);
}

/// PostgreSQL (`HEDGE_TEST_POSTGRES_URL`, as in `continuous_cli.rs`): the reading commands create no
/// table in a database without a store, and with the password moved into a query parameter no
/// message shows it.
#[test]
fn postgres_read_only() {
    let Ok(base) = std::env::var("HEDGE_TEST_POSTGRES_URL") else {
        if std::env::var("HEDGE_SKIP_POSTGRES").as_deref() == Ok("1") {
            eprintln!("SKIPPED: HEDGE_SKIP_POSTGRES=1");
            return;
        }
        panic!(
            "HEDGE_TEST_POSTGRES_URL is not set: run `eval \"$(bash tests/pg.sh start)\"` first (.ci/run does), or set HEDGE_SKIP_POSTGRES=1"
        );
    };
    let db = format!("hedge_store_cli_{}", std::process::id());
    let admin = |sql: &str| {
        let mut c = postgres::Client::connect(&base, postgres::NoTls).unwrap();
        c.batch_execute(sql).unwrap();
    };
    admin(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"));
    admin(&format!("CREATE DATABASE {db}"));
    let (prefix, _) = base.rsplit_once('/').unwrap();
    let url = format!("{prefix}/{db}");
    // `postgres://user:PW@host/db` → `postgres://user@host/db?password=PW`.
    let (scheme_user, rest) = prefix.split_once("://").unwrap();
    let (userinfo, host) = rest.rsplit_once('@').unwrap();
    let (user, password) = userinfo.split_once(':').unwrap();
    let query_url = format!("{scheme_user}://{user}@{host}/{db}?password={password}");
    let tables = || -> i64 {
        let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        c.query_one(
            "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')",
            &[],
        )
        .unwrap()
        .get(0)
    };

    let out = tempfile::tempdir().unwrap();
    for store in [&url, &query_url] {
        for args in readers(store, out.path()) {
            let o = run(&args);
            let err = stderr(&o);
            assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
            assert!(err.contains("no table hedge_meta"), "{args:?}: {err}");
            assert!(
                err.contains(&format!("/{db}")) && !err.contains(password),
                "{args:?}: {err}"
            );
        }
    }
    assert_eq!(tables(), 0, "a reading command created tables");

    let mut store = hedge_store::open(&url).unwrap();
    for i in 0..3 {
        labelled(&mut *store, &format!("r{i}"), 2, 10 + i);
    }
    drop(store);
    let csv = out.path().join("pg.csv").display().to_string();
    let o = hedge(&["export", "--store", &query_url, "--out", &csv]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&csv).unwrap().lines().count(), 1 + 6);
    let o = hedge(&["info", "--store", &query_url, "--json"]);
    let info: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(info["data"], hedge_store::redact(&query_url).as_str());
    assert!(!String::from_utf8_lossy(&o.stdout).contains(password));
    admin(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"));
}

/// A store's rewards are read with the same bound as a file's: a proxy score of 1e300 that a reward
/// server returned is refused by `tune --store`, naming the store, the request and the value.
#[test]
fn store_rewards_are_bounded_like_a_files() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("x.db").display());
    let mut store = hedge_store::open(&url).unwrap();
    for i in 0..4 {
        labelled(&mut *store, &format!("r{i}"), 3, 10 + i);
    }
    let r = RequestRecord {
        id: "huge".into(),
        at_ms: 20,
        model: None,
        method: "bon".into(),
        theta: 2.0,
        n: 2,
        chosen: 0,
        latency_ms: 1.0,
        replica: "a".into(),
        calibration: true,
        candidates: [0.5, 1e300]
            .iter()
            .map(|&p| Candidate {
                proxy: Some(p),
                text: None,
            })
            .collect(),
    };
    store.log_requests(&[r]).unwrap();
    store.add_gold("huge", &[0.1, 0.2], 20).unwrap();
    drop(store);
    let o = hedge(&["tune", "--store", &url, "--method", "bon"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("request huge") && e.contains("1e300") && e.contains("--max-abs-reward"),
        "{e}"
    );
    // A bound that admits it.
    let o = hedge(&["tune", "--store", &url, "--method", "bon", "--max-abs-reward", "1e301"]);
    assert!(o.status.success(), "{}", stderr(&o));
}
