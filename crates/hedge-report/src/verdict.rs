//! The plain-language verdict of a report, worded from the numbers and tests of `hedge-estimate`.
//!
//! Every claim states its uncertainty: "hacking" only for a significant decline (the
//! [`Verdict`] of [`hedge_estimate::Evidence`]), differences between parameters, methods and
//! the held-out default with their paired standard errors.

use hedge_estimate::{Evidence, Gap, Paired, Reading, Verdict};

use crate::format::{fmt_num, fmt_sig};

/// What the verdict needs to know about one tuned method.
#[derive(Debug, Clone, PartialEq)]
pub struct MethodFacts {
    /// Display name (`"BoN"`, `"BoP"`, `"tilt"`, `"SBoN"`).
    pub label: String,
    /// The parameter's symbol (`"n"`, `"μ"`, `"λ"`, `"β"`).
    pub parameter: String,
    /// `"increasing"`, `"hacking"`, `"valley"` or `"decreasing"`: the shape of the estimated curve.
    pub regime: String,
    /// What the data say, uncertainty included.
    pub verdict: Option<Verdict>,
    /// The evidence behind it.
    pub evidence: Option<Evidence>,
    /// Prompts the method was tuned on.
    pub prompts: usize,
    /// The tuned parameter.
    pub theta: f64,
    /// BoN: the continuous root before the integer rule.
    pub theta_continuous: Option<f64>,
    /// SBoN: the tuned number of candidates.
    pub n: Option<u64>,
    /// Expected true reward at the optimum.
    pub reward: f64,
    /// Its standard error.
    pub stderr: f64,
    /// KL to the reference at the optimum (nats).
    pub kl: f64,
    /// Expected samples per prompt at the optimum.
    pub samples: f64,
    /// `(θ, reward)` at the low end of the searched range (BoN: n = 1, a random response).
    pub at_lo: Option<(f64, f64)>,
    /// `(θ, reward, samples)` at the high end of the searched range ("the most samples").
    pub at_hi: Option<(f64, f64, f64)>,
    /// This optimum minus the best method's, paired (`None` for the best itself or alone).
    pub versus_best: Option<Paired>,
    /// The hold-out check, when one was run.
    pub holdout: Option<Holdout>,
}

/// Hold-out results of one method (every reward estimated on the held-out prompts).
#[derive(Debug, Clone, PartialEq)]
pub struct Holdout {
    /// Held-out prompts.
    pub prompts: usize,
    /// Prompts tuned on.
    pub calibration_prompts: usize,
    /// The tuned parameter (on the calibration prompts).
    pub tuned_theta: f64,
    /// Reward of the tuned parameter.
    pub tuned_reward: f64,
    /// Its standard error.
    pub tuned_stderr: f64,
    /// The untuned default (largest parameter of the range).
    pub default_theta: f64,
    /// Its reward.
    pub default_reward: f64,
    /// Tuned minus default on the held-out prompts, paired.
    pub tuned_vs_default: Paired,
    /// Reward of the parameter tuned on the held-out prompts themselves.
    pub oracle_reward: f64,
}

/// The proxy-quantile profile `r(u)` summarised for the verdict.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Profile {
    /// Quantile of the highest bin.
    pub peak_quantile: f64,
    /// Its mean true reward.
    pub peak_reward: f64,
    /// Quantile of the top bin (the proxy's favourite responses).
    pub top_quantile: f64,
    /// Its mean true reward.
    pub top_reward: f64,
    /// Its standard error.
    pub top_stderr: f64,
    /// Width of the top bin (fraction of each prompt's responses).
    pub top_width: f64,
    /// Whether the peak lies below the top bin and beats it beyond noise: hedge-estimate's
    /// decision ([`hedge_estimate::Profile::peak_resolved`]), which the "Why" sentence words.
    pub peak_resolved: bool,
}

fn r(x: f64) -> String {
    fmt_sig(x, 4)
}

fn se(x: f64) -> String {
    if x.is_finite() {
        format!(" ± {}", fmt_sig(x, 2))
    } else {
        String::new()
    }
}

/// `0.0117 ± 0.0088`.
fn diff(p: &Paired) -> String {
    format!("{}{}", fmt_sig(p.difference, 3), se(p.stderr))
}

