//! What every route answers with: JSON answers (with the odd-text markers written as raw bytes), the error
//! shape, the key check and the common gate (latency, key, injected failures), and the body as a JSON object.

use std::sync::atomic::Ordering;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::config::Inner;
use crate::hash::{hash64, unit};

/// Private-use markers replaced in the raw JSON by an invalid UTF-8 byte and a lone surrogate escape.
pub(crate) const MARK_BAD_BYTE: char = '\u{E000}';
pub(crate) const MARK_SURROGATE: char = '\u{E001}';

/// A JSON answer; odd text's markers become an invalid UTF-8 byte and a lone surrogate escape.
pub(crate) fn json_response(status: StatusCode, v: &Value) -> Response {
    let mut text = v.to_string();
    if text.contains(MARK_BAD_BYTE) || text.contains(MARK_SURROGATE) {
        text = text.replace(MARK_SURROGATE, "\\ud83d");
        let bytes: Vec<u8> = text.split(MARK_BAD_BYTE).collect::<Vec<_>>().join("\u{1}").into_bytes();
        let bytes: Vec<u8> = bytes.into_iter().map(|b| if b == 1 { 0xff } else { b }).collect();
        return (status, [(header::CONTENT_TYPE, "application/json")], bytes).into_response();
    }
    (status, [(header::CONTENT_TYPE, "application/json")], text).into_response()
}

/// An error answer in the OpenAI shape.
pub(crate) fn error(status: StatusCode, kind: &str, message: String) -> Response {
    json_response(
        status,
        &json!({"error": {"code": status.as_u16(), "message": message, "type": kind}}),
    )
}

/// The received `Authorization` header as error bodies echo it (empty unless configured).
fn auth_echo(inner: &Inner, headers: &HeaderMap) -> String {
    if inner.cfg.echo_auth {
        format!(" (received {:?})", auth_header(headers))
    } else {
        String::new()
    }
}

fn auth_header(headers: &HeaderMap) -> &str {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// The refusal of a request without the required key, if it is one.
pub(crate) fn check_key(inner: &Inner, headers: &HeaderMap) -> Option<Response> {
    let key = inner.cfg.require_key.as_ref()?;
    if auth_header(headers) != format!("Bearer {key}") {
        inner.stats.unauthorized.fetch_add(1, Ordering::Relaxed);
        return Some(error(
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            format!("invalid API key{}", auth_echo(inner, headers)),
        ));
    }
    None
}

/// Common gate: latency, key check, injected failures.
pub(crate) async fn gate(inner: &Inner, headers: &HeaderMap) -> Option<Response> {
    if !inner.cfg.latency.is_zero() {
        tokio::time::sleep(inner.cfg.latency).await;
    }
    if let Some(r) = check_key(inner, headers) {
        return Some(r);
    }
    let echo = auth_echo(inner, headers);
    if inner.cfg.fail_rate > 0.0 {
        let k = inner.stats.draws.fetch_add(1, Ordering::Relaxed);
        if unit(hash64(&[b"fail", &inner.cfg.seed.to_le_bytes(), &k.to_le_bytes()])) < inner.cfg.fail_rate {
            inner.stats.injected_failures.fetch_add(1, Ordering::Relaxed);
            return Some(error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                format!("injected failure{echo}"),
            ));
        }
    }
    None
}

#[allow(clippy::result_large_err)]
/// The request body as a JSON object, or the refusal of any other body.
pub(crate) fn parse_body(body: &Bytes) -> Result<serde_json::Map<String, Value>, Response> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "the body must be a JSON object".into(),
        )),
    }
}
