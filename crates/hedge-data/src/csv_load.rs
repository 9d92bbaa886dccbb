//! CSV loading.
//!
//! Records are split by a fast path for the common case (a line with no quote and no stray carriage
//! return: split at commas), and by `csv_core` otherwise (quoted fields, possibly spanning lines). Both count
//! physical lines, so messages name the line where a record starts.

use std::io::{self, Read};

use crate::accumulate::Accumulator;
use crate::numeric::{num_error, parse_f64};
use crate::{Calibration, DataError, LoadOptions, Location};

/// Loads a CSV file with a header row.
///
/// `size`: the input's size in bytes, if known, to size the arrays up front.
pub(crate) fn load_csv<R: Read>(
    reader: R,
    name: &str,
    opts: &LoadOptions,
    size: Option<u64>,
) -> Result<Calibration, DataError> {
    let mut records = Records::new(reader);
    if !records.next().map_err(|e| DataError::io(name, e))? {
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
    let (proxy_col, true_col) = (opts.proxy_column(), opts.true_column());
    let width = names.len();

    let mut acc = Accumulator::new(name, opts.prompt_column(), ri.is_some()).sorting(opts.sorts_by_proxy());
    let header_end = records.consumed();
    while records.next().map_err(|e| DataError::io(name, e))? {
        if acc.rows() == SIZE_SAMPLE_ROWS {
            if let Some(total) = size {
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
        acc.set_prompt(records.field(pi), loc)?;
        let x = records.field(xi);
        let proxy = parse_f64(x, false).map_err(|e| num_error(e, name, loc, proxy_col, x))?;
        let t = records.field(ti);
        let truth = parse_f64(t, true).map_err(|e| num_error(e, name, loc, true_col, t))?;
        acc.push(ri.map(|i| records.field(i)), proxy, truth, loc)?;
    }
    acc.finish(name.to_string())
}

/// True if `text` has a `\r` followed by something other than `\n`.
fn has_bare_cr(text: &[u8]) -> bool {
    memchr::memchr_iter(b'\r', text).any(|k| text.get(k + 1).is_some_and(|&b| b != b'\n'))
}

/// Rows read before extrapolating the number of rows from the file size.
pub(crate) const SIZE_SAMPLE_ROWS: usize = 1024;

/// Initial read buffer size (grows if one record does not fit).
const BUF_SIZE: usize = 256 * 1024;

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
    core: csv_core::Reader,
    out: Vec<u8>,
    ends: Vec<usize>,
}

impl<R: Read> Records<R> {
    fn new(reader: R) -> Self {
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
            core: csv_core::Reader::new(),
            out: vec![0; 1024],
            ends: vec![0; 64],
        }
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

    /// Line where the current record starts.
    fn record_line(&self) -> u64 {
        self.record_line
    }

    /// Moves unconsumed input to the front of the buffer (growing it if full) and reads more.
    fn refill(&mut self) -> io::Result<()> {
        if self.pos > 0 {
            self.offset += self.pos as u64;
            self.buf.copy_within(self.pos..self.len, 0);
            self.len -= self.pos;
            self.pos = 0;
        }
        if self.len == self.buf.len() {
            self.buf.resize(self.buf.len() * 2, 0);
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
    fn next(&mut self) -> io::Result<bool> {
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
                    if self.line == 1 && has_bare_cr(rest) {
                        self.slow_only = true;
                    } else {
                        self.refill()?;
                    }
                    continue;
                }
                None if rest.is_empty() => return Ok(false),
                None => (self.len, self.len),
            };
            if self.line == 1 && memchr::memchr(b'\r', &self.buf[base..end]).is_some_and(|k| base + k + 1 < end) {
                // Bare carriage returns end lines in this file: let csv_core split everything.
                self.slow_only = true;
                continue;
            }
            if end > start && self.buf[end - 1] == b'\r' {
                end -= 1;
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

    /// Reads one record with `csv_core` (quoted fields, fields spanning lines).
    #[cold]
    fn next_slow(&mut self) -> io::Result<bool> {
        use csv_core::ReadRecordResult;
        self.core.reset();
        self.record_line = self.line;
        let (mut nout, mut nends) = (0, 0);
        loop {
            let input = &self.buf[self.pos..self.len];
            let (result, nin, o, e) = self
                .core
                .read_record(input, &mut self.out[nout..], &mut self.ends[nends..]);
            self.line += memchr::memchr_iter(b'\n', &input[..nin]).count() as u64;
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
mod tests {
    use super::*;

    /// A reader handing out at most `chunk` bytes per call, to exercise buffer refills.
    struct Chunked<'a>(&'a [u8], usize);
    impl Read for Chunked<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.0.len().min(self.1).min(buf.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    fn split(data: &[u8], chunk: usize) -> Vec<(u64, Vec<String>)> {
        let mut r = Records::new(Chunked(data, chunk));
        let mut out = Vec::new();
        while r.next().unwrap() {
            let fields = (0..r.len())
                .map(|i| String::from_utf8(r.field(i).to_vec()).unwrap())
                .collect();
            out.push((r.record_line(), fields));
        }
        out
    }

    #[test]
    fn splits_like_the_csv_crate() {
        let data = "h1,h2,h3\r\n\
                    a,b,c\n\
                    \n\
                    \"q,1\",\"multi\nline\",\"say \"\"hi\"\"\"\n\
                    x,,z\r\n\
                    \"\",e,\r\n\
                    cr\rsep,2,3\n\
                    last,1,2";
        for chunk in [1, 2, 3, 7, 64, 1 << 20] {
            let got = split(data.as_bytes(), chunk);
            let expected: Vec<(u64, Vec<String>)> = vec![
                (1, vec!["h1".into(), "h2".into(), "h3".into()]),
                (2, vec!["a".into(), "b".into(), "c".into()]),
                (4, vec!["q,1".into(), "multi\nline".into(), "say \"hi\"".into()]),
                (6, vec!["x".into(), "".into(), "z".into()]),
                (7, vec!["".into(), "e".into(), "".into()]),
                (8, vec!["cr\rsep".into(), "2".into(), "3".into()]),
                (9, vec!["last".into(), "1".into(), "2".into()]),
            ];
            assert_eq!(got, expected, "chunk {chunk}");
            // Same fields as the csv crate, except that a lone `\r` inside a line is data.
            let data = data.replace("cr\rsep", "crsep");
            let got: Vec<(u64, Vec<String>)> = split(data.as_bytes(), chunk);
            let mut rdr = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(data.as_bytes());
            let theirs: Vec<Vec<String>> = rdr
                .records()
                .map(|r| r.unwrap().iter().map(String::from).collect())
                .collect();
            let ours: Vec<Vec<String>> = got.into_iter().map(|(_, f)| f).collect();
            assert_eq!(ours, theirs);
        }
    }

    #[test]
    fn bare_carriage_returns() {
        let data = "a,b\r1,2\r\r\"x\ry\",3\r";
        let got = split(data.as_bytes(), 3);
        assert_eq!(
            got,
            vec![
                (1, vec!["a".to_string(), "b".into()]),
                (1, vec!["1".to_string(), "2".into()]),
                (1, vec!["x\ry".to_string(), "3".into()]),
            ]
        );
    }

    #[test]
    fn long_records_grow_the_buffer() {
        let long = "x".repeat(3 * BUF_SIZE);
        let data = format!("a,b\n{long},1\n\"{long}\",2\n");
        let got = split(data.as_bytes(), 1 << 16);
        assert_eq!(got.len(), 3);
        assert_eq!(got[1].1[0].len(), long.len());
        assert_eq!(got[2].1[0].len(), long.len());
        assert_eq!(got[2].0, 3);
    }

    proptest::proptest! {
        /// On arbitrary text without lone `\r`, the splitter gives the csv crate's records (and start lines).
        #[test]
        fn matches_csv_crate(
            tokens in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::strategy::Just("a"), proptest::strategy::Just("bc"), proptest::strategy::Just(","),
                    proptest::strategy::Just("\""), proptest::strategy::Just("\n"), proptest::strategy::Just("\r\n"),
                    proptest::strategy::Just(" "), proptest::strategy::Just("\"\""),
                ],
                0..60,
            ),
            chunk in 1usize..20,
        ) {
            let data: String = tokens.concat();
            let ours = split(data.as_bytes(), chunk);
            let mut rdr = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(data.as_bytes());
            let mut theirs = Vec::new();
            let mut rec = csv::ByteRecord::new();
            while rdr.read_byte_record(&mut rec).unwrap() {
                let fields: Vec<String> = rec.iter().map(|f| String::from_utf8(f.to_vec()).unwrap()).collect();
                theirs.push((rec.position().unwrap().line(), fields));
            }
            // The csv crate's line numbers are unreliable (a `\n` after `\r` or a skipped blank line is counted
            // with the next record), so compare the fields with it and the lines with a model of unquoted text.
            let strip = |v: &[(u64, Vec<String>)]| v.iter().map(|(_, f)| f.clone()).collect::<Vec<_>>();
            proptest::prop_assert_eq!(strip(&ours), strip(&theirs));
            if !data.contains('"') {
                let lines: Vec<u64> = data
                    .split('\n')
                    .enumerate()
                    .filter(|(_, l)| !l.trim_end_matches('\r').is_empty())
                    .map(|(i, _)| i as u64 + 1)
                    .collect();
                proptest::prop_assert_eq!(ours.iter().map(|r| r.0).collect::<Vec<_>>(), lines);
            }
        }
    }
}