/// `95 %`.
fn pct(level: f64) -> String {
    format!("{} %", fmt_sig(100.0 * level, 3))
}

fn setting(m: &MethodFacts) -> String {
    match m.n {
        Some(n) => format!("n = {n}, {} = {}", m.parameter, fmt_sig(m.theta, 3)),
        None => format!("{} = {}", m.parameter, fmt_num(m.theta)),
    }
}

/// `n = 25` for a gap's reference (SBoN: `n = 64, β = 1000`).
fn reference(m: &MethodFacts, g: &Gap) -> String {
    match g.n {
        Some(n) => format!("n = {n}, {} = {}", m.parameter, fmt_num(g.theta)),
        None => format!("{} = {}", m.parameter, fmt_num(g.theta)),
    }
}

/// One line on a gap: `0.0167 ± 0.0059 (paired; z = 2.8; significant at 95 %, corrected for
/// choosing the peak: z > 1.97 needed)`.
pub fn gap_sentence(g: &Gap, level: f64) -> String {
    let test = if !g.critical.is_finite() {
        "no test: too few prompts".to_string()
    } else {
        format!(
            "{}significant at {}, corrected for choosing the peak: z > {} needed",
            if g.significant { "" } else { "not " },
            pct(level),
            fmt_sig(g.critical, 3)
        )
    };
    format!("{} (paired; z = {}; {test})", diff(&g.paired), fmt_sig(g.paired.z, 2))
}

/// The verdict, one paragraph per entry: a one-sentence headline and the details of what
/// `primary` (normally BoN) does on this data, worded by its [`Verdict`]; the tuned optimum of
/// every method with their paired differences, the hold-out check and, given the profile, why.
///
/// ```
/// use hedge_report::{MethodFacts, verdict};
/// let bon = MethodFacts {
///     label: "BoN".into(), parameter: "n".into(), regime: "increasing".into(), verdict: None,
///     evidence: None, prompts: 100, theta: 25.0, theta_continuous: Some(25.0), n: None, reward: 0.71,
///     stderr: 0.01, kl: 2.2, samples: 25.0, at_lo: Some((1.0, 0.5)), at_hi: Some((25.0, 0.71, 25.0)),
///     versus_best: None, holdout: None,
/// };
/// let v = verdict(&bon, &[], None);
/// assert_eq!(v[0], "No reward hacking in range: with BoN, more samples keep helping up to n = 25.");
/// ```
pub fn verdict(primary: &MethodFacts, others: &[MethodFacts], profile: Option<&Profile>) -> Vec<String> {
    let (head, detail) = headline(primary);
    let mut out = vec![head, detail];
    let all: Vec<&MethodFacts> = std::iter::once(primary).chain(others).collect();
    if all.len() > 1 {
        out.push(optima(&all));
    }
    if let Some(h) = &primary.holdout {
        out.push(holdout(primary, h));
    }
    if let Some(p) = profile {
        out.push(why(p));
    }
    out
}

/// "Tuned optima: …" with each method's paired difference to the best.
fn optima(all: &[&MethodFacts]) -> String {
    let parts: Vec<String> = all
        .iter()
        .map(|m| format!("{} {} → {}{}", m.label, setting(m), r(m.reward), se(m.stderr)))
        .collect();
    let best = all.iter().find(|m| m.versus_best.is_none()).copied();
    let behind: Vec<(&MethodFacts, Paired)> = all
        .iter()
        .filter_map(|m| m.versus_best.map(|p| (*m, p)))
        .filter(|(_, p)| p.difference < 0.0)
        .collect();
    let clear: Vec<String> = behind
        .iter()
        .filter(|(_, p)| p.reading() == Reading::Below)
        .map(|(m, p)| {
            format!(
                "{} by {} (z = {})",
                m.label,
                diff(&Paired {
                    difference: -p.difference,
                    ..*p
                }),
                fmt_sig(p.z, 2)
            )
        })
        .collect();
    let tail = match best {
        Some(b) if clear.is_empty() => format!(
            " {} ({}) is highest, but every other optimum is within about two paired standard errors of it: on this data the methods do about as well as each other.",
            b.label,
            setting(b)
        ),
        Some(b) => format!(
            " The best is {} ({}); it beats {} (paired on the same prompts).",
            b.label,
            setting(b),
            clear.join(", ")
        ),
        None => String::new(),
    };
    format!("Tuned optima: {}.{tail}", parts.join("; "))
}

