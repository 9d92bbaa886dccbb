//! `hedge compare`: which proxy (reward model, metric or ensemble) and which method, judged on
//! held-out prompts.

use clap::Args;
use hedge_estimate::compare::{CompareSpec, Comparison, DEFAULT_COMPARE_HOLDOUT, compare};
use hedge_estimate::ensemble::EnsembleRule;
use hedge_math::MethodKind;
use hedge_report::{fmt_num, pareto_plot};

use super::data_args::{BudgetArgs, DataArgs, ProxyColumns, ensemble_rule};
use super::method_args::MethodArg;
use super::values;
use crate::error::Result;
use crate::output::{Table, fmt_sig, plot_format, plot_line, print, print_json, write_plot};

/// Options of `hedge compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// The proxy columns to compare (comma-separated). Default: every column starting with --proxy-prefix.
    #[arg(long, value_delimiter = ',', value_name = "A,B,…", num_args = 1..)]
    pub proxy_cols: Option<Vec<String>>,
    /// Without --proxy-cols: compare every column whose name starts with this.
    #[arg(long, default_value = "proxy_", value_name = "PREFIX")]
    pub proxy_prefix: String,
    /// Also rank ensembles of all the compared columns (comma-separated): mean-z, min-z, uwo, rank-mean.
    #[arg(long, value_delimiter = ',', value_parser = ensemble_rule, value_name = "RULES")]
    pub ensemble: Vec<EnsembleRule>,
    /// The methods (comma-separated).
    #[arg(long, value_delimiter = ',', value_enum, default_value = "bon")]
    pub methods: Vec<MethodArg>,
    /// Fraction of prompts held out to judge on (the rest tune θ, and uwo's λ).
    #[arg(long, default_value_t = DEFAULT_COMPARE_HOLDOUT, value_name = "FRAC", value_parser = values::fraction)]
    pub holdout: f64,
    /// Seed of the hold-out split (the same for every row) and of the verdicts' bootstrap.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Confidence level of the verdicts.
    #[arg(long, default_value_t = hedge_estimate::DEFAULT_CONFIDENCE, value_name = "LEVEL", value_parser = values::level)]
    pub confidence: f64,
    #[command(flatten)]
    pub budget: BudgetArgs,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Also draw the Pareto plot (held-out true reward against expected samples) to FILE (.svg or .png).
    #[arg(long, value_name = "FILE")]
    pub plot: Option<std::path::PathBuf>,
}

impl CompareArgs {
    /// The comparison these flags describe.
    pub fn spec(&self) -> Result<CompareSpec> {
        Ok(CompareSpec::new()
            .methods(self.methods.iter().map(|&m| MethodKind::from(m)))
            .ensembles(self.ensemble.iter().copied())
            .holdout(self.holdout)
            .seed(self.seed)
            .confidence(self.confidence)
            .budget(self.budget.budget()))
    }

    /// Load the columns these flags name.
    pub fn load(&self) -> Result<ProxyColumns> {
        let names = self
            .data
            .proxy_column_names(self.proxy_cols.as_deref(), &self.proxy_prefix)?;
        self.data.load_columns(&names)
    }
}

/// The comparison of the loaded columns.
pub fn comparison(cols: &ProxyColumns, spec: &CompareSpec) -> Result<Comparison> {
    let mut c = compare(&cols.offsets, &cols.truth, &cols.as_proxies(), spec)?;
    c.skipped_prompts += cols.skipped_single;
    Ok(c)
}

/// Run `hedge compare`.
pub fn run(args: &CompareArgs) -> Result<()> {
    let spec = args.spec()?;
    if let Some(path) = &args.plot {
        plot_format(path)?;
    }
    let cols = args.load()?;
    let c = comparison(&cols, &spec)?;
    if let Some(path) = &args.plot {
        write_plot(&pareto_plot(&cols.source, &c), path)?;
    }
    if args.json {
        return print_json(&c);
    }
    print(&(render(&cols.source, &c) + &plot_line(args.plot.as_deref())))
}

fn num(x: f64, digits: usize) -> String {
    fmt_sig(x, digits)
}

/// The leaderboard as a table, and what it says.
pub fn render(source: &str, c: &Comparison) -> String {
    let mut s = format!(
        "{source}: {} prompts ({} skipped with a single response), {} responses; tuned on {} prompts, judged on {} \
         held-out prompts (seed {})\n",
        c.prompts, c.skipped_prompts, c.responses, c.calibration_prompts, c.held_out_prompts, c.seed
    );
    if let Some(b) = c.budget.max_samples {
        s.push_str(&format!(
            "budget: at most {} expected samples per request\n",
            fmt_num(b)
        ));
    }
    if c.budget.cost_per_sample != 0.0 {
        s.push_str(&format!(
            "budget: maximising E[true reward] − {} × E[samples]\n",
            fmt_num(c.budget.cost_per_sample)
        ));
    }
    s.push('\n');
    leaderboard_table(c, &mut s);
    s.push_str(&format!(
        "\nA random response: {} on the held-out prompts. \"vs leader\": the row's held-out reward minus the \
         leader's, paired on the same prompts (± paired standard error); within about 2 standard errors is a tie. \
         ★ on the Pareto frontier of reward against samples.\n",
        num(c.random, 4)
    ));
    if let Some(g) = &c.ensemble_vs_single {
        let (e, one) = (&c.entries[g.ensemble], &c.entries[g.single]);
        s.push_str(&format!(
            "Best ensemble {} ({}) − best single proxy {} ({}): {} ± {} (paired, z = {}).\n",
            e.proxy,
            e.method.name(),
            one.proxy,
            one.method.name(),
            fmt_sig(g.paired.difference, 3),
            fmt_sig(g.paired.stderr, 2),
            fmt_sig(g.paired.z, 2)
        ));
    }
    s
}

/// The leaderboard as text: the same cells as the report's table ([`hedge_report::leaderboard_table`]).
fn leaderboard_table(c: &Comparison, s: &mut String) {
    let page = hedge_report::leaderboard_table(c);
    let mut t = Table::new(page.header);
    for row in page.rows {
        t.row(row);
    }
    s.push_str(&t.render());
}
