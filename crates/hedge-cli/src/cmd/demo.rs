//! `hedge demo`: HedgeTune end to end on built-in synthetic data, with an honest hold-out.

use clap::Args;
use hedge_estimate::{DemoCase, DemoMethod, DemoReport, Prepared, TuneSpec, holdout, synth};
use hedge_math::MethodKind;

use super::values;
use crate::error::Result;
use crate::output::{Table, fmt_sig, print, print_json};

/// Options of `hedge demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Prompts in each synthetic calibration set.
    #[arg(long, default_value_t = 2000, value_parser = values::count(2..=values::MAX_PROMPTS))]
    pub prompts: usize,
    /// Responses per prompt.
    #[arg(long, default_value_t = 64, value_parser = values::count(2..=values::MAX_RESPONSES))]
    pub responses: usize,
    /// Fraction of prompts held out for the honest evaluation.
    #[arg(long, default_value_t = 0.3, value_parser = values::fraction)]
    pub holdout: f64,
    /// Seed of the data and of the split.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Print one JSON object instead of tables.
    #[arg(long)]
    pub json: bool,
}

struct Case {
    name: &'static str,
    description: &'static str,
    data: Prepared,
}

/// The data seed of case `k`: `--seed` itself for the first, a fixed odd multiple of `k` mixed in
/// for the others, so that the cases' random streams are unrelated (the golden-ratio constant
/// of splitmix64).
fn case_seed(seed: u64, k: u64) -> u64 {
    seed ^ k.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

fn cases(args: &DemoArgs) -> Result<[Case; 2]> {
    Ok([
        Case {
            name: "hacking",
            description: "true ~ N(0,1), proxy = true + 0.7·t(2.5): the heavy-tailed proxy can be hacked",
            data: synth::gaussian(
                args.prompts,
                args.responses,
                synth::DEFAULT_NOISE_SCALE,
                synth::DEFAULT_DF,
                args.seed,
            )?
            .prepare()?,
        },
        Case {
            name: "monotone",
            description: "true ~ N(0,1), proxy = true + 0.7·N(0,1): more samples keep helping",
            data: synth::gaussian_monotone(
                args.prompts,
                args.responses,
                synth::DEFAULT_NOISE_SCALE,
                case_seed(args.seed, 1),
            )?
            .prepare()?,
        },
    ])
}

/// Run `hedge demo`.
pub fn run(args: &DemoArgs) -> Result<()> {
    // SBoN is tuned at n = 16 (or at the number of responses when fewer).
    let sbon_n = 16u64.min(args.responses.max(1) as u64);
    let mut out = Vec::new();
    for case in cases(args)? {
        let mut results = Vec::new();
        for kind in MethodKind::ALL {
            let mut spec = TuneSpec::new(kind).seed(args.seed);
            if kind == MethodKind::Sbon {
                spec = spec.n(sbon_n);
            }
            let holdout = holdout(&case.data, &spec, args.holdout, args.seed)?;
            results.push(DemoMethod { method: kind, holdout });
        }
        out.push(DemoCase {
            case: case.name,
            description: case.description,
            prompts: case.data.prompts(),
            responses: args.responses,
            results,
        });
    }
    let demo = DemoReport {
        seed: args.seed,
        holdout: args.holdout,
        cases: out,
    };
    if args.json {
        return print_json(&demo);
    }
    print(&render(&demo))
}

fn param(theta: f64, n: Option<u64>) -> String {
    let t = fmt_sig(theta, 5);
    match n {
        Some(n) => format!("{t} (n={n})"),
        None => t,
    }
}

fn render(d: &DemoReport) -> String {
    let mut s = format!(
        "hedge demo: HedgeTune on synthetic calibration sets, {}% of prompts held out (seed {}).\n\
         'tuned' is tuned on the other prompts, with the verdict found there (hacking only when the decline after\n\
         the peak is significant at 95 %); 'oracle' is the best parameter for the held-out prompts;\n\
         'most samples' is the untuned default (the largest parameter).\n",
        (d.holdout * 100.0).round(),
        d.seed
    );
    for c in &d.cases {
        s.push_str(&format!(
            "\n== {} ({} prompts x {} responses): {}\n",
            c.case, c.prompts, c.responses, c.description
        ));
        let mut t = Table::new([
            "method",
            "param",
            "tuned",
            "verdict",
            "held-out reward",
            "oracle",
            "oracle reward",
            "most samples",
            "its reward",
        ]);
        for r in &c.results {
            let h = &r.holdout;
            t.row(vec![
                r.method.name().into(),
                r.method.parameter().into(),
                param(h.tuned_theta, h.tuned_n),
                h.tuned_verdict.to_string(),
                format!("{:.4} ± {}", h.tuned_reward, fmt_sig(h.tuned_stderr, 2)),
                param(h.oracle_theta, h.oracle_n),
                format!("{:.4}", h.oracle_reward),
                param(h.default_theta, h.default_n),
                format!("{:.4}", h.default_reward),
            ]);
        }
        s.push_str(&t.render());
    }
    s
}
