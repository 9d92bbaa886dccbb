//! The proxy's answers, in OpenAI's format: one JSON completion, or server-sent events.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};

use hedge_client::generate::{ApiKind, Candidate, Usage};

/// The `hedge` object of every answer: what the method did.
#[derive(Debug, Clone, Serialize)]
pub struct HedgeInfo {
    /// `"bon"`, `"bop"` or `"sbon"`.
    pub method: &'static str,
    /// The method's parameter.
    pub theta: f64,
    /// Candidates drawn.
    pub n: usize,
    /// Proxy score per candidate, in candidate order (`null` for a failed one).
    pub scores: Vec<Option<f64>>,
    /// Index of the chosen candidate.
    pub chosen_index: usize,
    /// Drawn for calibration: more candidates than the method's `n` were drawn (all gold-scored later);
    /// the answer was chosen among the first ones, as the method would have drawn them.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub calibration: bool,
    /// With an ensemble proxy: every member's scores (in candidate order); `scores` holds the combination.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub members: Option<Vec<hedge_client::score::MemberScores>>,
}

/// `usage`, summed over every upstream request of the answer.
#[derive(Debug, Clone, Copy, Serialize)]
struct UsageJson {
    prompt_tokens: u64,
    completion_tokens: u64,
    total_tokens: u64,
}

impl From<&Usage> for UsageJson {
    fn from(u: &Usage) -> Self {
        Self {
            prompt_tokens: u.prompt_tokens,
            completion_tokens: u.completion_tokens,
            total_tokens: u.total(),
        }
    }
}

/// The answer's header fields.
pub(crate) struct Envelope<'a> {
    pub kind: ApiKind,
    pub id: &'a str,
    pub created: u64,
    pub model: &'a str,
}

/// A non-streamed completion.
#[derive(Serialize)]
struct Completion<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    model: &'a str,
    choices: [Value; 1],
    usage: UsageJson,
    hedge: &'a HedgeInfo,
}

fn object(kind: ApiKind, chunk: bool) -> &'static str {
    match (kind, chunk) {
        (ApiKind::Chat, false) => "chat.completion",
        (ApiKind::Chat, true) => "chat.completion.chunk",
        (ApiKind::Completions, _) => "text_completion",
    }
}

/// The chosen candidate as one completion: the upstream's choice object with `index` 0.
pub(crate) fn completion(env: &Envelope<'_>, chosen: &Candidate, usage: &Usage, hedge: &HedgeInfo) -> Response {
    let mut choice = chosen.choice.clone();
    if let Some(obj) = choice.as_object_mut() {
        obj.insert("index".into(), Value::from(0u64));
    }
    axum::Json(Completion {
        id: env.id,
        object: object(env.kind, false),
        created: env.created,
        model: env.model,
        choices: [choice],
        usage: usage.into(),
        hedge,
    })
    .into_response()
}

/// The chosen candidate as server-sent events in OpenAI's chunk format: (chat) the role, the content,
/// then a final chunk with `finish_reason` and the `hedge` object; a usage chunk when asked for;
/// `data: [DONE]`.
pub(crate) fn events(
    env: &Envelope<'_>,
    chosen: &Candidate,
    usage: &Usage,
    hedge: &HedgeInfo,
    include_usage: bool,
) -> Response {
    let finish = chosen.finish_reason.clone().map_or(Value::Null, Value::String);
    let base = |choices: Value| json!({"id": env.id, "object": object(env.kind, true), "created": env.created, "model": env.model, "choices": choices});
    let mut out: Vec<Value> = Vec::new();
    let mut last = match env.kind {
        ApiKind::Chat => {
            out.push(base(
                json!([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": null}]),
            ));
            if !chosen.text.is_empty() {
                out.push(base(
                    json!([{"index": 0, "delta": {"content": chosen.text}, "finish_reason": null}]),
                ));
            }
            base(json!([{"index": 0, "delta": {}, "finish_reason": finish}]))
        }
        ApiKind::Completions => {
            out.push(base(
                json!([{"index": 0, "text": chosen.text, "logprobs": null, "finish_reason": null}]),
            ));
            base(json!([{"index": 0, "text": "", "logprobs": null, "finish_reason": finish}]))
        }
    };
    last["hedge"] = json!(hedge);
    out.push(last);
    if include_usage {
        let mut u = base(json!([]));
        u["usage"] = json!(UsageJson::from(usage));
        out.push(u);
    }
    let mut text = String::new();
    for e in out {
        text.push_str("data: ");
        text.push_str(&e.to_string());
        text.push_str("\n\n");
    }
    text.push_str("data: [DONE]\n\n");
    let mut r = text.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}
