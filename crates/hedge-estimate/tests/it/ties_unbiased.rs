//! Ties, SBoN probabilities, the unbiased estimator against enumeration, and input errors.

use crate::common;

use hedge_estimate::{EstimateError, Estimator, Field, MethodKind, Objective, Prepared, sbon_choice_probabilities};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

#[test]
fn tie_groups_share_their_mean_and_sort_is_stable() {
    let data = common::prepared(&common::small_with_ties());
    assert_eq!(data.prompts(), 4);
    assert_eq!(data.sorted_proxy(0), &[0.1, 0.3, 0.3, 0.3, 0.5, 0.7, 0.9]);
    let mean = (1.0 + 0.2 + 0.9) / 3.0;
    assert_eq!(data.ranked_truth(0), &[-0.5, mean, mean, mean, 2.0, -1.0, 0.4]);
    assert_eq!(data.ranked_truth(1), &[1.5, 0.25, 0.75, 0.75, 0.0]);
    assert_eq!(data.ranked_truth(3), &[0.5, 0.5, 0.5]);
    // R̄_{m,k} = (1/T) Σ over prompts with that m
    let rm = data.rank_means();
    assert_eq!(rm.iter().map(|r| r.m).collect::<Vec<_>>(), vec![3, 5, 7, 9]);
    assert_eq!(
        rm[1].mean,
        data.ranked_truth(1).iter().map(|r| r / 4.0).collect::<Vec<_>>()
    );
}

#[test]
fn tie_breaking_is_uniform_so_sbon_probabilities_are_equal_within_ties() {
    let proxy = [0.3, 0.1, 0.3, 0.9, 0.5, 0.7, 0.3, 0.9];
    for (n, beta) in [(2u64, 1.0), (7, 30.0), (64, 3.0)] {
        let (p, dp) = sbon_choice_probabilities(&proxy, n, beta).unwrap();
        assert_eq!(p[0], p[2]);
        assert_eq!(p[0], p[6]);
        assert_eq!(p[3], p[7]);
        assert_eq!(dp[3], dp[7]);
    }
}

#[test]
fn sbon_probabilities_sum_to_one() {
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    let mut worst: f64 = 0.0;
    for trial in 0..120 {
        let m = [2usize, 5, 17, 64, 300][trial % 5];
        let scale = [0.01, 1.0, 100.0][trial % 3];
        // rounded scores give ties; the scale moves clusters of steps around
        let proxy: Vec<f64> = (0..m)
            .map(|_| (rng.random::<f64>() * 40.0).round() / 10.0 * scale)
            .collect();
        for n in [1u64, 2, 3, 16, 64, 1000, 100_000] {
            for beta in [0.0, 1e-3, 0.1, 1.0, 4.0, 15.0, 60.0, 250.0, 1e3, 1e5] {
                let (p, dp) = sbon_choice_probabilities(&proxy, n, beta).unwrap();
                let s: f64 = p.iter().sum();
                let ds: f64 = dp.iter().sum();
                assert!(
                    p.iter().all(|&x| x.is_finite() && x >= -1e-300),
                    "m={m} n={n} beta={beta}"
                );
                assert!((s - 1.0).abs() < 1e-12, "m={m} n={n} beta={beta}: sum {s}");
                assert!(
                    ds.abs() < 1e-10 * (1.0 + dp.iter().map(|x| x.abs()).sum::<f64>()),
                    "m={m} n={n} beta={beta}: dsum {ds}"
                );
                worst = worst.max((s - 1.0).abs());
            }
        }
    }
    assert!(worst < 1e-12, "{worst}");
}

#[test]
fn sbon_limits_are_uniform_and_best_of_n() {
    let proxy = [0.0, 1.0, 2.0, 3.0];
    let (p, _) = sbon_choice_probabilities(&proxy, 5, 0.0).unwrap();
    assert!(p.iter().all(|&x| (x - 0.25).abs() < 1e-14));
    // β → ∞: Best-of-5 with replacement, P(rank k) = (k/4)^5 − ((k−1)/4)^5
    let (p, _) = sbon_choice_probabilities(&proxy, 5, 1e4).unwrap();
    for k in 1..=4 {
        let want = (k as f64 / 4.0).powi(5) - ((k - 1) as f64 / 4.0).powi(5);
        assert!((p[k - 1] - want).abs() < 1e-14, "{k}: {} vs {want}", p[k - 1]);
    }
}

