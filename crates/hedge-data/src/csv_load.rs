//! CSV loading.
//!
//! Records are split by a fast path for the common case (a line with no quote and no stray carriage
//! return: split at commas), and by `csv_core` otherwise (quoted fields, possibly spanning lines). Both count
//! physical lines, so messages name the line where a record starts.
//!
//! A line longer than [`LoadOptions::max_line_bytes`] (a quoted record spanning lines counts as one) stops the
//! read where it passes the cap: the buffer never grows much beyond it.
//!
//! A large file ([`LoadOptions::parallel_min_bytes`]) is parsed on two threads. The reading thread parses it
//! from the start, as for any input; a second thread parses it from the first line start after the middle
//! (the split), with the checks that need no state (field count, prompt id, numbers), into a [`Segment`]. The
//! split is a guess: a line break inside a quoted field is no record boundary. Only the reading thread knows,
//! when it gets there: if a record of its own ends exactly at the split, it takes the second thread's rows
//! (replaying them into its accumulator, which does the checks that need state: response ids); if a record
//! runs past the split, or the second thread stopped at an error, it reads on by itself. So the rows, and the
//! first error in file order, are those of the sequential read. (A response id of the second half repeating
//! one of the first is found in the replay, which has no line numbers: then the file is read again
//! sequentially, for the message.)

use std::fs::File;
use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::accumulate::{Accumulator, ResponseKey, small_int};
use crate::numeric::RewardColumn;
use crate::{Calibration, DataError, LoadOptions, Location, Reward};

/// Loads a CSV file with a header row.
///
/// `size`: the input's size in bytes, if known, to size the arrays up front. `file`: the file `reader` reads
/// from its start, if it is one: then a large file may be parsed on two threads (see [`split_point`]).
pub(crate) fn load_csv<R: Read>(
    reader: R,
    name: &str,
    opts: &LoadOptions,
    size: Option<u64>,
    file: Option<&File>,
) -> Result<Calibration, DataError> {
    load_csv_at(reader, name, opts, size, file, None)
}

/// [`load_csv`], with the place where the second thread starts looking for a line start (`hint`, a byte offset;
/// default: the middle of the rows) given for tests.
fn load_csv_at<R: Read>(
    reader: R,
    name: &str,
    opts: &LoadOptions,
    size: Option<u64>,
    file: Option<&File>,
    hint: Option<u64>,
) -> Result<Calibration, DataError> {
    let limit = opts.line_cap();
    let mut records = Records::new(reader, limit);
    if !records.next().map_err(|e| stop(e, name, limit))? {
        return Err(DataError::Empty { path: name.to_string() });
    }
    let names: Vec<String> = (0..records.len())
        .map(|i| {
            let h = records.field(i);
            let h = if i == 0 {
                h.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(h)
            } else {
                h
            };
            String::from_utf8_lossy(h.trim_ascii()).into_owned()
        })
        .collect();
    if names.iter().all(|n| n.is_empty()) {
        return Err(DataError::Empty { path: name.to_string() });
    }
    let (pi, xi, ti, ri) = crate::options::column_positions(&names, name, opts)?;
    let column = |reward, i: usize| RewardColumn {
        name: &names[i],
        reward,
        field: Some(i as u64 + 1),
        max_abs: opts.reward_bound(),
    };
    let cols = Columns {
        width: names.len(),
        pi,
        ri,
        proxy: (column(Reward::Proxy, xi), xi),
        truth: (column(Reward::True, ti), ti),
    };

    let mut acc = Accumulator::new(name, opts.prompt_column(), ri.is_some()).sorting(opts.sorts_by_proxy());
    let header_end = records.consumed();
    let split = match (file, size) {
        (Some(file), Some(total)) if !records.slow_only => split_point(file, header_end, total, opts, hint),
        _ => None,
    };
    let (Some(file), Some(split)) = (file, split) else {
        let mut rows = Rows {
            records: &mut records,
            acc: &mut acc,
            cols: &cols,
            name,
            size,
            header_end,
        };
        rows.read(u64::MAX, None)?;
        return acc.finish(name.to_string());
    };
    let cancel = AtomicBool::new(false);
    let outcome = std::thread::scope(|scope| {
        // Stops the second thread however this closure ends (an error returned early included).
        let _cancel = CancelOnDrop(&cancel);
        let mut worker = std::thread::Builder::new()
            .name("hedge-data-csv".into())
            .spawn_scoped(scope, || {
                let reader = ReadAt { file, pos: split };
                parse_segment(reader, &cols, limit, size.unwrap_or(0).saturating_sub(split), &cancel)
            })
            .ok();
        let mut rows = Rows {
            records: &mut records,
            acc: &mut acc,
            cols: &cols,
            name,
            size,
            header_end,
        };
        let mut stop_at = if worker.is_some() { split } else { u64::MAX };
        loop {
            if !rows.read(stop_at, Some(&cancel))? {
                return Ok(true);
            }
            // At the split, which is where a record starts: use the second thread's rows if it read them all.
            match worker.take().and_then(|w| w.join().ok()).flatten() {
                Some(segment) => {
                    #[cfg(test)]
                    tests::REPLAYS.fetch_add(1, Ordering::Relaxed);
                    return Ok(segment.replay(rows.acc).is_ok());
                }
                None => stop_at = u64::MAX,
            }
        }
    })?;
    if outcome {
        acc.finish(name.to_string())
    } else {
        // A response id of the second half repeats one of the same prompt before it: read again sequentially,
        // for the error that names its line.
        drop(acc);
        load_csv_at(ReadAt { file, pos: 0 }, name, opts, size, None, None)
    }
}

