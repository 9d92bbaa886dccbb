//! Clients of reward-model servers.
//!
//! | `--reward-api` | request | answer used |
//! |---|---|---|
//! | `vllm-pooling` | `POST /pooling` `{"model"?, "input": [texts], "use_activation": false}` | `data[i].data`: a number, `[x]`, or per-token rows `[[..], …, [x]]` (the last token's `x`) |
//! | `vllm-classify` | `POST /classify` `{"model"?, "input": [texts], "use_activation": false}` | `data[i].probs[0]` (one class) |
//! | `sglang` | `POST /classify` (SGLang native) `{"model"?, "text": [texts]}` | `[i].embedding[0]` |
//! | `tei` | `POST /predict` `{"inputs": [[text], …], "raw_scores": true}` | `[i][0].score` (one label) |
//! | `openrlhf` | `POST /get_reward` `{"query": [texts]}` | `rewards[i]` |
//!
//! Scores are raw (no sigmoid/softmax) wherever the API lets the client ask for that.
//!
//! # What text is scored
//! The scored text is the prompt followed by the response ([`Prompt::render_with`]):
//! - a completion prompt: `prompt + response`, concatenated as is (the response continues the prompt);
//! - a chat conversation, for APIs that take text: every message as `"{role}: {content}"`, the assistant
//!   answer appended as `"assistant: {response}"`, joined by blank lines;
//! - a chat conversation with `vllm-pooling` or `vllm-classify`, which take messages: the conversation with
//!   `{"role": "assistant", "content": response}` appended is sent as `messages` (one request per
//!   candidate), so the server applies the reward model's own chat template.
//!
//! Texts are sent in batches of [`RewardConfig::batch_size`]; batches run concurrently within the
//! client's in-flight limit.

use std::fmt;
use std::str::FromStr;

use futures_util::future::join_all;
use serde_json::{Map, Value, json};

use crate::error::{NetError, Result};
use crate::generate::content_text;
use crate::http::{ClientConfig, HttpClient};

/// A reward-server API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RewardApi {
    /// vLLM's pooling API (`/pooling`), e.g. `vllm serve <reward model>`.
    VllmPooling,
    /// vLLM's classification API (`/classify`) for sequence-classification reward models.
    VllmClassify,
    /// SGLang's native `/classify` (`--is-embedding` reward models).
    Sglang,
    /// Hugging Face text-embeddings-inference `/predict`.
    Tei,
    /// OpenRLHF's `serve_rm` (`/get_reward`).
    Openrlhf,
}

impl RewardApi {
    /// Every API, in the order of the documentation.
    pub const ALL: [RewardApi; 5] = [
        RewardApi::VllmPooling,
        RewardApi::VllmClassify,
        RewardApi::Sglang,
        RewardApi::Tei,
        RewardApi::Openrlhf,
    ];

    /// The name used by `--reward-api`.
    pub fn name(self) -> &'static str {
        match self {
            RewardApi::VllmPooling => "vllm-pooling",
            RewardApi::VllmClassify => "vllm-classify",
            RewardApi::Sglang => "sglang",
            RewardApi::Tei => "tei",
            RewardApi::Openrlhf => "openrlhf",
        }
    }

    /// The path appended to the server root.
    pub fn path(self) -> &'static str {
        match self {
            RewardApi::VllmPooling => "/pooling",
            RewardApi::VllmClassify | RewardApi::Sglang => "/classify",
            RewardApi::Tei => "/predict",
            RewardApi::Openrlhf => "/get_reward",
        }
    }

    /// Whether the API accepts a chat conversation as `messages`.
    pub fn takes_messages(self) -> bool {
        matches!(self, RewardApi::VllmPooling | RewardApi::VllmClassify)
    }
}

impl fmt::Display for RewardApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for RewardApi {
    type Err = NetError;
    fn from_str(s: &str) -> Result<Self> {
        RewardApi::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                let names: Vec<&str> = RewardApi::ALL.iter().map(|a| a.name()).collect();
                NetError::Config(format!(
                    "unknown reward API {s:?}; expected one of {}",
                    names.join(", ")
                ))
            })
    }
}

/// What a response answers: a completion prompt or a chat conversation.
#[derive(Debug, Clone, PartialEq)]
pub enum Prompt {
    /// A plain-text prompt (`/v1/completions`).
    Text(String),
    /// Chat messages (`/v1/chat/completions`), each an object with `role` and `content`.
    Messages(Vec<Value>),
}

