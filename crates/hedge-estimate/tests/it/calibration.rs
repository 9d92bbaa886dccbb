//! Calibration of the verdict, by simulation against known population values.
//!
//! - False alarms: on monotone populations (true ~ N(0,1), proxy = true + 0.7·N(0,1)), the
//!   population curve rises for every method (BoN, BoP and the tilt: the rank means `ρ_k` rise
//!   in `k` and the weights shift to higher ranks; SBoN: `d f/dβ` is a covariance of two
//!   comonotone functions of the proxy), so any `hacking` or `proxy_hurts` is a false alarm. At
//!   level 0.95 the test allows at most 4 of 40 seeds (a test calibrated at 5 % exceeds that
//!   with probability < 5 %).
//! - Coverage: on the paper's toy population the plug-in's population curve is known exactly,
//!   `f_m(θ) = Σ_k [F_θ(k/m) − F_θ((k−1)/m)] ρ_k` with `ρ_k = E[r(U_(k))]`, `U_(k) ~ Beta(k, m−k+1)`
//!   (a ratio of rising factorials for `r(u) = u^12 (1−u)/C`); the interval of `loss_at_default`
//!   must cover `max_θ f_m(θ) − f_m(θ_hi)` for at least 93 % of 200 seeds.
//! - Power: on hackable populations (Student-t proxy noise; the toy) the detection rate is
//!   pinned from below where it is high, so a change that loses power shows.
//!
//! Rates measured over more seeds are in `docs/verdict.md`
//! (`cargo run --release -p hedge-estimate --example calibration`).

use hedge_estimate::synth::toy_rank_means;
use hedge_estimate::{MethodKind, TuneOutcome, TuneSpec, Verdict, synth, tune};
use hedge_math::toy;

fn population(kind: MethodKind, theta: f64, rho: &[f64]) -> f64 {
    synth::plugin_population(kind, theta, rho).unwrap()
}

/// `max_θ f_m(θ) − f_m(θ_hi)` on the method's default range for `m` responses.
fn population_loss(kind: MethodKind, m: usize) -> f64 {
    let rho = toy_rank_means(m);
    let hi = match kind {
        MethodKind::Bon => m as f64,
        MethodKind::Bop => m as f64 - 1.0,
        _ => unreachable!(),
    };
    let peak = if kind == MethodKind::Bon {
        (1..=m)
            .map(|n| population(kind, n as f64, &rho))
            .fold(f64::NEG_INFINITY, f64::max)
    } else {
        (0..=20_000)
            .map(|i| population(kind, hi * i as f64 / 20_000.0, &rho))
            .fold(f64::NEG_INFINITY, f64::max)
    };
    peak - population(kind, hi, &rho)
}

fn spec(kind: MethodKind, seed: u64) -> TuneSpec {
    let s = TuneSpec::new(kind).seed(seed);
    if kind == MethodKind::Sbon { s.n(16) } else { s }
}

fn alarms(outcomes: &[TuneOutcome]) -> usize {
    outcomes
        .iter()
        .filter(|o| matches!(o.verdict, Some(Verdict::Hacking | Verdict::ProxyHurts)))
        .count()
}

fn monotone(kind: MethodKind, prompts: usize, responses: usize, seeds: u64) -> Vec<TuneOutcome> {
    (1..=seeds)
        .map(|seed| {
            let d = synth::gaussian_monotone(prompts, responses, 0.7, seed)
                .unwrap()
                .prepare()
                .unwrap();
            tune(&d, &spec(kind, seed)).unwrap()
        })
        .collect()
}

