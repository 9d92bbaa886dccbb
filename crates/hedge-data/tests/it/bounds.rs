//! Bounds: |reward| <= max_abs_reward (default 1e6), lines <= max_line_bytes (default 16 MiB).

use crate::common;

use std::sync::Arc;

use arrow_array::{ArrayRef, Float32Array, Float64Array, Int64Array, StringArray};
use common::{TempFile, csr, load_err, parquet_file};
use hedge_data::{
    Calibration, DEFAULT_MAX_ABS_REWARD, DEFAULT_MAX_LINE_BYTES, DataError, Format, LoadOptions, Location, Reward,
    load, load_reader, load_reader_sniffed, write_calibration,
};

#[test]
fn defaults_of_the_bounds() {
    assert_eq!(DEFAULT_MAX_ABS_REWARD, 1e6);
    assert_eq!(DEFAULT_MAX_LINE_BYTES, 16 * 1024 * 1024);
    let opts = LoadOptions::new();
    assert_eq!(opts.reward_bound(), 1e6);
    assert_eq!(opts.line_cap(), 16 << 20);
    assert_eq!(opts.clone().max_abs_reward(5.0).reward_bound(), 5.0);
    assert_ne!(opts.clone().max_abs_reward(5.0), opts);
    assert_eq!(opts.clone().max_line_bytes(7).line_cap(), 7);
}

#[test]
fn csv_rewards_at_the_bound_load_and_beyond_it_are_refused() {
    // At the bound, both signs, in several spellings; the true column's booleans too.
    let csv = "prompt_id,proxy,true\np,1e6,-1000000\np,-1000000.0,1e6\np, 1E+6 ,true\n";
    let cal = load_reader(csv.as_bytes(), "data.csv", Format::Csv, &LoadOptions::new()).unwrap();
    assert_eq!(cal.proxy, [1e6, -1e6, 1e6]);
    assert_eq!(cal.truth, [-1e6, 1e6, 1.0]);
    // Just beyond, either column, either sign: file, line, field number, column, reward and value as written.
    for (row, line) in [
        (
            "p,1000000.000001,0",
            "data.csv:3:2: column \"proxy\": proxy reward 1000000.000001",
        ),
        (
            "p,-1000000.5,0",
            "data.csv:3:2: column \"proxy\": proxy reward -1000000.5",
        ),
        ("p,0,1e308", "data.csv:3:3: column \"true\": true reward 1e308"),
        ("p,0, -2e6 ", "data.csv:3:3: column \"true\": true reward -2e6"),
    ] {
        let csv = format!("prompt_id,proxy,true\np,0,0\n{row}\n");
        let (msg, err) = load_err("data.csv", &csv, &LoadOptions::new());
        assert_eq!(msg, format!("{line} is beyond --max-abs-reward 1000000"), "{row}");
        assert_eq!(err.location(), Some(Location::Line(3)));
    }
    // The error carries its data.
    let (_, err) = load_err(
        "data.csv",
        "prompt_id,true,x,proxy\np,0,0,0\np,0,0,-7\n",
        &LoadOptions::new().max_abs_reward(5.0),
    );
    match err {
        DataError::RewardTooLarge {
            location,
            field,
            column,
            reward,
            value,
            bound,
            ..
        } => {
            assert_eq!((location, field), (Location::Line(3), Some(4)));
            assert_eq!(
                (column.as_str(), reward, value.as_str(), bound),
                ("proxy", Reward::Proxy, "-7", 5.0)
            );
        }
        other => panic!("{other}"),
    }
    // A quoted field (the slow path), a custom column name and a bound below 1 (booleans are bounded too).
    let opts = LoadOptions::new().true_col("gold").max_abs_reward(0.5);
    let (msg, _) = load_err(
        "q.csv",
        "prompt_id,proxy,gold\np,\"0.5\",false\np,\"-0.5\",TRUE\n",
        &opts,
    );
    assert_eq!(
        msg,
        "q.csv:3:3: column \"gold\": true reward TRUE is beyond --max-abs-reward 0.5"
    );
    // Non-finite values keep their own error.
    let (msg, _) = load_err("data.csv", "prompt_id,proxy,true\np,inf,0\n", &LoadOptions::new());
    assert_eq!(msg, "data.csv:2: column \"proxy\": inf is not a finite number");
}

