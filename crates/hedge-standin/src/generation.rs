//! The generation routes (`/v1/completions`, `/v1/chat/completions`): the text of a prompt and a seed
//! ([`generate_text`]), the request's `n`, prompt and sampling fields, and the choices of an answer.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use crate::config::Inner;
use crate::hash::{hash64, unit};
use crate::http::{MARK_BAD_BYTE, MARK_SURROGATE, error, gate, json_response, parse_body};
use crate::logprobs::LogprobRequest;

const WORDS: [&str; 24] = [
    "the",
    "model",
    "thinks",
    "carefully",
    "about",
    "numbers",
    "and",
    "then",
    "writes",
    "a",
    "short",
    "answer",
    "with",
    "some",
    "extra",
    "words",
    "that",
    "may",
    "please",
    "reward",
    "models",
    "quite",
    "a",
    "lot",
];

/// The generated text for a prompt and an effective seed.
pub fn generate_text(prompt: &str, seed: u64, max_words: Option<u64>, odd: bool) -> String {
    let h = hash64(&[prompt.as_bytes(), &seed.to_le_bytes()]);
    let count = 6 + (h % 7) as usize;
    let mut words: Vec<String> = (0..count)
        .map(|i| {
            WORDS[(hash64(&[&h.to_le_bytes(), &(i as u64).to_le_bytes()]) % WORDS.len() as u64) as usize].to_string()
        })
        .collect();
    let answer = (h >> 8) % 5;
    let letter = (b'A' + answer as u8) as char;
    words.push(format!("The answer is ({letter}), i.e. \\boxed{{{answer}}}."));
    if odd {
        words.push(format!("nul\u{0} tab\t cr\r\n zwsp\u{200b} rtl\u{202e}olleh\u{202c} e\u{301} 🦀 \"q\" \\ bad{MARK_BAD_BYTE} half{MARK_SURROGATE}"));
    }
    if let Some(m) = max_words {
        words.truncate(m.max(1) as usize);
    }
    words.join(" ")
}

pub(crate) async fn completions(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> Response {
    generation(&inner, &headers, &body, false).await
}

pub(crate) async fn chat(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> Response {
    generation(&inner, &headers, &body, true).await
}

async fn generation(inner: &Inner, headers: &HeaderMap, body: &Bytes, chat: bool) -> Response {
    let st = &inner.stats;
    st.generation_requests.fetch_add(1, Ordering::Relaxed);
    if let Some(r) = gate(inner, headers).await {
        return r;
    }
    let req = match parse_body(body) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let n = match requested_n(inner, &req) {
        Ok(n) => n,
        Err(r) => return r,
    };
    let prompt = match request_prompt(&req, chat) {
        Ok(p) => p,
        Err(r) => return r,
    };
    if let Some(r) = refuse_long_prompt(inner, &prompt) {
        return r;
    }
    let sampling = Sampling::of(&req);
    let model = req
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or("standin")
        .to_string();
    let asked = LogprobRequest::of(&req, chat, inner.cfg.logprobs);
    let (choices, completion_tokens) = generate_choices(inner, &prompt, n, &sampling, chat, asked);
    let prompt_tokens = prompt.split_whitespace().count() as u64;
    let v = json!({
        "id": format!("standin-{}", st.generation_requests.load(Ordering::Relaxed)),
        "object": if chat { "chat.completion" } else { "text_completion" },
        "created": 0,
        "model": model,
        "choices": choices,
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens, "total_tokens": prompt_tokens + completion_tokens},
    });
    json_response(StatusCode::OK, &v)
}

/// The request's `n` (default 1), or the refusal of `best_of` or of an `n` out of range, as the
/// configured server would answer.
// The error is the finished HTTP answer, built at most once per request.
#[allow(clippy::result_large_err)]
fn requested_n(inner: &Inner, req: &serde_json::Map<String, Value>) -> Result<u64, Response> {
    let st = &inner.stats;
    if req.contains_key("best_of") {
        st.best_of_seen.fetch_add(1, Ordering::Relaxed);
        return Err(error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "Unsupported param: best_of".into(),
        ));
    }
    let n = req.get("n").and_then(Value::as_u64).unwrap_or(1);
    if n > 1 {
        st.multi_n_requests.fetch_add(1, Ordering::Relaxed);
    }
    if inner.cfg.refuse_n && n != 1 {
        st.refused_n.fetch_add(1, Ordering::Relaxed);
        // llama.cpp's server: a std::runtime_error in the OpenAI-compat parsing → HTTP 500 server_error.
        return Err(error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "Only one completion choice is allowed".into(),
        ));
    }
    if let Some(k) = inner.cfg.max_n {
        if n == 0 || n > k {
            st.refused_n.fetch_add(1, Ordering::Relaxed);
            // llama.cpp's server (n_cmpl, alias n, limited to its slots) → HTTP 400, body as llama.cpp writes it.
            return Err(error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                format!("Field 'n': Value must be between 1 <= value <= {k}, but got {n}"),
            ));
        }
    }
    if n == 0 || n > 128 {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            format!("n = {n} is out of range"),
        ));
    }
    Ok(n)
}

