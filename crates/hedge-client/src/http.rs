//! The HTTP layer shared by every client: base URLs, bearer keys, bounded concurrency, timeouts and
//! retries with exponential backoff and full jitter.

use std::error::Error as _;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use serde_json::Value;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;
use zeroize::Zeroizing;

use crate::error::{NetError, Result};

/// Environment variable holding the bearer key sent to the generation server.
pub const UPSTREAM_KEY_ENV: &str = "HEDGE_UPSTREAM_API_KEY";
/// Environment variable holding the bearer key sent to the (proxy) reward server.
pub const REWARD_KEY_ENV: &str = "HEDGE_REWARD_API_KEY";
/// Environment variable holding the bearer key sent to the gold reward server of `collect`.
pub const GOLD_KEY_ENV: &str = "HEDGE_GOLD_API_KEY";
/// Environment variable holding the bearer token that clients of `hedge serve` must present.
pub const SERVE_KEY_ENV: &str = "HEDGE_SERVE_API_KEY";

const REDACTED: &str = "[redacted]";

/// An API key or bearer token. It has no `Display` and no `PartialEq` (compare presented tokens with
/// [`Secret::matches`], in constant time); `Debug` prints `Secret([redacted])`; its memory is zeroed
/// when it is dropped.
#[derive(Clone)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wraps a key; `None` for an empty or all-whitespace string.
    pub fn new(key: impl Into<String>) -> Option<Self> {
        let key = key.into();
        let key = key.trim();
        if key.is_empty() {
            None
        } else {
            Some(Secret(Zeroizing::new(key.to_string())))
        }
    }

    /// Reads a key from an environment variable (unset or empty → `None`).
    pub fn from_env(var: &str) -> Option<Self> {
        std::env::var(var).ok().and_then(Secret::new)
    }

    /// The key itself, for building the `Authorization` header only.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }

    /// `text` with every occurrence of the key replaced by `[redacted]`.
    pub fn redact(&self, text: &str) -> String {
        if text.contains(self.0.as_str()) {
            text.replace(self.0.as_str(), REDACTED)
        } else {
            text.to_string()
        }
    }

    /// Whether a presented token is this one. Both are hashed (SHA-256) and the digests compared in
    /// constant time ([`subtle`]), so the time taken depends neither on where they differ nor on the
    /// key's length.
    pub fn matches(&self, presented: &str) -> bool {
        let a = Sha256::digest(self.0.as_bytes());
        let b = Sha256::digest(presented.as_bytes());
        a.as_slice().ct_eq(b.as_slice()).into()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// How failed requests are retried: up to `max_attempts` attempts in all, on connection errors, timeouts,
/// HTTP 429 and 5xx. Before attempt `k + 1` the client sleeps a uniformly random time in
/// `[0, min(max_delay, base_delay · 2^(k−1))]` ("full jitter"), or the server's `Retry-After` (capped at
/// `max_delay`) when it sends one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, at least 1 (1 = no retry).
    pub max_attempts: u32,
    /// Backoff before the second attempt (upper end of its jitter).
    pub base_delay: Duration,
    /// Largest backoff.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
        }
    }
}

impl RetryPolicy {
    /// No retries: one attempt per request.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// Upper end of the jittered sleep after failed attempt `attempt` (1-based).
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.saturating_sub(1).min(30)).unwrap_or(u32::MAX);
        self.base_delay.saturating_mul(factor).min(self.max_delay)
    }

    /// A jittered sleep after failed attempt `attempt` (1-based).
    pub fn backoff<R: Rng + ?Sized>(&self, attempt: u32, rng: &mut R) -> Duration {
        let ceiling = self.ceiling(attempt);
        if ceiling.is_zero() {
            return ceiling;
        }
        Duration::from_secs_f64(rng.random::<f64>() * ceiling.as_secs_f64())
    }
}

