//! JSON lines loading.
//!
//! Each non-blank line must be one JSON object. Only the needed keys are decoded (borrowing from the line
//! buffer where possible); all other keys are skipped without building values. A line is read up to
//! [`LoadOptions::max_line_bytes`] (plus its line end) and refused beyond, without reading the rest of it.

use std::borrow::Cow;
use std::fmt;
use std::io::{BufRead, BufReader, Read, Write};

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::accumulate::Accumulator;
use crate::error::shorten;
use crate::numeric::RewardColumn;
use crate::{Calibration, DataError, LoadOptions, Location, Reward};

const PROMPT: usize = 0;
const PROXY: usize = 1;
const TRUE: usize = 2;
const RESPONSE: usize = 3;

/// Loads JSON lines.
///
/// `size`: the input's size in bytes, if known, to size the arrays up front.
pub(crate) fn load_jsonl<R: Read>(
    reader: R,
    name: &str,
    opts: &LoadOptions,
    size: Option<u64>,
) -> Result<Calibration, DataError> {
    let mut reader = BufReader::with_capacity(1 << 17, reader);
    let mut buf = Vec::with_capacity(256);
    let mut line_no: u64 = 0;
    let mut consumed: u64 = 0;
    let mut columns: Option<[Option<String>; 4]> = None;
    let mut acc: Option<Accumulator> = None;
    let mut bufs = IdBufs::default();
    let limit = opts.line_cap();
    // A line of `limit` bytes and its `\r\n`: reading one byte more proves the line too long.
    let take = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(2);
    loop {
        buf.clear();
        let n = (&mut reader)
            .take(take)
            .read_until(b'\n', &mut buf)
            .map_err(|e| DataError::io(name, e))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        consumed += n as u64;
        if line_length(&buf) > limit {
            return Err(DataError::LineTooLong {
                path: name.to_string(),
                line: line_no,
                limit,
            });
        }
        let line = line_content(&buf, line_no);
        if line.is_empty() {
            continue;
        }
        let loc = Location::Line(line_no);
        check_object(line, name, loc)?;
        let cols = match &columns {
            Some(c) => c,
            None => {
                let c = resolve_columns(line, name, loc, opts)?;
                acc = Some(
                    Accumulator::new(name, opts.prompt_column(), c[RESPONSE].is_some()).sorting(opts.sorts_by_proxy()),
                );
                columns.insert(c)
            }
        };
        let acc = acc.as_mut().expect("accumulator exists once columns are resolved");
        if acc.rows() == crate::csv_load::SIZE_SAMPLE_ROWS {
            if let Some(total) = size {
                acc.reserve_for_size(consumed - n as u64, total);
            }
        }
        let seed = RowSeed { cols };
        let mut de = serde_json::Deserializer::from_slice(line);
        let cells = seed
            .deserialize(&mut de)
            .and_then(|c| de.end().map(|_| c))
            .map_err(|e| json_error(e, name, loc))?;
        push_row(acc, &cells, cols, opts.reward_bound(), &mut bufs, name, loc)?;
    }
    match acc {
        Some(acc) => acc.finish(name.to_string()),
        None => Err(DataError::Empty { path: name.to_string() }),
    }
}

/// The length of a line read with its line end, without that line end (`\n` or `\r\n`).
#[inline]
fn line_length(buf: &[u8]) -> usize {
    match buf {
        [.., b'\r', b'\n'] => buf.len() - 2,
        [.., b'\n'] => buf.len() - 1,
        _ => buf.len(),
    }
}

/// Line `line_no` (1-based) of the input without its line end and surrounding blanks, and without the
/// byte order mark on the first line.
#[inline]
fn line_content(buf: &[u8], line_no: u64) -> &[u8] {
    let mut line = buf;
    if line_no == 1 {
        line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
    }
    line.trim_ascii()
}

/// Refuses a non-blank line that does not start a JSON object (naming a JSON array, a common mistake).
#[inline]
fn check_object(line: &[u8], name: &str, loc: Location) -> Result<(), DataError> {
    if line[0] != b'{' {
        let message = if line[0] == b'[' {
            "expected one JSON object per line (JSON lines); a JSON array is not supported".to_string()
        } else {
            format!(
                "expected a JSON object, found \"{}\"",
                shorten(&line[..line.len().min(40)])
            )
        };
        return Err(DataError::malformed(name, loc, message));
    }
    Ok(())
}

