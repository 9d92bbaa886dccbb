//! `hedge curve`: expected true reward (± standard error), KL and cost on a θ grid.

use clap::Args;
use hedge_estimate::{CurvePoint, CurveReport, Estimator, curve, curve_versus};
use hedge_math::MethodKind;
use hedge_math::grid::{LogGrid, linear};
use hedge_report::{CurveFacts, curve_plot};

use super::data_args::{DataArgs, EnsembleArgs, check_sbon_flags, parse_grid};
use super::method_args::{EstimatorArg, MethodArg};
use super::values;
use crate::error::{CliError, Result};
use crate::output::{Table, fmt_sig, plot_format, plot_line, print, print_json, write_plot};

/// Options of `hedge curve`.
#[derive(Debug, Args)]
pub struct CurveArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// The method.
    #[arg(long, value_enum)]
    pub method: MethodArg,
    /// K parameter values from LO to HI, ends included (evenly spaced; see --log).
    #[arg(long, value_parser = parse_grid, value_name = "LO:HI:K", conflicts_with = "theta", required_unless_present = "theta")]
    pub grid: Option<(f64, f64, usize)>,
    /// Space the --grid points evenly in log(1 + θ − LO) instead of θ.
    #[arg(long, requires = "grid")]
    pub log: bool,
    /// Explicit comma-separated parameter values.
    #[arg(long, value_delimiter = ',', allow_negative_numbers = true, value_name = "LIST", value_parser = values::finite)]
    pub theta: Option<Vec<f64>>,
    /// SBoN: number of candidates (required with --method sbon).
    #[arg(long, value_parser = values::count_u64(1..=values::MAX_CANDIDATES))]
    pub n: Option<u64>,
    /// Estimator of the expected true reward.
    #[arg(long, value_enum, default_value = "plugin")]
    pub estimator: EstimatorArg,
    /// Also compare every point with the parameter THETA on the same prompts: f(θ) − f(THETA) with its
    /// paired standard error (the right yardstick for "is θ better than THETA?").
    #[arg(long, allow_negative_numbers = true, value_name = "THETA", value_parser = values::finite)]
    pub versus: Option<f64>,
    /// Print JSON: {"points": [...]}.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// Print CSV.
    #[arg(long)]
    pub csv: bool,
    /// Also draw the points with their ± 1 standard-error band to FILE (.svg or .png).
    #[arg(long, value_name = "FILE")]
    pub plot: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub ensemble: EnsembleArgs,
}

impl CurveArgs {
    /// The θ values requested: `--theta` as given, or the `--grid` ([`hedge_math::grid`]).
    pub fn thetas(&self) -> Vec<f64> {
        if let Some(t) = &self.theta {
            return t.clone();
        }
        let (lo, hi, k) = self.grid.unwrap_or((0.0, 0.0, 1));
        if self.log {
            LogGrid::new(lo, hi, k).points()
        } else {
            linear(lo, hi, k)
        }
    }
}

/// Run `hedge curve`.
pub fn run(args: &CurveArgs) -> Result<()> {
    let kind: MethodKind = args.method.into();
    check_sbon_flags(kind == MethodKind::Sbon, args.n, false)?;
    if kind == MethodKind::Sbon && args.n.is_none() {
        return Err(CliError::Usage("--method sbon needs --n".into()));
    }
    let flag = if args.theta.is_some() { "--theta" } else { "--grid" };
    for t in args.thetas() {
        values::theta_for(kind, flag, t)?;
    }
    if let Some(v) = args.versus {
        values::theta_for(kind, "--versus", v)?;
    }
    if let Some(path) = &args.plot {
        plot_format(path)?;
    }
    // uwo's λ, when not given, is tuned for this method on all the prompts.
    let loaded = args
        .ensemble
        .load(&args.data, &hedge_estimate::TuneSpec::new(kind), None)?
        .loaded;
    let estimator: Estimator = args.estimator.into();
    let points = curve(&loaded.prepared, kind, &args.thetas(), args.n, estimator)?;
    let versus = args
        .versus
        .map(|theta| curve_versus(&loaded.prepared, kind, args.n, estimator, theta, &points))
        .transpose()?;
    if let Some(path) = &args.plot {
        let facts = CurveFacts {
            source: &loaded.source,
            prompts: loaded.prepared.prompts(),
            kind,
            n: args.n,
            estimator,
        };
        write_plot(&curve_plot(&facts, &points), path)?;
    }
    if args.json {
        return print_json(&CurveReport {
            method: kind,
            estimator,
            source: loaded.source.clone(),
            prompts: loaded.prepared.prompts(),
            skipped_prompts: loaded.skipped_prompts(),
            points,
            n: args.n,
            versus,
        });
    }
    if args.csv {
        if args.versus.is_some() {
            return Err(CliError::Usage(
                "--versus goes with the table or --json, not --csv".into(),
            ));
        }
        return print(&render_csv(kind, &points));
    }
    let mut header = vec![kind.parameter().to_string(), "E[true reward]".into(), "± stderr".into()];
    header.extend(["KL (nats)".to_string(), "E[samples]".into()]);
    if let Some(v) = &versus {
        header.extend([format!("− f({})", fmt_sig(v.theta, 6)), "± paired".into(), "z".into()]);
    }
    let mut t = Table::new(header);
    for (i, p) in points.iter().enumerate() {
        let mut row = vec![
            fmt_sig(p.theta, 6),
            fmt_sig(p.expected_true_reward, 8),
            fmt_sig(p.stderr, 3),
            fmt_sig(p.kl, 5),
            fmt_sig(p.expected_samples, 6),
        ];
        if let Some(r) = versus.as_ref().map(|v| v.points[i].paired) {
            row.extend([fmt_sig(r.difference, 4), fmt_sig(r.stderr, 3), fmt_sig(r.z, 3)]);
        }
        t.row(row);
    }
    print(&format!(
        "{}: {} prompts, {} ({estimator} estimator)\n\n{}{}",
        loaded.source,
        loaded.prepared.prompts(),
        kind.name(),
        t.render(),
        plot_line(args.plot.as_deref())
    ))
}

/// The points as CSV (full precision; `NaN` where a value is missing).
fn render_csv(kind: MethodKind, points: &[CurvePoint]) -> String {
    let mut s = format!("{},expected_true_reward,stderr,kl,expected_samples\n", kind.parameter());
    for p in points {
        s.push_str(&format!(
            "{},{},{},{},{}\n",
            p.theta, p.expected_true_reward, p.stderr, p.kl, p.expected_samples
        ));
    }
    s
}
