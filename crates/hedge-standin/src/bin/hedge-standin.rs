//! `hedge-standin`: run a stand-in generation + reward server on loopback until interrupted.
//!
//! Prints `hedge-standin listening on http://127.0.0.1:PORT` on standard output once it accepts requests.
//!
//! The reward routes score with `--scorer`; `latent` and `noisy` are the gold and proxy rewards of the
//! latent-quality model (see the `hedge_standin` crate documentation), whose proxy noise starts as `--noise`
//! and can be switched while running with `POST /admin/proxy-noise`.

use std::io::Write;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use hedge_standin::{LogprobsFormat, ProxyNoise, Scorer, Standin, StandinConfig};

/// A stand-in OpenAI-compatible generation server and reward-model server (vLLM, SGLang, TEI, OpenRLHF
/// APIs) for tests and benchmarks. Listens on loopback only.
#[derive(Debug, Parser)]
#[command(
    name = "hedge-standin",
    version,
    after_help = "Latent-quality model (--scorer latent / noisy): every candidate text has a latent quality \
q ~ N(0, 1), a deterministic function of the text; `latent` answers q (a gold reward), `noisy` answers q plus a \
deterministic noise draw of the text from the current --noise law (a proxy reward). Heavy-tailed noise \
(cauchy:3) makes best-of-n by the proxy peak near n = 5 and then lose most of its gold gain (reward hacking).\n\n\
Switch the noise while running:\n  \
curl -X POST http://127.0.0.1:PORT/admin/proxy-noise -d '{\"kind\": \"cauchy\", \"scale\": 3}'\n\
(kinds gaussian, cauchy, student_t; student_t also takes \"df\"); GET /admin/proxy-noise shows the current one."
)]
struct Args {
    /// Address to listen on (a loopback address; port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: String,
    /// Latency added to every answer, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Fraction of requests answered with HTTP 500.
    #[arg(long, default_value_t = 0.0)]
    fail_rate: f64,
    /// Fraction of the choices of an n > 1 generation answer left out.
    #[arg(long, default_value_t = 0.0)]
    drop_rate: f64,
    /// Refuse n > 1 like older llama.cpp servers (HTTP 500 "Only one completion choice is allowed").
    #[arg(long)]
    refuse_n: bool,
    /// Take n up to this and refuse a larger one like current llama.cpp servers with `-np K` (HTTP 400).
    #[arg(long)]
    max_n: Option<u64>,
    /// Refuse prompts of more words than this like llama.cpp (HTTP 400 exceed_context_size_error).
    #[arg(long)]
    context_words: Option<usize>,
    /// Emit odd text (control characters, invalid UTF-8 bytes, a lone surrogate escape, ...).
    #[arg(long)]
    odd_text: bool,
    /// Reward function of the reward routes: proxy / gold (hashes of the whole scored text, gold disagreeing
    /// with the proxy at the top), or latent / noisy (the latent-quality model: the candidate's latent quality
    /// q ~ N(0, 1), or q plus proxy noise drawn from --noise).
    #[arg(long, value_enum, default_value_t = ScorerArg::Proxy)]
    scorer: ScorerArg,
    /// Proxy noise of `--scorer noisy` at start: gaussian:SCALE, cauchy:SCALE or student_t:DF:SCALE (SCALE >= 0,
    /// DF > 0). Switchable while running with POST /admin/proxy-noise.
    #[arg(long, value_name = "LAW", default_value = "gaussian:0.7")]
    noise: ProxyNoise,
    /// Require this environment variable's value as bearer key.
    #[arg(long)]
    require_key_env: Option<String>,
    /// Seed of the failure draws.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// How generation answers carry token log-probabilities when asked: openai (chat content[], completions
    /// tokens/token_logprobs/top_logprobs), llama-cpp (content[] on both; completions need "n_probs"), never.
    #[arg(long, value_enum, default_value_t = LogprobsArg::Openai)]
    logprobs: LogprobsArg,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogprobsArg {
    /// OpenAI's formats.
    Openai,
    /// llama.cpp's server.
    LlamaCpp,
    /// No log-probabilities ever.
    Never,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ScorerArg {
    /// `4u - 2` for a hash u of the scored text.
    Proxy,
    /// `u(1.3 - u)` plus a little noise: agrees with `proxy` at low scores, disagrees at the top.
    Gold,
    /// the candidate's latent quality q ~ N(0, 1) (gold reward of the latent-quality model).
    Latent,
    /// q plus the current proxy noise (proxy reward of the latent-quality model).
    Noisy,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> std::process::ExitCode {
    let a = Args::parse();
    let cfg = StandinConfig {
        latency: Duration::from_millis(a.latency_ms),
        fail_rate: a.fail_rate,
        drop_rate: a.drop_rate,
        refuse_n: a.refuse_n,
        max_n: a.max_n,
        context_words: a.context_words,
        odd_text: a.odd_text,
        scorer: match a.scorer {
            ScorerArg::Proxy => Scorer::Proxy,
            ScorerArg::Gold => Scorer::Gold,
            ScorerArg::Latent => Scorer::Latent,
            ScorerArg::Noisy => Scorer::Noisy,
        },
        proxy_noise: a.noise,
        require_key: a.require_key_env.as_deref().and_then(|v| std::env::var(v).ok()),
        echo_auth: false,
        seed: a.seed,
        logprobs: match a.logprobs {
            LogprobsArg::Openai => LogprobsFormat::OpenAi,
            LogprobsArg::LlamaCpp => LogprobsFormat::LlamaCpp,
            LogprobsArg::Never => LogprobsFormat::Never,
        },
    };
    let s = match Standin::start_on(&a.listen, cfg).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("hedge-standin: {}: {e}", a.listen);
            return std::process::ExitCode::FAILURE;
        }
    };
    println!("hedge-standin listening on {}", s.url());
    let _ = std::io::stdout().flush();
    let _ = tokio::signal::ctrl_c().await;
    s.stop().await;
    std::process::ExitCode::SUCCESS
}