impl Prompt {
    /// The prompt and `response` as one plain text (see the module documentation).
    pub fn render_with(&self, response: &str) -> String {
        match self {
            Prompt::Text(p) => format!("{p}{response}"),
            Prompt::Messages(msgs) => {
                let mut out = String::new();
                for m in msgs {
                    let role = m.get("role").and_then(Value::as_str).unwrap_or("user");
                    let content = m.get("content").and_then(content_text).unwrap_or_default();
                    out.push_str(role);
                    out.push_str(": ");
                    out.push_str(&content);
                    out.push_str("\n\n");
                }
                out.push_str("assistant: ");
                out.push_str(response);
                out
            }
        }
    }

    /// The conversation with the assistant answer appended (`None` for a text prompt).
    pub fn messages_with(&self, response: &str) -> Option<Vec<Value>> {
        match self {
            Prompt::Text(_) => None,
            Prompt::Messages(msgs) => {
                let mut all = msgs.clone();
                all.push(json!({"role": "assistant", "content": response}));
                Some(all)
            }
        }
    }
}

/// Settings of a reward client.
#[derive(Debug, Clone)]
pub struct RewardConfig {
    /// Connection settings.
    pub client: ClientConfig,
    /// The server's API.
    pub api: RewardApi,
    /// The `model` field to send (omitted when `None`; TEI and OpenRLHF never take one).
    pub model: Option<String>,
    /// Texts per request (at least 1).
    pub batch_size: usize,
}

impl RewardConfig {
    /// Defaults: no model field, batches of 32.
    pub fn new(client: ClientConfig, api: RewardApi) -> Self {
        RewardConfig {
            client,
            api,
            model: None,
            batch_size: 32,
        }
    }
}

/// A client of one reward-model server.
#[derive(Debug, Clone)]
pub struct RewardClient {
    http: HttpClient,
    api: RewardApi,
    model: Option<String>,
    batch_size: usize,
}

impl RewardClient {
    /// Builds the client.
    pub fn new(cfg: &RewardConfig) -> Result<Self> {
        if cfg.batch_size == 0 {
            return Err(NetError::Config("the reward batch size must be at least 1".into()));
        }
        Ok(RewardClient {
            http: HttpClient::new(&cfg.client)?,
            api: cfg.api,
            model: cfg.model.clone(),
            batch_size: cfg.batch_size,
        })
    }

    /// The API spoken.
    pub fn api(&self) -> RewardApi {
        self.api
    }

    /// The server root, for messages.
    pub fn base(&self) -> &str {
        self.http.base()
    }

    /// Scores each response to `prompt`; one result per response, in order.
    pub async fn score(&self, prompt: &Prompt, responses: &[&str]) -> Vec<Result<f64>> {
        if responses.is_empty() {
            return Vec::new();
        }
        if matches!(prompt, Prompt::Messages(_)) && self.api.takes_messages() {
            let calls = responses.iter().map(|r| async move {
                let messages = prompt.messages_with(r).expect("a chat prompt");
                let mut body = Map::new();
                if let Some(m) = &self.model {
                    body.insert("model".into(), Value::String(m.clone()));
                }
                body.insert("messages".into(), Value::Array(messages));
                body.insert("use_activation".into(), Value::Bool(false));
                let v = self.http.post_json(self.api.path(), &Value::Object(body), None).await?;
                let mut scores = parse_scores(self.api, &v, 1, &self.http.endpoint(self.api.path()))?;
                Ok::<f64, NetError>(scores.remove(0))
            });
            return join_all(calls)
                .await
                .into_iter()
                .map(|r: Result<f64>| r.and_then(|s| self.finite(0, s)))
                .collect();
        }
        let texts: Vec<String> = responses.iter().map(|r| prompt.render_with(r)).collect();
        self.score_texts(&texts).await
    }

    /// Scores ready-made texts; one result per text, in order.
    pub async fn score_texts(&self, texts: &[String]) -> Vec<Result<f64>> {
        let calls = texts.chunks(self.batch_size).map(|chunk| async move {
            let body = request_body(self.api, self.model.as_deref(), chunk);
            let v = self.http.post_json(self.api.path(), &body, None).await?;
            parse_scores(self.api, &v, chunk.len(), &self.http.endpoint(self.api.path())) as Result<Vec<f64>>
        });
        let mut out = Vec::with_capacity(texts.len());
        let mut offset = 0;
        for (chunk, result) in texts.chunks(self.batch_size).zip(join_all(calls).await) {
            match result {
                Ok(scores) => out.extend(scores.into_iter().enumerate().map(|(i, s)| self.finite(offset + i, s))),
                Err(e) => {
                    let text = e.to_string();
                    out.push(Err(e));
                    out.extend((1..chunk.len()).map(|_| {
                        Err(NetError::Decode {
                            endpoint: self.http.endpoint(self.api.path()),
                            message: text.clone(),
                        })
                    }));
                }
            }
            offset += chunk.len();
        }
        out
    }