fn holdout(m: &MethodFacts, h: &Holdout) -> String {
    let d = &h.tuned_vs_default;
    let word = match d.reading() {
        Reading::Above => "better than",
        Reading::Below => "worse than",
        Reading::WithinNoise => "within noise of",
    };
    format!(
        "Held-out check: tuned on {} prompts, {} {} = {} scores {}{} on the other {} — {word} the untuned default {} = {} ({}; difference {}, paired), and close to the best in hindsight ({}).",
        h.calibration_prompts,
        m.label,
        m.parameter,
        fmt_num(h.tuned_theta),
        r(h.tuned_reward),
        se(h.tuned_stderr),
        h.prompts,
        m.parameter,
        fmt_num(h.default_theta),
        r(h.default_reward),
        diff(d),
        r(h.oracle_reward),
    )
}

fn why(p: &Profile) -> String {
    let top_pct = (p.top_width * 100.0).round();
    if p.peak_resolved {
        format!(
            "Why: within each prompt, the true reward is highest around proxy quantile u ≈ {} ({}) and lower, {}{}, among the top {top_pct} % by proxy: the responses the proxy likes most are not the best ones, so selecting too hard picks them.",
            fmt_sig(p.peak_quantile, 2),
            r(p.peak_reward),
            r(p.top_reward),
            se(p.top_stderr),
        )
    } else {
        format!(
            "Why: the true reward is highest, within noise, among the proxy's top {top_pct} % ({}{}), so selecting harder by the proxy keeps paying off on this data.",
            r(p.top_reward),
            se(p.top_stderr),
        )
    }
}

/// The verdict's first two entries: a one-sentence headline, then the details.
fn headline(m: &MethodFacts) -> (String, String) {
    match (m.verdict, &m.evidence) {
        (Some(v), Some(e)) => worded(m, v, e),
        _ => by_shape(m),
    }
}

/// Headline and details from the verdict and its evidence.
fn worded(m: &MethodFacts, v: Verdict, e: &Evidence) -> (String, String) {
    let p = &m.parameter;
    let (gain, loss) = (&e.gain, &e.loss_at_default);
    let peak = format!("{}{}", r(m.reward), se(m.stderr));
    let gain_line = format!(
        "Selecting helps: {} = {} gains {} over {}",
        p,
        fmt_num(m.theta),
        gap_sentence(gain, e.level),
        reference(m, gain)
    );
    match v {
        Verdict::Hacking => {
            let start = fmt_sig(m.theta_continuous.unwrap_or(m.theta), 3);
            let kl = if m.kl.is_finite() {
                format!(" (KL ≈ {} nats to the reference)", fmt_sig(m.kl, 3))
            } else {
                String::new()
            };
            let share = 100.0 * loss.paired.difference / m.reward.abs().max(1e-300);
            (
                format!(
                    "Reward hacking starts at {p} ≈ {start} ({}); using {} costs {} of true reward ({} % of the peak).",
                    m.label,
                    reference(m, loss),
                    diff(&loss.paired),
                    fmt_sig(share, 2)
                ),
                format!(
                    "The expected true reward peaks at {peak} with {p} = {}{kl} and falls beyond it: by {} at {} {}. {gain_line}.",
                    fmt_num(m.theta),
                    fmt_sig(loss.paired.difference, 3),
                    reference(m, loss),
                    gap_sentence(loss, e.level),
                ),
            )
        }
        Verdict::Inconclusive => (
            format!(
                "No significant reward hacking: with {}, the estimated true reward peaks at {p} = {}, but the decline after it is within noise on {} prompts (z = {}){}.",
                m.label,
                fmt_num(m.theta),
                m.prompts,
                fmt_sig(loss.paired.z, 2),
                e.prompts_needed
                    .map_or(String::new(), |n| format!("; about {n} prompts would tell"))
            ),
            format!(
                "The peak is {peak} at {p} = {}; {} is lower by {}. {gain_line}.",
                fmt_num(m.theta),
                reference(m, loss),
                gap_sentence(loss, e.level),
            ),
        ),
        Verdict::ProxyHurts => (
            format!(
                "The proxy hurts: with {}, the true reward falls as soon as {p} grows.",
                m.label
            ),
            format!(
                "From {} to {} it falls by {}. Selecting by this proxy is worse than {}; do not use it to choose responses.",
                reference(m, gain),
                reference(m, loss),
                gap_sentence(loss, e.level),
                if p == "n" {
                    "taking a random response"
                } else {
                    "not selecting at all"
                }
            ),
        ),
        Verdict::NoHackingDetected => no_hacking(m, e, &gain_line),
    }
}

