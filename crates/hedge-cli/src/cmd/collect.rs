//! `hedge collect`: calibration data from real servers. The work is done by `hedge_client::collect`;
//! this module parses options, reads keys from the environment, draws the progress bar and prints the
//! summary.

use std::path::Path;

use clap::{ArgGroup, Args, ValueEnum};
use hedge_client::collect::{CollectOptions, CollectSummary, Progress, PromptOutcome, TrueReward};
use hedge_client::http::{GOLD_KEY_ENV, UPSTREAM_KEY_ENV};
use hedge_client::{GenClient, Verifier};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::Value;

use super::net_args::{HttpFlags, RewardApiArg, RewardFlags, init_logging};
use super::values;
use crate::error::{CliError, Result};

/// A built-in verifier on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VerifierArg {
    /// The response equals the reference after normalisation (case, spaces, final period, numbers by value).
    Exact,
    /// The multiple-choice letter of the response ("the answer is (C)", "Answer: C", ...) equals the reference's.
    Choice,
    /// The last \boxed{...} of the response equals the reference (LaTeX-normalised, numbers by value).
    Boxed,
    /// The last number written in the response equals the reference's number by value ("3 + 4 = 7." answers 7).
    Number,
}

impl From<VerifierArg> for Verifier {
    fn from(v: VerifierArg) -> Self {
        match v {
            VerifierArg::Exact => Verifier::Exact,
            VerifierArg::Choice => Verifier::Choice,
            VerifierArg::Boxed => Verifier::Boxed,
            VerifierArg::Number => Verifier::Number,
        }
    }
}

/// The environment variables `hedge collect` reads (shown by `hedge collect --help`).
const ENVIRONMENT: &str = "\
Environment:
  HEDGE_UPSTREAM_API_KEY  bearer token sent to --llm
  HEDGE_REWARD_API_KEY    bearer token sent to --reward
  HEDGE_GOLD_API_KEY      bearer token sent to --gold
  HEDGE_LOG               log filter on stderr (e.g. debug, hedge_client=debug)
Keys are never printed or logged.";

/// Options of `hedge collect`.
///
/// Generates --n responses per prompt, scores each with the proxy (a reward server, --reward, or a
/// built-in log-probability proxy, --proxy; several can be given: "proxy" holds the first, and each is
/// also written to its own column reward, logprob_mean, logprob_sum, self_certainty) and gets its true
/// reward from a gold reward server (--gold) or a built-in verifier against the prompt's "reference"
/// (--verifier). Rows are appended to --out (JSON lines; a .parquet name keeps a resumable
/// <out>.partial.jsonl journal and writes Parquet at the end); rerunning the same command resumes.
/// Keys come from HEDGE_UPSTREAM_API_KEY, HEDGE_REWARD_API_KEY and HEDGE_GOLD_API_KEY.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("truth").required(true).args(["gold", "verifier"])))]
#[command(after_help = ENVIRONMENT)]
pub struct CollectArgs {
    /// Prompts, JSON lines: {"id": ..., "prompt": "..."} or {"id": ..., "messages": [...]}, optional "reference".
    #[arg(long)]
    pub prompts: String,
    /// Root URL of the OpenAI-compatible generation server (e.g. http://127.0.0.1:8000; /v1/... is appended).
    #[arg(long)]
    pub llm: String,
    /// Model name sent to the generation server.
    #[arg(long)]
    pub model: String,
    /// Responses per prompt.
    #[arg(long, value_parser = values::count(1..=values::MAX_CANDIDATES))]
    pub n: usize,
    #[command(flatten)]
    pub reward: RewardFlags,
    /// Root URL of a gold reward server whose score is the true reward.
    #[arg(long, requires = "gold_api")]
    pub gold: Option<String>,
    /// API of the gold reward server.
    #[arg(long, value_enum, requires = "gold")]
    pub gold_api: Option<RewardApiArg>,
    /// "model" field sent to the gold reward server, if it needs one.
    #[arg(long, requires = "gold")]
    pub gold_model: Option<String>,
    /// True reward from a built-in verifier against each prompt's "reference" (1 correct, 0 not).
    #[arg(long, value_enum)]
    pub verifier: Option<VerifierArg>,
    /// Output file (.jsonl, or .parquet); appended to and resumed.
    #[arg(long)]
    pub out: String,
    /// Base seed: prompt `id` is generated with a seed derived from (seed, id); recorded per row.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Prompts processed at once.
    #[arg(long, default_value_t = 8, value_parser = values::count(1..=values::MAX_PARALLEL))]
    pub concurrency: usize,
    /// Sampling temperature sent to the generation server.
    #[arg(long, value_parser = values::non_negative)]
    pub temperature: Option<f64>,
    /// Largest number of tokens per response.
    #[arg(long, value_parser = values::count_u64(1..=u32::MAX as u64))]
    pub max_tokens: Option<u64>,
    /// Nucleus sampling probability sent to the generation server.
    #[arg(long, value_parser = values::probability)]
    pub top_p: Option<f64>,
    /// Timeout of one HTTP request attempt, in seconds.
    #[arg(long, default_value_t = 120.0, value_parser = values::seconds, value_name = "SECS")]
    pub timeout: f64,
    /// Attempts per HTTP request (retries on 429, 5xx and connection errors, with backoff).
    #[arg(long, default_value_t = 3, value_parser = values::count_u32(1..=100))]
    pub max_attempts: u32,
    /// Texts per reward request.
    #[arg(long, default_value_t = 32, value_parser = values::count(1..=values::MAX_CANDIDATES))]
    pub batch_size: usize,
    /// HTTP requests in flight to each server at once.
    #[arg(long, default_value_t = 64, value_parser = values::count(1..=values::MAX_PARALLEL))]
    pub max_in_flight: usize,
    /// Largest answer read from a server, in bytes.
    #[arg(long, default_value_t = hedge_client::http::DEFAULT_MAX_RESPONSE_BYTES, value_parser = values::count(1..=values::MAX_BYTES))]
    pub max_upstream_bytes: usize,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

struct Bar {
    bar: ProgressBar,
    responses: std::sync::atomic::AtomicU64,
    failed: std::sync::atomic::AtomicU64,
}

impl Bar {
    /// A progress bar on standard error (hidden with `quiet`).
    fn new(quiet: bool) -> Self {
        let bar = if quiet {
            ProgressBar::hidden()
        } else {
            ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
        };
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} collect [{elapsed_precise}] {wide_bar} {pos}/{len} prompts  {per_sec}  ETA {eta}  {msg}",
            )
            .expect("a valid template"),
        );
        Bar {
            bar,
            responses: 0.into(),
            failed: 0.into(),
        }
    }
}

