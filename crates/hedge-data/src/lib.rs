//! Loading and writing long-format calibration data for `hedge`.
//!
//! A calibration file has one row per (prompt, response) with a prompt id, a proxy reward (reward-model
//! score) and a true reward; an optional response id column is used to reject duplicate responses. CSV (with
//! a header row), JSON lines and Parquet are supported. [`load`] reads a file (or standard input for `"-"`)
//! into a [`Calibration`]: columnar arrays grouped by prompt, with prompts that have a single response dropped
//! (and counted). [`CalibrationWriter`] writes such data, streaming.
//!
//! Errors are [`DataError`]s whose messages name the file, the line (or Parquet row) and the column, e.g.
//! `data.csv:17: column "proxy": "abc" is not a number`.
//!
//! ```
//! use hedge_data::{Format, LoadOptions, load_reader};
//!
//! let csv = "prompt_id,response_id,true,proxy_rm\n\
//!            q1,0,1,0.9\n\
//!            q1,1,0,0.4\n\
//!            q2,0,0.5,0.1\n\
//!            q2,1,true,0.3\n\
//!            q3,0,1,0.2\n";
//! let opts = LoadOptions::new().proxy_col("proxy_rm");
//! let cal = load_reader(csv.as_bytes(), "example.csv", Format::Csv, &opts)?;
//! assert_eq!(cal.num_prompts(), 2);
//! assert_eq!(cal.skipped_single, 1); // q3 has a single response
//! let (id, proxy, truth) = cal.prompt(1);
//! assert_eq!((id, proxy, truth), ("q2", &[0.1, 0.3][..], &[0.5, 1.0][..]));
//!
//! let err = load_reader("prompt_id,proxy,true\nq1,abc,1\n".as_bytes(), "bad.csv", Format::Csv, &LoadOptions::new())
//!     .unwrap_err();
//! assert_eq!(err.to_string(), "bad.csv:2: column \"proxy\": \"abc\" is not a number");
//! # Ok::<(), hedge_data::DataError>(())
//! ```
//!
//! # Formats
//! - **CSV**: a header row is required; fields may be quoted. Numbers are decimal (`1.5`, `-2e-3`, surrounding
//!   spaces allowed). Line numbers in messages are physical lines, the header being line 1.
//! - **JSON lines**: one object per line, blank lines skipped. Prompt ids may be strings or integers;
//!   rewards may be numbers or numeric strings. The first object must have every needed key.
//! - **Parquet**: only the needed columns are read, in record batches. Prompt ids may be string, integer or
//!   dictionary columns; rewards any numeric, boolean or numeric-string column. Messages give `row N`
//!   (1-based data row).
//!
//! In every format, the true-reward column also accepts booleans (`true`/`false`, any case, read as 1/0);
//! empty or null rewards, `inf` and `nan` are errors, and so is any reward whose absolute value exceeds
//! [`LoadOptions::max_abs_reward`] (default [`DEFAULT_MAX_ABS_REWARD`], 10^6: one `1e308` would overflow the
//! estimators' sums). A CSV or JSON-lines line longer than [`LoadOptions::max_line_bytes`] (default
//! [`DEFAULT_MAX_LINE_BYTES`], 16 MiB) is an error too, raised before the line is read to its end.
//!
//! # Grouping
//! Files are usually grouped (all rows of a prompt contiguous) and are then loaded straight into the grouped
//! arrays. A prompt that reappears later is merged with its earlier rows; prompts keep the order of their
//! first appearance and rows their order within a prompt.

#![warn(missing_docs)]

mod accumulate;
mod calibration;
mod csv_load;
mod error;
mod format;
mod jsonl;
mod memory;
mod numeric;
mod options;
mod parquet_load;
mod writer;

use std::fs::File;
use std::io::Read;

pub use calibration::{Calibration, Row};
pub use error::{DataError, Location, Reward};
pub use format::Format;
pub use options::{
    DEFAULT_MAX_ABS_REWARD, DEFAULT_MAX_LINE_BYTES, DEFAULT_PARALLEL_MIN_BYTES, DEFAULT_PROMPT_COL, DEFAULT_PROXY_COL,
    DEFAULT_RESPONSE_COL, DEFAULT_TRUE_COL, LoadOptions, ResponseColumn,
};
pub use writer::{CalibrationWriter, WRITTEN_COLUMNS, write, write_calibration};

/// Name used for standard input in messages and in [`Calibration::source`].
pub const STDIN_NAME: &str = "<stdin>";

