//! The verdict's kernels (issue "Performance: the verdict for free") against straightforward
//! references: the per-prompt values on the whole evidence grid in one pass
//! (`Objective::per_prompt_grid`, a matrix product per run of prompts with the same `m`) against
//! `Objective::per_prompt` column by column, and the max-t prompt bootstrap as matrix products
//! (the evidence of `tune` and `versus`) against a scalar loop over resamples, columns and
//! prompts written here as the evidence used to compute it (the same ChaCha8 counts).
//!
//! Tolerances: per-prompt values within 1e-12 of the scale of their sum (`max_k |r_(k)|`, which
//! bounds `Σ_k |r_(k) w_k|` since the weights are non-negative and sum to one — so a value that
//! cancels to nearly zero is held to the precision of its terms); critical values and intervals
//! within 1e-9 relative; verdicts, significance and θ† identical.

use hedge_estimate::{
    EVIDENCE_POINTS, Estimator, Objective, Paired, Prepared, TuneOutcome, TuneSpec, Verdict, synth, tune, versus,
};
use hedge_math::MethodKind;
use hedge_math::grid::{LogGrid, integers, with_extra};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Gaussian/Student-t data, equal `m`.
fn equal_m(prompts: usize, m: usize, seed: u64) -> Prepared {
    synth::gaussian(prompts, m, 0.7, 2.5, seed).unwrap().prepare().unwrap()
}

/// The same generator cut to unequal `m` (runs of equal `m`, then changes; some prompts of
/// one response, which are skipped), with proxies rounded to `decimals` (ties) when given.
fn unequal_m(prompts: usize, m_max: usize, seed: u64, decimals: Option<i32>) -> Prepared {
    let s = synth::gaussian(prompts, m_max, 0.7, 2.5, seed).unwrap();
    let (mut offsets, mut proxy, mut truth) = (vec![0], Vec::new(), Vec::new());
    for t in 0..prompts {
        // runs of three prompts with the same m, m cycling through 1..=m_max
        let m = 1 + (t / 3 * 7) % m_max;
        let rows = s.offsets[t]..s.offsets[t] + m;
        for i in rows {
            let p = match decimals {
                Some(d) => (s.proxy[i] * 10f64.powi(d)).round() / 10f64.powi(d),
                None => s.proxy[i],
            };
            proxy.push(p);
            truth.push(s.truth[i]);
        }
        offsets.push(proxy.len());
    }
    Prepared::new(&offsets, &proxy, &truth).unwrap()
}

fn data_sets() -> Vec<(&'static str, Prepared)> {
    vec![
        ("equal m", equal_m(60, 40, 1)),
        ("unequal m", unequal_m(90, 30, 2, None)),
        ("unequal m, ties", unequal_m(90, 30, 3, Some(1))),
        ("equal m, ties", {
            let s = synth::gaussian(70, 25, 0.7, 2.5, 4).unwrap();
            let proxy: Vec<f64> = s.proxy.iter().map(|p| (p * 2.0).round() / 2.0).collect();
            Prepared::new(&s.offsets, &proxy, &s.truth).unwrap()
        }),
    ]
}

/// The evidence grid's parameters of a tuned outcome (BoN, BoP, tilt), as the evidence builds it.
fn evidence_thetas(o: &TuneOutcome) -> Vec<f64> {
    let (lo, hi) = o.range;
    match o.method {
        MethodKind::Bon => with_extra(integers(lo, hi, EVIDENCE_POINTS), lo, hi, &[o.theta]),
        _ => with_extra(LogGrid::new(lo, hi, EVIDENCE_POINTS).points(), lo, hi, &[o.theta]),
    }
}

