//! The admin route `/admin/proxy-noise`: reads and switches the proxy noise while the stand-in runs. It needs
//! the bearer key if one is required, and has no latency nor injected failures.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::Value;

use crate::config::{Inner, read_noise, write_noise};
use crate::http::{check_key, error, json_response};
use crate::noise::{InvalidNoise, ProxyNoise};

/// `GET /admin/proxy-noise`: the current setting.
pub(crate) async fn get_proxy_noise(State(inner): State<Arc<Inner>>, headers: HeaderMap) -> Response {
    if let Some(r) = check_key(&inner, &headers) {
        return r;
    }
    json_response(StatusCode::OK, &read_noise(&inner.noise).to_json())
}

/// `POST /admin/proxy-noise`: switches the setting, or answers 400 and keeps it.
pub(crate) async fn set_proxy_noise(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(r) = check_key(&inner, &headers) {
        return r;
    }
    let parsed = serde_json::from_slice::<Value>(&body)
        .map_err(|e| InvalidNoise(format!("the body is not JSON: {e}")))
        .and_then(|v| ProxyNoise::from_json(&v));
    match parsed.and_then(|noise| write_noise(&inner.noise, noise).map(|()| noise)) {
        Ok(noise) => json_response(StatusCode::OK, &noise.to_json()),
        Err(e) => error(StatusCode::BAD_REQUEST, "invalid_request_error", e.0),
    }
}
