//! The report of a [`Survey`]: its verdict, its three plots and the HTML page around them.

use hedge_estimate::{HoldoutReport, MethodSurvey, Survey, TuneOutcome};
use hedge_math::MethodKind;

use crate::figures::{survey_plots, survey_subtitle, tuned_setting};
use crate::format::fmt_sig;
use crate::html::{Figure, Page, Table};
use crate::labels::{file_name, method_color, method_label, parameter_symbol};
use crate::verdict::{Holdout, MethodFacts, Profile, verdict};

/// The files of a report, in the order they are written.
pub const REPORT_FILES: [&str; 10] = [
    "reward_vs_kl.svg",
    "reward_vs_kl.png",
    "reward_vs_samples.svg",
    "reward_vs_samples.png",
    "reward_vs_optimum.svg",
    "reward_vs_optimum.png",
    "proxy_vs_true.svg",
    "proxy_vs_true.png",
    "summary.json",
    "report.html",
];

/// A rendered survey: everything of a report but `summary.json` (the caller serialises the
/// survey itself).
#[derive(Debug, Clone, PartialEq)]
pub struct RenderedSurvey {
    /// `(file name, bytes)` of each plot, SVG then PNG, in [`REPORT_FILES`] order.
    pub plots: Vec<(String, Vec<u8>)>,
    /// The verdict, one paragraph per entry.
    pub verdict: Vec<String>,
    /// The self-contained page (`report.html`).
    pub html: String,
}

/// Render a survey: its plots (SVG and PNG), its verdict and its page.
pub fn render_survey(s: &Survey) -> crate::Result<RenderedSurvey> {
    render_survey_with(s, Vec::new())
}

/// A figure added to a survey's report (e.g. θ over time from a `hedge serve` store).
#[derive(Debug, Clone, PartialEq)]
pub struct ExtraFigure {
    /// File stem and HTML id.
    pub stem: String,
    /// Heading.
    pub title: String,
    /// What to read in it.
    pub caption: String,
    /// The plot.
    pub plot: crate::Plot,
}

/// [`render_survey`] with `extra` figures after the survey's own (their files follow
/// [`REPORT_FILES`]' plots, SVG then PNG).
pub fn render_survey_with(s: &Survey, extra: Vec<ExtraFigure>) -> crate::Result<RenderedSurvey> {
    render_survey_extra(s, extra, Vec::new())
}

/// [`render_survey_with`], plus `tables` (heading, table) after the survey's own tables, e.g. the
/// leaderboard of [`crate::leaderboard_table`].
pub fn render_survey_extra(
    s: &Survey,
    extra: Vec<ExtraFigure>,
    tables: Vec<(String, crate::Table)>,
) -> crate::Result<RenderedSurvey> {
    let verdict = survey_verdict(s);
    let mut plots = Vec::new();
    let mut figures = Vec::new();
    let own = survey_plots(s)
        .into_iter()
        .zip(CAPTIONS)
        .map(|((stem, plot), (_, title, caption))| ExtraFigure {
            stem: stem.to_string(),
            title: title.to_string(),
            caption: caption.to_string(),
            plot,
        });
    for f in own.chain(extra) {
        let svg = f.plot.svg()?;
        plots.push((format!("{}.svg", f.stem), svg.clone().into_bytes()));
        plots.push((format!("{}.png", f.stem), f.plot.png()?));
        figures.push(Figure {
            files: vec![format!("{}.svg", f.stem), format!("{}.png", f.stem)],
            id: f.stem,
            title: f.title,
            caption: f.caption,
            svg,
        });
    }
    let mut page = page(s, &verdict, figures);
    page.tables.extend(tables);
    let html = page.render();
    Ok(RenderedSurvey { plots, verdict, html })
}

fn holdout_facts(h: &HoldoutReport) -> Holdout {
    Holdout {
        prompts: h.prompts,
        calibration_prompts: h.calibration_prompts,
        tuned_theta: h.tuned_theta,
        tuned_reward: h.tuned_reward,
        tuned_stderr: h.tuned_stderr,
        default_theta: h.default_theta,
        default_reward: h.default_reward,
        tuned_vs_default: h.tuned_vs_default,
        oracle_reward: h.oracle_reward,
    }
}

