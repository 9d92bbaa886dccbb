//! math.md §5: every reference value, to 1e-9 relative or better.

use hedge_math::population::{expected_reward, expected_reward_derivative};
use hedge_math::toy::{toy_bon_exact, toy_reward};
use hedge_math::tune::{TuneOptions, bon_integer, hedge_tune};
use hedge_math::{Bon, Bop, QuantileMethod, Regime, Sbon, Tilt};

fn assert_rel(got: f64, want: f64, tol: f64, what: &str) {
    let rel = ((got - want) / want).abs();
    assert!(
        rel <= tol,
        "{what}: got {got:.16e}, want {want:.16e}, rel err {rel:.2e} > {tol:.0e}"
    );
}

#[test]
fn bon_kl() {
    for (n, kl) in [
        (2.0, 0.1931471805599),
        (8.0, 1.2044415416798),
        (64.0, 3.1745080833597),
        (1e6, 12.815511557964),
    ] {
        assert_rel(Bon::new(n).unwrap().kl(), kl, 1e-12, &format!("BoN KL n={n}"));
    }
    // n near 1: KL ≈ ε²/2
    assert_rel(Bon::new(1.0 + 1e-8).unwrap().kl(), 0.5e-16, 1e-7, "BoN KL near 1");
    assert_eq!(Bon::new(1.0).unwrap().kl(), 0.0);
}

#[test]
fn bop_kl() {
    let cases = [
        (1e-6, 1.66666583333e-13),
        (0.1, 0.00158653416443),
        (1.0, 0.107153583906737),
        (3.0, 0.494574932549104),
        (10.0, 1.40803238889292),
        (50.0, 2.93222579976457),
        (1000.0, 5.90875577931622),
        (1e6, 12.8155115579648),
    ];
    for (mu, kl) in cases {
        assert_rel(Bop::new(mu).unwrap().kl(), kl, 1e-11, &format!("BoP KL mu={mu}"));
    }
}

#[test]
fn tilt_kl() {
    let cases = [
        (1e-6, 4.16666666667e-14),
        (1.0, 0.0406518522564),
        (5.0, 0.650116936415),
        (20.0, 1.99573231683838),
        (200.0, 4.29831736654804),
        (1e4, 8.21034037197618),
    ];
    for (l, kl) in cases {
        assert_rel(Tilt::new(l).unwrap().kl(), kl, 1e-11, &format!("tilt KL lambda={l}"));
    }
}

#[test]
fn bop_mean_quantile() {
    assert_rel(
        Bop::new(1.0).unwrap().mean_quantile(),
        0.632120558828558,
        1e-14,
        "BoP E[u] mu=1",
    );
    assert_rel(
        Bop::new(12.4).unwrap().mean_quantile(),
        0.925858453963393,
        1e-14,
        "BoP E[u] mu=12.4",
    );
}

#[test]
fn toy_bon_curve_and_optimum() {
    for n in [1.0, 2.0, 12.0, 13.0, 12.5, 100.0, 1e4] {
        let f = expected_reward(&Bon::new(n).unwrap(), &toy_reward);
        assert_rel(f, toy_bon_exact(n), 1e-12, &format!("toy BoN f({n})"));
    }
    assert_rel(toy_bon_exact(12.0), 0.6793891754584, 1e-12, "f(12)");
    let f = |n: f64| expected_reward(&Bon::new(n).unwrap(), &toy_reward);
    let df = |n: f64| expected_reward_derivative(&Bon::new(n).unwrap(), &toy_reward);
    let o = hedge_tune(1.0, 1000.0, f, df, &TuneOptions::default()).unwrap();
    assert_eq!(o.regime, Regime::Hacking);
    assert_rel(o.theta, 12.489995996797, 1e-10, "BoN continuous root");
    assert_rel(o.value, 0.6796611487508, 1e-12, "BoN f at continuous root");
    let (n, v) = bon_integer(o.theta, 1.0, 1000.0, 1e-12, f);
    assert_eq!(n, 12, "exact tie f(12) = f(13) reports the smaller n");
    assert_rel(v, 0.6793891754584, 1e-12, "BoN f(12)");
}

#[test]
fn toy_bop_optimum() {
    let f = |m: f64| expected_reward(&Bop::new(m).unwrap(), &toy_reward);
    let df = |m: f64| expected_reward_derivative(&Bop::new(m).unwrap(), &toy_reward);
    let o = hedge_tune(0.0, 1000.0, f, df, &TuneOptions::default()).unwrap();
    assert_eq!(o.regime, Regime::Hacking);
    assert_rel(o.theta, 12.39983582227, 1e-10, "BoP mu†");
    assert_rel(o.value, 0.6669311545806, 1e-12, "BoP f(mu†)");
    assert_rel(Bop::new(o.theta).unwrap().kl(), 1.601799847740, 1e-11, "BoP KL(mu†)");
}