/// `no_hacking_detected`: rising to the end, or flat near it within noise.
fn no_hacking(m: &MethodFacts, e: &Evidence, gain_line: &str) -> (String, String) {
    let p = &m.parameter;
    let loss = &e.loss_at_default;
    let upto = format!(" up to {}", reference(m, loss));
    let more = if p == "n" {
        "more samples keep"
    } else {
        "stronger selection keeps"
    };
    let gain = if e.gain.significant {
        format!(" {gain_line}.")
    } else {
        String::new()
    };
    if m.regime == "increasing" {
        return (
            format!("No reward hacking in range: with {}, {more} helping{upto}.", m.label),
            format!(
                "The expected true reward keeps rising with {p}{}.{gain} Use the largest {p} you can afford; where hacking would start lies beyond what this data can show{}.",
                span(m),
                if p == "n" {
                    " (it has no more responses per prompt)"
                } else {
                    ""
                }
            ),
        );
    }
    (
        format!(
            "No reward hacking detected: with {}, nothing in the range beats {} significantly.",
            m.label,
            reference(m, loss)
        ),
        format!(
            "The estimated curve is flat near the top: its peak at {p} = {} is {} above {}.{gain}",
            fmt_num(m.theta),
            gap_sentence(loss, e.level),
            reference(m, loss)
        ),
    )
}

fn span(m: &MethodFacts) -> String {
    let p = &m.parameter;
    match (m.at_lo, m.at_hi) {
        (Some((t_lo, f_lo)), Some((t_hi, f_hi, _))) => {
            format!(
                ", from {} at {p} = {} to {} at {p} = {}",
                r(f_lo),
                fmt_num(t_lo),
                r(f_hi),
                fmt_num(t_hi)
            )
        }
        _ => String::new(),
    }
}