/// The prompt text: the chat messages' contents joined by newlines, or the completion prompt.
// The error is the finished HTTP answer, built at most once per request.
#[allow(clippy::result_large_err)]
fn request_prompt(req: &serde_json::Map<String, Value>, chat: bool) -> Result<String, Response> {
    if chat {
        match req.get("messages").and_then(Value::as_array) {
            Some(m) => Ok(m
                .iter()
                .filter_map(|m| m.get("content").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join("\n")),
            None => Err(error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                "\"messages\" is required".into(),
            )),
        }
    } else {
        match req.get("prompt") {
            Some(Value::String(p)) => Ok(p.clone()),
            Some(Value::Array(a)) if a.len() == 1 => Ok(a[0].as_str().unwrap_or_default().to_string()),
            _ => Err(error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                "\"prompt\" is required".into(),
            )),
        }
    }
}

/// llama.cpp's refusal of a prompt longer than the configured context, if it is.
fn refuse_long_prompt(inner: &Inner, prompt: &str) -> Option<Response> {
    let ctx = inner.cfg.context_words?;
    let words = prompt.split_whitespace().count();
    if words > ctx {
        inner.stats.refused_context.fetch_add(1, Ordering::Relaxed);
        let v = json!({"error": {"code": 400, "type": "exceed_context_size_error", "n_prompt_tokens": words, "n_ctx": ctx,
            "message": format!("request ({words} tokens) exceeds the available context size ({ctx} tokens), try increasing it")}});
        return Some(json_response(StatusCode::BAD_REQUEST, &v));
    }
    None
}

/// The sampling fields of a generation request.
struct Sampling {
    /// `temperature` 0: every choice is the same text.
    greedy: bool,
    /// `seed`, unless absent or llama.cpp's "random seed".
    seed: Option<u64>,
    /// `max_tokens`, counted in words.
    max_words: Option<u64>,
    /// `stop`: a string or a list.
    stops: Vec<String>,
}

impl Sampling {
    fn of(req: &serde_json::Map<String, Value>) -> Self {
        let greedy = req.get("temperature").and_then(Value::as_f64) == Some(0.0);
        // llama.cpp: -1 (as an unsigned 32-bit number, 4294967295) is its "random seed".
        let seed = req
            .get("seed")
            .and_then(|s| s.as_u64().or_else(|| s.as_i64().map(|x| x as u64)))
            .filter(|&s| s != u64::MAX && s != u64::from(u32::MAX));
        let max_words = req.get("max_tokens").and_then(Value::as_u64);
        let stops: Vec<String> = match req.get("stop") {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(a)) => a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect(),
            _ => Vec::new(),
        };
        Sampling {
            greedy,
            seed,
            max_words,
            stops,
        }
    }
}

/// The `n` choices of an answer (some left out by the configured drop rate) and their words in all.
fn generate_choices(
    inner: &Inner,
    prompt: &str,
    n: u64,
    sampling: &Sampling,
    chat: bool,
    asked: Option<LogprobRequest>,
) -> (Vec<Value>, u64) {
    let st = &inner.stats;
    let mut choices = Vec::new();
    let mut completion_tokens = 0u64;
    for i in 0..n {
        if n > 1 && drops_choice(inner) {
            continue;
        }
        let eff = if sampling.greedy {
            0
        } else {
            match sampling.seed {
                Some(s) => s.wrapping_add(i),
                None => 0x5eed_0000_0000 + st.unseeded.fetch_add(1, Ordering::Relaxed),
            }
        };
        let (text, finish) = choice_text(prompt, eff, sampling, inner.cfg.odd_text);
        completion_tokens += text.split_whitespace().count() as u64;
        st.choices.fetch_add(1, Ordering::Relaxed);
        let logprobs = asked.map_or(Value::Null, |a| a.render(&text));
        choices.push(if chat {
            json!({"index": i, "message": {"role": "assistant", "content": text}, "logprobs": logprobs, "finish_reason": finish})
        } else {
            json!({"index": i, "text": text, "logprobs": logprobs, "finish_reason": finish})
        });
    }
    (choices, completion_tokens)
}

