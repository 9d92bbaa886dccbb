//! `hedge demo`: HedgeTune end to end on built-in synthetic data, with an honest hold-out.

use clap::Args;
use hedge_estimate::{Prepared, TuneSpec, holdout, synth};
use hedge_math::MethodKind;
use serde_json::{Value, json};

use super::tune::nan_null;
use crate::error::Result;
use crate::output::{Table, fmt_sig, print, print_json};

/// Options of `hedge demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Prompts in each synthetic calibration set.
    #[arg(long, default_value_t = 2000)]
    pub prompts: usize,
    /// Responses per prompt.
    #[arg(long, default_value_t = 64)]
    pub responses: usize,
    /// Fraction of prompts held out for the honest evaluation.
    #[arg(long, default_value_t = 0.3)]
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

/// Run `hedge demo`.
pub fn run(args: &DemoArgs) -> Result<()> {
    let cases = [
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
                args.seed.wrapping_add(1),
            )?
            .prepare()?,
        },
    ];
    let mut n_grid = vec![16u64];
    n_grid.retain(|&n| n <= args.responses as u64);
    if n_grid.is_empty() {
        n_grid.push(args.responses.max(1) as u64);
    }
    let mut out = Vec::new();
    for case in &cases {
        let mut rows = Vec::new();
        for kind in MethodKind::ALL {
            let mut spec = TuneSpec::new(kind);
            if kind == MethodKind::Sbon {
                spec = spec.n_grid(n_grid.clone());
            }
            let h = holdout(&case.data, &spec, args.holdout, args.seed)?;
            let mut r = json!({
                "method": kind.name(),
                "parameter": kind.parameter(),
                "tuned_theta": h.tuned_theta,
                "regime": h.tuned_regime.name(),
                "tuned_reward": h.tuned_reward,
                "tuned_stderr": nan_null(h.tuned_stderr),
                "oracle_theta": h.oracle_theta,
                "oracle_reward": h.oracle_reward,
                "default_theta": h.default_theta,
                "default_reward": h.default_reward,
            });
            for (k, n) in [
                ("tuned_n", h.tuned_n),
                ("oracle_n", h.oracle_n),
                ("default_n", h.default_n),
            ] {
                if let Some(n) = n {
                    r[k] = json!(n);
                }
            }
            rows.push(r);
        }
        out.push(json!({
            "case": case.name,
            "description": case.description,
            "prompts": case.data.prompts(),
            "responses": args.responses,
            "results": rows,
        }));
    }
    let v = json!({"seed": args.seed, "holdout": args.holdout, "cases": out});
    if args.json {
        return print_json(&v);
    }
    print(&render(&v))
}

fn param(r: &Value, theta: &str, n: &str) -> String {
    let t = r[theta].as_f64().map_or("-".into(), |x| fmt_sig(x, 5));
    match r.get(n) {
        Some(n) => format!("{t} (n={n})"),
        None => t,
    }
}

fn render(v: &Value) -> String {
    let mut s = format!(
        "hedge demo: HedgeTune on synthetic calibration sets, {}% of prompts held out (seed {}).\n\
         'tuned' is tuned on the other prompts; 'oracle' is the best parameter for the held-out prompts;\n\
         'most samples' is the untuned default (the largest parameter).\n",
        (v["holdout"].as_f64().unwrap_or(0.0) * 100.0).round(),
        v["seed"]
    );
    for c in v["cases"].as_array().into_iter().flatten() {
        s.push_str(&format!(
            "\n== {} ({} prompts x {} responses): {}\n",
            c["case"].as_str().unwrap_or(""),
            c["prompts"],
            c["responses"],
            c["description"].as_str().unwrap_or("")
        ));
        let mut t = Table::new([
            "method",
            "param",
            "tuned",
            "regime",
            "held-out reward",
            "oracle",
            "oracle reward",
            "most samples",
            "its reward",
        ]);
        for r in c["results"].as_array().into_iter().flatten() {
            t.row(vec![
                r["method"].as_str().unwrap_or("").into(),
                r["parameter"].as_str().unwrap_or("").into(),
                param(r, "tuned_theta", "tuned_n"),
                r["regime"].as_str().unwrap_or("").into(),
                format!(
                    "{:.4} ± {}",
                    r["tuned_reward"].as_f64().unwrap_or(f64::NAN),
                    r["tuned_stderr"].as_f64().map_or("-".into(), |x| fmt_sig(x, 2))
                ),
                param(r, "oracle_theta", "oracle_n"),
                format!("{:.4}", r["oracle_reward"].as_f64().unwrap_or(f64::NAN)),
                param(r, "default_theta", "default_n"),
                format!("{:.4}", r["default_reward"].as_f64().unwrap_or(f64::NAN)),
            ]);
        }
        s.push_str(&t.render());
    }
    s
}
