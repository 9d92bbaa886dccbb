//! Flags shared by every command that reads calibration data.

use clap::Args;
use hedge_data::{Calibration, Format, LoadOptions};
use hedge_estimate::ensemble::{self, EnsembleRule};
use hedge_estimate::{Budget, Columns, Prepared, Source, TuneSpec};

use crate::error::{CliError, Result};

/// Where the calibration data is and which columns to use.
///
/// Exactly one of `--data` and `--store` (a group on the struct would take in every field of it, and
/// make `--data` and `--proxy-col` exclusive).
#[derive(Debug, Clone, Args)]
pub struct DataArgs {
    /// Calibration file, one row per response: CSV, JSON lines or Parquet (by extension); `-` reads stdin.
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present = "store",
        conflicts_with = "store"
    )]
    pub data: Option<String>,
    /// Read the labelled prompts of a `hedge serve` calibration store instead (`sqlite:PATH` or
    /// `postgres://…`): each served request whose candidates all have gold rewards is a prompt.
    #[arg(long, value_name = "URL", value_parser = super::store_url::StoreUrl)]
    pub store: Option<String>,
    /// With --store: only the most recent N labelled prompts.
    #[arg(long, requires = "store", conflicts_with = "data", value_name = "N", value_parser = super::values::count(1..=1_000_000_000))]
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
    /// Refuse the file if a proxy or true reward in it has an absolute value above X (such values overflow
    /// the estimators' sums); the error names the file, line, column and value. X: finite, > 0.
    #[arg(
        long,
        value_name = "X",
        default_value_t = hedge_data::DEFAULT_MAX_ABS_REWARD,
        allow_negative_numbers = true,
        value_parser = super::values::positive
    )]
    pub max_abs_reward: f64,
    /// Refuse a CSV or JSON-lines file (or stdin) with a line longer than N bytes (default: 16 MiB), after
    /// reading at most about N bytes of it.
    #[arg(
        long,
        value_name = "N",
        default_value_t = hedge_data::DEFAULT_MAX_LINE_BYTES,
        allow_negative_numbers = true,
        value_parser = super::values::count(1..=super::values::MAX_BYTES)
    )]
    pub max_line_bytes: usize,
    /// Threads that parse a CSV file: 2 (the default) splits a file of 8 MiB or more at a record boundary
    /// and parses both halves at once; 1 reads it on one thread (to leave a core free, or to time the
    /// single-thread parse). Either way the data and any error are the same.
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = super::values::count_u32(1..=2))]
    pub parse_threads: u32,
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
            let cal = store_calibration(url, None, self.last, self.max_abs_reward)?;
            let prepared = Prepared::new(&cal.offsets, &cal.proxy, &cal.truth)?;
            return Ok(Loaded {
                source: hedge_store::redact(url),
                skipped_single: cal.skipped_single,
                prepared,
            });
        };
        // Sorted while reading, on a second thread: the data pass then has no sort left to do.
        let opts = self.load_options().sort_by_proxy(true);
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
///
/// The store is opened read-only (nothing is created: a missing store is an error naming it), and the
/// calibration's source, like any error about its rows (no labelled prompt), names the store by its
/// redacted URL.
/// Every proxy and gold reward must be within `±max_abs_reward` (`--max-abs-reward`), like a file's: an
/// error names the store, the row (in export order), the request and the value.
pub fn store_calibration(
    url: &str,
    since_ms: Option<i64>,
    last: Option<usize>,
    max_abs_reward: f64,
) -> Result<Calibration> {
    let shown = hedge_store::redact(url);
    let mut store = hedge_store::open_read_only(url)?;
    let labelled = store.labelled(since_ms, last)?;
    let mut row = 0u64;
    for p in &labelled {
        for (&x, &y) in p.proxy.iter().zip(&p.gold) {
            row += 1;
            for (value, reward, column) in [
                (x, hedge_data::Reward::Proxy, "proxy"),
                (y, hedge_data::Reward::True, "true"),
            ] {
                if !(value.abs() <= max_abs_reward) {
                    return Err(CliError::Data(hedge_data::DataError::RewardTooLarge {
                        path: format!("{shown} (request {})", p.id),
                        location: hedge_data::Location::Row(row),
                        field: None,
                        column: column.into(),
                        reward,
                        // Shortest exact form, in scientific notation when huge (1e300, not 301 digits).
                        value: if value.abs() >= 1e16 {
                            format!("{value:e}")
                        } else {
                            value.to_string()
                        },
                        bound: max_abs_reward,
                    }));
                }
            }
        }
    }
    let mut cal = labelled_calibration(&labelled).map_err(|e| match e {
        CliError::Data(mut e) => {
            use hedge_data::DataError as D;
            if let D::Empty { path } | D::NoMultiResponsePrompt { path, .. } | D::NonFinite { path, .. } = &mut e {
                path.clone_from(&shown);
            }
            CliError::Data(e)
        }
        e => e,
    })?;
    cal.source = shown;
    Ok(cal)
}

