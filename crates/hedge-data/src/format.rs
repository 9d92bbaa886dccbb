//! File formats and their detection.

use std::fmt;
use std::io::{self, Read};
use std::str::FromStr;

use crate::error::DataError;

/// A supported file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Comma-separated values with a header row.
    Csv,
    /// JSON lines (NDJSON): one JSON object per line.
    JsonLines,
    /// Apache Parquet.
    Parquet,
}

impl Format {
    /// Detects the format from a file name's extension (case-insensitive): `.csv` → CSV;
    /// `.jsonl`, `.ndjson`, `.json` → JSON lines; `.parquet`, `.pq` → Parquet. Returns `None` for any other
    /// extension, for no extension and for `"-"` (standard input/output).
    pub fn from_path(path: &str) -> Option<Format> {
        let ext = extension(path)?.to_ascii_lowercase();
        match ext.as_str() {
            "csv" => Some(Format::Csv),
            "jsonl" | "ndjson" | "json" => Some(Format::JsonLines),
            "parquet" | "pq" => Some(Format::Parquet),
            _ => None,
        }
    }

    /// Guesses the format from the first bytes of the data: the Parquet magic `PAR1` → Parquet; a first
    /// non-whitespace byte `{` → JSON lines; anything else → CSV.
    pub fn sniff(prefix: &[u8]) -> Format {
        if prefix.starts_with(b"PAR1") {
            return Format::Parquet;
        }
        let body = prefix.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(prefix);
        match body.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{') => Format::JsonLines,
            _ => Format::Csv,
        }
    }

    /// The usual file extension of the format, without the dot (`csv`, `jsonl`, `parquet`).
    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::JsonLines => "jsonl",
            Format::Parquet => "parquet",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Csv => "csv",
            Format::JsonLines => "jsonl",
            Format::Parquet => "parquet",
        })
    }
}

impl FromStr for Format {
    type Err = DataError;

    /// Parses a format name, case-insensitively: `csv`; `jsonl`, `ndjson`, `json`, `json-lines`,
    /// `jsonlines`; `parquet`, `pq`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "csv" => Ok(Format::Csv),
            "jsonl" | "ndjson" | "json" | "json-lines" | "jsonlines" => Ok(Format::JsonLines),
            "parquet" | "pq" => Ok(Format::Parquet),
            _ => Err(DataError::UnknownFormatName { name: s.to_string() }),
        }
    }
}

/// The extension of the last path component, if any.
pub(crate) fn extension(path: &str) -> Option<&str> {
    let file = path.rsplit(['/', '\\']).next().unwrap_or(path);
    let (stem, ext) = file.rsplit_once('.')?;
    if stem.is_empty() { None } else { Some(ext) }
}

/// A sniffed format and a reader that yields the whole input again.
pub(crate) type Sniffed<R> = (Format, io::Chain<io::Cursor<Vec<u8>>, R>);

/// Reads enough of `reader` to sniff its format, and gives back a reader that still yields every byte.
pub(crate) fn sniff_reader<R: Read>(mut reader: R) -> io::Result<Sniffed<R>> {
    let mut prefix = Vec::with_capacity(64);
    let mut buf = [0u8; 64];
    // Read until we have 4 bytes and a non-whitespace byte, or hit end of input (bounded at 64 KiB).
    loop {
        let have_magic_room = prefix.len() >= 4;
        let body = prefix.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&prefix[..]);
        let has_content = body.iter().any(|b| !b.is_ascii_whitespace());
        if (have_magic_room && has_content) || prefix.len() >= 1 << 16 {
            break;
        }
        let n = match reader.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if n == 0 {
            break;
        }
        prefix.extend_from_slice(&buf[..n]);
    }
    let format = Format::sniff(&prefix);
    Ok((format, io::Cursor::new(prefix).chain(reader)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_extensions() {
        assert_eq!(Format::from_path("a/b/data.csv"), Some(Format::Csv));
        assert_eq!(Format::from_path("DATA.CSV"), Some(Format::Csv));
        assert_eq!(Format::from_path("x.jsonl"), Some(Format::JsonLines));
        assert_eq!(Format::from_path("x.ndjson"), Some(Format::JsonLines));
        assert_eq!(Format::from_path("x.json"), Some(Format::JsonLines));
        assert_eq!(Format::from_path("x.parquet"), Some(Format::Parquet));
        assert_eq!(Format::from_path("x.pq"), Some(Format::Parquet));
        assert_eq!(Format::from_path("x.tsv"), None);
        assert_eq!(Format::from_path("dir.csv/noext"), None);
        assert_eq!(Format::from_path(".csv"), None);
        assert_eq!(Format::from_path("-"), None);
    }

    #[test]
    fn sniffs_content() {
        assert_eq!(Format::sniff(b"PAR1\x15\x04"), Format::Parquet);
        assert_eq!(Format::sniff(b"  \n {\"a\": 1}"), Format::JsonLines);
        assert_eq!(Format::sniff(b"\xEF\xBB\xBF{\"a\": 1}"), Format::JsonLines);
        assert_eq!(Format::sniff(b"prompt_id,proxy"), Format::Csv);
        assert_eq!(Format::sniff(b""), Format::Csv);
    }

    #[test]
    fn sniff_reader_keeps_all_bytes() {
        let data = b"\n\n   {\"prompt_id\": 1}\n".to_vec();
        // A reader that hands out one byte at a time.
        struct Slow<'a>(&'a [u8]);
        impl Read for Slow<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.0.is_empty() || buf.is_empty() {
                    return Ok(0);
                }
                buf[0] = self.0[0];
                self.0 = &self.0[1..];
                Ok(1)
            }
        }
        let (format, mut r) = sniff_reader(Slow(&data)).unwrap();
        assert_eq!(format, Format::JsonLines);
        let mut all = Vec::new();
        r.read_to_end(&mut all).unwrap();
        assert_eq!(all, data);
    }

    #[test]
    fn parses_names() {
        assert_eq!("CSV".parse::<Format>().ok(), Some(Format::Csv));
        assert_eq!("ndjson".parse::<Format>().ok(), Some(Format::JsonLines));
        assert_eq!("pq".parse::<Format>().ok(), Some(Format::Parquet));
        let e = "xlsx".parse::<Format>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown data format \"xlsx\" (expected csv, jsonl or parquet)"
        );
        assert!(matches!(e, DataError::UnknownFormatName { ref name } if name == "xlsx"));
        for f in [Format::Csv, Format::JsonLines, Format::Parquet] {
            assert_eq!(f.to_string().parse::<Format>().ok(), Some(f));
            assert_eq!(Format::from_path(&format!("x.{}", f.extension())), Some(f));
        }
    }
}
