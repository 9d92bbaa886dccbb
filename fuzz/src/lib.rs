//! Shared pieces of the fuzz targets: the data-loading harness with its oracles.
//!
//! Each data target (`csv_load`, `jsonl_load`, `parquet_load`) reads its first byte as flags and the rest as
//! the file's bytes, then loads them with [`hedge_data::load_reader`] (default [`LoadOptions`]) and checks:
//!
//! - nothing panics, aborts or hangs (the afl harness turns a panic on any thread into a crash);
//! - a loaded [`Calibration`] keeps its documented invariants ([`check_invariants`]);
//! - flag bit 0: loading with [`LoadOptions::sort_by_proxy`] (the sorting thread) gives the same prompts, each
//!   with the same rows ordered by (proxy, true), or the same error;
//! - flag bit 1: reading through a reader that returns a few bytes per `read` (buffer refills at every
//!   boundary) gives the same result or error as one read;
//! - flag bit 2: [`hedge_data::load_reader_sniffed`] (the format guessed from the bytes, as for standard input)
//!   does not panic, and agrees with the forced format when the sniffer picks that format;
//! - flag bit 3: a loaded calibration written back with [`CalibrationWriter`] in the same format loads back
//!   equal (prompts, rows, bit-exact values).

use std::io::{self, Read, Write};
use std::sync::{Arc, Mutex};

use hedge_data::{Calibration, CalibrationWriter, Format, LoadOptions, load_reader, load_reader_sniffed};

/// Name passed to the loaders (appears in error messages).
const NAME: &str = "fuzz";

/// A reader that hands out at most `chunk` bytes per `read` call.
pub struct ChunkedReader<'a> {
    data: &'a [u8],
    chunk: usize,
}

impl<'a> ChunkedReader<'a> {
    /// Reads `data`, `chunk` (at least 1) bytes at a time.
    pub fn new(data: &'a [u8], chunk: usize) -> Self {
        ChunkedReader {
            data,
            chunk: chunk.max(1),
        }
    }
}

impl Read for ChunkedReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.chunk.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// Panics unless `cal` has the invariants [`Calibration`] documents.
pub fn check_invariants(cal: &Calibration) {
    let n = cal.prompt_ids.len();
    assert_eq!(cal.offsets.len(), n + 1, "offsets: one more than prompts");
    assert_eq!(cal.offsets[0], 0, "offsets start at 0");
    assert_eq!(
        *cal.offsets.last().unwrap(),
        cal.proxy.len(),
        "offsets end at the row count"
    );
    assert_eq!(
        cal.proxy.len(),
        cal.truth.len(),
        "proxy and truth have one value per row"
    );
    assert!(n > 0, "a loaded calibration has at least one prompt");
    for w in cal.offsets.windows(2) {
        assert!(
            w[1] >= w[0] + 2,
            "every kept prompt has at least two responses: {:?}",
            cal.offsets
        );
    }
    assert!(
        cal.proxy.iter().chain(&cal.truth).all(|v| v.is_finite()),
        "every value is finite"
    );
    let mut ids: Vec<&str> = cal.prompt_ids.iter().map(String::as_str).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), n, "prompt ids are unique");
    assert!(
        cal.rows_read >= cal.num_rows() + cal.skipped_single,
        "rows_read counts every row"
    );
}

/// `cal` with each prompt's rows sorted by (proxy, true), as `sort_by_proxy` documents.
fn sorted_rows(cal: &Calibration) -> Calibration {
    let mut out = cal.clone();
    for i in 0..cal.num_prompts() {
        let r = cal.offsets[i]..cal.offsets[i + 1];
        let mut pairs: Vec<(f64, f64)> = cal.proxy[r.clone()]
            .iter()
            .copied()
            .zip(cal.truth[r.clone()].iter().copied())
            .collect();
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
        for (k, (p, t)) in pairs.into_iter().enumerate() {
            out.proxy[r.start + k] = p;
            out.truth[r.start + k] = t;
        }
    }
    out
}

/// A load's outcome, its error as the message a user sees.
type Outcome = Result<Calibration, String>;

/// Loads `reader` as `format` with `opts`; checks the invariants of a success.
fn load(reader: impl Read, format: Format, opts: &LoadOptions) -> Outcome {
    let out = load_reader(reader, NAME, format, opts).map_err(|e| e.to_string());
    if let Ok(cal) = &out {
        check_invariants(cal);
    }
    out
}

