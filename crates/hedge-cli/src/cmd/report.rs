//! `hedge report`: plots, `summary.json` and one self-contained HTML page for a calibration set.
//!
//! Glue only: every number comes from `hedge-estimate` (the tuning through the very
//! [`tune_json`] that `hedge tune --json` prints), every picture and the page from
//! `hedge-report`. The shared plot helpers here also serve `hedge tune --plot` and
//! `hedge curve --plot`.

use std::path::{Path, PathBuf};

use clap::Args;
use hedge_estimate::{CurvePoint, Estimator, ProfileBin, curve, quantile_profile};
use hedge_math::MethodKind;
use hedge_report::palette::{self, Rgb};
use hedge_report::{
    Figure, HLine, MethodFacts, Page, Plot, PlotFormat, Series, SeriesStyle, Star, Table, VLine, XY, fmt_num, fmt_sig,
};
use serde_json::{Value, json};

use super::curve::points_json;
use super::data_args::{DataArgs, EstimatorArg, Loaded};
use super::tune::{TuneArgs, nan_null, tune_json};
use crate::cli::MethodArg;
use crate::error::{CliError, Result};
use crate::output::print;

/// Options of `hedge report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Directory to write the report into (created if missing; existing files of the report are replaced).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Hold out this fraction of prompts: tune on the rest, report true rewards on the held-out prompts.
    #[arg(long, value_name = "FRAC")]
    pub holdout: Option<f64>,
    /// Seed of the hold-out split.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
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
    #[arg(long, default_value_t = 20, value_name = "K")]
    pub bins: usize,
}

/// The files `hedge report` writes, in this order.
pub const REPORT_FILES: [&str; 8] = [
    "reward_vs_kl.svg",
    "reward_vs_kl.png",
    "reward_vs_samples.svg",
    "reward_vs_samples.png",
    "proxy_vs_true.svg",
    "proxy_vs_true.png",
    "summary.json",
    "report.html",
];

// ---------------------------------------------------------------------------------------------
// Shared plot helpers (also used by `hedge tune --plot` and `hedge curve --plot`).

/// Display name of a method.
pub fn method_label(kind: MethodKind) -> &'static str {
    match kind {
        MethodKind::Bon => "BoN",
        MethodKind::Bop => "BoP",
        MethodKind::Tilt => "tilt",
        MethodKind::Sbon => "SBoN",
    }
}

/// Colour of a method in every plot.
pub fn method_color(kind: MethodKind) -> Rgb {
    match kind {
        MethodKind::Bon => palette::BLUE,
        MethodKind::Bop => palette::ORANGE,
        MethodKind::Tilt => palette::GREEN,
        MethodKind::Sbon => palette::PURPLE,
    }
}

/// Colours of SBoN's curves, one per `n`.
const SBON_COLORS: [Rgb; 4] = [palette::PURPLE, palette::SKY, (120, 60, 140), (150, 150, 40)];

/// The parameter's symbol.
pub fn parameter_symbol(kind: MethodKind) -> &'static str {
    match kind {
        MethodKind::Bon => "n",
        MethodKind::Bop => "μ",
        MethodKind::Tilt => "λ",
        MethodKind::Sbon => "β",
    }
}

/// Axis label of the parameter, with its meaning.
pub fn parameter_axis(kind: MethodKind) -> &'static str {
    match kind {
        MethodKind::Bon => "n (samples per prompt)",
        MethodKind::Bop => "μ (BoP: n = 1 + Poisson(μ) samples)",
        MethodKind::Tilt => "λ (exponential tilt strength)",
        MethodKind::Sbon => "β (SBoN inverse temperature, proxy scale)",
    }
}

const Y_REWARD: &str = "expected true reward";

/// The format named by `--plot`'s extension, or a usage error.
pub fn plot_format(path: &Path) -> Result<PlotFormat> {
    PlotFormat::from_path(path).ok_or_else(|| {
        CliError::Usage(format!(
            "--plot {}: the file name must end in .svg or .png",
            path.display()
        ))
    })
}

/// Render `plot` in the format of `path`'s extension and write it.
pub fn write_plot(plot: &Plot, path: &Path) -> Result<()> {
    let bytes = plot.render(plot_format(path)?).map_err(report_error)?;
    std::fs::write(path, bytes).map_err(|e| CliError::io(path.display().to_string(), e))
}

fn report_error(e: hedge_report::ReportError) -> CliError {
    CliError::Report(e)
}

/// Curve points as plot points, with `x` chosen by `x`.
pub fn xy(points: &[CurvePoint], x: impl Fn(&CurvePoint) -> f64) -> Vec<XY> {
    points
        .iter()
        .map(|p| XY::new(x(p), p.expected_true_reward, p.stderr))
        .collect()
}