/// The error for a [`Stop`] of the reader of file `name`.
fn stop(e: Stop, name: &str, limit: usize) -> DataError {
    match e {
        Stop::Io(e) => DataError::io(name, e),
        Stop::LineTooLong(line) => DataError::LineTooLong {
            path: name.to_string(),
            line,
            limit,
        },
    }
}

/// The columns used, from the header: number of fields, positions of the prompt and response ids, and the
/// reward columns with their positions.
struct Columns<'a> {
    width: usize,
    pi: usize,
    ri: Option<usize>,
    proxy: (RewardColumn<'a>, usize),
    truth: (RewardColumn<'a>, usize),
}

/// The reading thread's loop over data records.
struct Rows<'a, 'c, R> {
    records: &'a mut Records<R>,
    acc: &'a mut Accumulator,
    cols: &'a Columns<'c>,
    name: &'a str,
    size: Option<u64>,
    header_end: u64,
}

impl<R: Read> Rows<'_, '_, R> {
    /// Reads and accumulates records until the end of the input (returns false) or until the record that ends
    /// at byte `stop_at` (returns true). If a record goes past `stop_at` instead (it does not start a record),
    /// sets `cancel` and reads on to the end.
    fn read(&mut self, mut stop_at: u64, cancel: Option<&AtomicBool>) -> Result<bool, DataError> {
        let (records, acc, cols, name) = (&mut *self.records, &mut *self.acc, self.cols, self.name);
        let width = cols.width;
        let limit = records.limit;
        let mut last_check = stop_at.saturating_sub(1);
        while records.next().map_err(|e| stop(e, name, limit))? {
            if acc.rows() == SIZE_SAMPLE_ROWS {
                if let Some(total) = self.size {
                    let header_end = self.header_end;
                    acc.reserve_for_size(records.consumed() - header_end, total - header_end.min(total));
                }
            }
            let loc = Location::Line(records.record_line());
            if records.len() != width {
                return Err(DataError::malformed(
                    name,
                    loc,
                    format!("expected {width} fields (as in the header), found {}", records.len()),
                ));
            }
            acc.set_prompt(records.field(cols.pi), loc)?;
            let proxy = cols.proxy.0.parse(records.field(cols.proxy.1), name, loc)?;
            let truth = cols.truth.0.parse(records.field(cols.truth.1), name, loc)?;
            acc.push(cols.ri.map(|i| records.field(i)), proxy, truth, loc)?;
            if records.consumed() >= last_check {
                if records.ends_at(stop_at) {
                    return Ok(true);
                }
                if records.consumed() >= stop_at {
                    if let Some(cancel) = cancel {
                        cancel.store(true, Ordering::Relaxed);
                    }
                    stop_at = u64::MAX;
                    last_check = u64::MAX;
                }
            }
        }
        Ok(false)
    }
}

/// Sets the flag when dropped.
struct CancelOnDrop<'a>(&'a AtomicBool);

impl Drop for CancelOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Reads `file` from byte `pos` on with positioned reads, which leave the file's own position alone: two
/// threads can read one `File` at two places.
struct ReadAt<'a> {
    file: &'a File,
    pos: u64,
}

impl Read for ReadAt<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = read_at(self.file, buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], pos: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, pos)
}

