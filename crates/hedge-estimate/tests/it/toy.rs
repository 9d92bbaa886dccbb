//! Toy recovery (math.md §5): plug-in HedgeTune on simulated toy data recovers
//! n† = √156 ≈ 12.49 (BoN), μ† ≈ 12.40 (BoP) and λ† ≈ 13.53 (tilt).
//!
//! Tolerance, justified in two parts:
//! 1. Finite-m bias, computed exactly: with m responses per prompt the plug-in's
//!    expectation over data uses E[r(u_(k))], u_(k) ~ Beta(k, m + 1 − k), whose moments
//!    are E[u^p] = Π_{i<p} (k + i)/(m + 1 + i). Tuning on those exact rank means gives the
//!    estimator's own target θ†_m; at m = 1,000 it is within 0.8% of θ† (bias O(1/m)).
//! 2. Sampling error: |θ̂ − θ†_m| must be below 4 bootstrap standard errors
//!    (se = half-width of the 95% percentile interval / 1.96, 200 resamples).

use hedge_estimate::{MethodKind, Prepared, TuneSpec, bootstrap, synth, tune};

const M: usize = 1_000;

/// One prompt whose rank-ordered truths are the exact expected toy rewards E[r(u_(k))].
fn expected_rank_means(m: usize) -> Prepared {
    let c = hedge_math::toy::toy_c();
    let mf = m as f64;
    let proxy: Vec<f64> = (1..=m).map(|k| k as f64 / mf).collect();
    let truth: Vec<f64> = (1..=m)
        .map(|k| {
            let kf = k as f64;
            let e12: f64 = (0..12).map(|i| (kf + i as f64) / (mf + 1.0 + i as f64)).product();
            let e13 = e12 * (kf + 12.0) / (mf + 13.0);
            (e12 - e13) / c
        })
        .collect();
    Prepared::new(&[0, m], &proxy, &truth).unwrap()
}

#[test]
fn plugin_tuning_recovers_the_toy_optima() {
    let data = synth::toy(1_000, M, 2025).unwrap().prepare().unwrap();
    let target = expected_rank_means(M);
    for (kind, lo, truth) in [
        (MethodKind::Bon, 1.0, 156f64.sqrt()),
        (MethodKind::Bop, 0.0, 12.39983582227),
        (MethodKind::Tilt, 0.0, 13.52939575288),
    ] {
        let spec = TuneSpec::new(kind).range(lo, 1000.0);
        let t = tune(&target, &spec).unwrap();
        let theta_m = t.theta_continuous.unwrap_or(t.theta);
        let bias = (theta_m - truth) / truth;
        assert!(
            bias > 0.0 && bias < 0.008,
            "{kind}: finite-m target {theta_m} vs {truth}"
        );

        let o = tune(&data, &spec).unwrap();
        assert_eq!(o.regime, hedge_estimate::Regime::Hacking, "{kind}");
        let est = o.theta_continuous.unwrap_or(o.theta);
        let (blo, bhi) = bootstrap(&data, &spec, 200, 11, |_| {}).unwrap();
        let se = (bhi - blo) / (2.0 * 1.96);
        assert!(se > 0.0 && se < 0.2, "{kind}: se {se}");
        assert!(
            (est - theta_m).abs() < 4.0 * se,
            "{kind}: estimate {est}, finite-m target {theta_m}, se {se}"
        );
        assert!(
            (est - truth).abs() < 4.0 * se + 0.008 * truth,
            "{kind}: estimate {est}, population {truth}"
        );
        if kind == MethodKind::Bon {
            assert!(o.theta == 12.0 || o.theta == 13.0, "integer n = {}", o.theta);
        }
    }
}
