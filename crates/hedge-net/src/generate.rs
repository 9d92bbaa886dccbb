//! Client of OpenAI-compatible generation servers (`/v1/completions`, `/v1/chat/completions`).
//!
//! [`GenClient::generate`] asks for `n` candidates in one request with the `n` field. If the server refuses
//! `n > 1` (llama.cpp's server answers HTTP 500 `"Only one completion choice is allowed"`; other servers a
//! 4xx naming `n`), the client remembers it and from then on sends `n` concurrent requests with `n = 1`.
//! In that mode a request `seed` `s` becomes `s + i` for candidate `i`, so the candidates differ yet stay
//! reproducible.
//!
//! Every other request field (`temperature`, `top_p`, `max_tokens`, `stop`, `seed`, `logprobs`, vendor
//! extensions, ...) is passed through unchanged, except `stream`/`stream_options` (the client needs whole
//! answers) and `best_of`, which OpenAI removed and several servers reject: it is never sent.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures_util::future::join_all;
use serde_json::{Map, Value};

use crate::error::{NetError, Result};
use crate::http::{ClientConfig, HttpClient};

/// Which OpenAI-compatible API a request uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApiKind {
    /// `/v1/chat/completions` (`messages` in, `choices[].message.content` out).
    Chat,
    /// `/v1/completions` (`prompt` in, `choices[].text` out).
    Completions,
}

impl ApiKind {
    /// The request path.
    pub fn path(self) -> &'static str {
        match self {
            ApiKind::Chat => "/v1/chat/completions",
            ApiKind::Completions => "/v1/completions",
        }
    }
}

/// Token usage summed over requests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Prompt tokens (counted once per upstream request).
    pub prompt_tokens: u64,
    /// Generated tokens.
    pub completion_tokens: u64,
}

impl Usage {
    /// Prompt plus completion tokens.
    pub fn total(&self) -> u64 {
        self.prompt_tokens + self.completion_tokens
    }

    /// Adds another count.
    pub fn add(&mut self, other: Usage) {
        self.prompt_tokens += other.prompt_tokens;
        self.completion_tokens += other.completion_tokens;
    }

    fn from_response(v: &Value) -> Usage {
        let get = |k: &str| v.pointer(&format!("/usage/{k}")).and_then(Value::as_u64).unwrap_or(0);
        Usage { prompt_tokens: get("prompt_tokens"), completion_tokens: get("completion_tokens") }
    }
}

/// One generated candidate.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// Position among the candidates of its request (0-based).
    pub index: usize,
    /// The generated text (chat: the assistant message content).
    pub text: String,
    /// The upstream's `finish_reason`, if any.
    pub finish_reason: Option<String>,
    /// The upstream's choice object, as received (keeps `logprobs`, tool calls, vendor fields).
    pub choice: Value,
}

/// The outcome of one [`GenClient::generate`] call.
#[derive(Debug)]
pub struct Generation {
    /// One entry per candidate requested, in candidate order.
    pub candidates: Vec<Result<Candidate>>,
    /// Tokens used by every upstream request made.
    pub usage: Usage,
    /// The `model` the upstream reported, if any.
    pub model: Option<String>,
}

impl Generation {
    /// Number of candidates generated successfully.
    pub fn succeeded(&self) -> usize {
        self.candidates.iter().filter(|c| c.is_ok()).count()
    }
}

/// Whether an error answer is a refusal of `n > 1` (llama.cpp's server and similar).
pub fn is_n_rejection(status: u16, message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    if !(400..600).contains(&status) {
        return false;
    }
    if m.contains("only one completion choice") || m.contains("n > 1") || m.contains("n>1") {
        return true;
    }
    (400..500).contains(&status)
        && (m.contains("'n'") || m.contains("\"n\"") || m.contains("`n`") || m.contains("n must") || m.contains("parameter n"))
}

/// A client of one OpenAI-compatible generation server.
#[derive(Debug, Clone)]
pub struct GenClient {
    http: HttpClient,
    model: Option<String>,
    n_supported: Arc<AtomicBool>,
}