    fn finite(&self, index: usize, value: f64) -> Result<f64> {
        if value.is_finite() {
            Ok(value)
        } else {
            Err(NetError::NonFiniteScore {
                endpoint: self.http.endpoint(self.api.path()),
                index,
                value,
            })
        }
    }
}

/// The JSON request body of a batch of texts.
pub fn request_body(api: RewardApi, model: Option<&str>, texts: &[String]) -> Value {
    let mut body = Map::new();
    if let (Some(m), RewardApi::VllmPooling | RewardApi::VllmClassify | RewardApi::Sglang) = (model, api) {
        body.insert("model".into(), Value::String(m.to_string()));
    }
    match api {
        RewardApi::VllmPooling | RewardApi::VllmClassify => {
            body.insert("input".into(), json!(texts));
            body.insert("use_activation".into(), Value::Bool(false));
        }
        RewardApi::Sglang => {
            body.insert("text".into(), json!(texts));
        }
        RewardApi::Tei => {
            // A bare two-string list would be read as one text pair: wrap each text.
            let inputs: Vec<Value> = texts.iter().map(|t| json!([t])).collect();
            body.insert("inputs".into(), Value::Array(inputs));
            body.insert("raw_scores".into(), Value::Bool(true));
        }
        RewardApi::Openrlhf => {
            body.insert("query".into(), json!(texts));
        }
    }
    Value::Object(body)
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        // Python's json module writes NaN and Infinity as bare words; serde_json cannot read them, but a
        // server that quotes them should still be told apart from a missing score.
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
}

/// Extracts `expected` scores from a reward server's answer.
pub fn parse_scores(api: RewardApi, v: &Value, expected: usize, endpoint: &str) -> Result<Vec<f64>> {
    let bad = |m: String| NetError::Decode {
        endpoint: endpoint.to_string(),
        message: m,
    };
    let scores = match api {
        RewardApi::VllmPooling => vllm_scores(v, vllm_pooling_score),
        RewardApi::VllmClassify => vllm_scores(v, vllm_classify_score),
        RewardApi::Sglang => sglang_scores(v),
        RewardApi::Tei => tei_scores(v),
        RewardApi::Openrlhf => openrlhf_scores(v),
    }
    .map_err(bad)?;
    if scores.len() != expected {
        return Err(bad(format!("{} scores for {expected} texts", scores.len())));
    }
    Ok(scores)
}

/// Scores of one API's answer, or what is wrong with it.
type Parsed<T> = std::result::Result<T, String>;

/// vLLM (`/pooling`, `/classify`): `data[i]`, put in the order of their `index` (else of their position),
/// each read by `score(i, data[i])`.
fn vllm_scores(v: &Value, score: fn(usize, &Value) -> Parsed<f64>) -> Parsed<Vec<f64>> {
    let data = v
        .get("data")
        .and_then(Value::as_array)
        .ok_or_else(|| "no \"data\" array".to_string())?;
    let mut items: Vec<(usize, &Value)> = data
        .iter()
        .enumerate()
        .map(|(pos, d)| (d.get("index").and_then(Value::as_u64).map_or(pos, |i| i as usize), d))
        .collect();
    items.sort_by_key(|(i, _)| *i);
    items.into_iter().map(|(i, d)| score(i, d)).collect()
}

/// vLLM `/pooling`: the score of item `i` is its `data` (see [`pooled_score`]).
fn vllm_pooling_score(i: usize, d: &Value) -> Parsed<f64> {
    pooled_score(d.get("data").unwrap_or(&Value::Null)).map_err(|m| format!("data[{i}].data: {m}"))
}

