//! Command-line definitions (clap).

use clap::{Parser, Subcommand};

use crate::cmd::kl::KlArgs;
use crate::cmd::select::SelectArgs;
use crate::cmd::toy::ToyArgs;

/// hedge: hacking-aware inference-time alignment.
///
/// Best-of-n and its relatives pick a response by a proxy reward; pushed too far,
/// the true reward falls (reward hacking). hedge computes where that happens and
/// picks the parameter (n, μ, λ or β) that maximises the true reward.
#[derive(Debug, Parser)]
#[command(name = "hedge", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Synthetic problems: the paper's analytic toy example; synthetic calibration sets.
    #[command(subcommand)]
    Simulate(SimulateCommand),
    /// The main job on built-in data: HedgeTune for every method on synthetic sets, with a hold-out.
    Demo(crate::cmd::demo::DemoArgs),
    /// HedgeTune on calibration data: the parameter that maximises the true reward, and the regime.
    Tune(crate::cmd::tune::TuneArgs),
    /// Expected true reward ± standard error, KL and cost of a method on a parameter grid.
    Curve(crate::cmd::curve::CurveArgs),
    /// Plots, summary.json and a self-contained HTML page: every method tuned, where hacking starts, why.
    Report(crate::cmd::report::ReportArgs),
    /// Which proxy (column or ensemble) and method: a leaderboard tuned and judged on held-out prompts.
    Compare(crate::cmd::compare::CompareArgs),
    /// Write the gold-labelled prompts of a `hedge serve` store as a calibration file.
    Export(crate::cmd::export::ExportArgs),
    /// Summarise a calibration file: prompts, rows, responses per prompt, value ranges.
    Info(crate::cmd::info::InfoArgs),
    /// KL, mean chosen quantile and cost of a method; the other methods at the same KL.
    Kl(KlArgs),
    /// Choose a candidate per JSON line of proxy scores (stdin or --input).
    Select(SelectArgs),
    /// Collect calibration data: n responses per prompt with proxy and true rewards, from real servers.
    #[cfg(feature = "net")]
    Collect(crate::cmd::collect::CollectArgs),
    /// OpenAI-compatible proxy applying the tuned method (BoN, BoP, SBoN) in front of LLM and reward servers.
    #[cfg(feature = "net")]
    Serve(crate::cmd::serve::ServeArgs),
}

/// `hedge simulate ...`
#[derive(Debug, Subcommand)]
pub enum SimulateCommand {
    /// The paper's toy problem: proxy = quantile, true r(u) = u^12 (1-u)/C; HedgeTune for every method.
    Toy(ToyArgs),
    /// Write a synthetic calibration set: true ~ N(0,1), proxy = true + heavy-tailed noise (hackable).
    Gaussian(crate::cmd::gaussian::GaussianArgs),
}