/// Connection settings of one upstream server.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Server root, e.g. `http://127.0.0.1:8000`; the client appends the API path.
    pub base_url: String,
    /// Bearer key sent as `Authorization: Bearer ...`.
    pub api_key: Option<Secret>,
    /// Per-attempt timeout, from connecting until the whole answer is read.
    pub timeout: Duration,
    /// Requests in flight to this server at once (further ones wait).
    pub max_in_flight: usize,
    /// Retry policy.
    pub retry: RetryPolicy,
    /// Largest answer read from the server, in bytes ([`NetError::TooLarge`] beyond; a misbehaving
    /// server cannot make the client buffer more).
    pub max_response_bytes: usize,
}

/// Default of [`ClientConfig::max_response_bytes`]: 8 MiB.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 8 << 20;

/// Largest value accepted for [`ClientConfig::max_in_flight`] (a sanity bound).
pub const MAX_IN_FLIGHT: usize = 1 << 20;

impl ClientConfig {
    /// Defaults: no key, 120 s timeout, 64 requests in flight, 3 attempts, answers up to 8 MiB.
    pub fn new(base_url: impl Into<String>) -> Self {
        ClientConfig {
            base_url: base_url.into(),
            api_key: None,
            timeout: Duration::from_secs(120),
            max_in_flight: 64,
            retry: RetryPolicy::default(),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }

    /// Sets the bearer key.
    pub fn api_key(mut self, key: Option<Secret>) -> Self {
        self.api_key = key;
        self
    }
}

/// Removes `user:password@` from a URL for messages.
pub(crate) fn display_url(url: &str) -> String {
    match url.find("://") {
        Some(i) => {
            let (scheme, rest) = url.split_at(i + 3);
            let host_end = rest.find('/').unwrap_or(rest.len());
            match rest[..host_end].rfind('@') {
                Some(at) => format!("{scheme}{}", &rest[at + 1..]),
                None => url.to_string(),
            }
        }
        None => url.to_string(),
    }
}

/// Checks a server root URL and returns it without a trailing slash.
pub fn normalize_base_url(url: &str) -> Result<String> {
    let shown = display_url(url);
    let bad = |reason: &str| NetError::InvalidUrl {
        url: shown.clone(),
        reason: reason.to_string(),
    };
    let parsed = reqwest::Url::parse(url.trim()).map_err(|e| bad(&e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(bad("the scheme must be http or https"));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(bad("no host"));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(bad("give the server root without a query or fragment"));
    }
    let base = url.trim().trim_end_matches('/').to_string();
    if base.ends_with("/v1") {
        return Err(bad(
            "give the server root (e.g. http://host:port); hedge appends /v1/... itself",
        ));
    }
    Ok(base)
}

/// Pulls a readable message out of an error body (`{"error": {"message": ...}}`, `{"message": ...}`,
/// `{"detail": ...}`, `{"error": "..."}`), else the text itself, shortened to 300 characters.
pub(crate) fn error_message(body: &str) -> String {
    let from_json = serde_json::from_str::<Value>(body).ok().and_then(|v| {
        let pick = |v: &Value| match v {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        };
        v.pointer("/error/message")
            .and_then(pick)
            .or_else(|| v.get("message").and_then(pick))
            .or_else(|| v.get("detail").and_then(pick))
            .or_else(|| v.get("error").and_then(pick))
    });
    let text = from_json.unwrap_or_else(|| body.trim().to_string());
    shorten(&text, 300)
}

pub(crate) fn shorten(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_string();
    }
    let mut s: String = text.chars().take(max_chars).collect();
    s.push('…');
    s
}

/// Parses a JSON answer leniently: invalid UTF-8 becomes U+FFFD, and lone UTF-16 surrogate escapes
/// (`"\ud83d"`, which some servers emit when a token boundary splits a character) become `\ufffd`.
pub(crate) fn parse_json_lenient(bytes: &[u8]) -> std::result::Result<Value, serde_json::Error> {
    let text = String::from_utf8_lossy(bytes);
    match serde_json::from_str(&text) {
        Ok(v) => Ok(v),
        Err(e) => {
            let fixed = replace_lone_surrogates(&text);
            if fixed != text {
                serde_json::from_str(&fixed)
            } else {
                Err(e)
            }
        }
    }
}

fn replace_lone_surrogates(text: &str) -> String {
    fn hex4(b: &[u8]) -> Option<u16> {
        let s = std::str::from_utf8(b.get(..4)?).ok()?;
        u16::from_str_radix(s, 16).ok()
    }
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut last = 0;
    while i + 1 < b.len() {
        if b[i] == b'\\' {
            if b[i + 1] == b'u' {
                if let Some(u) = hex4(&b[i + 2..]) {
                    let is_high = (0xD800..0xDC00).contains(&u);
                    let is_low = (0xDC00..0xE000).contains(&u);
                    let paired = is_high
                        && b.get(i + 6) == Some(&b'\\')
                        && b.get(i + 7) == Some(&b'u')
                        && hex4(&b[i + 8..]).is_some_and(|l| (0xDC00..0xE000).contains(&l));
                    if paired {
                        i += 12;
                        continue;
                    }
                    if is_high || is_low {
                        out.push_str(&text[last..i]);
                        out.push_str("\\ufffd");
                        i += 6;
                        last = i;
                        continue;
                    }
                }
            }
            i += 2;
            continue;
        }
        i += 1;
    }
    out.push_str(&text[last..]);
    out
}

/// Transport error text without the URL (which reqwest would print), with its causes.
fn transport_message(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut msg = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !msg.contains(&s_text) {
            msg.push_str(": ");
            msg.push_str(&s_text);
        }
        source = s.source();
    }
    msg
}

