//! Inputs found by the fuzzers in `fuzz/` (see fuzz/README.md), kept as regression tests.

use std::io::{self, Read};

use hedge_data::{Calibration, Format, LoadOptions, load_reader};

/// A reader handing out at most `chunk` bytes per `read`, as the fuzz targets' chunked oracle does.
struct Chunked<'a>(&'a [u8], usize);

impl Read for Chunked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.0.len().min(self.1).min(buf.len());
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

fn load_chunked(data: &[u8], format: Format, chunk: usize) -> Result<Calibration, String> {
    load_reader(Chunked(data, chunk), "fuzz", format, &LoadOptions::new()).map_err(|e| e.to_string())
}

/// Loading through reads of every size gives the same result as one read.
fn assert_chunk_independent(data: &[u8], format: Format) -> Calibration {
    let whole = load_reader(data, "fuzz", format, &LoadOptions::new()).unwrap();
    for chunk in 1..=data.len() {
        assert_eq!(load_chunked(data, format, chunk), Ok(whole.clone()), "chunk {chunk}");
    }
    whole
}

/// fuzz/csv_load, chunked-reader oracle: with bare `\r` line ends, a record ending exactly where a `read` ended
/// was taken for the end of the file, so the rows after it were silently dropped (e.g. standard input from a
/// pipe). Found on a seed with 8-byte reads; minimised.
#[test]
fn csv_bare_cr_record_at_read_boundary() {
    let data = b"prompt_id,proxy,true\ra,1,0\ra,2,1\r\rb,3,0\rb,4,1\r";
    let cal = assert_chunk_independent(data, Format::Csv);
    assert_eq!(cal.prompt_ids, ["a", "b"]);
    assert_eq!(cal.proxy, [1.0, 2.0, 3.0, 4.0]);
    // Before the fix, 1-byte reads lost all but the first data row.
    let cal = load_chunked(b"prompt_id,proxy,true\ra,1,0\ra,2,1\r", Format::Csv, 1).unwrap();
    assert_eq!(cal.proxy, [1.0, 2.0]);
}

/// fuzz/csv_load, chunked-reader and sniffer oracles: after every record of the slow path the CSV splitter reset
/// `csv_core`, which then stripped a UTF-8 byte order mark starting the next record, but only when the read had
/// brought in all three bytes; split across reads, it ended the data instead. Found with 8-byte reads (and the
/// sniffer's 64-byte reads of a 3-byte reader) on the bytes below; only a leading BOM is now skipped.
#[test]
fn csv_byte_order_mark_starting_a_record() {
    let data = b"prompt_id,proxy,true\r\xef\xbb\xbf,0\ra,2,1\r\rb,3,0\rb,4,1\r";
    let err = load_reader(&data[..], "fuzz", Format::Csv, &LoadOptions::new()).unwrap_err();
    assert_eq!(err.to_string(), "fuzz:1: expected 3 fields (as in the header), found 2");
    for chunk in 1..=data.len() {
        assert_eq!(
            load_chunked(data, Format::Csv, chunk).unwrap_err(),
            err.to_string(),
            "chunk {chunk}"
        );
    }
    let sniffed = hedge_data::load_reader_sniffed(Chunked(data, 3), "fuzz", &LoadOptions::new()).unwrap_err();
    assert_eq!(sniffed.to_string(), err.to_string());
    // A BOM inside the data is data, wherever reads end; a leading one is skipped.
    let data = "\u{feff}\"prompt_id\",proxy,true\n\u{feff}\"a\",1,0\n\u{feff}\"a\",2,1\n";
    let cal = assert_chunk_independent(data.as_bytes(), Format::Csv);
    assert_eq!(cal.prompt_ids, ["\u{feff}\"a\""]);
}

/// fuzz/csv_load, chunked-reader oracle: whether a file ends lines with bare `\r` was decided at the first `\n`
/// or bare `\r` *read*, unless a quote came first, so the same file could be split by `csv_core` throughout, or
/// line by line (a quoted header in a bare-`\r` file then failed with "expected 3 fields"); and a record after a
/// `\r\n` was reported one line early. The fuzzer's input (3-byte reads gave line 1, one read line 2):
#[test]
fn csv_bare_cr_decided_on_the_whole_first_line() {
    let data = b"\xef\xbb\xbfprompt_id,response_id,proxy,true\rd\0\0\0\"\"x\"\"\",r1,0.25,1\r\n\"a,\"\"x\"\"\",r2,\"1eR\",0\r\n\"multi\nline\",0,1,1\r\n\"multi\nline\",1,2,0\r\n";
    let err = load_reader(&data[..], "fuzz", Format::Csv, &LoadOptions::new()).unwrap_err();
    assert_eq!(err.to_string(), "fuzz:2: column \"proxy\": \"1eR\" is not a number");
    for chunk in 1..=data.len() {
        assert_eq!(
            load_chunked(data, Format::Csv, chunk).unwrap_err(),
            err.to_string(),
            "chunk {chunk}"
        );
    }
    // A quoted header in a file with bare `\r` line ends.
    let cal = assert_chunk_independent(b"\"prompt_id\",proxy,true\ra,1,0\ra,2,1\r", Format::Csv);
    assert_eq!(cal.proxy, [1.0, 2.0]);
}

/// fuzz/parquet_load, a "hang": a 1.3 KB file whose `prompt_id` dictionary page claims 541,098,254 values
/// in 16 bytes. The `parquet` crate allocated the decoded dictionary (4.3 GB) from that claim before reading
/// the page, taking seconds, and aborting the process where memory was short; the loader now checks every
/// dictionary page it will read against its bytes first and refuses the file.
#[test]
fn parquet_dictionary_page_claiming_more_values_than_bytes() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fuzz_inputs/dictionary_claims_541m_values.parquet"
    );
    let err = hedge_data::load(path, &LoadOptions::new()).unwrap_err().to_string();
    assert!(
        err.contains("corrupt file: the dictionary page of column \"prompt_id\" (row group 0) claims 541098254 values but holds 16 bytes"),
        "{err}"
    );
    // The same from memory, the way the fuzz target reads it.
    let bytes = std::fs::read(path).unwrap();
    let err = load_reader(&bytes[..], "fuzz", Format::Parquet, &LoadOptions::new()).unwrap_err();
    assert!(err.to_string().contains("claims 541098254 values"), "{err}");
}
