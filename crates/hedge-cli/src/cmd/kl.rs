//! `hedge kl`: KL, mean chosen quantile and cost of a method, and the parameters of
//! the other methods at the same KL.

use clap::Args;
use hedge_math::kl_match::{bon_n_for_kl, bop_mu_for_kl, sbon_beta_for_kl, tilt_lambda_for_kl};
use hedge_math::{Method, MethodKind};
use serde_json::json;

use crate::cli::MethodArg;
use crate::error::Result;
use crate::output::{Table, fmt_sig, print, print_json};

/// Options of `hedge kl`.
#[derive(Debug, Args)]
pub struct KlArgs {
    /// The method.
    #[arg(long, value_enum)]
    pub method: MethodArg,
    /// Its parameter: n (bon), μ (bop), λ (tilt) or β (sbon).
    #[arg(long, allow_negative_numbers = true)]
    pub theta: f64,
    /// Candidates for SBoN (required with --method sbon); also the n of the SBoN
    /// equivalent listed for the other methods.
    #[arg(long)]
    pub n: Option<u64>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Run `hedge kl`.
pub fn run(args: &KlArgs) -> Result<()> {
    let kind: MethodKind = args.method.into();
    let m = Method::new(kind, args.theta, args.n)?;
    let d = m.as_dyn();
    let (kl, mean, samples) = (d.kl(), d.mean_quantile(), d.expected_samples());

    let sbon_n = args.n.unwrap_or(16);
    let mut same = Vec::new();
    for other in MethodKind::ALL {
        if other == kind && kind != MethodKind::Sbon {
            continue;
        }
        if other == MethodKind::Sbon && kind == MethodKind::Sbon {
            continue;
        }
        let found = match other {
            MethodKind::Bon => bon_n_for_kl(kl),
            MethodKind::Bop => bop_mu_for_kl(kl),
            MethodKind::Tilt => tilt_lambda_for_kl(kl),
            MethodKind::Sbon => sbon_beta_for_kl(sbon_n, kl),
        };
        let mut e = json!({"method": other.name(), "parameter": other.parameter()});
        match found {
            Ok(t) => e["theta"] = json!(t),
            Err(err) => {
                e["theta"] = serde_json::Value::Null;
                e["note"] = json!(err.to_string());
            }
        }
        if other == MethodKind::Sbon {
            e["n"] = json!(sbon_n);
        }
        same.push(e);
    }

    if args.json {
        let mut v = json!({
            "method": kind.name(),
            "parameter": kind.parameter(),
            "theta": args.theta,
            "kl": kl,
            "mean_quantile": mean,
            "expected_samples": samples,
            "same_kl": same,
        });
        if let Some(n) = args.n.filter(|_| kind == MethodKind::Sbon) {
            v["n"] = json!(n);
        }
        return print_json(&v);
    }
    let mut s = format!(
        "{} {} = {}{}\n  KL to reference   {}\n  mean quantile     {}\n  expected samples  {}\n\nSame KL:\n",
        kind.name(),
        kind.parameter(),
        args.theta,
        if kind == MethodKind::Sbon {
            format!(", n = {}", args.n.unwrap_or(0))
        } else {
            String::new()
        },
        fmt_sig(kl, 15),
        fmt_sig(mean, 15),
        fmt_sig(samples, 10),
    );
    let mut t = Table::new(["method", "parameter", "value"]);
    for e in &same {
        let label = match e.get("n") {
            Some(n) => format!("{} (n={n})", e["method"].as_str().unwrap_or("")),
            None => e["method"].as_str().unwrap_or("").to_string(),
        };
        let value = match e["theta"].as_f64() {
            Some(t) => fmt_sig(t, 10),
            None => e["note"].as_str().unwrap_or("-").to_string(),
        };
        t.row(vec![label, e["parameter"].as_str().unwrap_or("").into(), value]);
    }
    s.push_str(&t.render());
    print(&s)
}