#[cfg(not(unix))]
fn read_at(_: &File, _: &mut [u8], _: u64) -> io::Result<usize> {
    Err(io::ErrorKind::Unsupported.into())
}

/// Longest stretch scanned for a line start after the middle of the file.
const SPLIT_SCAN_BYTES: u64 = 1 << 20;

/// Where the second thread starts parsing a file of `total` bytes whose header ends at `header_end`: the start
/// of the first line beginning after `hint` (default: the middle of the rows), if the file is large enough
/// ([`LoadOptions::parallel_min_bytes`]), the platform has positioned reads, the machine has two cores, and
/// such a line start is found within [`SPLIT_SCAN_BYTES`]. Whether a record starts there (and not a line inside
/// a quoted field) is only known when the reading thread gets there.
fn split_point(file: &File, header_end: u64, total: u64, opts: &LoadOptions, hint: Option<u64>) -> Option<u64> {
    if !cfg!(unix) || total < opts.parallel_threshold() || total <= header_end {
        return None;
    }
    if hint.is_none() && std::thread::available_parallelism().map_or(1, |n| n.get()) < 2 {
        return None;
    }
    let mut pos = hint.unwrap_or(header_end + (total - header_end) / 2).max(header_end);
    let end = pos.saturating_add(SPLIT_SCAN_BYTES).min(total);
    let mut buf = vec![0u8; 64 * 1024];
    while pos < end {
        let want = buf.len().min((end - pos) as usize);
        let n = read_at(file, &mut buf[..want], pos).ok()?;
        if n == 0 {
            return None;
        }
        if let Some(k) = memchr::memchr(b'\n', &buf[..n]) {
            let split = pos + k as u64 + 1;
            return (split < total).then_some(split);
        }
        pos += n as u64;
    }
    None
}

/// The rows of the second part of a file, parsed by the second thread: runs of rows of one prompt, in file
/// order, with their prompt ids and (if checked) response ids.
#[derive(Default)]
struct Segment {
    /// Prompt ids of the runs, concatenated; `id_ends[r]` ends run `r`'s.
    ids: Vec<u8>,
    id_ends: Vec<usize>,
    /// First row of each run.
    run_starts: Vec<usize>,
    proxy: Vec<f64>,
    truth: Vec<f64>,
    /// Response ids, if checked: a small integer (see [`small_int`]) or [`TEXT_KEY`] | an entry of `texts`.
    keys: Vec<u32>,
    /// Response ids that are not small integers, concatenated; `text_ends[e]` ends entry `e`.
    texts: Vec<u8>,
    text_ends: Vec<usize>,
}

/// Marks a [`Segment::keys`] entry as text.
const TEXT_KEY: u32 = 1 << 31;

impl Segment {
    fn run_id(&self, r: usize) -> &[u8] {
        let start = if r == 0 { 0 } else { self.id_ends[r - 1] };
        &self.ids[start..self.id_ends[r]]
    }

    fn key(&self, row: usize) -> ResponseKey<'_> {
        let k = self.keys[row];
        if k & TEXT_KEY == 0 {
            return ResponseKey::Int(u64::from(k));
        }
        let e = (k & !TEXT_KEY) as usize;
        let start = if e == 0 { 0 } else { self.text_ends[e - 1] };
        ResponseKey::Text(&self.texts[start..self.text_ends[e]])
    }

    /// Feeds the rows to `acc` as the sequential loop would have. An error (a response id repeated across the
    /// split) carries no useful location: the caller reads the file again sequentially for it.
    fn replay(&self, acc: &mut Accumulator) -> Result<(), DataError> {
        let loc = Location::Line(0);
        let n = self.proxy.len();
        for r in 0..self.run_starts.len() {
            acc.set_prompt(self.run_id(r), loc)?;
            let rows = self.run_starts[r]..self.run_starts.get(r + 1).copied().unwrap_or(n);
            if self.keys.is_empty() {
                acc.extend_rows(&self.proxy[rows.clone()], &self.truth[rows]);
            } else {
                for i in rows {
                    acc.push_key(Some(self.key(i)), self.proxy[i], self.truth[i], loc)?;
                }
            }
        }
        Ok(())
    }
}

