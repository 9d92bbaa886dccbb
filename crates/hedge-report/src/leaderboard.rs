//! The leaderboard of a comparison (`hedge compare`, `hedge report --proxy-cols`) as a page table.

use hedge_estimate::compare::Comparison;

use crate::format::{fmt_num, fmt_sig};
use crate::html::Table;
use crate::labels::method_color;

/// The leaderboard: one row per proxy × method, best held-out tuned reward first, with the paired
/// difference to the leader; rows on the Pareto frontier (reward against samples) are marked.
pub fn leaderboard_table(c: &Comparison) -> Table {
    let header = [
        "#",
        "proxy",
        "method",
        "tuned θ",
        "E[samples]",
        "held-out E[true reward]",
        "vs leader (paired)",
        "oracle",
        "most samples",
        "verdict",
    ];
    let mut t = Table {
        header: header.iter().map(|h| h.to_string()).collect(),
        ..Table::default()
    };
    for (i, e) in c.entries.iter().enumerate() {
        let h = &e.holdout;
        let theta = match h.tuned_n {
            Some(n) if e.method == hedge_math::MethodKind::Sbon => format!("{} at n = {n}", fmt_sig(h.tuned_theta, 4)),
            _ => fmt_num(h.tuned_theta),
        };
        let lambda = e.lambda.map_or(String::new(), |l| format!(", λ = {}", fmt_num(l)));
        t.rows.push(vec![
            format!("{}{}", i + 1, if e.pareto { " ★" } else { "" }),
            format!("{}{lambda}", e.proxy),
            e.method.name().to_string(),
            theta,
            fmt_sig(e.expected_samples, 4),
            format!("{} ± {}", fmt_sig(h.tuned_reward, 4), fmt_sig(h.tuned_stderr, 2)),
            if i == 0 {
                "leader".into()
            } else {
                format!(
                    "{} ± {}",
                    fmt_sig(e.versus_leader.difference, 3),
                    fmt_sig(e.versus_leader.stderr, 2)
                )
            },
            fmt_sig(h.oracle_reward, 4),
            format!("{} ± {}", fmt_sig(h.default_reward, 4), fmt_sig(h.default_stderr, 2)),
            h.tuned_verdict.to_string(),
        ]);
        t.swatches.push(Some(method_color(e.method)));
    }
    t.notes.push(format!(
        "Tuned on {} prompts, judged on the other {} (seed {}); a random response scores {} there. \"vs leader\" is paired on the same held-out prompts: within about two standard errors is a tie, and the leader, picked on these prompts, is slightly flattered. ★ on the Pareto frontier of true reward against samples.",
        c.calibration_prompts,
        c.held_out_prompts,
        c.seed,
        fmt_sig(c.random, 4)
    ));
    if let Some(g) = &c.ensemble_vs_single {
        let (e, one) = (&c.entries[g.ensemble], &c.entries[g.single]);
        t.notes.push(format!(
            "Best ensemble ({}, {}) − best single proxy ({}, {}): {} ± {} (paired, z = {}).",
            e.proxy,
            e.method.name(),
            one.proxy,
            one.method.name(),
            fmt_sig(g.paired.difference, 3),
            fmt_sig(g.paired.stderr, 2),
            fmt_sig(g.paired.z, 2)
        ));
    }
    t
}
