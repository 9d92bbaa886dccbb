//! Regimes on the real calibration data in ../shared/data (see its README).

use crate::common;

use hedge_estimate::{MethodKind, Regime, TuneSpec, tune};

const REALSUMM: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/realsumm/scores.csv");
const REWARDMATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/data/rewardmath/scores.csv"
);

fn regimes(path: &str, proxy: &str) -> Vec<(MethodKind, Regime, f64)> {
    let data = common::prepared(&common::load_csv(path, proxy));
    [MethodKind::Bon, MethodKind::Bop, MethodKind::Tilt]
        .into_iter()
        .map(|k| {
            let o = tune(&data, &TuneSpec::new(k)).unwrap();
            (k, o.regime, o.theta)
        })
        .collect()
}

#[test]
fn realsumm_rouge_1_precision_is_hacked() {
    for (k, regime, theta) in regimes(REALSUMM, "proxy_rouge_1_precision") {
        assert_eq!(regime, Regime::Hacking, "{k}: theta = {theta}");
    }
}

#[test]
fn realsumm_rouge_2_recall_is_increasing() {
    for (k, regime, theta) in regimes(REALSUMM, "proxy_rouge_2_recall") {
        assert_eq!(regime, Regime::Increasing, "{k}: theta = {theta}");
    }
}

#[test]
fn rewardmath_internlm2_bon_is_increasing() {
    let data = common::prepared(&common::load_csv(REWARDMATH, "proxy_internlm2"));
    assert_eq!((data.prompts(), data.m_max()), (483, 10));
    let o = tune(&data, &TuneSpec::new(MethodKind::Bon)).unwrap();
    assert_eq!(o.regime, Regime::Increasing, "n = {}", o.theta);
    assert_eq!(o.theta, 10.0);
}
