//! `hedge report`: plots, `summary.json` and one self-contained HTML page for a calibration set.
//!
//! Parse, call, write: the numbers are [`hedge_estimate::survey`]'s (each method's tuning is the
//! very [`hedge_estimate::TuneReport`] that `hedge tune --json` prints), the pictures, verdict and
//! page [`hedge_report::render_survey`]'s.

use std::path::{Path, PathBuf};

use clap::Args;
use hedge_estimate::{Survey, SurveySpec, survey};
use hedge_math::MethodKind;
use hedge_report::{ExtraFigure, ThetaStep, leaderboard_table, pareto_plot, render_survey_extra, theta_plot};
use serde::Serialize;

use super::data_args::{BudgetArgs, DataArgs, Loaded, ensemble_rule};
use super::method_args::MethodArg;
use super::values;
use crate::error::{CliError, Result};
use crate::output::{print, to_json};
use hedge_estimate::compare::{CompareSpec, Comparison, DEFAULT_COMPARE_HOLDOUT, compare};
use hedge_estimate::ensemble::EnsembleRule;
use hedge_estimate::{Columns, Prepared, Source};

/// Options of `hedge report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Directory to write the report into (created if missing; existing files of the report are replaced).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Hold out this fraction of prompts: tune on the rest, report true rewards on the held-out prompts.
    #[arg(long, value_name = "FRAC", value_parser = values::fraction)]
    pub holdout: Option<f64>,
    /// Seed of the hold-out split and of the verdicts' bootstrap.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Confidence level of the verdicts (see `hedge tune --confidence`).
    #[arg(long, default_value_t = hedge_estimate::DEFAULT_CONFIDENCE, value_name = "LEVEL", value_parser = values::level)]
    pub confidence: f64,
    /// Methods to tune and plot (comma-separated).
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "bon,bop,tilt,sbon",
        value_name = "LIST"
    )]
    pub methods: Vec<MethodArg>,
    /// Bins of the proxy-quantile plot (at most the largest number of responses of a prompt are used).
    #[arg(long, default_value_t = 20, value_name = "K", value_parser = values::count(1..=1_000_000))]
    pub bins: usize,
    /// Compare these proxy columns (comma-separated): the report adds their leaderboard (tuned on half the
    /// prompts, or the rest of --holdout, judged on the others) and a Pareto plot, and surveys the leader.
    #[arg(long, value_delimiter = ',', value_name = "A,B,…", num_args = 1..)]
    pub proxy_cols: Option<Vec<String>>,
    /// With --proxy-cols: also rank these ensembles of the columns (comma-separated): mean-z, min-z, uwo, rank-mean.
    #[arg(long, value_delimiter = ',', value_parser = ensemble_rule, value_name = "RULES", requires = "proxy_cols")]
    pub ensemble: Vec<EnsembleRule>,
    #[command(flatten)]
    pub budget: BudgetArgs,
}

/// `summary.json`: the survey, with what only the command line knows around it.
#[derive(Serialize)]
struct Summary<'a> {
    generator: String,
    #[serde(flatten)]
    survey: &'a Survey,
    verdict: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    comparison: Option<&'a Comparison>,
    files: Vec<String>,
}

/// With `--proxy-cols`: the leaderboard of the columns (and ensembles), and the leader's scores loaded
/// for the survey (its name as the proxy column).
fn leaderboard(args: &ReportArgs, cols: &[String]) -> Result<(Comparison, Loaded, Source)> {
    let names = args.data.proxy_column_names(Some(cols), "")?;
    let pc = args.data.load_columns(&names)?;
    let spec = CompareSpec::new()
        .methods(args.methods.iter().map(|&m| MethodKind::from(m)))
        .ensembles(args.ensemble.iter().copied())
        .holdout(args.holdout.unwrap_or(DEFAULT_COMPARE_HOLDOUT))
        .seed(args.seed)
        .confidence(args.confidence)
        .budget(args.budget.budget());
    let mut c = compare(&pc.offsets, &pc.truth, &pc.as_proxies(), &spec)?;
    c.skipped_prompts += pc.skipped_single;
    let scores = c.leader_scores(&pc.offsets, &pc.as_proxies())?;
    let lead = &c.entries[0];
    let source = Source {
        data: pc.source.clone(),
        columns: Columns {
            prompt: args.data.prompt_col.clone(),
            proxy: lead.proxy.clone(),
            truth: args.data.true_col.clone(),
        },
    };
    let loaded = Loaded {
        source: pc.source,
        skipped_single: pc.skipped_single,
        prepared: Prepared::from_vecs(pc.offsets, scores, pc.truth)?,
    };
    Ok((c, loaded, source))
}