#[test]
fn jsonl_rewards_at_the_bound_load_and_beyond_it_are_refused() {
    let ok = "{\"prompt_id\":1,\"proxy\":1e6,\"true\":-1000000}\n\
              {\"prompt_id\":1,\"proxy\":\"-1e6\",\"true\":1000000.0}\n";
    let cal = load_reader(ok.as_bytes(), "data.jsonl", Format::JsonLines, &LoadOptions::new()).unwrap();
    assert_eq!(cal.proxy, [1e6, -1e6]);
    assert_eq!(cal.truth, [-1e6, 1e6]);
    for (cell, expected) in [
        ("\"proxy\":1e308,\"true\":0", "column \"proxy\": proxy reward 1e308"),
        (
            "\"proxy\":-1000000.5,\"true\":0",
            "column \"proxy\": proxy reward -1000000.5",
        ),
        ("\"proxy\":0,\"true\":1000001", "column \"true\": true reward 1000001"),
        ("\"proxy\":0,\"true\":-1000001", "column \"true\": true reward -1000001"),
        (
            "\"proxy\":0,\"true\":18446744073709551615",
            "column \"true\": true reward 18446744073709551615",
        ),
        ("\"proxy\":\" 2e6\",\"true\":0", "column \"proxy\": proxy reward 2e6"),
    ] {
        let jsonl = format!("{{\"prompt_id\":1,\"proxy\":0,\"true\":0}}\n\n{{\"prompt_id\":1,{cell}}}\n");
        let (msg, err) = load_err("data.jsonl", &jsonl, &LoadOptions::new());
        assert_eq!(
            msg,
            format!("data.jsonl:3: {expected} is beyond --max-abs-reward 1000000"),
            "{cell}"
        );
        assert!(matches!(err, DataError::RewardTooLarge { field: None, .. }), "{err:?}");
    }
    let opts = LoadOptions::new().max_abs_reward(0.25);
    let (msg, _) = load_err("b.jsonl", "{\"prompt_id\":1,\"proxy\":0.25,\"true\":true}\n", &opts);
    assert_eq!(
        msg,
        "b.jsonl:1: column \"true\": true reward 1 is beyond --max-abs-reward 0.25"
    );
}

#[test]
fn parquet_rewards_at_the_bound_load_and_beyond_it_are_refused() {
    let ids = || Arc::new(StringArray::from(vec!["a", "a", "a"])) as ArrayRef;
    let f = parquet_file(
        "ok.parquet",
        vec![
            ("prompt_id", ids()),
            ("proxy", Arc::new(Float64Array::from(vec![1e6, -1e6, 0.0]))),
            ("true", Arc::new(StringArray::from(vec!["-1e6", "1000000", "true"]))),
        ],
    );
    let cal = f.load(&LoadOptions::new()).unwrap();
    assert_eq!(cal.proxy, [1e6, -1e6, 0.0]);
    assert_eq!(cal.truth, [-1e6, 1e6, 1.0]);
    let cases: Vec<(ArrayRef, ArrayRef, &str)> = vec![
        (
            Arc::new(Float64Array::from(vec![0.0, -1000000.5, 0.0])),
            Arc::new(Float64Array::from(vec![0.0, 0.0, 0.0])),
            "row 2: column \"proxy\": proxy reward -1000000.5",
        ),
        (
            Arc::new(Float64Array::from(vec![0.0, 0.0, 0.0])),
            Arc::new(Float64Array::from(vec![0.0, 0.0, 1e308])),
            "row 3: column \"true\": true reward 1e308",
        ),
        (
            Arc::new(Int64Array::from(vec![0, 0, -10_000_000])),
            Arc::new(Int64Array::from(vec![0, 0, 0])),
            "row 3: column \"proxy\": proxy reward -10000000",
        ),
        (
            Arc::new(Float32Array::from(vec![0.0f32, 0.0, 0.0])),
            Arc::new(StringArray::from(vec!["0", "1000001", "0"])),
            "row 2: column \"true\": true reward 1000001",
        ),
    ];
    for (proxy, truth, expected) in cases {
        let f = parquet_file(
            "big.parquet",
            vec![("prompt_id", ids()), ("proxy", proxy), ("true", truth)],
        );
        let err = f.load(&LoadOptions::new()).unwrap_err();
        assert_eq!(
            err.to_string().replace(f.path(), "big.parquet"),
            format!("big.parquet: {expected} is beyond --max-abs-reward 1000000")
        );
    }
}