/// vLLM `/classify`: the score of item `i` is its only class, `probs[0]`.
fn vllm_classify_score(i: usize, d: &Value) -> Parsed<f64> {
    let probs = d
        .get("probs")
        .and_then(Value::as_array)
        .ok_or_else(|| format!("data[{i}] has no \"probs\""))?;
    if probs.len() != 1 {
        return Err(format!(
            "data[{i}] has {} classes; hedge needs a reward model with a single score",
            probs.len()
        ));
    }
    number(&probs[0]).ok_or_else(|| format!("data[{i}].probs[0] is not a number"))
}

/// SGLang `/classify`: a list of objects (or one object) whose `embedding` is `x` or `[x]`.
fn sglang_scores(v: &Value) -> Parsed<Vec<f64>> {
    let items: Vec<&Value> = match v {
        Value::Array(a) => a.iter().collect(),
        Value::Object(_) => vec![v],
        _ => return Err("expected a list of objects with \"embedding\"".into()),
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let e = item
                .get("embedding")
                .ok_or_else(|| format!("item {i} has no \"embedding\""))?;
            match e {
                Value::Array(a) if a.len() == 1 => number(&a[0]),
                other => number(other),
            }
            .ok_or_else(|| format!("item {i}: \"embedding\" is not a single score"))
        })
        .collect()
}

/// TEI `/predict`: one list of predictions per text (or one bare list for a single text), each with a
/// single `score`.
fn tei_scores(v: &Value) -> Parsed<Vec<f64>> {
    let arr = v
        .as_array()
        .ok_or_else(|| "expected a list of predictions".to_string())?;
    let rows: Vec<&Value> = if arr.first().is_some_and(Value::is_object) {
        vec![v]
    } else {
        arr.iter().collect()
    };
    rows.into_iter()
        .enumerate()
        .map(|(i, row)| {
            let preds = row
                .as_array()
                .ok_or_else(|| format!("item {i} is not a list of predictions"))?;
            if preds.len() != 1 {
                return Err(format!(
                    "item {i} has {} labels; hedge needs a reward model with a single score",
                    preds.len()
                ));
            }
            preds[0]
                .get("score")
                .and_then(number)
                .ok_or_else(|| format!("item {i} has no numeric \"score\""))
        })
        .collect()
}

/// OpenRLHF `/get_reward`: `rewards[i]`, a number or `[x]`.
fn openrlhf_scores(v: &Value) -> Parsed<Vec<f64>> {
    let r = v
        .get("rewards")
        .and_then(Value::as_array)
        .ok_or_else(|| "no \"rewards\" array".to_string())?;
    r.iter()
        .enumerate()
        .map(|(i, x)| {
            match x {
                Value::Array(a) if a.len() == 1 => number(&a[0]),
                other => number(other),
            }
            .ok_or_else(|| format!("rewards[{i}] is not a number"))
        })
        .collect()
}

