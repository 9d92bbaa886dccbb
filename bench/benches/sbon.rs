//! Criterion benchmarks of the exact plug-in SBoN estimator (issue "Performance: SBoN in real time").
//!
//! `cargo bench -p hedge-bench --bench sbon` (all), or with a filter, e.g. `-- sbon_tune/n16`.
//! Data: `hedge_estimate::synth::gaussian` (true ~ N(0,1), proxy = true + 0.7·t(2.5)), seed 0,
//! 1,000 prompts × 64 responses — the file of `hedge simulate gaussian --prompts 1000
//! --responses 64 --seed 0` that the issue timed.
//!
//! - `sbon_kernel/*`: one evaluation of `f(β)` and `f'(β)` over all prompts
//!   (`Objective::value_and_slope`, the per-prompt kernel run once per prompt) at n = 16 and
//!   n = 64, at a small, a medium and a large β (the large ones are where the tuner converges on
//!   this data, β ≈ 790 at n = 16);
//! - `sbon_tune/*`: a whole `tune` (scan, Brent, estimate, KL, evidence grid and verdict) at
//!   n = 16 and n = 64, next to the same tune for BoP (`tune/bop`), the yardstick
//!   (goal: SBoN at n = 16 within 4× of BoP).

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use hedge_estimate::{Estimator, Objective, Prepared, TuneSpec, synth, tune};
use hedge_math::MethodKind;

fn data() -> Prepared {
    synth::gaussian(1_000, 64, 0.7, 2.5, 0)
        .expect("valid synthetic parameters")
        .prepare()
        .expect("valid data")
}

fn kernel(c: &mut Criterion) {
    let p = data();
    let mut g = c.benchmark_group("sbon_kernel");
    g.sample_size(20);
    g.throughput(Throughput::Elements(p.prompts() as u64));
    for n in [16u64, 64] {
        let obj = Objective::new(&p, MethodKind::Sbon, Some(n), Estimator::Plugin).expect("supported");
        for beta in [2.0, 40.0, 790.0] {
            g.bench_with_input(BenchmarkId::new(format!("f_and_df_n{n}"), beta), &beta, |b, &beta| {
                b.iter(|| black_box(obj.value_and_slope(black_box(beta)).expect("valid beta")))
            });
        }
    }
    g.finish();
}

fn tuning(c: &mut Criterion) {
    let p = data();
    let mut g = c.benchmark_group("sbon_tune");
    g.sample_size(10);
    let bop = TuneSpec::new(MethodKind::Bop);
    g.bench_function("bop", |b| b.iter(|| black_box(tune(&p, &bop).expect("tunes"))));
    for n in [16u64, 64] {
        let spec = TuneSpec::new(MethodKind::Sbon).n_grid([n]);
        g.bench_function(format!("n{n}"), |b| {
            b.iter(|| black_box(tune(&p, &spec).expect("tunes")))
        });
    }
    g.finish();
}

criterion_group!(benches, kernel, tuning);
criterion_main!(benches);
