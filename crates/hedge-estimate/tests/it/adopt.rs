//! `hedge_estimate::adoption`, the rule by which `hedge serve` replaces the θ in force with a
//! re-tuned θ†: only when θ†'s own paired gain is positive and its own z clears the
//! selection-corrected max-t critical value, every number finite.
//!
//! - Calibration by simulation: on a stationary population whose θ in force is already the
//!   optimum of what the estimator estimates, the share of windows that adopt must be at most
//!   5 % (plus two Monte-Carlo standard errors). The population: proxy `u ~ U(0, 1)`, true reward
//!   `r(u) + 0.1·N(0, 1)` with `r(u) = u^6 (1 − u)/C` (maximum 1); its rank means with `m`
//!   responses are exact (`U_(k) ~ Beta(k, m − k + 1)`), hence the plug-in's population curve
//!   `f_m(θ)` and its optimum (BoN: n* = 8 of 16; BoP: μ* ≈ 8.5 of [0, 15]).
//!   `HEDGE_ADOPT_WINDOWS=N` runs N windows instead of 200, `HEDGE_ADOPT_PROMPTS=T` windows of T
//!   prompts instead of 200 (the rates in docs/verdict.md).
//! - Poison: one prompt whose every label is 1e6 (the default `--max-abs-reward`), or ±1e6
//!   alternating along the proxy's ranking (pushing θ† to the smallest θ), does not move θ.
//! - The old bug: a window where some θ beats the θ in force (`versus(..).significant`) but θ†'s
//!   own z does not clear the bar; the old rule adopted θ† there, `adoption` does not.
//! - Property: no adoption with a non-positive gain, `z ≤ critical` or a non-finite number, on
//!   random windows with heavy tails, ties, huge and extreme finite values.

use hedge_estimate::{
    Adoption, AdoptionReason, MethodKind, Paired, Prepared, TuneSpec, adoption, synth::plugin_population, tune, versus,
};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

/// Exponent of the population's reward curve `r(u) = u^A (1 − u)/C`.
const A: i32 = 6;
/// Standard deviation of the label noise.
const SIGMA: f64 = 0.1;
/// Responses per prompt of the simulated windows.
const M: usize = 16;
/// Prompts per simulated window (serve's default window is 2,000 prompts; scaled down).
const PROMPTS: usize = 200;

fn c() -> f64 {
    let a = A as f64;
    (a / (a + 1.0)).powi(A) / (a + 1.0)
}

fn reward(u: f64) -> f64 {
    u.powi(A) * (1.0 - u) / c()
}

/// `ρ_k = E[r(U_(k))]`, `U_(k) ~ Beta(k, m − k + 1)`: `E[U^j] = Π_{i<j} (k + i)/(m + 1 + i)`.
fn rank_means(m: usize) -> Vec<f64> {
    let mf = m as f64;
    (1..=m)
        .map(|k| {
            let k = k as f64;
            let ea: f64 = (0..A).map(|i| (k + i as f64) / (mf + 1.0 + i as f64)).product();
            let eb = ea * (k + A as f64) / (mf + 1.0 + A as f64);
            (ea - eb) / c()
        })
        .collect()
}

/// The population optimum of the plug-in's curve `f_m(θ)` on the default range.
fn optimum(kind: MethodKind, m: usize) -> f64 {
    let rho = rank_means(m);
    let f = |t: f64| plugin_population(kind, t, &rho).unwrap();
    match kind {
        MethodKind::Bon => (1..=m)
            .map(|n| n as f64)
            .max_by(|a, b| f(*a).total_cmp(&f(*b)))
            .unwrap(),
        MethodKind::Bop => {
            // A fine scan, then golden-section search around the best point.
            let hi = m as f64 - 1.0;
            let best = (0..=3000)
                .map(|i| hi * i as f64 / 3000.0)
                .max_by(|a, b| f(*a).total_cmp(&f(*b)))
                .unwrap();
            let (mut a, mut b) = ((best - hi / 3000.0).max(0.0), (best + hi / 3000.0).min(hi));
            let g = (5f64.sqrt() - 1.0) / 2.0;
            for _ in 0..100 {
                let (x1, x2) = (b - g * (b - a), a + g * (b - a));
                if f(x1) < f(x2) { a = x1 } else { b = x2 }
            }
            0.5 * (a + b)
        }
        _ => unreachable!(),
    }
}