fn pooled_score(d: &Value) -> std::result::Result<f64, String> {
    match d {
        Value::Array(a) if a.is_empty() => Err("empty".into()),
        Value::Array(a) if a.len() == 1 && !a[0].is_array() => number(&a[0]).ok_or_else(|| "not a number".into()),
        Value::Array(a) if a.iter().all(Value::is_array) => {
            // One row per token: the reward of the sequence is the last token's.
            let last = a.last().and_then(Value::as_array).expect("non-empty rows");
            if last.len() != 1 {
                return Err(format!(
                    "per-token rows of {} values; expected one score per token",
                    last.len()
                ));
            }
            number(&last[0]).ok_or_else(|| "not a number".into())
        }
        Value::Array(a) => Err(format!(
            "a vector of {} values; expected one score (is this an embedding model?)",
            a.len()
        )),
        other => number(other).ok_or_else(|| format!("expected a score, found {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const E: &str = "http://rm/x";

    #[test]
    fn vllm_pooling_shapes() {
        let v = json!({"id": "pool-1", "object": "list", "created": 1, "model": "m",
            "data": [{"index": 1, "object": "pooling", "data": [0.25]}, {"index": 0, "object": "pooling", "data": [[0.1], [0.2], [-1.5]]}],
            "usage": {"prompt_tokens": 3, "total_tokens": 3}});
        assert_eq!(
            parse_scores(RewardApi::VllmPooling, &v, 2, E).unwrap(),
            vec![-1.5, 0.25]
        );
        let v = json!({"data": [{"index": 0, "data": 2.0}]});
        assert_eq!(parse_scores(RewardApi::VllmPooling, &v, 1, E).unwrap(), vec![2.0]);
        let v = json!({"data": [{"index": 0, "data": [0.1, 0.2, 0.3]}]});
        assert!(
            parse_scores(RewardApi::VllmPooling, &v, 1, E)
                .unwrap_err()
                .to_string()
                .contains("embedding")
        );
    }

    #[test]
    fn vllm_classify_shape() {
        let v = json!({"id": "classify-1", "object": "list", "created": 1, "model": "m",
            "data": [{"index": 0, "label": "LABEL_0", "probs": [3.5], "num_classes": 1}], "usage": {}});
        assert_eq!(parse_scores(RewardApi::VllmClassify, &v, 1, E).unwrap(), vec![3.5]);
        let v = json!({"data": [{"index": 0, "label": "Default", "probs": [0.56, 0.44], "num_classes": 2}]});
        assert!(
            parse_scores(RewardApi::VllmClassify, &v, 1, E)
                .unwrap_err()
                .to_string()
                .contains("2 classes")
        );
    }

    #[test]
    fn sglang_shapes() {
        let v = json!([{"text": "a", "embedding": [-24.25], "meta_info": {}}, {"embedding": [1.0546875]}]);
        assert_eq!(
            parse_scores(RewardApi::Sglang, &v, 2, E).unwrap(),
            vec![-24.25, 1.0546875]
        );
        let v = json!({"embedding": [0.5], "meta_info": {}});
        assert_eq!(parse_scores(RewardApi::Sglang, &v, 1, E).unwrap(), vec![0.5]);
    }

    #[test]
    fn tei_shapes_and_request() {
        let v = json!([[{"score": 1.25, "label": "LABEL_0"}], [{"score": -0.5, "label": "LABEL_0"}]]);
        assert_eq!(parse_scores(RewardApi::Tei, &v, 2, E).unwrap(), vec![1.25, -0.5]);
        let v = json!([{"score": 0.75, "label": "LABEL_0"}]);
        assert_eq!(parse_scores(RewardApi::Tei, &v, 1, E).unwrap(), vec![0.75]);
        let v = json!([[{"score": 0.9, "label": "pos"}, {"score": 0.1, "label": "neg"}]]);
        assert!(parse_scores(RewardApi::Tei, &v, 1, E).is_err());
        let body = request_body(RewardApi::Tei, Some("ignored"), &["a".into(), "b".into()]);
        assert_eq!(body, json!({"inputs": [["a"], ["b"]], "raw_scores": true}));
    }

    #[test]
    fn openrlhf_shape_and_request() {
        let v = json!({"rewards": [0.5, [1.5], -2]});
        assert_eq!(
            parse_scores(RewardApi::Openrlhf, &v, 3, E).unwrap(),
            vec![0.5, 1.5, -2.0]
        );
        assert_eq!(
            request_body(RewardApi::Openrlhf, None, &["q".into()]),
            json!({"query": ["q"]})
        );
    }

    #[test]
    fn count_mismatch_is_an_error() {
        let v = json!({"rewards": [0.5]});
        assert!(
            parse_scores(RewardApi::Openrlhf, &v, 2, E)
                .unwrap_err()
                .to_string()
                .contains("1 scores for 2 texts")
        );
    }

    #[test]
    fn vllm_requests_ask_for_raw_scores() {
        let b = request_body(RewardApi::VllmPooling, Some("rm"), &["t".into()]);
        assert_eq!(b, json!({"model": "rm", "input": ["t"], "use_activation": false}));
        let b = request_body(RewardApi::Sglang, None, &["t".into()]);
        assert_eq!(b, json!({"text": ["t"]}));
    }

    #[test]
    fn rendering_convention() {
        assert_eq!(Prompt::Text("2+2=".into()).render_with("4"), "2+2=4");
        let p = Prompt::Messages(vec![
            json!({"role": "system", "content": "Be brief."}),
            json!({"role": "user", "content": "Hi"}),
        ]);
        assert_eq!(
            p.render_with("Hello"),
            "system: Be brief.\n\nuser: Hi\n\nassistant: Hello"
        );
        let m = p.messages_with("Hello").unwrap();
        assert_eq!(m.last().unwrap(), &json!({"role": "assistant", "content": "Hello"}));
    }

    #[test]
    fn api_names_round_trip() {
        for a in RewardApi::ALL {
            assert_eq!(a.name().parse::<RewardApi>().unwrap(), a);
        }
        assert!(
            "vllm"
                .parse::<RewardApi>()
                .unwrap_err()
                .to_string()
                .contains("vllm-pooling")
        );
    }
}
