//! Built-in proxies computed from the generation server's own token log-probabilities: no reward server.
//!
//! | `--proxy` | score of a candidate with tokens `t_1 … t_T` |
//! |---|---|
//! | `logprob-mean` | `(1/T) Σ_i log p(t_i)`: the mean log-probability of the sampled tokens |
//! | `logprob-sum` | `Σ_i log p(t_i)`: the log-probability of the whole answer (0 for an empty one) |
//! | `self-certainty` | `(1/T) Σ_i KL(U_k ‖ p̃_i)`: the mean over tokens of the KL divergence from the uniform distribution to the token's distribution, approximated from its top-k log-probabilities (below) |
//!
//! # Self-certainty from the top-k log-probabilities
//!
//! Kang, Zhao & Song, "Scalable Best-of-N Selection for Large Language Models via Self-Certainty" (2025,
//! arXiv:2502.18581), define the self-certainty of an answer as
//! `−(1/(T·V)) Σ_i Σ_{j=1..V} log(V · p(j | x, t_<i))`, which is `(1/T) Σ_i KL(U_V ‖ p_i)`, the mean over
//! the answer's tokens of the KL divergence from the uniform distribution `U_V` over the vocabulary to the
//! model's next-token distribution `p_i`. An OpenAI-compatible server returns only the `k` most likely
//! tokens' log-probabilities `ℓ_1 … ℓ_k` of each position, so hedge uses the distribution *renormalised to
//! those k tokens*, `p̃_j = exp(ℓ_j) / Σ_m exp(ℓ_m)`, and the uniform distribution on the same k tokens:
//!
//! ```text
//! KL(U_k ‖ p̃) = Σ_j (1/k) log((1/k) / p̃_j) = −log k − (1/k) Σ_j log p̃_j
//!             = logsumexp(ℓ_1 … ℓ_k) − log k − (1/k) Σ_j ℓ_j          (≥ 0; 0 when the k are equally likely)
//! ```
//!
//! This is the paper's quantity with the vocabulary cut to the top k (it is not equal to it: the tail is
//! left out). Entries whose log-probability is not above −10³⁰ (llama.cpp writes a probability of 0 as the
//! lowest `float`, about −3.4·10³⁸) are left out of the top k; a position with fewer than two entries left
//! contributes 0. Ask for the same `k` (`--top-logprobs`) whenever scores are to be compared.
//!
//! # Formats read
//!
//! - OpenAI chat completions, vLLM, and llama.cpp's server (for chat *and* completions):
//!   `choices[].logprobs.content[] = {"token", "logprob", "top_logprobs": [{"token", "logprob"}, …]}`;
//! - OpenAI's legacy completions format (vLLM's `/v1/completions`):
//!   `choices[].logprobs = {"tokens": [...], "token_logprobs": [...], "top_logprobs": [{token: logprob, …}, …]}`.
//!
//! # What is requested
//!
//! [`request_logprobs`] adds to a generation request `"logprobs": true, "top_logprobs": k` (chat) or
//! `"logprobs": k` (completions), keeping a larger `k` the request already asks for. llama.cpp's
//! `/v1/completions` does not read `"logprobs": k` (it wants its own `"n_probs": k`): with llama.cpp, use
//! chat prompts, or send `n_probs` in the request.

use std::fmt;
use std::str::FromStr;

use serde_json::{Map, Value};

use crate::error::{NetError, Result};
use crate::generate::{ApiKind, Candidate};

/// Log-probabilities at or below this are a probability of 0 (llama.cpp writes `-FLT_MAX`).
const ZERO_PROBABILITY: f64 = -1e30;

/// Default number of top log-probabilities asked per token (OpenAI chat's maximum).
pub const DEFAULT_TOP_LOGPROBS: u32 = 20;

/// A proxy computed from the candidate's token log-probabilities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogprobProxy {
    /// Mean log-probability of the sampled tokens.
    Mean,
    /// Sum of the log-probabilities of the sampled tokens.
    Sum,
    /// Mean KL from uniform of each position's top-k distribution (see the module documentation).
    SelfCertainty,
}