#[test]
fn sbon_derivative_matches_finite_differences() {
    let data = common::prepared(&common::small_with_ties());
    for n in [2u64, 5, 40] {
        let obj = Objective::new(&data, MethodKind::Sbon, Some(n), Estimator::Plugin).unwrap();
        for beta in [0.3, 2.0, 9.0] {
            let h = 1e-5 * beta;
            let fd = (obj.value(beta + h).unwrap() - obj.value(beta - h).unwrap()) / (2.0 * h);
            let d = obj.slope(beta).unwrap();
            assert!(
                (fd - d).abs() < 1e-7 * (1.0 + d.abs()),
                "n={n} beta={beta}: {d} vs {fd}"
            );
        }
    }
}

#[test]
fn plugin_derivatives_match_finite_differences() {
    let data = common::prepared(&common::small_with_ties());
    for (kind, thetas) in [
        (MethodKind::Bon, [1.5, 4.0, 30.0]),
        (MethodKind::Bop, [0.2, 3.0, 40.0]),
        (MethodKind::Tilt, [0.3, 5.0, 80.0]),
    ] {
        let obj = Objective::new(&data, kind, None, Estimator::Plugin).unwrap();
        for theta in thetas {
            let h = 1e-6 * theta;
            let fd = (obj.value(theta + h).unwrap() - obj.value(theta - h).unwrap()) / (2.0 * h);
            let d = obj.slope(theta).unwrap();
            assert!((fd - d).abs() < 1e-6 * (1.0 + d.abs()), "{kind} {theta}: {d} vs {fd}");
        }
    }
}

/// Exact expectation of best-of-n without replacement by enumerating all subsets; ties
/// inside a subset are broken uniformly.
fn enumerate_bon(p: &[(f64, f64)], n: usize) -> f64 {
    let m = p.len();
    let (mut total, mut count) = (0.0, 0usize);
    for mask in 0u32..(1 << m) {
        if mask.count_ones() as usize != n {
            continue;
        }
        let members: Vec<&(f64, f64)> = (0..m).filter(|i| mask & (1 << i) != 0).map(|i| &p[i]).collect();
        let best = members.iter().map(|x| x.0).fold(f64::NEG_INFINITY, f64::max);
        let tied: Vec<f64> = members.iter().filter(|x| x.0 == best).map(|x| x.1).collect();
        total += tied.iter().sum::<f64>() / tied.len() as f64;
        count += 1;
    }
    total / count as f64
}

#[test]
fn unbiased_bon_equals_enumeration_without_replacement() {
    let prompts = vec![
        vec![(0.3, 1.0), (0.1, -0.5), (0.3, 0.2), (0.9, 0.4), (0.5, 2.0), (0.9, -1.0)],
        vec![
            (1.0, 0.1),
            (2.0, 0.7),
            (3.0, 0.3),
            (4.0, 0.9),
            (5.0, 0.5),
            (6.0, 0.2),
            (7.0, 0.8),
            (8.0, 0.6),
        ],
        vec![(0.0, 1.0), (0.0, 3.0), (0.0, 5.0), (1.0, 0.0), (1.0, 2.0), (2.0, 1.0)],
    ];
    let data = common::prepared(&prompts);
    let obj = Objective::new(&data, MethodKind::Bon, None, Estimator::Unbiased).unwrap();
    for n in 1..=6usize {
        let want = prompts.iter().map(|p| enumerate_bon(p, n)).sum::<f64>() / prompts.len() as f64;
        let got = obj.value(n as f64).unwrap();
        assert!((got - want).abs() < 1e-13, "n={n}: {got} vs {want}");
        let per = obj.per_prompt(n as f64).unwrap();
        for (t, p) in prompts.iter().enumerate() {
            assert!((per[t] - enumerate_bon(p, n)).abs() < 1e-13);
        }
    }
    assert!(matches!(obj.value(7.0), Err(EstimateError::NTooLarge { n: 7, m: 6 })));
    assert!(matches!(
        obj.value(2.5),
        Err(EstimateError::UnbiasedNeedsInteger { .. })
    ));
    assert!(matches!(obj.slope(2.0), Err(EstimateError::NoDerivative { .. })));
    assert!(matches!(
        Objective::new(&data, MethodKind::Bop, None, Estimator::Unbiased),
        Err(EstimateError::Unsupported {
            estimator: "unbiased",
            method: MethodKind::Bop
        })
    ));
    assert!(matches!(
        Objective::new(&data, MethodKind::Sbon, None, Estimator::Plugin),
        Err(EstimateError::MissingN)
    ));
}