/// One window of the stationary population: `prompts × responses`, ChaCha8 seeded by `seed`.
fn window(prompts: usize, responses: usize, seed: u64) -> (Vec<usize>, Vec<f64>, Vec<f64>) {
    population_window(prompts, responses, seed, reward)
}

/// A window of a flat population: labels `N(0, 0.1²)` whatever the proxy, so `f(θ)` is the same
/// for every θ — every θ is optimal, the null's boundary, where the max-t test is tight.
fn flat_window(prompts: usize, responses: usize, seed: u64) -> (Vec<usize>, Vec<f64>, Vec<f64>) {
    population_window(prompts, responses, seed, |_| 0.0)
}

fn population_window(
    prompts: usize,
    responses: usize,
    seed: u64,
    reward: impl Fn(f64) -> f64,
) -> (Vec<usize>, Vec<f64>, Vec<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut offsets = vec![0];
    let (mut proxy, mut truth) = (Vec::new(), Vec::new());
    for _ in 0..prompts {
        for _ in 0..responses {
            let u: f64 = rng.random();
            let e: f64 = rng.sample(StandardNormal);
            proxy.push(u);
            truth.push(reward(u) + SIGMA * e);
        }
        offsets.push(proxy.len());
    }
    (offsets, proxy, truth)
}

fn prepare((o, p, t): &(Vec<usize>, Vec<f64>, Vec<f64>)) -> Prepared {
    Prepared::new(o, p, t).unwrap()
}

fn numbers(a: &Adoption) -> [f64; 6] {
    [a.difference, a.stderr, a.z, a.critical, a.expected_true_reward, a.theta]
}

/// Every adoption has a positive gain, `z > critical` and finite numbers; the reason agrees.
fn check(a: &Adoption) -> Result<(), String> {
    if a.adopted != (a.reason == AdoptionReason::Beats) {
        return Err(format!("adopted = {} with reason {}", a.adopted, a.reason));
    }
    if a.adopted {
        if !numbers(a).iter().all(|x| x.is_finite()) {
            return Err(format!("adopted with a non-finite number: {a}"));
        }
        if !(a.difference > 0.0 && a.z > a.critical) {
            return Err(format!("adopted without the evidence: {a}"));
        }
        if !a.some_theta_better {
            return Err(format!("adopted although the max-t test did not reject: {a}"));
        }
    }
    Ok(())
}

#[test]
fn the_population_has_an_interior_optimum() {
    let rho = rank_means(M);
    // ρ integrates r: the mean of the rank means is E[r(U)] = B(A + 1, 2)/C.
    let mean = rho.iter().sum::<f64>() / M as f64;
    let a = A as f64;
    assert!((mean - 1.0 / ((a + 1.0) * (a + 2.0)) / c()).abs() < 1e-14, "{mean}");
    let n = optimum(MethodKind::Bon, M);
    let mu = optimum(MethodKind::Bop, M);
    assert_eq!(n, 8.0);
    assert!((8.0..9.0).contains(&mu), "{mu}");
    let f = |k, t| plugin_population(k, t, &rho).unwrap();
    assert!(f(MethodKind::Bon, 8.0) > f(MethodKind::Bon, 7.0) && f(MethodKind::Bon, 8.0) > f(MethodKind::Bon, 9.0));
    assert!(
        f(MethodKind::Bop, mu) > f(MethodKind::Bop, mu - 0.01)
            && f(MethodKind::Bop, mu) > f(MethodKind::Bop, mu + 0.01)
    );
    // A Monte Carlo check of the simulator against the exact rank means.
    let d = prepare(&window(4000, M, 7));
    let est = hedge_estimate::Objective::new(&d, MethodKind::Bon, None, hedge_estimate::Estimator::Plugin)
        .unwrap()
        .estimate(8.0)
        .unwrap();
    let truth = f(MethodKind::Bon, 8.0);
    assert!(
        (est.value - truth).abs() < 4.0 * est.stderr,
        "{} vs {truth} ± {}",
        est.value,
        est.stderr
    );
}