impl LogprobProxy {
    /// Every proxy, in the order of the documentation.
    pub const ALL: [LogprobProxy; 3] = [LogprobProxy::Mean, LogprobProxy::Sum, LogprobProxy::SelfCertainty];

    /// The name used by `--proxy`.
    pub fn name(self) -> &'static str {
        match self {
            LogprobProxy::Mean => "logprob-mean",
            LogprobProxy::Sum => "logprob-sum",
            LogprobProxy::SelfCertainty => "self-certainty",
        }
    }

    /// The column `collect` writes its score into when several proxies are collected.
    pub fn column(self) -> &'static str {
        match self {
            LogprobProxy::Mean => "logprob_mean",
            LogprobProxy::Sum => "logprob_sum",
            LogprobProxy::SelfCertainty => "self_certainty",
        }
    }

    /// Whether it needs each position's top log-probabilities (not only the sampled token's).
    pub fn needs_top(self) -> bool {
        matches!(self, LogprobProxy::SelfCertainty)
    }

    /// The score of a candidate's tokens; an error message when there is nothing to score.
    pub fn score_tokens(self, tokens: &[TokenLogprobs]) -> std::result::Result<f64, String> {
        if tokens.is_empty() && self != LogprobProxy::Sum {
            return Err("the answer has no tokens to average over".into());
        }
        let t = tokens.len() as f64;
        match self {
            LogprobProxy::Sum => Ok(tokens.iter().map(|x| x.logprob).sum()),
            LogprobProxy::Mean => Ok(tokens.iter().map(|x| x.logprob).sum::<f64>() / t),
            LogprobProxy::SelfCertainty => {
                if let Some(i) = tokens.iter().position(|x| x.top.is_empty()) {
                    return Err(format!("token {i} has no \"top_logprobs\""));
                }
                Ok(tokens.iter().map(|x| kl_from_uniform(&x.top)).sum::<f64>() / t)
            }
        }
    }

    /// The candidate's score from its choice object; the error names `endpoint` and what is missing.
    pub fn score(self, candidate: &Candidate, endpoint: &str) -> Result<f64> {
        let missing = |what: String| NetError::MissingLogprobs {
            endpoint: endpoint.to_string(),
            proxy: self.name(),
            index: candidate.index,
            what,
        };
        let tokens = parse_logprobs(&candidate.choice, !candidate.text.is_empty()).map_err(missing)?;
        self.score_tokens(&tokens).map_err(missing)
    }
}

impl fmt::Display for LogprobProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for LogprobProxy {
    type Err = NetError;
    fn from_str(s: &str) -> Result<Self> {
        LogprobProxy::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                let names: Vec<&str> = LogprobProxy::ALL.iter().map(|p| p.name()).collect();
                NetError::Config(format!(
                    "unknown log-probability proxy {s:?}; expected one of {}",
                    names.join(", ")
                ))
            })
    }
}

/// One generated token: its log-probability and the top log-probabilities of its position.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenLogprobs {
    /// Log-probability of the sampled token.
    pub logprob: f64,
    /// The position's top log-probabilities (those of probability 0 left out); may be empty.
    pub top: Vec<f64>,
}

/// `KL(U_k ‖ p̃)` of one position from its top-k log-probabilities `ℓ` (see the module documentation):
/// `logsumexp(ℓ) − log k − mean(ℓ)`; 0 for fewer than two entries.
///
/// ```
/// use hedge_client::logprob::kl_from_uniform;
/// // p = (1/2, 1/4, 1/4): −log 3 − (1/3)(log ½ + 2 log ¼) = (5/3) log 2 − log 3
/// let kl = kl_from_uniform(&[0.5f64.ln(), 0.25f64.ln(), 0.25f64.ln()]);
/// assert!((kl - (5.0 / 3.0 * 2f64.ln() - 3f64.ln())).abs() < 1e-12);
/// ```
pub fn kl_from_uniform(top: &[f64]) -> f64 {
    if top.len() < 2 {
        return 0.0;
    }
    let k = top.len() as f64;
    let max = top.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let lse = max + top.iter().map(|l| (l - max).exp()).sum::<f64>().ln();
    let mean = top.iter().sum::<f64>() / k;
    // Never below 0 but for rounding.
    (lse - k.ln() - mean).max(0.0)
}

