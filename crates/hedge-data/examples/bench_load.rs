//! Rough load-time benchmark: writes `PROMPTS x RESPONSES` synthetic rows with [`CalibrationWriter`] in each
//! format to a temporary directory, loads them back with [`load`], prints the timings and deletes the files.
//!
//! ```text
//! cargo run --release -p hedge-data --example bench_load -- [PROMPTS] [RESPONSES] [DIR] [FORMATS]
//! ```
//! Defaults: 10000 prompts, 1000 responses, the system temp dir, `parquet,csv,jsonl`. With the environment
//! variable `HEDGE_BENCH_KEEP` set, the files are kept and reused by the next run (for profiling the load).

use std::time::Instant;

use hedge_data::{CalibrationWriter, Format, LoadOptions, Row, load};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let prompts: usize = args.first().map_or(Ok(10_000), |s| s.parse())?;
    let responses: usize = args.get(1).map_or(Ok(1_000), |s| s.parse())?;
    let dir = args.get(2).map_or_else(std::env::temp_dir, Into::into);
    let formats: Vec<Format> = args
        .get(3)
        .map_or("parquet,csv,jsonl", String::as_str)
        .split(',')
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    let rows = prompts * responses;
    println!("{prompts} prompts x {responses} responses = {rows} rows");
    for format in formats {
        let path = dir.join(format!("hedge-data-bench-{prompts}x{responses}.{}", format.extension()));
        let path = path.to_str().ok_or("non-UTF-8 temp path")?.to_string();
        let keep = std::env::var_os("HEDGE_BENCH_KEEP").is_some();
        let t = Instant::now();
        if !(keep && std::path::Path::new(&path).exists()) {
            write_file(&path, format, prompts, responses)?;
        }
        let written = t.elapsed();
        let size = std::fs::metadata(&path)?.len();

        let t = Instant::now();
        let cal = load(&path, &LoadOptions::new());
        let loaded = t.elapsed();
        if !keep {
            std::fs::remove_file(&path)?;
        }
        let cal = cal?;
        assert_eq!(cal.num_rows(), rows);
        assert_eq!(cal.num_prompts(), prompts);
        println!(
            "{format:>8}: {:7.1} MB  write {:6.2} s  load {:6.3} s  ({:.0} rows/s)",
            size as f64 / 1e6,
            written.as_secs_f64(),
            loaded.as_secs_f64(),
            rows as f64 / loaded.as_secs_f64()
        );
    }
    Ok(())
}

/// Writes `prompts x responses` rows of synthetic data.
fn write_file(path: &str, format: Format, prompts: usize, responses: usize) -> Result<(), hedge_data::DataError> {
    let mut w = CalibrationWriter::create(path, Some(format))?;
    // A cheap deterministic pseudo-random stream (xorshift) so the data is not trivially compressible.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut id = String::new();
    for p in 0..prompts {
        id.clear();
        id.push_str(&format!("prompt{p:06}"));
        for r in 0..responses {
            let truth = next();
            let proxy = truth + 0.5 * next();
            w.write_row(&Row {
                prompt_id: &id,
                response_id: Some(r as u64),
                proxy,
                truth,
            })?;
        }
    }
    w.finish()?;
    Ok(())
}