/// The second thread: parses the records of `reader` (the file from a line start after its middle on, `bytes`
/// long as far as known) with the checks of the reading thread that need no state. `None` on any error, or
/// once `cancel` is set: the reading thread then reads that part itself.
fn parse_segment<R: Read>(
    reader: R,
    cols: &Columns<'_>,
    limit: usize,
    bytes: u64,
    cancel: &AtomicBool,
) -> Option<Segment> {
    let mut records = Records::new(reader, limit);
    // Not the start of the data: no byte order mark to skip, and the line ends are not bare `\r` (checked).
    records.started = true;
    let mut seg = Segment::default();
    let loc = Location::Line(0);
    while records.next().ok()? {
        if cancel.load(Ordering::Relaxed) || records.len() != cols.width {
            return None;
        }
        let n = seg.proxy.len();
        if n == SIZE_SAMPLE_ROWS && bytes > records.consumed() {
            let per_row = records.consumed() as f64 / n as f64;
            let rows = ((bytes - records.consumed()) as f64 / per_row * 1.1) as usize + 1024;
            let ok = seg.proxy.try_reserve(rows).is_ok() && seg.truth.try_reserve(rows).is_ok();
            if ok && cols.ri.is_some() {
                let _ = seg.keys.try_reserve(rows);
            }
        }
        let id = records.field(cols.pi);
        if seg.id_ends.is_empty() || seg.run_id(seg.id_ends.len() - 1) != id {
            if id.is_empty() || std::str::from_utf8(id).is_err() {
                return None;
            }
            seg.ids.extend_from_slice(id);
            seg.id_ends.push(seg.ids.len());
            seg.run_starts.push(n);
        }
        let proxy = cols.proxy.0.parse(records.field(cols.proxy.1), "", loc).ok()?;
        let truth = cols.truth.0.parse(records.field(cols.truth.1), "", loc).ok()?;
        if let Some(ri) = cols.ri {
            let text = records.field(ri);
            let key = match small_int(text).and_then(|k| u32::try_from(k).ok()) {
                Some(k) if k < TEXT_KEY => k,
                _ => {
                    let entry = u32::try_from(seg.text_ends.len()).ok().filter(|&e| e < TEXT_KEY)?;
                    seg.texts.extend_from_slice(text);
                    seg.text_ends.push(seg.texts.len());
                    TEXT_KEY | entry
                }
            };
            seg.keys.push(key);
        }
        seg.proxy.push(proxy);
        seg.truth.push(truth);
    }
    Some(seg)
}

/// True if `text` has a `\r` followed by something other than `\n`.
fn has_bare_cr(text: &[u8]) -> bool {
    memchr::memchr_iter(b'\r', text).any(|k| text.get(k + 1).is_some_and(|&b| b != b'\n'))
}

/// Rows read before extrapolating the number of rows from the file size.
pub(crate) const SIZE_SAMPLE_ROWS: usize = 1024;

/// Initial read buffer size (grows if one record does not fit).
const BUF_SIZE: usize = 256 * 1024;

/// Why [`Records::next`] stopped.
#[derive(Debug)]
enum Stop {
    /// Reading failed.
    Io(io::Error),
    /// The line (or quoted record) starting at this line is longer than the cap.
    LineTooLong(u64),
}

impl From<io::Error> for Stop {
    fn from(e: io::Error) -> Self {
        Stop::Io(e)
    }
}

/// A streaming CSV record splitter (comma-separated, `"` quoting, `\n`, `\r\n` or `\r` line ends; blank lines
/// are skipped).
struct Records<R> {
    reader: R,
    buf: Vec<u8>,
    /// Unconsumed input is `buf[pos..len]`.
    pos: usize,
    /// Bytes of input dropped from the front of `buf` so far.
    offset: u64,
    len: usize,
    eof: bool,
    /// Physical line number of `buf[pos]`.
    line: u64,
    /// Line where the current record starts.
    record_line: u64,
    /// Field ranges of the current record, into `buf` or (slow path) into `out`.
    fields: Vec<(usize, usize)>,
    from_out: bool,
    /// Set when the file has bare `\r` line ends: every record goes through `csv_core`.
    slow_only: bool,
    /// Set once [`Records::start`] has run.
    started: bool,
    core: csv_core::Reader,
    out: Vec<u8>,
    ends: Vec<usize>,
    /// Longest line (or quoted record) accepted, in bytes without its line end.
    limit: usize,
}

impl<R: Read> Records<R> {
    fn new(reader: R, limit: usize) -> Self {
        Records {
            reader,
            buf: vec![0; BUF_SIZE],
            pos: 0,
            offset: 0,
            len: 0,
            eof: false,
            line: 1,
            record_line: 1,
            fields: Vec::with_capacity(32),
            from_out: false,
            slow_only: false,
            started: false,
            core: Self::core(),
            out: vec![0; 1024],
            ends: vec![0; 64],
            limit,
        }
    }

