//! `hedge tune`: HedgeTune on calibration data.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::Args;
use hedge_estimate::{Checks, Gap, HoldoutReport, Select, TuneOutcome, TuneReport, TuneSpec, outcome_curves};
use hedge_math::MethodKind;
use hedge_report::{fmt_num, gap_sentence, tune_plot};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::data_args::{BudgetArgs, DataArgs, EnsembleArgs, Loaded, check_sbon_flags, parse_range};
use super::method_args::{EstimatorArg, MethodArg, SelectArg};
use super::values;
use crate::error::{CliError, Result};
use crate::output::{Table, fmt_sig, plot_format, plot_line, print, print_json, write_plot};

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
    #[arg(long, conflicts_with = "n_grid", value_parser = values::count_u64(1..=values::MAX_CANDIDATES))]
    pub n: Option<u64>,
    /// SBoN: tune β for each n of this comma-separated list, then keep the best (default: powers of two up to m_max).
    #[arg(long, value_delimiter = ',', value_name = "LIST", value_parser = values::count_u64(1..=values::MAX_CANDIDATES))]
    pub n_grid: Option<Vec<u64>>,
    /// Estimator of the expected true reward.
    #[arg(long, value_enum, default_value = "plugin")]
    pub estimator: EstimatorArg,
    /// Hold out this fraction of prompts: tune on the rest, report true rewards on the held-out prompts.
    #[arg(long, value_name = "FRAC", value_parser = values::fraction)]
    pub holdout: Option<f64>,
    /// Bootstrap resamples of prompts for a 95% percentile interval of θ†.
    #[arg(long, value_name = "B", value_parser = values::count(1..=values::MAX_RESAMPLES))]
    pub bootstrap: Option<usize>,
    /// Seed of the hold-out split and of the bootstraps (the verdict's and --bootstrap's).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Confidence level of the verdict: hacking is reported only when the decline after the peak is
    /// significant at this level, corrected for the peak having been chosen on the same data.
    #[arg(long, default_value_t = hedge_estimate::DEFAULT_CONFIDENCE, value_name = "LEVEL", value_parser = values::level)]
    pub confidence: f64,
    /// Which θ to deploy (and `hedge serve --from-tune` uses): the peak, or the smallest θ within one
    /// paired standard error of it (fewer samples for a difference the data cannot see).
    #[arg(long, value_enum, default_value = "peak")]
    pub select: SelectArg,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Also draw the method's curve over the range, the optimum starred, to FILE (.svg or .png).
    #[arg(long, value_name = "FILE")]
    pub plot: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub ensemble: EnsembleArgs,
    #[command(flatten)]
    pub budget: BudgetArgs,
}

impl TuneArgs {
    /// The tuning specification these flags describe.
    pub fn spec(&self) -> Result<TuneSpec> {
        let kind: MethodKind = self.method.into();
        check_sbon_flags(kind == MethodKind::Sbon, self.n, self.n_grid.is_some())?;
        let mut spec = self.budget.apply(
            TuneSpec::new(kind)
                .estimator(self.estimator.into())
                .confidence(self.confidence)
                .select(self.select.into())
                .seed(self.seed),
        );
        if let Some((lo, hi)) = self.range {
            spec = spec.range(lo, hi);
        }
        if let Some(n) = self.n {
            spec = spec.n(n);
        }
        if let Some(g) = &self.n_grid {
            spec = spec.n_grid(g.clone());
        }
        if self.bootstrap == Some(0) {
            return Err(CliError::Usage("--bootstrap needs at least 1 resample".into()));
        }
        Ok(spec)
    }
}

/// Everything `hedge tune` computes, typed; `--json` prints its serialisation (the same
/// value the Python bindings return).
pub fn tune_report(loaded: &Loaded, args: &TuneArgs) -> Result<TuneReport> {
    let spec = args.spec()?;
    let checks = Checks::new()
        .maybe_holdout(args.holdout)
        .maybe_bootstrap(args.bootstrap)
        .seed(args.seed);
    let total = args.bootstrap.unwrap_or(0);
    let mut report = with_progress(total, |progress| {
        TuneReport::compute(&loaded.prepared, &spec, &checks, progress)
    })?;
    report.skipped_prompts += loaded.skipped_single;
    Ok(report.with_source(Some(args.data.source(loaded))))
}

/// Load the data for `hedge tune`: `--proxy-col`, or the ensemble of `--proxy-cols` (uwo's λ tuned
/// on the calibration prompts of the `--holdout` split when there is one).
pub fn load(args: &TuneArgs) -> Result<(Loaded, String)> {
    let spec = args.spec()?;
    let e = args
        .ensemble
        .load(&args.data, &spec, args.holdout.map(|f| (f, args.seed)))?;
    let name = match e.lambda {
        Some(l) => format!("{} (λ = {})", e.name, fmt_num(l)),
        None => e.name,
    };
    Ok((e.loaded, name))
}

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
        plot_format(path)?;
    }
    let (loaded, proxy) = load(args)?;
    let mut report = tune_report(&loaded, args)?;
    if let Some(src) = &mut report.source {
        src.columns.proxy = proxy;
    }
    if let Some(path) = &args.plot {
        let curves = outcome_curves(&loaded.prepared, &report.outcome)?;
        write_plot(&tune_plot(&loaded.source, &report.outcome, &curves), path)?;
    }
    if args.json {
        return print_json(&report);
    }
    print(&(render(&report) + &plot_line(args.plot.as_deref())))
}

