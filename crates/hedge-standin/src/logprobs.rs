//! Token log-probabilities of a generated text ([`tokens`], [`token_logprobs`]) and the formats the generation
//! routes answer them in ([`LogprobsFormat`]).

use serde_json::{Value, json};

use crate::hash::{hash64, unit};

/// How the generation routes return log-probabilities (see the crate documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogprobsFormat {
    /// OpenAI's formats: `content[]` for chat, `tokens`/`token_logprobs`/`top_logprobs` for completions.
    #[default]
    OpenAi,
    /// llama.cpp's server: `content[]` on both routes; completions need `n_probs`.
    LlamaCpp,
    /// None ever: `"logprobs": null`.
    Never,
}

/// The tokens of a generated text: its words, each after the first with its leading space (they
/// concatenate to the text).
pub fn tokens(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, _) in text.match_indices(' ') {
        if i > start {
            out.push(&text[start..i]);
            start = i;
        }
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

/// Largest number of top log-probabilities per token the stand-in returns.
pub const MAX_TOP_LOGPROBS: usize = 20;

/// Token `i` of `text` with its log-probability, and its position's top `k` log-probabilities (`k` at
/// most [`MAX_TOP_LOGPROBS`]): the token itself with `p = 0.3 + 0.65·u`, then `alt1, alt2, …` with
/// `(1 − p)·2⁻ʲ`.
pub fn token_logprobs(text: &str, i: usize, k: usize) -> (f64, Vec<(String, f64)>) {
    let p = 0.3 + 0.65 * unit(hash64(&[b"logprob", text.as_bytes(), &(i as u64).to_le_bytes()]));
    let token = tokens(text).get(i).map_or(String::new(), |t| t.to_string());
    let mut top = Vec::new();
    for j in 0..k.min(MAX_TOP_LOGPROBS) {
        if j == 0 {
            top.push((token.clone(), p.ln()));
        } else {
            top.push((format!("alt{j}"), ((1.0 - p) * 0.5f64.powi(j as i32)).ln()));
        }
    }
    (p.ln(), top)
}

/// What a generation request asked for: top log-probabilities per token and the format to answer in.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LogprobRequest {
    top: usize,
    /// `content[]` (chat, llama.cpp) rather than OpenAI's legacy completions format.
    content: bool,
    /// llama.cpp: `null` for an answer without tokens.
    null_when_empty: bool,
}

impl LogprobRequest {
    pub(crate) fn of(req: &serde_json::Map<String, Value>, chat: bool, format: LogprobsFormat) -> Option<Self> {
        let num = |k: &str| req.get(k).and_then(Value::as_u64);
        let llama = format == LogprobsFormat::LlamaCpp;
        let top = match (format, chat) {
            (LogprobsFormat::Never, _) => return None,
            (_, true) => {
                if req.get("logprobs").and_then(Value::as_bool) != Some(true) {
                    return None;
                }
                num("top_logprobs").unwrap_or(if llama { 20 } else { 0 })
            }
            (LogprobsFormat::OpenAi, false) => num("logprobs")?,
            (LogprobsFormat::LlamaCpp, false) => num("n_probs").filter(|&k| k > 0)?,
        };
        Some(LogprobRequest {
            top: (top as usize).min(MAX_TOP_LOGPROBS),
            content: chat || llama,
            null_when_empty: llama,
        })
    }

    /// The `logprobs` object of a choice with `text`.
    pub(crate) fn render(self, text: &str) -> Value {
        let toks = tokens(text);
        if toks.is_empty() && self.null_when_empty {
            return Value::Null;
        }
        let entries: Vec<(f64, Vec<(String, f64)>)> =
            (0..toks.len()).map(|i| token_logprobs(text, i, self.top)).collect();
        if self.content {
            let content: Vec<Value> = toks
                .iter()
                .zip(&entries)
                .map(|(t, (lp, top))| {
                    let top: Vec<Value> = top
                        .iter()
                        .map(|(t, l)| json!({"token": t, "logprob": l, "bytes": t.as_bytes()}))
                        .collect();
                    json!({"token": t, "logprob": lp, "bytes": t.as_bytes(), "top_logprobs": top})
                })
                .collect();
            json!({"content": content})
        } else {
            let mut offset = 0;
            let offsets: Vec<usize> = toks
                .iter()
                .map(|t| {
                    let o = offset;
                    offset += t.len();
                    o
                })
                .collect();
            let top: Vec<Value> = entries
                .iter()
                .map(|(_, top)| Value::Object(top.iter().map(|(t, l)| (t.clone(), json!(l))).collect()))
                .collect();
            let lps: Vec<f64> = entries.iter().map(|(lp, _)| *lp).collect();
            json!({"tokens": toks, "token_logprobs": lps, "top_logprobs": top, "text_offset": offsets})
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logprobs_in_each_format() {
        let text = "The answer is";
        let m = |v: Value| v.as_object().unwrap().clone();
        // OpenAI chat: content[] with k alternatives, the sampled token first.
        let r = LogprobRequest::of(
            &m(json!({"logprobs": true, "top_logprobs": 3})),
            true,
            LogprobsFormat::OpenAi,
        )
        .unwrap();
        let v = r.render(text);
        let content = v["content"].as_array().unwrap();
        assert_eq!(content.len(), 3);
        let (lp, top) = token_logprobs(text, 1, 3);
        assert_eq!(content[1]["token"], " answer");
        assert_eq!(content[1]["logprob"], json!(lp));
        assert_eq!(content[1]["top_logprobs"][0]["logprob"], json!(lp));
        assert_eq!(content[1]["top_logprobs"].as_array().unwrap().len(), 3);
        let p = lp.exp();
        assert!((0.3..=0.95).contains(&p));
        assert!((top[2].1 - ((1.0 - p) / 4.0).ln()).abs() < 1e-12);
        // OpenAI completions: the legacy format.
        let r = LogprobRequest::of(&m(json!({"logprobs": 2})), false, LogprobsFormat::OpenAi).unwrap();
        let v = r.render(text);
        assert_eq!(v["tokens"], json!(["The", " answer", " is"]));
        assert_eq!(v["text_offset"], json!([0, 3, 10]));
        assert_eq!(v["token_logprobs"][1], json!(lp));
        assert_eq!(v["top_logprobs"][1][" answer"], json!(lp));
        // Not asked: nothing.
        assert!(LogprobRequest::of(&m(json!({})), true, LogprobsFormat::OpenAi).is_none());
        assert!(LogprobRequest::of(&m(json!({"logprobs": true})), true, LogprobsFormat::Never).is_none());
        // llama.cpp: completions read n_probs only, answer in content[]; empty answers get null.
        assert!(LogprobRequest::of(&m(json!({"logprobs": 5})), false, LogprobsFormat::LlamaCpp).is_none());
        let r = LogprobRequest::of(&m(json!({"n_probs": 5})), false, LogprobsFormat::LlamaCpp).unwrap();
        assert_eq!(r.render(text)["content"].as_array().unwrap().len(), 3);
        assert_eq!(r.render(""), Value::Null);
        let r = LogprobRequest::of(&m(json!({"logprobs": true})), true, LogprobsFormat::LlamaCpp).unwrap();
        assert_eq!(r.top, 20);
    }
}