#[test]
fn rank_means_integrate_the_toy_reward() {
    // Σ_k ρ_k / m = E[r(U)] = ∫ r = 1/(13·14·C) / ... checked against a direct quadrature.
    let rho = toy_rank_means(25);
    let mean: f64 = rho.iter().sum::<f64>() / 25.0;
    let direct: f64 = (0..200_000)
        .map(|i| toy::toy_reward((i as f64 + 0.5) / 200_000.0))
        .sum::<f64>()
        / 200_000.0;
    assert!((mean - direct).abs() < 1e-9, "{mean} vs {direct}");
    assert!(rho.windows(2).take(20).all(|w| w[0] < w[1]));
    // BoN's population curve from the rank means at n = 1 is the mean.
    assert!((population(MethodKind::Bon, 1.0, &rho) - mean).abs() < 1e-15);
}

#[test]
fn monotone_populations_raise_few_false_alarms_100x25() {
    for kind in MethodKind::ALL {
        let o = monotone(kind, 100, 25, 40);
        let a = alarms(&o);
        assert!(
            a <= 4,
            "{kind}: {a} of 40 seeds say hacking or proxy_hurts on a monotone population"
        );
        // The population loss is 0: the interval of the loss must contain it.
        let missed = o
            .iter()
            .filter(|o| o.evidence.unwrap().loss_at_default.interval[0] > 0.0)
            .count();
        assert!(
            missed <= 4,
            "{kind}: the loss interval excludes 0 for {missed} of 40 seeds"
        );
    }
}

#[test]
fn monotone_populations_raise_few_false_alarms_2000x64() {
    for kind in [MethodKind::Bon, MethodKind::Bop, MethodKind::Tilt] {
        let a = alarms(&monotone(kind, 2000, 64, 40));
        assert!(
            a <= 4,
            "{kind}: {a} of 40 seeds say hacking or proxy_hurts on a monotone population"
        );
    }
    // SBoN integrates every prompt at every β: fewer seeds (measured over more in docs/verdict.md).
    let a = alarms(&monotone(MethodKind::Sbon, 2000, 64, 8));
    assert!(
        a <= 1,
        "sbon: {a} of 8 seeds say hacking or proxy_hurts on a monotone population"
    );
}

#[test]
fn loss_interval_covers_the_population_loss() {
    for kind in [MethodKind::Bon, MethodKind::Bop] {
        let truth = population_loss(kind, 25);
        assert!(truth > 0.0, "{kind}: the toy population is hacked at m = 25 ({truth})");
        let seeds = 200;
        let covered = (1..=seeds)
            .filter(|&seed| {
                let d = synth::toy(100, 25, seed).unwrap().prepare().unwrap();
                let [lo, hi] = tune(&d, &spec(kind, seed))
                    .unwrap()
                    .evidence
                    .unwrap()
                    .loss_at_default
                    .interval;
                lo <= truth && truth <= hi
            })
            .count();
        let rate = covered as f64 / seeds as f64;
        assert!(
            rate >= 0.93,
            "{kind}: the loss interval covers the population loss {truth} in {rate} of {seeds} seeds"
        );
    }
}

#[test]
fn hacking_is_detected_where_it_is_large() {
    // Student-t proxy noise (df 2.5), 2,000 prompts x 64 responses: the peak is well inside the range.
    for kind in [MethodKind::Bon, MethodKind::Bop, MethodKind::Tilt] {
        let found = (1..=10)
            .filter(|&seed| {
                let d = synth::gaussian(2000, 64, 0.7, 2.5, seed).unwrap().prepare().unwrap();
                tune(&d, &spec(kind, seed)).unwrap().verdict == Some(Verdict::Hacking)
            })
            .count();
        assert!(found >= 9, "{kind}: hacking found in {found} of 10 seeds");
    }
    // The toy at 100 x 25 (population peak n ≈ 17 of 25 for BoN).
    let found = (1..=40)
        .filter(|&seed| {
            let d = synth::toy(100, 25, seed).unwrap().prepare().unwrap();
            tune(&d, &spec(MethodKind::Bon, seed)).unwrap().verdict == Some(Verdict::Hacking)
        })
        .count();
    assert!(found >= 30, "bon on the toy: hacking found in {found} of 40 seeds");
}