/// Buffers in which integer ids are written as text.
#[derive(Default)]
struct IdBufs {
    prompt: IntBuf,
    response: IntBuf,
}

/// Adds one decoded row to the accumulator; `max_abs` bounds the rewards.
#[inline]
fn push_row(
    acc: &mut Accumulator,
    cells: &[Cell<'_>; 4],
    cols: &[Option<String>; 4],
    max_abs: f64,
    bufs: &mut IdBufs,
    name: &str,
    loc: Location,
) -> Result<(), DataError> {
    let col = |role: usize| cols[role].as_deref().unwrap_or("");
    let reward = |reward, role| RewardColumn {
        name: col(role),
        reward,
        field: None,
        max_abs,
    };
    let prompt = prompt_id(&cells[PROMPT], &mut bufs.prompt, name, loc, col(PROMPT))?;
    acc.set_prompt(prompt, loc)?;
    let proxy = number(&cells[PROXY], &reward(Reward::Proxy, PROXY), name, loc)?;
    let truth = number(&cells[TRUE], &reward(Reward::True, TRUE), name, loc)?;
    let response = response_id(&cells[RESPONSE], &mut bufs.response, name, loc, col(RESPONSE))?;
    acc.push(response, proxy, truth, loc)
}

/// The prompt id of a cell as text (a missing or null id is empty: the accumulator refuses it).
#[inline]
fn prompt_id<'a>(
    cell: &'a Cell<'_>,
    buf: &'a mut IntBuf,
    name: &str,
    loc: Location,
    column: &str,
) -> Result<&'a [u8], DataError> {
    match cell {
        Cell::Str(s) => Ok(s.as_bytes()),
        Cell::U64(v) => Ok(buf.format(*v)),
        Cell::I64(v) => Ok(buf.format(*v)),
        Cell::Absent | Cell::Null => Ok(b""),
        other => Err(DataError::malformed(
            name,
            loc,
            format!(
                "column \"{column}\": expected a string or an integer, found {}",
                other.describe()
            ),
        )),
    }
}

/// The response id of a cell as text, `None` if missing or null.
#[inline]
fn response_id<'a>(
    cell: &'a Cell<'_>,
    buf: &'a mut IntBuf,
    name: &str,
    loc: Location,
    column: &str,
) -> Result<Option<&'a [u8]>, DataError> {
    match cell {
        Cell::Str(s) => Ok(Some(s.as_bytes())),
        Cell::U64(v) => Ok(Some(buf.format(*v))),
        Cell::I64(v) => Ok(Some(buf.format(*v))),
        Cell::F64(v) => Ok(Some(buf.format(*v))),
        Cell::Bool(v) => Ok(Some(buf.format(*v))),
        Cell::Absent | Cell::Null => Ok(None),
        Cell::Nested(what) => Err(DataError::malformed(
            name,
            loc,
            format!("column \"{column}\": expected a string or a number, found {what}"),
        )),
    }
}

/// Checks the first object's keys and decides the column of each role.
fn resolve_columns(
    line: &[u8],
    name: &str,
    loc: Location,
    opts: &LoadOptions,
) -> Result<[Option<String>; 4], DataError> {
    let first: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(line).map_err(|e| json_error(e, name, loc))?;
    let missing = |col: &str| DataError::MissingColumn {
        path: name.to_string(),
        column: col.to_string(),
        available: first.keys().cloned().collect(),
    };
    for col in [opts.prompt_column(), opts.proxy_column(), opts.true_column()] {
        if !first.contains_key(col) {
            return Err(missing(col));
        }
    }
    let response = opts.resolve_response(|c| first.contains_key(c)).map_err(missing)?;
    Ok([
        Some(opts.prompt_column().to_string()),
        Some(opts.proxy_column().to_string()),
        Some(opts.true_column().to_string()),
        response.map(str::to_string),
    ])
}

/// Converts a numeric cell of `column`, checked against its bound (which also refuses non-finite values).
/// Only the true reward column accepts booleans.
#[inline]
fn number(cell: &Cell<'_>, column: &RewardColumn<'_>, name: &str, loc: Location) -> Result<f64, DataError> {
    match cell {
        Cell::F64(v) => column.check(*v, name, loc),
        Cell::U64(v) => column.check(*v as f64, name, loc).map_err(|e| with_text(e, v)),
        Cell::I64(v) => column.check(*v as f64, name, loc).map_err(|e| with_text(e, v)),
        Cell::Str(s) => column.parse(s.as_bytes(), name, loc),
        Cell::Bool(b) if column.reward == Reward::True => column.check(if *b { 1.0 } else { 0.0 }, name, loc),
        Cell::Bool(b) => Err(DataError::NotNumeric {
            path: name.to_string(),
            location: loc,
            column: column.name.to_string(),
            value: b.to_string(),
        }),
        Cell::Absent | Cell::Null => Err(DataError::Missing {
            path: name.to_string(),
            location: loc,
            column: column.name.to_string(),
        }),
        Cell::Nested(what) => Err(DataError::NotNumeric {
            path: name.to_string(),
            location: loc,
            column: column.name.to_string(),
            value: what.to_string(),
        }),
    }
}