#[test]
fn reward_bound_applies_to_standard_input_and_can_be_raised() {
    let csv = "prompt_id,proxy,true\np,0,1e308\np,1,-1e308\n";
    let err = load_reader_sniffed(csv.as_bytes(), "<stdin>", &LoadOptions::new()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "<stdin>:2:3: column \"true\": true reward 1e308 is beyond --max-abs-reward 1000000"
    );
    let opts = LoadOptions::new().max_abs_reward(f64::MAX);
    let cal = load_reader_sniffed(csv.as_bytes(), "<stdin>", &opts).unwrap();
    assert_eq!(cal.truth, [1e308, -1e308]);
    for format in [Format::Csv, Format::JsonLines, Format::Parquet] {
        let f = TempFile::new(&format!("huge.{}", format.extension()));
        let cal = Calibration::from_rows([("p", f64::MAX, -f64::MAX), ("p", 1e300, -1e300)]).unwrap();
        write_calibration(f.path(), None, &cal).unwrap();
        assert_eq!(csr(&f.load(&opts).unwrap()), csr(&cal), "{format}");
        let err = f.load(&LoadOptions::new()).unwrap_err();
        assert!(matches!(err, DataError::RewardTooLarge { .. }), "{format}: {err}");
    }
}

#[test]
fn invalid_bounds_are_refused_before_reading() {
    for bound in [0.0, -1.0, f64::INFINITY, f64::NAN, -0.0] {
        let opts = LoadOptions::new().max_abs_reward(bound);
        let err = load_reader(&b"prompt_id,proxy,true\n"[..], "x.csv", Format::Csv, &opts).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::InvalidOption {
                    option: "max_abs_reward",
                    ..
                }
            ),
            "{bound}: {err}"
        );
        let err = load("/nonexistent-hedge/data.csv", &opts).unwrap_err();
        assert!(matches!(err, DataError::InvalidOption { .. }), "{err}");
    }
    let opts = LoadOptions::new().max_line_bytes(0);
    let err = load_reader(&b"prompt_id,proxy,true\n"[..], "x.jsonl", Format::JsonLines, &opts).unwrap_err();
    assert_eq!(
        err.to_string(),
        "x.jsonl: invalid load option max_line_bytes = 0: must be at least 1"
    );
}

/// A valid row of `len` bytes (without line end): padded with blanks around the CSV proxy (quoting the prompt id
/// with `quoted`, which takes the CSV loader's slow path), with an ignored key in JSON lines.
fn row_of_len(format: Format, quoted: bool, len: usize) -> String {
    match format {
        Format::Csv => {
            let id = if quoted { "\"p\"" } else { "p" };
            format!("{id},{}2,0", " ".repeat(len - id.len() - 4))
        }
        _ => {
            let start = "{\"prompt_id\":\"p\",\"proxy\":2,\"true\":0,\"pad\":\"";
            format!("{start}{}\"}}", "x".repeat(len - start.len() - 2))
        }
    }
}

/// An input whose line 3 is `row` (lines 1 and 2: header and a row, or two rows), with `eol` line ends and
/// `last` after line 3.
fn input_with(format: Format, row: &str, eol: &str, last: &str) -> String {
    match format {
        Format::Csv => format!("prompt_id,proxy,true{eol}p,0,1{eol}{row}{last}"),
        _ => format!(
            "{{\"prompt_id\":\"p\",\"proxy\":0,\"true\":1}}{eol}{{\"prompt_id\":\"p\",\"proxy\":1,\"true\":0}}{eol}{row}{last}"
        ),
    }
}

