//! `compare`, ensembles and budgets on the real data in ../shared/data, checked against direct
//! computations (not against the code's own earlier output).

use crate::common;

use hedge_estimate::compare::{CompareSpec, ProxyColumn, compare};
use hedge_estimate::ensemble::{EnsembleRule, combine, tune_uwo};
use hedge_estimate::{Estimator, MethodKind, Paired, Prepared, TuneSpec, curve, holdout, tune};

const REALSUMM: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/realsumm/scores.csv");
const REWARDMATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/data/rewardmath/scores.csv"
);

/// Offsets, truth and the named proxy columns of a shared CSV (grouped by prompt, file order).
fn columns(path: &str, names: &[&str]) -> (Vec<usize>, Vec<f64>, Vec<Vec<f64>>) {
    let mut offsets = Vec::new();
    let mut truth = Vec::new();
    let mut cols = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let (o, p, t) = common::csr(&common::load_csv(path, name));
        if i == 0 {
            (offsets, truth) = (o, t);
        } else {
            assert_eq!((&o, &t), (&offsets, &truth));
        }
        cols.push(p);
    }
    (offsets, truth, cols)
}

const SUMM_COLS: [&str; 4] = [
    "proxy_bert_recall_score",
    "proxy_rouge_1_precision",
    "proxy_js-2",
    "proxy_rouge_2_recall",
];

/// Every ensemble rule against the textbook formulas written out here, prompt by prompt.
#[test]
fn ensemble_scores_match_a_direct_computation() {
    let (offsets, _, cols) = columns(REALSUMM, &SUMM_COLS);
    let members: Vec<&[f64]> = cols.iter().map(Vec::as_slice).collect();
    let lambda = 0.7;
    let got: Vec<(EnsembleRule, Vec<f64>)> = EnsembleRule::ALL
        .iter()
        .map(|&r| (r, combine(r, &offsets, &members, lambda).unwrap()))
        .collect();
    let mut worst: f64 = 0.0;
    for w in offsets.windows(2) {
        let (a, b) = (w[0], w[1]);
        let m = (b - a) as f64;
        // z-scores with the population standard deviation, and mid-ranks in [0, 1]
        let z: Vec<Vec<f64>> = cols
            .iter()
            .map(|c| {
                let x = &c[a..b];
                let mean = x.iter().sum::<f64>() / m;
                let sd = (x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / m).sqrt();
                x.iter().map(|v| if sd > 0.0 { (v - mean) / sd } else { 0.0 }).collect()
            })
            .collect();
        let q: Vec<Vec<f64>> = cols
            .iter()
            .map(|c| {
                let x = &c[a..b];
                x.iter()
                    .map(|v| {
                        let below = x.iter().filter(|u| *u < v).count() as f64;
                        let equal = x.iter().filter(|u| *u == v).count() as f64;
                        (below + (equal - 1.0) / 2.0) / (m - 1.0)
                    })
                    .collect()
            })
            .collect();
        for i in 0..(b - a) {
            let zi: Vec<f64> = z.iter().map(|zj| zj[i]).collect();
            let k = zi.len() as f64;
            let mean = zi.iter().sum::<f64>() / k;
            let var = zi.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / k;
            let want = [
                mean,
                zi.iter().copied().fold(f64::INFINITY, f64::min),
                mean - lambda * var,
                q.iter().map(|qj| qj[i]).sum::<f64>() / k,
            ];
            for ((rule, scores), w) in got.iter().zip(want) {
                let e = (scores[a + i] - w).abs();
                assert!(
                    e <= 1e-12,
                    "{rule} prompt rows {a}..{b} row {i}: {} vs {w}",
                    scores[a + i]
                );
                worst = worst.max(e);
            }
        }
    }
    assert!(worst < 1e-13, "{worst:e}");
}

