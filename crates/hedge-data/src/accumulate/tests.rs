//! Unit tests of `accumulate.rs` (its private items: `super::*`).

use super::*;

fn acc(track: bool) -> Accumulator {
    Accumulator::new("t.csv", "prompt_id", track)
}

#[test]
fn order_keys_order_as_total_cmp() {
    let values = [
        f64::NEG_INFINITY,
        -1e300,
        -2.5,
        -1.0,
        -f64::MIN_POSITIVE,
        -5e-324,
        -0.0,
        0.0,
        5e-324,
        f64::MIN_POSITIVE,
        1.0,
        2.5,
        1e300,
        f64::INFINITY,
        f64::NAN,
        -f64::NAN,
    ];
    for &a in &values {
        assert_eq!(from_order_key(order_key(a)).to_bits(), a.to_bits());
        for &b in &values {
            assert_eq!(order_key(a).cmp(&order_key(b)), a.total_cmp(&b), "{a} {b}");
        }
    }
}

#[test]
fn small_ints() {
    assert_eq!(small_int(b"0"), Some(0));
    assert_eq!(small_int(b"999999"), Some(999_999));
    assert_eq!(small_int(b"01"), None);
    assert_eq!(small_int(b"+1"), None);
    assert_eq!(small_int(b"1a"), None);
    assert_eq!(small_int(b"9999999"), None);
    assert_eq!(small_int(b""), None);
}

#[test]
fn grouped_and_regrouped() {
    let mut a = acc(false);
    let rows = [
        ("a", 1.0),
        ("a", 2.0),
        ("b", 3.0),
        ("c", 4.0),
        ("b", 5.0),
        ("a", 6.0),
        ("c", 7.0),
        ("d", 8.0),
    ];
    for (i, (p, x)) in rows.iter().enumerate() {
        let loc = Location::Line(i as u64 + 2);
        a.set_prompt(p.as_bytes(), loc).unwrap();
        a.push(None, *x, -x, loc).unwrap();
    }
    let c = a.finish("t.csv".into()).unwrap();
    assert_eq!(c.prompt_ids, ["a", "b", "c"]);
    assert_eq!(c.offsets, [0, 3, 5, 7]);
    assert_eq!(c.proxy, [1.0, 2.0, 6.0, 3.0, 5.0, 4.0, 7.0]);
    assert_eq!(c.truth, [-1.0, -2.0, -6.0, -3.0, -5.0, -4.0, -7.0]);
    assert_eq!(c.skipped_single, 1);
    assert_eq!(c.rows_read, 8);
}

#[test]
fn duplicate_ids_across_runs() {
    let mut a = acc(true);
    let rows = [
        ("a", "x"),
        ("a", "1"),
        ("b", "x"),
        ("b", "1"),
        ("a", "y"),
        ("c", "1"),
        ("a", "x"),
    ];
    let mut err = None;
    for (i, (p, r)) in rows.iter().enumerate() {
        let loc = Location::Line(i as u64 + 2);
        a.set_prompt(p.as_bytes(), loc).unwrap();
        if let Err(e) = a.push(Some(r.as_bytes()), 0.0, 0.0, loc) {
            err = Some(e);
            break;
        }
    }
    let err = err.expect("duplicate detected").to_string();
    assert_eq!(err, "t.csv:8: duplicate response id \"x\" for prompt \"a\"");
}

#[test]
fn duplicate_small_int_across_runs() {
    let mut a = acc(true);
    let rows = [("a", "0"), ("a", "1"), ("b", "0"), ("a", "2"), ("b", "1"), ("a", "1")];
    let mut failed_at = None;
    for (i, (p, r)) in rows.iter().enumerate() {
        let loc = Location::Row(i as u64 + 1);
        a.set_prompt(p.as_bytes(), loc).unwrap();
        if a.push(Some(r.as_bytes()), 0.0, 0.0, loc).is_err() {
            failed_at = Some(i);
            break;
        }
    }
    assert_eq!(failed_at, Some(5));
}

#[test]
fn many_string_ids_are_distinct() {
    let mut a = acc(true);
    a.set_prompt(b"p", Location::Line(1)).unwrap();
    for i in 0..20_000u64 {
        let id = format!("resp-{i}");
        a.push(Some(id.as_bytes()), 0.0, 0.0, Location::Line(i + 2)).unwrap();
    }
    assert!(a.push(Some(b"resp-123"), 0.0, 0.0, Location::Line(0)).is_err());
    // Same ids under another prompt are fine.
    a.set_prompt(b"q", Location::Line(1)).unwrap();
    a.push(Some(b"resp-123"), 0.0, 0.0, Location::Line(0)).unwrap();
    a.push(Some(b""), 0.0, 0.0, Location::Line(0)).unwrap();
    a.push(None, 0.0, 0.0, Location::Line(0)).unwrap();
}

