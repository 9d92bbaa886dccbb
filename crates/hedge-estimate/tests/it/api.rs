//! Behaviour of the public API: tune, curve, holdout, bootstrap, synth.

use crate::common;

use std::sync::atomic::{AtomicUsize, Ordering};

use hedge_estimate::{
    EstimateError, Estimator, MethodKind, Objective, Regime, TuneSpec, bootstrap, curve, holdout, synth, tune,
};

#[test]
fn bon_reports_integer_and_continuous_n() {
    let data = synth::gaussian(300, 200, 0.7, 2.5, 3).unwrap().prepare().unwrap();
    let o = tune(&data, &TuneSpec::new(MethodKind::Bon)).unwrap();
    let c = o.theta_continuous.unwrap();
    assert_eq!(o.parameter, "n");
    assert!(o.theta == c.floor() || o.theta == c.ceil(), "{} vs {c}", o.theta);
    assert_eq!(o.range, (1.0, 200.0));
    assert_eq!(o.expected_samples, o.theta);
    let obj = Objective::new(&data, MethodKind::Bon, None, Estimator::Plugin).unwrap();
    let (f_floor, f_ceil) = (obj.value(c.floor()).unwrap(), obj.value(c.ceil()).unwrap());
    assert_eq!(o.expected_true_reward, f_floor.max(f_ceil));
    assert!(
        (o.kl
            - hedge_math::Bon::new(o.theta)
                .map(|b| hedge_math::QuantileMethod::kl(&b))
                .unwrap())
        .abs()
            < 1e-15
    );
    assert!(o.stderr > 0.0 && o.stderr < 0.1);
    assert_eq!(o.prompts, 300);
}

#[test]
fn monotone_data_is_increasing_and_takes_the_top() {
    let data = synth::gaussian_monotone(300, 50, 0.5, 4).unwrap().prepare().unwrap();
    for kind in [MethodKind::Bon, MethodKind::Bop, MethodKind::Tilt] {
        let o = tune(&data, &TuneSpec::new(kind)).unwrap();
        assert_eq!(o.regime, Regime::Increasing, "{kind}");
        assert_eq!(o.theta, o.range.1, "{kind}");
    }
}

#[test]
fn unbiased_tuning_searches_integers() {
    let data = synth::gaussian(400, 60, 0.7, 2.5, 8).unwrap().prepare().unwrap();
    let spec = TuneSpec::new(MethodKind::Bon).estimator(Estimator::Unbiased);
    let o = tune(&data, &spec).unwrap();
    assert_eq!(o.range, (1.0, 60.0));
    assert_eq!(o.theta.fract(), 0.0);
    assert_eq!(o.theta_continuous, None);
    let obj = Objective::new(&data, MethodKind::Bon, None, Estimator::Unbiased).unwrap();
    for n in 1..=60 {
        assert!(obj.value(n as f64).unwrap() <= o.expected_true_reward + 1e-15);
    }
    assert!(matches!(
        tune(&data, &spec.clone().range(1.0, 61.0)),
        Err(EstimateError::NTooLarge { n: 61, m: 60 })
    ));
    // the unbiased and plug-in estimates of BoN agree up to O(n/m) and noise
    let plug = Objective::new(&data, MethodKind::Bon, None, Estimator::Plugin).unwrap();
    assert!((plug.value(8.0).unwrap() - obj.value(8.0).unwrap()).abs() < 0.05);
}

#[test]
fn sbon_tunes_beta_per_n_and_keeps_the_best() {
    let data = synth::gaussian(100, 32, 0.7, 2.5, 9).unwrap().prepare().unwrap();
    let o = tune(&data, &TuneSpec::new(MethodKind::Sbon).range(0.0, 100.0)).unwrap();
    assert_eq!(o.parameter, "beta");
    let ns: Vec<u64> = o.sbon.iter().map(|r| r.n).collect();
    assert_eq!(ns, vec![2, 4, 8, 16, 32]);
    let best = o
        .sbon
        .iter()
        .map(|r| r.expected_true_reward)
        .fold(f64::NEG_INFINITY, f64::max);
    assert_eq!(o.expected_true_reward, best);
    assert_eq!(o.expected_samples, o.n.unwrap() as f64);
    for r in &o.sbon {
        assert!(r.beta >= 0.0 && r.beta <= 100.0);
        let f = Objective::new(&data, MethodKind::Sbon, Some(r.n), Estimator::Plugin).unwrap();
        for beta in [0.0, r.beta * 0.5, r.beta * 2.0, 100.0] {
            if beta <= 100.0 {
                assert!(f.value(beta).unwrap() <= r.expected_true_reward + 1e-12);
            }
        }
    }
    // SBoN is BoN (ties included) once β times every gap between distinct scores is large
    let small = common::prepared(&common::small_with_ties());
    let f = Objective::new(&small, MethodKind::Sbon, Some(8), Estimator::Plugin)
        .unwrap()
        .value(1e4)
        .unwrap();
    let g = Objective::new(&small, MethodKind::Bon, None, Estimator::Plugin)
        .unwrap()
        .value(8.0)
        .unwrap();
    assert!((f - g).abs() < 1e-12, "{f} vs {g}");
}

