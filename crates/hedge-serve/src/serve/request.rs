//! The generation requests the proxy accepts, parsed with precise errors.
//!
//! The body is kept as a JSON object so that every field the proxy does not read (sampling
//! parameters, `tools`, `response_format`, …) reaches the upstream unchanged; the fields it does
//! read are checked here: `messages` (chat) or `prompt` (completions), `n` (absent or 1: the method
//! decides how many candidates to draw), `stream`, `stream_options.include_usage` and `seed`.

use serde_json::{Map, Value};

use super::error::ServeError;
use hedge_client::generate::ApiKind;
use hedge_client::reward::Prompt;

/// A generation request as the proxy reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct Incoming {
    /// Which API it came in on.
    pub kind: ApiKind,
    /// The whole body, forwarded upstream (the proxy sets `n`, `model` and `stream` there).
    pub body: Map<String, Value>,
    /// The prompt, for the reward model.
    pub prompt: Prompt,
    /// `"stream": true`: answer with server-sent events.
    pub stream: bool,
    /// `"stream_options": {"include_usage": true}`.
    pub include_usage: bool,
    /// The request's `seed`, when given: its draws are then reproducible.
    pub seed: Option<u64>,
}

fn bad(message: impl Into<String>) -> ServeError {
    ServeError::BadRequest(message.into())
}

/// Parse a request body for `kind`. Every failure is a [`ServeError::BadRequest`] that says what
/// was expected.
///
/// ```
/// use hedge_client::ApiKind;
/// use hedge_serve::serve::parse_request;
/// let r = parse_request(ApiKind::Chat, br#"{"messages": [{"role": "user", "content": "2+2?"}], "seed": 7}"#).unwrap();
/// assert_eq!((r.seed, r.stream), (Some(7), false));
/// let e = parse_request(ApiKind::Completions, br#"{"prompt": ["a", "b"]}"#).unwrap_err();
/// assert!(e.to_string().contains("one string"));
/// ```
pub fn parse_request(kind: ApiKind, bytes: &[u8]) -> Result<Incoming, ServeError> {
    let body: Map<String, Value> = match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(m)) => m,
        Ok(_) => return Err(bad("the body must be a JSON object")),
        Err(e) => return Err(bad(format!("invalid JSON: {e}"))),
    };
    let prompt = prompt(kind, &body)?;
    match body.get("n") {
        None | Some(Value::Null) => {}
        Some(v) if v.as_u64() == Some(1) => {}
        Some(v) => {
            return Err(bad(format!(
                "\"n\" = {v}: the proxy returns one choice; the method decides how many candidates to draw"
            )));
        }
    }
    let stream = match body.get("stream") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(v) => return Err(bad(format!("\"stream\" must be true or false, found {v}"))),
    };
    let include_usage = body
        .get("stream_options")
        .and_then(|o| o.get("include_usage"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let seed = match body.get("seed") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .or_else(|| v.as_i64().map(|x| x as u64))
                .ok_or_else(|| bad(format!("\"seed\" must be an integer, found {v}")))?,
        ),
    };
    Ok(Incoming {
        kind,
        body,
        prompt,
        stream,
        include_usage,
        seed,
    })
}

fn prompt(kind: ApiKind, body: &Map<String, Value>) -> Result<Prompt, ServeError> {
    match kind {
        ApiKind::Chat => match body.get("messages") {
            Some(Value::Array(m)) if !m.is_empty() => Ok(Prompt::Messages(m.clone())),
            _ => Err(bad("\"messages\" must be a non-empty array")),
        },
        ApiKind::Completions => match body.get("prompt") {
            Some(Value::String(p)) => Ok(Prompt::Text(p.clone())),
            Some(Value::Array(a)) if a.len() == 1 && a[0].is_string() => {
                Ok(Prompt::Text(a[0].as_str().unwrap_or_default().to_string()))
            }
            Some(_) => Err(bad("\"prompt\" must be one string (one prompt per request)")),
            None => Err(bad("missing \"prompt\"")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_and_errors() {
        let r = parse_request(
            ApiKind::Chat,
            br#"{"messages": [{"role": "user", "content": "hi"}], "n": 1, "stream": true,
                "stream_options": {"include_usage": true}, "seed": -1, "temperature": 0.7}"#,
        )
        .unwrap();
        assert!(r.stream && r.include_usage);
        assert_eq!(r.seed, Some(u64::MAX));
        assert_eq!(r.body["temperature"], 0.7);
        let r = parse_request(ApiKind::Completions, br#"{"prompt": ["one"]}"#).unwrap();
        assert_eq!(r.prompt, Prompt::Text("one".into()));
        for (kind, body, needle) in [
            (ApiKind::Chat, &b"[1]"[..], "JSON object"),
            (ApiKind::Chat, b"{", "invalid JSON"),
            (ApiKind::Chat, br#"{"messages": []}"#, "non-empty array"),
            (ApiKind::Chat, br#"{"messages": [{}], "n": 3}"#, "\"n\" = 3"),
            (ApiKind::Chat, br#"{"messages": [{}], "stream": "yes"}"#, "\"stream\""),
            (ApiKind::Chat, br#"{"messages": [{}], "seed": 1.5}"#, "\"seed\""),
            (ApiKind::Completions, br#"{"prompt": 3}"#, "one string"),
            (ApiKind::Completions, b"{}", "missing \"prompt\""),
        ] {
            let e = parse_request(kind, body).unwrap_err().to_string();
            assert!(e.contains(needle), "{e}");
        }
    }
}
