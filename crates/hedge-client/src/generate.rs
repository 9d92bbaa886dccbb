//! Client of OpenAI-compatible generation servers (`/v1/completions`, `/v1/chat/completions`).
//!
//! [`GenClient::generate`] asks for `n` candidates in one request with the `n` field. If the server refuses
//! that `n`, the client remembers the largest `n` it takes and from then on splits the candidates into
//! requests of at most that many:
//! - llama.cpp's server takes `n` up to its number of slots (`-np`) and answers a larger `n` with HTTP 400
//!   `"Field 'n': Value must be between 1 <= value <= 4, but got 8"`: the limit (here 4) is read from the
//!   message, and `n = 8` becomes two requests with `n = 4`;
//! - older llama.cpp servers answer any `n > 1` with HTTP 500 `"Only one completion choice is allowed"`,
//!   other servers a 4xx naming `n`: the client then sends `n` concurrent requests with `n = 1`.
//!
//! A request that carries candidates `o, o+1, …` gets the seed `s + o` when the original request has seed
//! `s`, as llama.cpp does for the choices of one request (choice `j` of a request with seed `s` is sampled
//! with seed `s + j`): however the candidates are split, candidate `i` is sampled with seed `s + i`, so the
//! candidates differ yet stay reproducible. llama.cpp's "random seed" values `-1` and `4294967295` are
//! sent unchanged to every request (each then draws its own random seed, as llama.cpp's own choices do).
//!
//! Every other request field (`temperature`, `top_p`, `max_tokens`, `stop`, `seed`, `logprobs`, vendor
//! extensions, ...) is passed through unchanged, except `stream`/`stream_options` (the client needs whole
//! answers) and `best_of`, which OpenAI removed and several servers reject: it is never sent.
//!
//! Usage: llama.cpp's answer to a request with `n > 1` reports the `usage` of its first choice only; the
//! client passes on what the server reports.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

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
        Usage {
            prompt_tokens: get("prompt_tokens"),
            completion_tokens: get("completion_tokens"),
        }
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
        && (m.contains("'n'")
            || m.contains("\"n\"")
            || m.contains("`n`")
            || m.contains("n must")
            || m.contains("parameter n"))
}

/// The largest `n` a refusal names, if any: llama.cpp's `"Field 'n': Value must be between 1 <= value <= 4,
/// but got 8"` gives 4 (the number after the last `<=`, or after `at most`).
pub fn n_limit(message: &str) -> Option<u64> {
    let m = message.to_ascii_lowercase();
    let number_after = |marker: &str| {
        m.rmatch_indices(marker).find_map(|(i, _)| {
            let rest = m[i + marker.len()..].trim_start();
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse::<u64>().ok()
        })
    };
    number_after("<=")
        .or_else(|| number_after("at most"))
        .filter(|&k| k >= 1)
}

/// No known limit on `n` per request.
const NO_LIMIT: u64 = u64::MAX;

/// The seed of the request that carries candidates `offset, offset+1, …` (see the module documentation).
fn offset_seed(seed: &Value, offset: usize) -> Value {
    let random = seed.as_i64() == Some(-1) || seed.as_u64() == Some(u64::from(u32::MAX));
    if offset == 0 || random {
        return seed.clone();
    }
    if let Some(u) = seed.as_u64() {
        Value::from(u.wrapping_add(offset as u64))
    } else if let Some(x) = seed.as_i64() {
        Value::from(x.wrapping_add(offset as i64))
    } else {
        seed.clone()
    }
}

/// The answer to one upstream request for candidates `offset .. offset + k`.
enum Batch {
    /// The server refused this `n`; the largest `n` it names, if any.
    Refused(Option<u64>),
    /// One result per candidate of the batch, in order.
    Done {
        candidates: Vec<Result<Candidate>>,
        usage: Usage,
        model: Option<String>,
    },
}

/// A copy of a request's error for the other candidates of the same request (HTTP status, connection
/// and timeout errors keep their kind; others become a [`NetError::Decode`] with the same text).
fn copy_error(e: &NetError, endpoint: &str) -> NetError {
    match e {
        NetError::Status {
            endpoint,
            status,
            message,
            attempts,
        } => NetError::Status {
            endpoint: endpoint.clone(),
            status: *status,
            message: message.clone(),
            attempts: *attempts,
        },
        NetError::Connect {
            endpoint,
            attempts,
            message,
        } => NetError::Connect {
            endpoint: endpoint.clone(),
            attempts: *attempts,
            message: message.clone(),
        },
        NetError::Timeout {
            endpoint,
            timeout,
            attempts,
        } => NetError::Timeout {
            endpoint: endpoint.clone(),
            timeout: *timeout,
            attempts: *attempts,
        },
        other => NetError::Decode {
            endpoint: endpoint.to_string(),
            message: other.to_string(),
        },
    }
}

