//! `hedge tune`: HedgeTune on calibration data.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::Args;
use hedge_estimate::json::{BootstrapInterval, TuneReport};
use hedge_estimate::{TuneSpec, bootstrap, holdout, tune};
use hedge_math::MethodKind;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Value, json};

use super::data_args::{DataArgs, EstimatorArg, Loaded, check_sbon_flags, parse_range};
use crate::cli::MethodArg;
use crate::error::{CliError, Result};
use crate::output::{Table, fmt_sig, print, print_json};

/// Options of `hedge tune`.
#[derive(Debug, Args)]
pub struct TuneArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// The method to tune.
    #[arg(long, value_enum)]
    pub method: MethodArg,
    /// Search range LO:HI of the parameter. Defaults: bon 1:m_max, bop 0:m_max-1, tilt 0:10*m_max,
    /// sbon β 0:1000 (β on the proxy's own scale); m_max = most responses of any prompt.
    #[arg(long, value_parser = parse_range, value_name = "LO:HI")]
    pub range: Option<(f64, f64)>,
    /// SBoN: tune β for this n only.
    #[arg(long, conflicts_with = "n_grid")]
    pub n: Option<u64>,
    /// SBoN: tune β for each n of this comma-separated list, then keep the best (default: powers of two up to m_max).
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    pub n_grid: Option<Vec<u64>>,
    /// Estimator of the expected true reward.
    #[arg(long, value_enum, default_value = "plugin")]
    pub estimator: EstimatorArg,
    /// Hold out this fraction of prompts: tune on the rest, report true rewards on the held-out prompts.
    #[arg(long, value_name = "FRAC")]
    pub holdout: Option<f64>,
    /// Bootstrap resamples of prompts for a 95% percentile interval of θ†.
    #[arg(long, value_name = "B")]
    pub bootstrap: Option<usize>,
    /// Seed of the hold-out split and the bootstrap.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Also draw the method's curve over the range, the optimum starred, to FILE (.svg or .png).
    #[arg(long, value_name = "FILE")]
    pub plot: Option<std::path::PathBuf>,
}

impl TuneArgs {
    /// The tuning specification these flags describe.
    pub fn spec(&self) -> Result<TuneSpec> {
        let kind: MethodKind = self.method.into();
        check_sbon_flags(kind == MethodKind::Sbon, self.n, self.n_grid.is_some())?;
        let mut spec = TuneSpec::new(kind).estimator(self.estimator.into());
        if let Some((lo, hi)) = self.range {
            spec = spec.range(lo, hi);
        }
        if let Some(n) = self.n {
            spec = spec.n(n);
        }
        if let Some(g) = &self.n_grid {
            spec = spec.n_grid(g.clone());
        }
        if let Some(f) = self.holdout {
            if !(f > 0.0 && f < 1.0) {
                return Err(CliError::Usage(format!(
                    "--holdout must be a fraction strictly between 0 and 1, got {f}"
                )));
            }
        }
        if self.bootstrap == Some(0) {
            return Err(CliError::Usage("--bootstrap needs at least 1 resample".into()));
        }
        Ok(spec)
    }
}

/// Everything `hedge tune` computes, as the JSON object it prints (built by
/// [`hedge_estimate::json`], which the Python bindings share).
pub fn tune_json(loaded: &Loaded, args: &TuneArgs) -> Result<Value> {
    let spec = args.spec()?;
    let outcome = tune(&loaded.prepared, &spec)?;
    let mut report = TuneReport {
        outcome,
        skipped_prompts: loaded.skipped_prompts(),
        seed: args.seed,
        holdout: None,
        bootstrap: None,
    };
    if let Some(frac) = args.holdout {
        report.holdout = Some((frac, holdout(&loaded.prepared, &spec, frac, args.seed)?));
    }
    if let Some(b) = args.bootstrap {
        let (lo, hi) = with_progress(b, |progress| bootstrap(&loaded.prepared, &spec, b, args.seed, progress))?;
        report.bootstrap = Some(BootstrapInterval { resamples: b, lo, hi });
    }
    let mut context = serde_json::Map::new();
    context.insert("data".into(), json!(loaded.source));
    context.insert(
        "columns".into(),
        json!({"prompt": args.data.prompt_col, "proxy": args.data.proxy_col, "true": args.data.true_col}),
    );
    Ok(report.to_json(context))
}

/// JSON has no NaN: write `null` (shared with the Python bindings through `hedge-estimate`).
pub use hedge_estimate::json::nan_null;

