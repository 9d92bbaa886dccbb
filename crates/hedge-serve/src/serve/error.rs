//! Everything a request to the proxy can fail with, and how each failure is answered.
//!
//! Answers use OpenAI's error shape, `{"error": {"message", "type", "code", "request_id"}}`.
//! Failures that are the client's own (4xx) say exactly what was wrong; failures of the proxy
//! or of its upstream servers (5xx) say which stage failed, in general terms, and name the
//! request id under which the details (upstream URL, status, upstream error text) are logged.

use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Which step of answering a request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    /// Drawing candidates from the generation server.
    Generation,
    /// Scoring them with the reward server.
    Scoring,
}

impl Stage {
    /// `"generation"` or `"scoring"`.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Generation => "generation",
            Stage::Scoring => "scoring",
        }
    }
}

/// A request to the proxy that could not be answered with a completion.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// No bearer token, or the wrong one (HTTP 401).
    #[error("missing or wrong bearer token")]
    Unauthorized,
    /// Every request slot is busy (HTTP 503, `Retry-After: 1`).
    #[error("the proxy is at its limit of {limit} requests in flight; retry later")]
    Overloaded {
        /// The limit (`--max-concurrent`).
        limit: usize,
    },
    /// The body is larger than allowed (HTTP 413).
    #[error("the request body exceeds {limit} bytes")]
    BodyTooLarge {
        /// The limit (`--max-body-bytes`).
        limit: usize,
    },
    /// The body did not arrive in time (HTTP 408).
    #[error("the request body did not arrive within {0:?}")]
    BodyTimeout(Duration),
    /// The body could not be read (HTTP 400).
    #[error("cannot read the body: {0}")]
    BodyRead(String),
    /// The body is not a request the proxy can serve (HTTP 400).
    #[error("{0}")]
    BadRequest(String),
    /// The upstream refused the request itself, e.g. a prompt longer than its context (its 400,
    /// 413 or 422, passed through with its message: it concerns the client's request).
    #[error("the upstream server refused the request: {message}")]
    UpstreamRefused {
        /// The upstream's status.
        status: u16,
        /// The upstream's message.
        message: String,
    },
    /// No candidate could be generated and scored (HTTP 502). `first` is the first failure, for the
    /// log only.
    #[error("none of the {requested} candidates could be generated and scored (first failure, at {}: {first})", stage.name())]
    NoCandidates {
        /// Candidates asked for.
        requested: usize,
        /// The stage of the first failure.
        stage: Stage,
        /// The first failure, in full (upstream URL and text): logged, never sent to the client.
        first: String,
    },
    /// Generation and scoring did not finish within the request deadline (HTTP 504); `stage` is the one
    /// still running when it passed.
    #[error("no answer within {after:?}: {} did not finish", stage.name())]
    UpstreamTimeout {
        /// The deadline (`--request-timeout`).
        after: Duration,
        /// The stage still running.
        stage: Stage,
    },
    /// The proxy is shutting down and takes no new work (HTTP 503).
    #[error("the proxy is shutting down")]
    ShuttingDown,
    /// Feedback for a server started without a store (HTTP 404).
    #[error("continuous hedging is off: start hedge serve with --store to take feedback")]
    HedgingOff,
    /// Feedback naming a request the store does not hold (HTTP 404).
    #[error("unknown response id {0:?}")]
    UnknownRequest(String),
    /// Feedback for a request that already has gold rewards (HTTP 409).
    #[error("response {0:?} already has rewards")]
    AlreadyLabelled(String),
    /// Feedback that does not fit its request: wrong number of rewards, a non-finite one (HTTP 422).
    #[error("{0}")]
    Unprocessable(String),
    /// Feedback with a reward that is not finite or beyond `--max-abs-reward` (HTTP 422).
    #[error(transparent)]
    RewardOutOfBounds(crate::hedging::RewardOutOfBounds),
    /// The store is unreachable (HTTP 503); details in the log.
    #[error("the store is unreachable: {0}")]
    StoreUnavailable(String),
    /// The engine failed (HTTP 500): a bug, not the client's or the upstream's fault.
    #[error(transparent)]
    Internal(#[from] hedge_math::Error),
}

impl From<hedge_store::StoreError> for ServeError {
    fn from(e: hedge_store::StoreError) -> Self {
        use hedge_store::StoreError as S;
        match e {
            S::UnknownRequest(id) => ServeError::UnknownRequest(id),
            S::AlreadyLabelled(id) => ServeError::AlreadyLabelled(id),
            e @ (S::WrongCount { .. } | S::NonFinite { .. }) => ServeError::Unprocessable(e.to_string()),
            e => ServeError::StoreUnavailable(e.to_string()),
        }
    }
}