/// `k` values from `lo` to `hi`, denser near `lo` (even in `log(1 + θ − lo)`), plus `extra` values.
pub fn log_grid(lo: f64, hi: f64, k: usize, extra: &[f64]) -> Vec<f64> {
    let mut v: Vec<f64> = (0..k.max(2))
        .map(|i| {
            let f = i as f64 / (k.max(2) - 1) as f64;
            (lo + ((hi - lo).ln_1p() * f).exp_m1()).clamp(lo, hi)
        })
        .collect();
    v.extend(extra.iter().copied().filter(|t| t.is_finite() && *t >= lo && *t <= hi));
    v.sort_by(f64::total_cmp);
    v.dedup();
    v
}

/// `k` values from `lo` to `hi`, evenly spaced, plus `extra` values.
pub fn lin_grid(lo: f64, hi: f64, k: usize, extra: &[f64]) -> Vec<f64> {
    let mut v: Vec<f64> = (0..k.max(2))
        .map(|i| lo + (hi - lo) * i as f64 / (k.max(2) - 1) as f64)
        .collect();
    v.extend(extra.iter().copied().filter(|t| t.is_finite() && *t >= lo && *t <= hi));
    v.sort_by(f64::total_cmp);
    v.dedup();
    v
}

/// BoN's integer n from `lo` to `hi`: all of them, or about 80 spread evenly in log n.
pub fn bon_grid(lo: f64, hi: f64, extra: &[f64]) -> Vec<f64> {
    let (a, b) = (lo.ceil().max(1.0) as u64, hi.floor().max(1.0) as u64);
    let mut v: Vec<f64> = if b - a < 120 {
        (a..=b).map(|n| n as f64).collect()
    } else {
        (0..80)
            .map(|i| {
                ((a as f64).ln() + ((b as f64).ln() - (a as f64).ln()) * i as f64 / 79.0)
                    .exp()
                    .round()
            })
            .collect()
    };
    v.extend(
        extra
            .iter()
            .map(|t| t.round())
            .filter(|t| *t >= a as f64 && *t <= b as f64),
    );
    v.sort_by(f64::total_cmp);
    v.dedup();
    v
}