impl GenClient {
    /// A client of the server at `cfg.base_url`. `model`, if given, replaces the request's `model` field.
    pub fn new(cfg: &ClientConfig, model: Option<String>) -> Result<Self> {
        Ok(GenClient { http: HttpClient::new(cfg)?, model, n_supported: Arc::new(AtomicBool::new(true)) })
    }

    /// `false` once the server has refused `n > 1` (requests are then fanned out as `n = 1`).
    pub fn supports_n(&self) -> bool {
        self.n_supported.load(Ordering::Relaxed)
    }

    /// The configured model override.
    pub fn model(&self) -> Option<&str> {
        self.model.as_deref()
    }

    /// The server root, for messages.
    pub fn base(&self) -> &str {
        self.http.base()
    }

    fn prepare(&self, request: &Map<String, Value>) -> Map<String, Value> {
        let mut body = request.clone();
        for k in ["best_of", "stream", "stream_options", "n"] {
            body.remove(k);
        }
        if let Some(m) = &self.model {
            body.insert("model".into(), Value::String(m.clone()));
        }
        body
    }

    /// Generates `n ≥ 1` candidates for `request` (an OpenAI request body; its `n`, `stream` and `best_of`
    /// are ignored). Failures are per candidate; this call itself never fails.
    pub async fn generate(&self, kind: ApiKind, request: &Map<String, Value>, n: usize) -> Generation {
        let n = n.max(1);
        let body = self.prepare(request);
        if n > 1 && self.supports_n() {
            let mut one = body.clone();
            one.insert("n".into(), Value::from(n as u64));
            let final_if = |status: u16, message: &str| is_n_rejection(status, message);
            match self.http.post_json(kind.path(), &Value::Object(one), Some(&final_if)).await {
                Ok(v) => return self.split_choices(kind, &v, n),
                Err(NetError::Status { status, ref message, .. }) if is_n_rejection(status, message) => {
                    if self.n_supported.swap(false, Ordering::Relaxed) {
                        tracing::info!(upstream = %self.http.base(), status, "upstream refuses n > 1; sending n single requests instead");
                    }
                }
                Err(e) => {
                    let text = e.to_string();
                    let mut candidates = vec![Err(e)];
                    candidates.extend((1..n).map(|_| Err(NetError::Decode { endpoint: self.http.endpoint(kind.path()), message: text.clone() })));
                    return Generation { candidates, usage: Usage::default(), model: None };
                }
            }
        }
        self.fan_out(kind, body, n).await
    }

