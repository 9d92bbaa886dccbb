//! Plot assembly: typed results from `hedge-estimate` in, [`Plot`]s out. Every number drawn is
//! one the caller computed; this module only chooses how to show it.

use hedge_estimate::{CurvePoint, Estimator, OutcomeCurves, Survey, TuneOutcome};
use hedge_math::{MethodKind, Regime};

use crate::format::{fmt_num, fmt_sig};
use crate::labels::{SBON_COLORS, Y_REWARD, file_name, method_color, method_label, parameter_axis, parameter_symbol};
use crate::palette;
use crate::plot::{HLine, Plot, Series, SeriesStyle, Star, VLine, XY};

/// Curve points as plot points, with `x` chosen by `x`.
pub fn xy(points: &[CurvePoint], x: impl Fn(&CurvePoint) -> f64) -> Vec<XY> {
    points
        .iter()
        .map(|p| XY::new(x(p), p.expected_true_reward, p.stderr))
        .collect()
}

/// The tuned parameter in words: `n = 5 (root 5.391)`, `n = 8, β = 12.3`, `μ = 4.4`.
pub fn tuned_setting(o: &TuneOutcome) -> String {
    match (o.method, o.theta_continuous, o.n) {
        (MethodKind::Bon, Some(c), _) => format!("n = {} (root {})", fmt_num(o.theta), fmt_sig(c, 4)),
        (MethodKind::Bon, None, _) => format!("n = {}", fmt_num(o.theta)),
        (MethodKind::Sbon, _, Some(n)) => format!("n = {n}, β = {}", fmt_sig(o.theta, 4)),
        (kind, _, _) => format!("{} = {}", parameter_symbol(kind), fmt_sig(o.theta, 4)),
    }
}

fn star(kind: MethodKind, name: String, x: f64, y: f64) -> Star {
    Star {
        name,
        x,
        y,
        color: method_color(kind),
    }
}

/// The plot of `hedge tune --plot`: the tuned method's curve(s) over the searched range
/// (as far as [`OutcomeCurves::zoomed_to`] says), the optimum starred, BoN's continuous root
/// marked when its curve peaks.
pub fn tune_plot(source: &str, o: &TuneOutcome, curves: &OutcomeCurves) -> Plot {
    let kind = o.method;
    let (lo, hi) = o.range;
    let sym = parameter_symbol(kind);
    let mut plot = Plot::new(
        format!("HedgeTune: {} on {}", method_label(kind), file_name(source)),
        parameter_axis(kind),
        Y_REWARD,
    );
    plot.subtitle = Some(format!(
        "{}regime {}: {}, expected true reward {} ± {}; {} prompts, {} estimator",
        o.verdict.map_or(String::new(), |v| format!("verdict {v}, ")),
        o.regime.name(),
        tuned_setting(o),
        fmt_sig(o.expected_true_reward, 4),
        fmt_sig(o.stderr, 2),
        o.prompts,
        o.estimator.name(),
    ));
    if let Some(top) = curves.zoomed_to {
        plot.note = Some(format!(
            "Searched range {sym} ∈ [{}, {}]; shown up to {} (the optimum is near the low end). `hedge curve` draws any range.",
            fmt_num(lo),
            fmt_num(hi),
            fmt_sig(top, 3)
        ));
        plot.x_range = Some((lo, top));
    }
    let color = method_color(kind);
    match kind {
        MethodKind::Sbon => {
            for (i, c) in curves.curves.iter().enumerate() {
                let n = c.n.unwrap_or(1);
                let col = SBON_COLORS[i % SBON_COLORS.len()];
                // One band only (the tuned n's): overlapping bands would hide the curves.
                let tuned = c.n == o.n;
                plot.series
                    .push(Series::line(format!("SBoN n = {n}"), col, xy(&c.points, |p| p.theta)).with_band(tuned));
                if tuned {
                    plot.stars.push(Star {
                        name: format!("n = {n}"),
                        x: o.theta,
                        y: o.expected_true_reward,
                        color: col,
                    });
                }
            }
        }
        MethodKind::Bon => {
            for c in &curves.curves {
                plot.series
                    .push(Series::markers("BoN (integer n)", color, xy(&c.points, |p| p.theta)));
            }
            plot.stars
                .push(star(kind, "BoN".into(), o.theta, o.expected_true_reward));
            if let Some(c) = o
                .theta_continuous
                .filter(|c| c.is_finite() && o.regime == Regime::Hacking)
            {
                plot.vlines.push(VLine {
                    x: c,
                    label: format!("n† ≈ {}", fmt_sig(c, 3)),
                    legend: "continuous root n† of the slope".into(),
                    color: palette::VERMILLION,
                });
            }
        }
        _ => {
            for c in &curves.curves {
                plot.series
                    .push(Series::line(method_label(kind), color, xy(&c.points, |p| p.theta)));
            }
            plot.stars
                .push(star(kind, method_label(kind).into(), o.theta, o.expected_true_reward));
        }
    }
    plot
}

