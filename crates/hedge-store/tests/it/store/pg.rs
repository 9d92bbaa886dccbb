//! The shared suite and the PostgreSQL-only checks (the tuner lock, reconnects, read-only sessions) on
//! PostgreSQL; the server comes from `HEDGE_TEST_POSTGRES_URL` (`.ci/run` starts one).

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
