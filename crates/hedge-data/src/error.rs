//! The crate's error type.

use std::fmt;

/// Where in a data source a problem was found.
///
/// Text formats (CSV, JSON lines) report the 1-based *physical* line number in the file (for CSV the
/// header is line 1, so the first data row is usually line 2). Parquet files, which have no lines, report the
/// 1-based data row number (`row 1` is the first row of the file). In-memory data
/// ([`Calibration::from_groups`](crate::Calibration::from_groups)) also reports rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Location {
    /// 1-based physical line number in a text file.
    Line(u64),
    /// 1-based row number (Parquet files, in-memory data, rows given to a writer).
    Row(u64),
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Line(n) => write!(f, "line {n}"),
            Location::Row(n) => write!(f, "row {n}"),
        }
    }
}

/// Formats `path` and `location` the way every message of [`DataError`] starts:
/// `data.csv:17` for a line, `data.parquet: row 17` for a row.
fn place(path: &str, location: &Location) -> String {
    match location {
        Location::Line(n) => format!("{path}:{n}"),
        Location::Row(n) => format!("{path}: row {n}"),
    }
}

/// Which reward a value is: the proxy (reward-model score) or the true reward.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reward {
    /// The proxy reward column.
    Proxy,
    /// The true reward column.
    True,
}

impl fmt::Display for Reward {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Reward::Proxy => "proxy",
            Reward::True => "true",
        })
    }
}

/// Formats a number for a message: integers up to 10^16 in plain digits (`1000000`), anything else in the
/// shortest form that reads back exactly (`0.5`, `1e308`).
pub(crate) fn fmt_number(v: f64) -> String {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e16 {
        format!("{v:.0}")
    } else if v.is_finite() {
        let mut buf = ryu::Buffer::new();
        let s = buf.format_finite(v);
        s.strip_suffix(".0").unwrap_or(s).to_string()
    } else {
        v.to_string()
    }
}

/// `place`, with the 1-based field number of a CSV value after the line: `data.csv:17:3`.
fn place_field(path: &str, location: &Location, field: &Option<u64>) -> String {
    match (location, field) {
        (Location::Line(n), Some(f)) => format!("{path}:{n}:{f}"),
        _ => place(path, location),
    }
}