/// Decides whether an HTTP error answer is final even though its status is retryable
/// (e.g. llama.cpp's HTTP 500 for `n > 1`). Arguments: status and extracted message.
pub(crate) type FinalIf<'a> = &'a (dyn Fn(u16, &str) -> bool + Send + Sync);

/// A JSON-over-HTTP client of one server.
#[derive(Clone)]
pub struct HttpClient {
    client: reqwest::Client,
    base: String,
    shown_base: String,
    key: Option<Secret>,
    permits: Arc<Semaphore>,
    timeout: Duration,
    retry: RetryPolicy,
    max_response_bytes: usize,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("base", &self.shown_base)
            .field("key", &self.key)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .finish()
    }
}

impl HttpClient {
    /// Builds a client; fails on a bad URL or an unusable configuration.
    pub fn new(cfg: &ClientConfig) -> Result<Self> {
        let base = normalize_base_url(&cfg.base_url)?;
        if cfg.max_in_flight == 0 || cfg.max_in_flight > MAX_IN_FLIGHT {
            return Err(NetError::Config(format!(
                "max_in_flight must be in 1..={MAX_IN_FLIGHT}"
            )));
        }
        if cfg.max_response_bytes == 0 {
            return Err(NetError::Config("max_response_bytes must be at least 1".into()));
        }
        if cfg.retry.max_attempts == 0 {
            return Err(NetError::Config("max_attempts must be at least 1".into()));
        }
        let client = reqwest::Client::builder()
            .connect_timeout(cfg.timeout.min(Duration::from_secs(10)))
            .pool_idle_timeout(Duration::from_secs(60))
            .tcp_nodelay(true)
            .build()
            .map_err(|e| NetError::Config(format!("cannot build the HTTP client: {}", transport_message(e))))?;
        Ok(HttpClient {
            client,
            shown_base: display_url(&base),
            base,
            key: cfg.api_key.clone(),
            permits: Arc::new(Semaphore::new(cfg.max_in_flight)),
            timeout: cfg.timeout,
            retry: cfg.retry,
            max_response_bytes: cfg.max_response_bytes,
        })
    }

