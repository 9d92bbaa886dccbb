//! `hedge simulate toy`: the paper's analytic example, tuned for every method.

use clap::Args;
use hedge_estimate::ToyReport;
use hedge_math::MethodKind;

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

/// Run the toy problem.
pub fn run(args: &ToyArgs) -> Result<()> {
    let report = ToyReport::compute(args.max_theta, &args.sbon_n)?;
    if args.json {
        return print_json(&report);
    }
    let hi = report.max_theta;
    let mut t = Table::new([
        "method",
        "parameter",
        "theta",
        "regime",
        "E[true reward]",
        "KL (nats)",
        "E[samples]",
    ]);
    for o in &report.results {
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