fn file_name(source: &str) -> String {
    Path::new(source)
        .file_name()
        .map_or_else(|| source.to_string(), |f| f.to_string_lossy().into_owned())
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

/// The plot of `hedge tune --plot`: the tuned method's curve over the searched range
/// (zoomed in when the optimum sits in its first eighth), the optimum starred. `v` is
/// the `hedge tune --json` object.
pub fn tune_plot(loaded: &Loaded, kind: MethodKind, estimator: Estimator, v: &Value) -> Result<Plot> {
    let (lo, hi) = (f(&v["range"][0]), f(&v["range"][1]));
    let theta = f(&v["theta"]);
    let sym = parameter_symbol(kind);
    let zoom = theta > lo && theta < hi && theta - lo < (hi - lo) / 8.0 && kind != MethodKind::Bon;
    let show_hi = if zoom { lo + 4.0 * (theta - lo) } else { hi };
    let mut plot = Plot::new(
        format!("HedgeTune: {} on {}", method_label(kind), file_name(&loaded.source)),
        parameter_axis(kind),
        Y_REWARD,
    );
    let theta_text = match (kind, v.get("theta_continuous")) {
        (MethodKind::Bon, Some(c)) => format!("n = {} (root {})", fmt_num(theta), fmt_sig(f(c), 4)),
        (MethodKind::Sbon, _) => format!("n = {}, β = {}", v["n"], fmt_sig(theta, 4)),
        _ => format!("{sym} = {}", fmt_sig(theta, 4)),
    };
    plot.subtitle = Some(format!(
        "regime {}: {theta_text}, expected true reward {} ± {}; {} prompts, {} estimator",
        v["regime"].as_str().unwrap_or(""),
        fmt_sig(f(&v["expected_true_reward"]), 4),
        fmt_sig(f(&v["stderr"]), 2),
        loaded.prepared.prompts(),
        estimator.name(),
    ));
    if zoom {
        plot.note = Some(format!(
            "Searched range {sym} ∈ [{}, {}]; shown up to {} (the optimum is near the low end). `hedge curve` draws any range.",
            fmt_num(lo),
            fmt_num(hi),
            fmt_sig(show_hi, 3)
        ));
    }
    let color = method_color(kind);
    match kind {
        MethodKind::Sbon => {
            let rows = v["per_n"].as_array().cloned().unwrap_or_default();
            for (i, r) in rows.iter().enumerate() {
                let n = r["n"].as_u64().unwrap_or(1);
                let beta = f(&r["beta"]);
                let pts = curve(
                    &loaded.prepared,
                    kind,
                    &log_grid(lo, show_hi, 40, &[beta]),
                    Some(n),
                    estimator,
                )?;
                let c = SBON_COLORS[i % SBON_COLORS.len()];
                // One band only (the tuned n's): overlapping bands would hide the curves.
                let tuned = Some(n) == v["n"].as_u64();
                plot.series
                    .push(Series::line(format!("SBoN n = {n}"), c, xy(&pts, |p| p.theta)).with_band(tuned));
                if tuned {
                    plot.stars.push(Star {
                        name: format!("n = {n}"),
                        x: theta,
                        y: f(&v["expected_true_reward"]),
                        color: c,
                    });
                }
            }
        }
        MethodKind::Bon => {
            let pts = curve(&loaded.prepared, kind, &bon_grid(lo, hi, &[theta]), None, estimator)?;
            plot.series
                .push(Series::markers("BoN (integer n)", color, xy(&pts, |p| p.theta)));
            plot.stars.push(Star {
                name: "BoN".into(),
                x: theta,
                y: f(&v["expected_true_reward"]),
                color,
            });
            if let Some(c) = v.get("theta_continuous").map(f).filter(|c| c.is_finite()) {
                if v["regime"] == "hacking" {
                    plot.vlines.push(VLine {
                        x: c,
                        label: format!("n† ≈ {}", fmt_sig(c, 3)),
                        legend: "continuous root n† of the slope".into(),
                        color: palette::VERMILLION,
                    });
                }
            }
        }
        _ => {
            let pts = curve(
                &loaded.prepared,
                kind,
                &lin_grid(lo, show_hi, 120, &[theta]),
                None,
                estimator,
            )?;
            plot.series
                .push(Series::line(method_label(kind), color, xy(&pts, |p| p.theta)));
            plot.stars.push(Star {
                name: method_label(kind).into(),
                x: theta,
                y: f(&v["expected_true_reward"]),
                color,
            });
        }
    }
    plot.star_legend = "tuned optimum (HedgeTune)".into();
    plot.x_range = zoom.then_some((lo, show_hi));
    Ok(plot)
}

/// The plot of `hedge curve --plot`: the requested points with their ± 1 SE band.
pub fn curve_plot(
    loaded: &Loaded,
    kind: MethodKind,
    n: Option<u64>,
    estimator: Estimator,
    points: &[CurvePoint],
) -> Plot {
    let mut plot = Plot::new(
        format!("{} on {}", method_label(kind), file_name(&loaded.source)),
        parameter_axis(kind),
        Y_REWARD,
    );
    plot.subtitle = Some(format!(
        "{}{} points, {} prompts, {} estimator",
        n.map_or(String::new(), |n| format!("n = {n}; ")),
        points.len(),
        loaded.prepared.prompts(),
        estimator.name()
    ));
    let name = match n {
        Some(n) => format!("{} n = {n}", method_label(kind)),
        None => method_label(kind).to_string(),
    };
    let series = Series::line(name, method_color(kind), xy(points, |p| p.theta));
    plot.series.push(if kind == MethodKind::Bon || points.len() < 2 {
        series.with_style(SeriesStyle::Markers).with_band(false)
    } else {
        series.with_style(SeriesStyle::LineMarkers)
    });
    plot
}

// ---------------------------------------------------------------------------------------------
// `hedge report`

/// One tuned method with the curves drawn for it.
struct MethodRun {
    kind: MethodKind,
    /// The `hedge tune --json` object.
    json: Value,
    /// Non-SBoN: the curve over its grid.
    curve: Vec<CurvePoint>,
    /// SBoN: (n, curve over β) for the n drawn.
    sbon_curves: Vec<(u64, Vec<CurvePoint>)>,
}

impl MethodRun {
    fn theta(&self) -> f64 {
        f(&self.json["theta"])
    }
    fn reward(&self) -> f64 {
        f(&self.json["expected_true_reward"])
    }
    fn regime(&self) -> &str {
        self.json["regime"].as_str().unwrap_or("")
    }
    fn star(&self, x: f64, color: Rgb) -> Star {
        Star {
            name: method_label(self.kind).into(),
            x,
            y: self.reward(),
            color,
        }
    }
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

/// Run `hedge report`.
pub fn run(args: &ReportArgs) -> Result<()> {
    if let Some(frac) = args.holdout {
        if !(frac > 0.0 && frac < 1.0) {
            return Err(CliError::Usage(format!(
                "--holdout must be a fraction strictly between 0 and 1, got {frac}"
            )));
        }
    }
    if args.bins == 0 {
        return Err(CliError::Usage("--bins must be at least 1".into()));
    }
    let mut kinds: Vec<MethodKind> = Vec::new();
    for m in &args.methods {
        let k: MethodKind = (*m).into();
        if !kinds.contains(&k) {
            kinds.push(k);
        }
    }
    check_out_dir(&args.out)?;
    let loaded = args.data.load()?;
    let report = build(&loaded, args, &kinds)?;
    let out = &args.out;
    let mut written = Vec::new();
    for (name, bytes) in report.files {
        let path = out.join(&name);
        std::fs::write(&path, bytes).map_err(|e| CliError::io(path.display().to_string(), e))?;
        written.push(name);
    }
    let mut msg = format!(
        "hedge report: wrote {} files to {}: {}\n\n",
        written.len(),
        out.display(),
        written.join(", ")
    );
    for p in &report.verdict {
        msg.push_str(p);
        msg.push_str("\n\n");
    }
    msg.push_str(&format!("Open {} in a browser.\n", out.join("report.html").display()));
    print(&msg)
}

struct Built {
    files: Vec<(String, Vec<u8>)>,
    verdict: Vec<String>,
}

fn tune_args(args: &ReportArgs, kind: MethodKind) -> TuneArgs {
    let method = match kind {
        MethodKind::Bon => MethodArg::Bon,
        MethodKind::Bop => MethodArg::Bop,
        MethodKind::Tilt => MethodArg::Tilt,
        MethodKind::Sbon => MethodArg::Sbon,
    };
    TuneArgs {
        data: args.data.clone(),
        method,
        range: None,
        n: None,
        n_grid: None,
        estimator: EstimatorArg::Plugin,
        holdout: args.holdout,
        bootstrap: None,
        seed: args.seed,
        json: true,
        plot: None,
    }
}

fn build(loaded: &Loaded, args: &ReportArgs, kinds: &[MethodKind]) -> Result<Built> {
    let data = &loaded.prepared;
    let est = Estimator::Plugin;
    let m_max = data.m_max() as f64;

    // Tune every method exactly as `hedge tune --json` does, and draw its curve.
    let mut runs: Vec<MethodRun> = Vec::new();
    for &kind in kinds {
        let json = tune_json(loaded, &tune_args(args, kind))?;
        let (lo, hi) = (f(&json["range"][0]), f(&json["range"][1]));
        let theta = f(&json["theta"]);
        let mut run = MethodRun {
            kind,
            json,
            curve: Vec::new(),
            sbon_curves: Vec::new(),
        };
        match kind {
            MethodKind::Bon => run.curve = curve(data, kind, &bon_grid(lo, hi, &[theta]), None, est)?,
            MethodKind::Bop => run.curve = curve(data, kind, &log_grid(lo, hi, 80, &[theta]), None, est)?,
            MethodKind::Tilt => {
                // Up to about the KL of BoN's largest n, and well past the optimum.
                let top = hi.min(m_max.max(2.0 * theta)).max(lo);
                run.curve = curve(data, kind, &log_grid(lo, top, 80, &[theta]), None, est)?;
            }
            MethodKind::Sbon => {
                let rows = run.json["per_n"].as_array().cloned().unwrap_or_default();
                let tuned_n = run.json["n"].as_u64();
                // The tuned n and the largest others: at most three curves.
                let mut ns: Vec<u64> = rows.iter().filter_map(|r| r["n"].as_u64()).collect();
                ns.sort_unstable();
                let mut pick: Vec<u64> = tuned_n.into_iter().collect();
                for &n in ns.iter().rev() {
                    if pick.len() >= 3 {
                        break;
                    }
                    if !pick.contains(&n) {
                        pick.push(n);
                    }
                }
                pick.sort_unstable();
                for n in pick {
                    let beta = rows
                        .iter()
                        .find(|r| r["n"].as_u64() == Some(n))
                        .map_or(f64::NAN, |r| f(&r["beta"]));
                    let pts = curve(data, kind, &log_grid(lo, hi, 40, &[beta]), Some(n), est)?;
                    run.sbon_curves.push((n, pts));
                }
            }
        }
        runs.push(run);
    }
    let bins = args.bins.min(data.m_max()).max(1);
    let profile = quantile_profile(data, bins)?;
    let random = curve(data, MethodKind::Bon, &[1.0], None, est)?[0];

    let source = &loaded.source;
    let per_prompt = if data.m_min() == data.m_max() {
        format!("{} responses each", data.m_max())
    } else {
        format!("{}–{} responses each", data.m_min(), data.m_max())
    };
    let subtitle = format!(
        "{}: proxy = {}, true reward = {}; {} prompts, {per_prompt}",
        file_name(source),
        args.data.proxy_col,
        args.data.true_col,
        data.prompts(),
    );
    let random_line = HLine {
        y: random.expected_true_reward,
        legend: "random response (n = 1)".into(),
        color: palette::GREY,
    };

    // Where hacking starts: BoN's peak, else the first method with one.
    let threshold = runs
        .iter()
        .find(|r| r.kind == MethodKind::Bon && r.regime() == "hacking")
        .or_else(|| {
            runs.iter()
                .find(|r| r.regime() == "hacking" && r.kind != MethodKind::Sbon)
        });

    // 1. Reward against KL.
    let mut kl_plot = Plot::new(
        "Expected true reward against KL to the reference",
        "KL to reference (nats)",
        Y_REWARD,
    );
    kl_plot.subtitle = Some(subtitle.clone());
    // 2. Reward against expected samples (the cost view).
    let mut cost_plot = Plot::new(
        "Expected true reward against cost",
        "expected samples per prompt",
        Y_REWARD,
    );
    cost_plot.subtitle = Some(subtitle.clone());
    for run in &runs {
        let color = method_color(run.kind);
        match run.kind {
            MethodKind::Bon => {
                let name = format!(
                    "BoN (n = {}…{})",
                    fmt_num(f(&run.json["range"][0])),
                    fmt_num(f(&run.json["range"][1]))
                );
                kl_plot
                    .series
                    .push(Series::markers(name.clone(), color, xy(&run.curve, |p| p.kl)));
                cost_plot
                    .series
                    .push(Series::markers(name, color, xy(&run.curve, |p| p.expected_samples)));
            }
            MethodKind::Bop | MethodKind::Tilt => {
                let name = if run.kind == MethodKind::Tilt {
                    "tilt (KL-optimal frontier)".to_string()
                } else {
                    "BoP (μ sweep)".to_string()
                };
                kl_plot
                    .series
                    .push(Series::line(name.clone(), color, xy(&run.curve, |p| p.kl)));
                cost_plot
                    .series
                    .push(Series::line(name, color, xy(&run.curve, |p| p.expected_samples)));
            }
            MethodKind::Sbon => {
                for (i, (n, pts)) in run.sbon_curves.iter().enumerate() {
                    let c = SBON_COLORS[i % SBON_COLORS.len()];
                    kl_plot.series.push(
                        Series::line(format!("SBoN n = {n} (β sweep)"), c, xy(pts, |p| p.kl))
                            .with_style(SeriesStyle::Dashed)
                            .with_band(false),
                    );
                    if run.json["n"].as_u64() == Some(*n) {
                        kl_plot.stars.push(run.star(f(&run.json["kl"]), c));
                    }
                }
                let rows = run.json["per_n"].as_array().cloned().unwrap_or_default();
                let pts: Vec<XY> = rows
                    .iter()
                    .map(|r| {
                        XY::new(
                            f(&r["expected_samples"]),
                            f(&r["expected_true_reward"]),
                            f(&r["stderr"]),
                        )
                    })
                    .collect();
                cost_plot.series.push(
                    Series::markers("SBoN (β tuned for each n)", color, pts).with_style(SeriesStyle::LineMarkers),
                );
                cost_plot.stars.push(run.star(f(&run.json["expected_samples"]), color));
                continue;
            }
        }
        kl_plot.stars.push(run.star(f(&run.json["kl"]), color));
        cost_plot.stars.push(run.star(f(&run.json["expected_samples"]), color));
    }
    if let Some(t) = threshold {
        let kl = f(&t.json["kl"]);
        let sym = parameter_symbol(t.kind);
        kl_plot.vlines.push(VLine {
            x: kl,
            label: "hacking starts".into(),
            legend: format!(
                "hacking threshold: KL ≈ {} nats ({} peak, {sym} = {})",
                fmt_sig(kl, 3),
                method_label(t.kind),
                fmt_num(t.theta())
            ),
            color: palette::VERMILLION,
        });
        let start = t.json.get("theta_continuous").map(f).filter(|x| x.is_finite());
        let samples = match (t.kind, start) {
            (MethodKind::Bon, Some(c)) => c,
            _ => f(&t.json["expected_samples"]),
        };
        cost_plot.vlines.push(VLine {
            x: samples,
            label: "hacking starts".into(),
            legend: format!(
                "hacking starts: {} at ≈ {} samples",
                method_label(t.kind),
                fmt_sig(samples, 3)
            ),
            color: palette::VERMILLION,
        });
    }
    kl_plot.hlines.push(random_line.clone());
    cost_plot.hlines.push(random_line.clone());
    if runs.iter().any(|r| r.kind == MethodKind::Sbon) {
        kl_plot.note = Some("SBoN's KL is the plug-in KL of its choice among each prompt's responses; the others' is the population KL.".into());
    }

    // 3. Proxy quantile against true reward.
    let mut profile_plot = Plot::new(
        "True reward along the proxy's ranking",
        "proxy quantile within the prompt (1 = the proxy's favourite)",
        "mean true reward",
    );
    profile_plot.subtitle = Some(subtitle.clone());
    profile_plot.x_range = Some((0.0, 1.0));
    let pts: Vec<XY> = profile
        .iter()
        .map(|b| XY::new(b.quantile, b.mean_true_reward, b.stderr))
        .collect();
    profile_plot.series.push(
        Series::line(format!("r(u), {} bins of u", bins), palette::BLUE, pts).with_style(SeriesStyle::LineMarkers),
    );
    profile_plot.hlines.push(HLine {
        legend: "mean over all responses".into(),
        ..random_line.clone()
    });
    profile_plot.note = Some("u = (k − 0.5)/m for the k-th of a prompt's m responses by proxy; ties share their mean true reward. Prompts weigh equally.".into());

    // Verdict.
    let facts: Vec<MethodFacts> = runs.iter().map(method_facts).collect();
    let primary = runs.iter().position(|r| r.kind == MethodKind::Bon).unwrap_or(0);
    let others: Vec<MethodFacts> = facts
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != primary)
        .map(|(_, m)| m.clone())
        .collect();
    let prof = profile_summary(&profile);
    let verdict = hedge_report::verdict(&facts[primary], &others, prof.as_ref());

    // Files.
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut svgs = Vec::new();
    for (stem, plot) in [
        ("reward_vs_kl", &kl_plot),
        ("reward_vs_samples", &cost_plot),
        ("proxy_vs_true", &profile_plot),
    ] {
        let svg = plot.svg().map_err(report_error)?;
        files.push((format!("{stem}.svg"), svg.clone().into_bytes()));
        files.push((format!("{stem}.png"), plot.png().map_err(report_error)?));
        svgs.push(svg);
    }

    let summary = summary_json(loaded, args, &runs, &profile, bins, &random, threshold, &verdict);
    let mut s = serde_json::to_string_pretty(&summary).expect("JSON values always serialise");
    s.push('\n');
    files.push(("summary.json".into(), s.into_bytes()));

    let page = page(loaded, args, &runs, &random, &verdict, svgs, &subtitle);
    files.push(("report.html".into(), page.render().into_bytes()));
    Ok(Built { files, verdict })
}

fn method_facts(run: &MethodRun) -> MethodFacts {
    let v = &run.json;
    let (lo, hi) = (f(&v["range"][0]), f(&v["range"][1]));
    let at = |t: f64| run.curve.iter().find(|p| p.theta == t).copied();
    let holdout = v.get("holdout").map(|h| hedge_report::Holdout {
        prompts: h["prompts"].as_u64().unwrap_or(0) as usize,
        calibration_prompts: h["calibration_prompts"].as_u64().unwrap_or(0) as usize,
        tuned_theta: f(&h["tuned_theta"]),
        tuned_reward: f(&h["tuned_reward"]),
        tuned_stderr: f(&h["tuned_stderr"]),
        default_theta: f(&h["default_theta"]),
        default_reward: f(&h["default_reward"]),
        oracle_reward: f(&h["oracle_reward"]),
    });
    let hi_grid = if run.kind == MethodKind::Bon { hi.floor() } else { hi };
    MethodFacts {
        label: method_label(run.kind).into(),
        parameter: parameter_symbol(run.kind).into(),
        regime: run.regime().into(),
        theta: run.theta(),
        theta_continuous: v.get("theta_continuous").map(f),
        n: v["n"].as_u64(),
        reward: run.reward(),
        stderr: f(&v["stderr"]),
        kl: f(&v["kl"]),
        samples: f(&v["expected_samples"]),
        at_lo: at(if run.kind == MethodKind::Bon { lo.ceil() } else { lo }).map(|p| (p.theta, p.expected_true_reward)),
        at_hi: at(hi_grid).map(|p| (p.theta, p.expected_true_reward, p.expected_samples)),
        holdout,
    }
}

fn profile_summary(profile: &[ProfileBin]) -> Option<hedge_report::Profile> {
    let top = profile.last()?;
    let peak = profile
        .iter()
        .fold(top, |b, p| if p.mean_true_reward > b.mean_true_reward { p } else { b });
    Some(hedge_report::Profile {
        peak_quantile: peak.quantile,
        peak_reward: peak.mean_true_reward,
        top_quantile: top.quantile,
        top_reward: top.mean_true_reward,
        top_stderr: top.stderr,
        top_width: top.hi - top.lo,
    })
}

#[allow(clippy::too_many_arguments)]
fn summary_json(
    loaded: &Loaded,
    args: &ReportArgs,
    runs: &[MethodRun],
    profile: &[ProfileBin],
    bins: usize,
    random: &CurvePoint,
    threshold: Option<&MethodRun>,
    verdict: &[String],
) -> Value {
    let data = &loaded.prepared;
    let mut methods = serde_json::Map::new();
    let mut curves = serde_json::Map::new();
    for r in runs {
        methods.insert(r.kind.name().into(), r.json.clone());
        let c = if r.kind == MethodKind::Sbon {
            json!({
                "parameter": r.kind.parameter(),
                "curves": r.sbon_curves.iter().map(|(n, pts)| json!({"n": n, "points": points_json(pts)})).collect::<Vec<_>>(),
            })
        } else {
            json!({"parameter": r.kind.parameter(), "points": points_json(&r.curve)})
        };
        curves.insert(r.kind.name().into(), c);
    }
    json!({
        "generator": format!("hedge {} report", env!("CARGO_PKG_VERSION")),
        "data": {
            "source": loaded.source,
            "columns": {"prompt": args.data.prompt_col, "proxy": args.data.proxy_col, "true": args.data.true_col},
            "prompts": data.prompts(),
            "skipped_prompts": loaded.skipped_prompts(),
            "responses": data.rows(),
            "responses_per_prompt": {"min": data.m_min(), "max": data.m_max()},
            "random_response_reward": random.expected_true_reward,
            "random_response_stderr": nan_null(random.stderr),
        },
        "estimator": "plugin",
        "seed": args.seed,
        "holdout_fraction": args.holdout,
        "methods": methods,
        "curves": curves,
        "proxy_profile": {
            "bins": bins,
            "points": profile.iter().map(|b| json!({
                "lo": b.lo, "hi": b.hi, "quantile": b.quantile, "mean_true_reward": b.mean_true_reward,
                "stderr": nan_null(b.stderr), "prompts": b.prompts, "responses": b.responses,
            })).collect::<Vec<_>>(),
        },
        "hacking_threshold": threshold.map(|t| json!({
            "method": t.kind.name(),
            "theta": t.json["theta"],
            "theta_continuous": t.json.get("theta_continuous"),
            "kl": t.json["kl"],
            "expected_samples": t.json["expected_samples"],
        })),
        "verdict": verdict,
        "files": REPORT_FILES,
    })
}

fn page(
    loaded: &Loaded,
    args: &ReportArgs,
    runs: &[MethodRun],
    random: &CurvePoint,
    verdict: &[String],
    svgs: Vec<String>,
    subtitle: &str,
) -> Page {
    let data = &loaded.prepared;
    let per_prompt = if data.m_min() == data.m_max() {
        format!("{} per prompt", data.m_max())
    } else {
        format!("{}–{} per prompt", data.m_min(), data.m_max())
    };
    let mut facts = vec![
        ("file".to_string(), loaded.source.clone()),
        (
            "columns".into(),
            format!(
                "prompt = {}, proxy = {}, true reward = {}",
                args.data.prompt_col, args.data.proxy_col, args.data.true_col
            ),
        ),
        (
            "prompts".into(),
            format!(
                "{} ({} skipped with a single response)",
                data.prompts(),
                loaded.skipped_prompts()
            ),
        ),
        ("responses".into(), format!("{} ({per_prompt})", data.rows())),
        (
            "random response".into(),
            format!(
                "{} ± {} expected true reward (n = 1)",
                fmt_sig(random.expected_true_reward, 4),
                fmt_sig(random.stderr, 2)
            ),
        ),
        (
            "estimator".into(),
            "plug-in (sampling with replacement from each prompt's responses)".into(),
        ),
    ];
    if let Some(frac) = args.holdout {
        facts.push((
            "hold-out".into(),
            format!("{} % of prompts, seed {}", fmt_sig(100.0 * frac, 3), args.seed),
        ));
    }
    let header = |cols: &[&str]| cols.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let mut table = Table {
        header: header(&[
            "method",
            "tuned",
            "regime",
            "E[true reward] ± SE",
            "KL (nats)",
            "E[samples]",
        ]),
        ..Default::default()
    };
    let mut held = Table {
        header: header(&[
            "method",
            "tuned on calibration prompts",
            "held-out: tuned",
            "held-out: default (most samples)",
            "held-out: oracle",
        ]),
        ..Default::default()
    };
    for r in runs {
        let v = &r.json;
        let sym = parameter_symbol(r.kind);
        let tuned = match r.kind {
            MethodKind::Bon => match v.get("theta_continuous") {
                Some(c) => format!("n = {} (root {})", fmt_num(r.theta()), fmt_sig(f(c), 4)),
                None => format!("n = {}", fmt_num(r.theta())),
            },
            MethodKind::Sbon => format!("n = {}, β = {}", v["n"], fmt_sig(r.theta(), 4)),
            _ => format!("{sym} = {}", fmt_sig(r.theta(), 4)),
        };
        table.rows.push(vec![
            method_label(r.kind).to_string(),
            tuned,
            r.regime().to_string(),
            format!("{} ± {}", fmt_sig(r.reward(), 4), fmt_sig(f(&v["stderr"]), 2)),
            fmt_sig(f(&v["kl"]), 3),
            fmt_sig(f(&v["expected_samples"]), 3),
        ]);
        table.swatches.push(Some(method_color(r.kind)));
        if let Some(h) = v.get("holdout") {
            let at = |theta: &Value, n: &Value| match n.as_u64() {
                Some(n) => format!("n = {n}, {sym} = {}", fmt_sig(f(theta), 3)),
                None => format!("{sym} = {}", fmt_sig(f(theta), 4)),
            };
            held.rows.push(vec![
                method_label(r.kind).to_string(),
                format!(
                    "{} ({})",
                    at(&h["tuned_theta"], &h["tuned_n"]),
                    h["tuned_regime"].as_str().unwrap_or("")
                ),
                format!(
                    "{} ± {}",
                    fmt_sig(f(&h["tuned_reward"]), 4),
                    fmt_sig(f(&h["tuned_stderr"]), 2)
                ),
                format!(
                    "{} ± {} ({})",
                    fmt_sig(f(&h["default_reward"]), 4),
                    fmt_sig(f(&h["default_stderr"]), 2),
                    at(&h["default_theta"], &h["default_n"])
                ),
                format!(
                    "{} ({})",
                    fmt_sig(f(&h["oracle_reward"]), 4),
                    at(&h["oracle_theta"], &h["oracle_n"])
                ),
            ]);
            held.swatches.push(Some(method_color(r.kind)));
        }
    }
    table.notes.push(
        "Tuned on all prompts by HedgeTune (the root of the slope of the expected true reward). Regime: increasing = no hacking in range, hacking = interior peak, valley, decreasing = the proxy hurts.".into(),
    );
    if runs.iter().any(|r| r.kind == MethodKind::Sbon) {
        table.notes.push("SBoN: β is on the proxy's own scale and its KL is the plug-in KL of its choice among each prompt's responses.".into());
    }
    let mut tables = vec![("Tuned parameters".to_string(), table)];
    if let Some(h) = runs.first().and_then(|r| r.json.get("holdout")) {
        held.notes.push(format!(
            "Tuned on {} prompts, every reward estimated on the other {} (seed {}). Default = the largest parameter of the range (\"use the most samples\"); oracle = tuned on the held-out prompts themselves, the best possible in hindsight.",
            h["calibration_prompts"], h["prompts"], args.seed
        ));
        tables.push(("Held-out check".to_string(), held));
    }
    let captions = [
        (
            "reward_vs_kl",
            "Expected true reward against KL to the reference",
            "Each method traced over its parameter; stars mark each method's HedgeTune optimum, the dashed red line where hacking starts. Pushing past it moves further from the reference for less true reward.",
        ),
        (
            "reward_vs_samples",
            "Expected true reward against cost",
            "The same curves against the expected number of samples drawn per prompt: past the peak, more compute buys less true reward.",
        ),
        (
            "proxy_vs_true",
            "True reward along the proxy's ranking",
            "Mean true reward of the responses at each proxy quantile within their prompt, pooled over prompts. Where the curve bends down at the right, the proxy's favourite responses are worse than the runners-up: selecting too hard picks them.",
        ),
    ];
    let figures = captions
        .iter()
        .zip(svgs)
        .map(|((id, title, caption), svg)| Figure {
            id: (*id).into(),
            title: (*title).into(),
            caption: (*caption).into(),
            svg,
            files: vec![format!("{id}.svg"), format!("{id}.png")],
        })
        .collect();
    Page {
        title: format!("hedge report: {}", file_name(&loaded.source)),
        subtitle: subtitle.to_string(),
        verdict: verdict.to_vec(),
        facts,
        tables,
        figures,
        footer: vec![
            format!("Generated by hedge {} (hedge report). Every number is in summary.json beside this page; the tuned objects are exactly those of `hedge tune --json`.", env!("CARGO_PKG_VERSION")),
            "Expected true rewards are plug-in estimates with standard errors across prompts; KL is measured from the reference policy (one sample).".into(),
        ],
    }
}
