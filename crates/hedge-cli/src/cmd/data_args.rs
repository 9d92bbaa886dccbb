//! Flags shared by every command that reads calibration data.

use clap::Args;
use hedge_data::{Calibration, Format, LoadOptions};
use hedge_estimate::{Columns, Estimator, Prepared, Source};

use crate::error::{CliError, Result};

/// Where the calibration data is and which columns to use.
#[derive(Debug, Clone, Args)]
#[group(id = "source", required = true, multiple = false, args = ["data", "store"])]
pub struct DataArgs {
    /// Calibration file, one row per response: CSV, JSON lines or Parquet (by extension); `-` reads stdin.
    #[arg(long, value_name = "FILE")]
    pub data: Option<String>,
    /// Read the labelled prompts of a `hedge serve` calibration store instead (`sqlite:PATH` or
    /// `postgres://…`): each served request whose candidates all have gold rewards is a prompt.
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
    /// With --store: only the most recent N labelled prompts.
    #[arg(long, requires = "store", value_name = "N", value_parser = super::values::count(1..=1_000_000_000))]
    pub last: Option<usize>,
    /// Column holding the prompt id.
    #[arg(long, default_value = hedge_data::DEFAULT_PROMPT_COL, value_name = "NAME")]
    pub prompt_col: String,
    /// Column holding the proxy reward (the reward-model score the method sees).
    #[arg(long, default_value = hedge_data::DEFAULT_PROXY_COL, value_name = "NAME")]
    pub proxy_col: String,
    /// Column holding the true reward.
    #[arg(long, default_value = hedge_data::DEFAULT_TRUE_COL, value_name = "NAME")]
    pub true_col: String,
    /// Force the file format (csv, jsonl, parquet) instead of guessing it from the extension.
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<Format>,
}

/// Loaded and prepared calibration data.
pub struct Loaded {
    /// Where the data came from (the path, or `<stdin>`).
    pub source: String,
    /// Prompts the loader skipped for having a single response.
    pub skipped_single: usize,
    /// After the data pass (sorted, tie-averaged, rank-aggregated); it owns the rows.
    pub prepared: Prepared,
}

impl Loaded {
    /// Prompts skipped for having a single response (by the loader or the data pass).
    pub fn skipped_prompts(&self) -> usize {
        self.skipped_single + self.prepared.skipped_prompts()
    }
}

impl DataArgs {
    /// Where the loaded data came from, as the JSON outputs name it.
    pub fn source(&self, loaded: &Loaded) -> Source {
        Source {
            data: loaded.source.clone(),
            columns: Columns {
                prompt: self.prompt_col.clone(),
                proxy: self.proxy_col.clone(),
                truth: self.true_col.clone(),
            },
        }
    }
}

impl DataArgs {
    /// Load the file (or the store's labelled prompts) and run the data pass.
    pub fn load(&self) -> Result<Loaded> {
        let Some(path) = &self.data else {
            let url = self.store.as_deref().unwrap_or_default();
            let cal = store_calibration(url, None, self.last)?;
            let prepared = Prepared::new(&cal.offsets, &cal.proxy, &cal.truth)?;
            return Ok(Loaded {
                source: hedge_store::redact(url),
                skipped_single: cal.skipped_single,
                prepared,
            });
        };
        let opts = LoadOptions::new()
            .prompt_col(self.prompt_col.as_str())
            .proxy_col(self.proxy_col.as_str())
            .true_col(self.true_col.as_str())
            .maybe_format(self.format)
            // Sorted while reading, on a second thread: the data pass then has no sort left to do.
            .sort_by_proxy(true);
        let Calibration {
            offsets,
            proxy,
            truth,
            skipped_single,
            source,
            ..
        } = hedge_data::load(path, &opts)?;
        // The rows move into the data pass, which finishes them in place (no copy).
        let prepared = Prepared::from_vecs(offsets, proxy, truth)?;
        Ok(Loaded {
            source,
            skipped_single,
            prepared,
        })
    }
}