/// Each leaderboard row is exactly `holdout` of its column (same split, seed and spec), the
/// rows are sorted, and the paired differences to the leader are differences of held-out means.
#[test]
fn leaderboard_agrees_with_per_column_holdout() {
    let (offsets, truth, cols) = columns(REALSUMM, &SUMM_COLS);
    let proxies: Vec<ProxyColumn<'_>> = SUMM_COLS
        .iter()
        .zip(&cols)
        .map(|(n, c)| ProxyColumn::new(n, c))
        .collect();
    let spec = CompareSpec::new().methods([MethodKind::Bon, MethodKind::Bop]).seed(11);
    let c = compare(&offsets, &truth, &proxies, &spec).unwrap();
    assert_eq!(c.entries.len(), 8);
    assert_eq!((c.held_out_prompts, c.calibration_prompts), (50, 50));
    for e in &c.entries {
        let col = SUMM_COLS.iter().position(|n| *n == e.proxy).unwrap();
        let data = Prepared::new(&offsets, &cols[col], &truth).unwrap();
        let h = holdout(&data, &TuneSpec::new(e.method).seed(11), 0.5, 11).unwrap();
        // (Debug, so that a NaN z compares equal to itself)
        assert_eq!(format!("{:?}", e.holdout), format!("{h:?}"), "{} {}", e.proxy, e.method);
        let lead = &c.entries[0].holdout;
        let d = e.versus_leader.difference - (h.tuned_reward - lead.tuned_reward);
        assert!(d.abs() < 1e-12, "{d:e}");
    }
    for w in c.entries.windows(2) {
        assert!(w[0].reward() >= w[1].reward());
    }
    // A random response is the mean true reward of the held-out prompts.
    let (held, _) = hedge_estimate::holdout_split(100, 0.5, 11).unwrap();
    let random: f64 = held
        .iter()
        .map(|&t| truth[offsets[t]..offsets[t + 1]].iter().sum::<f64>() / (offsets[t + 1] - offsets[t]) as f64)
        .sum::<f64>()
        / held.len() as f64;
    assert!((c.random - random).abs() < 1e-12);
    // The frontier: no row dominates a frontier row, and every other row is dominated.
    for (i, e) in c.entries.iter().enumerate() {
        let dominated = c.entries.iter().enumerate().any(|(j, o)| {
            j != i
                && o.reward() >= e.reward()
                && o.expected_samples <= e.expected_samples
                && (o.reward() > e.reward() || o.expected_samples < e.expected_samples)
        });
        assert_eq!(e.pareto, !dominated, "{} {}", e.proxy, e.method);
    }
}

/// uwo's λ is chosen on the calibration prompts only: changing the held-out prompts' true
/// rewards does not change it.
#[test]
fn uwo_lambda_ignores_the_held_out_prompts() {
    let (offsets, truth, cols) = columns(REALSUMM, &SUMM_COLS);
    let members: Vec<&[f64]> = cols.iter().map(Vec::as_slice).collect();
    let (held, cal) = hedge_estimate::holdout_split(100, 0.5, 3).unwrap();
    let spec = TuneSpec::new(MethodKind::Bon);
    let a = tune_uwo(&offsets, &members, &truth, &spec, Some(&cal), &[0.0, 0.5, 2.0]).unwrap();
    let mut scrambled = truth.clone();
    for &t in &held {
        for r in &mut scrambled[offsets[t]..offsets[t + 1]] {
            *r = 1.0 - *r;
        }
    }
    let b = tune_uwo(&offsets, &members, &scrambled, &spec, Some(&cal), &[0.0, 0.5, 2.0]).unwrap();
    assert_eq!(a, b);
    // ...and each λ's value is the tuned f of the ensemble on the calibration prompts.
    for &(l, f) in &a.tried {
        let s = combine(EnsembleRule::Uwo, &offsets, &members, l).unwrap();
        let d = Prepared::new(&offsets, &s, &truth).unwrap().subset(&cal).unwrap();
        assert_eq!(tune(&d, &spec).unwrap().expected_true_reward, f);
    }
}