    async fn fan_out(&self, kind: ApiKind, body: Map<String, Value>, n: usize) -> Generation {
        let seed = body.get("seed").cloned();
        let calls = (0..n).map(|i| {
            let mut one = body.clone();
            one.insert("n".into(), Value::from(1u64));
            if let Some(s) = &seed {
                if let Some(u) = s.as_u64() {
                    one.insert("seed".into(), Value::from(u.wrapping_add(i as u64)));
                } else if let Some(x) = s.as_i64() {
                    one.insert("seed".into(), Value::from(x.wrapping_add(i as i64)));
                }
            }
            async move { self.http.post_json(kind.path(), &Value::Object(one), None).await }
        });
        let answers = join_all(calls).await;
        let mut usage = Usage::default();
        let mut model = None;
        let candidates = answers
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                let v = r?;
                usage.add(Usage::from_response(&v));
                if model.is_none() {
                    model = v.get("model").and_then(Value::as_str).map(str::to_string);
                }
                let choices = self.choices(kind, &v)?;
                let first = choices.into_iter().next().ok_or_else(|| NetError::Decode {
                    endpoint: self.http.endpoint(kind.path()),
                    message: "the answer has no choices".into(),
                })?;
                Ok(Candidate { index: i, ..first.1 })
            })
            .collect();
        Generation { candidates, usage, model }
    }

    fn split_choices(&self, kind: ApiKind, v: &Value, n: usize) -> Generation {
        let usage = Usage::from_response(v);
        let model = v.get("model").and_then(Value::as_str).map(str::to_string);
        let endpoint = self.http.endpoint(kind.path());
        let mut slots: Vec<Option<Result<Candidate>>> = (0..n).map(|_| None).collect();
        match self.choices(kind, v) {
            Ok(choices) => {
                for (index, c) in choices {
                    if index < n && slots[index].is_none() {
                        slots[index] = Some(Ok(Candidate { index, ..c }));
                    }
                }
            }
            Err(e) => slots[0] = Some(Err(e)),
        }
        let got = slots.iter().filter(|s| matches!(s, Some(Ok(_)))).count();
        let candidates = slots
            .into_iter()
            .map(|s| {
                s.unwrap_or_else(|| {
                    Err(NetError::Decode { endpoint: endpoint.clone(), message: format!("the server returned {got} of {n} choices") })
                })
            })
            .collect();
        Generation { candidates, usage, model }
    }

    /// `(index, candidate)` for every choice of an answer.
    fn choices(&self, kind: ApiKind, v: &Value) -> Result<Vec<(usize, Candidate)>> {
        let endpoint = self.http.endpoint(kind.path());
        let bad = |m: String| NetError::Decode { endpoint: endpoint.clone(), message: m };
        let arr = v.get("choices").and_then(Value::as_array).ok_or_else(|| bad("no \"choices\" array".into()))?;
        arr.iter()
            .enumerate()
            .map(|(pos, c)| {
                let index = c.get("index").and_then(Value::as_u64).map_or(pos, |i| i as usize);
                let text = match kind {
                    ApiKind::Completions => c
                        .get("text")
                        .and_then(Value::as_str)
                        .ok_or_else(|| bad(format!("choice {index} has no \"text\" string")))?
                        .to_string(),
                    ApiKind::Chat => {
                        let msg = c.get("message").ok_or_else(|| bad(format!("choice {index} has no \"message\"")))?;
                        content_text(msg.get("content").unwrap_or(&Value::Null))
                            .ok_or_else(|| bad(format!("choice {index}: \"message.content\" is not text")))?
                    }
                };
                let finish_reason = c.get("finish_reason").and_then(Value::as_str).map(str::to_string);
                Ok((index, Candidate { index, text, finish_reason, choice: c.clone() }))
            })
            .collect()
    }
}

/// The text of a chat message `content`: a string, `null` (empty), or an array of parts whose `text`
/// fields are concatenated.
pub fn content_text(content: &Value) -> Option<String> {
    match content {
        Value::String(s) => Some(s.clone()),
        Value::Null => Some(String::new()),
        Value::Array(parts) => Some(
            parts
                .iter()
                .filter_map(|p| p.as_str().map(str::to_string).or_else(|| p.get("text").and_then(Value::as_str).map(str::to_string)))
                .collect::<Vec<_>>()
                .join(""),
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn llama_cpp_refusal_is_recognised() {
        assert!(is_n_rejection(500, "Only one completion choice is allowed"));
        assert!(is_n_rejection(400, "Illegal param: only one completion choice is allowed"));
        assert!(is_n_rejection(400, "'n' must be 1"));
        assert!(!is_n_rejection(500, "CUDA out of memory"));
        assert!(!is_n_rejection(503, "loading model"));
        assert!(!is_n_rejection(200, "only one completion choice"));
    }

    #[test]
    fn content_parts_are_joined() {
        let v: Value = serde_json::json!([{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]);
        assert_eq!(content_text(&v).unwrap(), "ab");
        assert_eq!(content_text(&Value::Null).unwrap(), "");
        assert!(content_text(&serde_json::json!(3)).is_none());
    }

    #[test]
    fn prepare_drops_best_of_and_stream_and_keeps_the_rest() {
        let c = GenClient::new(&ClientConfig::new("http://127.0.0.1:9"), Some("m".into())).unwrap();
        let req: Map<String, Value> = serde_json::from_str(
            r#"{"model":"x","prompt":"p","best_of":4,"stream":true,"stream_options":{},"n":3,"seed":5,"temperature":0.7,"top_p":0.9,"max_tokens":8,"stop":["\n"],"min_p":0.1}"#,
        )
        .unwrap();
        let b = c.prepare(&req);
        for k in ["best_of", "stream", "stream_options", "n"] {
            assert!(!b.contains_key(k), "{k}");
        }
        assert_eq!(b["model"], "m");
        for k in ["seed", "temperature", "top_p", "max_tokens", "stop", "min_p", "prompt"] {
            assert_eq!(b[k], req[k], "{k}");
        }
    }
}