#[test]
fn simulated_hash_collision_is_checked_exactly() {
    let (mut arena, mut ends) = (Vec::new(), Vec::new());
    let mut set = KeySet::default();
    assert!(set.insert(b"abc", &mut arena, &mut ends));
    // Pretend "zzz" has the same hash as "abc" (entry 0).
    set.map.insert(hash_bytes(b"zzz"), 0);
    assert!(set.insert(b"zzz", &mut arena, &mut ends));
    assert_eq!(set.overflow, [1]);
    assert!(!set.insert(b"zzz", &mut arena, &mut ends));
    assert!(!set.insert(b"abc", &mut arena, &mut ends));
    assert!(set.insert(b"5", &mut arena, &mut ends));
    assert!(!set.insert(b"5", &mut arena, &mut ends));
    // Freezing and thawing keeps every id.
    let frozen = set.freeze();
    assert!(set.insert(b"abc", &mut arena, &mut ends));
    let mut thawed = KeySet::thaw(Some(frozen), &arena, &ends);
    for id in [&b"abc"[..], b"zzz", b"5"] {
        assert!(!thawed.insert(id, &mut arena, &mut ends));
    }
    assert!(thawed.insert(b"6", &mut arena, &mut ends));
}

proptest::proptest! {
    /// The duplicate check agrees with a naive set of (prompt, response) pairs, grouped or not.
    #[test]
    fn duplicate_check_matches_model(
        rows in proptest::collection::vec((0..4usize, 0..8usize), 1..60)
    ) {
        const IDS: [&str; 8] = ["0", "1", "07", "a", "b", "100000000", "bb", "2"];
        let mut a = acc(true);
        let mut seen = std::collections::HashSet::new();
        for (i, &(p, r)) in rows.iter().enumerate() {
            let loc = Location::Row(i as u64 + 1);
            a.set_prompt(format!("p{p}").as_bytes(), loc).unwrap();
            let fresh = seen.insert((p, r));
            // Integer keys must behave exactly like their decimal text.
            let key = match IDS[r].parse::<u64>() {
                Ok(n) if i % 2 == 0 && n.to_string() == IDS[r] => ResponseKey::Int(n),
                _ => ResponseKey::Text(IDS[r].as_bytes()),
            };
            let result = a.push_key(Some(key), 0.0, 0.0, loc);
            proptest::prop_assert_eq!(result.is_ok(), fresh, "row {}", i);
            if !fresh {
                break;
            }
        }
    }
}

/// Loads `rows` (prompt, proxy) with truth = row number, in the given sorting mode.
fn load_rows(rows: &[(usize, u8)], mode: Option<bool>) -> Result<Calibration, DataError> {
    // mode: None = file order; Some(true) = sorting thread; Some(false) = sorting in `finish` only.
    let mut a = acc(false).sorting(mode.is_some());
    if mode == Some(false) {
        a.sorter = None;
        a.sort_all = true;
    }
    a.reserve(rows.len());
    for (i, &(p, x)) in rows.iter().enumerate() {
        let loc = Location::Line(i as u64 + 2);
        a.set_prompt(format!("p{p}").as_bytes(), loc)?;
        a.push(None, f64::from(x) / 4.0, i as f64, loc)?;
    }
    a.finish("t.csv".into())
}

#[test]
fn sorting_orders_by_proxy_then_truth_within_each_prompt() {
    let rows = [
        (0, 3),
        (0, 1),
        (0, 3),
        (1, 2),
        (1, 0),
        (0, 0),
        (2, 5),
        (1, 2),
        (3, 1),
        (3, 1),
    ];
    let c = load_rows(&rows, Some(true)).unwrap();
    assert_eq!(c.prompt_ids, ["p0", "p1", "p3"]);
    assert_eq!(c.offsets, [0, 4, 7, 9]);
    assert_eq!(c.proxy, [0.0, 0.25, 0.75, 0.75, 0.0, 0.5, 0.5, 0.25, 0.25]);
    // Ties by truth (= row number here): p0's two 0.75 are rows 0 and 2, p1's two 0.5 rows 3 and 7.
    assert_eq!(c.truth, [5.0, 1.0, 0.0, 2.0, 4.0, 3.0, 7.0, 8.0, 9.0]);
    assert_eq!((c.skipped_single, c.rows_read), (1, 10));
}

