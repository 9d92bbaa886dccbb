//! `hedge simulate toy`: the paper's analytic example, tuned for every method.

use clap::Args;
use hedge_math::population::{PopulationOptimum, tune};
use hedge_math::toy::{toy_c, toy_reward};
use hedge_math::{MethodKind, TuneOptions};
use serde_json::json;

use super::values;
use crate::error::Result;
use crate::output::{Table, fmt_sig, print, print_json};

/// Options of `hedge simulate toy`.
#[derive(Debug, Args)]
pub struct ToyArgs {
    /// Largest parameter searched for every method (n, μ, λ and β).
    #[arg(long, default_value_t = 1000.0, value_parser = values::positive)]
    pub max_theta: f64,
    /// SBoN candidate counts; β is tuned for each.
    #[arg(long, value_delimiter = ',', default_value = "4,8,16,32,64", value_parser = values::count_u64(1..=values::MAX_CANDIDATES))]
    pub sbon_n: Vec<u64>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

fn optimum_json(o: &PopulationOptimum) -> serde_json::Value {
    let mut v = json!({
        "method": o.kind.name(),
        "parameter": o.kind.parameter(),
        "theta": o.theta,
        "regime": o.regime.name(),
        "expected_true_reward": o.expected_true_reward,
        "kl": o.kl,
        "mean_quantile": o.mean_quantile,
        "expected_samples": o.expected_samples,
    });
    if o.kind == MethodKind::Bon {
        v["theta_continuous"] = json!(o.theta_continuous);
    }
    if let Some(n) = o.n {
        v["n"] = json!(n);
    }
    v
}

/// Run the toy problem.
pub fn run(args: &ToyArgs) -> Result<()> {
    let opts = TuneOptions::default();
    let hi = args.max_theta;
    let mut results = vec![
        tune(MethodKind::Bon, None, 1.0, hi, &toy_reward, &opts)?,
        tune(MethodKind::Bop, None, 0.0, hi, &toy_reward, &opts)?,
        tune(MethodKind::Tilt, None, 0.0, hi, &toy_reward, &opts)?,
    ];
    for &n in &args.sbon_n {
        results.push(tune(MethodKind::Sbon, Some(n), 0.0, hi, &toy_reward, &opts)?);
    }
    if args.json {
        return print_json(&json!({
            "problem": "toy",
            "true_reward": "r(u) = u^12 (1-u) / C",
            "c": toy_c(),
            "range": [0.0, hi],
            "results": results.iter().map(optimum_json).collect::<Vec<_>>(),
        }));
    }
    let mut t = Table::new([
        "method",
        "parameter",
        "theta",
        "regime",
        "E[true reward]",
        "KL (nats)",
        "E[samples]",
    ]);
    for o in &results {
        let (name, theta) = match o.kind {
            MethodKind::Bon => (
                "bon".to_string(),
                format!("{} (root {})", o.theta, fmt_sig(o.theta_continuous, 10)),
            ),
            MethodKind::Sbon => (format!("sbon n={}", o.n.unwrap_or(0)), fmt_sig(o.theta, 8)),
            _ => (o.kind.name().to_string(), fmt_sig(o.theta, 10)),
        };
        t.row(vec![
            name,
            o.kind.parameter().into(),
            theta,
            o.regime.name().into(),
            format!("{:.10}", o.expected_true_reward),
            format!("{:.6}", o.kl),
            fmt_sig(o.expected_samples, 6),
        ]);
    }
    print(&format!(
        "Toy problem (Khalaf et al.): proxy = quantile u, true reward r(u) = u^12 (1-u) / C, C = (12/13)^12/13.\n\
         HedgeTune optimum of each method on [0, {hi}]:\n\n{}",
        t.render()
    ))
}