/// The tokens of a choice object, in either format of the module documentation. `has_text`: the choice
/// has text, so `"logprobs": null` means the server sent none (for an empty answer llama.cpp sends `null`:
/// no tokens). The error says what is missing.
pub fn parse_logprobs(choice: &Value, has_text: bool) -> std::result::Result<Vec<TokenLogprobs>, String> {
    let lp = match choice.get("logprobs") {
        None | Some(Value::Null) if !has_text => return Ok(Vec::new()),
        None => return Err("the choice has no \"logprobs\" field (does the server return log-probabilities?)".into()),
        Some(Value::Null) => {
            return Err("\"logprobs\" is null (the server ignored the request for log-probabilities)".into());
        }
        Some(v) => v,
    };
    if let Some(content) = lp.get("content") {
        return match content {
            Value::Array(entries) => entries.iter().enumerate().map(|(i, e)| content_entry(i, e)).collect(),
            Value::Null if !has_text => Ok(Vec::new()),
            _ => Err("\"logprobs.content\" is not an array".into()),
        };
    }
    if let Some(values) = lp.get("token_logprobs") {
        return legacy(lp, values);
    }
    Err("\"logprobs\" has neither \"content\" (chat format) nor \"token_logprobs\" (completions format)".into())
}

/// A log-probability that is a finite number (JSON numbers; quoted numbers from servers that quote them).
fn logprob_value(v: &Value) -> Option<f64> {
    let x = match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }?;
    (x.is_finite() && x <= 1e-6).then_some(x.min(0.0))
}

/// The sampled token's log-probability; a probability of 0 is an error.
fn sampled(i: usize, v: Option<&Value>) -> std::result::Result<f64, String> {
    match v {
        None | Some(Value::Null) => Err(format!("token {i} has no \"logprob\"")),
        Some(v) => match logprob_value(v) {
            Some(x) if x > ZERO_PROBABILITY => Ok(x),
            Some(_) => Err(format!("token {i} has probability 0")),
            None => Err(format!(
                "token {i}: \"logprob\" {v} is not a log-probability (a finite number ≤ 0)"
            )),
        },
    }
}

/// A position's top log-probabilities, those of probability 0 left out.
fn top_values<'a>(i: usize, values: impl Iterator<Item = &'a Value>) -> std::result::Result<Vec<f64>, String> {
    let mut top = Vec::new();
    for v in values {
        match logprob_value(v) {
            Some(x) if x > ZERO_PROBABILITY => top.push(x),
            Some(_) => {}
            None => {
                return Err(format!(
                    "token {i}: a top log-probability {v} is not a finite number ≤ 0"
                ));
            }
        }
    }
    Ok(top)
}

/// `{"token", "logprob", "top_logprobs": [{"token", "logprob"}, …]}` (chat format, llama.cpp).
fn content_entry(i: usize, e: &Value) -> std::result::Result<TokenLogprobs, String> {
    let logprob = sampled(i, e.get("logprob"))?;
    let top = match e.get("top_logprobs") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => top_values(i, a.iter().map(|t| t.get("logprob").unwrap_or(&Value::Null)))?,
        Some(_) => return Err(format!("token {i}: \"top_logprobs\" is not an array")),
    };
    Ok(TokenLogprobs { logprob, top })
}

