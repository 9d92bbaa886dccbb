//! How often each verdict comes out on synthetic populations, per method and size, and how often
//! the interval of `loss_at_default` covers the population's loss (the numbers of docs/verdict.md).
//!
//! `cargo run --release -p hedge-estimate --example calibration -- POP PROMPTS RESPONSES SEEDS [METHODS]`
//!
//! POP: `monotone` (proxy = true + 0.7·N(0,1): population loss 0), `student[:DF]` (proxy = true +
//! 0.7·t(DF), DF 2.5 unless given), `toy` (the paper's toy: population loss from `synth::toy_rank_means`). SBoN is
//! tuned at n = 16 (or m when smaller).
use std::collections::BTreeMap;

use hedge_estimate::synth::{plugin_population, toy_rank_means};
use hedge_estimate::{MethodKind, TuneSpec, synth, tune};

/// The toy's population loss `max_θ f_m(θ) − f_m(θ_hi)` on the default range (BoN, BoP, tilt).
fn toy_loss(kind: MethodKind, m: usize) -> Option<f64> {
    let rho = toy_rank_means(m);
    let hi = match kind {
        MethodKind::Bon => m as f64,
        MethodKind::Bop => m as f64 - 1.0,
        MethodKind::Tilt => 10.0 * m as f64,
        MethodKind::Sbon => return None,
    };
    let f = |t: f64| plugin_population(kind, t, &rho).unwrap();
    let peak = if kind == MethodKind::Bon {
        (1..=m).map(|n| f(n as f64)).fold(f64::NEG_INFINITY, f64::max)
    } else {
        (0..=50_000)
            .map(|i| f(hi * i as f64 / 50_000.0))
            .fold(f64::NEG_INFINITY, f64::max)
    };
    Some(peak - f(hi))
}

fn main() {
    let a: Vec<String> = std::env::args().collect();
    if a.len() < 5 {
        eprintln!("usage: calibration monotone|student|toy PROMPTS RESPONSES SEEDS [bon,bop,tilt,sbon]");
        std::process::exit(2);
    }
    let pop = a[1].as_str();
    let (t, m, seeds): (usize, usize, u64) = (a[2].parse().unwrap(), a[3].parse().unwrap(), a[4].parse().unwrap());
    let methods: Vec<MethodKind> = a
        .get(5)
        .map(|s| s.split(',').map(|x| MethodKind::parse(x).unwrap()).collect())
        .unwrap_or(MethodKind::ALL.to_vec());
    for kind in methods {
        let truth = match pop {
            "monotone" => Some(0.0),
            "toy" => toy_loss(kind, m),
            _ => None,
        };
        let (mut verdicts, mut regimes) = (BTreeMap::new(), BTreeMap::new());
        let mut covered = 0;
        let start = std::time::Instant::now();
        for seed in 1..=seeds {
            let s = match pop {
                "monotone" => synth::gaussian_monotone(t, m, 0.7, seed).unwrap(),
                p if p.starts_with("student") => {
                    let df = p.strip_prefix("student:").map_or(2.5, |d| d.parse().unwrap());
                    synth::gaussian(t, m, 0.7, df, seed).unwrap()
                }
                "toy" => synth::toy(t, m, seed).unwrap(),
                _ => panic!("unknown population {pop}"),
            };
            let mut spec = TuneSpec::new(kind).seed(seed);
            if kind == MethodKind::Sbon {
                spec = spec.n(16.min(m as u64));
            }
            let o = tune(&s.prepare().unwrap(), &spec).unwrap();
            *verdicts.entry(o.verdict.unwrap().name()).or_insert(0) += 1;
            *regimes.entry(o.regime.name()).or_insert(0) += 1;
            let [lo, hi] = o.evidence.unwrap().loss_at_default.interval;
            if truth.is_some_and(|l| lo <= l && l <= hi) {
                covered += 1;
            }
        }
        let coverage = truth.map_or(String::new(), |l| {
            format!("; loss interval covers the population loss {l:.5} in {covered}/{seeds}")
        });
        println!(
            "{pop} {t}x{m} {kind}: verdicts {verdicts:?}, regimes {regimes:?}{coverage} ({:.1} s)",
            start.elapsed().as_secs_f64()
        );
    }
}
