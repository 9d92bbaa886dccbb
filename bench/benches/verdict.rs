//! Criterion benchmarks of the verdict's evidence (issue: "Performance: the verdict for free").
//!
//! `cargo bench -p hedge-bench --bench verdict`. Data: BoP on 10,000 prompts × 1,000 responses of
//! `hedge_estimate::synth::gaussian(10_000, 1_000, 0.7, 2.5, 0)` (as `kernels.rs` and
//! `hedge simulate gaussian --prompts 10000 --responses 1000 --seed 0`).
//!
//! - `verdict/tune_bop`: the whole `tune` — HedgeTune, then the evidence (per-prompt values on the
//!   evidence grid of 34 θ, the two max-t prompt bootstraps of 1,000 resamples) and the verdict;
//! - `verdict/grid_bop`: the per-prompt values on that grid in one pass
//!   (`Objective::per_prompt_grid`, a matrix product per block of prompts), and
//!   `verdict/grid_bop_by_column` the same by one `Objective::per_prompt` pass per θ (how the grid
//!   was computed before: the comparison inside one binary);
//! - `verdict/versus_bop`: `versus` θ = 999 — the grid plus one max-t bootstrap (the bootstrap of
//!   `tune` serves both of its references with the same resamples).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use hedge_estimate::{EVIDENCE_POINTS, Estimator, Objective, TuneSpec, synth, tune, versus};
use hedge_math::MethodKind;
use hedge_math::grid::{LogGrid, with_extra};

fn verdict(c: &mut Criterion) {
    let p = synth::gaussian(10_000, 1_000, 0.7, 2.5, 0)
        .expect("valid synthetic parameters")
        .prepare()
        .expect("valid data");
    let spec = TuneSpec::new(MethodKind::Bop);
    let o = tune(&p, &spec).expect("tunable");
    let (lo, hi) = o.range;
    let thetas = with_extra(LogGrid::new(lo, hi, EVIDENCE_POINTS).points(), lo, hi, &[o.theta]);
    let obj = Objective::new(&p, MethodKind::Bop, None, Estimator::Plugin).expect("supported");
    let mut g = c.benchmark_group("verdict");
    g.sample_size(10);
    g.bench_function("tune_bop", |b| b.iter(|| black_box(tune(&p, &spec).expect("tunable"))));
    g.bench_function("grid_bop", |b| {
        b.iter(|| black_box(obj.per_prompt_grid(black_box(&thetas)).expect("valid θ")))
    });
    g.bench_function("grid_bop_by_column", |b| {
        b.iter(|| {
            thetas
                .iter()
                .map(|&t| obj.per_prompt(t).expect("valid θ"))
                .collect::<Vec<_>>()
        })
    });
    g.bench_function("versus_bop", |b| {
        b.iter(|| black_box(versus(&p, &spec, &o, hi, None).expect("valid reference")))
    });
    g.finish();
}

criterion_group!(benches, verdict);
criterion_main!(benches);