/// The labelled prompts of a store (labels completed at or after `since_ms`, the most recent `last`), as
/// calibration data: one prompt per labelled request, named by its response id.
pub fn store_calibration(url: &str, since_ms: Option<i64>, last: Option<usize>) -> Result<Calibration> {
    let mut store = hedge_store::open(url)?;
    let labelled = store.labelled(since_ms, last)?;
    labelled_calibration(&labelled)
}

/// Labelled prompts as calibration data (the loader's grouping and checks).
pub fn labelled_calibration(labelled: &[hedge_store::Labelled]) -> Result<Calibration> {
    let rows = labelled
        .iter()
        .flat_map(|p| p.proxy.iter().zip(&p.gold).map(move |(&x, &y)| (p.id.as_str(), x, y)));
    Ok(Calibration::from_rows(rows)?)
}

/// `--estimator` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EstimatorArg {
    /// Exact plug-in estimator (sampling with replacement from each prompt's responses); any θ.
    Plugin,
    /// Unbiased Best-of-n (without replacement; integer n up to the smallest prompt's size).
    Unbiased,
    /// The paper's self-normalised estimator (for comparison only).
    Paper,
}

impl From<EstimatorArg> for Estimator {
    fn from(e: EstimatorArg) -> Self {
        match e {
            EstimatorArg::Plugin => Estimator::Plugin,
            EstimatorArg::Unbiased => Estimator::Unbiased,
            EstimatorArg::Paper => Estimator::Paper,
        }
    }
}

/// Parse `LO:HI`.
pub fn parse_range(s: &str) -> std::result::Result<(f64, f64), String> {
    let (a, b) = s.split_once(':').ok_or_else(|| format!("expected LO:HI, got {s:?}"))?;
    let lo: f64 = a.trim().parse().map_err(|_| format!("LO in {s:?} is not a number"))?;
    let hi: f64 = b.trim().parse().map_err(|_| format!("HI in {s:?} is not a number"))?;
    if !(lo.is_finite() && hi.is_finite() && lo <= hi) {
        return Err(format!("range {s:?} must have finite LO <= HI"));
    }
    Ok((lo, hi))
}

/// Parse `LO:HI:K` (K ≥ 1 points, ends included).
pub fn parse_grid(s: &str) -> std::result::Result<(f64, f64, usize), String> {
    let mut it = s.split(':');
    let (Some(a), Some(b), Some(k), None) = (it.next(), it.next(), it.next(), it.next()) else {
        return Err(format!("expected LO:HI:K, got {s:?}"));
    };
    let (lo, hi) = parse_range(&format!("{a}:{b}"))?;
    let k: usize = k
        .trim()
        .parse()
        .map_err(|_| format!("K in {s:?} is not a positive integer"))?;
    if k == 0 || k > super::values::MAX_GRID_POINTS {
        return Err(format!(
            "K in {s:?} must be between 1 and {}",
            super::values::MAX_GRID_POINTS
        ));
    }
    Ok((lo, hi, k))
}

/// `--confidence`: a level in [0.5, 1).
pub fn check_confidence(level: f64) -> Result<()> {
    if (0.5..1.0).contains(&level) {
        Ok(())
    } else {
        Err(CliError::Usage(format!(
            "--confidence must be a level in [0.5, 1), got {level}"
        )))
    }
}

/// Reject flags that only make sense for SBoN.
pub fn check_sbon_flags(is_sbon: bool, n: Option<u64>, n_grid: bool) -> Result<()> {
    if !is_sbon && (n.is_some() || n_grid) {
        return Err(CliError::Usage("--n and --n-grid apply to --method sbon only".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_grids() {
        assert_eq!(parse_range("1:64"), Ok((1.0, 64.0)));
        assert!(parse_range("5:1").is_err());
        assert!(parse_range("a:1").is_err());
        assert_eq!(parse_grid("0:10:11"), Ok((0.0, 10.0, 11)));
        assert!(parse_grid("0:10").is_err());
        assert!(parse_grid("0:10:0").is_err());
    }
}
