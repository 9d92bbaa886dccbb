//! Inference-time selection against the exact distributions, with fixed seeds:
//! chi-square for discrete choices, Kolmogorov–Smirnov for the chosen quantile.

use hedge_math::select::{Selector, argmax, draw_poisson_n, softmax};
use hedge_math::{Bon, Bop, MethodKind, QuantileMethod, Sbon};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Pearson chi-square statistic.
fn chi2(counts: &[u64], probs: &[f64]) -> f64 {
    let n: u64 = counts.iter().sum();
    counts
        .iter()
        .zip(probs)
        .map(|(&c, &p)| (c as f64 - n as f64 * p).powi(2) / (n as f64 * p))
        .sum()
}

/// Upper 0.1% points of chi-square with 1..=8 degrees of freedom.
const CHI2_999: [f64; 8] = [10.83, 13.82, 16.27, 18.47, 20.52, 22.46, 24.32, 26.12];

/// KS distance between a sample and a CDF.
fn ks(mut xs: Vec<f64>, cdf: impl Fn(f64) -> f64) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len() as f64;
    xs.iter()
        .enumerate()
        .map(|(i, &x)| {
            let c = cdf(x);
            (c - i as f64 / n).abs().max(((i + 1) as f64 / n - c).abs())
        })
        .fold(0.0, f64::max)
}

/// KS critical value at the 0.1% level.
fn ks_crit(n: usize) -> f64 {
    1.95 / (n as f64).sqrt()
}

#[test]
fn argmax_breaks_ties_uniformly() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let scores = [1.0, 3.0, 3.0, 2.0, 3.0];
    let mut counts = [0u64; 3];
    for _ in 0..30_000 {
        match argmax(&scores, &mut rng).unwrap() {
            1 => counts[0] += 1,
            2 => counts[1] += 1,
            4 => counts[2] += 1,
            i => panic!("chose non-maximal index {i}"),
        }
    }
    assert!(chi2(&counts, &[1.0 / 3.0; 3]) < CHI2_999[1], "{counts:?}");
}

#[test]
fn softmax_matches_probabilities_and_never_overflows() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let scores: [f64; 4] = [0.0, 1.0, 2.0, 0.5];
    let beta: f64 = 1.3;
    let z: f64 = scores.iter().map(|s| (beta * s).exp()).sum();
    let probs: Vec<f64> = scores.iter().map(|s| (beta * s).exp() / z).collect();
    let mut counts = [0u64; 4];
    for _ in 0..40_000 {
        counts[softmax(&scores, beta, &mut rng).unwrap()] += 1;
    }
    assert!(chi2(&counts, &probs) < CHI2_999[2], "{counts:?}");
    // Scores and β whose raw exponentials overflow still give a valid choice.
    let big = [1e6, 1e6 + 1.0, -1e6];
    let i = softmax(&big, 1e4, &mut rng).unwrap();
    assert_eq!(i, 1);
    assert_eq!(softmax(&[5.0], 0.0, &mut rng).unwrap(), 0);
}

#[test]
fn bad_scores_are_errors() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    assert!(argmax(&[], &mut rng).is_err());
    assert!(argmax(&[1.0, f64::NAN], &mut rng).is_err());
    assert!(softmax(&[1.0, f64::INFINITY], 1.0, &mut rng).is_err());
    assert!(softmax(&[1.0], -1.0, &mut rng).is_err());
    assert!(Selector::new(MethodKind::Tilt, 1.0, None).is_err());
    assert!(Selector::new(MethodKind::Bon, 2.5, None).is_err());
    assert!(Selector::new(MethodKind::Sbon, 2.5, None).is_err());
}

#[test]
fn bop_draws_one_plus_poisson() {
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let mu: f64 = 2.5;
    // Bins n-1 = 0..=6 and >= 7.
    let mut pmf = Vec::new();
    let mut p = (-mu).exp();
    for k in 0..7 {
        pmf.push(p);
        p *= mu / (k + 1) as f64;
    }
    pmf.push(1.0 - pmf.iter().sum::<f64>());
    let mut counts = [0u64; 8];
    for _ in 0..40_000 {
        let n = draw_poisson_n(mu, &mut rng).unwrap();
        assert!(n >= 1);
        counts[((n - 1) as usize).min(7)] += 1;
    }
    assert!(chi2(&counts, &pmf) < CHI2_999[6], "{counts:?}");
    assert_eq!(draw_poisson_n(0.0, &mut rng).unwrap(), 1);
}

/// Simulate a selector on uniform proxy quantiles and return the chosen quantiles.
fn chosen_quantiles(sel: Selector, draws: usize, seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..draws)
        .map(|_| {
            let n = sel.draw_n(&mut rng).unwrap() as usize;
            let us: Vec<f64> = (0..n).map(|_| rng.random::<f64>()).collect();
            us[sel.choose(&us, &mut rng).unwrap()]
        })
        .collect()
}

#[test]
fn chosen_quantile_matches_exact_cdf() {
    let n = 20_000;
    let bon = Bon::new(5.0).unwrap();
    let d = ks(chosen_quantiles(Selector::Bon { n: 5 }, n, 5), |u| bon.cdf(u));
    assert!(d < ks_crit(n), "BoN KS {d}");

    let bop = Bop::new(3.0).unwrap();
    let d = ks(chosen_quantiles(Selector::Bop { mu: 3.0 }, n, 6), |u| bop.cdf(u));
    assert!(d < ks_crit(n), "BoP KS {d}");

    let sbon = Sbon::new(4, 5.0).unwrap();
    let d = ks(chosen_quantiles(Selector::Sbon { n: 4, beta: 5.0 }, n, 7), |u| {
        sbon.cdf(u)
    });
    assert!(d < ks_crit(n), "SBoN KS {d}");

    // The test has power: BoN(5) samples are far from BoN(4)'s CDF.
    let other = Bon::new(4.0).unwrap();
    let d = ks(chosen_quantiles(Selector::Bon { n: 5 }, n, 5), |u| other.cdf(u));
    assert!(d > 5.0 * ks_crit(n), "KS has no power: {d}");
}