#[test]
fn curve_reports_each_point() {
    let data = common::prepared(&common::small_with_ties());
    let thetas = [0.0, 1.0, 10.0];
    let c = curve(&data, MethodKind::Bop, &thetas, None, Estimator::Plugin).unwrap();
    for (p, &t) in c.iter().zip(&thetas) {
        assert_eq!(p.theta, t);
        assert_eq!(p.expected_samples, 1.0 + t);
        let e = Objective::new(&data, MethodKind::Bop, None, Estimator::Plugin)
            .unwrap()
            .estimate(t)
            .unwrap();
        assert_eq!((p.expected_true_reward, p.stderr), (e.value, e.stderr));
    }
    assert_eq!(c[0].kl, 0.0);
    // μ = 0 is the reference: the plain mean
    let mean: f64 = (0..data.prompts())
        .map(|t| data.ranked_truth(t).iter().sum::<f64>() / data.responses(t) as f64)
        .sum::<f64>()
        / 4.0;
    assert!((c[0].expected_true_reward - mean).abs() < 1e-15);
    assert!(curve(&data, MethodKind::Sbon, &[1.0], None, Estimator::Plugin).is_err());
    assert!(curve(&data, MethodKind::Bon, &[1.5], None, Estimator::Unbiased).is_err());
}

#[test]
fn holdout_compares_tuned_oracle_and_default() {
    let data = synth::gaussian(600, 200, 0.7, 2.5, 12).unwrap().prepare().unwrap();
    let spec = TuneSpec::new(MethodKind::Bop);
    let h = holdout(&data, &spec, 0.25, 1).unwrap();
    assert_eq!((h.prompts, h.calibration_prompts), (150, 450));
    assert_eq!(h.default_theta, 199.0);
    assert!(h.oracle_reward >= h.tuned_reward);
    assert!(
        h.tuned_reward > h.default_reward,
        "hedging beats always using the most samples: {h:?}"
    );
    assert_eq!(h, holdout(&data, &spec, 0.25, 1).unwrap());
    assert_ne!(h.tuned_theta, holdout(&data, &spec, 0.25, 2).unwrap().tuned_theta);
    let hs = holdout(
        &data.subset(&(0..40).collect::<Vec<_>>()).unwrap(),
        &TuneSpec::new(MethodKind::Sbon).n_grid([4, 16]).range(0.0, 50.0),
        0.5,
        3,
    )
    .unwrap();
    assert!(hs.tuned_n.is_some() && hs.oracle_n.is_some());
    assert_eq!((hs.default_n, hs.default_theta), (Some(16), 50.0));
    assert!(matches!(
        holdout(&data, &spec, 1.0, 0),
        Err(EstimateError::OutOfDomain { name: "holdout", .. })
    ));
}

#[test]
fn bootstrap_is_deterministic_and_reports_progress() {
    let data = synth::gaussian(500, 100, 0.7, 2.5, 13).unwrap().prepare().unwrap();
    let spec = TuneSpec::new(MethodKind::Bop);
    let calls = AtomicUsize::new(0);
    let max = AtomicUsize::new(0);
    let (lo, hi) = bootstrap(&data, &spec, 100, 42, |k| {
        calls.fetch_add(1, Ordering::Relaxed);
        max.fetch_max(k, Ordering::Relaxed);
    })
    .unwrap();
    assert_eq!((calls.into_inner(), max.into_inner()), (100, 100));
    let theta = tune(&data, &spec).unwrap().theta;
    assert!(lo < theta && theta < hi, "{lo} {theta} {hi}");
    assert_eq!((lo, hi), bootstrap(&data, &spec, 100, 42, |_| {}).unwrap());
    assert_ne!((lo, hi), bootstrap(&data, &spec, 100, 43, |_| {}).unwrap());
    assert!(bootstrap(&data, &spec, 0, 1, |_| {}).is_err());
    // SBoN at one n, and the unbiased estimator, also resample
    let small = data.subset(&(0..50).collect::<Vec<_>>()).unwrap();
    let (a, b) = bootstrap(
        &small,
        &TuneSpec::new(MethodKind::Sbon).n(8).range(0.0, 100.0),
        20,
        1,
        |_| {},
    )
    .unwrap();
    assert!(a <= b);
    let (a, b) = bootstrap(
        &data,
        &TuneSpec::new(MethodKind::Bon).estimator(Estimator::Unbiased),
        50,
        1,
        |_| {},
    )
    .unwrap();
    assert!(a <= b && a >= 1.0 && b <= 100.0);
}

#[test]
fn synthetic_data_is_seeded_and_shaped() {
    let a = synth::gaussian(5, 7, 0.7, 2.5, 1).unwrap();
    assert_eq!(a, synth::gaussian(5, 7, 0.7, 2.5, 1).unwrap());
    assert_ne!(a, synth::gaussian(5, 7, 0.7, 2.5, 2).unwrap());
    assert_eq!(a.offsets, vec![0, 7, 14, 21, 28, 35]);
    // prompt t does not depend on how many prompts are generated
    let b = synth::gaussian(3, 7, 0.7, 2.5, 1).unwrap();
    assert_eq!(&a.proxy[..21], &b.proxy[..]);
    let t = synth::toy(3, 1000, 4).unwrap();
    assert!(t.proxy.iter().all(|&u| (0.0..1.0).contains(&u)));
    let mean_noise: f64 = t
        .proxy
        .iter()
        .zip(&t.truth)
        .map(|(&u, &r)| r - hedge_math::toy::toy_reward(u))
        .sum::<f64>()
        / 3000.0;
    assert!(mean_noise.abs() < 0.02);
    let e = synth::toy_with(2, 10, synth::ToyTruth::Exact, 4).unwrap();
    assert!(
        e.proxy
            .iter()
            .zip(&e.truth)
            .all(|(&u, &r)| r == hedge_math::toy::toy_reward(u))
    );
    assert_eq!(synth::gaussian(0, 5, 0.7, 2.5, 1).unwrap().prompts(), 0);
    assert!(synth::gaussian(0, 5, 0.7, 2.5, 1).unwrap().prepare().is_err());
}
