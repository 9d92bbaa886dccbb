//! `hedge export`: the gold-labelled prompts of a calibration store, as a calibration file.

use clap::Args;
use hedge_data::{Calibration, CalibrationWriter, DataError, Format, Row};
use hedge_store::Round;

use super::data_args::labelled_calibration;
use super::store_url::StoreUrl;
use super::values;
use crate::error::{CliError, Result};
use crate::output::print;

/// Options of `hedge export`.
///
/// Writes one row per candidate of every labelled prompt (a served request whose candidates all have gold
/// rewards): prompt_id (the response id), response_id (the candidate's index), proxy and true — the long
/// format `hedge tune`, `curve` and `report` read.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The store: `sqlite:PATH` or `postgres://…` (opened read-only: nothing is created).
    #[arg(long, value_name = "URL", value_parser = StoreUrl)]
    pub store: String,
    /// Only prompts whose labels were completed at or after this time (milliseconds since the Unix epoch).
    #[arg(long, value_name = "MS", value_parser = values::count_u64(0..=i64::MAX as u64), conflicts_with = "round")]
    pub since: Option<u64>,
    /// Only the most recent N labelled prompts.
    #[arg(long, value_name = "N", value_parser = values::count(1..=1_000_000_000), conflicts_with = "round")]
    pub last: Option<usize>,
    /// Exactly the window a re-tuning of `hedge serve` ran on: a round number, or `last` for the latest.
    #[arg(long, value_name = "ROUND", value_parser = clap::builder::ValueParser::new(str::parse::<Round>))]
    pub round: Option<Round>,
    /// Output file (CSV, JSON lines or Parquet by extension; `-` is stdout as CSV unless --format).
    #[arg(long, value_name = "FILE")]
    pub out: String,
    /// Force the output format (csv, jsonl, parquet).
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<Format>,
}

/// The labelled prompts to export, from the store opened read-only.
fn select(args: &ExportArgs) -> Result<Vec<hedge_store::Labelled>> {
    let mut store = hedge_store::open_read_only(&args.store)?;
    Ok(match args.round {
        None => store.labelled(args.since.map(|s| s as i64), args.last)?,
        Some(round) => hedge_store::round_window(&mut *store, round)?.1,
    })
}

/// The labelled prompts as calibration data; an error (no prompt, none with two candidates) names
/// the store, not the in-memory table it was built in.
fn calibration(labelled: &[hedge_store::Labelled], store: &str) -> Result<Calibration> {
    labelled_calibration(labelled).map_err(|e| match e {
        CliError::Data(mut e) => {
            if let DataError::Empty { path }
            | DataError::NoMultiResponsePrompt { path, .. }
            | DataError::NonFinite { path, .. } = &mut e
            {
                *path = hedge_store::redact(store);
            }
            CliError::Data(e)
        }
        e => e,
    })
}

/// Run `hedge export`.
pub fn run(args: &ExportArgs) -> Result<()> {
    let labelled = select(args)?;
    let cal = calibration(&labelled, &args.store)?;
    let format = args.format.or(if args.out == "-" { Some(Format::Csv) } else { None });
    let mut w = CalibrationWriter::create(&args.out, format)?;
    for p in &labelled {
        for ((&proxy, &truth), &index) in p.proxy.iter().zip(&p.gold).zip(&p.index) {
            w.write_row(&Row {
                prompt_id: &p.id,
                response_id: Some(index as u64),
                proxy,
                truth,
            })?;
        }
    }
    let rows = w.finish()?;
    if args.out != "-" {
        print(&format!(
            "hedge export: {} labelled prompts ({} usable, {} with a single candidate skipped by the loaders), {rows} rows to {}\n",
            labelled.len(),
            cal.num_prompts(),
            cal.skipped_single,
            args.out
        ))?;
    }
    Ok(())
}
