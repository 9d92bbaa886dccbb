//! Stand-ins for the servers `hedge-client` and `hedge-serve` talk to, for tests and benchmarks. Loopback only.
//!
//! One [`Standin`] serves, on `127.0.0.1` (port 0 → any free port, see [`Standin::addr`]):
//! - an OpenAI-compatible generation server: `POST /v1/completions` and `/v1/chat/completions`. It honours
//!   `n`, `seed` (choice `i` of a request with seed `s` is the text of seed `s + i`, so one request with
//!   `n` and `n` requests with seeds `s, s+1, …` give the same texts; as in llama.cpp, the seeds `-1` and
//!   `4294967295` mean "no seed": a fresh text each time), `temperature` (0 → every choice is
//!   the same greedy text), `max_tokens` (in words) and `stop`. The text is a deterministic function of
//!   the prompt and the seed ([`generate_text`]): 6 to 12 words, then `The answer is (X), i.e. \boxed{N}.`.
//!   The choices of one request (other than greedy ones) have different seeds, hence (barring a 64-bit hash
//!   collision) different texts;
//! - every reward API of `hedge-client`: vLLM `/pooling` and `/classify` (`input` or `messages`), SGLang's
//!   native `/classify` (`text`), TEI `/predict`, OpenRLHF `/get_reward`. The score is a deterministic
//!   function of the text, chosen by [`Scorer`]:
//!   - [`Scorer::Proxy`] and [`Scorer::Gold`] hash the whole scored text (prompt and response as sent): the gold
//!     reward agrees with the proxy at low scores and disagrees at the top, so that optimising the proxy too
//!     hard lowers the gold reward;
//!   - [`Scorer::Latent`] (a gold reward) and [`Scorer::Noisy`] (its proxy) follow the latent-quality model
//!     below, whose proxy noise can be switched while the stand-in runs (a drifting reward model).
//!
//! # The latent-quality model
//!
//! Every candidate text `t` has a latent quality `q(t) ~ N(0, 1)` ([`latent_quality`]: Box–Muller on two
//! independent 64-bit hashes of the text), and a proxy-noise draw `ε(t)` ([`proxy_noise_draw`]) from further
//! independent hashes, distributed as the stand-in's current [`ProxyNoise`]:
//! - `gaussian:S`: `ε = S·z`, `z ~ N(0, 1)`;
//! - `cauchy:S`: `ε = S·tan(π(u − ½))`, `u` uniform on the open interval (0, 1): no mean, so that the best of
//!   many candidates by the proxy is mostly the one with the largest noise (reward hacking: with `cauchy:3`, the
//!   mean `q` of the best by the proxy of n candidates taken at random among a prompt's 32 is 0.17–0.18 for
//!   n = 4–6, its peak, and 0.064 at n = 32);
//! - `student_t:DF:S`: `ε = S·T`, `T` Student-t with `DF > 0` degrees of freedom (Bailey's polar method;
//!   `DF = 1` is the Cauchy law, large `DF` approach the Gaussian).
//!
//! The gold route ([`Scorer::Latent`]) answers `q(t)`, the proxy route ([`Scorer::Noisy`]) `q(t) + ε(t)`
//! ([`noisy_score`]). Both are functions of the *candidate text as the generation stand-in produced it*, even
//! though a reward request carries the prompt too (`prompt + response` for a completion prompt, `role: content`
//! blocks for a conversation, a `messages` list, a TEI text pair): both read only the candidate's key
//! ([`candidate_key`]) — the text after the last `assistant: ` block of a rendered conversation, and of that
//! the last five words before `The answer is (` and everything from there on (the last five words if there
//! is no answer). Every generated text has at least six words, so the key never reaches into the prompt and
//! `latent_quality(prompt + text) == latent_quality(text)` for any prompt. The price: two texts that share
//! their key (their last five words and their answer; about one pair in 3·10⁷) share `q` and `ε`. A text cut
//! to fewer than six words (`max_tokens` < 6, an early `stop`) is read with what precedes it.
//!
//! The noise is set at start ([`StandinConfig::proxy_noise`], default `gaussian:0.7`), and while running by
//! [`Standin::set_proxy_noise`] or the admin route:
//! - `POST /admin/proxy-noise` with `{"kind": "gaussian" | "cauchy" | "student_t", "scale": S, "df": DF}`
//!   (`df` only for `student_t`; `scale` ≥ 0 and `df` > 0, finite) answers 200 with the new setting, e.g.
//!   `{"kind": "cauchy", "scale": 3.0}`; a bad body gets HTTP 400 and leaves the setting unchanged;
//! - `GET /admin/proxy-noise` answers the current setting.
//!
//! The admin route needs the bearer key if one is required, and has no latency nor injected failures. A
//! reward request reads the setting once, so all its texts are scored under the same noise.
//!
//! # Log-probabilities
//!
//! Asked for them, the generation routes return token log-probabilities ([`StandinConfig::logprobs`]): a
//! text's tokens are its words, each after the first with its leading space ([`tokens`]); token `i` of text
//! `t` is the most likely of its position, with probability `p = 0.3 + 0.65·u` (`u` a hash of `t` and `i`),
//! followed by alternatives `alt1, alt2, …` with probabilities `(1 − p)·2⁻ʲ` ([`token_logprobs`]), as many as
//! asked (at most 20). The formats:
//! - [`LogprobsFormat::OpenAi`] (default): chat `"logprobs": true, "top_logprobs": k` →
//!   `choices[].logprobs.content[] = {"token", "logprob", "bytes", "top_logprobs": [{"token", "logprob", "bytes"}]}`;
//!   completions `"logprobs": k` → `choices[].logprobs = {"tokens", "token_logprobs", "top_logprobs": [{token: logprob}], "text_offset"}`;
//! - [`LogprobsFormat::LlamaCpp`]: as llama.cpp's server, the `content[]` format on both routes; chat reads
//!   `logprobs`/`top_logprobs` (default 20), completions read only llama.cpp's own `"n_probs": k` (its
//!   `/v1/completions` ignores `"logprobs"`); an empty answer gets `"logprobs": null`;
//! - [`LogprobsFormat::Never`]: `"logprobs": null` whatever is asked (a server without log-probabilities).
//!
//! # Options
//!
//! Options ([`StandinConfig`]): latency, injected failures (HTTP 500 for a fraction of requests; a fraction of
//! the choices of an `n > 1` answer left out), refusing `n > 1` exactly like older llama.cpp servers
//! (HTTP 500 `{"error":{"code":500,"message":"Only one completion choice is allowed","type":"server_error"}}`),
//! taking `n` only up to a limit like current llama.cpp servers (`n` up to its slots `-np`, else HTTP 400
//! `{"error":{"code":400,"message":"Field 'n': Value must be between 1 <= value <= 4, but got 8","type":"invalid_request_error"}}`),
//! refusing prompts longer than a context like llama.cpp (HTTP 400 `exceed_context_size_error`),
//! odd text (control characters, RTL override, combining marks, emoji, raw invalid UTF-8 bytes and a lone
//! UTF-16 surrogate escape in the JSON), a required bearer key, and echoing the received `Authorization`
//! header in error bodies (to test that clients keep keys out of their errors).

mod admin;
mod config;
mod generation;
mod hash;
mod http;
mod logprobs;
mod noise;
mod reward;
mod server;

pub use config::{Scorer, StandinConfig, Stats};
pub use generation::generate_text;
pub use hash::{candidate_key, gold_score, hash64, latent_quality, proxy_score};
pub use logprobs::{LogprobsFormat, MAX_TOP_LOGPROBS, token_logprobs, tokens};
pub use noise::{InvalidNoise, ProxyNoise, noisy_score, proxy_noise_draw};
pub use server::{Standin, ThreadStandin};
