//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use std::sync::Arc;

use arrow_array::ArrayRef;
use arrow_array::RecordBatch;
use arrow_schema::{Field, Schema};
use hedge_data::{Calibration, DataError, Format, LoadOptions, Row, load, write};
use parquet::arrow::ArrowWriter;

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

/// Rows used by several tests: non-grouped ("a" reappears), with one single-response prompt ("c").
pub fn sample_rows() -> Vec<(&'static str, u64, f64, f64)> {
    vec![
        ("a", 0, 0.25, 1.0),
        ("a", 1, -1.5e-7, 0.0),
        ("b", 0, 3.0, 0.5),
        ("b", 1, 0.1 + 0.2, 0.25),
        ("c", 0, 1.0, 1.0),
        ("a", 2, 123456.789, 0.0),
        ("d \"quoted\", with comma", 7, 2.0, 1.0),
        // Exactly at the default bound on |reward| (values beyond it round-trip in roundtrip_prop.rs).
        ("d \"quoted\", with comma", 8, -1e6, -1.0),
    ]
}

/// What [`sample_rows`] loads into.
pub fn expected_sample() -> Calibration {
    Calibration::from_rows(sample_rows().into_iter().map(|(p, _, x, y)| (p, x, y))).unwrap()
}

/// [`sample_rows`] written to a fresh temp file named `file_name`, in `format` (else from the extension).
pub fn write_sample(file_name: &str, format: Option<Format>) -> TempFile {
    let f = TempFile::new(file_name);
    let rows = sample_rows();
    let n = write(
        f.path(),
        format,
        rows.iter().map(|&(p, r, x, y)| Row {
            prompt_id: p,
            response_id: Some(r),
            proxy: x,
            truth: y,
        }),
    )
    .unwrap();
    assert_eq!(n, rows.len() as u64);
    f
}

/// A Parquet file of the given columns (one record batch).
pub fn parquet_file(file_name: &str, columns: Vec<(&str, ArrayRef)>) -> TempFile {
    let f = TempFile::new(file_name);
    let schema = Arc::new(Schema::new(
        columns
            .iter()
            .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
            .collect::<Vec<_>>(),
    ));
    let batch = RecordBatch::try_new(schema.clone(), columns.into_iter().map(|(_, a)| a).collect()).unwrap();
    let mut w = ArrowWriter::try_new(std::fs::File::create(&f.path).unwrap(), schema, None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    f
}
