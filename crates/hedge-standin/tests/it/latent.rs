//! The latent-quality model on populations of generated texts: `q` is standard normal, independent of the
//! proxy noise, the same for a candidate alone and rendered after its prompt; best-of-n by the proxy keeps
//! improving under Gaussian noise and is hacked under Cauchy noise.

use std::collections::HashSet;
use std::sync::OnceLock;

use hedge_standin::{ProxyNoise, candidate_key, generate_text, latent_quality, noisy_score, proxy_noise_draw};

/// Candidates per prompt (a batch of `hedge serve` or `collect`).
const BATCH: usize = 32;

fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

fn sd(x: &[f64]) -> f64 {
    let m = mean(x);
    (x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (x.len() - 1) as f64).sqrt()
}

fn corr(x: &[f64], y: &[f64]) -> f64 {
    let (mx, my) = (mean(x), mean(y));
    let sxy: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let sxx: f64 = x.iter().map(|a| (a - mx) * (a - mx)).sum();
    let syy: f64 = y.iter().map(|b| (b - my) * (b - my)).sum();
    sxy / (sxx * syy).sqrt()
}

fn fraction(x: &[f64], pred: impl Fn(f64) -> bool) -> f64 {
    x.iter().filter(|&&v| pred(v)).count() as f64 / x.len() as f64
}

/// Asserts that a sample fraction is within 4.5 binomial standard errors of `p`.
fn assert_fraction(what: &str, got: f64, p: f64, n: usize) {
    let tol = 4.5 * (p * (1.0 - p) / n as f64).sqrt();
    assert!((got - p).abs() < tol, "{what}: {got} vs {p} (tolerance {tol})");
}

/// The standard normal CDF (Abramowitz–Stegun 7.1.26 for erf; error < 1.5e-7).
fn normal_cdf(x: f64) -> f64 {
    let z = x.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * z);
    let poly =
        t * (0.254_829_592 + t * (-0.284_496_736 + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-z * z).exp();
    if x >= 0.0 { 0.5 * (1.0 + erf) } else { 0.5 * (1.0 - erf) }
}

fn prompt(p: usize) -> String {
    format!("Question {p}: what is {p} + 1? Answer:")
}

/// `prompts × 32` texts from the generation stand-in's text function: prompt `p`'s candidates are the
/// choices of one request with seed 0 and `n = 32` (seeds 0, 1, …, 31).
fn population(prompts: usize) -> Vec<Vec<String>> {
    (0..prompts)
        .map(|p| {
            let pr = prompt(p);
            (0..BATCH as u64).map(|s| generate_text(&pr, s, None, false)).collect()
        })
        .collect()
}

