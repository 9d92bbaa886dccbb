//! The reward routes: vLLM `/pooling` and `/classify` (with SGLang's native `/classify`), TEI `/predict` and
//! OpenRLHF `/get_reward`, each scoring its texts with the configured [`Scorer`].

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use crate::config::{Inner, Scorer, read_noise};
use crate::hash::{gold_score, latent_quality, proxy_score};
use crate::http::{error, gate, json_response, parse_body};
use crate::noise::{ProxyNoise, noisy_score};

/// The reward function of one reward request: the scorer and the proxy noise read when the request came in.
struct Scoring<'a> {
    inner: &'a Inner,
    noise: ProxyNoise,
}

impl<'a> Scoring<'a> {
    fn of(inner: &'a Inner) -> Self {
        Scoring {
            inner,
            noise: read_noise(&inner.noise),
        }
    }

    fn score(&self, text: &str) -> f64 {
        self.inner.stats.texts_scored.fetch_add(1, Ordering::Relaxed);
        match self.inner.cfg.scorer {
            Scorer::Proxy => proxy_score(text),
            Scorer::Gold => gold_score(text),
            Scorer::Latent => latent_quality(text),
            Scorer::Noisy => noisy_score(text, self.noise),
        }
    }
}

/// Renders chat messages the way a reward model's chat template would (simplified).
fn render_messages(m: &[Value]) -> String {
    m.iter()
        .map(|m| {
            format!(
                "{}: {}",
                m.get("role").and_then(Value::as_str).unwrap_or("user"),
                m.get("content").and_then(Value::as_str).unwrap_or("")
            )
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// Texts of a vLLM-style request: `input` (string or list) or `messages` (one conversation).
fn vllm_texts(req: &serde_json::Map<String, Value>) -> Option<Vec<String>> {
    if let Some(m) = req.get("messages").and_then(Value::as_array) {
        return Some(vec![render_messages(m)]);
    }
    match req.get("input")? {
        Value::String(s) => Some(vec![s.clone()]),
        Value::Array(a) => a.iter().map(|t| t.as_str().map(str::to_string)).collect(),
        _ => None,
    }
}

/// What every reward route does first: count the request, pass the gate, read the body.
async fn reward_prelude(
    inner: &Inner,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<serde_json::Map<String, Value>, Response> {
    inner.stats.reward_requests.fetch_add(1, Ordering::Relaxed);
    if let Some(r) = gate(inner, headers).await {
        return Err(r);
    }
    parse_body(body)
}

pub(crate) async fn pooling(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> Response {
    let req = match reward_prelude(&inner, &headers, &body).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let sc = Scoring::of(&inner);
    let Some(texts) = vllm_texts(&req) else {
        return error(
            StatusCode::BAD_REQUEST,
            "BadRequestError",
            "\"input\" or \"messages\" is required".into(),
        );
    };
    let data: Vec<Value> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| json!({"index": i, "object": "pooling", "data": [sc.score(t)]}))
        .collect();
    json_response(
        StatusCode::OK,
        &json!({"id": "pool-standin", "object": "list", "created": 0, "model": "standin-rm", "data": data,
        "usage": {"prompt_tokens": 0, "total_tokens": 0}}),
    )
}

pub(crate) async fn classify(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> Response {
    let req = match reward_prelude(&inner, &headers, &body).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let sc = Scoring::of(&inner);
    if let Some(text) = req.get("text") {
        // SGLang native: {"text": str | [str]} → one object or a list of {"embedding": [score], ...}.
        return match text {
            Value::String(t) => json_response(
                StatusCode::OK,
                &json!({"text": t, "embedding": [sc.score(t)], "meta_info": {}}),
            ),
            Value::Array(a) => {
                let items: Vec<Value> = a
                    .iter()
                    .map(|t| {
                        let t = t.as_str().unwrap_or_default();
                        json!({"text": t, "embedding": [sc.score(t)], "meta_info": {"id": "standin"}})
                    })
                    .collect();
                json_response(StatusCode::OK, &Value::Array(items))
            }
            _ => error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                "\"text\" must be a string or a list".into(),
            ),
        };
    }
    let Some(texts) = vllm_texts(&req) else {
        return error(
            StatusCode::BAD_REQUEST,
            "BadRequestError",
            "\"input\", \"messages\" or \"text\" is required".into(),
        );
    };
    let data: Vec<Value> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| json!({"index": i, "label": "LABEL_0", "probs": [sc.score(t)], "num_classes": 1}))
        .collect();
    json_response(
        StatusCode::OK,
        &json!({"id": "classify-standin", "object": "list", "created": 0, "model": "standin-rm", "data": data,
        "usage": {"prompt_tokens": 0, "total_tokens": 0, "completion_tokens": 0, "prompt_tokens_details": null}}),
    )
}

pub(crate) async fn predict(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> Response {
    let req = match reward_prelude(&inner, &headers, &body).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let sc = Scoring::of(&inner);
    let pred = |t: &str| json!({"score": sc.score(t), "label": "LABEL_0"});
    match req.get("inputs") {
        Some(Value::String(t)) => json_response(StatusCode::OK, &json!([pred(t)])),
        Some(Value::Array(items)) if items.iter().all(Value::is_array) => {
            let mut rows = Vec::new();
            for it in items {
                let parts: Vec<&str> = it.as_array().into_iter().flatten().filter_map(Value::as_str).collect();
                if parts.is_empty() || parts.len() > 2 {
                    return error(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "validation",
                        "each batch item must be [text] or [text, text]".into(),
                    );
                }
                rows.push(json!([pred(&parts.join("\n"))]));
            }
            json_response(StatusCode::OK, &Value::Array(rows))
        }
        Some(Value::Array(pair)) if pair.len() == 2 && pair.iter().all(Value::is_string) => {
            // A bare pair of strings is one text pair, as in TEI.
            let t = format!(
                "{}\n{}",
                pair[0].as_str().unwrap_or_default(),
                pair[1].as_str().unwrap_or_default()
            );
            json_response(StatusCode::OK, &json!([pred(&t)]))
        }
        _ => error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
            "\"inputs\" must be a string, a pair or a batch".into(),
        ),
    }
}

pub(crate) async fn get_reward(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> Response {
    let req = match reward_prelude(&inner, &headers, &body).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let sc = Scoring::of(&inner);
    let Some(q) = req.get("query").and_then(Value::as_array) else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "\"query\" must be a list".into(),
        );
    };
    let rewards: Vec<f64> = q.iter().map(|t| sc.score(t.as_str().unwrap_or_default())).collect();
    json_response(StatusCode::OK, &json!({"rewards": rewards}))
}