    /// The `csv_core` reader of the slow path. It is never reset between records: `csv_core` strips a byte order
    /// mark at the start of its first input (and only if that input holds all three bytes, so depending on how
    /// the data was read), and a reset would make it do so at every record. Instead [`Records::next`] skips the
    /// data's own BOM, and this reader's first input is a blank line, so it strips none.
    fn core() -> csv_core::Reader {
        let mut core = csv_core::Reader::new();
        let (result, nin, _, _) = core.read_record(b"\n", &mut [0; 1], &mut [0; 1]);
        debug_assert!(matches!(result, csv_core::ReadRecordResult::InputEmpty) && nin == 1);
        core
    }

    /// Number of fields of the current record.
    fn len(&self) -> usize {
        self.fields.len()
    }

    /// Field `i` of the current record.
    #[inline]
    fn field(&self, i: usize) -> &[u8] {
        let (s, e) = self.fields[i];
        if self.from_out {
            &self.out[s..e]
        } else {
            &self.buf[s..e]
        }
    }

    /// Bytes of input consumed so far (up to the end of the current record).
    fn consumed(&self) -> u64 {
        self.offset + self.pos as u64
    }

    /// Whether the current record ends the data before byte `at` (its line end included, and at most a `\n`
    /// left over from its `\r\n` line end or a blank line): then a record, or the end, starts at `at`.
    fn ends_at(&self, at: u64) -> bool {
        let consumed = self.consumed();
        consumed == at || (consumed + 1 == at && self.pos < self.len && self.buf[self.pos] == b'\n')
    }

    /// Line where the current record starts.
    fn record_line(&self) -> u64 {
        self.record_line
    }

