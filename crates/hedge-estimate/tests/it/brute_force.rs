//! The plug-in estimator is the exact expectation of each method run on the prompt's own
//! responses (sampling with replacement): check it against direct simulation, within
//! 4 standard errors, for BoN (n below and above m), BoP, SBoN and the tilt.

use crate::common;

use hedge_estimate::{Estimator, MethodKind, Objective};
use hedge_math::select::{argmax, draw_poisson_n, softmax};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const DRAWS: usize = 200_000;

/// One selection from a prompt's responses, returning the chosen response's raw truth.
type Pick = dyn Fn(&[(f64, f64)], &mut ChaCha8Rng) -> f64;

fn simulate(prompts: &[Vec<(f64, f64)>], pick: &Pick, seed: u64) -> (f64, f64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let t = prompts.len() as f64;
    let (mut mean, mut var) = (0.0, 0.0);
    for p in prompts {
        let (mut s, mut ss) = (0.0, 0.0);
        for _ in 0..DRAWS {
            let r = pick(p, &mut rng);
            s += r;
            ss += r * r;
        }
        let m = s / DRAWS as f64;
        mean += m / t;
        var += (ss / DRAWS as f64 - m * m) / DRAWS as f64 / (t * t);
    }
    (mean, var.sqrt())
}

/// Draw `n` candidates with replacement, then choose among their proxies with `choose`.
fn best_of(p: &[(f64, f64)], n: u64, rng: &mut ChaCha8Rng, choose: &dyn Fn(&[f64], &mut ChaCha8Rng) -> usize) -> f64 {
    let idx: Vec<usize> = (0..n).map(|_| rng.random_range(0..p.len())).collect();
    let scores: Vec<f64> = idx.iter().map(|&i| p[i].0).collect();
    p[idx[choose(&scores, rng)]].1
}

fn check(kind: MethodKind, theta: f64, n: Option<u64>, pick: &Pick, seed: u64) {
    let prompts = common::small_with_ties();
    let data = common::prepared(&prompts);
    let f = Objective::new(&data, kind, n, Estimator::Plugin)
        .unwrap()
        .value(theta)
        .unwrap();
    let (sim, se) = simulate(&prompts, pick, seed);
    let z = (f - sim) / se;
    assert!(
        z.abs() < 4.0,
        "{kind} theta={theta} n={n:?}: plug-in {f:.6}, simulated {sim:.6} ± {se:.6} (z = {z:.2})"
    );
}

#[test]
fn bon_matches_simulation() {
    for (n, seed) in [(1u64, 1u64), (3, 2), (12, 3)] {
        let pick = move |p: &[(f64, f64)], rng: &mut ChaCha8Rng| best_of(p, n, rng, &|s, r| argmax(s, r).unwrap());
        check(MethodKind::Bon, n as f64, None, &pick, seed);
    }
}

#[test]
fn bop_matches_simulation() {
    for (mu, seed) in [(0.5, 4u64), (4.0, 5), (15.0, 6)] {
        let pick = move |p: &[(f64, f64)], rng: &mut ChaCha8Rng| {
            let n = draw_poisson_n(mu, rng).unwrap();
            best_of(p, n, rng, &|s, r| argmax(s, r).unwrap())
        };
        check(MethodKind::Bop, mu, None, &pick, seed);
    }
}

#[test]
fn sbon_matches_simulation() {
    for (n, beta, seed) in [(4u64, 2.0, 7u64), (8, 10.0, 8), (16, 0.7, 9), (3, 0.0, 10)] {
        let pick =
            move |p: &[(f64, f64)], rng: &mut ChaCha8Rng| best_of(p, n, rng, &|s, r| softmax(s, beta, r).unwrap());
        check(MethodKind::Sbon, beta, Some(n), &pick, seed);
    }
}

#[test]
fn tilt_matches_rejection_sampling() {
    // Exact sampling of the continuous tilt by rejection (accept u ~ U(0,1) with
    // probability e^{λ(u−1)}); the plug-in puts F(k/m) − F((k−1)/m) on rank k, i.e. maps u
    // to rank ⌈u m⌉, and a method that sees only the proxy picks uniformly inside a tie.
    for (lambda, seed) in [(1.0, 11u64), (5.0, 12), (30.0, 13)] {
        let pick = move |p: &[(f64, f64)], rng: &mut ChaCha8Rng| {
            let u = loop {
                let u: f64 = rng.random();
                if u > 0.0 && rng.random::<f64>() < (lambda * (u - 1.0)).exp() {
                    break u;
                }
            };
            let mut sorted: Vec<(f64, f64)> = p.to_vec();
            sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
            let k = ((u * p.len() as f64).ceil() as usize).clamp(1, p.len()) - 1;
            let tied: Vec<f64> = sorted.iter().filter(|x| x.0 == sorted[k].0).map(|x| x.1).collect();
            tied[rng.random_range(0..tied.len())]
        };
        check(MethodKind::Tilt, lambda, None, &pick, seed);
    }
}
