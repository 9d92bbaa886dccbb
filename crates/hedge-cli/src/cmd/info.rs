//! `hedge info`: what a calibration file holds (and how long reading it takes).

use std::time::Instant;

use clap::Args;
use serde::Serialize;

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

/// Smallest, largest and mean of a column.
#[derive(Serialize)]
struct Stats {
    min: f64,
    max: f64,
    mean: f64,
}

impl Stats {
    fn of(xs: &[f64]) -> Self {
        let (mut min, mut max, mut sum) = (f64::INFINITY, f64::NEG_INFINITY, 0.0);
        for &x in xs {
            min = min.min(x);
            max = max.max(x);
            sum += x;
        }
        Self {
            min,
            max,
            mean: sum / xs.len().max(1) as f64,
        }
    }
}

/// The `hedge info --json` object.
#[derive(Serialize)]
struct Info {
    data: String,
    prompts: usize,
    rows: usize,
    rows_read: usize,
    skipped_prompts: usize,
    responses_min: usize,
    responses_max: usize,
    proxy: Stats,
    #[serde(rename = "true")]
    truth: Stats,
    load_seconds: f64,
}

/// Run `hedge info`: load the file only (no data pass), and summarise it.
pub fn run(args: &InfoArgs) -> Result<()> {
    let start = Instant::now();
    let opts = args.data.load_options();
    let cal = match (&args.data.data, &args.data.store) {
        (Some(path), _) => hedge_data::load(path, &opts)?,
        (None, url) => super::data_args::store_calibration(
            url.as_deref().unwrap_or_default(),
            None,
            args.data.last,
            args.data.max_abs_reward,
        )?,
    };
    let info = Info {
        load_seconds: start.elapsed().as_secs_f64(),
        prompts: cal.num_prompts(),
        rows: cal.num_rows(),
        rows_read: cal.rows_read,
        skipped_prompts: cal.skipped_single,
        responses_min: cal.min_responses(),
        responses_max: cal.max_responses(),
        proxy: Stats::of(&cal.proxy),
        truth: Stats::of(&cal.truth),
        data: cal.source,
    };
    if args.json {
        return print_json(&info);
    }
    let f = |x: f64| fmt_sig(x, 5);
    print(&format!(
        "{}\n  prompts     {} ({} skipped with a single response)\n  rows        {}\n  responses   {}..{} per prompt\n  proxy       min {}  mean {}  max {}\n  true        min {}  mean {}  max {}\n  read in     {:.3} s\n",
        info.data,
        info.prompts,
        info.skipped_prompts,
        info.rows,
        info.responses_min,
        info.responses_max,
        f(info.proxy.min),
        f(info.proxy.mean),
        f(info.proxy.max),
        f(info.truth.min),
        f(info.truth.mean),
        f(info.truth.max),
        info.load_seconds
    ))
}
