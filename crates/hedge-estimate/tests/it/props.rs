//! Property tests: finiteness on random data, and bit-identical results with 1 and 2 threads.

use hedge_estimate::{Estimator, MethodKind, Objective, Prepared, TuneSpec, bootstrap, curve, holdout, synth, tune};
use proptest::prelude::*;

/// Random CSR data: 1–6 prompts of 0–9 responses, scores on a coarse grid (ties) of
/// random scale, truths of random scale.
fn data() -> impl Strategy<Value = (Vec<usize>, Vec<f64>, Vec<f64>)> {
    (
        prop::collection::vec(0usize..10, 1..7),
        0.001f64..1000.0,
        0.001f64..100.0,
        any::<u64>(),
    )
        .prop_map(|(sizes, ps, ts, seed)| {
            use rand::{Rng, SeedableRng};
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let mut offsets = vec![0];
            let (mut proxy, mut truth) = (Vec::new(), Vec::new());
            for m in sizes {
                for _ in 0..m {
                    proxy.push((rng.random::<f64>() * 8.0).round() * ps);
                    truth.push((rng.random::<f64>() - 0.3) * ts);
                }
                offsets.push(proxy.len());
            }
            (offsets, proxy, truth)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn estimates_are_finite((o, p, t) in data(), frac in 0.0f64..1.0, n in 1u64..70) {
        let Ok(d) = Prepared::new(&o, &p, &t) else { return Ok(()); };
        let m_max = d.m_max() as f64;
        for (kind, lo, hi) in [(MethodKind::Bon, 1.0, 3.0 * m_max), (MethodKind::Bop, 0.0, 3.0 * m_max), (MethodKind::Tilt, 0.0, 30.0 * m_max), (MethodKind::Sbon, 0.0, 1e3)] {
            let theta = lo + frac * (hi - lo);
            for est in [Estimator::Plugin, Estimator::Paper] {
                let Ok(obj) = Objective::new(&d, kind, Some(n), est) else { continue; };
                let (f, df) = obj.value_and_slope(theta).unwrap();
                prop_assert!(f.is_finite() && df.is_finite(), "{kind} {est} theta={theta}: {f} {df}");
                let e = obj.estimate(theta).unwrap();
                prop_assert!(e.value.is_finite());
                let per = obj.per_prompt(theta).unwrap();
                prop_assert!(per.iter().all(|x| x.is_finite()));
            }
        }
        let obj = Objective::new(&d, MethodKind::Bon, None, Estimator::Unbiased).unwrap();
        let nn = 1.0 + (frac * (d.m_min() as f64 - 1.0)).floor();
        prop_assert!(obj.value(nn).unwrap().is_finite());
        // tuning never panics and stays in range
        for kind in [MethodKind::Bon, MethodKind::Bop, MethodKind::Tilt] {
            let o = tune(&d, &TuneSpec::new(kind)).unwrap();
            prop_assert!(o.theta >= o.range.0 && o.theta <= o.range.1 && o.expected_true_reward.is_finite());
        }
    }

    #[test]
    fn one_thread_equals_two_threads((o, p, t) in data(), seed in any::<u64>()) {
        let Ok(_) = Prepared::new(&o, &p, &t) else { return Ok(()); };
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| {
                let d = Prepared::new(&o, &p, &t).unwrap();
                let mut bits: Vec<u64> = Vec::new();
                for tp in 0..d.prompts() {
                    bits.extend(d.ranked_truth(tp).iter().map(|x| x.to_bits()));
                }
                for kind in [MethodKind::Bon, MethodKind::Bop, MethodKind::Tilt] {
                    let o = tune(&d, &TuneSpec::new(kind)).unwrap();
                    bits.extend([o.theta.to_bits(), o.expected_true_reward.to_bits(), o.stderr.to_bits()]);
                    let c = curve(&d, kind, &[1.0, 2.5, 7.0], None, Estimator::Plugin).unwrap();
                    bits.extend(c.iter().map(|x| x.expected_true_reward.to_bits()));
                }
                let s = tune(&d, &TuneSpec::new(MethodKind::Sbon).n_grid([2, 5]).range(0.0, 50.0)).unwrap();
                bits.extend([s.theta.to_bits(), s.expected_true_reward.to_bits()]);
                let (lo, hi) = bootstrap(&d, &TuneSpec::new(MethodKind::Bop), 20, seed, |_| {}).unwrap();
                bits.extend([lo.to_bits(), hi.to_bits()]);
                if d.prompts() >= 2 {
                    let h = holdout(&d, &TuneSpec::new(MethodKind::Bon), 0.5, seed).unwrap();
                    bits.extend([h.tuned_reward.to_bits(), h.oracle_reward.to_bits(), h.default_reward.to_bits()]);
                }
                bits
            })
        };
        prop_assert_eq!(run(1), run(2));
    }
}