/// Run `work` with a progress callback; a bar appears on stderr once it has taken over a second.
pub fn with_progress<T>(total: usize, work: impl FnOnce(&(dyn Fn(usize) + Sync)) -> T) -> T {
    let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::hidden());
    bar.set_style(
        ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} [{elapsed_precise} < {eta_precise}]")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message("bootstrap");
    let start = Instant::now();
    let done = AtomicUsize::new(0);
    let shown = AtomicUsize::new(0);
    let progress = |_: usize| {
        let d = done.fetch_add(1, Ordering::Relaxed) + 1;
        if start.elapsed() > Duration::from_secs(1) && shown.swap(1, Ordering::Relaxed) == 0 {
            bar.set_draw_target(ProgressDrawTarget::stderr());
        }
        bar.set_position(d as u64);
    };
    let out = work(&progress);
    bar.finish_and_clear();
    out
}

/// Run `hedge tune`.
pub fn run(args: &TuneArgs) -> Result<()> {
    args.spec()?;
    if let Some(path) = &args.plot {
        super::report::plot_format(path)?;
    }
    let loaded = args.data.load()?;
    let v = tune_json(&loaded, args)?;
    if let Some(path) = &args.plot {
        let plot = super::report::tune_plot(&loaded, args.method.into(), args.estimator.into(), &v)?;
        super::report::write_plot(&plot, path)?;
    }
    if args.json {
        return print_json(&v);
    }
    let mut s = render(&v);
    if let Some(path) = &args.plot {
        s.push_str(&format!("\nPlot: {}\n", path.display()));
    }
    print(&s)
}

fn num(v: &Value, digits: usize) -> String {
    v.as_f64().map_or("-".into(), |x| fmt_sig(x, digits))
}

/// Human-readable rendering of the tune JSON.
pub fn render(v: &Value) -> String {
    let method = v["method"].as_str().unwrap_or("");
    let mut s = format!(
        "{}: {} prompts ({} skipped with a single response), estimator {}, range [{}, {}]\n\n",
        v["data"].as_str().unwrap_or(""),
        v["prompts"],
        v["skipped_prompts"],
        v["estimator"].as_str().unwrap_or(""),
        num(&v["range"][0], 6),
        num(&v["range"][1], 6),
    );
    let theta = match (method, v.get("theta_continuous")) {
        ("bon", Some(c)) => format!("{} (continuous root {})", v["theta"], num(c, 8)),
        ("sbon", _) => format!("{} at n = {}", num(&v["theta"], 8), v["n"]),
        _ => num(&v["theta"], 8),
    };
    s.push_str(&format!(
        "  method            {method}\n  {:<17} {theta}\n",
        v["parameter"].as_str().unwrap_or("theta")
    ));
    s.push_str(&format!("  regime            {}\n", v["regime"].as_str().unwrap_or("")));
    s.push_str(&format!(
        "  E[true reward]    {} ± {}\n  KL (nats)         {}\n  E[samples]        {}\n",
        num(&v["expected_true_reward"], 8),
        num(&v["stderr"], 3),
        num(&v["kl"], 6),
        num(&v["expected_samples"], 6),
    ));
    if let Some(i) = v.get("interval") {
        s.push_str(&format!(
            "  95% interval      [{}, {}] ({} bootstrap resamples, seed {})\n",
            num(&i[0], 6),
            num(&i[1], 6),
            v["bootstrap"]["resamples"],
            v["seed"]
        ));
    }
    if let Some(rows) = v.get("per_n").and_then(Value::as_array) {
        let mut t = Table::new(["n", "beta", "regime", "E[true reward]", "stderr", "KL"]);
        for r in rows {
            t.row(vec![
                r["n"].to_string(),
                num(&r["beta"], 6),
                r["regime"].as_str().unwrap_or("").into(),
                num(&r["expected_true_reward"], 8),
                num(&r["stderr"], 3),
                num(&r["kl"], 4),
            ]);
        }
        s.push_str(&format!("\nSBoN, β tuned per n:\n{}", t.render()));
    }
    if let Some(h) = v.get("holdout") {
        s.push_str(&format!(
            "\nHeld out {} prompts (seed {}); tuned on the other {}:\n",
            h["prompts"], v["seed"], h["calibration_prompts"]
        ));
        let mut t = Table::new(["", "theta", "held-out E[true reward]"]);
        t.row(vec![
            "tuned".into(),
            num(&h["tuned_theta"], 8),
            format!("{} ± {}", num(&h["tuned_reward"], 8), num(&h["tuned_stderr"], 3)),
        ]);
        t.row(vec![
            "oracle (tuned on held-out)".into(),
            num(&h["oracle_theta"], 8),
            num(&h["oracle_reward"], 8),
        ]);
        t.row(vec![
            "default (most samples)".into(),
            num(&h["default_theta"], 8),
            format!("{} ± {}", num(&h["default_reward"], 8), num(&h["default_stderr"], 3)),
        ]);
        s.push_str(&t.render());
    }
    s
}