/// Everything that can go wrong while loading or writing calibration data.
///
/// Every variant that concerns a file carries its name (`path`, `"<stdin>"` for standard input, `"<memory>"`
/// for in-memory data); variants about one value also carry its [`Location`] and the column name, so the
/// messages read like `data.csv:17: column "proxy": "abc" is not a number`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// Reading or writing the file failed.
    #[error("{path}: {source}")]
    Io {
        /// File name.
        path: String,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },

    /// The format could not be told from the file name's extension.
    #[error(
        "{path}: cannot tell the data format from the file name (extension {extension:?}); expected .csv, \
         .jsonl, .ndjson, .json, .parquet or .pq, or give the format explicitly"
    )]
    UnknownFormat {
        /// File name.
        path: String,
        /// The extension found (empty if none).
        extension: String,
    },

    /// A format name (`--format`, Python's `format=`) that is none of the formats
    /// ([`Format::from_str`](crate::Format)'s error).
    #[error("unknown data format \"{name}\" (expected csv, jsonl or parquet)")]
    UnknownFormatName {
        /// The name given.
        name: String,
    },

    /// A required column is not in the file.
    #[error("{path}: missing column \"{column}\" (available columns: {})", list(.available))]
    MissingColumn {
        /// File name.
        path: String,
        /// The column that was asked for.
        column: String,
        /// The columns the file has, in file order (for JSON lines: the keys of the first object).
        available: Vec<String>,
    },

    /// A value of a numeric column is not a number.
    #[error("{}: column \"{column}\": \"{value}\" is not a number", place(.path, .location))]
    NotNumeric {
        /// File name.
        path: String,
        /// Line or row of the value.
        location: Location,
        /// Column name.
        column: String,
        /// The offending text (possibly shortened).
        value: String,
    },

    /// A numeric value is infinite or NaN (e.g. `inf`, `nan`, `1e999`).
    #[error("{}: column \"{column}\": {value} is not a finite number", place(.path, .location))]
    NonFinite {
        /// File name.
        path: String,
        /// Line or row of the value.
        location: Location,
        /// Column name.
        column: String,
        /// The offending text or value.
        value: String,
    },

    /// A proxy or true reward is beyond the bound on absolute values
    /// ([`LoadOptions::max_abs_reward`](crate::LoadOptions::max_abs_reward), default
    /// [`DEFAULT_MAX_ABS_REWARD`](crate::DEFAULT_MAX_ABS_REWARD)), e.g.
    /// `data.csv:17:3: column "true": true reward 1e308 is beyond --max-abs-reward 1000000`.
    #[error(
        "{}: column \"{column}\": {reward} reward {value} is beyond --max-abs-reward {}",
        place_field(.path, .location, .field),
        fmt_number(*.bound)
    )]
    RewardTooLarge {
        /// File name.
        path: String,
        /// Line or row of the value.
        location: Location,
        /// 1-based field number of the value in its CSV record (`None` for JSON lines and Parquet).
        field: Option<u64>,
        /// Column name.
        column: String,
        /// Which reward the column holds.
        reward: Reward,
        /// The value as written in the file (CSV, numeric strings) or its shortest exact form.
        value: String,
        /// The bound it exceeds.
        bound: f64,
    },

    /// A line of a CSV or JSON-lines input is longer than the cap
    /// ([`LoadOptions::max_line_bytes`](crate::LoadOptions::max_line_bytes), default
    /// [`DEFAULT_MAX_LINE_BYTES`](crate::DEFAULT_MAX_LINE_BYTES)); it was not read to its end.
    #[error("{path}:{line}: line longer than {limit} bytes (--max-line-bytes)")]
    LineTooLong {
        /// File name.
        path: String,
        /// 1-based line number (for a CSV record spanning lines: the line where it starts).
        line: u64,
        /// The cap, in bytes.
        limit: usize,
    },

    /// A [`LoadOptions`](crate::LoadOptions) value that its setter could not refuse is invalid (a reward bound
    /// that is not finite and positive, a line cap of 0); reported when loading starts, before any read.
    #[error("{path}: invalid load option {option} = {value}: {reason}")]
    InvalidOption {
        /// File name.
        path: String,
        /// The option's name (`max_abs_reward`, `max_line_bytes`).
        option: &'static str,
        /// The value given.
        value: String,
        /// What is expected.
        reason: &'static str,
    },

    /// A required value is missing: an empty CSV field, a JSON `null` or absent key, a Parquet null.
    #[error("{}: column \"{column}\": missing value (empty, null or absent)", place(.path, .location))]
    Missing {
        /// File name.
        path: String,
        /// Line or row of the value.
        location: Location,
        /// Column name.
        column: String,
    },

    /// A Parquet column has a type that cannot be used for its role.
    #[error("{path}: column \"{column}\" has unsupported type {data_type} (expected {expected})")]
    UnsupportedType {
        /// File name.
        path: String,
        /// Column name.
        column: String,
        /// The column's Arrow data type.
        data_type: String,
        /// What kinds of types are accepted.
        expected: &'static str,
    },

    /// The source has no data rows (empty file, header only, or only blank lines).
    #[error("{path}: no data rows")]
    Empty {
        /// File name.
        path: String,
    },

    /// Every prompt has a single response, so nothing is left after dropping single-response prompts.
    #[error("{path}: no prompt has two or more responses ({prompts} prompts, each with a single response)")]
    NoMultiResponsePrompt {
        /// File name.
        path: String,
        /// Number of (single-response) prompts seen.
        prompts: usize,
    },

    /// The same response id appears twice for one prompt; `location` is the second occurrence.
    #[error("{}: duplicate response id \"{response}\" for prompt \"{prompt}\"", place(.path, .location))]
    DuplicateResponse {
        /// File name.
        path: String,
        /// Line or row of the second occurrence.
        location: Location,
        /// Prompt id.
        prompt: String,
        /// The repeated response id.
        response: String,
    },

    /// A record that cannot be parsed at all: bad CSV quoting, wrong number of fields, invalid JSON, a
    /// prompt id of the wrong type, invalid UTF-8.
    #[error("{}: {message}", place(.path, .location))]
    Malformed {
        /// File name.
        path: String,
        /// Line or row of the record.
        location: Location,
        /// What is wrong.
        message: String,
    },

    /// The Parquet or Arrow library reported an error (corrupt file, not a Parquet file, write failure).
    #[error("{path}: parquet: {message}")]
    Parquet {
        /// File name.
        path: String,
        /// The library's message.
        message: String,
    },

    /// In-memory data given to [`Calibration::from_groups`](crate::Calibration::from_groups) has a group whose
    /// proxy and truth slices differ in length.
    #[error("<memory>: prompt \"{prompt}\": {proxy_len} proxy values but {truth_len} true values")]
    LengthMismatch {
        /// Prompt id of the group.
        prompt: String,
        /// Number of proxy values.
        proxy_len: usize,
        /// Number of true values.
        truth_len: usize,
    },
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        return "none".to_string();
    }
    items.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(", ")
}