#[test]
fn large_data_one_thread_equals_two_threads() {
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            let s = synth::gaussian(300, 64, 0.7, 2.5, 5).unwrap();
            let d = s.prepare().unwrap();
            let a = tune(&d, &TuneSpec::new(MethodKind::Bop)).unwrap();
            let b = tune(&d, &TuneSpec::new(MethodKind::Sbon).n(8).range(0.0, 100.0)).unwrap();
            let (lo, hi) = bootstrap(&d, &TuneSpec::new(MethodKind::Tilt), 50, 3, |_| {}).unwrap();
            (
                s,
                a.theta.to_bits(),
                a.stderr.to_bits(),
                b.theta.to_bits(),
                b.expected_true_reward.to_bits(),
                lo.to_bits(),
                hi.to_bits(),
            )
        })
    };
    assert_eq!(run(1), run(2));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// `Prepared::from_vecs` (in place) gives exactly what `Prepared::new` (copying) gives,
    /// errors included, whether or not the rows arrive already sorted.
    #[test]
    fn from_vecs_equals_new((o, p, t) in data(), presort in any::<bool>()) {
        let (mut p, mut t) = (p, t);
        if presort {
            for w in o.windows(2) {
                let mut pairs: Vec<(f64, f64)> = p[w[0]..w[1]].iter().copied().zip(t[w[0]..w[1]].iter().copied()).collect();
                pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
                for (k, (x, y)) in pairs.into_iter().enumerate() {
                    p[w[0] + k] = x;
                    t[w[0] + k] = y;
                }
            }
        }
        let a = Prepared::new(&o, &p, &t);
        let b = Prepared::from_vecs(o.clone(), p.clone(), t.clone());
        match (a, b) {
            (Ok(a), Ok(b)) => {
                prop_assert_eq!(a.prompts(), b.prompts());
                prop_assert_eq!(a.skipped_prompts(), b.skipped_prompts());
                for k in 0..a.prompts() {
                    prop_assert_eq!(a.sorted_proxy(k), b.sorted_proxy(k));
                    prop_assert_eq!(a.ranked_truth(k), b.ranked_truth(k));
                    prop_assert_eq!(a.source_prompt(k), b.source_prompt(k));
                }
                prop_assert_eq!(a.rank_means().len(), b.rank_means().len());
                for (x, y) in a.rank_means().iter().zip(b.rank_means()) {
                    prop_assert_eq!((x.m, x.prompts, &x.mean), (y.m, y.prompts, &y.mean));
                }
            }
            (Err(a), Err(b)) => prop_assert_eq!(a.to_string(), b.to_string()),
            (a, b) => prop_assert!(false, "new ok: {}, from_vecs ok: {}", a.is_ok(), b.is_ok()),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// The rows of a prompt may come in any order: the prepared data (and so every estimate) is the same
    /// bit for bit, tie means included (ties are summed in (proxy, truth) order).
    #[test]
    fn row_order_within_a_prompt_does_not_matter((o, p, t) in data(), seed in any::<u64>()) {
        use rand::{SeedableRng, seq::SliceRandom};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let (mut p2, mut t2) = (p.clone(), t.clone());
        for w in o.windows(2) {
            let mut idx: Vec<usize> = (w[0]..w[1]).collect();
            idx.shuffle(&mut rng);
            for (k, &i) in idx.iter().enumerate() {
                p2[w[0] + k] = p[i];
                t2[w[0] + k] = t[i];
            }
        }
        let (Ok(a), Ok(b)) = (Prepared::new(&o, &p, &t), Prepared::from_vecs(o.clone(), p2, t2)) else {
            return Ok(());
        };
        for k in 0..a.prompts() {
            prop_assert_eq!(a.sorted_proxy(k), b.sorted_proxy(k));
            prop_assert_eq!(a.ranked_truth(k), b.ranked_truth(k));
        }
        for (x, y) in a.rank_means().iter().zip(b.rank_means()) {
            prop_assert_eq!(&x.mean, &y.mean);
        }
    }
}