/// What the verdict says about one surveyed method (`is_best`: it has the survey's best optimum).
pub fn method_facts(m: &MethodSurvey, is_best: bool) -> MethodFacts {
    let o = m.outcome();
    // SBoN's curves run over β for several n: no single pair of range ends.
    let curve = m.curves.first().filter(|_| o.method != MethodKind::Sbon);
    MethodFacts {
        label: method_label(o.method).into(),
        parameter: parameter_symbol(o.method).into(),
        regime: o.regime.name().into(),
        verdict: o.verdict,
        evidence: o.evidence,
        prompts: o.prompts,
        theta: o.theta,
        theta_continuous: o.theta_continuous,
        n: o.n,
        reward: o.expected_true_reward,
        stderr: o.stderr,
        kl: o.kl,
        samples: o.expected_samples,
        at_lo: curve.and_then(|c| c.at_lo()).map(|p| (p.theta, p.expected_true_reward)),
        at_hi: curve
            .and_then(|c| c.at_hi())
            .map(|p| (p.theta, p.expected_true_reward, p.expected_samples)),
        versus_best: (!is_best).then_some(m.versus_best),
        holdout: m.report.holdout.as_ref().map(holdout_facts),
    }
}

fn profile_facts(s: &Survey) -> Option<Profile> {
    let (top, peak) = (s.profile.top()?, s.profile.peak()?);
    Some(Profile {
        peak_quantile: peak.quantile,
        peak_reward: peak.mean_true_reward,
        top_quantile: top.quantile,
        top_reward: top.mean_true_reward,
        top_stderr: top.stderr,
        top_width: top.hi - top.lo,
        peak_resolved: s.profile.peak_resolved(),
    })
}

/// The verdict of a survey: led by its primary method ([`Survey::primary`]).
pub fn survey_verdict(s: &Survey) -> Vec<String> {
    if s.methods.is_empty() {
        return Vec::new();
    }
    let primary = s.primary();
    let facts: Vec<MethodFacts> = s
        .methods
        .iter()
        .enumerate()
        .map(|(i, m)| method_facts(m, i == s.best))
        .collect();
    let others: Vec<MethodFacts> = facts
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != primary)
        .map(|(_, m)| m.clone())
        .collect();
    verdict(&facts[primary], &others, profile_facts(s).as_ref())
}

fn data_facts(s: &Survey) -> Vec<(String, String)> {
    let d = &s.data;
    let per_prompt = if d.m_min == d.m_max {
        format!("{} per prompt", d.m_max)
    } else {
        format!("{}–{} per prompt", d.m_min, d.m_max)
    };
    let mut facts = Vec::new();
    if let Some(src) = &s.source {
        let c = &src.columns;
        facts.push(("file".to_string(), src.data.clone()));
        facts.push((
            "columns".into(),
            format!("prompt = {}, proxy = {}, true reward = {}", c.prompt, c.proxy, c.truth),
        ));
    }
    facts.extend([
        (
            "prompts".into(),
            format!("{} ({} skipped with a single response)", d.prompts, d.skipped_prompts),
        ),
        ("responses".into(), format!("{} ({per_prompt})", d.responses)),
        (
            "random response".into(),
            format!(
                "{} ± {} expected true reward (n = 1)",
                fmt_sig(s.random.expected_true_reward, 4),
                fmt_sig(s.random.stderr, 2)
            ),
        ),
        (
            "estimator".into(),
            "plug-in (sampling with replacement from each prompt's responses)".into(),
        ),
    ]);
    if let Some(frac) = s.holdout_fraction {
        facts.push((
            "hold-out".into(),
            format!("{} % of prompts, seed {}", fmt_sig(100.0 * frac, 3), s.seed),
        ));
    }
    facts
}

fn header(cols: &[&str]) -> Vec<String> {
    cols.iter().map(|s| s.to_string()).collect()
}

/// `n = 4, β = 12.3` or `μ = 4.402` for a hold-out table cell.
fn held_setting(kind: MethodKind, theta: f64, n: Option<u64>) -> String {
    let sym = parameter_symbol(kind);
    match n {
        Some(n) => format!("n = {n}, {sym} = {}", fmt_sig(theta, 3)),
        None => format!("{sym} = {}", fmt_sig(theta, 4)),
    }
}

fn tuned_row(o: &TuneOutcome) -> Vec<String> {
    let verdict = match (&o.verdict, &o.evidence) {
        (Some(v), Some(e)) => format!(
            "{} (loss at the top {} ± {}, z = {})",
            v.name(),
            fmt_sig(e.loss_at_default.paired.difference, 2),
            fmt_sig(e.loss_at_default.paired.stderr, 2),
            fmt_sig(e.loss_at_default.paired.z, 2)
        ),
        _ => "–".into(),
    };
    vec![
        method_label(o.method).to_string(),
        tuned_setting(o),
        o.regime.name().to_string(),
        verdict,
        format!("{} ± {}", fmt_sig(o.expected_true_reward, 4), fmt_sig(o.stderr, 2)),
        fmt_sig(o.kl, 3),
        fmt_sig(o.expected_samples, 3),
    ]
}

