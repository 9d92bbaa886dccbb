//! The plain-language verdict of a report, computed from the tuned numbers.

use crate::format::{fmt_num, fmt_sig};

/// What the verdict needs to know about one tuned method.
#[derive(Debug, Clone, PartialEq)]
pub struct MethodFacts {
    /// Display name (`"BoN"`, `"BoP"`, `"tilt"`, `"SBoN"`).
    pub label: String,
    /// The parameter's symbol (`"n"`, `"μ"`, `"λ"`, `"β"`).
    pub parameter: String,
    /// `"increasing"`, `"hacking"`, `"valley"` or `"decreasing"`.
    pub regime: String,
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

fn setting(m: &MethodFacts) -> String {
    match m.n {
        Some(n) => format!("n = {n}, {} = {}", m.parameter, fmt_sig(m.theta, 3)),
        None => format!("{} = {}", m.parameter, fmt_num(m.theta)),
    }
}

/// The verdict, one paragraph per entry: a one-sentence headline and the details of
/// what `primary` (normally BoN) does on this data, in words that follow its regime; the tuned optimum of every method, the
/// hold-out check and, given the profile, why.
///
/// ```
/// use hedge_report::{MethodFacts, verdict};
/// let bon = MethodFacts {
///     label: "BoN".into(), parameter: "n".into(), regime: "hacking".into(), theta: 23.0,
///     theta_continuous: Some(23.4), n: None, reward: 0.71, stderr: 0.01, kl: 2.2, samples: 23.0,
///     at_lo: Some((1.0, 0.5)), at_hi: Some((64.0, 0.67, 64.0)), holdout: None,
/// };
/// let v = verdict(&bon, &[], None);
/// assert_eq!(v[0], "Reward hacking starts at n ≈ 23.4 (BoN); using 64 samples costs 0.04 of true reward (5.6 % of the peak).");
/// ```
pub fn verdict(primary: &MethodFacts, others: &[MethodFacts], profile: Option<&Profile>) -> Vec<String> {
    let (head, detail) = headline(primary);
    let mut out = vec![head, detail];
    let all: Vec<&MethodFacts> = std::iter::once(primary).chain(others).collect();
    if all.len() > 1 {
        let best = all
            .iter()
            .copied()
            .fold(primary, |b, m| if m.reward > b.reward { m } else { b });
        let parts: Vec<String> = all
            .iter()
            .map(|m| format!("{} {} → {}{}", m.label, setting(m), r(m.reward), se(m.stderr)))
            .collect();
        let (lo, hi) = all.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), m| {
            (a.min(m.reward), b.max(m.reward))
        });
        let min_se = all
            .iter()
            .map(|m| m.stderr)
            .filter(|s| s.is_finite())
            .fold(f64::INFINITY, f64::min);
        let agree = if hi - lo < min_se {
            " They agree within one standard error: at its own optimum each method does about as well as the others."
                .to_string()
        } else {
            format!(" The best is {} ({}).", best.label, setting(best))
        };
        out.push(format!("Tuned optima: {}.{agree}", parts.join("; ")));
    }
    if let Some(h) = &primary.holdout {
        let diff = h.tuned_reward - h.default_reward;
        let word = if diff > 0.0 {
            "better than"
        } else if diff < 0.0 {
            "worse than"
        } else {
            "the same as"
        };
        out.push(format!(
            "Held-out check: tuned on {} prompts, {} {} = {} scores {}{} on the other {} — {} the untuned default {} = {} ({}), and close to the best in hindsight ({}).",
            h.calibration_prompts,
            primary.label,
            primary.parameter,
            fmt_num(h.tuned_theta),
            r(h.tuned_reward),
            se(h.tuned_stderr),
            h.prompts,
            word,
            primary.parameter,
            fmt_num(h.default_theta),
            r(h.default_reward),
            r(h.oracle_reward),
        ));
    }
    if let Some(p) = profile {
        let top_pct = (p.top_width * 100.0).round();
        let gap = p.peak_reward - p.top_reward;
        let resolved = gap > if p.top_stderr.is_finite() { p.top_stderr } else { 0.0 };
        out.push(if p.peak_quantile < p.top_quantile && resolved {
            format!(
                "Why: within each prompt, the true reward is highest around proxy quantile u ≈ {} ({}) and lower, {}, among the top {top_pct} % by proxy: the responses the proxy likes most are not the best ones, so selecting too hard picks them.",
                fmt_sig(p.peak_quantile, 2),
                r(p.peak_reward),
                r(p.top_reward),
            )
        } else {
            format!(
                "Why: the true reward is highest among the proxy's top {top_pct} % ({}), so selecting harder by the proxy keeps paying off on this data.",
                r(p.top_reward),
            )
        });
    }
    out
}

