//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use hedge_data::{Calibration, DataError, LoadOptions, load};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A file in the system temp dir that is deleted on drop.
pub struct TempFile {
    pub path: PathBuf,
}

impl TempFile {
    /// A fresh path whose file name ends with `file_name` (e.g. `data.csv`).
    pub fn new(file_name: &str) -> Self {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("hedge-data-test-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempFile {
            path: dir.join(file_name),
        }
    }

    /// A temp file with the given content.
    pub fn with_content(file_name: &str, content: impl AsRef<[u8]>) -> Self {
        let f = Self::new(file_name);
        std::fs::write(&f.path, content).unwrap();
        f
    }

    pub fn path(&self) -> &str {
        self.path.to_str().unwrap()
    }

    pub fn load(&self, opts: &LoadOptions) -> Result<Calibration, DataError> {
        load(self.path(), opts)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        if let Some(dir) = self.path.parent() {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

/// Loads `content` saved as `file_name` and returns the error message (panics if loading succeeds).
pub fn load_err(file_name: &str, content: impl AsRef<[u8]>, opts: &LoadOptions) -> (String, DataError) {
    let f = TempFile::with_content(file_name, content);
    match f.load(opts) {
        Ok(cal) => panic!("expected an error for {file_name}, got {cal:?}"),
        Err(e) => {
            // Replace the full temp path by the bare file name so messages can be compared exactly.
            let msg = e.to_string().replace(f.path(), file_name);
            (msg, e)
        }
    }
}

/// Path of a file in the shared real-data folder beside the repository.
pub fn shared_data(rel: &str) -> String {
    format!("{}/../../../shared/data/{rel}", env!("CARGO_MANIFEST_DIR"))
}

/// The CSR content of a calibration, for comparisons that ignore `source`.
pub fn csr(c: &Calibration) -> (Vec<String>, Vec<usize>, Vec<f64>, Vec<f64>, usize, usize) {
    (
        c.prompt_ids.clone(),
        c.offsets.clone(),
        c.proxy.clone(),
        c.truth.clone(),
        c.skipped_single,
        c.rows_read,
    )
}
