//! Accuracy pins of the fast paths of the exact SBoN kernel: small clusters of close proxies
//! (summed by the multinomial expansion instead of quadrature) against a brute-force integral,
//! and the objective's `f'` against a difference quotient of its `f`.

use hedge_estimate::{Estimator, MethodKind, Objective, Prepared, sbon_choice_probabilities};

/// `P(k)` and `∂β P(k)` by uniform 16-point Gauss–Legendre panels of width 1/8 in `x = ln t`
/// over the whole range, every response at every node (slow, simple).
fn reference(proxy: &[f64], n: u64, beta: f64) -> (Vec<f64>, Vec<f64>) {
    // 8-point Gauss–Legendre on [−1, 1] (positive half), used on halves of each panel.
    const X: [f64; 4] = [
        0.1834346424956498,
        0.525532409916329,
        0.7966664774136267,
        0.9602898564975363,
    ];
    const W: [f64; 4] = [
        0.362683783378362,
        0.3137066458778873,
        0.2223810344533745,
        0.1012285362903763,
    ];
    let m = proxy.len() as f64;
    let smax = proxy.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let smin = proxy.iter().copied().fold(f64::INFINITY, f64::min);
    let (lo, hi) = (-60.0 - (n as f64).ln(), beta * (smax - smin) + 8.0);
    let h = 0.125;
    let panels = ((hi - lo) / h).ceil() as usize;
    let nm1 = (n - 1) as f64;
    let (mut p, mut dp) = (vec![0.0; proxy.len()], vec![0.0; proxy.len()]);
    let ye = |y: f64| if y > 800.0 { 0.0 } else { y * (-y).exp() };
    for i in 0..panels {
        let c = lo + h * (i as f64 + 0.5);
        for (xk, wk) in X.iter().zip(&W) {
            for sign in [-1.0, 1.0] {
                let x = c + sign * xk * h / 2.0;
                let w = wk * h / 2.0;
                let ys: Vec<f64> = proxy.iter().map(|&s| (x + beta * (s - smax)).exp()).collect();
                let phi: f64 = ys.iter().map(|y| (-y).exp()).sum::<f64>() / m;
                if phi == 0.0 {
                    continue;
                }
                let big = phi.powf(nm1);
                if big == 0.0 {
                    continue;
                }
                let dphi: f64 = -proxy.iter().zip(&ys).map(|(&s, &y)| (s - smax) * ye(y)).sum::<f64>() / m;
                let l = nm1 * dphi / phi;
                for k in 0..proxy.len() {
                    let v = (n as f64 / m) * w * big * ye(ys[k]);
                    if v == 0.0 {
                        continue;
                    }
                    p[k] += v;
                    dp[k] += v * ((proxy[k] - smax) * (1.0 - ys[k]) + l);
                }
            }
        }
    }
    (p, dp)
}

/// Clusters of two and three close proxies (and ties inside them), far from the rest.
#[test]
fn small_clusters_match_the_reference_integral() {
    let cases: [&[f64]; 4] = [
        &[0.0, 0.01, 5.0, 10.0],
        &[0.0, 0.004, 0.011, 3.0, 3.02, 9.0, -4.0],
        &[1.0, 1.0, 1.005, 2.0, 2.0, 2.0, 2.03, -1.0],
        &[0.5, 0.52, 0.53, 0.56, 0.6, 4.0],
    ];
    for proxy in cases {
        for n in [2u64, 3, 8, 16, 40, 64] {
            for beta in [100.0, 300.0, 1000.0, 3000.0] {
                let (p, dp) = sbon_choice_probabilities(proxy, n, beta).unwrap();
                let (rp, rdp) = reference(proxy, n, beta);
                let sum: f64 = p.iter().sum();
                assert!((sum - 1.0).abs() < 1e-13, "{proxy:?} n={n} beta={beta}: sum {sum}");
                assert!(dp.iter().sum::<f64>().abs() < 1e-12, "{proxy:?} n={n} beta={beta}");
                for k in 0..proxy.len() {
                    assert!(
                        (p[k] - rp[k]).abs() < 1e-12,
                        "{proxy:?} n={n} beta={beta} k={k}: {} vs {}",
                        p[k],
                        rp[k]
                    );
                    assert!(
                        (dp[k] - rdp[k]).abs() < 1e-9 * (1.0 + rdp[k].abs()),
                        "{proxy:?} n={n} beta={beta} k={k}: d {} vs {}",
                        dp[k],
                        rdp[k]
                    );
                }
            }
        }
    }
}

/// The objective's `f` equals `Σ r P` of the choice probabilities, and its `f'` a central
/// difference quotient of `f`, on prompts whose clusters take every path of the kernel.
#[test]
fn objective_value_and_slope_agree_with_the_probabilities() {
    let proxy = [
        0.0, 0.01, 5.0, 10.0, 10.003, 1.0, 1.2, 1.25, 1.3, 2.0, 2.0, 2.0001, -3.0, 0.5, 0.7, 0.9,
    ];
    let truth: Vec<f64> = (0..proxy.len()).map(|i| ((i * 7 % 5) as f64) * 0.3 - 0.4).collect();
    let prep = Prepared::new(&[0, proxy.len()], &proxy, &truth).unwrap();
    for n in [2u64, 16, 64, 1000] {
        let obj = Objective::new(&prep, MethodKind::Sbon, Some(n), Estimator::Plugin).unwrap();
        for beta in [0.3, 3.0, 30.0, 300.0, 3000.0] {
            let (f, d) = obj.value_and_slope(beta).unwrap();
            let (p, _) = sbon_choice_probabilities(prep.sorted_proxy(0), n, beta).unwrap();
            let f2: f64 = p.iter().zip(prep.ranked_truth(0)).map(|(a, b)| a * b).sum();
            assert!((f - f2).abs() < 1e-12, "n={n} beta={beta}: {f} vs {f2}");
            let h = 1e-5 * beta;
            let fd = (obj.value(beta + h).unwrap() - obj.value(beta - h).unwrap()) / (2.0 * h);
            assert!(
                (d - fd).abs() < 1e-6 * (1.0 + d.abs()) + 1e-9 / h,
                "n={n} beta={beta}: f' {d} vs difference {fd}"
            );
        }
    }
}