/// The verdict's first two entries: a one-sentence headline, then the details.
fn headline(m: &MethodFacts) -> (String, String) {
    let p = &m.parameter;
    let is_n = p == "n";
    let peak = format!("{}{}", r(m.reward), se(m.stderr));
    let span = match (m.at_lo, m.at_hi) {
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
    };
    match m.regime.as_str() {
        "hacking" => {
            let start = fmt_sig(m.theta_continuous.unwrap_or(m.theta), 3);
            let kl = if m.kl.is_finite() {
                format!(" (KL ≈ {} nats to the reference)", fmt_sig(m.kl, 3))
            } else {
                String::new()
            };
            let mut head = format!("Reward hacking starts at {p} ≈ {start} ({})", m.label);
            let mut detail = format!(
                "The expected true reward peaks at {peak} with {p} = {}{kl} and falls beyond it.",
                fmt_num(m.theta)
            );
            if let Some((t_hi, f_hi, samples_hi)) = m.at_hi {
                let loss = m.reward - f_hi;
                let what = if is_n {
                    format!("using {} samples", fmt_num(t_hi))
                } else {
                    format!(
                        "using {p} = {} ({} samples per prompt on average)",
                        fmt_num(t_hi),
                        fmt_sig(samples_hi, 3)
                    )
                };
                head.push_str(&format!(
                    "; {what} costs {} of true reward ({} % of the peak).",
                    fmt_sig(loss, 3),
                    fmt_sig(100.0 * loss / m.reward.abs().max(1e-300), 2),
                ));
                detail.push_str(&format!(" At {p} = {} it is {}", fmt_num(t_hi), r(f_hi)));
                if m.samples > 0.0 && samples_hi.is_finite() {
                    detail.push_str(&format!(
                        ", for {}× as many samples",
                        fmt_sig(samples_hi / m.samples, 2)
                    ));
                }
                detail.push('.');
                if m.stderr.is_finite() && loss < m.stderr {
                    detail.push_str(&format!(
                        " The loss is smaller than the standard error of each estimate (± {}), so on this data it is indicative only.",
                        fmt_sig(m.stderr, 2)
                    ));
                }
            } else {
                head.push('.');
            }
            (head, detail)
        }
        "increasing" => {
            let upto = m
                .at_hi
                .map_or(String::new(), |(t, _, _)| format!(" up to {p} = {}", fmt_num(t)));
            let more = if is_n {
                "more samples keep"
            } else {
                "stronger selection keeps"
            };
            (
                format!("No reward hacking in range: with {}, {more} helping{upto}.", m.label),
                format!(
                    "The expected true reward keeps rising with {p}{span}. Use the largest {p} you can afford; where hacking would start lies beyond what this data can show{}.",
                    if is_n {
                        " (it has no more responses per prompt)"
                    } else {
                        ""
                    }
                ),
            )
        }
        "valley" => (
            format!(
                "A valley: with {}, the true reward first falls, then rises again as {p} grows.",
                m.label
            ),
            format!(
                "The best {p} is at an end of the range, {p} = {} ({peak}); moderate selection is the worst choice here.",
                fmt_num(m.theta)
            ),
        ),
        "decreasing" => (
            format!(
                "The proxy hurts: with {}, the true reward falls as soon as {p} grows.",
                m.label
            ),
            format!(
                "The expected true reward falls{span}. Selecting by this proxy is worse than {}; do not use it to choose responses.",
                if is_n {
                    "taking a random response"
                } else {
                    "not selecting at all"
                }
            ),
        ),
        other => (
            format!("{}: regime {other}.", m.label),
            format!("The best {p} is {} ({peak}).", fmt_num(m.theta)),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bon(regime: &str) -> MethodFacts {
        MethodFacts {
            label: "BoN".into(),
            parameter: "n".into(),
            regime: regime.into(),
            theta: 23.0,
            theta_continuous: Some(23.4),
            n: None,
            reward: 0.71,
            stderr: 0.01,
            kl: 2.2,
            samples: 23.0,
            at_lo: Some((1.0, 0.5)),
            at_hi: Some((64.0, 0.67, 64.0)),
            holdout: None,
        }
    }

    #[test]
    fn wording_follows_the_regime() {
        let h = verdict(&bon("hacking"), &[], None);
        assert_eq!(h.len(), 2);
        assert!(
            h[0].contains("n ≈ 23.4") && h[0].contains("costs 0.04 of true reward"),
            "{}",
            h[0]
        );
        assert!(h[1].contains("2.8×") && h[1].contains("KL ≈ 2.2 nats"), "{}", h[1]);
        let mut inc = bon("increasing");
        inc.theta = 64.0;
        let v = verdict(&inc, &[], None);
        assert_eq!(
            v[0],
            "No reward hacking in range: with BoN, more samples keep helping up to n = 64."
        );
        assert!(v[1].contains("from 0.5 at n = 1 to 0.67 at n = 64"), "{}", v[1]);
        assert!(verdict(&bon("valley"), &[], None)[0].starts_with("A valley"));
        let d = verdict(&bon("decreasing"), &[], None);
        assert!(
            d[0].starts_with("The proxy hurts") && d[1].contains("random response"),
            "{}",
            d[1]
        );
        let mut bop = bon("hacking");
        bop.parameter = "μ".into();
        bop.label = "BoP".into();
        let v = verdict(&bop, &[], None);
        assert!(
            v[0].contains("using μ = 64 (64 samples per prompt on average)"),
            "{}",
            v[0]
        );
    }

    #[test]
    fn others_holdout_and_profile() {
        let mut b = bon("hacking");
        b.holdout = Some(Holdout {
            prompts: 30,
            calibration_prompts: 70,
            tuned_theta: 20.0,
            tuned_reward: 0.7,
            tuned_stderr: 0.02,
            default_theta: 64.0,
            default_reward: 0.66,
            oracle_reward: 0.71,
        });
        let mut bop = bon("hacking");
        bop.label = "BoP".into();
        bop.parameter = "μ".into();
        bop.reward = 0.705;
        let p = Profile {
            peak_quantile: 0.8,
            peak_reward: 0.75,
            top_quantile: 0.975,
            top_reward: 0.6,
            top_stderr: 0.02,
            top_width: 0.05,
        };
        let v = verdict(&b, &[bop], Some(&p));
        assert_eq!(v.len(), 5);
        assert!(v[2].contains("agree within one standard error"), "{}", v[2]);
        assert!(v[3].contains("better than the untuned default n = 64"), "{}", v[3]);
        assert!(v[4].contains("u ≈ 0.8") && v[4].contains("top 5 %"), "{}", v[4]);
    }
}
