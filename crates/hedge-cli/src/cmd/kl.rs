//! `hedge kl`: KL, mean chosen quantile and cost of a method, and the parameters of
//! the other methods at the same KL.

use clap::Args;
use hedge_estimate::KlReport;
use hedge_math::{Method, MethodKind};

use super::method_args::MethodFlags;
use crate::error::Result;
use crate::output::{Table, fmt_sig, print, print_json};

/// Options of `hedge kl`.
#[derive(Debug, Args)]
pub struct KlArgs {
    /// The method (`--n` is also the n of the SBoN equivalent listed for the other methods; default 16).
    #[command(flatten)]
    pub method: MethodFlags,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Run `hedge kl`.
pub fn run(args: &KlArgs) -> Result<()> {
    let MethodFlags { method, theta, n } = args.method;
    let kind: MethodKind = method.into();
    let m = Method::new(kind, theta, n)?;
    let v = KlReport::of(kind, theta, n, &m);
    if args.json {
        return print_json(&v);
    }
    print(&render(&v))
}

fn render(v: &KlReport) -> String {
    let mut s = format!(
        "{} {} = {}{}\n  KL to reference   {}\n  mean quantile     {}\n  expected samples  {}\n\nSame KL:\n",
        v.method.name(),
        v.method.parameter(),
        v.theta,
        v.n.map_or(String::new(), |n| format!(", n = {n}")),
        fmt_sig(v.kl, 15),
        fmt_sig(v.mean_quantile, 15),
        fmt_sig(v.expected_samples, 10),
    );
    let mut t = Table::new(["method", "parameter", "value"]);
    for e in &v.same_kl {
        let label = match e.n {
            Some(n) => format!("{} (n={n})", e.method.name()),
            None => e.method.name().to_string(),
        };
        let value = match (e.theta, &e.note) {
            (Some(t), _) => fmt_sig(t, 10),
            (None, note) => note.clone().unwrap_or_else(|| "-".into()),
        };
        t.row(vec![label, e.method.parameter().into(), value]);
    }
    s.push_str(&t.render());
    s
}