/// Loads a calibration file; `path` `"-"` reads standard input.
///
/// The format is [`LoadOptions::format`] if set, else detected from the extension ([`Format::from_path`]);
/// for standard input it is sniffed from the first bytes ([`Format::sniff`]). A file with an unknown extension
/// and no forced format is a [`DataError::UnknownFormat`] error. An invalid reward bound or line cap in `opts`
/// is a [`DataError::InvalidOption`] error, before anything is read.
pub fn load(path: &str, opts: &LoadOptions) -> Result<Calibration, DataError> {
    opts.check(if path == "-" { STDIN_NAME } else { path })?;
    if path == "-" {
        let stdin = std::io::stdin().lock();
        return match opts.format_override() {
            Some(format) => load_reader(stdin, STDIN_NAME, format, opts),
            None => {
                let (format, reader) = format::sniff_reader(stdin).map_err(|e| DataError::io(STDIN_NAME, e))?;
                load_reader(reader, STDIN_NAME, format, opts)
            }
        };
    }
    let format = match opts.format_override().or_else(|| Format::from_path(path)) {
        Some(f) => f,
        None => {
            return Err(DataError::UnknownFormat {
                path: path.to_string(),
                extension: format::extension(path).unwrap_or("").to_string(),
            });
        }
    };
    let file = File::open(path).map_err(|e| DataError::io(path, e))?;
    let size = file.metadata().map_err(|e| DataError::io(path, e))?.len();
    match format {
        Format::Parquet if size == 0 => Err(DataError::Empty { path: path.to_string() }),
        Format::Parquet => parquet_load::load_parquet(file, path, opts),
        Format::Csv => csv_load::load_csv(&file, path, opts, Some(size), Some(&file)),
        Format::JsonLines => jsonl::load_jsonl(file, path, opts, Some(size)),
    }
}

/// The column names of a calibration file, in file order (for JSON lines: the keys of the first object), e.g. to
/// find its proxy columns by prefix. Reads the header (CSV), the first object (JSON lines) or the schema
/// (Parquet), not the rows. Standard input (`"-"`) is refused: the caller would not be able to read it again.
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("hedge-doc-cols-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("cal.csv");
/// std::fs::write(&path, "prompt_id,true,proxy_a,proxy_b\np,1,0.5,0.2\np,0,0.1,0.9\n").unwrap();
/// let cols = hedge_data::column_names(path.to_str().unwrap(), &hedge_data::LoadOptions::new()).unwrap();
/// assert_eq!(cols, ["prompt_id", "true", "proxy_a", "proxy_b"]);
/// ```
pub fn column_names(path: &str, opts: &LoadOptions) -> Result<Vec<String>, DataError> {
    if path == "-" {
        return Err(DataError::io(
            STDIN_NAME,
            std::io::Error::new(
                std::io::ErrorKind::Unsupported,
                "the column names of standard input cannot be listed before it is read; give a file",
            ),
        ));
    }
    // Every loader resolves its columns before it reads a row and reports the file's columns when one is
    // missing: ask for a proxy column no file has.
    const NO_SUCH_COLUMN: &str = "\u{0}hedge: no such column\u{0}";
    match load(path, &opts.clone().proxy_col(NO_SUCH_COLUMN)) {
        Err(DataError::MissingColumn { available, .. }) => Ok(available),
        Err(e) => Err(e),
        Ok(_) => Err(DataError::io(
            path,
            std::io::Error::other("a column named like hedge's internal sentinel; cannot list the columns"),
        )),
    }
}

/// Loads calibration data of a known format from any reader; `name` is used in messages and as
/// [`Calibration::source`]. Parquet input is read into memory first (Parquet needs random access). An invalid
/// reward bound or line cap in `opts` is a [`DataError::InvalidOption`] error, before anything is read.
///
/// To sniff the format of an unknown stream, see [`load_reader_sniffed`].
pub fn load_reader<R: Read>(
    reader: R,
    name: &str,
    format: Format,
    opts: &LoadOptions,
) -> Result<Calibration, DataError> {
    opts.check(name)?;
    match format {
        Format::Csv => csv_load::load_csv(reader, name, opts, None, None),
        Format::JsonLines => jsonl::load_jsonl(reader, name, opts, None),
        Format::Parquet => {
            let mut reader = reader;
            let mut bytes = Vec::new();
            reader.read_to_end(&mut bytes).map_err(|e| DataError::io(name, e))?;
            if bytes.is_empty() {
                return Err(DataError::Empty { path: name.to_string() });
            }
            parquet_load::load_parquet(bytes::Bytes::from(bytes), name, opts)
        }
    }
}

/// Like [`load_reader`], but the format is [`LoadOptions::format`] if set, else sniffed from the first bytes
/// ([`Format::sniff`]), as for standard input in [`load`].
pub fn load_reader_sniffed<R: Read>(reader: R, name: &str, opts: &LoadOptions) -> Result<Calibration, DataError> {
    match opts.format_override() {
        Some(format) => load_reader(reader, name, format, opts),
        None => {
            let (format, reader) = format::sniff_reader(reader).map_err(|e| DataError::io(name, e))?;
            load_reader(reader, name, format, opts)
        }
    }
}
