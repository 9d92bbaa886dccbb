//! Property test: random grouped and non-grouped tables round-trip through CSV, JSON lines and Parquet
//! with the same CSR content as building the calibration in memory.

use crate::common;

use common::csr;
use hedge_data::{Calibration, CalibrationWriter, Format, LoadOptions, Row, load_reader};
use proptest::prelude::*;

/// Writes rows into memory in `format`.
fn write_to_vec(rows: &[(String, u64, f64, f64)], format: Format) -> Vec<u8> {
    // The writer needs an owned `Write + Send + 'static`; a shared buffer behind a mutex gives it back.
    #[derive(Clone, Default)]
    struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
    impl std::io::Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let out = Shared::default();
    let mut w = CalibrationWriter::new(out.clone(), "mem", format).unwrap();
    for (p, r, x, y) in rows {
        w.write_row(&Row {
            prompt_id: p,
            response_id: Some(*r),
            proxy: *x,
            truth: *y,
        })
        .unwrap();
    }
    w.finish().unwrap();
    out.0.lock().unwrap().clone()
}

/// Prompt ids that exercise quoting and escaping.
fn prompt_id() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z]{1,6}",
        "[0-9]{1,4}",
        "[a-z ,\"\n\\\\é]{1,8}".prop_filter("not blank", |s| !s.trim().is_empty()),
    ]
}

fn finite() -> impl Strategy<Value = f64> {
    prop_oneof![
        -1e6..1e6f64,
        any::<f64>().prop_filter("finite", |v| v.is_finite()),
        Just(0.0),
        Just(-0.0),
        Just(1.0)
    ]
}

/// A table of groups; `shuffle` interleaves them (non-grouped file).
fn table() -> impl Strategy<Value = Vec<(String, u64, f64, f64)>> {
    (
        prop::collection::vec((prompt_id(), prop::collection::vec((finite(), finite()), 1..6)), 1..12),
        any::<bool>(),
        any::<u64>(),
    )
        .prop_map(|(groups, shuffle, seed)| {
            // Merge groups with the same id so response ids stay unique per prompt.
            let mut rows: Vec<(String, u64, f64, f64)> = Vec::new();
            let mut next_resp = std::collections::HashMap::<String, u64>::new();
            for (id, values) in groups {
                for (x, y) in values {
                    let r = next_resp.entry(id.clone()).or_default();
                    rows.push((id.clone(), *r, x, y));
                    *r += 1;
                }
            }
            if shuffle {
                // Deterministic Fisher-Yates from the seed.
                let mut s = seed | 1;
                for i in (1..rows.len()).rev() {
                    s ^= s << 13;
                    s ^= s >> 7;
                    s ^= s << 17;
                    rows.swap(i, (s % (i as u64 + 1)) as usize);
                }
            }
            rows
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, .. ProptestConfig::default() })]

    #[test]
    fn tables_round_trip(rows in table()) {
        let expected = Calibration::from_rows(rows.iter().map(|(p, _, x, y)| (p.as_str(), *x, *y)));
        for format in [Format::Csv, Format::JsonLines, Format::Parquet] {
            let bytes = write_to_vec(&rows, format);
            // Any finite value: the bound on rewards is tested in load.rs.
            let loaded = load_reader(&bytes[..], "mem", format, &LoadOptions::new().max_abs_reward(f64::MAX));
            match (&expected, loaded) {
                (Ok(e), Ok(l)) => {
                    prop_assert_eq!(csr(e), csr(&l), "{}", format);
                    // Offsets are a valid CSR index.
                    prop_assert_eq!(l.offsets.len(), l.prompt_ids.len() + 1);
                    prop_assert_eq!(*l.offsets.last().unwrap(), l.proxy.len());
                }
                (Err(e), Err(l)) => prop_assert_eq!(
                    std::mem::discriminant(e), std::mem::discriminant(&l), "{} vs {}", e, l),
                (e, l) => prop_assert!(false, "{}: in-memory {:?} but loaded {:?}", format, e, l),
            }
        }
    }
}