/// `--max-samples 4` on realsumm/BoN: the best integer n ≤ 4 by brute force.
#[test]
fn max_samples_gives_the_best_n_within_the_budget() {
    for proxy in [
        "proxy_bert_recall_score",
        "proxy_rouge_1_precision",
        "proxy_rouge_2_recall",
    ] {
        let data = common::prepared(&common::load_csv(REALSUMM, proxy));
        let o = tune(&data, &TuneSpec::new(MethodKind::Bon).max_samples(4.0)).unwrap();
        let f = curve(&data, MethodKind::Bon, &[1.0, 2.0, 3.0, 4.0], None, Estimator::Plugin).unwrap();
        let best = f.iter().fold(&f[0], |b, p| {
            if p.expected_true_reward > b.expected_true_reward {
                p
            } else {
                b
            }
        });
        assert_eq!(o.theta, best.theta, "{proxy}");
        assert!(o.expected_samples <= 4.0);
        assert_eq!(o.range.1, 4.0);
        // BoP and SBoN respect it too.
        let p = tune(&data, &TuneSpec::new(MethodKind::Bop).max_samples(4.0)).unwrap();
        assert!(
            p.expected_samples <= 4.0 + 1e-12 && p.range.1 == 3.0,
            "{proxy}: {}",
            p.expected_samples
        );
        let s = tune(&data, &TuneSpec::new(MethodKind::Sbon).max_samples(4.0)).unwrap();
        assert!(s.sbon.iter().all(|r| r.n <= 4), "{proxy}");
        let t = tune(&data, &TuneSpec::new(MethodKind::Tilt).max_samples(4.0)).unwrap();
        assert!(t.expected_samples <= 4.0 + 1e-9, "{proxy}: {}", t.expected_samples);
    }
}

/// With a cost per sample, BoN's n maximises f(n) − C·n over the integers (brute force).
#[test]
fn cost_per_sample_maximises_the_net_reward() {
    let data = common::prepared(&common::load_csv(REWARDMATH, "proxy_internlm2"));
    let ns: Vec<f64> = (1..=10).map(f64::from).collect();
    let f = curve(&data, MethodKind::Bon, &ns, None, Estimator::Plugin).unwrap();
    for c in [0.0, 0.002, 0.01, 0.03, 0.2] {
        let o = tune(&data, &TuneSpec::new(MethodKind::Bon).cost_per_sample(c)).unwrap();
        let best = f.iter().fold(&f[0], |b, p| {
            if p.expected_true_reward - c * p.theta > b.expected_true_reward - c * b.theta + 1e-12 {
                p
            } else {
                b
            }
        });
        assert_eq!(o.theta, best.theta, "C = {c}");
    }
    // Bad budgets are typed errors.
    assert!(tune(&data, &TuneSpec::new(MethodKind::Bon).cost_per_sample(-1.0)).is_err());
    assert!(tune(&data, &TuneSpec::new(MethodKind::Bon).max_samples(0.5)).is_err());
    assert!(tune(&data, &TuneSpec::new(MethodKind::Bon).max_samples(f64::NAN)).is_err());
}

/// The paired difference of the ensemble-vs-single summary is the difference of the two rows'
/// held-out rewards.
#[test]
fn ensemble_gain_is_paired_on_the_held_out_prompts() {
    let (offsets, truth, cols) = columns(REWARDMATH, &["proxy_internlm2", "proxy_ArmoRM", "proxy_Eurus-RM"]);
    let names = ["proxy_internlm2", "proxy_ArmoRM", "proxy_Eurus-RM"];
    let proxies: Vec<ProxyColumn<'_>> = names.iter().zip(&cols).map(|(n, c)| ProxyColumn::new(n, c)).collect();
    let c = compare(
        &offsets,
        &truth,
        &proxies,
        &CompareSpec::new().ensembles(EnsembleRule::ALL),
    )
    .unwrap();
    assert_eq!(c.entries.len(), 7);
    let g = c.ensemble_vs_single.as_ref().unwrap();
    assert!(c.entries[g.ensemble].is_ensemble() && !c.entries[g.single].is_ensemble());
    let d = c.entries[g.ensemble].reward() - c.entries[g.single].reward();
    assert!((g.paired.difference - d).abs() < 1e-12);
    let uwo = c.entries.iter().find(|e| e.rule == Some(EnsembleRule::Uwo)).unwrap();
    assert!(uwo.lambda.is_some());
    let _: Paired = g.paired;
}