/// `{"tokens", "token_logprobs": [...], "top_logprobs": [{token: logprob}, …]}` (legacy completions format).
fn legacy(lp: &Value, values: &Value) -> std::result::Result<Vec<TokenLogprobs>, String> {
    let values = values
        .as_array()
        .ok_or_else(|| "\"logprobs.token_logprobs\" is not an array".to_string())?;
    let tops: &[Value] = match lp.get("top_logprobs") {
        None | Some(Value::Null) => &[],
        Some(Value::Array(a)) => a,
        Some(_) => return Err("\"logprobs.top_logprobs\" is not an array".into()),
    };
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let logprob = sampled(i, Some(v))?;
            let top = match tops.get(i) {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Object(m)) => top_values(i, m.values())?,
                Some(_) => return Err(format!("token {i}: \"top_logprobs\" entry is not an object")),
            };
            Ok(TokenLogprobs { logprob, top })
        })
        .collect()
}

/// Adds the request fields that make the server return log-probabilities with `top_k` alternatives per
/// token (see the module documentation); a larger `top_k` already in the request is kept.
pub fn request_logprobs(kind: ApiKind, body: &mut Map<String, Value>, top_k: u32) {
    let asked = |v: Option<&Value>| v.and_then(Value::as_u64).unwrap_or(0);
    match kind {
        ApiKind::Chat => {
            let k = asked(body.get("top_logprobs")).max(u64::from(top_k));
            body.insert("logprobs".into(), Value::Bool(true));
            body.insert("top_logprobs".into(), Value::from(k));
        }
        ApiKind::Completions => {
            let k = asked(body.get("logprobs")).max(u64::from(top_k));
            body.insert("logprobs".into(), Value::from(k));
        }
    }
}

