//! `hedge curve`: expected true reward (± standard error), KL and cost on a θ grid.

use clap::Args;
use hedge_estimate::{CurvePoint, curve};
use hedge_math::MethodKind;
use serde_json::{Value, json};

use super::data_args::{DataArgs, EstimatorArg, check_sbon_flags, parse_grid};
use super::tune::nan_null;
use crate::cli::MethodArg;
use crate::error::{CliError, Result};
use crate::output::{Table, fmt_sig, print, print_json};

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
    #[arg(long, value_delimiter = ',', allow_negative_numbers = true, value_name = "LIST")]
    pub theta: Option<Vec<f64>>,
    /// SBoN: number of candidates (required with --method sbon).
    #[arg(long)]
    pub n: Option<u64>,
    /// Estimator of the expected true reward.
    #[arg(long, value_enum, default_value = "plugin")]
    pub estimator: EstimatorArg,
    /// Print JSON: {"points": [...]}.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// Print CSV.
    #[arg(long)]
    pub csv: bool,
    /// Also draw the points with their ± 1 standard-error band to FILE (.svg or .png).
    #[arg(long, value_name = "FILE")]
    pub plot: Option<std::path::PathBuf>,
}

impl CurveArgs {
    /// The θ values requested.
    pub fn thetas(&self) -> Vec<f64> {
        if let Some(t) = &self.theta {
            return t.clone();
        }
        let (lo, hi, k) = self.grid.unwrap_or((0.0, 0.0, 1));
        if k == 1 {
            return vec![lo];
        }
        (0..k)
            .map(|i| {
                let f = i as f64 / (k - 1) as f64;
                if self.log {
                    lo + ((hi - lo).ln_1p() * f).exp_m1()
                } else {
                    lo + (hi - lo) * f
                }
            })
            .map(|t| t.min(hi))
            .collect()
    }
}

/// Points as JSON objects.
pub fn points_json(points: &[CurvePoint]) -> Vec<Value> {
    points
        .iter()
        .map(|p| {
            json!({
                "theta": p.theta,
                "expected_true_reward": p.expected_true_reward,
                "stderr": nan_null(p.stderr),
                "kl": nan_null(p.kl),
                "expected_samples": p.expected_samples,
            })
        })
        .collect()
}

/// Run `hedge curve`.
pub fn run(args: &CurveArgs) -> Result<()> {
    let kind: MethodKind = args.method.into();
    check_sbon_flags(kind == MethodKind::Sbon, args.n, false)?;
    if kind == MethodKind::Sbon && args.n.is_none() {
        return Err(CliError::Usage("--method sbon needs --n".into()));
    }
    if let Some(path) = &args.plot {
        super::report::plot_format(path)?;
    }
    let loaded = args.data.load()?;
    let thetas = args.thetas();
    let points = curve(&loaded.prepared, kind, &thetas, args.n, args.estimator.into())?;
    if let Some(path) = &args.plot {
        let plot = super::report::curve_plot(&loaded, kind, args.n, args.estimator.into(), &points);
        super::report::write_plot(&plot, path)?;
    }
    if args.json {
        let mut v = json!({
            "method": kind.name(),
            "parameter": kind.parameter(),
            "estimator": hedge_estimate::Estimator::from(args.estimator).name(),
            "data": loaded.source,
            "prompts": loaded.prepared.prompts(),
            "skipped_prompts": loaded.skipped_prompts(),
            "points": points_json(&points),
        });
        if let Some(n) = args.n {
            v["n"] = json!(n);
        }
        return print_json(&v);
    }
    if args.csv {
        let mut s = format!("{},expected_true_reward,stderr,kl,expected_samples\n", kind.parameter());
        for p in &points {
            s.push_str(&format!(
                "{},{},{},{},{}\n",
                p.theta, p.expected_true_reward, p.stderr, p.kl, p.expected_samples
            ));
        }
        return print(&s);
    }
    let mut t = Table::new([
        kind.parameter(),
        "E[true reward]",
        "± stderr",
        "KL (nats)",
        "E[samples]",
    ]);
    for p in &points {
        t.row(vec![
            fmt_sig(p.theta, 6),
            fmt_sig(p.expected_true_reward, 8),
            fmt_sig(p.stderr, 3),
            fmt_sig(p.kl, 5),
            fmt_sig(p.expected_samples, 6),
        ]);
    }
    print(&format!(
        "{}: {} prompts, {} ({} estimator)\n\n{}{}",
        loaded.source,
        loaded.prepared.prompts(),
        kind.name(),
        hedge_estimate::Estimator::from(args.estimator).name(),
        t.render(),
        args.plot
            .as_ref()
            .map_or(String::new(), |p| format!("\nPlot: {}\n", p.display()))
    ))
}