/// An integer's own digits in a [`DataError::RewardTooLarge`] message (instead of its rounded `f64`).
#[cold]
fn with_text(mut err: DataError, v: &impl fmt::Display) -> DataError {
    if let DataError::RewardTooLarge { value, .. } = &mut err {
        *value = v.to_string();
    }
    err
}

/// Maps a `serde_json` error (whose own position is relative to the line) to a [`DataError`].
fn json_error(err: serde_json::Error, name: &str, loc: Location) -> DataError {
    let mut message = err.to_string();
    if let Some(i) = message.rfind(" at line ") {
        message.truncate(i);
    }
    let column = err.column();
    let message = if column > 0 {
        format!("invalid JSON: {message} (at character {column})")
    } else {
        format!("invalid JSON: {message}")
    };
    DataError::malformed(name, loc, message)
}

/// A small buffer for formatting integers without allocating.
#[derive(Default)]
struct IntBuf {
    buf: Vec<u8>,
}

impl IntBuf {
    fn format(&mut self, v: impl fmt::Display) -> &[u8] {
        self.buf.clear();
        write!(self.buf, "{v}").expect("writing to a Vec cannot fail");
        &self.buf
    }
}

/// One decoded JSON value of a needed key.
#[derive(Debug, Clone, Default)]
enum Cell<'de> {
    #[default]
    Absent,
    Null,
    Bool(bool),
    U64(u64),
    I64(i64),
    F64(f64),
    Str(Cow<'de, str>),
    /// An array or object (the text shown in messages).
    Nested(&'static str),
}

impl Cell<'_> {
    fn describe(&self) -> String {
        match self {
            Cell::Absent => "nothing".into(),
            Cell::Null => "null".into(),
            Cell::Bool(b) => b.to_string(),
            Cell::U64(v) => v.to_string(),
            Cell::I64(v) => v.to_string(),
            Cell::F64(v) => v.to_string(),
            Cell::Str(s) => format!("\"{}\"", shorten(s.as_bytes())),
            Cell::Nested(what) => (*what).to_string(),
        }
    }
}

struct CellVisitor;

impl<'de> Visitor<'de> for CellVisitor {
    type Value = Cell<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Cell::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Cell::I64(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Cell::U64(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Cell::F64(v))
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cell::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cell::Str(Cow::Owned(v.to_string())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cell::Str(Cow::Owned(v)))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Cell::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Cell::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(CellVisitor)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Cell::Nested("[…]"))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Cell::Nested("{…}"))
    }
}

/// Matches a key against the wanted column names; yields a bit mask of the roles it fills.
struct KeySeed<'c> {
    cols: &'c [Option<String>; 4],
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = u8;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<u8, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = u8;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<u8, E> {
        let mut mask = 0u8;
        for (i, c) in self.cols.iter().enumerate() {
            if c.as_deref() == Some(v) {
                mask |= 1 << i;
            }
        }
        Ok(mask)
    }
}

/// Decodes one object into the cells of the four roles.
struct RowSeed<'c> {
    cols: &'c [Option<String>; 4],
}

impl<'de> DeserializeSeed<'de> for RowSeed<'_> {
    type Value = [Cell<'de>; 4];
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RowSeed<'_> {
    type Value = [Cell<'de>; 4];
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut cells: [Cell<'de>; 4] = Default::default();
        while let Some(mask) = map.next_key_seed(KeySeed { cols: self.cols })? {
            if mask == 0 {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            let cell = map.next_value_seed(CellSeed)?;
            for (role, slot) in cells.iter_mut().enumerate() {
                if mask & (1 << role) != 0 {
                    *slot = cell.clone();
                }
            }
        }
        Ok(cells)
    }
}

struct CellSeed;

impl<'de> DeserializeSeed<'de> for CellSeed {
    type Value = Cell<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(CellVisitor)
    }
}
