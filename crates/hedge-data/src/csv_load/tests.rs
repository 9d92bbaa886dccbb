//! Unit tests of `csv_load.rs` (its private items: `super::*`).

use super::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::sync::atomic::AtomicUsize;

/// Times the reading thread used the second thread's rows (to check that the tests reach that path).
pub(super) static REPLAYS: AtomicUsize = AtomicUsize::new(0);

/// A random CSV with what the split must get right: quoted prompt ids (some spanning lines, some with
/// commas and doubled quotes), `\r\n` or mixed line ends, blank lines, a byte order mark, a missing last
/// line end, response ids of every kind; and in about a third of the files, errors: bad, missing or too
/// large numbers, a wrong number of fields, an empty or non-UTF-8 prompt id, a repeated response id, a too
/// long line, a quote never closed.
fn random_csv(rng: &mut StdRng) -> (Vec<u8>, bool) {
    let eol_kind = rng.random_range(0..3);
    let eol = |rng: &mut StdRng| match eol_kind {
        0 => "\n",
        1 => "\r\n",
        _ if rng.random_bool(0.5) => "\n",
        _ => "\r\n",
    };
    let responses = rng.random_bool(0.5);
    let mut s: Vec<u8> = Vec::new();
    if rng.random_bool(0.1) {
        s.extend_from_slice("\u{feff}".as_bytes());
    }
    s.extend_from_slice(if responses {
        b"prompt_id,response_id,proxy,true".as_slice()
    } else {
        b"\"prompt_id\",proxy,true".as_slice()
    });
    s.extend_from_slice(eol(rng).as_bytes());
    let numbers = ["0.5", "-1.25", " 2 ", "-0", "0", "1e3", "3", "0.1", "\"4\""];
    let errors = rng.random_bool(0.35);
    let rows = rng.random_range(0..30);
    let mut prompt = 0usize;
    for r in 0..rows {
        if rng.random_bool(0.25) {
            prompt = rng.random_range(0..6);
        }
        let mut id = match prompt % 5 {
            0 => format!("\"p{prompt}\""),
            1 => format!("\"p\n{prompt}\""),
            2 => format!("\"p,\"\"{prompt}\"\"\r\nx\""),
            _ => format!("p{prompt}"),
        }
        .into_bytes();
        let mut resp = match r % 5 {
            0 => format!("r{r}"),
            1 => format!("\"{r}\""),
            2 => String::new(),
            3 => format!("12345678{r}"),
            _ => r.to_string(),
        };
        let mut proxy = numbers[rng.random_range(0..numbers.len())].to_string();
        let mut truth = if rng.random_bool(0.2) {
            "TRUE"
        } else {
            numbers[rng.random_range(0..numbers.len())]
        }
        .to_string();
        let mut fields = if responses { 4 } else { 3 };
        if errors && rng.random_bool(0.08) {
            match rng.random_range(0..8) {
                0 => proxy = "abc".into(),
                1 => truth = String::new(),
                2 => proxy = "1e7".into(),
                3 => fields -= 1,
                4 => id.clear(),
                5 => id = b"\xff\xfe".to_vec(),
                6 => resp = "0".into(),
                _ => proxy = "9".repeat(70),
            }
        }
        s.extend_from_slice(&id);
        if responses {
            s.push(b',');
            s.extend_from_slice(resp.as_bytes());
        }
        s.push(b',');
        s.extend_from_slice(proxy.as_bytes());
        if fields > 2 + usize::from(responses) {
            s.push(b',');
            s.extend_from_slice(truth.as_bytes());
        }
        if rng.random_bool(0.05) {
            s.extend_from_slice(eol(rng).as_bytes());
        }
        if r + 1 < rows || rng.random_bool(0.7) {
            s.extend_from_slice(eol(rng).as_bytes());
        }
    }
    if errors && rng.random_bool(0.1) {
        s.extend_from_slice(b"\"p1,1,2\n");
    }
    (s, responses)
}

/// The data, bit for bit, or the error with every field.
type Outcome = Result<(Vec<String>, Vec<usize>, Vec<u64>, Vec<u64>, usize, usize), String>;

/// What a load gives: the data, bit for bit, or the error with every field.
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
    .map_err(|e| format!("{e:?} / {e}"))
}