#[test]
fn bad_input_is_a_typed_error_not_a_panic() {
    use EstimateError::*;
    assert!(matches!(
        Prepared::new(&[0, 2, 3], &[0.1, f64::NAN, 0.2], &[0.0, 0.0, 0.0]),
        Err(NonFinite {
            prompt: 0,
            row: 1,
            field: Field::Proxy,
            ..
        })
    ));
    assert!(matches!(
        Prepared::new(&[0, 2, 4], &[0.1, 0.2, 0.3, 0.4], &[0.0, 0.0, f64::INFINITY, 0.0]),
        Err(NonFinite {
            prompt: 1,
            row: 2,
            field: Field::Truth,
            ..
        })
    ));
    assert!(matches!(
        Prepared::new(&[0, 2], &[0.1, 0.2], &[0.0]),
        Err(LengthMismatch { proxy: 2, truth: 1 })
    ));
    assert!(matches!(Prepared::new(&[], &[], &[]), Err(InvalidOffsets { .. })));
    assert!(matches!(
        Prepared::new(&[1, 2], &[0.1, 0.2], &[0.0, 0.0]),
        Err(InvalidOffsets { index: 0, .. })
    ));
    assert!(matches!(
        Prepared::new(&[0, 2, 1, 2], &[0.1, 0.2], &[0.0, 0.0]),
        Err(InvalidOffsets { index: 2, .. })
    ));
    assert!(matches!(
        Prepared::new(&[0, 1], &[0.1, 0.2], &[0.0, 0.0]),
        Err(InvalidOffsets { index: 1, .. })
    ));
    // only prompts with m < 2: nothing left
    assert!(matches!(
        Prepared::new(&[0, 1, 1, 2], &[0.1, 0.2], &[0.0, 0.0]),
        Err(EmptyData { prompts: 3, skipped: 3 })
    ));
    let data = Prepared::new(&[0, 1, 3], &[5.0, 0.1, 0.2], &[9.0, 0.0, 1.0]).unwrap();
    assert_eq!(
        (data.prompts(), data.skipped_prompts(), data.source_prompt(0)),
        (1, 1, 1)
    );
    assert!(matches!(
        data.subset(&[1]),
        Err(PromptOutOfRange { index: 1, prompts: 1 })
    ));
    assert!(matches!(data.subset(&[]), Err(EmptyData { .. })));
    let obj = Objective::new(&data, MethodKind::Bop, None, Estimator::Plugin).unwrap();
    assert!(matches!(obj.value(-1.0), Err(Math(_))));
    assert!(matches!(obj.value(f64::NAN), Err(Math(_))));
    assert!(matches!(
        sbon_choice_probabilities(&[0.0, f64::NAN], 2, 1.0),
        Err(NonFinite { row: 1, .. })
    ));
    assert!(matches!(sbon_choice_probabilities(&[0.0, 1.0], 0, 1.0), Err(MissingN)));
    assert!(matches!(sbon_choice_probabilities(&[0.0, 1.0], 2, -1.0), Err(Math(_))));
    assert!(matches!(
        hedge_estimate::synth::gaussian(2, 2, 0.7, -1.0, 0),
        Err(InvalidArgument { name: "df", .. })
    ));
}
