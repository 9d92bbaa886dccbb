//! CSV files parsed on two threads ([`LoadOptions::parallel_min_bytes`]) load exactly as when read sequentially:
//! the same data bit for bit, or the same error (the first in file order, with its file, line and column).

use crate::common::TempFile;

use hedge_data::{Calibration, DEFAULT_PARALLEL_MIN_BYTES, DataError, LoadOptions};
use proptest::prelude::*;

/// The data, bit for bit, or the error message and its fields.
type Outcome = Result<(Vec<String>, Vec<usize>, Vec<u64>, Vec<u64>, usize, usize), String>;

fn outcome(r: Result<Calibration, DataError>) -> Outcome {
    r.map(|c| {
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        (
            c.prompt_ids.clone(),
            c.offsets.clone(),
            bits(&c.proxy),
            bits(&c.truth),
            c.skipped_single,
            c.rows_read,
        )
    })
    .map_err(|e| format!("{e} / {e:?}"))
}

/// Loads `data` as a `.csv` file both ways; returns the (equal) outcome.
fn both_ways(data: &[u8], opts: &LoadOptions) -> Outcome {
    let f = TempFile::with_content("data.csv", data);
    let sequential = outcome(f.load(&opts.clone().parallel_min_bytes(u64::MAX)));
    let parallel = outcome(f.load(&opts.clone().parallel_min_bytes(0)));
    assert_eq!(parallel, sequential);
    parallel.map_err(|e| e.replace(f.path(), "data.csv"))
}

/// A grouped file of `prompts` × `per` rows: CRLF line ends, every fifth prompt id quoted with a line break and
/// a doubled quote inside, response ids, values with spaces and signs.
fn big_csv(prompts: usize, per: usize) -> String {
    let mut s = String::from("prompt_id,response_id,proxy,true\r\n");
    for p in 0..prompts {
        let id = if p % 5 == 0 {
            format!("\"p{p}\n\"\"x\"\"\"")
        } else {
            format!("p{p}")
        };
        for r in 0..per {
            let proxy = ((p * 31 + r * 17) % 1000) as f64 / 7.0 - 50.0;
            let truth = if r % 3 == 0 {
                " -0 ".to_string()
            } else {
                format!("{}", (r % 11) as f64 * 0.25)
            };
            s += &format!("{id},{r},{proxy},{truth}\r\n");
        }
    }
    s
}

#[test]
fn default_threshold() {
    assert_eq!(DEFAULT_PARALLEL_MIN_BYTES, 8 << 20);
    assert_eq!(LoadOptions::new().parallel_threshold(), 8 << 20);
}

#[test]
fn large_file_loads_as_sequential() {
    let data = big_csv(300, 100);
    for sort in [false, true] {
        let cal = both_ways(data.as_bytes(), &LoadOptions::new().sort_by_proxy(sort)).unwrap();
        assert_eq!(cal.0.len(), 300);
        assert_eq!(cal.5, 30_000);
    }
    // Without the response-id check (rows are replayed in bulk).
    both_ways(data.as_bytes(), &LoadOptions::new().ignore_response_col()).unwrap();
}