/// Labelled prompts as calibration data (the loader's grouping and checks).
pub fn labelled_calibration(labelled: &[hedge_store::Labelled]) -> Result<Calibration> {
    let rows = labelled
        .iter()
        .flat_map(|p| p.proxy.iter().zip(&p.gold).map(move |(&x, &y)| (p.id.as_str(), x, y)));
    Ok(Calibration::from_rows(rows)?)
}

/// The proxy columns of a file, loaded one by one (same prompts, rows and true rewards).
pub struct ProxyColumns {
    /// Where the data came from.
    pub source: String,
    /// Prompts the loader skipped for having a single response.
    pub skipped_single: usize,
    /// CSR offsets, shared by every column.
    pub offsets: Vec<usize>,
    /// True rewards, shared by every column.
    pub truth: Vec<f64>,
    /// `(name, scores)` per column, in the order asked.
    pub columns: Vec<(String, Vec<f64>)>,
}

impl ProxyColumns {
    /// The columns as `hedge_estimate::compare` takes them.
    pub fn as_proxies(&self) -> Vec<hedge_estimate::compare::ProxyColumn<'_>> {
        self.columns
            .iter()
            .map(|(n, s)| hedge_estimate::compare::ProxyColumn::new(n, s))
            .collect()
    }
}

impl DataArgs {
    /// The proxy columns to use: `cols` when given, else every column whose name starts with
    /// `prefix` (in file order). A usage error with --store (one proxy only) or standard input
    /// (read once per column).
    pub fn proxy_column_names(&self, cols: Option<&[String]>, prefix: &str) -> Result<Vec<String>> {
        let Some(path) = &self.data else {
            return Err(CliError::Usage(
                "several proxy columns need --data FILE (a store holds one proxy)".into(),
            ));
        };
        if path == "-" {
            return Err(CliError::Usage(
                "several proxy columns need a file, not standard input (each column is one pass over the file)".into(),
            ));
        }
        if let Some(cols) = cols {
            return Ok(cols.to_vec());
        }
        let all = hedge_data::column_names(path, &self.load_options())?;
        let found: Vec<String> = all.iter().filter(|c| c.starts_with(prefix)).cloned().collect();
        if found.is_empty() {
            return Err(CliError::Mismatch(format!(
                "{path}: no column starts with {prefix:?} (columns: {}); give --proxy-cols",
                all.join(", ")
            )));
        }
        Ok(found)
    }

    /// Loader options of these flags: columns, format, the bound on rewards and the cap on lines (file order:
    /// rows stay aligned across columns).
    pub fn load_options(&self) -> LoadOptions {
        LoadOptions::new()
            .prompt_col(self.prompt_col.as_str())
            .proxy_col(self.proxy_col.as_str())
            .true_col(self.true_col.as_str())
            .maybe_format(self.format)
            .max_abs_reward(self.max_abs_reward)
            .max_line_bytes(self.max_line_bytes)
            .parallel_min_bytes(if self.parse_threads < 2 {
                u64::MAX
            } else {
                hedge_data::DEFAULT_PARALLEL_MIN_BYTES
            })
    }

    /// Load each named proxy column (file order), checking that every load gives the same prompts,
    /// rows and true rewards.
    pub fn load_columns(&self, names: &[String]) -> Result<ProxyColumns> {
        let path = self.data.as_deref().unwrap_or("-");
        let mut out: Option<ProxyColumns> = None;
        for name in names {
            if out.as_ref().is_some_and(|o| o.columns.iter().any(|(n, _)| n == name)) {
                return Err(CliError::Usage(format!("proxy column {name:?} is listed twice")));
            }
            let cal = hedge_data::load(path, &self.load_options().proxy_col(name.as_str()))?;
            match &mut out {
                None => {
                    out = Some(ProxyColumns {
                        source: cal.source,
                        skipped_single: cal.skipped_single,
                        offsets: cal.offsets,
                        truth: cal.truth,
                        columns: vec![(name.clone(), cal.proxy)],
                    })
                }
                Some(o) => {
                    if cal.offsets != o.offsets || cal.truth != o.truth {
                        return Err(CliError::Mismatch(format!(
                            "{path}: loading column {name:?} gave other prompts or rows than {:?}",
                            o.columns[0].0
                        )));
                    }
                    o.columns.push((name.clone(), cal.proxy));
                }
            }
        }
        out.ok_or_else(|| CliError::Usage("no proxy column given".into()))
    }
}

/// `--ensemble` values.
pub fn ensemble_rule(s: &str) -> std::result::Result<EnsembleRule, String> {
    EnsembleRule::parse(s).ok_or_else(|| {
        let names: Vec<&str> = EnsembleRule::ALL.iter().map(|r| r.name()).collect();
        format!("unknown ensemble rule {s:?} (expected one of {})", names.join(", "))
    })
}