impl DataError {
    /// The file name the error is about (`"<stdin>"`, `"<memory>"` for those sources).
    pub fn path(&self) -> &str {
        match self {
            DataError::Io { path, .. }
            | DataError::UnknownFormat { path, .. }
            | DataError::MissingColumn { path, .. }
            | DataError::NotNumeric { path, .. }
            | DataError::NonFinite { path, .. }
            | DataError::RewardTooLarge { path, .. }
            | DataError::LineTooLong { path, .. }
            | DataError::InvalidOption { path, .. }
            | DataError::Missing { path, .. }
            | DataError::UnsupportedType { path, .. }
            | DataError::Empty { path }
            | DataError::NoMultiResponsePrompt { path, .. }
            | DataError::DuplicateResponse { path, .. }
            | DataError::Malformed { path, .. }
            | DataError::Parquet { path, .. } => path,
            DataError::LengthMismatch { .. } => "<memory>",
            DataError::UnknownFormatName { .. } => "<argument>",
        }
    }

    /// The line or row the error is about, if it concerns one.
    pub fn location(&self) -> Option<Location> {
        match self {
            DataError::NotNumeric { location, .. }
            | DataError::NonFinite { location, .. }
            | DataError::RewardTooLarge { location, .. }
            | DataError::Missing { location, .. }
            | DataError::DuplicateResponse { location, .. }
            | DataError::Malformed { location, .. } => Some(*location),
            DataError::LineTooLong { line, .. } => Some(Location::Line(*line)),
            _ => None,
        }
    }

    pub(crate) fn io(path: &str, source: std::io::Error) -> Self {
        DataError::Io {
            path: path.to_string(),
            source,
        }
    }

    pub(crate) fn parquet(path: &str, err: impl fmt::Display) -> Self {
        DataError::Parquet {
            path: path.to_string(),
            message: err.to_string(),
        }
    }

    pub(crate) fn malformed(path: &str, location: Location, message: impl Into<String>) -> Self {
        DataError::Malformed {
            path: path.to_string(),
            location,
            message: message.into(),
        }
    }
}

/// Shortens a value for an error message (at most 80 characters).
pub(crate) fn shorten(bytes: &[u8]) -> String {
    let s = String::from_utf8_lossy(bytes);
    let mut out: String = s.chars().take(80).collect();
    if s.chars().count() > 80 {
        out.push('…');
    }
    out
}