/// The share of `windows` windows that adopt θ† when the θ in force is the optimum; also the
/// share the old rule (θ† moved and `versus(..).significant`) adopted.
fn false_adoptions(kind: MethodKind, flat: bool, prompts: usize, windows: u64) -> (usize, usize) {
    let theta = optimum(kind, M);
    let (mut adopted, mut old_rule) = (0, 0);
    for w in 0..windows {
        let seed = 1_000_000 * kind as u64 + 500_000 * flat as u64 + w;
        let d = prepare(&if flat {
            flat_window(prompts, M, seed)
        } else {
            window(prompts, M, seed)
        });
        let spec = TuneSpec::new(kind).seed(w);
        let a = adoption(&d, &spec, theta, None).unwrap();
        check(&a).unwrap();
        adopted += a.adopted as usize;
        old_rule += (a.reason != AdoptionReason::InForce && a.some_theta_better) as usize;
    }
    (adopted, old_rule)
}

#[test]
fn a_stationary_optimum_is_rarely_replaced() {
    let env = |name: &str, default: u64| std::env::var(name).ok().and_then(|s| s.parse().ok()).unwrap_or(default);
    let windows = env("HEDGE_ADOPT_WINDOWS", 200);
    let prompts = env("HEDGE_ADOPT_PROMPTS", PROMPTS as u64) as usize;
    let p = 0.05;
    let bound = p + 2.0 * (p * (1.0 - p) / windows as f64).sqrt();
    for (kind, flat) in [
        (MethodKind::Bon, false),
        (MethodKind::Bop, false),
        (MethodKind::Bon, true),
        (MethodKind::Bop, true),
    ] {
        let (adopted, old_rule) = false_adoptions(kind, flat, prompts, windows);
        let rate = adopted as f64 / windows as f64;
        println!(
            "{kind} ({}): theta in force {:.4}; {prompts} prompts x {M} responses; adopted in {adopted} of {windows} windows ({:.1} %); the old rule: {old_rule} ({:.1} %)",
            if flat { "flat population" } else { "its optimum" },
            optimum(kind, M),
            100.0 * rate,
            100.0 * old_rule as f64 / windows as f64
        );
        assert!(
            rate <= bound,
            "{kind}: adopted in {adopted} of {windows} windows ({rate}), above {bound}"
        );
    }
}

/// The first seed whose clean window does not adopt (the θ in force is the optimum).
fn quiet_window(kind: MethodKind) -> (u64, (Vec<usize>, Vec<f64>, Vec<f64>)) {
    let theta = optimum(kind, M);
    (1..50)
        .map(|seed| (seed, window(PROMPTS, M, seed)))
        .find(|(seed, w)| {
            !adoption(&prepare(w), &TuneSpec::new(kind).seed(*seed), theta, None)
                .unwrap()
                .adopted
        })
        .expect("a window that does not adopt")
}

/// Append one prompt of `M` responses with these labels (proxies ascending: label `k` is the
/// `k`-th lowest proxy's).
fn poisoned(w: &(Vec<usize>, Vec<f64>, Vec<f64>), labels: impl Fn(usize) -> f64) -> Prepared {
    let (mut o, mut p, mut t) = w.clone();
    for k in 0..M {
        p.push(k as f64 / M as f64);
        t.push(labels(k));
    }
    o.push(p.len());
    Prepared::new(&o, &p, &t).unwrap()
}

