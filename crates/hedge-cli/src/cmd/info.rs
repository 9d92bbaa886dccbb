//! `hedge info`: what a calibration file holds (and how long reading it takes).

use std::time::Instant;

use clap::Args;
use hedge_data::LoadOptions;
use serde_json::json;

use super::data_args::DataArgs;
use crate::error::Result;
use crate::output::{fmt_sig, print, print_json};

/// Options of `hedge info`.
#[derive(Debug, Args)]
pub struct InfoArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Run `hedge info`: load the file only (no data pass), and summarise it.
pub fn run(args: &InfoArgs) -> Result<()> {
    let start = Instant::now();
    let opts = LoadOptions::new()
        .prompt_col(args.data.prompt_col.as_str())
        .proxy_col(args.data.proxy_col.as_str())
        .true_col(args.data.true_col.as_str())
        .maybe_format(args.data.format);
    let cal = hedge_data::load(&args.data.data, &opts)?;
    let load_seconds = start.elapsed().as_secs_f64();
    let stats = |xs: &[f64]| {
        let (mut lo, mut hi, mut sum) = (f64::INFINITY, f64::NEG_INFINITY, 0.0);
        for &x in xs {
            lo = lo.min(x);
            hi = hi.max(x);
            sum += x;
        }
        json!({"min": lo, "max": hi, "mean": sum / xs.len().max(1) as f64})
    };
    let v = json!({
        "data": cal.source,
        "prompts": cal.num_prompts(),
        "rows": cal.num_rows(),
        "rows_read": cal.rows_read,
        "skipped_prompts": cal.skipped_single,
        "responses_min": cal.min_responses(),
        "responses_max": cal.max_responses(),
        "proxy": stats(&cal.proxy),
        "true": stats(&cal.truth),
        "load_seconds": load_seconds,
    });
    if args.json {
        return print_json(&v);
    }
    print(&format!(
        "{}\n  prompts     {} ({} skipped with a single response)\n  rows        {}\n  responses   {}..{} per prompt\n  proxy       min {}  mean {}  max {}\n  true        min {}  mean {}  max {}\n  read in     {:.3} s\n",
        cal.source,
        cal.num_prompts(),
        cal.skipped_single,
        cal.num_rows(),
        cal.min_responses(),
        cal.max_responses(),
        fmt_sig(v["proxy"]["min"].as_f64().unwrap_or(0.0), 5),
        fmt_sig(v["proxy"]["mean"].as_f64().unwrap_or(0.0), 5),
        fmt_sig(v["proxy"]["max"].as_f64().unwrap_or(0.0), 5),
        fmt_sig(v["true"]["min"].as_f64().unwrap_or(0.0), 5),
        fmt_sig(v["true"]["mean"].as_f64().unwrap_or(0.0), 5),
        fmt_sig(v["true"]["max"].as_f64().unwrap_or(0.0), 5),
        load_seconds
    ))
}