/// Headline and details from the shape alone (no evidence was computed).
fn by_shape(m: &MethodFacts) -> (String, String) {
    let p = &m.parameter;
    let best = format!("{}{}", r(m.reward), se(m.stderr));
    match m.regime.as_str() {
        "increasing" => (
            format!(
                "No reward hacking in range: with {}, {} helping{}.",
                m.label,
                if p == "n" {
                    "more samples keep"
                } else {
                    "stronger selection keeps"
                },
                m.at_hi
                    .map_or(String::new(), |(t, _, _)| format!(" up to {p} = {}", fmt_num(t)))
            ),
            format!("The expected true reward keeps rising with {p}{}.", span(m)),
        ),
        other => (
            format!(
                "{}: the estimated curve's shape is {other} (no test of it was run).",
                m.label
            ),
            format!("The best {p} is {} ({best}).", fmt_num(m.theta)),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gap(theta: f64, d: f64, s: f64, c: f64) -> Gap {
        Gap {
            theta,
            n: None,
            paired: Paired {
                difference: d,
                stderr: s,
                z: d / s,
            },
            critical: c,
            significant: d / s > c,
            interval: [0.0, d + c * s],
        }
    }

    fn bon(verdict: Verdict, loss: f64) -> MethodFacts {
        MethodFacts {
            label: "BoN".into(),
            parameter: "n".into(),
            regime: "hacking".into(),
            verdict: Some(verdict),
            evidence: Some(Evidence {
                level: 0.95,
                correction: "max-t prompt bootstrap",
                resamples: 1000,
                grid_points: 25,
                gain: gap(1.0, 0.0167, 0.0059, 1.97),
                loss_at_default: gap(25.0, loss, 0.0088, 1.95),
                hacking_significant: loss / 0.0088 > 1.95,
                prompts_needed: (loss / 0.0088 <= 1.95).then_some(214),
            }),
            prompts: 100,
            theta: 5.0,
            theta_continuous: Some(5.39),
            n: None,
            reward: 0.478,
            stderr: 0.015,
            kl: 0.81,
            samples: 5.0,
            at_lo: Some((1.0, 0.46)),
            at_hi: Some((25.0, 0.467, 25.0)),
            versus_best: None,
            holdout: None,
        }
    }

    #[test]
    fn wording_follows_the_verdict() {
        let v = verdict(&bon(Verdict::Inconclusive, 0.0117), &[], None);
        assert!(v[0].starts_with("No significant reward hacking"), "{}", v[0]);
        assert!(
            v[0].contains("within noise on 100 prompts (z = 1.3)") && v[0].contains("about 214 prompts would tell"),
            "{}",
            v[0]
        );
        assert!(
            v[1].contains("0.0117 ± 0.0088") && v[1].contains("not significant at 95 %"),
            "{}",
            v[1]
        );
        assert!(
            v[1].contains("Selecting helps") && v[1].contains("0.0167 ± 0.0059"),
            "{}",
            v[1]
        );
        let h = verdict(&bon(Verdict::Hacking, 0.04), &[], None);
        assert!(
            h[0].starts_with("Reward hacking starts at n ≈ 5.39 (BoN); using n = 25 costs 0.04 ± 0.0088"),
            "{}",
            h[0]
        );
        assert!(h[1].contains("significant at 95 %"), "{}", h[1]);
        let d = verdict(&bon(Verdict::ProxyHurts, 0.04), &[], None);
        assert!(
            d[0].starts_with("The proxy hurts") && d[1].contains("random response"),
            "{}",
            d[1]
        );
        let mut flat = bon(Verdict::NoHackingDetected, 0.0003);
        let n = verdict(&flat, &[], None);
        assert!(n[0].starts_with("No reward hacking detected"), "{}", n[0]);
        flat.regime = "increasing".into();
        let n = verdict(&flat, &[], None);
        assert_eq!(
            n[0],
            "No reward hacking in range: with BoN, more samples keep helping up to n = 25."
        );
        assert!(!n.iter().any(|p| p.contains("Reward hacking starts")));
    }

    #[test]
    fn others_holdout_and_profile() {
        let mut b = bon(Verdict::Hacking, 0.04);
        b.holdout = Some(Holdout {
            prompts: 30,
            calibration_prompts: 70,
            tuned_theta: 5.0,
            tuned_reward: 0.48,
            tuned_stderr: 0.02,
            default_theta: 25.0,
            default_reward: 0.45,
            tuned_vs_default: Paired {
                difference: 0.03,
                stderr: 0.01,
                z: 3.0,
            },
            oracle_reward: 0.49,
        });
        let mut bop = bon(Verdict::Hacking, 0.04);
        bop.label = "BoP".into();
        bop.parameter = "μ".into();
        bop.versus_best = Some(Paired {
            difference: -0.002,
            stderr: 0.003,
            z: -0.67,
        });
        let p = Profile {
            peak_quantile: 0.8,
            peak_reward: 0.75,
            top_quantile: 0.975,
            top_reward: 0.6,
            top_stderr: 0.02,
            top_width: 0.05,
            peak_resolved: true,
        };
        let v = verdict(&b, &[bop.clone()], Some(&p));
        assert_eq!(v.len(), 5);
        assert!(v[2].contains("within about two paired standard errors"), "{}", v[2]);
        assert!(v[3].contains("better than the untuned default n = 25"), "{}", v[3]);
        assert!(v[4].contains("u ≈ 0.8") && v[4].contains("top 5 %"), "{}", v[4]);
        bop.versus_best = Some(Paired {
            difference: -0.02,
            stderr: 0.004,
            z: -5.0,
        });
        let v = verdict(&b, &[bop], None);
        assert!(
            v[2].contains("The best is BoN") && v[2].contains("BoP by 0.02 ± 0.004"),
            "{}",
            v[2]
        );
    }
}
