//! Property tests over the whole parameter domain: densities integrate to 1, the CDF
//! is consistent with the density, KL ≥ 0 and increasing, scores average to zero,
//! `∂θ F` matches finite differences, and nothing is NaN.

use hedge_math::population::breaks_for;
use hedge_math::quad::integrate;
use hedge_math::{Bon, Bop, QuantileMethod, Sbon, Tilt};
use proptest::prelude::*;

fn log_uniform(lo: f64, hi: f64) -> impl Strategy<Value = f64> {
    (0.0..1.0f64).prop_map(move |t| (lo.ln() + t * (hi.ln() - lo.ln())).exp())
}

fn check_common(m: &dyn QuantileMethod, mass_tol: f64) {
    let b = breaks_for(m);
    let mass = integrate(&b, |u| m.density(u));
    assert!(
        (mass - 1.0).abs() < mass_tol,
        "{:?} theta={} mass-1 = {:e}",
        m.kind(),
        m.theta(),
        mass - 1.0
    );
    let kl = m.kl();
    assert!(kl.is_finite() && kl >= 0.0, "KL = {kl}");
    let mean = m.mean_quantile();
    assert!((0.5 - 1e-12..=1.0).contains(&mean), "mean quantile {mean}");
    assert!(m.expected_samples() >= 1.0 - 1e-12);
    assert!((m.cdf(1.0) - 1.0).abs() < 1e-12 && m.cdf(0.0) == 0.0);
    let mut prev = 0.0;
    for i in 0..=64 {
        let u = i as f64 / 64.0;
        let c = m.cdf(u);
        for v in [c, m.density(u), m.log_density(u), m.score(u), m.cdf_derivative(u)] {
            assert!(!v.is_nan(), "{:?} theta={} NaN at u={u}", m.kind(), m.theta());
        }
        assert!(c >= prev - 1e-15, "CDF decreasing at u={u}");
        prev = c;
    }
}