impl Progress for Bar {
    fn start(&self, total: u64, already_done: u64) {
        self.bar.set_length(total);
        self.bar.set_position(already_done);
        self.bar.reset_eta();
        if already_done > 0 {
            self.bar.println(format!(
                "resuming: {already_done} of {total} prompts already in the output"
            ));
        }
    }
    fn prompt_done(&self, o: &PromptOutcome) {
        use std::sync::atomic::Ordering::Relaxed;
        let r = self.responses.fetch_add(o.rows as u64, Relaxed) + o.rows as u64;
        let f = self.failed.fetch_add(o.failed as u64, Relaxed) + o.failed as u64;
        self.bar.set_message(format!("{r} responses, {f} failed"));
        self.bar.inc(1);
    }
    fn finish(&self) {
        self.bar.finish();
    }
}

/// Run `hedge collect`.
pub fn run(args: &CollectArgs) -> Result<()> {
    init_logging("warn");
    let http = HttpFlags {
        timeout: args.timeout,
        max_attempts: args.max_attempts,
        max_in_flight: args.max_in_flight,
        max_response_bytes: args.max_upstream_bytes,
    };
    let llm = GenClient::new(&http.client(&args.llm, UPSTREAM_KEY_ENV), Some(args.model.clone()))?;
    let proxies = http.proxies(&args.reward, args.batch_size)?;
    if args.reward.reward.len() > 1 {
        return Err(CliError::Usage(
            "hedge collect takes one --reward server (and any --proxy); several are for hedge serve --ensemble".into(),
        ));
    }
    hedge_client::score::check_distinct(&proxies)?;
    let truth = true_reward(args, &http)?;
    let opts = collect_options(args);
    // Every flag is checked (clients built) before the prompts file is read.
    let prompts = hedge_client::read_prompts(&args.prompts)?;
    let progress = Bar::new(args.quiet);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::io("<tokio runtime>", e))?;
    let out = Path::new(&args.out);
    let summary = runtime.block_on(hedge_client::collect(
        &prompts, out, &llm, &proxies, &truth, &opts, &progress,
    ))?;
    crate::output::print(&summary_text(&summary, &args.out))?;
    if summary.failed_prompts > 0 {
        return Err(CliError::Incomplete {
            failed: summary.failed_prompts,
        });
    }
    Ok(())
}

/// The true reward: a gold reward server (--gold, --gold-api) or a built-in verifier (--verifier).
fn true_reward(args: &CollectArgs, http: &HttpFlags) -> Result<TrueReward> {
    match (&args.gold, args.gold_api, args.verifier) {
        (Some(url), Some(api), None) => Ok(TrueReward::Gold(http.reward(
            url,
            GOLD_KEY_ENV,
            api,
            args.gold_model.clone(),
            args.batch_size,
        )?)),
        (None, None, Some(v)) => Ok(TrueReward::Verifier(v.into())),
        _ => Err(CliError::Net(hedge_client::NetError::Config(
            "give either --gold URL --gold-api API or --verifier".into(),
        ))),
    }
}

/// Seed, concurrency and the sampling fields added to every generation request.
fn collect_options(args: &CollectArgs) -> CollectOptions {
    let mut opts = CollectOptions::new(args.n);
    opts.seed = args.seed;
    opts.concurrency = args.concurrency;
    for (k, v) in [("temperature", args.temperature), ("top_p", args.top_p)] {
        if let Some(x) = v {
            opts.params.insert(k.into(), Value::from(x));
        }
    }
    if let Some(m) = args.max_tokens {
        opts.params.insert("max_tokens".into(), Value::from(m));
    }
    opts
}

/// The summary printed at the end: prompts, responses, tokens, time, repairs and the output file.
fn summary_text(summary: &CollectSummary, out: &str) -> String {
    let u = summary.usage;
    let mut text = String::new();
    text.push_str(&format!(
        "prompts    {} ({} already done, {} completed now, {} failed)\n",
        summary.prompts, summary.already_done, summary.completed, summary.failed_prompts
    ));
    text.push_str(&format!(
        "responses  {} written, {} candidates failed\n",
        summary.responses, summary.failed_candidates
    ));
    text.push_str(&format!(
        "tokens     {} prompt + {} completion = {}\n",
        u.prompt_tokens,
        u.completion_tokens,
        u.total()
    ));
    text.push_str(&format!("time       {:.1} s\n", summary.elapsed.as_secs_f64()));
    if summary.repaired_bytes > 0 {
        text.push_str(&format!(
            "repaired   {} bytes of an interrupted write cut off\n",
            summary.repaired_bytes
        ));
    }
    text.push_str(&format!("output     {out}\n"));
    text
}