#[test]
fn one_poisoned_prompt_does_not_move_theta() {
    for kind in [MethodKind::Bon, MethodKind::Bop] {
        let theta = optimum(kind, M);
        let (seed, w) = quiet_window(kind);
        let spec = TuneSpec::new(kind).seed(seed);
        // Every candidate of one prompt labelled 1e6.
        let flat = adoption(&poisoned(&w, |_| 1e6), &spec, theta, None).unwrap();
        // ±1e6 alternating along the proxy's ranking, the top one −1e6: f_t falls with θ, so
        // this prompt pulls θ† towards the smallest θ with a gain of order 1e6 / T.
        let alternating = adoption(
            &poisoned(&w, |k| if (M - 1 - k) % 2 == 0 { -1e6 } else { 1e6 }),
            &spec,
            theta,
            None,
        )
        .unwrap();
        for (name, a) in [("flat", &flat), ("alternating", &alternating)] {
            println!("{kind} {name} (seed {seed}): {a}");
            assert!(!a.adopted, "{kind} {name}: {a}");
            assert!(!a.failed());
            check(a).unwrap();
            assert!(
                numbers(a).iter().all(|x| x.is_finite()) || a.reason == AdoptionReason::InForce,
                "{kind} {name}: {a:?}"
            );
        }
        // The alternating prompt does pull θ† down, with a gain far beyond the clean signal...
        assert!(alternating.theta < theta, "{kind}: {alternating}");
        assert!(alternating.difference > 1e3, "{kind}: {alternating}");
        // ...but one prompt is one prompt: its z is about 1 whatever its size.
        assert!(alternating.z < 1.1, "{kind}: {alternating}");
    }
}

#[test]
fn an_objective_that_overflows_is_a_failed_round() {
    // Two prompts whose top-ranked label is f64::MAX: BoN's rank means (sums over prompts) overflow.
    let w = window(PROMPTS, M, 5);
    let (mut o, mut p, mut t) = w.clone();
    for _ in 0..2 {
        for k in 0..M {
            p.push(k as f64);
            t.push(if k == M - 1 { f64::MAX } else { 0.0 });
        }
        o.push(p.len());
    }
    let d = Prepared::new(&o, &p, &t).unwrap();
    let a = adoption(&d, &TuneSpec::new(MethodKind::Bon), 8.0, None).unwrap();
    assert!(a.failed() && !a.adopted, "{a}");
    assert_eq!(a.reason, AdoptionReason::ObjectiveNotFinite);
    assert!(a.to_string().starts_with("the objective is not finite"), "{a}");
    // One such prompt does not overflow: a decision, with finite numbers, and no adoption.
    let (mut o, mut p, mut t) = w;
    for k in 0..M {
        p.push(k as f64);
        t.push(if k == M - 1 { f64::MAX } else { 0.0 });
    }
    o.push(p.len());
    let a = adoption(&prepare(&(o, p, t)), &TuneSpec::new(MethodKind::Bon), 8.0, None).unwrap();
    assert!(!a.adopted && !a.failed(), "{a}");
    check(&a).unwrap();
}

#[test]
fn the_max_t_rejection_alone_does_not_adopt() {
    // The θ in force n = 5, below the optimum n* = 8, on windows of 40 prompts: the θ of the grid
    // closest to it gain little but consistently, θ† more but noisily, so the max-t test rejects
    // "nothing beats n = 5" while θ†'s own z stays below the bar (in about a quarter of the
    // windows; the first is seed 3: θ† = 7, z = 1.57 against 2.12).
    let (kind, force) = (MethodKind::Bon, 5.0);
    let found = (1..200u64).find_map(|seed| {
        let d = prepare(&window(40, M, 7_000 + seed));
        let spec = TuneSpec::new(kind).seed(seed);
        let o = tune(&d, &spec).unwrap();
        if o.theta == force {
            return None;
        }
        let gap = versus(&d, &spec, &o, force, None).unwrap();
        (gap.significant && gap.paired.z <= gap.critical).then_some((seed, d, spec, gap))
    });
    let (seed, d, spec, gap) = found.expect("a window where the max-t test rejects but θ†'s own z does not clear");
    let a = adoption(&d, &spec, force, None).unwrap();
    println!("seed {seed}: {a}");
    // The old rule, `moved && gap.significant`, would have adopted θ† here.
    assert!(a.some_theta_better && a.theta != force);
    assert!(!a.adopted);
    assert_eq!(a.reason, AdoptionReason::NotSignificant);
    assert_eq!(
        (a.z, a.critical, a.difference),
        (gap.paired.z, gap.critical, gap.paired.difference)
    );
    assert!(
        a.to_string().contains("is not significantly better than θ = 5: "),
        "{a}"
    );
}