/// What `hedge curve --plot` draws: a method's points at the requested parameters.
#[derive(Debug, Clone, Copy)]
pub struct CurveFacts<'a> {
    /// The data file.
    pub source: &'a str,
    /// Prompts used.
    pub prompts: usize,
    /// The method.
    pub kind: MethodKind,
    /// SBoN's `n`.
    pub n: Option<u64>,
    /// The estimator.
    pub estimator: Estimator,
}

/// The plot of `hedge curve --plot`: the requested points with their ± 1 SE band (BoN and
/// single points as markers with error bars).
pub fn curve_plot(facts: &CurveFacts<'_>, points: &[CurvePoint]) -> Plot {
    let kind = facts.kind;
    let mut plot = Plot::new(
        format!("{} on {}", method_label(kind), file_name(facts.source)),
        parameter_axis(kind),
        Y_REWARD,
    );
    plot.subtitle = Some(format!(
        "{}{} points, {} prompts, {} estimator",
        facts.n.map_or(String::new(), |n| format!("n = {n}; ")),
        points.len(),
        facts.prompts,
        facts.estimator.name()
    ));
    let name = match facts.n {
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

/// The line under every title of a survey's plots.
pub fn survey_subtitle(s: &Survey) -> String {
    let d = &s.data;
    let per_prompt = if d.m_min == d.m_max {
        format!("{} responses each", d.m_max)
    } else {
        format!("{}–{} responses each", d.m_min, d.m_max)
    };
    let (name, proxy, truth) = match &s.source {
        Some(src) => (
            file_name(&src.data),
            src.columns.proxy.as_str(),
            src.columns.truth.as_str(),
        ),
        None => ("calibration data".to_string(), "proxy", "true"),
    };
    format!(
        "{name}: proxy = {proxy}, true reward = {truth}; {} prompts, {per_prompt}",
        d.prompts
    )
}

fn random_line(s: &Survey) -> HLine {
    HLine {
        y: s.random.expected_true_reward,
        legend: "random response (n = 1)".into(),
        color: palette::GREY,
    }
}

/// The four plots of a survey, with the file stem each is written under: reward against KL
/// (`reward_vs_kl`), against expected samples (`reward_vs_samples`), relative to each method's
/// tuned optimum (`reward_vs_optimum`) and the proxy profile (`proxy_vs_true`).
pub fn survey_plots(s: &Survey) -> [(&'static str, Plot); 4] {
    let subtitle = survey_subtitle(s);
    let (mut kl_plot, mut cost_plot) = method_plots(s);
    kl_plot.subtitle = Some(subtitle.clone());
    cost_plot.subtitle = Some(subtitle.clone());
    mark_threshold(s, &mut kl_plot, &mut cost_plot);
    kl_plot.hlines.push(random_line(s));
    cost_plot.hlines.push(random_line(s));
    if s.methods.iter().any(|m| m.kind() == MethodKind::Sbon) {
        kl_plot.note = Some("SBoN's KL is the plug-in KL of its choice among each prompt's responses; the others' is the population KL.".into());
    }
    let mut relative = relative_plot(s);
    relative.subtitle = Some(subtitle.clone());
    let mut profile = profile_plot(s);
    profile.subtitle = Some(subtitle);
    [
        ("reward_vs_kl", kl_plot),
        ("reward_vs_samples", cost_plot),
        ("reward_vs_optimum", relative),
        ("proxy_vs_true", profile),
    ]
}

/// `f(θ) − f(θ†)` against expected samples with its ± 1 paired SE band: BoN's points, BoP's
/// sweep (and the tilt's, when surveyed, dashed), a zero line.
fn relative_plot(s: &Survey) -> Plot {
    let mut plot = Plot::new(
        "True reward relative to the tuned optimum",
        "expected samples per prompt",
        "f(θ) − f(θ†) (paired, ± 1 SE)",
    );
    for m in &s.methods {
        let (kind, o) = (m.kind(), m.outcome());
        let Some(c) = m.curves.first().filter(|c| !c.relative.is_empty()) else {
            continue;
        };
        let pts: Vec<XY> = c
            .relative
            .iter()
            .map(|p| XY::new(p.expected_samples, p.paired.difference, p.paired.stderr))
            .collect();
        let name = format!("{} (optimum {})", method_label(kind), tuned_setting(o));
        let color = method_color(kind);
        plot.series.push(match kind {
            MethodKind::Bon => Series::markers(name, color, pts),
            MethodKind::Tilt => Series::line(name, color, pts)
                .with_style(SeriesStyle::Dashed)
                .with_band(false),
            _ => Series::line(name, color, pts),
        });
        plot.stars
            .push(star(kind, method_label(kind).into(), o.expected_samples, 0.0));
    }
    plot.hlines.push(HLine {
        y: 0.0,
        legend: "the tuned optimum".into(),
        color: palette::GREY,
    });
    plot.note = Some(
        "Each method against its own optimum. A band that covers 0 means the data cannot tell that parameter from the optimum."
            .into(),
    );
    plot
}

/// Reward against KL and against expected samples: every method's curves and starred optimum.
fn method_plots(s: &Survey) -> (Plot, Plot) {
    let mut kl_plot = Plot::new(
        "Expected true reward against KL to the reference",
        "KL to reference (nats)",
        Y_REWARD,
    );
    let mut cost_plot = Plot::new(
        "Expected true reward against cost",
        "expected samples per prompt",
        Y_REWARD,
    );
    for m in &s.methods {
        let (kind, o) = (m.kind(), m.outcome());
        let color = method_color(kind);
        let label = method_label(kind);
        let curve = m.curves.first().map_or(&[][..], |c| &c.points[..]);
        match kind {
            MethodKind::Bon => {
                let name = format!("BoN (n = {}…{})", fmt_num(o.range.0), fmt_num(o.range.1));
                kl_plot
                    .series
                    .push(Series::markers(name.clone(), color, xy(curve, |p| p.kl)));
                cost_plot
                    .series
                    .push(Series::markers(name, color, xy(curve, |p| p.expected_samples)));
            }
            MethodKind::Bop | MethodKind::Tilt => {
                let name = if kind == MethodKind::Tilt {
                    "tilt (KL-optimal frontier)"
                } else {
                    "BoP (μ sweep)"
                };
                kl_plot.series.push(Series::line(name, color, xy(curve, |p| p.kl)));
                cost_plot
                    .series
                    .push(Series::line(name, color, xy(curve, |p| p.expected_samples)));
            }
            MethodKind::Sbon => {
                for (i, c) in m.curves.iter().enumerate() {
                    let col = SBON_COLORS[i % SBON_COLORS.len()];
                    let name = format!("SBoN n = {} (β sweep)", c.n.unwrap_or(1));
                    kl_plot.series.push(
                        Series::line(name, col, xy(&c.points, |p| p.kl))
                            .with_style(SeriesStyle::Dashed)
                            .with_band(false),
                    );
                    if c.n == o.n {
                        kl_plot.stars.push(Star {
                            name: label.into(),
                            x: o.kl,
                            y: o.expected_true_reward,
                            color: col,
                        });
                    }
                }
                let pts = o
                    .sbon
                    .iter()
                    .map(|r| XY::new(r.expected_samples, r.expected_true_reward, r.stderr))
                    .collect();
                cost_plot.series.push(
                    Series::markers("SBoN (β tuned for each n)", color, pts).with_style(SeriesStyle::LineMarkers),
                );
                cost_plot
                    .stars
                    .push(star(kind, label.into(), o.expected_samples, o.expected_true_reward));
                continue;
            }
        }
        kl_plot
            .stars
            .push(star(kind, label.into(), o.kl, o.expected_true_reward));
        cost_plot
            .stars
            .push(star(kind, label.into(), o.expected_samples, o.expected_true_reward));
    }
    (kl_plot, cost_plot)
}

/// The hacking threshold as vertical lines on the KL and cost plots.
fn mark_threshold(s: &Survey, kl_plot: &mut Plot, cost_plot: &mut Plot) {
    let Some(t) = &s.threshold else { return };
    let sym = parameter_symbol(t.method);
    kl_plot.vlines.push(VLine {
        x: t.kl,
        label: "hacking starts".into(),
        legend: format!(
            "hacking threshold: KL ≈ {} nats ({} peak, {sym} = {})",
            fmt_sig(t.kl, 3),
            method_label(t.method),
            fmt_num(t.theta)
        ),
        color: palette::VERMILLION,
    });
    let samples = t.samples();
    cost_plot.vlines.push(VLine {
        x: samples,
        label: "hacking starts".into(),
        legend: format!(
            "hacking starts: {} at ≈ {} samples",
            method_label(t.method),
            fmt_sig(samples, 3)
        ),
        color: palette::VERMILLION,
    });
}

/// One tuning of `hedge serve` for the θ-over-time plot.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ThetaStep {
    /// Hours since the first tuning.
    pub hours: f64,
    /// θ in force before it.
    pub before: f64,
    /// θ it tuned.
    pub tuned: f64,
    /// Whether it was adopted.
    pub adopted: bool,
}

/// θ over time in a `hedge serve` store: the θ in force as a step line, every tuning's θ† as a point
/// (adopted ones starred).
pub fn theta_plot(kind: MethodKind, steps: &[ThetaStep]) -> Plot {
    let sym = parameter_symbol(kind);
    let mut plot = Plot::new(
        format!("{} over time ({})", sym, method_label(kind)),
        "hours since the first tuning",
        parameter_axis(kind),
    );
    let mut in_force = Vec::new();
    for s in steps {
        in_force.push(XY::new(s.hours, s.before, f64::NAN));
        in_force.push(XY::new(s.hours, if s.adopted { s.tuned } else { s.before }, f64::NAN));
    }
    plot.series
        .push(Series::line(format!("{sym} in force"), method_color(kind), in_force).with_band(false));
    let tuned = steps.iter().map(|s| XY::new(s.hours, s.tuned, f64::NAN)).collect();
    plot.series.push(Series::markers(
        format!("{sym}† of each re-tuning"),
        palette::GREY,
        tuned,
    ));
    for s in steps.iter().filter(|s| s.adopted) {
        plot.stars.push(Star {
            name: "adopted".into(),
            x: s.hours,
            y: s.tuned,
            color: method_color(kind),
        });
    }
    plot.star_legend = "adopted (significantly better than the θ in force)".into();
    plot
}

/// The proxy profile `r(u)` with its band and the mean over all responses.
fn profile_plot(s: &Survey) -> Plot {
    let mut plot = Plot::new(
        "True reward along the proxy's ranking",
        "proxy quantile within the prompt (1 = the proxy's favourite)",
        "mean true reward",
    );
    plot.x_range = Some((0.0, 1.0));
    let pts: Vec<XY> = s
        .profile
        .points
        .iter()
        .map(|b| XY::new(b.quantile, b.mean_true_reward, b.stderr))
        .collect();
    plot.series.push(
        Series::line(format!("r(u), {} bins of u", s.profile.bins), palette::BLUE, pts)
            .with_style(SeriesStyle::LineMarkers),
    );
    plot.hlines.push(HLine {
        legend: "mean over all responses".into(),
        ..random_line(s)
    });
    plot.note = Some("u = (k − 0.5)/m for the k-th of a prompt's m responses by proxy; ties share their mean true reward. Prompts weigh equally.".into());
    plot
}

/// The Pareto plot of a comparison: every proxy × method's held-out tuned true reward (± its
/// standard error) against its expected samples per request, one marker series per method;
/// the rows on the frontier (no other row has at least their reward with at most their samples)
/// are joined by a line and starred.
pub fn pareto_plot(source: &str, c: &hedge_estimate::compare::Comparison) -> Plot {
    let mut plot = Plot::new(
        "True reward against cost, every proxy × method",
        "expected samples per request at the tuned parameter",
        "held-out E[true reward] of the tuned parameter",
    );
    plot.subtitle = Some(format!(
        "{}: tuned on {} prompts, judged on {} held-out (seed {})",
        file_name(source),
        c.calibration_prompts,
        c.held_out_prompts,
        c.seed
    ));
    let mut kinds: Vec<MethodKind> = Vec::new();
    for e in &c.entries {
        if !kinds.contains(&e.method) {
            kinds.push(e.method);
        }
    }
    for kind in kinds {
        let pts = c
            .entries
            .iter()
            .filter(|e| e.method == kind)
            .map(|e| XY::new(e.expected_samples, e.reward(), e.holdout.tuned_stderr))
            .collect();
        plot.series
            .push(Series::markers(method_label(kind), method_color(kind), pts));
    }
    let mut frontier: Vec<&hedge_estimate::compare::Entry> = c.entries.iter().filter(|e| e.pareto).collect();
    frontier.sort_by(|a, b| a.expected_samples.total_cmp(&b.expected_samples));
    let line = frontier
        .iter()
        .map(|e| XY::new(e.expected_samples, e.reward(), f64::NAN))
        .collect();
    plot.series
        .push(Series::line("Pareto frontier", palette::BLACK, line).with_band(false));
    for e in &frontier {
        plot.stars.push(Star {
            name: format!("{} / {}", e.proxy, e.method.name()),
            x: e.expected_samples,
            y: e.reward(),
            color: method_color(e.method),
        });
    }
    plot.star_legend = "on the frontier".into();
    plot.hlines.push(HLine {
        y: c.random,
        legend: "a random response".into(),
        color: palette::GREY,
    });
    let names: Vec<String> = frontier
        .iter()
        .map(|e| {
            format!(
                "{} ({}, {} samples)",
                e.proxy,
                e.method.name(),
                fmt_sig(e.expected_samples, 3)
            )
        })
        .collect();
    plot.note = Some(format!("Frontier, cheapest first: {}.", names.join("; ")));
    plot
}