/// A client of one OpenAI-compatible generation server.
#[derive(Debug, Clone)]
pub struct GenClient {
    http: HttpClient,
    model: Option<String>,
    /// The largest `n` the server takes in one request ([`NO_LIMIT`] until it refuses one).
    max_n: Arc<AtomicU64>,
}

impl GenClient {
    /// A client of the server at `cfg.base_url`. `model`, if given, replaces the request's `model` field.
    pub fn new(cfg: &ClientConfig, model: Option<String>) -> Result<Self> {
        Ok(GenClient {
            http: HttpClient::new(cfg)?,
            model,
            max_n: Arc::new(AtomicU64::new(NO_LIMIT)),
        })
    }

    /// `false` once the server has refused every `n > 1` (requests are then fanned out as `n = 1`).
    pub fn supports_n(&self) -> bool {
        self.max_n.load(Ordering::Relaxed) > 1
    }

    /// The largest `n` the server has been found to take in one request (`None`: no refusal seen yet).
    pub fn max_n_per_request(&self) -> Option<u64> {
        Some(self.max_n.load(Ordering::Relaxed)).filter(|&k| k != NO_LIMIT)
    }

    /// The configured model override.
    pub fn model(&self) -> Option<&str> {
        self.model.as_deref()
    }

    /// The server root, for messages.
    pub fn base(&self) -> &str {
        self.http.base()
    }