#[test]
fn the_sentence_has_the_numbers() {
    let d = prepare(&window(400, M, 3));
    let a = adoption(&d, &TuneSpec::new(MethodKind::Bon), 1.0, None).unwrap();
    assert!(a.adopted, "{a}");
    assert_eq!(
        a.to_string(),
        format!(
            "θ† = {} beats θ = 1 by {:.4} ± {:.4} (paired z = {:.2} > {:.2}, corrected for the choice of θ†)",
            a.theta, a.difference, a.stderr, a.z, a.critical
        )
    );
    let b = adoption(&d, &TuneSpec::new(MethodKind::Bon), a.theta, None).unwrap();
    assert_eq!(b.reason, AdoptionReason::InForce);
    assert_eq!(b.to_string(), format!("θ† = {} is the θ in force", a.theta));
    assert!(adoption(&d, &TuneSpec::new(MethodKind::Bon), f64::NAN, None).is_err());
}

#[cfg(feature = "serde")]
#[test]
fn serialised() {
    let d = prepare(&window(100, M, 3));
    let a = adoption(&d, &TuneSpec::new(MethodKind::Bop), 0.0, None).unwrap();
    let v = serde_json::to_value(&a).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "adopted",
            "reason",
            "message",
            "method",
            "parameter",
            "theta",
            "theta_in_force",
            "expected_true_reward",
            "difference",
            "stderr",
            "z",
            "critical",
            "confidence",
            "some_theta_better",
            "verdict",
            "prompts",
            "versus_in_force",
            "evidence"
        ]
    );
    assert_eq!(v["reason"], a.reason.name());
    assert_eq!(v["message"], a.to_string());
    assert_eq!(v["parameter"], "mu");
}

#[test]
fn power_of_two_scaling_changes_nothing_but_the_scale() {
    // Labels × 2^600 (≈ 4e180): squares overflow, so every sum of squares takes the scaled path,
    // which is exact: the same θ†, z and critical value, bit for bit.
    let w = window(PROMPTS, M, 11);
    let s = 2f64.powi(600);
    let big = (w.0.clone(), w.1.clone(), w.2.iter().map(|x| x * s).collect::<Vec<_>>());
    for kind in [MethodKind::Bon, MethodKind::Bop] {
        let spec = TuneSpec::new(kind).seed(3);
        let a = adoption(&prepare(&w), &spec, 1.0, None).unwrap();
        let b = adoption(&prepare(&big), &spec, 1.0, None).unwrap();
        assert_eq!(
            (a.theta, a.reason, a.z, a.critical),
            (b.theta, b.reason, b.z, b.critical),
            "{a} / {b}"
        );
        assert_eq!((a.difference * s, a.stderr * s), (b.difference, b.stderr));
        assert!(numbers(&b).iter().all(|x| x.is_finite()), "{b}");
    }
}