/// (a) `q` over 25,600 generated texts: mean 0, sd 1, normal quantiles, uncorrelated with every noise draw;
/// the noise draws have their laws.
#[test]
fn latent_quality_is_standard_normal_and_independent_of_the_noise() {
    let texts: Vec<String> = population(800).into_iter().flatten().collect();
    let n = texts.len();
    assert!(n >= 20_000);
    let q: Vec<f64> = texts.iter().map(|t| latent_quality(t)).collect();
    let se = 1.0 / (n as f64).sqrt();
    let (m, s) = (mean(&q), sd(&q));
    eprintln!("q over {n} texts: mean {m:.4}, sd {s:.4} (standard error of the mean {se:.4})");
    assert!(m.abs() < 4.5 * se, "mean {m}");
    // The sd of a normal sample has standard error sd / sqrt(2n).
    assert!((s - 1.0).abs() < 4.5 * se / 2f64.sqrt(), "sd {s}");
    for x in [-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0] {
        assert_fraction(&format!("P(q <= {x})"), fraction(&q, |v| v <= x), normal_cdf(x), n);
    }
    // Distinct texts, distinct keys (up to the rare shared last five words and answer), distinct values.
    let distinct_texts: HashSet<&String> = texts.iter().collect();
    let distinct_q: HashSet<u64> = q.iter().map(|v| v.to_bits()).collect();
    let distinct_keys: HashSet<&str> = texts.iter().map(|t| candidate_key(t)).collect();
    eprintln!(
        "{} distinct texts, {} distinct keys, {} distinct q",
        distinct_texts.len(),
        distinct_keys.len(),
        distinct_q.len()
    );
    assert!(distinct_texts.len() > n - 5, "{}", distinct_texts.len());
    assert_eq!(distinct_q.len(), distinct_keys.len());
    // Two texts share a key (their last five words and their answer) with probability about 3.7e-8: about
    // 12 pairs among 25,600 texts.
    assert!(distinct_keys.len() > n - 40, "{}", distinct_keys.len());

    // The noise: Gaussian sd = scale; Cauchy and Student-t (df 1) median |ε| = scale; Student-t df 2:
    // P(|T| <= 1) = 1/sqrt(3); Student-t with large df: close to normal.
    let draws = |noise: ProxyNoise| -> Vec<f64> { texts.iter().map(|t| proxy_noise_draw(t, noise)).collect() };
    let gauss = draws(ProxyNoise::Gaussian { scale: 0.7 });
    let gs = sd(&gauss);
    assert!(
        (gs - 0.7).abs() < 4.5 * 0.7 * se / 2f64.sqrt(),
        "Gaussian noise sd {gs}"
    );
    assert!(mean(&gauss).abs() < 4.5 * 0.7 * se);
    let cauchy = draws(ProxyNoise::Cauchy { scale: 3.0 });
    assert_fraction("Cauchy P(|ε| <= scale)", fraction(&cauchy, |v| v.abs() <= 3.0), 0.5, n);
    assert_fraction("Cauchy P(ε <= 0)", fraction(&cauchy, |v| v <= 0.0), 0.5, n);
    assert_fraction(
        "Cauchy P(ε <= 3·tan(0.4π))",
        fraction(&cauchy, |v| v <= 3.0 * (0.4 * std::f64::consts::PI).tan()),
        0.9,
        n,
    );
    assert!(cauchy.iter().all(|v| v.is_finite()));
    let t1 = draws(ProxyNoise::StudentT { df: 1.0, scale: 2.0 });
    assert_fraction(
        "Student-t(1) P(|ε| <= scale)",
        fraction(&t1, |v| v.abs() <= 2.0),
        0.5,
        n,
    );
    let t2 = draws(ProxyNoise::StudentT { df: 2.0, scale: 1.0 });
    assert_fraction(
        "Student-t(2) P(|T| <= 1)",
        fraction(&t2, |v| v.abs() <= 1.0),
        1.0 / 3f64.sqrt(),
        n,
    );
    let t_big = draws(ProxyNoise::StudentT { df: 400.0, scale: 1.0 });
    assert_fraction("Student-t(400) P(T <= 1)", fraction(&t_big, |v| v <= 1.0), 0.8413, n);
    let t25 = draws(ProxyNoise::StudentT { df: 2.5, scale: 0.7 });
    assert!(t25.iter().all(|v| v.is_finite()));

    // Independence of q and the noise: Pearson correlation with the Gaussian draw, and, for the heavy tails,
    // with a bounded increasing transform of the draw (the Cauchy draw's uniform atan(ε / scale) / π + ½, the
    // Student-t draw's atan).
    let cauchy_u: Vec<f64> = cauchy
        .iter()
        .map(|e| (e / 3.0).atan() / std::f64::consts::PI + 0.5)
        .collect();
    for (what, y) in [
        ("Gaussian", gauss.clone()),
        ("Cauchy (uniform)", cauchy_u),
        ("Student-t 2.5 (atan)", t25.iter().map(|e| e.atan()).collect()),
    ] {
        let r = corr(&q, &y);
        eprintln!("corr(q, {what} noise) = {r:.4}");
        assert!(r.abs() < 4.5 * se, "corr(q, {what} noise) = {r}");
    }
    // The noisy proxy is q plus the draw.
    for (t, (qi, gi)) in texts.iter().zip(q.iter().zip(&gauss)).take(100) {
        assert_eq!(noisy_score(t, ProxyNoise::Gaussian { scale: 0.7 }), qi + gi);
    }
}

/// The value is the same for the candidate alone and for the candidate as a reward request carries it.
#[test]
fn scores_read_the_candidate_not_the_prompt() {
    let noise = ProxyNoise::Cauchy { scale: 3.0 };
    let prompts = [
        "",
        "Q: 1+1? A:",
        "Q: 1+1? A: ",
        "Tell me about the ",
        "the model thinks a",
        "Question 3: ",
        "x\n\nassistant: nope",
    ];
    for (i, pr) in prompts.iter().enumerate() {
        for seed in 0..200u64 {
            for max_words in [None, Some(6), Some(12), Some(40)] {
                let t = generate_text(pr, seed, max_words, i % 2 == 0);
                let q = latent_quality(&t);
                let e = proxy_noise_draw(&t, noise);
                let chat_with_system = format!("system: Be brief.\n\nuser: {pr}\n\nassistant: {t}");
                for rendered in [
                    format!("{pr}{t}"),
                    format!("user: {pr}\n\nassistant: {t}"),
                    chat_with_system,
                    // A TEI text pair as the stand-in joins it.
                    format!("{pr}\n{t}"),
                ] {
                    assert_eq!(latent_quality(&rendered), q, "{rendered:?}");
                    assert_eq!(proxy_noise_draw(&rendered, noise), e, "{rendered:?}");
                }
            }
        }
    }
    // Deterministic, and different for different candidates.
    let a = generate_text("p", 1, None, false);
    let b = generate_text("p", 2, None, false);
    assert_eq!(latent_quality(&a), latent_quality(&a.clone()));
    assert_ne!(latent_quality(&a), latent_quality(&b));
    // Texts that are not generated ones are read whole (up to their last five words).
    assert_ne!(latent_quality("text 1"), latent_quality("text 2"));
    assert_eq!(candidate_key("one two"), "one two");
    assert_eq!(candidate_key("a b c d e f g"), "c d e f g");
}