fn num(x: f64, digits: usize) -> String {
    fmt_sig(x, digits)
}

/// The tuned parameter line: `5 (continuous root 5.3911368)`, `12.3 at n = 8`, `4.4`.
fn theta_text(o: &TuneOutcome) -> String {
    match (o.theta_continuous, o.n) {
        (Some(c), _) => format!("{} (continuous root {})", fmt_num(o.theta), num(c, 8)),
        (None, Some(n)) => format!("{} at n = {n}", num(o.theta, 8)),
        (None, None) => num(o.theta, 8),
    }
}

/// Human-readable rendering of a tuning report.
pub fn render(r: &TuneReport) -> String {
    let o = &r.outcome;
    let data = r.source.as_ref().map_or("", |s| s.data.as_str());
    let mut s = format!(
        "{data}: {} prompts ({} skipped with a single response), estimator {}, range [{}, {}]\n\n",
        o.prompts,
        r.skipped_prompts,
        o.estimator,
        num(o.range.0, 6),
        num(o.range.1, 6),
    );
    for note in &o.notes {
        s.push_str(&format!("note: {note}\n\n"));
    }
    s.push_str(&format!(
        "  method            {}\n  {:<17} {}\n",
        o.method.name(),
        o.parameter,
        theta_text(o)
    ));
    s.push_str(&format!(
        "  regime            {} (the shape of the estimated curve)\n",
        o.regime
    ));
    s.push_str(&render_evidence(o));
    s.push_str(&format!(
        "  E[true reward]    {} ± {}\n  KL (nats)         {}\n  E[samples]        {}\n",
        num(o.expected_true_reward, 8),
        num(o.stderr, 3),
        num(o.kl, 6),
        num(o.expected_samples, 6),
    ));
    if let Some(b) = &r.bootstrap {
        s.push_str(&format!(
            "  95% interval      [{}, {}] ({} bootstrap resamples, seed {})\n",
            num(b.lo, 6),
            num(b.hi, 6),
            b.resamples,
            r.seed
        ));
    }
    if o.n.is_some() {
        let mut t = Table::new(["n", "beta", "regime", "E[true reward]", "stderr", "KL"]);
        for row in &o.sbon {
            t.row(vec![
                row.n.to_string(),
                num(row.beta, 6),
                row.regime.to_string(),
                num(row.expected_true_reward, 8),
                num(row.stderr, 3),
                num(row.kl, 4),
            ]);
        }
        s.push_str(&format!("\nSBoN, β tuned per n:\n{}", t.render()));
    }
    if let Some(h) = &r.holdout {
        s.push_str(&render_holdout(h, r.seed));
    }
    s
}

/// The verdict and its evidence: the gains and losses with their paired standard errors.
fn render_evidence(o: &TuneOutcome) -> String {
    let (Some(v), Some(e)) = (o.verdict, &o.evidence) else {
        return String::new();
    };
    let sym = o.parameter;
    let at = |g: &Gap| match g.n {
        Some(n) => format!("n = {n}, {sym} = {}", fmt_num(g.theta)),
        None => format!("{sym} = {}", fmt_num(g.theta)),
    };
    let mut s = format!("  verdict           {v}");
    if let Some(n) = e.prompts_needed {
        s.push_str(&format!(
            " (about {n} prompts would make the observed loss significant)"
        ));
    }
    s.push('\n');
    s.push_str(&format!(
        "  gain over {:<7} {}\n",
        at(&e.gain),
        gap_sentence(&e.gain, e.level)
    ));
    s.push_str(&format!(
        "  loss at {:<9} {}\n",
        at(&e.loss_at_default),
        gap_sentence(&e.loss_at_default, e.level)
    ));
    if let Some(sel) = o.selected.filter(|s| s.rule == Select::OneSe) {
        s.push_str(&format!(
            "  selected (one-se) {}{} = {}: E[true reward] {} ± {}, {} below the peak (paired), {} fewer samples\n",
            sel.n.map_or(String::new(), |n| format!("n = {n}, ")),
            sym,
            num(sel.theta, 8),
            num(sel.expected_true_reward, 8),
            num(sel.stderr, 3),
            fmt_sig(sel.below_peak.difference, 3),
            fmt_sig(sel.samples_saved, 4),
        ));
    }
    s
}

fn render_holdout(h: &HoldoutReport, seed: u64) -> String {
    let mut s = format!(
        "\nHeld out {} prompts (seed {seed}); tuned on the other {}:\n",
        h.prompts, h.calibration_prompts
    );
    let mut t = Table::new(["", "theta", "held-out E[true reward]"]);
    t.row(vec![
        "tuned".into(),
        num(h.tuned_theta, 8),
        format!("{} ± {}", num(h.tuned_reward, 8), num(h.tuned_stderr, 3)),
    ]);
    t.row(vec![
        "oracle (tuned on held-out)".into(),
        num(h.oracle_theta, 8),
        num(h.oracle_reward, 8),
    ]);
    t.row(vec![
        "default (most samples)".into(),
        num(h.default_theta, 8),
        format!("{} ± {}", num(h.default_reward, 8), num(h.default_stderr, 3)),
    ]);
    s.push_str(&t.render());
    let d = &h.tuned_vs_default;
    s.push_str(&format!(
        "tuned − default on the held-out prompts: {} ± {} (paired, z = {}); verdict on the calibration prompts: {}\n",
        fmt_sig(d.difference, 3),
        fmt_sig(d.stderr, 2),
        fmt_sig(d.z, 2),
        h.tuned_verdict
    ));
    s
}