    /// The endpoint URL for messages (no credentials).
    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{}", self.shown_base, path)
    }

    /// The configured server root, for messages (no credentials).
    #[allow(clippy::misnamed_getters)]
    pub fn base(&self) -> &str {
        &self.shown_base
    }

    fn clean(&self, text: &str) -> String {
        match &self.key {
            Some(k) => k.redact(text),
            None => text.to_string(),
        }
    }

    /// POSTs `body` as JSON to `path` and returns the JSON answer, retrying transient failures.
    /// `final_if` marks error answers that must not be retried although their status is retryable.
    pub(crate) async fn post_json(&self, path: &str, body: &Value, final_if: Option<FinalIf<'_>>) -> Result<Value> {
        let url = format!("{}{}", self.base, path);
        let endpoint = self.endpoint(path);
        let payload = bytes::Bytes::from(serde_json::to_vec(body).expect("JSON values always serialise"));
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (result, retry_after) = self.attempt(&url, &endpoint, payload.clone(), attempt).await;
            let err = match result {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            let is_final = match (&err, final_if) {
                (NetError::Status { status, message, .. }, Some(f)) => f(*status, message),
                _ => false,
            };
            if is_final || !err.is_transient() || attempt >= self.retry.max_attempts {
                tracing::debug!(endpoint = %endpoint, attempt, error = %err, "request failed");
                return Err(err);
            }
            let sleep = match retry_after {
                Some(d) => d.min(self.retry.max_delay),
                None => self.retry.backoff(attempt, &mut rand::rng()),
            };
            tracing::debug!(endpoint = %endpoint, attempt, error = %err, ?sleep, "retrying");
            tokio::time::sleep(sleep).await;
        }
    }

    /// One attempt: the answer, or the error and the server's `Retry-After` (HTTP errors only).
    async fn attempt(
        &self,
        url: &str,
        endpoint: &str,
        payload: bytes::Bytes,
        attempt: u32,
    ) -> (Result<Value>, Option<Duration>) {
        let _permit = self.permits.acquire().await.expect("the semaphore is never closed");
        let req = match self.request(url, payload) {
            Ok(r) => r,
            Err(e) => return (Err(e), None),
        };
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => return (Err(self.transport_error(e, endpoint, attempt)), None),
        };
        let status = resp.status();
        let retry_after = retry_after_header(resp.headers());
        let body = match self.read_capped(resp, endpoint, attempt).await {
            Ok(b) => b,
            Err(e) => return (Err(e), None),
        };
        if !status.is_success() {
            return (Err(self.status_error(status, &body, endpoint, attempt)), retry_after);
        }
        (self.decode(&body, endpoint), None)
    }

    /// The answer's body, read chunk by chunk up to `max_response_bytes`.
    async fn read_capped(&self, mut resp: reqwest::Response, endpoint: &str, attempt: u32) -> Result<Vec<u8>> {
        let limit = self.max_response_bytes;
        let too_large = || NetError::TooLarge {
            endpoint: endpoint.to_string(),
            limit,
        };
        if resp.content_length().is_some_and(|len| len > limit as u64) {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| self.transport_error(e, endpoint, attempt))?
        {
            if body.len() + chunk.len() > limit {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    /// The POST of `payload` to `url`, with the timeout and the bearer key (marked sensitive).
    fn request(&self, url: &str, payload: bytes::Bytes) -> Result<reqwest::RequestBuilder> {
        let mut req = self
            .client
            .post(url)
            .timeout(self.timeout)
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .body(payload);
        if let Some(key) = &self.key {
            match HeaderValue::from_str(&format!("Bearer {}", key.expose())) {
                Ok(mut v) => {
                    v.set_sensitive(true);
                    req = req.header(AUTHORIZATION, v);
                }
                Err(_) => {
                    return Err(NetError::Config(
                        "the API key contains characters not allowed in a header".into(),
                    ));
                }
            }
        }
        Ok(req)
    }

    /// A failure to send or to read the answer: a timeout or a connection error (key redacted).
    fn transport_error(&self, e: reqwest::Error, endpoint: &str, attempt: u32) -> NetError {
        if e.is_timeout() {
            NetError::Timeout {
                endpoint: endpoint.to_string(),
                timeout: self.timeout,
                attempts: attempt,
            }
        } else {
            NetError::Connect {
                endpoint: endpoint.to_string(),
                attempts: attempt,
                message: self.clean(&transport_message(e)),
            }
        }
    }

    /// An HTTP error answer, with the message of its body (key redacted).
    fn status_error(&self, status: reqwest::StatusCode, body: &[u8], endpoint: &str, attempt: u32) -> NetError {
        let message = self.clean(&error_message(&String::from_utf8_lossy(body)));
        NetError::Status {
            endpoint: endpoint.to_string(),
            status: status.as_u16(),
            message,
            attempts: attempt,
        }
    }

    /// A successful answer's JSON, or an error quoting its start (key redacted).
    fn decode(&self, body: &[u8], endpoint: &str) -> Result<Value> {
        parse_json_lenient(body).map_err(|e| {
            let head = self.clean(&shorten(&String::from_utf8_lossy(body), 200));
            NetError::Decode {
                endpoint: endpoint.to_string(),
                message: format!("invalid JSON ({e}): {head:?}"),
            }
        })
    }
}

/// The server's `Retry-After` in seconds, if it sent one (the HTTP-date form is ignored).
fn retry_after_header(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_debug_and_redaction() {
        let s = Secret::new("sk-abc123").unwrap();
        assert_eq!(format!("{s:?}"), "Secret([redacted])");
        assert_eq!(s.redact("bad key sk-abc123!"), "bad key [redacted]!");
        assert!(s.matches("sk-abc123"));
        assert!(!s.matches("sk-abc124"));
        assert!(!s.matches("sk-abc12"));
        assert!(Secret::new("  ").is_none());
    }

    #[test]
    fn base_urls_are_checked() {
        assert_eq!(
            normalize_base_url("http://127.0.0.1:8000/").unwrap(),
            "http://127.0.0.1:8000"
        );
        assert_eq!(normalize_base_url("https://h/prefix").unwrap(), "https://h/prefix");
        for bad in [
            "127.0.0.1:8000",
            "ftp://h",
            "http://h:1/v1",
            "http://h:1/v1/",
            "http://h/?a=1",
            "not a url",
        ] {
            assert!(normalize_base_url(bad).is_err(), "{bad}");
        }
        let e = normalize_base_url("ftp://user:pw@h").unwrap_err().to_string();
        assert!(!e.contains("pw"), "{e}");
    }

    #[test]
    fn credentials_are_removed_from_shown_urls() {
        assert_eq!(display_url("http://u:p@h:1/x"), "http://h:1/x");
        assert_eq!(display_url("http://h:1/a@b"), "http://h:1/a@b");
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(350),
        };
        assert_eq!(p.ceiling(1), Duration::from_millis(100));
        assert_eq!(p.ceiling(2), Duration::from_millis(200));
        assert_eq!(p.ceiling(3), Duration::from_millis(350));
        assert_eq!(p.ceiling(40), Duration::from_millis(350));
        let mut rng = rand::rng();
        for a in 1..6 {
            assert!(p.backoff(a, &mut rng) <= p.ceiling(a));
        }
    }

    #[test]
    fn error_messages_are_extracted() {
        assert_eq!(
            error_message(
                r#"{"error":{"code":500,"message":"Only one completion choice is allowed","type":"server_error"}}"#
            ),
            "Only one completion choice is allowed"
        );
        assert_eq!(
            error_message(r#"{"object":"error","message":"bad","type":"BadRequestError","code":400}"#),
            "bad"
        );
        assert_eq!(error_message(r#"{"detail":"Not Found"}"#), "Not Found");
        assert_eq!(error_message("plain text\n"), "plain text");
        assert_eq!(error_message(&"x".repeat(400)).chars().count(), 301);
    }

    #[test]
    fn lenient_json_survives_bad_bytes_and_lone_surrogates() {
        let v = parse_json_lenient(b"{\"t\": \"a\xffb\"}").unwrap();
        assert_eq!(v["t"], "a\u{fffd}b");
        let v = parse_json_lenient(br#"{"t": "x\ud83d y \ud83d\ude00 \udc00"}"#).unwrap();
        assert_eq!(v["t"], "x\u{fffd} y \u{1F600} \u{fffd}");
        let v = parse_json_lenient(br#"{"t": "\\ud83d"}"#).unwrap();
        assert_eq!(v["t"], "\\ud83d");
    }
}