/// `--proxy-cols a,b,… --ensemble RULE [--ensemble-lambda L]`: select by an ensemble of several
/// proxy columns instead of `--proxy-col` (`hedge tune`, `curve`, `report`).
#[derive(Debug, Clone, Args)]
pub struct EnsembleArgs {
    /// Proxy columns combined by --ensemble (comma-separated; replaces --proxy-col).
    #[arg(long, value_delimiter = ',', value_name = "A,B,…", requires = "ensemble", num_args = 1..)]
    pub proxy_cols: Option<Vec<String>>,
    /// How the --proxy-cols are combined, per prompt: mean-z (mean of within-prompt z-scores), min-z
    /// (the worst member), uwo (mean − λ·variance across members), rank-mean (mean within-prompt rank).
    #[arg(long, value_parser = ensemble_rule, requires = "proxy_cols", value_name = "RULE")]
    pub ensemble: Option<EnsembleRule>,
    /// uwo's λ (default: tuned for the method on the calibration prompts, from 0, 0.05, …, 8).
    #[arg(long, requires = "ensemble", value_name = "L", allow_negative_numbers = true, value_parser = super::values::non_negative)]
    pub ensemble_lambda: Option<f64>,
}

/// An ensemble's scores, its name and (uwo) its λ.
pub struct EnsembleLoaded {
    /// The data pass over the ensemble's scores.
    pub loaded: Loaded,
    /// `rule(a,b,…)`.
    pub name: String,
    /// uwo's λ.
    pub lambda: Option<f64>,
}

impl EnsembleArgs {
    /// Load `data`: its `--proxy-col`, or the ensemble of `--proxy-cols`. uwo's λ, when not given, is
    /// tuned with `spec` on the calibration prompts: all of them, or those outside the hold-out
    /// split `(frac, seed)` when one is made (the same split `hedge tune --holdout` makes).
    pub fn load(&self, data: &DataArgs, spec: &TuneSpec, holdout: Option<(f64, u64)>) -> Result<EnsembleLoaded> {
        let (Some(cols), Some(rule)) = (&self.proxy_cols, self.ensemble) else {
            return Ok(EnsembleLoaded {
                loaded: data.load()?,
                name: data.proxy_col.clone(),
                lambda: None,
            });
        };
        if cols.len() < 2 {
            return Err(CliError::Usage("--ensemble needs at least two --proxy-cols".into()));
        }
        if !rule.has_lambda() && self.ensemble_lambda.is_some() {
            return Err(CliError::Usage(
                "--ensemble-lambda applies to --ensemble uwo only".into(),
            ));
        }
        let names = data.proxy_column_names(Some(cols), "")?;
        let pc = data.load_columns(&names)?;
        let members: Vec<&[f64]> = pc.columns.iter().map(|(_, s)| s.as_slice()).collect();
        let ensemble::EnsembleScores { scores, lambda } = ensemble::ensemble_scores(
            rule,
            &pc.offsets,
            &members,
            &pc.truth,
            spec,
            self.ensemble_lambda,
            holdout,
        )?;
        let prepared = Prepared::from_vecs(pc.offsets, scores, pc.truth)?;
        Ok(EnsembleLoaded {
            loaded: Loaded {
                source: pc.source,
                skipped_single: pc.skipped_single,
                prepared,
            },
            name: format!("{rule}({})", names.join(",")),
            lambda,
        })
    }
}

/// `--max-samples B`, `--cost-per-sample C`: tune under a compute budget.
#[derive(Debug, Clone, Copy, Args)]
pub struct BudgetArgs {
    /// Only parameters with at most B expected samples per request (BoN n ≤ B, BoP μ ≤ B − 1, SBoN n ≤ B).
    #[arg(long, value_name = "B", allow_negative_numbers = true, value_parser = super::values::at_least_one)]
    pub max_samples: Option<f64>,
    /// Maximise E[true reward] − C·E[samples] instead: C is what one more sample is worth giving up, in
    /// units of true reward (default 0).
    #[arg(long, value_name = "C", allow_negative_numbers = true, value_parser = super::values::non_negative)]
    pub cost_per_sample: Option<f64>,
}

impl BudgetArgs {
    /// The budget.
    pub fn budget(&self) -> Budget {
        Budget {
            max_samples: self.max_samples,
            cost_per_sample: self.cost_per_sample.unwrap_or(0.0),
        }
    }
    /// `spec` under this budget.
    pub fn apply(&self, spec: TuneSpec) -> TuneSpec {
        let spec = spec.maybe_max_samples(self.max_samples);
        match self.cost_per_sample {
            Some(c) => spec.cost_per_sample(c),
            None => spec,
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