fn assert_grid_matches(name: &str, obj: &Objective<'_>, thetas: &[f64]) {
    let data = obj.data();
    let grid = obj.per_prompt_grid(thetas).unwrap();
    assert_eq!(grid.len(), thetas.len(), "{name}");
    for (col, &theta) in grid.iter().zip(thetas) {
        let reference = obj.per_prompt(theta).unwrap();
        assert_eq!(col.len(), reference.len(), "{name}");
        for (t, (a, b)) in col.iter().zip(&reference).enumerate() {
            let scale = data.ranked_truth(t).iter().fold(0.0f64, |m, r| m.max(r.abs()));
            assert!(
                (a - b).abs() <= 1e-12 * scale.max(b.abs()),
                "{name} {:?} θ = {theta}, prompt {t}: {a} vs {b}",
                obj.kind()
            );
        }
    }
}

#[test]
fn per_prompt_grid_matches_per_prompt() {
    for (name, p) in data_sets() {
        for (kind, thetas) in [
            (MethodKind::Bon, vec![1.0, 2.0, 3.0, 7.0, 24.0, 100.0]),
            (MethodKind::Bop, vec![0.0, 0.3, 2.5, 22.45, 999.0]),
            (MethodKind::Tilt, vec![0.0, 1.0, 8.0, 30.0, 400.0]),
        ] {
            for est in [Estimator::Plugin, Estimator::Paper] {
                let obj = Objective::new(&p, kind, None, est).unwrap();
                assert_grid_matches(name, &obj, &thetas);
            }
        }
        let obj = Objective::new(&p, MethodKind::Bon, None, Estimator::Unbiased).unwrap();
        let ns: Vec<f64> = (1..=p.m_min()).map(|n| n as f64).collect();
        assert_grid_matches(name, &obj, &ns);
    }
}

#[test]
fn per_prompt_grid_edge_cases() {
    let p = unequal_m(40, 12, 5, None);
    let obj = Objective::new(&p, MethodKind::Bop, None, Estimator::Plugin).unwrap();
    assert!(obj.per_prompt_grid(&[]).unwrap().is_empty());
    // An invalid θ anywhere on the grid is the error `per_prompt` gives.
    assert!(obj.per_prompt(-1.0).is_err());
    assert!(obj.per_prompt_grid(&[1.0, -1.0]).is_err());
    assert!(obj.per_prompt_grid(&[1.0, f64::NAN]).is_err());
    let unbiased = Objective::new(&p, MethodKind::Bon, None, Estimator::Unbiased).unwrap();
    assert!(unbiased.per_prompt_grid(&[1.0, 2.5]).is_err());
    // SBoN keeps its own path: the columns are `per_prompt`'s, bit for bit.
    let sbon = Objective::new(&p, MethodKind::Sbon, Some(4), Estimator::Plugin).unwrap();
    let grid = sbon.per_prompt_grid(&[0.5, 5.0]).unwrap();
    assert_eq!(grid[0], sbon.per_prompt(0.5).unwrap());
    assert_eq!(grid[1], sbon.per_prompt(5.0).unwrap());
}

/// The evidence's counts: resample `b` is ChaCha8 stream `b` of the seed, `T` uniform draws.
fn counts(t_count: usize, seed: u64, b: usize) -> Vec<u32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(b as u64);
    let mut c = vec![0u32; t_count];
    for _ in 0..t_count {
        c[rng.random_range(0..t_count)] += 1;
    }
    c
}

/// Mean and standard error of `d` weighted by counts: one scalar pass of `Σ c·x`, `Σ c·x²`.
fn weighted(d: &[f64], c: &[u32], t: f64) -> (f64, f64) {
    let (mut s1, mut s2) = (0.0, 0.0);
    for (&x, &c) in d.iter().zip(c) {
        if c > 0 {
            let c = c as f64;
            s1 += c * x;
            s2 += c * x * x;
        }
    }
    let mean = s1 / t;
    let var = ((s2 - t * mean * mean) / (t - 1.0)).max(0.0);
    (mean, (var / t).sqrt())
}

fn stderr(d: &[f64]) -> f64 {
    let t = d.len() as f64;
    let mean = d.iter().sum::<f64>() / t;
    (d.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (t - 1.0)).sqrt() / t.sqrt()
}