#[test]
fn errors_in_either_half_are_the_sequential_ones() {
    let data = big_csv(300, 100);
    let lines: Vec<&str> = data.split_inclusive("\r\n").collect();
    // Errors at the line that holds the middle byte, around it, and late; several errors: the first one counts.
    let middle = {
        let mut at = 0;
        lines.iter().position(|l| {
            at += l.len();
            at > data.len() / 2
        })
    }
    .unwrap();
    let bad = |edits: &[(usize, &str)]| {
        let mut lines = lines.clone();
        for &(i, text) in edits {
            lines[i] = text;
        }
        lines.concat()
    };
    let cases: Vec<(Vec<(usize, &str)>, &str)> = vec![
        (vec![(middle, "p1,5,abc,1\r\n")], "\"abc\" is not a number"),
        (vec![(middle + 1, "p1,5,1\r\n")], "expected 4 fields"),
        (vec![(middle - 1, "p1,5,1,1e9\r\n")], "beyond --max-abs-reward"),
        (vec![(lines.len() - 1, ",5,1,1\r\n")], "missing"),
        (
            vec![(middle + 3, "q,1,1,1\r\n"), (lines.len() - 2, "q,2,x,1\r\n")],
            "not a number",
        ),
        // A prompt of the first half reappearing in the second with a response id it already has.
        (
            vec![(middle + 3, "p1,5,1,1\r\n")],
            "duplicate response id \"5\" for prompt \"p1\"",
        ),
        (vec![(10, "p0,1,zz,1\r\n"), (middle, "p1,5,abc,1\r\n")], "\"zz\""),
        // A quote never closed (after the last quoted id): the rest of the file is one field.
        (
            vec![(lines.len() - 50, "\"p1,5,1,1\r\n")],
            "expected 4 fields (as in the header), found 1",
        ),
    ];
    // A stray quote at the middle: the field runs to the next quoted id, then a repeated response id.
    both_ways(bad(&[(middle, "\"p1,5,1,1\r\n")]).as_bytes(), &LoadOptions::new()).unwrap_err();
    for (edits, expected) in cases {
        let file = bad(&edits);
        let err = both_ways(file.as_bytes(), &LoadOptions::new()).unwrap_err();
        assert!(err.contains(expected), "{err}, expected {expected}, edits {edits:?}");
        // The first edit is the error, but for a valid row of a new prompt (id "q").
        let first = edits
            .iter()
            .filter(|e| !e.1.starts_with("q,1,"))
            .map(|e| e.0)
            .min()
            .unwrap();
        // The line of the first error: physical lines, counting the line breaks inside quoted ids before it.
        let line = 1 + lines[..first].concat().matches('\n').count();
        assert!(err.starts_with(&format!("data.csv:{line}")), "{err}, line {line}");
    }
}

#[test]
fn repeated_response_across_the_middle() {
    // One prompt spans the whole file: a response id of the first half repeated in the second.
    let mut s = String::from("prompt_id,response_id,proxy,true\n");
    for r in 0..20_000 {
        let id = if r == 15_000 { 7 } else { r };
        s += &format!("p,{id},{},1\n", r % 13);
    }
    let err = both_ways(s.as_bytes(), &LoadOptions::new()).unwrap_err();
    assert!(err.starts_with("data.csv:15002:"), "{err}");
    both_ways(s.as_bytes(), &LoadOptions::new().ignore_response_col()).unwrap();
}

#[test]
fn long_lines_at_the_middle() {
    let data = big_csv(200, 50);
    let opts = LoadOptions::new().max_line_bytes(200);
    both_ways(data.as_bytes(), &opts).unwrap();
    let mid = data.len() / 2;
    let mid = mid + data[mid..].find("\r\np").unwrap() + 2;
    let long = format!("{}\n{}", &data[..mid], "x".repeat(500)) + &data[mid..];
    let err = both_ways(long.as_bytes(), &opts).unwrap_err();
    assert!(err.contains("longer than 200 bytes"), "{err}");
}

#[test]
fn garbage() {
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut bytes = b"prompt_id,proxy,true\n".to_vec();
    for _ in 0..200_000 {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        bytes.push(b"\"\n\r,ab1.\xff"[(rng % 9) as usize]);
    }
    both_ways(&bytes, &LoadOptions::new()).unwrap_err();
}

/// One generated row: prompt, how its id is written, proxy and true texts, line end.
fn row() -> impl Strategy<Value = (u8, u8, &'static str, &'static str, &'static str)> {
    let number = prop_oneof![
        Just("1"),
        Just("-0.5"),
        Just(" 2e2 "),
        Just("0"),
        Just("-0"),
        Just("\"3\""),
        Just("x")
    ];
    (
        0u8..4,
        0u8..4,
        number.clone(),
        prop_oneof![number, Just("true")],
        prop_oneof![Just("\n"), Just("\r\n"), Just("\n\n")],
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Generated files (quoted ids spanning lines, CRLF, blank lines, bad values) load as sequentially.
    #[test]
    fn generated_files_load_as_sequential(rows in proptest::collection::vec(row(), 0..200), sort in any::<bool>()) {
        let mut s = String::from("prompt_id,proxy,true\n");
        for (p, form, proxy, truth, eol) in rows {
            let id = match form {
                0 => format!("p{p}"),
                1 => format!("\"p{p}\""),
                2 => format!("\"p\n{p}\""),
                _ => format!("\"p,\"\"{p}\"\"\""),
            };
            s += &format!("{id},{proxy},{truth}{eol}");
        }
        both_ways(s.as_bytes(), &LoadOptions::new().sort_by_proxy(sort)).ok();
    }
}