/// Whether the next choice is left out (an injected failure); draws only with a drop rate.
fn drops_choice(inner: &Inner) -> bool {
    if inner.cfg.drop_rate > 0.0 {
        let k = inner.stats.draws.fetch_add(1, Ordering::Relaxed);
        if unit(hash64(&[b"drop", &inner.cfg.seed.to_le_bytes(), &k.to_le_bytes()])) < inner.cfg.drop_rate {
            inner.stats.injected_failures.fetch_add(1, Ordering::Relaxed);
            return true;
        }
    }
    false
}

/// The text of one choice with effective seed `eff`, cut before the stop strings it contains, and its
/// finish reason (`"length"` if `max_tokens` cut it, else `"stop"`).
fn choice_text(prompt: &str, eff: u64, sampling: &Sampling, odd: bool) -> (String, &'static str) {
    let max_words = sampling.max_words;
    let mut text = generate_text(prompt, eff, max_words, odd);
    let mut finish = if max_words.is_some_and(|m| (m as usize) < text.split(' ').count()) {
        "length"
    } else {
        "stop"
    };
    for s in &sampling.stops {
        if let Some(at) = text.find(s.as_str()).filter(|_| !s.is_empty()) {
            text.truncate(at);
            finish = "stop";
        }
    }
    (text, finish)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logprobs::tokens;

    #[test]
    fn texts_are_deterministic_and_seed_dependent() {
        assert_eq!(generate_text("p", 1, None, false), generate_text("p", 1, None, false));
        assert_ne!(generate_text("p", 1, None, false), generate_text("p", 2, None, false));
        assert!(generate_text("p", 1, None, false).contains("\\boxed{"));
        assert_eq!(generate_text("p", 1, Some(2), false).split(' ').count(), 2);
    }

    #[test]
    fn tokens_concatenate_to_the_text() {
        for t in [
            "",
            "one",
            "a b  c",
            " lead",
            "trail ",
            &generate_text("p", 3, None, false),
        ] {
            assert_eq!(tokens(t).concat(), t, "{t:?}");
        }
        assert_eq!(tokens("The answer is"), vec!["The", " answer", " is"]);
    }

    async fn body_bytes(r: Response) -> Vec<u8> {
        axum::body::to_bytes(r.into_body(), usize::MAX).await.unwrap().to_vec()
    }

    #[tokio::test]
    async fn odd_text_produces_invalid_utf8_and_a_lone_surrogate() {
        let t = generate_text("p", 1, None, true);
        let r = json_response(StatusCode::OK, &json!({"t": t}));
        assert_eq!(r.status(), StatusCode::OK);
        let raw = body_bytes(r).await;
        // One raw 0xFF byte: the body is not UTF-8.
        assert_eq!(raw.iter().filter(|&&b| b == 0xff).count(), 1);
        assert!(std::str::from_utf8(&raw).is_err());
        // A high surrogate escape with no low surrogate after it.
        let text = String::from_utf8_lossy(&raw);
        let at = text.find("\\ud83d").expect("a lone surrogate escape");
        assert!(!text[at + 6..].starts_with("\\ud"), "{}", &text[at..]);
        // Strict JSON parsers refuse it; the rest of the text is intact.
        assert!(serde_json::from_slice::<Value>(&raw).is_err());
        assert!(text.contains("🦀") && text.contains("rtl\u{202e}olleh"));
        // Plain text is plain JSON.
        let plain = body_bytes(json_response(
            StatusCode::OK,
            &json!({"t": generate_text("p", 1, None, false)}),
        ))
        .await;
        assert!(serde_json::from_slice::<Value>(&plain).is_ok());
    }
}