/// Same outcome: equal calibrations, or errors with the same message.
fn assert_same(what: &str, a: &Outcome, b: &Outcome) {
    match (a, b) {
        (Ok(a), Ok(b)) => assert_eq!(bits(a), bits(b), "{what}: different calibrations"),
        (Err(a), Err(b)) => assert_eq!(a, b, "{what}: different errors"),
        (a, b) => panic!("{what}: {:?} vs {:?}", a.as_ref().err(), b.as_ref().err()),
    }
}

/// A calibration with its values as bits (so that -0.0 and 0.0 differ and comparison is exact).
#[allow(clippy::type_complexity)]
fn bits(c: &Calibration) -> (&[String], &[usize], Vec<u64>, Vec<u64>, usize, usize) {
    (
        &c.prompt_ids,
        &c.offsets,
        c.proxy.iter().map(|v| v.to_bits()).collect(),
        c.truth.iter().map(|v| v.to_bits()).collect(),
        c.skipped_single,
        c.rows_read,
    )
}

/// A `Write` whose bytes can be taken back after the writer that owns it is dropped.
#[derive(Clone, Default)]
struct SharedBuf(Arc<Mutex<Vec<u8>>>);

impl Write for SharedBuf {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Writes `cal` in `format` and loads it back: it must come back equal.
fn check_roundtrip(cal: &Calibration, format: Format) {
    let buf = SharedBuf::default();
    let mut w = CalibrationWriter::new(buf.clone(), NAME, format).expect("writer");
    for row in cal.rows() {
        w.write_row(&row).expect("a loaded row can be written");
    }
    w.finish().expect("finish");
    let bytes = std::mem::take(&mut *buf.0.lock().unwrap());
    let back = load_reader(&bytes[..], NAME, format, &LoadOptions::new()).unwrap_or_else(|e| {
        panic!(
            "written {format} does not load back: {e}\n{}",
            String::from_utf8_lossy(&bytes)
        )
    });
    let mut expect = cal.clone();
    expect.skipped_single = 0;
    expect.rows_read = cal.num_rows();
    assert_eq!(bits(&back), bits(&expect), "written {format} loads back different");
}

/// Installs the data targets' panic hook, for `afl::fuzz_nohook!`: a panic aborts the process (a crash for
/// afl), except a panic raised inside the `parquet` or `arrow` crates, or inside the standard library (e.g.
/// "capacity overflow" when they size a buffer from a corrupt file), on a thread other than hedge-data's
/// sorting thread: hedge-data catches those and reports a corrupt Parquet file (`DataError::Parquet`). Should
/// one not be caught, the afl harness aborts when it reaches it, so it is still a crash.
pub fn install_panic_hook() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let file = info.location().map_or("", |l| l.file());
        let library = ["/parquet-", "/arrow-", "/rustc/"].iter().any(|p| file.contains(p));
        let sorting_thread = std::thread::current().name() == Some("hedge-data-sort");
        if !library || sorting_thread {
            default(info);
            std::process::abort();
        }
    }));
}

/// The data targets' body: `input[0]` is the flags (see the crate docs), the rest the file's bytes.
pub fn data_target(format: Format, input: &[u8]) {
    let Some((&flags, data)) = input.split_first() else {
        return;
    };
    let opts = LoadOptions::new();
    let plain = load(data, format, &opts);
    if flags & 1 != 0 {
        let sorted = load(data, format, &opts.clone().sort_by_proxy(true));
        let expect = plain.as_ref().map(sorted_rows).map_err(Clone::clone);
        assert_same("sort_by_proxy", &expect, &sorted);
    }
    if flags & 2 != 0 {
        let chunk = 1 + (flags >> 4) as usize;
        let chunked = load(ChunkedReader::new(data, chunk), format, &opts);
        assert_same("chunked reader", &plain, &chunked);
    }
    if flags & 4 != 0 {
        let sniffed = load_reader_sniffed(ChunkedReader::new(data, 3), NAME, &opts).map_err(|e| e.to_string());
        if let Ok(cal) = &sniffed {
            check_invariants(cal);
        }
        // The sniffer looks at most at the first 64 KiB.
        if data.len() < 1 << 16 && Format::sniff(data) == format {
            assert_same("sniffed", &plain, &sniffed);
        }
    }
    if flags & 8 != 0 {
        if let Ok(cal) = &plain {
            check_roundtrip(cal, format);
        }
    }
}