#[test]
fn toy_tilt_optimum() {
    let f = |l: f64| expected_reward(&Tilt::new(l).unwrap(), &toy_reward);
    let df = |l: f64| expected_reward_derivative(&Tilt::new(l).unwrap(), &toy_reward);
    let o = hedge_tune(0.0, 1000.0, f, df, &TuneOptions::default()).unwrap();
    assert_eq!(o.regime, Regime::Hacking);
    assert_rel(o.theta, 13.52939575288, 1e-10, "tilt lambda†");
    assert_rel(o.value, 0.6657978148251, 1e-12, "tilt f(lambda†)");
    assert_rel(
        Tilt::new(o.theta).unwrap().kl(),
        1.604884123598,
        1e-11,
        "tilt KL(lambda†)",
    );
}

#[test]
fn toy_sbon() {
    let m = Sbon::new(4, 5.0).unwrap();
    assert_rel(
        expected_reward(&m, &toy_reward),
        0.396371256375,
        1e-10,
        "SBoN n=4 beta=5",
    );
    for (n, beta, fstar) in [
        (16u64, 26.121, 0.700041),
        (32, 17.665, 0.687294),
        (64, 15.047, 0.675388),
    ] {
        let f = |b: f64| expected_reward(&Sbon::new(n, b).unwrap(), &toy_reward);
        let df = |b: f64| expected_reward_derivative(&Sbon::new(n, b).unwrap(), &toy_reward);
        let o = hedge_tune(0.0, 1000.0, f, df, &TuneOptions::default()).unwrap();
        assert_eq!(o.regime, Regime::Hacking, "n={n}");
        assert!((o.theta - beta).abs() < 2e-3, "SBoN n={n}: beta† {} vs {beta}", o.theta);
        assert!((o.value - fstar).abs() < 1e-6, "SBoN n={n}: f {} vs {fstar}", o.value);
    }
}

/// `KL(BoP_μ ‖ tilt_λ)` by quadrature.
fn kl_bop_tilt(mu: f64, lambda: f64) -> f64 {
    let b = Bop::new(mu).unwrap();
    let t = Tilt::new(lambda).unwrap();
    hedge_math::quad::integrate(&hedge_math::population::breaks_for(&b), |u| {
        let lb = b.log_density(u);
        lb.exp() * (lb - t.log_density(u))
    })
}

#[test]
fn bop_is_within_7e_4_nats_of_the_tilt() {
    // min over λ by golden-section search, max over a μ grid around the worst case.
    let best_lambda = |mu: f64| {
        let (mut a, mut b) = (0.0, 3.0 * mu + 5.0);
        let g = 0.5 * (5f64.sqrt() - 1.0);
        for _ in 0..120 {
            let (c, d) = (b - g * (b - a), a + g * (b - a));
            if kl_bop_tilt(mu, c) < kl_bop_tilt(mu, d) {
                b = d
            } else {
                a = c
            }
        }
        0.5 * (a + b)
    };
    let mut worst = (0.0, 0.0, 0.0);
    for i in 0..=40 {
        let mu = 2.0 + i as f64 * 0.05;
        let l = best_lambda(mu);
        let kl = kl_bop_tilt(mu, l);
        if kl > worst.0 {
            worst = (kl, mu, l);
        }
    }
    let (kl, mu, l) = worst;
    // math.md rounds the maximum to ≈ 6.74e-4; 25-digit quadrature (mpmath) puts it at
    // 6.7507e-4 (μ = 3.35: λ* = 4.459756048185263, KL = 6.750735280727652e-4).
    assert!(
        (kl - 6.7507e-4).abs() < 0.001e-4,
        "max gap {kl:e} at mu={mu}, lambda={l}"
    );
    assert!(((kl_bop_tilt(3.35, 4.459756048185263) - 6.750735280727652e-4) / 6.750735280727652e-4).abs() < 1e-9);
    assert!(
        (mu - 3.3).abs() < 0.2 && (l - 4.4).abs() < 0.2,
        "at mu={mu}, lambda={l}"
    );
    // and never more than that anywhere
    for mu in [0.1, 1.0, 10.0, 100.0, 1000.0] {
        assert!(kl_bop_tilt(mu, best_lambda(mu)) < 6.751e-4);
    }
}