#[test]
fn paired_differences_do_not_overflow() {
    let a = [1e308, -1e308, 1e308, f64::MAX];
    let b = [-1e308, 1e308, 0.0, -f64::MAX / 2.0];
    let p = Paired::of(&a, &b);
    assert!(p.z.is_finite(), "{p:?}");
    assert!(p.stderr.is_finite() && p.difference.is_finite(), "{p:?}");
    // The exact difference is representable: (2e308 − 2e308 + 1e308 + 1.5·MAX)/4.
    let exact = (1e308 / 4.0) + 1.5 * (f64::MAX / 4.0);
    assert!(
        (p.difference - exact).abs() <= 1e-15 * exact,
        "{} vs {exact}",
        p.difference
    );
    // Ordinary values: the plain formula, bit for bit.
    let x = [0.3, 0.1, 0.7, 0.25];
    let y = [0.2, 0.2, 0.1, 0.05];
    let d: Vec<f64> = x.iter().zip(&y).map(|(a, b)| a - b).collect();
    let mean = d.iter().sum::<f64>() / 4.0;
    let ss: f64 = d.iter().map(|v| (v - mean) * (v - mean)).sum();
    let q = Paired::of(&x, &y);
    assert_eq!((q.difference, q.stderr), (mean, (ss / 3.0).sqrt() / 2.0));
    // Tiny values whose squares underflow still have a standard error.
    let t = Paired::of(&[1e-300, 3e-300, 2e-300], &[0.0; 3]);
    assert!(
        t.stderr > 0.0 && (t.z - 2.0 / (1e-300 / 3f64.sqrt() * 1e300)).abs() < 1e-9,
        "{t:?}"
    );
}

/// Random windows: 2–30 prompts of 2–12 responses; proxies on a coarse grid (ties) or
/// continuous; labels Gaussian, Cauchy (heavy tails) or rounded (ties), a few of them huge
/// (up to ±1e6) or extreme (±1e308, ±f64::MAX).
fn windows() -> impl Strategy<Value = (Vec<usize>, Vec<f64>, Vec<f64>)> {
    (
        prop::collection::vec(2usize..13, 2..31),
        0usize..3,
        0usize..3,
        0usize..4,
        any::<u64>(),
    )
        .prop_map(|(sizes, proxies, labels, extremes, seed)| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let mut offsets = vec![0];
            let (mut proxy, mut truth) = (Vec::new(), Vec::new());
            for m in sizes {
                for _ in 0..m {
                    let u: f64 = rng.random();
                    proxy.push(match proxies {
                        0 => (u * 5.0).round(),
                        1 => u,
                        _ => (u * 3.0).round() * 1e6,
                    });
                    let e: f64 = rng.sample(StandardNormal);
                    let r = match labels {
                        0 => reward(u) + SIGMA * e,
                        1 => e / rng.sample::<f64, _>(StandardNormal), // Cauchy
                        _ => (reward(u) * 2.0 + 0.5 * e).round(),
                    };
                    truth.push(r);
                }
                offsets.push(proxy.len());
            }
            let huge = [1e6, -1e6, 1e308, -1e308, f64::MAX, -f64::MAX];
            let rows = truth.len();
            for i in 0..extremes {
                let pick = match extremes {
                    1 => huge[i % 2],
                    _ => huge[rng.random_range(0..huge.len())],
                };
                truth[rng.random_range(0..rows)] = pick;
            }
            (offsets, proxy, truth)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn adoption_needs_finite_evidence((o, p, t) in windows(), kind in 0usize..3, at in 0.0f64..1.0, seed in any::<u64>()) {
        let d = Prepared::new(&o, &p, &t).unwrap();
        let kind = [MethodKind::Bon, MethodKind::Bop, MethodKind::Tilt][kind];
        let spec = TuneSpec::new(kind).seed(seed).resamples(200);
        let (lo, hi) = spec.resolve_range(&d).unwrap();
        let mut theta = lo + at * (hi - lo);
        if kind == MethodKind::Bon {
            theta = theta.round();
        }
        match adoption(&d, &spec, theta, None) {
            Ok(a) => {
                prop_assert!(check(&a).is_ok(), "{:?}", check(&a));
                prop_assert!(a.reason != AdoptionReason::NotFinite || numbers(&a)[..4].iter().any(|x| !x.is_finite()));
                let _ = a.to_string();
            }
            Err(e) => prop_assert!(false, "{e}"),
        }
    }
}