/// The reference gap over column `r`: (critical value, significant, interval).
struct RefGap {
    critical: f64,
    significant: bool,
    interval: [f64; 2],
}

/// The scalar max-t bootstrap over the columns' differences against column `r`.
fn reference_gap(cols: &[Vec<f64>], r: usize, level: f64, resamples: usize, seed: u64) -> RefGap {
    let d: Vec<Vec<f64>> = cols
        .iter()
        .map(|c| c.iter().zip(&cols[r]).map(|(a, b)| a - b).collect())
        .collect();
    let t_count = cols[r].len();
    let t = t_count as f64;
    let mean: Vec<f64> = d.iter().map(|x| x.iter().sum::<f64>() / t).collect();
    let se: Vec<f64> = d.iter().map(|x| stderr(x)).collect();
    let live: Vec<usize> = (0..d.len()).filter(|&g| se[g] > 0.0).collect();
    let (mut ones, mut twos) = (Vec::new(), Vec::new());
    for b in 0..resamples {
        let c = counts(t_count, seed, b);
        let (mut one, mut two) = (f64::NEG_INFINITY, 0.0f64);
        for &g in &live {
            let (m, s) = weighted(&d[g], &c, t);
            if s > 0.0 {
                let z = (m - mean[g]) / s;
                one = one.max(z);
                two = two.max(z.abs());
            }
        }
        ones.push(one);
        twos.push(two);
    }
    let quantile = |mut v: Vec<f64>| {
        if live.is_empty() {
            return f64::NAN;
        }
        v.sort_by(f64::total_cmp);
        let k = ((level * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1;
        v[k]
    };
    let (c1, c2) = (quantile(ones), quantile(twos));
    let m = live.iter().map(|&g| mean[g] / se[g]).fold(f64::NEG_INFINITY, f64::max);
    let band = |sign: f64| {
        (0..d.len())
            .map(|g| mean[g] + sign * c2 * se[g].max(0.0))
            .fold(f64::NEG_INFINITY, f64::max)
    };
    RefGap {
        critical: c1,
        significant: c1.is_finite() && m > c1,
        interval: [band(-1.0), band(1.0)],
    }
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    a == b || (a - b).abs() <= rel * a.abs().max(b.abs())
}

fn assert_gap(what: &str, got: &hedge_estimate::Gap, want: &RefGap) {
    assert!(
        close(got.critical, want.critical, 1e-9),
        "{what}: critical {} vs {}",
        got.critical,
        want.critical
    );
    assert_eq!(got.significant, want.significant, "{what}");
    for (a, b) in got.interval.iter().zip(&want.interval) {
        // The interval's ends are differences of levels: relative to the levels' scale.
        assert!((a - b).abs() <= 1e-9 * (b.abs() + 1e-3), "{what}: interval {a} vs {b}");
    }
}

/// The verdict from the reference gaps, as the evidence decides it (module docs of the evidence).
fn reference_verdict(cols: &[Vec<f64>], star: usize, gain: &RefGap, loss: &RefGap, critical: f64) -> Verdict {
    let (lo, hi) = (0, cols.len() - 1);
    let p_loss = Paired::of(&cols[star], &cols[hi]);
    if loss.significant {
        let p = Paired::of(&cols[lo], &cols[hi]);
        let from_lo = star == lo || (p.stderr > 0.0 && p.difference / p.stderr > critical);
        return if !gain.significant && from_lo {
            Verdict::ProxyHurts
        } else {
            Verdict::Hacking
        };
    }
    if p_loss.difference > 0.0 && p_loss.z >= 1.0 {
        Verdict::Inconclusive
    } else {
        Verdict::NoHackingDetected
    }
}

#[test]
fn evidence_matches_the_scalar_bootstrap() {
    let mut verdicts = Vec::new();
    for (name, p) in data_sets() {
        for kind in [MethodKind::Bon, MethodKind::Bop, MethodKind::Tilt] {
            for (seed, level) in [(0u64, 0.95), (7, 0.8)] {
                let spec = TuneSpec::new(kind).seed(seed).confidence(level);
                let o = tune(&p, &spec).unwrap();
                let ev = o.evidence.as_ref().unwrap();
                let thetas = evidence_thetas(&o);
                assert_eq!(ev.grid_points, thetas.len(), "{name} {kind:?}");
                let obj = Objective::new(&p, kind, None, Estimator::Plugin).unwrap();
                let cols: Vec<Vec<f64>> = thetas.iter().map(|&th| obj.per_prompt(th).unwrap()).collect();
                let big = cols.iter().flatten().fold(0.0f64, |m, v| m.max(v.abs()));
                assert!(big < 1e100, "no power-of-two scaling on these data");
                let star = thetas.iter().position(|&th| th == o.theta).unwrap();
                let hi = thetas.len() - 1;
                let what = format!("{name} {kind:?} seed {seed} level {level}");
                let gain = reference_gap(&cols, 0, level, ev.resamples, seed);
                let loss = reference_gap(&cols, hi, level, ev.resamples, seed);
                assert_gap(&format!("{what} gain"), &ev.gain, &gain);
                assert_gap(&format!("{what} loss"), &ev.loss_at_default, &loss);
                let p_gain = Paired::of(&cols[star], &cols[0]);
                assert!((ev.gain.paired.difference - p_gain.difference).abs() <= 1e-12, "{what}");
                let verdict = reference_verdict(&cols, star, &gain, &loss, loss.critical);
                assert_eq!(o.verdict, Some(verdict), "{what}");
                assert_eq!(ev.hacking_significant, loss.significant, "{what}");
                verdicts.push(verdict);
            }
        }
    }
    // The sets exercise more than one verdict.
    verdicts.dedup();
    assert!(verdicts.len() > 1, "{verdicts:?}");
}

#[test]
fn versus_matches_the_scalar_bootstrap() {
    // One reference (the single-gap path), on and off the grid.
    for (name, p) in data_sets() {
        for (kind, theta) in [(MethodKind::Bop, 3.0), (MethodKind::Bon, 2.0), (MethodKind::Tilt, 1.0)] {
            let spec = TuneSpec::new(kind).seed(3);
            let o = tune(&p, &spec).unwrap();
            let grid = evidence_thetas(&o);
            let obj = Objective::new(&p, kind, None, Estimator::Plugin).unwrap();
            for reference in [theta, grid[grid.len() / 2]] {
                let gap = versus(&p, &spec, &o, reference, None).unwrap();
                let mut thetas = grid.clone();
                let r = match thetas.iter().position(|&th| th == reference) {
                    Some(r) => r,
                    None => {
                        thetas.push(reference);
                        thetas.len() - 1
                    }
                };
                let cols: Vec<Vec<f64>> = thetas.iter().map(|&th| obj.per_prompt(th).unwrap()).collect();
                let want = reference_gap(&cols, r, spec.get_confidence(), spec.get_resamples(), 3);
                assert_gap(&format!("{name} {kind:?} versus {reference}"), &gap, &want);
            }
        }
    }
}

#[test]
fn many_prompts_take_smaller_blocks_of_resamples() {
    // T = 20,000 prompts: the bootstrap's blocks hold fewer than 64 resamples (2^20 counts each).
    let p = equal_m(20_000, 3, 6);
    let spec = TuneSpec::new(MethodKind::Bop).seed(1).resamples(150);
    let o = tune(&p, &spec).unwrap();
    let ev = o.evidence.as_ref().unwrap();
    let thetas = evidence_thetas(&o);
    let obj = Objective::new(&p, MethodKind::Bop, None, Estimator::Plugin).unwrap();
    let cols: Vec<Vec<f64>> = thetas.iter().map(|&th| obj.per_prompt(th).unwrap()).collect();
    let hi = thetas.len() - 1;
    assert_gap("gain", &ev.gain, &reference_gap(&cols, 0, 0.95, 150, 1));
    assert_gap("loss", &ev.loss_at_default, &reference_gap(&cols, hi, 0.95, 150, 1));
}