impl ServeError {
    /// The HTTP status of the answer.
    pub fn status(&self) -> StatusCode {
        match self {
            ServeError::Unauthorized => StatusCode::UNAUTHORIZED,
            ServeError::Overloaded { .. } | ServeError::ShuttingDown | ServeError::StoreUnavailable(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ServeError::HedgingOff | ServeError::UnknownRequest(_) => StatusCode::NOT_FOUND,
            ServeError::AlreadyLabelled(_) => StatusCode::CONFLICT,
            ServeError::Unprocessable(_) | ServeError::RewardOutOfBounds(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ServeError::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ServeError::BodyTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            ServeError::BodyRead(_) | ServeError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ServeError::UpstreamRefused { status, .. } => {
                StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_REQUEST)
            }
            ServeError::NoCandidates { .. } => StatusCode::BAD_GATEWAY,
            ServeError::UpstreamTimeout { .. } => StatusCode::GATEWAY_TIMEOUT,
            ServeError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// OpenAI's error `type`.
    pub fn kind(&self) -> &'static str {
        match self {
            ServeError::Unauthorized => "authentication_error",
            ServeError::Overloaded { .. } | ServeError::ShuttingDown => "overloaded",
            ServeError::StoreUnavailable(_) => "store_unavailable",
            ServeError::HedgingOff | ServeError::UnknownRequest(_) => "not_found",
            ServeError::AlreadyLabelled(_) => "conflict",
            ServeError::Unprocessable(_) | ServeError::RewardOutOfBounds(_) => "invalid_request_error",
            ServeError::BodyTooLarge { .. }
            | ServeError::BodyTimeout(_)
            | ServeError::BodyRead(_)
            | ServeError::BadRequest(_)
            | ServeError::UpstreamRefused { .. } => "invalid_request_error",
            ServeError::NoCandidates { .. } => "upstream_error",
            ServeError::UpstreamTimeout { .. } => "upstream_timeout",
            ServeError::Internal(_) => "server_error",
        }
    }

    /// The label of the `hedge_failures_total` metric.
    pub fn reason(&self) -> &'static str {
        match self {
            ServeError::Unauthorized => "unauthorized",
            ServeError::Overloaded { .. } => "overloaded",
            ServeError::BodyTooLarge { .. } => "body_too_large",
            ServeError::BodyTimeout(_) => "body_timeout",
            ServeError::BodyRead(_) | ServeError::BadRequest(_) => "bad_request",
            ServeError::UpstreamRefused { .. } => "upstream_refused",
            ServeError::NoCandidates { .. } => "no_candidates",
            ServeError::UpstreamTimeout { .. } => "timeout",
            ServeError::ShuttingDown => "shutting_down",
            ServeError::HedgingOff => "hedging_off",
            ServeError::UnknownRequest(_) => "unknown_request",
            ServeError::AlreadyLabelled(_) => "already_labelled",
            ServeError::Unprocessable(_) => "unprocessable",
            ServeError::RewardOutOfBounds(_) => "reward_out_of_bounds",
            ServeError::StoreUnavailable(_) => "store_unavailable",
            ServeError::Internal(_) => "internal",
        }
    }

    /// What the client is told: the whole message for its own errors, the failed stage in general
    /// terms for the proxy's and the upstreams' (details are in the log under the request id).
    pub fn public_message(&self, request_id: &str) -> String {
        match self {
            ServeError::NoCandidates { requested, stage, .. } => format!(
                "no candidate could be produced ({requested} requested; {} failed upstream); see the proxy's log for request {request_id}",
                stage.name()
            ),
            ServeError::Internal(_) => {
                format!("internal error of the proxy; see its log for request {request_id}")
            }
            ServeError::StoreUnavailable(_) => {
                format!("the store is unreachable; see the proxy's log for request {request_id}")
            }
            e => e.to_string(),
        }
    }

    /// The answer: OpenAI's error shape with the request id, `Retry-After` on 503 and
    /// `WWW-Authenticate` on 401.
    pub fn into_response_with_id(self, request_id: &str) -> Response {
        let status = self.status();
        let body = json!({"error": {
            "message": self.public_message(request_id),
            "type": self.kind(),
            "code": status.as_u16(),
            "request_id": request_id,
        }});
        let mut r = (status, axum::Json(body)).into_response();
        let h = r.headers_mut();
        match status {
            StatusCode::SERVICE_UNAVAILABLE => {
                h.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            StatusCode::UNAUTHORIZED => {
                h.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            _ => {}
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_errors_do_not_leak_upstream_details() {
        let e = ServeError::NoCandidates {
            requested: 4,
            stage: Stage::Scoring,
            first: "http://10.0.0.5:8001/pooling: HTTP 500: secret stack trace".into(),
        };
        assert_eq!(e.status(), StatusCode::BAD_GATEWAY);
        let m = e.public_message("req-1");
        assert!(m.contains("scoring") && m.contains("req-1"), "{m}");
        assert!(!m.contains("10.0.0.5") && !m.contains("stack trace"), "{m}");
        // The log line (Display) keeps everything.
        assert!(e.to_string().contains("10.0.0.5"));
        // The client's own errors are spelled out.
        let e = ServeError::UpstreamRefused {
            status: 400,
            message: "prompt exceeds the context".into(),
        };
        assert_eq!(e.status(), StatusCode::BAD_REQUEST);
        assert!(e.public_message("r").contains("exceeds the context"));
        // A 504 names the stage that was still running.
        let e = ServeError::UpstreamTimeout {
            after: Duration::from_secs(3),
            stage: Stage::Scoring,
        };
        assert_eq!(e.status(), StatusCode::GATEWAY_TIMEOUT);
        assert_eq!(e.public_message("r"), "no answer within 3s: scoring did not finish");
    }
}