/// `E[ψ] = 0` (the derivative of `∫ p = 1`), and `∂θF` against central differences.
fn check_derivatives(m: &dyn QuantileMethod, make: &dyn Fn(f64) -> Box<dyn QuantileMethod>, tol: f64) {
    let b = breaks_for(m);
    let scale = integrate(&b, |u| m.density(u) * m.score(u).abs());
    let mean_score = integrate(&b, |u| {
        let (p, s) = m.density_and_score(u);
        if p == 0.0 { 0.0 } else { p * s }
    });
    // Relative to E|ψ|, with an absolute floor at the level of the density's normalisation error.
    assert!(
        mean_score.abs() <= tol * scale + 1e-11,
        "E[psi] = {mean_score:e} (scale {scale:e})"
    );
    let t = m.theta();
    let h = 1e-5 * t.max(1e-2);
    let (lo, hi) = (make(t - h), make(t + h));
    for u in [0.1, 0.5, 0.9, 0.99] {
        let fd = (hi.cdf(u) - lo.cdf(u)) / (2.0 * h);
        let an = m.cdf_derivative(u);
        assert!(
            (fd - an).abs() <= 1e-5 * an.abs().max(1e-8),
            "dF/dtheta at u={u}: analytic {an:e}, numeric {fd:e}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    #[test]
    fn bon_domain(n in log_uniform(1.0, 1e9)) {
        let m = Bon::new(n).unwrap();
        // Nodes next to u = 1 are rounded to 1e-16, which costs n·1e-16 relatively.
        check_common(&m, 1e-12f64.max(4e-16 * n));
    }

    #[test]
    fn bon_kl_increasing(a in log_uniform(1.0, 1e9), r in 1.0..1.5f64) {
        prop_assert!(Bon::new(a * r).unwrap().kl() >= Bon::new(a).unwrap().kl());
    }

    #[test]
    fn bon_derivatives(n in log_uniform(1.01, 1e4)) {
        check_derivatives(&Bon::new(n).unwrap(), &|t| Box::new(Bon::new(t).unwrap()), 1e-10);
    }

    #[test]
    fn bop_domain(mu in prop_oneof![Just(0.0), log_uniform(1e-9, 1e6)]) {
        let m = Bop::new(mu).unwrap();
        check_common(&m, 1e-12f64.max(4e-16 * mu));
        // Closed-form KL against quadrature of p ln p (where quadrature is accurate).
        if mu > 1e-3 {
            let q = integrate(&breaks_for(&m), |u| { let l = m.log_density(u); l.exp() * l });
            prop_assert!((q - m.kl()).abs() <= 1e-11 * m.kl().max(1e-300) + 1e-15, "mu={} {} vs {}", mu, q, m.kl());
        }
    }

    #[test]
    fn bop_kl_increasing(a in log_uniform(1e-9, 1e6), r in 1.0..1.5f64) {
        prop_assert!(Bop::new(a * r).unwrap().kl() >= Bop::new(a).unwrap().kl());
    }

    #[test]
    fn bop_derivatives(mu in log_uniform(1e-3, 1e4)) {
        check_derivatives(&Bop::new(mu).unwrap(), &|t| Box::new(Bop::new(t).unwrap()), 1e-10);
    }

    #[test]
    fn tilt_domain(l in prop_oneof![Just(0.0), log_uniform(1e-9, 1e6)]) {
        let m = Tilt::new(l).unwrap();
        check_common(&m, 1e-12f64.max(4e-16 * l));
        if l > 1e-3 {
            let q = integrate(&breaks_for(&m), |u| { let x = m.log_density(u); x.exp() * x });
            prop_assert!((q - m.kl()).abs() <= 1e-11 * m.kl().max(1e-300) + 1e-15, "lambda={} {} vs {}", l, q, m.kl());
        }
    }

    #[test]
    fn tilt_kl_increasing(a in log_uniform(1e-9, 1e6), r in 1.0..1.5f64) {
        prop_assert!(Tilt::new(a * r).unwrap().kl() >= Tilt::new(a).unwrap().kl());
    }

    #[test]
    fn tilt_derivatives(l in log_uniform(1e-3, 1e4)) {
        check_derivatives(&Tilt::new(l).unwrap(), &|t| Box::new(Tilt::new(t).unwrap()), 1e-10);
    }

    #[test]
    fn invalid_parameters_are_typed_errors(x in prop_oneof![Just(f64::NAN), Just(f64::INFINITY), Just(-1.0), -1e9..-1e-12f64]) {
        prop_assert!(Bon::new(x).is_err());
        prop_assert!(Bop::new(x).is_err());
        prop_assert!(Tilt::new(x).is_err());
        prop_assert!(Sbon::new(4, x).is_err());
    }
}

proptest! {
    // SBoN builds an inner grid whose size grows with β: fewer cases.
    #![proptest_config(ProptestConfig { cases: 12, .. ProptestConfig::default() })]

    #[test]
    fn sbon_domain(n in prop_oneof![Just(1u64), 2u64..2000], beta in prop_oneof![Just(0.0), log_uniform(1e-6, 2e3)]) {
        let m = Sbon::new(n, beta).unwrap();
        check_common(&m, 1e-11);
        // Never beyond BoN(n)'s KL.
        prop_assert!(m.kl() <= Bon::new(n as f64).unwrap().kl() + 1e-9);
    }

    #[test]
    fn sbon_kl_increasing(n in 2u64..200, beta in log_uniform(1e-3, 500.0)) {
        let (a, b) = (Sbon::new(n, beta).unwrap().kl(), Sbon::new(n, beta * 1.3).unwrap().kl());
        prop_assert!(b >= a - 1e-12, "n={} beta={}: {} then {}", n, beta, a, b);
    }

    #[test]
    fn sbon_derivatives(n in 2u64..100, beta in log_uniform(1e-2, 300.0)) {
        check_derivatives(&Sbon::new(n, beta).unwrap(), &|t| Box::new(Sbon::new(n, t).unwrap()), 1e-8);
    }
}

#[test]
fn sbon_extremes() {
    for (n, beta) in [(16u64, 1e4), (1000, 1e4), (2, 1e-12), (1_000_000, 50.0)] {
        let m = Sbon::new(n, beta).unwrap();
        check_common(&m, 1e-11);
    }
    // β → ∞ is BoN(n); β → 0 the reference.
    let kl = Sbon::new(16, 1e4).unwrap().kl();
    assert!((kl - Bon::new(16.0).unwrap().kl()).abs() < 1e-3, "{kl}");
    assert!(Sbon::new(16, 1e-6).unwrap().kl() < 1e-12);
}

/// Parameters down to the smallest subnormal: every value finite (a tilt of λ = 4.6e-308 once made
/// `∂λ F` divide 0 by 0 — `λ (e^λ − 1)` underflows), and the small-parameter series agree with the
/// closed forms where both apply.
#[test]
fn tiny_parameters_stay_finite_and_continuous() {
    let tiny = [
        5e-324,
        1e-310,
        4.609781574748549e-308,
        1e-200,
        1e-154,
        1e-150,
        1e-100,
        1e-20,
        1e-9,
    ];
    for &t in &tiny {
        let methods: Vec<Box<dyn QuantileMethod>> = vec![
            Box::new(Tilt::new(t).unwrap()),
            Box::new(Bop::new(t).unwrap()),
            Box::new(Sbon::new(8, t).unwrap()),
        ];
        for m in &methods {
            for i in 0..=64 {
                let u = i as f64 / 64.0;
                for v in [
                    m.cdf(u),
                    m.density(u),
                    m.log_density(u),
                    m.score(u),
                    m.cdf_derivative(u),
                ] {
                    assert!(v.is_finite(), "{:?} theta={t:e} u={u}: {v}", m.kind());
                }
                // At such θ the method is the reference to first order.
                assert!((m.cdf(u) - u).abs() <= 100.0 * t + 1e-15, "{:?} θ={t:e}", m.kind());
            }
        }
    }
    // The tilt's series branches meet the closed forms to 1e-12 (absolute; ∂λF is O(0.1)).
    for (below, above) in [(1e-150 * (1.0 - 1e-12), 1e-150), (1e-8 * (1.0 - 1e-12), 1e-8)] {
        let (a, b) = (Tilt::new(below).unwrap(), Tilt::new(above).unwrap());
        for i in 0..=16 {
            let u = i as f64 / 16.0;
            assert!((a.cdf(u) - b.cdf(u)).abs() < 1e-14, "cdf at u={u}");
            assert!(
                (a.cdf_derivative(u) - b.cdf_derivative(u)).abs() < 1e-12,
                "∂F at u={u}, λ={above:e}"
            );
        }
    }
}