fn held_row(kind: MethodKind, h: &HoldoutReport) -> Vec<String> {
    vec![
        method_label(kind).to_string(),
        format!(
            "{} ({})",
            held_setting(kind, h.tuned_theta, h.tuned_n),
            h.tuned_regime.name()
        ),
        format!("{} ± {}", fmt_sig(h.tuned_reward, 4), fmt_sig(h.tuned_stderr, 2)),
        format!(
            "{} ± {} ({})",
            fmt_sig(h.default_reward, 4),
            fmt_sig(h.default_stderr, 2),
            held_setting(kind, h.default_theta, h.default_n)
        ),
        format!(
            "{} ({})",
            fmt_sig(h.oracle_reward, 4),
            held_setting(kind, h.oracle_theta, h.oracle_n)
        ),
    ]
}

/// The table of tuned parameters and, with a hold-out, the held-out check.
fn tables(s: &Survey) -> Vec<(String, Table)> {
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
    for m in &s.methods {
        table.rows.push(tuned_row(m.outcome()));
        table.swatches.push(Some(method_color(m.kind())));
        if let Some(h) = &m.report.holdout {
            held.rows.push(held_row(m.kind(), h));
            held.swatches.push(Some(method_color(m.kind())));
        }
    }
    table.notes.push(
        "Tuned on all prompts by HedgeTune (the root of the slope of the expected true reward). Regime: the shape of the estimated curve (increasing, hacking = an interior peak, valley, decreasing). Verdict: what the data show once noise is accounted for — hacking only when the decline after the peak is significant at the confidence level, corrected for the peak having been chosen on the same data (max-t prompt bootstrap); inconclusive when the curve turns down within noise. Loss at the top: the optimum minus the largest parameter, paired on the same prompts.".into(),
    );
    if s.methods.iter().any(|m| m.kind() == MethodKind::Sbon) {
        table.notes.push("SBoN: β is on the proxy's own scale and its KL is the plug-in KL of its choice among each prompt's responses.".into());
    }
    let mut out = vec![("Tuned parameters".to_string(), table)];
    if let Some(h) = s.methods.first().and_then(|m| m.report.holdout.as_ref()) {
        held.notes.push(format!(
            "Tuned on {} prompts, every reward estimated on the other {} (seed {}). Default = the largest parameter of the range (\"use the most samples\"); oracle = tuned on the held-out prompts themselves, the best possible in hindsight.",
            h.calibration_prompts, h.prompts, s.seed
        ));
        out.push(("Held-out check".to_string(), held));
    }
    out
}

const CAPTIONS: [(&str, &str, &str); 4] = [
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
        "reward_vs_optimum",
        "True reward relative to the tuned optimum",
        "Each method's expected true reward minus that at its own tuned optimum, with a ± 1 paired standard error band (differences on the same prompts). Where the band stays clear of zero, the parameter is distinguishably worse than the optimum; where it covers zero, the data cannot tell them apart.",
    ),
    (
        "proxy_vs_true",
        "True reward along the proxy's ranking",
        "Mean true reward of the responses at each proxy quantile within their prompt, pooled over prompts. Where the curve bends down at the right, the proxy's favourite responses are worse than the runners-up: selecting too hard picks them.",
    ),
];

/// The report page of a survey, with `svgs` the plots in [`survey_plots`] order.
pub fn survey_page(s: &Survey, verdict: &[String], svgs: Vec<String>) -> Page {
    let figures = CAPTIONS
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
    page(s, verdict, figures)
}

fn page(s: &Survey, verdict: &[String], figures: Vec<Figure>) -> Page {
    let name = s
        .source
        .as_ref()
        .map_or_else(|| "calibration data".to_string(), |src| file_name(&src.data));
    Page {
        title: format!("hedge report: {name}"),
        subtitle: survey_subtitle(s),
        verdict: verdict.to_vec(),
        facts: data_facts(s),
        tables: tables(s),
        figures,
        footer: vec![
            format!("Generated by hedge {} (hedge report). Every number is in summary.json beside this page; the tuned objects are exactly those of `hedge tune --json`.", env!("CARGO_PKG_VERSION")),
            "Expected true rewards are plug-in estimates with standard errors across prompts; KL is measured from the reference policy (one sample).".into(),
        ],
    }
}