    /// Moves unconsumed input to the front of the buffer (growing it if full) and reads more.
    ///
    /// The buffer grows only to hold one line, and the callers stop once a line is longer than `limit` + 2 bytes
    /// (a line end of up to two bytes may be pending): it never grows beyond the larger of that and its initial
    /// size.
    fn refill(&mut self) -> io::Result<()> {
        if self.pos > 0 {
            self.offset += self.pos as u64;
            self.buf.copy_within(self.pos..self.len, 0);
            self.len -= self.pos;
            self.pos = 0;
        }
        if self.len == self.buf.len() {
            let cap = self.limit.saturating_add(3).max(self.buf.len() + 1);
            self.buf.resize((self.buf.len() * 2).min(cap), 0);
        }
        loop {
            match self.reader.read(&mut self.buf[self.len..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(());
                }
                Ok(n) => {
                    self.len += n;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Reads the next record; false at the end of input.
    ///
    /// Fast path: one SIMD scan for `,`, `\n` and `"` over the line. A line with a quote goes to
    /// [`Records::next_slow`]; so does everything if the file uses bare `\r` line ends (seen in the first line).
    /// In a `\n`-terminated file a `\r` inside a line is kept as data (only a `\r` before `\n` is removed).
    /// A line longer than `limit` is [`Stop::LineTooLong`], found before more than `limit` + 3 bytes of it are
    /// buffered.
    fn next(&mut self) -> Result<bool, Stop> {
        if !self.started {
            self.started = true;
            self.start()?;
        }
        loop {
            if self.slow_only {
                return self.next_slow();
            }
            let base = self.pos;
            let rest = &self.buf[base..self.len];
            let mut start = base;
            let mut newline = None;
            let mut quote = false;
            self.fields.clear();
            for k in memchr::memchr3_iter(b',', b'\n', b'"', rest) {
                match rest[k] {
                    b',' => {
                        self.fields.push((start, base + k));
                        start = base + k + 1;
                    }
                    b'\n' => {
                        newline = Some(base + k);
                        break;
                    }
                    _ => {
                        quote = true;
                        break;
                    }
                }
            }
            if quote {
                return self.next_slow();
            }
            let (mut end, next_pos) = match newline {
                Some(nl) => (nl, nl + 1),
                None if !self.eof => {
                    // Longer than the cap even if its last byte is the `\r` of a `\r\n`.
                    if rest.len() > self.limit.saturating_add(1) {
                        return Err(Stop::LineTooLong(self.line));
                    }
                    self.refill()?;
                    continue;
                }
                None if rest.is_empty() => return Ok(false),
                None => (self.len, self.len),
            };
            if end > start && self.buf[end - 1] == b'\r' {
                end -= 1;
            }
            if end - base > self.limit {
                return Err(Stop::LineTooLong(self.line));
            }
            self.line += 1;
            self.pos = next_pos;
            if self.fields.is_empty() && end == start {
                continue; // blank line
            }
            self.fields.push((start, end));
            self.from_out = false;
            self.record_line = self.line - 1;
            return Ok(true);
        }
    }

    /// Before the first record: skips a leading UTF-8 byte order mark, and decides whether bare carriage returns
    /// end lines in this file (a `\r` not followed by `\n` in the first line): then `csv_core` splits everything.
    /// Reads up to the first `\n` or bare `\r` (or the end), so that the decision does not depend on the quotes
    /// of the first line nor on how the input arrives.
    /// A first line longer than `limit` is left for [`Records::next`] to refuse.
    fn start(&mut self) -> io::Result<()> {
        while self.len < 3 && !self.eof {
            self.refill()?;
        }
        if self.buf[..self.len].starts_with(b"\xEF\xBB\xBF") {
            self.pos = 3;
        }
        let mut from = self.pos;
        loop {
            let rest = &self.buf[from..self.len];
            let newline = memchr::memchr(b'\n', rest);
            if has_bare_cr(newline.map_or(rest, |nl| &rest[..nl])) {
                self.slow_only = true;
                return Ok(());
            }
            if newline.is_some() || self.eof || self.len - self.pos > self.limit.saturating_add(1) {
                return Ok(());
            }
            // Look again from the last byte read (a `\r` whose next byte is still to come).
            from = self.len.saturating_sub(1).max(self.pos) - self.pos;
            self.refill()?;
            from += self.pos;
        }
    }

    /// Reads one record with `csv_core` (quoted fields, fields spanning lines).
    /// A record longer than `limit` bytes (its lines and the line ends between them, not the one it ends on) is
    /// [`Stop::LineTooLong`], found as soon as more than `limit` + 1 bytes of it are read.
    #[cold]
    fn next_slow(&mut self) -> Result<bool, Stop> {
        use csv_core::ReadRecordResult;
        // Skip the `\n` of a `\r\n` that ended the previous record (and blank lines) here rather than in
        // `csv_core`, so that `record_line` is the line where this record starts.
        loop {
            if self.pos == self.len && !self.eof {
                self.refill()?;
            } else if self.pos < self.len && self.buf[self.pos] == b'\n' {
                self.pos += 1;
                self.line += 1;
            } else {
                break;
            }
        }
        self.record_line = self.line;
        let (mut nout, mut nends, mut nread) = (0, 0, 0usize);
        loop {
            // csv_core reads empty input as the end of the data: refill first unless it is.
            if self.pos == self.len && !self.eof {
                self.refill()?;
                continue;
            }
            let input = &self.buf[self.pos..self.len];
            let (result, nin, o, e) = self
                .core
                .read_record(input, &mut self.out[nout..], &mut self.ends[nends..]);
            let read = &input[..nin];
            self.line += memchr::memchr_iter(b'\n', read).count() as u64;
            nread += nin;
            // The record's bytes so far; once it ends, without the line end it ended on (a `\r` consumed while
            // csv_core waits for a possible `\n` is allowed for meanwhile).
            let length = match result {
                ReadRecordResult::Record | ReadRecordResult::End => {
                    let line_end = read
                        .iter()
                        .rev()
                        .take(2)
                        .take_while(|&&b| b == b'\n' || b == b'\r')
                        .count();
                    nread - line_end
                }
                _ => nread.saturating_sub(1),
            };
            if length > self.limit {
                return Err(Stop::LineTooLong(self.record_line));
            }
            self.pos += nin;
            nout += o;
            nends += e;
            match result {
                ReadRecordResult::InputEmpty => {
                    if !self.eof {
                        self.refill()?;
                    }
                }
                ReadRecordResult::OutputFull => self.out.resize(self.out.len() * 2, 0),
                ReadRecordResult::OutputEndsFull => self.ends.resize(self.ends.len() * 2, 0),
                ReadRecordResult::Record => {
                    self.fields.clear();
                    let mut start = 0;
                    for &end in &self.ends[..nends] {
                        self.fields.push((start, end));
                        start = end;
                    }
                    self.from_out = true;
                    return Ok(true);
                }
                ReadRecordResult::End => return Ok(false),
            }
        }
    }
}

#[cfg(test)]
mod tests;
