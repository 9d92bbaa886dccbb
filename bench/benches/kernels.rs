//! Criterion benchmarks of the estimator kernels (issue: performance).
//!
//! `cargo bench -p hedge-bench` (all), or e.g. `cargo bench -p hedge-bench -- sbon` (a filter).
//! Data: `hedge_estimate::synth::gaussian` (true ~ N(0,1), proxy = true + 0.7·t(2.5)), seed 0,
//! the same generator as `hedge simulate gaussian` and bench/compare.sh.
//!
//! - `prepare/*`: the data pass — per-prompt sort by proxy, tie averaging, rank aggregation
//!   (`Prepared::new`), at 1,000 × 1,000 rows;
//! - `plugin/*`: one evaluation of the plug-in `f(θ)` and `f'(θ)` (`Objective::value_and_slope`)
//!   for BoN, BoP and the tilt, on the rank-aggregated curve of 10,000 × 1,000 rows (the cost of
//!   one root-finder step, independent of the number of prompts);
//! - `sbon/*`: the exact SBoN plug-in `f` and `f'` (n = 16) on 1,000 × 64 at small, medium and large β,
//!   and the per-response choice probabilities of one prompt (`sbon_choice_probabilities`);
//! - `tune/*`: a whole HedgeTune (scan + Brent) for BoP on 10,000 × 1,000 and SBoN (n = 16) on 1,000 × 64.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use hedge_estimate::{Estimator, Objective, TuneSpec, sbon_choice_probabilities, synth, tune};
use hedge_math::MethodKind;

fn data(prompts: usize, responses: usize) -> synth::Synthetic {
    synth::gaussian(prompts, responses, 0.7, 2.5, 0).expect("valid synthetic parameters")
}

fn prepare(c: &mut Criterion) {
    let s = data(1_000, 1_000);
    let mut g = c.benchmark_group("prepare");
    g.sample_size(20);
    g.throughput(Throughput::Elements(*s.offsets.last().unwrap_or(&0) as u64));
    g.bench_function("sort_rank_1000x1000", |b| {
        b.iter(|| black_box(s.prepare().expect("valid data")))
    });
    g.finish();
}

fn plugin(c: &mut Criterion) {
    let p = data(10_000, 1_000).prepare().expect("valid data");
    let mut g = c.benchmark_group("plugin");
    for (kind, theta) in [
        (MethodKind::Bon, 23.0),
        (MethodKind::Bop, 22.45),
        (MethodKind::Tilt, 30.0),
    ] {
        let obj = Objective::new(&p, kind, None, Estimator::Plugin).expect("supported");
        g.bench_with_input(BenchmarkId::new("f_and_df", kind.name()), &theta, |b, &t| {
            b.iter(|| black_box(obj.value_and_slope(black_box(t)).expect("valid theta")))
        });
    }
    g.finish();
}

fn sbon(c: &mut Criterion) {
    let p = data(1_000, 64).prepare().expect("valid data");
    let obj = Objective::new(&p, MethodKind::Sbon, Some(16), Estimator::Plugin).expect("supported");
    let mut g = c.benchmark_group("sbon");
    g.sample_size(20);
    g.throughput(Throughput::Elements(p.prompts() as u64));
    for beta in [0.5, 5.0, 50.0, 1000.0] {
        g.bench_with_input(BenchmarkId::new("f_and_df_n16_1000x64", beta), &beta, |b, &beta| {
            b.iter(|| black_box(obj.value_and_slope(black_box(beta)).expect("valid beta")))
        });
    }
    let one = p.sorted_proxy(0).to_vec();
    g.throughput(Throughput::Elements(1));
    g.bench_function("choice_probabilities_n16_m64_beta5", |b| {
        b.iter(|| black_box(sbon_choice_probabilities(black_box(&one), 16, 5.0).expect("valid")))
    });
    g.finish();
}

fn tuning(c: &mut Criterion) {
    let big = data(10_000, 1_000).prepare().expect("valid data");
    let small = data(1_000, 64).prepare().expect("valid data");
    let mut g = c.benchmark_group("tune");
    g.sample_size(10);
    let bop = TuneSpec::new(MethodKind::Bop);
    g.bench_function("bop_10000x1000", |b| {
        b.iter(|| black_box(tune(&big, &bop).expect("tunes")))
    });
    let sb = TuneSpec::new(MethodKind::Sbon).n_grid([16]);
    g.bench_function("sbon_n16_1000x64", |b| {
        b.iter(|| black_box(tune(&small, &sb).expect("tunes")))
    });
    g.finish();
}

criterion_group!(benches, prepare, plugin, sbon, tuning);
criterion_main!(benches);
