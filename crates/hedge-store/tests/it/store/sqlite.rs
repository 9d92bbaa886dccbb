//! The shared suite and the SQLite-only checks (read-only opening, probing a replaced file, a writer killed
//! mid-batch) on SQLite.

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
