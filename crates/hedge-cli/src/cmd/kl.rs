//! `hedge kl`: KL, mean chosen quantile and cost of a method, and the parameters of
//! the other methods at the same KL.

use clap::Args;
use hedge_math::kl_match::{bon_n_for_kl, bop_mu_for_kl, sbon_beta_for_kl, tilt_lambda_for_kl};
use hedge_math::{Method, MethodKind};
use serde::Serialize;

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

/// Another method at the same KL (`theta` null, with a note, when it cannot reach it).
#[derive(Serialize)]
struct SameKl {
    method: &'static str,
    parameter: &'static str,
    theta: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    n: Option<u64>,
}

/// The `hedge kl --json` object.
#[derive(Serialize)]
struct KlJson {
    method: &'static str,
    parameter: &'static str,
    theta: f64,
    kl: f64,
    mean_quantile: f64,
    expected_samples: f64,
    same_kl: Vec<SameKl>,
    #[serde(skip_serializing_if = "Option::is_none")]
    n: Option<u64>,
}

/// The other methods' parameters at KL `kl` (SBoN at `sbon_n` candidates).
fn same_kl(kind: MethodKind, kl: f64, sbon_n: u64) -> Vec<SameKl> {
    MethodKind::ALL
        .into_iter()
        .filter(|&o| o != kind)
        .map(|other| {
            let found = match other {
                MethodKind::Bon => bon_n_for_kl(kl),
                MethodKind::Bop => bop_mu_for_kl(kl),
                MethodKind::Tilt => tilt_lambda_for_kl(kl),
                MethodKind::Sbon => sbon_beta_for_kl(sbon_n, kl),
            };
            let (theta, note) = match found {
                Ok(t) => (Some(t), None),
                Err(e) => (None, Some(e.to_string())),
            };
            SameKl {
                method: other.name(),
                parameter: other.parameter(),
                theta,
                note,
                n: (other == MethodKind::Sbon).then_some(sbon_n),
            }
        })
        .collect()
}

/// Run `hedge kl`.
pub fn run(args: &KlArgs) -> Result<()> {
    let MethodFlags { method, theta, n } = args.method;
    let kind: MethodKind = method.into();
    let m = Method::new(kind, theta, n)?;
    let d = m.as_dyn();
    let v = KlJson {
        method: kind.name(),
        parameter: kind.parameter(),
        theta,
        kl: d.kl(),
        mean_quantile: d.mean_quantile(),
        expected_samples: d.expected_samples(),
        same_kl: same_kl(kind, d.kl(), n.unwrap_or(16)),
        n: n.filter(|_| kind == MethodKind::Sbon),
    };
    if args.json {
        return print_json(&v);
    }
    print(&render(&v))
}

fn render(v: &KlJson) -> String {
    let mut s = format!(
        "{} {} = {}{}\n  KL to reference   {}\n  mean quantile     {}\n  expected samples  {}\n\nSame KL:\n",
        v.method,
        v.parameter,
        v.theta,
        v.n.map_or(String::new(), |n| format!(", n = {n}")),
        fmt_sig(v.kl, 15),
        fmt_sig(v.mean_quantile, 15),
        fmt_sig(v.expected_samples, 10),
    );
    let mut t = Table::new(["method", "parameter", "value"]);
    for e in &v.same_kl {
        let label = match e.n {
            Some(n) => format!("{} (n={n})", e.method),
            None => e.method.to_string(),
        };
        let value = match (e.theta, &e.note) {
            (Some(t), _) => fmt_sig(t, 10),
            (None, note) => note.clone().unwrap_or_else(|| "-".into()),
        };
        t.row(vec![label, e.parameter.into(), value]);
    }
    s.push_str(&t.render());
    s
}