#[test]
fn lines_up_to_the_cap_load_and_longer_ones_are_refused() {
    let opts = LoadOptions::new().max_line_bytes(1024);
    for format in [Format::Csv, Format::JsonLines] {
        for quoted in [false, true] {
            for (eol, last) in [("\n", "\n"), ("\r\n", "\r\n"), ("\n", ""), ("\r\n", "")] {
                let name = format!("long.{}", format.extension());
                let case = format!("{format} quoted={quoted} eol={eol:?} last={last:?}");
                let at_cap = input_with(format, &row_of_len(format, quoted, 1024), eol, last);
                let cal =
                    load_reader(at_cap.as_bytes(), &name, format, &opts).unwrap_or_else(|e| panic!("{case}: {e}"));
                let rows = if format == Format::Csv { 2 } else { 3 };
                assert_eq!((cal.num_rows(), cal.proxy[rows - 1]), (rows, 2.0), "{case}");
                let beyond = input_with(format, &row_of_len(format, quoted, 1025), eol, last);
                let err = load_reader(beyond.as_bytes(), &name, format, &opts).unwrap_err();
                assert_eq!(
                    err.to_string(),
                    format!("{name}:3: line longer than 1024 bytes (--max-line-bytes)"),
                    "{case}"
                );
                assert!(
                    matches!(
                        err,
                        DataError::LineTooLong {
                            line: 3,
                            limit: 1024,
                            ..
                        }
                    ),
                    "{case}"
                );
                // From a file, and from standard input (format sniffed) alike.
                let (msg, _) = load_err(&name, &beyond, &opts);
                assert_eq!(msg, err.to_string(), "{case}");
                let err = load_reader_sniffed(beyond.as_bytes(), "<stdin>", &opts).unwrap_err();
                assert!(matches!(err, DataError::LineTooLong { line: 3, .. }), "{case}: {err}");
            }
        }
    }
    // A header line and a first JSON line over the cap.
    let header = format!("prompt_id,proxy,true,{}\np,0,1\n", "c".repeat(2000));
    let (msg, _) = load_err("h.csv", header, &opts);
    assert_eq!(msg, "h.csv:1: line longer than 1024 bytes (--max-line-bytes)");
    let (msg, _) = load_err(
        "h.jsonl",
        format!("{}\n", row_of_len(Format::JsonLines, false, 5000)),
        &opts,
    );
    assert_eq!(msg, "h.jsonl:1: line longer than 1024 bytes (--max-line-bytes)");
    // A quoted CSV field spanning lines counts as one line, from where it starts.
    let multi = format!("prompt_id,proxy,true\np,0,1\n\"{}\",1,0\n", "p\n".repeat(600));
    let (msg, _) = load_err("m.csv", multi, &opts);
    assert_eq!(msg, "m.csv:3: line longer than 1024 bytes (--max-line-bytes)");
    // Bare carriage returns as line ends (every record through csv_core, which numbers lines by `\n` only).
    let cr = input_with(Format::Csv, &row_of_len(Format::Csv, false, 1024), "\r", "\r");
    assert_eq!(
        load_reader(cr.as_bytes(), "cr.csv", Format::Csv, &opts)
            .unwrap()
            .num_rows(),
        2
    );
    let cr = input_with(Format::Csv, &row_of_len(Format::Csv, false, 1025), "\r", "\r");
    let (_, err) = load_err("cr.csv", cr, &opts);
    assert!(matches!(err, DataError::LineTooLong { limit: 1024, .. }), "{err}");
}

/// A reader of a header, one row, then a line of `x` that goes on for `len` bytes; counts the bytes handed out.
struct EndlessLine {
    head: &'static [u8],
    left: u64,
    read: std::rc::Rc<std::cell::Cell<u64>>,
}

impl std::io::Read for EndlessLine {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = if !self.head.is_empty() {
            let n = self.head.len().min(buf.len());
            buf[..n].copy_from_slice(&self.head[..n]);
            self.head = &self.head[n..];
            n
        } else {
            let n = buf.len().min(usize::try_from(self.left).unwrap_or(usize::MAX));
            buf[..n].fill(b'x');
            self.left -= n as u64;
            n
        };
        self.read.set(self.read.get() + n as u64);
        Ok(n)
    }
}

#[test]
fn a_huge_line_is_refused_without_reading_it_whole() {
    // 4 GiB of one line: read whole, this test would need 4 GiB of memory and many seconds.
    for (format, head) in [
        (Format::Csv, &b"prompt_id,proxy,true\np,0,1\n\""[..]),
        (Format::Csv, &b"prompt_id,proxy,true\np,0,1\n"[..]),
        (
            Format::JsonLines,
            &b"{\"prompt_id\":1,\"proxy\":0,\"true\":1}\n{\"a\":\""[..],
        ),
    ] {
        for cap in [1024, 1 << 20] {
            let read = std::rc::Rc::new(std::cell::Cell::new(0));
            let reader = EndlessLine {
                head,
                left: 4 << 30,
                read: read.clone(),
            };
            let opts = LoadOptions::new().max_line_bytes(cap);
            let err = load_reader(reader, "<stdin>", format, &opts).unwrap_err();
            assert!(
                matches!(err, DataError::LineTooLong { line: 2 | 3, .. }),
                "{format}: {err}"
            );
            // At most the cap and one buffer of input (256 KiB for CSV, 128 KiB for JSON lines) beyond it.
            assert!(
                read.get() <= cap as u64 + (256 << 10) + 64,
                "{format} {cap}: read {} bytes",
                read.get()
            );
        }
    }
}