fn check_args(args: &ReportArgs) -> Result<()> {
    if args.bins == 0 {
        return Err(CliError::Usage("--bins must be at least 1".into()));
    }
    check_out_dir(&args.out)
}

fn check_out_dir(out: &Path) -> Result<()> {
    if out.as_os_str().is_empty() {
        return Err(CliError::Usage("--out needs a directory name".into()));
    }
    if out.exists() && !out.is_dir() {
        return Err(CliError::Usage(format!(
            "--out {}: exists and is not a directory (the report is a directory of files; give a new or existing directory)",
            out.display()
        )));
    }
    std::fs::create_dir_all(out).map_err(|e| CliError::io(out.display().to_string(), e))
}

/// With `--store`: θ over time, from the store's tunings (none when it has none).
fn store_figures(args: &ReportArgs) -> Result<Vec<ExtraFigure>> {
    let Some(url) = &args.data.store else {
        return Ok(Vec::new());
    };
    let tunings = hedge_store::open_read_only(url)?.tunings()?;
    let (Some(first), Some(kind)) = (
        tunings.first(),
        tunings.first().and_then(|t| MethodKind::parse(&t.method)),
    ) else {
        return Ok(Vec::new());
    };
    let steps: Vec<ThetaStep> = tunings
        .iter()
        .map(|t| ThetaStep {
            hours: (t.at_ms - first.at_ms) as f64 / 3.6e6,
            before: t.theta_before,
            tuned: t.theta_tuned,
            adopted: t.adopted,
        })
        .collect();
    Ok(vec![ExtraFigure {
        stem: "theta_over_time".into(),
        title: "θ over time".into(),
        caption: format!(
            "The θ `hedge serve` used, as {} re-tunings of the store's most recent labelled prompts moved it: a re-tuned θ† (grey) is adopted (starred) only when it beats the θ in force significantly.",
            tunings.len()
        ),
        plot: theta_plot(kind, &steps),
    }])
}

/// Run `hedge report`.
pub fn run(args: &ReportArgs) -> Result<()> {
    check_args(args)?;
    let (comparison, loaded, source) = match &args.proxy_cols {
        Some(cols) => {
            let (c, loaded, source) = leaderboard(args, cols)?;
            (Some(c), loaded, source)
        }
        None => {
            let loaded = args.data.load()?;
            let source = args.data.source(&loaded);
            (None, loaded, source)
        }
    };
    let spec = SurveySpec::new()
        .methods(args.methods.iter().map(|&m| MethodKind::from(m)))
        .holdout(args.holdout)
        .seed(args.seed)
        .confidence(args.confidence)
        .bins(args.bins)
        .budget(args.budget.budget());
    let survey = survey(&loaded.prepared, &spec)?
        .add_skipped(loaded.skipped_single)
        .with_source(Some(source));
    let mut figures = store_figures(args)?;
    let mut tables = Vec::new();
    if let Some(c) = &comparison {
        figures.push(ExtraFigure {
            stem: "pareto".into(),
            title: "Which proxy, which method, at what cost".into(),
            caption: format!(
                "Every proxy × method tuned on the calibration prompts, its true reward measured on the {} held-out prompts (± 1 standard error) against the samples it draws per request. Starred: the Pareto frontier — no other choice is both better and cheaper. The detailed survey above is of the leader, {}.",
                c.held_out_prompts, c.entries[0].proxy
            ),
            plot: pareto_plot(&loaded.source, c),
        });
        tables.push((
            "Leaderboard of the proxies (held-out prompts)".to_string(),
            leaderboard_table(c),
        ));
    }
    let rendered = render_survey_extra(&survey, figures, tables)?;
    let mut names: Vec<String> = rendered.plots.iter().map(|(name, _)| name.clone()).collect();
    names.extend(["summary.json".to_string(), "report.html".to_string()]);
    let summary = Summary {
        generator: format!("hedge {} report", env!("CARGO_PKG_VERSION")),
        survey: &survey,
        verdict: &rendered.verdict,
        comparison: comparison.as_ref(),
        files: names,
    };
    let mut files = rendered.plots;
    files.push(("summary.json".into(), to_json(&summary).into_bytes()));
    files.push(("report.html".into(), rendered.html.into_bytes()));
    let mut written = Vec::new();
    for (name, bytes) in files {
        let path = args.out.join(&name);
        std::fs::write(&path, bytes).map_err(|e| CliError::io(path.display().to_string(), e))?;
        written.push(name);
    }
    let mut msg = format!(
        "hedge report: wrote {} files to {}: {}\n\n",
        written.len(),
        args.out.display(),
        written.join(", ")
    );
    for p in &rendered.verdict {
        msg.push_str(p);
        msg.push_str("\n\n");
    }
    msg.push_str(&format!(
        "Open {} in a browser.\n",
        args.out.join("report.html").display()
    ));
    print(&msg)
}