#[test]
fn split_anywhere_loads_as_sequential() {
    let dir = std::env::temp_dir().join(format!("hedge-data-split-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("split.csv");
    let mut rng = StdRng::seed_from_u64(7);
    let replays = REPLAYS.load(Ordering::Relaxed);
    let (mut ok, mut failed) = (0, 0);
    for case in 0..150 {
        let (data, responses) = random_csv(&mut rng);
        std::fs::write(&path, &data).unwrap();
        let file = File::open(&path).unwrap();
        let mut opts = LoadOptions::new().sort_by_proxy(case % 2 == 0).parallel_min_bytes(0);
        if case % 3 == 0 {
            opts = opts.max_line_bytes(60);
        }
        if responses && case % 4 == 0 {
            opts = opts.ignore_response_col();
        }
        let expected = outcome(load_csv(&data[..], "s.csv", &opts, Some(data.len() as u64), None));
        match &expected {
            Ok(_) => ok += 1,
            Err(_) => failed += 1,
        }
        for hint in 0..data.len() as u64 {
            let reader = ReadAt { file: &file, pos: 0 };
            let got = load_csv_at(reader, "s.csv", &opts, Some(data.len() as u64), Some(&file), Some(hint));
            assert_eq!(
                outcome(got),
                expected,
                "case {case}, hint {hint}, data {:?}",
                String::from_utf8_lossy(&data)
            );
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(ok > 30 && failed > 30, "{ok} loaded, {failed} refused");
    assert!(REPLAYS.load(Ordering::Relaxed) > replays + 1000);
}

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
    let mut r = Records::new(Chunked(data, chunk), usize::MAX);
    let mut out = Vec::new();
    while r.next().unwrap() {
        let fields = (0..r.len())
            .map(|i| String::from_utf8(r.field(i).to_vec()).unwrap())
            .collect();
        out.push((r.record_line(), fields));
    }
    out
}

/// The lines of `data` read with a cap of `limit`: `Ok(number of records)` or `Err(line)` of the too long one.
fn split_capped(data: &[u8], chunk: usize, limit: usize) -> Result<usize, u64> {
    let mut r = Records::new(Chunked(data, chunk), limit);
    let mut n = 0;
    loop {
        match r.next() {
            Ok(true) => n += 1,
            Ok(false) => return Ok(n),
            Err(Stop::LineTooLong(line)) => return Err(line),
            Err(Stop::Io(e)) => panic!("{e}"),
        }
    }
}

#[test]
fn line_cap_does_not_depend_on_how_input_arrives() {
    // Line 2 has exactly `len` bytes besides its line end, in each of the shapes that take different paths.
    let line = |len: usize, shape: usize| match shape {
        0 => "x".repeat(len),                                                     // fast path
        1 => format!("\"{}\"", "x".repeat(len - 2)),                              // quoted: csv_core
        _ => format!("\"{}\"", "x\n".repeat(len / 2 - 1) + &"x".repeat(len % 2)), // spans lines
    };
    for eol in ["\n", "\r\n"] {
        for last in [eol, ""] {
            for shape in 0..3 {
                for chunk in [1, 2, 3, 5, 64, 1 << 20] {
                    let limit = 40;
                    let data = |len| format!("h{eol}{}{last}a{eol}", line(len, shape)).into_bytes();
                    let data_last = |len| format!("h{eol}{}{last}", line(len, shape)).into_bytes();
                    let case = format!("eol {eol:?} last {last:?} shape {shape} chunk {chunk}");
                    if !last.is_empty() {
                        assert_eq!(split_capped(&data(limit), chunk, limit), Ok(3), "{case}");
                        assert_eq!(split_capped(&data(limit + 1), chunk, limit), Err(2), "{case}");
                    }
                    assert_eq!(split_capped(&data_last(limit), chunk, limit), Ok(2), "{case}");
                    assert_eq!(split_capped(&data_last(limit + 1), chunk, limit), Err(2), "{case}");
                }
            }
        }
    }
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
fn bare_carriage_returns_at_read_boundaries() {
    // Found by fuzzing (fuzz/csv_load): a record that ended exactly where a read ended was taken for the
    // end of the data, so a file with bare `\r` line ends read from a pipe lost its later rows.
    let data = "h1,h2\ra,1\r\rb,2\r\"q\",3\rc,4";
    let expected: Vec<(u64, Vec<String>)> = split(data.as_bytes(), 1 << 20);
    assert_eq!(expected.len(), 5);
    for chunk in 1..data.len() {
        assert_eq!(split(data.as_bytes(), chunk), expected, "chunk {chunk}");
    }
    // The same with quoted records in a `\n` file (the slow path without `slow_only`).
    let data = "h1,h2\n\"a\",1\n\"b\",2\n";
    let expected = split(data.as_bytes(), 1 << 20);
    assert_eq!(expected.len(), 3);
    for chunk in 1..data.len() {
        assert_eq!(split(data.as_bytes(), chunk), expected, "chunk {chunk}");
    }
}

#[test]
fn byte_order_marks() {
    // Found by fuzzing (fuzz/csv_load): `csv_core` strips a BOM at the start of its input after each reset,
    // and only when the three bytes were read together. So a BOM starting a record in the middle of the data
    // was dropped, or, split across reads, ended the data. Now only the data's leading BOM is skipped, at any
    // read size, and a BOM elsewhere is data, as on the fast path.
    let bom = "\u{feff}";
    let fields = |v: Vec<(u64, Vec<String>)>| v.into_iter().map(|(_, f)| f).collect::<Vec<_>>();
    for (data, expected) in [
        (
            format!("{bom}h1,h2\r{bom},0\ra,1\r"),
            vec![vec!["h1", "h2"], vec![bom, "0"], vec!["a", "1"]],
        ),
        (
            format!("{bom}\"h1\",h2\n{bom}\"x\",1\n\"y\",{bom}\n"),
            vec![vec!["h1", "h2"], vec![&format!("{bom}\"x\"")[..], "1"], vec!["y", bom]],
        ),
        (bom.to_string(), vec![]),
        (format!("{bom}{bom}a\n"), vec![vec![&format!("{bom}a")[..]]]),
    ] {
        for chunk in 1..=data.len() {
            assert_eq!(
                fields(split(data.as_bytes(), chunk)),
                expected,
                "{data:?}, chunk {chunk}"
            );
        }
    }
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