    /// The endpoint URL of `kind` on this server, for messages.
    pub fn endpoint(&self, kind: ApiKind) -> String {
        self.http.endpoint(kind.path())
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

    /// Remembers that the server refused `n = asked`; `named` is the limit its message gives, if any.
    fn lower_limit(&self, asked: usize, named: Option<u64>) {
        let limit = named.filter(|&k| k < asked as u64).unwrap_or(1);
        let before = self.max_n.fetch_min(limit, Ordering::Relaxed);
        if limit < before {
            if limit == 1 {
                tracing::info!(upstream = %self.http.base(), "upstream refuses n > 1; sending n single requests instead");
            } else {
                tracing::info!(upstream = %self.http.base(), limit, "upstream takes at most {limit} choices per request; splitting larger n");
            }
        }
    }

    /// Generates `n ≥ 1` candidates for `request` (an OpenAI request body; its `n`, `stream` and `best_of`
    /// are ignored). Failures are per candidate; this call itself never fails.
    pub async fn generate(&self, kind: ApiKind, request: &Map<String, Value>, n: usize) -> Generation {
        let n = n.max(1);
        let body = self.prepare(request);
        let mut slots: Vec<Option<Result<Candidate>>> = (0..n).map(|_| None).collect();
        let mut usage = Usage::default();
        let mut model = None;
        // Candidate ranges still to generate: (offset, count).
        let mut todo = vec![(0usize, n)];
        while !todo.is_empty() {
            let limit = usize::try_from(self.max_n.load(Ordering::Relaxed))
                .unwrap_or(usize::MAX)
                .max(1);
            let batches: Vec<(usize, usize)> = todo
                .drain(..)
                .flat_map(|(offset, count)| {
                    (0..count)
                        .step_by(limit)
                        .map(move |o| (offset + o, limit.min(count - o)))
                })
                .collect();
            let answers = join_all(batches.iter().map(|&(offset, k)| self.batch(kind, &body, offset, k))).await;
            for ((offset, k), answer) in batches.into_iter().zip(answers) {
                match answer {
                    Batch::Refused(named) => {
                        self.lower_limit(k, named);
                        todo.push((offset, k));
                    }
                    Batch::Done {
                        candidates,
                        usage: u,
                        model: m,
                    } => {
                        usage.add(u);
                        if model.is_none() {
                            model = m;
                        }
                        for (j, c) in candidates.into_iter().enumerate() {
                            slots[offset + j] = Some(c);
                        }
                    }
                }
            }
        }
        let candidates = slots
            .into_iter()
            .map(|s| s.expect("every candidate range is generated"))
            .collect();
        Generation {
            candidates,
            usage,
            model,
        }
    }

    /// One upstream request for candidates `offset .. offset + k`.
    async fn batch(&self, kind: ApiKind, body: &Map<String, Value>, offset: usize, k: usize) -> Batch {
        let endpoint = self.http.endpoint(kind.path());
        let mut one = body.clone();
        one.insert("n".into(), Value::from(k as u64));
        if let Some(s) = body.get("seed") {
            one.insert("seed".into(), offset_seed(s, offset));
        }
        let final_if = |status: u16, message: &str| is_n_rejection(status, message);
        let final_if: Option<crate::http::FinalIf<'_>> = if k > 1 { Some(&final_if) } else { None };
        let v = match self.http.post_json(kind.path(), &Value::Object(one), final_if).await {
            Ok(v) => v,
            Err(NetError::Status {
                status, ref message, ..
            }) if k > 1 && is_n_rejection(status, message) => {
                return Batch::Refused(n_limit(message));
            }
            Err(e) => {
                let mut candidates: Vec<Result<Candidate>> = (1..k).map(|_| Err(copy_error(&e, &endpoint))).collect();
                candidates.insert(0, Err(e));
                return Batch::Done {
                    candidates,
                    usage: Usage::default(),
                    model: None,
                };
            }
        };
        let usage = Usage::from_response(&v);
        let model = v.get("model").and_then(Value::as_str).map(str::to_string);
        let mut slots: Vec<Option<Result<Candidate>>> = (0..k).map(|_| None).collect();
        match self.choices(kind, &v) {
            // A single request: its first choice, whatever index the server gave it.
            Ok(choices) if k == 1 && !choices.is_empty() => {
                let c = choices.into_iter().next().expect("not empty").1;
                slots[0] = Some(Ok(c));
            }
            Ok(choices) => {
                for (j, c) in choices {
                    if j < k && slots[j].is_none() {
                        slots[j] = Some(Ok(c));
                    }
                }
            }
            Err(e) => slots[0] = Some(Err(e)),
        }
        let got = slots.iter().filter(|s| matches!(s, Some(Ok(_)))).count();
        let candidates = slots
            .into_iter()
            .enumerate()
            .map(|(j, s)| {
                let message = if k == 1 {
                    "the answer has no choices".to_string()
                } else {
                    format!("the server returned {got} of {k} choices")
                };
                s.unwrap_or_else(|| {
                    Err(NetError::Decode {
                        endpoint: endpoint.clone(),
                        message,
                    })
                })
                .map(|c| Candidate { index: offset + j, ..c })
            })
            .collect();
        Batch::Done {
            candidates,
            usage,
            model,
        }
    }

    /// `(index, candidate)` for every choice of an answer.
    fn choices(&self, kind: ApiKind, v: &Value) -> Result<Vec<(usize, Candidate)>> {
        let endpoint = self.http.endpoint(kind.path());
        let bad = |m: String| NetError::Decode {
            endpoint: endpoint.clone(),
            message: m,
        };
        let arr = v
            .get("choices")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("no \"choices\" array".into()))?;
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
                        let msg = c
                            .get("message")
                            .ok_or_else(|| bad(format!("choice {index} has no \"message\"")))?;
                        content_text(msg.get("content").unwrap_or(&Value::Null))
                            .ok_or_else(|| bad(format!("choice {index}: \"message.content\" is not text")))?
                    }
                };
                let finish_reason = c.get("finish_reason").and_then(Value::as_str).map(str::to_string);
                Ok((
                    index,
                    Candidate {
                        index,
                        text,
                        finish_reason,
                        choice: c.clone(),
                    },
                ))
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
                .filter_map(|p| {
                    p.as_str()
                        .map(str::to_string)
                        .or_else(|| p.get("text").and_then(Value::as_str).map(str::to_string))
                })
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
        assert!(is_n_rejection(
            400,
            "Illegal param: only one completion choice is allowed"
        ));
        assert!(is_n_rejection(400, "'n' must be 1"));
        assert!(!is_n_rejection(500, "CUDA out of memory"));
        assert!(!is_n_rejection(503, "loading model"));
        assert!(!is_n_rejection(200, "only one completion choice"));
    }

    #[test]
    fn llama_cpp_slot_limit_is_recognised_and_read() {
        // Current llama.cpp (as vendored in llama-cpp-python 0.3.36) with `-np 4`, asked for n = 8: HTTP 400.
        let m = "Field 'n': Value must be between 1 <= value <= 4, but got 8";
        assert!(is_n_rejection(400, m));
        assert_eq!(n_limit(m), Some(4));
        assert_eq!(n_limit("n must be at most 16"), Some(16));
        assert_eq!(n_limit("Only one completion choice is allowed"), None);
        assert_eq!(n_limit("value <= 0"), None);
        // Not a refusal of n: llama.cpp's other 400s.
        assert!(!is_n_rejection(
            400,
            "request (1202 tokens) exceeds the available context size (256 tokens), try increasing it"
        ));
        assert!(!is_n_rejection(
            400,
            "Field 'seed': [json.exception.type_error.302] type must be number, but is string"
        ));
    }

    #[test]
    fn seeds_of_split_requests() {
        assert_eq!(offset_seed(&Value::from(7u64), 0), Value::from(7u64));
        assert_eq!(offset_seed(&Value::from(7u64), 4), Value::from(11u64));
        assert_eq!(offset_seed(&Value::from(-5i64), 2), Value::from(-3i64));
        // llama.cpp's random seed stays random for every request.
        assert_eq!(offset_seed(&Value::from(-1i64), 3), Value::from(-1i64));
        assert_eq!(
            offset_seed(&Value::from(4_294_967_295u64), 3),
            Value::from(4_294_967_295u64)
        );
        assert_eq!(offset_seed(&Value::from("x"), 3), Value::from("x"));
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