proptest::proptest! {
    /// Sorting while reading (on the thread, or all in `finish`) gives the file-order result with each
    /// prompt sorted by (proxy, truth), for grouped and non-grouped inputs alike.
    #[test]
    fn sorting_matches_a_stable_sort_of_file_order(
        rows in proptest::collection::vec((0..5usize, 0..6u8), 1..80),
        grouped in proptest::bool::ANY,
    ) {
        let mut rows = rows;
        if grouped {
            rows.sort_by_key(|r| r.0);
        }
        let plain = load_rows(&rows, None);
        for mode in [Some(true), Some(false)] {
            let sorted = load_rows(&rows, mode);
            match (&plain, sorted) {
                (Ok(p), Ok(s)) => {
                    proptest::prop_assert_eq!(&s.prompt_ids, &p.prompt_ids);
                    proptest::prop_assert_eq!(&s.offsets, &p.offsets);
                    proptest::prop_assert_eq!((s.skipped_single, s.rows_read), (p.skipped_single, p.rows_read));
                    for w in p.offsets.windows(2) {
                        let mut pairs: Vec<(f64, f64)> =
                            p.proxy[w[0]..w[1]].iter().copied().zip(p.truth[w[0]..w[1]].iter().copied()).collect();
                        pairs.sort_by(|&a, &b| row_order(a, b));
                        let (ep, et): (Vec<f64>, Vec<f64>) = pairs.into_iter().unzip();
                        proptest::prop_assert_eq!(&s.proxy[w[0]..w[1]], &ep[..]);
                        proptest::prop_assert_eq!(&s.truth[w[0]..w[1]], &et[..]);
                    }
                }
                (Err(a), Err(b)) => proptest::prop_assert_eq!(a.to_string(), b.to_string()),
                (a, b) => proptest::prop_assert!(false, "{:?} vs {:?}", a.is_ok(), b.is_ok()),
            }
        }
    }
}

proptest::proptest! {
    /// With sorting on, the order of the rows in the file does not matter to any prompt's rows: a permutation
    /// of the rows loads every prompt (found by its id) to the same values, bit for bit.
    #[test]
    fn sorted_load_ignores_row_order(
        rows in proptest::collection::vec((0..4usize, 0..5u8, 0..4u8), 2..60),
        perm_seed in proptest::num::u64::ANY,
    ) {
        use rand::{SeedableRng, seq::SliceRandom};
        let load = |rows: &[(usize, u8, u8)]| {
            let mut a = acc(false).sorting(true);
            for (i, &(p, x, t)) in rows.iter().enumerate() {
                let loc = Location::Line(i as u64 + 2);
                a.set_prompt(format!("p{p}").as_bytes(), loc).unwrap();
                a.push(None, f64::from(x) * 0.1, f64::from(t) * 0.3, loc).unwrap();
            }
            a.finish("t.csv".into())
        };
        let mut shuffled = rows.clone();
        shuffled.shuffle(&mut rand::rngs::StdRng::seed_from_u64(perm_seed));
        match (load(&rows), load(&shuffled)) {
            (Ok(a), Ok(b)) => {
                // Prompts are numbered by first appearance; compare them by id.
                for (i, id) in a.prompt_ids.iter().enumerate() {
                    let j = b.prompt_ids.iter().position(|x| x == id).unwrap();
                    let (ra, rb) = (a.offsets[i]..a.offsets[i + 1], b.offsets[j]..b.offsets[j + 1]);
                    proptest::prop_assert_eq!(&a.proxy[ra.clone()], &b.proxy[rb.clone()]);
                    proptest::prop_assert_eq!(&a.truth[ra], &b.truth[rb]);
                }
                proptest::prop_assert_eq!(a.prompt_ids.len(), b.prompt_ids.len());
            }
            (Err(_), Err(_)) => {}
            (a, b) => proptest::prop_assert!(false, "{:?} vs {:?}", a.is_ok(), b.is_ok()),
        }
    }
}

#[test]
fn absurd_reservations_do_not_abort() {
    let mut a = acc(false);
    a.reserve(usize::MAX / 2);
    a.reserve_for_size(1, u64::MAX);
    a.set_prompt(b"p", Location::Row(1)).unwrap();
    a.push(None, 1.0, 1.0, Location::Row(1)).unwrap();
    a.push(None, 2.0, 2.0, Location::Row(2)).unwrap();
    assert_eq!(a.finish("t".into()).unwrap().num_rows(), 2);
}

#[test]
fn hash_is_spread() {
    let a = hash_bytes(b"abc");
    let b = hash_bytes(b"abd");
    let c = hash_bytes(b"abc\0");
    assert_ne!(a, b);
    assert_ne!(a, c);
}