/// The per-prompt expected latent quality of best-of-n by the proxy, `n = 1, …, 32`, choosing among `n` of the
/// 32 candidates drawn *without replacement* (every n-subset equally likely): the candidate of proxy rank `j`
/// (0 = lowest) is chosen with probability C(j, n−1) / C(32, n). Averaged over the prompts.
fn best_of_n_curve(pop: &[Batch], noise: ProxyNoise) -> Vec<f64> {
    let binom = |a: usize, b: usize| -> f64 {
        if b > a {
            return 0.0;
        }
        (0..b).fold(1.0, |acc, i| acc * (a - i) as f64 / (i + 1) as f64)
    };
    let mut curve = vec![0.0; BATCH + 1];
    for b in pop {
        // The proxy as the reward route sees it: the candidate rendered after its prompt.
        let mut by_proxy: Vec<(f64, f64)> = b
            .texts
            .iter()
            .zip(&b.q)
            .map(|(t, &qi)| (noisy_score(&format!("{}{t}", b.prompt), noise), qi))
            .collect();
        by_proxy.sort_by(|x, y| x.0.total_cmp(&y.0));
        for (n, c) in curve.iter_mut().enumerate().skip(1) {
            let total = binom(BATCH, n);
            *c += by_proxy
                .iter()
                .enumerate()
                .map(|(j, &(_, qi))| binom(j, n - 1) / total * qi)
                .sum::<f64>();
        }
    }
    curve.iter().map(|c| c / pop.len() as f64).collect()
}

/// One prompt's 32 candidates and their latent qualities.
struct Batch {
    prompt: String,
    texts: Vec<String>,
    q: Vec<f64>,
}

/// 20,000 prompts × 32 candidates.
fn candidates() -> &'static [Batch] {
    static POP: OnceLock<Vec<Batch>> = OnceLock::new();
    POP.get_or_init(|| {
        population(20_000)
            .into_iter()
            .enumerate()
            .map(|(p, texts)| Batch {
                prompt: prompt(p),
                q: texts.iter().map(|t| latent_quality(t)).collect(),
                texts,
            })
            .collect()
    })
}

fn show(name: &str, curve: &[f64]) {
    let points: Vec<String> = (1..curve.len()).map(|n| format!("{n}:{:.3}", curve[n])).collect();
    eprintln!("{name}: mean q of best-of-n = {}", points.join(" "));
}

/// (b) Gaussian noise (0.7): best-of-n by the proxy keeps improving the latent quality.
#[test]
fn gaussian_noise_best_of_n_keeps_improving() {
    let pop = candidates();
    let curve = best_of_n_curve(pop, ProxyNoise::Gaussian { scale: 0.7 });
    show("gaussian:0.7", &curve);
    let se = 1.0 / (pop.len() as f64).sqrt();
    assert!(curve[1].abs() < 4.5 * se, "n = 1: {}", curve[1]);
    // Population values (q and the noise independent normals, correlation 1/sqrt(1.49)): 0, 0.84, 1.44, 1.70.
    assert!(curve[4] > curve[1] + 0.5, "{curve:?}");
    assert!(curve[16] > curve[4] + 0.4, "{curve:?}");
    assert!(curve[32] > curve[16] + 0.15, "{curve:?}");
    assert!(curve.windows(2).skip(1).all(|w| w[1] > w[0]), "{curve:?}");
}

/// (c) Cauchy noise (scale 3): best-of-n peaks around n = 4–8, and at n = 32 keeps less than half of the peak.
/// Population values (Monte Carlo, 200,000 prompts): 0, 0.101, 0.152, 0.172, 0.178 (n = 5, the peak), 0.176,
/// …, 0.164 (n = 8), 0.112 (n = 16), 0.064 (n = 32, 36 % of the peak).
#[test]
fn cauchy_noise_best_of_n_is_hacked() {
    let pop = candidates();
    let curve = best_of_n_curve(pop, ProxyNoise::Cauchy { scale: 3.0 });
    show("cauchy:3", &curve);
    let (peak_n, peak) = (1..=BATCH)
        .map(|n| (n, curve[n]))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap();
    eprintln!(
        "cauchy:3: peak {peak:.3} at n = {peak_n}; n = 32: {:.3} ({:.0}% of the peak)",
        curve[BATCH],
        100.0 * curve[BATCH] / peak
    );
    let se = 1.0 / (pop.len() as f64).sqrt();
    assert!(curve[1].abs() < 4.5 * se, "n = 1: {}", curve[1]);
    assert!((4..=8).contains(&peak_n), "peak at n = {peak_n}: {curve:?}");
    assert!(peak > 0.12, "{curve:?}");
    assert!(curve[BATCH] < 0.5 * peak, "{curve:?}");
    // Falling all the way from the peak to n = 32.
    assert!(curve[peak_n..].windows(2).all(|w| w[1] < w[0]), "{curve:?}");
}
