//! `hedge info`: what a calibration file holds (and how long reading it takes).

use std::time::Instant;

use clap::Args;
use hedge_estimate::{ColumnStats, FileSummary};

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
    let info = FileSummary {
        load_seconds: start.elapsed().as_secs_f64(),
        prompts: cal.num_prompts(),
        rows: cal.num_rows(),
        rows_read: cal.rows_read,
        skipped_prompts: cal.skipped_single,
        responses_min: cal.min_responses(),
        responses_max: cal.max_responses(),
        proxy: ColumnStats::of(&cal.proxy),
        truth: ColumnStats::of(&cal.truth),
        source: cal.source,
    };
    if args.json {
        return print_json(&info);
    }
    let f = |x: f64| fmt_sig(x, 5);
    print(&format!(
        "{}\n  prompts     {} ({} skipped with a single response)\n  rows        {}\n  responses   {}..{} per prompt\n  proxy       min {}  mean {}  max {}\n  true        min {}  mean {}  max {}\n  read in     {:.3} s\n",
        info.source,
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
