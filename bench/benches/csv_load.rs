//! Criterion benchmark of CSV loading (issue: CSV below the single-thread parse floor).
//!
//! `cargo bench -p hedge-bench --bench csv_load`. Data: `hedge_estimate::synth::gaussian` (the generator of
//! `hedge simulate gaussian`), 1,000 prompts × 1,000 responses, seed 0, written as `hedge simulate` writes it
//! (`prompt_id,response_id,proxy,true`, shortest round-trip decimals): about 49 MB in the system temp dir.
//!
//! - `csv_load/sequential`: `hedge_data::load` with `parallel_min_bytes(u64::MAX)`, the single reading thread
//!   (with the second thread that sorts each prompt by proxy, as `hedge tune` loads);
//! - `csv_load/parallel`: the default options, which parse the two halves of the file on two threads;
//! - `csv_load/parse_only`: the default options without the sort, as `hedge info` loads.

use std::hint::black_box;
use std::io::Write;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hedge_data::LoadOptions;
use hedge_estimate::synth;

/// Writes the benchmark's CSV file and returns its path and size.
fn csv_file() -> (String, u64) {
    let s = synth::gaussian(1_000, 1_000, 0.7, 2.5, 0).expect("valid synthetic parameters");
    let path = std::env::temp_dir().join(format!("hedge-bench-csv-load-{}.csv", std::process::id()));
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).expect("temp file"));
    writeln!(out, "prompt_id,response_id,proxy,true").expect("write");
    for p in 0..s.offsets.len() - 1 {
        for (r, i) in (s.offsets[p]..s.offsets[p + 1]).enumerate() {
            writeln!(out, "p{p:04},{r},{},{}", s.proxy[i], s.truth[i]).expect("write");
        }
    }
    out.flush().expect("write");
    let size = std::fs::metadata(&path).expect("temp file").len();
    (path.to_str().expect("UTF-8 temp dir").to_string(), size)
}

fn csv_load(c: &mut Criterion) {
    let (path, size) = csv_file();
    let tune = LoadOptions::new().sort_by_proxy(true);
    let mut g = c.benchmark_group("csv_load");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(size));
    for (name, opts) in [
        ("sequential", tune.clone().parallel_min_bytes(u64::MAX)),
        ("parallel", tune.clone()),
        ("parse_only", LoadOptions::new()),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| black_box(hedge_data::load(&path, &opts).expect("the generated file loads")))
        });
    }
    g.finish();
    let _ = std::fs::remove_file(&path);
}

criterion_group!(benches, csv_load);
criterion_main!(benches);
