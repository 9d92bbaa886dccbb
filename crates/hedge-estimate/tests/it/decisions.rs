//! The statistics the CLI and the report used to compute themselves, now hedge-estimate's:
//! `curve_versus` (`hedge curve --versus`), `Comparison::leader_scores` (the leader's scores
//! behind `hedge report --proxy-cols`) and `Profile::peak_resolved` (the report's "Why").
//! Checked against direct computations.

use crate::common;

use hedge_estimate::compare::{CompareSpec, ProxyColumn, compare};
use hedge_estimate::ensemble::{EnsembleRule, combine};
use hedge_estimate::{
    Estimator, MethodKind, PROFILE_GAP_STDERRS, Paired, Prepared, Profile, ProfileBin, curve, curve_versus, synth,
};

const REALSUMM: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/realsumm/scores.csv");

/// Per prompt, the plug-in estimate of BoN's `f(n)`: `Σ_k w_k r_(k)` with the order-statistic
/// weights `(k/m)^n − ((k−1)/m)^n`, on responses sorted by proxy (no ties in the toy data).
fn bon_per_prompt(prompts: &[Vec<(f64, f64)>], n: f64) -> Vec<f64> {
    prompts
        .iter()
        .map(|p| {
            let mut p = p.clone();
            p.sort_by(|a, b| a.0.total_cmp(&b.0));
            let m = p.len() as f64;
            p.iter()
                .enumerate()
                .map(|(k, _)| ((k as f64 + 1.0) / m).powf(n) - (k as f64 / m).powf(n))
                .zip(p.iter().map(|x| x.1))
                .map(|(w, r)| w * r)
                .sum()
        })
        .collect()
}

#[test]
fn curve_versus_is_the_paired_difference_of_per_prompt_estimates() {
    let s = synth::toy(60, 12, 9).unwrap();
    let data = Prepared::new(&s.offsets, &s.proxy, &s.truth).unwrap();
    let prompts: Vec<Vec<(f64, f64)>> = s
        .offsets
        .windows(2)
        .map(|w| (w[0]..w[1]).map(|i| (s.proxy[i], s.truth[i])).collect())
        .collect();
    let thetas = [1.0, 2.0, 4.0, 8.0];
    let points = curve(&data, MethodKind::Bon, &thetas, None, Estimator::Plugin).unwrap();
    let v = curve_versus(&data, MethodKind::Bon, None, Estimator::Plugin, 4.0, &points).unwrap();
    assert_eq!(v.theta, 4.0);
    assert_eq!(v.points.len(), thetas.len());
    let reference = bon_per_prompt(&prompts, 4.0);
    for (p, r) in points.iter().zip(&v.points) {
        assert_eq!((r.theta, r.expected_samples), (p.theta, p.expected_samples));
        let direct = Paired::of(&bon_per_prompt(&prompts, p.theta), &reference);
        for (a, b) in [
            (r.paired.difference, direct.difference),
            (r.paired.stderr, direct.stderr),
        ] {
            assert!((a - b).abs() < 1e-12, "θ = {}: {a} vs {b}", p.theta);
        }
        // The paired difference is the difference of the curve's own estimates.
        let d = r.paired.difference - (p.expected_true_reward - points[2].expected_true_reward);
        assert!(d.abs() < 1e-12, "{d:e}");
    }
    assert_eq!(v.points[2].paired.difference, 0.0);
    // A reference outside the method's domain is the estimator's error.
    assert!(curve_versus(&data, MethodKind::Bon, None, Estimator::Plugin, 0.5, &points).is_err());
}

#[test]
fn leader_scores_are_its_column_or_its_ensemble_of_all_columns() {
    let names = ["proxy_rouge_1_precision", "proxy_js-2", "proxy_bert_recall_score"];
    let mut offsets = Vec::new();
    let mut truth = Vec::new();
    let mut cols = Vec::new();
    for n in names {
        let (o, p, t) = common::csr(&common::load_csv(REALSUMM, n));
        (offsets, truth) = (o, t);
        cols.push(p);
    }
    let proxies: Vec<ProxyColumn<'_>> = names.iter().zip(&cols).map(|(n, c)| ProxyColumn::new(n, c)).collect();
    let spec = CompareSpec::new()
        .ensembles([EnsembleRule::MeanZ, EnsembleRule::Uwo])
        .seed(3);
    let mut c = compare(&offsets, &truth, &proxies, &spec).unwrap();
    let members: Vec<&[f64]> = cols.iter().map(Vec::as_slice).collect();
    // Every row in turn as the leader.
    for i in 0..c.entries.len() {
        c.entries.swap(0, i);
        let lead = c.entries[0].clone();
        let got = c.leader_scores(&offsets, &proxies).unwrap();
        let want = match lead.rule {
            None => cols[names.iter().position(|n| *n == lead.proxy).unwrap()].clone(),
            Some(rule) => combine(rule, &offsets, &members, lead.lambda.unwrap_or(0.0)).unwrap(),
        };
        assert_eq!(got, want, "{}", lead.proxy);
        assert_eq!(got.len(), truth.len());
        c.entries.swap(0, i);
    }
    assert!(c.entries.iter().any(|e| e.is_ensemble()) && c.entries.iter().any(|e| !e.is_ensemble()));
    c.entries.clear();
    assert!(c.leader_scores(&offsets, &proxies).unwrap().is_empty());
}

fn bin(q: f64, reward: f64, stderr: f64) -> ProfileBin {
    ProfileBin {
        lo: q - 0.05,
        hi: q + 0.05,
        quantile: q,
        mean_true_reward: reward,
        stderr,
        prompts: 10,
        responses: 10,
    }
}

#[test]
fn peak_resolved_needs_a_peak_below_the_top_by_two_standard_errors() {
    let profile = |top_reward: f64, top_stderr: f64| Profile {
        bins: 3,
        points: vec![
            bin(0.15, 0.1, 0.01),
            bin(0.5, 0.7, 0.01),
            bin(0.85, top_reward, top_stderr),
        ],
    };
    assert_eq!(PROFILE_GAP_STDERRS, 2.0);
    // gap 0.1 against 2 × 0.04 = 0.08: resolved; against 2 × 0.06: not.
    assert!(profile(0.6, 0.04).peak_resolved());
    assert!(!profile(0.6, 0.06).peak_resolved());
    // A standard error that is not finite: any positive gap counts.
    assert!(profile(0.6, f64::NAN).peak_resolved());
    // The top bin is the peak (a tie goes to the top): nothing to resolve.
    assert!(!profile(0.7, 0.0).peak_resolved());
    assert!(!profile(0.9, 0.01).peak_resolved());
    assert!(
        !Profile {
            bins: 3,
            points: Vec::new()
        }
        .peak_resolved()
    );
}