/// Whether a client's request asks for log-probabilities itself (chat: `"logprobs": true`;
/// completions: `"logprobs"` a number).
pub fn requested_by_client(kind: ApiKind, body: &Map<String, Value>) -> bool {
    match kind {
        ApiKind::Chat => body.get("logprobs").and_then(Value::as_bool) == Some(true),
        ApiKind::Completions => body.get("logprobs").is_some_and(Value::is_number),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn candidate(choice: Value) -> Candidate {
        let text = choice
            .get("text")
            .or_else(|| choice.pointer("/message/content"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        Candidate {
            index: 2,
            text,
            finish_reason: None,
            choice,
        }
    }

    /// Two tokens in chat format, worked by hand:
    /// token 0: sampled p = 1/2, top (1/2, 1/4, 1/4) → KL(U_3 ‖ p̃) = −ln 3 − (1/3)(ln ½ + 2 ln ¼) = (5/3) ln 2 − ln 3;
    /// token 1: sampled p = 0.4, top (0.4, 0.4), renormalised (½, ½) → KL = 0.
    fn chat_choice() -> Value {
        json!({"index": 0, "message": {"role": "assistant", "content": "ab"}, "finish_reason": "stop",
        "logprobs": {"content": [
            {"token": "a", "logprob": 0.5f64.ln(), "bytes": [97], "top_logprobs": [
                {"token": "a", "logprob": 0.5f64.ln()}, {"token": "b", "logprob": 0.25f64.ln()}, {"token": "c", "logprob": 0.25f64.ln()}]},
            {"token": "b", "logprob": 0.4f64.ln(), "top_logprobs": [
                {"token": "b", "logprob": 0.4f64.ln()}, {"token": "x", "logprob": 0.4f64.ln()}]}
        ]}})
    }

    #[test]
    fn chat_format_by_hand() {
        let c = candidate(chat_choice());
        let e = "http://llm/v1/chat/completions";
        // mean: (ln 0.5 + ln 0.4) / 2 = ln(0.2) / 2 = −0.8047189562…
        let mean = LogprobProxy::Mean.score(&c, e).unwrap();
        assert!((mean - (-0.804_718_956_217_050_2)).abs() < 1e-12, "{mean}");
        // sum: ln 0.2 = −1.6094379124…
        let sum = LogprobProxy::Sum.score(&c, e).unwrap();
        assert!((sum - (-1.609_437_912_434_100_3)).abs() < 1e-12, "{sum}");
        // self-certainty: ((5/3) ln 2 − ln 3 + 0) / 2 = (1.1552453009 − 1.0986122887) / 2 = 0.0283165061…
        let sc = LogprobProxy::SelfCertainty.score(&c, e).unwrap();
        assert!((sc - 0.028_316_506_1).abs() < 1e-10, "{sc}");
    }

    #[test]
    fn legacy_completions_format_by_hand() {
        // token 0: p = 0.25, top {0.25, 0.25, 0.5}: same distribution as the chat test's first token;
        // token 1: p = 0.9, top {0.9, 0.1} → KL(U_2 ‖ (0.9, 0.1)) = −ln 2 − ½(ln 0.9 + ln 0.1) = 0.5108256238…;
        // mean = (ln 0.25 + ln 0.9)/2 = −0.7458274385…, self-certainty = (0.0566330123 + 0.5108256238)/2 = 0.2837293180…
        let choice = json!({"index": 0, "text": "xy", "finish_reason": "length", "logprobs": {
            "tokens": ["x", "y"], "token_logprobs": [0.25f64.ln(), 0.9f64.ln()],
            "top_logprobs": [{"x": 0.25f64.ln(), "z": 0.25f64.ln(), "w": 0.5f64.ln()}, {"y": 0.9f64.ln(), "q": 0.1f64.ln()}],
            "text_offset": [0, 1]}});
        let c = candidate(choice);
        let e = "http://llm/v1/completions";
        let mean = LogprobProxy::Mean.score(&c, e).unwrap();
        assert!((mean - (0.25f64.ln() + 0.9f64.ln()) / 2.0).abs() < 1e-12);
        assert!((mean - (-0.745_827_438_5)).abs() < 1e-9, "{mean}");
        let sc = LogprobProxy::SelfCertainty.score(&c, e).unwrap();
        let by_hand = ((5.0 / 3.0 * 2f64.ln() - 3f64.ln()) + 0.510_825_623_8) / 2.0;
        assert!((sc - by_hand).abs() < 1e-9, "{sc} vs {by_hand}");
        assert!((sc - 0.283_729_318_0).abs() < 1e-9, "{sc}");
    }

    #[test]
    fn self_certainty_renormalises_the_top_k() {
        // Scaling every probability by the same factor leaves the renormalised distribution, hence the KL.
        let a = kl_from_uniform(&[0.5f64.ln(), 0.3f64.ln(), 0.2f64.ln()]);
        let b = kl_from_uniform(&[0.05f64.ln(), 0.03f64.ln(), 0.02f64.ln()]);
        assert!((a - b).abs() < 1e-12);
        // −ln 3 − (ln 0.5 + ln 0.3 + ln 0.2)/3 = −1.0986122887 + 3.5065578973/3 = 0.0702403438…
        assert!((a - 0.070_240_343_8).abs() < 1e-9, "{a}");
        // Uniform: 0; one entry: 0; more peaked: larger.
        assert_eq!(kl_from_uniform(&[(-2.0f64); 4]), 0.0);
        assert_eq!(kl_from_uniform(&[-0.1]), 0.0);
        assert!(kl_from_uniform(&[0.98f64.ln(), 0.01f64.ln(), 0.01f64.ln()]) > a);
    }

    #[test]
    fn llama_cpp_zero_probabilities_are_left_out_of_the_top_k() {
        // llama.cpp writes log(0) as -FLT_MAX.
        let choice = json!({"text": "a", "logprobs": {"content": [
            {"token": "a", "logprob": 0.5f64.ln(), "top_logprobs": [
                {"token": "a", "logprob": 0.5f64.ln()}, {"token": "b", "logprob": 0.5f64.ln()}, {"token": "c", "logprob": -3.402_823_466e38}]}]}});
        let c = candidate(choice);
        let sc = LogprobProxy::SelfCertainty.score(&c, "e").unwrap();
        assert_eq!(sc, 0.0);
    }

    #[test]
    fn missing_logprobs_are_typed_errors_naming_the_server_and_what_is_missing() {
        let e = "http://127.0.0.1:8081/v1/chat/completions";
        let cases = [
            (json!({"message": {"content": "hi"}}), "no \"logprobs\" field"),
            (
                json!({"message": {"content": "hi"}, "logprobs": null}),
                "\"logprobs\" is null",
            ),
            (json!({"text": "hi", "logprobs": {"foo": 1}}), "neither \"content\""),
            (
                json!({"text": "hi", "logprobs": {"content": [{"token": "h"}]}}),
                "token 0 has no \"logprob\"",
            ),
            (
                json!({"text": "hi", "logprobs": {"content": [{"token": "h", "logprob": "abc"}]}}),
                "not a log-probability",
            ),
            (
                json!({"text": "hi", "logprobs": {"content": [{"token": "h", "logprob": 0.5}]}}),
                "not a log-probability",
            ),
            (
                json!({"text": "hi", "logprobs": {"content": [{"token": "h", "logprob": -3.4e38}]}}),
                "probability 0",
            ),
        ];
        for (choice, needle) in cases {
            let err = LogprobProxy::Mean.score(&candidate(choice), e).unwrap_err();
            assert!(
                matches!(
                    err,
                    NetError::MissingLogprobs {
                        index: 2,
                        proxy: "logprob-mean",
                        ..
                    }
                ),
                "{err:?}"
            );
            let text = err.to_string();
            assert!(
                text.contains(e) && text.contains(needle) && text.contains("logprob-mean"),
                "{text}"
            );
        }
        // Self-certainty needs the top log-probabilities.
        let choice =
            json!({"text": "hi", "logprobs": {"content": [{"token": "h", "logprob": -0.1, "top_logprobs": []}]}});
        let text = LogprobProxy::SelfCertainty
            .score(&candidate(choice.clone()), e)
            .unwrap_err()
            .to_string();
        assert!(
            text.contains("no \"top_logprobs\"") && text.contains("self-certainty"),
            "{text}"
        );
        assert!((LogprobProxy::Mean.score(&candidate(choice), e).unwrap() - (-0.1)).abs() < 1e-15);
    }

    #[test]
    fn an_empty_answer_has_no_tokens() {
        // llama.cpp sends "logprobs": null for an answer without tokens.
        let c = candidate(json!({"message": {"content": ""}, "logprobs": null}));
        assert_eq!(LogprobProxy::Sum.score(&c, "e").unwrap(), 0.0);
        let text = LogprobProxy::Mean.score(&c, "e").unwrap_err().to_string();
        assert!(text.contains("no tokens"), "{text}");
        let c = candidate(json!({"message": {"content": ""}, "logprobs": {"content": []}}));
        assert!(LogprobProxy::SelfCertainty.score(&c, "e").is_err());
    }

    #[test]
    fn request_fields() {
        let mut chat = Map::new();
        request_logprobs(ApiKind::Chat, &mut chat, 5);
        assert_eq!(
            Value::Object(chat.clone()),
            json!({"logprobs": true, "top_logprobs": 5})
        );
        chat.insert("top_logprobs".into(), json!(8));
        request_logprobs(ApiKind::Chat, &mut chat, 5);
        assert_eq!(chat["top_logprobs"], 8);
        let mut cmpl = Map::new();
        request_logprobs(ApiKind::Completions, &mut cmpl, 5);
        assert_eq!(Value::Object(cmpl), json!({"logprobs": 5}));
        let m = |v: Value| v.as_object().unwrap().clone();
        assert!(requested_by_client(ApiKind::Chat, &m(json!({"logprobs": true}))));
        assert!(!requested_by_client(ApiKind::Chat, &m(json!({"logprobs": false}))));
        assert!(requested_by_client(ApiKind::Completions, &m(json!({"logprobs": 0}))));
        assert!(!requested_by_client(ApiKind::Completions, &m(json!({}))));
    }

    #[test]
    fn names_round_trip() {
        for p in LogprobProxy::ALL {
            assert_eq!(p.name().parse::<LogprobProxy>().unwrap(), p);
        }
        assert!(
            "entropy"
                .parse::<LogprobProxy>()
                .unwrap_err()
                .to_string()
                .contains("self-certainty")
        );
    }
}
