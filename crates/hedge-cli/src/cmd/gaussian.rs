//! `hedge simulate gaussian`: write a seeded synthetic calibration set.

use clap::Args;
use hedge_data::{CalibrationWriter, Format, Row};
use hedge_estimate::synth;

use super::values;
use crate::error::Result;

/// Options of `hedge simulate gaussian`.
#[derive(Debug, Args)]
pub struct GaussianArgs {
    /// Number of prompts T.
    #[arg(long, default_value_t = 1000, value_parser = values::count(1..=values::MAX_PROMPTS))]
    pub prompts: usize,
    /// Responses per prompt m.
    #[arg(long, default_value_t = 64, value_parser = values::count(1..=values::MAX_RESPONSES))]
    pub responses: usize,
    /// Scale of the proxy's noise: proxy = true + scale·noise.
    #[arg(long, default_value_t = synth::DEFAULT_NOISE_SCALE, value_parser = values::non_negative)]
    pub noise: f64,
    /// Degrees of freedom of the Student-t noise (its heavy tail makes the proxy hackable).
    #[arg(long, default_value_t = synth::DEFAULT_DF, value_parser = values::positive)]
    pub df: f64,
    /// Gaussian instead of Student-t noise: the true reward of best-of-n then keeps increasing.
    #[arg(long)]
    pub monotone: bool,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output file (CSV, JSON lines or Parquet by extension; `-` is stdout as CSV unless --format).
    #[arg(long, value_name = "FILE")]
    pub out: String,
    /// Force the output format (csv, jsonl, parquet).
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<Format>,
}

/// Run `hedge simulate gaussian`.
pub fn run(args: &GaussianArgs) -> Result<()> {
    let s = if args.monotone {
        synth::gaussian_monotone(args.prompts, args.responses, args.noise, args.seed)?
    } else {
        synth::gaussian(args.prompts, args.responses, args.noise, args.df, args.seed)?
    };
    let format = args.format.or(if args.out == "-" { Some(Format::Csv) } else { None });
    let mut w = CalibrationWriter::create(&args.out, format)?;
    let width = (args.prompts.max(2) - 1).to_string().len();
    let mut id = String::new();
    for t in 0..s.prompts() {
        id.clear();
        id.push_str(&format!("p{t:0width$}"));
        for (k, i) in (s.offsets[t]..s.offsets[t + 1]).enumerate() {
            w.write_row(&Row {
                prompt_id: &id,
                response_id: Some(k as u64),
                proxy: s.proxy[i],
                truth: s.truth[i],
            })?;
        }
    }
    let rows = w.finish()?;
    eprintln!(
        "hedge: wrote {rows} rows ({} prompts x {} responses, {} noise, seed {}) to {}",
        args.prompts,
        args.responses,
        if args.monotone {
            "gaussian".to_string()
        } else {
            format!("student-t(df={})", args.df)
        },
        args.seed,
        args.out
    );
    Ok(())
}
